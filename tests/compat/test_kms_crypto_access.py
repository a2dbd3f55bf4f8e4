"""Who may use a key for KMS's cryptographic operations, and when: ReEncrypt's two
permissions, the encryption context as `kms:EncryptionContext:*` condition keys, a key policy's
explicit deny, and disabled or pending-deletion keys."""

import json
import uuid

import boto3
from botocore.config import Config

from conftest import REGION, expect_error
from test_kms_crypto import CTX, kms, key, new_key, other_key  # noqa: F401 - shared fixtures


def user_client(server, statements):
    """A new IAM user whose only policy is `statements`: (its ARN, a KMS client as it)."""
    iam = server.client("iam")
    user = f"kms-{uuid.uuid4().hex[:8]}"
    arn = iam.create_user(UserName=user)["User"]["Arn"]
    allow(server, user, statements)
    creds = iam.create_access_key(UserName=user)["AccessKey"]
    client = boto3.client("kms", endpoint_url=server.endpoint, region_name=REGION,
                          aws_access_key_id=creds["AccessKeyId"],
                          aws_secret_access_key=creds["SecretAccessKey"],
                          config=Config(retries={"max_attempts": 1}))
    return user, arn, client


def allow(server, user, statements):
    server.client("iam").put_user_policy(UserName=user, PolicyName="kms", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": statements}))


def expect_error_denied(fn, **kwargs):
    expect_error(fn, "AccessDeniedException", **kwargs)


def test_re_encrypt_needs_both_permissions(server, kms, key, other_key):
    blob = kms.encrypt(KeyId=key, Plaintext=b"guarded")["CiphertextBlob"]
    user, _, client = user_client(
        server, [{"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"}])
    assert client.decrypt(CiphertextBlob=blob)["Plaintext"] == b"guarded"
    expect_error_denied(client.re_encrypt, CiphertextBlob=blob, DestinationKeyId=other_key)
    allow(server, user, [{"Effect": "Allow", "Action": "kms:ReEncryptFrom", "Resource": key}])
    expect_error_denied(client.re_encrypt, CiphertextBlob=blob, DestinationKeyId=other_key)
    expect_error_denied(client.decrypt, CiphertextBlob=blob)
    allow(server, user, [{"Effect": "Allow", "Action": "kms:ReEncryptFrom", "Resource": key},
                         {"Effect": "Allow", "Action": "kms:ReEncryptTo", "Resource": other_key}])
    out = client.re_encrypt(CiphertextBlob=blob, DestinationKeyId=other_key)
    assert kms.decrypt(CiphertextBlob=out["CiphertextBlob"])["Plaintext"] == b"guarded"
    allow(server, user, [{"Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": key}])
    expect_error_denied(client.generate_data_key_without_plaintext, KeyId=key, KeySpec="AES_256")
    expect_error_denied(client.generate_random, NumberOfBytes=8)


def test_encryption_context_condition_keys_reach_authorization(server, kms, key):
    """Each operation hands its encryption context to authorization (`kms:EncryptionContext:*`)."""
    _, _, client = user_client(server, [{
        "Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": key, "Condition": {"StringEquals": {"kms:EncryptionContext:team": "blue"}}}])
    blob = client.encrypt(KeyId=key, Plaintext=b"blue only", EncryptionContext={"team": "blue"})["CiphertextBlob"]
    assert client.decrypt(CiphertextBlob=blob, EncryptionContext={"team": "blue"})["Plaintext"] == b"blue only"
    client.generate_data_key(KeyId=key, KeySpec="AES_256", EncryptionContext={"team": "blue"})
    for fn, kw in [(client.encrypt, {"KeyId": key, "Plaintext": b"x"}),
                   (client.generate_data_key, {"KeyId": key, "KeySpec": "AES_256"})]:
        expect_error_denied(fn, EncryptionContext={"team": "red"}, **kw)
        expect_error_denied(fn, **kw)
    red = kms.encrypt(KeyId=key, Plaintext=b"red", EncryptionContext={"team": "red"})["CiphertextBlob"]
    expect_error_denied(client.decrypt, CiphertextBlob=red, EncryptionContext={"team": "red"})


def test_disabled_or_pending_deletion_key_refuses_every_operation(kms):
    key = new_key(kms)
    blob = kms.encrypt(KeyId=key, Plaintext=b"paused", EncryptionContext=CTX)["CiphertextBlob"]
    other = new_key(kms)
    kms.disable_key(KeyId=key)
    calls = [
        (kms.encrypt, {"KeyId": key, "Plaintext": b"x"}),
        (kms.decrypt, {"CiphertextBlob": blob, "EncryptionContext": CTX}),
        (kms.generate_data_key, {"KeyId": key, "KeySpec": "AES_256"}),
        (kms.generate_data_key_without_plaintext, {"KeyId": key, "NumberOfBytes": 8}),
        (kms.re_encrypt, {"CiphertextBlob": blob, "SourceEncryptionContext": CTX, "DestinationKeyId": other}),
    ]
    for fn, kw in calls:
        expect_error(fn, "DisabledException", **kw)
    kms.enable_key(KeyId=key)
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=CTX)["Plaintext"] == b"paused"
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    for fn, kw in calls:
        expect_error(fn, "KMSInvalidStateException", **kw)
    kms.cancel_key_deletion(KeyId=key)
    kms.enable_key(KeyId=key)
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=CTX)["Plaintext"] == b"paused"
    # A disabled destination stops ReEncrypt too.
    kms.disable_key(KeyId=other)
    expect_error(kms.re_encrypt, "DisabledException", CiphertextBlob=blob, SourceEncryptionContext=CTX,
                 DestinationKeyId=other)


def test_key_policy_deny_stops_decrypt(server, kms):
    key = new_key(kms)
    account = key.split(":")[4]
    _, user_arn, client = user_client(
        server, [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}])
    blob = client.encrypt(KeyId=key, Plaintext=b"policy")["CiphertextBlob"]
    assert client.decrypt(CiphertextBlob=blob)["Plaintext"] == b"policy"
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"},
            {"Sid": "No decrypt", "Effect": "Deny", "Principal": {"AWS": user_arn},
             "Action": ["kms:Decrypt", "kms:ReEncryptFrom"], "Resource": "*"}]}))
    expect_error_denied(client.decrypt, CiphertextBlob=blob)
    expect_error_denied(client.re_encrypt, CiphertextBlob=blob, DestinationKeyId=key)
    assert client.encrypt(KeyId=key, Plaintext=b"still allowed")["KeyId"] == key
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"policy"
