//! `grants_public_access`: the `BlockPublicPolicy` check.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tresor_policy::{
    grants_public_access, parse, ActionSpec, Effect, Policy, PolicyKind, PrincipalMap,
    PrincipalSpec, Principals, ResourceSpec, Statement,
};

/// A resource policy with one statement: `effect`, `principal` (JSON), and an optional
/// `Condition` (JSON).
fn policy(effect: &str, principal: &str, condition: Option<&str>) -> Policy {
    let condition = condition
        .map(|c| format!(r#","Condition":{c}"#))
        .unwrap_or_default();
    let doc = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"{effect}","Principal":{principal},"Action":"secretsmanager:GetSecretValue","Resource":"*"{condition}}}]}}"#
    );
    parse(&doc, PolicyKind::Resource).unwrap_or_else(|e| panic!("{doc}: {e}"))
}

#[test]
fn everyone_principals_are_public() {
    for principal in [
        r#""*""#,
        r#"{"AWS":"*"}"#,
        r#"{"AWS":["*"]}"#,
        r#"{"AWS":["arn:aws:iam::123456789012:root","*"]}"#,
        r#"{"Service":"secretsmanager.amazonaws.com","AWS":"*"}"#,
    ] {
        assert!(
            grants_public_access(&policy("Allow", principal, None)),
            "{principal}"
        );
    }
}

#[test]
fn specific_principals_are_not_public() {
    for principal in [
        r#"{"AWS":"arn:aws:iam::123456789012:root"}"#,
        r#"{"AWS":"123456789012"}"#,
        r#"{"AWS":["arn:aws:iam::123456789012:role/app","arn:aws:sts::123456789012:assumed-role/app/s"]}"#,
        r#"{"Service":"secretsmanager.amazonaws.com"}"#,
    ] {
        assert!(
            !grants_public_access(&policy("Allow", principal, None)),
            "{principal}"
        );
    }
}

#[test]
fn deny_is_never_public() {
    assert!(!grants_public_access(&policy("Deny", r#""*""#, None)));
    assert!(!grants_public_access(&policy(
        "Deny",
        r#"{"AWS":"*"}"#,
        None
    )));
    let not_principal = parse(
        r#"{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"123456789012"},"Action":"*","Resource":"*"}]}"#,
        PolicyKind::Resource,
    )
    .unwrap();
    assert!(!grants_public_access(&not_principal));
}

#[test]
fn identity_policies_are_not_public() {
    let policy = parse(
        r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        PolicyKind::Identity,
    )
    .unwrap();
    assert!(!grants_public_access(&policy));
}

#[test]
fn allow_with_not_principal_is_public() {
    // `parse` rejects this shape, but a hand-built policy must still be judged safely.
    let policy = Policy {
        version: None,
        id: None,
        statements: vec![Statement {
            sid: None,
            effect: Effect::Allow,
            principal: Some(PrincipalSpec::NotPrincipal(Principals::Map(PrincipalMap {
                aws: vec!["123456789012".into()],
                ..PrincipalMap::default()
            }))),
            action: ActionSpec::Action(vec!["*".into()]),
            resource: Some(ResourceSpec::Resource(vec!["*".into()])),
            condition: vec![],
        }],
    };
    assert!(grants_public_access(&policy));
}

#[test]
fn caller_restricting_conditions_make_it_private() {
    for condition in [
        r#"{"StringEquals":{"aws:PrincipalAccount":"123456789012"}}"#,
        r#"{"StringEquals":{"aws:principalaccount":["123456789012","210987654321"]}}"#,
        r#"{"StringEquals":{"aws:SourceAccount":"123456789012"}}"#,
        r#"{"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}"#,
        r#"{"StringEquals":{"aws:SourceVpce":"vpce-1a2b3c4d"}}"#,
        r#"{"StringEquals":{"aws:SourceVpc":"vpc-111bbb22"}}"#,
        r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::123456789012:role/app-*"}}"#,
        r#"{"ArnEquals":{"aws:SourceArn":"arn:aws:lambda:us-east-1:123456789012:function:f"}}"#,
        r#"{"ArnEquals":{"aws:SourceArn":"arn:aws:s3:::my-bucket"}}"#,
        r#"{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#,
        r#"{"ForAnyValue:StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}"#,
        // One restricting clause is enough: clauses are ANDed.
        r#"{"Bool":{"aws:SecureTransport":"true"},"StringEquals":{"aws:PrincipalAccount":"123456789012"}}"#,
    ] {
        assert!(
            !grants_public_access(&policy("Allow", r#""*""#, Some(condition))),
            "{condition}"
        );
        assert!(
            !grants_public_access(&policy("Allow", r#"{"AWS":"*"}"#, Some(condition))),
            "{condition}"
        );
    }
}

#[test]
fn conditions_that_do_not_pin_the_caller_stay_public() {
    for condition in [
        r#"{"Bool":{"aws:SecureTransport":"true"}}"#,
        r#"{"StringEquals":{"secretsmanager:VersionStage":"AWSCURRENT"}}"#,
        r#"{"StringNotEquals":{"aws:PrincipalAccount":"123456789012"}}"#,
        r#"{"StringEqualsIfExists":{"aws:SourceAccount":"123456789012"}}"#,
        r#"{"ForAllValues:StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}"#,
        r#"{"StringLike":{"aws:PrincipalAccount":"*"}}"#,
        r#"{"StringLike":{"aws:PrincipalAccount":["123456789012","*"]}}"#,
        r#"{"StringEquals":{"aws:PrincipalAccount":"${aws:PrincipalAccount}"}}"#,
        r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/app"}}"#,
        r#"{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::*"}}"#,
        r#"{"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::123456789012:role/x"}}"#,
        r#"{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}"#,
        r#"{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#,
        r#"{"Null":{"aws:PrincipalArn":"false"}}"#,
    ] {
        assert!(
            grants_public_access(&policy("Allow", r#""*""#, Some(condition))),
            "{condition}"
        );
    }
}

#[test]
fn any_public_statement_makes_the_policy_public() {
    let policy = parse(
        r#"{"Statement":[
            {"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"*","Resource":"*"},
            {"Effect":"Deny","Principal":"*","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}},
            {"Effect":"Allow","Principal":{"AWS":"*"},"Action":"secretsmanager:DescribeSecret","Resource":"*"}
        ]}"#,
        PolicyKind::Resource,
    )
    .unwrap();
    assert!(grants_public_access(&policy));
}
