"""The mock provider against the official openai and anthropic SDKs, directly (no Tresor): proof
that it speaks what the SDKs expect, so the gateway's compat tests can trust it as upstream."""

import json
import time
import urllib.request

import anthropic
import openai
import pytest

from mock_provider import (
    CHUNKS,
    EMBEDDING_DIMENSIONS,
    OUTPUT_TOKENS_PER_CHUNK,
    MockProvider,
    expected_usage,
    input_tokens_for,
)

OPENAI_KEY = "sk-mock-openai-0001"
ANTHROPIC_KEY = "sk-ant-mock-0001"
REPLY = "".join(CHUNKS)
MESSAGES = [{"role": "user", "content": "Say hello to the mock, please."}]


@pytest.fixture(scope="module")
def openai_mock():
    with MockProvider("openai", key=OPENAI_KEY) as mock:
        yield mock


@pytest.fixture(scope="module")
def anthropic_mock():
    with MockProvider("anthropic", key=ANTHROPIC_KEY) as mock:
        yield mock


@pytest.fixture
def oai(openai_mock):
    openai_mock.clear()
    return openai.OpenAI(base_url=openai_mock.base_url, api_key=OPENAI_KEY, max_retries=0)


@pytest.fixture
def claude(anthropic_mock):
    anthropic_mock.clear()
    return anthropic.Anthropic(base_url=anthropic_mock.base_url, api_key=ANTHROPIC_KEY,
                               max_retries=0)


# -- OpenAI ----------------------------------------------------------------------------------

def test_openai_chat_json(oai, openai_mock):
    raw = oai.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MESSAGES, max_tokens=50)
    completion = raw.parse()
    assert completion.choices[0].message.content == REPLY
    want_input = input_tokens_for(MESSAGES[0]["content"])
    assert completion.usage.prompt_tokens == want_input
    assert completion.usage.completion_tokens == len(CHUNKS) * OUTPUT_TOKENS_PER_CHUNK
    assert raw.headers["openai-organization"] == "mock-org"
    assert raw.headers["x-request-id"].startswith("req_mock")
    request = openai_mock.requests[-1]
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert request.json["max_tokens"] == 50


def test_openai_chat_stream_without_usage_has_no_usage_chunk(oai):
    chunks = list(oai.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                              stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == REPLY
    assert all(c.choices for c in chunks)
    assert all(getattr(c, "usage", None) is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_openai_chat_stream_with_usage_ends_with_the_usage_chunk(oai):
    chunks = list(oai.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, n=2,
        stream_options={"include_usage": True}, extra_headers={"x-mock-cached-tokens": "3"}))
    last = chunks[-1]
    assert last.choices == []
    assert last.usage.prompt_tokens == input_tokens_for(MESSAGES[0]["content"])
    assert last.usage.completion_tokens == 2 * len(CHUNKS) * OUTPUT_TOKENS_PER_CHUNK
    assert last.usage.prompt_tokens_details.cached_tokens == 3
    assert {choice.index for c in chunks[:-1] for choice in c.choices} == {0, 1}


def test_openai_responses_json_and_stream(oai, openai_mock):
    response = oai.responses.create(model="gpt-4.1", input="Hello there", instructions="Be brief")
    assert response.output_text == REPLY
    assert response.usage.input_tokens == input_tokens_for("Be briefHello there")
    events = list(oai.responses.create(model="gpt-4.1", input="Hello there", stream=True))
    assert events[0].type == "response.created"
    assert events[-1].type == "response.completed"
    assert events[-1].response.usage.output_tokens == len(CHUNKS) * OUTPUT_TOKENS_PER_CHUNK
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == REPLY
    assert "stream_options" not in openai_mock.requests[-1].json
    # The SDK's accumulating helper checks the events' order and ids.
    with oai.responses.stream(model="gpt-4.1", input="Hello there") as stream:
        final = stream.get_final_response()
    assert final.output_text == REPLY
    assert final.usage.total_tokens == final.usage.input_tokens + final.usage.output_tokens


def test_openai_embeddings_and_models(oai):
    # The SDK asks for base64 by default and decodes it.
    result = oai.embeddings.create(model="text-embedding-3-small", input=["one", "two two"])
    assert len(result.data) == 2
    assert len(result.data[0].embedding) == EMBEDDING_DIMENSIONS
    assert result.data[0].embedding[0] == pytest.approx(0.125)
    assert result.usage.prompt_tokens == input_tokens_for("onetwo two")
    floats = oai.embeddings.create(model="text-embedding-3-small", input="x",
                                   encoding_format="float")
    assert floats.data[0].embedding[1] == pytest.approx(0.25)
    assert "gpt-4o-mini" in [m.id for m in oai.models.list()]
    assert oai.models.retrieve("gpt-4.1").id == "gpt-4.1"


def test_openai_wrong_key_is_the_providers_401(openai_mock):
    client = openai.OpenAI(base_url=openai_mock.base_url, api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as err:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert err.value.body["code"] == "invalid_api_key"
    assert "sk-wrong" not in str(err.value)


def test_openai_error_models(oai):
    with pytest.raises(openai.RateLimitError) as err:
        oai.chat.completions.create(model="mock-429", messages=MESSAGES)
    assert err.value.response.headers["retry-after"] == "1"
    assert err.value.response.headers["x-ratelimit-remaining-requests"] == "0"
    with pytest.raises(openai.InternalServerError):
        oai.chat.completions.create(model="mock-500", messages=MESSAGES)
    with pytest.raises(openai.AuthenticationError):
        oai.chat.completions.create(model="mock-401", messages=MESSAGES)


def test_openai_sdk_retries_a_429_as_the_gateway_must_prevent(openai_mock):
    client = openai.OpenAI(base_url=openai_mock.base_url, api_key=OPENAI_KEY, max_retries=1)
    openai_mock.clear()
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="mock-429", messages=MESSAGES)
    assert len(openai_mock.requests_to("/v1/chat/completions")) == 2


def test_openai_cut_stream_raises(oai):
    stream = oai.chat.completions.create(model="mock-cut", messages=MESSAGES, stream=True)
    with pytest.raises(openai.APIError):
        for _ in stream:
            pass


def test_openai_in_band_error_raises_mid_stream(oai):
    received = []
    with pytest.raises(openai.APIError) as err:
        for chunk in oai.chat.completions.create(model="mock-stream-error", messages=MESSAGES,
                                                 stream=True):
            received.append(chunk)
    assert received, "the error came after some chunks"
    assert "server had an error" in str(err.value)
    # The Responses API's own in-band error is a typed `error` event, which the SDK yields
    # rather than raises; the stream then ends without response.completed.
    events = [e.type for e in oai.responses.create(model="mock-stream-error", input="x",
                                                   stream=True)]
    assert events[-1] == "error"
    assert "response.completed" not in events


def test_openai_slow_stream_is_paced(oai):
    started = time.monotonic()
    arrivals = []
    for _ in oai.chat.completions.create(model="mock-slow", messages=MESSAGES, stream=True,
                                         extra_headers={"x-mock-delay-ms": "50"}):
        arrivals.append(time.monotonic() - started)
    assert arrivals[-1] - arrivals[0] >= 0.05 * (len(arrivals) - 2)


def test_openai_echo_key_names_headers_only(oai):
    completion = oai.chat.completions.create(model="mock-echo-key", messages=MESSAGES)
    content = completion.choices[0].message.content
    assert "authorization" in content
    assert OPENAI_KEY not in content


# -- Anthropic -------------------------------------------------------------------------------

def test_anthropic_messages_json(claude, anthropic_mock):
    raw = claude.messages.with_raw_response.create(
        model="claude-sonnet-4-5", max_tokens=100, system="Be kind.", messages=MESSAGES,
        extra_headers={"x-mock-cache-read": "40", "x-mock-cache-creation": "10"})
    message = raw.parse()
    assert message.content[0].text == REPLY
    assert message.usage.input_tokens == input_tokens_for("Be kind." + MESSAGES[0]["content"])
    assert message.usage.cache_read_input_tokens == 40
    assert message.usage.cache_creation_input_tokens == 10
    assert raw.headers["anthropic-ratelimit-requests-remaining"] == "3999"
    request = anthropic_mock.requests[-1]
    assert request.headers["anthropic-version"]
    # anthropic 2.x sends the API key as a Bearer token.
    assert request.headers["authorization"] == f"Bearer {ANTHROPIC_KEY}"


def test_anthropic_stream_usage_matches_the_json_answer(claude):
    body = {"model": "claude-haiku-4-5", "max_tokens": 64, "messages": MESSAGES}
    want = expected_usage("anthropic", "/v1/messages", body)
    with claude.messages.stream(**body) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == REPLY
    assert final.usage.input_tokens == want["input_tokens"]
    assert final.usage.output_tokens == want["output_tokens"]
    events = [e.type for e in claude.messages.create(stream=True, **body)]
    assert events[0] == "message_start" and events[-1] == "message_stop"
    assert "message_delta" in events  # the SDK swallows `ping`


def test_anthropic_count_tokens_and_models(claude):
    counted = claude.messages.count_tokens(model="claude-sonnet-4-5", messages=MESSAGES)
    assert counted.input_tokens == input_tokens_for(MESSAGES[0]["content"])
    assert "claude-sonnet-4-5" in [m.id for m in claude.models.list()]


def test_anthropic_x_api_key_is_accepted_too(anthropic_mock):
    request = urllib.request.Request(
        anthropic_mock.url + "/v1/messages",
        data=json.dumps({"model": "claude-haiku-4-5", "max_tokens": 5,
                         "messages": MESSAGES, "stream": True}).encode(),
        headers={"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01",
                 "content-type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
        assert response.headers["request-id"].startswith("req_mock")
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = response.read().decode()
    assert raw.startswith("event: message_start\n")
    assert "event: ping\n" in raw
    assert raw.endswith("event: message_stop\ndata: {\"type\": \"message_stop\"}\n\n")


def test_anthropic_only_x_api_key_mode(anthropic_mock):
    with MockProvider("anthropic", key=ANTHROPIC_KEY, anthropic_auth="x-api-key") as strict:
        client = anthropic.Anthropic(base_url=strict.base_url, api_key=ANTHROPIC_KEY,
                                     max_retries=0)
        with pytest.raises(anthropic.AuthenticationError):
            client.messages.create(model="claude-haiku-4-5", max_tokens=5, messages=MESSAGES)


def test_anthropic_wrong_key_and_error_models(anthropic_mock, claude):
    wrong = anthropic.Anthropic(base_url=anthropic_mock.base_url, api_key="sk-ant-wrong",
                                max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as err:
        wrong.messages.create(model="claude-haiku-4-5", max_tokens=5, messages=MESSAGES)
    assert err.value.body["error"]["type"] == "authentication_error"
    with pytest.raises(anthropic.RateLimitError) as err:
        claude.messages.create(model="mock-429", max_tokens=5, messages=MESSAGES)
    assert err.value.response.headers["retry-after"] == "1"
    with pytest.raises(anthropic.InternalServerError):
        claude.messages.create(model="mock-500", max_tokens=5, messages=MESSAGES)
    with pytest.raises(anthropic.BadRequestError):
        claude.messages.create(model="claude-haiku-4-5", max_tokens=5, messages=MESSAGES,
                               extra_headers={"anthropic-version": ""})


def test_anthropic_cut_stream_and_in_band_error(claude):
    with pytest.raises(anthropic.APIError):
        for _ in claude.messages.create(model="mock-cut", max_tokens=5, messages=MESSAGES,
                                        stream=True):
            pass
    received = []
    with pytest.raises(anthropic.APIStatusError) as err:
        for event in claude.messages.create(model="mock-stream-error", max_tokens=5,
                                            messages=MESSAGES, stream=True):
            received.append(event.type)
    assert received[0] == "message_start"
    assert "Overloaded" in str(err.value)


def test_requests_are_recorded_with_bodies(anthropic_mock, claude):
    claude.messages.create(model="claude-haiku-4-5", max_tokens=7, messages=MESSAGES,
                           extra_headers={"anthropic-beta": "feature-x"})
    request = anthropic_mock.requests_to("/v1/messages")[-1]
    assert request.json["max_tokens"] == 7
    assert request.headers["anthropic-beta"] == "feature-x"
    assert ("anthropic-beta", "feature-x") in request.header_list
