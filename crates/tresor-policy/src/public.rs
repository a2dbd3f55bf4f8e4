//! Does a policy open its resource to everyone? (Secrets Manager's `BlockPublicPolicy`.)
//!
//! The check is deliberately conservative: it may call a policy public that AWS's own analysis
//! would accept (for instance an `Allow *` fenced in by a separate `Deny` statement), but it
//! should never call a policy private when anyone on the internet could use it.

use crate::condition::{BaseOperator, SetQualifier};
use crate::model::{ConditionClause, Effect, Policy, PrincipalSpec, Principals, Statement};
use crate::syntax;

/// True when the policy grants access to everyone.
///
/// That is: some `Allow` statement applies to every principal (`"Principal": "*"`,
/// `{"AWS": "*"}` among its AWS principals, or any `NotPrincipal`) and none of its condition
/// clauses pins the caller down. A clause pins the caller down when it requires, with a
/// positive operator (no `Not…`, no `…IfExists`, no `ForAllValues:`), that one of
/// `aws:PrincipalAccount`, `aws:SourceAccount`, `aws:PrincipalOrgID`, `aws:SourceVpc`,
/// `aws:SourceVpce` equal a concrete value, that `aws:PrincipalArn` or `aws:SourceArn` name a
/// concrete account, or that `aws:SourceIp` lie in a range narrower than the whole internet.
/// Values with wildcards or policy variables (`"${aws:PrincipalAccount}"` matches every caller)
/// do not pin anything down. Other condition keys (`aws:SecureTransport`, tags, …) restrict
/// requests, not callers, and do not make a policy private.
pub fn grants_public_access(policy: &Policy) -> bool {
    policy.statements.iter().any(statement_is_public)
}

fn statement_is_public(statement: &Statement) -> bool {
    statement.effect == Effect::Allow
        && applies_to_everyone(statement.principal.as_ref())
        && !statement.condition.iter().any(restricts_caller)
}

fn applies_to_everyone(principal: Option<&PrincipalSpec>) -> bool {
    match principal {
        // Identity policies grant only to the identity they are attached to.
        None => false,
        // "Everyone except these" is everyone, as far as exposure goes.
        Some(PrincipalSpec::NotPrincipal(_)) => true,
        Some(PrincipalSpec::Principal(Principals::Any)) => true,
        Some(PrincipalSpec::Principal(Principals::Map(map))) => map.aws.iter().any(|p| p == "*"),
    }
}

/// How a caller-identifying condition key is compared.
#[derive(Clone, Copy)]
enum CallerKey {
    /// An account id, organization id or VPC (endpoint) id.
    Identifier,
    /// An ARN whose account field identifies the caller.
    Arn,
    /// The caller's network address.
    SourceIp,
}

fn caller_key(key: &str) -> Option<CallerKey> {
    // Condition keys are case-insensitive in IAM.
    match key.to_ascii_lowercase().as_str() {
        "aws:principalaccount"
        | "aws:sourceaccount"
        | "aws:principalorgid"
        | "aws:sourcevpc"
        | "aws:sourcevpce" => Some(CallerKey::Identifier),
        "aws:principalarn" | "aws:sourcearn" => Some(CallerKey::Arn),
        "aws:sourceip" => Some(CallerKey::SourceIp),
        _ => None,
    }
}

fn restricts_caller(clause: &ConditionClause) -> bool {
    let Some(operator) = clause.parsed_operator() else {
        return false;
    };
    let Some(key) = caller_key(&clause.key) else {
        return false;
    };
    // `IfExists` matches when the key is absent, and `ForAllValues:` matches an absent key
    // vacuously, so neither keeps out a caller the key does not describe.
    if operator.if_exists || operator.set == Some(SetQualifier::ForAllValues) {
        return false;
    }
    let positive = match key {
        CallerKey::Identifier => matches!(
            operator.base,
            BaseOperator::StringEquals
                | BaseOperator::StringEqualsIgnoreCase
                | BaseOperator::StringLike
        ),
        CallerKey::Arn => matches!(
            operator.base,
            BaseOperator::ArnEquals
                | BaseOperator::ArnLike
                | BaseOperator::StringEquals
                | BaseOperator::StringEqualsIgnoreCase
                | BaseOperator::StringLike
        ),
        CallerKey::SourceIp => operator.base == BaseOperator::IpAddress,
    };
    // The clause matches when any value matches, so every value must be narrow.
    positive && !clause.values.is_empty() && clause.values.iter().all(|v| value_is_narrow(key, v))
}

fn value_is_narrow(key: CallerKey, value: &str) -> bool {
    if value.is_empty() || value.contains("${") {
        return false;
    }
    let has_wildcard = |s: &str| s.contains(['*', '?']);
    match key {
        CallerKey::Identifier => !has_wildcard(value),
        CallerKey::Arn => {
            let parts: Vec<&str> = value.splitn(6, ':').collect();
            match parts.as_slice() {
                ["arn", _, _, _, "", _] => {
                    // ARNs without an account (S3 buckets) name one global resource only when
                    // nothing in them is a wildcard.
                    !has_wildcard(value)
                }
                ["arn", _, _, _, account, _] => syntax::is_account_id(account),
                _ => false,
            }
        }
        CallerKey::SourceIp => syntax::cidr_prefix_len(value).is_some_and(|len| len > 0),
    }
}
