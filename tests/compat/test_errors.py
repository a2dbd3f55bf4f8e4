"""Every validation rule answers with the AWS error code (and, where recorded, the exact
message), and a refused request stores nothing. Raw HTTP is used only for what SDKs can't
send (missing ClientRequestToken, malformed JSON, bad headers, oversized bodies)."""

import json

import pytest

from conftest import (JSON_CT, all_secrets, expect_error, raw_call, send_raw, signed_headers,
                      token, uniq)

BAD_NAME = ("Invalid name. Must be a valid name containing alphanumeric characters, "
            "or any of the following: -/_+=.@!")
NOT_FOUND = "Secrets Manager can't find the specified secret."
BOTH = "You can't specify both a binary secret value and a string secret value in the same secret."
WINDOW = "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."
FORCE_AND_WINDOW = "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."
NO_TOKEN = "You must provide a ClientRequestToken value. We recommend a UUID-type value."


@pytest.fixture
def unchanged(sm):
    """Asserts at the end of the test that the set of secrets (and their versions) is the same."""
    def snapshot():
        return {n: tuple(sorted(s.get("SecretVersionsToStages", {}))) for n, s in all_secrets(sm).items()}
    before = snapshot()
    yield
    assert snapshot() == before


# ---------------------------------------------------------------- CreateSecret inputs


@pytest.mark.parametrize("name", ["bad name", "bad!", "emoji-\u2603", "semi;colon", "quote'", "back\\slash",
                                  "tab\tname", "star*", "a,b"])
def test_bad_name_characters(sm, unchanged, name):
    expect_error(sm.create_secret, "ValidationException", BAD_NAME, Name=name, SecretString="v")


def test_name_length(sm, raw, unchanged):
    long_name = "n" * 513
    expect_error(sm.create_secret, "ValidationException",
                 f"1 validation error detected: Value '{long_name}' at 'name' failed to satisfy constraint: "
                 "Member must have length less than or equal to 512",
                 Name=long_name, SecretString="v")
    expect_error(raw.create_secret, "ValidationException", Name="", SecretString="v")


def test_name_of_512_characters_is_accepted(sm):
    name = "n" * 500 + uniq("")[1:13]
    assert len(name) == 512
    sm.create_secret(Name=name, SecretString="v")
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v"
    sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


def test_description_length(sm, unchanged):
    expect_error(sm.create_secret, "ValidationException", Name=uniq("err"), SecretString="v",
                 Description="d" * 2049)


def test_description_length_on_update(sm):
    name = uniq("err")
    sm.create_secret(Name=name, SecretString="v", Description="ok")
    expect_error(sm.update_secret, "ValidationException", SecretId=name, Description="d" * 2049)
    assert sm.describe_secret(SecretId=name)["Description"] == "ok"


def test_both_string_and_binary(sm, unchanged):
    expect_error(sm.create_secret, "InvalidParameterException", BOTH,
                 Name=uniq("err"), SecretString="v", SecretBinary=b"v")


def test_both_string_and_binary_on_put(sm):
    name = uniq("err")
    sm.create_secret(Name=name, SecretString="v")
    expect_error(sm.put_secret_value, "InvalidParameterException", BOTH,
                 SecretId=name, SecretString="w", SecretBinary=b"w")
    expect_error(sm.update_secret, "InvalidParameterException", BOTH,
                 SecretId=name, SecretString="w", SecretBinary=b"w")
    assert len(sm.describe_secret(SecretId=name)["VersionIdsToStages"]) == 1


def test_value_size_limit(sm, unchanged):
    too_big = "x" * 65537
    msg = expect_error(sm.create_secret, "ValidationException", Name=uniq("err"), SecretString=too_big)
    assert "secretString" in msg and "65536" in msg and "xxxx" not in msg
    msg = expect_error(sm.create_secret, "ValidationException", Name=uniq("err"), SecretBinary=b"\x01" * 65537)
    assert "secretBinary" in msg
    # The limit is in bytes: 32,769 two-byte characters are 65,538 bytes.
    expect_error(sm.create_secret, "ValidationException", Name=uniq("err"), SecretString="\u00e9" * 32769)


def test_value_of_exactly_65536_bytes(sm):
    name = uniq("err")
    sm.create_secret(Name=name, SecretString="y" * 65536)
    assert len(sm.get_secret_value(SecretId=name)["SecretString"]) == 65536
    expect_error(sm.put_secret_value, "ValidationException", SecretId=name, SecretString="z" * 65537)
    expect_error(sm.update_secret, "ValidationException", SecretId=name, SecretString="z" * 65537)
    assert len(sm.describe_secret(SecretId=name)["VersionIdsToStages"]) == 1


def test_empty_value(raw, unchanged):
    expect_error(raw.create_secret, "ValidationException", Name=uniq("err"), SecretString="")


def test_token_length(raw, unchanged):
    expect_error(raw.create_secret, "ValidationException",
                 "1 validation error detected: Value 'short-token' at 'clientRequestToken' failed to satisfy "
                 "constraint: Member must have length greater than or equal to 32",
                 Name=uniq("err"), SecretString="v", ClientRequestToken="short-token")
    expect_error(raw.create_secret, "ValidationException",
                 Name=uniq("err"), SecretString="v", ClientRequestToken="t" * 65)


def test_token_length_on_put(sm, raw):
    name = uniq("err")
    sm.create_secret(Name=name, SecretString="v")
    expect_error(raw.put_secret_value, "ValidationException", SecretId=name, SecretString="w",
                 ClientRequestToken="x" * 31)
    assert len(sm.describe_secret(SecretId=name)["VersionIdsToStages"]) == 1


def test_several_violations_are_reported_together(raw, unchanged):
    msg = expect_error(raw.create_secret, "ValidationException", Name="n" * 513, SecretString="v",
                       ClientRequestToken="short", Description="d" * 2049)
    assert msg.startswith("3 validation errors detected: "), msg


def test_tag_lengths(raw, unchanged):
    expect_error(raw.create_secret, "ValidationException", Name=uniq("err"), SecretString="v",
                 Tags=[{"Key": "k" * 129, "Value": "v"}])
    expect_error(raw.create_secret, "ValidationException", Name=uniq("err"), SecretString="v",
                 Tags=[{"Key": "k", "Value": "v" * 257}])


def test_existing_name(sm):
    name = uniq("err")
    sm.create_secret(Name=name, SecretString="v")
    before = all_secrets(sm)
    expect_error(sm.create_secret, "ResourceExistsException",
                 f"The operation failed because the secret {name} already exists.",
                 Name=name, SecretString="other")
    assert all_secrets(sm).keys() == before.keys()
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v"


def test_secret_id_too_long(raw):
    expect_error(raw.get_secret_value, "ValidationException", SecretId="s" * 2049)
    expect_error(raw.describe_secret, "ValidationException", SecretId="")


# ---------------------------------------------------------------- DeleteSecret inputs


@pytest.mark.parametrize("days", [0, 6, 31, 365])
def test_recovery_window_bounds(sm, days):
    name = uniq("err")
    sm.create_secret(Name=name, SecretString="v")
    expect_error(sm.delete_secret, "InvalidParameterException", WINDOW, SecretId=name, RecoveryWindowInDays=days)
    assert "DeletedDate" not in sm.describe_secret(SecretId=name)


def test_force_with_window(sm):
    name = uniq("err")
    sm.create_secret(Name=name, SecretString="v")
    expect_error(sm.delete_secret, "InvalidParameterException", FORCE_AND_WINDOW,
                 SecretId=name, RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True)
    # AWS checks the window's range first.
    expect_error(sm.delete_secret, "InvalidParameterException", WINDOW,
                 SecretId=name, RecoveryWindowInDays=0, ForceDeleteWithoutRecovery=True)
    assert "DeletedDate" not in sm.describe_secret(SecretId=name)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v"


# ---------------------------------------------------------------- paging inputs


def test_max_results_bounds_on_version_listing(sm, raw):
    name = uniq("err")
    sm.create_secret(Name=name, SecretString="v")
    expect_error(raw.list_secret_version_ids, "ValidationException", SecretId=name, MaxResults=0)
    expect_error(raw.list_secret_version_ids, "ValidationException", SecretId=name, MaxResults=101)
    expect_error(raw.list_secrets, "ValidationException", MaxResults=0)
    expect_error(raw.list_secrets, "ValidationException", MaxResults=101)
    expect_error(raw.batch_get_secret_value, "ValidationException",
                 Filters=[{"Key": "name", "Values": [name]}], MaxResults=21)


# ---------------------------------------------------------------- missing secret / version


def test_missing_secret_everywhere(sm):
    missing = uniq("missing")
    v = token()
    calls = [
        (sm.get_secret_value, {}),
        (sm.describe_secret, {}),
        (sm.put_secret_value, {"SecretString": "v"}),
        (sm.update_secret, {"Description": "d"}),
        (sm.update_secret, {"SecretString": "v"}),
        (sm.delete_secret, {}),
        (sm.restore_secret, {}),
        (sm.tag_resource, {"Tags": [{"Key": "k", "Value": "v"}]}),
        (sm.untag_resource, {"TagKeys": ["k"]}),
        (sm.list_secret_version_ids, {}),
        (sm.update_secret_version_stage, {"VersionStage": "x", "MoveToVersionId": v}),
        (sm.get_resource_policy, {}),
        (sm.put_resource_policy, {"ResourcePolicy": json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
                                                   "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})}),
        (sm.delete_resource_policy, {}),
        (sm.list_resource_policies, {}),
    ]
    for fn, kw in calls:
        expect_error(fn, "ResourceNotFoundException", NOT_FOUND, SecretId=missing, **kw)
    assert missing not in all_secrets(sm)


@pytest.mark.parametrize("bad", ["Inv Name", "inv*name?", "semi;colon", "emoji-\u2603", "bang!"])
def test_malformed_secret_id_everywhere(server, sm, bad):
    """A SecretId that is not an ARN and could not be a name is refused as AWS does, by every
    operation, before anything is looked up: never "not found", and never a forced delete's
    success."""
    v = token()
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
         "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
    calls = [
        (sm.get_secret_value, {}),
        (sm.describe_secret, {}),
        (sm.put_secret_value, {"SecretString": "v"}),
        (sm.update_secret, {"Description": "d"}),
        (sm.update_secret, {"SecretString": "v"}),
        (sm.delete_secret, {}),
        (sm.delete_secret, {"ForceDeleteWithoutRecovery": True}),
        (sm.restore_secret, {}),
        (sm.tag_resource, {"Tags": [{"Key": "k", "Value": "v"}]}),
        (sm.untag_resource, {"TagKeys": ["k"]}),
        (sm.list_secret_version_ids, {}),
        (sm.update_secret_version_stage, {"VersionStage": "x", "MoveToVersionId": v}),
        (sm.get_resource_policy, {}),
        (sm.put_resource_policy, {"ResourcePolicy": policy}),
        (sm.delete_resource_policy, {}),
        (sm.list_resource_policies, {}),
        (sm.validate_resource_policy, {"ResourcePolicy": policy}),
        (sm.rotate_secret, {}),
        (sm.cancel_rotate_secret, {}),
    ]
    for fn, kw in calls:
        expect_error(fn, "ValidationException", BAD_NAME, SecretId=bad, **kw)
    r = sm.batch_get_secret_value(SecretIdList=[bad])
    assert r["SecretValues"] == []
    assert r["Errors"] == [{"SecretId": bad, "ErrorCode": "ValidationException", "Message": BAD_NAME}]
    # An ARN is looked up as it is: a missing one is not found, whatever its characters.
    account = server.client("sts").get_caller_identity()["Account"]
    arn = f"arn:aws:secretsmanager:us-east-1:{account}:secret:{bad}-AbCdEf"
    expect_error(sm.get_secret_value, "ResourceNotFoundException", NOT_FOUND, SecretId=arn)


def test_malformed_secret_id_is_refused_before_authorization(server):
    """A caller allowed nothing learns the id is malformed, as anyone would, and nothing more."""
    iam = server.client("iam")
    user = uniq("noperm").replace("/", "-")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    denied = server.client(key_id=key["AccessKeyId"], secret=key["SecretAccessKey"])
    expect_error(denied.get_secret_value, "ValidationException", BAD_NAME, SecretId="Inv Name")
    expect_error(denied.delete_secret, "ValidationException", BAD_NAME, SecretId="Inv Name",
                 ForceDeleteWithoutRecovery=True)
    expect_error(denied.get_secret_value, "AccessDeniedException", SecretId=uniq("fine"))


def test_missing_version_messages(sm):
    name = uniq("err")
    v1 = sm.create_secret(Name=name, SecretString="v")["VersionId"]
    missing = token()
    expect_error(sm.get_secret_value, "ResourceNotFoundException",
                 f"Secrets Manager can't find the specified secret value for VersionId: {missing}",
                 SecretId=name, VersionId=missing)
    expect_error(sm.get_secret_value, "ResourceNotFoundException",
                 "Secrets Manager can't find the specified secret value for staging label: AWSPREVIOUS",
                 SecretId=name, VersionStage="AWSPREVIOUS")
    expect_error(sm.get_secret_value, "InvalidRequestException",
                 "You provided a VersionStage that is not associated to the provided VersionId.",
                 SecretId=name, VersionId=v1, VersionStage="AWSPENDING")


def test_put_without_a_value(sm):
    name = uniq("err")
    sm.create_secret(Name=name, SecretString="v")
    with pytest.raises(Exception) as exc:
        sm.put_secret_value(SecretId=name)
    assert exc.value.response["Error"]["Code"] in ("InvalidParameterException", "InvalidRequestException")
    assert len(sm.describe_secret(SecretId=name)["VersionIdsToStages"]) == 1


# ---------------------------------------------------------------- raw HTTP: what SDKs can't send


def test_missing_client_request_token_on_create(server, sm, unchanged):
    name = uniq("err")
    r = raw_call(server, "CreateSecret", {"Name": name, "SecretString": "v"})
    r.assert_error("InvalidRequestException", message=NO_TOKEN)
    # Without a value, no version is made and no token is needed.
    r = raw_call(server, "CreateSecret", {"Name": name + "-empty"})
    assert r.status == 200, r.raw
    assert "VersionId" not in r.json
    sm.delete_secret(SecretId=name + "-empty", ForceDeleteWithoutRecovery=True)


def test_missing_client_request_token_on_put_and_update(server, sm):
    name = uniq("err")
    sm.create_secret(Name=name, SecretString="v")
    raw_call(server, "PutSecretValue", {"SecretId": name, "SecretString": "w"}).assert_error(
        "InvalidRequestException", message=NO_TOKEN)
    raw_call(server, "UpdateSecret", {"SecretId": name, "SecretString": "w"}).assert_error(
        "InvalidRequestException", message=NO_TOKEN)
    assert len(sm.describe_secret(SecretId=name)["VersionIdsToStages"]) == 1
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v"


def test_missing_client_request_token_is_reported_before_a_missing_secret(server, sm):
    """AWS checks the token before it looks the secret up: a raw write without one is refused
    for the token even when the secret does not exist."""
    missing = uniq("missing")
    for op, payload in [("PutSecretValue", {"SecretString": "w"}),
                        ("UpdateSecret", {"SecretString": "w"}),
                        ("RotateSecret", {})]:
        raw_call(server, op, {"SecretId": missing, **payload}).assert_error(
            "InvalidRequestException", message=NO_TOKEN)
    # Without a new value UpdateSecret needs no token, so the secret is looked up.
    raw_call(server, "UpdateSecret", {"SecretId": missing, "Description": "d"}).assert_error(
        "ResourceNotFoundException", message=NOT_FOUND)
    name = uniq("err")
    sm.create_secret(Name=name, SecretString="v")
    raw_call(server, "RotateSecret", {"SecretId": name}).assert_error(
        "InvalidRequestException", message=NO_TOKEN)
    # With a token, RotateSecret goes on to say the secret has no rotator.
    r = raw_call(server, "RotateSecret", {"SecretId": name, "ClientRequestToken": token()})
    r.assert_error("InvalidRequestException",
                   message="No Lambda rotation function ARN is associated with this secret.")


def test_malformed_json(server, unchanged):
    for body in (b'{"Name": "x", "SecretString": ', b"not json at all", b"[1, 2, 3]",
                 b'{"Name": 12, "SecretString": "v"}'):
        r = raw_call(server, "CreateSecret", body)
        r.assert_error("SerializationException")
    # A malformed body never echoes what it carried.
    r = raw_call(server, "CreateSecret", b'{"Name": "x", "SecretString": 4242424242}')
    assert b"4242424242" not in r.raw


def test_missing_and_unknown_target(server):
    raw_call(server, "ListSecrets", {}, target=False).assert_error("UnknownOperationException")
    raw_call(server, "ListSecrets", {}, target="secretsmanager.DropEverything").assert_error(
        "UnknownOperationException")
    raw_call(server, "ListSecrets", {}, target="secretsmanager.listSecrets").assert_error(
        "UnknownOperationException")
    raw_call(server, "ListSecrets", {}, target="kinesis_20131202.ListStreams").assert_error(
        "UnknownOperationException")
    # The same request with the right target works.
    assert raw_call(server, "ListSecrets", {}).status == 200


def test_wrong_content_type(server, unchanged):
    for ct in ("application/json", "text/plain", None):
        r = raw_call(server, "CreateSecret", {"Name": uniq("err"), "SecretString": "v",
                                              "ClientRequestToken": token()}, content_type=ct)
        assert r.status == 400, (ct, r.raw)
        assert r.error_type and r.headers.get("x-amzn-errortype") == r.error_type
        assert isinstance(r.json.get("Message"), str)


def test_body_over_one_mib(server, unchanged):
    body = json.dumps({"Name": uniq("err"), "SecretString": "x" * (1024 * 1024 + 10),
                       "ClientRequestToken": token()}).encode()
    r = raw_call(server, "CreateSecret", body)
    r.assert_error("RequestEntityTooLargeException", status=413)
    # Also when the declared length is a lie (chunked upload without Content-Length).
    headers = signed_headers(server.endpoint, body, {"Content-Type": JSON_CT,
                                                     "X-Amz-Target": "secretsmanager.CreateSecret"})

    def chunks():
        for i in range(0, len(body), 65536):
            yield body[i:i + 65536]
    headers.pop("Content-Length", None)
    headers["Transfer-Encoding"] = "chunked"
    r = send_raw(server.endpoint, chunks(), headers)
    assert r.status == 413, r.raw
    assert r.json["__type"] == "RequestEntityTooLargeException"


def test_wrong_method_or_path(server):
    r = send_raw(server.endpoint, None, {}, method="GET", path="/")
    assert r.status in (400, 404, 405)
    assert r.error_type and r.headers.get("x-amzn-errortype") == r.error_type


def test_invalid_base64_binary(server, unchanged):
    r = raw_call(server, "CreateSecret", {"Name": uniq("err"), "SecretBinary": "!!not base64!!",
                                          "ClientRequestToken": token()})
    r.assert_error("SerializationException")
    assert b"not base64" not in r.raw


def test_null_required_member(server, unchanged):
    r = raw_call(server, "CreateSecret", {"Name": None, "SecretString": "v", "ClientRequestToken": token()})
    r.assert_error("ValidationException",
                   message="1 validation error detected: Value 'null' at 'name' failed to satisfy constraint: "
                           "Member must not be null")
    raw_call(server, "GetSecretValue", {}).assert_error("ValidationException")


def test_unknown_members_are_ignored(server, sm):
    name = uniq("err")
    r = raw_call(server, "CreateSecret", {"Name": name, "SecretString": "v", "ClientRequestToken": token(),
                                          "SomethingNew": {"nested": [1, 2]}})
    assert r.status == 200, r.raw
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v"


def test_force_delete_of_a_missing_secret_succeeds(sm, unchanged):
    # "If you forcibly delete an already deleted or nonexistent secret, the operation does not
    # return ResourceNotFoundException."
    missing = uniq("missing")
    r = sm.delete_secret(SecretId=missing, ForceDeleteWithoutRecovery=True)
    assert r["Name"] == missing
    assert r["ARN"].startswith("arn:aws:secretsmanager:us-east-1:") and r["ARN"].endswith(f":secret:{missing}")
    # Still refused without the force flag, and still validated with it.
    expect_error(sm.delete_secret, "ResourceNotFoundException", NOT_FOUND, SecretId=missing)
    expect_error(sm.delete_secret, "InvalidParameterException", FORCE_AND_WINDOW,
                 SecretId=missing, ForceDeleteWithoutRecovery=True, RecoveryWindowInDays=7)
