"""Authorization that fails must deny: a stored policy that can no longer be read (a session
policy, a secret's resource policy, a user's inline or managed policy), corrupted in the store
behind the server's back, denies the very call it allowed a moment before, and the audit record
of the denial says that the stored policy could not be read."""

import json
import os
import sqlite3

import pytest

from conftest import uniq
from test_audit import lookup
from test_sts import ALLOW_SM, User, client, error_code, make_role, trust

READ_ONE = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}
GARBAGE = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Act'


@pytest.fixture(scope="module")
def iam(server):
    return server.client("iam")


def corrupt(server, sql, *params):
    """Overwrite a stored policy with `sql` in the server's SQLite file."""
    db = sqlite3.connect(os.path.join(server.data_dir, "data", "tresor.db"), timeout=10)
    with db:
        changed = db.execute(sql, params).rowcount
    db.close()
    assert changed == 1, sql


def secret(sm):
    return sm.create_secret(Name=uniq("unreadable"), SecretString="sk-" + uniq("v"))["ARN"]


def assert_denied_because_unreadable(server, sm, arn, key_id, what):
    """The call is refused with AWS's message, and its audit record (the caller's second
    GetSecretValue, after the one allowed) says that the stored policy could not be read."""
    code, response = error_code(sm.get_secret_value, SecretId=arn)
    assert code == "AccessDeniedException"
    message = response["Error"]["Message"]
    assert message.startswith("User: arn:aws:"), message
    assert "could not be read" not in message, "the reason is for the record, not the caller"

    events = [e for e in lookup(server.client("cloudtrail"), "AccessKeyId", key_id)
              if e["EventName"] == "GetSecretValue"]
    records = [json.loads(e["CloudTrailEvent"]) for e in events]
    allowed = [r for r in records if "errorCode" not in r]
    denied = [r for r in records if "errorCode" in r]
    assert len(allowed) == 1 and len(denied) == 1, records
    assert denied[0]["errorCode"] == "AccessDeniedException"
    assert denied[0]["errorMessage"] == message
    reason = denied[0].get("additionalEventData", {}).get("denialReason", "")
    assert f"{what} could not be read" in reason, denied[0]
    return message


def test_an_unreadable_session_policy_denies(server, iam):
    sm = server.client()
    arn = secret(sm)
    alice = User(server, iam)
    role = make_role(iam, trust(alice.arn), policy=ALLOW_SM)
    creds = alice.sts.assume_role(RoleArn=role["Arn"], RoleSessionName="s1",
                                  Policy=json.dumps(READ_ONE))["Credentials"]
    session = client(server, "secretsmanager", creds["AccessKeyId"], creds["SecretAccessKey"],
                     creds["SessionToken"])
    session.get_secret_value(SecretId=arn)

    corrupt(server, "UPDATE sessions SET session_policy = ? WHERE access_key_id = ?",
            GARBAGE, creds["AccessKeyId"])
    assert_denied_because_unreadable(server, session, arn, creds["AccessKeyId"],
                                     "the session policy")


def test_an_unreadable_resource_policy_denies_even_the_root(server, iam):
    sm = server.client()
    arn = secret(sm)
    alice = User(server, iam)
    sm.put_resource_policy(SecretId=arn, ResourcePolicy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": alice.arn},
            "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}))
    reader = client(server, "secretsmanager", alice.key["AccessKeyId"], alice.key["SecretAccessKey"])
    reader.get_secret_value(SecretId=arn)
    sm.get_secret_value(SecretId=arn)

    corrupt(server, "UPDATE secrets SET resource_policy = ? WHERE arn = ?", GARBAGE, arn)
    assert_denied_because_unreadable(server, reader, arn, alice.key["AccessKeyId"],
                                     "the resource-based policy")
    # It could have held a Deny for everyone: the root is refused too.
    assert error_code(sm.get_secret_value, SecretId=arn)[0] == "AccessDeniedException"


@pytest.mark.parametrize("attached", ["inline", "managed"])
def test_an_unreadable_identity_policy_denies(server, iam, attached):
    sm = server.client()
    arn = secret(sm)
    # Another policy grants the same: the unreadable one could have held a Deny.
    alice = User(server, iam, policies=[READ_ONE])
    if attached == "inline":
        iam.put_user_policy(UserName=alice.name, PolicyName="extra",
                            PolicyDocument=json.dumps(READ_ONE))
        sql = ("UPDATE inline_policies SET document = ? WHERE kind = 'user' "
               "AND principal_lower = ? AND policy_name = 'extra'")
    else:
        policy = iam.create_policy(PolicyName=uniq("managed").replace("/", "-"),
                                   PolicyDocument=json.dumps(READ_ONE))["Policy"]
        iam.attach_user_policy(UserName=alice.name, PolicyArn=policy["Arn"])
        sql = ("UPDATE managed_policy_versions SET document = ? WHERE policy_id = "
               "(SELECT id FROM managed_policies WHERE arn = ?)")
    reader = client(server, "secretsmanager", alice.key["AccessKeyId"], alice.key["SecretAccessKey"])
    reader.get_secret_value(SecretId=arn)

    corrupt(server, sql, GARBAGE, alice.name.lower() if attached == "inline" else policy["Arn"])
    assert_denied_because_unreadable(server, reader, arn, alice.key["AccessKeyId"],
                                     "an identity-based policy")
