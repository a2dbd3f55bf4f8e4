"""A mock AI provider for the gateway's compat tests: an HTTP server (stdlib only) on a free
loopback port that speaks the documented OpenAI or Anthropic wire format, JSON and SSE, and
records every request it receives (method, path, headers, body) for assertions.

    with MockProvider("openai", key="sk-mock-openai") as upstream:
        ...  # point a Tresor route (or an SDK) at upstream.base_url
        assert upstream.requests[-1].headers["authorization"] == "Bearer sk-mock-openai"

Usage figures are deterministic, so a test can compute the expected cost:
- input tokens: `len(prompt text) // 4 + 7` (see `input_tokens_for`), where the prompt text is
  every text the request carries (system/instructions, message contents, embedding inputs)
  joined with no separator;
- output tokens: `OUTPUT_TOKENS_PER_CHUNK` per content chunk (`CHUNKS`, or the
  `x-mock-chunks` request header) per choice (`n`);
- cached tokens from the `x-mock-cached-tokens` header (OpenAI; part of the input) or
  `x-mock-cache-read` / `x-mock-cache-creation` (Anthropic; reported next to `input_tokens`).
`expected_usage(provider, body, headers)` returns the figures the mock will report.

Behaviours by model name:
- `mock-401`, `mock-429`, `mock-500`: that error in the provider's shape (429 with
  `retry-after` and the rate-limit headers);
- `mock-slow`: a stream (or a JSON answer) with `x-mock-delay-ms` (default 200) between chunks;
- `mock-cut`: the stream stops half-way and the connection closes without the terminal chunk
  of the chunked body (no usage, no `[DONE]`/`message_stop`/`response.completed`); a JSON
  answer is cut short of its Content-Length;
- `mock-stream-error`: an in-band error event half-way through the stream, after a 200;
- `mock-echo-key`: a normal answer whose text names the credential headers received (their
  names only, never a value);
- anything else: a normal answer.

A wrong credential gets the provider's 401 (`Authorization: Bearer` for OpenAI; `x-api-key`,
or `Authorization: Bearer` as the anthropic SDK 2.x sends it, for Anthropic; which one is
accepted is `anthropic_auth`).
"""

import base64
import json
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNKS = ["Hello", " from", " the", " mock", " provider."]
OUTPUT_TOKENS_PER_CHUNK = 5
EMBEDDING_DIMENSIONS = 8
OPENAI_MODELS = ["gpt-4o-mini", "gpt-4.1", "text-embedding-3-small"]
ANTHROPIC_MODELS = ["claude-sonnet-4-5", "claude-haiku-4-5"]
ANTHROPIC_VERSION = "2023-06-01"
CREATED = 1_700_000_000


def input_tokens_for(text):
    """The input tokens the mock reports for a prompt text."""
    return len(text) // 4 + 7


def _texts(value):
    """Every text in a content value: a string, or a list of parts with `text`."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        out = []
        for part in value:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, dict):
                if isinstance(part.get("text"), str):
                    out.append(part["text"])
                elif "content" in part:
                    out.extend(_texts(part["content"]))
        return out
    return []


def prompt_text(provider, path, body):
    """The prompt text of a request, as the mock counts it."""
    texts = []
    if provider == "anthropic":
        texts += _texts(body.get("system"))
        for message in body.get("messages") or []:
            texts += _texts(message.get("content"))
    elif path.endswith("/responses"):
        texts += _texts(body.get("instructions"))
        texts += _texts(body.get("input"))
    elif path.endswith("/embeddings"):
        texts += _texts(body.get("input"))
    else:
        for message in body.get("messages") or []:
            texts += _texts(message.get("content"))
    return "".join(texts)


def _header_int(headers, name):
    try:
        return max(0, int(headers.get(name, "0")))
    except ValueError:
        return 0


def _chunk_count(headers):
    value = _header_int(headers, "x-mock-chunks")
    return value if value > 0 else len(CHUNKS)


def _chunks(headers):
    count = _chunk_count(headers)
    return [CHUNKS[i % len(CHUNKS)] for i in range(count)]


def expected_usage(provider, path, body, headers=None):
    """The usage the mock reports for a request, in the provider's field names."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    inputs = input_tokens_for(prompt_text(provider, path, body))
    # `n` is a chat completions field; the other endpoints answer once.
    n = (body.get("n") or 1) if path.endswith("/chat/completions") else 1
    output = _chunk_count(headers) * OUTPUT_TOKENS_PER_CHUNK * n
    if provider == "anthropic":
        return {
            "input_tokens": inputs,
            "cache_creation_input_tokens": _header_int(headers, "x-mock-cache-creation"),
            "cache_read_input_tokens": _header_int(headers, "x-mock-cache-read"),
            "output_tokens": output,
        }
    cached = min(_header_int(headers, "x-mock-cached-tokens"), inputs)
    if path.endswith("/embeddings"):
        return {"prompt_tokens": inputs, "total_tokens": inputs}
    if path.endswith("/responses"):
        return {
            "input_tokens": inputs,
            "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": output,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": inputs + output,
        }
    return {
        "prompt_tokens": inputs,
        "completion_tokens": output,
        "total_tokens": inputs + output,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }


@dataclass
class RecordedRequest:
    method: str
    path: str
    #: Header names in lower case; a repeated header keeps its last value (see `header_list`).
    headers: dict
    header_list: list
    body: bytes
    received_at: float = field(default_factory=time.monotonic)

    @property
    def json(self):
        return json.loads(self.body) if self.body else None


class _Cut(Exception):
    """Close the connection now, mid-answer."""


class MockProvider:
    """One mock provider (`"openai"` or `"anthropic"`) on 127.0.0.1, started in a thread."""

    def __init__(self, provider, key, anthropic_auth="either"):
        if provider not in ("openai", "anthropic"):
            raise ValueError("provider must be openai or anthropic")
        if anthropic_auth not in ("either", "x-api-key", "bearer"):
            raise ValueError("anthropic_auth must be either, x-api-key or bearer")
        self.provider = provider
        self.key = key
        self.anthropic_auth = anthropic_auth
        self.requests = []
        self._lock = threading.Lock()
        self._counter = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self):
        return self._server.server_address[1]

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self):
        """What an SDK's base_url would be: OpenAI's ends in /v1, Anthropic's does not."""
        return self.url + "/v1" if self.provider == "openai" else self.url

    # -- records ---------------------------------------------------------------------------
    def record(self, request):
        with self._lock:
            self.requests.append(request)

    def clear(self):
        with self._lock:
            self.requests.clear()

    def requests_to(self, path):
        with self._lock:
            return [r for r in self.requests if r.path.split("?")[0] == path]

    def next_id(self):
        with self._lock:
            self._counter += 1
            return self._counter


def _handler_for(mock):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            # Quiet: request lines would carry nothing secret, but tests read their own output.
            pass

        # -- plumbing ----------------------------------------------------------------------
        def _read_body(self):
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                body = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return body
                    body += self.rfile.read(size)
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _handle(self):
            body = self._read_body()
            headers = {k.lower(): v for k, v in self.headers.items()}
            request = RecordedRequest(
                method=self.command,
                path=self.path,
                headers=headers,
                header_list=[(k.lower(), v) for k, v in self.headers.items()],
                body=body,
            )
            mock.record(request)
            self.request_id = f"req_mock{mock.next_id():06d}"
            try:
                if mock.provider == "openai":
                    self._openai(request)
                else:
                    self._anthropic(request)
            except _Cut:
                self.close_connection = True
                try:
                    self.wfile.flush()
                    self.connection.shutdown(2)
                except OSError:
                    pass
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        do_GET = _handle
        do_POST = _handle
        do_DELETE = _handle

        def _common_headers(self):
            if mock.provider == "openai":
                return [
                    ("x-request-id", self.request_id),
                    ("openai-organization", "mock-org"),
                    ("openai-processing-ms", "5"),
                    ("openai-version", "2020-10-01"),
                    ("x-ratelimit-limit-requests", "10000"),
                    ("x-ratelimit-remaining-requests", "9999"),
                    ("x-ratelimit-limit-tokens", "200000"),
                    ("x-ratelimit-remaining-tokens", "199000"),
                    ("x-ratelimit-reset-requests", "6ms"),
                    ("x-ratelimit-reset-tokens", "300ms"),
                ]
            return [
                ("request-id", self.request_id),
                ("x-request-id", self.request_id),
                ("anthropic-organization-id", "mock-org"),
                ("anthropic-ratelimit-requests-limit", "4000"),
                ("anthropic-ratelimit-requests-remaining", "3999"),
                ("anthropic-ratelimit-requests-reset", "2030-01-01T00:00:00Z"),
                ("anthropic-ratelimit-tokens-limit", "400000"),
                ("anthropic-ratelimit-tokens-remaining", "399000"),
                ("anthropic-ratelimit-tokens-reset", "2030-01-01T00:00:00Z"),
                ("anthropic-ratelimit-input-tokens-limit", "200000"),
                ("anthropic-ratelimit-input-tokens-remaining", "199000"),
            ]

        def _json(self, status, payload, extra_headers=(), cut=False):
            data = json.dumps(payload).encode()
            self.send_response(status)
            overridden = {name for name, _ in extra_headers}
            common = [(n, v) for n, v in self._common_headers() if n not in overridden]
            for name, value in common + list(extra_headers):
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if cut:
                self.wfile.write(data[: len(data) // 2])
                raise _Cut()
            self.wfile.write(data)

        def _start_stream(self):
            self.send_response(200)
            for name, value in self._common_headers():
                self.send_header(name, value)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()

        def _send_chunk(self, data):
            if isinstance(data, str):
                data = data.encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def _end_stream(self):
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def _stream(self, request, events, error_event):
            """Sends SSE `events` (strings), honouring the mock-* stream behaviours."""
            model = request.json.get("model")
            self._start_stream()
            half = len(events) // 2
            for i, event in enumerate(events):
                if model in ("mock-cut", "mock-stream-error") and i == half:
                    if model == "mock-cut":
                        raise _Cut()
                    self._send_chunk(error_event)
                    self._end_stream()
                    return
                if model == "mock-slow" and i > 0:
                    time.sleep((_header_int(request.headers, "x-mock-delay-ms") or 200) / 1000)
                self._send_chunk(event)
            self._end_stream()

        def _body_json(self, request):
            try:
                body = json.loads(request.body or b"null")
            except ValueError:
                body = None
            return body if isinstance(body, dict) else None

        # -- OpenAI ------------------------------------------------------------------------
        def _openai_error(self, status, message, kind, code, extra_headers=()):
            self._json(
                status,
                {"error": {"message": message, "type": kind, "param": None, "code": code}},
                extra_headers,
            )

        def _openai(self, request):
            if request.headers.get("authorization") != f"Bearer {mock.key}":
                # Real OpenAI echoes a redacted key; the mock echoes none.
                return self._openai_error(
                    401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"
                )
            path = request.path.split("?")[0]
            if request.method == "GET" and path == "/v1/models":
                return self._json(200, {"object": "list", "data": [
                    {"id": m, "object": "model", "created": CREATED, "owned_by": "mock"}
                    for m in OPENAI_MODELS
                ]})
            if request.method == "GET" and path.startswith("/v1/models/"):
                model = path[len("/v1/models/"):]
                return self._json(200, {"id": model, "object": "model", "created": CREATED,
                                        "owned_by": "mock"})
            if request.method != "POST" or path not in (
                "/v1/chat/completions", "/v1/responses", "/v1/embeddings"
            ):
                return self._openai_error(404, "Unknown path.", "invalid_request_error", None)
            body = self._body_json(request)
            if body is None:
                return self._openai_error(400, "We could not parse the JSON body of your request.",
                                          "invalid_request_error", None)
            if not self._openai_behaviour(body):
                return
            if path == "/v1/chat/completions":
                return self._openai_chat(request, body)
            if path == "/v1/responses":
                return self._openai_responses(request, body)
            return self._openai_embeddings(request, body)

        def _openai_behaviour(self, body):
            """Answers the error models; returns whether to go on normally."""
            model = body.get("model")
            if model == "mock-401":
                self._openai_error(401, "Incorrect API key provided.", "invalid_request_error",
                                   "invalid_api_key")
            elif model == "mock-429":
                self._openai_error(
                    429, "Rate limit reached for requests.", "requests", "rate_limit_exceeded",
                    [("retry-after", "1"), ("x-ratelimit-remaining-requests", "0")],
                )
            elif model == "mock-500":
                self._openai_error(500, "The server had an error while processing your request.",
                                   "server_error", None)
            else:
                return True
            return False

        def _openai_chat(self, request, body):
            usage = expected_usage("openai", "/v1/chat/completions", body, request.headers)
            model = body.get("model")
            chunks = self._reply_chunks(request)
            n = body.get("n") or 1
            ident = f"chatcmpl-{self.request_id}"
            if not body.get("stream"):
                if model == "mock-slow":
                    time.sleep((_header_int(request.headers, "x-mock-delay-ms") or 200) / 1000)
                return self._json(200, {
                    "id": ident, "object": "chat.completion", "created": CREATED, "model": model,
                    "system_fingerprint": "fp_mock",
                    "choices": [{"index": i, "message": {"role": "assistant",
                                 "content": "".join(chunks), "refusal": None},
                                 "logprobs": None, "finish_reason": "stop"} for i in range(n)],
                    "usage": usage,
                }, cut=model == "mock-cut")
            options = body.get("stream_options") or {}
            include_usage = options.get("include_usage") is True

            def chunk(choices, usage_value=None):
                payload = {"id": ident, "object": "chat.completion.chunk", "created": CREATED,
                           "model": model, "system_fingerprint": "fp_mock", "choices": choices}
                if include_usage:
                    payload["usage"] = usage_value
                return f"data: {json.dumps(payload)}\n\n"

            def choice(i, delta, finish=None):
                return {"index": i, "delta": delta, "logprobs": None, "finish_reason": finish}

            events = [chunk([choice(i, {"role": "assistant", "content": "", "refusal": None})
                             for i in range(n)])]
            events += [chunk([choice(i, {"content": text}) for i in range(n)]) for text in chunks]
            events.append(chunk([choice(i, {}, "stop") for i in range(n)]))
            if include_usage:
                events.append(chunk([], usage))
            events.append("data: [DONE]\n\n")
            error = ('data: {"error": {"message": "The server had an error while processing '
                     'your request.", "type": "server_error", "param": null, "code": null}}\n\n')
            self._stream(request, events, error)

        def _reply_chunks(self, request):
            chunks = _chunks(request.headers)
            if (request.json or {}).get("model") == "mock-echo-key":
                names = sorted(h for h in request.headers
                               if h in ("authorization", "x-api-key", "api-key"))
                chunks = [f"credential headers: {', '.join(names)}"] + chunks[1:]
            return chunks

        def _openai_responses(self, request, body):
            usage = expected_usage("openai", "/v1/responses", body, request.headers)
            model = body.get("model")
            chunks = self._reply_chunks(request)
            text = "".join(chunks)
            ident = f"resp_{self.request_id}"
            item_id = f"msg_{self.request_id}"

            def response(status, output, usage_value):
                return {
                    "id": ident, "object": "response", "created_at": CREATED, "status": status,
                    "error": None, "incomplete_details": None, "instructions": body.get("instructions"),
                    "max_output_tokens": body.get("max_output_tokens"), "model": model,
                    "output": output, "parallel_tool_calls": True, "previous_response_id": None,
                    "reasoning": {"effort": None, "summary": None}, "store": True,
                    "temperature": 1.0, "text": {"format": {"type": "text"}},
                    "tool_choice": "auto", "tools": [], "top_p": 1.0, "truncation": "disabled",
                    "usage": usage_value, "user": None, "metadata": {},
                }

            def message(status, content):
                return {"type": "message", "id": item_id, "status": status, "role": "assistant",
                        "content": content}

            part_done = {"type": "output_text", "text": text, "annotations": []}
            if not body.get("stream"):
                return self._json(200, response("completed", [message("completed", [part_done])],
                                                usage), cut=model == "mock-cut")
            seq = iter(range(1_000_000))

            def event(kind, **fields):
                payload = {"type": kind, "sequence_number": next(seq), **fields}
                return f"event: {kind}\ndata: {json.dumps(payload)}\n\n"

            events = [
                event("response.created", response=response("in_progress", [], None)),
                event("response.in_progress", response=response("in_progress", [], None)),
                event("response.output_item.added", output_index=0,
                      item=message("in_progress", [])),
                event("response.content_part.added", item_id=item_id, output_index=0,
                      content_index=0, part={"type": "output_text", "text": "", "annotations": []}),
            ]
            events += [event("response.output_text.delta", item_id=item_id, output_index=0,
                             content_index=0, delta=piece, logprobs=[]) for piece in chunks]
            events += [
                event("response.output_text.done", item_id=item_id, output_index=0,
                      content_index=0, text=text, logprobs=[]),
                event("response.content_part.done", item_id=item_id, output_index=0,
                      content_index=0, part=part_done),
                event("response.output_item.done", output_index=0,
                      item=message("completed", [part_done])),
                event("response.completed",
                      response=response("completed", [message("completed", [part_done])], usage)),
            ]
            error = ('event: error\ndata: {"type": "error", "code": "server_error", "message": '
                     '"The server had an error.", "param": null, "sequence_number": 99}\n\n')
            self._stream(request, events, error)

        def _openai_embeddings(self, request, body):
            usage = expected_usage("openai", "/v1/embeddings", body, request.headers)
            inputs = body.get("input")
            count = len(inputs) if isinstance(inputs, list) and not (
                inputs and isinstance(inputs[0], int)) else 1
            vector = [round(0.125 * (i + 1), 3) for i in range(EMBEDDING_DIMENSIONS)]
            if body.get("encoding_format") == "base64":
                embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            else:
                embedding = vector
            self._json(200, {
                "object": "list", "model": body.get("model"),
                "data": [{"object": "embedding", "index": i, "embedding": embedding}
                         for i in range(count)],
                "usage": usage,
            })

        # -- Anthropic ---------------------------------------------------------------------
        def _anthropic_error(self, status, kind, message, extra_headers=()):
            self._json(status, {"type": "error", "error": {"type": kind, "message": message},
                                "request_id": self.request_id}, extra_headers)

        def _anthropic_authenticated(self, request):
            bearer = request.headers.get("authorization") == f"Bearer {mock.key}"
            api_key = request.headers.get("x-api-key") == mock.key
            if mock.anthropic_auth == "x-api-key":
                return api_key
            if mock.anthropic_auth == "bearer":
                return bearer
            return bearer or api_key

        def _anthropic(self, request):
            if not self._anthropic_authenticated(request):
                return self._anthropic_error(401, "authentication_error", "invalid x-api-key")
            if not request.headers.get("anthropic-version"):
                return self._anthropic_error(400, "invalid_request_error",
                                             "anthropic-version: header is required")
            path = request.path.split("?")[0]
            if request.method == "GET" and path == "/v1/models":
                data = [{"type": "model", "id": m, "display_name": m,
                         "created_at": "2025-09-29T00:00:00Z"} for m in ANTHROPIC_MODELS]
                return self._json(200, {"data": data, "has_more": False,
                                        "first_id": data[0]["id"], "last_id": data[-1]["id"]})
            if request.method != "POST" or path not in (
                "/v1/messages", "/v1/messages/count_tokens"
            ):
                return self._anthropic_error(404, "not_found_error", "Not found")
            body = self._body_json(request)
            if body is None:
                return self._anthropic_error(400, "invalid_request_error", "invalid JSON body")
            model = body.get("model")
            if model == "mock-401":
                return self._anthropic_error(401, "authentication_error", "invalid x-api-key")
            if model == "mock-429":
                return self._anthropic_error(
                    429, "rate_limit_error", "Number of requests has exceeded your rate limit.",
                    [("retry-after", "1"), ("anthropic-ratelimit-requests-remaining", "0")],
                )
            if model == "mock-500":
                return self._anthropic_error(500, "api_error", "Internal server error")
            usage = expected_usage("anthropic", path, body, request.headers)
            if path == "/v1/messages/count_tokens":
                return self._json(200, {"input_tokens": usage["input_tokens"]})
            if "max_tokens" not in body:
                return self._anthropic_error(400, "invalid_request_error",
                                             "max_tokens: Field required")
            chunks = self._reply_chunks(request)
            ident = f"msg_{self.request_id}"
            if not body.get("stream"):
                if model == "mock-slow":
                    time.sleep((_header_int(request.headers, "x-mock-delay-ms") or 200) / 1000)
                return self._json(200, {
                    "id": ident, "type": "message", "role": "assistant", "model": model,
                    "content": [{"type": "text", "text": "".join(chunks)}],
                    "stop_reason": "end_turn", "stop_sequence": None, "usage": usage,
                }, cut=model == "mock-cut")

            def event(kind, payload):
                return f"event: {kind}\ndata: {json.dumps({'type': kind, **payload})}\n\n"

            start_usage = dict(usage, output_tokens=1)
            events = [
                event("message_start", {"message": {
                    "id": ident, "type": "message", "role": "assistant", "model": model,
                    "content": [], "stop_reason": None, "stop_sequence": None,
                    "usage": start_usage}}),
                event("ping", {}),
                event("content_block_start", {"index": 0,
                                              "content_block": {"type": "text", "text": ""}}),
            ]
            events += [event("content_block_delta", {"index": 0, "delta": {
                "type": "text_delta", "text": piece}}) for piece in chunks]
            events += [
                event("content_block_stop", {"index": 0}),
                # Newer API versions repeat the input figures in message_delta: a meter that sums
                # the events instead of merging them double-counts the input.
                event("message_delta", {"delta": {"stop_reason": "end_turn",
                                                  "stop_sequence": None}, "usage": usage}),
                event("message_stop", {}),
            ]
            error = ('event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", '
                     '"message": "Overloaded"}}\n\n')
            self._stream(request, events, error)

    return Handler
