//! Principals in stored policies are bound to unique ids, as IAM binds them.
//!
//! A trust policy or a secret's resource policy that names `arn:aws:iam::<acct>:user/alice`
//! means the alice that exists when the policy is saved. IAM stores the principal as that
//! user's unique id (`AIDA…`), so a user deleted and created again under the same name is not
//! trusted by the old policy; while alice exists, the policy is shown with her ARN, and after
//! she is deleted, with the bare id. [`bind`] does the first half when a policy is stored and
//! [`show`] the second when it is read back; the evaluator matches a unique id against the
//! caller's user id or role id.
//!
//! Only the strings at `Statement[].Principal.AWS` and `Statement[].NotPrincipal.AWS` are
//! touched, in place, so the rest of the document keeps its text byte for byte (a condition
//! on `aws:PrincipalArn` that names the same ARN stays an ARN).

use std::collections::HashMap;
use std::ops::Range;

use tresor_store::IdentityStore;
use tresor_types::AccountId;

use crate::iam::format::parse_iam_arn;
use crate::{Core, CoreError};

/// Where a string token sits in a policy document, as far as principals are concerned.
#[derive(Clone, Copy, PartialEq, Eq)]
enum At {
    Root,
    Statement,
    StatementItem,
    PrincipalElement,
    AwsPrincipal,
    Elsewhere,
}

/// The byte ranges (quotes included) and decoded text of every `AWS` principal string in a
/// JSON document the policy parser has already accepted (so it is valid JSON of bounded
/// depth). `None` if the text is not JSON after all.
fn aws_principals(document: &str) -> Option<Vec<(Range<usize>, String)>> {
    let mut scanner = Scanner {
        text: document.as_bytes(),
        at: 0,
        found: Vec::new(),
    };
    scanner.value(At::Root)?;
    let spans = scanner.found;
    spans
        .into_iter()
        .map(|span| {
            let decoded: String = serde_json::from_str(&document[span.clone()]).ok()?;
            Some((span, decoded))
        })
        .collect()
}

struct Scanner<'a> {
    text: &'a [u8],
    at: usize,
    found: Vec<Range<usize>>,
}

impl Scanner<'_> {
    fn skip_space(&mut self) {
        while self.text.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.text.get(self.at).copied()
    }

    /// A string token: its range, quotes included.
    fn string(&mut self) -> Option<Range<usize>> {
        let start = self.at;
        if self.text.get(self.at) != Some(&b'"') {
            return None;
        }
        self.at += 1;
        loop {
            match self.text.get(self.at)? {
                b'\\' => self.at += 2,
                b'"' => {
                    self.at += 1;
                    return Some(start..self.at);
                }
                _ => self.at += 1,
            }
        }
    }

    /// The key of an object member, decoded.
    fn key(&mut self) -> Option<String> {
        let span = self.string()?;
        let raw = std::str::from_utf8(&self.text[span]).ok()?;
        serde_json::from_str(raw).ok()
    }

    fn value(&mut self, at: At) -> Option<()> {
        match self.peek()? {
            b'{' => {
                self.at += 1;
                let members = match at {
                    At::Statement => At::StatementItem,
                    other => other,
                };
                if self.peek()? == b'}' {
                    self.at += 1;
                    return Some(());
                }
                loop {
                    self.skip_space();
                    let key = self.key()?;
                    if self.peek()? != b':' {
                        return None;
                    }
                    self.at += 1;
                    let inner = match (members, key.as_str()) {
                        (At::Root, "Statement") => At::Statement,
                        (At::StatementItem, "Principal" | "NotPrincipal") => At::PrincipalElement,
                        (At::PrincipalElement, "AWS") => At::AwsPrincipal,
                        _ => At::Elsewhere,
                    };
                    self.value(inner)?;
                    match self.peek()? {
                        b',' => self.at += 1,
                        b'}' => {
                            self.at += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.at += 1;
                let items = match at {
                    At::Statement => At::StatementItem,
                    At::AwsPrincipal => At::AwsPrincipal,
                    _ => At::Elsewhere,
                };
                if self.peek()? == b']' {
                    self.at += 1;
                    return Some(());
                }
                loop {
                    self.value(items)?;
                    match self.peek()? {
                        b',' => self.at += 1,
                        b']' => {
                            self.at += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'"' => {
                let span = self.string()?;
                if at == At::AwsPrincipal {
                    self.found.push(span);
                }
                Some(())
            }
            _ => {
                // A number, true, false or null.
                while self
                    .text
                    .get(self.at)
                    .is_some_and(|b| !matches!(b, b',' | b'}' | b']') && !b.is_ascii_whitespace())
                {
                    self.at += 1;
                }
                Some(())
            }
        }
    }
}

/// `document` with each principal string that `replace` maps swapped for the new text.
fn rewrite(
    document: &str,
    mut replace: impl FnMut(&str) -> Result<Option<String>, CoreError>,
) -> Result<String, CoreError> {
    let Some(principals) = aws_principals(document) else {
        return Ok(document.to_owned());
    };
    let mut out = document.to_owned();
    // From the end, so earlier ranges stay valid.
    for (span, principal) in principals.into_iter().rev() {
        if let Some(new) = replace(&principal)? {
            let quoted = serde_json::Value::String(new).to_string();
            out.replace_range(span, &quoted);
        }
    }
    Ok(out)
}

impl Core {
    /// `document` with every principal that names a user or role of `account` by its exact
    /// ARN replaced by that entity's unique id (the form IAM stores). A user or role of the
    /// account that does not exist is refused with `missing(principal)`, as AWS refuses it:
    /// stored by ARN, it would name whoever is created under that name later.
    pub(crate) fn bind_principals(
        &self,
        account: &AccountId,
        document: &str,
        missing: impl Fn(&str) -> CoreError,
    ) -> Result<String, CoreError> {
        rewrite(document, |principal| {
            let Some((acct, kind, _, name)) = parse_iam_arn(principal) else {
                return Ok(None);
            };
            if acct != account.as_str() || principal.contains(['*', '?']) {
                return Ok(None);
            }
            let id = match kind {
                "user" => self
                    .store
                    .get_user(account, name)?
                    .filter(|u| u.arn == principal)
                    .map(|u| u.user_id),
                "role" => self
                    .store
                    .get_role(account, name)?
                    .filter(|r| r.arn == principal)
                    .map(|r| r.role_id),
                _ => return Ok(None),
            };
            id.map(Some).ok_or_else(|| missing(principal))
        })
    }

    /// The ARN of each user and role of `account`, by unique id (for [`show`]).
    pub(crate) fn principal_arns(
        &self,
        account: &AccountId,
    ) -> Result<HashMap<String, String>, CoreError> {
        let mut arns = HashMap::new();
        for u in self.store.list_users(account)? {
            arns.insert(u.user_id, u.arn);
        }
        for r in self.store.list_roles(account)? {
            arns.insert(r.role_id, r.arn);
        }
        Ok(arns)
    }

    /// A stored `document` as it is shown (see [`show`]).
    pub(crate) fn show_principals(
        &self,
        account: &AccountId,
        document: &str,
    ) -> Result<String, CoreError> {
        let has_ids = aws_principals(document)
            .is_some_and(|ps| ps.iter().any(|(_, p)| tresor_policy::is_unique_id(p)));
        if !has_ids {
            return Ok(document.to_owned());
        }
        Ok(show(document, &self.principal_arns(account)?))
    }
}

/// A stored `document` as it is shown: each unique id of a user or role that still exists is
/// shown as its ARN (`arns`, from [`Core::principal_arns`]); the id of one that was deleted
/// stays an id.
pub(crate) fn show(document: &str, arns: &HashMap<String, String>) -> String {
    rewrite(document, |principal| Ok(arns.get(principal).cloned()))
        .unwrap_or_else(|_| document.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_aws_principal_strings_are_found() {
        let doc = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:AssumeRole",
             "Condition":{"StringEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/alice"}}},
            {"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::111122223333:role/ci", "111122223333"],"Service":"x.amazonaws.com"},"Action":"*"}]}"#;
        let found: Vec<String> = aws_principals(doc)
            .unwrap()
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        assert_eq!(
            found,
            [
                "arn:aws:iam::111122223333:user/alice",
                "arn:aws:iam::111122223333:role/ci",
                "111122223333"
            ]
        );
        let single = r#"{"Statement":{"Principal":{"AWS":"a"},"Effect":"Allow"}}"#;
        assert_eq!(aws_principals(single).unwrap().len(), 1);
        assert_eq!(
            aws_principals(r#"{"Statement":[{"Principal":"*"}]}"#)
                .unwrap()
                .len(),
            0
        );
    }

    #[test]
    fn rewriting_keeps_the_rest_of_the_text() {
        let doc = "{ \"Statement\" : [ { \"Principal\" : { \"AWS\" : [ \"a\" , \"b\" ] },\n \"Condition\": {\"X\": \"a\"} } ] }";
        let out = rewrite(doc, |p| {
            Ok((p == "a").then(|| "AIDAAAAAAAAAAAAAAAAA".to_owned()))
        })
        .unwrap();
        assert_eq!(
            out,
            "{ \"Statement\" : [ { \"Principal\" : { \"AWS\" : [ \"AIDAAAAAAAAAAAAAAAAA\" , \"b\" ] },\n \"Condition\": {\"X\": \"a\"} } ] }"
        );
        assert_eq!(
            rewrite("not json", |_| Ok(Some("x".into()))).unwrap(),
            "not json"
        );
        let escaped = r#"{"Statement":[{"Principal":{"AWS":"a\"b"}}]}"#;
        assert_eq!(aws_principals(escaped).unwrap()[0].1, "a\"b");
    }
}
