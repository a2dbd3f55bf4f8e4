//! Reading an admin API's answer into the CLI's shapes: each shape is read from its
//! PascalCase wire form and written out in the CLI's snake_case JSON, field by field, so the
//! CLI's JSON output is its own contract and does not change when the API adds a field. Dates
//! arrive as epoch seconds and leave as RFC 3339.

use serde::de::DeserializeOwned;
use serde::Serializer;
use serde_json::Value;

use crate::client::CallError;

/// The member `name` of an answer, in its shape. The error names the member, never quotes the
/// answer (a `CreateKey` answer holds the key, a `CreateRotator` answer a signing secret).
pub fn member<T: DeserializeOwned>(answer: &mut Value, name: &str) -> Result<T, CallError> {
    let value = answer.get_mut(name).map(Value::take).unwrap_or(Value::Null);
    serde_json::from_value(value).map_err(|e| CallError::BadAnswer {
        status: 200,
        what: format!("its {name} is not as documented: {}", without_values(&e)),
    })
}

/// The whole answer in a shape (for answers whose members are at the top, like
/// `GetKeyUsage`).
pub fn whole<T: DeserializeOwned>(answer: Value) -> Result<T, CallError> {
    serde_json::from_value(answer).map_err(|e| CallError::BadAnswer {
        status: 200,
        what: format!("not as documented: {}", without_values(&e)),
    })
}

/// serde_json's message without any quoted input: "missing field `Arn`" is kept, "invalid
/// type: string \"…\"" loses the string.
fn without_values(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.split_once('"') {
        Some((head, _)) => format!("{}…", head.trim_end()),
        None => text,
    }
}

/// Epoch seconds as RFC 3339 UTC, whole seconds; a date out of range stays a number.
pub fn rfc3339(epoch_seconds: f64) -> Option<String> {
    let whole = epoch_seconds.floor();
    if !whole.is_finite() {
        return None;
    }
    let at = time::OffsetDateTime::from_unix_timestamp(whole as i64).ok()?;
    at.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// A date for text output: RFC 3339, or the number if it is out of range.
pub fn date_text(epoch_seconds: f64) -> String {
    rfc3339(epoch_seconds).unwrap_or_else(|| epoch_seconds.to_string())
}

/// `serialize_with` for epoch seconds: RFC 3339.
pub fn date<S: Serializer>(epoch_seconds: &f64, s: S) -> Result<S::Ok, S::Error> {
    match rfc3339(*epoch_seconds) {
        Some(text) => s.serialize_str(&text),
        None => s.serialize_f64(*epoch_seconds),
    }
}

/// `serialize_with` for optional epoch seconds: RFC 3339 or `null`.
#[allow(clippy::ref_option)]
pub fn optional_date<S: Serializer>(epoch_seconds: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match epoch_seconds {
        Some(e) => date(e, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates_are_rfc3339_in_whole_seconds() {
        assert_eq!(rfc3339(1_700_000_000.75).unwrap(), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(0.0).unwrap(), "1970-01-01T00:00:00Z");
        assert!(rfc3339(f64::NAN).is_none());
        assert!(rfc3339(1e300).is_none());
        assert_eq!(date_text(1e300), 1e300.to_string());
    }

    #[test]
    fn a_missing_member_is_named_and_a_wrong_value_not_quoted() {
        let mut answer = json!({"Other": 1});
        let err = member::<String>(&mut answer, "Secret")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("Secret"), "{err}");
        let mut answer = json!({"Secret": {"planted": "whsec_planted"}});
        let err = member::<Vec<String>>(&mut answer, "Secret")
            .err()
            .unwrap()
            .to_string();
        assert!(!err.contains("whsec_planted"), "{err}");
    }
}
