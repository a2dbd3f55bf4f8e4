//! The botocore model's constraints (lengths, ranges, patterns, enums, required members) and
//! the Secrets Manager rules that go beyond them. Model violations are collected and reported
//! together as AWS does: "N validation error(s) detected: Value 'x' at 'name' failed to satisfy
//! constraint: …". Sensitive members are reported without their value.

use crate::CoreError;

#[derive(Default)]
pub struct Validator {
    errors: Vec<String>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, value: Option<&str>, at: &str, constraint: &str) {
        let shown = match value {
            Some(v) => format!("Value '{v}' at '{at}'"),
            None => format!("Value at '{at}'"),
        };
        self.errors.push(format!(
            "{shown} failed to satisfy constraint: {constraint}"
        ));
    }

    /// A required member that is absent.
    pub fn required<T>(&mut self, value: &Option<T>, at: &str) {
        if value.is_none() {
            self.push(Some("null"), at, "Member must not be null");
        }
    }

    /// String length in characters, like the model's `min`/`max` on strings.
    pub fn length(&mut self, value: Option<&str>, at: &str, min: usize, max: usize) {
        if let Some(v) = value {
            self.length_of(Some(v), v.chars().count(), at, min, max);
        }
    }

    /// Length of a sensitive member: the value is never echoed.
    pub fn sensitive_length(&mut self, len: Option<usize>, at: &str, min: usize, max: usize) {
        if let Some(n) = len {
            self.length_of(None, n, at, min, max);
        }
    }

    fn length_of(&mut self, shown: Option<&str>, n: usize, at: &str, min: usize, max: usize) {
        if n < min {
            self.push(
                shown,
                at,
                &format!("Member must have length greater than or equal to {min}"),
            );
        } else if n > max {
            self.push(
                shown,
                at,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// A list's member count.
    pub fn count<T>(&mut self, list: Option<&[T]>, at: &str, min: usize, max: usize) {
        if let Some(l) = list {
            let n = l.len();
            if n < min {
                self.push(
                    None,
                    at,
                    &format!("Member must have length greater than or equal to {min}"),
                );
            } else if n > max {
                self.push(
                    None,
                    at,
                    &format!("Member must have length less than or equal to {max}"),
                );
            }
        }
    }

    pub fn range(&mut self, value: Option<i64>, at: &str, min: i64, max: i64) {
        if let Some(v) = value {
            let s = v.to_string();
            if v < min {
                self.push(
                    Some(&s),
                    at,
                    &format!("Member must have value greater than or equal to {min}"),
                );
            } else if v > max {
                self.push(
                    Some(&s),
                    at,
                    &format!("Member must have value less than or equal to {max}"),
                );
            }
        }
    }

    pub fn one_of(&mut self, value: Option<&str>, at: &str, allowed: &[&str]) {
        if let Some(v) = value {
            if !allowed.contains(&v) {
                let set = allowed.join(", ");
                self.push(
                    Some(v),
                    at,
                    &format!("Member must satisfy enum value set: [{set}]"),
                );
            }
        }
    }

    /// A character-class pattern: every character must satisfy `ok`.
    pub fn chars(
        &mut self,
        value: Option<&str>,
        at: &str,
        pattern: &str,
        ok: impl Fn(char) -> bool,
    ) {
        if let Some(v) = value {
            if !v.chars().all(ok) {
                self.push(
                    Some(v),
                    at,
                    &format!("Member must satisfy regular expression pattern: {pattern}"),
                );
            }
        }
    }

    pub fn finish(self) -> Result<(), CoreError> {
        match self.errors.len() {
            0 => Ok(()),
            n => {
                let noun = if n == 1 { "error" } else { "errors" };
                Err(CoreError::Validation(format!(
                    "{n} validation {noun} detected: {}",
                    self.errors.join("; ")
                )))
            }
        }
    }
}

pub const SECRET_VALUE_MAX: usize = 65_536;

/// A character a secret name may hold: an ASCII letter or digit, or one of `/_+=.@-` (AWS
/// also lists `!` in its message, but refuses it).
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b)
}

fn invalid_name() -> CoreError {
    CoreError::Validation(
        "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!"
            .to_owned(),
    )
}

/// Names: 1–512 ASCII letters, digits and `/_+=.@-`.
pub fn secret_name(name: &str) -> Result<(), CoreError> {
    if !name.is_empty() && name.len() <= 512 && name.bytes().all(is_name_byte) {
        Ok(())
    } else {
        Err(invalid_name())
    }
}

/// A `SecretId` that is not an ARN names a secret, so it must be a possible name: AWS refuses
/// any other with the name error, on every operation, before looking anything up (so the
/// answer says nothing about what exists or what the caller may do). An ARN is looked up as
/// it is. The length (1–2,048) is the model's, checked with the other members.
pub fn secret_id(id: &str) -> Result<(), CoreError> {
    if id.starts_with("arn:") || id.bytes().all(is_name_byte) {
        Ok(())
    } else {
        Err(invalid_name())
    }
}

/// `ClientRequestToken`/`VersionId`: 32–64 characters. AWS accepts any printable token of
/// that length (SDKs send UUIDs); we additionally refuse control characters.
pub fn version_token(v: &mut Validator, token: Option<&str>, at: &str) {
    v.length(token, at, 32, 64);
    v.chars(token, at, "^[\\x21-\\x7E]+$", |c| c.is_ascii_graphic());
}

/// Staging labels: 1–256 characters, at most 20 per version.
pub fn version_stages(v: &mut Validator, stages: Option<&[String]>, at: &str) {
    v.count(stages, at, 1, 20);
    if let Some(list) = stages {
        for (i, s) in list.iter().enumerate() {
            v.length(Some(s), &format!("{at}.{}.member", i + 1), 1, 256);
        }
    }
}

pub fn tags(v: &mut Validator, tags: Option<&[super::dto::Tag]>, at: &str) {
    if let Some(list) = tags {
        for (i, t) in list.iter().enumerate() {
            let base = format!("{at}.{}.member", i + 1);
            v.required(&t.key, &format!("{base}.key"));
            v.length(t.key.as_deref(), &format!("{base}.key"), 1, 128);
            v.length(t.value.as_deref(), &format!("{base}.value"), 0, 256);
        }
    }
}

/// Tag rules beyond the model: at most 50 per secret, and the `aws:` prefix is reserved.
pub fn tag_rules(keys: impl Iterator<Item = String>, total: usize) -> Result<(), CoreError> {
    for k in keys {
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(CoreError::InvalidParameter(
                "Invalid tag key. The aws: prefix is reserved for AWS use.".to_owned(),
            ));
        }
    }
    if total > 50 {
        return Err(CoreError::LimitExceeded(
            "A secret can have at most 50 tags.".to_owned(),
        ));
    }
    Ok(())
}

/// `SecretString` and `SecretBinary` are mutually exclusive.
pub fn one_value(has_string: bool, has_binary: bool) -> Result<(), CoreError> {
    if has_string && has_binary {
        return Err(CoreError::InvalidParameter(
            "You can't specify both a binary secret value and a string secret value in the same secret."
                .to_owned(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_errors_like_aws() {
        let mut v = Validator::new();
        v.length(Some(""), "name", 1, 512);
        v.range(Some(0), "maxResults", 1, 100);
        let msg = v.finish().unwrap_err().to_string();
        assert!(msg.starts_with("2 validation errors detected: "), "{msg}");
        assert!(msg.contains("Value '' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1"));
        assert!(msg.contains("Value '0' at 'maxResults'"));
    }

    #[test]
    fn sensitive_values_are_not_echoed() {
        let mut v = Validator::new();
        v.sensitive_length(Some(70_000), "secretString", 1, SECRET_VALUE_MAX);
        let msg = v.finish().unwrap_err().to_string();
        assert!(msg.contains("Value at 'secretString'"), "{msg}");
    }

    #[test]
    fn names() {
        assert!(secret_name("openai/prod").is_ok());
        assert!(secret_name("a+b=c.d@e-f_g").is_ok());
        assert!(secret_name("bad name").is_err());
        assert!(secret_name("bad!").is_err());
        assert!(secret_name(&"x".repeat(513)).is_err());
        assert!(secret_name("").is_err());
    }

    #[test]
    fn secret_ids_are_names_or_arns() {
        assert!(secret_id("openai/prod").is_ok());
        assert!(secret_id(&"x".repeat(600)).is_ok());
        assert!(secret_id("arn:aws:secretsmanager:us-east-1:111111111111:secret:a b").is_ok());
        // Without its colon, "arn" is a name like any other.
        assert!(secret_id("arn").is_ok());
        for bad in ["Inv Name", "bang!", "star*", "emoji-\u{2603}", "ar n:x"] {
            assert!(secret_id(bad).is_err(), "{bad}");
        }
        let msg = secret_id("a b").unwrap_err().to_string();
        assert!(
            msg.starts_with("Invalid name. Must be a valid name"),
            "{msg}"
        );
    }
}
