//! One call to a provider's API: the URL built from the configured base and escaped path
//! segments, the key in a sensitive header, a JSON body, a timeout over the whole exchange and
//! a bounded answer body.
//!
//! Plain `http://` is accepted only for a loopback host (a local mock or proxy): provider keys
//! travel in these requests' headers.

use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use http::{Method, Request, Uri};
use http_body_util::{BodyExt, Full, Limited};
use tresor_types::SecretBytes;
use zeroize::Zeroizing;

use super::transcript::{Done, Transcript};
use crate::http::Client;

/// How long one provider call may take, answer body included.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(30);
/// The most of an answer body read.
const MAX_ANSWER: usize = 1024 * 1024;

/// How a key is presented.
#[derive(Clone, Copy)]
pub(crate) enum Auth<'a> {
    /// `Authorization: Bearer <key>` (OpenAI, OpenRouter).
    Bearer(&'a SecretBytes),
    /// `x-api-key: <key>` with `anthropic-version: 2023-06-01` (Anthropic).
    Anthropic(&'a SecretBytes),
}

/// The Anthropic API version sent with `x-api-key`.
pub(crate) const ANTHROPIC_VERSION: &str = "2023-06-01";

/// A provider's answer.
pub(crate) struct Answer {
    pub status: u16,
    pub body: Bytes,
}

impl Answer {
    pub fn success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why a call has no answer.
#[derive(Debug)]
pub(crate) enum CallError {
    /// The base URL cannot be used (unparsable, or plain HTTP to a non-loopback host).
    BadBaseUrl(&'static str),
    Timeout,
    /// Connecting or exchanging failed; the detail (no header values) is for the transcript.
    Transport(String),
}

/// One request to a provider: `{base}{path}`.
pub(crate) struct Call<'a> {
    pub method: Method,
    pub base_url: &'a str,
    pub path: String,
    pub auth: Auth<'a>,
    pub json: Option<Vec<u8>>,
}

impl Call<'_> {
    /// `METHOD /path`, for summaries (no host, no key).
    pub fn what(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// Escape one path segment (an id from a provider or from configuration).
pub(crate) fn segment(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Send `call` and read its answer, within `timeout`.
pub(crate) async fn send(
    client: &Client,
    call: &Call<'_>,
    timeout: Duration,
) -> Result<Answer, CallError> {
    let uri = uri(call.base_url, &call.path)?;
    let (name, value) = auth_header(call.auth)?;
    let mut builder = Request::builder()
        .method(call.method.clone())
        .uri(uri)
        .header(name, value)
        .header(http::header::ACCEPT, "application/json");
    if let Auth::Anthropic(_) = call.auth {
        builder = builder.header("anthropic-version", ANTHROPIC_VERSION);
    }
    let body = match &call.json {
        Some(json) => {
            builder = builder.header(CONTENT_TYPE, "application/json");
            Full::new(Bytes::from(json.clone()))
        }
        None => Full::new(Bytes::new()),
    };
    let request = builder
        .body(body)
        .map_err(|_| CallError::BadBaseUrl("the request could not be built from it"))?;
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| CallError::Transport(chain(&e)))?;
        let status = response.status().as_u16();
        let body = Limited::new(response.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| CallError::Transport(format!("reading the answer: {e}")))?
            .to_bytes();
        Ok(Answer { status, body })
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or(Err(CallError::Timeout))
}

/// Send `call` (with [`TIMEOUT`]); no answer becomes the step's failure, noted in `log`.
pub(crate) async fn exchange(
    client: &Client,
    call: &Call<'_>,
    step: &str,
    log: &mut Transcript,
) -> Result<Answer, Done> {
    match send(client, call, TIMEOUT).await {
        Ok(answer) => Ok(answer),
        Err(e) => Err(no_answer(step, &call.what(), e, log)),
    }
}

/// The failure for a call that got no answer.
pub(crate) fn no_answer(step: &str, what: &str, e: CallError, log: &mut Transcript) -> Done {
    match e {
        CallError::Timeout => Done::timeout(format!(
            "{step}: {what} had no answer within {} s",
            TIMEOUT.as_secs()
        )),
        CallError::BadBaseUrl(why) => Done::failed(format!(
            "{step}: the provider base URL is not usable: {why}"
        )),
        CallError::Transport(detail) => {
            log.note(&format!("{what}: {detail}"));
            Done::failed(format!(
                "{step}: {what} failed: no answer from the provider"
            ))
        }
    }
}

/// Send a delete (or deactivate) call: 2xx → Ok, 404 → Ok (already gone), else Failed.
pub(crate) async fn deleted(
    client: &Client,
    call: &Call<'_>,
    step: &str,
    log: &mut Transcript,
) -> Result<Done, Done> {
    let answer = exchange(client, call, step, log).await?;
    let what = call.what();
    match answer.status {
        404 => {
            log.answer(&what, answer.status, &answer.body);
            Ok(Done::ok(format!(
                "{step}: {what} answered HTTP 404: the key was already gone"
            )))
        }
        status if answer.success() => {
            log.answer(&what, status, &answer.body);
            Ok(Done::ok(format!("{step}: {what} answered HTTP {status}")))
        }
        status => Err(super::four_steps::refused(
            step,
            &what,
            status,
            &answer.body,
            log,
        )),
    }
}

fn uri(base: &str, path: &str) -> Result<Uri, CallError> {
    let base = base.trim_end_matches('/');
    let uri: Uri = format!("{base}{path}")
        .parse()
        .map_err(|_| CallError::BadBaseUrl("not a URL"))?;
    match uri.scheme_str() {
        Some("https") => Ok(uri),
        Some("http") if uri.host().is_some_and(tresor_core::net::is_loopback_host) => Ok(uri),
        Some("http") => Err(CallError::BadBaseUrl(
            "plain http is allowed only to a loopback host",
        )),
        _ => Err(CallError::BadBaseUrl("the scheme must be https")),
    }
}

fn auth_header(auth: Auth<'_>) -> Result<(HeaderName, HeaderValue), CallError> {
    let (name, value) = match auth {
        Auth::Bearer(key) => {
            let mut value = Zeroizing::new(b"Bearer ".to_vec());
            value.extend_from_slice(key.expose());
            (http::header::AUTHORIZATION, value)
        }
        Auth::Anthropic(key) => (
            HeaderName::from_static("x-api-key"),
            Zeroizing::new(key.expose().to_vec()),
        ),
    };
    let mut value = HeaderValue::from_bytes(&value)
        .map_err(|_| CallError::BadBaseUrl("the key cannot be sent in a header"))?;
    value.set_sensitive(true);
    Ok((name, value))
}

/// An error and its causes, one line (hyper's errors carry no header values).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn builtin_http_segments_are_escaped() {
        assert_eq!(segment("svc_acct_abc-1.x~"), "svc_acct_abc-1.x~");
        assert_eq!(segment("a/b?c d"), "a%2Fb%3Fc%20d");
    }

    #[test]
    fn builtin_http_plain_http_only_to_loopback() {
        assert!(uri("http://127.0.0.1:9/", "/v1/models").is_ok());
        assert!(uri("http://localhost:9", "/v1/models").is_ok());
        assert!(uri("http://[::1]:9", "/v1/models").is_ok());
        assert_eq!(
            uri("https://api.openai.com/", "/v1/models")
                .unwrap()
                .to_string(),
            "https://api.openai.com/v1/models"
        );
        assert!(matches!(
            uri("http://api.openai.com", "/v1/models"),
            Err(CallError::BadBaseUrl(_))
        ));
        assert!(matches!(
            uri("ftp://127.0.0.1", "/v1/models"),
            Err(CallError::BadBaseUrl(_))
        ));
    }

    #[tokio::test]
    async fn builtin_http_a_call_without_answer_times_out() {
        // A listener that accepts and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let held = tokio::spawn(async move {
            let mut kept = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                kept.push(stream);
            }
        });
        let client = crate::http::Clients::new()
            .unwrap()
            .for_route(None)
            .unwrap();
        let key = SecretBytes::from_slice(b"sk-test");
        let base = format!("http://{addr}");
        let call = Call {
            method: Method::GET,
            base_url: &base,
            path: "/v1/models".into(),
            auth: Auth::Bearer(&key),
            json: None,
        };
        let started = std::time::Instant::now();
        let result = send(&client, &call, Duration::from_millis(300)).await;
        assert!(matches!(result, Err(CallError::Timeout)));
        assert!(started.elapsed() < Duration::from_secs(5));
        let mut log = Transcript::new();
        let done = no_answer("testSecret", &call.what(), CallError::Timeout, &mut log);
        assert_eq!(done.outcome, crate::rotator::Outcome::Timeout);
        assert_eq!(
            done.summary,
            "testSecret: GET /v1/models had no answer within 30 s"
        );
        held.abort();
    }
}
