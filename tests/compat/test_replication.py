"""Replication through boto3 clients in several regions of one Tresor: replicas made by
CreateSecret and ReplicateSecretToRegions follow every write to the primary (values, labels,
tags, description, resource policy), refuse writes of their own, and are removed or promoted;
plus AWS's errors and a few aws CLI calls."""

import json

import pytest

from conftest import REGION, DevServer, expect_error, token, uniq

OTHER = "eu-west-1"
THIRD = "ap-south-1"
DEFAULT_KEY = "alias/aws/secretsmanager"
ON_REPLICA = "Operation not permitted on a replica secret. Call must be made in primary secret's region."
NOT_FOUND = "Secrets Manager can't find the specified secret."


@pytest.fixture(scope="module")
def other(server):
    return server.client(region=OTHER)


@pytest.fixture(scope="module")
def third(server):
    return server.client(region=THIRD)


def in_region(arn, region):
    parts = arn.split(":")
    parts[3] = region
    return ":".join(parts)


def stages(client, secret_id):
    return client.describe_secret(SecretId=secret_id).get("VersionIdsToStages", {})


def version_ids(client, secret_id):
    r = client.list_secret_version_ids(SecretId=secret_id, IncludeDeprecated=True)
    return sorted(v["VersionId"] for v in r["Versions"])


def replicated(sm, **kw):
    name = uniq("repl")
    r = sm.create_secret(Name=name, SecretString="first", ClientRequestToken=token(),
                         AddReplicaRegions=[{"Region": OTHER}], **kw)
    return name, r


# ---------------------------------------------------------------- making replicas


def test_create_with_a_replica_region_copies_the_secret(sm, other):
    name, r = replicated(sm, Description="the db", Tags=[{"Key": "team", "Value": "ml"}])
    assert r["ReplicationStatus"] == [{
        "Region": OTHER, "KmsKeyId": DEFAULT_KEY, "Status": "InSync",
        "StatusMessage": "Replication succeeded",
    }]
    replica_arn = in_region(r["ARN"], OTHER)
    got = other.get_secret_value(SecretId=replica_arn)
    assert (got["ARN"], got["Name"], got["SecretString"]) == (replica_arn, name, "first")
    assert got["VersionId"] == r["VersionId"]
    assert other.get_secret_value(SecretId=name)["ARN"] == replica_arn

    replica = other.describe_secret(SecretId=name)
    primary = sm.describe_secret(SecretId=name)
    # Read above, in the replica's region: the primary shows when (a day, as AWS keeps it).
    assert primary["ReplicationStatus"][0]["LastAccessedDate"] == replica["LastAccessedDate"]
    assert "LastAccessedDate" not in primary
    assert replica["PrimaryRegion"] == REGION
    assert "ReplicationStatus" not in replica
    assert primary["PrimaryRegion"] == REGION
    assert [s["Region"] for s in primary["ReplicationStatus"]] == [OTHER]
    assert primary["ReplicationStatus"][0]["Status"] == "InSync"
    for field in ("Name", "Description", "Tags", "VersionIdsToStages"):
        assert replica[field] == primary[field], field


def test_a_plain_secret_shows_no_primary_region(sm):
    name = uniq("repl")
    sm.create_secret(Name=name, SecretString="v", ClientRequestToken=token())
    described = sm.describe_secret(SecretId=name)
    assert "PrimaryRegion" not in described and "ReplicationStatus" not in described


def test_replicate_secret_to_regions_copies_every_labelled_version(sm, other, third):
    name = uniq("repl")
    arn = sm.create_secret(Name=name, SecretString="one", ClientRequestToken=token())["ARN"]
    sm.put_secret_value(SecretId=name, SecretString="two", ClientRequestToken=token())
    r = sm.replicate_secret_to_regions(
        SecretId=arn, AddReplicaRegions=[{"Region": OTHER}, {"Region": THIRD, "KmsKeyId": DEFAULT_KEY}])
    assert r["ARN"] == arn
    assert [(s["Region"], s["Status"]) for s in r["ReplicationStatus"]] == [(OTHER, "InSync"), (THIRD, "InSync")]
    for client, region in ((other, OTHER), (third, THIRD)):
        assert client.get_secret_value(SecretId=name)["SecretString"] == "two"
        assert client.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"] == "one"
        assert stages(client, name) == stages(sm, name)
        assert client.describe_secret(SecretId=name)["ARN"] == in_region(arn, region)
    listed = sm.describe_secret(SecretId=name)["ReplicationStatus"]
    assert [(s["Region"], s["KmsKeyId"]) for s in listed] == [(OTHER, DEFAULT_KEY), (THIRD, DEFAULT_KEY)]


def test_each_replica_is_sealed_under_its_own_regions_key(sm, other):
    name, r = replicated(sm)
    primary_keys = sm.list_secret_version_ids(SecretId=name)["Versions"][0]["KmsKeyIds"]
    replica_keys = other.list_secret_version_ids(SecretId=name)["Versions"][0]["KmsKeyIds"]
    assert primary_keys != replica_keys
    assert len(replica_keys) == 1


def test_an_unknown_replica_key_fails_that_region_only(sm, other, third):
    name = uniq("repl")
    arn = sm.create_secret(Name=name, SecretString="v", ClientRequestToken=token())["ARN"]
    r = sm.replicate_secret_to_regions(SecretId=arn, AddReplicaRegions=[
        {"Region": OTHER, "KmsKeyId": "alias/nope"}, {"Region": THIRD}])
    failed, synced = r["ReplicationStatus"]
    assert (failed["Region"], failed["Status"]) == (OTHER, "Failed")
    assert failed["StatusMessage"] == "Replication failed: The KMS key alias/nope can't be found in this account and Region."
    assert (synced["Region"], synced["Status"]) == (THIRD, "InSync")
    expect_error(other.describe_secret, "ResourceNotFoundException", NOT_FOUND, SecretId=name)
    assert third.get_secret_value(SecretId=name)["SecretString"] == "v"
    # A failed region can be tried again.
    r = sm.replicate_secret_to_regions(SecretId=arn, AddReplicaRegions=[{"Region": OTHER}])
    assert r["ReplicationStatus"][0]["Status"] == "InSync"
    assert other.get_secret_value(SecretId=name)["SecretString"] == "v"


def test_a_name_taken_in_the_region_fails_unless_overwritten(sm, other):
    name = uniq("repl")
    arn = sm.create_secret(Name=name, SecretString="primary", ClientRequestToken=token())["ARN"]
    theirs = other.create_secret(Name=name, SecretString="local", ClientRequestToken=token())["ARN"]
    r = sm.replicate_secret_to_regions(SecretId=arn, AddReplicaRegions=[{"Region": OTHER}])
    assert r["ReplicationStatus"][0]["Status"] == "Failed"
    assert r["ReplicationStatus"][0]["StatusMessage"] == (
        f"Replication failed: Secret name {name} already exists in region {OTHER}.")
    assert other.get_secret_value(SecretId=theirs)["SecretString"] == "local"
    assert "PrimaryRegion" not in other.describe_secret(SecretId=theirs)

    r = sm.replicate_secret_to_regions(SecretId=arn, AddReplicaRegions=[{"Region": OTHER}],
                                       ForceOverwriteReplicaSecret=True)
    assert r["ReplicationStatus"][0]["Status"] == "InSync"
    expect_error(other.get_secret_value, "ResourceNotFoundException", SecretId=theirs)
    got = other.get_secret_value(SecretId=name)
    assert (got["ARN"], got["SecretString"]) == (in_region(arn, OTHER), "primary")


# ---------------------------------------------------------------- keeping them in step


def test_put_secret_value_and_label_moves_reach_the_replica(sm, other):
    name, r = replicated(sm)
    first = r["VersionId"]
    second = token()
    sm.put_secret_value(SecretId=name, SecretString="second", ClientRequestToken=second)
    assert other.get_secret_value(SecretId=name)["SecretString"] == "second"
    assert other.get_secret_value(SecretId=name, VersionId=first)["SecretString"] == "first"
    custom = token()
    sm.put_secret_value(SecretId=name, SecretString="blue value", ClientRequestToken=custom,
                        VersionStages=["blue"])
    assert other.get_secret_value(SecretId=name, VersionStage="blue")["SecretString"] == "blue value"

    sm.update_secret_version_stage(SecretId=name, VersionStage="blue", RemoveFromVersionId=custom,
                                   MoveToVersionId=first)
    sm.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT",
                                   RemoveFromVersionId=second, MoveToVersionId=custom)
    assert stages(other, name) == stages(sm, name) == {
        first: ["blue"], second: ["AWSPREVIOUS"], custom: ["AWSCURRENT"]}
    assert other.get_secret_value(SecretId=name)["SecretString"] == "blue value"
    assert version_ids(other, name) == version_ids(sm, name)


def test_update_secret_tags_and_description_follow(sm, other):
    name, _ = replicated(sm, Tags=[{"Key": "a", "Value": "1"}])
    sm.update_secret(SecretId=name, Description="new words", SecretString="updated",
                     ClientRequestToken=token())
    sm.tag_resource(SecretId=name, Tags=[{"Key": "b", "Value": "2"}])
    sm.untag_resource(SecretId=name, TagKeys=["a"])
    replica = other.describe_secret(SecretId=name)
    assert replica["Description"] == "new words"
    assert replica["Tags"] == [{"Key": "b", "Value": "2"}]
    assert other.get_secret_value(SecretId=name)["SecretString"] == "updated"


def test_the_resource_policy_follows(sm, other):
    name, r = replicated(sm)
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
        "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
    sm.put_resource_policy(SecretId=name, ResourcePolicy=policy)
    expect_error(other.get_resource_policy, "InvalidParameterException", ON_REPLICA, SecretId=name)
    sm.delete_resource_policy(SecretId=name)
    sm.put_resource_policy(SecretId=name, ResourcePolicy=policy)
    # Promoted, the replica shows the policy it was given.
    other.stop_replication_to_replica(SecretId=name)
    got = json.loads(other.get_resource_policy(SecretId=name)["ResourcePolicy"])
    assert got == json.loads(policy)


def test_a_failed_write_changes_neither_primary_nor_replica(sm, other):
    name, r = replicated(sm, Tags=[{"Key": "k", "Value": "v"}])
    before = (stages(sm, name), stages(other, name), version_ids(other, name))
    # The token names a version with another value: refused, nothing written anywhere.
    expect_error(sm.put_secret_value, "ResourceExistsException", SecretId=name,
                 SecretString="different", ClientRequestToken=r["VersionId"])
    # Refused inside the write's transaction, after the tags were added to the record.
    too_many = [{"Key": f"k{i}", "Value": "v"} for i in range(50)]
    expect_error(sm.tag_resource, "LimitExceededException", "A secret can have at most 50 tags.",
                 SecretId=name, Tags=too_many)
    assert (stages(sm, name), stages(other, name), version_ids(other, name)) == before
    assert other.get_secret_value(SecretId=name)["SecretString"] == "first"
    assert other.describe_secret(SecretId=name)["Tags"] == [{"Key": "k", "Value": "v"}]


def test_reads_of_a_replica_work_in_its_region(sm, other):
    name, r = replicated(sm)
    batch = other.batch_get_secret_value(SecretIdList=[name])
    assert [v["SecretString"] for v in batch["SecretValues"]] == ["first"]
    assert batch["Errors"] == []
    listed = other.list_secrets(Filters=[{"Key": "primary-region", "Values": [REGION]}])["SecretList"]
    assert name in [s["Name"] for s in listed]
    entry = next(s for s in listed if s["Name"] == name)
    assert entry["PrimaryRegion"] == REGION
    assert name not in [s["Name"] for s in other.list_secrets(
        Filters=[{"Key": "primary-region", "Values": [OTHER]}])["SecretList"]]


def test_a_rotation_of_the_primary_reaches_the_replica():
    """The rotator's four steps (pending version, its value, the label moves) write to the
    primary; the replica follows each one."""
    from test_rotation import Rot

    server = DevServer(extra_args=["--rotation-tick", "200ms"])
    try:
        rs = Rot(server)
        other = server.client(region=OTHER)
        fn, _ = rs.command_rotator()
        name = uniq("repl-rot")
        arn = rs.sm.create_secret(Name=name, SecretString="initial-password",
                                  AddReplicaRegions=[{"Region": OTHER}])["ARN"]
        tok = token()
        rs.sm.rotate_secret(SecretId=arn, ClientRequestToken=tok, RotationLambdaARN=fn)
        assert rs.wait(arn)["last_result"] == "succeeded"
        assert stages(other, name) == stages(rs.sm, name)
        assert stages(other, name)[tok] == ["AWSCURRENT"]
        rotated = rs.sm.get_secret_value(SecretId=arn)["SecretString"]
        assert rotated != "initial-password"
        assert other.get_secret_value(SecretId=name)["SecretString"] == rotated
        assert other.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"] == (
            "initial-password")
        assert "RotationEnabled" not in other.describe_secret(SecretId=name)
    finally:
        server.stop()


# ---------------------------------------------------------------- refusals


def test_every_write_to_a_replica_is_refused(sm, other):
    name, r = replicated(sm)
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
        "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
    refused = [
        (other.put_secret_value, {"SecretString": "x", "ClientRequestToken": token()}),
        (other.update_secret, {"SecretString": "x", "ClientRequestToken": token()}),
        (other.update_secret, {"Description": "x"}),
        (other.tag_resource, {"Tags": [{"Key": "k", "Value": "v"}]}),
        (other.untag_resource, {"TagKeys": ["k"]}),
        (other.put_resource_policy, {"ResourcePolicy": policy}),
        (other.delete_resource_policy, {}),
        (other.get_resource_policy, {}),
        (other.delete_secret, {}),
        (other.delete_secret, {"ForceDeleteWithoutRecovery": True}),
        (other.restore_secret, {}),
        (other.rotate_secret, {}),
        (other.cancel_rotate_secret, {}),
        (other.update_secret_version_stage, {"VersionStage": "blue", "MoveToVersionId": r["VersionId"]}),
        # A replica of a replica is refused.
        (other.replicate_secret_to_regions, {"AddReplicaRegions": [{"Region": THIRD}]}),
        (other.remove_regions_from_replication, {"RemoveReplicaRegions": [THIRD]}),
    ]
    for call, kw in refused:
        expect_error(call, "InvalidParameterException", ON_REPLICA, SecretId=name, **kw)
    assert other.get_secret_value(SecretId=name)["SecretString"] == "first"
    assert "Tags" not in other.describe_secret(SecretId=name)


def test_bad_replica_regions_are_refused_before_anything_is_written(sm, other):
    name = uniq("repl")
    for regions in ([{"Region": REGION}], [{"Region": OTHER}, {"Region": OTHER}],
                    [{"Region": "a" * 40 + "-1"}]):
        expect_error(sm.create_secret, "InvalidParameterException", "Invalid replica region.",
                     Name=name, SecretString="v", ClientRequestToken=token(), AddReplicaRegions=regions)
    expect_error(sm.describe_secret, "ResourceNotFoundException", NOT_FOUND, SecretId=name)
    expect_error(other.describe_secret, "ResourceNotFoundException", NOT_FOUND, SecretId=name)

    arn = sm.create_secret(Name=name, SecretString="v", ClientRequestToken=token())["ARN"]
    expect_error(sm.replicate_secret_to_regions, "InvalidParameterException", "Invalid replica region.",
                 SecretId=arn, AddReplicaRegions=[{"Region": REGION}])
    expect_error(sm.replicate_secret_to_regions, "ValidationException",
                 SecretId=arn, AddReplicaRegions=[{"Region": "Not A Region"}])
    assert "ReplicationStatus" not in sm.describe_secret(SecretId=arn)
    sm.replicate_secret_to_regions(SecretId=arn, AddReplicaRegions=[{"Region": OTHER}])
    expect_error(sm.replicate_secret_to_regions, "InvalidParameterException",
                 f"The secret is already replicated to the Region {OTHER}.",
                 SecretId=arn, AddReplicaRegions=[{"Region": OTHER}])
    expect_error(sm.replicate_secret_to_regions, "ResourceNotFoundException", NOT_FOUND,
                 SecretId=uniq("missing"), AddReplicaRegions=[{"Region": OTHER}])


# ---------------------------------------------------------------- removal, deletion, promotion


def test_a_primary_with_replicas_cannot_be_deleted_until_they_are_removed(sm, other, third):
    name = uniq("repl")
    arn = sm.create_secret(Name=name, SecretString="v", ClientRequestToken=token(),
                           AddReplicaRegions=[{"Region": OTHER}, {"Region": THIRD}])["ARN"]
    message = f"You can't delete secret {arn} that still has replica regions [{OTHER}, {THIRD}]."
    expect_error(sm.delete_secret, "InvalidParameterException", message, SecretId=name)
    expect_error(sm.delete_secret, "InvalidParameterException", message, SecretId=name,
                 ForceDeleteWithoutRecovery=True)
    assert "DeletedDate" not in sm.describe_secret(SecretId=name)

    r = sm.remove_regions_from_replication(SecretId=name, RemoveReplicaRegions=[OTHER])
    assert r["ARN"] == arn
    assert [s["Region"] for s in r["ReplicationStatus"]] == [THIRD]
    expect_error(other.describe_secret, "ResourceNotFoundException", NOT_FOUND, SecretId=name)
    assert third.get_secret_value(SecretId=name)["SecretString"] == "v"
    # Removing a region twice is no error.
    sm.remove_regions_from_replication(SecretId=name, RemoveReplicaRegions=[OTHER])
    r = sm.remove_regions_from_replication(SecretId=name, RemoveReplicaRegions=[THIRD])
    assert r["ReplicationStatus"] == []
    expect_error(third.describe_secret, "ResourceNotFoundException", NOT_FOUND, SecretId=name)
    described = sm.describe_secret(SecretId=name)
    assert "ReplicationStatus" not in described and "PrimaryRegion" not in described
    sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    expect_error(sm.describe_secret, "ResourceNotFoundException", NOT_FOUND, SecretId=name)


def test_stop_replication_promotes_the_replica(sm, other):
    name, r = replicated(sm)
    replica_arn = in_region(r["ARN"], OTHER)
    expect_error(sm.stop_replication_to_replica, "InvalidRequestException", SecretId=name)
    assert other.stop_replication_to_replica(SecretId=name)["ARN"] == replica_arn
    promoted = other.describe_secret(SecretId=name)
    assert "PrimaryRegion" not in promoted
    assert "ReplicationStatus" not in sm.describe_secret(SecretId=name)
    # Both are standalone now: each takes its own writes.
    other.put_secret_value(SecretId=name, SecretString="mine now", ClientRequestToken=token())
    sm.put_secret_value(SecretId=name, SecretString="primary moves on", ClientRequestToken=token())
    assert other.get_secret_value(SecretId=name)["SecretString"] == "mine now"
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "primary moves on"
    sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    other.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    expect_error(other.stop_replication_to_replica, "ResourceNotFoundException", NOT_FOUND, SecretId=name)


# ---------------------------------------------------------------- the aws CLI


def test_the_aws_cli_replicates_and_removes(server, sm):
    name = uniq("repl-cli")
    arn = sm.create_secret(Name=name, SecretString="cli value", ClientRequestToken=token())["ARN"]
    out = server.aws("secretsmanager", "replicate-secret-to-regions", "--secret-id", name,
                     "--add-replica-regions", f"Region={OTHER}")
    assert out["ARN"] == arn
    assert [(s["Region"], s["Status"]) for s in out["ReplicationStatus"]] == [(OTHER, "InSync")]
    got = server.aws("secretsmanager", "get-secret-value", "--secret-id", name, region=OTHER)
    assert (got["ARN"], got["SecretString"]) == (in_region(arn, OTHER), "cli value")
    described = server.aws("secretsmanager", "describe-secret", "--secret-id", name, region=OTHER)
    assert described["PrimaryRegion"] == REGION
    refused = server.aws("secretsmanager", "put-secret-value", "--secret-id", name,
                         "--secret-string", "x", region=OTHER, check=False)
    assert refused.returncode != 0 and "InvalidParameterException" in refused.stderr
    out = server.aws("secretsmanager", "remove-regions-from-replication", "--secret-id", name,
                     "--remove-replica-regions", OTHER)
    assert out["ReplicationStatus"] == []
    gone = server.aws("secretsmanager", "describe-secret", "--secret-id", name, region=OTHER, check=False)
    assert gone.returncode != 0 and "ResourceNotFoundException" in gone.stderr


# ---------------------------------------------------------------- permissions


def user_client(server, actions, region=REGION):
    iam = server.client("iam")
    user = uniq("repl-user").replace("/", "-")
    iam.create_user(UserName=user)
    doc = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}
    iam.put_user_policy(UserName=user, PolicyName="sm", PolicyDocument=json.dumps(doc))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return server.client(region=region, key_id=key["AccessKeyId"], secret=key["SecretAccessKey"])


def test_replica_regions_need_replicate_secret_to_regions(server, sm, other):
    creator = user_client(server, ["secretsmanager:CreateSecret"])
    name = uniq("repl")
    expect_error(creator.create_secret, "AccessDeniedException", Name=name, SecretString="v",
                 ClientRequestToken=token(), AddReplicaRegions=[{"Region": OTHER}])
    expect_error(sm.describe_secret, "ResourceNotFoundException", NOT_FOUND, SecretId=name)
    arn = creator.create_secret(Name=name, SecretString="v", ClientRequestToken=token())["ARN"]
    expect_error(creator.replicate_secret_to_regions, "AccessDeniedException", SecretId=arn,
                 AddReplicaRegions=[{"Region": OTHER}])
    expect_error(other.describe_secret, "ResourceNotFoundException", NOT_FOUND, SecretId=name)

    replicator = user_client(server, ["secretsmanager:ReplicateSecretToRegions"])
    replicator.replicate_secret_to_regions(SecretId=arn, AddReplicaRegions=[{"Region": OTHER}])
    reader = user_client(server, ["secretsmanager:GetSecretValue"], region=OTHER)
    assert reader.get_secret_value(SecretId=name)["SecretString"] == "v"
    expect_error(reader.stop_replication_to_replica, "AccessDeniedException", SecretId=name)
    assert other.describe_secret(SecretId=name)["PrimaryRegion"] == REGION


def test_a_replica_under_a_customer_key_of_its_region(server, sm, other):
    """The replica's own KmsKeyId names a customer key of the replica's region: a usable key
    seals the copy (readable there); a disabled one, or one the caller may not use through
    Secrets Manager, leaves that region Failed with Secrets Manager's reason."""
    kms_other = server.client("kms", region=OTHER)
    key = kms_other.create_key(Description="replica key")["KeyMetadata"]
    name = uniq("repl")
    arn = sm.create_secret(Name=name, SecretString="v", ClientRequestToken=token())["ARN"]
    r = sm.replicate_secret_to_regions(SecretId=arn, AddReplicaRegions=[
        {"Region": OTHER, "KmsKeyId": key["Arn"]}])
    assert r["ReplicationStatus"][0]["Status"] == "InSync", r
    assert other.get_secret_value(SecretId=name)["SecretString"] == "v"
    listed = other.list_secret_version_ids(SecretId=name)["Versions"][0]["KmsKeyIds"]
    assert key["KeyId"] in listed[0]
    # The replica's key disabled: its copy is unreadable until the key is enabled again.
    kms_other.disable_key(KeyId=key["KeyId"])
    expect_error(other.get_secret_value, "DecryptionFailure", SecretId=name)
    kms_other.enable_key(KeyId=key["KeyId"])
    assert other.get_secret_value(SecretId=name)["SecretString"] == "v"

    disabled = kms_other.create_key(Description="off")["KeyMetadata"]
    kms_other.disable_key(KeyId=disabled["KeyId"])
    name2 = uniq("repl")
    arn2 = sm.create_secret(Name=name2, SecretString="v", ClientRequestToken=token())["ARN"]
    r = sm.replicate_secret_to_regions(SecretId=arn2, AddReplicaRegions=[
        {"Region": OTHER, "KmsKeyId": disabled["KeyId"]}])
    status = r["ReplicationStatus"][0]
    assert status["Status"] == "Failed", status
    assert status["StatusMessage"].startswith("Replication failed: Secrets Manager can't encrypt"), status
    expect_error(other.describe_secret, "ResourceNotFoundException", NOT_FOUND, SecretId=name2)

    # A key whose policy does not let the account (and so IAM) use it.
    locked = kms_other.create_key(
        Description="locked", BypassPolicyLockoutSafetyCheck=True,
        Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
            "Action": "kms:*", "Resource": "*"}]}))["KeyMetadata"]
    name3 = uniq("repl")
    arn3 = sm.create_secret(Name=name3, SecretString="v", ClientRequestToken=token())["ARN"]
    r = sm.replicate_secret_to_regions(SecretId=arn3, AddReplicaRegions=[
        {"Region": OTHER, "KmsKeyId": locked["KeyId"]}])
    status = r["ReplicationStatus"][0]
    assert status["Status"] == "Failed", status
    assert status["StatusMessage"] == "Replication failed: Access to KMS is not allowed", status


def test_a_replica_whose_key_is_disabled_drops_out_of_sync_and_comes_back(server, sm, other):
    """Disabling a replica's customer key stops its use at once: the primary's next write
    succeeds, nothing more is sealed under the key, and the region shows Failed with Secrets
    Manager's reason. Once the key is enabled, replicating to the region again brings the
    copy up to date; removing the region removes the copy even while it is out of sync."""
    kms_other = server.client("kms", region=OTHER)
    key = kms_other.create_key(Description="replica key")["KeyMetadata"]["KeyId"]
    name = uniq("repl")
    arn = sm.create_secret(Name=name, SecretString="one", ClientRequestToken=token())["ARN"]
    sm.replicate_secret_to_regions(SecretId=arn, AddReplicaRegions=[
        {"Region": OTHER, "KmsKeyId": key}])
    kms_other.disable_key(KeyId=key)
    sm.put_secret_value(SecretId=arn, SecretString="two", ClientRequestToken=token())
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "two"
    status = sm.describe_secret(SecretId=arn)["ReplicationStatus"][0]
    assert (status["Region"], status["Status"]) == (OTHER, "Failed"), status
    assert status["StatusMessage"].startswith("Replication failed: Secrets Manager can't encrypt"), status
    kms_other.enable_key(KeyId=key)
    # The copy kept what it had; nothing was sealed under the disabled key.
    assert other.get_secret_value(SecretId=name)["SecretString"] == "one"
    r = sm.replicate_secret_to_regions(SecretId=arn, AddReplicaRegions=[
        {"Region": OTHER, "KmsKeyId": key}])
    assert r["ReplicationStatus"][0]["Status"] == "InSync", r
    assert other.get_secret_value(SecretId=name)["SecretString"] == "two"

    kms_other.disable_key(KeyId=key)
    sm.put_secret_value(SecretId=arn, SecretString="three", ClientRequestToken=token())
    assert sm.describe_secret(SecretId=arn)["ReplicationStatus"][0]["Status"] == "Failed"
    sm.remove_regions_from_replication(SecretId=arn, RemoveReplicaRegions=[OTHER])
    expect_error(other.describe_secret, "ResourceNotFoundException", NOT_FOUND, SecretId=name)
    sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
