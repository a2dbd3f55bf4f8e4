"""Fixtures for the real-client suites: a Tresor dev server started from the built binary,
boto3 clients pointed at it, and a helper that runs the aws CLI against it."""

import json
import os
import subprocess
import sys
import tempfile
import time

import boto3
import pytest
from botocore.config import Config

ROOT_KEY_ID = "AKIATRESORCOMPAT0001"
ROOT_SECRET = "compat-root-secret-key-for-tests-only-0001"
REGION = "us-east-1"


def tresor_bin():
    path = os.environ.get("TRESOR_BIN")
    if not path:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.join(here, "..", "..", "target", "debug", "tresor")
    if not os.path.exists(path):
        raise RuntimeError(f"Tresor binary not found at {path}; build it or set TRESOR_BIN")
    return path


class DevServer:
    """A `tresor server --dev` process on a free loopback port. With `passphrase`, a
    production server instead, on a store `tresor init` creates (its root key is sealed by the
    passphrase, so the audit trail can be exported); its root credentials become the
    client's."""

    def __init__(self, extra_args=(), env=None, passphrase=None):
        self.data_dir = tempfile.mkdtemp(prefix="tresor-compat-")
        self.log = open(os.path.join(self.data_dir, "server.log"), "w+")
        data = os.path.join(self.data_dir, "data")
        env = {**os.environ, **(env or {})}
        self.key_id, self.secret = ROOT_KEY_ID, ROOT_SECRET
        if passphrase is None:
            mode = ["--dev", "--root-access-key-id", ROOT_KEY_ID, "--root-secret-access-key", ROOT_SECRET]
        else:
            env["TRESOR_PASSPHRASE"] = passphrase
            init = subprocess.run(
                [tresor_bin(), "init", "--data-dir", data, "--output", "json"],
                env=env, capture_output=True, text=True, check=True,
            )
            creds = json.loads(init.stdout)
            self.key_id, self.secret = creds["access_key_id"], creds["secret_access_key"]
            mode = []
        args = [
            tresor_bin(), "server", *mode, "--listen", "127.0.0.1:0",
            "--data-dir", data,
            *extra_args,
        ]
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=self.log, text=True, env=env,
        )
        self.endpoint = None
        self.banner = []
        deadline = time.time() + 30
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.banner.append(line)
            if line.startswith("Tresor listening on "):
                self.endpoint = line.split()[-1]
            if line.startswith("export AWS_ENDPOINT_URL=") or (passphrase and self.endpoint):
                break
        if not self.endpoint:
            self.stop()
            raise RuntimeError("Tresor did not start: " + "".join(self.banner) + self.server_log())

    def client(self, service="secretsmanager", region=REGION, key_id=None, secret=None, **kw):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=key_id or self.key_id,
            aws_secret_access_key=secret or self.secret,
            config=Config(retries={"max_attempts": 1}, **kw),
        )

    def aws(self, *args, check=True, region=REGION, creds=None):
        """Run the aws CLI against this server; returns parsed JSON output (or None)."""
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": (creds or (ROOT_KEY_ID, ROOT_SECRET))[0],
            "AWS_SECRET_ACCESS_KEY": (creds or (ROOT_KEY_ID, ROOT_SECRET))[1],
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_MAX_ATTEMPTS": "1",
        }
        aws_bin = os.path.join(os.path.dirname(sys.executable), "aws")
        proc = subprocess.run([aws_bin, *args, "--output", "json"], env=env, capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
        if not check:
            return proc
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    def server_log(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="session")
def server():
    s = DevServer()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def sm(server):
    return server.client()


# ---------------------------------------------------------------- helpers for the suites

import base64  # noqa: E402
import http.client  # noqa: E402
import uuid  # noqa: E402
from unittest import mock  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

import botocore.auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

JSON_CT = "application/x-amz-json-1.1"


def uniq(prefix="t"):
    """A fresh secret name (the suites share one server)."""
    return f"{prefix}/{uuid.uuid4().hex[:12]}"


def token():
    return str(uuid.uuid4())


def error_of(excinfo):
    """(code, message) of a botocore ClientError caught by pytest.raises."""
    err = excinfo.value
    assert isinstance(err, ClientError), repr(err)
    return err.response["Error"]["Code"], err.response["Error"].get("Message")


def expect_error(fn, code, message=None, **kwargs):
    """Call fn(**kwargs), assert it fails with `code` (and exactly `message` if given) and
    HTTP 400; return the message."""
    try:
        fn(**kwargs)
    except ClientError as e:
        got = e.response["Error"]["Code"]
        msg = e.response["Error"].get("Message")
        assert got == code, f"expected {code}, got {got}: {msg}"
        if message is not None:
            assert msg == message, f"{code} message: {msg!r} != {message!r}"
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        return msg
    raise AssertionError(f"expected {code}, but the call succeeded")


def all_secrets(client, include_deleted=True):
    """Every secret visible to `client` (all pages), as {name: entry}."""
    out = {}
    kw = {"IncludePlannedDeletion": include_deleted, "MaxResults": 100}
    while True:
        page = client.list_secrets(**kw)
        for s in page["SecretList"]:
            out[s["Name"]] = s
        if not page.get("NextToken"):
            return out
        kw["NextToken"] = page["NextToken"]


class RawResponse:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.raw = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    @property
    def error_type(self):
        return (self.json or {}).get("__type")

    def assert_error(self, code, status=400, message=None):
        assert self.status == status, f"HTTP {self.status}: {self.raw!r}"
        assert isinstance(self.json, dict), f"not a JSON body: {self.raw!r}"
        assert self.json.get("__type") == code, self.json
        assert isinstance(self.json.get("Message"), str) and self.json["Message"], self.json
        assert self.headers.get("x-amzn-errortype") == code, self.headers
        if message is not None:
            assert self.json["Message"] == message, self.json["Message"]


def send_raw(endpoint, body, headers, method="POST", path="/"):
    """Send bytes as-is (no SDK): returns a RawResponse."""
    u = urlsplit(endpoint)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        try:
            chunked = any(k.lower() == "transfer-encoding" and "chunked" in v.lower()
                          for k, v in headers.items())
            conn.request(method, path, body=body, headers=headers, encode_chunked=chunked)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer (413) before reading a huge body
        resp = conn.getresponse()
        return RawResponse(resp.status, resp.getheaders(), resp.read())
    finally:
        conn.close()


def signed_headers(endpoint, body, headers, *, region=REGION, service="secretsmanager",
                   key_id=ROOT_KEY_ID, secret=ROOT_SECRET, now=None):
    """Headers for `body` signed by botocore's own SigV4 signer (the independent oracle).
    `now` (a naive UTC datetime) makes the signer believe it is another time."""
    req = AWSRequest(method="POST", url=endpoint.rstrip("/") + "/", data=body, headers=dict(headers))
    signer = botocore.auth.SigV4Auth(Credentials(key_id, secret), service, region)
    if now is None:
        signer.add_auth(req)
    else:
        with mock.patch.object(botocore.auth, "get_current_datetime", lambda *a, **k: now):
            signer.add_auth(req)
    return dict(req.headers.items())


def raw_call(server, operation, payload, *, target=None, content_type=JSON_CT, sign=True,
             extra_after_signing=None, **sign_kw):
    """POST an awsJson1.1 request built by hand. `payload` is a dict (JSON-encoded) or bytes.
    `target` overrides X-Amz-Target (None: secretsmanager.<operation>; False: omit it)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if target is None:
        target = f"secretsmanager.{operation}"
    if target is not False:
        headers["X-Amz-Target"] = target
    if sign:
        headers = signed_headers(server.endpoint, body, headers, **sign_kw)
    headers.update(extra_after_signing or {})
    return send_raw(server.endpoint, body, headers)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture(scope="session")
def raw(server):
    """A boto3 client that skips botocore's own parameter validation, so that the server's
    validation is what answers (botocore checks only minimums, and would refuse some inputs
    before sending them)."""
    return server.client(parameter_validation=False)
