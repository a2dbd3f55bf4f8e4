//! Provider wire formats: the part of the data path that reads what passes through without
//! changing it (bar one documented edit).
//!
//! On the way out, [`endpoint`] names the call from its path and [`inspect`] reads the model,
//! `stream`, the output cap, `n` and an input-size upper bound from the request body, which the
//! budget reservation needs; [`with_usage_requested`] adds `stream_options.include_usage` to an
//! OpenAI chat stream so the stream reports its usage. On the way back, [`usage_of_body`] reads
//! a JSON response's usage and [`StreamMeter`] meters an SSE stream as it is forwarded (and drops
//! the usage chunk the gateway asked for, so the client sees what it asked for). The gateway's
//! own refusals are answered in the provider's error shape by [`error_body`] and, mid-stream,
//! [`stream_error_event`].
//!
//! Everything here is pure (no I/O, no clock) and never quotes a request or response body in
//! an error: bodies carry prompts and, in a provider's own error bodies, sometimes keys.

mod errors;
mod request;
mod sse;
mod stream;
mod usage;

use std::str::FromStr;

pub use errors::{error_body, stream_error_event, ErrorKind};
pub use request::{inspect, with_usage_requested, CallShape, BYTES_PER_TOKEN_ESTIMATE};
pub use stream::{StreamMeter, MAX_EVENT_BYTES};
pub use usage::{usage_of_body, Usage};

/// The wire format a route speaks: how the key is sent upstream and how usage is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// OpenAI and the OpenAI-compatible providers (Mistral, OpenRouter, vLLM, …).
    OpenAi,
    Anthropic,
}

impl Provider {
    /// The name routes are stored and configured with.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Anthropic => "anthropic",
        }
    }
}

impl FromStr for Provider {
    type Err = WireError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "openai" => Ok(Provider::OpenAi),
            "anthropic" => Ok(Provider::Anthropic),
            _ => Err(WireError::UnknownProvider),
        }
    }
}

/// What a call is, as far as metering is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// OpenAI `POST /v1/chat/completions`.
    ChatCompletions,
    /// OpenAI `POST /v1/responses`.
    Responses,
    /// OpenAI `POST /v1/embeddings`.
    Embeddings,
    /// Anthropic `POST /v1/messages`.
    Messages,
    /// Anthropic `POST /v1/messages/count_tokens` (free of charge at Anthropic).
    CountTokens,
    /// `GET /v1/models` and `/v1/models/{id}`.
    Models,
    /// Anything else: passed through, not metered by this module.
    Other,
}

impl Endpoint {
    /// Whether its calls cost tokens: what a budget reserves for, and what a call without
    /// reported usage is billed an estimate for.
    pub fn billable(self) -> bool {
        matches!(
            self,
            Endpoint::ChatCompletions
                | Endpoint::Responses
                | Endpoint::Embeddings
                | Endpoint::Messages
        )
    }

    /// Whether the endpoint's request body must be a JSON object (the ones whose body tells
    /// the model and the cost).
    pub fn needs_json(self) -> bool {
        matches!(
            self,
            Endpoint::ChatCompletions
                | Endpoint::Responses
                | Endpoint::Embeddings
                | Endpoint::Messages
                | Endpoint::CountTokens
        )
    }
}

/// Names the endpoint of a call from the path that follows the route's base.
///
/// For OpenAI the SDK's base URL ends in `/v1`, so both `/v1/chat/completions` and
/// `/chat/completions` are accepted; Anthropic's SDK puts `/v1/…` in the path, and the form
/// without it is accepted too. The query string is ignored, and so are repeated and trailing
/// slashes and letter case: an upstream that normalises any of these would otherwise serve a
/// metered endpoint under a path the gateway took for an unmetered one.
pub fn endpoint(provider: Provider, path: &str) -> Endpoint {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let rest: Vec<&str> = match segments.split_first() {
        Some((first, rest)) if first == "v1" => rest.iter().map(String::as_str).collect(),
        _ => segments.iter().map(String::as_str).collect(),
    };
    match (provider, rest.as_slice()) {
        (Provider::OpenAi, ["chat", "completions"]) => Endpoint::ChatCompletions,
        (Provider::OpenAi, ["responses"]) => Endpoint::Responses,
        (Provider::OpenAi, ["embeddings"]) => Endpoint::Embeddings,
        (Provider::Anthropic, ["messages"]) => Endpoint::Messages,
        (Provider::Anthropic, ["messages", "count_tokens"]) => Endpoint::CountTokens,
        (_, ["models"]) | (_, ["models", _]) => Endpoint::Models,
        _ => Endpoint::Other,
    }
}

/// Why a request could not be read. The messages name the field, never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("unknown provider (expected openai or anthropic)")]
    UnknownProvider,
    #[error("the request body is not valid JSON")]
    NotJson,
    #[error("the request body is not a JSON object")]
    NotObject,
    /// Rejected because the gateway and the provider could read different values (the
    /// gateway would check one model and the provider run another).
    #[error("a top-level field appears more than once in the request body")]
    DuplicateField,
    #[error("the field `{field}` has the wrong type: {expected}")]
    InvalidField {
        field: &'static str,
        expected: &'static str,
    },
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn provider_parses_its_two_names_only() {
        assert_eq!("openai".parse::<Provider>().unwrap(), Provider::OpenAi);
        assert_eq!(
            "anthropic".parse::<Provider>().unwrap(),
            Provider::Anthropic
        );
        assert_eq!(
            "OpenAI".parse::<Provider>(),
            Err(WireError::UnknownProvider)
        );
        assert_eq!("".parse::<Provider>(), Err(WireError::UnknownProvider));
        assert_eq!(Provider::Anthropic.as_str(), "anthropic");
    }

    #[test]
    fn openai_paths_with_and_without_v1() {
        let p = Provider::OpenAi;
        for (path, want) in [
            ("/chat/completions", Endpoint::ChatCompletions),
            ("/v1/chat/completions", Endpoint::ChatCompletions),
            ("/v1/responses", Endpoint::Responses),
            ("/responses", Endpoint::Responses),
            ("/v1/embeddings", Endpoint::Embeddings),
            ("/v1/models", Endpoint::Models),
            ("/models/gpt-4o", Endpoint::Models),
            ("/v1/responses/resp_123", Endpoint::Other),
            ("/v1/chat/completions/chatcmpl-1", Endpoint::Other),
            ("/v1/messages", Endpoint::Other),
            ("/v1/files", Endpoint::Other),
            ("", Endpoint::Other),
            ("/", Endpoint::Other),
        ] {
            assert_eq!(endpoint(p, path), want, "{path}");
        }
    }

    #[test]
    fn anthropic_paths() {
        let p = Provider::Anthropic;
        for (path, want) in [
            ("/v1/messages", Endpoint::Messages),
            ("/messages", Endpoint::Messages),
            ("/v1/messages/count_tokens", Endpoint::CountTokens),
            ("/v1/models", Endpoint::Models),
            ("/v1/models/claude-sonnet-4-5", Endpoint::Models),
            ("/v1/messages/batches", Endpoint::Other),
            ("/v1/chat/completions", Endpoint::Other),
        ] {
            assert_eq!(endpoint(p, path), want, "{path}");
        }
    }

    #[test]
    fn path_variants_an_upstream_may_normalise_are_still_metered() {
        let p = Provider::OpenAi;
        for path in [
            "/v1/chat/completions?x=1",
            "/v1/chat/completions/",
            "//v1//chat/completions",
            "/V1/Chat/Completions",
            "/v1/chat/completions#frag",
        ] {
            assert_eq!(endpoint(p, path), Endpoint::ChatCompletions, "{path}");
        }
        assert_eq!(
            endpoint(Provider::Anthropic, "/v1/messages/"),
            Endpoint::Messages
        );
    }

    #[test]
    fn only_body_endpoints_need_json() {
        assert!(Endpoint::ChatCompletions.needs_json());
        assert!(Endpoint::CountTokens.needs_json());
        assert!(!Endpoint::Models.needs_json());
        assert!(!Endpoint::Other.needs_json());
    }
}
