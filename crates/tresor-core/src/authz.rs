//! Authorization: every operation asks [`Core::authorize`] before it acts. The caller's
//! identity policies (inline and attached, or the role's plus the session policy) and the
//! resource's own policy go to the pure evaluator in `tresor-policy`; an explicit Deny wins,
//! a statement that fails to evaluate never grants, and a denial becomes
//! `AccessDeniedException` with AWS's message.

use tresor_policy::{
    AuthzRequest, Caller, ConditionContext, NamedPolicy, Policy, PolicyKind, PolicySet,
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

/// A stored policy parsed for evaluation. Documents were validated when stored; one that no
/// longer parses grants nothing (and is logged), as an erroring statement never grants.
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
            identity.extend(parse_stored(
                &format!("inline:{owner_label}/{name}"),
                doc,
                PolicyKind::Identity,
            ));
        }
        for (arn, doc) in &stored.managed {
            identity.extend(parse_stored(arn, doc, PolicyKind::Identity));
        }
        // A session policy that cannot be read must not widen anything: it denies all.
        let session = session.map(|doc| {
            parse_stored("session", doc, PolicyKind::Identity)
                .unwrap_or_else(|| ("session".to_owned(), deny_all()))
        });
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

    /// [`Self::authorize`] with the caller's policies already read.
    pub(crate) fn decide(
        ctx: &RequestContext,
        policies: &CallerPolicies,
        action: &str,
        resource: Resource<'_>,
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
        let resource_policy = match resource.policy {
            Some(doc) => Some(
                parse_stored(
                    &format!("resource:{}", resource.arn),
                    doc,
                    PolicyKind::Resource,
                )
                // An unreadable resource policy could have held a Deny: fail closed.
                .unwrap_or_else(|| (format!("resource:{}", resource.arn), deny_all_resource())),
            ),
            None => None,
        };
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
        let decision = tresor_policy::evaluate(&req, &set);
        for e in &decision.errors {
            tracing::warn!(request_id = %ctx.request_id, error = ?e, "policy statement could not be evaluated");
        }
        if decision.allowed {
            Ok(())
        } else {
            let shown = resource.shown_as.unwrap_or(resource.arn);
            Err(CoreError::AccessDenied(
                decision.access_denied_message_naming(&req, shown),
            ))
        }
    }
}

fn deny_all() -> Policy {
    #[allow(clippy::expect_used)] // A constant document; covered by a unit test.
    tresor_policy::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#,
        PolicyKind::Identity,
    )
    .expect("constant deny-all policy parses")
}

fn deny_all_resource() -> Policy {
    #[allow(clippy::expect_used)] // A constant document; covered by a unit test.
    tresor_policy::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}"#,
        PolicyKind::Resource,
    )
    .expect("constant deny-all policy parses")
}

#[cfg(test)]
mod tests {
    #[test]
    fn fail_closed_policies_parse() {
        let _ = super::deny_all();
        let _ = super::deny_all_resource();
    }
}
