//! The botocore `iam` model's constraints (names, paths, tags, policy documents) and IAM's
//! quotas. Model violations are collected in a [`Validator`] and reported together
//! (`ValidationError` on the Query wire); quota breaches are `LimitExceeded`.

use tresor_policy::{Policy, PolicyKind};

use crate::validate::Validator;
use crate::CoreError;

use super::dto::TagParam;
use super::format::policy_size;

/// `[\w+=,.@-]+`: user, role, policy and session names (`\w` is ASCII in IAM's patterns).
pub(crate) const NAME_PATTERN: &str = "[\\w+=,.@-]+";
const PATH_PATTERN: &str = "(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)";
const POLICY_PATH_PATTERN: &str = "((/[A-Za-z0-9\\.,\\+@=_-]+)*)/";
const PATH_PREFIX_PATTERN: &str = "\\u002F[\\u0021-\\u007F]*";
const TAG_PATTERN: &str = "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*";
const DOCUMENT_PATTERN: &str = "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+";

/// Managed policy documents: 6,144 characters (white space not counted).
pub(crate) const MANAGED_POLICY_MAX: usize = 6_144;
/// All inline policies of one user together: 2,048 characters.
pub(crate) const USER_INLINE_MAX: usize = 2_048;
/// All inline policies of one role together: 10,240 characters.
pub(crate) const ROLE_INLINE_MAX: usize = 10_240;
/// A role's trust policy (`ACLSizePerRole`): 2,048 characters.
pub(crate) const TRUST_POLICY_MAX: usize = 2_048;
/// Tags on one user or role.
pub(crate) const MAX_TAGS: usize = 50;

pub(crate) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// A user, role or policy name: 1 to `max` characters of [`NAME_PATTERN`].
pub(crate) fn name(v: &mut Validator, value: Option<&str>, at: &str, max: usize) {
    v.length(value, at, 1, max);
    v.chars(value, at, NAME_PATTERN, is_name_char);
}

/// A required name.
pub(crate) fn required_name(v: &mut Validator, value: &Option<String>, at: &str, max: usize) {
    v.required(value, at);
    name(v, value.as_deref(), at, max);
}

fn pattern_breach(v: &mut Validator, value: &str, at: &str, pattern: &str) {
    // The Validator reports a pattern through a character test; a structural mismatch is
    // reported the same way by failing every character.
    if value.is_empty() {
        v.length(Some(value), at, 1, usize::MAX);
    } else {
        v.chars(Some(value), at, pattern, |_| false);
    }
}

/// A user or role path: `/` or `/…/` of printable ASCII, 1–512 characters.
pub(crate) fn path(v: &mut Validator, value: Option<&str>, at: &str) {
    let Some(p) = value else { return };
    v.length(value, at, 1, 512);
    let ok = p == "/"
        || (p.len() >= 3
            && p.starts_with('/')
            && p.ends_with('/')
            && p.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c)));
    if !p.is_empty() && !ok {
        pattern_breach(v, p, at, PATH_PATTERN);
    }
}

/// A managed policy path: `/` or `/seg/…/` with segments of `[A-Za-z0-9.,+@=_-]`.
pub(crate) fn policy_path(v: &mut Validator, value: Option<&str>, at: &str) {
    let Some(p) = value else { return };
    v.length(value, at, 1, 512);
    let ok = p.ends_with('/')
        && p.starts_with('/')
        && p[..p.len() - 1].split('/').skip(1).all(|seg| {
            !seg.is_empty()
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".,+@=_-".contains(c))
        });
    if !p.is_empty() && !ok {
        pattern_breach(v, p, at, POLICY_PATH_PATTERN);
    }
}

/// A `PathPrefix` of `ListUsers`/`ListRoles`: `/` then printable ASCII.
pub(crate) fn path_prefix(v: &mut Validator, value: Option<&str>, at: &str) {
    let Some(p) = value else { return };
    v.length(value, at, 1, 512);
    let ok = p.starts_with('/') && p.chars().all(|c| ('\u{21}'..='\u{7f}').contains(&c));
    if !p.is_empty() && !ok {
        pattern_breach(v, p, at, PATH_PREFIX_PATTERN);
    }
}

/// A policy version id: `v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`.
pub(crate) fn version_id(v: &mut Validator, value: &Option<String>, at: &str) {
    v.required(value, at);
    let Some(id) = value.as_deref() else { return };
    let (number, suffix) = match id.split_once('.') {
        Some((n, s)) => (n, Some(s)),
        None => (id, None),
    };
    let ok = number.strip_prefix('v').is_some_and(|d| {
        d.starts_with(|c: char| ('1'..='9').contains(&c)) && d.bytes().all(|b| b.is_ascii_digit())
    }) && suffix.is_none_or(|s| s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if !ok {
        pattern_breach(v, id, at, "v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?");
    }
}

/// A policy ARN member: present, 20–2,048 characters.
pub(crate) fn policy_arn(v: &mut Validator, value: &Option<String>, at: &str) {
    v.required(value, at);
    v.length(value.as_deref(), at, 20, 2048);
}

fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c)
}

/// A tag list: at most 50, keys 1–128 and values 0–256 characters of letters, digits, spaces
/// and `_.:/=+-@`.
pub(crate) fn tags(v: &mut Validator, tags: Option<&[TagParam]>, at: &str) {
    let Some(list) = tags else { return };
    v.count(Some(list), at, 0, MAX_TAGS);
    for (i, t) in list.iter().enumerate() {
        let base = format!("{at}.{}.member", i + 1);
        v.required(&t.key, &format!("{base}.key"));
        v.length(t.key.as_deref(), &format!("{base}.key"), 1, 128);
        v.chars(
            t.key.as_deref(),
            &format!("{base}.key"),
            TAG_PATTERN,
            is_tag_char,
        );
        v.required(&t.value, &format!("{base}.value"));
        v.length(t.value.as_deref(), &format!("{base}.value"), 0, 256);
        v.chars(
            t.value.as_deref(),
            &format!("{base}.value"),
            TAG_PATTERN,
            is_tag_char,
        );
    }
}

/// Rules on tags beyond the model: keys are unique regardless of case, and `aws:` is reserved.
pub(crate) fn tag_rules<'a>(keys: impl Iterator<Item = &'a str>) -> Result<(), CoreError> {
    let mut seen: Vec<String> = Vec::new();
    for k in keys {
        let folded = k.to_lowercase();
        if folded.starts_with("aws:") {
            return Err(CoreError::InvalidInput(
                "Tag keys starting with 'aws:' are reserved for AWS use.".to_owned(),
            ));
        }
        if seen.contains(&folded) {
            return Err(CoreError::InvalidInput(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive."
                    .to_owned(),
            ));
        }
        seen.push(folded);
    }
    Ok(())
}

/// A policy document member: present, 1–131,072 characters of tab, line breaks and
/// U+0020–U+00FF. The document is not echoed in the message.
pub(crate) fn document(v: &mut Validator, value: &Option<String>, at: &str) {
    v.required(value, at);
    let Some(doc) = value.as_deref() else { return };
    v.sensitive_length(Some(doc.chars().count()), at, 1, 131_072);
    let ok = doc
        .chars()
        .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}'));
    if !ok {
        // `sensitive_length` cannot express a pattern; reuse the character test on a stand-in
        // so the message names the member and the pattern without quoting the document.
        v.chars(Some("…"), at, DOCUMENT_PATTERN, |_| false);
    }
}

/// Parse a policy document for the IAM grammar of `kind`: `MalformedPolicyDocument` with the
/// parser's message (which names the offending element) if it breaks it.
pub(crate) fn parse_policy(document: &str, kind: PolicyKind) -> Result<Policy, CoreError> {
    tresor_policy::parse(document, kind).map_err(|e| CoreError::MalformedPolicyDocument(e.message))
}

/// A managed policy document: the identity grammar and the 6,144-character quota.
pub(crate) fn managed_document(document: &str) -> Result<Policy, CoreError> {
    let policy = parse_policy(document, PolicyKind::Identity)?;
    if policy_size(document) > MANAGED_POLICY_MAX {
        return Err(CoreError::LimitExceeded(format!(
            "Cannot exceed quota for PolicySize: {MANAGED_POLICY_MAX}"
        )));
    }
    Ok(policy)
}

/// A trust policy: the trust grammar and the `ACLSizePerRole` quota.
pub(crate) fn trust_document(document: &str) -> Result<Policy, CoreError> {
    let policy = parse_policy(document, PolicyKind::Trust)?;
    if policy_size(document) > TRUST_POLICY_MAX {
        return Err(CoreError::LimitExceeded(format!(
            "Cannot exceed quota for ACLSizePerRole: {TRUST_POLICY_MAX}"
        )));
    }
    Ok(policy)
}

/// `PermissionsBoundary` is not supported: refusing it beats silently granting more than the
/// caller meant to.
pub(crate) fn no_permissions_boundary(value: Option<&str>) -> Result<(), CoreError> {
    match value {
        Some(_) => Err(CoreError::InvalidInput(
            "Permissions boundaries are not supported by Tresor.".to_owned(),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(f: impl FnOnce(&mut Validator)) -> Option<String> {
        let mut v = Validator::new();
        f(&mut v);
        v.finish().err().map(|e| e.message())
    }

    #[test]
    fn names_follow_the_model() {
        for ok in ["alice", "a+b=c,d.e@f-g_h", "X", &"n".repeat(64)] {
            assert_eq!(errors(|v| name(v, Some(ok), "userName", 64)), None, "{ok}");
        }
        for bad in ["", "bad name", "ünï", "a/b", "a:b", &"n".repeat(65)] {
            assert!(
                errors(|v| name(v, Some(bad), "userName", 64)).is_some(),
                "{bad}"
            );
        }
        let msg = errors(|v| required_name(v, &Some("a b".into()), "userName", 64)).unwrap();
        assert_eq!(
            msg,
            "1 validation error detected: Value 'a b' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
        );
        let msg = errors(|v| required_name(v, &None, "userName", 64)).unwrap();
        assert!(msg.contains("Member must not be null"), "{msg}");
    }

    #[test]
    fn paths_follow_the_model() {
        for ok in ["/", "/eng/", "/eng/ml/", "/a!b~/"] {
            assert_eq!(errors(|v| path(v, Some(ok), "path")), None, "{ok}");
        }
        for bad in [
            "",
            "eng/",
            "/eng",
            "//",
            "/a b/",
            &format!("/{}/", "x".repeat(511)),
        ] {
            assert!(errors(|v| path(v, Some(bad), "path")).is_some(), "{bad}");
        }
        for ok in ["/", "/eng/", "/a.b,c+d@e=f_g-h/x/"] {
            assert_eq!(errors(|v| policy_path(v, Some(ok), "path")), None, "{ok}");
        }
        for bad in ["", "eng/", "//", "/a//b/", "/a!/"] {
            assert!(
                errors(|v| policy_path(v, Some(bad), "path")).is_some(),
                "{bad}"
            );
        }
        assert_eq!(errors(|v| path_prefix(v, Some("/eng"), "pathPrefix")), None);
        assert!(errors(|v| path_prefix(v, Some("eng"), "pathPrefix")).is_some());
    }

    #[test]
    fn version_ids_follow_the_model() {
        for ok in ["v1", "v12", "v3.abc-1", "v2."] {
            assert_eq!(
                errors(|v| version_id(v, &Some(ok.into()), "versionId")),
                None,
                "{ok}"
            );
        }
        for bad in ["", "v0", "1", "v", "v1.a_b", "V1"] {
            assert!(
                errors(|v| version_id(v, &Some(bad.into()), "versionId")).is_some(),
                "{bad}"
            );
        }
    }

    #[test]
    fn tags_follow_the_model_and_iam_rules() {
        let tag = |k: &str, val: &str| TagParam {
            key: Some(k.into()),
            value: Some(val.into()),
        };
        let good = [
            tag("team", "ml"),
            tag("cost center", "42:a/b=c+d-e@f_g.h"),
            tag("k", ""),
        ];
        assert_eq!(errors(|v| tags(v, Some(&good), "tags")), None);
        assert!(errors(|v| tags(v, Some(&[tag("", "x")]), "tags")).is_some());
        assert!(errors(|v| tags(v, Some(&[tag("a*", "x")]), "tags")).is_some());
        assert!(errors(|v| tags(v, Some(&[tag("a", &"v".repeat(257))]), "tags")).is_some());
        let many: Vec<_> = (0..51).map(|i| tag(&format!("k{i}"), "v")).collect();
        assert!(errors(|v| tags(v, Some(&many), "tags")).is_some());
        assert!(tag_rules(["a", "b"].into_iter()).is_ok());
        assert_eq!(
            tag_rules(["Team", "team"].into_iter())
                .unwrap_err()
                .aws_code(),
            "InvalidInput"
        );
        assert_eq!(
            tag_rules(["AWS:x"].into_iter()).unwrap_err().aws_code(),
            "InvalidInput"
        );
    }

    #[test]
    fn documents_are_checked_without_being_echoed() {
        let msg =
            errors(|v| document(v, &Some("{\"secret-ish\": \"€\"}".into()), "policyDocument"))
                .unwrap();
        assert!(!msg.contains("secret-ish"), "{msg}");
        assert!(msg.contains("at 'policyDocument'"), "{msg}");
        assert!(errors(|v| document(v, &None, "policyDocument")).is_some());
        assert_eq!(
            errors(|v| document(v, &Some("{}\n\t".into()), "policyDocument")),
            None
        );
    }

    #[test]
    fn policy_grammar_and_quotas() {
        let allow = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*"}]}"#;
        assert!(managed_document(allow).is_ok());
        let e = parse_policy(
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#,
            PolicyKind::Identity,
        )
        .unwrap_err();
        assert_eq!(e.aws_code(), "MalformedPolicyDocumentException");
        assert!(
            e.message().contains("should not specify a principal"),
            "{}",
            e.message()
        );
        let padded = allow.replace(
            "\"*\"}",
            &format!("\"*\",\"Sid\":\"{}\"}}", "S".repeat(6_100)),
        );
        assert_eq!(
            managed_document(&padded).unwrap_err().aws_code(),
            "LimitExceededException"
        );
        // White space does not count.
        let spaced = allow.replace(',', &format!(",{}", " ".repeat(7_000)));
        assert!(managed_document(&spaced).is_ok());
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#;
        assert!(trust_document(trust).is_ok());
        assert_eq!(
            trust_document(allow).unwrap_err().aws_code(),
            "MalformedPolicyDocumentException"
        );
    }
}
