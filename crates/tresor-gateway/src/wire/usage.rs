//! Reading the token usage a provider reports, which is what a call is billed on.
//!
//! The same `usage` objects appear in a JSON response and in the events of a stream, so the
//! stream meter reuses the raw shapes here. Every figure is optional on the wire (providers add
//! and drop fields between API versions); a response that reports no figure at all has no
//! usage, and the caller bills its estimate instead of zero.

use serde::Deserialize;

use super::{Endpoint, Provider};

/// Tokens one call used, in the provider-neutral form prices apply to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// The TOTAL input: OpenAI `prompt_tokens` / `input_tokens`; Anthropic `input_tokens` +
    /// `cache_creation_input_tokens` + `cache_read_input_tokens`.
    pub input_tokens: u64,
    /// Output, reasoning included (both providers bill reasoning as output).
    pub output_tokens: u64,
    /// The part of `input_tokens` read from the prompt cache (OpenAI
    /// `…_tokens_details.cached_tokens`, Anthropic `cache_read_input_tokens`).
    pub cached_input_tokens: u64,
    /// The part of `input_tokens` written to the prompt cache (Anthropic
    /// `cache_creation_input_tokens`; OpenAI reports none), billed above the input price.
    pub cache_creation_tokens: u64,
    /// The part of `cache_creation_tokens` written with the one-hour lifetime (Anthropic
    /// `cache_creation.ephemeral_1h_input_tokens`), billed at twice the input price instead of
    /// 1.25 times.
    pub cache_creation_1h_tokens: u64,
}

/// An OpenAI `usage` object: chat completions and embeddings use `prompt_tokens` /
/// `completion_tokens`, the Responses API `input_tokens` / `output_tokens`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct OpenAiUsageRaw {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    prompt_tokens_details: Option<CachedDetails>,
    input_tokens_details: Option<CachedDetails>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CachedDetails {
    cached_tokens: Option<u64>,
}

impl OpenAiUsageRaw {
    /// `None` when the object carries no token figure at all.
    pub(crate) fn to_usage(&self) -> Option<Usage> {
        let input = self.prompt_tokens.or(self.input_tokens);
        let output = self.completion_tokens.or(self.output_tokens);
        if input.is_none() && output.is_none() {
            return None;
        }
        let input_tokens = input.unwrap_or(0);
        let cached = self
            .prompt_tokens_details
            .as_ref()
            .or(self.input_tokens_details.as_ref())
            .and_then(|d| d.cached_tokens)
            .unwrap_or(0);
        Some(Usage {
            input_tokens,
            output_tokens: output.unwrap_or(0),
            // INVARIANT: the cached part never exceeds the total, whatever the wire says.
            cached_input_tokens: cached.min(input_tokens),
            cache_creation_tokens: 0,
            cache_creation_1h_tokens: 0,
        })
    }
}

/// An Anthropic `usage` object, as in a message, `message_start.message` and `message_delta`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct AnthropicUsageRaw {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
    cache_creation: Option<CacheCreationDetails>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CacheCreationDetails {
    ephemeral_1h_input_tokens: Option<u64>,
}

/// Anthropic usage merged over a stream's events, field by field: each event may repeat or
/// update any field (`message_delta` carries the CUMULATIVE output so far, newer API versions
/// repeat the input figures there), so the latest value of each field wins and nothing is
/// summed across events.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AnthropicUsage {
    input: Option<u64>,
    output: Option<u64>,
    cache_creation: Option<u64>,
    cache_read: Option<u64>,
    cache_creation_1h: Option<u64>,
}

impl AnthropicUsage {
    pub(crate) fn merge(&mut self, raw: &AnthropicUsageRaw) {
        fn latest(slot: &mut Option<u64>, value: Option<u64>) {
            if value.is_some() {
                *slot = value;
            }
        }
        latest(&mut self.input, raw.input_tokens);
        latest(&mut self.output, raw.output_tokens);
        latest(&mut self.cache_creation, raw.cache_creation_input_tokens);
        latest(&mut self.cache_read, raw.cache_read_input_tokens);
        latest(
            &mut self.cache_creation_1h,
            raw.cache_creation
                .as_ref()
                .and_then(|c| c.ephemeral_1h_input_tokens),
        );
    }

    /// `None` until some event reported a figure.
    pub(crate) fn to_usage(self) -> Option<Usage> {
        if self == AnthropicUsage::default() {
            return None;
        }
        let cache_creation = self.cache_creation.unwrap_or(0);
        let cache_read = self.cache_read.unwrap_or(0);
        Some(Usage {
            input_tokens: self
                .input
                .unwrap_or(0)
                .saturating_add(cache_creation)
                .saturating_add(cache_read),
            output_tokens: self.output.unwrap_or(0),
            cached_input_tokens: cache_read,
            cache_creation_tokens: cache_creation,
            cache_creation_1h_tokens: self.cache_creation_1h.unwrap_or(0).min(cache_creation),
        })
    }
}

#[derive(Deserialize)]
struct OpenAiBody {
    #[serde(default)]
    usage: Option<OpenAiUsageRaw>,
}

#[derive(Deserialize)]
struct AnthropicBody {
    #[serde(default)]
    usage: Option<AnthropicUsageRaw>,
}

/// The usage a non-streamed JSON response reports; `None` if it reports none, is not JSON,
/// or is an endpoint that is not billed by tokens (models, Anthropic's free count_tokens).
///
/// Only `usage` is deserialised; the rest of the body (an embeddings response can hold
/// millions of floats) is skipped without building a tree.
pub fn usage_of_body(provider: Provider, endpoint: Endpoint, body: &[u8]) -> Option<Usage> {
    if matches!(endpoint, Endpoint::Models | Endpoint::CountTokens) {
        return None;
    }
    match provider {
        Provider::OpenAi => serde_json::from_slice::<OpenAiBody>(body)
            .ok()?
            .usage?
            .to_usage(),
        Provider::Anthropic => {
            let raw = serde_json::from_slice::<AnthropicBody>(body).ok()?.usage?;
            let mut merged = AnthropicUsage::default();
            merged.merge(&raw);
            merged.to_usage()
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn openai_chat_completion_usage_with_cached_tokens() {
        let body = br#"{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,
            "message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],
            "usage":{"prompt_tokens":1200,"completion_tokens":35,"total_tokens":1235,
            "prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},
            "completion_tokens_details":{"reasoning_tokens":12}}}"#;
        let u = usage_of_body(Provider::OpenAi, Endpoint::ChatCompletions, body).unwrap();
        assert_eq!(
            u,
            Usage {
                input_tokens: 1200,
                output_tokens: 35,
                cached_input_tokens: 1024,
                ..Usage::default()
            }
        );
    }

    #[test]
    fn openai_responses_usage() {
        let body = br#"{"id":"resp_1","object":"response","status":"completed","output":[],
            "usage":{"input_tokens":36,"input_tokens_details":{"cached_tokens":4},
            "output_tokens":87,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":123}}"#;
        let u = usage_of_body(Provider::OpenAi, Endpoint::Responses, body).unwrap();
        assert_eq!(
            (u.input_tokens, u.output_tokens, u.cached_input_tokens),
            (36, 87, 4)
        );
    }

    #[test]
    fn openai_embeddings_usage_has_no_output() {
        let body = br#"{"object":"list","data":[{"object":"embedding","index":0,
            "embedding":[0.1,-0.2,0.3]}],"model":"text-embedding-3-small",
            "usage":{"prompt_tokens":8,"total_tokens":8}}"#;
        let u = usage_of_body(Provider::OpenAi, Endpoint::Embeddings, body).unwrap();
        assert_eq!((u.input_tokens, u.output_tokens), (8, 0));
    }

    #[test]
    fn anthropic_total_input_includes_both_cache_figures() {
        let body = br#"{"id":"msg_1","type":"message","role":"assistant","content":[],
            "usage":{"input_tokens":50,"cache_creation_input_tokens":2000,
            "cache_read_input_tokens":3000,"output_tokens":70,
            "cache_creation":{"ephemeral_5m_input_tokens":1500,"ephemeral_1h_input_tokens":500}}}"#;
        let u = usage_of_body(Provider::Anthropic, Endpoint::Messages, body).unwrap();
        assert_eq!(
            u,
            Usage {
                input_tokens: 5050,
                output_tokens: 70,
                cached_input_tokens: 3000,
                cache_creation_tokens: 2000,
                cache_creation_1h_tokens: 500,
            }
        );
    }

    #[test]
    fn null_cache_fields_count_as_zero() {
        let body = br#"{"usage":{"input_tokens":10,"output_tokens":2,
            "cache_creation_input_tokens":null,"cache_read_input_tokens":null}}"#;
        let u = usage_of_body(Provider::Anthropic, Endpoint::Messages, body).unwrap();
        assert_eq!((u.input_tokens, u.cached_input_tokens), (10, 0));
    }

    #[test]
    fn no_usage_is_none_not_zero() {
        for (p, e, body) in [
            (Provider::OpenAi, Endpoint::ChatCompletions, &b"{}"[..]),
            (
                Provider::OpenAi,
                Endpoint::ChatCompletions,
                br#"{"usage":null}"#,
            ),
            (
                Provider::OpenAi,
                Endpoint::ChatCompletions,
                br#"{"usage":{}}"#,
            ),
            (Provider::OpenAi, Endpoint::ChatCompletions, b"not json"),
            (Provider::OpenAi, Endpoint::ChatCompletions, b""),
            (Provider::Anthropic, Endpoint::Messages, br#"{"usage":{}}"#),
            (
                Provider::Anthropic,
                Endpoint::CountTokens,
                br#"{"input_tokens":12}"#,
            ),
            (
                Provider::OpenAi,
                Endpoint::Models,
                br#"{"usage":{"prompt_tokens":1}}"#,
            ),
        ] {
            assert_eq!(
                usage_of_body(p, e, body),
                None,
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn malformed_figures_are_no_usage() {
        for body in [
            &br#"{"usage":{"prompt_tokens":-1,"completion_tokens":2}}"#[..],
            br#"{"usage":{"prompt_tokens":"12"}}"#,
            br#"{"usage":"lots"}"#,
        ] {
            assert_eq!(
                usage_of_body(Provider::OpenAi, Endpoint::ChatCompletions, body),
                None
            );
        }
    }

    #[test]
    fn cached_part_is_clamped_to_the_total() {
        let body = br#"{"usage":{"prompt_tokens":10,"completion_tokens":1,
            "prompt_tokens_details":{"cached_tokens":99}}}"#;
        let u = usage_of_body(Provider::OpenAi, Endpoint::ChatCompletions, body).unwrap();
        assert_eq!(u.cached_input_tokens, 10);
    }

    #[test]
    fn anthropic_merge_takes_the_latest_value_of_each_field() {
        let mut merged = AnthropicUsage::default();
        let start: AnthropicUsageRaw = serde_json::from_str(
            r#"{"input_tokens":25,"cache_creation_input_tokens":100,
                "cache_read_input_tokens":0,"output_tokens":1}"#,
        )
        .unwrap();
        let delta1: AnthropicUsageRaw = serde_json::from_str(r#"{"output_tokens":40}"#).unwrap();
        let delta2: AnthropicUsageRaw = serde_json::from_str(
            r#"{"output_tokens":90,"input_tokens":25,"cache_read_input_tokens":7}"#,
        )
        .unwrap();
        merged.merge(&start);
        merged.merge(&delta1);
        merged.merge(&delta2);
        let u = merged.to_usage().unwrap();
        assert_eq!(
            u.output_tokens, 90,
            "cumulative output: latest wins, never summed"
        );
        assert_eq!(u.input_tokens, 25 + 100 + 7);
        assert_eq!(u.cached_input_tokens, 7);
    }
}
