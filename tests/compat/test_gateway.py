"""The AI gateway through its real clients: the official `openai` and `anthropic` SDKs call a
mock provider (mock_provider.py) through Tresor's `/gateway/<route>/…`, set up with the real
tools (boto3 `secretsmanager` and `iam`, the `tresor gateway` CLI), and every figure is checked
against the audit trail (`cloudtrail.lookup_events`) and `tresor gateway key usage`.

Expected usage comes from the mock's `expected_usage`; expected costs from the prices this
module sets with `tresor gateway price set`, with the gateway's arithmetic (integer micro-USD
per million tokens, rounded up once)."""

import datetime
import http.client
import json
import os
import subprocess
import threading
import time
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
    "mock-slow": (2, 8, None),
    "mock-cut": (2, 8, None),
    # Budget test: input free, so a reservation is exactly max_tokens × the output price.
    "budget-model": (0, 1000, None),
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
