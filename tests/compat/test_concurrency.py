"""Concurrent writers: label moves and version creation stay atomic."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import ClientError

from conftest import uniq

WRITERS = 32


def all_versions(sm, name):
    out, kw = [], {"SecretId": name, "IncludeDeprecated": True, "MaxResults": 10}
    while True:
        r = sm.list_secret_version_ids(**kw)
        out.extend(r["Versions"])
        if not r.get("NextToken"):
            return out
        kw["NextToken"] = r["NextToken"]


def test_parallel_put_secret_value(server, sm):
    name = uniq("conc")
    first = sm.create_secret(Name=name, SecretString="initial")["VersionId"]
    # boto3 client creation is not thread-safe: build one client per writer up front.
    clients = [server.client() for _ in range(WRITERS)]
    barrier = threading.Barrier(WRITERS)

    def put(i):
        barrier.wait()
        r = clients[i].put_secret_value(SecretId=name, SecretString=f"value-{i:02d}")
        return i, r["VersionId"]

    with ThreadPoolExecutor(WRITERS) as pool:
        results = list(pool.map(put, range(WRITERS)))

    ids = {vid: f"value-{i:02d}" for i, vid in results}
    assert len(ids) == WRITERS
    versions = all_versions(sm, name)
    listed = [v["VersionId"] for v in versions]
    assert len(listed) == len(set(listed)) == WRITERS + 1
    assert set(listed) == set(ids) | {first}

    holders = {}
    for v in versions:
        for label in v.get("VersionStages", []):
            holders.setdefault(label, []).append(v["VersionId"])
    assert set(holders) == {"AWSCURRENT", "AWSPREVIOUS"}
    assert len(holders["AWSCURRENT"]) == 1 and len(holders["AWSPREVIOUS"]) == 1
    current, previous = holders["AWSCURRENT"][0], holders["AWSPREVIOUS"][0]
    assert current in ids and current != previous
    # DescribeSecret agrees with the version list.
    assert sm.describe_secret(SecretId=name)["VersionIdsToStages"] == {
        current: ["AWSCURRENT"], previous: ["AWSPREVIOUS"]}

    for vid, value in ids.items():
        assert sm.get_secret_value(SecretId=name, VersionId=vid)["SecretString"] == value
    assert sm.get_secret_value(SecretId=name, VersionId=first)["SecretString"] == "initial"
    assert sm.get_secret_value(SecretId=name)["SecretString"] == ids[current]


def test_parallel_create_of_one_name(server, sm):
    name = uniq("conc")
    n = 16
    clients = [server.client() for _ in range(n)]
    barrier = threading.Barrier(n)

    def create(i):
        barrier.wait()
        try:
            return clients[i].create_secret(Name=name, SecretString=f"v{i}")["ARN"]
        except ClientError as e:
            return e.response["Error"]["Code"]

    with ThreadPoolExecutor(n) as pool:
        outcomes = list(pool.map(create, range(n)))
    arns = [o for o in outcomes if o.startswith("arn:")]
    assert len(arns) == 1, outcomes
    assert sorted(set(outcomes) - set(arns)) == ["ResourceExistsException"]
    assert len(sm.list_secret_version_ids(SecretId=name)["Versions"]) == 1


def test_parallel_idempotent_retries(server, sm):
    """The same token and value sent by many clients at once makes one version."""
    name = uniq("conc")
    sm.create_secret(Name=name, SecretString="initial")
    tok = str(uuid.uuid4())
    n = 16
    clients = [server.client() for _ in range(n)]
    barrier = threading.Barrier(n)

    def put(i):
        barrier.wait()
        return clients[i].put_secret_value(SecretId=name, SecretString="same", ClientRequestToken=tok)["VersionId"]

    with ThreadPoolExecutor(n) as pool:
        assert set(pool.map(put, range(n))) == {tok}
    assert len(all_versions(sm, name)) == 2
    assert sm.get_secret_value(SecretId=name)["VersionId"] == tok
