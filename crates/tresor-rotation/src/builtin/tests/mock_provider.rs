//! A mock of the providers' key APIs on loopback (hyper server), in the documented shapes:
//! OpenAI project service accounts and `/v1/models`, OpenRouter `/api/v1/keys` and
//! `/api/v1/key`, Anthropic `/v1/models` and `/v1/organizations/api_keys/{id}`. It issues keys,
//! refuses deleted or inactive ones with 401, and records every request it was asked.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use parking_lot::Mutex;
use serde_json::{json, Value};

/// One request the mock received (headers in lower case, credentials included).
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

struct Issued {
    id: String,
    active: bool,
}

#[derive(Default)]
struct State {
    admin_keys: Vec<String>,
    /// Issued (or seeded) keys by value.
    keys: BTreeMap<String, Issued>,
    received: Vec<Received>,
    /// `GET /v1/models` and `GET /api/v1/key` answer 401 to every key.
    refuse_tests: bool,
    /// Creating a key answers 500 with a body that echoes the credential received.
    fail_create_echoing: bool,
    counter: u32,
}

/// A running mock; it stops when dropped.
pub struct MockProvider {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl MockProvider {
    /// A mock accepting `admin_key` as the admin (management) key.
    pub async fn start(admin_key: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let state = Arc::new(Mutex::new(State {
            admin_keys: vec![admin_key.to_owned()],
            ..State::default()
        }));
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let shared = state.clone();
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = &mut stopped => break,
                };
                let Ok((stream, _)) = accepted else { continue };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let shared = shared.clone();
                        async move { Ok::<_, std::convert::Infallible>(answer(req, &shared).await) }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            state,
            stop: Some(stop),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A key that exists before the test (the one a rotation replaces).
    pub fn seed_key(&self, key: &str, id: &str) {
        self.state.lock().keys.insert(
            key.to_owned(),
            Issued {
                id: id.to_owned(),
                active: true,
            },
        );
    }

    pub fn refuse_tests(&self, on: bool) {
        self.state.lock().refuse_tests = on;
    }

    pub fn fail_create_echoing(&self, on: bool) {
        self.state.lock().fail_create_echoing = on;
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().received.clone()
    }

    /// Requests with this method and path.
    pub fn received_at(&self, method: &str, path: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.method == method && r.path == path)
            .collect()
    }

    /// Whether the key with this provider id is live.
    pub fn active(&self, id: &str) -> Option<bool> {
        self.state
            .lock()
            .keys
            .values()
            .find(|k| k.id == id)
            .map(|k| k.active)
    }

    /// How many keys the mock issued (seeded ones excluded).
    pub fn issued(&self) -> u32 {
        self.state.lock().counter
    }
}

impl Drop for MockProvider {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn reply(status: u16, body: Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

fn openai_error(status: u16, message: &str, code: &str) -> Response<Full<Bytes>> {
    reply(
        status,
        json!({"error": {"message": message, "type": "invalid_request_error", "param": null,
                         "code": code}}),
    )
}

fn anthropic_error(status: u16, kind: &str, message: &str) -> Response<Full<Bytes>> {
    reply(
        status,
        json!({"type": "error", "error": {"type": kind, "message": message}}),
    )
}

async fn answer(req: Request<Incoming>, state: &Mutex<State>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let headers: BTreeMap<String, String> = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let received = Received {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        headers: headers.clone(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let mut state = state.lock();
    state.received.push(received.clone());
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let x_api_key = headers.get("x-api-key").cloned();
    let credential = bearer.clone().or(x_api_key.clone()).unwrap_or_default();
    let is_admin = state.admin_keys.contains(&credential);
    let live = |state: &State, key: &Option<String>| {
        key.as_ref()
            .and_then(|k| state.keys.get(k))
            .is_some_and(|k| k.active)
    };
    let segments: Vec<&str> = received.path.trim_matches('/').split('/').collect();
    match (received.method.as_str(), segments.as_slice()) {
        // OpenAI: project service accounts.
        ("POST", ["v1", "organization", "projects", project, "service_accounts"]) => {
            if state.fail_create_echoing {
                return openai_error(500, &format!("failed for {credential}"), "server_error");
            }
            if bearer.is_none() || !is_admin {
                return openai_error(401, "Incorrect API key provided.", "invalid_api_key");
            }
            let name = received.json()["name"].as_str().unwrap_or("").to_owned();
            state.counter += 1;
            let n = state.counter;
            let id = format!("svc_acct_{project}_{n}");
            let key = format!("sk-svcacct-mock-{n:04}-{}", "k".repeat(20));
            state.keys.insert(
                key.clone(),
                Issued {
                    id: id.clone(),
                    active: true,
                },
            );
            reply(
                200,
                json!({"object": "organization.project.service_account", "id": id, "name": name,
                       "role": "member", "created_at": 1_711_471_533,
                       "api_key": {"object": "organization.project.service_account.api_key",
                                   "value": key, "name": "Secret Key",
                                   "created_at": 1_711_471_533, "id": format!("key_{n}")}}),
            )
        }
        ("DELETE", ["v1", "organization", "projects", _, "service_accounts", id]) => {
            if bearer.is_none() || !is_admin {
                return openai_error(401, "Incorrect API key provided.", "invalid_api_key");
            }
            let id = (*id).to_owned();
            match state.keys.values_mut().find(|k| k.id == id && k.active) {
                Some(k) => {
                    k.active = false;
                    reply(
                        200,
                        json!({"object": "organization.project.service_account.deleted",
                               "id": id, "deleted": true}),
                    )
                }
                None => openai_error(404, "No such service account.", "not_found"),
            }
        }
        // Model listing: OpenAI (Bearer) or Anthropic (x-api-key + anthropic-version).
        ("GET", ["v1", "models"]) => {
            if x_api_key.is_some() && !headers.contains_key("anthropic-version") {
                return anthropic_error(
                    400,
                    "invalid_request_error",
                    "anthropic-version: header is required",
                );
            }
            let key = bearer.clone().or(x_api_key.clone());
            if state.refuse_tests || !live(&state, &key) {
                return openai_error(401, "Incorrect API key provided.", "invalid_api_key");
            }
            reply(
                200,
                json!({"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model"}]}),
            )
        }
        // OpenRouter keys.
        ("POST", ["api", "v1", "keys"]) => {
            if state.fail_create_echoing {
                return reply(
                    500,
                    json!({"error": {"message": format!("no: {credential}")}}),
                );
            }
            if bearer.is_none() || !is_admin {
                return reply(401, json!({"error": {"code": 401, "message": "No auth"}}));
            }
            let name = received.json()["name"].as_str().unwrap_or("").to_owned();
            state.counter += 1;
            let n = state.counter;
            let hash = format!("{n:064x}");
            let key = format!("sk-or-v1-mock{n:04}{}", "0".repeat(40));
            state.keys.insert(
                key.clone(),
                Issued {
                    id: hash.clone(),
                    active: true,
                },
            );
            reply(
                201,
                json!({"data": {"hash": hash, "name": name, "label": "sk-or-v1-moc...000",
                                "disabled": false, "limit": null, "usage": 0,
                                "created_at": "2025-08-24T10:30:00Z", "updated_at": null},
                       "key": key}),
            )
        }
        ("GET", ["api", "v1", "key"]) => {
            if state.refuse_tests || !live(&state, &bearer) {
                return reply(
                    401,
                    json!({"error": {"code": 401, "message": "User not found."}}),
                );
            }
            reply(
                200,
                json!({"data": {"label": "sk-or-v1-moc...000", "limit": null, "usage": 0,
                                "is_free_tier": false, "is_provisioning_key": false}}),
            )
        }
        ("DELETE", ["api", "v1", "keys", hash]) => {
            if bearer.is_none() || !is_admin {
                return reply(401, json!({"error": {"code": 401, "message": "No auth"}}));
            }
            let hash = (*hash).to_owned();
            match state.keys.values_mut().find(|k| k.id == hash && k.active) {
                Some(k) => {
                    k.active = false;
                    reply(200, json!({"deleted": true}))
                }
                None => reply(404, json!({"error": {"code": 404, "message": "Not found"}})),
            }
        }
        // Anthropic Admin API: update an API key.
        ("POST", ["v1", "organizations", "api_keys", id]) => {
            if x_api_key.is_none() || !is_admin {
                return anthropic_error(401, "authentication_error", "invalid x-api-key");
            }
            if !headers.contains_key("anthropic-version") {
                return anthropic_error(
                    400,
                    "invalid_request_error",
                    "anthropic-version: header is required",
                );
            }
            let id = (*id).to_owned();
            let status = received.json()["status"].as_str().unwrap_or("").to_owned();
            match state.keys.values_mut().find(|k| k.id == id) {
                Some(k) => {
                    k.active = status == "active";
                    reply(
                        200,
                        json!({"id": id, "type": "api_key", "name": "mock", "status": status,
                               "created_at": "2024-10-30T23:58:27.427722Z",
                               "created_by": {"id": "user_1", "type": "user"},
                               "partial_key_hint": "sk-ant-api03-R2D...igAA",
                               "workspace_id": null}),
                    )
                }
                None => anthropic_error(404, "not_found_error", "API key not found"),
            }
        }
        _ => openai_error(404, "Unknown path.", "not_found"),
    }
}
