"""Secret lifecycle through boto3: create, read by every kind of id, versions and staging
labels, describe, delete/restore, tags, resource policies, random passwords, batch reads."""

import datetime
import json
import string
import time

import pytest

from conftest import REGION, all_secrets, expect_error, token, uniq

NOT_FOUND = "Secrets Manager can't find the specified secret."
MARKED = "You can't perform this operation on the secret because it was marked for deletion."
SCHEDULED = "You can't create this secret because a secret with this name is already scheduled for deletion."


def stages(sm, secret_id):
    return sm.describe_secret(SecretId=secret_id).get("VersionIdsToStages", {})


def all_versions(sm, secret_id, include_deprecated=True, page=None):
    out = []
    kw = {"SecretId": secret_id, "IncludeDeprecated": include_deprecated}
    if page:
        kw["MaxResults"] = page
    while True:
        r = sm.list_secret_version_ids(**kw)
        out.extend(r["Versions"])
        if not r.get("NextToken"):
            return out
        kw["NextToken"] = r["NextToken"]


# ---------------------------------------------------------------- create and read


def test_create_string_secret_and_read_it_by_name_arn_and_partial_arn(sm):
    name = uniq("life")
    created = sm.create_secret(Name=name, SecretString="s3cr3t-value", Description="the key",
                               Tags=[{"Key": "team", "Value": "ml"}])
    arn = created["ARN"]
    assert created["Name"] == name
    assert arn.startswith(f"arn:aws:secretsmanager:{REGION}:")
    prefix, suffix = arn.rsplit("-", 1)
    assert prefix.endswith(f":secret:{name}") and len(suffix) == 6
    assert len(created["VersionId"]) == 36  # the SDK's UUID

    for secret_id in (name, arn, prefix):
        got = sm.get_secret_value(SecretId=secret_id)
        assert got["SecretString"] == "s3cr3t-value"
        assert "SecretBinary" not in got
        assert got["ARN"] == arn and got["Name"] == name
        assert got["VersionId"] == created["VersionId"]
        assert got["VersionStages"] == ["AWSCURRENT"]
        assert isinstance(got["CreatedDate"], datetime.datetime)

    d = sm.describe_secret(SecretId=arn)
    assert d["Description"] == "the key"
    assert d["Tags"] == [{"Key": "team", "Value": "ml"}]
    assert d["VersionIdsToStages"] == {created["VersionId"]: ["AWSCURRENT"]}


def test_wrong_arn_suffix_region_or_account_is_not_found(sm):
    name = uniq("life")
    arn = sm.create_secret(Name=name, SecretString="v")["ARN"]
    prefix, suffix = arn.rsplit("-", 1)
    other = "AAAAAA" if suffix != "AAAAAA" else "BBBBBB"
    parts = arn.split(":")  # arn aws secretsmanager <region> <account> secret <name-suffix>
    other_account = ":".join(parts[:4] + ["111111111111"] + parts[5:])
    other_service = ":".join(parts[:2] + ["kms"] + parts[3:])
    for bad in (f"{prefix}-{other}", arn.replace(f":{REGION}:", ":eu-west-1:"), other_account,
                other_service, name + "x"):
        expect_error(sm.get_secret_value, "ResourceNotFoundException", NOT_FOUND, SecretId=bad)


def test_create_binary_secret(sm):
    name = uniq("life")
    blob = bytes(range(256)) * 3
    sm.create_secret(Name=name, SecretBinary=blob)
    got = sm.get_secret_value(SecretId=name)
    assert got["SecretBinary"] == blob
    assert "SecretString" not in got


def test_create_with_default_kms_alias(sm):
    name = uniq("life")
    sm.create_secret(Name=name, SecretString="v", KmsKeyId="alias/aws/secretsmanager")
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v"
    # "If the secret is encrypted with the AWS managed key aws/secretsmanager, this field is
    # omitted."
    assert "KmsKeyId" not in sm.describe_secret(SecretId=name)
    listed = sm.list_secrets(Filters=[{"Key": "name", "Values": [name]}])["SecretList"]
    assert [("KmsKeyId" in s) for s in listed] == [False]
    sm.put_secret_value(SecretId=name, SecretString="v2")
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v2"
    # An empty KmsKeyId on update means the managed key again.
    sm.update_secret(SecretId=name, KmsKeyId="", SecretString="v3")
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v3"
    assert "KmsKeyId" not in sm.describe_secret(SecretId=name)


def test_create_with_unknown_kms_key_stores_nothing(sm):
    name = uniq("life")
    with pytest.raises(Exception) as exc:
        sm.create_secret(Name=name, SecretString="v", KmsKeyId="alias/does-not-exist")
    code = exc.value.response["Error"]["Code"]
    assert code in ("ResourceNotFoundException", "InvalidParameterException", "InvalidRequestException",
                    "KMSInvalidStateException", "EncryptionFailure"), code
    assert name not in all_secrets(sm)


def test_create_without_value_then_first_put_becomes_current(sm):
    name = uniq("life")
    created = sm.create_secret(Name=name)
    assert "VersionId" not in created
    expect_error(sm.get_secret_value, "ResourceNotFoundException",
                 "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
                 SecretId=name)
    assert stages(sm, name) == {}
    put = sm.put_secret_value(SecretId=name, SecretString="first")
    assert put["VersionStages"] == ["AWSCURRENT"]
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "first"


def test_first_version_gets_awscurrent_even_with_custom_stages(sm):
    # "If this operation creates the first version for the secret, then Secrets Manager
    # automatically attaches the staging label AWSCURRENT to it."
    name = uniq("life")
    sm.create_secret(Name=name)
    put = sm.put_secret_value(SecretId=name, SecretString="first", VersionStages=["blue"])
    assert sorted(put["VersionStages"]) == ["AWSCURRENT", "blue"]
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "first"
    assert sorted(stages(sm, name)[put["VersionId"]]) == ["AWSCURRENT", "blue"]


# ---------------------------------------------------------------- versions and labels


def test_put_and_update_move_awscurrent_and_awsprevious(sm):
    name = uniq("life")
    v1 = sm.create_secret(Name=name, SecretString="one")["VersionId"]
    put = sm.put_secret_value(SecretId=name, SecretString="two")
    v2 = put["VersionId"]
    assert put["VersionStages"] == ["AWSCURRENT"]
    assert stages(sm, name) == {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"]}

    upd = sm.update_secret(SecretId=name, SecretString="three")
    v3 = upd["VersionId"]
    assert v3 not in (v1, v2)
    assert stages(sm, name) == {v2: ["AWSPREVIOUS"], v3: ["AWSCURRENT"]}
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "three"
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"] == "two"
    # v1 lost its last label: deprecated, hidden by default, still readable by id.
    assert sm.get_secret_value(SecretId=name, VersionId=v1)["SecretString"] == "one"
    assert "VersionStages" not in sm.get_secret_value(SecretId=name, VersionId=v1)
    listed = {v["VersionId"] for v in all_versions(sm, name, include_deprecated=False)}
    assert listed == {v2, v3}
    listed = {v["VersionId"] for v in all_versions(sm, name, include_deprecated=True)}
    assert listed == {v1, v2, v3}


def test_a_new_current_value_takes_awspending_off_the_old_current(sm):
    """A finished rotation leaves AWSPENDING beside AWSCURRENT; the next plain write moves
    AWSCURRENT on and leaves the old version with AWSPREVIOUS only, as AWS does."""
    name = uniq("life")
    v0 = sm.create_secret(Name=name, SecretString="S1")["VersionId"]
    v1 = sm.put_secret_value(SecretId=name, SecretString="S2", VersionStages=["AWSPENDING"])["VersionId"]
    sm.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT",
                                   RemoveFromVersionId=v0, MoveToVersionId=v1)
    assert {k: sorted(v) for k, v in stages(sm, name).items()} == {
        v0: ["AWSPREVIOUS"], v1: ["AWSCURRENT", "AWSPENDING"]}
    v2 = sm.put_secret_value(SecretId=name, SecretString="S3")["VersionId"]
    assert stages(sm, name) == {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"]}
    # UpdateSecret writes a value the same way.
    sm.put_secret_value(SecretId=name, SecretString="S4", VersionStages=["AWSPENDING"],
                        ClientRequestToken=(v4 := token()))
    sm.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT",
                                   RemoveFromVersionId=v2, MoveToVersionId=v4)
    v5 = sm.update_secret(SecretId=name, SecretString="S5")["VersionId"]
    assert stages(sm, name) == {v4: ["AWSPREVIOUS"], v5: ["AWSCURRENT"]}


def test_update_secret_metadata_only_creates_no_version(sm):
    name = uniq("life")
    v1 = sm.create_secret(Name=name, SecretString="one", Description="old")["VersionId"]
    upd = sm.update_secret(SecretId=name, Description="new")
    assert "VersionId" not in upd
    d = sm.describe_secret(SecretId=name)
    assert d["Description"] == "new"
    assert d["VersionIdsToStages"] == {v1: ["AWSCURRENT"]}


def test_custom_version_stages(sm):
    name = uniq("life")
    v1 = sm.create_secret(Name=name, SecretString="one")["VersionId"]
    blue = sm.put_secret_value(SecretId=name, SecretString="blue1", VersionStages=["blue"])
    assert blue["VersionStages"] == ["blue"]
    # AWSCURRENT did not move.
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "one"
    assert sm.get_secret_value(SecretId=name, VersionStage="blue")["SecretString"] == "blue1"
    blue2 = sm.put_secret_value(SecretId=name, SecretString="blue2", VersionStages=["blue", "green"])
    assert stages(sm, name) == {v1: ["AWSCURRENT"], blue2["VersionId"]: ["blue", "green"]}
    # The first blue version has no label left: deprecated.
    assert blue["VersionId"] not in {v["VersionId"] for v in all_versions(sm, name, False)}
    assert blue["VersionId"] in {v["VersionId"] for v in all_versions(sm, name, True)}


def test_update_secret_version_stage_moves_and_removes(sm):
    name = uniq("life")
    v1 = sm.create_secret(Name=name, SecretString="one")["VersionId"]
    v2 = sm.put_secret_value(SecretId=name, SecretString="two")["VersionId"]
    v3 = sm.put_secret_value(SecretId=name, SecretString="three", VersionStages=["staged"])["VersionId"]
    assert stages(sm, name) == {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"], v3: ["staged"]}

    # Roll back: AWSCURRENT to v1; AWSPREVIOUS follows to v2.
    r = sm.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT",
                                       MoveToVersionId=v1, RemoveFromVersionId=v2)
    assert r["Name"] == name and r["ARN"].endswith(name + r["ARN"][-7:])
    assert stages(sm, name) == {v1: ["AWSCURRENT"], v2: ["AWSPREVIOUS"], v3: ["staged"]}
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "one"

    # Add a custom label to a version that has labels already (labels are added).
    sm.update_secret_version_stage(SecretId=name, VersionStage="canary", MoveToVersionId=v1)
    assert sorted(stages(sm, name)[v1]) == ["AWSCURRENT", "canary"]

    # Remove a custom label: v3 becomes deprecated.
    sm.update_secret_version_stage(SecretId=name, VersionStage="staged", RemoveFromVersionId=v3)
    assert v3 not in stages(sm, name)
    assert v3 not in {v["VersionId"] for v in all_versions(sm, name, False)}

    # Moving a label held elsewhere with the right RemoveFromVersionId.
    sm.update_secret_version_stage(SecretId=name, VersionStage="canary",
                                   MoveToVersionId=v3, RemoveFromVersionId=v1)
    assert stages(sm, name) == {v1: ["AWSCURRENT"], v2: ["AWSPREVIOUS"], v3: ["canary"]}


def test_update_secret_version_stage_errors_change_nothing(sm, raw):
    name = uniq("life")
    v1 = sm.create_secret(Name=name, SecretString="one")["VersionId"]
    v2 = sm.put_secret_value(SecretId=name, SecretString="two")["VersionId"]
    before = stages(sm, name)
    missing = token()
    # Label attached to another version, RemoveFromVersionId not given.
    expect_error(sm.update_secret_version_stage, "InvalidParameterException",
                 "The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is "
                 f"currently attached to version {v2}, so you must explicitly reference that "
                 "version in RemoveFromVersionId.",
                 SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=v1)
    # RemoveFromVersionId names a version that doesn't hold the label.
    expect_error(sm.update_secret_version_stage, "InvalidParameterException",
                 SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=v1, RemoveFromVersionId=v1)
    expect_error(sm.update_secret_version_stage, "InvalidParameterException",
                 SecretId=name, VersionStage="nolabel", RemoveFromVersionId=v2)
    # Moving to a version that doesn't exist.
    with pytest.raises(Exception) as exc:
        sm.update_secret_version_stage(SecretId=name, VersionStage="x", MoveToVersionId=missing)
    assert exc.value.response["Error"]["Code"] in ("ResourceNotFoundException", "InvalidParameterException")
    # Neither MoveTo nor RemoveFrom.
    expect_error(sm.update_secret_version_stage, "InvalidParameterException",
                 SecretId=name, VersionStage="x")
    # Missing secret.
    expect_error(sm.update_secret_version_stage, "ResourceNotFoundException", NOT_FOUND,
                 SecretId=uniq("missing"), VersionStage="x", MoveToVersionId=v1)
    # A label longer than 256 characters (the server's own validation).
    expect_error(raw.update_secret_version_stage, "ValidationException",
                 SecretId=name, VersionStage="x" * 257, MoveToVersionId=v1)
    assert stages(sm, name) == before


def test_get_secret_value_version_selection_errors(sm):
    name = uniq("life")
    v1 = sm.create_secret(Name=name, SecretString="one")["VersionId"]
    v2 = sm.put_secret_value(SecretId=name, SecretString="two")["VersionId"]
    assert sm.get_secret_value(SecretId=name, VersionId=v1, VersionStage="AWSPREVIOUS")["SecretString"] == "one"
    expect_error(sm.get_secret_value, "InvalidRequestException",
                 "You provided a VersionStage that is not associated to the provided VersionId.",
                 SecretId=name, VersionId=v1, VersionStage="AWSCURRENT")
    missing = token()
    expect_error(sm.get_secret_value, "ResourceNotFoundException",
                 f"Secrets Manager can't find the specified secret value for VersionId: {missing}",
                 SecretId=name, VersionId=missing)
    expect_error(sm.get_secret_value, "ResourceNotFoundException",
                 "Secrets Manager can't find the specified secret value for staging label: nope",
                 SecretId=name, VersionStage="nope")
    assert sm.get_secret_value(SecretId=name, VersionId=v2)["VersionStages"] == ["AWSCURRENT"]


def test_list_secret_version_ids_paging(sm):
    name = uniq("life")
    ids = [sm.create_secret(Name=name, SecretString="v0")["VersionId"]]
    for i in range(1, 7):
        ids.append(sm.put_secret_value(SecretId=name, SecretString=f"v{i}")["VersionId"])
    # Labelled: only current and previous.
    labelled = all_versions(sm, name, include_deprecated=False, page=1)
    assert {v["VersionId"] for v in labelled} == {ids[-1], ids[-2]}
    paged = all_versions(sm, name, include_deprecated=True, page=2)
    assert len(paged) == 7
    assert {v["VersionId"] for v in paged} == set(ids)
    for v in paged:
        assert isinstance(v["CreatedDate"], datetime.datetime)
        assert len(v["KmsKeyIds"]) == 1
    first = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True, MaxResults=3)
    assert len(first["Versions"]) == 3 and first["NextToken"]
    assert first["Name"] == name and first["ARN"].startswith("arn:aws:secretsmanager:")
    expect_error(sm.list_secret_version_ids, "InvalidNextTokenException",
                 SecretId=name, NextToken="bm90LWEtdG9rZW4")
    # A token from this listing isn't valid for another secret's listing.
    other = uniq("life")
    sm.create_secret(Name=other, SecretString="x")
    expect_error(sm.list_secret_version_ids, "InvalidNextTokenException",
                 SecretId=other, IncludeDeprecated=True, NextToken=first["NextToken"])
    expect_error(sm.list_secret_version_ids, "ResourceNotFoundException", NOT_FOUND, SecretId=uniq("missing"))


# ---------------------------------------------------------------- describe and dates


def test_describe_dates(sm):
    name = uniq("life")
    sm.create_secret(Name=name, SecretString="one")
    d0 = sm.describe_secret(SecretId=name)
    assert "LastAccessedDate" not in d0
    # Never configured for rotation: RotationEnabled is null (omitted), not false.
    assert "RotationEnabled" not in d0 and "RotationRules" not in d0
    assert "KmsKeyId" not in d0
    assert "DeletedDate" not in d0
    assert d0["LastChangedDate"] >= d0["CreatedDate"]

    sm.get_secret_value(SecretId=name)
    d1 = sm.describe_secret(SecretId=name)
    accessed = d1["LastAccessedDate"].astimezone(datetime.timezone.utc)
    today = datetime.datetime.now(datetime.timezone.utc).date()
    assert accessed.date() in (today, today - datetime.timedelta(days=1))
    assert (accessed.hour, accessed.minute, accessed.second, accessed.microsecond) == (0, 0, 0, 0)
    # Reading does not change the secret.
    assert d1["LastChangedDate"] == d0["LastChangedDate"]

    time.sleep(0.01)  # timestamps have millisecond resolution
    sm.put_secret_value(SecretId=name, SecretString="two")
    d2 = sm.describe_secret(SecretId=name)
    assert d2["LastChangedDate"] > d0["LastChangedDate"]
    assert d2["CreatedDate"] == d0["CreatedDate"]

    # The version list carries the access date of the version that was read.
    versions = {v["VersionId"]: v for v in all_versions(sm, name)}
    current = sm.get_secret_value(SecretId=name)["VersionId"]
    assert versions  # both listed
    after = {v["VersionId"]: v for v in all_versions(sm, name)}
    assert after[current]["LastAccessedDate"].astimezone(datetime.timezone.utc).date() == accessed.date()


# ---------------------------------------------------------------- delete and restore


def test_delete_with_recovery_window_then_restore(sm):
    name = uniq("life")
    arn = sm.create_secret(Name=name, SecretString="keep-me")["ARN"]
    before = datetime.datetime.now(datetime.timezone.utc)
    r = sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    assert r["ARN"] == arn and r["Name"] == name
    window = r["DeletionDate"].astimezone(datetime.timezone.utc) - before
    assert datetime.timedelta(days=7) - datetime.timedelta(seconds=5) <= window <= datetime.timedelta(days=7, seconds=30)

    expect_error(sm.get_secret_value, "InvalidRequestException", MARKED, SecretId=name)
    expect_error(sm.put_secret_value, "InvalidRequestException", MARKED, SecretId=name, SecretString="x")
    expect_error(sm.update_secret, "InvalidRequestException", MARKED, SecretId=name, Description="x")
    expect_error(sm.create_secret, "InvalidRequestException", SCHEDULED, Name=name, SecretString="x")
    expect_error(sm.delete_secret, "InvalidRequestException", SecretId=name)
    d = sm.describe_secret(SecretId=name)
    assert "DeletedDate" in d
    # Hidden from ListSecrets unless asked for.
    assert name not in all_secrets(sm, include_deleted=False)
    assert name in all_secrets(sm, include_deleted=True)

    r = sm.restore_secret(SecretId=arn)
    assert r == {"ARN": arn, "Name": name, "ResponseMetadata": r["ResponseMetadata"]}
    assert "DeletedDate" not in sm.describe_secret(SecretId=name)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "keep-me"
    assert name in all_secrets(sm, include_deleted=False)


def test_default_recovery_window_is_30_days(sm):
    name = uniq("life")
    sm.create_secret(Name=name, SecretString="v")
    before = datetime.datetime.now(datetime.timezone.utc)
    r = sm.delete_secret(SecretId=name)
    window = r["DeletionDate"].astimezone(datetime.timezone.utc) - before
    assert abs(window - datetime.timedelta(days=30)) < datetime.timedelta(seconds=30)


def test_force_delete_frees_the_name(sm):
    name = uniq("life")
    arn1 = sm.create_secret(Name=name, SecretString="v1")["ARN"]
    r = sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    assert r["ARN"] == arn1
    expect_error(sm.describe_secret, "ResourceNotFoundException", NOT_FOUND, SecretId=arn1)
    expect_error(sm.get_secret_value, "ResourceNotFoundException", NOT_FOUND, SecretId=name)
    assert name not in all_secrets(sm)
    arn2 = sm.create_secret(Name=name, SecretString="v2")["ARN"]
    assert arn2 != arn1
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v2"
    # The old ARN does not reach the new secret.
    expect_error(sm.get_secret_value, "ResourceNotFoundException", NOT_FOUND, SecretId=arn1)


def test_force_delete_of_a_scheduled_secret(sm):
    name = uniq("life")
    sm.create_secret(Name=name, SecretString="v1")
    sm.delete_secret(SecretId=name, RecoveryWindowInDays=10)
    sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    assert name not in all_secrets(sm)
    # Forcing the delete of an already deleted secret is not an error.
    assert sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)["Name"] == name
    sm.create_secret(Name=name, SecretString="v2")


def test_restore_and_delete_missing_secret(sm):
    expect_error(sm.restore_secret, "ResourceNotFoundException", NOT_FOUND, SecretId=uniq("missing"))
    expect_error(sm.delete_secret, "ResourceNotFoundException", NOT_FOUND, SecretId=uniq("missing"))
    expect_error(sm.describe_secret, "ResourceNotFoundException", NOT_FOUND, SecretId=uniq("missing"))


# ---------------------------------------------------------------- tags


def test_tag_and_untag(sm):
    name = uniq("life")
    sm.create_secret(Name=name, SecretString="v", Tags=[{"Key": "a", "Value": "1"}])
    sm.tag_resource(SecretId=name, Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "one"}])
    tags = {t["Key"]: t["Value"] for t in sm.describe_secret(SecretId=name)["Tags"]}
    assert tags == {"a": "one", "b": "2"}
    sm.untag_resource(SecretId=name, TagKeys=["a", "not-there"])
    assert sm.describe_secret(SecretId=name)["Tags"] == [{"Key": "b", "Value": "2"}]
    expect_error(sm.tag_resource, "ResourceNotFoundException", NOT_FOUND,
                 SecretId=uniq("missing"), Tags=[{"Key": "a", "Value": "b"}])


def test_repeated_tag_keys_make_one_tag(sm):
    name = uniq("life")
    sm.create_secret(Name=name, SecretString="v",
                     Tags=[{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}, {"Key": "b", "Value": "3"}])
    keys = [t["Key"] for t in sm.describe_secret(SecretId=name)["Tags"]]
    assert sorted(keys) == ["a", "b"]
    sm.tag_resource(SecretId=name, Tags=[{"Key": "c", "Value": "1"}, {"Key": "c", "Value": "2"}])
    keys = [t["Key"] for t in sm.describe_secret(SecretId=name)["Tags"]]
    assert sorted(keys) == ["a", "b", "c"]


def test_repeated_stages_are_one_label(sm):
    name = uniq("life")
    sm.create_secret(Name=name, SecretString="v")
    put = sm.put_secret_value(SecretId=name, SecretString="w", VersionStages=["blue", "blue", "green"])
    assert put["VersionStages"] == ["blue", "green"]
    assert stages(sm, name)[put["VersionId"]] == ["blue", "green"]


def test_tag_rules(sm):
    name = uniq("life")
    sm.create_secret(Name=name, SecretString="v")
    expect_error(sm.tag_resource, "InvalidParameterException",
                 SecretId=name, Tags=[{"Key": "aws:reserved", "Value": "x"}])
    too_many = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    with pytest.raises(Exception) as exc:
        sm.tag_resource(SecretId=name, Tags=too_many)
    assert exc.value.response["Error"]["Code"] in ("InvalidParameterException", "LimitExceededException",
                                                   "ValidationException")
    assert sm.describe_secret(SecretId=name).get("Tags", []) == []


def test_tags_on_a_deleted_secret_are_refused(sm):
    name = uniq("life")
    sm.create_secret(Name=name, SecretString="v", Tags=[{"Key": "a", "Value": "1"}])
    sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    expect_error(sm.tag_resource, "InvalidRequestException", MARKED,
                 SecretId=name, Tags=[{"Key": "b", "Value": "2"}])
    expect_error(sm.untag_resource, "InvalidRequestException", MARKED, SecretId=name, TagKeys=["a"])
    assert sm.describe_secret(SecretId=name)["Tags"] == [{"Key": "a", "Value": "1"}]


# ---------------------------------------------------------------- resource policies


def policy(principal, action="secretsmanager:GetSecretValue"):
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": principal, "Action": action, "Resource": "*"}],
    })


PRIVATE = policy({"AWS": "arn:aws:iam::000000000000:root"})
PUBLIC = policy("*")


def test_resource_policy_put_get_list_delete(sm):
    name = uniq("life")
    arn = sm.create_secret(Name=name, SecretString="v")["ARN"]
    got = sm.get_resource_policy(SecretId=name)
    assert got["ARN"] == arn and got["Name"] == name and "ResourcePolicy" not in got
    assert sm.list_resource_policies(SecretId=name)["ResourcePolicies"] == []

    r = sm.put_resource_policy(SecretId=name, ResourcePolicy=PRIVATE, BlockPublicPolicy=True)
    assert r["ARN"] == arn and r["Name"] == name
    assert json.loads(sm.get_resource_policy(SecretId=arn)["ResourcePolicy"]) == json.loads(PRIVATE)
    assert len(sm.list_resource_policies(SecretId=name)["ResourcePolicies"]) == 1

    sm.delete_resource_policy(SecretId=name)
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=name)
    assert sm.list_resource_policies(SecretId=name)["ResourcePolicies"] == []
    expect_error(sm.get_resource_policy, "ResourceNotFoundException", NOT_FOUND, SecretId=uniq("missing"))


def test_block_public_policy(sm):
    name = uniq("life")
    sm.create_secret(Name=name, SecretString="v")
    expect_error(sm.put_resource_policy, "PublicPolicyException",
                 SecretId=name, ResourcePolicy=PUBLIC, BlockPublicPolicy=True)
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=name)
    expect_error(sm.put_resource_policy, "PublicPolicyException",
                 SecretId=name, ResourcePolicy=policy({"AWS": "*"}), BlockPublicPolicy=True)
    # Without the block, a public policy is stored.
    sm.put_resource_policy(SecretId=name, ResourcePolicy=PUBLIC, BlockPublicPolicy=False)
    assert json.loads(sm.get_resource_policy(SecretId=name)["ResourcePolicy"]) == json.loads(PUBLIC)


def test_malformed_policies(sm):
    name = uniq("life")
    sm.create_secret(Name=name, SecretString="v")
    for doc in ("{not json", json.dumps({"Version": "2012-10-17"}),
                json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Principal": "*",
                                                                    "Action": "*", "Resource": "*"}]})):
        expect_error(sm.put_resource_policy, "MalformedPolicyDocumentException",
                     SecretId=name, ResourcePolicy=doc)
        expect_error(sm.validate_resource_policy, "MalformedPolicyDocumentException", ResourcePolicy=doc)
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=name)


def test_validate_resource_policy(sm):
    ok = sm.validate_resource_policy(ResourcePolicy=PRIVATE)
    assert ok["PolicyValidationPassed"] is True
    assert ok.get("ValidationErrors", []) == []
    bad = sm.validate_resource_policy(ResourcePolicy=PUBLIC)
    assert bad["PolicyValidationPassed"] is False
    assert len(bad["ValidationErrors"]) >= 1
    expect_error(sm.validate_resource_policy, "ResourceNotFoundException", NOT_FOUND,
                 SecretId=uniq("missing"), ResourcePolicy=PRIVATE)


def test_policy_on_a_deleted_secret_is_refused(sm):
    name = uniq("life")
    sm.create_secret(Name=name, SecretString="v")
    sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    expect_error(sm.put_resource_policy, "InvalidRequestException", MARKED,
                 SecretId=name, ResourcePolicy=PRIVATE)


# ---------------------------------------------------------------- random passwords

PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


def test_random_password_defaults(sm):
    seen = set()
    for _ in range(10):
        p = sm.get_random_password()["RandomPassword"]
        assert len(p) == 32
        assert any(c in string.ascii_lowercase for c in p)
        assert any(c in string.ascii_uppercase for c in p)
        assert any(c in string.digits for c in p)
        assert any(c in PUNCT for c in p)
        assert " " not in p
        assert set(p) <= set(string.ascii_letters + string.digits + PUNCT)
        seen.add(p)
    assert len(seen) == 10


def test_random_password_options(sm):
    p = sm.get_random_password(PasswordLength=4096)["RandomPassword"]
    assert len(p) == 4096
    p = sm.get_random_password(PasswordLength=1, RequireEachIncludedType=False)["RandomPassword"]
    assert len(p) == 1
    p = sm.get_random_password(PasswordLength=64, ExcludeCharacters="abcABC123!@#")["RandomPassword"]
    assert not set(p) & set("abcABC123!@#")
    p = sm.get_random_password(PasswordLength=50, ExcludePunctuation=True, ExcludeNumbers=True,
                               ExcludeUppercase=True)["RandomPassword"]
    assert set(p) <= set(string.ascii_lowercase) and len(p) == 50
    p = sm.get_random_password(PasswordLength=300, IncludeSpace=True, ExcludePunctuation=True,
                               ExcludeNumbers=True, ExcludeLowercase=True)["RandomPassword"]
    assert " " in p  # 300 draws from 27 characters: missing the space has odds below 1e-4
    assert set(p) <= set(string.ascii_uppercase + " ")
    # Each included type at least once, even in a short password.
    for _ in range(20):
        p = sm.get_random_password(PasswordLength=4)["RandomPassword"]
        assert sum(any(c in cls for c in p) for cls in
                   (string.ascii_lowercase, string.ascii_uppercase, string.digits, PUNCT)) == 4


def test_random_password_space_is_not_a_required_type(sm):
    """IncludeSpace adds the space to the alphabet; RequireEachIncludedType still asks only for
    upper, lower, digit and punctuation (AWS's required types)."""
    classes = (string.ascii_lowercase, string.ascii_uppercase, string.digits, PUNCT)
    with_space = 0
    for _ in range(100):
        p = sm.get_random_password(PasswordLength=5, IncludeSpace=True,
                                   RequireEachIncludedType=True)["RandomPassword"]
        assert len(p) == 5 and all(any(c in cls for c in p) for cls in classes), p
        with_space += " " in p
    # One free draw from 95 characters: about one password in 95 holds a space, not all of
    # them (fewer than 15 of 100 fails with odds below 1e-9).
    assert with_space < 15, with_space
    # Four characters are enough for the four types, space or not.
    for _ in range(10):
        p = sm.get_random_password(PasswordLength=4, IncludeSpace=True)["RandomPassword"]
        assert all(any(c in cls for c in p) for cls in classes), p


def test_random_password_invalid(sm, raw):
    expect_error(raw.get_random_password, "ValidationException", PasswordLength=0)
    expect_error(raw.get_random_password, "ValidationException", PasswordLength=4097)
    expect_error(sm.get_random_password, "InvalidParameterException",
                 ExcludeLowercase=True, ExcludeUppercase=True, ExcludeNumbers=True, ExcludePunctuation=True)


# ---------------------------------------------------------------- BatchGetSecretValue


def test_batch_get_by_id_list_with_a_missing_id(sm):
    a, b = uniq("batch"), uniq("batch")
    arn_a = sm.create_secret(Name=a, SecretString="va")["ARN"]
    sm.create_secret(Name=b, SecretBinary=b"\x00\x01vb")
    missing = uniq("missing")
    r = sm.batch_get_secret_value(SecretIdList=[arn_a, b, missing])
    values = {v["Name"]: v for v in r["SecretValues"]}
    assert set(values) == {a, b}
    assert values[a]["SecretString"] == "va"
    assert values[a]["ARN"] == arn_a
    assert values[a]["VersionStages"] == ["AWSCURRENT"]
    assert values[b]["SecretBinary"] == b"\x00\x01vb"
    assert r["Errors"] == [{"SecretId": missing, "ErrorCode": "ResourceNotFoundException", "Message": NOT_FOUND}]


def test_batch_get_deleted_secret_is_an_error_entry(sm):
    a = uniq("batch")
    sm.create_secret(Name=a, SecretString="va")
    sm.delete_secret(SecretId=a, RecoveryWindowInDays=7)
    r = sm.batch_get_secret_value(SecretIdList=[a])
    assert r["SecretValues"] == []
    assert [(e["SecretId"], e["ErrorCode"]) for e in r["Errors"]] == [(a, "InvalidRequestException")]


def test_batch_get_with_filters_and_paging(sm):
    prefix = uniq("bfilter")
    names = [f"{prefix}/s{i:02d}" for i in range(5)]
    for i, n in enumerate(names):
        sm.create_secret(Name=n, SecretString=f"value-{i}")
    got = {}
    kw = {"Filters": [{"Key": "name", "Values": [prefix + "/"]}], "MaxResults": 2}
    pages = 0
    while True:
        r = sm.batch_get_secret_value(**kw)
        pages += 1
        assert len(r["SecretValues"]) <= 2
        for v in r["SecretValues"]:
            assert v["Name"] not in got
            got[v["Name"]] = v["SecretString"]
        if not r.get("NextToken"):
            break
        kw["NextToken"] = r["NextToken"]
    assert pages == 3
    assert got == {n: f"value-{i}" for i, n in enumerate(names)}
    expect_error(sm.batch_get_secret_value, "InvalidNextTokenException",
                 Filters=[{"Key": "name", "Values": [prefix]}], NextToken="Z2FyYmFnZQ")


def test_batch_get_needs_exactly_one_selector(sm, raw):
    name = uniq("batch")
    sm.create_secret(Name=name, SecretString="v")
    expect_error(sm.batch_get_secret_value, "InvalidParameterException",
                 SecretIdList=[name], Filters=[{"Key": "name", "Values": [name]}])
    expect_error(sm.batch_get_secret_value, "InvalidParameterException")
    expect_error(raw.batch_get_secret_value, "ValidationException",
                 SecretIdList=[uniq("x") for _ in range(21)])
