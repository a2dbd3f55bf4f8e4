//! IAM policies: the parser on arbitrary documents, then the evaluator on what parses.
//!
//! Input: a policy document. It is parsed as each [`PolicyKind`]; each policy that parses is
//! evaluated for a fixed cast of callers (the account root, a user, a role session, a user of
//! another account, an anonymous caller), for actions and resources read off the policy's own
//! patterns (wildcards filled in, so statements can match) and fixed ones, with the policy's
//! condition keys set to its own values.
//!
//! Properties (AWS's evaluation logic, as `tresor_policy::eval` states it):
//! - `allowed` is exactly `kind == Allow`; an explicit deny names its statements, an implicit
//!   deny names none, an allow names some (except the root in its own account);
//! - the order of identity policies does not change the decision, and an added Allow never
//!   revokes;
//! - a deny-everything identity policy denies users and role sessions;
//! - a session policy only narrows: what a session may do, the role may do without it;
//! - a resource policy that `grants_public_access` calls private grants an anonymous caller
//!   nothing, whatever request keys it sends.

use std::collections::BTreeMap;

use tresor_policy::{
    evaluate, grants_public_access, parse, AuthzRequest, Caller, ConditionContext, Decision,
    DecisionKind, NamedPolicy, Policy, PolicyKind, PolicySet, PrincipalKind,
};

const OWN: &str = "111122223333";
const FOREIGN: &str = "444455556666";
const SECRET_ARN: &str = "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-AbCdEf";
/// 2026-11-28T15:00:00Z.
const NOW: i64 = 1_795_878_000;
/// The name the policy under test goes by in decisions.
const FUZZED: &str = "fuzzed";
/// Patterns and condition clauses read off a policy, at most.
const TAKE: usize = 4;

/// The harness of the `policy` target.
pub fn run(data: &[u8]) {
    let Ok(document) = std::str::from_utf8(data) else {
        return;
    };
    let deny_all = fixed(r#"{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#);
    let allow_all = fixed(r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#);
    for kind in [
        PolicyKind::Identity,
        PolicyKind::Resource,
        PolicyKind::Trust,
    ] {
        if let Ok(policy) = parse(document, kind) {
            let fixed = Fixed {
                deny_all: &deny_all,
                allow_all: &allow_all,
            };
            check_policy(&policy, kind, &fixed);
        }
    }
}

fn fixed(document: &str) -> Policy {
    match parse(document, PolicyKind::Identity) {
        Ok(policy) => policy,
        Err(e) => panic!("fixed policy {document} does not parse: {e}"),
    }
}

struct Fixed<'a> {
    deny_all: &'a Policy,
    allow_all: &'a Policy,
}

fn check_policy(policy: &Policy, kind: PolicyKind, fixed: &Fixed<'_>) {
    let callers = callers();
    let actions = requested(
        policy,
        |s| s.action.patterns(),
        "secretsmanager:GetSecretValue",
    );
    let resources = requested(
        policy,
        |s| s.resource.as_ref().map_or(&[][..], |r| r.patterns()),
        SECRET_ARN,
    );
    let public = kind != PolicyKind::Identity && grants_public_access(policy);
    for caller in &callers {
        let context = context_for(caller, policy, true);
        for action in &actions {
            for resource in &resources {
                let req = AuthzRequest {
                    caller,
                    action,
                    resource,
                    resource_account: (resource != "*").then_some(OWN),
                    context: &context,
                };
                match kind {
                    PolicyKind::Identity => check_as_identity(&req, policy, fixed),
                    PolicyKind::Resource | PolicyKind::Trust => {
                        check_as_resource(&req, policy, fixed);
                        if !public && caller.kind == PrincipalKind::Anonymous {
                            check_private(&req, policy);
                        }
                    }
                }
            }
        }
    }
}

fn check_as_identity(req: &AuthzRequest<'_>, policy: &Policy, fixed: &Fixed<'_>) {
    let allow_all = ("allow-all", fixed.allow_all);
    let deny_all = ("deny-all", fixed.deny_all);
    let alone = decide(req, &[(FUZZED, policy)], None, None);
    let before = decide(req, &[allow_all, (FUZZED, policy)], None, None);
    let after = decide(req, &[(FUZZED, policy), allow_all], None, None);
    assert_eq!(
        (before.kind, sorted(&before)),
        (after.kind, sorted(&after)),
        "the order of identity policies changed the decision"
    );
    assert!(!alone.allowed || before.allowed, "an added Allow revoked");
    check_denies_all(req, &[(FUZZED, policy), deny_all], None);
    if matches!(req.caller.kind, PrincipalKind::AssumedRole { .. }) {
        // The policy as the session's: it may only narrow what the role may do.
        let with_session = decide(req, &[allow_all], None, Some(policy));
        let without = decide(req, &[allow_all], None, None);
        assert!(!with_session.allowed || without.allowed);
        let narrowed = decide(req, &[(FUZZED, policy)], None, Some(policy));
        assert!(!narrowed.allowed || alone.allowed);
    }
}

fn check_as_resource(req: &AuthzRequest<'_>, policy: &Policy, fixed: &Fixed<'_>) {
    let allow_all = ("allow-all", fixed.allow_all);
    let deny_all = ("deny-all", fixed.deny_all);
    let with_identity = decide(req, &[allow_all], Some(policy), None);
    decide(req, &[], Some(policy), None);
    check_denies_all(req, &[deny_all], Some(policy));
    if matches!(req.caller.kind, PrincipalKind::AssumedRole { .. }) {
        let with_session = decide(req, &[allow_all], Some(policy), Some(fixed.deny_all));
        assert!(!with_session.allowed);
        let narrowed = decide(req, &[allow_all], Some(policy), Some(policy));
        assert!(!narrowed.allowed || with_identity.allowed);
    }
}

/// An anonymous caller and a policy `grants_public_access` calls private: denied, even with
/// every request key the policy tests set to the value it wants (a caller chooses those; it
/// cannot choose the keys that describe it, which an anonymous caller does not have).
fn check_private(req: &AuthzRequest<'_>, policy: &Policy) {
    let context = context_for(req.caller, policy, false);
    let chosen = AuthzRequest {
        context: &context,
        ..*req
    };
    let decision = decide(&chosen, &[], Some(policy), None);
    assert!(
        !decision.allowed,
        "a policy called private lets an anonymous caller {} {}: {:?}",
        req.action, req.resource, decision.deciding
    );
}

fn check_denies_all(
    req: &AuthzRequest<'_>,
    identity: &[(&str, &Policy)],
    resource: Option<&Policy>,
) {
    let decision = decide(req, identity, resource, None);
    if matches!(
        req.caller.kind,
        PrincipalKind::User { .. } | PrincipalKind::AssumedRole { .. }
    ) {
        assert!(
            !decision.allowed,
            "allowed despite a deny-everything policy"
        );
        assert!(matches!(
            decision.kind,
            DecisionKind::ExplicitDenyIdentity
                | DecisionKind::ExplicitDenyResource
                | DecisionKind::ExplicitDenySession
        ));
    }
}

/// Evaluates, and checks what every decision must satisfy.
fn decide(
    req: &AuthzRequest<'_>,
    identity: &[(&str, &Policy)],
    resource: Option<&Policy>,
    session: Option<&Policy>,
) -> Decision {
    let set = PolicySet {
        identity: identity
            .iter()
            .map(|&(name, policy)| NamedPolicy { name, policy })
            .collect(),
        resource: resource.map(|policy| NamedPolicy {
            name: "resource",
            policy,
        }),
        session: session.map(|policy| NamedPolicy {
            name: "session",
            policy,
        }),
    };
    let decision = evaluate(req, &set);
    assert_eq!(decision.allowed, decision.kind == DecisionKind::Allow);
    match decision.kind {
        DecisionKind::ExplicitDenyIdentity
        | DecisionKind::ExplicitDenyResource
        | DecisionKind::ExplicitDenySession => assert!(!decision.deciding.is_empty()),
        DecisionKind::Allow => {
            let root_at_home = req.caller.kind == PrincipalKind::AccountRoot
                && req.resource_account.is_none_or(|a| a == req.caller.account);
            assert!(root_at_home || !decision.deciding.is_empty());
        }
        DecisionKind::ImplicitDenyNoIdentityAllow
        | DecisionKind::ImplicitDenyNoResourceAllow
        | DecisionKind::ImplicitDenySession => assert!(decision.deciding.is_empty()),
    }
    let message = decision.access_denied_message(req);
    assert!(message.contains(req.action));
    decision
}

fn sorted(decision: &Decision) -> Vec<String> {
    let mut names: Vec<String> = decision
        .deciding
        .iter()
        .map(|s| format!("{}#{}", s.policy, s.index))
        .collect();
    names.sort();
    names
}

/// The first patterns of the policy with their wildcards filled in, and `fixed`.
fn requested<'p>(
    policy: &'p Policy,
    patterns: impl Fn(&'p tresor_policy::Statement) -> &'p [String],
    fixed: &str,
) -> Vec<String> {
    let mut out: Vec<String> = policy
        .statements
        .iter()
        .flat_map(|s| patterns(s).iter())
        .take(TAKE)
        .map(|p| p.replace('*', "x").replace('?', "y"))
        .collect();
    out.push(fixed.to_owned());
    out.sort();
    out.dedup();
    out
}

fn callers() -> Vec<Caller> {
    let tags = BTreeMap::from([("team".to_owned(), "blue".to_owned())]);
    let user = |account: &str, name: &str| Caller {
        arn: format!("arn:aws:iam::{account}:user/{name}"),
        account: account.to_owned(),
        kind: PrincipalKind::User {
            name: name.to_owned(),
            id: format!("AIDA{}", name.to_uppercase()),
        },
        tags: tags.clone(),
    };
    vec![
        Caller {
            arn: format!("arn:aws:iam::{OWN}:root"),
            account: OWN.to_owned(),
            kind: PrincipalKind::AccountRoot,
            tags: BTreeMap::new(),
        },
        user(OWN, "alice"),
        user(FOREIGN, "carol"),
        Caller {
            arn: format!("arn:aws:sts::{OWN}:assumed-role/app/ci"),
            account: OWN.to_owned(),
            kind: PrincipalKind::AssumedRole {
                role_name: "app".to_owned(),
                role_arn: format!("arn:aws:iam::{OWN}:role/app"),
                session_name: "ci".to_owned(),
                role_id: "AROAAPP".to_owned(),
            },
            tags: tags.clone(),
        },
        Caller {
            arn: String::new(),
            account: String::new(),
            kind: PrincipalKind::Anonymous,
            tags: BTreeMap::new(),
        },
    ]
}

/// The global keys of `caller`, then the keys the policy's conditions test, set to the values
/// they test for. With `caller_keys` false, keys that describe the caller are left as
/// `for_caller` made them: a caller cannot choose those.
fn context_for(caller: &Caller, policy: &Policy, caller_keys: bool) -> ConditionContext {
    let mut context = ConditionContext::for_caller(caller, NOW, None, true, "us-east-1");
    let clauses = policy
        .statements
        .iter()
        .flat_map(|s| &s.condition)
        .take(TAKE);
    for clause in clauses {
        if !caller_keys && describes_caller(&clause.key) {
            continue;
        }
        context.insert_multi(&clause.key, clause.values.iter().take(TAKE).cloned());
    }
    context
}

fn describes_caller(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["aws:principal", "aws:source", "aws:userid", "aws:username"]
        .iter()
        .any(|prefix| key.starts_with(prefix))
}
