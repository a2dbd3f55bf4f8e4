//! What a built-in rotator writes for `tresor rotator logs`: a step's notes and the providers'
//! answer bodies, with every key value the rotator has handled replaced by `[REDACTED]`.
//!
//! Redaction happens when a line is added (with the keys known then) and again over the whole
//! text when the report is made (with every key known by the end of the step), so a body logged
//! before a key was learnt is still cleaned. Lines are cut only after redaction, so a key is
//! never left half-visible by a cut.

use std::time::Instant;

use tresor_types::SecretBytes;
use zeroize::Zeroizing;

use crate::rotator::{capped, Outcome, StepReport};

/// What replaces a key value.
const REDACTED: &[u8] = b"[REDACTED]";
/// The most of one provider answer body kept.
const MAX_BODY: usize = 4 * 1024;

/// How a step ended, before the transcript is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Done {
    pub outcome: Outcome,
    /// One line for the audit trail: no answer bodies, no keys.
    pub summary: String,
    pub revoke_later: Option<String>,
}

impl Done {
    pub fn ok(summary: impl Into<String>) -> Self {
        Self::with(Outcome::Ok, summary)
    }
    pub fn failed(summary: impl Into<String>) -> Self {
        Self::with(Outcome::Failed, summary)
    }
    pub fn waiting(summary: impl Into<String>) -> Self {
        Self::with(Outcome::Waiting, summary)
    }
    pub fn timeout(summary: impl Into<String>) -> Self {
        Self::with(Outcome::Timeout, summary)
    }
    fn with(outcome: Outcome, summary: impl Into<String>) -> Self {
        Self {
            outcome,
            summary: summary.into(),
            revoke_later: None,
        }
    }
}

/// The step's notes, and the keys to keep out of them.
#[derive(Default)]
pub(crate) struct Transcript {
    text: Zeroizing<Vec<u8>>,
    keys: Vec<SecretBytes>,
}

impl Transcript {
    pub fn new() -> Self {
        Self::default()
    }

    /// Never let `key` appear in the transcript (nor in its JSON-escaped form).
    pub fn redact(&mut self, key: &SecretBytes) {
        if key.is_empty() || self.keys.iter().any(|k| k == key) {
            return;
        }
        if let Ok(text) = std::str::from_utf8(key.expose()) {
            let quoted = Zeroizing::new(serde_json::to_string(text).unwrap_or_default());
            let escaped = quoted
                .strip_prefix('"')
                .and_then(|q| q.strip_suffix('"'))
                .unwrap_or_default();
            if !escaped.is_empty() && escaped.as_bytes() != key.expose() {
                self.keys.push(SecretBytes::from_slice(escaped.as_bytes()));
            }
        }
        self.keys.push(key.clone());
    }

    /// Add one line.
    pub fn note(&mut self, line: &str) {
        self.push(line.as_bytes(), usize::MAX);
    }

    /// Add a provider's answer: `<what> answered HTTP <status>: <body>` (the body cut to a few KiB).
    pub fn answer(&mut self, what: &str, status: u16, body: &[u8]) {
        let mut line = Zeroizing::new(format!("{what} answered HTTP {status}").into_bytes());
        if !body.is_empty() {
            line.extend_from_slice(b": ");
            line.extend_from_slice(body);
        }
        self.push(&line, MAX_BODY);
    }

    fn push(&mut self, line: &[u8], max: usize) {
        let mut clean = self.clean(line);
        if clean.len() > max {
            clean.truncate(max);
            clean.extend_from_slice(b" [...]");
        }
        self.text.extend_from_slice(&clean);
        self.text.push(b'\n');
    }

    fn clean(&self, bytes: &[u8]) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(bytes.to_vec());
        for key in &self.keys {
            out = replace_all(&out, key.expose());
        }
        out
    }

    /// The step's report: `done` with this transcript as its `stderr`.
    pub fn report(self, done: Done, started: Instant) -> StepReport {
        let stderr = self.clean(&self.text).to_vec();
        StepReport {
            outcome: done.outcome,
            summary: done.summary,
            stdout: Vec::new(),
            stderr: capped(stderr),
            duration: started.elapsed(),
            revoke_later: done.revoke_later,
        }
    }
}

/// `haystack` with every `needle` replaced by [`REDACTED`].
fn replace_all(haystack: &[u8], needle: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(haystack.len()));
    let mut rest = haystack;
    while !needle.is_empty() && rest.len() >= needle.len() {
        match rest.windows(needle.len()).position(|w| w == needle) {
            Some(at) => {
                out.extend_from_slice(&rest[..at]);
                out.extend_from_slice(REDACTED);
                rest = &rest[at + needle.len()..];
            }
            None => break,
        }
    }
    out.extend_from_slice(rest);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn text(t: Transcript) -> String {
        let report = t.report(Done::ok("x"), Instant::now());
        String::from_utf8(report.stderr).unwrap()
    }

    #[test]
    fn builtin_transcript_redacts_keys_known_before_and_after_a_line() {
        let mut t = Transcript::new();
        t.redact(&SecretBytes::from_slice(b"sk-admin-1"));
        t.answer(
            "POST /x",
            401,
            br#"{"error":"bad key sk-admin-1, sk-new-2"}"#,
        );
        t.redact(&SecretBytes::from_slice(b"sk-new-2"));
        let out = text(t);
        assert_eq!(
            out,
            "POST /x answered HTTP 401: {\"error\":\"bad key [REDACTED], [REDACTED]\"}\n"
        );
    }

    #[test]
    fn builtin_transcript_redacts_the_json_escaped_form() {
        let mut t = Transcript::new();
        t.redact(&SecretBytes::from_slice(br#"k"e\y"#));
        t.answer("GET /y", 200, br#"{"v":"k\"e\\y"}"#);
        assert_eq!(
            text(t),
            "GET /y answered HTTP 200: {\"v\":\"[REDACTED]\"}\n"
        );
    }

    #[test]
    fn builtin_transcript_cuts_a_long_body_after_redacting() {
        let key = "sk-".to_owned() + &"z".repeat(40);
        // Cut before redacting, the line would end in half the key; redacted, it fits.
        let mut body = "a".repeat(MAX_BODY - 60);
        body.push_str(&key);
        let mut t = Transcript::new();
        t.redact(&SecretBytes::from_slice(key.as_bytes()));
        t.answer("GET /z", 500, body.as_bytes());
        let out = text(t);
        assert!(!out.contains("sk-z") && !out.contains("zzzz"), "{out}");
        assert!(out.contains("[REDACTED]"));
    }
}
