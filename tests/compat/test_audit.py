"""The audit trail through CloudTrail's LookupEvents, with boto3 and the aws CLI: every call
is recorded (allowed, denied and failed), secret values never are, and reading the trail is
itself authorized."""

import json

import pytest
from botocore.exceptions import ClientError

from conftest import uniq


def lookup(ct, key, value, **kw):
    events = []
    kwargs = {"LookupAttributes": [{"AttributeKey": key, "AttributeValue": value}], **kw}
    while True:
        page = ct.lookup_events(**kwargs)
        events.extend(page["Events"])
        if "NextToken" not in page:
            return events
        kwargs["NextToken"] = page["NextToken"]


def test_every_call_is_recorded_without_its_secret_value(server, sm):
    ct = server.client("cloudtrail")
    name = uniq("audited")
    value = "sk-audit-" + uniq("v")
    arn = sm.create_secret(Name=name, SecretString=value)["ARN"]
    sm.get_secret_value(SecretId=arn)
    sm.put_secret_value(SecretId=arn, SecretString=value + "-2")
    with pytest.raises(ClientError):
        sm.get_secret_value(SecretId=name + "-missing")

    events = lookup(ct, "ResourceName", arn)
    names = sorted(e["EventName"] for e in events)
    assert names == ["CreateSecret", "GetSecretValue", "PutSecretValue"], names
    for e in events:
        assert e["EventSource"] == "secretsmanager.amazonaws.com"
        assert e["Username"] == "root"
        body = e["CloudTrailEvent"]
        assert value not in body
        record = json.loads(body)
        assert record["eventName"] == e["EventName"]
        assert record["requestParameters"]["SecretId" if e["EventName"] != "CreateSecret" else "Name"]
        assert record["recipientAccountId"] == "000000000000"
        assert record["userIdentity"]["type"] == "Root"
    create = next(e for e in events if e["EventName"] == "CreateSecret")
    record = json.loads(create["CloudTrailEvent"])
    assert record["requestParameters"]["SecretString"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
    assert record["responseElements"]["ARN"] == arn
    assert record["readOnly"] is False
    get = next(e for e in events if e["EventName"] == "GetSecretValue")
    assert json.loads(get["CloudTrailEvent"])["readOnly"] is True
    assert get["ReadOnly"] == "true"

    failed = [
        json.loads(e["CloudTrailEvent"])
        for e in lookup(ct, "EventName", "GetSecretValue")
        if json.loads(e["CloudTrailEvent"])["requestParameters"].get("SecretId") == name + "-missing"
    ]
    assert len(failed) == 1
    assert failed[0]["errorCode"] == "ResourceNotFoundException"


def test_lookup_paging_time_range_and_bad_input(server, sm):
    ct = server.client("cloudtrail")
    for _ in range(7):
        sm.get_random_password(PasswordLength=12)
    pages = ct.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetRandomPassword"}], MaxResults=3
    )
    assert len(pages["Events"]) == 3 and "NextToken" in pages
    everything = lookup(ct, "EventName", "GetRandomPassword")
    assert len(everything) >= 7
    assert len({e["EventId"] for e in everything}) == len(everything)
    times = [e["EventTime"] for e in everything]
    assert times == sorted(times, reverse=True), "newest first"
    for e in everything:
        # Reads carry no response elements, so the generated password never reaches the trail.
        assert json.loads(e["CloudTrailEvent"])["responseElements"] is None

    with pytest.raises(ClientError) as err:
        ct.lookup_events(LookupAttributes=[{"AttributeKey": "Bogus", "AttributeValue": "x"}])
    assert err.value.response["Error"]["Code"] == "InvalidLookupAttributesException"
    import datetime

    now = datetime.datetime.now(datetime.timezone.utc)
    with pytest.raises(ClientError) as err:
        ct.lookup_events(StartTime=now, EndTime=now - datetime.timedelta(hours=1))
    assert err.value.response["Error"]["Code"] == "InvalidTimeRangeException"
    future = ct.lookup_events(StartTime=now + datetime.timedelta(hours=1))
    assert future["Events"] == []


def test_aws_cli_lookup_events(server, sm):
    sm.get_random_password()
    out = server.aws(
        "cloudtrail", "lookup-events",
        "--lookup-attributes", "AttributeKey=EventName,AttributeValue=GetRandomPassword",
        "--max-items", "5",
    )
    assert out["Events"] and all(e["EventName"] == "GetRandomPassword" for e in out["Events"])
