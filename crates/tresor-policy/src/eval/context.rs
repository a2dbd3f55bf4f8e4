//! The condition keys of one request.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::eval::dates;
use crate::eval::request::{Caller, PrincipalKind};

/// Condition-key values for one request.
///
/// Keys are matched case-insensitively, as AWS matches condition keys (`aws:SourceIp` and
/// `AWS:SOURCEIP` are one key; so are `aws:PrincipalTag/Team` and `aws:principaltag/team`).
/// Values keep their case: tag values and most string values compare case-sensitively.
/// Multivalued keys (`aws:TagKeys`) hold several values; a key set to an empty list counts as
/// absent.
///
/// The evaluator reads nothing else about the request environment: the caller fills in the
/// time, the source address and the resource's tags. [`ConditionContext::for_caller`] fills the
/// global `aws:*` keys that describe the caller and the request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConditionContext {
    /// Lower-cased key → values.
    // INVARIANT: every key is lower case (`normalize`), so lookups are case-insensitive.
    values: BTreeMap<String, Vec<String>>,
}

fn normalize(key: &str) -> String {
    key.to_lowercase()
}

impl ConditionContext {
    /// An empty context: every key absent.
    pub fn new() -> Self {
        Self::default()
    }

    /// The context of a request by `caller`, with the global keys AWS derives from the caller
    /// and the request:
    ///
    /// | key | value |
    /// |---|---|
    /// | `aws:CurrentTime` | `now_epoch_secs` as ISO 8601 (`2026-11-28T15:00:00Z`) |
    /// | `aws:EpochTime` | `now_epoch_secs` |
    /// | `aws:SecureTransport` | `true` / `false` |
    /// | `aws:RequestedRegion` | `region` |
    /// | `aws:SourceIp` | `source_ip`, when known |
    /// | `aws:PrincipalArn` | the caller's ARN; for a role session, the role's ARN |
    /// | `aws:PrincipalAccount` | the caller's account |
    /// | `aws:PrincipalType` | `Account`, `User` or `AssumedRole` |
    /// | `aws:userid` | the account id (root), the user id, or `<role id>:<session name>` |
    /// | `aws:username` | the user name (IAM users only) |
    /// | `aws:PrincipalTag/<key>` | each of the caller's tags |
    ///
    /// Anonymous callers get none of the `Principal*`/user keys. Resource and request keys
    /// (`aws:ResourceTag/*`, `secretsmanager:Name`, …) are the caller's to add.
    pub fn for_caller(
        caller: &Caller,
        now_epoch_secs: i64,
        source_ip: Option<IpAddr>,
        secure_transport: bool,
        region: &str,
    ) -> Self {
        let mut ctx = Self::new();
        ctx.insert("aws:CurrentTime", dates::format_iso(now_epoch_secs));
        ctx.insert("aws:EpochTime", now_epoch_secs.to_string());
        ctx.insert("aws:SecureTransport", secure_transport.to_string());
        ctx.insert("aws:RequestedRegion", region);
        if let Some(ip) = source_ip {
            ctx.insert("aws:SourceIp", ip.to_string());
        }
        let (principal_arn, principal_type, userid) = match &caller.kind {
            PrincipalKind::Anonymous => return ctx,
            PrincipalKind::AccountRoot => (caller.arn.clone(), "Account", caller.account.clone()),
            PrincipalKind::User { name, id } => {
                ctx.insert("aws:username", name.as_str());
                (caller.arn.clone(), "User", id.clone())
            }
            PrincipalKind::AssumedRole {
                role_arn,
                session_name,
                role_id,
                ..
            } => (
                role_arn.clone(),
                "AssumedRole",
                format!("{role_id}:{session_name}"),
            ),
        };
        ctx.insert("aws:PrincipalArn", principal_arn);
        ctx.insert("aws:PrincipalAccount", caller.account.as_str());
        ctx.insert("aws:PrincipalType", principal_type);
        ctx.insert("aws:userid", userid);
        for (key, value) in &caller.tags {
            ctx.insert(&format!("aws:PrincipalTag/{key}"), value.as_str());
        }
        ctx
    }

    /// Sets a single-valued key, replacing any earlier value.
    pub fn insert(&mut self, key: &str, value: impl Into<String>) {
        self.values.insert(normalize(key), vec![value.into()]);
    }

    /// Sets a multivalued key (`aws:TagKeys`), replacing any earlier value. An empty list makes
    /// the key absent.
    pub fn insert_multi<I, V>(&mut self, key: &str, values: I)
    where
        I: IntoIterator<Item = V>,
        V: Into<String>,
    {
        let values: Vec<String> = values.into_iter().map(Into::into).collect();
        let key = normalize(key);
        if values.is_empty() {
            self.values.remove(&key);
        } else {
            self.values.insert(key, values);
        }
    }

    /// Removes a key.
    pub fn remove(&mut self, key: &str) {
        self.values.remove(&normalize(key));
    }

    /// The values of a key (case-insensitive), or `None` when the request does not have it.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.values
            .get(&normalize(key))
            .map(Vec::as_slice)
            .filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::ConditionContext;
    use crate::eval::request::{Caller, PrincipalKind};

    #[test]
    fn keys_are_case_insensitive_values_are_not() {
        let mut ctx = ConditionContext::new();
        ctx.insert("aws:PrincipalTag/Team", "Blue");
        assert_eq!(
            ctx.get("AWS:principaltag/team"),
            Some(&["Blue".to_owned()][..])
        );
        ctx.insert_multi("aws:TagKeys", ["a", "B"]);
        assert_eq!(ctx.get("aws:tagkeys").map(<[String]>::len), Some(2));
        ctx.insert_multi("aws:TagKeys", Vec::<String>::new());
        assert_eq!(ctx.get("aws:TagKeys"), None);
        ctx.remove("AWS:PRINCIPALTAG/TEAM");
        assert_eq!(ctx.get("aws:PrincipalTag/Team"), None);
    }

    #[test]
    fn for_caller_fills_the_global_keys() {
        let caller = Caller {
            arn: "arn:aws:sts::123456789012:assumed-role/app/ci".into(),
            account: "123456789012".into(),
            kind: PrincipalKind::AssumedRole {
                role_name: "app".into(),
                role_arn: "arn:aws:iam::123456789012:role/app".into(),
                session_name: "ci".into(),
                role_id: "AROAEXAMPLE".into(),
            },
            tags: BTreeMap::from([("team".to_owned(), "blue".to_owned())]),
        };
        let ctx = ConditionContext::for_caller(
            &caller,
            1_795_878_000,
            "203.0.113.7".parse().ok(),
            true,
            "eu-west-1",
        );
        let one = |k: &str| ctx.get(k).and_then(|v| v.first()).map(String::as_str);
        assert_eq!(one("aws:CurrentTime"), Some("2026-11-28T15:00:00Z"));
        assert_eq!(one("aws:EpochTime"), Some("1795878000"));
        assert_eq!(one("aws:SecureTransport"), Some("true"));
        assert_eq!(one("aws:RequestedRegion"), Some("eu-west-1"));
        assert_eq!(one("aws:SourceIp"), Some("203.0.113.7"));
        assert_eq!(
            one("aws:PrincipalArn"),
            Some("arn:aws:iam::123456789012:role/app")
        );
        assert_eq!(one("aws:PrincipalAccount"), Some("123456789012"));
        assert_eq!(one("aws:PrincipalType"), Some("AssumedRole"));
        assert_eq!(one("aws:userid"), Some("AROAEXAMPLE:ci"));
        assert_eq!(one("aws:username"), None);
        assert_eq!(one("aws:PrincipalTag/team"), Some("blue"));

        let anonymous = Caller {
            arn: String::new(),
            account: String::new(),
            kind: PrincipalKind::Anonymous,
            tags: BTreeMap::new(),
        };
        let ctx = ConditionContext::for_caller(&anonymous, 0, None, false, "us-east-1");
        assert_eq!(ctx.get("aws:PrincipalAccount"), None);
        assert_eq!(ctx.get("aws:SourceIp"), None);
        assert!(ctx.get("aws:CurrentTime").is_some());
    }
}
