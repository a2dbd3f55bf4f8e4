//! Collect, then decide.
//!
//! First every statement of every policy that bears on the request is evaluated once and
//! sorted by source and effect ([`Collected`]); nothing is decided while collecting, so the
//! order of policies and statements cannot change the answer. Then [`decide`] applies AWS's
//! documented logic to the collected sets:
//!
//! 1. Any applicable Deny, in any policy: explicit deny.
//! 2. The account root in its own account: allowed (identity policies do not apply to it).
//! 3. In the resource's own account: allowed if an identity policy allows (and the session
//!    policy too, for a session that has one), or the resource policy grants to the caller
//!    directly (`*`, its user ARN, its session ARN) or to its role (then subject to the session
//!    policy). A resource policy naming only the caller's account delegates to the account's
//!    identity policies and grants nothing alone.
//! 4. Across accounts: the identity side (as in 3) and the resource policy must both allow;
//!    here naming the caller's account is enough on the resource side. The root of another
//!    account has its identity side implicitly.
//! 5. Anonymous callers: only the resource policy can allow.
//! 6. Otherwise: implicit deny.
//!
//! [`evaluate_key_policy`] is the mode AWS KMS uses, where the resource policy (the key
//! policy) is required: 1 and 4–6 as above, but 2 and 3 become
//!
//! 2'. In the key's own account nothing is allowed without a key policy Allow, not even the
//!     account root. A key policy statement that names the caller directly (its user, session
//!     or root ARN, or `*`) grants; one that names its role grants, narrowed by the session
//!     policy; one that names only the account delegates to IAM: then an identity policy (and
//!     the session policy) must allow too.

use crate::eval::decision::{Decision, DecisionKind, PolicySource, StatementError, StatementRef};
use crate::eval::matching::PrincipalMatch;
use crate::eval::request::{AuthzRequest, NamedPolicy, PolicySet, PrincipalKind};
use crate::eval::statement::applies;
use crate::eval::variables::Variables;
use crate::model::Effect;

/// Decides whether `req` is allowed under `policies`.
///
/// Never fails: a statement that cannot be evaluated (an unparsable date, an unresolvable
/// policy variable) grants nothing, denies nothing, and is listed in [`Decision::errors`].
pub fn evaluate(req: &AuthzRequest<'_>, policies: &PolicySet<'_>) -> Decision {
    evaluate_in(req, policies, Mode::ResourcePolicyOptional)
}

/// Decides whether `req` is allowed under `policies` where the resource policy is required
/// (AWS KMS's key policies: step 2' of the module comment). Never fails, as [`evaluate`].
pub fn evaluate_key_policy(req: &AuthzRequest<'_>, policies: &PolicySet<'_>) -> Decision {
    evaluate_in(req, policies, Mode::ResourcePolicyRequired)
}

/// Whether the resource's own account may be allowed without its resource policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    ResourcePolicyOptional,
    ResourcePolicyRequired,
}

fn evaluate_in(req: &AuthzRequest<'_>, policies: &PolicySet<'_>, mode: Mode) -> Decision {
    let mut collected = Collected::default();
    // The root user and anonymous callers have no identity or session policies.
    if matches!(
        req.caller.kind,
        PrincipalKind::User { .. } | PrincipalKind::AssumedRole { .. }
    ) {
        for policy in &policies.identity {
            collected.scan(req, policy, PolicySource::Identity);
        }
        if let Some(session) = &policies.session {
            collected.scan(req, session, PolicySource::Session);
        }
    }
    if let Some(resource) = &policies.resource {
        collected.scan(req, resource, PolicySource::Resource);
    }
    let (kind, deciding) = decide(req, policies.session.is_some(), &collected, mode);
    Decision {
        allowed: kind == DecisionKind::Allow,
        kind,
        deciding,
        errors: collected.errors,
    }
}

/// The applicable statements, by source and effect, and the statements that errored.
#[derive(Default)]
struct Collected {
    deny_identity: Vec<StatementRef>,
    deny_resource: Vec<StatementRef>,
    deny_session: Vec<StatementRef>,
    allow_identity: Vec<StatementRef>,
    allow_session: Vec<StatementRef>,
    /// Resource-policy Allows with how they name the caller.
    allow_resource: Vec<(StatementRef, PrincipalMatch)>,
    errors: Vec<StatementError>,
}

impl Collected {
    fn scan(&mut self, req: &AuthzRequest<'_>, policy: &NamedPolicy<'_>, source: PolicySource) {
        let variables = Variables::new(req.context, policy.policy.uses_policy_variables());
        for (index, statement) in policy.policy.statements.iter().enumerate() {
            let reference = || StatementRef {
                policy: policy.name.to_owned(),
                source,
                index,
                sid: statement.sid.clone(),
            };
            let named = match applies(statement, req, source, &variables) {
                Ok(Some(named)) => named,
                Ok(None) => continue,
                Err(message) => {
                    self.errors.push(StatementError {
                        statement: reference(),
                        effect: statement.effect,
                        message,
                    });
                    continue;
                }
            };
            let list = match (statement.effect, source) {
                (Effect::Deny, PolicySource::Identity) => &mut self.deny_identity,
                (Effect::Deny, PolicySource::Resource) => &mut self.deny_resource,
                (Effect::Deny, PolicySource::Session) => &mut self.deny_session,
                (Effect::Allow, PolicySource::Identity) => &mut self.allow_identity,
                (Effect::Allow, PolicySource::Session) => &mut self.allow_session,
                (Effect::Allow, PolicySource::Resource) => {
                    self.allow_resource.push((reference(), named));
                    continue;
                }
            };
            list.push(reference());
        }
    }

    /// Resource-policy Allows that name the caller at least as specifically as `at_least`.
    fn resource_allows(&self, at_least: PrincipalMatch) -> Vec<StatementRef> {
        self.allow_resource
            .iter()
            .filter(|(_, named)| *named >= at_least)
            .map(|(statement, _)| statement.clone())
            .collect()
    }

    /// Resource-policy Allows that name exactly the caller's role.
    fn resource_allows_for_role(&self) -> Vec<StatementRef> {
        self.allow_resource
            .iter()
            .filter(|(_, named)| *named == PrincipalMatch::Role)
            .map(|(statement, _)| statement.clone())
            .collect()
    }
}

/// The decision kind and the statements that decided it.
fn decide(
    req: &AuthzRequest<'_>,
    has_session_policy: bool,
    c: &Collected,
    mode: Mode,
) -> (DecisionKind, Vec<StatementRef>) {
    use DecisionKind::{
        Allow, ExplicitDenyIdentity, ExplicitDenyResource, ExplicitDenySession,
        ImplicitDenyNoIdentityAllow, ImplicitDenyNoResourceAllow, ImplicitDenySession,
    };

    // 1. Deny wins. The kind names one source (identity, then resource, then session); the
    //    deciding list names every applicable Deny.
    let denies: Vec<StatementRef> = [&c.deny_identity, &c.deny_resource, &c.deny_session]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    if !denies.is_empty() {
        let kind = if !c.deny_identity.is_empty() {
            ExplicitDenyIdentity
        } else if !c.deny_resource.is_empty() {
            ExplicitDenyResource
        } else {
            ExplicitDenySession
        };
        return (kind, denies);
    }

    let same_account = req
        .resource_account
        .is_none_or(|account| account == req.caller.account);
    // Any Allow naming the caller, even only by its account: the resource owner's consent.
    let resource_consents = c.resource_allows(PrincipalMatch::Account);
    let needs_consent = |consents: Vec<StatementRef>| {
        if consents.is_empty() {
            (ImplicitDenyNoResourceAllow, consents)
        } else {
            (Allow, consents)
        }
    };

    if same_account && mode == Mode::ResourcePolicyRequired {
        return decide_with_key_policy(req, has_session_policy, c);
    }

    match req.caller.kind {
        // 5.
        PrincipalKind::Anonymous => needs_consent(resource_consents),
        // 2. The root's identity side is implicit.
        PrincipalKind::AccountRoot if same_account => (Allow, Vec::new()),
        PrincipalKind::AccountRoot => needs_consent(resource_consents),
        PrincipalKind::User { .. } | PrincipalKind::AssumedRole { .. } => {
            // A session policy can only narrow: what the identity policies (or a resource
            // policy naming the role) allow counts only if the session policy allows it too.
            let session_ok = !has_session_policy || !c.allow_session.is_empty();
            let identity_allows = !c.allow_identity.is_empty();
            if same_account {
                // 3.
                let mut deciding = c.resource_allows(PrincipalMatch::Direct);
                let narrowed: Vec<StatementRef> = c
                    .allow_identity
                    .iter()
                    .cloned()
                    .chain(c.resource_allows_for_role())
                    .collect();
                let narrowed_any = !narrowed.is_empty();
                if session_ok && narrowed_any {
                    deciding.extend(narrowed);
                    deciding.extend(c.allow_session.iter().cloned());
                }
                if !deciding.is_empty() {
                    (Allow, deciding)
                } else if narrowed_any {
                    (ImplicitDenySession, Vec::new())
                } else {
                    (ImplicitDenyNoIdentityAllow, Vec::new())
                }
            } else if !identity_allows {
                // 4.
                (ImplicitDenyNoIdentityAllow, Vec::new())
            } else if !session_ok {
                (ImplicitDenySession, Vec::new())
            } else if resource_consents.is_empty() {
                (ImplicitDenyNoResourceAllow, Vec::new())
            } else {
                let deciding = c
                    .allow_identity
                    .iter()
                    .chain(&c.allow_session)
                    .cloned()
                    .chain(resource_consents)
                    .collect();
                (Allow, deciding)
            }
        }
    }
}

/// Step 2': the key's own account, where only the key policy can open the door.
fn decide_with_key_policy(
    req: &AuthzRequest<'_>,
    has_session_policy: bool,
    c: &Collected,
) -> (DecisionKind, Vec<StatementRef>) {
    use DecisionKind::{
        Allow, ImplicitDenyNoIdentityAllow, ImplicitDenyNoResourceAllow, ImplicitDenySession,
    };

    let direct = c.resource_allows(PrincipalMatch::Direct);
    if !direct.is_empty() {
        return (Allow, direct);
    }
    if matches!(
        req.caller.kind,
        PrincipalKind::AccountRoot | PrincipalKind::Anonymous
    ) {
        return (ImplicitDenyNoResourceAllow, Vec::new());
    }
    let session_ok = !has_session_policy || !c.allow_session.is_empty();
    let for_role = c.resource_allows_for_role();
    let delegating: Vec<StatementRef> = c
        .allow_resource
        .iter()
        .filter(|(_, named)| *named == PrincipalMatch::Account)
        .map(|(statement, _)| statement.clone())
        .collect();
    if for_role.is_empty() && delegating.is_empty() {
        return (ImplicitDenyNoResourceAllow, Vec::new());
    }
    let identity_allows = !delegating.is_empty() && !c.allow_identity.is_empty();
    if !for_role.is_empty() || identity_allows {
        if !session_ok {
            return (ImplicitDenySession, Vec::new());
        }
        let mut deciding = for_role;
        if identity_allows {
            deciding.extend(delegating);
            deciding.extend(c.allow_identity.iter().cloned());
        }
        deciding.extend(c.allow_session.iter().cloned());
        return (Allow, deciding);
    }
    (ImplicitDenyNoIdentityAllow, Vec::new())
}
