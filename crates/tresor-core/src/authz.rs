//! Authorization: every operation asks [`Core::authorize`] before it acts. The caller's
//! identity policies (inline and attached, or the role's plus the session policy) and the
//! resource's own policy go to the pure evaluator in `tresor-policy`; an explicit Deny wins,
//! a statement that fails to evaluate never grants, a stored policy that can no longer be read
//! denies everything in its place (its audit record says so), and a denial becomes
//! `AccessDeniedException` with AWS's message.

use tresor_policy::{
    AuthzRequest, Caller, ConditionContext, NamedPolicy, Policy, PolicyKind, PolicySet,
    PolicySource,
};
use tresor_store::{IdentityStore, PrincipalName};
use tresor_types::AccountId;

use crate::{Core, CoreError, PrincipalKind, RequestContext};

/// The resource side of an authorization question.
pub struct Resource<'a> {
    /// The resource ARN, or `*`.
    pub arn: &'a str,
    /// The account that owns it (`None` for `*`).
    pub account: Option<&'a AccountId>,
    /// Its resource policy document, if it has one.
    pub policy: Option<&'a str>,
    /// Condition keys that describe the resource and the request (`secretsmanager:Name`,
    /// `aws:ResourceTag/…`, `aws:RequestTag/…`), each with its values.
    pub keys: Vec<(String, Vec<String>)>,
    /// How a denial names the resource, if not by `arn` (a secret as the request named it).
    pub shown_as: Option<&'a str>,
}

impl<'a> Resource<'a> {
    /// An action without a resource (`ListSecrets`, `GetRandomPassword`).
    pub fn any() -> Self {
        Self {
            arn: "*",
            account: None,
            policy: None,
            keys: Vec::new(),
            shown_as: None,
        }
    }
}

/// A parsed policy with the name decisions use for it.
pub(crate) type Named = (String, Policy);

/// The caller's identity policies and session policy, parsed: read once, they can decide
/// several questions ([`Core::decide`]).
pub(crate) type CallerPolicies = (Vec<Named>, Option<Named>);

/// How the stand-in for a stored policy that no longer parses is named: the name of the policy
/// it replaces follows.
const UNREADABLE: &str = "unreadable:";

/// A stored policy parsed for evaluation, or, if it no longer parses, a policy that denies
/// everything in its place: what could not be read could have held a Deny, so authorization
/// fails closed. The stand-in is named [`UNREADABLE`] + `name`, so that a denial it decides
/// says why ([`Core::decide`]).
fn parse_stored_or_deny(name: &str, document: &str, kind: PolicyKind) -> Named {
    parse_stored(name, document, kind)
        .unwrap_or_else(|| (format!("{UNREADABLE}{name}"), deny_all(kind)))
}

/// Why a denial decided by stand-ins for unreadable stored policies was made, for its audit
/// record (the policies' names stay in the log).
fn unreadable_reason(decision: &tresor_policy::Decision) -> Option<String> {
    let mut kinds: Vec<&str> = decision
        .deciding
        .iter()
        .filter(|s| s.policy.starts_with(UNREADABLE))
        .map(|s| match s.source {
            PolicySource::Identity => "an identity-based policy",
            PolicySource::Resource => "the resource-based policy",
            PolicySource::Session => "the session policy",
        })
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    if kinds.is_empty() {
        return None;
    }
    Some(format!(
        "stored policy unreadable: {} could not be read, so it denies every request",
        kinds.join(" and ")
    ))
}

/// A stored policy parsed for evaluation. Documents were validated when stored; one that no
/// longer parses is logged and `None` (callers put a deny-all in its place, or grant nothing).
pub(crate) fn parse_stored(
    name: &str,
    document: &str,
    kind: PolicyKind,
) -> Option<(String, Policy)> {
    match tresor_policy::parse(document, kind) {
        Ok(p) => Some((name.to_owned(), p)),
        Err(e) => {
            tracing::error!(policy = name, error = %e.message, "stored policy no longer parses; it grants nothing");
            None
        }
    }
}

impl Core {
    /// The evaluator's view of the caller.
    pub(crate) fn caller(ctx: &RequestContext) -> Caller {
        let p = &ctx.principal;
        let kind = match &p.kind {
            PrincipalKind::Root => tresor_policy::PrincipalKind::AccountRoot,
            PrincipalKind::User { name, id } => tresor_policy::PrincipalKind::User {
                name: name.clone(),
                id: id.clone(),
            },
            PrincipalKind::AssumedRole {
                role_name,
                role_id,
                role_arn,
                session_name,
                ..
            } => tresor_policy::PrincipalKind::AssumedRole {
                role_name: role_name.clone(),
                role_arn: role_arn.clone(),
                session_name: session_name.clone(),
                role_id: role_id.clone(),
            },
        };
        Caller {
            arn: p.arn.clone(),
            account: p.account.as_str().to_owned(),
            kind,
            tags: p.tags.iter().cloned().collect(),
        }
    }

    /// The caller's identity policies and session policy, parsed.
    pub(crate) fn caller_policies(
        &self,
        ctx: &RequestContext,
    ) -> Result<CallerPolicies, CoreError> {
        let (owner, session) = match &ctx.principal.kind {
            PrincipalKind::Root => return Ok((Vec::new(), None)),
            PrincipalKind::User { name, .. } => (
                PrincipalName {
                    account: ctx.principal.account.clone(),
                    kind: tresor_store::PrincipalKind::User,
                    name: name.clone(),
                },
                None,
            ),
            PrincipalKind::AssumedRole {
                role_name,
                session_policy,
                ..
            } => (
                PrincipalName {
                    account: ctx.principal.account.clone(),
                    kind: tresor_store::PrincipalKind::Role,
                    name: role_name.clone(),
                },
                session_policy.as_deref(),
            ),
        };
        let stored = self.store.principal_policies(&owner)?;
        let owner_label = format!("{}/{}", owner.kind.as_str(), owner.name);
        let mut identity = Vec::new();
        for (name, doc) in &stored.inline {
            identity.push(parse_stored_or_deny(
                &format!("inline:{owner_label}/{name}"),
                doc,
                PolicyKind::Identity,
            ));
        }
        for (arn, doc) in &stored.managed {
            identity.push(parse_stored_or_deny(arn, doc, PolicyKind::Identity));
        }
        let session = session.map(|doc| parse_stored_or_deny("session", doc, PolicyKind::Identity));
        Ok((identity, session))
    }

    /// May the caller perform `action` on `resource`? `Err(AccessDenied)` if not.
    pub fn authorize(
        &self,
        ctx: &RequestContext,
        action: &str,
        resource: Resource<'_>,
    ) -> Result<(), CoreError> {
        let policies = self.caller_policies(ctx)?;
        Self::decide(ctx, &policies, action, resource)
    }

    /// [`Self::authorize`] as KMS evaluates a key's policy ([`tresor_policy::evaluate_key_policy`]):
    /// `resource.policy` is the key policy, and without an Allow in it nothing is allowed.
    pub fn authorize_by_key_policy(
        &self,
        ctx: &RequestContext,
        action: &str,
        resource: Resource<'_>,
    ) -> Result<(), CoreError> {
        let policies = self.caller_policies(ctx)?;
        Self::decide_with(
            ctx,
            &policies,
            action,
            resource,
            tresor_policy::evaluate_key_policy,
        )
    }

    /// [`Self::authorize`] with the caller's policies already read.
    pub(crate) fn decide(
        ctx: &RequestContext,
        policies: &CallerPolicies,
        action: &str,
        resource: Resource<'_>,
    ) -> Result<(), CoreError> {
        Self::decide_with(ctx, policies, action, resource, tresor_policy::evaluate)
    }

    fn decide_with(
        ctx: &RequestContext,
        policies: &CallerPolicies,
        action: &str,
        resource: Resource<'_>,
        evaluate: fn(&AuthzRequest<'_>, &PolicySet<'_>) -> tresor_policy::Decision,
    ) -> Result<(), CoreError> {
        let caller = Self::caller(ctx);
        let source_ip = ctx.source_ip.as_deref().and_then(|ip| ip.parse().ok());
        let mut keys = ConditionContext::for_caller(
            &caller,
            ctx.now.millis() / 1000,
            source_ip,
            ctx.secure_transport,
            ctx.region.as_str(),
        );
        for (key, values) in resource.keys {
            keys.insert_multi(&key, values);
        }
        let (identity, session) = policies;
        let resource_policy = resource.policy.map(|doc| {
            parse_stored_or_deny(
                &format!("resource:{}", resource.arn),
                doc,
                PolicyKind::Resource,
            )
        });
        let set = PolicySet {
            identity: identity
                .iter()
                .map(|(n, p)| NamedPolicy { name: n, policy: p })
                .collect(),
            resource: resource_policy
                .as_ref()
                .map(|(n, p)| NamedPolicy { name: n, policy: p }),
            session: session
                .as_ref()
                .map(|(n, p)| NamedPolicy { name: n, policy: p }),
        };
        let req = AuthzRequest {
            caller: &caller,
            action,
            resource: resource.arn,
            resource_account: resource.account.map(AccountId::as_str),
            context: &keys,
        };
        let decision = evaluate(&req, &set);
        for e in &decision.errors {
            tracing::warn!(request_id = %ctx.request_id, error = ?e, "policy statement could not be evaluated");
        }
        if decision.allowed {
            Ok(())
        } else {
            let shown = resource.shown_as.unwrap_or(resource.arn);
            Err(CoreError::AccessDenied {
                message: decision.access_denied_message_naming(&req, shown),
                unreadable: unreadable_reason(&decision),
            })
        }
    }
}

/// A policy of `kind` that denies every action on every resource (to every principal, for a
/// resource policy).
fn deny_all(kind: PolicyKind) -> Policy {
    let document = match kind {
        PolicyKind::Resource | PolicyKind::Trust => {
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}"#
        }
        PolicyKind::Identity => {
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#
        }
    };
    #[allow(clippy::expect_used)] // Constant documents; covered by a unit test.
    tresor_policy::parse(document, kind).expect("constant deny-all policy parses")
}

#[cfg(test)]
mod tests {
    #[test]
    fn fail_closed_policies_parse() {
        let _ = super::deny_all(tresor_policy::PolicyKind::Identity);
        let _ = super::deny_all(tresor_policy::PolicyKind::Resource);
        let _ = super::deny_all(tresor_policy::PolicyKind::Trust);
    }
}
