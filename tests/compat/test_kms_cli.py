"""`tresor kms schedule-key-deletion` / `cancel-key-deletion`: the deletion the aws CLI
schedules silently, with the secrets that name the key listed and the warning that once the
waiting period ends they are unreadable for good."""

import json
import os
import subprocess

from conftest import REGION, tresor_bin, uniq


def run(server, *args, output="json"):
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": server.endpoint,
        "AWS_ACCESS_KEY_ID": server.key_id,
        "AWS_SECRET_ACCESS_KEY": server.secret,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
    }
    env.pop("AWS_SESSION_TOKEN", None)
    return subprocess.run([tresor_bin(), "kms", *args, "--output", output],
                          env=env, capture_output=True, text=True, timeout=60)


def test_schedule_lists_the_secrets_under_the_key_and_warns(server, sm):
    kms = server.client("kms")
    key = kms.create_key(Description="doomed")["KeyMetadata"]
    alias = "alias/" + uniq("doomed").replace("/", "-")
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    by_alias = uniq("under-alias")
    by_arn = uniq("under-arn")
    elsewhere = uniq("default-key")
    sm.create_secret(Name=by_alias, SecretString="a", KmsKeyId=alias)
    sm.create_secret(Name=by_arn, SecretString="b", KmsKeyId=key["Arn"])
    sm.create_secret(Name=elsewhere, SecretString="c")

    proc = run(server, "schedule-key-deletion", "--key-id", alias, "--pending-window-in-days", "7")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["key_arn"] == key["Arn"]
    assert out["key_state"] == "PendingDeletion"
    assert out["pending_window_in_days"] == 7
    assert sorted(out["secrets_under_key"]) == sorted([by_alias, by_arn])
    assert "unreadable for good" in out["warning"]
    described = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert described["KeyState"] == "PendingDeletion"

    proc = run(server, "cancel-key-deletion", "--key-id", key["KeyId"], output="text")
    assert proc.returncode == 0, proc.stderr
    assert "disabled" in proc.stdout
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"

    # In text, the same facts for a person.
    proc = run(server, "schedule-key-deletion", "--key-id", key["KeyId"], output="text")
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" in proc.stdout and "unreadable for good" in proc.stdout
    assert by_alias in proc.stdout and by_arn in proc.stdout and elsewhere not in proc.stdout


def test_unknown_key_and_bad_window_are_refused_before_anything_changes(server):
    proc = run(server, "schedule-key-deletion", "--key-id", "alias/" + uniq("nope").replace("/", "-"))
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: NotFoundException"), proc.stderr
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    proc = run(server, "schedule-key-deletion", "--key-id", key, "--pending-window-in-days", "3")
    assert proc.returncode == 1
    assert "error:" in proc.stderr, proc.stderr
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"
