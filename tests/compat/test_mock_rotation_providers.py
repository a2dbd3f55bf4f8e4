"""The rotation mock providers on their own (no Tresor): each provider's documented key calls,
key checks that refuse deleted and inactive keys, the failing-check switch, and records that
keep no credential, so the built-in rotators' end-to-end tests can trust what it says."""

import json
import threading
import urllib.error
import urllib.request

import pytest

from mock_rotation_providers import MockRotationProviders

OPENAI_ADMIN = "sk-admin-test-openai"
OPENROUTER_ADMIN = "sk-or-v1-mgmt-test"
ANTHROPIC_ADMIN = "sk-ant-admin01-test"


@pytest.fixture
def mock():
    with MockRotationProviders(openai_admin_key=OPENAI_ADMIN,
                               openrouter_management_key=OPENROUTER_ADMIN,
                               anthropic_admin_key=ANTHROPIC_ADMIN) as providers:
        yield providers


def call(url, method="GET", bearer=None, api_key=None, version="2023-06-01", body=None):
    """(status, JSON answer) of one request."""
    headers = {}
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    if api_key is not None:
        headers["x-api-key"] = api_key
        if version:
            headers["anthropic-version"] = version
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


# -- OpenAI ----------------------------------------------------------------------------------

def test_openai_service_account_create_check_delete(mock):
    base = mock.base_url("openai")
    accounts = f"{base}/v1/organization/projects/proj_abc/service_accounts"
    status, created = call(accounts, "POST", bearer=OPENAI_ADMIN, body={"name": "tresor-x-1"})
    assert status == 200
    assert created["object"] == "organization.project.service_account"
    assert created["name"] == "tresor-x-1" and created["role"] == "member"
    assert created["id"].startswith("svc_acct_")
    assert created["api_key"]["object"] == "organization.project.service_account.api_key"
    new_key = created["api_key"]["value"]
    assert new_key.startswith("sk-svcacct-")

    status, models = call(f"{base}/v1/models", bearer=new_key)
    assert status == 200 and models["object"] == "list" and models["data"]

    status, deleted = call(f"{accounts}/{created['id']}", "DELETE", bearer=OPENAI_ADMIN)
    assert (status, deleted) == (200, {"object": "organization.project.service_account.deleted",
                                       "id": created["id"], "deleted": True})
    assert mock.key(created["id"]).status == "deleted"
    status, refused = call(f"{base}/v1/models", bearer=new_key)
    assert status == 401 and refused["error"]["code"] == "invalid_api_key"
    status, _ = call(f"{accounts}/{created['id']}", "DELETE", bearer=OPENAI_ADMIN)
    assert status == 404


def test_openai_admin_calls_need_the_admin_key(mock):
    base = mock.base_url("openai")
    accounts = f"{base}/v1/organization/projects/proj_abc/service_accounts"
    issued = mock.issue("openai")
    for credential in (issued.value, "sk-wrong", OPENROUTER_ADMIN):
        status, answer = call(accounts, "POST", bearer=credential, body={"name": "n"})
        assert status == 401 and answer["error"]["code"] == "invalid_api_key"
    assert call(accounts, "POST", bearer=OPENAI_ADMIN, body={})[0] == 400
    # The admin key is no model key, and keys do not cross providers.
    assert call(f"{base}/v1/models", bearer=OPENAI_ADMIN)[0] == 401
    other = mock.issue("openrouter")
    assert call(f"{base}/v1/models", bearer=other.value)[0] == 401
    assert len(mock.keys_of("openai")) == 1


# -- OpenRouter ------------------------------------------------------------------------------

def test_openrouter_key_create_check_list_delete(mock):
    base = mock.base_url("openrouter")
    status, created = call(f"{base}/api/v1/keys", "POST", bearer=OPENROUTER_ADMIN,
                           body={"name": "tresor-x-1"})
    assert status == 201
    new_key, key_hash = created["key"], created["data"]["hash"]
    assert new_key.startswith("sk-or-v1-") and len(key_hash) == 64
    assert created["data"]["name"] == "tresor-x-1" and created["data"]["disabled"] is False
    assert new_key not in json.dumps(created["data"])

    status, info = call(f"{base}/api/v1/key", bearer=new_key)
    assert status == 200 and info["data"]["is_management_key"] is False

    status, listed = call(f"{base}/api/v1/keys", bearer=OPENROUTER_ADMIN)
    assert status == 200 and [k["hash"] for k in listed["data"]] == [key_hash]

    status, deleted = call(f"{base}/api/v1/keys/{key_hash}", "DELETE", bearer=OPENROUTER_ADMIN)
    assert (status, deleted) == (200, {"deleted": True})
    assert call(f"{base}/api/v1/key", bearer=new_key)[0] == 401
    assert call(f"{base}/api/v1/keys", bearer=OPENROUTER_ADMIN)[1]["data"] == []
    assert call(f"{base}/api/v1/keys/{key_hash}", "DELETE", bearer=OPENROUTER_ADMIN)[0] == 404


def test_openrouter_management_calls_need_the_management_key(mock):
    base = mock.base_url("openrouter")
    issued = mock.issue("openrouter")
    assert call(f"{base}/api/v1/keys", "POST", bearer=issued.value, body={"name": "n"})[0] == 401
    assert call(f"{base}/api/v1/keys/{issued.key_id}", "DELETE", bearer="sk-wrong")[0] == 401
    assert call(f"{base}/api/v1/key", bearer=OPENROUTER_ADMIN)[0] == 401
    assert call(f"{base}/api/v1/key")[0] == 401
    assert mock.key(issued.key_id).live


# -- Anthropic -------------------------------------------------------------------------------

def test_anthropic_key_checked_then_set_inactive_and_back(mock):
    base = mock.base_url("anthropic")
    key = mock.issue("anthropic", name="made in the console")
    assert key.key_id.startswith("apikey_01") and key.value.startswith("sk-ant-api03-")
    status, models = call(f"{base}/v1/models", api_key=key.value)
    assert status == 200 and models["has_more"] is False and models["data"]
    assert call(f"{base}/v1/models", api_key=key.value, version=None)[0] == 400

    url = f"{base}/v1/organizations/api_keys/{key.key_id}"
    status, updated = call(url, "POST", api_key=ANTHROPIC_ADMIN, body={"status": "inactive"})
    assert status == 200
    assert updated["id"] == key.key_id and updated["type"] == "api_key"
    assert updated["status"] == "inactive"
    assert key.value not in json.dumps(updated)
    status, refused = call(f"{base}/v1/models", api_key=key.value)
    assert status == 401 and refused["error"]["type"] == "authentication_error"

    assert call(url, api_key=ANTHROPIC_ADMIN)[1]["status"] == "inactive"
    assert call(url, "POST", api_key=ANTHROPIC_ADMIN, body={"status": "active"})[0] == 200
    assert call(f"{base}/v1/models", api_key=key.value)[0] == 200
    assert call(url, "POST", api_key=ANTHROPIC_ADMIN, body={"status": "gone"})[0] == 400


def test_anthropic_admin_calls_need_the_admin_key(mock):
    base = mock.base_url("anthropic")
    key = mock.issue("anthropic")
    url = f"{base}/v1/organizations/api_keys/{key.key_id}"
    assert call(url, "POST", api_key=key.value, body={"status": "inactive"})[0] == 401
    assert call(url, "POST", bearer=ANTHROPIC_ADMIN, version=None,
                body={"status": "inactive"})[0] == 400
    assert key.live
    status, missing = call(f"{base}/v1/organizations/api_keys/apikey_01nope", "POST",
                           api_key=ANTHROPIC_ADMIN, body={"status": "inactive"})
    assert status == 404 and missing["error"]["type"] == "not_found_error"
    # The admin key is no model key.
    assert call(f"{base}/v1/models", api_key=ANTHROPIC_ADMIN)[0] == 401


# -- switches, records, routing --------------------------------------------------------------

def test_refuse_key_checks_fails_every_key_check_but_not_admin_calls(mock):
    openai_key, openrouter_key = mock.issue("openai"), mock.issue("openrouter")
    anthropic_key = mock.issue("anthropic")
    mock.refuse_key_checks = True
    assert call(f"{mock.base_url('openai')}/v1/models", bearer=openai_key.value)[0] == 401
    assert call(f"{mock.base_url('openrouter')}/api/v1/key", bearer=openrouter_key.value)[0] == 401
    assert call(f"{mock.base_url('anthropic')}/v1/models", api_key=anthropic_key.value)[0] == 401
    status, _ = call(f"{mock.base_url('openrouter')}/api/v1/keys", "POST",
                     bearer=OPENROUTER_ADMIN, body={"name": "n"})
    assert status == 201
    mock.refuse_key_checks = False
    assert call(f"{mock.base_url('openai')}/v1/models", bearer=openai_key.value)[0] == 200


def test_records_say_who_called_without_any_credential(mock):
    base = mock.base_url("openai")
    accounts = f"{base}/v1/organization/projects/p1/service_accounts"
    _, created = call(accounts, "POST", bearer=OPENAI_ADMIN, body={"name": "n1"})
    call(f"{base}/v1/models", bearer=created["api_key"]["value"])
    call(f"{base}/v1/models", bearer="sk-stranger")
    call(f"{base}/v1/models")
    first, checked, stranger, anonymous = mock.requests
    assert (first.provider, first.method, first.path) == (
        "openai", "POST", "/v1/organization/projects/p1/service_accounts")
    assert first.json == {"name": "n1"} and first.headers["content-type"] == "application/json"
    assert (first.auth, first.auth_scheme) == ("admin", "bearer")
    assert checked.auth == f"issued:{created['id']}"
    assert (stranger.auth, anonymous.auth, anonymous.auth_scheme) == ("unknown", "none", None)
    assert mock.requests_to("/v1/models", method="GET", provider="openai") == [
        checked, stranger, anonymous]
    dumped = repr(mock.requests) + repr(mock.keys)
    for secret in (OPENAI_ADMIN, created["api_key"]["value"], "sk-stranger"):
        assert secret not in dumped
    assert all("authorization" not in r.headers for r in mock.requests)
    mock.clear()
    assert mock.requests == []


def test_documented_paths_answer_without_a_prefix(mock):
    openai_key, anthropic_key = mock.issue("openai"), mock.issue("anthropic")
    openrouter_key = mock.issue("openrouter")
    assert call(f"{mock.url}/v1/models", bearer=openai_key.value)[0] == 200
    assert call(f"{mock.url}/v1/models", api_key=anthropic_key.value)[0] == 200
    assert call(f"{mock.url}/api/v1/key", bearer=openrouter_key.value)[0] == 200
    assert call(f"{mock.url}/v1/organizations/api_keys/{anthropic_key.key_id}",
                api_key=ANTHROPIC_ADMIN)[0] == 200
    assert [r.provider for r in mock.requests] == ["openai", "anthropic", "openrouter",
                                                   "anthropic"]


def test_concurrent_creates_issue_distinct_keys(mock):
    base = mock.base_url("openrouter")
    answers = []

    def create(i):
        answers.append(call(f"{base}/api/v1/keys", "POST", bearer=OPENROUTER_ADMIN,
                            body={"name": f"k{i}"}))

    threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [status for status, _ in answers] == [201] * 8
    assert len({body["key"] for _, body in answers}) == 8
    assert len(mock.keys_of("openrouter")) == 8
