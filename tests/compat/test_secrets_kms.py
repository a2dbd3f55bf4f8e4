"""Secrets under customer KMS keys, through boto3: a secret's KmsKeyId (key id, key ARN, alias
name, alias ARN) seals its values; a disabled or pending-deletion key makes its secrets
unreadable until the key is usable again; changing the key reseals the labelled versions; and
the caller needs kms:GenerateDataKey / kms:Decrypt on a customer key, through Secrets Manager
(kms:ViaService), as AWS checks them."""

import json
import uuid

import boto3
import pytest
from botocore.config import Config

from conftest import REGION, expect_error, token, uniq

DECRYPTION_FAILURE = "Secrets Manager can't decrypt the protected secret text using the provided KMS key."
ENCRYPTION_FAILURE = ("Secrets Manager can't encrypt the protected secret text using the provided KMS key. "
                      "Check that the KMS key is available, enabled, and not in an invalid state.")
KMS_NOT_ALLOWED = "Access to KMS is not allowed"
VIA_SECRETS_MANAGER = f"secretsmanager.{REGION}.amazonaws.com"


@pytest.fixture(scope="module")
def kms(server):
    return server.client("kms")


@pytest.fixture(scope="module")
def iam(server):
    return server.client("iam")


@pytest.fixture(scope="module")
def account(server):
    return server.client("sts").get_caller_identity()["Account"]


def new_key(kms, **kw):
    return kms.create_key(Description="secrets test key", **kw)["KeyMetadata"]


def new_alias(kms, key_id):
    alias = f"alias/secrets-{uuid.uuid4().hex[:10]}"
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    return alias


def user_clients(server, iam, policy):
    """A new IAM user with one inline identity policy: its (secretsmanager, kms) clients and ARN."""
    name = f"kmsuser-{uuid.uuid4().hex[:10]}"
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]

    def client(service):
        return boto3.client(service, endpoint_url=server.endpoint, region_name=REGION,
                            aws_access_key_id=key["AccessKeyId"],
                            aws_secret_access_key=key["SecretAccessKey"],
                            config=Config(retries={"max_attempts": 1}))

    return client("secretsmanager"), client("kms"), arn


def allow(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def stmt(action, resource="*", condition=None):
    s = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        s["Condition"] = condition
    return s


def value_of(sm, secret_id, **kw):
    return sm.get_secret_value(SecretId=secret_id, **kw)["SecretString"]


def test_secret_under_a_customer_key_named_every_way(sm, kms, account):
    key = new_key(kms)
    alias = new_alias(kms, key["KeyId"])
    alias_arn = f"arn:aws:kms:{REGION}:{account}:{alias}"
    for named in [key["KeyId"], key["Arn"], alias, alias_arn]:
        name = uniq("kms-named")
        created = sm.create_secret(Name=name, SecretString=f"under {named}", KmsKeyId=named,
                                   ClientRequestToken=token())
        assert value_of(sm, name) == f"under {named}"
        # DescribeSecret shows the key as the caller named it.
        assert sm.describe_secret(SecretId=name)["KmsKeyId"] == named
        versions = sm.list_secret_version_ids(SecretId=name)["Versions"]
        assert [v["VersionId"] for v in versions] == [created["VersionId"]]
        assert versions[0]["KmsKeyIds"] == [key["KeyId"]]
        # New values go under the same key.
        sm.put_secret_value(SecretId=name, SecretString="second", ClientRequestToken=token())
        assert value_of(sm, name) == "second"
        assert value_of(sm, name, VersionStage="AWSPREVIOUS") == f"under {named}"
    # The AWS managed key is left out of DescribeSecret however it is named.
    for managed in [None, "alias/aws/secretsmanager", f"arn:aws:kms:{REGION}:{account}:alias/aws/secretsmanager"]:
        name = uniq("kms-managed")
        kw = {"KmsKeyId": managed} if managed else {}
        sm.create_secret(Name=name, SecretString="v", **kw)
        assert "KmsKeyId" not in sm.describe_secret(SecretId=name)
        assert value_of(sm, name) == "v"


def test_an_unknown_key_fails_the_write_and_creates_nothing(sm, kms):
    for missing in [str(uuid.uuid4()), "alias/no-such-alias"]:
        for value in [{"SecretString": "v"}, {}]:
            name = uniq("kms-unknown")
            msg = expect_error(sm.create_secret, "ResourceNotFoundException", Name=name,
                               KmsKeyId=missing, **value)
            assert missing in msg
            expect_error(sm.describe_secret, "ResourceNotFoundException", SecretId=name)
    # UpdateSecret to an unknown key changes nothing.
    key = new_key(kms)
    name = uniq("kms-unknown-update")
    sm.create_secret(Name=name, SecretString="kept", KmsKeyId=key["KeyId"])
    expect_error(sm.update_secret, "ResourceNotFoundException", SecretId=name,
                 KmsKeyId=str(uuid.uuid4()), SecretString="never", ClientRequestToken=token())
    assert value_of(sm, name) == "kept"
    assert sm.describe_secret(SecretId=name)["KmsKeyId"] == key["KeyId"]
    assert len(sm.list_secret_version_ids(SecretId=name)["Versions"]) == 1


def test_a_disabled_key_locks_its_secrets_until_enabled(sm, kms):
    key = new_key(kms)
    name = uniq("kms-disabled")
    sm.create_secret(Name=name, SecretString="locked", KmsKeyId=key["KeyId"])
    other = uniq("kms-managed")
    sm.create_secret(Name=other, SecretString="free")

    kms.disable_key(KeyId=key["KeyId"])
    expect_error(sm.get_secret_value, "DecryptionFailure", DECRYPTION_FAILURE, SecretId=name)
    expect_error(sm.put_secret_value, "EncryptionFailure", ENCRYPTION_FAILURE, SecretId=name,
                 SecretString="new", ClientRequestToken=token())
    expect_error(sm.create_secret, "EncryptionFailure", ENCRYPTION_FAILURE, Name=uniq("kms-disabled"),
                 SecretString="v", KmsKeyId=key["KeyId"])
    batch = sm.batch_get_secret_value(SecretIdList=[name, other])
    assert [v["Name"] for v in batch["SecretValues"]] == [other]
    assert batch["Errors"] == [{"SecretId": name, "ErrorCode": "DecryptionFailure",
                                "Message": DECRYPTION_FAILURE}]
    # The secret itself is still there to describe, and nothing was written.
    assert len(sm.list_secret_version_ids(SecretId=name)["Versions"]) == 1

    kms.enable_key(KeyId=key["KeyId"])
    assert value_of(sm, name) == "locked"
    sm.put_secret_value(SecretId=name, SecretString="new", ClientRequestToken=token())
    assert value_of(sm, name) == "new"


def test_a_key_pending_deletion_locks_its_secrets_until_cancelled_and_enabled(sm, kms):
    key = new_key(kms)
    name = uniq("kms-pending")
    sm.create_secret(Name=name, SecretString="waiting", KmsKeyId=key["KeyId"])
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    expect_error(sm.get_secret_value, "DecryptionFailure", DECRYPTION_FAILURE, SecretId=name)
    expect_error(sm.put_secret_value, "EncryptionFailure", ENCRYPTION_FAILURE, SecretId=name,
                 SecretString="new", ClientRequestToken=token())
    # A cancelled deletion leaves the key disabled, as in AWS.
    kms.cancel_key_deletion(KeyId=key["KeyId"])
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"
    expect_error(sm.get_secret_value, "DecryptionFailure", DECRYPTION_FAILURE, SecretId=name)
    kms.enable_key(KeyId=key["KeyId"])
    assert value_of(sm, name) == "waiting"


def test_changing_the_key_reseals_the_labelled_versions(sm, kms):
    old, new = new_key(kms), new_key(kms)
    name = uniq("kms-rekey")
    first = sm.create_secret(Name=name, SecretString="one", KmsKeyId=old["KeyId"])["VersionId"]
    second = sm.put_secret_value(SecretId=name, SecretString="two", ClientRequestToken=token())["VersionId"]
    third = sm.put_secret_value(SecretId=name, SecretString="three", ClientRequestToken=token())["VersionId"]
    # `first` is deprecated now; `second` is AWSPREVIOUS, `third` AWSCURRENT.
    sm.update_secret(SecretId=name, KmsKeyId=new["Arn"])
    keys = {v["VersionId"]: v["KmsKeyIds"]
            for v in sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]}
    assert keys == {first: [old["KeyId"]], second: [new["KeyId"]], third: [new["KeyId"]]}
    assert sm.describe_secret(SecretId=name)["KmsKeyId"] == new["Arn"]

    kms.disable_key(KeyId=old["KeyId"])
    assert value_of(sm, name) == "three"
    assert value_of(sm, name, VersionStage="AWSPREVIOUS") == "two"
    # The deprecated version stayed under the old key.
    expect_error(sm.get_secret_value, "DecryptionFailure", DECRYPTION_FAILURE, SecretId=name,
                 VersionId=first)
    kms.enable_key(KeyId=old["KeyId"])
    assert value_of(sm, name, VersionId=first) == "one"

    # A new value with a key change: the value is sealed under the new key, and the version it
    # replaces (AWSPREVIOUS from now on) is resealed with it.
    back = new_key(kms)
    fourth = sm.update_secret(SecretId=name, KmsKeyId=back["KeyId"], SecretString="four",
                              ClientRequestToken=token())["VersionId"]
    keys = {v["VersionId"]: v["KmsKeyIds"]
            for v in sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]}
    assert keys[fourth] == [back["KeyId"]]
    assert keys[third] == [back["KeyId"]]
    assert keys[second] == [new["KeyId"]]
    kms.disable_key(KeyId=new["KeyId"])
    assert value_of(sm, name) == "four"
    assert value_of(sm, name, VersionStage="AWSPREVIOUS") == "three"
    kms.enable_key(KeyId=new["KeyId"])

    # Back to the AWS managed key: the labelled versions follow, and no customer key is needed.
    sm.update_secret(SecretId=name, KmsKeyId="")
    assert "KmsKeyId" not in sm.describe_secret(SecretId=name)
    kms.disable_key(KeyId=back["KeyId"])
    assert value_of(sm, name) == "four"
    assert value_of(sm, name, VersionStage="AWSPREVIOUS") == "three"


def test_a_key_change_leaves_versions_the_old_key_cannot_open(sm, kms):
    old, new = new_key(kms), new_key(kms)
    name = uniq("kms-rekey-disabled")
    sm.create_secret(Name=name, SecretString="one", KmsKeyId=old["KeyId"])
    kms.disable_key(KeyId=old["KeyId"])
    # As AWS documents: without the old key, the versions are not re-encrypted.
    sm.update_secret(SecretId=name, KmsKeyId=new["KeyId"])
    versions = sm.list_secret_version_ids(SecretId=name)["Versions"]
    assert versions[0]["KmsKeyIds"] == [old["KeyId"]]
    expect_error(sm.get_secret_value, "DecryptionFailure", DECRYPTION_FAILURE, SecretId=name)
    kms.enable_key(KeyId=old["KeyId"])
    assert value_of(sm, name) == "one"
    # A disabled new key fails the change itself, before anything is written.
    kms.disable_key(KeyId=new["KeyId"])
    other = uniq("kms-rekey-to-disabled")
    sm.create_secret(Name=other, SecretString="x", KmsKeyId=old["KeyId"])
    expect_error(sm.update_secret, "EncryptionFailure", ENCRYPTION_FAILURE, SecretId=other,
                 KmsKeyId=new["KeyId"])
    assert sm.describe_secret(SecretId=other)["KmsKeyId"] == old["KeyId"]


def test_the_caller_needs_kms_permissions_on_a_customer_key(server, sm, kms, iam):
    key = new_key(kms)
    name = uniq("kms-perm")
    sm.create_secret(Name=name, SecretString="guarded", KmsKeyId=key["KeyId"])
    managed = uniq("kms-perm-managed")
    sm.create_secret(Name=managed, SecretString="open")

    # secretsmanager:* alone: the AWS managed key works, the customer key does not.
    only_sm, _, _ = user_clients(server, iam, allow(stmt("secretsmanager:*")))
    assert value_of(only_sm, managed) == "open"
    expect_error(only_sm.get_secret_value, "AccessDeniedException", KMS_NOT_ALLOWED, SecretId=name)
    refused = uniq("kms-perm-create")
    expect_error(only_sm.create_secret, "AccessDeniedException", KMS_NOT_ALLOWED, Name=refused,
                 SecretString="v", KmsKeyId=key["KeyId"])
    expect_error(only_sm.describe_secret, "ResourceNotFoundException", SecretId=refused)
    expect_error(only_sm.put_secret_value, "AccessDeniedException", KMS_NOT_ALLOWED, SecretId=name,
                 SecretString="v", ClientRequestToken=token())

    # kms:Decrypt lets it read, not write; kms:GenerateDataKey lets it write too.
    reader, _, _ = user_clients(server, iam, allow(stmt("secretsmanager:*"),
                                                   stmt("kms:Decrypt", key["Arn"])))
    assert value_of(reader, name) == "guarded"
    expect_error(reader.put_secret_value, "AccessDeniedException", KMS_NOT_ALLOWED, SecretId=name,
                 SecretString="v", ClientRequestToken=token())
    writer, _, _ = user_clients(server, iam, allow(stmt("secretsmanager:*"),
                                                   stmt(["kms:Decrypt", "kms:GenerateDataKey"], key["Arn"])))
    writer.put_secret_value(SecretId=name, SecretString="rewritten", ClientRequestToken=token())
    assert value_of(writer, name) == "rewritten"
    # Moving the secret to a key it may not use is refused, with or without a new value, and
    # writes nothing.
    other = new_key(kms)
    before = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
    expect_error(writer.update_secret, "AccessDeniedException", KMS_NOT_ALLOWED, SecretId=name,
                 KmsKeyId=other["KeyId"], SecretString="moved", ClientRequestToken=token())
    expect_error(writer.update_secret, "AccessDeniedException", KMS_NOT_ALLOWED, SecretId=name,
                 KmsKeyId=other["KeyId"], Description="moved")
    described = sm.describe_secret(SecretId=name)
    assert described["KmsKeyId"] == key["KeyId"]
    assert "Description" not in described
    assert sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"] == before
    assert value_of(sm, name) == "rewritten"


def test_a_key_policy_that_does_not_delegate_to_iam_refuses_iam_grants(server, sm, kms, iam, account):
    key = new_key(kms)
    name = uniq("kms-policy")
    sm.create_secret(Name=name, SecretString="kept", KmsKeyId=key["KeyId"])
    user_sm, _, user_arn = user_clients(server, iam, allow(stmt("secretsmanager:*"), stmt("kms:*")))
    assert value_of(user_sm, name) == "kept"
    # Only one other principal may use the key: the IAM grant no longer counts.
    stranger = iam.create_user(UserName=f"stranger-{uuid.uuid4().hex[:8]}")["User"]["Arn"]
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": stranger}, "Action": "kms:*", "Resource": "*"}]}
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=json.dumps(policy),
                       BypassPolicyLockoutSafetyCheck=True)
    expect_error(user_sm.get_secret_value, "AccessDeniedException", KMS_NOT_ALLOWED, SecretId=name)
    expect_error(user_sm.put_secret_value, "AccessDeniedException", KMS_NOT_ALLOWED, SecretId=name,
                 SecretString="v", ClientRequestToken=token())
    # A key policy naming the user itself lets it in without IAM: it may seal and read secrets
    # under a key the account root may not even use.
    own = new_key(kms)
    mine = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "kms:*", "Resource": "*"}]}
    kms.put_key_policy(KeyId=own["KeyId"], PolicyName="default", Policy=json.dumps(mine),
                       BypassPolicyLockoutSafetyCheck=True)
    private = uniq("kms-policy-user")
    user_sm.create_secret(Name=private, SecretString="mine", KmsKeyId=own["KeyId"])
    assert value_of(user_sm, private) == "mine"
    expect_error(sm.get_secret_value, "AccessDeniedException", KMS_NOT_ALLOWED, SecretId=private)


def test_kms_via_service_names_secrets_manager_in_the_region(server, sm, kms, iam):
    key = new_key(kms)
    name = uniq("kms-via")
    sm.create_secret(Name=name, SecretString="through sm", KmsKeyId=key["KeyId"])
    via = {"StringEquals": {"kms:ViaService": VIA_SECRETS_MANAGER}}
    user_sm, _, _ = user_clients(server, iam, allow(
        stmt("secretsmanager:*"),
        stmt(["kms:Decrypt", "kms:GenerateDataKey"], key["Arn"], via)))
    assert value_of(user_sm, name) == "through sm"
    user_sm.put_secret_value(SecretId=name, SecretString="written", ClientRequestToken=token())
    assert value_of(user_sm, name) == "written"
    # Another region's Secrets Manager is another service name: refused.
    other = allow(stmt("secretsmanager:*"),
                  stmt("kms:Decrypt", key["Arn"],
                       {"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}}))
    elsewhere_sm, _, _ = user_clients(server, iam, other)
    expect_error(elsewhere_sm.get_secret_value, "AccessDeniedException", KMS_NOT_ALLOWED, SecretId=name)
