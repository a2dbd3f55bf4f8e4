//! Grammar validation through the public API: documents that parse, documents that must not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tresor_policy::{
    parse, ActionSpec, ConditionClause, Effect, PolicyKind, PolicyVersion, PrincipalMap,
    PrincipalSpec, Principals, ResourceSpec,
};

use PolicyKind::{Identity, Resource, Trust};

const ACCOUNT_ROOT_READ: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;

/// (name, kind, document) that must parse.
const VALID: &[(&str, PolicyKind, &str)] = &[
    ("secret resource policy", Resource, ACCOUNT_ROOT_READ),
    (
        "single statement object, no Version",
        Resource,
        r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":["secretsmanager:Describe*","secretsmanager:GetSecretValue"],"Resource":"*"}}"#,
    ),
    (
        "deny with NotAction",
        Identity,
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyAllButReads","Effect":"Deny","NotAction":["secretsmanager:Get*","secretsmanager:List*"],"Resource":"*"}]}"#,
    ),
    (
        "ForAnyValue:StringLike, bool and number values",
        Identity,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:*","Resource":"arn:aws:secretsmanager:us-east-1:123456789012:secret:app/*","Condition":{"ForAnyValue:StringLike":{"aws:TagKeys":["team-*","env"]},"Bool":{"aws:SecureTransport":true},"NumericLessThan":{"aws:MultiFactorAuthAge":3600},"StringEqualsIfExists":{"secretsmanager:ResourceTag/env":"prod"}}}]}"#,
    ),
    (
        "trust policy with a Service principal and no Resource",
        Trust,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com","lambda.amazonaws.com"]},"Action":"sts:AssumeRole"}]}"#,
    ),
    (
        "trust policy for web identity with conditions",
        Trust,
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"","Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},"StringLike":{"token.actions.githubusercontent.com:sub":"repo:org/*"}}}]}"#,
    ),
    (
        "cross-account roles, Deny with NotPrincipal, NotResource",
        Resource,
        r#"{"Version":"2012-10-17","Id":"key-policy-1","Statement":[
            {"Sid":"Allow role in another account","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::210987654321:role/app","arn:aws:sts::210987654321:assumed-role/app/ci"]},"Action":"secretsmanager:GetSecretValue","Resource":"*","Condition":{"ArnLikeIfExists":{"aws:SourceArn":"arn:aws:lambda:*:210987654321:function:*"}}},
            {"Sid":"Deny everyone else","Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"*","NotResource":["arn:aws:secretsmanager:us-east-1:123456789012:secret:public-*"]}
        ]}"#,
    ),
    (
        "2008 version, IP and Null conditions, policy variable",
        Identity,
        r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:secretsmanager:*:*:secret:${aws:username}/*","Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:db8::/32"]},"Null":{"aws:TokenIssueTime":"false"},"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}}]}"#,
    ),
    (
        "CanonicalUser and Principal star with condition",
        Resource,
        r#"{"Statement":[{"Effect":"Allow","Principal":{"CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"},{"Effect":"Allow","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}}]}"#,
    ),
];

#[test]
fn valid_documents_parse() {
    for (name, kind, doc) in VALID {
        if let Err(e) = parse(doc, *kind) {
            panic!("{name}: rejected: {e}");
        }
    }
}

/// (kind, document, fragment of the expected message).
const INVALID: &[(PolicyKind, &str, &str)] = &[
    // JSON and top level
    (Resource, "", "invalid JSON"),
    (Resource, "{", "invalid JSON"),
    (Resource, "[]", "must be a JSON object, not an array"),
    (Resource, r#"{"Statement":[]} x"#, "invalid JSON"),
    (Resource, r#"{"Version":"2012-10-17"}"#, "missing Statement"),
    (Resource, r#"{"version":"2012-10-17","Statement":[]}"#, "unknown top-level key 'version'"),
    (Resource, r#"{"Version":"2012-10-18","Statement":[]}"#, "Version: unsupported version '2012-10-18'"),
    (Resource, r#"{"Version":2012,"Statement":[]}"#, "Version: must be a string"),
    (Resource, r#"{"Id":1,"Statement":[]}"#, "Id: must be a string"),
    (Resource, r#"{"Statement":[]}"#, "Statement: must not be empty"),
    (Resource, r#"{"Statement":"Allow"}"#, "Statement: must be an object or an array of objects"),
    (Resource, r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},"x"]}"#, "Statement[1]: statement must be an object"),
    (Identity, r#"{"Statement":[{"Effect":"Allow","Effect":"Deny","Action":"*","Resource":"*"}]}"#, "duplicate key 'Effect'"),
    // statement keys and Effect
    (Identity, r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Action":"*","Resource":"*"}]}"#, "Statement[1]: missing Effect"),
    (Identity, r#"{"Statement":[{"Effect":"allow","Action":"*","Resource":"*"}]}"#, "Statement[0].Effect: must be \"Allow\" or \"Deny\""),
    (Identity, r#"{"Statement":[{"Effect":true,"Action":"*","Resource":"*"}]}"#, "Statement[0].Effect: must be a string"),
    (Identity, r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Actions":"*"}]}"#, "Statement[0]: unknown key 'Actions'"),
    // Sid
    (Identity, r#"{"Statement":[{"Sid":"read secrets","Effect":"Allow","Action":"*","Resource":"*"}]}"#, "Statement[0].Sid: invalid Sid 'read secrets'"),
    (Resource, r#"{"Statement":[{"Sid":"A","Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},{"Sid":"A","Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}"#, "Statement[1].Sid: duplicate Sid 'A'"),
    (Resource, r#"{"Statement":[{"Sid":7,"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#, "Statement[0].Sid: must be a string"),
    // Action
    (Identity, r#"{"Statement":[{"Effect":"Allow","Resource":"*"}]}"#, "Statement[0]: missing Action or NotAction"),
    (Identity, r#"{"Statement":[{"Effect":"Allow","Action":"*","NotAction":"s3:*","Resource":"*"}]}"#, "Statement[0]: Action and NotAction cannot both be present"),
    (Identity, r#"{"Statement":[{"Effect":"Allow","Action":"GetSecretValue","Resource":"*"}]}"#, "Statement[0].Action: invalid action 'GetSecretValue'"),
    (Identity, r#"{"Statement":[{"Effect":"Allow","Action":["s3:GetObject","secretsmanager:"],"Resource":"*"}]}"#, "Statement[0].Action[1]: invalid action 'secretsmanager:'"),
    (Identity, r#"{"Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]}"#, "Statement[0].Action: must not be empty"),
    (Identity, r#"{"Statement":[{"Effect":"Allow","Action":["s3:*",["x"]],"Resource":"*"}]}"#, "Statement[0].Action[1]: must be a string, not an array"),
    (Identity, r#"{"Statement":[{"Effect":"Allow","NotAction":{"a":1},"Resource":"*"}]}"#, "Statement[0].NotAction: must be a string or an array of strings"),
    // Resource
    (Identity, r#"{"Statement":[{"Effect":"Allow","Action":"*"}]}"#, "Statement[0]: missing Resource or NotResource"),
    (Resource, r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*"}]}"#, "Statement[0]: missing Resource or NotResource"),
    (Identity, r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}]}"#, "Resource and NotResource cannot both be present"),
    (Identity, r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"my-secret"}]}"#, "Statement[0].Resource: invalid resource 'my-secret'"),
    (Identity, r#"{"Statement":[{"Effect":"Allow","Action":"*","NotResource":["*","arn:aws:s3"]}]}"#, "Statement[0].NotResource[1]: invalid resource 'arn:aws:s3'"),
    // Principal
    (Identity, r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#, "Statement[0]: Policy document should not specify a principal."),
    (Identity, r#"{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"123456789012"},"Action":"*","Resource":"*"}]}"#, "Policy document should not specify a principal"),
    (Resource, r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#, "Statement[0]: missing Principal or NotPrincipal"),
    (Trust, r#"{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}"#, "Statement[0]: missing Principal or NotPrincipal"),
    (Resource, r#"{"Statement":[{"Effect":"Deny","Principal":"*","NotPrincipal":"*","Action":"*","Resource":"*"}]}"#, "Principal and NotPrincipal cannot both be present"),
    (Trust, r#"{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"}]}"#, "NotPrincipal is not allowed in a trust policy"),
    (Resource, r#"{"Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"123456789012"},"Action":"*","Resource":"*"}]}"#, "NotPrincipal is only supported with \"Effect\": \"Deny\""),
    (Resource, r#"{"Statement":[{"Effect":"Allow","Principal":"arn:aws:iam::123456789012:root","Action":"*","Resource":"*"}]}"#, "Statement[0].Principal: invalid principal 'arn:aws:iam::123456789012:root'"),
    (Resource, r#"{"Statement":[{"Effect":"Allow","Principal":{},"Action":"*","Resource":"*"}]}"#, "Statement[0].Principal: must name at least one principal"),
    (Resource, r#"{"Statement":[{"Effect":"Allow","Principal":["*"],"Action":"*","Resource":"*"}]}"#, "Statement[0].Principal: must be \"*\" or an object"),
    (Resource, r#"{"Statement":[{"Effect":"Allow","Principal":{"User":"alice"},"Action":"*","Resource":"*"}]}"#, "unknown principal type 'User'"),
    (Resource, r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:role/*"]},"Action":"*","Resource":"*"}]}"#, "Statement[0].Principal.AWS[1]: invalid AWS principal 'arn:aws:iam::123456789012:role/*'"),
    (Resource, r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"alice"},"Action":"*","Resource":"*"}]}"#, "Statement[0].Principal.AWS: invalid AWS principal 'alice'"),
    (Resource, r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":[]},"Action":"*","Resource":"*"}]}"#, "Statement[0].Principal.AWS: must not be empty"),
    (Trust, r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"*"},"Action":"sts:AssumeRole"}]}"#, "Statement[0].Principal.Service: invalid service principal '*'"),
    (Resource, r#"{"Statement":[{"Effect":"Allow","Principal":{"CanonicalUser":"abc"},"Action":"*","Resource":"*"}]}"#, "invalid canonical user id 'abc'"),
    // Condition
    (Identity, r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualz":{"aws:username":"bob"}}}]}"#, "Statement[0].Condition: unknown operator 'StringEqualz'"),
    (Identity, r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NullIfExists":{"aws:username":"true"}}}]}"#, "unknown operator 'NullIfExists'"),
    (Identity, r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForSomeValues:StringLike":{"aws:TagKeys":"a"}}}]}"#, "unknown operator 'ForSomeValues:StringLike'"),
    (Identity, r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":["StringEquals"]}]}"#, "Statement[0].Condition: must be an object of condition operators"),
    (Identity, r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":"bob"}}]}"#, "Statement[0].Condition.StringEquals: must be an object of condition keys"),
    (Identity, r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":null}}}]}"#, "Statement[0].Condition.StringEquals.aws:username: condition values must be strings, booleans or numbers, not null"),
    (Identity, r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":["a",{"b":1}]}}}]}"#, "Statement[0].Condition.StringEquals.aws:username[1]: condition values must be"),
    (Identity, r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":[]}}}]}"#, "Statement[0].Condition.StringEquals.aws:username: must not be empty"),
    (Identity, r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"":"x"}}}]}"#, "Statement[0].Condition.StringEquals: invalid condition key ''"),
    (Identity, r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"yes"}}}]}"#, "Statement[0].Condition.Bool.aws:SecureTransport: invalid value 'yes' for Bool"),
    (Identity, r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericLessThan":{"aws:MultiFactorAuthAge":"soon"}}}]}"#, "invalid value 'soon' for NumericLessThan; expected a number"),
    (Identity, r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NotIpAddressIfExists":{"aws:SourceIp":"10.0.0.0/40"}}}]}"#, "invalid value '10.0.0.0/40' for NotIpAddress"),
];

#[test]
fn invalid_documents_are_rejected_with_a_located_message() {
    for (kind, doc, fragment) in INVALID {
        match parse(doc, *kind) {
            Ok(policy) => panic!("accepted as {kind:?}: {doc}\n{policy:?}"),
            Err(e) => assert!(
                e.message.contains(fragment),
                "{doc}\nexpected message containing: {fragment}\ngot: {}",
                e.message
            ),
        }
    }
}

#[test]
fn resource_policy_is_modelled() {
    let policy = parse(ACCOUNT_ROOT_READ, Resource).unwrap();
    assert_eq!(policy.version, Some(PolicyVersion::V2012_10_17));
    assert!(policy.uses_policy_variables());
    assert_eq!(policy.id, None);
    let [statement] = policy.statements.as_slice() else {
        panic!("one statement expected: {policy:?}");
    };
    assert_eq!(statement.sid, None);
    assert_eq!(statement.effect, Effect::Allow);
    assert_eq!(
        statement.principal,
        Some(PrincipalSpec::Principal(Principals::Map(PrincipalMap {
            aws: vec!["arn:aws:iam::123456789012:root".into()],
            ..PrincipalMap::default()
        })))
    );
    assert_eq!(
        statement.action,
        ActionSpec::Action(vec!["secretsmanager:GetSecretValue".into()])
    );
    assert_eq!(
        statement.resource,
        Some(ResourceSpec::Resource(vec!["*".into()]))
    );
    assert!(statement.condition.is_empty());
}

#[test]
fn single_statement_object_and_not_elements() {
    let policy = parse(
        r#"{"Statement":{"Sid":"x","Effect":"Deny","NotAction":"s3:*","NotResource":["arn:aws:s3:::a/*","*"]}}"#,
        Identity,
    )
    .unwrap();
    assert_eq!(policy.version, None);
    assert!(!policy.uses_policy_variables());
    let statement = &policy.statements[0];
    assert_eq!(statement.sid.as_deref(), Some("x"));
    assert_eq!(statement.effect, Effect::Deny);
    assert!(statement.action.is_negated());
    assert_eq!(statement.action.patterns(), ["s3:*"]);
    let resource = statement.resource.as_ref().unwrap();
    assert!(resource.is_negated());
    assert_eq!(resource.patterns(), ["arn:aws:s3:::a/*", "*"]);
    assert_eq!(statement.principal, None);
}

#[test]
fn conditions_are_flattened_and_values_normalised() {
    let policy = parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{
            "ForAnyValue:StringLike":{"aws:TagKeys":["team-*","env"],"aws:PrincipalTag/role":"dev"},
            "Bool":{"aws:SecureTransport":true},
            "NumericGreaterThanEquals":{"aws:EpochTime":[1700000000, 1.5]}
        }}]}"#,
        Identity,
    )
    .unwrap();
    let clause = |operator: &str, key: &str, values: &[&str]| ConditionClause {
        operator: operator.into(),
        key: key.into(),
        values: values.iter().map(|v| (*v).to_owned()).collect(),
    };
    assert_eq!(
        policy.statements[0].condition,
        [
            clause("ForAnyValue:StringLike", "aws:TagKeys", &["team-*", "env"]),
            clause("ForAnyValue:StringLike", "aws:PrincipalTag/role", &["dev"]),
            clause("Bool", "aws:SecureTransport", &["true"]),
            clause(
                "NumericGreaterThanEquals",
                "aws:EpochTime",
                &["1700000000", "1.5"]
            ),
        ]
    );
    let operator = policy.statements[0].condition[0].parsed_operator().unwrap();
    assert_eq!(operator.base, tresor_policy::BaseOperator::StringLike);
    assert_eq!(operator.set, Some(tresor_policy::SetQualifier::ForAnyValue));
    assert!(!operator.if_exists);
}

#[test]
fn trust_policy_may_omit_resource() {
    let policy = parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com","AWS":"arn:aws:iam::123456789012:root"},"Action":["sts:AssumeRole","sts:TagSession"]}]}"#,
        Trust,
    )
    .unwrap();
    let statement = &policy.statements[0];
    assert_eq!(statement.resource, None);
    let Some(PrincipalSpec::Principal(Principals::Map(map))) = &statement.principal else {
        panic!("principal map expected: {statement:?}");
    };
    assert_eq!(map.service, ["ec2.amazonaws.com"]);
    assert_eq!(map.aws, ["arn:aws:iam::123456789012:root"]);
    assert!(map.federated.is_empty() && map.canonical_user.is_empty());
}

#[test]
fn sid_rules_depend_on_kind() {
    let doc = r#"{"Statement":[{"Sid":"Allow app role","Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"*","Resource":"*"}]}"#;
    assert!(parse(doc, Resource).is_ok());
    // Empty Sids (as the IAM console writes them) may repeat.
    let empty = r#"{"Statement":[{"Sid":"","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"","Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#;
    assert!(parse(empty, Identity).is_ok());
}

#[test]
fn error_displays_its_message() {
    let err = parse("{}", Resource).unwrap_err();
    assert_eq!(err.to_string(), "missing Statement");
}
