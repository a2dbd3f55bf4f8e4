"""No secret value (nor its base64) reaches the data directory in plaintext or the server's
log, whatever the request did: stored, read, refused or malformed. Runs its own server with
a fresh data directory and the most verbose log level."""

import base64
import json
import os
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ROOT_SECRET, DevServer, raw_call, token


def marker(kind):
    return f"LEAKCHECK-{kind}-{uuid.uuid4().hex}"


def forms(value: bytes):
    """The byte strings that would betray `value`."""
    out = {value, base64.b64encode(value), base64.urlsafe_b64encode(value),
           base64.b64encode(value).rstrip(b"="), value.hex().encode()}
    try:
        out.add(value.decode().encode("utf-16-le"))
    except UnicodeDecodeError:
        pass
    return out


@pytest.fixture(scope="module")
def leak_server():
    s = DevServer(env={"TRESOR_LOG": "trace"})
    yield s
    s.stop()


def test_values_never_reach_disk_or_log(leak_server):
    s = leak_server
    sm = s.client()
    raw = s.client(parameter_validation=False)
    values = []

    def val(kind):
        v = marker(kind)
        values.append(v.encode())
        return v

    # Stored through every write path.
    name = "leak/" + uuid.uuid4().hex[:8]
    sm.create_secret(Name=name, SecretString=val("create"))
    sm.put_secret_value(SecretId=name, SecretString=val("put"))
    sm.update_secret(SecretId=name, SecretString=val("update"))
    sm.put_secret_value(SecretId=name, SecretString=val("staged"), VersionStages=["blue"])
    blob = os.urandom(48) + val("binary").encode()
    values.append(blob)
    sm.create_secret(Name=name + "-bin", SecretBinary=blob)
    t = token()
    sm.put_secret_value(SecretId=name, SecretString=val("idem"), ClientRequestToken=t)

    # Read back through every read path.
    sm.get_secret_value(SecretId=name)
    sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
    sm.get_secret_value(SecretId=name + "-bin")
    sm.batch_get_secret_value(SecretIdList=[name, name + "-bin", "leak/missing"])
    sm.batch_get_secret_value(Filters=[{"Key": "name", "Values": ["leak/"]}])
    values.append(sm.get_random_password(PasswordLength=64)["RandomPassword"].encode())

    # Refused requests carrying values.
    def refused(fn, **kw):
        with pytest.raises(ClientError):
            fn(**kw)

    refused(sm.put_secret_value, SecretId=name, SecretString=val("conflict"), ClientRequestToken=t)
    refused(sm.create_secret, Name=name, SecretString=val("exists"))
    refused(sm.create_secret, Name="bad name!", SecretString=val("badname"))
    refused(sm.create_secret, Name=name + "-both", SecretString=val("both"), SecretBinary=b"x")
    big = val("toolarge") + "x" * 70000
    refused(sm.create_secret, Name=name + "-big", SecretString=big)
    refused(raw.create_secret, Name=name + "-tok", SecretString=val("shorttoken"), ClientRequestToken="short")
    refused(sm.put_secret_value, SecretId="leak/missing", SecretString=val("missing"))
    bad_client = s.client(secret="wrong-secret")
    refused(bad_client.create_secret, Name=name + "-auth", SecretString=val("badsig"))
    sm.delete_secret(SecretId=name + "-bin", RecoveryWindowInDays=7)
    refused(sm.get_secret_value, SecretId=name + "-bin")

    # Raw requests: malformed JSON around a value, missing token, unsigned.
    v = val("malformed")
    raw_call(s, "CreateSecret", ('{"Name": "leak/m", "SecretString": "%s", ' % v).encode())
    v = val("wrongtype")
    # A value of the wrong JSON type (the audit trail keeps names, so the value goes where a
    # secret belongs).
    raw_call(s, "CreateSecret", ('{"Name": "leak/wt", "SecretString": ["%s"]}' % v).encode())
    raw_call(s, "CreateSecret", {"Name": "leak/notoken", "SecretString": val("notoken")})
    raw_call(s, "CreateSecret", {"Name": "leak/unsigned", "SecretString": val("unsigned"),
                                 "ClientRequestToken": token()}, sign=False)
    raw_call(s, "CreateSecret", json.dumps({"Name": "leak/huge", "SecretString": val("huge") + "y" * (1 << 20),
                                            "ClientRequestToken": token()}).encode())

    s.stop()  # flush the log and the database (WAL checkpoint) before scanning
    needles = {f: v for v in values for f in forms(v)}
    needles.update({f: b"root secret" for f in forms(ROOT_SECRET.encode())})
    scanned, name_seen = 0, False
    for root, _dirs, files in os.walk(s.data_dir):
        for fname in files:
            path = os.path.join(root, fname)
            with open(path, "rb") as fh:
                data = fh.read()
            scanned += 1
            name_seen = name_seen or name.encode() in data
            for needle, origin in needles.items():
                assert needle not in data, f"{path} contains {origin[:40]!r} (form {needle[:40]!r})"
    assert scanned >= 2  # at least the database and the log
    assert name_seen, "the scan did not see the store (secret names are stored in clear)"
    log = s.server_log()
    assert "CreateSecret" in log  # the log is really being written
    for v in values:
        assert v.decode(errors="ignore")[:40] not in log
    assert "LEAKCHECK" not in log
