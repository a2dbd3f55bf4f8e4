"""The AI gateway through its real clients: the official `openai` and `anthropic` SDKs call a
mock provider (mock_provider.py) through Tresor's `/gateway/<route>/…`, set up with the real
tools (boto3 `secretsmanager` and `iam`, the `tresor gateway` CLI), and every figure is checked
against the audit trail (`cloudtrail.lookup_events`) and `tresor gateway key usage`.

Expected usage comes from the mock's `expected_usage`; expected costs from the prices this
module sets with `tresor gateway price set`, with the gateway's arithmetic (integer micro-USD
per million tokens, rounded up once)."""

import datetime
import gzip
import http.client
import json
import os
import subprocess
import threading
import time
import urllib.request
import uuid
from urllib.parse import urlsplit

import anthropic
import httpx2
import openai
import pytest

from conftest import REGION, DevServer, tresor_bin
from mock_provider import CHUNKS, OUTPUT_TOKENS_PER_CHUNK, MockProvider, expected_usage

REPLY = "".join(CHUNKS)
MESSAGES = [{"role": "user", "content": "Say hello to the mock through the gateway, please."}]
DEFAULT_OUTPUT = len(CHUNKS) * OUTPUT_TOKENS_PER_CHUNK

# Prices this module sets (USD per million tokens): (input, output, cached input).
PRICES = {
    "gpt-4o-mini": (2, 8, 1),
    "gpt-4.1": (3, 12, None),
    "text-embedding-3-small": (5, 0, None),
    "claude-haiku-4-5": (4, 20, 0.4),
    # Input free, so a reservation is exactly max_tokens × the output price (the budget test).
    "mock-slow": (0, 1000, None),
    "mock-cut": (2, 8, None),
    "mock-stream-error": (2, 8, None),
}


def micro_per_mtok(usd):
    return None if usd is None else round(usd * 1_000_000)


def cost_micro(model, input_total, output, cached=0, written=0):
    """The gateway's cost of a call in micro-USD (prices.rs `cost_micro`): uncached input at the
    input price, cache reads at the cached price (input price if none), cache writes at 1.25×
    the input price, output at the output price; rounded up once."""
    inp, out, cached_price = (micro_per_mtok(p) for p in PRICES[model])
    cached_price = inp if cached_price is None else cached_price
    plain = max(input_total - cached - written, 0)
    quarters = plain * inp * 4 + written * inp * 5 + cached * cached_price * 4 + output * out * 4
    return -(-quarters // (1_000_000 * 4))


def new_name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# ---------------------------------------------------------------------------- the harness

class CliError(AssertionError):
    def __init__(self, proc):
        super().__init__(f"exit {proc.returncode}: {proc.stderr}")
        self.proc = proc


class Harness:
    """One Tresor server, its admin tools, and the mock providers behind its routes."""

    def __init__(self, server):
        self.server = server
        self.sm = server.client()
        self.iam = server.client("iam")
        self.ct = server.client("cloudtrail")

    # -- the `tresor gateway` CLI -----------------------------------------------------------
    def cli_proc(self, *args, creds=None):
        key_id, secret = creds or (self.server.key_id, self.server.secret)
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": self.server.endpoint,
            "AWS_ACCESS_KEY_ID": key_id,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
        }
        env.pop("AWS_SESSION_TOKEN", None)
        return subprocess.run([tresor_bin(), "gateway", *args, "--output", "json"],
                              env=env, capture_output=True, text=True, timeout=30)

    def cli(self, *args, creds=None):
        proc = self.cli_proc(*args, creds=creds)
        if proc.returncode != 0:
            raise CliError(proc)
        return json.loads(proc.stdout)

    # -- setup through the real tools -------------------------------------------------------
    def user(self, statements=None):
        """A new IAM user allowed `gateway:Invoke` on every route (plus `statements`)."""
        name = new_name("gwuser")
        self.iam.create_user(UserName=name)
        doc = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "gateway:Invoke",
             "Resource": f"arn:aws:gateway:{REGION}:*:route/*"},
            *(statements or []),
        ]}
        self.iam.put_user_policy(UserName=name, PolicyName="invoke", PolicyDocument=json.dumps(doc))
        return name

    def route(self, mock, provider_key=None, name=None):
        """A route to `mock`, its key in a new secret; returns the route's JSON."""
        secret = new_name("ai/key")
        self.sm.create_secret(Name=secret, SecretString=provider_key or mock.key)
        return self.cli("route", "create", name or new_name("r"), "--provider", mock.provider,
                        "--secret-id", secret, "--base-url", mock.base_url)

    def key(self, user, routes, *flags):
        """A gateway key (tgk_…) for `user`: its JSON, with `key` and `key_id`."""
        return self.cli("key", "create", "--user", user, "--routes", ",".join(routes), *flags)

    def usage(self, key_id):
        return self.cli("key", "usage", key_id)

    # -- the audit trail --------------------------------------------------------------------
    def records(self, key_id=None):
        """Every Invoke record (of one gateway key if given), newest first, parsed."""
        attrs = ([{"AttributeKey": "AccessKeyId", "AttributeValue": key_id}] if key_id
                 else [{"AttributeKey": "EventName", "AttributeValue": "Invoke"}])
        out, kw = [], {"LookupAttributes": attrs, "MaxResults": 50}
        while True:
            page = self.ct.lookup_events(**kw)
            out += [json.loads(e["CloudTrailEvent"]) for e in page["Events"]
                    if e["EventName"] == "Invoke"]
            if "NextToken" not in page:
                return out
            kw["NextToken"] = page["NextToken"]

    def wait_records(self, key_id, count, timeout=5.0):
        """At least `count` records of `key_id` (a streamed call's record is written when its
        upstream ends, which may be after the client has read its last byte)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.records(key_id)
            if len(found) >= count or time.monotonic() > deadline:
                assert len(found) >= count, f"{len(found)} records of {key_id}, wanted {count}"
                return found
            time.sleep(0.05)

    def only_record(self, key_id):
        records = self.wait_records(key_id, 1)
        assert len(records) == 1, records
        return records[0]

    # -- clients ----------------------------------------------------------------------------
    def openai(self, route, key, **kw):
        kw.setdefault("max_retries", 0)
        return openai.OpenAI(base_url=f"{self.server.endpoint}/gateway/{route}/v1", api_key=key, **kw)

    def anthropic(self, route, key, **kw):
        kw.setdefault("max_retries", 0)
        return anthropic.Anthropic(base_url=f"{self.server.endpoint}/gateway/{route}", api_key=key,
                                   **kw)

    def raw(self, method, path, body=None, headers=None):
        """(status, headers (lower-case names), body bytes) of a call made by hand."""
        u = urlsplit(self.server.endpoint)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        try:
            data = json.dumps(body).encode() if isinstance(body, dict) else body
            conn.request(method, path, body=data, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()


class Counting:
    """An httpx2 client for the SDKs that counts the requests they send: proof that an SDK
    with its default retries (2) did not retry a gateway refusal."""

    def __init__(self):
        self.sent = 0
        self.client = httpx2.Client(event_hooks={"request": [self._count]})

    def _count(self, request):
        self.sent += 1


def set_prices(h):
    for model, (inp, out, cached) in PRICES.items():
        args = ["price", "set", model, "--input-usd", str(inp), "--output-usd", str(out)]
        if cached is not None:
            args += ["--cached-input-usd", str(cached)]
        h.cli(*args)


OPENAI_KEY = "sk-proj-compat-" + uuid.uuid4().hex
ANTHROPIC_KEY = "sk-ant-compat-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def h():
    server = DevServer()
    try:
        harness = Harness(server)
        set_prices(harness)
        yield harness
    finally:
        server.stop()


@pytest.fixture(scope="module")
def openai_mock():
    with MockProvider("openai", key=OPENAI_KEY) as mock:
        yield mock


@pytest.fixture(scope="module")
def anthropic_mock():
    # Only `x-api-key` upstream: what the gateway must send an Anthropic-style provider.
    with MockProvider("anthropic", key=ANTHROPIC_KEY, anthropic_auth="x-api-key") as mock:
        yield mock


@pytest.fixture(scope="module")
def oa(h, openai_mock):
    """An OpenAI-style route and a key of a user allowed to call it."""
    route = h.route(openai_mock)["name"]
    user = h.user()
    return route, user


@pytest.fixture(scope="module")
def an(h, anthropic_mock):
    route = h.route(anthropic_mock)["name"]
    user = h.user()
    return route, user


def fresh_key(h, setup, *flags):
    route, user = setup
    created = h.key(user, [route], *flags)
    return route, created["key"], created["key_id"]


def no_provider_key_in(headers, body, provider_key):
    assert provider_key not in json.dumps(dict(headers))
    assert provider_key.encode() not in (body if isinstance(body, bytes) else body.encode())


def gateway_key_never_upstream(mock, key):
    for request in mock.requests:
        assert key not in json.dumps(request.header_list), request.path
        assert key.encode() not in request.body, request.path


def assert_refusal(status, headers, body, want_status, provider="openai"):
    """A gateway refusal: the status, in the provider's error shape, `x-should-retry: false`."""
    assert status == want_status, body
    assert headers.get("x-should-retry") == "false", headers
    doc = json.loads(body)
    if provider == "openai":
        assert set(doc) == {"error"}, doc
        assert doc["error"]["message"].startswith("Tresor gateway: "), doc
        assert {"type", "code", "param"} <= set(doc["error"]), doc
    else:
        assert doc["type"] == "error", doc
        assert doc["error"]["type"].endswith("_error"), doc
        assert doc["error"]["message"].startswith("Tresor gateway: "), doc
    return doc


# ---------------------------------------------------------------------------- 1. OpenAI SDK

def test_openai_chat_passes_the_provider_key_up_and_headers_down(h, oa, openai_mock):
    route, key, key_id = fresh_key(h, oa)
    openai_mock.clear()
    body = {"model": "gpt-4o-mini", "messages": MESSAGES, "max_tokens": 60}
    raw = h.openai(route, key).chat.completions.with_raw_response.create(
        **body, extra_headers={"x-mock-cached-tokens": "4", "OpenAI-Organization": "org-compat"})
    completion = raw.parse()
    assert completion.choices[0].message.content == REPLY
    want = expected_usage("openai", "/v1/chat/completions", body, {"x-mock-cached-tokens": "4"})
    assert completion.usage.prompt_tokens == want["prompt_tokens"]

    upstream = openai_mock.requests_to("/v1/chat/completions")
    assert len(upstream) == 1
    assert upstream[0].headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert upstream[0].headers["openai-organization"] == "org-compat"
    assert upstream[0].json == body, "the body goes up unchanged"
    gateway_key_never_upstream(openai_mock, key)

    headers = raw.headers
    assert headers["x-request-id"].startswith("req_mock"), "the provider's request id"
    assert headers["openai-organization"] == "mock-org"
    assert headers["x-ratelimit-remaining-requests"] == "9999"
    assert headers["x-ratelimit-reset-tokens"] == "300ms"
    no_provider_key_in(headers, raw.http_response.content, OPENAI_KEY)

    record = h.only_record(key_id)
    assert record["userIdentity"]["accessKeyId"] == key_id
    data = record["additionalEventData"]
    assert data["gatewayKeyId"] == key_id and data["route"] == route
    assert data["model"] == "gpt-4o-mini" and data["upstreamStatus"] == 200
    assert (data["inputTokens"], data["outputTokens"], data["cachedInputTokens"]) == (
        want["prompt_tokens"], want["completion_tokens"], 4)
    assert data["usageSource"] == "reported"
    cost = cost_micro("gpt-4o-mini", want["prompt_tokens"], want["completion_tokens"], cached=4)
    assert data["costUsd"] == pytest.approx(cost / 1e6, abs=1e-9)
    assert data["clientDisconnected"] is False and data["upstreamError"] is None
    assert isinstance(data["latencyMs"], int)
    assert key not in json.dumps(record) and OPENAI_KEY not in json.dumps(record)
    usage = h.usage(key_id)
    assert usage["requests"] == 1
    assert usage["spent_usd"] == pytest.approx(cost / 1e6, abs=1e-9)
    assert usage["held_usd"] == 0


def test_openai_stream_without_include_usage_is_metered_but_not_shown(h, oa, openai_mock):
    route, key, key_id = fresh_key(h, oa)
    openai_mock.clear()
    body = {"model": "gpt-4o-mini", "messages": MESSAGES, "n": 2}
    chunks = list(h.openai(route, key).chat.completions.create(**body, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks
                   if c.choices and c.choices[0].index == 0) == REPLY
    assert all(c.choices for c in chunks), "the usage chunk the gateway asked for is removed"
    assert all(getattr(c, "usage", None) is None for c in chunks)
    upstream = openai_mock.requests_to("/v1/chat/completions")[0]
    assert upstream.json["stream_options"] == {"include_usage": True}, "asked for upstream"

    want = expected_usage("openai", "/v1/chat/completions", body)
    data = h.only_record(key_id)["additionalEventData"]
    assert data["usageSource"] == "reported"
    assert (data["inputTokens"], data["outputTokens"]) == (
        want["prompt_tokens"], want["completion_tokens"])
    assert data["outputTokens"] == 2 * DEFAULT_OUTPUT
    assert data["costUsd"] == pytest.approx(
        cost_micro("gpt-4o-mini", want["prompt_tokens"], want["completion_tokens"]) / 1e6,
        abs=1e-9)


def test_openai_stream_with_include_usage_shows_it_exactly_once(h, oa, openai_mock):
    route, key, key_id = fresh_key(h, oa)
    body = {"model": "gpt-4o-mini", "messages": MESSAGES}
    chunks = list(h.openai(route, key).chat.completions.create(
        **body, stream=True, stream_options={"include_usage": True}))
    with_usage = [c for c in chunks if getattr(c, "usage", None) is not None]
    assert len(with_usage) == 1 and with_usage[0] is chunks[-1] and chunks[-1].choices == []
    want = expected_usage("openai", "/v1/chat/completions", body)
    assert chunks[-1].usage.prompt_tokens == want["prompt_tokens"]
    assert chunks[-1].usage.completion_tokens == want["completion_tokens"]
    data = h.only_record(key_id)["additionalEventData"]
    assert (data["inputTokens"], data["outputTokens"], data["usageSource"]) == (
        want["prompt_tokens"], want["completion_tokens"], "reported")


def test_openai_responses_api_json_and_stream(h, oa, openai_mock):
    route, key, key_id = fresh_key(h, oa)
    client = h.openai(route, key)
    body = {"model": "gpt-4.1", "input": "Hello there", "instructions": "Be brief"}
    response = client.responses.create(**body)
    assert response.output_text == REPLY
    events = list(client.responses.create(**body, stream=True))
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == REPLY
    assert "stream_options" not in openai_mock.requests_to("/v1/responses")[-1].json

    want = expected_usage("openai", "/v1/responses", body)
    cost = cost_micro("gpt-4.1", want["input_tokens"], want["output_tokens"])
    records = h.wait_records(key_id, 2)
    assert len(records) == 2
    for record in records:
        data = record["additionalEventData"]
        assert record["requestParameters"]["path"] == "/v1/responses"
        assert (data["inputTokens"], data["outputTokens"], data["usageSource"]) == (
            want["input_tokens"], want["output_tokens"], "reported"), data
        assert data["costUsd"] == pytest.approx(cost / 1e6, abs=1e-9)
    assert sorted(r["requestParameters"]["stream"] for r in records) == [False, True]
    assert h.usage(key_id)["spent_usd"] == pytest.approx(2 * cost / 1e6, abs=1e-9)


def test_openai_embeddings_and_models(h, oa, openai_mock):
    route, key, key_id = fresh_key(h, oa)
    client = h.openai(route, key)
    openai_mock.clear()
    result = client.embeddings.create(model="text-embedding-3-small", input=["one", "two two"])
    assert len(result.data) == 2
    want = expected_usage("openai", "/v1/embeddings", {"input": ["one", "two two"]})
    assert result.usage.prompt_tokens == want["prompt_tokens"]
    ids = [m.id for m in client.models.list()]
    assert "gpt-4o-mini" in ids
    assert client.models.retrieve("gpt-4.1").id == "gpt-4.1"
    assert [r.headers["authorization"] for r in openai_mock.requests] == [f"Bearer {OPENAI_KEY}"] * 3
    gateway_key_never_upstream(openai_mock, key)

    records = h.wait_records(key_id, 3)
    by_path = {r["requestParameters"]["path"]: r["additionalEventData"] for r in records}
    emb = by_path["/v1/embeddings"]
    assert (emb["inputTokens"], emb["outputTokens"], emb["usageSource"]) == (
        want["prompt_tokens"], 0, "reported")
    assert emb["costUsd"] == pytest.approx(
        cost_micro("text-embedding-3-small", want["prompt_tokens"], 0) / 1e6, abs=1e-9)
    listing = by_path["/v1/models"]
    assert listing["upstreamStatus"] == 200 and listing["costUsd"] == 0
    assert by_path["/v1/models/gpt-4.1"]["upstreamStatus"] == 200


# ---------------------------------------------------------------------------- 2. Anthropic SDK

def test_anthropic_messages_bearer_from_the_sdk_x_api_key_upstream(h, an, anthropic_mock):
    route, key, key_id = fresh_key(h, an)
    anthropic_mock.clear()
    body = {"model": "claude-haiku-4-5", "max_tokens": 100, "system": "Be kind.",
            "messages": MESSAGES}
    cache = {"x-mock-cache-read": "40", "x-mock-cache-creation": "10"}
    raw = h.anthropic(route, key).messages.with_raw_response.create(
        **body, extra_headers={**cache, "anthropic-beta": "feature-x,feature-y",
                               "anthropic-custom-thing": "kept"})
    message = raw.parse()
    assert message.content[0].text == REPLY
    want = expected_usage("anthropic", "/v1/messages", body, cache)
    assert message.usage.cache_read_input_tokens == 40

    up = anthropic_mock.requests_to("/v1/messages")
    assert len(up) == 1
    assert up[0].headers["x-api-key"] == ANTHROPIC_KEY
    assert "authorization" not in up[0].headers, "the SDK's Bearer gateway key is removed"
    assert up[0].headers["anthropic-beta"] == "feature-x,feature-y"
    assert up[0].headers["anthropic-custom-thing"] == "kept"
    assert up[0].headers["anthropic-version"] == raw.http_request.headers["anthropic-version"]
    assert up[0].json == body
    gateway_key_never_upstream(anthropic_mock, key)

    down = raw.headers
    for name in ("anthropic-organization-id", "anthropic-ratelimit-requests-limit",
                 "anthropic-ratelimit-requests-remaining", "anthropic-ratelimit-tokens-reset",
                 "anthropic-ratelimit-input-tokens-remaining", "request-id"):
        assert name in down, name
    assert down["anthropic-ratelimit-tokens-remaining"] == "399000"
    no_provider_key_in(down, raw.http_response.content, ANTHROPIC_KEY)

    data = h.only_record(key_id)["additionalEventData"]
    total_input = want["input_tokens"] + 40 + 10
    assert (data["inputTokens"], data["outputTokens"], data["cachedInputTokens"]) == (
        total_input, DEFAULT_OUTPUT, 40)
    assert data["usageSource"] == "reported"
    cost = cost_micro("claude-haiku-4-5", total_input, DEFAULT_OUTPUT, cached=40, written=10)
    assert data["costUsd"] == pytest.approx(cost / 1e6, abs=1e-9)


def test_anthropic_stream_text_and_final_usage(h, an, anthropic_mock):
    route, key, key_id = fresh_key(h, an)
    body = {"model": "claude-haiku-4-5", "max_tokens": 64, "messages": MESSAGES}
    with h.anthropic(route, key).messages.stream(**body) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == REPLY
    want = expected_usage("anthropic", "/v1/messages", body)
    assert (final.usage.input_tokens, final.usage.output_tokens) == (
        want["input_tokens"], want["output_tokens"])
    data = h.only_record(key_id)["additionalEventData"]
    # message_delta repeats the input figures: merged, not summed.
    assert (data["inputTokens"], data["outputTokens"], data["usageSource"]) == (
        want["input_tokens"], want["output_tokens"], "reported")
    assert data["costUsd"] == pytest.approx(
        cost_micro("claude-haiku-4-5", want["input_tokens"], want["output_tokens"]) / 1e6,
        abs=1e-9)


def test_anthropic_count_tokens_and_models(h, an, anthropic_mock):
    route, key, key_id = fresh_key(h, an)
    client = h.anthropic(route, key)
    counted = client.messages.count_tokens(model="claude-haiku-4-5", messages=MESSAGES)
    body = {"messages": MESSAGES}
    assert counted.input_tokens == expected_usage("anthropic", "/v1/messages/count_tokens",
                                                  body)["input_tokens"]
    assert "claude-haiku-4-5" in [m.id for m in client.models.list()]
    records = h.wait_records(key_id, 2)
    paths = sorted(r["requestParameters"]["path"] for r in records)
    assert paths == ["/v1/messages/count_tokens", "/v1/models"]
    for r in records:
        assert r["additionalEventData"]["upstreamStatus"] == 200
        assert r["additionalEventData"]["costUsd"] == 0, "counting tokens costs nothing"


def test_anthropic_x_api_key_from_a_raw_client(h, an, anthropic_mock):
    route, key, key_id = fresh_key(h, an)
    anthropic_mock.clear()
    body = {"model": "claude-haiku-4-5", "max_tokens": 5, "messages": MESSAGES, "stream": True}
    status, headers, raw = h.raw("POST", f"/gateway/{route}/v1/messages", body, {
        "x-api-key": key, "anthropic-version": "2023-06-01", "content-type": "application/json"})
    assert status == 200, raw
    assert headers["content-type"].startswith("text/event-stream")
    text = raw.decode()
    assert text.startswith("event: message_start\n")
    assert text.endswith('event: message_stop\ndata: {"type": "message_stop"}\n\n')
    up = anthropic_mock.requests_to("/v1/messages")[0]
    assert up.headers["x-api-key"] == ANTHROPIC_KEY and "authorization" not in up.headers
    gateway_key_never_upstream(anthropic_mock, key)
    assert h.only_record(key_id)["additionalEventData"]["usageSource"] == "reported"


# ---------------------------------------------------------------------------- 3. Denials

def refused_once(h, route, key, model, status, exc, anthropic_route=False):
    """Call with the SDK's default retries and a counting transport: the refusal must be
    `exc`, provider-shaped, `x-should-retry: false`, and sent exactly once."""
    counting = Counting()
    if anthropic_route:
        client = h.anthropic(route, key, max_retries=2, http_client=counting.client)
        call = lambda: client.messages.create(model=model, max_tokens=5, messages=MESSAGES)  # noqa: E731
    else:
        client = h.openai(route, key, max_retries=2, http_client=counting.client)
        call = lambda: client.chat.completions.create(model=model, messages=MESSAGES)  # noqa: E731
    with pytest.raises(exc) as err:
        call()
    response = err.value.response
    assert_refusal(response.status_code, response.headers, response.content, status,
                   "anthropic" if anthropic_route else "openai")
    assert counting.sent == 1, f"the SDK sent the refused call {counting.sent} times"
    return err.value


def error_records(h, key_id):
    return [r for r in h.records(key_id) if r.get("errorCode")]


def test_model_outside_the_keys_models_is_403(h, oa, openai_mock):
    route, key, key_id = fresh_key(h, oa, "--models", "gpt-4o-mini,gpt-4.1*")
    openai_mock.clear()
    h.openai(route, key).chat.completions.create(model="gpt-4.1-mini", messages=MESSAGES)
    err = refused_once(h, route, key, "gpt-4o", 403, openai.PermissionDeniedError)
    assert err.body["code"] == "permission_denied"
    assert "gpt-4o" in err.body["message"]
    assert len(openai_mock.requests) == 1, "the refused call never went upstream"
    [record] = error_records(h, key_id)
    assert record["errorCode"] == "AccessDeniedException"
    assert record["requestParameters"]["model"] == "gpt-4o"


def test_route_outside_the_keys_routes_is_403(h, oa, openai_mock):
    route, user = oa
    other = h.route(openai_mock)["name"]
    created = h.key(user, [other])
    err = refused_once(h, route, created["key"], "gpt-4o-mini", 403, openai.PermissionDeniedError)
    assert route in err.body["message"]
    [record] = error_records(h, created["key_id"])
    assert record["errorCode"] == "AccessDeniedException"
    assert record["additionalEventData"]["route"] == route


def test_iam_deny_on_a_model_condition_is_403(h, openai_mock, anthropic_mock):
    route = h.route(openai_mock)["name"]
    user = h.user([{"Effect": "Deny", "Action": "gateway:Invoke", "Resource": "*",
                    "Condition": {"StringEquals": {"gateway:Model": "gpt-4.1"}}}])
    created = h.key(user, [route])
    key, key_id = created["key"], created["key_id"]
    h.openai(route, key).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    refused_once(h, route, key, "gpt-4.1", 403, openai.PermissionDeniedError)
    # The same deny through an Anthropic route answers in Anthropic's shape.
    aroute = h.route(anthropic_mock)["name"]
    user2 = h.user([{"Effect": "Deny", "Action": "gateway:Invoke", "Resource": "*",
                     "Condition": {"StringLike": {"gateway:Model": "claude-haiku-*"}}}])
    akey = h.key(user2, [aroute])
    err = refused_once(h, aroute, akey["key"], "claude-haiku-4-5", 403,
                       anthropic.PermissionDeniedError, anthropic_route=True)
    assert err.body["error"]["type"] == "permission_error"
    for kid in (key_id, akey["key_id"]):
        [record] = error_records(h, kid)
        assert record["errorCode"] == "AccessDeniedException"


def test_a_user_without_invoke_is_403(h, openai_mock):
    route = h.route(openai_mock)["name"]
    name = new_name("gwnoinvoke")
    h.iam.create_user(UserName=name)
    created = h.key(name, [route])
    refused_once(h, route, created["key"], "gpt-4o-mini", 403, openai.PermissionDeniedError)


def test_unknown_route_is_404(h, oa):
    _, key, _ = fresh_key(h, oa)
    missing = new_name("nosuchroute")
    err = refused_once(h, missing, key, "gpt-4o-mini", 404, openai.NotFoundError)
    assert missing in err.body["message"]
    # Not even a route segment: 404 too, in the provider's shape.
    status, headers, body = h.raw("GET", "/gateway/", None, {"authorization": f"Bearer {key}"})
    assert_refusal(status, headers, body, 404)


def test_unknown_route_refusal_is_in_lookup_events_under_the_key(h, oa):
    _, key, key_id = fresh_key(h, oa)
    missing = new_name("nosuchroute")
    refused_once(h, missing, key, "gpt-4o-mini", 404, openai.NotFoundError)
    time.sleep(0.5)
    records = [r for r in h.records(key_id) if r.get("errorCode")]
    assert [r["errorCode"] for r in records] == ["ResourceNotFoundException"], records
    assert records[0]["additionalEventData"]["route"] == missing


def test_bad_keys_are_401(h, oa):
    """Unknown keys name no account, so their records (like failed SigV4 signatures') are in
    no account's lookup-events: the audit export shows them (test_no_leak_anywhere)."""
    marker = new_name("badkeyroute")
    for bad in ("tgk_" + "A" * 43, "sk-not-a-gateway-key-" + uuid.uuid4().hex):
        err = refused_once(h, marker, bad, "gpt-4o-mini", 401, openai.AuthenticationError)
        assert err.body["code"] == "invalid_api_key"
        assert bad not in json.dumps(err.body)
    status, headers, body = h.raw("POST", f"/gateway/{marker}/v1/chat/completions",
                                  {"model": "gpt-4o-mini"}, {"authorization": "Bearer "})
    assert_refusal(status, headers, body, 401)
    # No credential at all, Anthropic-shaped (it sends anthropic-version).
    status, headers, body = h.raw("POST", f"/gateway/{marker}/v1/messages", {"model": "x"},
                                  {"anthropic-version": "2023-06-01"})
    doc = assert_refusal(status, headers, body, 401, "anthropic")
    assert doc["error"]["type"] == "authentication_error"


def test_disable_enable_delete_take_effect_on_the_next_call(h, oa, openai_mock):
    route, key, key_id = fresh_key(h, oa)
    client = h.openai(route, key)
    ok = lambda: client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # noqa: E731
    ok()
    assert h.cli("key", "disable", key_id)["status"] == "Inactive"
    refused_once(h, route, key, "gpt-4o-mini", 401, openai.AuthenticationError)
    assert h.cli("key", "enable", key_id)["status"] == "Active"
    ok()
    assert h.cli("key", "delete", key_id) == {"key_id": key_id, "deleted": True}
    refused_once(h, route, key, "gpt-4o-mini", 401, openai.AuthenticationError)
    # The refusals answer as an unknown key does (a caller learns nothing about keys it does
    # not hold), and are recorded as such; the two calls that went through are the key's.
    records = h.records(key_id)
    assert [r["additionalEventData"]["upstreamStatus"] for r in records] == [200, 200]


def test_key_lifetime_is_set_and_bounded(h, oa):
    """Expiry itself needs a minute's wait (the shortest lifetime is 60 s), too long for this
    suite: the core's unit tests cover the refusal of an expired key. Here: the lifetime is
    what was asked, and below the minimum is refused."""
    route, user = oa
    before = datetime.datetime.now(datetime.timezone.utc)
    created = h.key(user, [route], "--expires-in", "60s")
    expires = datetime.datetime.fromisoformat(created["expires_date"].replace("Z", "+00:00"))
    assert 58 <= (expires - before).total_seconds() <= 62
    proc = h.cli_proc("key", "create", "--user", user, "--routes", route, "--expires-in", "59s")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ValidationException: "), proc.stderr


# ---------------------------------------------------------------------------- 4. Budgets

def seconds_to_next_utc_midnight():
    now = datetime.datetime.now(datetime.timezone.utc)
    midnight = (now + datetime.timedelta(days=1)).replace(hour=0, minute=0, second=0,
                                                          microsecond=0)
    return (midnight - now).total_seconds()


def test_budget_holds_under_32_concurrent_streams(h, oa, openai_mock):
    # mock-slow costs nothing for input and $1000 per million output tokens: a call with
    # max_tokens=100 reserves exactly $0.10 and, reporting 25 output tokens, spends $0.025.
    cap, reserve, spend = 0.35, 0.10, 0.025
    route, key, key_id = fresh_key(h, oa, "--budget-usd", str(cap), "--budget-period", "day")
    assert cost_micro("mock-slow", 0, 100) == round(reserve * 1e6)
    assert cost_micro("mock-slow", 0, DEFAULT_OUTPUT) == round(spend * 1e6)
    start = threading.Barrier(33)
    results, samples, done = [], [], threading.Event()

    def call():
        client = h.openai(route, key)
        start.wait()
        try:
            stream = client.chat.completions.create(
                model="mock-slow", messages=MESSAGES, max_tokens=100, stream=True,
                extra_headers={"x-mock-delay-ms": "150"})
            text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
            results.append(("ok", text))
        except openai.APIStatusError as e:
            results.append(("refused", e.status_code, dict(e.response.headers), e.body))

    def watch():
        while not done.is_set():
            u = h.usage(key_id)
            samples.append(u["spent_usd"] + u["held_usd"])
            time.sleep(0.05)

    threads = [threading.Thread(target=call) for _ in range(32)]
    watcher = threading.Thread(target=watch)
    for t in threads:
        t.start()
    watcher.start()
    start.wait()
    for t in threads:
        t.join(60)
    done.set()
    watcher.join(30)

    admitted = [r for r in results if r[0] == "ok"]
    refused = [r for r in results if r[0] == "refused"]
    assert len(results) == 32
    assert all(text == REPLY for _, text in admitted)
    # Admitted one after another, each settled before the next: (cap - reserve) / spend + 1.
    most = int((cap - reserve) / spend + 1e-9) + 1
    assert 1 <= len(admitted) <= most, len(admitted)
    for _, status, headers, body in refused:
        assert status == 429 and headers["x-should-retry"] == "false", (status, headers)
        assert body["code"] == "insufficient_quota", body
        assert abs(int(headers["retry-after"]) - seconds_to_next_utc_midnight()) <= 5, headers
    assert samples and max(samples) <= cap + 1e-9, f"spent + held reached {max(samples)}"
    h.wait_records(key_id, 32)
    usage = h.usage(key_id)
    assert usage["held_usd"] == 0
    assert usage["spent_usd"] == pytest.approx(len(admitted) * spend, abs=1e-9)
    assert usage["spent_usd"] <= cap
    assert usage["budget_usd"] == cap


def test_total_budget_refusal_has_no_retry_after(h, oa):
    route, key, key_id = fresh_key(h, oa, "--budget-usd", "0.05", "--budget-period", "total")
    err = refused_once(h, route, key, "mock-slow", 429, openai.RateLimitError)
    assert "retry-after" not in err.response.headers
    assert err.body["code"] == "insufficient_quota"
    [record] = h.records(key_id)
    assert record["errorCode"] == "LimitExceededException"


def test_budget_key_refuses_an_unpriced_model(h, oa, openai_mock):
    route, key, _ = fresh_key(h, oa, "--budget-usd", "10")
    openai_mock.clear()
    with pytest.raises(openai.BadRequestError) as err:
        h.openai(route, key).chat.completions.create(model="no-price-model", messages=MESSAGES)
    assert "no price" in err.value.body["message"]
    assert err.value.response.headers["x-should-retry"] == "false"
    assert openai_mock.requests == []


def test_a_user_with_a_budget_refuses_an_unpriced_model_on_every_key(h, oa, openai_mock):
    route, _ = oa
    user = h.user()
    key = h.key(user, [route])
    h.openai(route, key["key"]).chat.completions.create(model="no-price-model", messages=MESSAGES)
    h.cli("budget", "set", "--user", user, "--budget-usd", "10")
    openai_mock.clear()
    with pytest.raises(openai.BadRequestError) as err:
        h.openai(route, key["key"]).chat.completions.create(model="no-price-model",
                                                            messages=MESSAGES)
    assert "no price" in err.value.body["message"]
    assert openai_mock.requests == []


# ---------------------------------------------------------------------------- 5. Rates

def same_minute():
    """Waits, if need be, so the next few calls fall in one rate window (a minute)."""
    second = time.time() % 60
    if second > 45:
        time.sleep(60.5 - second)


def test_rpm_refuses_the_fourth_call_of_the_minute(h, oa):
    route, key, key_id = fresh_key(h, oa, "--rpm", "3")
    client = h.openai(route, key)
    same_minute()
    for _ in range(3):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    err = refused_once(h, route, key, "gpt-4o-mini", 429, openai.RateLimitError)
    assert err.body["code"] == "rate_limit_exceeded"
    assert "requests-per-minute" in err.body["message"]
    wait = int(err.response.headers["retry-after"])
    assert 1 <= wait <= 60 - int(time.time() % 60) + 1, wait
    assert [r.get("errorCode") for r in h.records(key_id)][0] == "LimitExceededException"


def test_tpm_counts_reserved_then_used_tokens(h, oa):
    route, key, key_id = fresh_key(h, oa, "--tpm", "500")
    client = h.openai(route, key)
    same_minute()
    # One call whose output cap alone is beyond the minute's tokens: refused at once.
    with pytest.raises(openai.RateLimitError) as err_big:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=600)
    assert "tokens-per-minute" in err_big.value.body["message"]
    assert err_big.value.response.headers["x-should-retry"] == "false"
    assert int(err_big.value.response.headers["retry-after"]) >= 1
    admitted = 0
    for _ in range(12):
        try:
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=300)
            admitted += 1
        except openai.RateLimitError as e:
            assert "tokens-per-minute" in e.body["message"]
            assert int(e.response.headers["retry-after"]) >= 1
            break
    else:
        pytest.fail("12 calls of up to ~370 tokens each passed a 500 tokens-per-minute limit")
    assert admitted >= 1, "a call within the limit is admitted"
    used = sum(r["additionalEventData"]["inputTokens"] + r["additionalEventData"]["outputTokens"]
               for r in h.records(key_id) if not r.get("errorCode"))
    assert used <= 500, used


# ---------------------------------------------------------------------------- 6. Key rotation

def test_upstream_key_rotation_reaches_the_next_call(h):
    old, new, newest = (f"sk-rot-{i}-" + uuid.uuid4().hex for i in range(3))
    with MockProvider("openai", key=old) as mock:
        route = h.route(mock)
        user = h.user()
        created = h.key(user, [route["name"]])
        client = h.openai(route["name"], created["key"])
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert mock.requests[-1].headers["authorization"] == f"Bearer {old}"

        h.sm.put_secret_value(SecretId=route["secret_id"], SecretString=new)
        mock.key = new
        time.sleep(1.05)  # the upstream key cache's bound
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert mock.requests[-1].headers["authorization"] == f"Bearer {new}"

        # JSON with an api_key member, as a rotation function would write it.
        h.sm.put_secret_value(SecretId=route["secret_id"],
                              SecretString=json.dumps({"api_key": newest, "org": "x"}))
        mock.key = newest
        time.sleep(1.05)
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert mock.requests[-1].headers["authorization"] == f"Bearer {newest}"
        assert h.usage(created["key_id"])["requests"] == 3


def test_a_route_secret_under_a_customer_key_follows_the_keys_state(h):
    kms = h.server.client("kms")
    cmk = kms.create_key(Description="gateway route key")["KeyMetadata"]
    with MockProvider("openai", key="sk-cmk-" + uuid.uuid4().hex) as mock:
        secret = new_name("ai/cmk")
        h.sm.create_secret(Name=secret, SecretString=mock.key, KmsKeyId=cmk["KeyId"])
        route = h.cli("route", "create", new_name("r"), "--provider", mock.provider,
                      "--secret-id", secret, "--base-url", mock.base_url)
        # The caller holds no KMS permission: it is authorized for the route, never for the
        # secret (the route's creator was, key included).
        created = h.key(h.user(), [route["name"]])
        client = h.openai(route["name"], created["key"])
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert mock.requests[-1].headers["authorization"] == f"Bearer {mock.key}"

        kms.disable_key(KeyId=cmk["KeyId"])
        time.sleep(1.05)  # the upstream key cache's bound
        err = refused_once(h, route["name"], created["key"], "gpt-4o-mini", 503,
                           openai.InternalServerError)
        assert "its KMS key is not usable" in err.response.text
        assert len(mock.requests) == 1

        kms.enable_key(KeyId=cmk["KeyId"])
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert len(mock.requests) == 2


def test_a_secret_without_a_key_is_503(h):
    with MockProvider("openai", key="unused") as mock:
        route = h.route(mock, provider_key=json.dumps({"not_api_key": "x"}))
        created = h.key(h.user(), [route["name"]])
        refused_once(h, route["name"], created["key"], "gpt-4o-mini", 503,
                     openai.InternalServerError)
        assert mock.requests == []


# ---------------------------------------------------------------------------- 7. Disconnects

def test_client_disconnect_mid_stream_is_billed_and_recorded(h, oa, openai_mock):
    route, key, key_id = fresh_key(h, oa)
    stream = h.openai(route, key).chat.completions.create(
        model="mock-slow", messages=MESSAGES, max_tokens=100, stream=True,
        extra_headers={"x-mock-delay-ms": "300"})
    first = next(iter(stream))
    assert first.choices
    stream.close()
    record = h.only_record(key_id)
    data = record["additionalEventData"]
    assert data["clientDisconnected"] is True, data
    assert data["usageSource"] in ("reported", "estimated"), data
    assert data["outputTokens"] > 0 and data["costUsd"] > 0, data
    assert data["costUsd"] == pytest.approx(cost_micro("mock-slow", data["inputTokens"],
                                                       data["outputTokens"]) / 1e6, abs=1e-9)
    usage = h.usage(key_id)
    assert usage["spent_usd"] == pytest.approx(data["costUsd"], abs=1e-9)
    assert usage["held_usd"] == 0


# ---------------------------------------------------------------------------- 8. Upstream errors

def test_provider_429_passes_through_unchanged(h, oa, openai_mock):
    route, key, key_id = fresh_key(h, oa)
    with pytest.raises(openai.RateLimitError) as err:
        h.openai(route, key).chat.completions.create(model="mock-429", messages=MESSAGES)
    headers = err.value.response.headers
    assert headers["retry-after"] == "1"
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert headers["x-request-id"].startswith("req_mock")
    assert "x-should-retry" not in headers, "the provider's answer, not the gateway's"
    assert err.value.body == {"message": "Rate limit reached for requests.", "type": "requests",
                              "param": None, "code": "rate_limit_exceeded"}
    data = h.only_record(key_id)["additionalEventData"]
    assert (data["upstreamStatus"], data["usageSource"], data["costUsd"]) == (429, "none", 0)


def test_anthropic_429_and_500_pass_through(h, an):
    route, key, key_id = fresh_key(h, an)
    client = h.anthropic(route, key)
    with pytest.raises(anthropic.RateLimitError) as err:
        client.messages.create(model="mock-429", max_tokens=5, messages=MESSAGES)
    assert err.value.response.headers["retry-after"] == "1"
    assert err.value.response.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert err.value.body["error"]["type"] == "rate_limit_error"
    with pytest.raises(anthropic.InternalServerError) as err:
        client.messages.create(model="mock-500", max_tokens=5, messages=MESSAGES)
    assert err.value.body["error"] == {"type": "api_error", "message": "Internal server error"}
    statuses = sorted(r["additionalEventData"]["upstreamStatus"]
                      for r in h.wait_records(key_id, 2))
    assert statuses == [429, 500]


def test_provider_500_passes_through(h, oa):
    route, key, key_id = fresh_key(h, oa)
    with pytest.raises(openai.InternalServerError) as err:
        h.openai(route, key).chat.completions.create(model="mock-500", messages=MESSAGES)
    assert err.value.status_code == 500
    assert err.value.body["type"] == "server_error"
    assert h.only_record(key_id)["additionalEventData"]["upstreamStatus"] == 500


def test_cut_stream_raises_in_the_sdk_and_is_recorded(h, oa, an):
    route, key, key_id = fresh_key(h, oa)
    received = []
    with pytest.raises(openai.APIError) as err:
        for chunk in h.openai(route, key).chat.completions.create(
                model="mock-cut", messages=MESSAGES, stream=True):
            received.append(chunk)
    assert received, "the chunks before the cut arrived"
    assert "ended before its final event" in str(err.value)
    data = h.only_record(key_id)["additionalEventData"]
    assert data["upstreamError"], data
    assert data["usageSource"] == "estimated" and data["costUsd"] > 0, data

    aroute, akey, akey_id = fresh_key(h, an)
    with pytest.raises(anthropic.APIError):
        for _ in h.anthropic(aroute, akey).messages.create(
                model="mock-cut", max_tokens=5, messages=MESSAGES, stream=True):
            pass
    assert h.only_record(akey_id)["additionalEventData"]["upstreamError"]


def test_in_band_stream_error_raises_and_is_recorded(h, oa):
    route, key, key_id = fresh_key(h, oa)
    with pytest.raises(openai.APIError) as err:
        for _ in h.openai(route, key).chat.completions.create(
                model="mock-stream-error", messages=MESSAGES, stream=True):
            pass
    assert "server had an error" in str(err.value), "the provider's error reaches the SDK"
    data = h.only_record(key_id)["additionalEventData"]
    assert data["upstreamError"], data
    assert data["upstreamStatus"] == 200


def test_in_band_stream_error_is_recorded_as_such_and_not_doubled(h, oa):
    route, key, key_id = fresh_key(h, oa)
    status, _, body = h.raw("POST", f"/gateway/{route}/v1/chat/completions",
                            {"model": "mock-stream-error", "messages": MESSAGES, "stream": True},
                            {"authorization": f"Bearer {key}",
                             "content-type": "application/json"})
    assert status == 200
    errors = [line for line in body.decode().splitlines() if line.startswith('data: {"error"')]
    data = h.only_record(key_id)["additionalEventData"]
    assert (len(errors), data["upstreamError"]) == (1, "the upstream sent an error event"), (
        errors, data)


def test_cut_json_answer_is_a_502(h, oa):
    route, key, key_id = fresh_key(h, oa)
    counting = Counting()
    with pytest.raises(openai.APIStatusError) as err:
        h.openai(route, key, max_retries=2, http_client=counting.client).chat.completions.create(
            model="mock-cut", messages=MESSAGES)
    assert err.value.status_code == 502
    assert err.value.response.headers["x-should-retry"] == "false"
    assert counting.sent == 1
    assert h.only_record(key_id)["additionalEventData"]["upstreamError"]


# ---------------------------------------------------------------------------- 9. No leak

LEAK_PASSPHRASE = "gateway leak test passphrase"


def test_no_key_leaks_to_logs_data_files_or_the_audit_export():
    """Unique provider keys and gateway keys, through successes, refusals, upstream errors and
    a rotation, on a production-mode server logging at trace: none of them (nor their base64
    or hex) appears in the log, any data file, or the exported audit trail."""
    from test_no_leak import forms

    server = DevServer(env={"TRESOR_LOG": "trace"}, passphrase=LEAK_PASSPHRASE)
    planted = {}

    def plant(kind, value):
        planted[value] = kind
        return value

    oai_key = plant("openai provider key", "sk-proj-LEAKCHECK-" + uuid.uuid4().hex)
    ant_key = plant("anthropic provider key", "sk-ant-LEAKCHECK-" + uuid.uuid4().hex)
    rotated = plant("rotated provider key", "sk-proj-LEAKCHECK-rot-" + uuid.uuid4().hex)
    fake = plant("unknown gateway key", "tgk_LEAKCHECK" + uuid.uuid4().hex)
    try:
        h = Harness(server)
        set_prices(h)
        with MockProvider("openai", key=oai_key) as om, \
                MockProvider("anthropic", key=ant_key, anthropic_auth="x-api-key") as am:
            oroute, aroute = h.route(om), h.route(am)
            user = h.user()
            k = h.key(user, [oroute["name"], aroute["name"]], "--models", "gpt-4o-mini,claude*,mock*")
            gk = plant("gateway key", k["key"])
            oai, ant = h.openai(oroute["name"], gk), h.anthropic(aroute["name"], gk)
            oai.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
            list(oai.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
            oai.chat.completions.create(model="mock-echo-key", messages=MESSAGES)
            ant.messages.create(model="claude-haiku-4-5", max_tokens=5, messages=MESSAGES)
            with ant.messages.stream(model="claude-haiku-4-5", max_tokens=5,
                                     messages=MESSAGES) as s:
                "".join(s.text_stream)
            for model, exc in (("gpt-4.1", openai.PermissionDeniedError),
                               ("mock-401", openai.AuthenticationError),
                               ("mock-500", openai.InternalServerError)):
                with pytest.raises(exc):
                    oai.chat.completions.create(model=model, messages=MESSAGES)
            with pytest.raises(openai.APIError):
                list(oai.chat.completions.create(model="mock-cut", messages=MESSAGES, stream=True))
            with pytest.raises(openai.AuthenticationError):
                h.openai(oroute["name"], fake).chat.completions.create(
                    model="gpt-4o-mini", messages=MESSAGES)
            h.raw("POST", f"/gateway/{aroute['name']}/v1/messages?key={gk}",
                  {"model": "claude-haiku-4-5", "max_tokens": 5, "messages": MESSAGES},
                  {"x-api-key": gk, "anthropic-version": "2023-06-01"})
            h.sm.put_secret_value(SecretId=oroute["secret_id"], SecretString=rotated)
            om.key = rotated
            time.sleep(1.05)
            oai.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
            assert om.requests[-1].headers["authorization"] == f"Bearer {rotated}"
            h.cli("key", "disable", k["key_id"])
            with pytest.raises(openai.AuthenticationError):
                oai.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
            assert len(h.wait_records(k["key_id"], 10)) >= 10
    finally:
        server.stop()  # flush the log and the database before scanning

    needles = {f: kind for value, kind in planted.items() for f in forms(value.encode())}
    scanned, route_seen = 0, False
    for root, _dirs, files in os.walk(server.data_dir):
        for fname in files:
            path = os.path.join(root, fname)
            with open(path, "rb") as fh:
                data = fh.read()
            scanned += 1
            route_seen = route_seen or oroute["name"].encode() in data
            for needle, kind in needles.items():
                assert needle not in data, f"{path} holds the {kind}"
    assert scanned >= 2 and route_seen, "the scan did not see the store"
    log = server.server_log()
    assert "CreateRoute" in log, "the log is being written"
    assert "LEAKCHECK" not in log and "tgk_" + gk[4:] not in log

    out = os.path.join(server.data_dir, "export")
    proc = subprocess.run(
        [tresor_bin(), "audit", "export", "--data-dir", os.path.join(server.data_dir, "data"),
         "--out", out],
        capture_output=True, text=True, env={**os.environ, "TRESOR_PASSPHRASE": LEAK_PASSPHRASE})
    assert proc.returncode == 0, proc.stderr
    records = []
    for root, _dirs, files in os.walk(out):
        for fname in files:
            with open(os.path.join(root, fname), "rb") as fh:
                data = fh.read()
            for needle, kind in needles.items():
                assert needle not in data, f"the export's {fname} holds the {kind}"
            if fname.endswith(".json.gz"):
                data = gzip.decompress(data)
            if fname.endswith((".json", ".json.gz")):
                for needle, kind in needles.items():
                    assert needle not in data, f"the export's {fname} holds the {kind}"
                records += json.loads(data).get("Records", [])
    invokes = [r for r in records if r.get("eventName") == "Invoke"]
    assert len(invokes) >= 12, len(invokes)
    # The unknown key's refusal is in the export, though in no account's lookup-events.
    assert any(r.get("errorCode") == "UnrecognizedClientException" for r in invokes)


# ---------------------------------------------------------------------------- 10. The CLI

ROUTE_FIELDS = {"name", "arn", "provider", "secret_id", "base_url", "allow_http",
                "has_ca_certificate", "description", "created_date", "last_changed_date"}
KEY_FIELDS = {"key_id", "principal", "routes", "models", "budget_usd", "budget_period", "rpm",
              "tpm", "expires_date", "status", "description", "created_date"}


def cli_error(h, *args, creds=None):
    proc = h.cli_proc(*args, creds=creds)
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stdout == ""
    line = proc.stderr.strip()
    assert line.startswith("error: ") and line.count("\n") == 0, proc.stderr
    code, message = line[len("error: "):].split(": ", 1)
    return code, message


def test_cli_routes(h, anthropic_mock):
    name = new_name("cli-route")
    secret = new_name("ai/cli")
    h.sm.create_secret(Name=secret, SecretString=ANTHROPIC_KEY)
    created = h.cli("route", "create", name, "--provider", "anthropic", "--secret-id", secret,
                    "--base-url", anthropic_mock.base_url + "/", "--description", "first")
    assert set(created) == ROUTE_FIELDS
    account = h.server.client("sts").get_caller_identity()["Account"]
    assert created["arn"] == f"arn:aws:gateway:{REGION}:{account}:route/{name}"
    assert (created["provider"], created["secret_id"], created["base_url"]) == (
        "anthropic", secret, anthropic_mock.base_url), "the trailing slash is dropped"
    assert (created["allow_http"], created["has_ca_certificate"]) == (False, False)
    assert created["created_date"].endswith("Z")
    assert h.cli("route", "get", name) == created
    assert name in [r["name"] for r in h.cli("route", "list")]
    updated = h.cli("route", "update", name, "--description", "second")
    assert updated["description"] == "second" and updated["created_date"] == created["created_date"]
    assert cli_error(h, "route", "create", name, "--provider", "anthropic",
                     "--secret-id", secret)[0] == "ResourceExistsException"
    assert cli_error(h, "route", "create", new_name("r"), "--provider", "openai",
                     "--secret-id", secret, "--base-url", "http://10.1.2.3/v1")[0] == (
        "InvalidParameterException")
    assert h.cli("route", "delete", name) == {"name": name, "deleted": True}
    assert cli_error(h, "route", "get", name) == (
        "ResourceNotFoundException", f"Gateway route {name} does not exist.")
    # A bad flag is clap's (exit 2), before any call.
    assert h.cli_proc("route", "create", "x", "--provider", "bogus", "--secret-id", "s").returncode == 2


def test_cli_keys(h, oa):
    route, user = oa
    created = h.cli("key", "create", "--user", user, "--routes", route, "--models",
                    "gpt-4o-mini,gpt-4.1*", "--budget-usd", "50", "--budget-period", "week",
                    "--rpm", "600", "--tpm", "200000", "--expires-in", "90d",
                    "--description", "cli test")
    key, key_id = created.pop("key"), created["key_id"]
    assert key.startswith("tgk_") and len(key) == 47
    assert set(created) == KEY_FIELDS
    assert created["principal"]["type"] == "User" and created["principal"]["name"] == user
    assert created["principal"]["arn"].endswith(f":user/{user}")
    assert (created["routes"], created["models"]) == ([route], ["gpt-4o-mini", "gpt-4.1*"])
    assert (created["budget_usd"], created["budget_period"], created["rpm"], created["tpm"]) == (
        50, "week", 600, 200000)
    assert created["status"] == "Active" and created["expires_date"]
    got = h.cli("key", "get", key_id)
    assert got == created and key not in json.dumps(got)
    listed = h.cli("key", "list", "--user", user)
    assert key_id in [k["key_id"] for k in listed] and key not in json.dumps(listed)
    assert h.cli("key", "disable", key_id)["status"] == "Inactive"
    assert h.cli("key", "enable", key_id)["status"] == "Active"
    updated = h.cli("key", "update", key_id, "--rpm", "10", "--models", "gpt-4o-mini")
    assert (updated["rpm"], updated["models"], updated["tpm"]) == (10, ["gpt-4o-mini"], 200000)
    h.openai(route, key).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    usage = h.cli("key", "usage", key_id)
    assert set(usage) == {"key_id", "budget_period", "period_start", "requests", "input_tokens",
                          "output_tokens", "spent_usd", "held_usd", "budget_usd"}
    assert (usage["requests"], usage["output_tokens"], usage["budget_period"]) == (
        1, DEFAULT_OUTPUT, "week")
    assert h.cli("key", "delete", key_id) == {"key_id": key_id, "deleted": True}
    assert cli_error(h, "key", "get", key_id)[0] == "ResourceNotFoundException"
    # The identity must exist: IAM's own error code.
    assert cli_error(h, "key", "create", "--user", new_name("nobody"), "--routes", route)[0] == (
        "NoSuchEntity")


def test_cli_prices(h):
    model = new_name("cli-model")
    price = h.cli("price", "set", model, "--input-usd", "1.5", "--output-usd", "6",
                  "--cached-input-usd", "0.75")
    assert price == {"model": model, "input_per_million_usd": 1.5,
                     "output_per_million_usd": 6, "cached_input_per_million_usd": 0.75,
                     "source": "override"}
    listed = {p["model"]: p for p in h.cli("price", "list")}
    assert listed[model]["source"] == "override"
    assert listed["gpt-4o-mini"]["source"] == "override"  # this module's own price
    assert h.cli("price", "delete", model) == {"model": model, "deleted": True}
    assert model not in {p["model"] for p in h.cli("price", "list")}
    assert h.cli_proc("price", "set", model, "--input-usd", "-1", "--output-usd", "1").returncode == 2


def test_cli_route_on_a_secret_the_caller_may_not_read_is_denied(h, openai_mock):
    secret = new_name("ai/private")
    arn = h.sm.create_secret(Name=secret, SecretString=OPENAI_KEY)["ARN"]
    admin = new_name("gwadmin")
    h.iam.create_user(UserName=admin)
    h.iam.put_user_policy(UserName=admin, PolicyName="gw", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "gateway:*", "Resource": "*"}]}))
    access = h.iam.create_access_key(UserName=admin)["AccessKey"]
    creds = (access["AccessKeyId"], access["SecretAccessKey"])
    create = ("route", "create", new_name("r"), "--provider", "openai", "--secret-id", secret,
              "--base-url", openai_mock.base_url)
    code, message = cli_error(h, *create, creds=creds)
    assert code == "AccessDeniedException", message
    assert OPENAI_KEY not in message
    # Allowed to read that secret, the same administrator may route it.
    h.iam.put_user_policy(UserName=admin, PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                       "Resource": arn}]}))
    assert h.cli(*create, creds=creds)["secret_id"] == secret


def test_cli_price_list_shows_the_shipped_defaults(h):
    listed = {p["model"]: p for p in h.cli("price", "list")}
    assert listed["gpt-5"]["source"] == "default"
    assert listed["gpt-5"]["input_per_million_usd"] == 1.25


def invoke_counts(h):
    """`tresor_requests_total` of the gateway's Invoke, by outcome, from GET /metrics."""
    with urllib.request.urlopen(h.server.endpoint + "/metrics") as resp:
        text = resp.read().decode()
    counts = {}
    for line in text.splitlines():
        prefix = 'tresor_requests_total{service="gateway",operation="Invoke",outcome="'
        if line.startswith(prefix):
            outcome, _, n = line[len(prefix):].partition('"} ')
            counts[outcome] = int(n)
    return counts, text


def test_gateway_calls_are_counted_in_metrics_without_keys(h, oa, openai_mock):
    route, key, _ = fresh_key(h, oa, "--models", "gpt-4o-mini")
    before, _ = invoke_counts(h)
    h.openai(route, key).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    refused_once(h, route, key, "gpt-4o", 403, openai.PermissionDeniedError)
    after, text = invoke_counts(h)
    assert after.get("ok", 0) == before.get("ok", 0) + 1, (before, after)
    assert after.get("AccessDeniedException", 0) == before.get("AccessDeniedException", 0) + 1
    assert key not in text and OPENAI_KEY not in text


def test_a_users_budget_caps_all_its_keys(h, oa, openai_mock):
    # mock-slow: a call with max_tokens=100 holds $0.10 and spends $0.025. A $0.12 budget on
    # the user admits one call; the second, through another key of the same user (a key with
    # no budget of its own), would take it to $0.125.
    route, _ = oa
    user = h.user()
    first = h.key(user, [route])
    second = h.key(user, [route])
    budget = h.cli("budget", "set", "--user", user, "--budget-usd", "0.12",
                   "--budget-period", "total")
    assert budget["principal"]["name"] == user and budget["budget_usd"] == 0.12
    assert budget["spent_usd"] == 0

    def call(key):
        return h.openai(route, key["key"]).chat.completions.create(
            model="mock-slow", messages=MESSAGES, max_tokens=100,
            extra_headers={"x-mock-delay-ms": "1"})

    call(first)
    err = refused_once(h, route, second["key"], "mock-slow", 429, openai.RateLimitError)
    assert err.body["code"] == "insufficient_quota"
    assert "user or role" in err.body["message"], err.body
    assert "retry-after" not in err.response.headers, "a total budget does not reset"
    got = h.cli("budget", "get", "--user", user)
    assert got["requests"] == 1 and got["held_usd"] == 0
    assert got["spent_usd"] == pytest.approx(0.025, abs=1e-9)
    assert any(b["principal"]["name"] == user for b in h.cli("budget", "list"))
    # Raised: the second key's call goes through, and both keys' spend counts.
    h.cli("budget", "set", "--user", user, "--budget-usd", "1", "--budget-period", "total")
    call(second)
    assert h.cli("budget", "get", "--user", user)["spent_usd"] == pytest.approx(0.05, abs=1e-9)
    # Deleted: no cap; the spend stays recorded on the keys.
    h.cli("budget", "delete", "--user", user)
    assert cli_error(h, "budget", "get", "--user", user)[0] == "ResourceNotFoundException"
    call(second)
    assert h.usage(second["key_id"])["requests"] == 2


def test_budget_cli_refuses_bad_input(h):
    code, _ = cli_error(h, "budget", "set", "--user", new_name("nobody"), "--budget-usd", "5")
    assert code == "NoSuchEntity"
    proc = h.cli_proc("budget", "set", "--budget-usd", "5")
    assert proc.returncode == 2, proc.stderr


def test_every_admin_operation_needs_its_own_permission(h, oa, openai_mock):
    """Each `TresorGateway.*` operation is refused (AccessDeniedException naming its action)
    to a caller allowed everything but that action, and not refused for want of permission
    to a caller allowed that action alone (and reading secrets, which a route needs)."""
    route, owner = oa
    secret = new_name("ai/admin")
    h.sm.create_secret(Name=secret, SecretString=OPENAI_KEY)
    admin = new_name("gwadmin")
    h.iam.create_user(UserName=admin)
    access = h.iam.create_access_key(UserName=admin)["AccessKey"]
    creds = (access["AccessKeyId"], access["SecretAccessKey"])

    def fresh():
        name = h.route(openai_mock)["name"]
        key_id = h.key(owner, [name])["key_id"]
        model = new_name("m")
        h.cli("price", "set", model, "--input-usd", "1", "--output-usd", "1")
        h.cli("budget", "set", "--user", owner, "--budget-usd", "100")
        return name, key_id, model

    cases = {
        "CreateRoute": lambda r, k, m: ("route", "create", new_name("r"), "--provider", "openai",
                                        "--secret-id", secret, "--base-url", openai_mock.base_url),
        "UpdateRoute": lambda r, k, m: ("route", "update", r, "--description", "d"),
        "GetRoute": lambda r, k, m: ("route", "get", r),
        "ListRoutes": lambda r, k, m: ("route", "list"),
        "DeleteRoute": lambda r, k, m: ("route", "delete", r),
        "CreateKey": lambda r, k, m: ("key", "create", "--user", owner, "--routes", r),
        "UpdateKey": lambda r, k, m: ("key", "update", k, "--description", "d"),
        "GetKey": lambda r, k, m: ("key", "get", k),
        "ListKeys": lambda r, k, m: ("key", "list"),
        "DeleteKey": lambda r, k, m: ("key", "delete", k),
        "GetKeyUsage": lambda r, k, m: ("key", "usage", k),
        "PutPrice": lambda r, k, m: ("price", "set", m, "--input-usd", "2", "--output-usd", "2"),
        "ListPrices": lambda r, k, m: ("price", "list"),
        "DeletePrice": lambda r, k, m: ("price", "delete", m),
        "PutBudget": lambda r, k, m: ("budget", "set", "--user", owner, "--budget-usd", "50"),
        "GetBudget": lambda r, k, m: ("budget", "get", "--user", owner),
        "ListBudgets": lambda r, k, m: ("budget", "list"),
        "DeleteBudget": lambda r, k, m: ("budget", "delete", "--user", owner),
    }
    read_secrets = {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}
    for op, args in cases.items():
        action = f"gateway:{op}"
        h.iam.put_user_policy(UserName=admin, PolicyName="gw", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "NotAction": action, "Resource": "*"}]}))
        command = args(*fresh())
        code, message = cli_error(h, *command, creds=creds)
        assert code == "AccessDeniedException", (op, code, message)
        assert action in message, (op, message)
        h.iam.put_user_policy(UserName=admin, PolicyName="gw", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"},
                          read_secrets]}))
        proc = h.cli_proc(*command, creds=creds)
        assert proc.returncode == 0, (op, proc.stderr)
