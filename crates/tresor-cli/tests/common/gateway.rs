//! The AI gateway from the end-to-end tests: its CLI against a server, and one chat
//! completion through a server's gateway over plain HTTP/1.1.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use super::Creds;

const TIMEOUT: Duration = Duration::from_secs(30);

/// A policy that lets a user call the route `openai`.
pub const ALLOW_INVOKE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"gateway:Invoke","Resource":"arn:aws:gateway:*:*:route/openai"}]}"#;

/// `tresor gateway <args> --output json` against `endpoint` as `creds`.
pub fn cli(endpoint: &str, creds: &Creds, args: &[&str]) -> serde_json::Value {
    let mut cmd = super::tresor_command();
    cmd.arg("gateway")
        .args(args)
        .args(["--output", "json"])
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", &creds.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &creds.secret_access_key)
        .env("AWS_REGION", "us-east-1");
    let out = super::run_with_timeout(cmd, TIMEOUT);
    assert!(
        out.status.success(),
        "tresor gateway {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

/// One chat completion (`gpt-4o-mini`, `max_tokens` 5) through the route `openai` of the
/// server at `addr` with the key `token`: the status, and whether the answer said
/// `x-should-retry: false`.
pub fn chat(addr: SocketAddr, token: &str) -> (u16, bool) {
    let body =
        r#"{"model":"gpt-4o-mini","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#;
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    write!(
        stream,
        "POST /gateway/openai/v1/chat/completions HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let no_retry = String::from_utf8_lossy(&raw)
        .to_ascii_lowercase()
        .contains("\r\nx-should-retry: false\r\n");
    (super::parse_http_response(&raw).0, no_retry)
}
