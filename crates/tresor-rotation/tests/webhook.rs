//! The webhook rotator against an in-test HTTP server that records what it is sent: the
//! signature (checked with `verify`, an independent HMAC and the module doc's Python
//! receiver), forgeries refused, credentials only when asked, statuses, timeouts, and no URL
//! in any summary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use tokio::net::TcpListener;

use tresor_rotation::http::{Client, Clients};
use tresor_rotation::rotator::Outcome;
use tresor_rotation::webhook::{call, sign, verify, VerifyError, WebhookSpec};
use tresor_rotation::{Credentials, Step, StepEvent};
use tresor_types::{SecretBytes, Timestamp};

const SIGNING_SECRET: &[u8] = b"whsec_5c1e0c3a9f2b4d7e8a6b";
const SECRET_KEY: &str = "wJalrXUtnFEMI-K7MDENG-secret-key";
const SESSION_TOKEN: &str = "FwoGZXIvYXdzE-session-token";
const ROTATION_TOKEN: &str = "rotation-token-77aa";
const LONG: Duration = Duration::from_secs(20);

struct Recorded {
    headers: HeaderMap,
    body: Bytes,
}

/// A receiver that records every request and answers `status` with `answer`.
struct Receiver {
    url: String,
    seen: Arc<Mutex<Vec<Recorded>>>,
}

impl Receiver {
    async fn start(status: StatusCode, answer: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/rotate", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let record = Arc::clone(&record);
                let service = service_fn(move |req: Request<Incoming>| {
                    let record = Arc::clone(&record);
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await.unwrap().to_bytes();
                        record.lock().push(Recorded {
                            headers: parts.headers,
                            body,
                        });
                        let mut response = Response::new(Full::new(Bytes::from(answer)));
                        *response.status_mut() = status;
                        Ok::<_, Infallible>(response)
                    }
                });
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { url, seen }
    }

    fn only(&self) -> Recorded {
        let mut seen = self.seen.lock();
        assert_eq!(seen.len(), 1, "expected exactly one request");
        seen.remove(0)
    }
}

fn client() -> Client {
    Clients::new().unwrap().for_route(None).unwrap()
}

fn spec(url: &str, pass_credentials: bool) -> WebhookSpec {
    WebhookSpec {
        url: url.into(),
        signing_secret: SecretBytes::from_slice(SIGNING_SECRET),
        pass_credentials,
    }
}

fn event() -> StepEvent {
    StepEvent {
        step: Step::TestSecret,
        secret_id: "arn:aws:secretsmanager:us-east-1:000000000000:secret:openai-Xy12Ab".into(),
        client_request_token: "f3a3c1de-6a38-4a4e-b5a3-2f1d0c9e8b7a".into(),
        rotation_token: SecretBytes::from_slice(ROTATION_TOKEN.as_bytes()),
    }
}

fn credentials() -> Credentials {
    Credentials {
        access_key_id: "ASIAWEBHOOKROTATOR01".into(),
        secret_access_key: SecretBytes::from_slice(SECRET_KEY.as_bytes()),
        session_token: SecretBytes::from_slice(SESSION_TOKEN.as_bytes()),
        expiration: Timestamp::now().plus_seconds(900),
    }
}

fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

fn header<'a>(r: &'a Recorded, name: &str) -> &'a str {
    r.headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

/// HMAC-SHA-256 (RFC 2104) built from SHA-256 alone, to check the signature without the code
/// that made it.
fn independent_hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&tresor_crypto::sha256(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner: Vec<u8> = block
        .iter()
        .map(|b| b ^ 0x36)
        .chain(message.iter().copied())
        .collect();
    let inner = tresor_crypto::sha256(&inner);
    let outer: Vec<u8> = block.iter().map(|b| b ^ 0x5c).chain(inner).collect();
    tresor_crypto::sha256(&outer)
}

#[tokio::test]
async fn a_delivery_is_signed_and_verifies() {
    let receiver = Receiver::start(StatusCode::OK, "rotated").await;
    let report = call(
        &client(),
        &spec(&receiver.url, false),
        &event(),
        None,
        "us-east-1",
        LONG,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Ok, "{}", report.summary);
    assert_eq!(report.summary, "webhook answered HTTP 200");
    assert_eq!(report.stdout, b"rotated");

    let r = receiver.only();
    assert_eq!(header(&r, "content-type"), "application/json");
    assert_eq!(
        header(&r, "user-agent"),
        concat!("tresor-rotation/", env!("CARGO_PKG_VERSION"))
    );
    let delivery = header(&r, "x-tresor-delivery");
    assert_eq!(delivery.len(), 36, "{delivery}");
    let ts = header(&r, "x-tresor-timestamp");
    let sent_at: i64 = ts.parse().unwrap();
    assert!((now() - sent_at).abs() <= 5);
    let signature = header(&r, "x-tresor-signature");

    assert_eq!(
        verify(SIGNING_SECRET, ts, signature, &r.body, now(), 300),
        Ok(())
    );
    let mut message = ts.as_bytes().to_vec();
    message.push(b'.');
    message.extend_from_slice(&r.body);
    let expected = format!(
        "v1={}",
        hex::encode(independent_hmac(SIGNING_SECRET, &message))
    );
    assert_eq!(signature, expected);
    assert_eq!(sign(SIGNING_SECRET, sent_at, &r.body), expected);

    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body.as_object().unwrap().len(), 4);
    assert_eq!(body["Step"], "testSecret");
    assert_eq!(
        body["SecretId"],
        "arn:aws:secretsmanager:us-east-1:000000000000:secret:openai-Xy12Ab"
    );
    assert_eq!(
        body["ClientRequestToken"],
        "f3a3c1de-6a38-4a4e-b5a3-2f1d0c9e8b7a"
    );
    assert_eq!(body["RotationToken"], ROTATION_TOKEN);

    for name in [
        "x-tresor-aws-access-key-id",
        "x-tresor-aws-secret-access-key",
        "x-tresor-aws-session-token",
        "x-tresor-aws-region",
    ] {
        assert!(r.headers.get(name).is_none(), "{name} sent unasked");
    }
}

#[tokio::test]
async fn forged_modified_and_stale_deliveries_are_refused() {
    let receiver = Receiver::start(StatusCode::NO_CONTENT, "").await;
    let spec = spec(&receiver.url, false);
    let report = call(&client(), &spec, &event(), None, "us-east-1", LONG).await;
    assert_eq!(report.outcome, Outcome::Ok, "{}", report.summary);
    assert_eq!(report.summary, "webhook answered HTTP 204");
    let r = receiver.only();
    let ts = header(&r, "x-tresor-timestamp");
    let signature = header(&r, "x-tresor-signature");
    let now = now();

    // Signed with another key.
    let forged = sign(b"not-the-signing-secret", ts.parse().unwrap(), &r.body);
    assert_eq!(
        verify(SIGNING_SECRET, ts, &forged, &r.body, now, 300),
        Err(VerifyError::BadSignature)
    );
    // The body changed on the way.
    let modified = String::from_utf8(r.body.to_vec())
        .unwrap()
        .replace("testSecret", "finishSecret");
    assert_eq!(
        verify(SIGNING_SECRET, ts, signature, modified.as_bytes(), now, 300),
        Err(VerifyError::BadSignature)
    );
    // Replayed ten minutes later.
    assert_eq!(
        verify(SIGNING_SECRET, ts, signature, &r.body, now + 600, 300),
        Err(VerifyError::StaleTimestamp)
    );
    // A new timestamp on the old signature.
    let later = (now + 600).to_string();
    assert_eq!(
        verify(SIGNING_SECRET, &later, signature, &r.body, now + 600, 300),
        Err(VerifyError::BadSignature)
    );
    assert_eq!(
        verify(SIGNING_SECRET, ts, "sha256=abc", &r.body, now, 300),
        Err(VerifyError::MalformedSignature)
    );
}

#[tokio::test]
async fn credentials_go_along_only_when_asked() {
    let receiver = Receiver::start(StatusCode::OK, "").await;
    let creds = credentials();
    let client = client();
    // Asked and given.
    let asked = spec(&receiver.url, true);
    let report = call(
        &client,
        &asked,
        &event(),
        Some(&creds),
        "eu-central-1",
        LONG,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Ok, "{}", report.summary);
    let r = receiver.only();
    assert_eq!(
        header(&r, "x-tresor-aws-access-key-id"),
        "ASIAWEBHOOKROTATOR01"
    );
    assert_eq!(header(&r, "x-tresor-aws-secret-access-key"), SECRET_KEY);
    assert_eq!(header(&r, "x-tresor-aws-session-token"), SESSION_TOKEN);
    assert_eq!(header(&r, "x-tresor-aws-region"), "eu-central-1");

    // Not given, or not asked for: none of them.
    let unasked = spec(&receiver.url, false);
    for (spec, creds) in [(&asked, None), (&unasked, Some(&creds))] {
        let report = call(&client, spec, &event(), creds, "eu-central-1", LONG).await;
        assert_eq!(report.outcome, Outcome::Ok, "{}", report.summary);
        let r = receiver.only();
        assert!(r.headers.get("x-tresor-aws-secret-access-key").is_none());
        assert!(r.headers.get("x-tresor-aws-session-token").is_none());
        assert!(r.headers.get("x-tresor-aws-access-key-id").is_none());
        assert!(r.headers.get("x-tresor-aws-region").is_none());
    }
    let debug = format!("{asked:?} {:?}", credentials());
    assert!(!debug.contains(SECRET_KEY) && !debug.contains(SESSION_TOKEN));
    assert!(!debug.contains("whsec"), "{debug}");
}

#[tokio::test]
async fn a_non_2xx_answer_is_a_failure_with_its_status() {
    let receiver = Receiver::start(StatusCode::SERVICE_UNAVAILABLE, "maintenance window").await;
    let url = format!("{}?token=hunter2", receiver.url);
    let report = call(
        &client(),
        &spec(&url, false),
        &event(),
        None,
        "us-east-1",
        LONG,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert_eq!(report.summary, "webhook answered HTTP 503");
    assert_eq!(report.stdout, b"maintenance window");
    assert!(!receiver.only().body.is_empty());
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Accepts connections and reads nothing, answers nothing.
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            open.push(stream);
        }
    });
    let url = format!("http://{addr}/hook/s3cr3t-path?token=hunter2");
    let started = Instant::now();
    let report = call(
        &client(),
        &spec(&url, false),
        &event(),
        None,
        "us-east-1",
        Duration::from_millis(700),
    )
    .await;
    let took = started.elapsed();
    held.abort();
    assert_eq!(report.outcome, Outcome::Timeout);
    assert_eq!(report.summary, "webhook timed out after 700 ms");
    assert!(took >= Duration::from_millis(700), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn an_unreachable_receiver_is_a_failure_without_the_url() {
    // A port nothing listens on any more.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let url = format!("http://{addr}/hook/s3cr3t-path?token=hunter2");
    let report = call(
        &client(),
        &spec(&url, false),
        &event(),
        None,
        "us-east-1",
        LONG,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert!(
        report.summary.starts_with("webhook unreachable: "),
        "{}",
        report.summary
    );
    for hidden in ["hunter2", "token=", "s3cr3t", &addr.to_string()] {
        assert!(!report.summary.contains(hidden), "{}", report.summary);
    }
    assert!(report.summary.len() < 200, "{}", report.summary);
}

#[tokio::test]
async fn a_tls_failure_is_a_failure_without_the_url() {
    // The receiver speaks plain HTTP: the TLS handshake fails.
    let receiver = Receiver::start(StatusCode::OK, "").await;
    let url = receiver.url.replace("http://", "https://") + "/s3cr3t-path?token=hunter2";
    let report = call(
        &client(),
        &spec(&url, true),
        &event(),
        Some(&credentials()),
        "us-east-1",
        LONG,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert!(
        report.summary.starts_with("webhook unreachable: "),
        "{}",
        report.summary
    );
    for hidden in ["hunter2", "s3cr3t", "127.0.0.1"] {
        assert!(!report.summary.contains(hidden), "{}", report.summary);
    }
    assert!(receiver.seen.lock().is_empty());
}

#[tokio::test]
async fn plain_http_to_another_host_is_refused_before_sending() {
    let url = "http://hooks.example.com/rotate?token=hunter2";
    let report = call(
        &client(),
        &spec(url, true),
        &event(),
        Some(&credentials()),
        "us-east-1",
        LONG,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert_eq!(
        report.summary,
        "the webhook URL must use https (plain http only to a loopback address)"
    );
}

/// The Python receiver in the module doc, run on a real delivery.
#[tokio::test]
async fn the_documented_python_receiver_accepts_a_delivery_and_refuses_a_forgery() {
    let source =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/webhook.rs")).unwrap();
    let snippet: String = source
        .lines()
        .skip_while(|l| *l != "//! ```python")
        .skip(1)
        .take_while(|l| *l != "//! ```")
        .map(|l| {
            format!(
                "{}\n",
                l.trim_start_matches("//!").strip_prefix(' ').unwrap_or("")
            )
        })
        .collect();
    assert!(snippet.contains("def verify("), "snippet not found");
    assert!(snippet.lines().count() <= 12, "{snippet}");

    let receiver = Receiver::start(StatusCode::OK, "").await;
    let report = call(
        &client(),
        &spec(&receiver.url, false),
        &event(),
        None,
        "us-east-1",
        LONG,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Ok, "{}", report.summary);
    let r = receiver.only();

    // Correctly signed, ten minutes ago.
    let stale_at = now() - 600;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("body.bin"), &r.body).unwrap();
    let harness = format!(
        "{snippet}\n\
         import sys\n\
         body = open(sys.argv[1], 'rb').read()\n\
         h = {{'X-Tresor-Timestamp': sys.argv[2], 'X-Tresor-Signature': sys.argv[3]}}\n\
         secret = sys.argv[4].encode()\n\
         verify(secret, h, body)\n\
         for forged in [(secret, body + b' '), (b'wrong', body)]:\n\
         \x20   try:\n\
         \x20       verify(forged[0], h, forged[1])\n\
         \x20       sys.exit('forgery accepted')\n\
         \x20   except PermissionError:\n\
         \x20       pass\n\
         old = {{'X-Tresor-Timestamp': sys.argv[5], 'X-Tresor-Signature': sys.argv[6]}}\n\
         try:\n\
         \x20   verify(secret, old, body)\n\
         \x20   sys.exit('stale accepted')\n\
         except PermissionError as e:\n\
         \x20   assert str(e) == 'stale timestamp', e\n\
         print('ok')\n"
    );
    std::fs::write(dir.path().join("receiver.py"), harness).unwrap();
    let out = tokio::process::Command::new("python3")
        .arg(dir.path().join("receiver.py"))
        .arg(dir.path().join("body.bin"))
        .arg(header(&r, "x-tresor-timestamp"))
        .arg(header(&r, "x-tresor-signature"))
        .arg(std::str::from_utf8(SIGNING_SECRET).unwrap())
        .arg(stale_at.to_string())
        .arg(sign(SIGNING_SECRET, stale_at, &r.body))
        .output()
        .await
        .expect("python3 is needed by the rotation tests");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"ok\n");
}
