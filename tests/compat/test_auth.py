"""SigV4 authentication as seen by real clients, and per-region isolation. botocore's own
signer is the independent oracle for the hand-built requests."""

import datetime

import boto3

from conftest import (JSON_CT, ROOT_KEY_ID, ROOT_SECRET, all_secrets, expect_error, raw_call,
                      send_raw, signed_headers, uniq)

UNRECOGNIZED = "The security token included in the request is invalid."


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def test_valid_signature_works(server):
    r = raw_call(server, "ListSecrets", {"MaxResults": 1})
    assert r.status == 200, r.raw
    assert "SecretList" in r.json


def test_wrong_secret_key(server, sm):
    bad = server.client(secret=ROOT_SECRET + "x")
    name = uniq("auth")
    msg = expect_error(bad.create_secret, "InvalidSignatureException", Name=name, SecretString="v")
    assert msg.startswith("The request signature we calculated does not match the signature you provided."), msg
    assert ROOT_SECRET not in msg
    expect_error(bad.list_secrets, "InvalidSignatureException")
    assert name not in all_secrets(sm)


def test_unknown_access_key(server, sm):
    bad = server.client(key_id="AKIAUNKNOWNKEY000000", secret=ROOT_SECRET)
    name = uniq("auth")
    expect_error(bad.create_secret, "UnrecognizedClientException", UNRECOGNIZED, Name=name, SecretString="v")
    assert name not in all_secrets(sm)


def test_session_token_is_not_accepted_yet(server):
    c = boto3.client("secretsmanager", endpoint_url=server.endpoint, region_name="us-east-1",
                     aws_access_key_id=ROOT_KEY_ID, aws_secret_access_key=ROOT_SECRET,
                     aws_session_token="FwoGZXIvYXdzEBogus")
    expect_error(c.list_secrets, "UnrecognizedClientException", UNRECOGNIZED)


def test_unsigned_request(server, sm):
    name = uniq("auth")
    r = raw_call(server, "CreateSecret", {"Name": name, "SecretString": "v",
                                          "ClientRequestToken": "0" * 36}, sign=False)
    r.assert_error("MissingAuthenticationTokenException")
    assert name not in all_secrets(sm)
    # Unsigned and without a target: still an authentication failure first.
    raw_call(server, "ListSecrets", {}, sign=False, target=False).assert_error(
        "MissingAuthenticationTokenException")


def test_signed_for_another_service(server):
    r = raw_call(server, "ListSecrets", {}, service="kms")
    r.assert_error("InvalidSignatureException")
    assert "secretsmanager" in r.json["Message"]


def test_invalid_region_in_scope(server):
    for region in ("not a region", "EU", "us_east_1"):
        raw_call(server, "ListSecrets", {}, region=region).assert_error("InvalidSignatureException")


def test_skewed_clock(server):
    past = utcnow() - datetime.timedelta(minutes=10)
    r = raw_call(server, "ListSecrets", {}, now=past)
    r.assert_error("InvalidSignatureException")
    assert r.json["Message"].startswith("Signature expired"), r.json["Message"]
    future = utcnow() + datetime.timedelta(minutes=10)
    r = raw_call(server, "ListSecrets", {}, now=future)
    r.assert_error("InvalidSignatureException")
    assert r.json["Message"].startswith("Signature not yet current"), r.json["Message"]
    # Within the 5 minute window both ways, it is fine.
    assert raw_call(server, "ListSecrets", {}, now=utcnow() - datetime.timedelta(minutes=3)).status == 200
    assert raw_call(server, "ListSecrets", {}, now=utcnow() + datetime.timedelta(minutes=3)).status == 200


def test_unsigned_amz_header_added_after_signing(server):
    r = raw_call(server, "ListSecrets", {}, extra_after_signing={"X-Amz-Meta-Extra": "sneaky"})
    r.assert_error("InvalidSignatureException")
    assert "x-amz-meta-extra" in r.json["Message"]
    # A non-x-amz header that isn't signed is harmless.
    assert raw_call(server, "ListSecrets", {}, extra_after_signing={"X-Trace": "1"}).status == 200


def test_target_added_after_signing(server):
    body = b"{}"
    headers = signed_headers(server.endpoint, body, {"Content-Type": JSON_CT})
    headers["X-Amz-Target"] = "secretsmanager.ListSecrets"
    r = send_raw(server.endpoint, body, headers)
    r.assert_error("InvalidSignatureException")


def test_responses_carry_a_request_id(server):
    r = raw_call(server, "ListSecrets", {})
    assert r.status == 200 and len(r.headers.get("x-amzn-requestid", "")) >= 32
    r = raw_call(server, "ListSecrets", {}, sign=False)
    assert r.status == 400 and len(r.headers.get("x-amzn-requestid", "")) >= 32


def test_body_changed_after_signing(server, sm):
    name = uniq("auth")
    body = ('{"Name": "%s", "SecretString": "v", "ClientRequestToken": "%s"}' % (name, "1" * 36)).encode()
    headers = signed_headers(server.endpoint, body, {"Content-Type": JSON_CT,
                                                     "X-Amz-Target": "secretsmanager.CreateSecret"})
    tampered = body.replace(b'"v"', b'"w"')
    send_raw(server.endpoint, tampered, headers).assert_error("InvalidSignatureException")
    # The target is signed too: switching the operation breaks the signature.
    headers["X-Amz-Target"] = "secretsmanager.DeleteSecret"
    send_raw(server.endpoint, body, headers).assert_error("InvalidSignatureException")
    assert name not in all_secrets(sm)


def test_garbled_authorization_header(server):
    body = b"{}"
    headers = signed_headers(server.endpoint, body, {"Content-Type": JSON_CT,
                                                     "X-Amz-Target": "secretsmanager.ListSecrets"})
    headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=nonsense"
    r = send_raw(server.endpoint, body, headers)
    assert r.status in (400, 403)
    assert r.error_type in ("IncompleteSignatureException", "InvalidSignatureException"), r.json


def test_regions_are_isolated(server):
    east = server.client(region="us-east-1")
    west = server.client(region="eu-west-1")
    name = uniq("region")
    e = east.create_secret(Name=name, SecretString="east-value")
    assert ":us-east-1:" in e["ARN"]
    expect_error(west.get_secret_value, "ResourceNotFoundException", SecretId=name)
    expect_error(west.get_secret_value, "ResourceNotFoundException", SecretId=e["ARN"])
    assert name not in all_secrets(west)
    # The same name in another region is another secret, with that region in its ARN.
    w = west.create_secret(Name=name, SecretString="west-value")
    assert ":eu-west-1:" in w["ARN"]
    assert w["ARN"].split(":")[4] == e["ARN"].split(":")[4]
    assert east.get_secret_value(SecretId=name)["SecretString"] == "east-value"
    assert west.get_secret_value(SecretId=name)["SecretString"] == "west-value"
    west.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    assert east.get_secret_value(SecretId=name)["SecretString"] == "east-value"
