"""The AWS Encryption SDK for Python against Tresor's KMS: a StrictAwsKmsMasterKeyProvider
whose botocore client points at Tresor encrypts a message (GenerateDataKey, with the message's
encryption context and the SDK's own `aws-crypto-public-key` entry) and decrypts it (Decrypt
with the key named); a tampered message or data key fails, and the context is checked."""

import os
import uuid

import aws_encryption_sdk
import botocore.session
import pytest
from aws_encryption_sdk import CommitmentPolicy
from aws_encryption_sdk.exceptions import AWSEncryptionSDKClientError, DecryptKeyError
from cryptography.exceptions import InvalidTag

from conftest import ROOT_KEY_ID, ROOT_SECRET, expect_error
from test_kms_crypto import new_key


@pytest.fixture(scope="module")
def kms_key(server):
    return new_key(server.client("kms"))


@pytest.fixture
def provider(server, kms_key, monkeypatch):
    # botocore reads a service's endpoint from AWS_ENDPOINT_URL_<SERVICE>: the SDK builds its
    # own clients from this session, so this is how it reaches Tresor.
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", server.endpoint)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    session = botocore.session.Session()
    session.set_credentials(ROOT_KEY_ID, ROOT_SECRET)
    return aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(
        key_ids=[kms_key], botocore_session=session)


@pytest.fixture
def sdk():
    return aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)


CONTEXT = {"tenant": "acme", "purpose": "compat-" + uuid.uuid4().hex[:6]}


def test_encrypt_then_decrypt_with_context(sdk, provider, kms_key):
    message = os.urandom(10_000) + b"the end"
    ciphertext, enc_header = sdk.encrypt(source=message, key_provider=provider,
                                         encryption_context=CONTEXT)
    assert message not in ciphertext
    assert [k.key_provider.key_info.decode() for k in enc_header.encrypted_data_keys] == [kms_key]
    plaintext, dec_header = sdk.decrypt(source=ciphertext, key_provider=provider)
    assert plaintext == message
    for k, v in CONTEXT.items():
        assert dec_header.encryption_context[k] == v
    # The SDK's signing suites add their public key to the context KMS authenticates.
    assert "aws-crypto-public-key" in dec_header.encryption_context


def test_streaming_round_trip(sdk, provider):
    message = b"line\n" * 5000
    with sdk.stream(mode="e", source=message, key_provider=provider, encryption_context=CONTEXT,
                    frame_length=1024) as enc:
        ciphertext = enc.read()
    with sdk.stream(mode="d", source=ciphertext, key_provider=provider) as dec:
        assert dec.read() == message


def test_tampered_body_fails(sdk, provider):
    ciphertext, _ = sdk.encrypt(source=b"do not alter", key_provider=provider,
                                encryption_context=CONTEXT)
    tampered = bytearray(ciphertext)
    tampered[-120] ^= 0x01
    # The SDK checks the frame's GCM tag itself (cryptography's InvalidTag) or its signature.
    with pytest.raises((AWSEncryptionSDKClientError, InvalidTag)):
        sdk.decrypt(source=bytes(tampered), key_provider=provider)


def test_tampered_data_key_fails_in_kms(server, sdk, provider, kms_key):
    ciphertext, header = sdk.encrypt(source=b"guarded", key_provider=provider,
                                     encryption_context=CONTEXT)
    edk = next(iter(header.encrypted_data_keys)).encrypted_data_key
    at = ciphertext.index(edk)
    tampered = bytearray(ciphertext)
    tampered[at + len(edk) - 1] ^= 0x01  # the blob's GCM tag: Tresor's Decrypt must refuse
    with pytest.raises(DecryptKeyError):
        sdk.decrypt(source=bytes(tampered), key_provider=provider)
    # What the SDK asked KMS, asked directly: the data key opens with the SDK's full context
    # (the message's plus its public key) and not once a byte of it changed.
    kms = server.client("kms")
    context = dict(header.encryption_context)
    assert len(kms.decrypt(CiphertextBlob=edk, KeyId=kms_key, EncryptionContext=context)["Plaintext"]) == 32
    expect_error(kms.decrypt, "InvalidCiphertextException",
                 CiphertextBlob=bytes(tampered[at:at + len(edk)]), EncryptionContext=context)
    expect_error(kms.decrypt, "InvalidCiphertextException", CiphertextBlob=edk,
                 EncryptionContext=CONTEXT)


def test_required_context_is_checked(sdk, provider):
    ciphertext, _ = sdk.encrypt(source=b"bound", key_provider=provider, encryption_context=CONTEXT)
    plaintext, header = sdk.decrypt(source=ciphertext, key_provider=provider)
    assert plaintext == b"bound"
    assert header.encryption_context["tenant"] == "acme"
