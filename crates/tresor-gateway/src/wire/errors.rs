//! The gateway's own refusals, in the provider's error shape, so the official SDKs raise their
//! usual exception classes (they choose the class by HTTP status, and show the body's
//! `message`).
//!
//! Error types are the providers' published ones: Anthropic `invalid_request_error`,
//! `authentication_error`, `permission_error`, `not_found_error`, `rate_limit_error`,
//! `api_error`, `overloaded_error`; OpenAI `invalid_request_error` (with code
//! `invalid_api_key` for a bad key), `insufficient_quota`, `server_error`, and the rate-limit
//! code `rate_limit_exceeded`.
//!
//! The message is the caller's; it must never carry a key or any request content.

use bytes::Bytes;
use serde_json::{json, Value};

use super::Provider;

/// Why the gateway refuses a call (or stops a stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// No gateway key, an unknown, disabled or expired one (401).
    Authentication,
    /// The key or its principal may not use this route or model (403).
    Permission,
    /// No such route (404).
    NotFound,
    /// The request cannot be read (400).
    InvalidRequest,
    /// A request- or token-per-minute limit (429; waiting helps).
    RateLimited,
    /// The budget is spent (429; waiting helps only when the period resets).
    BudgetExceeded,
    /// The upstream could not be reached or answered nonsense (502).
    Upstream,
    /// The gateway cannot decide now, e.g. the budget store is unreachable (503).
    Unavailable,
}

impl ErrorKind {
    /// The HTTP status the refusal is answered with.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::Authentication => 401,
            ErrorKind::Permission => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::InvalidRequest => 400,
            ErrorKind::RateLimited | ErrorKind::BudgetExceeded => 429,
            ErrorKind::Upstream => 502,
            ErrorKind::Unavailable => 503,
        }
    }

    /// OpenAI's `type` and `code` for this refusal.
    fn openai_type_and_code(self) -> (&'static str, Option<&'static str>) {
        match self {
            ErrorKind::Authentication => ("invalid_request_error", Some("invalid_api_key")),
            ErrorKind::Permission => ("invalid_request_error", Some("permission_denied")),
            ErrorKind::NotFound => ("invalid_request_error", Some("not_found")),
            ErrorKind::InvalidRequest => ("invalid_request_error", None),
            ErrorKind::RateLimited => ("requests", Some("rate_limit_exceeded")),
            ErrorKind::BudgetExceeded => ("insufficient_quota", Some("insufficient_quota")),
            ErrorKind::Upstream => ("server_error", Some("upstream_error")),
            ErrorKind::Unavailable => ("server_error", Some("service_unavailable")),
        }
    }

    /// Anthropic's `type` for this refusal.
    fn anthropic_type(self) -> &'static str {
        match self {
            ErrorKind::Authentication => "authentication_error",
            ErrorKind::Permission => "permission_error",
            ErrorKind::NotFound => "not_found_error",
            ErrorKind::InvalidRequest => "invalid_request_error",
            ErrorKind::RateLimited | ErrorKind::BudgetExceeded => "rate_limit_error",
            ErrorKind::Upstream => "api_error",
            ErrorKind::Unavailable => "overloaded_error",
        }
    }
}

fn error_value(provider: Provider, kind: ErrorKind, message: &str) -> Value {
    match provider {
        Provider::OpenAi => {
            let (kind, code) = kind.openai_type_and_code();
            json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
        }
        Provider::Anthropic => {
            json!({"type": "error", "error": {"type": kind.anthropic_type(), "message": message}})
        }
    }
}

/// A provider-shaped JSON error body. OpenAI:
/// `{"error":{"message":…,"type":…,"param":null,"code":…}}`; Anthropic:
/// `{"type":"error","error":{"type":…,"message":…}}`.
pub fn error_body(provider: Provider, kind: ErrorKind, message: &str) -> Vec<u8> {
    error_value(provider, kind, message)
        .to_string()
        .into_bytes()
}

/// An in-band SSE error event that makes the official SDK raise mid-stream: OpenAI
/// `data: {"error":{…}}` (the SDK raises on any `data:` object with an `error` key, chat and
/// Responses alike), Anthropic `event: error` with the error body as data.
pub fn stream_error_event(provider: Provider, kind: ErrorKind, message: &str) -> Bytes {
    let data = error_value(provider, kind, message);
    let event = match provider {
        Provider::OpenAi => format!("data: {data}\n\n"),
        Provider::Anthropic => format!("event: error\ndata: {data}\n\n"),
    };
    Bytes::from(event)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::wire::{Endpoint, StreamMeter};

    const ALL: [ErrorKind; 8] = [
        ErrorKind::Authentication,
        ErrorKind::Permission,
        ErrorKind::NotFound,
        ErrorKind::InvalidRequest,
        ErrorKind::RateLimited,
        ErrorKind::BudgetExceeded,
        ErrorKind::Upstream,
        ErrorKind::Unavailable,
    ];

    #[test]
    fn statuses() {
        let got: Vec<u16> = ALL.iter().map(|k| k.status()).collect();
        assert_eq!(got, vec![401, 403, 404, 400, 429, 429, 502, 503]);
    }

    #[test]
    fn openai_shape() {
        let body = error_body(
            Provider::OpenAi,
            ErrorKind::BudgetExceeded,
            "budget \"month\" spent",
        );
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            json!({"error": {"message": "budget \"month\" spent", "type": "insufficient_quota",
                "param": null, "code": "insufficient_quota"}})
        );
        let v: Value = serde_json::from_slice(&error_body(
            Provider::OpenAi,
            ErrorKind::Authentication,
            "m",
        ))
        .unwrap();
        assert_eq!(v["error"]["code"], "invalid_api_key");
        let v: Value = serde_json::from_slice(&error_body(
            Provider::OpenAi,
            ErrorKind::InvalidRequest,
            "m",
        ))
        .unwrap();
        assert_eq!(v["error"]["code"], Value::Null);
    }

    #[test]
    fn anthropic_shape_and_types() {
        let types: Vec<String> = ALL
            .iter()
            .map(|k| {
                let v: Value =
                    serde_json::from_slice(&error_body(Provider::Anthropic, *k, "msg")).unwrap();
                assert_eq!(v["type"], "error");
                assert_eq!(v["error"]["message"], "msg");
                v["error"]["type"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(
            types,
            vec![
                "authentication_error",
                "permission_error",
                "not_found_error",
                "invalid_request_error",
                "rate_limit_error",
                "rate_limit_error",
                "api_error",
                "overloaded_error"
            ]
        );
    }

    #[test]
    fn stream_error_events_are_seen_by_the_meter() {
        for (provider, endpoint) in [
            (Provider::OpenAi, Endpoint::ChatCompletions),
            (Provider::OpenAi, Endpoint::Responses),
            (Provider::Anthropic, Endpoint::Messages),
        ] {
            let event = stream_error_event(provider, ErrorKind::BudgetExceeded, "budget spent");
            let mut meter = StreamMeter::new(provider, endpoint, true);
            let mut out = meter.push(&event).to_vec();
            out.extend_from_slice(&meter.finish());
            assert_eq!(out, event.to_vec(), "forwarded unchanged");
            assert!(meter.saw_error(), "{provider:?} {endpoint:?}");
        }
    }

    #[test]
    fn stream_error_event_bytes() {
        let e = stream_error_event(Provider::Anthropic, ErrorKind::Unavailable, "x");
        assert_eq!(
            &e[..],
            &b"event: error\ndata: {\"error\":{\"message\":\"x\",\"type\":\"overloaded_error\"},\"type\":\"error\"}\n\n"[..]
        );
        let e = stream_error_event(Provider::OpenAi, ErrorKind::Upstream, "x");
        assert!(e.starts_with(b"data: {\"error\":{"));
        assert!(e.ends_with(b"}\n\n"));
    }
}
