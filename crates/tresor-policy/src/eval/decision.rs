//! The answer: allowed or not, why, and which statements decided it.

use std::fmt;

use crate::eval::request::AuthzRequest;
use crate::model::Effect;

/// The kind of policy a statement belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicySource {
    /// A policy attached to the caller (user, group or role).
    Identity,
    /// The policy attached to the resource.
    Resource,
    /// The session policy of an assumed-role session.
    Session,
}

impl PolicySource {
    /// `identity`, `resource` or `session`.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicySource::Identity => "identity",
            PolicySource::Resource => "resource",
            PolicySource::Session => "session",
        }
    }
}

/// One statement of one policy, as named in decisions and audit records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRef {
    /// The policy's name ([`NamedPolicy::name`](crate::NamedPolicy)).
    pub policy: String,
    /// Where the policy is attached.
    pub source: PolicySource,
    /// The statement's position in the policy, from 0.
    pub index: usize,
    /// The statement's `Sid`, when it has one.
    pub sid: Option<String>,
}

impl fmt::Display for StatementRef {
    /// `inline:alice/ReadOne Statement[0] (ReadSecrets)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} Statement[{}]", self.policy, self.index)?;
        match self.sid.as_deref() {
            Some(sid) if !sid.is_empty() => write!(f, " ({sid})"),
            _ => Ok(()),
        }
    }
}

/// A statement that could not be evaluated for this request.
///
/// An erroring Allow grants nothing. An erroring Deny is skipped, as Cedar skips an erroring
/// `forbid`: the error is reported here so the policy can be fixed, but an unevaluable
/// statement does not decide the request either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementError {
    /// The statement.
    pub statement: StatementRef,
    /// Its effect.
    pub effect: Effect,
    /// What could not be evaluated (`Condition DateLessThan aws:CurrentTime: 'soon' is not an
    /// ISO 8601 date or epoch seconds`).
    pub message: String,
}

impl fmt::Display for StatementError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.statement, self.message)
    }
}

/// Why a request was allowed or denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecisionKind {
    /// Allowed.
    Allow,
    /// A Deny statement in an identity policy applies.
    ExplicitDenyIdentity,
    /// A Deny statement in the resource policy applies.
    ExplicitDenyResource,
    /// A Deny statement in the session policy applies.
    ExplicitDenySession,
    /// No identity policy allows the action (and, in the resource's own account, no resource
    /// policy statement grants it to the caller directly).
    ImplicitDenyNoIdentityAllow,
    /// A request needing the resource policy's consent (cross-account, anonymous) does not have
    /// it.
    ImplicitDenyNoResourceAllow,
    /// The identity side allows the action, but the session policy does not.
    ImplicitDenySession,
}

impl DecisionKind {
    /// The variant name, for audit records and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Allow => "Allow",
            DecisionKind::ExplicitDenyIdentity => "ExplicitDenyIdentity",
            DecisionKind::ExplicitDenyResource => "ExplicitDenyResource",
            DecisionKind::ExplicitDenySession => "ExplicitDenySession",
            DecisionKind::ImplicitDenyNoIdentityAllow => "ImplicitDenyNoIdentityAllow",
            DecisionKind::ImplicitDenyNoResourceAllow => "ImplicitDenyNoResourceAllow",
            DecisionKind::ImplicitDenySession => "ImplicitDenySession",
        }
    }

    /// The end of the `AccessDeniedException` message; empty for `Allow`.
    fn reason(self, action: &str) -> String {
        match self {
            DecisionKind::Allow => String::new(),
            DecisionKind::ExplicitDenyIdentity => {
                " with an explicit deny in an identity-based policy".to_owned()
            }
            DecisionKind::ExplicitDenyResource => {
                " with an explicit deny in a resource-based policy".to_owned()
            }
            DecisionKind::ExplicitDenySession => {
                " with an explicit deny in a session policy".to_owned()
            }
            DecisionKind::ImplicitDenyNoIdentityAllow => {
                format!(" because no identity-based policy allows the {action} action")
            }
            DecisionKind::ImplicitDenyNoResourceAllow => {
                format!(" because no resource-based policy allows the {action} action")
            }
            DecisionKind::ImplicitDenySession => {
                format!(" because no session policy allows the {action} action")
            }
        }
    }
}

/// The outcome of [`evaluate`](crate::evaluate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may proceed; true exactly when `kind` is `Allow`.
    pub allowed: bool,
    /// Why.
    pub kind: DecisionKind,
    /// The statements that decided: for an explicit deny, every Deny that applies; for an
    /// allow, every Allow on the path that granted (empty when the account root acts in its
    /// own account); for an implicit deny, none — nothing applied.
    pub deciding: Vec<StatementRef>,
    /// Statements that could not be evaluated for this request (they granted nothing and
    /// denied nothing).
    pub errors: Vec<StatementError>,
}

impl Decision {
    /// The AWS `AccessDeniedException` message for this decision:
    ///
    /// `User: arn:aws:iam::123456789012:user/alice is not authorized to perform:
    /// secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:…:secret:db-AbCdEf
    /// because no identity-based policy allows the secretsmanager:GetSecretValue action`
    ///
    /// AWS leaves out `on resource: …` when the resource is `*`, and calls an unauthenticated
    /// caller `anonymous`. For an `Allow` decision the message has no reason clause.
    pub fn access_denied_message(&self, req: &AuthzRequest<'_>) -> String {
        self.access_denied_message_naming(req, req.resource)
    }

    /// [`Self::access_denied_message`] naming the resource as `shown` (AWS names a secret as
    /// the request named it: by name, partial ARN or full ARN).
    pub fn access_denied_message_naming(&self, req: &AuthzRequest<'_>, shown: &str) -> String {
        let on_resource = if shown == "*" {
            String::new()
        } else {
            format!(" on resource: {shown}")
        };
        format!(
            "User: {} is not authorized to perform: {}{}{}",
            req.caller.display_name(),
            req.action,
            on_resource,
            self.kind.reason(req.action)
        )
    }
}
