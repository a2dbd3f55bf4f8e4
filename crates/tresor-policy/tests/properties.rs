//! Properties of the evaluator over random policies and requests: denies never grant, allows
//! never revoke, erroring statements never grant, deny-everything denies, order is irrelevant.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use proptest::prelude::*;
use tresor_policy::{
    evaluate, ActionSpec, AuthzRequest, Caller, ConditionClause, ConditionContext, Decision,
    Effect, NamedPolicy, Policy, PolicySet, PolicyVersion, PrincipalKind, PrincipalMap,
    PrincipalSpec, Principals, ResourceSpec, Statement,
};

const A: &str = "111122223333";
const B: &str = "444455556666";

const ACTIONS: &[&str] = &[
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:DescribeSecret",
    "secretsmanager:ListSecrets",
    "kms:Decrypt",
];

const ACTION_PATTERNS: &[&str] = &[
    "*",
    "secretsmanager:*",
    "secretsmanager:Get*",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "SecretsManager:?escribeSecret",
    "kms:*",
];

const RESOURCES: &[&str] = &[
    "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf",
    "arn:aws:secretsmanager:us-east-1:111122223333:secret:other/api-XyZ123",
    "arn:aws:secretsmanager:us-east-1:444455556666:secret:app/shared-Qwe123",
    "*",
];

const RESOURCE_PATTERNS: &[&str] = &[
    "*",
    "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf",
    "arn:aws:secretsmanager:*:111122223333:secret:*",
    "arn:aws:secretsmanager:*:*:secret:app/*",
    "arn:aws:secretsmanager:us-east-1:444455556666:secret:*",
    "arn:aws:secretsmanager:*:*:secret:${aws:username}/*",
];

const PRINCIPALS: &[&str] = &[
    "*",
    A,
    B,
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws:iam::444455556666:user/carol",
    "arn:aws:iam::111122223333:role/app",
    "arn:aws:sts::111122223333:assumed-role/app/ci",
];

/// (operator, key, values): simple conditions over keys the requests may or may not carry.
const CONDITIONS: &[(&str, &str, &[&str])] = &[
    ("StringEquals", "aws:PrincipalTag/team", &["blue"]),
    ("StringNotEquals", "aws:PrincipalTag/team", &["red"]),
    ("StringLike", "secretsmanager:Name", &["app/*"]),
    ("Bool", "aws:SecureTransport", &["true"]),
    ("IpAddress", "aws:SourceIp", &["203.0.113.0/24"]),
    ("NotIpAddress", "aws:SourceIp", &["203.0.113.0/24"]),
    ("NumericLessThan", "aws:EpochTime", &["1800000000"]),
    (
        "DateGreaterThan",
        "aws:CurrentTime",
        &["2026-01-01T00:00:00Z"],
    ),
    ("ForAnyValue:StringEquals", "aws:TagKeys", &["env"]),
    ("ForAllValues:StringEquals", "aws:TagKeys", &["env", "team"]),
    (
        "StringEqualsIfExists",
        "secretsmanager:ResourceTag/env",
        &["prod"],
    ),
    ("Null", "secretsmanager:ResourceTag/env", &["true"]),
    (
        "ArnLike",
        "aws:PrincipalArn",
        &["arn:aws:iam::111122223333:*"],
    ),
];

fn pick<T: Clone + std::fmt::Debug + 'static>(items: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(items)
}

fn condition() -> impl Strategy<Value = Vec<ConditionClause>> {
    proptest::option::of(pick(CONDITIONS)).prop_map(|c| {
        c.map(|(operator, key, values)| ConditionClause {
            operator: operator.to_owned(),
            key: key.to_owned(),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        })
        .into_iter()
        .collect()
    })
}

fn strings(items: &'static [&'static str]) -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(pick(items).prop_map(str::to_owned), 1..3)
}

/// A statement for an identity or session policy (no principal).
fn identity_statement(effect: Effect) -> impl Strategy<Value = Statement> {
    (
        any::<bool>(),
        strings(ACTION_PATTERNS),
        any::<bool>(),
        strings(RESOURCE_PATTERNS),
        condition(),
    )
        .prop_map(
            move |(not_action, actions, not_resource, resources, condition)| Statement {
                sid: None,
                effect,
                principal: None,
                action: if not_action {
                    ActionSpec::NotAction(actions)
                } else {
                    ActionSpec::Action(actions)
                },
                resource: Some(if not_resource {
                    ResourceSpec::NotResource(resources)
                } else {
                    ResourceSpec::Resource(resources)
                }),
                condition,
            },
        )
}

fn principals() -> impl Strategy<Value = Principals> {
    prop_oneof![
        Just(Principals::Any),
        strings(PRINCIPALS).prop_map(|aws| Principals::Map(PrincipalMap {
            aws,
            ..PrincipalMap::default()
        })),
    ]
}

/// A statement for a resource policy; Deny statements may use `NotPrincipal`.
fn resource_statement(effect: Effect) -> impl Strategy<Value = Statement> {
    (identity_statement(effect), principals(), any::<bool>()).prop_map(
        move |(mut statement, principals, negate)| {
            statement.principal = Some(if negate && effect == Effect::Deny {
                PrincipalSpec::NotPrincipal(principals)
            } else {
                PrincipalSpec::Principal(principals)
            });
            statement
        },
    )
}

fn effect() -> impl Strategy<Value = Effect> {
    prop_oneof![3 => Just(Effect::Allow), 1 => Just(Effect::Deny)]
}

fn policy(statement: fn(Effect) -> BoxedStrategy<Statement>) -> impl Strategy<Value = Policy> {
    (
        proptest::collection::vec(effect().prop_flat_map(statement), 1..4),
        any::<bool>(),
    )
        .prop_map(|(statements, modern)| Policy {
            version: Some(if modern {
                PolicyVersion::V2012_10_17
            } else {
                PolicyVersion::V2008_10_17
            }),
            id: None,
            statements,
        })
}

fn boxed_identity(effect: Effect) -> BoxedStrategy<Statement> {
    identity_statement(effect).boxed()
}

fn boxed_resource(effect: Effect) -> BoxedStrategy<Statement> {
    resource_statement(effect).boxed()
}

/// Everything a random evaluation needs, owned.
#[derive(Debug, Clone)]
struct World {
    caller: Caller,
    action: String,
    resource: String,
    context: ConditionContext,
    identity: Vec<Policy>,
    resource_policy: Option<Policy>,
    session: Option<Policy>,
}

impl World {
    fn evaluate(&self) -> Decision {
        let names: Vec<String> = (0..self.identity.len())
            .map(|i| format!("identity:{i}"))
            .collect();
        let policies = PolicySet {
            identity: self
                .identity
                .iter()
                .zip(&names)
                .map(|(policy, name)| NamedPolicy { name, policy })
                .collect(),
            resource: self.resource_policy.as_ref().map(|policy| NamedPolicy {
                name: "resource",
                policy,
            }),
            session: self.session.as_ref().map(|policy| NamedPolicy {
                name: "session",
                policy,
            }),
        };
        let resource_account =
            (self.resource != "*").then(|| self.resource.split(':').nth(4).unwrap_or_default());
        evaluate(
            &AuthzRequest {
                caller: &self.caller,
                action: &self.action,
                resource: &self.resource,
                resource_account,
                context: &self.context,
            },
            &policies,
        )
    }

    fn is_identity_caller(&self) -> bool {
        matches!(
            self.caller.kind,
            PrincipalKind::User { .. } | PrincipalKind::AssumedRole { .. }
        )
    }
}

fn caller() -> impl Strategy<Value = Caller> {
    let team = BTreeMap::from([("team".to_owned(), "blue".to_owned())]);
    let user = |account: &str, name: &str| Caller {
        arn: format!("arn:aws:iam::{account}:user/{name}"),
        account: account.to_owned(),
        kind: PrincipalKind::User {
            name: name.to_owned(),
            id: format!("AIDA{}", name.to_uppercase()),
        },
        tags: team.clone(),
    };
    let session = |account: &str| Caller {
        arn: format!("arn:aws:sts::{account}:assumed-role/app/ci"),
        account: account.to_owned(),
        kind: PrincipalKind::AssumedRole {
            role_name: "app".into(),
            role_arn: format!("arn:aws:iam::{account}:role/app"),
            session_name: "ci".into(),
            role_id: "AROAAPP".into(),
        },
        tags: BTreeMap::new(),
    };
    let root = |account: &str| Caller {
        arn: format!("arn:aws:iam::{account}:root"),
        account: account.to_owned(),
        kind: PrincipalKind::AccountRoot,
        tags: BTreeMap::new(),
    };
    let anonymous = Caller {
        arn: String::new(),
        account: String::new(),
        kind: PrincipalKind::Anonymous,
        tags: BTreeMap::new(),
    };
    proptest::sample::select(vec![
        root(A),
        root(B),
        user(A, "alice"),
        user(A, "bob"),
        user(B, "carol"),
        session(A),
        session(B),
        anonymous,
    ])
}

fn world() -> impl Strategy<Value = World> {
    (
        caller(),
        pick(ACTIONS),
        pick(RESOURCES),
        (
            any::<bool>(),
            any::<bool>(),
            proptest::option::of(pick(&["app/db", "other/api"][..])),
            proptest::option::of(proptest::collection::vec(
                pick(&["env", "team", "owner"][..]),
                0..3,
            )),
        ),
        proptest::collection::vec(policy(boxed_identity), 0..3),
        proptest::option::of(policy(boxed_resource)),
        proptest::option::of(policy(boxed_identity)),
    )
        .prop_map(
            |(
                caller,
                action,
                resource,
                (secure, inside, name, tag_keys),
                identity,
                rp,
                session,
            )| {
                let ip = if inside {
                    "203.0.113.7"
                } else {
                    "198.51.100.7"
                };
                let mut context = ConditionContext::for_caller(
                    &caller,
                    1_795_878_000,
                    ip.parse().ok(),
                    secure,
                    "us-east-1",
                );
                if let Some(name) = name {
                    context.insert("secretsmanager:Name", name);
                }
                if let Some(keys) = tag_keys {
                    context.insert_multi("aws:TagKeys", keys);
                }
                let session =
                    session.filter(|_| matches!(caller.kind, PrincipalKind::AssumedRole { .. }));
                World {
                    caller,
                    action: action.to_owned(),
                    resource: resource.to_owned(),
                    context,
                    identity,
                    resource_policy: rp,
                    session,
                }
            },
        )
}

/// Where to put an extra statement.
#[derive(Debug, Clone, Copy)]
enum Slot {
    /// A new identity policy of its own.
    NewIdentity,
    /// The first identity policy, if any (else a new one).
    FirstIdentity,
    /// The resource policy (created if absent).
    Resource,
    /// The session policy, only if the session already has one (else a new identity policy):
    /// creating a session policy narrows, which is not "adding a statement".
    ExistingSession,
}

fn slot() -> impl Strategy<Value = Slot> {
    prop_oneof![
        Just(Slot::NewIdentity),
        Just(Slot::FirstIdentity),
        Just(Slot::Resource),
        Just(Slot::ExistingSession),
    ]
}

fn modern(statements: Vec<Statement>) -> Policy {
    Policy {
        version: Some(PolicyVersion::V2012_10_17),
        id: None,
        statements,
    }
}

/// `world` with `statement` added in `slot`. A statement without a principal gets
/// `"Principal": "*"` when it lands in the resource policy.
fn with_statement(world: &World, slot: Slot, mut statement: Statement) -> World {
    let mut world = world.clone();
    match slot {
        Slot::Resource => {
            if statement.principal.is_none() {
                statement.principal = Some(PrincipalSpec::Principal(Principals::Any));
            }
            match &mut world.resource_policy {
                Some(policy) => policy.statements.push(statement),
                None => world.resource_policy = Some(modern(vec![statement])),
            }
        }
        Slot::ExistingSession if world.session.is_some() => {
            statement.principal = None;
            if let Some(session) = &mut world.session {
                session.statements.push(statement);
            }
        }
        Slot::FirstIdentity if !world.identity.is_empty() => {
            statement.principal = None;
            world.identity[0].statements.push(statement);
        }
        _ => {
            statement.principal = None;
            world.identity.push(modern(vec![statement]));
        }
    }
    world
}

/// An Allow for everything whose condition cannot be evaluated: `"abc"` is not a number.
fn erroring_allow() -> Statement {
    Statement {
        sid: Some("Broken".into()),
        effect: Effect::Allow,
        principal: None,
        action: ActionSpec::Action(vec!["*".into()]),
        resource: Some(ResourceSpec::Resource(vec!["*".into()])),
        condition: vec![ConditionClause {
            operator: "NumericLessThan".into(),
            key: "aws:EpochTime".into(),
            values: vec!["abc".into()],
        }],
    }
}

fn deny_everything() -> Statement {
    Statement {
        sid: None,
        effect: Effect::Deny,
        principal: None,
        action: ActionSpec::Action(vec!["*".into()]),
        resource: Some(ResourceSpec::Resource(vec!["*".into()])),
        condition: Vec::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// (a) Adding a Deny never grants.
    #[test]
    fn adding_a_deny_never_grants(
        world in world(),
        slot in slot(),
        deny in resource_statement(Effect::Deny),
    ) {
        let before = world.evaluate();
        let after = with_statement(&world, slot, deny).evaluate();
        prop_assert!(before.allowed || !after.allowed, "{before:?} → {after:?}");
    }

    /// (b) Adding an Allow never revokes.
    #[test]
    fn adding_an_allow_never_revokes(
        world in world(),
        slot in slot(),
        allow in resource_statement(Effect::Allow),
    ) {
        let before = world.evaluate();
        let after = with_statement(&world, slot, allow).evaluate();
        prop_assert!(!before.allowed || after.allowed, "{before:?} → {after:?}");
    }

    /// (c) A statement that cannot be evaluated changes nothing, and is reported.
    #[test]
    fn an_erroring_statement_never_grants(world in world(), slot in slot()) {
        let before = world.evaluate();
        let after = with_statement(&world, slot, erroring_allow()).evaluate();
        prop_assert_eq!(before.allowed, after.allowed);
        prop_assert_eq!(before.kind, after.kind);
        prop_assert_eq!(before.deciding, after.deciding);
        let reported = after
            .errors
            .iter()
            .any(|e| e.statement.sid.as_deref() == Some("Broken"));
        let evaluated = match slot {
            Slot::Resource => true,
            _ => world.is_identity_caller(),
        };
        prop_assert_eq!(reported, evaluated);
    }

    /// (d) An identity policy denying everything denies every non-root caller; a resource
    /// policy denying everything to `*` denies everyone.
    #[test]
    fn deny_everything_denies(world in world()) {
        let identity_deny = with_statement(&world, Slot::NewIdentity, deny_everything());
        if world.is_identity_caller() {
            prop_assert!(!identity_deny.evaluate().allowed);
        }
        let resource_deny = with_statement(&world, Slot::Resource, deny_everything());
        prop_assert!(!resource_deny.evaluate().allowed);
    }

    /// (e) Collect, then decide: the order of policies and statements does not matter.
    #[test]
    fn order_does_not_matter(world in world()) {
        let mut reversed = world.clone();
        reversed.identity.reverse();
        for policy in reversed
            .identity
            .iter_mut()
            .chain(reversed.resource_policy.iter_mut())
            .chain(reversed.session.iter_mut())
        {
            policy.statements.reverse();
        }
        let (a, b) = (world.evaluate(), reversed.evaluate());
        prop_assert_eq!(a.allowed, b.allowed);
        prop_assert_eq!(a.kind, b.kind);
        prop_assert_eq!(a.deciding.len(), b.deciding.len());
        prop_assert_eq!(a.errors.len(), b.errors.len());
    }
}
