"""Rotation beyond a rotation function of one's own: the webhook rotator (a signed POST per
step, answered by a receiver that verifies it) and the built-in rotators for AI providers'
keys (`openai`, `openrouter`, `manual`), each end to end against mock providers
(mock_rotation_providers.py) that implement the documented key APIs and record what they
were asked. Rotators are registered with the `tresor rotator` CLI; secrets are driven with
boto3."""

import datetime
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import REGION, DevServer, error_of, token, uniq
from mock_rotation_providers import MockRotationProviders
from test_rotation import FUNCTION_DIR, Rot, current_version


@pytest.fixture(scope="module")
def rs():
    server = DevServer(extra_args=["--rotation-tick", "200ms"])
    yield Rot(server)
    server.stop()


@pytest.fixture()
def providers():
    with MockRotationProviders() as p:
        yield p


def value_of(rs, arn, **kw):
    return json.loads(rs.sm.get_secret_value(SecretId=arn, **kw)["SecretString"])


def wait_for(predicate, timeout=20, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def trail_text(rs):
    return json.dumps([e for page in rs.ct.get_paginator("lookup_events").paginate()
                       for e in page["Events"]], default=str)


# ---------------------------------------------------------------------------- webhook

class Receiver:
    """A webhook receiver as its documentation tells one to write it: verify the signature
    over the exact body and the timestamp, refuse replays, then run the rotation function with
    the credentials that came along."""

    def __init__(self, secret=None, fail_step=None):
        self.secret = secret
        self.fail_step = fail_step
        self.seen = set()
        self.deliveries = []
        self.refused = []
        self.target = tempfile.mkdtemp(prefix="tresor-webhook-target-")
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                status = receiver.handle(self.headers, body)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/rotate?hook=1"

    def verify(self, headers, body, tolerance=300):
        ts = headers.get("X-Tresor-Timestamp", "")
        mac = hmac.new(self.secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest("v1=" + mac, headers.get("X-Tresor-Signature", "")):
            raise PermissionError("bad signature")
        if abs(time.time() - int(ts)) > tolerance:
            raise PermissionError("stale timestamp")
        delivery = headers.get("X-Tresor-Delivery")
        if delivery in self.seen:
            raise PermissionError("replayed delivery")
        self.seen.add(delivery)

    def handle(self, headers, body):
        try:
            self.verify(headers, body)
        except (PermissionError, ValueError) as e:
            self.refused.append(str(e))
            return 401
        self.deliveries.append(({k.lower(): v for k, v in headers.items()}, body))
        env = {
            "PATH": os.environ["PATH"],
            "AWS_ACCESS_KEY_ID": headers["X-Tresor-Aws-Access-Key-Id"],
            "AWS_SECRET_ACCESS_KEY": headers["X-Tresor-Aws-Secret-Access-Key"],
            "AWS_SESSION_TOKEN": headers["X-Tresor-Aws-Session-Token"],
            "AWS_REGION": headers["X-Tresor-Aws-Region"],
            "AWS_DEFAULT_REGION": headers["X-Tresor-Aws-Region"],
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "SECRETS_MANAGER_ENDPOINT": self.endpoint,
            "TARGET_DIR": self.target,
        }
        if self.fail_step:
            env["FAIL_STEP"] = self.fail_step
        proc = subprocess.run([sys.executable, "run_rotation.py"], input=body, env=env,
                              cwd=FUNCTION_DIR, capture_output=True, timeout=60)
        self.stderr = proc.stderr
        return 200 if proc.returncode == 0 else 500

    def stop(self):
        self.server.shutdown()


def test_webhook_rotator_signed_and_verified(rs):
    """Tresor POSTs each step signed (HMAC over timestamp and body); the receiver verifies
    it and rotates with the credentials passed as headers; a forged or replayed delivery is
    refused by that check."""
    receiver = Receiver()
    receiver.endpoint = rs.server.endpoint
    try:
        out = rs.cli("rotator", "create", f"hook-{uuid.uuid4().hex[:6]}", "--role-arn", rs.role_arn,
                     "--url", receiver.url, "--pass-credentials")
        receiver.secret = out["signing_secret"]
        assert receiver.secret.startswith("whsec_")
        fn = out["arn"]
        # The signing secret is shown once: never again, and never in the trail.
        assert receiver.secret not in json.dumps(rs.cli("rotator", "list"))
        assert receiver.secret not in trail_text(rs)
        arn = rs.secret()
        tok = token()
        rs.sm.rotate_secret(SecretId=arn, ClientRequestToken=tok, RotationLambdaARN=fn)
        assert rs.wait(arn)["last_result"] == "succeeded"
        assert [json.loads(b)["Step"] for _, b in receiver.deliveries] == [
            "createSecret", "setSecret", "testSecret", "finishSecret"]
        assert current_version(rs.stages(arn)) == tok
        headers, body = receiver.deliveries[0]
        assert headers["x-tresor-aws-access-key-id"].startswith("ASIA")
        assert headers["x-tresor-signature"].startswith("v1=")
        # A forged signature, a modified body and a replay are refused by the receiver's check.
        forged = dict(headers)
        forged["x-tresor-signature"] = "v1=" + "0" * 64
        for h, b in [(forged, body), (headers, body + b" "), (headers, body)]:
            req = urllib.request.Request(receiver.url, data=b, method="POST",
                                         headers={k: v for k, v in h.items() if k.lower() != "content-length"})
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(req, timeout=10)
            assert e.value.code == 401
        assert receiver.refused == ["bad signature", "bad signature", "replayed delivery"]
        assert len(receiver.deliveries) == 4
    finally:
        receiver.stop()


def test_webhook_without_credentials_and_failing(rs):
    """Credentials go along only when asked; a non-2xx answer fails the step with its status."""
    receiver = Receiver(fail_step="setSecret")
    receiver.endpoint = rs.server.endpoint
    seen = []
    original = receiver.handle

    def handle(headers, body):
        seen.append({k.lower(): v for k, v in headers.items()})
        return original(headers, body) if "X-Tresor-Aws-Access-Key-Id" in headers else 503

    receiver.handle = handle
    try:
        out = rs.cli("rotator", "create", f"hook-{uuid.uuid4().hex[:6]}", "--role-arn", rs.role_arn,
                     "--url", receiver.url)
        receiver.secret = out["signing_secret"]
        arn = rs.secret()
        rs.sm.rotate_secret(SecretId=arn, RotationLambdaARN=out["arn"])
        s = rs.wait(arn, until=lambda s: s.get("last_result") == "failed")
        assert s["last_error"] == "createSecret: webhook answered HTTP 503", s
        assert seen and not any(k.lower().startswith("x-tresor-aws") for k in seen[0])
        rs.sm.cancel_rotate_secret(SecretId=arn)
    finally:
        receiver.stop()


def test_webhook_url_must_be_https_unless_loopback(rs):
    proc = rs.cli_proc("rotator", "create", f"hook-{uuid.uuid4().hex[:6]}", "--role-arn", rs.role_arn,
                       "--url", "http://rotate.example.com/hook")
    assert proc.returncode != 0 and "InvalidParameterException" in proc.stdout + proc.stderr


# ---------------------------------------------------------------------------- built-ins

def provider_secret(rs, key):
    name = uniq("ai/key")
    return rs.sm.create_secret(
        Name=name, SecretString=json.dumps({"api_key": key.value, "key_id": key.key_id}))["ARN"]


def admin_secret(rs, providers, provider):
    return rs.sm.create_secret(Name=uniq("ai/admin"), SecretString=providers.admin_keys[provider])["ARN"]


def builtin(rs, kind, providers, *flags, grace=0):
    out = rs.cli("rotator", "create", f"{kind}-{uuid.uuid4().hex[:6]}", "--type", kind,
                 "--role-arn", rs.role_arn, "--base-url",
                 providers.base_url("anthropic" if kind == "manual" else kind),
                 "--grace-period-seconds", str(grace), *flags)
    assert out["type"] == kind
    return out["arn"]


def test_openai_rotator_end_to_end(rs, providers):
    """createSecret makes a project service-account key with the admin key, testSecret calls
    GET /v1/models with it, finishSecret promotes it, and the previous key's service account
    is deleted after the grace period; no key reaches the trail or the logs."""
    old = providers.issue("openai")
    admin = admin_secret(rs, providers, "openai")
    fn = builtin(rs, "openai", providers, "--admin-secret-id", admin, "--project-id", "proj_tresor",
                 grace=1)
    arn = provider_secret(rs, old)
    tok = token()
    rs.sm.rotate_secret(SecretId=arn, ClientRequestToken=tok, RotationLambdaARN=fn)
    assert rs.wait(arn)["last_result"] == "succeeded"
    new = value_of(rs, arn)
    assert new["api_key"] != old.value and new["key_id"] and new["key_id"] != old.key_id
    created = providers.requests_to("/v1/organization/projects/proj_tresor/service_accounts", "POST")
    assert len(created) == 1 and created[0].auth == "admin"
    checks = providers.requests_to("/v1/models", "GET", provider="openai")
    assert checks and checks[-1].auth == f"issued:{new['key_id']}"
    assert value_of(rs, arn, VersionStage="AWSPREVIOUS")["api_key"] == old.value
    # Clients caching AWSPREVIOUS keep working until the grace period ends…
    assert providers.key(old.key_id).live
    # …then the old service account is deleted.
    wait_for(lambda: providers.requests_to(
        f"/v1/organization/projects/proj_tresor/service_accounts/{old.key_id}", "DELETE"),
        what="the old key's deletion")
    assert not providers.key(old.key_id).live and providers.key(new["key_id"]).live
    logs = rs.cli("rotator", "logs", fn)
    assert {l["step"] for l in logs} >= {"createSecret", "setSecret", "testSecret", "finishSecret", "revoke"}
    text = json.dumps(logs) + trail_text(rs)
    for secret in (providers.admin_keys["openai"], new["api_key"], old.value):
        assert secret not in text


def test_openai_failing_test_secret_leaves_current(rs, providers):
    """A failing testSecret leaves AWSCURRENT untouched (and revokes nothing)."""
    old = providers.issue("openai")
    admin = admin_secret(rs, providers, "openai")
    fn = builtin(rs, "openai", providers, "--admin-secret-id", admin, "--project-id", "proj_x")
    arn = provider_secret(rs, old)
    providers.refuse_key_checks = True
    tok = token()
    rs.sm.rotate_secret(SecretId=arn, ClientRequestToken=tok, RotationLambdaARN=fn)
    s = rs.wait(arn, until=lambda s: s.get("last_result") == "failed")
    assert s["last_error"] == "testSecret: testSecret: GET /v1/models answered HTTP 401" or \
        "401" in s["last_error"], s
    assert value_of(rs, arn)["api_key"] == old.value
    assert "AWSPENDING" in rs.stages(arn)[tok]
    assert providers.key(old.key_id).live
    assert not providers.requests_to(
        f"/v1/organization/projects/proj_x/service_accounts/{old.key_id}", "DELETE")
    # The retry (moved here by the test clock) succeeds once the provider accepts the key,
    # and creates no second key.
    providers.refuse_key_checks = False
    later = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)).isoformat()
    rs.cli("rotation", "run-due", "--as-of", later, "--wait")
    assert rs.wait(arn)["last_result"] == "succeeded"
    assert len(providers.requests_to("/v1/organization/projects/proj_x/service_accounts", "POST")) == 1
    assert current_version(rs.stages(arn)) == tok


def test_openrouter_rotator_end_to_end(rs, providers):
    old = providers.issue("openrouter")
    admin = admin_secret(rs, providers, "openrouter")
    fn = builtin(rs, "openrouter", providers, "--admin-secret-id", admin)
    arn = provider_secret(rs, old)
    rs.sm.rotate_secret(SecretId=arn, RotationLambdaARN=fn)
    assert rs.wait(arn)["last_result"] == "succeeded"
    new = value_of(rs, arn)
    created = providers.requests_to("/api/v1/keys", "POST")
    assert len(created) == 1 and created[0].auth == "admin"
    checks = providers.requests_to("/api/v1/key", "GET")
    assert checks and checks[-1].auth == f"issued:{new['key_id']}"
    wait_for(lambda: providers.requests_to(f"/api/v1/keys/{old.key_id}", "DELETE"),
             what="the old key's deletion")
    assert not providers.key(old.key_id).live


def test_manual_rotator_waits_for_a_person(rs, providers):
    """`manual` (Anthropic): the rotation waits for a person to put the new key as
    AWSPENDING, then tests it (GET /v1/models), promotes it and sets the old key inactive."""
    old = providers.issue("anthropic")
    admin = admin_secret(rs, providers, "anthropic")
    fn = builtin(rs, "manual", providers, "--provider", "anthropic", "--admin-secret-id", admin)
    arn = provider_secret(rs, old)
    tok = token()
    rs.sm.rotate_secret(SecretId=arn, ClientRequestToken=tok, RotationLambdaARN=fn)
    s = rs.wait(arn, until=lambda s: s["state"] == "waiting")
    assert s["pending_version_id"] == tok
    assert value_of(rs, arn)["api_key"] == old.value
    # A person creates the key in the Console and puts it under the pending version's id.
    new = providers.issue("anthropic", name="made-by-hand")
    rs.sm.put_secret_value(SecretId=arn, ClientRequestToken=tok, VersionStages=["AWSPENDING"],
                           SecretString=json.dumps({"api_key": new.value, "key_id": new.key_id}))
    later = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=5)).isoformat()
    rs.cli("rotation", "run-due", "--as-of", later, "--wait")
    assert rs.wait(arn)["last_result"] == "succeeded"
    assert value_of(rs, arn)["api_key"] == new.value
    check = providers.requests_to("/v1/models", "GET", provider="anthropic")[-1]
    assert check.auth == f"issued:{new.key_id}" and check.headers.get("anthropic-version")
    wait_for(lambda: providers.key(old.key_id).status == "inactive", what="the old key set inactive")
    update = providers.requests_to(f"/v1/organizations/api_keys/{old.key_id}", "POST")[-1]
    assert update.auth == "admin" and update.json == {"status": "inactive"}


def test_builtin_needs_read_access_to_the_admin_key(rs, providers):
    """Registering a built-in rotator that reads an admin key needs the right to read it."""
    admin = admin_secret(rs, providers, "openai")
    user = f"nokey-{uuid.uuid4().hex[:6]}"
    rs.iam.create_user(UserName=user)
    doc = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["rotation:*", "iam:PassRole"], "Resource": "*"},
        {"Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Resource": admin}]}
    rs.iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps(doc))
    key = rs.iam.create_access_key(UserName=user)["AccessKey"]
    proc = rs.cli_proc("rotator", "create", f"sneaky-{uuid.uuid4().hex[:6]}", "--type", "openai",
                       "--role-arn", rs.role_arn, "--admin-secret-id", admin, "--project-id", "p",
                       "--base-url", "https://attacker.example", creds=(key["AccessKeyId"], key["SecretAccessKey"]))
    assert proc.returncode != 0 and "AccessDenied" in proc.stdout + proc.stderr
