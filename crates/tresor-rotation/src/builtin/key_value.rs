//! The value of a secret holding a provider key: JSON `{"api_key": "<key>", "key_id": "<id>"}`
//! (what built-in rotators write, and what the AI gateway reads `api_key` from), or plain text,
//! which is a key with no known provider id.

use serde::de::{Deserializer, Error as _, Visitor};
use serde::{Deserialize, Serialize};
use tresor_types::SecretBytes;
use zeroize::Zeroizing;

/// A provider key read from a secret value.
pub(crate) struct KeyValue {
    pub api_key: SecretBytes,
    /// The provider's id of the key (an OpenAI service account, an OpenRouter key hash, an
    /// Anthropic `apikey_…`), when the value records it.
    pub key_id: Option<String>,
}

/// Why a value holds no key.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BadValue {
    Empty,
    /// Starts like JSON but is not an object with a string `api_key`.
    NoApiKey,
}

impl BadValue {
    pub fn describe(&self) -> &'static str {
        match self {
            Self::Empty => "is empty",
            Self::NoApiKey => "is JSON without a string api_key",
        }
    }
}

/// A string read straight into [`SecretBytes`].
pub(crate) struct SecretText(pub SecretBytes);

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SecretText;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SecretText, E> {
                Ok(SecretText(SecretBytes::from_slice(v.as_bytes())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<SecretText, E> {
                Ok(SecretText(SecretBytes::new(v.into_bytes())))
            }
        }
        d.deserialize_string(V)
    }
}

/// Read a secret value's key.
pub(crate) fn parse(value: &SecretBytes) -> Result<KeyValue, BadValue> {
    let text = value.expose().trim_ascii();
    if text.is_empty() {
        return Err(BadValue::Empty);
    }
    if !text.starts_with(b"{") {
        return Ok(KeyValue {
            api_key: SecretBytes::from_slice(text),
            key_id: None,
        });
    }
    #[derive(Deserialize)]
    struct Fields {
        api_key: Option<SecretText>,
        #[serde(default, deserialize_with = "lenient_id")]
        key_id: Option<String>,
    }
    let fields: Fields = serde_json::from_slice(text).map_err(|_| BadValue::NoApiKey)?;
    match fields.api_key {
        Some(SecretText(key)) if !key.is_empty() => Ok(KeyValue {
            api_key: key,
            key_id: fields.key_id.filter(|id| !id.is_empty()),
        }),
        _ => Err(BadValue::NoApiKey),
    }
}

/// `key_id` as a string; anything else (a number, null, an object) counts as no id.
fn lenient_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = serde_json::Value::deserialize(d).map_err(D::Error::custom)?;
    Ok(value.as_str().map(str::to_owned))
}

/// The value a built-in rotator puts as `AWSPENDING`.
pub(crate) fn render(api_key: &SecretBytes, key_id: &str) -> Result<SecretBytes, BadValue> {
    #[derive(Serialize)]
    struct Fields<'a> {
        api_key: &'a str,
        key_id: &'a str,
    }
    let api_key = std::str::from_utf8(api_key.expose()).map_err(|_| BadValue::NoApiKey)?;
    let json = Zeroizing::new(
        serde_json::to_vec(&Fields { api_key, key_id }).map_err(|_| BadValue::NoApiKey)?,
    );
    Ok(SecretBytes::from_slice(&json))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn read(text: &str) -> Result<(String, Option<String>), BadValue> {
        parse(&SecretBytes::from_slice(text.as_bytes())).map(|k| {
            (
                String::from_utf8(k.api_key.expose().to_vec()).unwrap(),
                k.key_id,
            )
        })
    }

    #[test]
    fn builtin_key_value_plain_text_is_a_key_without_id() {
        assert_eq!(read("sk-plain\n"), Ok(("sk-plain".into(), None)));
    }

    #[test]
    fn builtin_key_value_json_has_key_and_id() {
        assert_eq!(
            read(r#"{"api_key": "sk-j", "key_id": "svc_1", "other": 1}"#),
            Ok(("sk-j".into(), Some("svc_1".into())))
        );
        assert_eq!(read(r#"{"api_key": "sk-j"}"#), Ok(("sk-j".into(), None)));
        assert_eq!(
            read(r#"{"api_key": "sk-j", "key_id": 7}"#),
            Ok(("sk-j".into(), None))
        );
    }

    #[test]
    fn builtin_key_value_json_without_api_key_is_refused() {
        assert_eq!(read(r#"{"key": "sk-j"}"#), Err(BadValue::NoApiKey));
        assert_eq!(read(r#"{"api_key": 5}"#), Err(BadValue::NoApiKey));
        assert_eq!(read(r#"{"api_key": ""}"#), Err(BadValue::NoApiKey));
        assert_eq!(read("{not json"), Err(BadValue::NoApiKey));
        assert_eq!(read("  "), Err(BadValue::Empty));
    }

    #[test]
    fn builtin_key_value_render_round_trips() {
        let value = render(&SecretBytes::from_slice(b"sk-\"q\""), "h1").unwrap();
        assert_eq!(value.expose(), br#"{"api_key":"sk-\"q\"","key_id":"h1"}"#);
        let back = parse(&value).unwrap();
        assert_eq!(back.api_key.expose(), b"sk-\"q\"");
        assert_eq!(back.key_id.as_deref(), Some("h1"));
    }
}
