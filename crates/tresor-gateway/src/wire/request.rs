//! Reading a request body on its way out: what the budget reservation and the key's model
//! allowlist need to know before the call goes upstream, and the one edit the gateway makes to
//! a body (asking an OpenAI chat stream for its usage).
//!
//! Only the handful of top-level fields that matter are deserialised; the messages are skipped
//! without building a tree, so a 32 MiB prompt costs one pass and no copy. serde_json's default
//! recursion limit (128) bounds the nesting an attacker can make it walk.

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::{Endpoint, Provider, WireError};

/// The bytes of request body counted as one token by [`CallShape::input_estimate_tokens`].
pub const BYTES_PER_TOKEN_ESTIMATE: u64 = 3;

/// Added to every input estimate: the per-message and per-request tokens the providers' chat
/// templates add around the text, which the body's bytes do not show.
const TEMPLATE_OVERHEAD_TOKENS: u64 = 16;

/// What the gateway needs to know about a call before sending it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallShape {
    /// The `model` field; `None` when the body has none (the caller decides whether a key
    /// with a model allowlist may make such a call).
    pub model: Option<String>,
    pub stream: bool,
    /// The output cap the request sets: chat `max_completion_tokens` or `max_tokens` (the
    /// larger if both), Responses `max_output_tokens`, Anthropic `max_tokens`. `Some(0)` for
    /// embeddings and count_tokens, which produce no output tokens.
    pub max_output_tokens: Option<u64>,
    /// How many completions are generated (chat `n`); 1 elsewhere.
    pub n: u64,
    /// A cheap local estimate of the input tokens: `ceil(body bytes / 3) + 16`.
    ///
    /// What it is: the byte-level BPE tokenizers in use (OpenAI's o200k/cl100k, Anthropic's)
    /// average about 4 bytes of UTF-8 per token on English prose and 3 or more on code,
    /// numbers (split in groups of at most 3 digits) and CJK text (3 bytes a character, about
    /// one token a character), and the body carries every byte of the text plus its JSON
    /// syntax and escapes; so for ordinary prompts this is above the true count. It is NOT a
    /// strict bound: a byte-level BPE can emit up to one token per byte, so adversarial text
    /// (long runs of rare punctuation or scripts) can reach up to 3 times this figure; the
    /// strict bound would be the body length itself, which would over-reserve ordinary calls
    /// about fourfold. Images and files sent inline as base64 are priced by the provider per
    /// image, not per byte, and this counts them as text (an over-estimate).
    pub input_estimate_tokens: u64,
    /// Whether the client itself asked for `stream_options.include_usage: true`.
    pub include_usage_requested: bool,
}

impl CallShape {
    /// The shape of a call whose body is not read (models, other endpoints, non-JSON bodies
    /// where that is allowed).
    fn unread(body_len: usize) -> CallShape {
        CallShape {
            model: None,
            stream: false,
            max_output_tokens: None,
            n: 1,
            input_estimate_tokens: input_estimate(body_len),
            include_usage_requested: false,
        }
    }
}

fn input_estimate(body_len: usize) -> u64 {
    let bytes = u64::try_from(body_len).unwrap_or(u64::MAX);
    bytes
        .div_ceil(BYTES_PER_TOKEN_ESTIMATE)
        .saturating_add(TEMPLATE_OVERHEAD_TOKENS)
}

/// A field that was present in the body, `null` included (`Some(Value::Null)`), as opposed to
/// absent (`None`, through `#[serde(default)]`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// The top-level fields any endpoint's shape is read from. Each is kept as a `Value` so a
/// wrong type becomes our own error naming the field, never serde's message (which quotes the
/// offending value). A key that appears twice fails deserialisation: see
/// [`WireError::DuplicateField`].
#[derive(Deserialize)]
struct RequestFields {
    #[serde(default, deserialize_with = "present")]
    model: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    stream: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    max_tokens: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    max_completion_tokens: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    max_output_tokens: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    n: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    stream_options: Option<Value>,
}

/// Reads the shape of a call from its request body.
///
/// Endpoints whose body tells the model and the cost (chat, responses, embeddings, messages,
/// count_tokens) need a JSON object; anything else is an error. Models and other endpoints get
/// a default shape, read from the body's fields where it is a well-formed JSON object.
pub fn inspect(
    provider: Provider,
    endpoint: Endpoint,
    body: &[u8],
) -> Result<CallShape, WireError> {
    match endpoint {
        Endpoint::Models => Ok(CallShape::unread(body.len())),
        Endpoint::Other => {
            Ok(read_shape(provider, endpoint, body)
                .unwrap_or_else(|_| CallShape::unread(body.len())))
        }
        _ => read_shape(provider, endpoint, body),
    }
}

fn read_shape(provider: Provider, endpoint: Endpoint, body: &[u8]) -> Result<CallShape, WireError> {
    let fields = read_fields(body)?;
    let model = match fields.model {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return Err(invalid("model", "a string")),
    };
    let stream = match fields.stream {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => b,
        Some(_) => return Err(invalid("stream", "true or false")),
    };
    let max_tokens = token_count("max_tokens", fields.max_tokens.as_ref())?;
    let max_completion_tokens = token_count(
        "max_completion_tokens",
        fields.max_completion_tokens.as_ref(),
    )?;
    let max_output_tokens = token_count("max_output_tokens", fields.max_output_tokens.as_ref())?;
    let max_output_tokens = match (provider, endpoint) {
        (_, Endpoint::Embeddings | Endpoint::CountTokens) => Some(0),
        (Provider::OpenAi, Endpoint::Responses) => max_output_tokens,
        (Provider::OpenAi, Endpoint::ChatCompletions) => larger(max_completion_tokens, max_tokens),
        (Provider::Anthropic, Endpoint::Messages) => max_tokens,
        // Unknown endpoint: whichever cap it names, the largest, so the reservation is not low.
        _ => larger(larger(max_completion_tokens, max_tokens), max_output_tokens),
    };
    let n = match (endpoint, fields.n) {
        (Endpoint::ChatCompletions | Endpoint::Other, Some(v)) if !v.is_null() => {
            match token_count("n", Some(&v))? {
                Some(n) if n >= 1 => n,
                _ => return Err(invalid("n", "a positive integer")),
            }
        }
        _ => 1,
    };
    let include_usage_requested = match &fields.stream_options {
        None | Some(Value::Null) => false,
        Some(Value::Object(options)) => match options.get("include_usage") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(invalid("stream_options.include_usage", "true or false"));
            }
        },
        Some(_) => return Err(invalid("stream_options", "an object")),
    };
    Ok(CallShape {
        model,
        stream,
        max_output_tokens,
        n,
        input_estimate_tokens: input_estimate(body.len()),
        include_usage_requested,
    })
}

fn read_fields(body: &[u8]) -> Result<RequestFields, WireError> {
    let starts_as_object = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{');
    if !starts_as_object {
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
                Ok(_) => WireError::NotObject,
                Err(_) => WireError::NotJson,
            },
        );
    }
    serde_json::from_slice::<RequestFields>(body).map_err(|e| match e.classify() {
        // Every field is a `Value` and the body is an object, so the only data error left is
        // a repeated field.
        serde_json::error::Category::Data => WireError::DuplicateField,
        _ => WireError::NotJson,
    })
}

fn invalid(field: &'static str, expected: &'static str) -> WireError {
    WireError::InvalidField { field, expected }
}

/// A token count: a non-negative integer (`100.0` is accepted, as the providers' own JSON
/// parsers do); `null` is absent.
fn token_count(field: &'static str, value: Option<&Value>) -> Result<Option<u64>, WireError> {
    let Some(value) = value else { return Ok(None) };
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                return Ok(Some(u));
            }
            match n.as_f64() {
                Some(f) if f >= 0.0 && f.fract() == 0.0 && f < u64::MAX as f64 => {
                    // Exact: an integral f64 below 2^64 converts without loss of the integer.
                    Ok(Some(f as u64))
                }
                _ => Err(invalid(field, "a non-negative integer")),
            }
        }
        _ => Err(invalid(field, "a non-negative integer")),
    }
}

fn larger(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

#[derive(Deserialize)]
struct StreamOptionsField {
    #[serde(default, deserialize_with = "present")]
    stream_options: Option<Value>,
}

const INCLUDE_USAGE_MEMBER: &[u8] = br#""stream_options":{"include_usage":true}"#;

/// The body to send instead, when an OpenAI chat stream would otherwise report no usage:
/// with `stream_options.include_usage: true` added. `None` means send the body as it is (not a
/// chat stream, the client asked for usage itself, or the body is not one this can edit).
///
/// With no `stream_options` key, the member is spliced in right after the opening `{`, so
/// every other byte is unchanged. With an existing `stream_options` (`null` or an object
/// without `include_usage: true`), the body is re-serialised: serde_json's `preserve_order`
/// is not enabled in this workspace, so top-level keys then come out sorted and whitespace is
/// dropped (JSON-equivalent, not byte-equal). The Responses API rejects `stream_options`, so
/// it is never added there.
pub fn with_usage_requested(
    provider: Provider,
    endpoint: Endpoint,
    shape: &CallShape,
    body: &[u8],
) -> Option<Vec<u8>> {
    if provider != Provider::OpenAi
        || endpoint != Endpoint::ChatCompletions
        || !shape.stream
        || shape.include_usage_requested
    {
        return None;
    }
    let field = serde_json::from_slice::<StreamOptionsField>(body).ok()?;
    match field.stream_options {
        None => splice_after_open_brace(body),
        Some(Value::Null) => reserialize_with(body, |_| Some(include_usage_object(Map::new()))),
        Some(Value::Object(_)) => reserialize_with(body, |old| match old {
            Some(Value::Object(options)) => Some(include_usage_object(options)),
            _ => None,
        }),
        Some(_) => None,
    }
}

fn include_usage_object(mut options: Map<String, Value>) -> Value {
    options.insert("include_usage".to_owned(), Value::Bool(true));
    Value::Object(options)
}

fn splice_after_open_brace(body: &[u8]) -> Option<Vec<u8>> {
    let open = body.iter().position(|b| !b.is_ascii_whitespace())?;
    if body.get(open) != Some(&b'{') {
        return None;
    }
    let after = open + 1;
    let empty_object = body
        .get(after..)?
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'}');
    let mut out = Vec::with_capacity(body.len() + INCLUDE_USAGE_MEMBER.len() + 1);
    out.extend_from_slice(body.get(..after)?);
    out.extend_from_slice(INCLUDE_USAGE_MEMBER);
    if !empty_object {
        out.push(b',');
    }
    out.extend_from_slice(body.get(after..)?);
    Some(out)
}

fn reserialize_with(
    body: &[u8],
    new_options: impl FnOnce(Option<Value>) -> Option<Value>,
) -> Option<Vec<u8>> {
    let mut object: Map<String, Value> = serde_json::from_slice(body).ok()?;
    let options = new_options(object.remove("stream_options"))?;
    object.insert("stream_options".to_owned(), options);
    serde_json::to_vec(&object).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const CHAT: Endpoint = Endpoint::ChatCompletions;
    const OPENAI: Provider = Provider::OpenAi;

    fn shape(p: Provider, e: Endpoint, body: &str) -> CallShape {
        inspect(p, e, body.as_bytes()).unwrap()
    }

    #[test]
    fn chat_shape() {
        let s = shape(
            OPENAI,
            CHAT,
            r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],
                "stream":true,"max_completion_tokens":300,"n":2}"#,
        );
        assert_eq!(s.model.as_deref(), Some("gpt-4o-mini"));
        assert!(s.stream);
        assert_eq!(s.max_output_tokens, Some(300));
        assert_eq!(s.n, 2);
        assert!(!s.include_usage_requested);
    }

    #[test]
    fn chat_takes_the_larger_of_both_caps_and_defaults() {
        let s = shape(
            OPENAI,
            CHAT,
            r#"{"model":"m","max_tokens":900,"max_completion_tokens":100}"#,
        );
        assert_eq!(s.max_output_tokens, Some(900));
        let s = shape(OPENAI, CHAT, r#"{"model":"m","max_tokens":40}"#);
        assert_eq!(s.max_output_tokens, Some(40));
        let s = shape(OPENAI, CHAT, r#"{"model":"m","max_tokens":null,"n":null}"#);
        assert_eq!((s.max_output_tokens, s.n, s.stream), (None, 1, false));
    }

    #[test]
    fn responses_and_messages_read_their_own_cap() {
        let body = r#"{"model":"m","max_output_tokens":77,"max_tokens":5}"#;
        assert_eq!(
            shape(OPENAI, Endpoint::Responses, body).max_output_tokens,
            Some(77)
        );
        assert_eq!(
            shape(Provider::Anthropic, Endpoint::Messages, body).max_output_tokens,
            Some(5)
        );
        // n is a chat field only.
        let s = shape(OPENAI, Endpoint::Responses, r#"{"model":"m","n":4}"#);
        assert_eq!(s.n, 1);
    }

    #[test]
    fn embeddings_and_count_tokens_have_no_output() {
        let s = shape(
            OPENAI,
            Endpoint::Embeddings,
            r#"{"model":"text-embedding-3-small","input":"x"}"#,
        );
        assert_eq!(s.max_output_tokens, Some(0));
        let s = shape(
            Provider::Anthropic,
            Endpoint::CountTokens,
            r#"{"model":"claude-haiku-4-5","messages":[]}"#,
        );
        assert_eq!(s.max_output_tokens, Some(0));
    }

    #[test]
    fn include_usage_requested_by_the_client() {
        let s = shape(
            OPENAI,
            CHAT,
            r#"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#,
        );
        assert!(s.include_usage_requested);
        let s = shape(
            OPENAI,
            CHAT,
            r#"{"model":"m","stream":true,"stream_options":{"include_usage":false}}"#,
        );
        assert!(!s.include_usage_requested);
    }

    #[test]
    fn integral_floats_are_counts() {
        let s = shape(OPENAI, CHAT, r#"{"model":"m","max_tokens":100.0,"n":2.0}"#);
        assert_eq!((s.max_output_tokens, s.n), (Some(100), 2));
    }

    #[test]
    fn input_estimate_grows_with_the_body_and_rounds_up() {
        let small = shape(OPENAI, CHAT, r#"{"model":"m"}"#);
        assert_eq!(small.input_estimate_tokens, 13_u64.div_ceil(3) + 16);
        let text = "word ".repeat(3000);
        let big = shape(
            OPENAI,
            CHAT,
            &format!(r#"{{"model":"m","messages":[{{"role":"user","content":"{text}"}}]}}"#),
        );
        // 3000 English words are about 3000 tokens for o200k; the estimate is well above.
        assert!(
            big.input_estimate_tokens > 5000,
            "{}",
            big.input_estimate_tokens
        );
    }

    #[test]
    fn bad_bodies_are_clear_errors() {
        let cases: &[(&[u8], WireError)] = &[
            (b"", WireError::NotJson),
            (b"not json", WireError::NotJson),
            (b"{\"model\":", WireError::NotJson),
            (b"{\"model\":\"m\"} trailing", WireError::NotJson),
            (b"[1,2]", WireError::NotObject),
            (b"\"a string\"", WireError::NotObject),
            (b"null", WireError::NotObject),
            (
                br#"{"model":"gpt-4o-mini","model":"o3"}"#,
                WireError::DuplicateField,
            ),
            (br#"{"model":42}"#, invalid("model", "a string")),
            (br#"{"stream":"yes"}"#, invalid("stream", "true or false")),
            (
                br#"{"max_tokens":-5}"#,
                invalid("max_tokens", "a non-negative integer"),
            ),
            (
                br#"{"max_tokens":1.5}"#,
                invalid("max_tokens", "a non-negative integer"),
            ),
            (
                br#"{"max_completion_tokens":"100"}"#,
                invalid("max_completion_tokens", "a non-negative integer"),
            ),
            (br#"{"n":0}"#, invalid("n", "a positive integer")),
            (br#"{"n":-1}"#, invalid("n", "a non-negative integer")),
            (
                br#"{"stream_options":true}"#,
                invalid("stream_options", "an object"),
            ),
            (
                br#"{"stream_options":{"include_usage":1}}"#,
                invalid("stream_options.include_usage", "true or false"),
            ),
        ];
        for (body, want) in cases {
            assert_eq!(
                inspect(OPENAI, CHAT, body).as_ref(),
                Err(want),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn errors_never_quote_the_body() {
        let secret = "sk-proj-PLANTED-SECRET-1234";
        for body in [
            format!(r#"{{"model":{{"k":"{secret}"}}}}"#),
            format!(r#"{{"max_tokens":"{secret}"}}"#),
            format!("{secret} not json"),
            format!(r#"{{"model":"{secret}","model":"x"}}"#),
        ] {
            let err = inspect(OPENAI, CHAT, body.as_bytes()).unwrap_err();
            assert!(!err.to_string().contains("PLANTED"), "{err}");
            assert!(!format!("{err:?}").contains("PLANTED"), "{err:?}");
        }
    }

    #[test]
    fn deep_nesting_never_overflows_the_stack() {
        let depth = 100_000;
        let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        // Skipped fields are walked without recursion.
        let body = format!(r#"{{"model":"m","messages":{nested}}}"#);
        assert_eq!(
            inspect(OPENAI, CHAT, body.as_bytes())
                .unwrap()
                .model
                .as_deref(),
            Some("m")
        );
        // Read fields stop at serde_json's recursion limit.
        let body = format!(r#"{{"model":{nested}}}"#);
        assert_eq!(
            inspect(OPENAI, CHAT, body.as_bytes()),
            Err(WireError::NotJson)
        );
    }

    #[test]
    fn models_and_other_endpoints_get_a_default_shape() {
        let s = inspect(OPENAI, Endpoint::Models, b"").unwrap();
        assert_eq!((s.model, s.stream, s.n), (None, false, 1));
        let s = inspect(OPENAI, Endpoint::Other, b"\x00\x01 binary upload").unwrap();
        assert_eq!(s.model, None);
        // A well-formed JSON body on another endpoint (legacy completions) is still read.
        let s = inspect(
            OPENAI,
            Endpoint::Other,
            br#"{"model":"gpt-3.5-turbo-instruct","max_tokens":20,"stream":true}"#,
        )
        .unwrap();
        assert_eq!(s.model.as_deref(), Some("gpt-3.5-turbo-instruct"));
        assert_eq!((s.max_output_tokens, s.stream), (Some(20), true));
        // A duplicate model there gives no model at all, never one of the two.
        let s = inspect(OPENAI, Endpoint::Other, br#"{"model":"a","model":"b"}"#).unwrap();
        assert_eq!(s.model, None);
    }

    fn requested(body: &str) -> Option<String> {
        let shape = inspect(OPENAI, CHAT, body.as_bytes()).unwrap();
        with_usage_requested(OPENAI, CHAT, &shape, body.as_bytes())
            .map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn include_usage_is_spliced_in_keeping_every_other_byte() {
        let body = "{\n  \"model\": \"gpt-4o-mini\",\n  \"stream\": true,\n  \"messages\": []\n}";
        let out = requested(body).unwrap();
        assert_eq!(
            out,
            format!(
                "{{\"stream_options\":{{\"include_usage\":true}},{}",
                &body[1..]
            )
        );
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["stream_options"]["include_usage"], Value::Bool(true));
        assert_eq!(v["model"], "gpt-4o-mini");
        let shape = inspect(OPENAI, CHAT, out.as_bytes()).unwrap();
        assert!(shape.include_usage_requested);
    }

    #[test]
    fn include_usage_is_set_inside_an_existing_stream_options() {
        let out = requested(
            r#"{"model":"m","stream":true,"stream_options":{"include_obfuscation":false}}"#,
        )
        .unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["stream_options"]["include_usage"], Value::Bool(true));
        assert_eq!(
            v["stream_options"]["include_obfuscation"],
            Value::Bool(false)
        );
        let out =
            requested(r#"{"model":"m","stream":true,"stream_options":{"include_usage":false}}"#)
                .unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["stream_options"]["include_usage"], Value::Bool(true));
        let out = requested(r#"{"model":"m","stream":true,"stream_options":null}"#).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["stream_options"]["include_usage"], Value::Bool(true));
    }

    #[test]
    fn include_usage_is_left_alone_where_it_does_not_belong() {
        // Not streamed; already asked for.
        assert_eq!(requested(r#"{"model":"m","stream":false}"#), None);
        assert_eq!(requested(r#"{"model":"m"}"#), None);
        assert_eq!(
            requested(r#"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#),
            None
        );
        // The Responses API rejects stream_options; Anthropic streams always report usage.
        let body = br#"{"model":"m","stream":true}"#;
        for (p, e) in [
            (OPENAI, Endpoint::Responses),
            (Provider::Anthropic, Endpoint::Messages),
            (OPENAI, Endpoint::Other),
        ] {
            let shape = inspect(p, e, body).unwrap();
            assert!(shape.stream);
            assert_eq!(with_usage_requested(p, e, &shape, body), None, "{e:?}");
        }
    }

    #[test]
    fn splice_into_an_empty_object_adds_no_comma() {
        assert_eq!(
            splice_after_open_brace(b"  { }").unwrap(),
            br#"  {"stream_options":{"include_usage":true} }"#.to_vec()
        );
    }
}
