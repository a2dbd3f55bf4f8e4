"""Rotation through its real clients: boto3 and the aws CLI call RotateSecret and
CancelRotateSecret on a Tresor dev server; rotators are registered with the `tresor rotator`
CLI; the rotation function is AWS's standard four-step Lambda handler written with boto3
(rotation_function/lambda_function.py), run unchanged as a command rotator. Each test is one
row of ../../shared/conformance/rotation.md (named in its docstring)."""

import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

from conftest import REGION, DevServer, error_of, expect_error, raw_call, token, tresor_bin, uniq

HERE = os.path.dirname(os.path.abspath(__file__))
FUNCTION_DIR = os.path.join(HERE, "rotation_function")
IN_PROGRESS = "A previous rotation isn't complete. That rotation will be reattempted."
NO_ROTATOR = "No Lambda rotation function ARN is associated with this secret."


class CliError(AssertionError):
    def __init__(self, proc):
        super().__init__(f"exit {proc.returncode}: {proc.stdout} {proc.stderr}")
        self.proc = proc


class Rot:
    """One server, its clients, and helpers to register rotators and wait for rotations."""

    def __init__(self, server):
        self.server = server
        self.sm = server.client()
        self.iam = server.client("iam")
        self.ct = server.client("cloudtrail")
        self.role_arn = self.role()

    def cli_proc(self, *args, creds=None, timeout=120):
        key_id, secret = creds or (self.server.key_id, self.server.secret)
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": self.server.endpoint,
            "AWS_ACCESS_KEY_ID": key_id,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
        }
        env.pop("AWS_SESSION_TOKEN", None)
        return subprocess.run([tresor_bin(), *args, "--output", "json"],
                              env=env, capture_output=True, text=True, timeout=timeout)

    def cli(self, *args, creds=None, timeout=120):
        proc = self.cli_proc(*args, creds=creds, timeout=timeout)
        if proc.returncode != 0:
            raise CliError(proc)
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    def role(self, actions=("secretsmanager:*",)):
        name = f"rotator-{uuid.uuid4().hex[:8]}"
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole"}]}
        arn = self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        doc = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}
        self.iam.put_role_policy(RoleName=name, PolicyName="rotate", PolicyDocument=json.dumps(doc))
        return arn

    def command_rotator(self, env=None, name=None, timeout=None):
        """A command rotator running the standard boto3 handler; returns (arn, target dir)."""
        target = tempfile.mkdtemp(prefix="tresor-rotation-target-")
        assigns = " ".join(f"{k}={v}" for k, v in {"TARGET_DIR": target, **(env or {})}.items())
        command = f"{assigns} {sys.executable} run_rotation.py"
        args = ["rotator", "create", name or f"fn-{uuid.uuid4().hex[:8]}",
                "--role-arn", self.role_arn, "--command", command,
                "--working-directory", FUNCTION_DIR]
        if timeout:
            args += ["--step-timeout-seconds", str(timeout)]
        out = self.cli(*args)
        return out["arn"], target

    def secret(self, value="initial-password"):
        name = uniq("rot")
        arn = self.sm.create_secret(Name=name, SecretString=value)["ARN"]
        return arn

    def status(self, arn):
        for r in self.cli("rotation", "status"):
            if r["arn"] == arn:
                return r
        return None

    def wait(self, arn, until=lambda s: s["state"] != "running", timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            s = self.status(arn)
            if s is not None and until(s):
                return s
            time.sleep(0.2)
        raise AssertionError(f"rotation of {arn} did not settle: {self.status(arn)}\n"
                             + self.server.server_log()[-3000:])

    def stages(self, arn):
        return self.sm.describe_secret(SecretId=arn).get("VersionIdsToStages", {})

    def events(self, arn, name):
        out = []
        for page in self.ct.get_paginator("lookup_events").paginate(
                LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}]):
            for e in page["Events"]:
                record = json.loads(e["CloudTrailEvent"])
                if any(r.get("ResourceName") == arn for r in e.get("Resources", [])) or \
                        (record.get("responseElements") or {}).get("ARN") == arn:
                    out.append(record)
        return out


@pytest.fixture(scope="module")
def rs():
    # A short tick so retries and schedules fire quickly when the test clock moves them.
    server = DevServer(extra_args=["--rotation-tick", "200ms"])
    yield Rot(server)
    server.stop()


def current_version(stages):
    return next(v for v, s in stages.items() if "AWSCURRENT" in s)


# ---------------------------------------------------------------------------- RotateSecret

def test_no_rotator_is_refused(rs):
    """No rotator configured: InvalidRequestException, AWS's message."""
    arn = rs.secret()
    expect_error(rs.sm.rotate_secret, "InvalidRequestException", NO_ROTATOR, SecretId=arn)
    assert "RotationEnabled" not in rs.sm.describe_secret(SecretId=arn)


def test_unregistered_rotator_leaves_rotation_off(rs):
    """A rotator ARN that names nothing is refused, and does not leave RotationEnabled=true."""
    arn = rs.secret()
    ghost = f"arn:aws:lambda:{REGION}:000000000000:function:no-such-{uuid.uuid4().hex[:6]}"
    with pytest.raises(Exception) as e:
        rs.sm.rotate_secret(SecretId=arn, RotationLambdaARN=ghost)
    assert error_of(e)[0] == "AccessDeniedException"
    d = rs.sm.describe_secret(SecretId=arn)
    assert "RotationEnabled" not in d and "RotationLambdaARN" not in d
    assert list(rs.stages(arn).values()) == [["AWSCURRENT"]]


def test_four_step_boto3_function_rotates(rs):
    """The standard four-step handler runs unchanged; the pending version exists before it
    runs; ClientRequestToken is the VersionId; dates set; AWSPENDING cleared; events."""
    fn, target = rs.command_rotator()
    arn = rs.secret()
    old = current_version(rs.stages(arn))
    tok = token()
    out = rs.sm.rotate_secret(SecretId=arn, ClientRequestToken=tok, RotationLambdaARN=fn,
                              RotationRules={"AutomaticallyAfterDays": 30})
    assert out["VersionId"] == tok and out["ARN"] == arn
    s = rs.wait(arn)
    assert s["last_result"] == "succeeded", s
    stages = rs.stages(arn)
    assert stages[tok] == ["AWSCURRENT"], stages
    assert stages[old] == ["AWSPREVIOUS"], stages
    new = rs.sm.get_secret_value(SecretId=arn)["SecretString"]
    assert new != "initial-password" and len(new) == 32
    with open(os.path.join(target, "password-" + arn.split(":secret:")[-1].replace("/", "_"))) as f:
        assert f.read() == new
    with open(os.path.join(target, "steps.log")) as f:
        assert [l.split()[0] for l in f] == ["createSecret", "setSecret", "testSecret", "finishSecret"]
    # AWSPREVIOUS stays readable for clients that cache the old value.
    assert rs.sm.get_secret_value(SecretId=arn, VersionStage="AWSPREVIOUS")["SecretString"] == "initial-password"
    d = rs.sm.describe_secret(SecretId=arn)
    assert d["RotationEnabled"] is True and d["RotationLambdaARN"] == fn
    assert d["RotationRules"]["AutomaticallyAfterDays"] == 30
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((d["LastRotatedDate"] - now).total_seconds()) < 60
    assert datetime.timedelta(days=29) < d["NextRotationDate"] - now < datetime.timedelta(days=31)
    started = rs.events(arn, "RotationStarted")
    succeeded = rs.events(arn, "RotationSucceeded")
    assert started and succeeded
    assert started[0]["eventType"] == "AwsServiceEvent"
    assert succeeded[0]["additionalEventData"]["VersionId"] == tok
    # The rotator's log: four steps, each ok.
    logs = rs.cli("rotator", "logs", fn, "--secret-id", arn)
    assert sorted(l["step"] for l in logs) == sorted(["createSecret", "setSecret", "testSecret", "finishSecret"])
    assert all(l["outcome"] == "ok" for l in logs), logs


def test_rotation_token_never_in_the_trail(rs):
    """RotationToken is sensitive: each step receives the same one, and no audit record holds
    it (the rotator's own calls, the rotation events)."""
    log = tempfile.mktemp(prefix="tresor-events-")
    fn, _ = rs.command_rotator(env={"EVENT_LOG": log})
    arn = rs.secret()
    rs.sm.rotate_secret(SecretId=arn, RotationLambdaARN=fn)
    assert rs.wait(arn)["last_result"] == "succeeded"
    events = [json.loads(l) for l in open(log)]
    assert [e["Step"] for e in events] == ["createSecret", "setSecret", "testSecret", "finishSecret"]
    assert all(set(e.keys()) == {"Step", "SecretId", "ClientRequestToken", "RotationToken"}
               for e in events)
    tokens = {e["RotationToken"] for e in events}
    assert len(tokens) == 1 and len(tokens.pop()) >= 36
    rotation_token = events[0]["RotationToken"]
    trail = json.dumps([e for page in rs.ct.get_paginator("lookup_events").paginate()
                        for e in page["Events"]], default=str)
    assert rotation_token not in trail


def test_failed_step_keeps_current_and_pending_then_in_progress_error(rs):
    """A failing testSecret leaves AWSCURRENT alone and AWSPENDING in place (on the token's
    version); RotationFailed carries the summary, not the output; another RotateSecret answers
    the in-progress error; the same token again is idempotent."""
    fn, _ = rs.command_rotator(env={"FAIL_STEP": "testSecret"})
    arn = rs.secret()
    old = current_version(rs.stages(arn))
    tok = token()
    rs.sm.rotate_secret(SecretId=arn, ClientRequestToken=tok, RotationLambdaARN=fn)
    s = rs.wait(arn, until=lambda s: s.get("last_result") == "failed")
    assert s["state"] == "retrying" and s["pending_version_id"] == tok
    assert "testSecret" in s["last_error"] and "exit status" in s["last_error"]
    stages = rs.stages(arn)
    assert stages[old] == ["AWSCURRENT"] and stages[tok] == ["AWSPENDING"]
    assert rs.sm.get_secret_value(SecretId=arn)["SecretString"] == "initial-password"
    failed = rs.events(arn, "RotationFailed")
    assert failed and "testSecret" in failed[0]["additionalEventData"]["Summary"]
    assert "failed on purpose" not in json.dumps(failed)
    # The output is in the rotator's log, not the trail.
    logs = rs.cli("rotator", "logs", fn, "--secret-id", arn)
    assert any("failed on purpose" in l["stderr"] for l in logs)
    expect_error(rs.sm.rotate_secret, "InvalidRequestException", IN_PROGRESS,
                 SecretId=arn, ClientRequestToken=token())
    again = rs.sm.rotate_secret(SecretId=arn, ClientRequestToken=tok)
    assert again["VersionId"] == tok
    # The aws CLI sees the same refusal.
    proc = rs.server.aws("secretsmanager", "rotate-secret", "--secret-id", arn, check=False)
    assert proc.returncode != 0 and "InvalidRequestException" in proc.stderr
    # A manual put abandons the stuck rotation: AWSPENDING goes, RotationAbandoned recorded.
    rs.sm.put_secret_value(SecretId=arn, SecretString="set-by-hand")
    stages = rs.stages(arn)
    assert not any("AWSPENDING" in s for s in stages.values()), stages
    assert rs.events(arn, "RotationAbandoned")
    s = rs.status(arn)
    assert s["state"] == "idle" and s["last_result"] == "abandoned"


def test_retry_runs_the_whole_rotation_again(rs):
    """The service retries a failed rotation (with backoff, moved here by the test clock)
    with the same token, and it can then succeed."""
    fn, target = rs.command_rotator(env={"FAIL_STEP": "setSecret"})
    arn = rs.secret()
    tok = token()
    rs.sm.rotate_secret(SecretId=arn, ClientRequestToken=tok, RotationLambdaARN=fn)
    rs.wait(arn, until=lambda s: s.get("last_result") == "failed")
    # The retry waits for its backoff; the test clock moves past it.
    before = rs.status(arn)["attempts"]
    later = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)).isoformat()
    rs.cli("rotation", "run-due", "--as-of", later)
    rs.wait(arn, until=lambda s: s["attempts"] > before and s["state"] != "running")
    with open(os.path.join(target, "steps.log")) as f:
        creates = [l for l in f if l.startswith("createSecret")]
    assert len(creates) >= 2
    rs.sm.cancel_rotate_secret(SecretId=arn)


def test_cancel_leaves_labels_and_configuration(rs):
    """CancelRotateSecret: rotation off, the partly created version returned, labels left,
    RotationRules and the rotator still shown."""
    fn, _ = rs.command_rotator(env={"FAIL_STEP": "setSecret"})
    arn = rs.secret()
    tok = token()
    rs.sm.rotate_secret(SecretId=arn, ClientRequestToken=tok, RotationLambdaARN=fn,
                        RotationRules={"ScheduleExpression": "rate(10 days)"})
    rs.wait(arn, until=lambda s: s.get("last_result") == "failed")
    out = rs.sm.cancel_rotate_secret(SecretId=arn)
    assert out["VersionId"] == tok and out["ARN"] == arn
    d = rs.sm.describe_secret(SecretId=arn)
    assert d["RotationEnabled"] is False
    assert d["RotationLambdaARN"] == fn
    assert d["RotationRules"]["ScheduleExpression"] == "rate(10 days)"
    assert "AWSPENDING" in d["VersionIdsToStages"][tok]
    # The caller removes AWSPENDING itself.
    rs.sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSPENDING", RemoveFromVersionId=tok)
    # And a RotateSecret without parameters rotates again with the stored configuration.
    fixed, _ = rs.command_rotator()
    rs.sm.rotate_secret(SecretId=arn, RotationLambdaARN=fixed)
    assert rs.wait(arn)["last_result"] == "succeeded"
    assert rs.sm.describe_secret(SecretId=arn)["RotationEnabled"] is True


def test_rotate_immediately_false_runs_only_test_secret(rs):
    """RotateImmediately=false: only testSecret runs; the pending version is created and
    removed; AWSCURRENT stays; the schedule decides the next rotation."""
    fn, target = rs.command_rotator()
    arn = rs.secret()
    before = rs.stages(arn)
    tok = token()
    rs.sm.rotate_secret(SecretId=arn, ClientRequestToken=tok, RotationLambdaARN=fn,
                        RotationRules={"AutomaticallyAfterDays": 7}, RotateImmediately=False)
    s = rs.wait(arn, until=lambda s: s["state"] == "idle")
    with open(os.path.join(target, "steps.log")) as f:
        assert [l.split()[0] for l in f] == ["testSecret"]
    assert rs.stages(arn) == before
    d = rs.sm.describe_secret(SecretId=arn)
    assert d["RotationEnabled"] is True and "LastRotatedDate" not in d
    now = datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(days=6) < d["NextRotationDate"] - now < datetime.timedelta(days=8)
    # (This function's testSecret reads the pending value, which a test-only run does not
    # create, so it reports a failure; either way nothing else ran and nothing is left.)
    assert s["pending_version_id"] is None


def test_second_rotate_without_parameters_rotates_again(rs):
    """A second RotateSecret with no parameters rotates with the stored configuration."""
    fn, _ = rs.command_rotator()
    arn = rs.secret()
    first = rs.sm.rotate_secret(SecretId=arn, RotationLambdaARN=fn)["VersionId"]
    rs.wait(arn)
    second = rs.sm.rotate_secret(SecretId=arn)["VersionId"]
    assert second != first
    rs.wait(arn)
    assert rs.stages(arn)[second] == ["AWSCURRENT"]
    assert rs.stages(arn)[first] == ["AWSPREVIOUS"]


def test_schedule_fires_by_the_test_clock(rs):
    """Schedules are fired: once the (test) clock passes NextRotationDate, the scheduler
    rotates again without any call."""
    fn, _ = rs.command_rotator()
    arn = rs.secret()
    rs.sm.rotate_secret(SecretId=arn, RotationLambdaARN=fn,
                        RotationRules={"AutomaticallyAfterDays": 1})
    rs.wait(arn)
    d1 = rs.sm.describe_secret(SecretId=arn)
    first = current_version(d1["VersionIdsToStages"])
    # Not due yet: nothing happens now.
    out = rs.cli("rotation", "run-due")
    assert arn not in out["arns"]
    when = (d1["NextRotationDate"] + datetime.timedelta(minutes=1)).isoformat()
    out = rs.cli("rotation", "run-due", "--as-of", when, "--wait")
    assert arn in out["arns"]
    rs.wait(arn)
    d2 = rs.sm.describe_secret(SecretId=arn)
    assert current_version(d2["VersionIdsToStages"]) != first
    assert d2["LastRotatedDate"] > d1["LastRotatedDate"]


def test_manual_put_counts_for_automatically_after_days(rs):
    """With AutomaticallyAfterDays, a PutSecretValue counts as a rotation: the next date moves."""
    fn, _ = rs.command_rotator()
    arn = rs.secret()
    rs.sm.rotate_secret(SecretId=arn, RotationLambdaARN=fn,
                        RotationRules={"AutomaticallyAfterDays": 3}, RotateImmediately=False)
    rs.wait(arn, until=lambda s: s["state"] == "idle")
    before = rs.sm.describe_secret(SecretId=arn)["NextRotationDate"]
    rs.sm.put_secret_value(SecretId=arn, SecretString="by-hand")
    after = rs.sm.describe_secret(SecretId=arn)["NextRotationDate"]
    assert after >= before


@pytest.mark.parametrize("rules", [
    {"AutomaticallyAfterDays": 0},
    {"AutomaticallyAfterDays": 1001},
    {"AutomaticallyAfterDays": 5, "ScheduleExpression": "rate(5 days)"},
    {"ScheduleExpression": "rate(1 hours)"},
    {"ScheduleExpression": "every day"},
    {"ScheduleExpression": "rate(2 days)", "Duration": "25h"},
    {"ScheduleExpression": "rate(2 days)", "Duration": "3 hours"},
])
def test_bad_rules_are_refused_and_change_nothing(rs, rules):
    fn, _ = rs.command_rotator()
    arn = rs.secret()
    # Without botocore's own checks, so the server's answer is what is tested.
    sm = rs.server.client(parameter_validation=False)
    with pytest.raises(Exception) as e:
        sm.rotate_secret(SecretId=arn, RotationLambdaARN=fn, RotationRules=rules)
    assert error_of(e)[0] in ("InvalidParameterException", "ValidationException"), error_of(e)
    d = rs.sm.describe_secret(SecretId=arn)
    assert "RotationEnabled" not in d
    assert not any("AWSPENDING" in s for s in d["VersionIdsToStages"].values())


def test_schedule_expression_with_duration(rs):
    """ScheduleExpression + Duration is served (an emulator answered an internal error)."""
    fn, _ = rs.command_rotator()
    arn = rs.secret()
    rs.sm.rotate_secret(SecretId=arn, RotationLambdaARN=fn, RotateImmediately=False,
                        RotationRules={"ScheduleExpression": "cron(0 8 ? * MON *)", "Duration": "3h"})
    rs.wait(arn, until=lambda s: s["state"] == "idle")
    d = rs.sm.describe_secret(SecretId=arn)
    assert d["RotationRules"] == {"ScheduleExpression": "cron(0 8 ? * MON *)", "Duration": "3h"}
    nxt = d["NextRotationDate"]
    assert nxt.weekday() == 0 and nxt > datetime.datetime.now(datetime.timezone.utc)


def test_aws_cli_rotate_and_cancel(rs):
    """The aws CLI drives the same protocol."""
    fn, _ = rs.command_rotator()
    arn = rs.secret()
    out = rs.server.aws("secretsmanager", "rotate-secret", "--secret-id", arn,
                        "--rotation-lambda-arn", fn, "--rotation-rules", "AutomaticallyAfterDays=10")
    assert out["ARN"] == arn and out["VersionId"]
    rs.wait(arn)
    assert rs.stages(arn)[out["VersionId"]] == ["AWSCURRENT"]
    out = rs.server.aws("secretsmanager", "cancel-rotate-secret", "--secret-id", arn)
    assert out["ARN"] == arn and "VersionId" not in out
    d = rs.server.aws("secretsmanager", "describe-secret", "--secret-id", arn)
    assert d["RotationEnabled"] is False and d["RotationRules"]["AutomaticallyAfterDays"] == 10


# ---------------------------------------------------------------------------- authorization

def test_rotate_needs_invoke_on_the_rotator_and_create_needs_pass_role(rs):
    """Attaching a rotator needs lambda:InvokeFunction on it; registering one needs
    iam:PassRole on its role."""
    fn, _ = rs.command_rotator()
    arn = rs.secret()
    user = f"rotuser-{uuid.uuid4().hex[:6]}"
    rs.iam.create_user(UserName=user)
    doc = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["secretsmanager:*", "rotation:*"], "Resource": "*"}]}
    rs.iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps(doc))
    key = rs.iam.create_access_key(UserName=user)["AccessKey"]
    creds = (key["AccessKeyId"], key["SecretAccessKey"])
    sm = rs.server.client(key_id=creds[0], secret=creds[1])
    with pytest.raises(Exception) as e:
        sm.rotate_secret(SecretId=arn, RotationLambdaARN=fn)
    assert error_of(e)[0] == "AccessDeniedException"
    assert "RotationEnabled" not in rs.sm.describe_secret(SecretId=arn)
    proc = rs.cli_proc("rotator", "create", f"x-{uuid.uuid4().hex[:6]}", "--role-arn", rs.role_arn,
                       "--command", "true", creds=creds)
    assert proc.returncode != 0 and "AccessDenied" in proc.stdout + proc.stderr
    # Granted both, it works.
    doc["Statement"].append({"Effect": "Allow", "Action": ["lambda:InvokeFunction", "iam:PassRole"],
                             "Resource": "*"})
    rs.iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps(doc))
    sm.rotate_secret(SecretId=arn, RotationLambdaARN=fn)
    assert rs.wait(arn)["last_result"] == "succeeded"


def test_rotator_cannot_escape_its_role(rs):
    """A rotator acts with its role's rights only: a role without PutSecretValue fails
    createSecret, AWSCURRENT untouched."""
    weak = rs.role(actions=("secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
                            "secretsmanager:GetRandomPassword"))
    target = tempfile.mkdtemp()
    out = rs.cli("rotator", "create", f"weak-{uuid.uuid4().hex[:6]}", "--role-arn", weak,
                 "--command", f"TARGET_DIR={target} {sys.executable} run_rotation.py",
                 "--working-directory", FUNCTION_DIR)
    arn = rs.secret()
    rs.sm.rotate_secret(SecretId=arn, RotationLambdaARN=out["arn"])
    s = rs.wait(arn, until=lambda s: s.get("last_result") == "failed")
    assert s["last_error"].startswith("createSecret")
    assert rs.sm.get_secret_value(SecretId=arn)["SecretString"] == "initial-password"
    rs.sm.cancel_rotate_secret(SecretId=arn)


def test_command_rotator_environment_is_clean(rs):
    """A command rotator sees the role's short-lived credentials, the endpoint and the region,
    and nothing of the server's environment."""
    out_file = tempfile.mktemp(prefix="tresor-env-")
    server = DevServer(extra_args=["--rotation-tick", "200ms"],
                       env={"TRESOR_CANARY_SHOULD_NOT_LEAK": "canary-7c1e"})
    try:
        r = Rot(server)
        fn = r.cli("rotator", "create", "envdump", "--role-arn", r.role_arn,
                   "--command", f"env > {out_file}; exit 1")["arn"]
        arn = r.secret()
        r.sm.rotate_secret(SecretId=arn, RotationLambdaARN=fn)
        r.wait(arn, until=lambda s: s.get("last_result") == "failed")
        env = dict(l.split("=", 1) for l in open(out_file).read().splitlines() if "=" in l)
        assert env["AWS_ACCESS_KEY_ID"].startswith("ASIA") and env["AWS_SESSION_TOKEN"]
        assert env["AWS_ENDPOINT_URL"] == server.endpoint
        assert env["SECRETS_MANAGER_ENDPOINT"] == server.endpoint
        assert env["AWS_REGION"] == REGION
        assert "TRESOR_CANARY_SHOULD_NOT_LEAK" not in env
        assert not any(k.startswith("TRESOR_") for k in env)
    finally:
        server.stop()


def test_pending_on_the_current_version_is_legal(rs):
    """AWSPENDING on the same version as AWSCURRENT is not a rotation in progress (an
    emulator refused it): RotateSecret goes ahead and the label moves to the new version."""
    fn, _ = rs.command_rotator()
    arn = rs.secret()
    current = current_version(rs.stages(arn))
    rs.sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSPENDING", MoveToVersionId=current)
    assert rs.stages(arn)[current] == ["AWSCURRENT", "AWSPENDING"]
    tok = rs.sm.rotate_secret(SecretId=arn, RotationLambdaARN=fn)["VersionId"]
    assert rs.wait(arn)["last_result"] == "succeeded"
    stages = rs.stages(arn)
    assert stages[tok] == ["AWSCURRENT"] and stages[current] == ["AWSPREVIOUS"], stages


def test_command_rotators_can_be_disabled():
    """A server started with --disable-command-rotators refuses to register one (a command
    runs as the server's OS user); webhook and built-in rotators are still accepted."""
    server = DevServer(extra_args=["--disable-command-rotators"])
    try:
        r = Rot(server)
        proc = r.cli_proc("rotator", "create", "cmd", "--role-arn", r.role_arn, "--command", "true")
        assert proc.returncode != 0
        assert "InvalidRequestException" in proc.stdout + proc.stderr
        assert "disabled" in proc.stdout + proc.stderr
        hook = r.cli("rotator", "create", "hook", "--role-arn", r.role_arn,
                     "--url", "https://rotate.example.com/hook")
        assert hook["type"] == "webhook"
        assert [x["name"] for x in r.cli("rotator", "list")] == ["hook"]
    finally:
        server.stop()


def test_each_admin_operation_needs_its_own_action(rs):
    """Each of the seven rotation admin operations is refused to a caller allowed everything
    but its action, and not refused to one allowed that action (and what it also needs)."""
    fn, _ = rs.command_rotator(name=f"perm-{uuid.uuid4().hex[:6]}")
    name = fn.rsplit(":", 1)[1]
    calls = {
        "CreateRotator": {"Name": f"new-{uuid.uuid4().hex[:6]}", "Type": "command",
                          "RoleArn": rs.role_arn, "Command": "true"},
        "GetRotator": {"Name": name},
        "ListRotators": {},
        "GetRotatorLogs": {"Name": name},
        "ListRotationStatus": {},
        "RunDueRotations": {},
        "DeleteRotator": {"Name": name},
    }

    def user(statements):
        uname = f"rotperm-{uuid.uuid4().hex[:6]}"
        rs.iam.create_user(UserName=uname)
        rs.iam.put_user_policy(UserName=uname, PolicyName="p", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": statements}))
        key = rs.iam.create_access_key(UserName=uname)["AccessKey"]
        return {"key_id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}

    def call(op, creds):
        return raw_call(rs.server, op, calls[op], target=f"TresorRotation.{op}",
                        service="rotation", **creds)

    for op in calls:
        denied = user([{"Effect": "Allow", "Action": "*", "Resource": "*"},
                       {"Effect": "Deny", "Action": f"rotation:{op}", "Resource": "*"}])
        call(op, denied).assert_error("AccessDeniedException")
        allowed = user([{"Effect": "Allow", "Action": [f"rotation:{op}", "iam:PassRole"],
                         "Resource": "*"}])
        r = call(op, allowed)
        assert r.status == 200, (op, r.status, r.json)
