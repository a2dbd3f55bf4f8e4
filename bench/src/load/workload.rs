//! What each workload sends, and the pre-signed request sets that keep the generator cheap.
//!
//! GetSecretValue and DescribeSecret bodies depend only on the pool secret, so for pools of up
//! to [`PRESIGN_LIMIT`] secrets one request per secret is signed up front and re-signed every
//! [`RESIGN_EVERY`] by a background task; sending the same signed request again is valid SigV4
//! (the server accepts a signature for 15 minutes; there is no nonce). Larger pools, and every
//! write (PutSecretValue, CreateSecret carry a fresh value and ClientRequestToken) and
//! ListSecrets page (its NextToken varies), are signed per request.
//!
//! The gateway workloads send one fixed OpenAI chat completion (built once) with a bearer key:
//! to an AI gateway's route, or to the provider (the mock) directly.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::json;
use tokio::sync::watch;

use super::sign::{SignedRequest, Signer};

/// Pools up to this size are pre-signed; above it the re-signing burst would cost more than
/// signing per request.
pub const PRESIGN_LIMIT: usize = 10_000;
/// How often pre-signed requests are renewed: far inside SigV4's 15-minute window.
pub const RESIGN_EVERY: Duration = Duration::from_secs(60);
/// ListSecrets page size.
const LIST_PAGE: u32 = 100;

/// The request mixes `load` can drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// GetSecretValue on a random pool secret: the hot path.
    Get,
    /// DescribeSecret on a random pool secret.
    Describe,
    /// PutSecretValue (new value, fresh ClientRequestToken) on a random pool secret.
    Put,
    /// CreateSecret with a new unique name each time.
    Create,
    /// ListSecrets pages of 100, following NextToken, starting over at the end.
    List,
    /// 95 % get, 4 % describe, 1 % put.
    Mixed,
    /// An OpenAI chat completion (`gpt-4o-mini`, `max_tokens` 16), answered as one JSON body.
    Gateway,
    /// The same chat completion streamed (SSE): also reports the time to first byte.
    #[serde(rename = "gateway-stream")]
    GatewayStream,
}

impl Workload {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Get => "get",
            Workload::Describe => "describe",
            Workload::Put => "put",
            Workload::Create => "create",
            Workload::List => "list",
            Workload::Mixed => "mixed",
            Workload::Gateway => "gateway",
            Workload::GatewayStream => "gateway-stream",
        }
    }

    /// Whether requests read the pool (which then must exist).
    pub fn uses_pool(self) -> bool {
        !matches!(
            self,
            Workload::Create | Workload::List | Workload::Gateway | Workload::GatewayStream
        )
    }

    /// Whether this is a call through an AI gateway (bearer key, no SigV4, no pool).
    pub fn is_gateway(self) -> bool {
        matches!(self, Workload::Gateway | Workload::GatewayStream)
    }

    /// Whether answers are streamed, so the time to first byte means something.
    pub fn streams(self) -> bool {
        self == Workload::GatewayStream
    }
}

/// Where the gateway workloads send their chat completion, and with which key.
#[derive(Clone)]
pub struct ChatCall {
    /// Origin-form path: `/v1/chat/completions` on the provider or LiteLLM,
    /// `/gateway/<route>/v1/chat/completions` on Tresor.
    pub path: String,
    /// Sent as `Authorization: Bearer …`; never printed.
    pub bearer: String,
}

/// The chat completion every gateway request sends: small and fixed, so what is measured is the
/// gateway, not the prompt.
pub fn chat_body(stream: bool) -> Bytes {
    let mut request = json!({
        "model": "gpt-4o-mini",
        "max_tokens": 16,
        "messages": [{ "role": "user", "content": "Say hello." }],
    });
    if stream {
        request["stream"] = json!(true);
    }
    body(request)
}

/// The one request of a gateway workload.
fn chat_request(
    workload: Workload,
    call: &ChatCall,
    authority: &str,
) -> crate::BenchResult<SignedRequest> {
    if !call.path.starts_with('/') {
        return Err(format!("--path {:?}: must start with /", call.path));
    }
    let path: http::Uri = call
        .path
        .parse()
        .map_err(|_| format!("--path {:?}: not a valid path", call.path))?;
    if call.bearer.is_empty() {
        return Err(format!(
            "the {} workload needs a key (--bearer-key)",
            workload.name()
        ));
    }
    let value = |v: &str, what: &str| {
        http::HeaderValue::from_str(v).map_err(|_| format!("{what}: not a valid header value"))
    };
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::HOST, value(authority, "the endpoint")?);
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    let mut auth = value(&format!("Bearer {}", call.bearer), "the bearer key")?;
    auth.set_sensitive(true);
    headers.insert(http::header::AUTHORIZATION, auth);
    Ok(SignedRequest::unsigned(
        path,
        headers,
        chat_body(workload.streams()),
    ))
}

/// One pre-signed GetSecretValue and DescribeSecret per pool secret.
pub struct Presigned {
    pub get: Vec<SignedRequest>,
    pub describe: Vec<SignedRequest>,
}

/// Everything a connection task needs to make its next request.
pub struct RequestMaker {
    workload: Workload,
    signer: Signer,
    prefix: String,
    secrets: usize,
    value_size: usize,
    presigned: Option<watch::Receiver<Arc<Presigned>>>,
    /// The gateway workloads' one request.
    chat: Option<SignedRequest>,
}

/// The name of pool secret `i`.
pub fn pool_name(prefix: &str, i: usize) -> String {
    format!("{prefix}{i}")
}

/// A random printable value of `size` bytes (never printed by the bench).
pub fn random_value(rng: &mut fastrand::Rng, size: usize) -> String {
    (0..size).map(|_| rng.alphanumeric()).collect()
}

fn body(value: serde_json::Value) -> Bytes {
    Bytes::from(value.to_string())
}

fn sign_pool(signer: &Signer, prefix: &str, secrets: usize) -> crate::BenchResult<Presigned> {
    let mut get = Vec::with_capacity(secrets);
    let mut describe = Vec::with_capacity(secrets);
    for i in 0..secrets {
        let b = body(json!({ "SecretId": pool_name(prefix, i) }));
        get.push(signer.sign("GetSecretValue", b.clone())?);
        describe.push(signer.sign("DescribeSecret", b)?);
    }
    Ok(Presigned { get, describe })
}

impl RequestMaker {
    /// Prepares the workload; for pre-signable pools, signs them now and starts the task that
    /// renews them (it stops when the last `RequestMaker` clone is gone).
    pub fn new(
        workload: Workload,
        signer: Signer,
        prefix: &str,
        secrets: usize,
        value_size: usize,
        sign_each: bool,
        chat: Option<&ChatCall>,
    ) -> crate::BenchResult<Arc<Self>> {
        let chat = match (workload.is_gateway(), chat) {
            (true, Some(call)) => Some(chat_request(workload, call, signer.authority())?),
            (true, None) => {
                return Err(format!(
                    "the {} workload needs a path and a key",
                    workload.name()
                ))
            }
            (false, _) => None,
        };
        if workload.uses_pool() && secrets == 0 {
            return Err(format!(
                "--secrets must be at least 1 for {}",
                workload.name()
            ));
        }
        let presign = workload.uses_pool()
            && workload != Workload::Put
            && secrets <= PRESIGN_LIMIT
            && !sign_each;
        let presigned = if presign {
            let (tx, rx) = watch::channel(Arc::new(sign_pool(&signer, prefix, secrets)?));
            let (signer, prefix) = (signer.clone(), prefix.to_owned());
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        () = tokio::time::sleep(RESIGN_EVERY) => {}
                        () = tx.closed() => return,
                    }
                    let (s, p) = (signer.clone(), prefix.clone());
                    // Signing a pool takes milliseconds: keep it off the connection tasks.
                    let fresh =
                        tokio::task::spawn_blocking(move || sign_pool(&s, &p, secrets)).await;
                    if let Ok(Ok(fresh)) = fresh {
                        if tx.send(Arc::new(fresh)).is_err() {
                            return;
                        }
                    }
                }
            });
            Some(rx)
        } else {
            None
        };
        Ok(Arc::new(Self {
            workload,
            signer,
            prefix: prefix.to_owned(),
            secrets,
            value_size,
            presigned,
            chat,
        }))
    }

    /// The next request of a connection. `list_token` is that connection's ListSecrets
    /// position (None: first page).
    pub fn next(
        &self,
        rng: &mut fastrand::Rng,
        list_token: Option<&str>,
    ) -> crate::BenchResult<SignedRequest> {
        match self.workload {
            Workload::Get => self.read(rng, true),
            Workload::Describe => self.read(rng, false),
            Workload::Put => self.put(rng),
            Workload::Create => self.create(rng),
            Workload::List => self.list(list_token),
            Workload::Mixed => match rng.u32(0..100) {
                0..95 => self.read(rng, true),
                95..99 => self.read(rng, false),
                _ => self.put(rng),
            },
            Workload::Gateway | Workload::GatewayStream => self
                .chat
                .clone()
                .ok_or_else(|| "no chat request prepared".to_owned()),
        }
    }

    fn read(&self, rng: &mut fastrand::Rng, get: bool) -> crate::BenchResult<SignedRequest> {
        let i = rng.usize(0..self.secrets);
        if let Some(rx) = &self.presigned {
            let set = rx.borrow();
            let pool = if get { &set.get } else { &set.describe };
            if let Some(request) = pool.get(i) {
                return Ok(request.clone());
            }
        }
        let operation = if get {
            "GetSecretValue"
        } else {
            "DescribeSecret"
        };
        self.signer.sign(
            operation,
            body(json!({ "SecretId": pool_name(&self.prefix, i) })),
        )
    }

    fn put(&self, rng: &mut fastrand::Rng) -> crate::BenchResult<SignedRequest> {
        let name = pool_name(&self.prefix, rng.usize(0..self.secrets));
        self.signer.sign(
            "PutSecretValue",
            body(json!({
                "SecretId": name,
                "SecretString": random_value(rng, self.value_size),
                "ClientRequestToken": uuid::Uuid::new_v4().to_string(),
            })),
        )
    }

    fn create(&self, rng: &mut fastrand::Rng) -> crate::BenchResult<SignedRequest> {
        self.signer.sign(
            "CreateSecret",
            body(json!({
                "Name": format!("{}c-{}", self.prefix, uuid::Uuid::new_v4()),
                "SecretString": random_value(rng, self.value_size),
                "ClientRequestToken": uuid::Uuid::new_v4().to_string(),
            })),
        )
    }

    fn list(&self, token: Option<&str>) -> crate::BenchResult<SignedRequest> {
        let request = match token {
            Some(t) => json!({ "MaxResults": LIST_PAGE, "NextToken": t }),
            None => json!({ "MaxResults": LIST_PAGE }),
        };
        self.signer.sign("ListSecrets", body(request))
    }

    /// Whether answers carry a NextToken to follow.
    pub fn follows_pages(&self) -> bool {
        self.workload == Workload::List
    }

    /// Whether answers are streamed (the driver then records the time to first byte).
    pub fn streams(&self) -> bool {
        self.workload.streams()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn call(path: &str, bearer: &str) -> ChatCall {
        ChatCall {
            path: path.to_owned(),
            bearer: bearer.to_owned(),
        }
    }

    #[test]
    fn the_chat_request_carries_the_path_the_key_and_the_stream_flag() {
        let key = "tgk_abc123";
        let path = "/gateway/bench/v1/chat/completions";
        let request = chat_request(Workload::GatewayStream, &call(path, key), "127.0.0.1:8750")
            .unwrap()
            .to_http();
        assert_eq!(request.uri().path(), path);
        assert_eq!(request.method(), http::Method::POST);
        let auth = &request.headers()[http::header::AUTHORIZATION];
        assert_eq!(auth.to_str().unwrap(), format!("Bearer {key}"));
        assert!(auth.is_sensitive());
        assert_eq!(request.headers()[http::header::HOST], "127.0.0.1:8750");
        let body: serde_json::Value = serde_json::from_slice(&chat_body(true)).unwrap();
        assert_eq!(body["model"], "gpt-4o-mini");
        assert_eq!(body["max_tokens"], 16);
        assert_eq!(body["stream"], true);
        let plain: serde_json::Value = serde_json::from_slice(&chat_body(false)).unwrap();
        assert!(plain.get("stream").is_none(), "{plain}");
    }

    #[test]
    fn bad_paths_and_keys_are_refused_without_echoing_the_key() {
        let host = "127.0.0.1:1";
        let err = |c: ChatCall| chat_request(Workload::Gateway, &c, host).err().unwrap();
        assert!(err(call("v1/chat/completions", "k")).contains("must start with /"));
        assert!(err(call("/v1/chat completions", "k")).contains("not a valid path"));
        assert!(err(call("/v1/chat/completions", "")).contains("--bearer-key"));
        let e = err(call("/v1/chat/completions", "sk-secret\nvalue"));
        assert!(
            e.contains("not a valid header value") && !e.contains("sk-secret"),
            "{e}"
        );
        // A gateway workload without a call fails early.
        let signer = Signer::new("id", "secret", "us-east-1", host);
        // (It fails before anything is spawned: no runtime needed.)
        let e = RequestMaker::new(Workload::Gateway, signer, "p", 0, 0, false, None)
            .err()
            .unwrap();
        assert!(e.contains("needs a path and a key"), "{e}");
    }
}
