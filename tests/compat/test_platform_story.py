"""The issue's story, with only the aws CLI: a platform engineer creates a user that may read
exactly one secret, watches that user be denied everything else (including granting itself
more), and finds every attempt in lookup-events."""

import json

from conftest import uniq


def test_a_user_that_reads_exactly_one_secret(server):
    user = uniq("app").replace("/", "-")
    readable = server.aws("secretsmanager", "create-secret", "--name", uniq("openai/prod"),
                          "--secret-string", "sk-story-readable")["ARN"]
    other = server.aws("secretsmanager", "create-secret", "--name", uniq("anthropic/prod"),
                       "--secret-string", "sk-story-other")["ARN"]

    server.aws("iam", "create-user", "--user-name", user)
    key = server.aws("iam", "create-access-key", "--user-name", user)["AccessKey"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": readable}],
    }
    server.aws("iam", "put-user-policy", "--user-name", user, "--policy-name", "read-one",
               "--policy-document", json.dumps(policy))
    creds = (key["AccessKeyId"], key["SecretAccessKey"])

    got = server.aws("secretsmanager", "get-secret-value", "--secret-id", readable, creds=creds)
    assert got["SecretString"] == "sk-story-readable"
    assert server.aws("sts", "get-caller-identity", creds=creds)["Arn"].endswith(f":user/{user}")

    attempts = [
        ("secretsmanager", "get-secret-value", "--secret-id", other),
        ("secretsmanager", "describe-secret", "--secret-id", readable),
        ("secretsmanager", "list-secrets"),
        ("secretsmanager", "put-secret-value", "--secret-id", readable, "--secret-string", "sk-overwrite"),
        ("iam", "create-user", "--user-name", uniq("intruder").replace("/", "-")),
        ("iam", "put-user-policy", "--user-name", user, "--policy-name", "escalate",
         "--policy-document", json.dumps({"Version": "2012-10-17", "Statement": [
             {"Effect": "Allow", "Action": "*", "Resource": "*"}]})),
        ("cloudtrail", "lookup-events"),
    ]
    for args in attempts:
        proc = server.aws(*args, check=False, creds=creds)
        assert proc.returncode != 0, args
        assert "AccessDenied" in proc.stderr, (args, proc.stderr)
        assert f"user/{user} is not authorized to perform" in proc.stderr, proc.stderr
    # Nothing the denied calls tried took effect.
    assert server.aws("secretsmanager", "get-secret-value", "--secret-id", readable)["SecretString"] == "sk-story-readable"
    assert server.aws("iam", "list-user-policies", "--user-name", user)["PolicyNames"] == ["read-one"]

    events = server.aws("cloudtrail", "lookup-events", "--lookup-attributes",
                        f"AttributeKey=Username,AttributeValue={user}")["Events"]
    records = [json.loads(e["CloudTrailEvent"]) for e in events]
    names = sorted(r["eventName"] for r in records)
    assert names == sorted(["GetSecretValue", "GetCallerIdentity", "GetSecretValue", "DescribeSecret",
                            "ListSecrets", "PutSecretValue", "CreateUser", "PutUserPolicy", "LookupEvents"]), names
    denied = [r for r in records if r.get("errorCode")]
    assert len(denied) == len(attempts)
    assert {r["errorCode"] for r in denied} <= {"AccessDeniedException", "AccessDenied"}
    for r in records:
        assert r["userIdentity"]["type"] == "IAMUser"
        assert r["userIdentity"]["userName"] == user
        assert "sk-story" not in json.dumps(r)
