//! How IAM writes things: ISO 8601 dates, URL-encoded policy documents, entity ids and ARNs.

use tresor_types::{AccountId, Timestamp};

use crate::CoreError;

/// `2026-11-28T15:00:00Z`: UTC, whole seconds, as IAM and STS answer dates.
pub(crate) fn iso8601(t: Timestamp) -> String {
    let secs = t.millis().div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day); Howard Hinnant's
/// `civil_from_days`, exact for every `i64` day count a `Timestamp` can hold.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A policy document as IAM returns it: percent-encoded (RFC 3986; unreserved characters
/// stay), which botocore and the aws CLI decode back to JSON.
pub(crate) fn url_encode(document: &str) -> String {
    let mut out = String::with_capacity(document.len() * 3 / 2);
    for b in document.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The size IAM counts against its policy quotas: characters other than white space.
pub(crate) fn policy_size(document: &str) -> usize {
    document.chars().filter(|c| !c.is_whitespace()).count()
}

/// A new unique id: `AIDA` (users), `AROA` (roles), `ANPA` (managed policies) and 16 random
/// upper-case letters and digits.
pub(crate) fn new_id(prefix: &str) -> Result<String, CoreError> {
    Ok(tresor_crypto::new_access_key_id(prefix)?)
}

/// `arn:aws:iam::<acct>:<kind><path><name>` (kind is `user`, `role` or `policy`).
pub(crate) fn iam_arn(account: &AccountId, kind: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:{kind}{path}{name}")
}

/// The parts of an IAM entity ARN: (account, kind, path, name). `None` if it is not one.
pub(crate) fn parse_iam_arn(arn: &str) -> Option<(&str, &str, &str, &str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let slash = resource.find('/')?;
    let kind = &resource[..slash];
    let last = resource.rfind('/')?;
    let path = &resource[slash..=last];
    let name = &resource[last + 1..];
    if account.is_empty() || kind.is_empty() || name.is_empty() {
        return None;
    }
    Some((account, kind, path, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_iso_8601_utc_seconds() {
        assert_eq!(iso8601(Timestamp(0)), "1970-01-01T00:00:00Z");
        assert_eq!(
            iso8601(Timestamp(1_795_878_000_999)),
            "2026-11-28T15:00:00Z"
        );
        assert_eq!(iso8601(Timestamp(951_782_400_000)), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(Timestamp(-1000)), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn documents_are_percent_encoded_like_iam() {
        assert_eq!(
            url_encode("{\"Version\": \"2012-10-17\", \"a\":\"s3:*\"}\n"),
            "%7B%22Version%22%3A%20%222012-10-17%22%2C%20%22a%22%3A%22s3%3A%2A%22%7D%0A"
        );
        assert_eq!(url_encode("é"), "%C3%A9");
    }

    #[test]
    fn policy_size_ignores_white_space() {
        assert_eq!(policy_size("{ \"a\" :\n\t1 }"), 7);
    }

    #[test]
    fn ids_have_the_iam_shape() {
        for prefix in ["AIDA", "AROA", "ANPA"] {
            let id = new_id(prefix).unwrap();
            assert_eq!(id.len(), 20);
            assert!(id.starts_with(prefix));
            assert!(id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        }
    }

    #[test]
    fn arns() {
        let acct = AccountId::parse("123456789012").unwrap();
        let arn = iam_arn(&acct, "user", "/eng/ml/", "alice");
        assert_eq!(arn, "arn:aws:iam::123456789012:user/eng/ml/alice");
        assert_eq!(
            parse_iam_arn(&arn),
            Some(("123456789012", "user", "/eng/ml/", "alice"))
        );
        assert_eq!(
            parse_iam_arn("arn:aws:iam::aws:policy/AdministratorAccess"),
            Some(("aws", "policy", "/", "AdministratorAccess"))
        );
        for bad in [
            "arn:aws:iam::123456789012:root",
            "arn:aws:iam::123456789012:policy/",
            "arn:aws:s3:::bucket/x",
            "policy/x",
        ] {
            assert_eq!(parse_iam_arn(bad), None, "{bad}");
        }
    }
}
