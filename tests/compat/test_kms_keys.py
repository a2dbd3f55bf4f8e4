"""KMS key management with boto3 and the aws CLI: keys, aliases, rotation, key policies, tags,
scheduled deletion, the AWS managed key, bad input, and authorization as KMS does it (the key
policy first; naming the account delegates to IAM; an explicit Deny wins)."""

import json
import uuid

import pytest

from conftest import expect_error, uniq

@pytest.fixture(scope="module")
def kms(server):
    return server.client("kms")


@pytest.fixture(scope="module")
def unchecked(server):
    """A client that sends what botocore's own validation would stop, so the server's is seen."""
    return server.client("kms", parameter_validation=False)


@pytest.fixture(scope="module")
def account(server):
    return server.client("sts").get_caller_identity()["Account"]


def alias_name(prefix="t"):
    return "alias/" + uniq(prefix).replace("/", "-")


def new_key(kms, **kw):
    return kms.create_key(**kw)["KeyMetadata"]


def key_arn(account, key_id):
    return f"arn:aws:kms:us-east-1:{account}:key/{key_id}"


# ------------------------------------------------------------------------- keys


def test_create_and_describe_key(kms, account):
    meta = new_key(kms, Description="team key", Tags=[{"TagKey": "team", "TagValue": "core"}])
    uuid.UUID(meta["KeyId"])
    assert meta["Arn"] == key_arn(account, meta["KeyId"])
    assert meta["AWSAccountId"] == account
    assert meta["Description"] == "team key"
    assert meta["Enabled"] is True
    assert meta["KeyState"] == "Enabled"
    assert meta["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert meta["KeySpec"] == meta["CustomerMasterKeySpec"] == "SYMMETRIC_DEFAULT"
    assert meta["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]
    assert meta["Origin"] == "AWS_KMS"
    assert meta["KeyManager"] == "CUSTOMER"
    assert meta["MultiRegion"] is False
    assert "DeletionDate" not in meta
    described = kms.describe_key(KeyId=meta["Arn"])["KeyMetadata"]
    assert described == meta
    assert kms.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]["CreationDate"] == meta["CreationDate"]
    assert kms.list_resource_tags(KeyId=meta["KeyId"])["Tags"] == [{"TagKey": "team", "TagValue": "core"}]


def test_default_key_policy_delegates_to_iam(kms, account):
    key = new_key(kms)
    policy = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
    assert policy["Statement"] == [{
        "Sid": "Enable IAM User Permissions",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }]
    assert kms.list_key_policies(KeyId=key["KeyId"])["PolicyNames"] == ["default"]


def test_create_key_refuses_what_tresor_does_not_offer(kms):
    expect_error(kms.create_key, "UnsupportedOperationException", KeySpec="RSA_2048")
    expect_error(kms.create_key, "UnsupportedOperationException", Origin="EXTERNAL")
    expect_error(kms.create_key, "UnsupportedOperationException", MultiRegion=True)
    expect_error(kms.create_key, "ValidationException", KeyUsage="SIGN_VERIFY")
    msg = expect_error(kms.create_key, "ValidationException", KeySpec="NOPE")
    assert "keySpec" in msg
    expect_error(kms.create_key, "MalformedPolicyDocumentException", Policy="{not json")
    expect_error(kms.create_key, "TagException", Tags=[{"TagKey": "aws:x", "TagValue": "v"}])


def test_list_keys_pages_and_shows_the_managed_key(kms):
    mine = {new_key(kms)["KeyId"] for _ in range(3)}
    seen, marker = [], None
    while True:
        page = kms.list_keys(Limit=2, **({"Marker": marker} if marker else {}))
        assert len(page["Keys"]) <= 2
        seen += [k["KeyId"] for k in page["Keys"]]
        for k in page["Keys"]:
            assert k["KeyArn"].endswith(":key/" + k["KeyId"])
        if not page["Truncated"]:
            assert "NextMarker" not in page
            break
        marker = page["NextMarker"]
    assert mine <= set(seen)
    assert seen == sorted(seen)
    managed = kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]
    assert managed["KeyManager"] == "AWS"
    assert managed["KeyId"] in seen



def test_bad_limits(unchecked):
    msg = expect_error(unchecked.list_keys, "ValidationException", Limit=0)
    assert msg == ("1 validation error detected: Value '0' at 'limit' failed to satisfy "
                   "constraint: Member must have value greater than or equal to 1")
    expect_error(unchecked.list_aliases, "ValidationException", Limit=1001)


def test_unknown_keys(kms, account):
    missing = str(uuid.uuid4())
    expect_error(kms.describe_key, "NotFoundException",
                 f"Key '{key_arn(account, missing)}' does not exist", KeyId=missing)
    expect_error(kms.describe_key, "NotFoundException",
                 f"Alias arn:aws:kms:us-east-1:{account}:alias/none-such is not found.",
                 KeyId="alias/none-such")
    expect_error(kms.enable_key, "NotFoundException", KeyId=missing)
    expect_error(kms.describe_key, "NotFoundException", "Invalid keyId not-a-key-id",
                 KeyId="not-a-key-id")
    # Management operations take a key id or key ARN, not an alias.
    named = new_key(kms)["KeyId"]
    name = alias_name("only")
    kms.create_alias(AliasName=name, TargetKeyId=named)
    expect_error(kms.disable_key, "NotFoundException", f"Invalid keyId {name}", KeyId=name)
    assert kms.describe_key(KeyId=named)["KeyMetadata"]["KeyState"] == "Enabled"
    # Another region's key is not found here.
    other = new_key(kms)
    expect_error(kms.describe_key, "NotFoundException",
                 KeyId=other["Arn"].replace("us-east-1", "eu-west-1"))


def test_update_description_enable_disable(kms):
    key = new_key(kms)["KeyId"]
    kms.update_key_description(KeyId=key, Description="new words")
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["Description"] == "new words"
    kms.disable_key(KeyId=key)
    meta = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert (meta["KeyState"], meta["Enabled"]) == ("Disabled", False)
    kms.enable_key(KeyId=key)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"


def test_schedule_and_cancel_deletion(kms):
    meta = new_key(kms)
    key, arn = meta["KeyId"], meta["Arn"]
    out = kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    assert out["KeyId"] == arn
    assert out["KeyState"] == "PendingDeletion"
    assert out["PendingWindowInDays"] == 7
    window = out["DeletionDate"] - meta["CreationDate"]
    assert 7 * 86400 - 120 < window.total_seconds() < 7 * 86400 + 120
    described = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert described["KeyState"] == "PendingDeletion"
    assert described["Enabled"] is False
    assert described["DeletionDate"] == out["DeletionDate"]
    # Pending deletion: no changes but cancelling.
    expect_error(kms.enable_key, "KMSInvalidStateException", f"{arn} is pending deletion.", KeyId=key)
    expect_error(kms.schedule_key_deletion, "KMSInvalidStateException", KeyId=key)
    expect_error(kms.create_alias, "KMSInvalidStateException", AliasName=alias_name(), TargetKeyId=key)
    expect_error(kms.tag_resource, "KMSInvalidStateException", KeyId=key,
                 Tags=[{"TagKey": "k", "TagValue": "v"}])
    assert kms.cancel_key_deletion(KeyId=key)["KeyId"] == arn
    meta = kms.describe_key(KeyId=key)["KeyMetadata"]
    # As AWS does: a cancelled key comes back disabled.
    assert meta["KeyState"] == "Disabled"
    assert "DeletionDate" not in meta
    expect_error(kms.cancel_key_deletion, "KMSInvalidStateException",
                 f"{arn} is not pending deletion.", KeyId=key)
    out = kms.schedule_key_deletion(KeyId=key)
    assert out["PendingWindowInDays"] == 30


@pytest.mark.parametrize("days", [0, 6, 31, 365])
def test_bad_pending_window(kms, unchecked, days):
    key = new_key(kms)["KeyId"]
    msg = expect_error(unchecked.schedule_key_deletion, "ValidationException", KeyId=key,
                       PendingWindowInDays=days)
    assert "pendingWindowInDays" in msg
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"


# ------------------------------------------------------------------------- aliases


def test_aliases(kms, account):
    one, two = new_key(kms)["KeyId"], new_key(kms)["KeyId"]
    name = alias_name("a")
    kms.create_alias(AliasName=name, TargetKeyId=one)
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == one
    arn = f"arn:aws:kms:us-east-1:{account}:{name}"
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyId"] == one
    listed = kms.list_aliases(KeyId=one)["Aliases"]
    assert [(a["AliasName"], a["AliasArn"], a["TargetKeyId"]) for a in listed] == [(name, arn, one)]
    assert listed[0]["CreationDate"] == listed[0]["LastUpdatedDate"]

    expect_error(kms.create_alias, "AlreadyExistsException",
                 f"An alias with the name {arn} already exists", AliasName=name, TargetKeyId=two)
    kms.update_alias(AliasName=name, TargetKeyId=two)
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == two
    assert kms.list_aliases(KeyId=one)["Aliases"] == []
    second = alias_name("b")
    kms.create_alias(AliasName=second, TargetKeyId=two)
    assert {a["AliasName"] for a in kms.list_aliases(KeyId=two)["Aliases"]} == {name, second}
    kms.delete_alias(AliasName=name)
    expect_error(kms.describe_key, "NotFoundException", KeyId=name)
    expect_error(kms.delete_alias, "NotFoundException",
                 f"Alias {arn} is not found.", AliasName=name)
    expect_error(kms.update_alias, "NotFoundException", AliasName=name, TargetKeyId=two)


def test_list_aliases_pages_and_includes_the_managed_alias(kms):
    key = new_key(kms)["KeyId"]
    names = sorted(alias_name("p") for _ in range(3))
    for n in names:
        kms.create_alias(AliasName=n, TargetKeyId=key)
    seen, marker = [], None
    while True:
        page = kms.list_aliases(Limit=2, **({"Marker": marker} if marker else {}))
        seen += [a["AliasName"] for a in page["Aliases"]]
        if not page["Truncated"]:
            break
        marker = page["NextMarker"]
    assert set(names) <= set(seen)
    assert seen == sorted(seen)
    assert "alias/aws/secretsmanager" in seen
    expect_error(kms.list_aliases, "InvalidMarkerException", Marker="garbage")


def test_bad_alias_names(kms):
    key = new_key(kms)["KeyId"]
    expect_error(kms.create_alias, "ValidationException",
                 'Alias must start with the prefix "alias/". Please see '
                 "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html",
                 AliasName="no-prefix", TargetKeyId=key)
    msg = expect_error(kms.create_alias, "ValidationException", AliasName="alias/has space",
                       TargetKeyId=key)
    assert "aliasName" in msg and "regular expression pattern" in msg
    msg = expect_error(kms.create_alias, "ValidationException", AliasName="alias/" + "x" * 251,
                       TargetKeyId=key)
    assert "length less than or equal to 256" in msg
    expect_error(kms.create_alias, "NotAuthorizedException", AliasName="alias/aws/mine",
                 TargetKeyId=key)
    expect_error(kms.delete_alias, "NotAuthorizedException", AliasName="alias/aws/secretsmanager")
    expect_error(kms.create_alias, "NotFoundException", AliasName=alias_name(),
                 TargetKeyId=str(uuid.uuid4()))
    assert kms.list_aliases(KeyId=key)["Aliases"] == []


# ------------------------------------------------------------------------- rotation


def test_rotation_settings_and_on_demand(kms):
    meta = new_key(kms)
    key = meta["KeyId"]
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is False
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    status = kms.get_key_rotation_status(KeyId=key)
    assert status["KeyRotationEnabled"] is True
    assert status["RotationPeriodInDays"] == 90
    ahead = status["NextRotationDate"] - meta["CreationDate"]
    assert 89 * 86400 < ahead.total_seconds() < 91 * 86400
    kms.enable_key_rotation(KeyId=key)
    assert kms.get_key_rotation_status(KeyId=key)["RotationPeriodInDays"] == 365
    kms.disable_key_rotation(KeyId=key)
    status = kms.get_key_rotation_status(KeyId=key)
    assert status["KeyRotationEnabled"] is False
    assert "NextRotationDate" not in status

    assert kms.list_key_rotations(KeyId=key)["Rotations"] == []
    assert kms.rotate_key_on_demand(KeyId=key)["KeyId"] == key
    kms.rotate_key_on_demand(KeyId=key)
    rotations = kms.list_key_rotations(KeyId=key)["Rotations"]
    assert [r["RotationType"] for r in rotations] == ["ON_DEMAND", "ON_DEMAND"]
    assert all(r["KeyId"] == key for r in rotations)
    page = kms.list_key_rotations(KeyId=key, Limit=1)
    assert page["Truncated"] is True and len(page["Rotations"]) == 1
    rest = kms.list_key_rotations(KeyId=key, Marker=page["NextMarker"])
    assert len(rest["Rotations"]) == 1 and rest["Truncated"] is False


@pytest.mark.parametrize("days", [89, 2561])
def test_bad_rotation_period(kms, unchecked, days):
    key = new_key(kms)["KeyId"]
    msg = expect_error(unchecked.enable_key_rotation, "ValidationException", KeyId=key,
                       RotationPeriodInDays=days)
    assert "rotationPeriodInDays" in msg
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is False


def test_rotation_on_a_disabled_key(kms):
    meta = new_key(kms)
    kms.disable_key(KeyId=meta["KeyId"])
    expect_error(kms.enable_key_rotation, "KMSInvalidStateException",
                 f"{meta['Arn']} is disabled.", KeyId=meta["KeyId"])
    expect_error(kms.rotate_key_on_demand, "KMSInvalidStateException", KeyId=meta["KeyId"])


# ------------------------------------------------------------------------- key policy


def test_put_key_policy(kms, account):
    key = new_key(kms)["KeyId"]
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "Root", "Effect": "Allow", "Principal": {"AWS": account},
        "Action": "kms:*", "Resource": "*"}]})
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=doc)
    assert json.loads(kms.get_key_policy(KeyId=key)["Policy"])["Statement"][0]["Sid"] == "Root"
    expect_error(kms.put_key_policy, "MalformedPolicyDocumentException", KeyId=key,
                 PolicyName="default", Policy="{")
    expect_error(kms.get_key_policy, "NotFoundException", KeyId=key, PolicyName="other")
    # A policy that would lock the caller out is refused unless the check is bypassed.
    lockout = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:user/nobody"},
        "Action": "kms:*", "Resource": "*"}]})
    expect_error(kms.put_key_policy, "MalformedPolicyDocumentException",
                 "The new key policy will not allow you to update the key policy in the future.",
                 KeyId=key, PolicyName="default", Policy=lockout)
    assert json.loads(kms.get_key_policy(KeyId=key)["Policy"])["Statement"][0]["Sid"] == "Root"
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=lockout,
                       BypassPolicyLockoutSafetyCheck=True)
    # Now not even the account root may use the key.
    expect_error(kms.describe_key, "AccessDeniedException", KeyId=key)
    expect_error(kms.create_key, "MalformedPolicyDocumentException", Policy=lockout)


def test_aws_managed_key_is_read_only(kms, account):
    managed = kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]
    key = managed["KeyId"]
    assert managed["KeyManager"] == "AWS"
    assert managed["Description"].startswith("Default key")
    policy = json.loads(kms.get_key_policy(KeyId=key)["Policy"])
    via = policy["Statement"][0]["Condition"]["StringEquals"]
    assert via == {"kms:CallerAccount": account,
                   "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is True
    for call, kw in [
        (kms.disable_key, {}),
        (kms.schedule_key_deletion, {"PendingWindowInDays": 7}),
        (kms.put_key_policy, {"PolicyName": "default", "Policy": json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
                                                    "Action": "kms:*", "Resource": "*"}]})}),
        (kms.enable_key_rotation, {}),
        (kms.disable_key_rotation, {}),
        (kms.tag_resource, {"Tags": [{"TagKey": "k", "TagValue": "v"}]}),
    ]:
        expect_error(call, "AccessDeniedException", KeyId=key, **kw)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"


# ------------------------------------------------------------------------- tags


def test_tags(kms):
    key = new_key(kms)["KeyId"]
    kms.tag_resource(KeyId=key, Tags=[{"TagKey": "a", "TagValue": "1"}, {"TagKey": "b", "TagValue": "2"}])
    kms.tag_resource(KeyId=key, Tags=[{"TagKey": "a", "TagValue": "3"}])
    assert kms.list_resource_tags(KeyId=key)["Tags"] == [
        {"TagKey": "a", "TagValue": "3"}, {"TagKey": "b", "TagValue": "2"}]
    page = kms.list_resource_tags(KeyId=key, Limit=1)
    assert page["Truncated"] and page["Tags"] == [{"TagKey": "a", "TagValue": "3"}]
    assert kms.list_resource_tags(KeyId=key, Marker=page["NextMarker"])["Tags"] == [
        {"TagKey": "b", "TagValue": "2"}]
    kms.untag_resource(KeyId=key, TagKeys=["a"])
    assert kms.list_resource_tags(KeyId=key)["Tags"] == [{"TagKey": "b", "TagValue": "2"}]
    expect_error(kms.tag_resource, "TagException", KeyId=key,
                 Tags=[{"TagKey": "aws:reserved", "TagValue": "v"}])
    expect_error(kms.tag_resource, "TagException", KeyId=key,
                 Tags=[{"TagKey": f"k{i}", "TagValue": "v"} for i in range(50)])
    msg = expect_error(kms.tag_resource, "ValidationException", KeyId=key,
                       Tags=[{"TagKey": "k" * 129, "TagValue": "v"}])
    assert "tags.1.member.tagKey" in msg
    assert kms.list_resource_tags(KeyId=key)["Tags"] == [{"TagKey": "b", "TagValue": "2"}]


# ------------------------------------------------------------------------- authorization


@pytest.fixture(scope="module")
def user_with_kms_star(server):
    """An IAM user whose identity policy allows kms:* on everything."""
    iam = server.client("iam")
    name = uniq("kmsuser").replace("/", "-")
    user = iam.create_user(UserName=name)["User"]
    iam.put_user_policy(UserName=name, PolicyName="kms", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}))
    access = iam.create_access_key(UserName=name)["AccessKey"]
    client = server.client("kms", key_id=access["AccessKeyId"], secret=access["SecretAccessKey"])
    return user, client


@pytest.fixture(scope="module")
def user_without_iam(server):
    """An IAM user with no identity policy at all."""
    iam = server.client("iam")
    name = uniq("bare").replace("/", "-")
    user = iam.create_user(UserName=name)["User"]
    access = iam.create_access_key(UserName=name)["AccessKey"]
    client = server.client("kms", key_id=access["AccessKeyId"], secret=access["SecretAccessKey"])
    return user, client


def policy_of(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def root_statement(account):
    return {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
            "Action": "kms:*", "Resource": "*"}


def test_iam_allows_through_the_default_policy(kms, user_with_kms_star):
    _, client = user_with_kms_star
    key = new_key(kms)["KeyId"]
    assert client.describe_key(KeyId=key)["KeyMetadata"]["KeyId"] == key
    client.disable_key(KeyId=key)


def test_iam_alone_is_denied_without_delegation(kms, account, user_with_kms_star):
    user, client = user_with_kms_star
    other = f"arn:aws:iam::{account}:user/someone-else"
    doc = policy_of({"Effect": "Allow", "Principal": {"AWS": other}, "Action": "kms:*", "Resource": "*"},
                    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                     "Action": "kms:PutKeyPolicy", "Resource": "*"})
    meta = new_key(kms, Policy=doc)
    msg = expect_error(client.describe_key, "AccessDeniedException", KeyId=meta["KeyId"])
    assert msg == (f"User: {user['Arn']} is not authorized to perform: kms:DescribeKey on resource: "
                   f"{meta['Arn']} because no resource-based policy allows the kms:DescribeKey action")
    expect_error(client.disable_key, "AccessDeniedException", KeyId=meta["KeyId"])
    # The account root is granted PutKeyPolicy only: nothing else, even for it.
    expect_error(kms.describe_key, "AccessDeniedException", KeyId=meta["KeyId"])


def test_key_policy_grants_a_user_directly(kms, account, user_without_iam):
    user, client = user_without_iam
    doc = policy_of(root_statement(account),
                    {"Effect": "Allow", "Principal": {"AWS": user["Arn"]},
                     "Action": ["kms:DescribeKey", "kms:TagResource"], "Resource": "*"})
    key = new_key(kms, Policy=doc)["KeyId"]
    assert client.describe_key(KeyId=key)["KeyMetadata"]["KeyId"] == key
    client.tag_resource(KeyId=key, Tags=[{"TagKey": "k", "TagValue": "v"}])
    # Not granted by the key policy, and no IAM policy: denied.
    expect_error(client.disable_key, "AccessDeniedException", KeyId=key)
    # The same user on a key with the default policy has nothing from IAM: denied.
    other = new_key(kms)["KeyId"]
    expect_error(client.describe_key, "AccessDeniedException", KeyId=other)


def test_explicit_deny_in_the_key_policy_wins(kms, account, user_with_kms_star):
    user, client = user_with_kms_star
    doc = policy_of(root_statement(account),
                    {"Effect": "Deny", "Principal": {"AWS": user["Arn"]},
                     "Action": "kms:DisableKey", "Resource": "*"})
    key = new_key(kms, Policy=doc)["KeyId"]
    assert client.describe_key(KeyId=key)["KeyMetadata"]["KeyId"] == key
    msg = expect_error(client.disable_key, "AccessDeniedException", KeyId=key)
    assert "explicit deny in a resource-based policy" in msg
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"


def test_via_service_condition(kms, account, user_without_iam):
    """A key policy that allows use only through Secrets Manager: a direct call is denied."""
    user, client = user_without_iam
    doc = policy_of(root_statement(account),
                    {"Effect": "Allow", "Principal": {"AWS": user["Arn"]},
                     "Action": "kms:DescribeKey", "Resource": "*",
                     "Condition": {"StringEquals": {
                         "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}},
                    {"Effect": "Allow", "Principal": {"AWS": user["Arn"]},
                     "Action": "kms:ListResourceTags", "Resource": "*",
                     "Condition": {"StringEquals": {"kms:CallerAccount": account}}})
    key = new_key(kms, Policy=doc)["KeyId"]
    expect_error(client.describe_key, "AccessDeniedException", KeyId=key)
    assert client.list_resource_tags(KeyId=key)["Tags"] == []


def test_key_management_needs_iam_for_account_wide_calls(user_without_iam):
    _, client = user_without_iam
    expect_error(client.create_key, "AccessDeniedException")
    expect_error(client.list_keys, "AccessDeniedException")
    expect_error(client.list_aliases, "AccessDeniedException")


# ------------------------------------------------------------------------- the aws CLI


def test_aws_cli(server):
    meta = server.aws("kms", "create-key", "--description", "cli key")["KeyMetadata"]
    assert meta["Description"] == "cli key"
    name = alias_name("cli")
    server.aws("kms", "create-alias", "--alias-name", name, "--target-key-id", meta["KeyId"])
    aliases = server.aws("kms", "list-aliases", "--key-id", meta["KeyId"])["Aliases"]
    assert [a["AliasName"] for a in aliases] == [name]
    described = server.aws("kms", "describe-key", "--key-id", name)["KeyMetadata"]
    assert described["Arn"] == meta["Arn"]
    server.aws("kms", "enable-key-rotation", "--key-id", meta["KeyId"],
               "--rotation-period-in-days", "180")
    status = server.aws("kms", "get-key-rotation-status", "--key-id", meta["KeyId"])
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 180
    failed = server.aws("kms", "describe-key", "--key-id", "alias/none-such", check=False)
    assert failed.returncode != 0 and "NotFoundException" in failed.stderr


# ------------------------------------------------------------------------- audit


def test_key_management_is_audited(server, kms, user_without_iam):
    ct = server.client("cloudtrail")
    _, client = user_without_iam
    key = new_key(kms, Description="audited")["KeyId"]
    kms.disable_key(KeyId=key)
    expect_error(client.enable_key, "AccessDeniedException", KeyId=key)

    def events(name):
        found, kwargs = [], {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": name}]}
        while True:
            page = ct.lookup_events(**kwargs)
            found += [json.loads(e["CloudTrailEvent"]) for e in page["Events"]]
            if "NextToken" not in page:
                return found
            kwargs["NextToken"] = page["NextToken"]

    created = [e for e in events("CreateKey")
               if ((e.get("responseElements") or {}).get("KeyMetadata") or {}).get("KeyId") == key]
    assert len(created) == 1
    assert created[0]["eventSource"] == "kms.amazonaws.com"
    assert created[0]["readOnly"] is False
    def about_key(name):
        return [e for e in events(name) if (e.get("requestParameters") or {}).get("KeyId") == key]

    disabled = about_key("DisableKey")
    assert len(disabled) == 1 and "errorCode" not in disabled[0]
    denied = about_key("EnableKey")
    assert len(denied) == 1
    assert denied[0]["errorCode"] == "AccessDeniedException"
    assert denied[0]["userIdentity"]["type"] == "IAMUser"
