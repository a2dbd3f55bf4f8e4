//! `AssumeRole`'s trust decisions and the credentials it mints, and `GetCallerIdentity`.

use serde_json::{json, Value};
use tresor_store::{IdentityStore, Store};

use super::{dispatch, Operation as Sts};
use crate::iam::tests::{ctx, err, trust, world, World, ACCOUNT, ALLOW_ALL};
use crate::iam::Operation as Iam;
use crate::{CoreError, Principal, PrincipalKind, RequestContext};

const ASSUME_ANY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#;
const DENY_ASSUME: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sts:AssumeRole","Resource":"*"}]}"#;

fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

fn user_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:user/{name}")
}

fn assume(
    w: &World,
    caller: &RequestContext,
    role: &str,
    extra: Value,
) -> Result<Value, CoreError> {
    let mut params = json!({"RoleArn": role_arn(role), "RoleSessionName": "ci-run"});
    if let (Some(p), Some(e)) = (params.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    dispatch(&w.core, caller, Sts::AssumeRole, params)
}

/// The context of a session minted by an `AssumeRole` answer.
fn as_session(w: &World, answer: &Value) -> RequestContext {
    let key_id = answer["Credentials"]["AccessKeyId"].as_str().unwrap();
    let session = w.core.store().get_session(key_id).unwrap().unwrap();
    ctx(Principal {
        account: w.account.clone(),
        arn: answer["AssumedRoleUser"]["Arn"]
            .as_str()
            .unwrap()
            .to_owned(),
        kind: PrincipalKind::AssumedRole {
            role_name: session.role_name,
            role_id: session.role_id,
            role_arn: session.role_arn,
            session_name: session.session_name,
            session_policy: session.session_policy,
        },
        access_key_id: key_id.to_owned(),
        tags: vec![],
    })
}

fn setup() -> World {
    let w = world();
    for user in ["alice", "bob"] {
        w.ok(Iam::CreateUser, json!({"UserName": user}));
    }
    w
}

#[test]
fn trust_naming_the_user_suffices_and_credentials_are_minted() {
    let w = setup();
    w.ok(
        Iam::CreateRole,
        json!({"RoleName": "app", "AssumeRolePolicyDocument": trust(&user_arn("alice"))}),
    );
    let alice = w.as_user("alice");
    let answer = assume(&w, &alice, "app", json!({"DurationSeconds": "900"})).unwrap();
    let creds = &answer["Credentials"];
    let key_id = creds["AccessKeyId"].as_str().unwrap();
    let secret = creds["SecretAccessKey"].as_str().unwrap();
    let token = creds["SessionToken"].as_str().unwrap();
    assert!(key_id.starts_with("ASIA") && key_id.len() == 20);
    assert_eq!(secret.len(), 40);
    assert!(token.len() >= 100, "{}", token.len());
    assert!(creds["Expiration"].as_str().unwrap().ends_with('Z'));
    let role = w.ok(Iam::GetRole, json!({"RoleName": "app"}));
    let role_id = role["Role"]["RoleId"].as_str().unwrap();
    assert_eq!(
        answer["AssumedRoleUser"]["AssumedRoleId"],
        format!("{role_id}:ci-run")
    );
    assert_eq!(
        answer["AssumedRoleUser"]["Arn"],
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/app/ci-run")
    );
    assert!(answer.get("PackedPolicySize").is_none());

    // Stored: the key sealed, the session with a digest of the token (never the token).
    let store = w.core.store();
    let key = store.get_access_key(key_id).unwrap().unwrap();
    assert_eq!(key.user_name, None);
    assert_eq!(
        key.principal_arn,
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/app/ci-run")
    );
    assert_eq!(
        w.core.keyring().open_access_secret(&key).unwrap().expose(),
        secret.as_bytes()
    );
    let session = store.get_session(key_id).unwrap().unwrap();
    assert_eq!(
        session.token_digest,
        w.core.keyring().session_token_digest(token)
    );
    assert!(!session
        .token_digest
        .windows(8)
        .any(|win| token.as_bytes().windows(8).any(|t| t == win)));
    assert_eq!(session.expires.millis() - alice.now.millis(), 900_000);
    assert_eq!(session.role_id, role_id);
    assert!(!format!("{session:?}{key:?}").contains(secret));

    // The session knows who it is.
    let me = dispatch(
        &w.core,
        &as_session(&w, &answer),
        Sts::GetCallerIdentity,
        json!({}),
    )
    .unwrap();
    assert_eq!(
        me["Arn"],
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/app/ci-run")
    );
    assert_eq!(me["UserId"], format!("{role_id}:ci-run"));
    assert_eq!(me["Account"], ACCOUNT);

    // Bob is not named: denied with AWS's message.
    let (code, msg) = err(assume(&w, &w.as_user("bob"), "app", json!({})));
    assert_eq!(code, "AccessDeniedException");
    assert_eq!(
        msg,
        format!(
            "User: {} is not authorized to perform: sts:AssumeRole on resource: {}",
            user_arn("bob"),
            role_arn("app")
        )
    );
    // Even with an identity policy that allows it: the trust policy must consent.
    w.ok(
        Iam::PutUserPolicy,
        json!({"UserName": "bob", "PolicyName": "assume", "PolicyDocument": ASSUME_ANY}),
    );
    assert_eq!(
        err(assume(&w, &w.as_user("bob"), "app", json!({}))).0,
        "AccessDeniedException"
    );
}

#[test]
fn trust_naming_the_account_needs_an_identity_allow() {
    let w = setup();
    let root = format!("arn:aws:iam::{ACCOUNT}:root");
    w.ok(
        Iam::CreateRole,
        json!({"RoleName": "app", "AssumeRolePolicyDocument": trust(&root)}),
    );
    w.ok(
        Iam::CreateRole,
        json!({"RoleName": "by-id", "AssumeRolePolicyDocument": trust(ACCOUNT)}),
    );
    for role in ["app", "by-id"] {
        assert_eq!(
            err(assume(&w, &w.as_user("alice"), role, json!({}))).0,
            "AccessDeniedException"
        );
    }
    w.ok(
        Iam::PutUserPolicy,
        json!({"UserName": "alice", "PolicyName": "assume", "PolicyDocument": ASSUME_ANY}),
    );
    for role in ["app", "by-id"] {
        assume(&w, &w.as_user("alice"), role, json!({})).unwrap();
    }
    // An explicit deny anywhere wins.
    w.ok(
        Iam::PutUserPolicy,
        json!({"UserName": "alice", "PolicyName": "deny", "PolicyDocument": DENY_ASSUME}),
    );
    assert_eq!(
        err(assume(&w, &w.as_user("alice"), "app", json!({}))).0,
        "AccessDeniedException"
    );
}

#[test]
fn an_identity_deny_beats_a_trust_policy_naming_the_user() {
    let w = setup();
    w.ok(
        Iam::CreateRole,
        json!({"RoleName": "app", "AssumeRolePolicyDocument": trust(&user_arn("alice"))}),
    );
    w.ok(
        Iam::PutUserPolicy,
        json!({"UserName": "alice", "PolicyName": "deny", "PolicyDocument": DENY_ASSUME}),
    );
    assert_eq!(
        err(assume(&w, &w.as_user("alice"), "app", json!({}))).0,
        "AccessDeniedException"
    );
}

#[test]
fn trust_conditions_see_the_session_name_and_external_id() {
    let w = setup();
    let doc = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{}"}},"Action":"sts:AssumeRole","Condition":{{"StringEquals":{{"sts:ExternalId":"xyz"}},"StringLike":{{"sts:RoleSessionName":"ci-*"}}}}}}]}}"#,
        user_arn("alice")
    );
    w.ok(
        Iam::CreateRole,
        json!({"RoleName": "app", "AssumeRolePolicyDocument": doc}),
    );
    let alice = w.as_user("alice");
    assert_eq!(
        err(assume(&w, &alice, "app", json!({}))).0,
        "AccessDeniedException"
    );
    assert_eq!(
        err(assume(&w, &alice, "app", json!({"ExternalId": "nope"}))).0,
        "AccessDeniedException"
    );
    assert_eq!(
        err(assume(
            &w,
            &alice,
            "app",
            json!({"ExternalId": "xyz", "RoleSessionName": "dev-1"})
        ))
        .0,
        "AccessDeniedException"
    );
    assume(&w, &alice, "app", json!({"ExternalId": "xyz"})).unwrap();
}

#[test]
fn refusals() {
    let w = setup();
    w.ok(
        Iam::CreateRole,
        json!({"RoleName": "app", "AssumeRolePolicyDocument": trust(&user_arn("alice"))}),
    );
    let alice = w.as_user("alice");
    let (code, msg) = err(assume(&w, &w.root(), "app", json!({})));
    assert_eq!(
        (code, msg.as_str()),
        (
            "AccessDeniedException",
            "Roles may not be assumed by root accounts."
        )
    );
    // A missing role and a role of another account answer like a refusal.
    assert_eq!(
        err(assume(&w, &alice, "ghost", json!({}))).0,
        "AccessDeniedException"
    );
    let other = dispatch(
        &w.core,
        &alice,
        Sts::AssumeRole,
        json!({"RoleArn": "arn:aws:iam::999988887777:role/app", "RoleSessionName": "s1"}),
    );
    assert_eq!(err(other).0, "AccessDeniedException");
    // A path that is not the role's is not the role.
    let wrong_path = dispatch(
        &w.core,
        &alice,
        Sts::AssumeRole,
        json!({"RoleArn": format!("arn:aws:iam::{ACCOUNT}:role/x/app"), "RoleSessionName": "s1"}),
    );
    assert_eq!(err(wrong_path).0, "AccessDeniedException");

    let (code, msg) = err(assume(
        &w,
        &alice,
        "app",
        json!({"DurationSeconds": "7200"}),
    ));
    assert_eq!(code, "ValidationException");
    assert_eq!(
        msg,
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
    );
    assert_eq!(
        err(assume(&w, &alice, "app", json!({"DurationSeconds": "60"}))).0,
        "ValidationException"
    );
    assert_eq!(
        err(assume(&w, &alice, "app", json!({"RoleSessionName": "a"}))).0,
        "ValidationException"
    );
    assert_eq!(
        err(assume(
            &w,
            &alice,
            "app",
            json!({"RoleSessionName": "a b c"})
        ))
        .0,
        "ValidationException"
    );
    let bad_arn = dispatch(
        &w.core,
        &alice,
        Sts::AssumeRole,
        json!({"RoleArn": user_arn("alice"), "RoleSessionName": "s1"}),
    );
    assert_eq!(err(bad_arn).0, "ValidationException");
    assert_eq!(
        err(assume(&w, &alice, "app", json!({"Policy": r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#}))).0,
        "MalformedPolicyDocumentException"
    );
    let huge = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{}","Effect":"Allow","Action":"*","Resource":"*"}}]}}"#,
        "S".repeat(2_100)
    );
    let (code, msg) = err(assume(&w, &alice, "app", json!({"Policy": huge})));
    assert_eq!(code, "PackedPolicyTooLarge");
    assert!(msg.starts_with("Packed policy consumes "), "{msg}");
    assert_eq!(
        err(assume(
            &w,
            &alice,
            "app",
            json!({"PolicyArns": [{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}]})
        ))
        .0,
        "ValidationException"
    );
    // A session policy is answered with its packed size, in percent of the quota.
    let ok = assume(&w, &alice, "app", json!({"Policy": ALLOW_ALL})).unwrap();
    assert_eq!(
        ok["PackedPolicySize"],
        (ALLOW_ALL.len() * 100).div_ceil(2048)
    );
}

#[test]
fn role_chaining_is_limited_to_an_hour() {
    let w = setup();
    w.ok(Iam::CreateRole, json!({"RoleName": "first", "AssumeRolePolicyDocument": trust(&user_arn("alice")), "MaxSessionDuration": "43200"}));
    w.ok(Iam::CreateRole, json!({"RoleName": "second", "AssumeRolePolicyDocument": trust(&role_arn("first")), "MaxSessionDuration": "43200"}));
    let first = assume(
        &w,
        &w.as_user("alice"),
        "first",
        json!({"DurationSeconds": "43200"}),
    )
    .unwrap();
    let session = as_session(&w, &first);
    let (code, msg) = err(assume(
        &w,
        &session,
        "second",
        json!({"DurationSeconds": "7200"}),
    ));
    assert_eq!(code, "ValidationException");
    assert!(msg.contains("role chaining"), "{msg}");
    let second = assume(&w, &session, "second", json!({})).unwrap();
    assert_eq!(
        second["AssumedRoleUser"]["Arn"],
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/second/ci-run")
    );
    // A session policy of the calling session narrows what it may assume.
    let narrowed = assume(&w, &w.as_user("alice"), "first", json!({"Policy": r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*"}]}"#})).unwrap();
    assert_eq!(
        err(assume(&w, &as_session(&w, &narrowed), "second", json!({}))).0,
        "AccessDeniedException"
    );
}

#[test]
fn caller_identity_of_root_and_users() {
    let w = setup();
    let root = dispatch(&w.core, &w.root(), Sts::GetCallerIdentity, json!({})).unwrap();
    assert_eq!(
        root,
        json!({"UserId": ACCOUNT, "Account": ACCOUNT, "Arn": format!("arn:aws:iam::{ACCOUNT}:root")})
    );
    let alice = w.as_user("alice");
    let me = dispatch(&w.core, &alice, Sts::GetCallerIdentity, json!({})).unwrap();
    assert_eq!(me["Arn"], user_arn("alice"));
    assert!(me["UserId"].as_str().unwrap().starts_with("AIDA"));
    // A session cannot call GetUser without a name.
    w.ok(
        Iam::CreateRole,
        json!({"RoleName": "app", "AssumeRolePolicyDocument": trust(&user_arn("alice"))}),
    );
    w.ok(
        Iam::PutRolePolicy,
        json!({"RoleName": "app", "PolicyName": "p", "PolicyDocument": crate::iam::tests::ALLOW_ALL}),
    );
    let answer = assume(&w, &alice, "app", json!({})).unwrap();
    let (code, _) = err(crate::iam::dispatch(
        &w.core,
        &as_session(&w, &answer),
        Iam::GetUser,
        json!({}),
    ));
    assert_eq!(code, "ValidationException");
    w.ok(
        Iam::DeleteRolePolicy,
        json!({"RoleName": "app", "PolicyName": "p"}),
    );
    // Deleting the role leaves its sessions' records for authentication to refuse (it checks
    // the role still exists with the same id).
    w.ok(Iam::DeleteRole, json!({"RoleName": "app"}));
    assert!(w
        .core
        .store()
        .get_role(&w.account, "app")
        .unwrap()
        .is_none());
}

#[test]
fn a_trust_policy_names_the_user_that_existed_not_a_recreated_one() {
    let w = setup();
    w.ok(
        Iam::CreateRole,
        json!({"RoleName": "app", "AssumeRolePolicyDocument": trust(&user_arn("alice"))}),
    );
    // While alice exists, the policy is shown as written.
    let shown = w.ok(Iam::GetRole, json!({"RoleName": "app"}));
    let doc = shown["Role"]["AssumeRolePolicyDocument"].as_str().unwrap();
    assert!(doc.contains("user%2Falice"), "{doc}");
    let old_id = w
        .core
        .store()
        .get_user(&w.account, "alice")
        .unwrap()
        .unwrap()
        .user_id;
    assert!(assume(&w, &w.as_user("alice"), "app", json!({})).is_ok());

    // alice is deleted and a new alice created: the role still names the old one, by id.
    w.ok(Iam::DeleteUser, json!({"UserName": "alice"}));
    let shown = w.ok(Iam::GetRole, json!({"RoleName": "app"}));
    let doc = shown["Role"]["AssumeRolePolicyDocument"].as_str().unwrap();
    assert!(doc.contains(&old_id) && !doc.contains("alice"), "{doc}");
    w.ok(Iam::CreateUser, json!({"UserName": "alice"}));
    let (code, _) = err(assume(&w, &w.as_user("alice"), "app", json!({})));
    assert_eq!(code, "AccessDeniedException");
    let listed = w.ok(Iam::ListRoles, json!({}));
    let doc = listed["Roles"][0]["AssumeRolePolicyDocument"]
        .as_str()
        .unwrap();
    assert!(doc.contains(&old_id), "{doc}");

    // Trusting the new alice takes a new policy, which binds to her.
    w.ok(
        Iam::UpdateAssumeRolePolicy,
        json!({"RoleName": "app", "PolicyDocument": trust(&user_arn("alice"))}),
    );
    assert!(assume(&w, &w.as_user("alice"), "app", json!({})).is_ok());
}

#[test]
fn a_trust_policy_naming_a_role_binds_to_that_role() {
    let w = setup();
    w.ok(
        Iam::CreateRole,
        json!({"RoleName": "first", "AssumeRolePolicyDocument": trust(&user_arn("alice"))}),
    );
    w.ok(
        Iam::CreateRole,
        json!({"RoleName": "second", "AssumeRolePolicyDocument": trust(&role_arn("first"))}),
    );
    let first = assume(&w, &w.as_user("alice"), "first", json!({})).unwrap();
    let session = as_session(&w, &first);
    assert!(assume(&w, &session, "second", json!({})).is_ok());
    // The same name, another role: its sessions are not trusted.
    w.ok(Iam::DeleteRole, json!({"RoleName": "first"}));
    w.ok(
        Iam::CreateRole,
        json!({"RoleName": "first", "AssumeRolePolicyDocument": trust(&user_arn("alice"))}),
    );
    let again = assume(&w, &w.as_user("alice"), "first", json!({})).unwrap();
    let session = as_session(&w, &again);
    let (code, _) = err(assume(&w, &session, "second", json!({})));
    assert_eq!(code, "AccessDeniedException");
}
