"""Fail-closed audit: when the audit trail cannot be written, requests fail with
InternalServiceError, no secret value is served and nothing changes; when it can again, service
resumes and the chain continues."""

import json
import time
import os
import sqlite3

import pytest
from botocore.exceptions import ClientError

from conftest import DevServer, uniq


@pytest.fixture
def own_server():
    s = DevServer()
    yield s
    s.stop()


def block_audit(server, on):
    db = sqlite3.connect(os.path.join(server.data_dir, "data", "tresor.audit.db"), timeout=10)
    with db:
        if on:
            db.execute(
                "CREATE TRIGGER block_audit BEFORE INSERT ON audit_records "
                "BEGIN SELECT RAISE(ABORT, 'audit storage unavailable (test)'); END"
            )
        else:
            db.execute("DROP TRIGGER block_audit")
    db.close()


def test_no_value_is_served_without_a_durable_record(own_server):
    sm = own_server.client()
    value = "sk-failclosed-" + uniq("v").replace("/", "")
    arn = sm.create_secret(Name=uniq("fc"), SecretString=value)["ARN"]

    block_audit(own_server, True)
    for call in (
        lambda: sm.get_secret_value(SecretId=arn),
        lambda: sm.batch_get_secret_value(SecretIdList=[arn]),
        lambda: sm.describe_secret(SecretId=arn),
        lambda: sm.list_secrets(),
    ):
        with pytest.raises(ClientError) as err:
            call()
        assert err.value.response["Error"]["Code"] == "InternalServiceError"
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert value not in str(err.value.response)
    assert value not in own_server.server_log()

    block_audit(own_server, False)
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == value
    ct = own_server.client("cloudtrail")
    # Only the call made after the trail came back served anything; the refused calls are
    # recorded once the trail takes writes again, as the failures their callers saw. They are
    # appended after the first append that succeeds, so they may trail its answer a little.
    refused_names = ("GetSecretValue", "BatchGetSecretValue", "DescribeSecret", "ListSecrets")
    deadline = time.monotonic() + 15
    while True:
        events = [json.loads(e["CloudTrailEvent"])
                  for e in ct.lookup_events(MaxResults=50)["Events"]]
        recorded = {e["eventName"] for e in events if "errorCode" in e}
        if all(n in recorded for n in refused_names) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    served = [e for e in events if e["eventName"] == "GetSecretValue" and "errorCode" not in e]
    assert len(served) == 1
    for name in refused_names:
        refused = [e for e in events if e["eventName"] == name and "errorCode" in e]
        assert refused, f"no record of the refused {name}"
        for e in refused:
            assert e["errorCode"] == "InternalServiceError", e
            assert not e.get("responseElements"), e
            assert value not in json.dumps(e)


def test_nothing_changes_without_a_durable_record(own_server):
    sm = own_server.client()
    iam = own_server.client("iam")
    arn = sm.create_secret(Name=uniq("fc"), SecretString="before")["ARN"]
    def versions():
        listed = sm.list_secret_version_ids(SecretId=arn, IncludeDeprecated=True)["Versions"]
        return sorted((v["VersionId"], tuple(v.get("VersionStages", []))) for v in listed)

    versions_before = versions()
    new_name = uniq("fc-new")
    user = uniq("fc-user").replace("/", "-")

    block_audit(own_server, True)
    for call in (
        lambda: sm.create_secret(Name=new_name, SecretString="never"),
        lambda: sm.put_secret_value(SecretId=arn, SecretString="never"),
        lambda: sm.tag_resource(SecretId=arn, Tags=[{"Key": "k", "Value": "v"}]),
        lambda: sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True),
        lambda: iam.create_user(UserName=user),
    ):
        with pytest.raises(ClientError) as err:
            call()
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert err.value.response["Error"]["Code"] in ("InternalServiceError", "InternalFailure")
    block_audit(own_server, False)

    with pytest.raises(ClientError) as err:
        sm.describe_secret(SecretId=new_name)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "before"
    assert versions() == versions_before
    assert sm.describe_secret(SecretId=arn).get("Tags", []) == []
    with pytest.raises(ClientError) as err:
        iam.get_user(UserName=user)
    assert err.value.response["Error"]["Code"] == "NoSuchEntity"
