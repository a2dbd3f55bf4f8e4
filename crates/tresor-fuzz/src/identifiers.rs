//! Identifiers and ARNs: account ids, regions, secret names, IAM entity ARNs and the audit
//! public key's text form.
//!
//! Input: the text (invalid UTF-8 replaced, as a wire string could not carry it).
//!
//! Properties:
//! - `AccountId` and `Region` accept exactly what their documentation says, keep the text as
//!   given, and their serde form (used in stored records) accepts exactly what `parse` accepts;
//! - a secret name is accepted exactly when it is 1–512 of the documented characters;
//! - an IAM ARN that parses is put back together from its parts, with a `/`-delimited path and
//!   a name without `/`;
//! - an audit public key that parses prints back as the text it was read from.

use serde_json::Value;
use tresor_audit::PublicKey;
use tresor_core::fuzzing::parse_iam_arn;
use tresor_core::secretsmanager::validate::secret_name;
use tresor_types::{AccountId, Region};

/// The harness of the `identifiers` target.
pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    check_account_id(&text);
    check_region(&text);
    check_secret_name(&text);
    check_iam_arn(&text);
    check_public_key(&text);
}

fn check_account_id(text: &str) {
    let parsed = AccountId::parse(text);
    let expected = text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit());
    assert_eq!(parsed.is_ok(), expected, "AccountId::parse({text:?})");
    if let Ok(id) = &parsed {
        assert_eq!(id.as_str(), text);
        assert_eq!(id.to_string(), text);
    }
    let from_json = serde_json::from_value::<AccountId>(Value::String(text.to_owned()));
    assert_eq!(from_json.ok(), parsed.ok(), "stored AccountId {text:?}");
}

fn check_region(text: &str) {
    let parsed = Region::parse(text);
    let expected = (1..=32).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    assert_eq!(parsed.is_ok(), expected, "Region::parse({text:?})");
    if let Ok(region) = &parsed {
        assert_eq!(region.as_str(), text);
    }
    let from_json = serde_json::from_value::<Region>(Value::String(text.to_owned()));
    assert_eq!(from_json.ok(), parsed.ok(), "stored Region {text:?}");
}

fn check_secret_name(text: &str) {
    let expected = (1..=512).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b));
    assert_eq!(secret_name(text).is_ok(), expected, "secret name {text:?}");
}

fn check_iam_arn(text: &str) {
    let Some((account, kind, path, name)) = parse_iam_arn(text) else {
        return;
    };
    assert_eq!(format!("arn:aws:iam::{account}:{kind}{path}{name}"), text);
    assert!(
        !account.is_empty() && !account.contains(':'),
        "account {account:?}"
    );
    assert!(!kind.is_empty() && !kind.contains('/'), "kind {kind:?}");
    assert!(
        path.starts_with('/') && path.ends_with('/'),
        "path {path:?}"
    );
    assert!(!name.is_empty() && !name.contains('/'), "name {name:?}");
}

fn check_public_key(text: &str) {
    if let Ok(key) = PublicKey::parse(text) {
        assert_eq!(key.to_text(), text.trim(), "public key {text:?}");
        assert_eq!(PublicKey::parse(&key.to_text()), Ok(key));
    }
}
