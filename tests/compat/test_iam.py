"""The IAM subset through boto3 and the aws CLI: users, access keys (which work, and stop
working at once when deactivated or deleted), inline and managed policies, attachments, roles,
and IAM's error codes, messages and HTTP statuses."""

import json
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import REGION

ALLOW_SM = {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}]}
ALLOW_ALL = {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def name(prefix="u"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def iam_error(fn, code, status, message=None, **kwargs):
    """Call fn(**kwargs); assert it fails with the IAM `code` and HTTP `status`."""
    with pytest.raises(ClientError) as info:
        fn(**kwargs)
    err = info.value.response
    assert err["Error"]["Code"] == code, err["Error"]
    assert err["ResponseMetadata"]["HTTPStatusCode"] == status, err
    if message is not None:
        assert err["Error"]["Message"] == message, err["Error"]
    return err["Error"]["Message"]


def trust(*principals):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": list(principals)}, "Action": "sts:AssumeRole"}]})


@pytest.fixture(scope="module")
def iam(server):
    return server.client("iam")


@pytest.fixture(scope="module")
def account(server):
    return server.client("sts").get_caller_identity()["Account"]


def client_for(server, service, key):
    return boto3.client(service, endpoint_url=server.endpoint, region_name=REGION,
                        aws_access_key_id=key["AccessKeyId"],
                        aws_secret_access_key=key["SecretAccessKey"],
                        config=Config(retries={"max_attempts": 1}))


# ---------------------------------------------------------------- users

def test_user_lifecycle(iam, account):
    u = name()
    user = iam.create_user(UserName=u, Path="/eng/ml/", Tags=[{"Key": "team", "Value": "ml"}])["User"]
    assert user["UserName"] == u
    assert user["Path"] == "/eng/ml/"
    assert user["Arn"] == f"arn:aws:iam::{account}:user/eng/ml/{u}"
    assert user["UserId"].startswith("AIDA") and len(user["UserId"]) == 20
    assert user["Tags"] == [{"Key": "team", "Value": "ml"}]
    assert user["CreateDate"].tzinfo is not None

    got = iam.get_user(UserName=u.upper())["User"]
    assert (got["UserName"], got["UserId"]) == (u, user["UserId"])

    iam_error(iam.create_user, "EntityAlreadyExists", 409, f"User with name {u} already exists.", UserName=u)

    iam.tag_user(UserName=u, Tags=[{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "infra"}])
    tags = {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName=u)["Tags"]}
    assert tags == {"team": "infra", "env": "prod"}
    iam.untag_user(UserName=u, TagKeys=["team"])
    assert iam.list_user_tags(UserName=u)["Tags"] == [{"Key": "env", "Value": "prod"}]

    listed = iam.list_users(PathPrefix="/eng/ml/")["Users"]
    assert [x["UserName"] for x in listed if x["UserName"] == u] == [u]

    iam.delete_user(UserName=u)
    iam_error(iam.get_user, "NoSuchEntity", 404, f"The user with name {u} cannot be found.", UserName=u)
    iam_error(iam.delete_user, "NoSuchEntity", 404, UserName=u)


def test_list_users_pages(iam):
    prefix = f"/page{uuid.uuid4().hex[:6]}/"
    names = sorted(name("p") for _ in range(5))
    for n in names:
        iam.create_user(UserName=n, Path=prefix)
    first = iam.list_users(PathPrefix=prefix, MaxItems=2)
    assert first["IsTruncated"] is True and first["Marker"]
    seen = []
    for page in iam.get_paginator("list_users").paginate(PathPrefix=prefix, PaginationConfig={"PageSize": 2}):
        seen += [u["UserName"] for u in page["Users"]]
    assert seen == names
    for n in names:
        iam.delete_user(UserName=n)


def test_get_user_without_name_is_the_caller(server, iam, account):
    me = iam.get_user()["User"]
    assert me["Arn"] == f"arn:aws:iam::{account}:root"
    assert me["UserId"] == account
    u = name()
    arn = iam.create_user(UserName=u)["User"]["Arn"]
    own = {"Version": "2012-10-17",
           "Statement": [{"Effect": "Allow", "Action": "iam:GetUser", "Resource": arn}]}
    iam.put_user_policy(UserName=u, PolicyName="self", PolicyDocument=json.dumps(own))
    key = iam.create_access_key(UserName=u)["AccessKey"]
    assert client_for(server, "iam", key).get_user()["User"]["UserName"] == u
    iam.delete_access_key(UserName=u, AccessKeyId=key["AccessKeyId"])
    iam.delete_user_policy(UserName=u, PolicyName="self")
    iam.delete_user(UserName=u)


def test_validation_errors(iam):
    msg = iam_error(iam.create_user, "ValidationError", 400, UserName="bad name")
    assert "userName" in msg and "[\\w+=,.@-]+" in msg, msg
    iam_error(iam.create_user, "ValidationError", 400, UserName="x" * 65)
    iam_error(iam.create_user, "ValidationError", 400, UserName=name(), Path="no-slashes")
    iam_error(iam.list_users, "ValidationError", 400, MaxItems=1001)


# ---------------------------------------------------------------- access keys

def test_access_key_works_until_deactivated_or_deleted(server, iam):
    u = name()
    iam.create_user(UserName=u)
    iam.put_user_policy(UserName=u, PolicyName="sm", PolicyDocument=json.dumps(ALLOW_SM))
    key = iam.create_access_key(UserName=u)["AccessKey"]
    assert key["AccessKeyId"].startswith("AKIA") and len(key["AccessKeyId"]) == 20
    assert len(key["SecretAccessKey"]) == 40
    assert key["Status"] == "Active" and key["UserName"] == u

    sm = client_for(server, "secretsmanager", key)
    sm.list_secrets()
    me = client_for(server, "sts", key).get_caller_identity()
    assert me["Arn"].endswith(f":user/{u}")

    listed = iam.list_access_keys(UserName=u)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in listed] == [key["AccessKeyId"]]
    assert "SecretAccessKey" not in listed[0]

    iam.update_access_key(UserName=u, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    with pytest.raises(ClientError) as info:
        sm.list_secrets()
    assert info.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert iam.list_access_keys(UserName=u)["AccessKeyMetadata"][0]["Status"] == "Inactive"

    iam.update_access_key(UserName=u, AccessKeyId=key["AccessKeyId"], Status="Active")
    sm.list_secrets()

    iam.delete_access_key(UserName=u, AccessKeyId=key["AccessKeyId"])
    with pytest.raises(ClientError) as info:
        sm.list_secrets()
    assert info.value.response["Error"]["Code"] == "UnrecognizedClientException"
    iam_error(iam.delete_access_key, "NoSuchEntity", 404,
              f"The Access Key with id {key['AccessKeyId']} cannot be found.",
              UserName=u, AccessKeyId=key["AccessKeyId"])

    iam.delete_user_policy(UserName=u, PolicyName="sm")
    iam.delete_user(UserName=u)
    # The secret was answered once and never logged.
    assert key["SecretAccessKey"] not in server.server_log()


def test_access_key_quota_and_delete_conflict(iam):
    u = name()
    iam.create_user(UserName=u)
    keys = [iam.create_access_key(UserName=u)["AccessKey"]["AccessKeyId"] for _ in range(2)]
    iam_error(iam.create_access_key, "LimitExceeded", 409,
              "Cannot exceed quota for AccessKeysPerUser: 2", UserName=u)
    iam_error(iam.delete_user, "DeleteConflict", 409,
              "Cannot delete entity, must delete access keys first.", UserName=u)
    other = name()
    iam.create_user(UserName=other)
    iam_error(iam.update_access_key, "NoSuchEntity", 404, UserName=other, AccessKeyId=keys[0], Status="Inactive")
    for k in keys:
        iam.delete_access_key(UserName=u, AccessKeyId=k)
    iam.delete_user(UserName=u)
    iam.delete_user(UserName=other)


def test_cli_users_and_keys(server):
    u = name("cli")
    out = server.aws("iam", "create-user", "--user-name", u, "--tags", "Key=team,Value=ml")
    assert out["User"]["UserName"] == u
    key = server.aws("iam", "create-access-key", "--user-name", u)["AccessKey"]
    assert key["SecretAccessKey"] and key["Status"] == "Active"
    listed = server.aws("iam", "list-access-keys", "--user-name", u)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in listed] == [key["AccessKeyId"]]
    assert u in [x["UserName"] for x in server.aws("iam", "list-users")["Users"]]
    server.aws("iam", "delete-access-key", "--user-name", u, "--access-key-id", key["AccessKeyId"])
    server.aws("iam", "delete-user", "--user-name", u)
    proc = server.aws("iam", "get-user", "--user-name", u, check=False)
    assert proc.returncode != 0 and "NoSuchEntity" in proc.stderr


# ---------------------------------------------------------------- inline policies

def test_user_inline_policies(iam):
    u = name()
    iam.create_user(UserName=u)
    doc = json.dumps(ALLOW_SM, indent=2)
    iam.put_user_policy(UserName=u, PolicyName="sm", PolicyDocument=doc)
    got = iam.get_user_policy(UserName=u, PolicyName="sm")
    # botocore URL-decodes and parses the document IAM returns URL-encoded.
    assert got["PolicyDocument"] == ALLOW_SM
    assert (got["UserName"], got["PolicyName"]) == (u, "sm")
    assert iam.list_user_policies(UserName=u)["PolicyNames"] == ["sm"]
    iam_error(iam.delete_user, "DeleteConflict", 409, "Cannot delete entity, must delete policies first.", UserName=u)
    iam_error(iam.get_user_policy, "NoSuchEntity", 404,
              "The user policy with name other cannot be found.", UserName=u, PolicyName="other")
    iam_error(iam.put_user_policy, "MalformedPolicyDocument", 400,
              UserName=u, PolicyName="bad", PolicyDocument='{"Version": "2012-10-17"')
    with_principal = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}
    msg = iam_error(iam.put_user_policy, "MalformedPolicyDocument", 400,
                    UserName=u, PolicyName="bad", PolicyDocument=json.dumps(with_principal))
    assert "principal" in msg.lower(), msg
    big = {"Version": "2012-10-17", "Statement": [
        {"Sid": "S" * 2100, "Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam_error(iam.put_user_policy, "LimitExceeded", 409,
              f"Maximum policy size of 2048 bytes exceeded for user {u}",
              UserName=u, PolicyName="big", PolicyDocument=json.dumps(big))
    iam.delete_user_policy(UserName=u, PolicyName="sm")
    iam_error(iam.delete_user_policy, "NoSuchEntity", 404, UserName=u, PolicyName="sm")
    iam.delete_user(UserName=u)


def test_cli_inline_policy_round_trip(server, tmp_path):
    u = name("cli")
    server.aws("iam", "create-user", "--user-name", u)
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(ALLOW_SM))
    server.aws("iam", "put-user-policy", "--user-name", u, "--policy-name", "sm",
               "--policy-document", f"file://{path}")
    got = server.aws("iam", "get-user-policy", "--user-name", u, "--policy-name", "sm")
    assert got["PolicyDocument"] == ALLOW_SM
    server.aws("iam", "delete-user-policy", "--user-name", u, "--policy-name", "sm")
    server.aws("iam", "delete-user", "--user-name", u)


# ---------------------------------------------------------------- managed policies

def test_managed_policy_versions_and_attachments(iam, account):
    p = name("pol")
    policy = iam.create_policy(PolicyName=p, Path="/app/", PolicyDocument=json.dumps(ALLOW_SM),
                               Description="read secrets")["Policy"]
    arn = policy["Arn"]
    assert arn == f"arn:aws:iam::{account}:policy/app/{p}"
    assert policy["PolicyId"].startswith("ANPA")
    assert policy["DefaultVersionId"] == "v1"
    assert policy["AttachmentCount"] == 0 and policy["IsAttachable"] is True
    iam_error(iam.create_policy, "EntityAlreadyExists", 409, PolicyName=p, PolicyDocument=json.dumps(ALLOW_SM))
    iam_error(iam.create_policy, "MalformedPolicyDocument", 400, PolicyName=name("pol"), PolicyDocument="[]")

    v1 = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert v1["Document"] == ALLOW_SM and v1["IsDefaultVersion"] is True

    for n in range(2, 6):
        v = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(ALLOW_ALL),
                                      SetAsDefault=(n == 2))["PolicyVersion"]
        assert v["VersionId"] == f"v{n}"
    iam_error(iam.create_policy_version, "LimitExceeded", 409, PolicyArn=arn, PolicyDocument=json.dumps(ALLOW_SM))
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert sorted(v["VersionId"] for v in versions) == ["v1", "v2", "v3", "v4", "v5"]
    assert [v["VersionId"] for v in versions if v["IsDefaultVersion"]] == ["v2"]
    iam_error(iam.delete_policy_version, "DeleteConflict", 409,
              "Cannot delete the default version of a policy.", PolicyArn=arn, VersionId="v2")
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    iam_error(iam.set_default_policy_version, "NoSuchEntity", 404, PolicyArn=arn, VersionId="v9")

    u, r = name(), name("role")
    iam.create_user(UserName=u)
    iam.create_role(RoleName=r, AssumeRolePolicyDocument=trust(f"arn:aws:iam::{account}:root"))
    iam.attach_user_policy(UserName=u, PolicyArn=arn)
    iam.attach_role_policy(RoleName=r, PolicyArn=arn)
    assert iam.list_attached_user_policies(UserName=u)["AttachedPolicies"] == [{"PolicyName": p, "PolicyArn": arn}]
    assert iam.list_attached_role_policies(RoleName=r)["AttachedPolicies"] == [{"PolicyName": p, "PolicyArn": arn}]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 2
    assert arn in [x["Arn"] for x in iam.list_policies(Scope="Local", OnlyAttached=True)["Policies"]]
    assert iam.list_policies(Scope="AWS")["Policies"] == []

    iam_error(iam.delete_policy, "DeleteConflict", 409, "Cannot delete a policy attached to entities.", PolicyArn=arn)
    iam_error(iam.delete_user, "DeleteConflict", 409, "Cannot delete entity, must detach all policies first.", UserName=u)
    iam_error(iam.delete_role, "DeleteConflict", 409, "Cannot delete entity, must detach all policies first.", RoleName=r)
    iam.detach_user_policy(UserName=u, PolicyArn=arn)
    iam.detach_role_policy(RoleName=r, PolicyArn=arn)
    iam_error(iam.detach_user_policy, "NoSuchEntity", 404, f"Policy {arn} was not found.", UserName=u, PolicyArn=arn)
    for v in ["v2", "v3", "v4", "v5"]:
        iam.delete_policy_version(PolicyArn=arn, VersionId=v)
    iam.delete_policy(PolicyArn=arn)
    iam_error(iam.get_policy, "NoSuchEntity", 404, f"Policy {arn} does not exist or is not attachable.", PolicyArn=arn)
    iam_error(iam.attach_user_policy, "NoSuchEntity", 404, UserName=u, PolicyArn=arn)
    iam_error(iam.get_policy, "NoSuchEntity", 404, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    iam.delete_user(UserName=u)
    iam.delete_role(RoleName=r)


def test_attached_policy_grants_to_its_user(server, iam):
    u = name()
    iam.create_user(UserName=u)
    arn = iam.create_policy(PolicyName=name("pol"), PolicyDocument=json.dumps(ALLOW_SM))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=u, PolicyArn=arn)
    key = iam.create_access_key(UserName=u)["AccessKey"]
    client_for(server, "secretsmanager", key).list_secrets()
    iam.delete_access_key(UserName=u, AccessKeyId=key["AccessKeyId"])
    iam.detach_user_policy(UserName=u, PolicyArn=arn)
    iam.delete_policy(PolicyArn=arn)
    iam.delete_user(UserName=u)


# ---------------------------------------------------------------- roles

def test_role_lifecycle(iam, account):
    r = name("role")
    doc = trust(f"arn:aws:iam::{account}:root")
    role = iam.create_role(RoleName=r, Path="/svc/", AssumeRolePolicyDocument=doc, Description="app role",
                           MaxSessionDuration=7200, Tags=[{"Key": "k", "Value": "v"}])["Role"]
    assert role["Arn"] == f"arn:aws:iam::{account}:role/svc/{r}"
    assert role["RoleId"].startswith("AROA")
    assert role["AssumeRolePolicyDocument"] == json.loads(doc)
    assert role["MaxSessionDuration"] == 7200
    got = iam.get_role(RoleName=r)["Role"]
    assert got["Description"] == "app role" and got["Tags"] == [{"Key": "k", "Value": "v"}]
    assert r in [x["RoleName"] for x in iam.list_roles(PathPrefix="/svc/")["Roles"]]

    iam_error(iam.create_role, "EntityAlreadyExists", 409, f"Role with name {r} already exists.",
              RoleName=r, AssumeRolePolicyDocument=doc)
    iam_error(iam.create_role, "MalformedPolicyDocument", 400, RoleName=name("role"),
              AssumeRolePolicyDocument=json.dumps(ALLOW_ALL))
    ghost = f"arn:aws:iam::{account}:user/{name('ghost')}"
    iam_error(iam.create_role, "MalformedPolicyDocument", 400, f'Invalid principal in policy: "AWS":"{ghost}"',
              RoleName=name("role"), AssumeRolePolicyDocument=trust(ghost))
    iam_error(iam.create_role, "ValidationError", 400, RoleName=name("role"),
              AssumeRolePolicyDocument=doc, MaxSessionDuration=50000)

    u = name()
    iam.create_user(UserName=u)
    new_doc = trust(f"arn:aws:iam::{account}:user/{u}")
    iam.update_assume_role_policy(RoleName=r, PolicyDocument=new_doc)
    assert iam.get_role(RoleName=r)["Role"]["AssumeRolePolicyDocument"] == json.loads(new_doc)

    iam.put_role_policy(RoleName=r, PolicyName="sm", PolicyDocument=json.dumps(ALLOW_SM))
    assert iam.get_role_policy(RoleName=r, PolicyName="sm")["PolicyDocument"] == ALLOW_SM
    assert iam.list_role_policies(RoleName=r)["PolicyNames"] == ["sm"]
    iam_error(iam.delete_role, "DeleteConflict", 409, "Cannot delete entity, must delete policies first.", RoleName=r)
    iam.delete_role_policy(RoleName=r, PolicyName="sm")
    iam_error(iam.get_role_policy, "NoSuchEntity", 404, "The role policy with name sm cannot be found.",
              RoleName=r, PolicyName="sm")
    iam.delete_role(RoleName=r)
    iam_error(iam.get_role, "NoSuchEntity", 404, f"The role with name {r} cannot be found.", RoleName=r)
    iam.delete_user(UserName=u)


def test_cli_roles(server, account, tmp_path):
    r = name("clirole")
    path = tmp_path / "trust.json"
    path.write_text(trust(f"arn:aws:iam::{account}:root"))
    out = server.aws("iam", "create-role", "--role-name", r, "--assume-role-policy-document", f"file://{path}")
    assert out["Role"]["RoleName"] == r
    got = server.aws("iam", "get-role", "--role-name", r)["Role"]
    assert got["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRole"
    server.aws("iam", "delete-role", "--role-name", r)
