"""Every operation leaves exactly one audit record, with the right name, source, identity,
read-only flag and error code, found by its request id."""

import json

from botocore.exceptions import ClientError

from conftest import uniq


def all_events(ct):
    events, kwargs = [], {"MaxResults": 50}
    while True:
        page = ct.lookup_events(**kwargs)
        events.extend(json.loads(e["CloudTrailEvent"]) for e in page["Events"])
        if "NextToken" not in page:
            return events
        kwargs["NextToken"] = page["NextToken"]


def call(client, operation, **params):
    """Run one call; return (request id, error code or None)."""
    try:
        out = getattr(client, operation)(**params)
        return out["ResponseMetadata"]["RequestId"], None
    except ClientError as e:
        return e.response["ResponseMetadata"]["RequestId"], e.response["Error"]["Code"]


def test_each_operation_leaves_one_record(server, sm):
    iam, sts = server.client("iam"), server.client("sts")
    name = uniq("every")
    arn = sm.create_secret(Name=name, SecretString="v0")["ARN"]
    version = sm.put_secret_value(SecretId=arn, SecretString="v1")["VersionId"]
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
        "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
    user = uniq("every-user").replace("/", "-")

    plan = [
        (sm, "create_secret", {"Name": uniq("every2"), "SecretString": "x"}, "CreateSecret", False),
        (sm, "get_secret_value", {"SecretId": arn}, "GetSecretValue", True),
        (sm, "put_secret_value", {"SecretId": arn, "SecretString": "v2"}, "PutSecretValue", False),
        (sm, "update_secret", {"SecretId": arn, "Description": "d"}, "UpdateSecret", False),
        (sm, "describe_secret", {"SecretId": arn}, "DescribeSecret", True),
        (sm, "list_secrets", {"MaxResults": 1}, "ListSecrets", True),
        (sm, "list_secret_version_ids", {"SecretId": arn}, "ListSecretVersionIds", True),
        (sm, "update_secret_version_stage", {"SecretId": arn, "VersionStage": "blue", "MoveToVersionId": version},
         "UpdateSecretVersionStage", False),
        (sm, "tag_resource", {"SecretId": arn, "Tags": [{"Key": "k", "Value": "v"}]}, "TagResource", False),
        (sm, "untag_resource", {"SecretId": arn, "TagKeys": ["k"]}, "UntagResource", False),
        (sm, "put_resource_policy", {"SecretId": arn, "ResourcePolicy": policy}, "PutResourcePolicy", False),
        (sm, "get_resource_policy", {"SecretId": arn}, "GetResourcePolicy", True),
        (sm, "validate_resource_policy", {"ResourcePolicy": policy}, "ValidateResourcePolicy", True),
        (sm, "delete_resource_policy", {"SecretId": arn}, "DeleteResourcePolicy", False),
        (sm, "get_random_password", {}, "GetRandomPassword", True),
        (sm, "batch_get_secret_value", {"SecretIdList": [arn]}, "BatchGetSecretValue", True),
        (sm, "rotate_secret", {"SecretId": arn}, "RotateSecret", False),
        (sm, "cancel_rotate_secret", {"SecretId": arn}, "CancelRotateSecret", False),
        (sm, "replicate_secret_to_regions", {"SecretId": arn, "AddReplicaRegions": [{"Region": "eu-west-1"}]},
         "ReplicateSecretToRegions", False),
        (sm, "remove_regions_from_replication", {"SecretId": arn, "RemoveReplicaRegions": ["eu-west-1"]},
         "RemoveRegionsFromReplication", False),
        (sm, "stop_replication_to_replica", {"SecretId": arn}, "StopReplicationToReplica", False),
        (sm, "delete_secret", {"SecretId": arn, "RecoveryWindowInDays": 7}, "DeleteSecret", False),
        (sm, "restore_secret", {"SecretId": arn}, "RestoreSecret", False),
        (sm, "get_secret_value", {"SecretId": name + "-nope"}, "GetSecretValue", True),
        (iam, "create_user", {"UserName": user}, "CreateUser", False),
        (iam, "get_user", {"UserName": user}, "GetUser", True),
        (iam, "create_access_key", {"UserName": user}, "CreateAccessKey", False),
        (iam, "list_access_keys", {"UserName": user}, "ListAccessKeys", True),
        (sts, "get_caller_identity", {}, "GetCallerIdentity", True),
    ]
    expected = {}
    for client, op, params, event_name, read_only in plan:
        request_id, error = call(client, op, **params)
        expected[request_id] = (event_name, read_only, error, client.meta.service_model.endpoint_prefix)

    records = {}
    for e in all_events(server.client("cloudtrail")):
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
        assert r["awsRegion"] == "us-east-1" and r["recipientAccountId"] == "000000000000"
        assert r["eventID"] and r["eventTime"].endswith("Z")
        assert "SecretAccessKey" not in json.dumps(r.get("responseElements")) or \
            "HIDDEN_DUE_TO_SECURITY_REASONS" in json.dumps(r["responseElements"])
    # The rotation and replication refusals are recorded as the errors they are.
    assert {expected[k][2] for k in expected if expected[k][0] in ("RotateSecret", "ReplicateSecretToRegions")} == {"InvalidRequestException"}
