"""Response shapes on the wire: AWS leaves a member out when there is nothing to show (no
description, no tags, no labelled version, a version without labels) rather than answer "",
[] or {}. boto3 hides the difference (it fills in nothing, but callers use .get), so these
tests read the raw JSON of requests signed by botocore's own signer."""

from conftest import raw_call, token, uniq


def call(server, operation, payload):
    r = raw_call(server, operation, payload)
    assert r.status == 200, r.raw
    return r.json


def test_describe_secret_without_tags_description_or_versions(server, sm):
    name = uniq("shape")
    sm.create_secret(Name=name, Description="")
    d = call(server, "DescribeSecret", {"SecretId": name})
    for member in ("Tags", "Description", "VersionIdsToStages"):
        assert member not in d, (member, d)
    # The same secret in a ListSecrets entry.
    listed = call(server, "ListSecrets", {"Filters": [{"Key": "name", "Values": [name]}]})
    (entry,) = listed["SecretList"]
    for member in ("Tags", "Description", "SecretVersionsToStages"):
        assert member not in entry, (member, entry)


def test_tags_removed_and_description_emptied(server, sm):
    name = uniq("shape")
    sm.create_secret(Name=name, SecretString="v", Description="d", Tags=[{"Key": "k", "Value": "v"}])
    d = call(server, "DescribeSecret", {"SecretId": name})
    assert d["Tags"] == [{"Key": "k", "Value": "v"}] and d["Description"] == "d"
    sm.untag_resource(SecretId=name, TagKeys=["k"])
    sm.update_secret(SecretId=name, Description="")
    d = call(server, "DescribeSecret", {"SecretId": name})
    assert "Tags" not in d and "Description" not in d, d
    assert list(d["VersionIdsToStages"].values()) == [["AWSCURRENT"]]


def test_unlabelled_versions_have_no_version_stages(server, sm):
    name = uniq("shape")
    v1 = sm.create_secret(Name=name, SecretString="one")["VersionId"]
    v2 = sm.put_secret_value(SecretId=name, SecretString="two")["VersionId"]
    v3 = sm.put_secret_value(SecretId=name, SecretString="three", ClientRequestToken=token())["VersionId"]
    listed = call(server, "ListSecretVersionIds", {"SecretId": name, "IncludeDeprecated": True})
    by_id = {v["VersionId"]: v for v in listed["Versions"]}
    assert set(by_id) == {v1, v2, v3}
    assert "VersionStages" not in by_id[v1], by_id[v1]
    assert by_id[v2]["VersionStages"] == ["AWSPREVIOUS"]
    assert by_id[v3]["VersionStages"] == ["AWSCURRENT"]
    got = call(server, "GetSecretValue", {"SecretId": name, "VersionId": v1})
    assert got["SecretString"] == "one" and "VersionStages" not in got, got


def test_batch_get_entries_keep_their_labels(server, sm):
    name = uniq("shape")
    sm.create_secret(Name=name, SecretString="v")
    r = call(server, "BatchGetSecretValue", {"SecretIdList": [name]})
    (entry,) = r["SecretValues"]
    assert entry["VersionStages"] == ["AWSCURRENT"]
    assert r["Errors"] == []
