//! The AI gateway's wire formats: request bodies (what a caller with a gateway key sends) and
//! response streams (what an upstream answers), read by `tresor_gateway::wire`.
//!
//! Input: the first byte picks the provider, the endpoint and how the stream is cut into
//! chunks; the rest is a request body and, as is, an upstream body or SSE stream.
//!
//! Properties:
//! - reading a request never panics, and a model it reports is text of the body;
//! - asking for `include_usage` gives a body that still parses as a JSON object, or nothing;
//! - a stream metered without stripping is forwarded byte for byte, however it is cut;
//! - a stream metered with stripping is never longer than what arrived, and is forwarded
//!   unchanged when it carries no `usage` member;
//! - reading usage from a body never panics, and usage figures never come from nowhere (a body
//!   without the text `tokens` reports none).

use tresor_gateway::wire::{self, Endpoint, Provider, StreamMeter};

const ENDPOINTS: [Endpoint; 7] = [
    Endpoint::ChatCompletions,
    Endpoint::Responses,
    Endpoint::Embeddings,
    Endpoint::Messages,
    Endpoint::CountTokens,
    Endpoint::Models,
    Endpoint::Other,
];

/// The harness of the `gateway_wire` target.
pub fn run(data: &[u8]) {
    let Some((&choice, body)) = data.split_first() else {
        return;
    };
    let provider = if choice & 1 == 0 {
        Provider::OpenAi
    } else {
        Provider::Anthropic
    };
    let endpoint = ENDPOINTS[usize::from(choice >> 1) % ENDPOINTS.len()];
    let chunk = usize::from(choice >> 4) + 1;
    check_request(provider, endpoint, body);
    check_stream(provider, endpoint, body, chunk);
    check_usage(provider, endpoint, body);
}

fn check_request(provider: Provider, endpoint: Endpoint, body: &[u8]) {
    let Ok(shape) = wire::inspect(provider, endpoint, body) else {
        return;
    };
    if let Some(model) = &shape.model {
        let text = String::from_utf8_lossy(body);
        let plain = model
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:/".contains(c));
        // An escaped model (`\u0067pt`) reads differently from its bytes; a plain one must
        // be text of the body.
        if plain {
            assert!(
                text.contains(model.as_str()),
                "model {model:?} not in the body"
            );
        }
    }
    if let Some(asked) = wire::with_usage_requested(provider, endpoint, &shape, body) {
        let parsed: Result<serde_json::Value, _> = serde_json::from_slice(&asked);
        assert!(
            parsed.as_ref().is_ok_and(serde_json::Value::is_object),
            "include_usage made the body unreadable"
        );
    }
}

fn meter(
    provider: Provider,
    endpoint: Endpoint,
    body: &[u8],
    chunk: usize,
    strip: bool,
) -> Vec<u8> {
    let mut m = StreamMeter::new(provider, endpoint, strip);
    let mut out = Vec::with_capacity(body.len());
    for piece in body.chunks(chunk) {
        out.extend_from_slice(&m.push(piece));
    }
    out.extend_from_slice(&m.finish());
    let _ = (m.usage(), m.completed(), m.saw_error());
    out
}

fn check_stream(provider: Provider, endpoint: Endpoint, body: &[u8], chunk: usize) {
    assert_eq!(
        meter(provider, endpoint, body, chunk, false),
        body,
        "a stream metered without stripping must pass unchanged"
    );
    let stripped = meter(provider, endpoint, body, chunk, true);
    assert!(stripped.len() <= body.len(), "stripping added bytes");
    if !body.windows(7).any(|w| w == b"\"usage\"") {
        assert_eq!(stripped, body, "nothing to strip, yet the stream changed");
    }
}

fn check_usage(provider: Provider, endpoint: Endpoint, body: &[u8]) {
    let usage = wire::usage_of_body(provider, endpoint, body);
    if !body.windows(6).any(|w| w == b"tokens") {
        assert!(
            usage.is_none_or(|u| u.input_tokens == 0 && u.output_tokens == 0),
            "usage read from a body that names no tokens"
        );
    }
}
