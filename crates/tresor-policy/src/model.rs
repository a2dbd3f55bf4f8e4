//! The parsed policy, shaped for evaluation.
//!
//! Every list element (`Action`, `Resource`, principals, condition values) is a `Vec` even when
//! the document wrote a single string, so the evaluator never cares which form was used.
//! Patterns (`secretsmanager:Get*`, `arn:aws:secretsmanager:*:123456789012:secret:app/*`) and
//! policy variables are kept verbatim; matching them is the evaluator's job.

use crate::condition::ConditionOperator;

/// What a policy document is attached to; decides which elements are required or forbidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// Attached to a user, group or role (`PutRolePolicy`, managed policies): no principal,
    /// `Resource` required.
    Identity,
    /// Attached to a resource (a secret's `PutResourcePolicy`, a KMS key policy): principal and
    /// `Resource` required.
    Resource,
    /// A role's trust policy (`AssumeRolePolicyDocument`): principal required, `Resource`
    /// optional, no `NotPrincipal`.
    Trust,
}

/// A parsed, validated IAM policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The policy language version; `None` when the document has no `Version`.
    pub version: Option<PolicyVersion>,
    /// The optional `Id` element, kept for display only.
    pub id: Option<String>,
    /// The statements in document order; never empty.
    pub statements: Vec<Statement>,
}

impl Policy {
    /// Whether `${…}` in this policy are policy variables rather than literal text.
    ///
    /// AWS substitutes variables only under version 2012-10-17; an older or absent version
    /// treats `${aws:username}` as the literal string.
    pub fn uses_policy_variables(&self) -> bool {
        self.version == Some(PolicyVersion::V2012_10_17)
    }
}

/// The `Version` element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(non_camel_case_types)] // the names spell the dates AWS uses
pub enum PolicyVersion {
    /// `"2012-10-17"`, the current language (policy variables supported).
    V2012_10_17,
    /// `"2008-10-17"`, the original language.
    V2008_10_17,
}

impl PolicyVersion {
    /// The version string as written in a document.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyVersion::V2012_10_17 => "2012-10-17",
            PolicyVersion::V2008_10_17 => "2008-10-17",
        }
    }

    /// Parses a `Version` value.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "2012-10-17" => Some(PolicyVersion::V2012_10_17),
            "2008-10-17" => Some(PolicyVersion::V2008_10_17),
            _ => None,
        }
    }
}

/// One statement of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement id; unique within the policy when present and non-empty.
    pub sid: Option<String>,
    /// Allow or Deny.
    pub effect: Effect,
    /// `Principal` or `NotPrincipal`; always `None` in identity policies, always `Some` in
    /// resource and trust policies.
    pub principal: Option<PrincipalSpec>,
    /// `Action` or `NotAction`.
    pub action: ActionSpec,
    /// `Resource` or `NotResource`; `None` only in trust policies.
    pub resource: Option<ResourceSpec>,
    /// The `Condition` block flattened to one clause per operator and key; all clauses must
    /// match for the statement to apply. Empty when the statement has no condition.
    pub condition: Vec<ConditionClause>,
}

/// The `Effect` element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// Grants the actions when the statement matches.
    Allow,
    /// Denies the actions when the statement matches; overrides every Allow.
    Deny,
}

impl Effect {
    /// `"Allow"` or `"Deny"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

/// `Principal` (the statement applies to these) or `NotPrincipal` (to everyone but these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalSpec {
    /// `"Principal": …`
    Principal(Principals),
    /// `"NotPrincipal": …`
    NotPrincipal(Principals),
}

impl PrincipalSpec {
    /// The principals listed, whichever element listed them.
    pub fn principals(&self) -> &Principals {
        match self {
            PrincipalSpec::Principal(p) | PrincipalSpec::NotPrincipal(p) => p,
        }
    }

    /// True for `NotPrincipal`.
    pub fn is_negated(&self) -> bool {
        matches!(self, PrincipalSpec::NotPrincipal(_))
    }
}

/// The value of a `Principal` or `NotPrincipal` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principals {
    /// `"*"`: every caller, authenticated or not.
    Any,
    /// `{"AWS": …, "Service": …, …}`.
    Map(PrincipalMap),
}

/// Principals by type. At least one list is non-empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrincipalMap {
    /// `"*"`, 12-digit account ids, or IAM/STS principal ARNs, verbatim (an account id is not
    /// rewritten to its `:root` ARN).
    pub aws: Vec<String>,
    /// Service principals such as `secretsmanager.amazonaws.com`.
    pub service: Vec<String>,
    /// Identity providers: SAML/OIDC provider ARNs or web identity provider names.
    pub federated: Vec<String>,
    /// 64-hex-digit canonical user ids.
    pub canonical_user: Vec<String>,
}

/// `Action` (these actions) or `NotAction` (every action but these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionSpec {
    /// `"Action": …`
    Action(Vec<String>),
    /// `"NotAction": …`
    NotAction(Vec<String>),
}

impl ActionSpec {
    /// The patterns (`"*"` or `service:Name` with `*`/`?` wildcards); never empty. AWS matches
    /// them case-insensitively.
    pub fn patterns(&self) -> &[String] {
        match self {
            ActionSpec::Action(p) | ActionSpec::NotAction(p) => p,
        }
    }

    /// True for `NotAction`.
    pub fn is_negated(&self) -> bool {
        matches!(self, ActionSpec::NotAction(_))
    }
}

/// `Resource` (these resources) or `NotResource` (every resource but these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceSpec {
    /// `"Resource": …`
    Resource(Vec<String>),
    /// `"NotResource": …`
    NotResource(Vec<String>),
}

impl ResourceSpec {
    /// The patterns (`"*"` or an ARN with `*`/`?` wildcards); never empty. AWS matches them
    /// case-sensitively.
    pub fn patterns(&self) -> &[String] {
        match self {
            ResourceSpec::Resource(p) | ResourceSpec::NotResource(p) => p,
        }
    }

    /// True for `NotResource`.
    pub fn is_negated(&self) -> bool {
        matches!(self, ResourceSpec::NotResource(_))
    }
}

/// One `operator → key → values` entry of a `Condition` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionClause {
    /// The operator as written: `StringEquals`, `ForAnyValue:StringLike`, `ArnLikeIfExists`.
    pub operator: String,
    /// The condition key as written (`aws:PrincipalArn`); AWS compares keys
    /// case-insensitively.
    pub key: String,
    /// The values; JSON booleans and numbers are rendered as strings (`true`, `42`). Never
    /// empty. The clause matches when any value matches (for the positive operators).
    pub values: Vec<String>,
}

impl ConditionClause {
    /// The operator broken into its parts; `None` only for a clause built by hand with an
    /// unknown operator (`parse` never produces one).
    pub fn parsed_operator(&self) -> Option<ConditionOperator> {
        ConditionOperator::parse(&self.operator)
    }
}
