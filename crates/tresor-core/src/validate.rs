//! Model validation shared by every service: the [`Validator`] that collects the breaches of
//! a request's model constraints and reports them together as AWS does ("N validation
//! error(s) detected: Value 'x' at 'name' failed to satisfy constraint: …"), and the
//! [`Validate`] check each awsJson request type implements.
//!
//! Data path: the server decodes a body into a request type and turns it into a
//! [`Validated`] request ([`Validated::new`]) before the operation runs, so the model is
//! checked before any lookup or authorization, and an operation only ever receives a request
//! that passed. IAM and STS (awsQuery) collect their breaches with the same [`Validator`].
//! Sensitive members are reported without their value.

use std::ops::Deref;

use tresor_types::ModelString;

use crate::CoreError;

/// The model check of one request type, with the rules AWS applies together with it (before
/// it looks anything up).
pub trait Validate {
    /// Collect the request's breaches of the model in `v`, in the order AWS reports them. An
    /// `Err` is a rule that answers on its own, whatever else is collected.
    fn check(&self, v: &mut Validator) -> Result<(), CoreError>;

    /// The check's answer: the rule's own error, or every breach together.
    fn validate(&self) -> Result<(), CoreError> {
        let mut v = Validator::new();
        self.check(&mut v)?;
        v.finish()
    }
}

/// A request that passed its [`Validate`] check: what an operation takes.
#[derive(Debug)]
pub struct Validated<T>(T);

impl<T: Validate> Validated<T> {
    pub fn new(request: T) -> Result<Self, CoreError> {
        request.validate()?;
        Ok(Self(request))
    }
}

impl<T> Validated<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Validated<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

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

    /// A list's member count (reported, as AWS does, without the list).
    pub fn count<T>(&mut self, list: Option<&[T]>, at: &str, min: usize, max: usize) {
        if let Some(l) = list {
            self.length_of(None, l.len(), at, min, max);
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

    /// Any other constraint of the model, in its words.
    pub fn constraint(&mut self, value: Option<&str>, at: &str, constraint: &str) {
        self.push(value, at, constraint);
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

    /// A string member of a model shape: its length, then its pattern.
    pub fn member<T: ModelString>(&mut self, value: Option<&T>, at: &str) {
        let shape = T::SHAPE;
        let value = value.map(|v| &**v);
        self.length(value, at, shape.min, shape.max);
        if let Some(p) = shape.pattern {
            self.chars(value, at, p.regex, p.allows);
        }
    }

    /// A required string member of a model shape.
    pub fn required_member<T: ModelString>(&mut self, value: &Option<T>, at: &str) {
        self.required(value, at);
        self.member(value.as_ref(), at);
    }

    /// Each string of a list, at `<at>.<n>.member` (counted from 1, as AWS names them).
    pub fn each<T: ModelString>(&mut self, list: Option<&[T]>, at: &str) {
        for (i, value) in list.unwrap_or_default().iter().enumerate() {
            self.member(Some(value), &format!("{at}.{}.member", i + 1));
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

#[cfg(test)]
mod tests {
    use super::*;
    use tresor_types::{SecretId, StagingLabel, VersionId};

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
        v.sensitive_length(Some(70_000), "secretString", 1, 65_536);
        let msg = v.finish().unwrap_err().to_string();
        assert!(msg.contains("Value at 'secretString'"), "{msg}");
    }

    #[test]
    fn members_are_checked_against_their_shape() {
        let mut v = Validator::new();
        v.member(Some(&SecretId::from("")), "secretId");
        v.member(Some(&VersionId::from("short token")), "versionId");
        v.each(
            Some(&[StagingLabel::from("ok"), StagingLabel::from("")]),
            "versionStages",
        );
        let msg = v.finish().unwrap_err().to_string();
        assert_eq!(
            msg,
            "4 validation errors detected: \
             Value '' at 'secretId' failed to satisfy constraint: Member must have length greater than or equal to 1; \
             Value 'short token' at 'versionId' failed to satisfy constraint: Member must have length greater than or equal to 32; \
             Value 'short token' at 'versionId' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[\\x21-\\x7E]+$; \
             Value '' at 'versionStages.2.member' failed to satisfy constraint: Member must have length greater than or equal to 1"
        );
    }
}
