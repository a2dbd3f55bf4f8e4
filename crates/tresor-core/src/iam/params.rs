//! Request parameters as the server hands them over: the awsQuery form rebuilt as nested JSON
//! in which every scalar is a string (`"MaxItems": "10"`, `"SetAsDefault": "true"`). The
//! deserializers here accept those strings (and real JSON numbers and booleans, for callers
//! inside the process), and an empty list, which awsQuery sends as `Tags=`.

use serde::de::{DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::CoreError;

/// Decode a typed request. serde's messages can quote the input; only the kind of problem is
/// reported.
pub(crate) fn decode<T: DeserializeOwned + Default>(params: Value) -> Result<T, CoreError> {
    match params {
        Value::Null => Ok(T::default()),
        Value::Object(ref m) if m.is_empty() => Ok(T::default()),
        other => serde_json::from_value(other).map_err(|_| {
            CoreError::Validation(
                "1 validation error detected: a request parameter has the wrong type or shape."
                    .to_owned(),
            )
        }),
    }
}

/// The `<Action>Result` content as JSON.
pub(crate) fn encode<T: Serialize>(result: Result<T, CoreError>) -> Result<Value, CoreError> {
    serde_json::to_value(result?)
        .map_err(|e| CoreError::Internal(format!("encoding an IAM response: {e}")))
}

#[derive(Deserialize)]
#[serde(untagged)]
enum IntForm {
    Number(i64),
    Text(String),
}

/// An optional integer sent as a string.
pub(crate) fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<IntForm>::deserialize(d)? {
        None => Ok(None),
        Some(IntForm::Number(n)) => Ok(Some(n)),
        Some(IntForm::Text(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom("not an integer")),
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum BoolForm {
    Bool(bool),
    Text(String),
}

/// An optional boolean sent as `true`/`false`.
pub(crate) fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Option::<BoolForm>::deserialize(d)? {
        None => Ok(None),
        Some(BoolForm::Bool(b)) => Ok(Some(b)),
        Some(BoolForm::Text(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(BoolForm::Text(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(BoolForm::Text(_)) => Err(serde::de::Error::custom("not a boolean")),
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ListForm<T> {
    List(Vec<T>),
    Empty(String),
}

/// An optional list; awsQuery sends an empty list as the bare name (`TagKeys=`).
pub(crate) fn list<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    match Option::<ListForm<T>>::deserialize(d)? {
        None => Ok(None),
        Some(ListForm::List(v)) => Ok(Some(v)),
        Some(ListForm::Empty(s)) if s.is_empty() => Ok(Some(Vec::new())),
        Some(ListForm::Empty(_)) => Err(serde::de::Error::custom("not a list")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "PascalCase", default)]
    struct Sample {
        #[serde(deserialize_with = "int")]
        max_items: Option<i64>,
        #[serde(deserialize_with = "boolean")]
        set_as_default: Option<bool>,
        #[serde(deserialize_with = "list")]
        tag_keys: Option<Vec<String>>,
        user_name: Option<String>,
    }

    #[test]
    fn scalars_arrive_as_strings() {
        let s: Sample = decode(json!({
            "MaxItems": "10", "SetAsDefault": "true", "TagKeys": ["a", "b"], "UserName": "alice"
        }))
        .unwrap();
        assert_eq!(s.max_items, Some(10));
        assert_eq!(s.set_as_default, Some(true));
        assert_eq!(s.tag_keys.unwrap(), vec!["a", "b"]);
        assert_eq!(s.user_name.as_deref(), Some("alice"));
        let s: Sample =
            decode(json!({"MaxItems": 3, "SetAsDefault": false, "TagKeys": ""})).unwrap();
        assert_eq!((s.max_items, s.set_as_default), (Some(3), Some(false)));
        assert_eq!(s.tag_keys.unwrap(), Vec::<String>::new());
        let s: Sample = decode(Value::Null).unwrap();
        assert!(s.max_items.is_none() && s.tag_keys.is_none());
    }

    #[test]
    fn malformed_scalars_are_validation_errors_that_quote_nothing() {
        for bad in [
            json!({"MaxItems": "ten"}),
            json!({"SetAsDefault": "yes"}),
            json!({"TagKeys": "x"}),
        ] {
            let e = decode::<Sample>(bad).unwrap_err();
            assert_eq!(e.aws_code(), "ValidationException");
            assert!(!e.message().contains("ten") && !e.message().contains("yes"));
        }
    }
}
