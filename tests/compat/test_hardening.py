"""Hostile bodies, signed with botocore's own signer: a deeply dotted Query name and deeply
nested JSON are refused or recorded in bounded form, the server lives, and the exported audit
trail stays loadable by json.load and jq."""

import glob
import gzip
import json
import os
import shutil
import subprocess

from conftest import DevServer, send_raw, signed_headers, raw_call, tresor_bin, uniq

FORM_CT = "application/x-www-form-urlencoded; charset=utf-8"


PASSPHRASE = "hardening test passphrase"


def query_call(server, body: bytes):
    headers = signed_headers(server.endpoint, body, {"Content-Type": FORM_CT}, service="iam",
                             key_id=server.key_id, secret=server.secret)
    return send_raw(server.endpoint, body, headers)


def test_hostile_bodies_are_bounded_and_the_exported_trail_stays_loadable():
    server = DevServer(passphrase=PASSPHRASE)
    try:
        sm = server.client()
        name = uniq("hardening")
        sm.create_secret(Name=name, SecretString="v")

        # The review's crash, signed this time: refused by the decoder's limits.
        deep_name = ("Action=GetUser&Version=2010-05-08&" + "a." * 5000 + "a=1").encode()
        r = query_call(server, deep_name)
        assert r.status == 400, r.raw
        assert b"<Code>ValidationError</Code>" in r.raw, r.raw
        nine = ("Action=GetUser&Version=2010-05-08&" + "a." * 8 + "a=1").encode()
        assert query_call(server, nine).status == 400
        # Eight parts are within the limits: the call runs (and fails for its own reasons).
        eight = ("Action=ListUsers&Version=2010-05-08&" + "a." * 7 + "a=1").encode()
        assert query_call(server, eight).status == 200

        # JSON nested within the parser's limit is recorded; beyond it, refused.
        nested = {"SecretId": name}
        junk = []
        for _ in range(100):
            junk = [junk]
        nested["Junk"] = junk
        creds = {"key_id": server.key_id, "secret": server.secret}
        r = raw_call(server, "GetSecretValue", nested, **creds)
        assert r.status == 200, r.raw
        too_deep = b'{"SecretId": "x", "Junk": ' + b"[" * 5000 + b"]" * 5000 + b"}"
        r = raw_call(server, "GetSecretValue", too_deep, **creds)
        r.assert_error("SerializationException")

        # An authenticated body larger than any valid request is recorded by its size.
        big = {"SecretId": name, "Junk": "big-body-canary " * 20000}
        r = raw_call(server, "GetSecretValue", big, **creds)
        assert r.status == 200, r.raw

        assert sm.get_secret_value(SecretId=name)["SecretString"] == "v"
    finally:
        server.stop()

    out = os.path.join(server.data_dir, "export")
    proc = subprocess.run(
        [tresor_bin(), "audit", "export", "--data-dir", os.path.join(server.data_dir, "data"), "--out", out],
        capture_output=True, text=True, env={**os.environ, "TRESOR_PASSPHRASE": PASSPHRASE},
    )
    assert proc.returncode == 0, proc.stderr
    files = [
        f for f in glob.glob(os.path.join(out, "**", "*"), recursive=True)
        if os.path.isfile(f) and (f.endswith(".json") or f.endswith(".json.gz"))
    ]
    assert files, os.listdir(out)
    jq = shutil.which("jq")
    assert jq, "jq is needed to check the export (apt-get install jq)"
    records = 0
    omitted = []
    for f in files:
        if f.endswith(".gz"):
            with gzip.open(f, "rt") as fh:
                doc = json.load(fh)
            check = subprocess.run(f"gzip -dc {f} | {jq} -e . > /dev/null", shell=True)
        else:
            with open(f) as fh:
                doc = json.load(fh)
            check = subprocess.run([jq, "-e", ".", f], capture_output=True)
        assert check.returncode == 0, f"jq could not read {f}"
        records += len(doc.get("Records", []))
        for record in doc.get("Records", []):
            params = record.get("requestParameters") or {}
            if "omittedBodyBytes" in params:
                omitted.append(params)
            assert "big-body-canary" not in json.dumps(record)
    assert records > 0
    assert len(omitted) == 1 and omitted[0]["omittedBodyBytes"] > 256 * 1024, omitted
