"""Every KMS operation is its own permission: a caller whose IAM policy allows `kms:*` but
denies the operation's action is refused (AccessDeniedException), and a caller allowed only that
action (through a key policy that delegates to IAM, the default one) is served. ReEncrypt is
authorized by `kms:ReEncryptFrom` and `kms:ReEncryptTo`, as in AWS."""

import base64
import json

import pytest
from botocore.exceptions import ClientError

from conftest import uniq


def user_client(server, statements):
    iam = server.client("iam")
    name = uniq("kmsperm").replace("/", "-")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": statements}))
    access = iam.create_access_key(UserName=name)["AccessKey"]
    return server.client("kms", key_id=access["AccessKeyId"], secret=access["SecretAccessKey"])


def alias_name():
    return "alias/" + uniq("perm").replace("/", "-")


# operation -> (the actions it needs, how to build its parameters from the root's client)
def setup_key(kms):
    return kms.create_key(Description="perm")["KeyMetadata"]["KeyId"]


def blob(kms, key):
    return kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]


def pending(kms):
    key = setup_key(kms)
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    return key


def aliased(kms):
    key = setup_key(kms)
    name = alias_name()
    kms.create_alias(AliasName=name, TargetKeyId=key)
    return key, name


def root_policy(kms, key):
    return kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"]


OPERATIONS = {
    "CreateKey": (["kms:CreateKey"], lambda k: {"Description": "perm"}),
    "DescribeKey": (["kms:DescribeKey"], lambda k: {"KeyId": setup_key(k)}),
    "ListKeys": (["kms:ListKeys"], lambda k: {}),
    "UpdateKeyDescription": (["kms:UpdateKeyDescription"],
                             lambda k: {"KeyId": setup_key(k), "Description": "new"}),
    "EnableKey": (["kms:EnableKey"], lambda k: {"KeyId": setup_key(k)}),
    "DisableKey": (["kms:DisableKey"], lambda k: {"KeyId": setup_key(k)}),
    "ScheduleKeyDeletion": (["kms:ScheduleKeyDeletion"],
                            lambda k: {"KeyId": setup_key(k), "PendingWindowInDays": 7}),
    "CancelKeyDeletion": (["kms:CancelKeyDeletion"], lambda k: {"KeyId": pending(k)}),
    "CreateAlias": (["kms:CreateAlias"],
                    lambda k: {"AliasName": alias_name(), "TargetKeyId": setup_key(k)}),
    "UpdateAlias": (["kms:UpdateAlias"],
                    lambda k: {"AliasName": aliased(k)[1], "TargetKeyId": setup_key(k)}),
    "DeleteAlias": (["kms:DeleteAlias"], lambda k: {"AliasName": aliased(k)[1]}),
    "ListAliases": (["kms:ListAliases"], lambda k: {}),
    "EnableKeyRotation": (["kms:EnableKeyRotation"], lambda k: {"KeyId": setup_key(k)}),
    "DisableKeyRotation": (["kms:DisableKeyRotation"], lambda k: {"KeyId": setup_key(k)}),
    "GetKeyRotationStatus": (["kms:GetKeyRotationStatus"], lambda k: {"KeyId": setup_key(k)}),
    "RotateKeyOnDemand": (["kms:RotateKeyOnDemand"], lambda k: {"KeyId": setup_key(k)}),
    "ListKeyRotations": (["kms:ListKeyRotations"], lambda k: {"KeyId": setup_key(k)}),
    "GetKeyPolicy": (["kms:GetKeyPolicy"],
                     lambda k: {"KeyId": setup_key(k), "PolicyName": "default"}),
    "PutKeyPolicy": (["kms:PutKeyPolicy"],
                     lambda k: (lambda key: {"KeyId": key, "PolicyName": "default",
                                             "Policy": root_policy(k, key)})(setup_key(k))),
    "ListKeyPolicies": (["kms:ListKeyPolicies"], lambda k: {"KeyId": setup_key(k)}),
    "TagResource": (["kms:TagResource"],
                    lambda k: {"KeyId": setup_key(k),
                               "Tags": [{"TagKey": "team", "TagValue": "ai"}]}),
    "UntagResource": (["kms:UntagResource"],
                      lambda k: {"KeyId": setup_key(k), "TagKeys": ["team"]}),
    "ListResourceTags": (["kms:ListResourceTags"], lambda k: {"KeyId": setup_key(k)}),
    "Encrypt": (["kms:Encrypt"], lambda k: {"KeyId": setup_key(k), "Plaintext": b"hello"}),
    "Decrypt": (["kms:Decrypt"], lambda k: {"CiphertextBlob": blob(k, setup_key(k))}),
    "ReEncrypt": (["kms:ReEncryptFrom", "kms:ReEncryptTo"],
                  lambda k: {"CiphertextBlob": blob(k, setup_key(k)),
                             "DestinationKeyId": setup_key(k)}),
    "GenerateDataKey": (["kms:GenerateDataKey"],
                        lambda k: {"KeyId": setup_key(k), "KeySpec": "AES_256"}),
    "GenerateDataKeyWithoutPlaintext": (["kms:GenerateDataKeyWithoutPlaintext"],
                                        lambda k: {"KeyId": setup_key(k), "KeySpec": "AES_256"}),
    "GenerateRandom": (["kms:GenerateRandom"], lambda k: {"NumberOfBytes": 16}),
}


def snake(name):
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def test_the_table_covers_every_operation_of_the_model(server):
    model = server.client("kms").meta.service_model
    served = set(OPERATIONS)
    assert served <= set(model.operation_names)
    assert len(served) == 29


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_each_operation_needs_its_own_action(server, operation):
    root = server.client("kms")
    actions, params = OPERATIONS[operation]
    denied = user_client(server, [
        {"Effect": "Allow", "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Action": actions[0], "Resource": "*"},
    ])
    with pytest.raises(ClientError) as err:
        getattr(denied, snake(operation))(**params(root))
    assert err.value.response["Error"]["Code"] == "AccessDeniedException", err.value.response
    assert actions[0] in err.value.response["Error"]["Message"]

    allowed = user_client(server, [{"Effect": "Allow", "Action": actions, "Resource": "*"}])
    answer = getattr(allowed, snake(operation))(**params(root))
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
