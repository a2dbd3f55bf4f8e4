//! Syntax of the strings inside a policy: actions, resources, principals, condition values.
//!
//! These checks catch typos at write time; they do not decide whether anything matches.

use std::net::IpAddr;

/// `"*"` or `service:Name`, where the name may use `*` and `?`.
///
/// The service prefix is letters, digits and hyphens. AWS treats action names
/// case-insensitively (`SecretsManager:GetSecretValue` is valid), so upper case is accepted.
pub(crate) fn is_action(s: &str) -> bool {
    if s == "*" {
        return true;
    }
    let Some((service, name)) = s.split_once(':') else {
        return false;
    };
    !service.is_empty()
        && service
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'*' || b == b'?')
}

/// `"*"` or `arn:partition:service:region:account:resource` (wildcards allowed anywhere).
///
/// The resource part may itself contain colons (and policy variables such as
/// `${aws:username}`), so only the first five separators are structural.
pub(crate) fn is_resource(s: &str) -> bool {
    if s == "*" {
        return true;
    }
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    matches!(
        parts.as_slice(),
        ["arn", partition, service, _region, _account, resource]
            if !partition.is_empty() && !service.is_empty() && !resource.is_empty()
    ) && !s.chars().any(char::is_control)
}

/// Twelve ASCII digits.
pub(crate) fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The unique id of an IAM user (`AIDA…`) or role (`AROA…`): IAM stores a principal that a
/// policy names by ARN as this id, so that a user or role deleted and created again under
/// the same name is not the one the policy named.
pub fn is_unique_id(s: &str) -> bool {
    (s.starts_with("AIDA") || s.starts_with("AROA"))
        && (5..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// `aws`, or `aws-` followed by lower-case letters and hyphens (`aws-cn`, `aws-us-gov`).
fn is_partition(s: &str) -> bool {
    s == "aws"
        || s.strip_prefix("aws-").is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
        })
}

/// An `AWS` principal: `"*"`, an account id, the unique id of an IAM user or role, or the ARN
/// of an account root, IAM user, IAM role, assumed-role session or federated user. Wildcards
/// are not allowed in principal ARNs.
pub(crate) fn is_aws_principal(s: &str) -> bool {
    if s == "*" || is_account_id(s) || is_unique_id(s) {
        return true;
    }
    if s.contains(['*', '?']) || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return false;
    }
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let ["arn", partition, service, "", account, resource] = parts.as_slice() else {
        return false;
    };
    if !is_partition(partition) || !is_account_id(account) {
        return false;
    }
    match *service {
        "iam" => {
            *resource == "root"
                || has_non_empty_tail(resource, "user/")
                || has_non_empty_tail(resource, "role/")
        }
        "sts" => {
            // assumed-role/<role name>/<session name>
            resource
                .strip_prefix("assumed-role/")
                .and_then(|rest| rest.split_once('/'))
                .is_some_and(|(role, session)| !role.is_empty() && !session.is_empty())
                || has_non_empty_tail(resource, "federated-user/")
        }
        _ => false,
    }
}

fn has_non_empty_tail(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|rest| !rest.is_empty())
}

/// A service principal: a DNS-like name such as `secretsmanager.amazonaws.com`.
pub(crate) fn is_service_principal(s: &str) -> bool {
    s.contains('.')
        && !s.starts_with('.')
        && !s.ends_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
}

/// A federated principal: a SAML/OIDC provider ARN or a web identity provider name
/// (`cognito-identity.amazonaws.com`, `accounts.google.com`). No wildcards, no spaces.
pub(crate) fn is_federated_principal(s: &str) -> bool {
    !s.is_empty()
        && !s.contains(['*', '?'])
        && !s.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// A canonical user id: 64 hex digits.
pub(crate) fn is_canonical_user(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Statement ids in IAM identity policies: ASCII letters and digits only.
pub(crate) fn is_identity_sid(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A `Bool`/`Null` operand: `true` or `false` (IAM compares these case-insensitively).
pub(crate) fn is_bool_value(s: &str) -> bool {
    s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false")
}

/// A `Numeric*` operand: an integer or a finite decimal number.
pub(crate) fn is_numeric_value(s: &str) -> bool {
    s.parse::<i64>().is_ok() || s.parse::<f64>().is_ok_and(f64::is_finite)
}

/// An `IpAddress`/`NotIpAddress` operand: an IPv4 or IPv6 address with an optional
/// `/prefix-length`. Returns the prefix length (the full width when absent).
pub(crate) fn cidr_prefix_len(s: &str) -> Option<u8> {
    let (addr, len) = match s.split_once('/') {
        Some((addr, len)) => (addr, Some(len)),
        None => (s, None),
    };
    let width = match addr.parse::<IpAddr>().ok()? {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    };
    match len {
        None => Some(width),
        Some(len) if !len.is_empty() && len.bytes().all(|b| b.is_ascii_digit()) => {
            len.parse::<u8>().ok().filter(|&l| l <= width)
        }
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions() {
        for ok in [
            "*",
            "secretsmanager:GetSecretValue",
            "secretsmanager:*",
            "secretsmanager:Get*",
            "secretsmanager:?etSecretValue",
            "SecretsManager:getsecretvalue",
            "resource-groups:ListGroups",
            "s3:*Object*",
        ] {
            assert!(is_action(ok), "{ok}");
        }
        for bad in [
            "",
            "secretsmanager",
            "secretsmanager:",
            ":GetSecretValue",
            "secrets manager:Get",
            "secretsmanager:Get Secret",
            "secretsmanager:Get:Value",
            "*:GetSecretValue",
            "**",
        ] {
            assert!(!is_action(bad), "{bad}");
        }
    }

    #[test]
    fn resources() {
        for ok in [
            "*",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf",
            "arn:aws:secretsmanager:*:*:secret:*",
            "arn:aws:s3:::bucket/key",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:${aws:username}-*",
            "arn:*:*:*:*:*",
        ] {
            assert!(is_resource(ok), "{ok}");
        }
        for bad in [
            "",
            "secret",
            "arn:aws:s3",
            "arn:aws:s3:::",
            "arn::s3:::bucket",
            "arn:aws::::x",
            "urn:aws:s3:::bucket",
            "arn:aws:s3:::a\nb",
        ] {
            assert!(!is_resource(bad), "{bad}");
        }
    }

    #[test]
    fn aws_principals() {
        for ok in [
            "*",
            "123456789012",
            "arn:aws:iam::123456789012:root",
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:iam::123456789012:role/path/app",
            "arn:aws:sts::123456789012:assumed-role/app/session-1",
            "arn:aws:sts::123456789012:federated-user/bob",
            "arn:aws-cn:iam::123456789012:root",
            "arn:aws-us-gov:iam::123456789012:role/x",
        ] {
            assert!(is_aws_principal(ok), "{ok}");
        }
        for bad in [
            "",
            "12345678901",
            "1234567890123",
            "alice",
            "arn:aws:iam::123456789012:*",
            "arn:aws:iam::*:root",
            "arn:aws:iam::123456789012:role/*",
            "arn:aws:iam::123456789012:group/admins",
            "arn:aws:iam::123456789012:user/",
            "arn:aws:iam:us-east-1:123456789012:root",
            "arn:aws:sts::123456789012:assumed-role/app",
            "arn:aws:s3::123456789012:root",
            "arn:gcp:iam::123456789012:root",
            "arn:aws:iam::123456789012:user/a b",
        ] {
            assert!(!is_aws_principal(bad), "{bad}");
        }
    }

    #[test]
    fn other_principals() {
        assert!(is_service_principal("secretsmanager.amazonaws.com"));
        assert!(is_service_principal("ec2.amazonaws.com.cn"));
        assert!(!is_service_principal("*"));
        assert!(!is_service_principal("Secretsmanager.amazonaws.com"));
        assert!(!is_service_principal("secretsmanager"));
        assert!(is_federated_principal("cognito-identity.amazonaws.com"));
        assert!(is_federated_principal(
            "arn:aws:iam::123456789012:saml-provider/Corp"
        ));
        assert!(!is_federated_principal("*"));
        assert!(is_canonical_user(&"a1".repeat(32)));
        assert!(!is_canonical_user("abc"));
    }

    #[test]
    fn condition_values() {
        assert!(is_bool_value("true") && is_bool_value("FALSE"));
        assert!(!is_bool_value("yes"));
        assert!(is_numeric_value("42") && is_numeric_value("-1.5"));
        assert!(!is_numeric_value("ten") && !is_numeric_value("NaN") && !is_numeric_value("inf"));
        assert_eq!(cidr_prefix_len("203.0.113.0/24"), Some(24));
        assert_eq!(cidr_prefix_len("203.0.113.7"), Some(32));
        assert_eq!(cidr_prefix_len("2001:db8::/32"), Some(32));
        assert_eq!(cidr_prefix_len("0.0.0.0/0"), Some(0));
        assert_eq!(cidr_prefix_len("203.0.113.0/33"), None);
        assert_eq!(cidr_prefix_len("203.0.113.0/"), None);
        assert_eq!(cidr_prefix_len("203.0.113.0/+8"), None);
        assert_eq!(cidr_prefix_len("example.com"), None);
    }
}
