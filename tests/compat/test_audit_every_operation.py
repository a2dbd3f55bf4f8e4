"""boto3's view of the audit trail: every Secrets Manager operation of botocore's model, both
STS operations, CloudTrail's LookupEvents and a few IAM ones each leave exactly one audit
record, found by its request id, with the name, source, read-only flag, identity and error code
written down here from AWS's behaviour (never taken from the call's own answer).

Every IAM operation, and every operation called by a caller without (and with exactly) its
permission, is covered from the operation lists in the code by
crates/tresor-cli/tests/every_operation.rs."""

import json

import botocore.session
from botocore.exceptions import ClientError

from conftest import uniq

# Cross-account replication is not available in Tresor: its operations answer
# InvalidRequestException, an error its botocore model declares, so clients handle it as a
# typed, modelled refusal. RotateSecret on a secret without a rotator answers the same code, and
# so does StopReplicationToReplica on a secret that is not a replica.
NOT_AVAILABLE = "InvalidRequestException"
REPLICA = "arn:aws:secretsmanager:us-east-1:111122223333:secret:replica-AbCdEf"


def all_events(ct):
    events, kwargs = [], {"MaxResults": 50}
    while True:
        page = ct.lookup_events(**kwargs)
        events.extend(json.loads(e["CloudTrailEvent"]) for e in page["Events"])
        if "NextToken" not in page:
            return events
        kwargs["NextToken"] = page["NextToken"]


def call(client, operation, params):
    """Run one call; return (request id, error code or None)."""
    try:
        out = getattr(client, operation)(**params)
        return out["ResponseMetadata"]["RequestId"], None
    except ClientError as e:
        return e.response["ResponseMetadata"]["RequestId"], e.response["Error"]["Code"]


def snake(name):
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def test_each_operation_leaves_one_record(server, sm):
    iam, sts, ct = server.client("iam"), server.client("sts"), server.client("cloudtrail")
    name = uniq("every")
    arn = sm.create_secret(Name=name, SecretString="v0")["ARN"]
    version = sm.put_secret_value(SecretId=arn, SecretString="v1")["VersionId"]
    account = sts.get_caller_identity()["Account"]
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "sts:AssumeRole"}]})
    user = uniq("every-user").replace("/", "-")
    role = uniq("every-role").replace("/", "-")

    # (client, operation, parameters, readOnly as CloudTrail writes it, expected error code)
    sm_plan = [
        ("CreateSecret", {"Name": uniq("every2"), "SecretString": "x"}, False, None),
        ("GetSecretValue", {"SecretId": arn}, True, None),
        ("PutSecretValue", {"SecretId": arn, "SecretString": "v2"}, False, None),
        ("UpdateSecret", {"SecretId": arn, "Description": "d"}, False, None),
        ("DescribeSecret", {"SecretId": arn}, True, None),
        ("ListSecrets", {"MaxResults": 1}, True, None),
        ("ListSecretVersionIds", {"SecretId": arn}, True, None),
        ("UpdateSecretVersionStage", {"SecretId": arn, "VersionStage": "blue",
                                      "MoveToVersionId": version}, False, None),
        ("TagResource", {"SecretId": arn, "Tags": [{"Key": "k", "Value": "v"}]}, False, None),
        ("UntagResource", {"SecretId": arn, "TagKeys": ["k"]}, False, None),
        ("PutResourcePolicy", {"SecretId": arn, "ResourcePolicy": policy}, False, None),
        ("GetResourcePolicy", {"SecretId": arn}, True, None),
        ("ListResourcePolicies", {"SecretId": arn}, True, None),
        ("ValidateResourcePolicy", {"ResourcePolicy": policy}, True, None),
        ("DeleteResourcePolicy", {"SecretId": arn}, False, None),
        ("GetRandomPassword", {}, True, None),
        ("BatchGetSecretValue", {"SecretIdList": [arn]}, True, None),
        ("RotateSecret", {"SecretId": arn}, False, "InvalidRequestException"),
        ("CancelRotateSecret", {"SecretId": arn}, False, None),
        ("ReplicateSecretToRegions", {"SecretId": arn, "AddReplicaRegions": [{"Region": "eu-west-1"}]},
         False, None),
        ("RemoveRegionsFromReplication", {"SecretId": arn, "RemoveReplicaRegions": ["eu-west-1"]},
         False, None),
        ("StopReplicationToReplica", {"SecretId": arn}, False, "InvalidRequestException"),
        ("AssociateCrossAccountReplica", {"SecretId": arn, "CrossAccountReplicaARN": REPLICA},
         False, NOT_AVAILABLE),
        ("DisassociateCrossAccountReplica", {"SecretId": arn, "CrossAccountReplicaARN": REPLICA},
         False, NOT_AVAILABLE),
        ("DeleteSecret", {"SecretId": arn, "RecoveryWindowInDays": 7}, False, None),
        ("RestoreSecret", {"SecretId": arn}, False, None),
    ]
    model = botocore.session.get_session().get_service_model("secretsmanager")
    assert sorted(op for op, *_ in sm_plan) == sorted(model.operation_names)

    plan = [(sm, op, params, read_only, error) for op, params, read_only, error in sm_plan] + [
        (sm, "GetSecretValue", {"SecretId": name + "-nope"}, True, "ResourceNotFoundException"),
        (iam, "CreateUser", {"UserName": user}, False, None),
        (iam, "GetUser", {"UserName": user}, True, None),
        (iam, "CreateAccessKey", {"UserName": user}, False, None),
        (iam, "ListAccessKeys", {"UserName": user}, True, None),
        (iam, "DeleteUser", {"UserName": user + "-nope"}, False, "NoSuchEntity"),
        (iam, "CreateRole", {"RoleName": role, "AssumeRolePolicyDocument": trust}, False, None),
        (sts, "GetCallerIdentity", {}, True, None),
        # The root may not assume a role; CloudTrail records AssumeRole as a read.
        (sts, "AssumeRole", {"RoleArn": f"arn:aws:iam::{account}:role/{role}",
                             "RoleSessionName": "every-op"}, True, "AccessDenied"),
        (ct, "LookupEvents", {"MaxResults": 1}, True, None),
    ]
    expected = {}
    for client, op, params, read_only, error in plan:
        request_id, got = call(client, snake(op), params)
        assert got == error, (op, got, error)
        expected[request_id] = (op, read_only, error, client.meta.service_model.endpoint_prefix)

    records = {}
    for e in all_events(ct):
        records.setdefault(e["requestID"], []).append(e)
    for request_id, (event_name, read_only, error, prefix) in expected.items():
        found = records.get(request_id, [])
        assert len(found) == 1, (event_name, request_id, len(found))
        r = found[0]
        assert r["eventName"] == event_name
        assert r["eventSource"] == f"{prefix}.amazonaws.com"
        assert r["readOnly"] is read_only, event_name
        assert r.get("errorCode") == error, (event_name, r.get("errorCode"), error)
        assert r["userIdentity"]["type"] == "Root"
        assert r["userIdentity"]["accessKeyId"] == "AKIATRESORCOMPAT0001"
        assert r["awsRegion"] == "us-east-1" and r["recipientAccountId"] == account
        assert r["eventID"] and r["eventTime"].endswith("Z")
        assert "SecretAccessKey" not in json.dumps(r.get("responseElements")) or \
            "HIDDEN_DUE_TO_SECURITY_REASONS" in json.dumps(r["responseElements"])
