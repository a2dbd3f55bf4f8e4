//! A fake of the gateway admin API for `tests/gateway_cli.rs`: a std TCP (or rustls) server
//! that checks each request's SigV4 signature with `tresor-sigv4` (not the CLI's signer),
//! records what was asked, and answers canned JSON per `X-Amz-Target`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tresor_sigv4::{Request, SigningKeyCache};
use tresor_types::{SecretBytes, Timestamp};

pub const ACCESS_KEY_ID: &str = "AKIDGATEWAYTEST";
pub const SECRET_ACCESS_KEY: &str = "secret-access-key-never-printed-7f3a";
/// The gateway key the fake `CreateKey` returns; the CLI may print it only there.
pub const PLANTED_KEY: &str = "tgk_planted_5d1c8e0b9a7f4e2d";

/// One request the fake received, after its signature was checked.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `TresorGateway.CreateRoute`.
    pub target: String,
    pub body: Value,
    pub region: String,
    pub service: String,
    pub signed_headers: Vec<String>,
    pub session_token: Option<String>,
    pub content_type: String,
}

pub struct FakeAdmin {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeAdmin {
    /// A plain-HTTP fake expecting signatures for `region`.
    pub fn start(region: &'static str) -> Self {
        Self::start_with(region, None)
    }

    /// A fake speaking TLS with `tls` when given.
    pub fn start_with(region: &'static str, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            let cache = SigningKeyCache::new();
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                stream
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .expect("timeout");
                match &tls {
                    Some(config) => {
                        let conn = rustls::ServerConnection::new(config.clone()).expect("tls");
                        let mut tls_stream = rustls::StreamOwned::new(conn, stream);
                        serve_one(&mut tls_stream, region, &cache, &log);
                    }
                    None => {
                        let mut plain: TcpStream = stream;
                        serve_one(&mut plain, region, &cache, &log);
                    }
                }
            }
        });
        Self { addr, seen }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("log").clone()
    }

    /// The only request received; fails the test if there were none or several.
    pub fn only(&self) -> Seen {
        let seen = self.seen();
        assert_eq!(seen.len(), 1, "requests: {seen:?}");
        seen[0].clone()
    }
}

fn serve_one(
    stream: &mut (impl Read + Write),
    region: &str,
    cache: &SigningKeyCache,
    log: &Mutex<Vec<Seen>>,
) {
    let Some((head, body)) = read_request(stream) else {
        return;
    };
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or("").to_owned();
    let target_uri = parts.next().unwrap_or("").to_owned();
    let (path, query) = target_uri.split_once('?').unwrap_or((&target_uri, ""));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let request = Request {
        method: &method,
        path,
        query,
        headers: &headers,
        body: &body,
    };
    let secret = SecretBytes::from_slice(SECRET_ACCESS_KEY.as_bytes());
    let checked = tresor_sigv4::parse(&request, Timestamp::now()).and_then(|auth| {
        auth.check_scope(region, "gateway")?;
        if auth.access_key_id != ACCESS_KEY_ID {
            return Err(tresor_sigv4::AuthError::SignatureMismatch);
        }
        tresor_sigv4::verify(&request, &auth, &secret, cache)?;
        Ok(auth)
    });
    let (status, answer) = match checked {
        Err(e) => (403, json!({"__type": e.aws_code(), "Message": e.message()})),
        Ok(auth) => {
            let target = header("x-amz-target");
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            log.lock().expect("log").push(Seen {
                target: target.clone(),
                body: body.clone(),
                region: auth.region.clone(),
                service: auth.service.clone(),
                signed_headers: auth.signed_headers.clone(),
                session_token: auth.session_token.clone(),
                content_type: header("content-type"),
            });
            if method != "POST" || path != "/" {
                (
                    404,
                    json!({"__type": "UnknownOperationException", "Message": "POST / only"}),
                )
            } else {
                answer(&target, &body)
            }
        }
    };
    let text = answer.to_string();
    let reply = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = stream.write_all(reply.as_bytes());
    let _ = stream.flush();
}

/// The head (as text) and the body (`content-length` bytes) of one request.
fn read_request(stream: &mut impl Read) -> Option<(String, Vec<u8>)> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let split = loop {
        if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let length: usize = head
        .split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = raw[split + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&buf[..n]);
    }
    Some((head, body))
}

const DATE: f64 = 1_700_000_000.25;

pub fn route(name: &str) -> Value {
    json!({
        "Name": name, "Arn": format!("arn:aws:gateway:us-east-1:000000000000:route/{name}"),
        "Provider": "openai", "SecretId": "ai/openai/prod",
        "BaseUrl": "https://api.openai.com/v1", "AllowHttp": false, "HasCaCertificate": false,
        "CreatedDate": DATE, "LastChangedDate": DATE + 60.0
    })
}

pub fn gateway_key(id: &str, status: &str) -> Value {
    json!({
        "KeyId": id,
        "Principal": {"Type": "User", "Name": "chat-service",
                      "Arn": "arn:aws:iam::000000000000:user/chat-service"},
        "Routes": ["openai"], "Models": ["gpt-4o-mini", "gpt-4.1*"],
        "BudgetUsd": 50.0, "BudgetPeriod": "month", "Rpm": 600, "Tpm": 200000,
        "ExpiresDate": DATE + 90.0 * 86400.0, "Status": status, "CreatedDate": DATE
    })
}

/// The canned answer to `target`: shaped as the admin API contract says, echoing the
/// request's identifiers; `missing` names a resource that does not exist.
fn answer(target: &str, body: &Value) -> (u16, Value) {
    let name = body["Name"].as_str().unwrap_or("");
    let key_id = body["KeyId"].as_str().unwrap_or("");
    if name == "missing" || key_id == "gk-missing" {
        let what = if name.is_empty() { key_id } else { name };
        return (
            404,
            json!({"__type": "ResourceNotFoundException", "Message": format!("{what} does not exist")}),
        );
    }
    let operation = target.strip_prefix("TresorGateway.").unwrap_or("");
    let ok = match operation {
        "CreateRoute" | "UpdateRoute" | "GetRoute" => json!({ "Route": route(name) }),
        "ListRoutes" => json!({ "Routes": [route("openai"), route("vllm")] }),
        "DeleteRoute" | "DeleteKey" | "DeletePrice" => json!({}),
        "CreateKey" => json!({
            "Key": PLANTED_KEY, "KeyId": "gk-0001", "GatewayKey": gateway_key("gk-0001", "Active")
        }),
        "GetKey" => json!({ "GatewayKey": gateway_key(key_id, "Active") }),
        "UpdateKey" => json!({
            "GatewayKey": gateway_key(key_id, body["Status"].as_str().unwrap_or("Active"))
        }),
        "ListKeys" => json!({ "GatewayKeys": [gateway_key("gk-0001", "Active"),
                                              gateway_key("gk-0002", "Inactive")] }),
        "GetKeyUsage" => json!({
            "KeyId": key_id, "BudgetPeriod": "month", "PeriodStart": 1_698_796_800.0,
            "Requests": 42, "InputTokens": 1200, "OutputTokens": 3400,
            "SpentUsd": 0.0123, "HeldUsd": 0.5, "BudgetUsd": 50.0
        }),
        "PutPrice" => json!({ "Price": {
            "Model": body["Model"], "InputPerMillionUsd": body["InputPerMillionUsd"],
            "OutputPerMillionUsd": body["OutputPerMillionUsd"],
            "CachedInputPerMillionUsd": body.get("CachedInputPerMillionUsd")
        }}),
        "ListPrices" => json!({ "Prices": [
            {"Model": "gpt-4o-mini", "InputPerMillionUsd": 0.15, "OutputPerMillionUsd": 0.6,
             "CachedInputPerMillionUsd": 0.075, "Source": "default"},
            {"Model": "my-model", "InputPerMillionUsd": 1.0, "OutputPerMillionUsd": 2.0,
             "Source": "override"}
        ]}),
        _ => {
            return (
                400,
                json!({"__type": "UnknownOperationException", "Message": "unknown operation"}),
            )
        }
    };
    (200, ok)
}
