//! The key-policy mode ([`evaluate_key_policy`]): AWS KMS's evaluation, where the key policy is
//! required and naming the account delegates to IAM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use tresor_policy::{
    evaluate, evaluate_key_policy, parse, AuthzRequest, Caller, ConditionContext, DecisionKind,
    NamedPolicy, PolicyKind, PolicySet, PrincipalKind,
};

const A: &str = "111122223333";
const B: &str = "444455556666";
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const ENCRYPT: &str = "kms:Encrypt";

fn root(account: &str) -> Caller {
    Caller {
        arn: format!("arn:aws:iam::{account}:root"),
        account: account.into(),
        kind: PrincipalKind::AccountRoot,
        tags: BTreeMap::new(),
    }
}

fn alice() -> Caller {
    Caller {
        arn: format!("arn:aws:iam::{A}:user/alice"),
        account: A.into(),
        kind: PrincipalKind::User {
            name: "alice".into(),
            id: "AIDAALICE".into(),
        },
        tags: BTreeMap::new(),
    }
}

fn session() -> Caller {
    Caller {
        arn: format!("arn:aws:sts::{A}:assumed-role/app/ci"),
        account: A.into(),
        kind: PrincipalKind::AssumedRole {
            role_name: "app".into(),
            role_arn: format!("arn:aws:iam::{A}:role/app"),
            session_name: "ci".into(),
            role_id: "AROAAPP".into(),
        },
        tags: BTreeMap::new(),
    }
}

fn key_policy(principal: &str, effect: &str, condition: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"{effect}","Principal":{{"AWS":"{principal}"}},"Action":"kms:*","Resource":"*"{condition}}}]}}"#
    )
}

const IAM_ALLOWS_KMS: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;
const IAM_DENIES_ENCRYPT: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:Encrypt","Resource":"*"}]}"#;
const SESSION_ALLOWS_NOTHING: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;

/// The decision for `caller` under the key policy `key` (if any), the identity policies and
/// the session policy, with `context` as extra condition keys.
fn decide(
    caller: &Caller,
    key: Option<&str>,
    identity: &[&str],
    session: Option<&str>,
    context: &[(&str, &str)],
) -> DecisionKind {
    let key = key.map(|doc| parse(doc, PolicyKind::Resource).unwrap());
    let identity: Vec<_> = identity
        .iter()
        .map(|doc| parse(doc, PolicyKind::Identity).unwrap())
        .collect();
    let session = session.map(|doc| parse(doc, PolicyKind::Identity).unwrap());
    let mut keys = ConditionContext::for_caller(caller, 1_795_878_000, None, true, "us-east-1");
    for (k, v) in context {
        keys.insert(k, *v);
    }
    let set = PolicySet {
        identity: identity
            .iter()
            .map(|p| NamedPolicy {
                name: "identity",
                policy: p,
            })
            .collect(),
        resource: key.as_ref().map(|p| NamedPolicy {
            name: "key",
            policy: p,
        }),
        session: session.as_ref().map(|p| NamedPolicy {
            name: "session",
            policy: p,
        }),
    };
    let req = AuthzRequest {
        caller,
        action: ENCRYPT,
        resource: KEY,
        resource_account: Some(A),
        context: &keys,
    };
    let decision = evaluate_key_policy(&req, &set);
    assert_eq!(decision.allowed, decision.kind == DecisionKind::Allow);
    decision.kind
}

#[test]
fn the_root_needs_the_key_policy() {
    use DecisionKind::*;
    let delegating = key_policy(&format!("arn:aws:iam::{A}:root"), "Allow", "");
    let to_alice = key_policy(&format!("arn:aws:iam::{A}:user/alice"), "Allow", "");
    assert_eq!(decide(&root(A), Some(&delegating), &[], None, &[]), Allow);
    assert_eq!(
        decide(&root(A), Some(&to_alice), &[], None, &[]),
        ImplicitDenyNoResourceAllow
    );
    assert_eq!(
        decide(&root(A), None, &[], None, &[]),
        ImplicitDenyNoResourceAllow
    );
    // The same root without a key policy is allowed by the ordinary evaluation.
    let caller = root(A);
    let keys = ConditionContext::for_caller(&caller, 0, None, true, "us-east-1");
    let req = AuthzRequest {
        caller: &caller,
        action: ENCRYPT,
        resource: KEY,
        resource_account: Some(A),
        context: &keys,
    };
    assert!(evaluate(&req, &PolicySet::default()).allowed);
}

#[test]
fn naming_the_account_delegates_to_iam() {
    use DecisionKind::*;
    for account in [format!("arn:aws:iam::{A}:root"), A.to_owned()] {
        let delegating = key_policy(&account, "Allow", "");
        assert_eq!(
            decide(&alice(), Some(&delegating), &[IAM_ALLOWS_KMS], None, &[]),
            Allow
        );
        assert_eq!(
            decide(&alice(), Some(&delegating), &[], None, &[]),
            ImplicitDenyNoIdentityAllow
        );
        assert_eq!(
            decide(&session(), Some(&delegating), &[IAM_ALLOWS_KMS], None, &[]),
            Allow
        );
        assert_eq!(
            decide(
                &session(),
                Some(&delegating),
                &[IAM_ALLOWS_KMS],
                Some(SESSION_ALLOWS_NOTHING),
                &[]
            ),
            ImplicitDenySession
        );
    }
}

#[test]
fn iam_alone_is_not_enough() {
    use DecisionKind::*;
    let to_bob = key_policy(&format!("arn:aws:iam::{A}:user/bob"), "Allow", "");
    assert_eq!(
        decide(&alice(), Some(&to_bob), &[IAM_ALLOWS_KMS], None, &[]),
        ImplicitDenyNoResourceAllow
    );
    assert_eq!(
        decide(&alice(), None, &[IAM_ALLOWS_KMS], None, &[]),
        ImplicitDenyNoResourceAllow
    );
}

#[test]
fn a_direct_grant_needs_no_iam() {
    use DecisionKind::*;
    let to_alice = key_policy(&format!("arn:aws:iam::{A}:user/alice"), "Allow", "");
    assert_eq!(decide(&alice(), Some(&to_alice), &[], None, &[]), Allow);
    let to_role = key_policy(&format!("arn:aws:iam::{A}:role/app"), "Allow", "");
    assert_eq!(decide(&session(), Some(&to_role), &[], None, &[]), Allow);
    assert_eq!(
        decide(
            &session(),
            Some(&to_role),
            &[],
            Some(SESSION_ALLOWS_NOTHING),
            &[]
        ),
        ImplicitDenySession
    );
}

#[test]
fn an_explicit_deny_wins_anywhere() {
    use DecisionKind::*;
    let to_alice = key_policy(&format!("arn:aws:iam::{A}:user/alice"), "Allow", "");
    assert_eq!(
        decide(&alice(), Some(&to_alice), &[IAM_DENIES_ENCRYPT], None, &[]),
        ExplicitDenyIdentity
    );
    let deny_all = key_policy("*", "Deny", "");
    assert_eq!(
        decide(&root(A), Some(&deny_all), &[], None, &[]),
        ExplicitDenyResource
    );
}

#[test]
fn kms_condition_keys_decide() {
    use DecisionKind::*;
    let via = key_policy(
        "*",
        "Allow",
        r#","Condition":{"StringEquals":{"kms:ViaService":"secretsmanager.us-east-1.amazonaws.com","kms:CallerAccount":"111122223333"}}"#,
    );
    let through_sm = [
        ("kms:ViaService", "secretsmanager.us-east-1.amazonaws.com"),
        ("kms:CallerAccount", A),
    ];
    assert_eq!(decide(&alice(), Some(&via), &[], None, &through_sm), Allow);
    assert_eq!(
        decide(&alice(), Some(&via), &[], None, &[("kms:CallerAccount", A)]),
        ImplicitDenyNoResourceAllow
    );
    let context = key_policy(
        &format!("arn:aws:iam::{A}:user/alice"),
        "Allow",
        r#","Condition":{"StringEquals":{"kms:EncryptionContext:project":"tresor"}}"#,
    );
    assert_eq!(
        decide(
            &alice(),
            Some(&context),
            &[],
            None,
            &[("kms:EncryptionContext:project", "tresor")]
        ),
        Allow
    );
    assert_eq!(
        decide(
            &alice(),
            Some(&context),
            &[],
            None,
            &[("kms:EncryptionContext:project", "other")]
        ),
        ImplicitDenyNoResourceAllow
    );
}

#[test]
fn across_accounts_both_sides_must_allow() {
    use DecisionKind::*;
    let to_b = key_policy(B, "Allow", "");
    assert_eq!(decide(&root(B), Some(&to_b), &[], None, &[]), Allow);
    let delegating_a = key_policy(A, "Allow", "");
    assert_eq!(
        decide(&root(B), Some(&delegating_a), &[], None, &[]),
        ImplicitDenyNoResourceAllow
    );
}
