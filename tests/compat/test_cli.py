"""The README quickstart through the pinned aws CLI."""

import base64
import json
import os
import subprocess
import sys

from conftest import ROOT_KEY_ID, uniq


def test_readme_quickstart(server):
    name = "openai/prod"  # only this test uses it, and it deletes it at the end
    created = server.aws(
        "secretsmanager", "create-secret", "--name", name,
        "--description", "OpenAI key for the production chat service",
        "--secret-string", "sk-proj-cli-test-0001",
        "--tags", "Key=team,Value=ml", "Key=provider,Value=openai",
    )
    arn = created["ARN"]
    assert created["Name"] == name
    assert arn.startswith("arn:aws:secretsmanager:us-east-1:") and f":secret:{name}-" in arn
    assert len(created["VersionId"]) == 36

    got = server.aws("secretsmanager", "get-secret-value", "--secret-id", arn)
    assert got["SecretString"] == "sk-proj-cli-test-0001"
    assert got["VersionStages"] == ["AWSCURRENT"]
    assert got["ARN"] == arn

    desc = server.aws("secretsmanager", "describe-secret", "--secret-id", name)
    assert desc["Description"] == "OpenAI key for the production chat service"
    assert {t["Key"]: t["Value"] for t in desc["Tags"]} == {"team": "ml", "provider": "openai"}

    listed = server.aws("secretsmanager", "list-secrets")
    assert arn in [s["ARN"] for s in listed["SecretList"]]

    # Rotating by hand: AWSCURRENT moves, the old version becomes AWSPREVIOUS.
    put = server.aws("secretsmanager", "put-secret-value", "--secret-id", name,
                     "--secret-string", "sk-proj-cli-test-0002")
    assert put["VersionStages"] == ["AWSCURRENT"]
    assert server.aws("secretsmanager", "get-secret-value", "--secret-id", name)["SecretString"] == \
        "sk-proj-cli-test-0002"
    prev = server.aws("secretsmanager", "get-secret-value", "--secret-id", name, "--version-stage", "AWSPREVIOUS")
    assert prev["SecretString"] == "sk-proj-cli-test-0001"
    assert prev["VersionId"] == created["VersionId"]

    deleted = server.aws("secretsmanager", "delete-secret", "--secret-id", arn,
                         "--force-delete-without-recovery")
    assert deleted["ARN"] == arn and deleted["Name"] == name
    listed = server.aws("secretsmanager", "list-secrets", "--include-planned-deletion")
    assert arn not in [s["ARN"] for s in listed["SecretList"]]


def test_cli_error_exit_code_and_message(server):
    missing = uniq("cli-missing")
    proc = server.aws("secretsmanager", "get-secret-value", "--secret-id", missing, check=False)
    assert proc.returncode in (254, 255), proc.returncode
    assert "ResourceNotFoundException" in proc.stderr
    assert "Secrets Manager can't find the specified secret." in proc.stderr
    assert proc.stdout.strip() == ""

    proc = server.aws("secretsmanager", "create-secret", "--name", "bad name!", "--secret-string", "x", check=False)
    assert proc.returncode in (254, 255)
    assert "ValidationException" in proc.stderr


def test_cli_binary_secret_and_paginated_list(server, tmp_path):
    name = uniq("cli")
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x00\xffbinary\x10")
    server.aws("secretsmanager", "create-secret", "--name", name, "--secret-binary", f"fileb://{blob}")
    got = server.aws("secretsmanager", "get-secret-value", "--secret-id", name)
    assert base64.b64decode(got["SecretBinary"]) == b"\x00\xffbinary\x10"
    # The CLI pages through every result by itself; a page size of 1 exercises NextToken.
    listed = server.aws("secretsmanager", "list-secrets", "--page-size", "1",
                        "--filters", json.dumps([{"Key": "name", "Values": [name]}]))
    assert [s["Name"] for s in listed["SecretList"]] == [name]
    server.aws("secretsmanager", "delete-secret", "--secret-id", name, "--force-delete-without-recovery")


def test_cli_wrong_credentials(server):
    env = {**os.environ, "AWS_ENDPOINT_URL": server.endpoint, "AWS_ACCESS_KEY_ID": ROOT_KEY_ID,
           "AWS_SECRET_ACCESS_KEY": "wrong", "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null",
           "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_MAX_ATTEMPTS": "1"}
    aws_bin = os.path.join(os.path.dirname(sys.executable), "aws")
    proc = subprocess.run([aws_bin, "secretsmanager", "list-secrets"], env=env, capture_output=True, text=True)
    assert proc.returncode in (254, 255)
    assert "InvalidSignatureException" in proc.stderr
