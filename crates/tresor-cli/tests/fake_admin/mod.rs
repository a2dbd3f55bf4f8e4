//! A fake of Tresor's admin APIs for the CLI's tests: a std TCP (or rustls) server that checks
//! each request's SigV4 signature with `tresor-sigv4` (not the CLI's signer) for one service
//! (`gateway`, `rotation`), records what was asked, and answers canned JSON per
//! `X-Amz-Target` ([`gateway`] for `tests/gateway_cli.rs`, [`rotation`] for
//! `tests/rotation_cli.rs`).
#![allow(dead_code)]

pub mod gateway;
pub mod rotation;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tresor_sigv4::{Request, SigningKeyCache};
use tresor_types::{SecretBytes, Timestamp};

pub const ACCESS_KEY_ID: &str = "AKIDGATEWAYTEST";
pub const SECRET_ACCESS_KEY: &str = "secret-access-key-never-printed-7f3a";

/// The canned answer (status, JSON) to a request's `X-Amz-Target` and body.
pub type Answer = Arc<dyn Fn(&str, &Value) -> (u16, Value) + Send + Sync>;

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
    /// When it arrived.
    pub at: Instant,
}

pub struct FakeAdmin {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeAdmin {
    /// A plain-HTTP fake of the gateway admin API expecting signatures for `region`.
    pub fn start(region: &'static str) -> Self {
        Self::start_with(region, None)
    }

    /// A fake of the gateway admin API speaking TLS with `tls` when given.
    pub fn start_with(region: &'static str, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        Self::serve(region, "gateway", tls, Arc::new(gateway::answer))
    }

    /// A plain-HTTP fake of the rotation admin API for `region`, answering as `script` says.
    pub fn rotation(region: &'static str, script: rotation::Script) -> Self {
        Self::serve(region, "rotation", None, rotation::answers(region, script))
    }

    /// A fake expecting signatures for `service` in `region`, answering with `answer`.
    pub fn serve(
        region: &'static str,
        service: &'static str,
        tls: Option<Arc<rustls::ServerConfig>>,
        answer: Answer,
    ) -> Self {
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
                        serve_one(&mut tls_stream, (region, service), &cache, &log, &answer);
                    }
                    None => {
                        let mut plain: TcpStream = stream;
                        serve_one(&mut plain, (region, service), &cache, &log, &answer);
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

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

/// The binary with only the given environment (nothing of the developer's AWS setup).
pub fn tresor(args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tresor"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("run tresor");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    };
    // Whatever happened, the secret access key is never printed.
    assert!(
        !run.stdout.contains(SECRET_ACCESS_KEY) && !run.stderr.contains(SECRET_ACCESS_KEY),
        "secret access key printed"
    );
    run
}

fn serve_one(
    stream: &mut (impl Read + Write),
    (region, service): (&str, &str),
    cache: &SigningKeyCache,
    log: &Mutex<Vec<Seen>>,
    answer: &Answer,
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
        auth.check_scope(region, service)?;
        if auth.access_key_id != ACCESS_KEY_ID {
            return Err(tresor_sigv4::AuthError::SignatureMismatch);
        }
        tresor_sigv4::verify(&request, &auth, &secret, cache)?;
        Ok(auth)
    });
    let (status, answered) = match checked {
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
                at: Instant::now(),
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
    let text = answered.to_string();
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
