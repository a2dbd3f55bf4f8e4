//! The authorization matrix: principal × action × resource × policies × condition → decision.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use tresor_policy::{
    evaluate, parse, AuthzRequest, Caller, ConditionContext, Decision, DecisionKind, Effect,
    NamedPolicy, Policy, PolicyKind, PolicySet, PolicySource, PrincipalKind,
};

use DecisionKind::{
    Allow, ExplicitDenyIdentity, ExplicitDenyResource, ExplicitDenySession,
    ImplicitDenyNoIdentityAllow as NoIdentityAllow, ImplicitDenyNoIdentityAllow,
    ImplicitDenyNoResourceAllow as NoResourceAllow, ImplicitDenyNoResourceAllow,
    ImplicitDenySession,
};

// ---------------------------------------------------------------------------------------------
// The cast: account A owns the secrets; account B is another tenant.

const A: &str = "111122223333";
const B: &str = "444455556666";
/// 2026-11-28T15:00:00Z
const NOW: i64 = 1_795_878_000;

const ROOT_A: &str = "root-a";
const ROOT_B: &str = "root-b";
const ALICE: &str = "alice";
const BOB: &str = "bob";
const CAROL_B: &str = "carol-b";
const SESSION_A: &str = "session-a";
const SESSION_B: &str = "session-b";
const ANONYMOUS: &str = "anonymous";

const S1: &str = "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf";
const S2: &str = "arn:aws:secretsmanager:us-east-1:111122223333:secret:other/api-XyZ123";
const ALICE_HOME: &str = "arn:aws:secretsmanager:us-east-1:111122223333:secret:alice/key-Qwe123";
const BOB_HOME: &str = "arn:aws:secretsmanager:us-east-1:111122223333:secret:bob/key-Rty456";
const ANY: &str = "*";

const GET: &str = "secretsmanager:GetSecretValue";
const PUT: &str = "secretsmanager:PutSecretValue";
const DESCRIBE: &str = "secretsmanager:DescribeSecret";
const DELETE: &str = "secretsmanager:DeleteSecret";
const LIST: &str = "secretsmanager:ListSecrets";

fn caller(name: &str) -> Caller {
    let tags = BTreeMap::from([("team".to_owned(), "blue".to_owned())]);
    let user = |account: &str, name: &str, id: &str| Caller {
        arn: format!("arn:aws:iam::{account}:user/{name}"),
        account: account.into(),
        kind: PrincipalKind::User {
            name: name.into(),
            id: id.into(),
        },
        tags: tags.clone(),
    };
    let session = |account: &str| Caller {
        arn: format!("arn:aws:sts::{account}:assumed-role/app/ci"),
        account: account.into(),
        kind: PrincipalKind::AssumedRole {
            role_name: "app".into(),
            role_arn: format!("arn:aws:iam::{account}:role/app"),
            session_name: "ci".into(),
            role_id: "AROAEXAMPLEAPP".into(),
        },
        tags: tags.clone(),
    };
    let root = |account: &str| Caller {
        arn: format!("arn:aws:iam::{account}:root"),
        account: account.into(),
        kind: PrincipalKind::AccountRoot,
        tags: BTreeMap::new(),
    };
    match name {
        ROOT_A => root(A),
        ROOT_B => root(B),
        ALICE => user(A, "alice", "AIDAALICE"),
        BOB => user(A, "bob", "AIDABOB"),
        CAROL_B => user(B, "carol", "AIDACAROL"),
        SESSION_A => session(A),
        SESSION_B => session(B),
        ANONYMOUS => Caller {
            arn: String::new(),
            account: String::new(),
            kind: PrincipalKind::Anonymous,
            tags: BTreeMap::new(),
        },
        other => panic!("unknown caller {other}"),
    }
}

/// The owner account of a resource ARN; `None` for `*`.
fn owner(resource: &str) -> Option<&str> {
    (resource != "*").then(|| resource.split(':').nth(4).unwrap())
}

// ---------------------------------------------------------------------------------------------
// Policies. Identity documents have no principal; resource documents name one.

const ALLOW_GET_S1: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"ReadOne","Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf"}]}"#;
const ALLOW_GET_S1_MIXED_CASE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"SecretsManager:getsecretvalue","Resource":"arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf"}]}"#;
const ALLOW_GET_STAR: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:Get*","Resource":"*"}]}"#;
const ALLOW_QUESTION: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:?etSecretValue","Resource":"*"}]}"#;
const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const ALLOW_SM_ALL: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*"}]}"#;
const ALLOW_APP_PREFIX: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:*:111122223333:secret:app/*"}]}"#;
const ALLOW_APP_PREFIX_WRONG_CASE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:*:111122223333:secret:App/*"}]}"#;
const ALLOW_NOT_DELETE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"secretsmanager:Delete*","Resource":"*"}]}"#;
const ALLOW_NOT_S2: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:*","NotResource":"arn:aws:secretsmanager:us-east-1:111122223333:secret:other/*"}]}"#;
const DENY_ALL_BUT_READS: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"OnlyReads","Effect":"Deny","NotAction":["secretsmanager:Get*","secretsmanager:Describe*"],"Resource":"*"}]}"#;
const DENY_GET_S1: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"NoDb","Effect":"Deny","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf"}]}"#;
const DENY_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#;
const ALLOW_LIST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:ListSecrets","Resource":"*"}]}"#;
const ALLOW_LIST_ON_S1: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:ListSecrets","Resource":"arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf"}]}"#;

// Resource policies.
const RP_ALLOW_ALICE: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Alice","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
const RP_ALLOW_BOB: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/bob"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
const RP_ALLOW_STAR: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
const RP_ALLOW_ACCOUNT_A: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
const RP_ALLOW_ACCOUNT_B: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
const RP_ALLOW_CAROL: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:user/carol"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
const RP_ALLOW_AND_DENY_ACCOUNT_B: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:user/carol"},"Action":"secretsmanager:GetSecretValue","Resource":"*"},{"Sid":"NotB","Effect":"Deny","Principal":{"AWS":"444455556666"},"Action":"*","Resource":"*"}]}"#;
const RP_DENY_ACCOUNT_A: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"111122223333"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
const RP_DENY_STAR: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}"#;
const RP_DENY_ALICE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"secretsmanager:*","Resource":"*"}]}"#;
const RP_ALLOW_AND_DENY_ALICE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"*","Resource":"*"},{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
const RP_ALLOW_SESSION: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::111122223333:assumed-role/app/ci"},"Action":"secretsmanager:PutSecretValue","Resource":"*"}]}"#;
const RP_ALLOW_ROLE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/app"},"Action":"secretsmanager:PutSecretValue","Resource":"*"}]}"#;
const RP_ALLOW_ROLE_B: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:role/app"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
const RP_DENY_NOT_ALICE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"*","Resource":"*"}]}"#;
const RP_DENY_NOT_ACCOUNT_A: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:user/carol"},"Action":"*","Resource":"*"},{"Effect":"Deny","NotPrincipal":{"AWS":"111122223333"},"Action":"*","Resource":"*"}]}"#;
const RP_DENY_NOT_ROLE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:role/app"},"Action":"*","Resource":"*"}]}"#;
const RP_DENY_UNLESS_OWN_ACCOUNT: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*","Condition":{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:*"}}}]}"#;

// Session policies.
const SP_GET_S1: &str = ALLOW_GET_S1;
const SP_DENY_GET: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;

// Conditions: an identity policy allowing GetSecretValue on everything under one condition.
macro_rules! allow_if {
    ($condition:literal) => {
        concat!(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"Conditional","Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*","Condition":"#,
            $condition,
            "}]}"
        )
    };
}
// An identity policy allowing everything but denying GetSecretValue under one condition.
macro_rules! deny_if {
    ($condition:literal) => {
        concat!(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"Guard","Effect":"Deny","Action":"secretsmanager:GetSecretValue","Resource":"*","Condition":"#,
            $condition,
            "}]}"
        )
    };
}

const HOME_BY_USERNAME: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:*","Resource":"arn:aws:secretsmanager:us-east-1:111122223333:secret:${aws:username}/*"}]}"#;
const HOME_BY_USERNAME_2008: &str = r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:*","Resource":"arn:aws:secretsmanager:us-east-1:111122223333:secret:${aws:username}/*"}]}"#;
const HOME_BY_MISSING_TAG: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:*","Resource":"arn:aws:secretsmanager:us-east-1:111122223333:secret:${aws:PrincipalTag/dept}/*"}]}"#;
const HOME_BY_MISSING_TAG_DEFAULT: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:*","Resource":"arn:aws:secretsmanager:us-east-1:111122223333:secret:${aws:PrincipalTag/dept, 'app'}/*"}]}"#;

// ---------------------------------------------------------------------------------------------
// The table.

struct Row {
    name: &'static str,
    caller: &'static str,
    action: &'static str,
    resource: &'static str,
    identity: &'static [&'static str],
    resource_policy: Option<&'static str>,
    session: Option<&'static str>,
    /// Context keys set on top of `ConditionContext::for_caller`; an empty list removes the
    /// key.
    context: &'static [(&'static str, &'static [&'static str])],
    /// Whether the request came over TLS (`aws:SecureTransport`).
    secure: bool,
    expect: DecisionKind,
    /// How many statements must be reported as unevaluable.
    errors: usize,
}

const BASE: Row = Row {
    name: "",
    caller: ALICE,
    action: GET,
    resource: S1,
    identity: &[],
    resource_policy: None,
    session: None,
    context: &[],
    secure: true,
    expect: Allow,
    errors: 0,
};

#[rustfmt::skip]
const ROWS: &[Row] = &[
    // --- the account root
    Row { name: "root, own account, no policies", caller: ROOT_A, ..BASE },
    Row { name: "root, own account, resource '*'", caller: ROOT_A, action: LIST, resource: ANY, ..BASE },
    Row { name: "root denied by resource-policy Deny on its account", caller: ROOT_A, resource_policy: Some(RP_DENY_ACCOUNT_A), expect: ExplicitDenyResource, ..BASE },
    Row { name: "root denied by resource-policy Deny *", caller: ROOT_A, resource_policy: Some(RP_DENY_STAR), expect: ExplicitDenyResource, ..BASE },
    Row { name: "identity policies do not apply to root", caller: ROOT_A, identity: &[DENY_ALL], ..BASE },
    Row { name: "root of another account, no resource policy", caller: ROOT_B, expect: NoResourceAllow, ..BASE },
    Row { name: "root of another account, resource policy names its account", caller: ROOT_B, resource_policy: Some(RP_ALLOW_ACCOUNT_B), ..BASE },
    // --- inline allow on one secret
    Row { name: "inline allow on S1, GetSecretValue on S1", identity: &[ALLOW_GET_S1], ..BASE },
    Row { name: "inline allow on S1, GetSecretValue on S2", identity: &[ALLOW_GET_S1], resource: S2, expect: NoIdentityAllow, ..BASE },
    Row { name: "inline allow on S1, PutSecretValue on S1", identity: &[ALLOW_GET_S1], action: PUT, expect: NoIdentityAllow, ..BASE },
    Row { name: "no policies at all", expect: NoIdentityAllow, ..BASE },
    Row { name: "action names are case-insensitive", identity: &[ALLOW_GET_S1_MIXED_CASE], ..BASE },
    Row { name: "the same inline policy on bob", caller: BOB, identity: &[ALLOW_GET_S1], ..BASE },
    // --- wildcard actions and resources
    Row { name: "Get* covers GetSecretValue", identity: &[ALLOW_GET_STAR], ..BASE },
    Row { name: "Get* does not cover DescribeSecret", identity: &[ALLOW_GET_STAR], action: DESCRIBE, expect: NoIdentityAllow, ..BASE },
    Row { name: "? matches one character", identity: &[ALLOW_QUESTION], ..BASE },
    Row { name: "* covers every action", identity: &[ALLOW_ALL], action: DELETE, resource: S2, ..BASE },
    Row { name: "secretsmanager:* covers a secretsmanager action", identity: &[ALLOW_SM_ALL], action: PUT, ..BASE },
    Row { name: "resource prefix matches inside", identity: &[ALLOW_APP_PREFIX], ..BASE },
    Row { name: "resource prefix does not match outside", identity: &[ALLOW_APP_PREFIX], resource: S2, expect: NoIdentityAllow, ..BASE },
    Row { name: "resource matching is case-sensitive", identity: &[ALLOW_APP_PREFIX_WRONG_CASE], expect: NoIdentityAllow, ..BASE },
    Row { name: "ListSecrets on '*' with Resource '*'", identity: &[ALLOW_LIST], action: LIST, resource: ANY, ..BASE },
    Row { name: "ListSecrets on '*' with an ARN Resource", identity: &[ALLOW_LIST_ON_S1], action: LIST, resource: ANY, expect: NoIdentityAllow, ..BASE },
    // --- NotAction / NotResource
    Row { name: "NotAction Delete* allows GetSecretValue", identity: &[ALLOW_NOT_DELETE], ..BASE },
    Row { name: "NotAction Delete* does not allow DeleteSecret", identity: &[ALLOW_NOT_DELETE], action: DELETE, expect: NoIdentityAllow, ..BASE },
    Row { name: "NotResource other/* allows S1", identity: &[ALLOW_NOT_S2], ..BASE },
    Row { name: "NotResource other/* does not allow S2", identity: &[ALLOW_NOT_S2], resource: S2, expect: NoIdentityAllow, ..BASE },
    Row { name: "Deny NotAction reads: PutSecretValue denied", identity: &[DENY_ALL_BUT_READS], action: PUT, expect: ExplicitDenyIdentity, ..BASE },
    Row { name: "Deny NotAction reads: DescribeSecret allowed", identity: &[DENY_ALL_BUT_READS], action: DESCRIBE, ..BASE },
    // --- explicit deny beats allow
    Row { name: "identity deny beats identity allow", identity: &[ALLOW_ALL, DENY_GET_S1], expect: ExplicitDenyIdentity, ..BASE },
    Row { name: "identity deny does not reach other secrets", identity: &[ALLOW_ALL, DENY_GET_S1], resource: S2, ..BASE },
    Row { name: "identity deny beats resource allow", identity: &[DENY_GET_S1], resource_policy: Some(RP_ALLOW_ALICE), expect: ExplicitDenyIdentity, ..BASE },
    Row { name: "resource deny beats identity allow", identity: &[ALLOW_ALL], resource_policy: Some(RP_DENY_ALICE), expect: ExplicitDenyResource, ..BASE },
    Row { name: "resource deny beats resource allow", resource_policy: Some(RP_ALLOW_AND_DENY_ALICE), expect: ExplicitDenyResource, ..BASE },
    Row { name: "resource deny for alice does not touch bob", caller: BOB, identity: &[ALLOW_ALL], resource_policy: Some(RP_DENY_ALICE), ..BASE },
    // --- resource policy alone, same account
    Row { name: "resource policy naming the user grants alone", resource_policy: Some(RP_ALLOW_ALICE), ..BASE },
    Row { name: "resource policy with Principal '*' grants alone", resource_policy: Some(RP_ALLOW_STAR), ..BASE },
    Row { name: "resource policy naming the account delegates to IAM", resource_policy: Some(RP_ALLOW_ACCOUNT_A), expect: NoIdentityAllow, ..BASE },
    Row { name: "account delegation plus identity allow", identity: &[ALLOW_GET_S1], resource_policy: Some(RP_ALLOW_ACCOUNT_A), ..BASE },
    Row { name: "resource policy naming bob does not grant alice", resource_policy: Some(RP_ALLOW_BOB), expect: NoIdentityAllow, ..BASE },
    Row { name: "resource allow is per action", resource_policy: Some(RP_ALLOW_ALICE), action: PUT, expect: NoIdentityAllow, ..BASE },
    // --- cross-account
    Row { name: "cross-account, identity only", caller: CAROL_B, identity: &[ALLOW_GET_S1], expect: NoResourceAllow, ..BASE },
    Row { name: "cross-account, resource only", caller: CAROL_B, resource_policy: Some(RP_ALLOW_CAROL), expect: NoIdentityAllow, ..BASE },
    Row { name: "cross-account, both", caller: CAROL_B, identity: &[ALLOW_GET_S1], resource_policy: Some(RP_ALLOW_CAROL), ..BASE },
    Row { name: "cross-account, resource names the caller's account", caller: CAROL_B, identity: &[ALLOW_SM_ALL], resource_policy: Some(RP_ALLOW_ACCOUNT_B), ..BASE },
    Row { name: "cross-account, resource names only the owner account", caller: CAROL_B, identity: &[ALLOW_SM_ALL], resource_policy: Some(RP_ALLOW_ACCOUNT_A), expect: NoResourceAllow, ..BASE },
    Row { name: "cross-account, resource deny on the caller's account", caller: CAROL_B, identity: &[ALLOW_SM_ALL], resource_policy: Some(RP_ALLOW_AND_DENY_ACCOUNT_B), expect: ExplicitDenyResource, ..BASE },
    Row { name: "cross-account role session, both sides", caller: SESSION_B, identity: &[ALLOW_GET_STAR], resource_policy: Some(RP_ALLOW_ROLE_B), ..BASE },
    Row { name: "cross-account, Principal '*' without identity allow", caller: CAROL_B, resource_policy: Some(RP_ALLOW_STAR), expect: NoIdentityAllow, ..BASE },
    // --- assumed roles and session policies
    Row { name: "session without session policy uses the role's policies", caller: SESSION_A, identity: &[ALLOW_GET_STAR], ..BASE },
    Row { name: "session policy allowing the same action", caller: SESSION_A, identity: &[ALLOW_SM_ALL], session: Some(SP_GET_S1), ..BASE },
    Row { name: "session policy narrows the role", caller: SESSION_A, identity: &[ALLOW_SM_ALL], session: Some(SP_GET_S1), action: PUT, expect: ImplicitDenySession, ..BASE },
    Row { name: "session policy narrows to one secret", caller: SESSION_A, identity: &[ALLOW_SM_ALL], session: Some(SP_GET_S1), resource: S2, expect: ImplicitDenySession, ..BASE },
    Row { name: "session policy cannot widen the role", caller: SESSION_A, identity: &[ALLOW_GET_S1], session: Some(ALLOW_ALL), action: PUT, expect: NoIdentityAllow, ..BASE },
    Row { name: "session policy deny", caller: SESSION_A, identity: &[ALLOW_ALL], session: Some(SP_DENY_GET), expect: ExplicitDenySession, ..BASE },
    Row { name: "resource policy naming the session bypasses the session policy", caller: SESSION_A, session: Some(SP_GET_S1), resource_policy: Some(RP_ALLOW_SESSION), action: PUT, ..BASE },
    Row { name: "resource policy naming the role is narrowed by the session policy", caller: SESSION_A, session: Some(SP_GET_S1), resource_policy: Some(RP_ALLOW_ROLE), action: PUT, expect: ImplicitDenySession, ..BASE },
    Row { name: "resource policy naming the role, no session policy", caller: SESSION_A, resource_policy: Some(RP_ALLOW_ROLE), action: PUT, ..BASE },
    Row { name: "resource policy naming the role, session policy allows", caller: SESSION_A, session: Some(ALLOW_ALL), resource_policy: Some(RP_ALLOW_ROLE), action: PUT, ..BASE },
    // --- NotPrincipal
    Row { name: "Deny NotPrincipal alice spares alice", identity: &[ALLOW_ALL], resource_policy: Some(RP_DENY_NOT_ALICE), ..BASE },
    Row { name: "Deny NotPrincipal alice denies bob", caller: BOB, identity: &[ALLOW_ALL], resource_policy: Some(RP_DENY_NOT_ALICE), expect: ExplicitDenyResource, ..BASE },
    Row { name: "Deny NotPrincipal alice denies even root", caller: ROOT_A, resource_policy: Some(RP_DENY_NOT_ALICE), expect: ExplicitDenyResource, ..BASE },
    Row { name: "Deny NotPrincipal own account denies another account", caller: CAROL_B, identity: &[ALLOW_ALL], resource_policy: Some(RP_DENY_NOT_ACCOUNT_A), expect: ExplicitDenyResource, ..BASE },
    Row { name: "Deny NotPrincipal own account spares its users", identity: &[ALLOW_ALL], resource_policy: Some(RP_DENY_NOT_ACCOUNT_A), ..BASE },
    Row { name: "Deny NotPrincipal role spares its sessions", caller: SESSION_A, identity: &[ALLOW_ALL], resource_policy: Some(RP_DENY_NOT_ROLE), ..BASE },
    // --- String operators
    Row { name: "StringEquals on a principal tag", identity: &[allow_if!(r#"{"StringEquals":{"aws:PrincipalTag/team":"blue"}}"#)], ..BASE },
    Row { name: "StringEquals is case-sensitive on values", identity: &[allow_if!(r#"{"StringEquals":{"aws:PrincipalTag/team":"Blue"}}"#)], expect: NoIdentityAllow, ..BASE },
    Row { name: "condition keys are case-insensitive", identity: &[allow_if!(r#"{"StringEquals":{"AWS:PRINCIPALTAG/TEAM":"blue"}}"#)], ..BASE },
    Row { name: "StringEqualsIgnoreCase", identity: &[allow_if!(r#"{"StringEqualsIgnoreCase":{"aws:PrincipalTag/team":"BLUE"}}"#)], ..BASE },
    Row { name: "StringNotEquals, other value", identity: &[allow_if!(r#"{"StringNotEquals":{"aws:PrincipalTag/team":"red"}}"#)], ..BASE },
    Row { name: "StringNotEquals, same value", identity: &[allow_if!(r#"{"StringNotEquals":{"aws:PrincipalTag/team":"blue"}}"#)], expect: NoIdentityAllow, ..BASE },
    Row { name: "StringNotEquals on a missing key holds", identity: &[allow_if!(r#"{"StringNotEquals":{"aws:PrincipalTag/dept":"sales"}}"#)], ..BASE },
    Row { name: "StringNotEqualsIgnoreCase", identity: &[allow_if!(r#"{"StringNotEqualsIgnoreCase":{"aws:PrincipalTag/team":"BLUE"}}"#)], expect: NoIdentityAllow, ..BASE },
    Row { name: "StringLike with *", identity: &[allow_if!(r#"{"StringLike":{"secretsmanager:Name":"app/*"}}"#)], context: &[("secretsmanager:Name", &["app/db"])], ..BASE },
    Row { name: "StringLike with ?", identity: &[allow_if!(r#"{"StringLike":{"secretsmanager:Name":"app/d?"}}"#)], context: &[("secretsmanager:Name", &["app/db"])], ..BASE },
    Row { name: "StringNotLike", identity: &[allow_if!(r#"{"StringNotLike":{"secretsmanager:Name":"app/*"}}"#)], context: &[("secretsmanager:Name", &["app/db"])], expect: NoIdentityAllow, ..BASE },
    Row { name: "StringEquals on a missing key fails", identity: &[allow_if!(r#"{"StringEquals":{"secretsmanager:ResourceTag/env":"prod"}}"#)], expect: NoIdentityAllow, ..BASE },
    Row { name: "StringEqualsIfExists on a missing key holds", identity: &[allow_if!(r#"{"StringEqualsIfExists":{"secretsmanager:ResourceTag/env":"prod"}}"#)], ..BASE },
    Row { name: "StringEqualsIfExists on a present key compares", identity: &[allow_if!(r#"{"StringEqualsIfExists":{"secretsmanager:ResourceTag/env":"prod"}}"#)], context: &[("secretsmanager:ResourceTag/env", &["dev"])], expect: NoIdentityAllow, ..BASE },
    Row { name: "values are OR'ed", identity: &[allow_if!(r#"{"StringEquals":{"aws:PrincipalTag/team":["red","blue"]}}"#)], ..BASE },
    Row { name: "keys are AND'ed", identity: &[allow_if!(r#"{"StringEquals":{"aws:PrincipalTag/team":"blue","aws:RequestedRegion":"eu-west-1"}}"#)], expect: NoIdentityAllow, ..BASE },
    Row { name: "operators are AND'ed", identity: &[allow_if!(r#"{"StringEquals":{"aws:PrincipalTag/team":"blue"},"StringLike":{"aws:RequestedRegion":"us-*"}}"#)], ..BASE },
    // --- Numeric
    Row { name: "NumericLessThan holds", identity: &[allow_if!(r#"{"NumericLessThan":{"aws:EpochTime":1800000000}}"#)], ..BASE },
    Row { name: "NumericGreaterThan fails", identity: &[allow_if!(r#"{"NumericGreaterThan":{"aws:EpochTime":1800000000}}"#)], expect: NoIdentityAllow, ..BASE },
    Row { name: "NumericLessThanEquals on a context number", identity: &[allow_if!(r#"{"NumericLessThanEquals":{"aws:MultiFactorAuthAge":"3600"}}"#)], context: &[("aws:MultiFactorAuthAge", &["3600"])], ..BASE },
    Row { name: "NumericEquals with a decimal", identity: &[allow_if!(r#"{"NumericEquals":{"tresor:Ratio":1.5}}"#)], context: &[("tresor:Ratio", &["1.50"])], ..BASE },
    Row { name: "NumericNotEquals", identity: &[allow_if!(r#"{"NumericNotEquals":{"aws:EpochTime":1795878000}}"#)], expect: NoIdentityAllow, ..BASE },
    // --- Date
    Row { name: "DateLessThan on aws:CurrentTime, before", identity: &[allow_if!(r#"{"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}"#)], ..BASE },
    Row { name: "DateLessThan on aws:CurrentTime, after", identity: &[allow_if!(r#"{"DateLessThan":{"aws:CurrentTime":"2026-11-28T14:59:59Z"}}"#)], expect: NoIdentityAllow, ..BASE },
    Row { name: "DateGreaterThanEquals, same instant with an offset", identity: &[allow_if!(r#"{"DateGreaterThanEquals":{"aws:CurrentTime":"2026-11-28T16:00:00+01:00"}}"#)], ..BASE },
    Row { name: "DateGreaterThan with epoch seconds", identity: &[allow_if!(r#"{"DateGreaterThan":{"aws:CurrentTime":"1700000000"}}"#)], ..BASE },
    Row { name: "DateEquals on aws:EpochTime against ISO 8601", identity: &[allow_if!(r#"{"DateEquals":{"aws:EpochTime":"2026-11-28T15:00:00Z"}}"#)], ..BASE },
    Row { name: "Deny after an expiry date", identity: &[deny_if!(r#"{"DateGreaterThan":{"aws:CurrentTime":"2026-01-01"}}"#)], expect: ExplicitDenyIdentity, ..BASE },
    // --- Bool
    Row { name: "Deny over plain HTTP, request over TLS", identity: &[deny_if!(r#"{"Bool":{"aws:SecureTransport":"false"}}"#)], ..BASE },
    Row { name: "Deny over plain HTTP, request over HTTP", identity: &[deny_if!(r#"{"Bool":{"aws:SecureTransport":"false"}}"#)], secure: false, expect: ExplicitDenyIdentity, ..BASE },
    Row { name: "Bool on a missing key fails", identity: &[allow_if!(r#"{"Bool":{"aws:SecureTransport":true}}"#)], context: &[("aws:SecureTransport", &[])], expect: NoIdentityAllow, ..BASE },
    // --- Binary
    Row { name: "BinaryEquals", identity: &[allow_if!(r#"{"BinaryEquals":{"tresor:Blob":"aGVsbG8="}}"#)], context: &[("tresor:Blob", &["aGVsbG8="])], ..BASE },
    Row { name: "BinaryEquals, other bytes", identity: &[allow_if!(r#"{"BinaryEquals":{"tresor:Blob":"aGVsbG8="}}"#)], context: &[("tresor:Blob", &["d29ybGQ="])], expect: NoIdentityAllow, ..BASE },
    // --- IP addresses
    Row { name: "IpAddress in the CIDR", identity: &[allow_if!(r#"{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#)], ..BASE },
    Row { name: "IpAddress outside the CIDR", identity: &[allow_if!(r#"{"IpAddress":{"aws:SourceIp":["198.51.100.0/24","192.0.2.1"]}}"#)], expect: NoIdentityAllow, ..BASE },
    Row { name: "IpAddress with an IPv6 CIDR", identity: &[allow_if!(r#"{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}"#)], context: &[("aws:SourceIp", &["2001:db8:1::7"])], ..BASE },
    Row { name: "Deny NotIpAddress, inside the network", identity: &[deny_if!(r#"{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#)], ..BASE },
    Row { name: "Deny NotIpAddress, outside the network", identity: &[deny_if!(r#"{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#)], context: &[("aws:SourceIp", &["198.51.100.9"])], expect: ExplicitDenyIdentity, ..BASE },
    Row { name: "Deny NotIpAddress, no source address", identity: &[deny_if!(r#"{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#)], context: &[("aws:SourceIp", &[])], expect: ExplicitDenyIdentity, ..BASE },
    // --- ARNs
    Row { name: "ArnLike on aws:PrincipalArn", identity: &[allow_if!(r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/*"}}"#)], ..BASE },
    Row { name: "ArnEquals on a session's PrincipalArn (the role)", caller: SESSION_A, identity: &[allow_if!(r#"{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/app"}}"#)], ..BASE },
    Row { name: "ArnLike wildcards stay within a field", identity: &[allow_if!(r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:root"}}"#)], expect: NoIdentityAllow, ..BASE },
    Row { name: "resource Deny ArnNotLike, caller outside", caller: CAROL_B, identity: &[ALLOW_ALL], resource_policy: Some(RP_DENY_UNLESS_OWN_ACCOUNT), expect: ExplicitDenyResource, ..BASE },
    Row { name: "resource Deny ArnNotLike, caller inside", identity: &[ALLOW_ALL], resource_policy: Some(RP_DENY_UNLESS_OWN_ACCOUNT), ..BASE },
    // --- Null
    Row { name: "Null true on a missing key", identity: &[allow_if!(r#"{"Null":{"secretsmanager:ResourceTag/owner":"true"}}"#)], ..BASE },
    Row { name: "Null false on a missing key", identity: &[allow_if!(r#"{"Null":{"secretsmanager:ResourceTag/owner":"false"}}"#)], expect: NoIdentityAllow, ..BASE },
    Row { name: "Null false on a present key", identity: &[allow_if!(r#"{"Null":{"secretsmanager:ResourceTag/owner":"false"}}"#)], context: &[("secretsmanager:ResourceTag/owner", &["alice"])], ..BASE },
    // --- set operators
    Row { name: "ForAnyValue, one value matches", identity: &[allow_if!(r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["env"]}}"#)], context: &[("aws:TagKeys", &["env", "team"])], ..BASE },
    Row { name: "ForAnyValue, no value matches", identity: &[allow_if!(r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["owner"]}}"#)], context: &[("aws:TagKeys", &["env", "team"])], expect: NoIdentityAllow, ..BASE },
    Row { name: "ForAnyValue on a missing key fails", identity: &[allow_if!(r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["env"]}}"#)], expect: NoIdentityAllow, ..BASE },
    Row { name: "ForAllValues, every value allowed", identity: &[allow_if!(r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team","owner"]}}"#)], context: &[("aws:TagKeys", &["env", "team"])], ..BASE },
    Row { name: "ForAllValues, one value not allowed", identity: &[allow_if!(r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["env","owner"]}}"#)], context: &[("aws:TagKeys", &["env", "team"])], expect: NoIdentityAllow, ..BASE },
    Row { name: "ForAllValues on a missing key holds", identity: &[allow_if!(r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["env"]}}"#)], ..BASE },
    Row { name: "ForAnyValue:StringNotEquals on a missing key fails", identity: &[allow_if!(r#"{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["env"]}}"#)], expect: NoIdentityAllow, ..BASE },
    Row { name: "ForAllValues:StringLike with a pattern", identity: &[allow_if!(r#"{"ForAllValues:StringLike":{"aws:TagKeys":"team-*"}}"#)], context: &[("aws:TagKeys", &["team-a", "team-b"])], ..BASE },
    Row { name: "ForAnyValue:StringLikeIfExists on a missing key", identity: &[allow_if!(r#"{"ForAnyValue:StringLikeIfExists":{"aws:TagKeys":"team-*"}}"#)], ..BASE },
    // --- policy variables
    Row { name: "${aws:username} in Resource, own home", identity: &[HOME_BY_USERNAME], resource: ALICE_HOME, ..BASE },
    Row { name: "${aws:username} in Resource, someone else's home", identity: &[HOME_BY_USERNAME], resource: BOB_HOME, expect: NoIdentityAllow, ..BASE },
    Row { name: "${aws:username} for bob", caller: BOB, identity: &[HOME_BY_USERNAME], resource: BOB_HOME, ..BASE },
    Row { name: "no variables before 2012-10-17", identity: &[HOME_BY_USERNAME_2008], resource: ALICE_HOME, expect: NoIdentityAllow, ..BASE },
    Row { name: "variable in a condition value", identity: &[allow_if!(r#"{"StringEquals":{"secretsmanager:Name":"${aws:PrincipalTag/team}/db"}}"#)], context: &[("secretsmanager:Name", &["blue/db"])], ..BASE },
    Row { name: "${aws:PrincipalAccount} in a condition", identity: &[allow_if!(r#"{"StringEquals":{"secretsmanager:ResourceTag/account":"${aws:PrincipalAccount}"}}"#)], context: &[("secretsmanager:ResourceTag/account", &["111122223333"])], ..BASE },
    Row { name: "unresolvable variable: no grant, one error", identity: &[HOME_BY_MISSING_TAG], expect: NoIdentityAllow, errors: 1, ..BASE },
    Row { name: "variable with a default value", identity: &[HOME_BY_MISSING_TAG_DEFAULT], ..BASE },
    Row { name: "roles have no aws:username", caller: SESSION_A, identity: &[HOME_BY_USERNAME], resource: ALICE_HOME, expect: NoIdentityAllow, errors: 1, ..BASE },
    // --- statements that cannot be evaluated
    Row { name: "erroring Allow (bad date) never grants", identity: &[allow_if!(r#"{"DateLessThan":{"aws:CurrentTime":"soon"}}"#)], expect: NoIdentityAllow, errors: 1, ..BASE },
    Row { name: "erroring Allow (not a number) never grants", identity: &[allow_if!(r#"{"NumericLessThan":{"aws:EpochTime":"${aws:username}"}}"#)], expect: NoIdentityAllow, errors: 1, ..BASE },
    Row { name: "erroring Allow (bad base64) never grants", identity: &[allow_if!(r#"{"BinaryEquals":{"tresor:Blob":"not base64!"}}"#)], context: &[("tresor:Blob", &["aGVsbG8="])], expect: NoIdentityAllow, errors: 1, ..BASE },
    Row { name: "erroring Allow beside a working one", identity: &[allow_if!(r#"{"DateLessThan":{"aws:CurrentTime":"soon"}}"#), ALLOW_GET_S1], errors: 1, ..BASE },
    Row { name: "erroring Allow in a resource policy never grants", resource_policy: Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"soon"}}}]}"#), expect: NoIdentityAllow, errors: 1, ..BASE },
    Row { name: "erroring Deny is skipped and reported", identity: &[deny_if!(r#"{"DateGreaterThan":{"aws:CurrentTime":"someday"}}"#)], errors: 1, ..BASE },
    Row { name: "a false clause settles a statement despite an error", identity: &[allow_if!(r#"{"DateLessThan":{"aws:CurrentTime":"soon"},"StringEquals":{"aws:PrincipalTag/team":"red"}}"#)], expect: NoIdentityAllow, ..BASE },
    Row { name: "a true value settles a clause despite an error", identity: &[allow_if!(r#"{"DateLessThan":{"aws:CurrentTime":["soon","2027-01-01"]}}"#)], ..BASE },
    Row { name: "a statement for another action is not evaluated", identity: &[ALLOW_GET_S1, r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"soon"}}}]}"#], ..BASE },
    // --- anonymous callers
    Row { name: "anonymous, resource policy Principal '*'", caller: ANONYMOUS, resource_policy: Some(RP_ALLOW_STAR), ..BASE },
    Row { name: "anonymous, resource policy names an account", caller: ANONYMOUS, resource_policy: Some(RP_ALLOW_ACCOUNT_A), expect: NoResourceAllow, ..BASE },
    Row { name: "anonymous, identity policies ignored", caller: ANONYMOUS, identity: &[ALLOW_ALL], expect: NoResourceAllow, ..BASE },
];

fn parse_as(document: &str, kind: PolicyKind) -> Policy {
    parse(document, kind).unwrap_or_else(|e| panic!("{document}: {e}"))
}

fn context_for(row: &Row, caller: &Caller) -> ConditionContext {
    let mut ctx = ConditionContext::for_caller(
        caller,
        NOW,
        "203.0.113.7".parse().ok(),
        row.secure,
        "us-east-1",
    );
    for (key, values) in row.context {
        ctx.insert_multi(key, values.iter().copied());
    }
    ctx
}

#[test]
fn authorization_matrix() {
    assert!(ROWS.len() >= 60, "{} rows", ROWS.len());
    let mut failures = Vec::new();
    for row in ROWS {
        let caller = caller(row.caller);
        let context = context_for(row, &caller);
        let identity: Vec<Policy> = row
            .identity
            .iter()
            .map(|d| parse_as(d, PolicyKind::Identity))
            .collect();
        let identity_names: Vec<String> = (0..identity.len())
            .map(|i| format!("identity:{i}"))
            .collect();
        let resource = row
            .resource_policy
            .map(|d| parse_as(d, PolicyKind::Resource));
        let session = row.session.map(|d| parse_as(d, PolicyKind::Identity));
        let policies = PolicySet {
            identity: identity
                .iter()
                .zip(&identity_names)
                .map(|(policy, name)| NamedPolicy { name, policy })
                .collect(),
            resource: resource.as_ref().map(|policy| NamedPolicy {
                name: "resource",
                policy,
            }),
            session: session.as_ref().map(|policy| NamedPolicy {
                name: "session",
                policy,
            }),
        };
        let request = AuthzRequest {
            caller: &caller,
            action: row.action,
            resource: row.resource,
            resource_account: owner(row.resource),
            context: &context,
        };
        let decision = evaluate(&request, &policies);
        let consistent = decision.allowed == (decision.kind == Allow)
            && (decision.kind != Allow
                || caller.kind == PrincipalKind::AccountRoot
                || !decision.deciding.is_empty())
            && (!matches!(
                decision.kind,
                ExplicitDenyIdentity | ExplicitDenyResource | ExplicitDenySession
            ) || !decision.deciding.is_empty());
        if decision.kind != row.expect || decision.errors.len() != row.errors || !consistent {
            failures.push(format!(
                "{}: expected {:?} with {} error(s), got {:?} (deciding {:?}, errors {:?})",
                row.name,
                row.expect,
                row.errors,
                decision.kind,
                decision
                    .deciding
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>(),
                decision
                    .errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>(),
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn row_names_are_unique() {
    let mut names: Vec<&str> = ROWS.iter().map(|r| r.name).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len());
}

// ---------------------------------------------------------------------------------------------
// Decisions name their statements, and render AWS's messages.

struct Case {
    caller: Caller,
    context: ConditionContext,
    identity: Vec<Policy>,
    resource: Option<Policy>,
    session: Option<Policy>,
}

impl Case {
    fn new(caller: &str) -> Self {
        let caller = self::caller(caller);
        let context = ConditionContext::for_caller(
            &caller,
            NOW,
            "203.0.113.7".parse().ok(),
            true,
            "us-east-1",
        );
        Self {
            caller,
            context,
            identity: Vec::new(),
            resource: None,
            session: None,
        }
    }

    fn identity(mut self, document: &str) -> Self {
        self.identity.push(parse_as(document, PolicyKind::Identity));
        self
    }

    fn resource(mut self, document: &str) -> Self {
        self.resource = Some(parse_as(document, PolicyKind::Resource));
        self
    }

    fn session(mut self, document: &str) -> Self {
        self.session = Some(parse_as(document, PolicyKind::Identity));
        self
    }

    /// The decision and its AccessDenied message for `action` on `resource`.
    fn run(&self, action: &str, resource: &str) -> (Decision, String) {
        let names: Vec<String> = (0..self.identity.len())
            .map(|i| format!("inline:alice/P{i}"))
            .collect();
        let policies = PolicySet {
            identity: self
                .identity
                .iter()
                .zip(&names)
                .map(|(policy, name)| NamedPolicy { name, policy })
                .collect(),
            resource: self.resource.as_ref().map(|policy| NamedPolicy {
                name: "resource-policy",
                policy,
            }),
            session: self.session.as_ref().map(|policy| NamedPolicy {
                name: "session-policy",
                policy,
            }),
        };
        let request = AuthzRequest {
            caller: &self.caller,
            action,
            resource,
            resource_account: owner(resource),
            context: &self.context,
        };
        let decision = evaluate(&request, &policies);
        let message = decision.access_denied_message(&request);
        (decision, message)
    }
}

#[test]
fn access_denied_messages() {
    let user = "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf";
    let cases = [
        (
            Case::new(ALICE),
            ImplicitDenyNoIdentityAllow,
            format!("{user} because no identity-based policy allows the secretsmanager:GetSecretValue action"),
        ),
        (
            Case::new(ALICE).identity(ALLOW_ALL).identity(DENY_GET_S1),
            ExplicitDenyIdentity,
            format!("{user} with an explicit deny in an identity-based policy"),
        ),
        (
            Case::new(ALICE).identity(ALLOW_ALL).resource(RP_DENY_ALICE),
            ExplicitDenyResource,
            format!("{user} with an explicit deny in a resource-based policy"),
        ),
        (
            Case::new(CAROL_B).identity(ALLOW_ALL),
            ImplicitDenyNoResourceAllow,
            "User: arn:aws:iam::444455556666:user/carol is not authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf because no resource-based policy allows the secretsmanager:GetSecretValue action".to_owned(),
        ),
        (
            Case::new(SESSION_A).identity(ALLOW_ALL).session(ALLOW_LIST),
            ImplicitDenySession,
            "User: arn:aws:sts::111122223333:assumed-role/app/ci is not authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf because no session policy allows the secretsmanager:GetSecretValue action".to_owned(),
        ),
        (
            Case::new(SESSION_A).identity(ALLOW_ALL).session(SP_DENY_GET),
            ExplicitDenySession,
            "User: arn:aws:sts::111122223333:assumed-role/app/ci is not authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf with an explicit deny in a session policy".to_owned(),
        ),
        (
            Case::new(ANONYMOUS),
            ImplicitDenyNoResourceAllow,
            "User: anonymous is not authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf because no resource-based policy allows the secretsmanager:GetSecretValue action".to_owned(),
        ),
    ];
    for (case, kind, message) in cases {
        let (decision, actual) = case.run(GET, S1);
        assert!(!decision.allowed);
        assert_eq!(decision.kind, kind);
        assert_eq!(actual, message);
    }

    // Without a resource ARN, AWS leaves out "on resource".
    let (decision, message) = Case::new(ALICE).run(LIST, ANY);
    assert_eq!(decision.kind, ImplicitDenyNoIdentityAllow);
    assert_eq!(
        message,
        "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: secretsmanager:ListSecrets because no identity-based policy allows the secretsmanager:ListSecrets action"
    );
}

#[test]
fn decisions_name_the_deciding_statements() {
    // Every applicable Deny, across sources; the kind names the identity one.
    let (decision, _) = Case::new(ALICE)
        .identity(ALLOW_ALL)
        .identity(DENY_GET_S1)
        .resource(RP_DENY_ALICE)
        .run(GET, S1);
    assert_eq!(decision.kind, ExplicitDenyIdentity);
    let named: Vec<String> = decision.deciding.iter().map(ToString::to_string).collect();
    assert_eq!(
        named,
        [
            "inline:alice/P1 Statement[0] (NoDb)",
            "resource-policy Statement[0]"
        ]
    );

    // An allow names the granting statements, with their Sid.
    let (decision, _) = Case::new(ALICE).identity(ALLOW_GET_S1).run(GET, S1);
    assert!(decision.allowed);
    assert_eq!(decision.deciding.len(), 1);
    assert_eq!(decision.deciding[0].policy, "inline:alice/P0");
    assert_eq!(decision.deciding[0].index, 0);
    assert_eq!(decision.deciding[0].sid.as_deref(), Some("ReadOne"));
    assert_eq!(decision.deciding[0].source, PolicySource::Identity);

    // A session-narrowed allow names the session statement too.
    let (decision, _) = Case::new(SESSION_A)
        .identity(ALLOW_SM_ALL)
        .session(SP_GET_S1)
        .run(GET, S1);
    assert!(decision.allowed);
    let sources: Vec<_> = decision.deciding.iter().map(|s| s.source).collect();
    assert_eq!(sources, [PolicySource::Identity, PolicySource::Session]);

    // Cross-account: both sides.
    let (decision, _) = Case::new(CAROL_B)
        .identity(ALLOW_GET_S1)
        .resource(RP_ALLOW_CAROL)
        .run(GET, S1);
    assert!(decision.allowed);
    assert_eq!(decision.deciding.len(), 2);

    // The root in its own account needs no statement; an implicit deny has none.
    let (decision, _) = Case::new(ROOT_A).run(GET, S1);
    assert!(decision.allowed && decision.deciding.is_empty());
    let (decision, _) = Case::new(ALICE).run(GET, S1);
    assert!(!decision.allowed && decision.deciding.is_empty());
}

#[test]
fn errors_name_the_statement_and_the_problem() {
    let (decision, _) = Case::new(ALICE)
        .identity(allow_if!(r#"{"DateLessThan":{"aws:CurrentTime":"soon"}}"#))
        .run(GET, S1);
    assert!(!decision.allowed);
    assert_eq!(decision.errors.len(), 1);
    let error = &decision.errors[0];
    assert_eq!(error.effect, Effect::Allow);
    assert_eq!(
        error.to_string(),
        "inline:alice/P0 Statement[0] (Conditional): Condition DateLessThan aws:CurrentTime: 'soon' is not an ISO 8601 date or epoch seconds"
    );
}
