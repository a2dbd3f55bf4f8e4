"""STS through boto3 and the aws CLI: GetCallerIdentity for every kind of principal, and
AssumeRole: the trust policy decides, the temporary credentials work (and only with their
session token, and only while the role exists), and secrets never reach the log."""

import json
import os
import sys
import subprocess
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import REGION

ALLOW_SM = {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}]}
ALLOW_ASSUME = {"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}


def name(prefix="u"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def trust(*principals):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": list(principals)}, "Action": "sts:AssumeRole"}]})


def client(server, service, key_id, secret, token=None):
    return boto3.client(service, endpoint_url=server.endpoint, region_name=REGION,
                        aws_access_key_id=key_id, aws_secret_access_key=secret,
                        aws_session_token=token, config=Config(retries={"max_attempts": 1}))


def error_code(fn, **kwargs):
    with pytest.raises(ClientError) as info:
        fn(**kwargs)
    return info.value.response["Error"]["Code"], info.value.response


@pytest.fixture(scope="module")
def iam(server):
    return server.client("iam")


@pytest.fixture(scope="module")
def account(server):
    return server.client("sts").get_caller_identity()["Account"]


class User:
    """An IAM user with an access key and boto3 clients for it."""

    def __init__(self, server, iam, policies=()):
        self.iam = iam
        self.name = name()
        self.arn = iam.create_user(UserName=self.name)["User"]["Arn"]
        for i, doc in enumerate(policies):
            iam.put_user_policy(UserName=self.name, PolicyName=f"p{i}", PolicyDocument=json.dumps(doc))
        self.key = iam.create_access_key(UserName=self.name)["AccessKey"]
        self.sts = client(server, "sts", self.key["AccessKeyId"], self.key["SecretAccessKey"])


def make_role(iam, doc, policy=ALLOW_SM, **kw):
    r = name("role")
    role = iam.create_role(RoleName=r, AssumeRolePolicyDocument=doc, **kw)["Role"]
    if policy:
        iam.put_role_policy(RoleName=r, PolicyName="p", PolicyDocument=json.dumps(policy))
    return role


def test_get_caller_identity_of_root_and_user(server, iam, account):
    me = server.client("sts").get_caller_identity()
    assert me["Arn"] == f"arn:aws:iam::{account}:root"
    assert me["UserId"] == account
    alice = User(server, iam)
    me = alice.sts.get_caller_identity()
    assert me["Arn"] == alice.arn and me["UserId"].startswith("AIDA") and me["Account"] == account
    cli = server.aws("sts", "get-caller-identity")
    assert cli["Arn"] == f"arn:aws:iam::{account}:root"


def test_assume_role_credentials_work(server, iam, account):
    alice = User(server, iam)
    role = make_role(iam, trust(alice.arn))
    out = alice.sts.assume_role(RoleArn=role["Arn"], RoleSessionName="ci-run", DurationSeconds=900)
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20
    assert len(creds["SecretAccessKey"]) == 40 and len(creds["SessionToken"]) >= 100
    assert creds["Expiration"].tzinfo is not None
    session_arn = f"arn:aws:sts::{account}:assumed-role/{role['RoleName']}/ci-run"
    assert out["AssumedRoleUser"] == {"AssumedRoleId": f"{role['RoleId']}:ci-run", "Arn": session_arn}

    sts = client(server, "sts", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    me = sts.get_caller_identity()
    assert me["Arn"] == session_arn and me["UserId"] == f"{role['RoleId']}:ci-run"
    sm = client(server, "secretsmanager", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    sm.list_secrets()

    # Neither a forged token nor no token at all will do.
    forged = client(server, "secretsmanager", creds["AccessKeyId"], creds["SecretAccessKey"],
                    creds["SessionToken"][:-4] + "AAAA")
    assert error_code(forged.list_secrets)[0] == "UnrecognizedClientException"
    bare = client(server, "sts", creds["AccessKeyId"], creds["SecretAccessKey"])
    assert error_code(bare.get_caller_identity)[0] == "InvalidClientTokenId"

    log = server.server_log()
    assert creds["SecretAccessKey"] not in log and creds["SessionToken"] not in log


def test_cli_assume_role(server, iam, account):
    alice = User(server, iam)
    role = make_role(iam, trust(alice.arn))
    env = {**os.environ, "AWS_ENDPOINT_URL": server.endpoint,
           "AWS_ACCESS_KEY_ID": alice.key["AccessKeyId"],
           "AWS_SECRET_ACCESS_KEY": alice.key["SecretAccessKey"],
           "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": "/dev/null",
           "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_MAX_ATTEMPTS": "1"}
    aws = os.path.join(os.path.dirname(sys.executable), "aws")

    def run(*args, **extra):
        proc = subprocess.run([aws, *args, "--output", "json"], env={**env, **extra},
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    creds = run("sts", "assume-role", "--role-arn", role["Arn"], "--role-session-name", "cli")["Credentials"]
    me = run("sts", "get-caller-identity", AWS_ACCESS_KEY_ID=creds["AccessKeyId"],
             AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"], AWS_SESSION_TOKEN=creds["SessionToken"])
    assert me["Arn"] == f"arn:aws:sts::{account}:assumed-role/{role['RoleName']}/cli"


def test_assume_role_denied_unless_trusted(server, iam, account):
    alice, bob = User(server, iam), User(server, iam, policies=[ALLOW_ASSUME])
    role = make_role(iam, trust(alice.arn))
    code, resp = error_code(bob.sts.assume_role, RoleArn=role["Arn"], RoleSessionName="s1")
    assert code == "AccessDenied"
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert resp["Error"]["Message"] == (
        f"User: {bob.arn} is not authorized to perform: sts:AssumeRole on resource: {role['Arn']}")
    # The root can't assume roles; a missing role is refused like an untrusted one.
    code, resp = error_code(server.client("sts").assume_role, RoleArn=role["Arn"], RoleSessionName="s1")
    assert code == "AccessDenied" and resp["Error"]["Message"] == "Roles may not be assumed by root accounts."
    missing = f"arn:aws:iam::{account}:role/{name('nope')}"
    assert error_code(alice.sts.assume_role, RoleArn=missing, RoleSessionName="s1")[0] == "AccessDenied"


def test_trust_in_the_account_needs_an_identity_allow(server, iam, account):
    role = make_role(iam, trust(f"arn:aws:iam::{account}:root"))
    plain = User(server, iam)
    assert error_code(plain.sts.assume_role, RoleArn=role["Arn"], RoleSessionName="s1")[0] == "AccessDenied"
    allowed = User(server, iam, policies=[ALLOW_ASSUME])
    allowed.sts.assume_role(RoleArn=role["Arn"], RoleSessionName="s1")


def test_assume_role_validation(server, iam):
    alice = User(server, iam)
    role = make_role(iam, trust(alice.arn))
    code, resp = error_code(alice.sts.assume_role, RoleArn=role["Arn"], RoleSessionName="s1", DurationSeconds=7200)
    assert code == "ValidationError"
    assert resp["Error"]["Message"] == "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
    assert error_code(alice.sts.assume_role, RoleArn=role["Arn"], RoleSessionName="bad name")[0] == "ValidationError"
    bad_policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]})
    assert error_code(alice.sts.assume_role, RoleArn=role["Arn"], RoleSessionName="s1",
                      Policy=bad_policy)[0] == "MalformedPolicyDocument"
    huge = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "S" * 2100, "Effect": "Allow", "Action": "*", "Resource": "*"}]})
    assert error_code(alice.sts.assume_role, RoleArn=role["Arn"], RoleSessionName="s1",
                      Policy=huge)[0] == "PackedPolicyTooLarge"
    out = alice.sts.assume_role(RoleArn=role["Arn"], RoleSessionName="s1", Policy=json.dumps(ALLOW_SM))
    assert 0 < out["PackedPolicySize"] <= 100


def test_session_policy_narrows(server, iam):
    alice = User(server, iam)
    role = make_role(iam, trust(alice.arn), policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    narrow = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:GetRandomPassword", "Resource": "*"}]})
    creds = alice.sts.assume_role(RoleArn=role["Arn"], RoleSessionName="s1", Policy=narrow)["Credentials"]
    sm = client(server, "secretsmanager", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    sm.get_random_password(PasswordLength=20)
    code, _ = error_code(sm.list_secrets)
    assert code == "AccessDeniedException"


def test_role_chaining(server, iam):
    alice = User(server, iam)
    first = make_role(iam, trust(alice.arn), policy=ALLOW_ASSUME)
    second = make_role(iam, trust(first["Arn"]))
    c = alice.sts.assume_role(RoleArn=first["Arn"], RoleSessionName="one")["Credentials"]
    sts = client(server, "sts", c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    code, _ = error_code(sts.assume_role, RoleArn=second["Arn"], RoleSessionName="two", DurationSeconds=7200)
    assert code == "ValidationError"
    out = sts.assume_role(RoleArn=second["Arn"], RoleSessionName="two")
    assert out["AssumedRoleUser"]["Arn"].endswith(f":assumed-role/{second['RoleName']}/two")


def test_sessions_end_with_their_role(server, iam):
    alice = User(server, iam)
    role = make_role(iam, trust(alice.arn), policy=None)
    c = alice.sts.assume_role(RoleArn=role["Arn"], RoleSessionName="s1")["Credentials"]
    sts = client(server, "sts", c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    sts.get_caller_identity()
    iam.delete_role(RoleName=role["RoleName"])
    assert error_code(sts.get_caller_identity)[0] == "InvalidClientTokenId"
    # Re-creating a role of the same name does not revive old sessions.
    iam.create_role(RoleName=role["RoleName"], AssumeRolePolicyDocument=trust(alice.arn))
    assert error_code(sts.get_caller_identity)[0] == "InvalidClientTokenId"
    iam.delete_role(RoleName=role["RoleName"])


def test_expired_sessions_are_refused(server, iam):
    """Expiry is enforced on every request: age the session in the store and the very next
    call is refused with ExpiredTokenException (ExpiredToken on the Query protocol)."""
    import sqlite3
    import time

    alice = User(server, iam)
    role = make_role(iam, trust(alice.arn))
    creds = alice.sts.assume_role(RoleArn=role["Arn"], RoleSessionName="short", DurationSeconds=900)["Credentials"]
    sm = client(server, "secretsmanager", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    sts = client(server, "sts", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    sm.list_secrets()

    db = sqlite3.connect(os.path.join(server.data_dir, "data", "tresor.db"), timeout=10)
    with db:
        changed = db.execute(
            "UPDATE sessions SET expires = ? WHERE access_key_id = ?",
            (int(time.time() * 1000) - 1000, creds["AccessKeyId"]),
        ).rowcount
    db.close()
    assert changed == 1

    code, response = error_code(sm.list_secrets)
    assert code == "ExpiredTokenException"
    assert response["Error"]["Message"] == "The security token included in the request is expired"
    assert error_code(sts.get_caller_identity)[0] == "ExpiredToken"
