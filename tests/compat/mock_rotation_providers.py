"""Mock key-management APIs of the AI providers, for the built-in rotators' end-to-end tests: one
threaded HTTP server (stdlib only) on a free loopback port that issues, checks and revokes keys
the way OpenAI, OpenRouter and Anthropic document it, and records every request it receives.

    with MockRotationProviders() as providers:
        old = providers.issue("openai")           # the key a rotation will replace
        ...  # a Tresor `openai` rotator with base URL providers.base_url("openai")
        assert providers.requests_to("/v1/models")[-1].auth == "issued:" + new_key_id

Each provider is served under its own prefix (`base_url("openai")` is `<url>/openai`, and so on)
so records never mix; the documented paths also answer without a prefix (`/v1/models` then
goes to Anthropic when the request carries `x-api-key`, to OpenAI otherwise).

Endpoints (shapes from the providers' API references):
- OpenAI, admin key as `Authorization: Bearer`:
  `POST /v1/organization/projects/{project_id}/service_accounts` `{"name"}` answers the service
  account with its unredacted key in `api_key.value`;
  `DELETE /v1/organization/projects/{project_id}/service_accounts/{id}` answers
  `{"object": "organization.project.service_account.deleted", "id", "deleted": true}` and ends
  the account's key; `GET /v1/models` with an issued key as Bearer lists models.
- OpenRouter, management key as Bearer: `POST /api/v1/keys` `{"name"}` answers 201
  `{"data": {"hash", "name", "label", "disabled", …}, "key"}`; `GET /api/v1/keys` lists keys;
  `DELETE /api/v1/keys/{hash}` answers `{"deleted": true}`; `GET /api/v1/key` with an issued
  key answers that key's `data` (unlike `/api/v1/models` it needs a valid key).
- Anthropic, `x-api-key` and `anthropic-version` (400 without it): `GET /v1/models` with an
  issued key; Admin API `GET|POST /v1/organizations/api_keys/{id}` with the admin key, where a
  POST `{"status": "active"|"inactive"|"archived", "name"?}` updates the key. Anthropic has no
  key-creation API: `issue("anthropic")` stands for a person creating one in the Console.

Keys that were deleted, set inactive or archived are refused with the provider's 401, as are
unknown keys; admin keys are accepted only by their provider's admin endpoints. With
`refuse_key_checks` set, `GET /v1/models` and `GET /api/v1/key` answer 401 to every key (a
failing testSecret). Every request is recorded as method, path (without the provider prefix),
headers minus `authorization` and `x-api-key`, body, and `auth`: which credential it carried,
by role (`admin`, `issued:<key id>`, `unknown`, `none`), never its value.
"""

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROVIDERS = ("openai", "openrouter", "anthropic")
ANTHROPIC_VERSION = "2023-06-01"
OPENAI_MODELS = ["gpt-4o-mini", "gpt-4.1"]
ANTHROPIC_MODELS = ["claude-sonnet-4-5", "claude-haiku-4-5"]
#: Headers never recorded: they carry the credentials.
AUTH_HEADERS = ("authorization", "x-api-key")


@dataclass
class RecordedRequest:
    provider: str
    method: str
    #: Without the provider prefix, without the query string.
    path: str
    #: Lower-case names, credentials removed.
    headers: dict
    body: bytes
    #: `admin`, `issued:<key id>`, `unknown` or `none`.
    auth: str
    #: `bearer`, `x-api-key` or None.
    auth_scheme: str
    received_at: float = field(default_factory=time.monotonic)

    @property
    def json(self):
        return json.loads(self.body) if self.body else None


@dataclass
class Key:
    provider: str
    #: OpenAI: the service account id; OpenRouter: the key hash; Anthropic: `apikey_…`.
    key_id: str
    value: str = field(repr=False)
    name: str
    #: `active`, `inactive`, `archived` or `deleted`.
    status: str = "active"
    created_at: int = field(default_factory=lambda: int(time.time()))

    @property
    def live(self):
        return self.status == "active"


class MockRotationProviders:
    """The three providers' key APIs on 127.0.0.1, started in a thread."""

    def __init__(self, openai_admin_key="sk-admin-mock-openai-0001",
                 openrouter_management_key="sk-or-v1-mgmt-mock-0001",
                 anthropic_admin_key="sk-ant-admin01-mock-0001"):
        self.admin_keys = {
            "openai": openai_admin_key,
            "openrouter": openrouter_management_key,
            "anthropic": anthropic_admin_key,
        }
        self.refuse_key_checks = False
        self.requests = []
        self.keys = []
        self._lock = threading.Lock()
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

    def base_url(self, provider):
        """A rotator's base URL for `provider` (no `/v1`, no `/api/v1`)."""
        if provider not in PROVIDERS:
            raise ValueError(f"provider must be one of {PROVIDERS}")
        return f"{self.url}/{provider}"

    # -- keys ------------------------------------------------------------------------------
    def issue(self, provider, name="seeded", key_id=None, value=None):
        """A key that exists at `provider` (made outside the API: the key a rotation replaces,
        or the one a person created for a manual rotation)."""
        if provider not in PROVIDERS:
            raise ValueError(f"provider must be one of {PROVIDERS}")
        key = _new_key(provider, name)
        if key_id is not None:
            key.key_id = key_id
        if value is not None:
            key.value = value
        with self._lock:
            self.keys.append(key)
        return key

    def key(self, key_id):
        with self._lock:
            return next((k for k in self.keys if k.key_id == key_id), None)

    def keys_of(self, provider):
        with self._lock:
            return [k for k in self.keys if k.provider == provider]

    def _live_key(self, provider, value):
        with self._lock:
            return next((k for k in self.keys
                         if k.provider == provider and k.value == value and k.live), None)

    def _add(self, key):
        with self._lock:
            self.keys.append(key)

    # -- records ---------------------------------------------------------------------------
    def record(self, request):
        with self._lock:
            self.requests.append(request)

    def clear(self):
        with self._lock:
            self.requests.clear()

    def requests_to(self, path, method=None, provider=None):
        with self._lock:
            return [r for r in self.requests if r.path == path
                    and (method is None or r.method == method)
                    and (provider is None or r.provider == provider)]


def _new_key(provider, name):
    if provider == "openai":
        return Key(provider, f"svc_acct_{secrets.token_hex(12)}",
                   f"sk-svcacct-{secrets.token_urlsafe(36)}", name)
    if provider == "openrouter":
        return Key(provider, secrets.token_hex(32), f"sk-or-v1-{secrets.token_hex(32)}", name)
    return Key(provider, f"apikey_01{secrets.token_hex(12)}",
               f"sk-ant-api03-{secrets.token_urlsafe(48)}", name)


def _route(path, headers):
    """(provider, path without prefix) for a request path."""
    for provider in PROVIDERS:
        prefix = f"/{provider}/"
        if path.startswith(prefix):
            return provider, path[len(prefix) - 1:]
    if path.startswith("/api/"):
        return "openrouter", path
    if path.startswith("/v1/organizations/"):
        return "anthropic", path
    if path.startswith("/v1/organization/"):
        return "openai", path
    if path == "/v1/models" and ("x-api-key" in headers or "anthropic-version" in headers):
        return "anthropic", path
    return "openai", path


def _handler_for(mock):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        # -- plumbing ----------------------------------------------------------------------
        def _read_body(self):
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _handle(self):
            body = self._read_body()
            headers = {k.lower(): v for k, v in self.headers.items()}
            provider, path = _route(self.path.split("?")[0], headers)
            credential, scheme = None, None
            bearer = headers.get("authorization", "")
            if bearer.startswith("Bearer "):
                credential, scheme = bearer[len("Bearer "):], "bearer"
            elif "x-api-key" in headers:
                credential, scheme = headers["x-api-key"], "x-api-key"
            self.provider, self.credential, self.scheme = provider, credential, scheme
            request = RecordedRequest(
                provider=provider,
                method=self.command,
                path=path,
                headers={k: v for k, v in headers.items() if k not in AUTH_HEADERS},
                body=body,
                auth=self._auth_label(provider, credential),
                auth_scheme=scheme,
            )
            mock.record(request)
            try:
                getattr(self, f"_{provider}")(request)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def _auth_label(self, provider, credential):
            if credential is None:
                return "none"
            if credential == mock.admin_keys[provider]:
                return "admin"
            with mock._lock:
                key = next((k for k in mock.keys
                            if k.provider == provider and k.value == credential), None)
            return f"issued:{key.key_id}" if key else "unknown"

        do_GET = _handle
        do_POST = _handle
        do_DELETE = _handle

        def _json(self, status, payload):
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self, request):
            try:
                body = json.loads(request.body or b"null")
            except ValueError:
                return None
            return body if isinstance(body, dict) else None

        def _is_admin(self, scheme):
            return self.scheme == scheme and self.credential == mock.admin_keys[self.provider]

        def _issued(self, scheme):
            if self.scheme != scheme or self.credential is None:
                return None
            return mock._live_key(self.provider, self.credential)

        # -- OpenAI ------------------------------------------------------------------------
        def _openai_error(self, status, message, code, kind="invalid_request_error"):
            self._json(status, {"error": {"message": message, "type": kind, "param": None,
                                          "code": code}})

        def _openai_unauthorized(self):
            # Real OpenAI echoes a redacted key; the mock echoes none.
            self._openai_error(401, "Incorrect API key provided.", "invalid_api_key")

        def _openai(self, request):
            parts = request.path.strip("/").split("/")
            if request.method == "GET" and parts == ["v1", "models"]:
                if mock.refuse_key_checks or self._issued("bearer") is None:
                    return self._openai_unauthorized()
                return self._json(200, {"object": "list", "data": [
                    {"id": m, "object": "model", "created": 1_700_000_000, "owned_by": "system"}
                    for m in OPENAI_MODELS]})
            if parts[:3] == ["v1", "organization", "projects"] and len(parts) >= 5 \
                    and parts[4] == "service_accounts":
                if not self._is_admin("bearer"):
                    return self._openai_unauthorized()
                project = parts[3]
                if request.method == "POST" and len(parts) == 5:
                    return self._openai_create(request, project)
                if request.method == "DELETE" and len(parts) == 6:
                    return self._openai_delete(parts[5])
            return self._openai_error(404, "Unknown request URL.", "unknown_url")

        def _openai_create(self, request, project):
            body = self._body(request)
            name = body.get("name") if body else None
            if not isinstance(name, str) or not name:
                return self._openai_error(400, "Missing required parameter: 'name'.",
                                          "missing_required_parameter")
            key = _new_key("openai", name)
            mock._add(key)
            self._json(200, {
                "object": "organization.project.service_account",
                "id": key.key_id,
                "name": name,
                "role": "member",
                "created_at": key.created_at,
                "api_key": {
                    "object": "organization.project.service_account.api_key",
                    "value": key.value,
                    "name": "Secret Key",
                    "created_at": key.created_at,
                    "id": f"key_{secrets.token_hex(8)}",
                },
            })

        def _openai_delete(self, account_id):
            key = mock.key(account_id)
            if key is None or key.provider != "openai" or key.status == "deleted":
                return self._openai_error(404, f"No such service account: {account_id}",
                                          "not_found")
            key.status = "deleted"
            self._json(200, {"object": "organization.project.service_account.deleted",
                             "id": account_id, "deleted": True})

        # -- OpenRouter --------------------------------------------------------------------
        def _openrouter_error(self, status, message):
            self._json(status, {"error": {"code": status, "message": message}})

        def _openrouter_data(self, key):
            return {
                "hash": key.key_id, "name": key.name, "label": key.value[:11] + "..." +
                key.value[-3:], "disabled": key.status != "active", "limit": None,
                "limit_remaining": None, "limit_reset": None, "include_byok_in_limit": False,
                "usage": 0, "usage_daily": 0, "usage_weekly": 0, "usage_monthly": 0,
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(key.created_at)),
                "updated_at": None,
            }

        def _openrouter(self, request):
            parts = request.path.strip("/").split("/")
            if parts[:2] != ["api", "v1"]:
                return self._openrouter_error(404, "Not Found")
            rest = parts[2:]
            if request.method == "GET" and rest == ["key"]:
                key = self._issued("bearer")
                if mock.refuse_key_checks or key is None:
                    return self._openrouter_error(401, "User not found.")
                data = self._openrouter_data(key)
                data.update({"is_free_tier": False, "is_management_key": False,
                             "is_provisioning_key": False})
                return self._json(200, {"data": data})
            if rest[:1] != ["keys"]:
                return self._openrouter_error(404, "Not Found")
            if not self._is_admin("bearer"):
                return self._openrouter_error(401, "Invalid management key")
            if request.method == "POST" and len(rest) == 1:
                body = self._body(request)
                name = body.get("name") if body else None
                if not isinstance(name, str) or not name:
                    return self._openrouter_error(400, "name is required")
                key = _new_key("openrouter", name)
                mock._add(key)
                return self._json(201, {"data": self._openrouter_data(key), "key": key.value})
            if request.method == "GET" and len(rest) == 1:
                return self._json(200, {"data": [self._openrouter_data(k)
                                                 for k in mock.keys_of("openrouter")
                                                 if k.status != "deleted"]})
            if request.method == "DELETE" and len(rest) == 2:
                key = mock.key(rest[1])
                if key is None or key.provider != "openrouter" or key.status == "deleted":
                    return self._openrouter_error(404, "Key not found")
                key.status = "deleted"
                return self._json(200, {"deleted": True})
            return self._openrouter_error(404, "Not Found")

        # -- Anthropic ---------------------------------------------------------------------
        def _anthropic_error(self, status, kind, message):
            self._json(status, {"type": "error", "error": {"type": kind, "message": message},
                                "request_id": f"req_mock{secrets.token_hex(6)}"})

        def _anthropic_key(self, key):
            return {
                "id": key.key_id, "type": "api_key", "name": key.name, "status": key.status,
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(key.created_at)),
                "created_by": {"id": "user_mock", "type": "user"},
                "partial_key_hint": key.value[:16] + "..." + key.value[-4:],
                "workspace_id": None,
            }

        def _anthropic(self, request):
            if not request.headers.get("anthropic-version"):
                return self._anthropic_error(400, "invalid_request_error",
                                             "anthropic-version: header is required")
            parts = request.path.strip("/").split("/")
            if request.method == "GET" and parts == ["v1", "models"]:
                if mock.refuse_key_checks or self._issued("x-api-key") is None:
                    return self._anthropic_error(401, "authentication_error", "invalid x-api-key")
                data = [{"type": "model", "id": m, "display_name": m,
                         "created_at": "2025-09-29T00:00:00Z"} for m in ANTHROPIC_MODELS]
                return self._json(200, {"data": data, "has_more": False,
                                        "first_id": data[0]["id"], "last_id": data[-1]["id"]})
            if parts[:3] == ["v1", "organizations", "api_keys"] and len(parts) == 4:
                if not self._is_admin("x-api-key"):
                    return self._anthropic_error(401, "authentication_error", "invalid x-api-key")
                key = mock.key(parts[3])
                if key is None or key.provider != "anthropic":
                    return self._anthropic_error(404, "not_found_error", "API key not found")
                if request.method == "GET":
                    return self._json(200, self._anthropic_key(key))
                if request.method == "POST":
                    body = self._body(request)
                    if body is None:
                        return self._anthropic_error(400, "invalid_request_error",
                                                     "invalid JSON body")
                    status = body.get("status", key.status)
                    if status not in ("active", "inactive", "archived"):
                        return self._anthropic_error(400, "invalid_request_error",
                                                     "status: invalid value")
                    if key.status == "archived" and status != "archived":
                        return self._anthropic_error(400, "invalid_request_error",
                                                     "an archived key cannot be changed")
                    key.status = status
                    if isinstance(body.get("name"), str):
                        key.name = body["name"]
                    return self._json(200, self._anthropic_key(key))
            return self._anthropic_error(404, "not_found_error", "Not found")

    return Handler
