//! What the evaluator is asked: who calls, which action on which resource, under which policies.

use std::collections::BTreeMap;

use crate::eval::context::ConditionContext;
use crate::model::Policy;

/// The kind of an authenticated (or anonymous) caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    /// The account root (`arn:aws:iam::<account>:root`): implicitly allowed everything in its
    /// own account unless a resource policy explicitly denies it.
    AccountRoot,
    /// An IAM user.
    User {
        /// The user name (`alice`), the value of `aws:username`.
        name: String,
        /// The unique user id (`AIDA…`), the value of `aws:userid`.
        id: String,
    },
    /// A session of an assumed role (`arn:aws:sts::<account>:assumed-role/<role>/<session>`).
    AssumedRole {
        /// The role name, without its path.
        role_name: String,
        /// The role ARN (`arn:aws:iam::<account>:role/<path><name>`); a resource policy that
        /// names it grants to every session of the role.
        role_arn: String,
        /// The session name given to `AssumeRole`.
        session_name: String,
        /// The unique role id (`AROA…`); `aws:userid` is `<role_id>:<session_name>`.
        role_id: String,
    },
    /// An unauthenticated caller: only a resource policy with `"Principal": "*"` can grant it
    /// anything.
    Anonymous,
}

/// The caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The caller's ARN: `arn:aws:iam::<account>:root`, `arn:aws:iam::<account>:user/<path><name>`
    /// or `arn:aws:sts::<account>:assumed-role/<role>/<session>`; empty for anonymous callers.
    pub arn: String,
    /// The caller's 12-digit account id; empty for anonymous callers.
    pub account: String,
    /// What kind of principal the caller is.
    pub kind: PrincipalKind,
    /// The principal's tags (a user's tags; a role's tags merged with its session tags), the
    /// values of `aws:PrincipalTag/<key>`.
    pub tags: BTreeMap<String, String>,
}

impl Caller {
    /// The name the `AccessDeniedException` message uses for this caller.
    pub(crate) fn display_name(&self) -> &str {
        match self.kind {
            PrincipalKind::Anonymous => "anonymous",
            _ => &self.arn,
        }
    }
}

/// One authorization question: may `caller` perform `action` on `resource`?
#[derive(Debug, Clone, Copy)]
pub struct AuthzRequest<'a> {
    /// Who asks.
    pub caller: &'a Caller,
    /// The IAM action, `service:Operation` (`secretsmanager:GetSecretValue`).
    pub action: &'a str,
    /// The resource ARN, or `"*"` for actions without a resource (`ListSecrets`).
    pub resource: &'a str,
    /// The account that owns the resource; `None` for `"*"`, which counts as the caller's own
    /// account.
    pub resource_account: Option<&'a str>,
    /// The condition keys of this request (see [`ConditionContext::for_caller`]).
    pub context: &'a ConditionContext,
}

/// A policy with the name decisions and audit records use for it.
#[derive(Debug, Clone, Copy)]
pub struct NamedPolicy<'a> {
    /// A stable name: `inline:alice/ReadOne`, a managed policy ARN, `resource:<secret ARN>`.
    pub name: &'a str,
    /// The parsed document.
    pub policy: &'a Policy,
}

/// Every policy that bears on one request.
#[derive(Debug, Clone, Default)]
pub struct PolicySet<'a> {
    /// The caller's identity policies: inline and attached policies of the user (and its
    /// groups) or of the assumed role. Ignored for the account root and anonymous callers.
    pub identity: Vec<NamedPolicy<'a>>,
    /// The resource's own policy (a secret's resource policy, a key policy), if it has one.
    pub resource: Option<NamedPolicy<'a>>,
    /// For assumed-role sessions created with a session policy: that policy. It can only
    /// narrow what the role's identity policies (and resource policies naming the role) allow.
    pub session: Option<NamedPolicy<'a>>,
}
