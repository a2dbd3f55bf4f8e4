"""KMS's cryptographic operations through boto3 and the aws CLI: Encrypt, Decrypt, ReEncrypt,
GenerateDataKey(WithoutPlaintext) and GenerateRandom on customer keys, with encryption
contexts, AWS's response shapes, and AWS's errors for every bad input (unknown key, wrong
context, bad or foreign blob, too-large plaintext, bad NumberOfBytes/KeySpec). Who may use a
key, and in which key state: test_kms_crypto_access.py."""

import base64
import json
import os
import subprocess
import sys
import uuid

import pytest

from conftest import REGION, ROOT_KEY_ID, ROOT_SECRET, expect_error, raw_call

ALGORITHM = "SYMMETRIC_DEFAULT"


def new_key(kms):
    """A fresh customer key's ARN (AWS forbids using a managed key such as
    `alias/aws/secretsmanager` directly)."""
    return kms.create_key(Description=f"compat {uuid.uuid4().hex[:8]}")["KeyMetadata"]["Arn"]


@pytest.fixture(scope="module")
def kms(server):
    return server.client("kms")


@pytest.fixture(scope="module")
def raw_kms(server):
    """Skips botocore's parameter validation, so the server's model check answers."""
    return server.client("kms", parameter_validation=False)


@pytest.fixture(scope="module")
def key(kms):
    return new_key(kms)


@pytest.fixture(scope="module")
def other_key(kms):
    return new_key(kms)


CTX = {"purpose": "compat", "team": "blue"}


def test_encrypt_decrypt_round_trip_with_context(kms, key):
    out = kms.encrypt(KeyId=key, Plaintext=b"hunter2", EncryptionContext=CTX)
    assert set(out) - {"ResponseMetadata"} == {"CiphertextBlob", "KeyId", "EncryptionAlgorithm"}
    assert out["KeyId"] == key and key.startswith(f"arn:aws:kms:{REGION}:")
    assert out["EncryptionAlgorithm"] == ALGORITHM
    blob = out["CiphertextBlob"]
    assert b"hunter2" not in blob
    # The context's order does not matter; Decrypt finds the key from the blob alone.
    got = kms.decrypt(CiphertextBlob=blob, EncryptionContext=dict(reversed(list(CTX.items()))))
    assert set(got) - {"ResponseMetadata"} == {"KeyId", "Plaintext", "EncryptionAlgorithm"}
    assert got["Plaintext"] == b"hunter2"
    assert got["KeyId"] == key
    assert got["EncryptionAlgorithm"] == ALGORITHM
    # Naming the right key (by its id) is fine too.
    key_id = key.split("/")[-1]
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=CTX, KeyId=key_id,
                       EncryptionAlgorithm=ALGORITHM)["Plaintext"] == b"hunter2"
    # Two encryptions of the same plaintext differ.
    assert kms.encrypt(KeyId=key, Plaintext=b"hunter2", EncryptionContext=CTX)["CiphertextBlob"] != blob


def test_encrypt_without_context_and_largest_plaintext(kms, key):
    data = os.urandom(4096)
    blob = kms.encrypt(KeyId=key, Plaintext=data)["CiphertextBlob"]
    assert len(blob) <= 6144
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == data
    # A blob sealed without a context does not open with one.
    expect_error(kms.decrypt, "InvalidCiphertextException", CiphertextBlob=blob, EncryptionContext=CTX)


def test_wrong_context_is_invalid_ciphertext(kms, key):
    blob = kms.encrypt(KeyId=key, Plaintext=b"data", EncryptionContext=CTX)["CiphertextBlob"]
    for wrong in [{}, {"purpose": "compat"}, {**CTX, "team": "red"}, {**CTX, "extra": "x"},
                  {k.upper(): v for k, v in CTX.items()}]:
        kwargs = {"EncryptionContext": wrong} if wrong else {}
        msg = expect_error(kms.decrypt, "InvalidCiphertextException", CiphertextBlob=blob, **kwargs)
        assert "data" not in msg


def test_bad_blobs_are_invalid_ciphertext(kms, key):
    blob = kms.encrypt(KeyId=key, Plaintext=b"data")["CiphertextBlob"]
    bad = [b"\x00", b"garbage that is not a blob", os.urandom(200), blob[:-1], blob[: len(blob) // 2],
           blob + b"\x00"]
    for i in (0, 1, 5, len(blob) // 2, len(blob) - 1):
        flipped = bytearray(blob)
        flipped[i] ^= 0x01
        bad.append(bytes(flipped))
    for b in bad:
        expect_error(kms.decrypt, "InvalidCiphertextException", CiphertextBlob=b)


def test_blob_of_another_key_with_key_id_is_incorrect_key(kms, key, other_key):
    blob = kms.encrypt(KeyId=key, Plaintext=b"data")["CiphertextBlob"]
    expect_error(kms.decrypt, "IncorrectKeyException",
                 "The key ID in the request does not identify a KMS key that can perform this operation.",
                 CiphertextBlob=blob, KeyId=other_key)
    expect_error(kms.re_encrypt, "IncorrectKeyException", CiphertextBlob=blob, SourceKeyId=other_key,
                 DestinationKeyId=key)


def test_unknown_key_is_not_found(kms):
    missing = str(uuid.uuid4())
    for fn, kw in [(kms.encrypt, {"Plaintext": b"x"}), (kms.generate_data_key, {"KeySpec": "AES_256"}),
                   (kms.generate_data_key_without_plaintext, {"NumberOfBytes": 16})]:
        for kid in (missing, "alias/no-such-alias", f"arn:aws:kms:{REGION}:000000000000:key/{missing}"):
            expect_error(fn, "NotFoundException", KeyId=kid, **kw)


def test_plaintext_limits(raw_kms, key):
    expect_error(raw_kms.encrypt, "ValidationException",
                 "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: "
                 "Member must have length less than or equal to 4096",
                 KeyId=key, Plaintext=b"x" * 4097)
    expect_error(raw_kms.encrypt, "ValidationException",
                 "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: "
                 "Member must have length greater than or equal to 1",
                 KeyId=key, Plaintext=b"")
    msg = expect_error(raw_kms.encrypt, "ValidationException", Plaintext=b"x")
    assert "Value 'null' at 'keyId' failed to satisfy constraint: Member must not be null" in msg


def test_asymmetric_algorithm_is_refused(kms, key):
    expect_error(kms.encrypt, "InvalidKeyUsageException", KeyId=key, Plaintext=b"x",
                 EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    expect_error(kms.decrypt, "InvalidKeyUsageException", CiphertextBlob=blob,
                 EncryptionAlgorithm="RSAES_OAEP_SHA_1")


def test_context_must_be_a_string_map(server, key):
    resp = raw_call(server, "Encrypt",
                    {"KeyId": key, "Plaintext": base64.b64encode(b"x").decode(),
                     "EncryptionContext": {"n": 1}},
                    target="TrentService.Encrypt", service="kms")
    resp.assert_error("SerializationException")


def test_dry_run_and_grant_tokens(kms, key):
    expect_error(kms.encrypt, "DryRunOperationException", KeyId=key, Plaintext=b"x", DryRun=True)
    expect_error(kms.encrypt, "InvalidGrantTokenException", KeyId=key, Plaintext=b"x",
                 GrantTokens=["not-a-grant"])


def test_generate_data_key_decrypts_to_its_plaintext(kms, key):
    for kw, size in [({"KeySpec": "AES_256"}, 32), ({"KeySpec": "AES_128"}, 16),
                     ({"NumberOfBytes": 1}, 1), ({"NumberOfBytes": 1024}, 1024)]:
        out = kms.generate_data_key(KeyId=key, EncryptionContext=CTX, **kw)
        assert set(out) - {"ResponseMetadata"} == {"CiphertextBlob", "Plaintext", "KeyId"}
        assert out["KeyId"] == key
        assert len(out["Plaintext"]) == size
        back = kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext=CTX)
        assert back["Plaintext"] == out["Plaintext"]
        expect_error(kms.decrypt, "InvalidCiphertextException", CiphertextBlob=out["CiphertextBlob"])
    a = kms.generate_data_key(KeyId=key, KeySpec="AES_256")["Plaintext"]
    b = kms.generate_data_key(KeyId=key, KeySpec="AES_256")["Plaintext"]
    assert a != b


def test_generate_data_key_without_plaintext(kms, key):
    out = kms.generate_data_key_without_plaintext(KeyId=key, KeySpec="AES_256", EncryptionContext=CTX)
    assert set(out) - {"ResponseMetadata"} == {"CiphertextBlob", "KeyId"}
    assert out["KeyId"] == key
    assert len(kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext=CTX)["Plaintext"]) == 32


def test_data_key_size_must_be_key_spec_xor_number_of_bytes(raw_kms, key):
    either = "Please specify either number of bytes or key spec."
    for fn in (raw_kms.generate_data_key, raw_kms.generate_data_key_without_plaintext):
        expect_error(fn, "ValidationException", either, KeyId=key)
        expect_error(fn, "ValidationException", either, KeyId=key, KeySpec="AES_256", NumberOfBytes=32)
        for n, bound in ((0, "greater than or equal to 1"), (1025, "less than or equal to 1024")):
            expect_error(fn, "ValidationException",
                         f"1 validation error detected: Value '{n}' at 'numberOfBytes' failed to "
                         f"satisfy constraint: Member must have value {bound}",
                         KeyId=key, NumberOfBytes=n)
        expect_error(fn, "ValidationException",
                     "1 validation error detected: Value 'AES_512' at 'keySpec' failed to satisfy "
                     "constraint: Member must satisfy enum value set: [AES_256, AES_128]",
                     KeyId=key, KeySpec="AES_512")


def test_generate_random(kms, raw_kms):
    for n in (1, 32, 1024):
        out = kms.generate_random(NumberOfBytes=n)
        assert set(out) - {"ResponseMetadata"} == {"Plaintext"}
        assert len(out["Plaintext"]) == n
    assert kms.generate_random(NumberOfBytes=32)["Plaintext"] != kms.generate_random(NumberOfBytes=32)["Plaintext"]
    for n in (0, 1025):
        expect_error(raw_kms.generate_random, "ValidationException", NumberOfBytes=n)
    expect_error(raw_kms.generate_random, "ValidationException")


def test_re_encrypt_moves_a_blob_to_another_key_and_context(kms, key, other_key):
    blob = kms.encrypt(KeyId=key, Plaintext=b"moving", EncryptionContext=CTX)["CiphertextBlob"]
    out = kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext=CTX, DestinationKeyId=other_key,
                         DestinationEncryptionContext={"stage": "two"})
    assert set(out) - {"ResponseMetadata"} == {
        "CiphertextBlob", "SourceKeyId", "KeyId", "SourceEncryptionAlgorithm", "DestinationEncryptionAlgorithm"}
    assert out["SourceKeyId"] == key and out["KeyId"] == other_key
    assert out["SourceEncryptionAlgorithm"] == out["DestinationEncryptionAlgorithm"] == ALGORITHM
    got = kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"stage": "two"})
    assert got["Plaintext"] == b"moving" and got["KeyId"] == other_key
    expect_error(kms.re_encrypt, "InvalidCiphertextException", CiphertextBlob=blob,
                 SourceEncryptionContext={"wrong": "ctx"}, DestinationKeyId=other_key)
    expect_error(kms.re_encrypt, "InvalidCiphertextException", CiphertextBlob=b"junk",
                 DestinationKeyId=other_key)


def cli_env(server):
    return {**os.environ, "AWS_ENDPOINT_URL": server.endpoint, "AWS_ACCESS_KEY_ID": ROOT_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": ROOT_SECRET, "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_MAX_ATTEMPTS": "1",
            "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}


def test_cli_encrypt_decrypt_round_trip_with_fileb(server, key, tmp_path):
    plain = tmp_path / "plain.bin"
    data = os.urandom(300) + b"\x00\xff end"
    plain.write_bytes(data)
    env = cli_env(server)
    blob = tmp_path / "blob.bin"
    subprocess.run(
        f"aws kms encrypt --key-id {key} --plaintext fileb://{plain} "
        f"--encryption-context purpose=compat,team=blue "
        f"--query CiphertextBlob --output text | base64 -d > {blob}",
        shell=True, check=True, env=env)
    assert blob.stat().st_size > len(data)
    out = subprocess.run(
        f"aws kms decrypt --ciphertext-blob fileb://{blob} "
        f"--encryption-context purpose=compat,team=blue "
        f"--query Plaintext --output text | base64 -d",
        shell=True, check=True, env=env, capture_output=True)
    assert out.stdout == data
    wrong = subprocess.run(
        ["aws", "kms", "decrypt", "--ciphertext-blob", f"fileb://{blob}", "--output", "json"],
        env=env, capture_output=True, text=True)
    assert wrong.returncode != 0 and "InvalidCiphertextException" in wrong.stderr
    data_key = json.loads(subprocess.run(
        ["aws", "kms", "generate-data-key", "--key-id", key, "--key-spec", "AES_256", "--output", "json"],
        env=env, capture_output=True, text=True, check=True).stdout)
    (tmp_path / "dk.bin").write_bytes(base64.b64decode(data_key["CiphertextBlob"]))
    back = subprocess.run(
        f"aws kms decrypt --ciphertext-blob fileb://{tmp_path / 'dk.bin'} --query Plaintext --output text",
        shell=True, check=True, env=env, capture_output=True, text=True)
    assert back.stdout.strip() == data_key["Plaintext"]


def test_plaintext_never_reaches_the_audit_trail(server, kms, key):
    marker = b"kms-plaintext-marker-" + uuid.uuid4().hex.encode()
    blob = kms.encrypt(KeyId=key, Plaintext=marker)["CiphertextBlob"]
    kms.decrypt(CiphertextBlob=blob)
    ct = server.client("cloudtrail")
    events = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventSource",
                                                 "AttributeValue": "kms.amazonaws.com"}],
                              MaxResults=50)["Events"]
    names = {e["EventName"] for e in events}
    assert {"Encrypt", "Decrypt"} <= names
    dump = json.dumps([e.get("CloudTrailEvent") for e in events])
    assert base64.b64encode(marker).decode() not in dump
    assert marker.decode() not in dump
    assert base64.b64encode(blob).decode() not in dump
    assert marker.decode() not in server.server_log()


def blob_version(blob):
    """The key version a Tresor blob names (its layout: crates/tresor-crypto ciphertext_blob)."""
    id_len = blob[1]
    return int.from_bytes(blob[2 + id_len:6 + id_len], "big")


def test_rotation_keeps_old_blobs_and_seals_new_ones_under_the_new_version(kms):
    key = new_key(kms)
    old = kms.encrypt(KeyId=key, Plaintext=b"before", EncryptionContext=CTX)["CiphertextBlob"]
    old_data_key = kms.generate_data_key(KeyId=key, KeySpec="AES_256")
    kms.rotate_key_on_demand(KeyId=key)
    new = kms.encrypt(KeyId=key, Plaintext=b"after", EncryptionContext=CTX)["CiphertextBlob"]
    assert blob_version(new) == blob_version(old) + 1
    assert kms.decrypt(CiphertextBlob=old, EncryptionContext=CTX)["Plaintext"] == b"before"
    assert kms.decrypt(CiphertextBlob=new, EncryptionContext=CTX)["Plaintext"] == b"after"
    assert kms.decrypt(CiphertextBlob=old_data_key["CiphertextBlob"])["Plaintext"] == old_data_key["Plaintext"]
    # ReEncrypt onto the same key moves an old blob to the latest version.
    moved = kms.re_encrypt(CiphertextBlob=old, SourceEncryptionContext=CTX, DestinationKeyId=key,
                           DestinationEncryptionContext=CTX)["CiphertextBlob"]
    assert blob_version(moved) == blob_version(new)
    assert kms.decrypt(CiphertextBlob=moved, EncryptionContext=CTX)["Plaintext"] == b"before"


def test_ciphertext_blob_model_limits(server, raw_kms):
    for blob, bound in ((b"", "greater than or equal to 1"), (b"\x4b" * 6145, "less than or equal to 6144")):
        expect_error(raw_kms.decrypt, "ValidationException",
                     "1 validation error detected: Value at 'ciphertextBlob' failed to satisfy "
                     f"constraint: Member must have length {bound}",
                     CiphertextBlob=blob)
    msg = expect_error(raw_kms.decrypt, "ValidationException")
    assert "Value 'null' at 'ciphertextBlob' failed to satisfy constraint: Member must not be null" in msg
    raw_call(server, "Decrypt", {"CiphertextBlob": "not base64!"}, target="TrentService.Decrypt",
             service="kms").assert_error("SerializationException")
