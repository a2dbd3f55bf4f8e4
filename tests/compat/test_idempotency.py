"""ClientRequestToken idempotency: a retried write is a no-op, a reused token with another
value is refused."""

import time

from conftest import all_secrets, expect_error, token, uniq


def in_use(t, arn):
    """AWS's answer to a token already used for another value of the secret."""
    return f"You can't use ClientRequestToken {t} because that value is already in use for a version of secret {arn}."


def versions(sm, name):
    r = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)
    return {v["VersionId"]: sorted(v.get("VersionStages", [])) for v in r["Versions"]}


def test_put_same_token_same_value_is_a_noop(sm):
    name = uniq("idem")
    sm.create_secret(Name=name, SecretString="one")
    t = token()
    first = sm.put_secret_value(SecretId=name, SecretString="two", ClientRequestToken=t)
    assert first["VersionId"] == t
    before = versions(sm, name)
    changed = sm.describe_secret(SecretId=name)["LastChangedDate"]
    time.sleep(0.01)  # timestamps have millisecond resolution: a change would show
    again = sm.put_secret_value(SecretId=name, SecretString="two", ClientRequestToken=t)
    assert again["VersionId"] == t
    assert again["VersionStages"] == ["AWSCURRENT"]
    assert versions(sm, name) == before
    assert len(before) == 2
    assert sm.describe_secret(SecretId=name)["LastChangedDate"] == changed


def test_put_same_token_other_value_is_refused(sm):
    name = uniq("idem")
    arn = sm.create_secret(Name=name, SecretString="one")["ARN"]
    t = token()
    sm.put_secret_value(SecretId=name, SecretString="two", ClientRequestToken=t)
    before = versions(sm, name)
    expect_error(sm.put_secret_value, "ResourceExistsException", in_use(t, arn),
                 SecretId=name, SecretString="three", ClientRequestToken=t)
    # The same bytes as binary are another value too.
    expect_error(sm.put_secret_value, "ResourceExistsException", in_use(t, arn),
                 SecretId=name, SecretBinary=b"two", ClientRequestToken=t)
    assert versions(sm, name) == before
    assert sm.get_secret_value(SecretId=name, VersionId=t)["SecretString"] == "two"


def test_retry_after_current_moved_on_does_not_move_it_back(sm):
    name = uniq("idem")
    sm.create_secret(Name=name, SecretString="one")
    t = token()
    sm.put_secret_value(SecretId=name, SecretString="two", ClientRequestToken=t)
    v3 = sm.put_secret_value(SecretId=name, SecretString="three")["VersionId"]
    retry = sm.put_secret_value(SecretId=name, SecretString="two", ClientRequestToken=t)
    assert retry["VersionId"] == t
    assert retry["VersionStages"] == ["AWSPREVIOUS"]
    assert sm.get_secret_value(SecretId=name)["VersionId"] == v3
    assert len(versions(sm, name)) == 3


def test_update_secret_token_reuse_with_another_value_is_refused(sm):
    # (Same token and same value on UpdateSecret is not asserted: the API reference says "If you
    # call this operation with a ClientRequestToken that matches an existing version's
    # VersionId, the operation results in an error", while the token's own documentation
    # describes it as the idempotency key. Tresor treats it as an idempotent retry.)
    name = uniq("idem")
    arn = sm.create_secret(Name=name, SecretString="one")["ARN"]
    t = token()
    assert sm.update_secret(SecretId=name, SecretString="two", ClientRequestToken=t)["VersionId"] == t
    before = versions(sm, name)
    expect_error(sm.update_secret, "ResourceExistsException", in_use(t, arn),
                 SecretId=name, SecretString="other", ClientRequestToken=t)
    assert versions(sm, name) == before
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "two"


def test_create_secret_retried_with_the_same_token(sm):
    name = uniq("idem")
    t = token()
    first = sm.create_secret(Name=name, SecretString="v", ClientRequestToken=t, Description="d")
    again = sm.create_secret(Name=name, SecretString="v", ClientRequestToken=t, Description="d")
    assert again["ARN"] == first["ARN"]
    assert again["VersionId"] == first["VersionId"] == t
    assert versions(sm, name) == {t: ["AWSCURRENT"]}
    assert list(all_secrets(sm)).count(name) == 1


def test_create_secret_same_token_other_value_is_refused(sm):
    name = uniq("idem")
    t = token()
    arn = sm.create_secret(Name=name, SecretString="v", ClientRequestToken=t)["ARN"]
    expect_error(sm.create_secret, "ResourceExistsException", in_use(t, arn),
                 Name=name, SecretString="w", ClientRequestToken=t)
    # A new token for an existing name is refused as well.
    expect_error(sm.create_secret, "ResourceExistsException",
                 f"The operation failed because the secret {name} already exists.",
                 Name=name, SecretString="v")
    assert versions(sm, name) == {t: ["AWSCURRENT"]}
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v"


def test_tokens_are_per_secret(sm):
    t = token()
    a, b = uniq("idem"), uniq("idem")
    assert sm.create_secret(Name=a, SecretString="a", ClientRequestToken=t)["VersionId"] == t
    assert sm.create_secret(Name=b, SecretString="b", ClientRequestToken=t)["VersionId"] == t
    assert sm.get_secret_value(SecretId=a, VersionId=t)["SecretString"] == "a"
    assert sm.get_secret_value(SecretId=b, VersionId=t)["SecretString"] == "b"
