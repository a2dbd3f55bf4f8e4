//! Wildcard matching of actions, resources and ARNs, and principal matching.

use crate::eval::request::{Caller, PrincipalKind};
use crate::model::{ActionSpec, Principals};
use crate::syntax;

/// One element of a wildcard pattern.
///
/// Patterns are token lists rather than strings so that text substituted for a policy variable
/// (or written as `${*}`) stays literal: a user named `a*` must not turn into a wildcard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token {
    /// This exact character.
    Char(char),
    /// `*`: any run of characters, including none.
    AnyRun,
    /// `?`: exactly one character.
    AnyOne,
}

/// The tokens of `text` with `*` and `?` active as wildcards.
pub(crate) fn wildcard_tokens(text: &str) -> impl Iterator<Item = Token> + '_ {
    text.chars().map(|c| match c {
        '*' => Token::AnyRun,
        '?' => Token::AnyOne,
        c => Token::Char(c),
    })
}

/// The tokens of `text` with every character literal.
pub(crate) fn literal_tokens(text: &str) -> impl Iterator<Item = Token> + '_ {
    text.chars().map(Token::Char)
}

/// Whether `pattern` matches all of `text`.
///
/// Iterative, with a single backtrack point (the last `*`): time O(pattern × text) at worst,
/// no recursion, so hostile patterns cannot exhaust the stack.
pub(crate) fn glob(pattern: &[Token], text: &[char]) -> bool {
    let (mut p, mut t) = (0, 0);
    // (index of the last `*` seen, text position it is currently assumed to end at)
    let mut backtrack: Option<(usize, usize)> = None;
    while let Some(&c) = text.get(t) {
        match pattern.get(p) {
            Some(Token::AnyRun) => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(Token::AnyOne) => {
                p += 1;
                t += 1;
            }
            Some(Token::Char(expected)) if *expected == c => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((star, end)) => {
                    backtrack = Some((star, end + 1));
                    p = star + 1;
                    t = end + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..]
        .iter()
        .all(|token| *token == Token::AnyRun)
}

/// Whether an `Action`/`NotAction` element covers `action`. Action names are
/// case-insensitive; `*` and `?` are wildcards.
pub(crate) fn action_covered(spec: &ActionSpec, action: &str) -> bool {
    let action: Vec<char> = action.to_lowercase().chars().collect();
    let listed = spec.patterns().iter().any(|pattern| {
        let pattern: Vec<Token> = wildcard_tokens(&pattern.to_lowercase()).collect();
        glob(&pattern, &action)
    });
    listed != spec.is_negated()
}

/// Whether an ARN pattern matches an ARN (or `"*"`), case-sensitively.
///
/// A pattern that is `*` alone matches anything. When both sides have the six ARN fields
/// (`arn:partition:service:region:account:resource`), each field is matched on its own, so a
/// wildcard in the region cannot swallow the account; the resource field keeps its own colons.
/// Otherwise (a pattern such as `arn:aws:secretsmanager:*`) the whole strings are matched.
pub(crate) fn arn_matches(pattern: &[Token], arn: &str) -> bool {
    if pattern == [Token::AnyRun] {
        return true;
    }
    let fields: Vec<&str> = arn.splitn(6, ':').collect();
    let pattern_fields = split_pattern_fields(pattern);
    if fields.len() == 6 && pattern_fields.len() == 6 {
        return pattern_fields.iter().zip(&fields).all(|(pattern, field)| {
            let field: Vec<char> = field.chars().collect();
            glob(pattern, &field)
        });
    }
    let arn: Vec<char> = arn.chars().collect();
    glob(pattern, &arn)
}

/// Splits a pattern at its first five literal colons.
fn split_pattern_fields(pattern: &[Token]) -> Vec<&[Token]> {
    let mut fields = Vec::with_capacity(6);
    let mut rest = pattern;
    while fields.len() < 5 {
        let Some(at) = rest.iter().position(|t| *t == Token::Char(':')) else {
            break;
        };
        fields.push(&rest[..at]);
        rest = &rest[at + 1..];
    }
    fields.push(rest);
    fields
}

/// How specifically a `Principal` element names the caller. Ordered: a statement that names the
/// caller several ways counts with the most specific.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum PrincipalMatch {
    /// The caller is not named.
    None,
    /// The caller's account is named (`123456789012`, `arn:aws:iam::123456789012:root`), and the
    /// caller is not its root. This delegates to the account: it satisfies the resource side of
    /// a cross-account request, but grants nothing alone inside the account.
    Account,
    /// The role of the caller's session is named: grants, limited by the session policy.
    Role,
    /// Everyone (`*`), or the caller itself (its user, session or root ARN): grants.
    Direct,
}

/// How `principals` names `caller`.
pub(crate) fn principal_match(principals: &Principals, caller: &Caller) -> PrincipalMatch {
    match principals {
        Principals::Any => PrincipalMatch::Direct,
        // Service, federated and canonical-user principals never describe our callers.
        Principals::Map(map) => map
            .aws
            .iter()
            .map(|principal| aws_principal_match(principal, caller))
            .max()
            .unwrap_or(PrincipalMatch::None),
    }
}

fn aws_principal_match(principal: &str, caller: &Caller) -> PrincipalMatch {
    if principal == "*" {
        return PrincipalMatch::Direct;
    }
    if caller.kind == PrincipalKind::Anonymous {
        return PrincipalMatch::None;
    }
    if principal == caller.arn {
        return PrincipalMatch::Direct;
    }
    if account_principal(principal) == Some(caller.account.as_str()) {
        return if caller.kind == PrincipalKind::AccountRoot {
            PrincipalMatch::Direct
        } else {
            PrincipalMatch::Account
        };
    }
    // A unique id names the user or role that had it, never one created later under the
    // same name; an ARN still names whoever has it now (IAM binds ARNs to ids when it stores
    // a policy, so a stored policy names most users and roles by id).
    match &caller.kind {
        PrincipalKind::User { id, .. } if principal == id => PrincipalMatch::Direct,
        PrincipalKind::AssumedRole { role_arn, .. } if principal == role_arn => {
            PrincipalMatch::Role
        }
        PrincipalKind::AssumedRole { role_id, .. } if principal == role_id => PrincipalMatch::Role,
        _ => PrincipalMatch::None,
    }
}

/// The account of an account principal: `123456789012` or `arn:<partition>:iam::<id>:root`.
fn account_principal(principal: &str) -> Option<&str> {
    if syntax::is_account_id(principal) {
        return Some(principal);
    }
    let parts: Vec<&str> = principal.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "iam", "", account, "root"] if syntax::is_account_id(account) => Some(account),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::PrincipalMap;

    fn matches(pattern: &str, text: &str) -> bool {
        let pattern: Vec<Token> = wildcard_tokens(pattern).collect();
        let text: Vec<char> = text.chars().collect();
        glob(&pattern, &text)
    }

    #[test]
    fn glob_wildcards() {
        assert!(matches("*", ""));
        assert!(matches("*", "anything"));
        assert!(matches("a*c", "abbbc"));
        assert!(matches("a*c", "ac"));
        assert!(!matches("a*c", "acb"));
        assert!(matches("a?c", "abc"));
        assert!(!matches("a?c", "ac"));
        assert!(matches("*b*b*", "abcbd"));
        assert!(!matches("*b*b*", "abcd"));
        assert!(matches("a**", "a"));
        assert!(!matches("", "a"));
        assert!(matches("", ""));
        assert!(!matches("abc", "ab"));
        let long = "a".repeat(5000);
        assert!(!matches(&format!("{}b", "*a".repeat(50)), &long));
    }

    #[test]
    fn literal_tokens_are_not_wildcards() {
        let pattern: Vec<Token> = literal_tokens("a*").collect();
        assert!(glob(&pattern, &['a', '*']));
        assert!(!glob(&pattern, &['a', 'b']));
    }

    #[test]
    fn actions_are_case_insensitive() {
        let spec = ActionSpec::Action(vec!["SecretsManager:Get*".into()]);
        assert!(action_covered(&spec, "secretsmanager:GetSecretValue"));
        assert!(!action_covered(&spec, "secretsmanager:PutSecretValue"));
        let not = ActionSpec::NotAction(vec!["secretsmanager:Delete*".into()]);
        assert!(action_covered(&not, "secretsmanager:GetSecretValue"));
        assert!(!action_covered(&not, "SECRETSMANAGER:DELETESECRET"));
    }

    #[test]
    fn arns_match_field_by_field() {
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-AbCdEf";
        let m = |p: &str| arn_matches(&wildcard_tokens(p).collect::<Vec<_>>(), arn);
        assert!(m("*"));
        assert!(m(arn));
        assert!(m("arn:aws:secretsmanager:*:123456789012:secret:app/*"));
        assert!(m("arn:aws:secretsmanager:us-east-?:*:secret:*"));
        assert!(!m("arn:aws:secretsmanager:*:210987654321:secret:*"));
        assert!(!m(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:App/*"
        ));
        assert!(m("arn:aws:secretsmanager:*"));
        // A field wildcard does not cross into the next field.
        assert!(!m("arn:aws:secretsmanager:us-*:secret:app/db-AbCdEf"));
        assert!(!arn_matches(
            &wildcard_tokens("arn:*:*:*:*:*").collect::<Vec<_>>(),
            "*"
        ));
    }

    fn caller(arn: &str, kind: PrincipalKind) -> Caller {
        Caller {
            arn: arn.into(),
            account: "123456789012".into(),
            kind,
            tags: BTreeMap::new(),
        }
    }

    fn aws(list: &[&str]) -> Principals {
        Principals::Map(PrincipalMap {
            aws: list.iter().map(|s| (*s).to_owned()).collect(),
            ..PrincipalMap::default()
        })
    }

    #[test]
    fn principals() {
        let session = caller(
            "arn:aws:sts::123456789012:assumed-role/app/ci",
            PrincipalKind::AssumedRole {
                role_name: "app".into(),
                role_arn: "arn:aws:iam::123456789012:role/app".into(),
                session_name: "ci".into(),
                role_id: "AROA1".into(),
            },
        );
        let root = caller("arn:aws:iam::123456789012:root", PrincipalKind::AccountRoot);
        let m = principal_match;
        assert_eq!(m(&Principals::Any, &session), PrincipalMatch::Direct);
        assert_eq!(m(&aws(&["*"]), &session), PrincipalMatch::Direct);
        assert_eq!(
            m(&aws(&["123456789012"]), &session),
            PrincipalMatch::Account
        );
        assert_eq!(
            m(&aws(&["arn:aws:iam::123456789012:root"]), &session),
            PrincipalMatch::Account
        );
        assert_eq!(m(&aws(&["123456789012"]), &root), PrincipalMatch::Direct);
        assert_eq!(
            m(&aws(&["arn:aws:iam::123456789012:role/app"]), &session),
            PrincipalMatch::Role
        );
        assert_eq!(
            m(
                &aws(&[
                    "arn:aws:iam::123456789012:role/app",
                    "arn:aws:sts::123456789012:assumed-role/app/ci"
                ]),
                &session
            ),
            PrincipalMatch::Direct
        );
        assert_eq!(
            m(
                &aws(&["arn:aws:sts::123456789012:assumed-role/app/other"]),
                &session
            ),
            PrincipalMatch::None
        );
        assert_eq!(m(&aws(&["210987654321"]), &session), PrincipalMatch::None);
        let anonymous = Caller {
            arn: String::new(),
            account: String::new(),
            kind: PrincipalKind::Anonymous,
            tags: BTreeMap::new(),
        };
        assert_eq!(m(&aws(&["*"]), &anonymous), PrincipalMatch::Direct);
        assert_eq!(m(&aws(&["123456789012"]), &anonymous), PrincipalMatch::None);
    }
}
