"""ListSecrets: filters, negation, planned deletion, paging, sorting and their errors."""

import time
import uuid

import pytest

from conftest import expect_error

FILTER_KEYS = "[description, name, tag-key, tag-value, primary-region, owning-service, all]"


def list_names(sm, **kw):
    """Names from every page of ListSecrets(**kw), in order."""
    out = []
    while True:
        r = sm.list_secrets(**kw)
        out.extend(s["Name"] for s in r["SecretList"])
        if not r.get("NextToken"):
            return out
        kw["NextToken"] = r["NextToken"]


@pytest.fixture(scope="module")
def fleet(sm):
    """Five secrets under one fresh prefix with varied descriptions and tags."""
    p = f"lst{uuid.uuid4().hex[:8]}"
    specs = {
        f"{p}/openai/prod": ("OpenAI production key", [("team", "ml"), ("env", "prod")]),
        f"{p}/openai/dev": ("openai development key", [("team", "ml"), ("env", "dev")]),
        f"{p}/anthropic/prod": ("Anthropic production", [("team", "research"), ("env", "prod")]),
        f"{p}/mistral/prod": (None, [("Owner", "Payments")]),
        f"{p}/gone": ("scheduled for deletion", [("team", "ml")]),
    }
    for name, (desc, tags) in specs.items():
        kw = {"Name": name, "SecretString": "v", "Tags": [{"Key": k, "Value": v} for k, v in tags]}
        if desc:
            kw["Description"] = desc
        sm.create_secret(**kw)
    sm.delete_secret(SecretId=f"{p}/gone", RecoveryWindowInDays=7)
    return p


def names_with(sm, prefix, *filters, **kw):
    flt = [{"Key": "name", "Values": [prefix + "/"]}, *filters]
    return sorted(n[len(prefix) + 1:] for n in list_names(sm, Filters=flt, **kw))


def test_name_filter_is_a_case_sensitive_prefix(sm, fleet):
    assert names_with(sm, fleet) == ["anthropic/prod", "mistral/prod", "openai/dev", "openai/prod"]
    assert names_with(sm, fleet, {"Key": "name", "Values": [f"{fleet}/openai"]}) == ["openai/dev", "openai/prod"]
    assert names_with(sm, fleet, {"Key": "name", "Values": [f"{fleet}/OpenAI"]}) == []
    # Prefix, not substring.
    assert names_with(sm, fleet, {"Key": "name", "Values": ["prod"]}) == []
    # Several values: any of them.
    assert names_with(sm, fleet, {"Key": "name", "Values": [f"{fleet}/openai/d", f"{fleet}/mistral"]}) == [
        "mistral/prod", "openai/dev"]


def test_description_filter_ignores_case(sm, fleet):
    assert names_with(sm, fleet, {"Key": "description", "Values": ["openai"]}) == ["openai/dev", "openai/prod"]
    assert names_with(sm, fleet, {"Key": "description", "Values": ["ANTHROPIC"]}) == ["anthropic/prod"]
    assert names_with(sm, fleet, {"Key": "description", "Values": ["zzz"]}) == []


def test_tag_filters_are_case_sensitive(sm, fleet):
    assert names_with(sm, fleet, {"Key": "tag-key", "Values": ["team"]}) == ["anthropic/prod", "openai/dev", "openai/prod"]
    assert names_with(sm, fleet, {"Key": "tag-key", "Values": ["owner"]}) == []
    assert names_with(sm, fleet, {"Key": "tag-key", "Values": ["Own"]}) == ["mistral/prod"]
    assert names_with(sm, fleet, {"Key": "tag-value", "Values": ["prod"]}) == ["anthropic/prod", "openai/prod"]
    assert names_with(sm, fleet, {"Key": "tag-value", "Values": ["Pay"]}) == ["mistral/prod"]
    assert names_with(sm, fleet, {"Key": "tag-value", "Values": ["pay"]}) == []


def test_all_filter_searches_every_attribute_ignoring_case(sm, fleet):
    assert names_with(sm, fleet, {"Key": "all", "Values": ["payments"]}) == ["mistral/prod"]
    assert names_with(sm, fleet, {"Key": "all", "Values": ["research"]}) == ["anthropic/prod"]
    assert names_with(sm, fleet, {"Key": "all", "Values": ["DEVELOPMENT"]}) == ["openai/dev"]
    assert names_with(sm, fleet, {"Key": "all", "Values": ["nothing-like-this"]}) == []


def test_filters_combine_with_and(sm, fleet):
    assert names_with(sm, fleet, {"Key": "tag-value", "Values": ["prod"]},
                      {"Key": "tag-value", "Values": ["ml"]}) == ["openai/prod"]


def test_negation(sm, fleet):
    assert names_with(sm, fleet, {"Key": "name", "Values": [f"!{fleet}/openai"]}) == ["anthropic/prod", "mistral/prod"]
    assert names_with(sm, fleet, {"Key": "tag-key", "Values": ["!team"]}) == ["mistral/prod"]
    assert names_with(sm, fleet, {"Key": "description", "Values": ["!openai"]}) == ["anthropic/prod", "mistral/prod"]


@pytest.fixture(scope="module")
def wordy(sm):
    """Secrets whose names and descriptions exercise AWS's word matching."""
    p = f"wrd{uuid.uuid4().hex[:8]}"
    for name, desc, tags in [
        ("AppBeta/x", None, []),
        ("SecretTwo", None, []),
        ("Thirdsecret", None, []),
        ("plain", "one and two", []),
        ("other", "One", [("Team", "Core")]),
    ]:
        kw = {"Name": f"{p}/{name}", "SecretString": "v",
              "Tags": [{"Key": k, "Value": v} for k, v in tags]}
        if desc:
            kw["Description"] = desc
        sm.create_secret(**kw)
    return p


def test_word_matching(sm, wordy):
    """`all` breaks names at punctuation and case changes; `description` and `all` want every
    word of the value to start a word; `name` stays a case-sensitive prefix."""
    def find(key, *values):
        return names_with(sm, wordy, {"Key": key, "Values": list(values)})
    assert find("all", "Beta") == ["AppBeta/x"]
    assert find("all", "app BETA") == ["AppBeta/x"]
    assert find("all", "t") == ["SecretTwo", "Thirdsecret", "other", "plain"]
    assert find("all", "ret") == []
    assert find("all", "+") == []
    assert find("description", "two one") == ["plain"]
    assert find("description", "one") == ["other", "plain"]
    assert find("description", "one", "!and") == ["other"]
    assert find("name", f"{wordy}/App") == ["AppBeta/x"]
    assert find("name", "Beta") == []
    assert find("name", f"{wordy}/S {wordy}/Se") == ["SecretTwo"]


def test_include_planned_deletion(sm, fleet):
    assert "gone" not in names_with(sm, fleet)
    assert names_with(sm, fleet, IncludePlannedDeletion=True) == [
        "anthropic/prod", "gone", "mistral/prod", "openai/dev", "openai/prod"]
    entry = [s for s in sm.list_secrets(IncludePlannedDeletion=True,
                                        Filters=[{"Key": "name", "Values": [f"{fleet}/gone"]}])["SecretList"]]
    assert len(entry) == 1 and "DeletedDate" in entry[0]


def test_list_entry_shape(sm, fleet):
    r = sm.list_secrets(Filters=[{"Key": "name", "Values": [f"{fleet}/openai/prod"]}])
    (s,) = r["SecretList"]
    assert s["Name"] == f"{fleet}/openai/prod"
    assert s["Description"] == "OpenAI production key"
    assert {t["Key"]: t["Value"] for t in s["Tags"]} == {"team": "ml", "env": "prod"}
    assert list(s["SecretVersionsToStages"].values()) == [["AWSCURRENT"]]
    assert "VersionIdsToStages" not in s
    assert "CreatedDate" in s and "LastChangedDate" in s
    assert "SecretString" not in s and "NextToken" not in r


@pytest.fixture(scope="module")
def many(sm):
    """25 secrets created one after another under one prefix."""
    p = f"page{uuid.uuid4().hex[:8]}"
    names = []
    for i in range(25):
        # Names deliberately not in creation order.
        name = f"{p}/{(i * 7) % 25:02d}"
        sm.create_secret(Name=name, SecretString=f"value {i}")
        names.append(name)
        time.sleep(0.003)  # distinct CreatedDate values
    return p, names


def test_paging_over_25_secrets(sm, many):
    p, names = many
    flt = [{"Key": "name", "Values": [p + "/"]}]
    seen, pages = [], []
    kw = {"Filters": flt, "MaxResults": 10}
    while True:
        r = sm.list_secrets(**kw)
        pages.append(len(r["SecretList"]))
        seen.extend(s["Name"] for s in r["SecretList"])
        if "NextToken" not in r:
            break
        kw["NextToken"] = r["NextToken"]
    assert pages == [10, 10, 5]
    assert len(seen) == len(set(seen)) == 25
    assert seen == names  # default order: CreatedDate, oldest first


def test_sort_order_and_sort_by(sm, many):
    p, names = many
    flt = [{"Key": "name", "Values": [p + "/"]}]
    assert list_names(sm, Filters=flt, SortOrder="asc", MaxResults=7) == names
    assert list_names(sm, Filters=flt, SortOrder="desc", MaxResults=7) == names[::-1]
    assert list_names(sm, Filters=flt, SortBy="name", SortOrder="asc") == sorted(names)
    assert list_names(sm, Filters=flt, SortBy="name", SortOrder="desc") == sorted(names, reverse=True)


def test_invalid_next_token(sm, many):
    p, _ = many
    expect_error(sm.list_secrets, "InvalidNextTokenException", NextToken="not-a-real-token")
    first = sm.list_secrets(Filters=[{"Key": "name", "Values": [p + "/"]}], MaxResults=5)
    # A token from one listing does not continue another.
    expect_error(sm.list_secrets, "InvalidNextTokenException",
                 Filters=[{"Key": "name", "Values": ["x"]}], MaxResults=5, NextToken=first["NextToken"])


def test_bad_filter_key(raw):
    expect_error(raw.list_secrets, "ValidationException",
                 "1 validation error detected: Value 'owner' at 'filters.1.member.key' failed to satisfy "
                 f"constraint: Member must satisfy enum value set: {FILTER_KEYS}",
                 Filters=[{"Key": "owner", "Values": ["x"]}])


def test_bad_filter_values(raw):
    expect_error(raw.list_secrets, "ValidationException", Filters=[{"Key": "name", "Values": ["a*b"]}])
    expect_error(raw.list_secrets, "ValidationException", Filters=[{"Key": "name", "Values": []}])
    expect_error(raw.list_secrets, "ValidationException",
                 Filters=[{"Key": "name", "Values": [f"v{i}" for i in range(11)]}])
    expect_error(raw.list_secrets, "ValidationException",
                 Filters=[{"Key": "name", "Values": ["x"]}] * 11)
    expect_error(raw.list_secrets, "ValidationException", SortOrder="sideways")


def test_max_results_bounds(raw):
    expect_error(raw.list_secrets, "ValidationException",
                 "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: "
                 "Member must have value greater than or equal to 1", MaxResults=0)
    expect_error(raw.list_secrets, "ValidationException",
                 "1 validation error detected: Value '101' at 'maxResults' failed to satisfy constraint: "
                 "Member must have value less than or equal to 100", MaxResults=101)
    assert len(raw.list_secrets(MaxResults=100)["SecretList"]) <= 100
