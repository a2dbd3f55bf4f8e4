//! Every Secrets Manager operation is authorized: identity policies, the secret's resource
//! policy, explicit denies, conditions — driven through the core with a real SQLite store.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test support code

use tresor_core::secretsmanager::dto::*;
use tresor_core::validate::Validated;
use tresor_core::{
    bootstrap, Core, CoreError, Principal, PrincipalKind, RequestContext, StoreBackend,
};
use tresor_store::{
    IdentityStore, PrincipalKind as Kind, PrincipalName, SqliteStore, Tag, UserRecord,
};
use tresor_types::{AccountId, Region, Timestamp};

struct World {
    core: Core,
    account: AccountId,
    _dir: tempfile::TempDir,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreBackend::Sqlite(SqliteStore::open(&dir.path().join("t.db")).unwrap());
    let account = AccountId::parse("111122223333").unwrap();
    let (keyring, _creds) = bootstrap::dev(&store, &account, None).unwrap();
    World {
        core: Core::new(store, keyring).unwrap(),
        account,
        _dir: dir,
    }
}

impl World {
    fn ctx(&self, principal: Principal) -> RequestContext {
        RequestContext {
            principal,
            region: Region::parse("us-east-1").unwrap(),
            request_id: "test".into(),
            source_ip: Some("10.1.2.3".into()),
            user_agent: None,
            secure_transport: true,
            now: Timestamp::now(),
        }
    }

    fn root(&self) -> RequestContext {
        self.ctx(Principal {
            account: self.account.clone(),
            arn: format!("arn:aws:iam::{}:root", self.account),
            kind: PrincipalKind::Root,
            access_key_id: "AKIAROOT".into(),
            tags: vec![],
        })
    }

    /// A user with one inline policy (or none).
    fn user(&self, name: &str, policy: Option<&str>, tags: &[(&str, &str)]) -> RequestContext {
        let arn = format!("arn:aws:iam::{}:user/{name}", self.account);
        let store = self.core.store();
        store
            .create_user(&UserRecord {
                account: self.account.clone(),
                user_name: name.into(),
                user_id: format!("AIDA{}", name.to_uppercase()),
                arn: arn.clone(),
                path: "/".into(),
                tags: tags
                    .iter()
                    .map(|(k, v)| Tag {
                        key: k.to_string(),
                        value: v.to_string(),
                    })
                    .collect(),
                created: Timestamp::now(),
            })
            .unwrap();
        if let Some(doc) = policy {
            let owner = PrincipalName {
                account: self.account.clone(),
                kind: Kind::User,
                name: name.into(),
            };
            store.put_inline_policy(&owner, "p", doc).unwrap();
        }
        self.ctx(Principal {
            account: self.account.clone(),
            arn,
            kind: PrincipalKind::User {
                name: name.into(),
                id: format!("AIDA{}", name.to_uppercase()),
            },
            access_key_id: format!("AKIA{name}"),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        })
    }

    fn create(&self, name: &str, value: &str, tags: &[(&str, &str)]) -> String {
        let req: CreateSecretRequest = serde_json::from_value(serde_json::json!({
            "Name": name,
            "SecretString": value,
            "ClientRequestToken": uuid(),
            "Tags": tags.iter().map(|(k, v)| serde_json::json!({"Key": k, "Value": v})).collect::<Vec<_>>(),
        }))
        .unwrap();
        self.core
            .create_secret(&self.root(), Validated::new(req).unwrap())
            .unwrap()
            .arn
    }
}

/// The root sets `policy` as the resource policy of `secret_id`.
fn put_policy(w: &World, secret_id: &str, policy: &str) {
    let req: PutResourcePolicyRequest = serde_json::from_value(
        serde_json::json!({"SecretId": secret_id, "ResourcePolicy": policy}),
    )
    .unwrap();
    w.core
        .put_resource_policy(&w.root(), Validated::new(req).unwrap())
        .unwrap();
}

/// The resource policy of `secret_id` as the root reads it back.
fn shown_policy(w: &World, secret_id: &str) -> Option<String> {
    let req = serde_json::from_value(serde_json::json!({"SecretId": secret_id})).unwrap();
    w.core
        .get_resource_policy(&w.root(), Validated::new(req).unwrap())
        .unwrap()
        .resource_policy
}

fn uuid() -> String {
    format!("{:032x}", rand_u128())
}

fn rand_u128() -> u128 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    u128::from(N.fetch_add(1, Ordering::Relaxed)) << 64 | u128::from(std::process::id())
}

fn get(core: &Core, ctx: &RequestContext, id: &str) -> Result<String, CoreError> {
    let req: GetSecretValueRequest =
        serde_json::from_value(serde_json::json!({ "SecretId": id })).unwrap();
    core.get_secret_value(ctx, Validated::new(req).unwrap())
        .map(|r| r.version_id)
}

fn denied(r: Result<impl std::fmt::Debug, CoreError>) -> String {
    match r {
        Err(CoreError::AccessDenied { message, .. }) => message,
        other => panic!("expected AccessDenied, got {other:?}"),
    }
}

#[test]
fn a_user_reads_exactly_the_secret_its_policy_names() {
    let w = world();
    let allowed = w.create("openai/prod", "sk-1", &[]);
    let other = w.create("anthropic/prod", "sk-2", &[]);
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"{allowed}"}}]}}"#
    );
    let alice = w.user("alice", Some(&policy), &[]);

    assert!(get(&w.core, &alice, "openai/prod").is_ok());
    assert!(get(&w.core, &alice, &allowed).is_ok());
    // AWS names the secret as the request did.
    let msg = denied(get(&w.core, &alice, "anthropic/prod"));
    assert_eq!(
        msg,
        "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: secretsmanager:GetSecretValue on resource: anthropic/prod because no identity-based policy allows the secretsmanager:GetSecretValue action"
    );
    let msg = denied(get(&w.core, &alice, &other));
    assert!(
        msg.contains(&format!("on resource: {other} because")),
        "{msg}"
    );
    // Other operations on the allowed secret are denied too.
    let describe: SecretIdRequest =
        serde_json::from_value(serde_json::json!({"SecretId": allowed})).unwrap();
    denied(
        w.core
            .describe_secret(&alice, Validated::new(describe).unwrap()),
    );
    denied(w.core.list_secrets(
        &alice,
        Validated::new(ListSecretsRequest::default()).unwrap(),
    ));
}

#[test]
fn a_missing_secret_is_denied_not_revealed_to_those_without_access() {
    let w = world();
    let alice = w.user("alice", None, &[]);
    denied(get(&w.core, &alice, "does/not/exist"));
    // The root may learn it does not exist.
    assert!(matches!(
        get(&w.core, &w.root(), "does/not/exist"),
        Err(CoreError::ResourceNotFound(_))
    ));
}

#[test]
fn explicit_deny_in_a_resource_policy_binds_even_the_root() {
    let w = world();
    let arn = w.create("locked", "v", &[]);
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
    put_policy(&w, &arn, policy);
    let msg = denied(get(&w.core, &w.root(), &arn));
    assert!(
        msg.ends_with("with an explicit deny in a resource-based policy"),
        "{msg}"
    );
}

#[test]
fn a_resource_policy_can_grant_a_user_of_the_account() {
    let w = world();
    let arn = w.create("shared", "v", &[]);
    let bob = w.user("bob", None, &[]);
    denied(get(&w.core, &bob, &arn));
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/bob"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
    put_policy(&w, &arn, policy);
    assert!(get(&w.core, &bob, &arn).is_ok());
}

#[test]
fn tag_conditions_allow_by_team() {
    let w = world();
    let ml = w.create("ml/key", "v", &[("team", "ml")]);
    let web = w.create("web/key", "v", &[("team", "web")]);
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*","Condition":{"StringEquals":{"secretsmanager:ResourceTag/team":"${aws:PrincipalTag/team}"}}}]}"#;
    let carol = w.user("carol", Some(policy), &[("team", "ml")]);
    assert!(get(&w.core, &carol, &ml).is_ok());
    denied(get(&w.core, &carol, &web));
}

#[test]
fn identity_deny_beats_allow_and_create_is_authorized_before_existence() {
    let w = world();
    w.create("taken", "v", &[]);
    let policy = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"secretsmanager:*","Resource":"*"},
        {"Effect":"Deny","Action":"secretsmanager:CreateSecret","Resource":"*","Condition":{"StringLike":{"secretsmanager:Name":"taken*"}}}]}"#;
    let dave = w.user("dave", Some(policy), &[]);
    let req: CreateSecretRequest = serde_json::from_value(
        serde_json::json!({"Name": "taken", "SecretString": "x", "ClientRequestToken": uuid()}),
    )
    .unwrap();
    let msg = denied(w.core.create_secret(&dave, Validated::new(req).unwrap()));
    assert!(
        msg.ends_with("with an explicit deny in an identity-based policy"),
        "{msg}"
    );
    let req: CreateSecretRequest = serde_json::from_value(
        serde_json::json!({"Name": "fresh", "SecretString": "x", "ClientRequestToken": uuid()}),
    )
    .unwrap();
    assert!(w
        .core
        .create_secret(&dave, Validated::new(req).unwrap())
        .is_ok());
}

#[test]
fn batch_get_reports_denied_secrets_per_secret() {
    let w = world();
    let a = w.create("a", "1", &[]);
    let b = w.create("b", "2", &[]);
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["secretsmanager:BatchGetSecretValue"],"Resource":"*"}},{{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"{a}"}}]}}"#
    );
    let erin = w.user("erin", Some(&policy), &[]);
    let req: BatchGetSecretValueRequest =
        serde_json::from_value(serde_json::json!({"SecretIdList": [a, b]})).unwrap();
    let resp = w
        .core
        .batch_get_secret_value(&erin, Validated::new(req).unwrap())
        .unwrap();
    assert_eq!(resp.secret_values.len(), 1);
    assert_eq!(resp.errors.len(), 1);
    assert_eq!(resp.errors[0].error_code, "AccessDeniedException");
    assert_eq!(resp.errors[0].secret_id, b);
}

fn batch_filtered(
    w: &World,
    ctx: &RequestContext,
    key: &str,
    value: &str,
) -> Result<BatchGetSecretValueResponse, CoreError> {
    let req: BatchGetSecretValueRequest =
        serde_json::from_value(serde_json::json!({"Filters": [{"Key": key, "Values": [value]}]}))
            .unwrap();
    w.core
        .batch_get_secret_value(ctx, Validated::new(req).unwrap())
}

#[test]
fn batch_get_with_filters_needs_list_secrets_and_never_matches_an_unlistable_secret() {
    let w = world();
    let mine = w.create("team-a/key", "1", &[("owner", "alice")]);
    w.create("team-b/key", "2", &[("owner", "bob-secret-project")]);
    // Reading one secret and batch-reading is not listing: filters are refused outright, so
    // they cannot enumerate names or probe tag values by prefix.
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"secretsmanager:BatchGetSecretValue","Resource":"*"}},{{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"{mine}"}}]}}"#
    );
    let erin = w.user("erin", Some(&policy), &[]);
    let msg = denied(batch_filtered(&w, &erin, "name", "team"));
    assert!(msg.contains("secretsmanager:ListSecrets"), "{msg}");
    denied(batch_filtered(&w, &erin, "tag-value", "bob-secret"));

    // With ListSecrets, a secret the caller may not list (a Deny on it) matches no filter.
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Effect":"Allow","Action":["secretsmanager:BatchGetSecretValue","secretsmanager:ListSecrets"],"Resource":"*"}},
            {{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"{mine}"}},
            {{"Effect":"Deny","Action":"secretsmanager:ListSecrets","Resource":"*","Condition":{{"StringEquals":{{"secretsmanager:ResourceTag/owner":"bob-secret-project"}}}}}}]}}"#
    );
    let fay = w.user("fay", Some(&policy), &[]);
    let resp = batch_filtered(&w, &fay, "name", "team").unwrap();
    assert_eq!(resp.secret_values.len(), 1);
    assert!(
        resp.errors.is_empty(),
        "{:?}",
        resp.errors.iter().map(|e| &e.secret_id).collect::<Vec<_>>()
    );
    let resp = batch_filtered(&w, &fay, "tag-value", "bob-secret").unwrap();
    assert!(resp.secret_values.is_empty() && resp.errors.is_empty());
}

fn create_as(
    w: &World,
    ctx: &RequestContext,
    name: &str,
    value: &str,
    token: &str,
) -> Result<ArnNameVersion, CoreError> {
    let req: CreateSecretRequest = serde_json::from_value(serde_json::json!({
        "Name": name, "SecretString": value, "ClientRequestToken": token,
    }))
    .unwrap();
    w.core.create_secret(ctx, Validated::new(req).unwrap())
}

#[test]
fn create_secret_does_not_confirm_a_guessed_value_to_a_caller_who_cannot_read_it() {
    let w = world();
    let token = "11111111-2222-3333-4444-555555555555";
    create_as(&w, &w.root(), "prod/db", "hunter2", token).unwrap();
    // The owner's retry (same token, same value) is idempotent.
    assert!(create_as(&w, &w.root(), "prod/db", "hunter2", token).is_ok());

    // A caller who may create secrets but not read or write this one gets the same answer
    // for the right value and a wrong one.
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:CreateSecret","Resource":"*"}]}"#;
    let mallory = w.user("mallory", Some(policy), &[]);
    let right = create_as(&w, &mallory, "prod/db", "hunter2", token).unwrap_err();
    let wrong = create_as(&w, &mallory, "prod/db", "letmein", token).unwrap_err();
    assert_eq!(right.aws_code(), "ResourceExistsException");
    assert_eq!(
        (right.aws_code(), right.message()),
        (wrong.aws_code(), wrong.message())
    );

    // A Deny in the secret's resource policy binds as well.
    let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
    put_policy(&w, "prod/db", deny);
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["secretsmanager:CreateSecret","secretsmanager:GetSecretValue"],"Resource":"*"}]}"#;
    let reader = w.user("reader", Some(policy), &[]);
    let right = create_as(&w, &reader, "prod/db", "hunter2", token).unwrap_err();
    assert_eq!(right.aws_code(), "ResourceExistsException");
}

#[test]
fn a_denied_caller_cannot_tell_an_existing_secret_from_a_missing_one() {
    let w = world();
    let arn = w.create("payments/stripe", "sk_live", &[]);
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:*:*:secret:public/*"}]}"#;
    let eve = w.user("eve", Some(policy), &[]);
    let suffixless = arn.rsplit_once('-').unwrap().0.to_owned();
    let pairs = [
        ("payments/stripe", "payments/stripe-nope"),
        (
            suffixless.as_str(),
            "arn:aws:secretsmanager:us-east-1:111122223333:secret:payments/nope",
        ),
    ];
    for (existing, missing) in pairs {
        let a = denied(get(&w.core, &eve, existing));
        let b = denied(get(&w.core, &eve, missing));
        assert_eq!(a.replace(existing, "<ID>"), b.replace(missing, "<ID>"));
        assert!(!a.contains(&arn), "the stored ARN leaked: {a}");
    }
    // A Deny in the secret's own policy does not show through either.
    let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"secretsmanager:*","Resource":"*"}]}"#;
    put_policy(&w, &arn, deny);
    let a = denied(get(&w.core, &eve, "payments/stripe"));
    let b = denied(get(&w.core, &eve, "payments/missing"));
    assert_eq!(
        a.replace("payments/stripe", "<ID>"),
        b.replace("payments/missing", "<ID>")
    );
    assert!(
        a.ends_with(
            "because no identity-based policy allows the secretsmanager:GetSecretValue action"
        ),
        "{a}"
    );
}

#[test]
fn an_arn_of_another_partition_names_no_secret() {
    let w = world();
    let arn = w.create("openai/prod", "sk", &[]);
    assert!(get(&w.core, &w.root(), &arn).is_ok());
    for partition in ["aws-cn", "aws-us-gov"] {
        let other = arn.replacen("arn:aws:", &format!("arn:{partition}:"), 1);
        assert!(
            matches!(
                get(&w.core, &w.root(), &other),
                Err(CoreError::ResourceNotFound(_))
            ),
            "{other}"
        );
    }
}

#[test]
fn a_resource_policy_names_the_user_that_existed_not_a_recreated_one() {
    let w = world();
    let arn = w.create("shared/key", "v", &[]);
    let bob = w.user("bob", None, &[]);
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/bob"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
    put_policy(&w, &arn, policy);
    assert!(get(&w.core, &bob, &arn).is_ok());
    let shown = shown_policy(&w, &arn);
    assert_eq!(shown.as_deref(), Some(policy), "shown as written");

    // bob is deleted and created again: a new unique id, not the bob the policy named.
    w.core.store().delete_user(&w.account, "bob").unwrap();
    w.core
        .store()
        .create_user(&UserRecord {
            account: w.account.clone(),
            user_name: "bob".into(),
            user_id: "AIDANEWBOB000000000".into(),
            arn: "arn:aws:iam::111122223333:user/bob".into(),
            path: "/".into(),
            tags: vec![],
            created: Timestamp::now(),
        })
        .unwrap();
    let new_bob = w.ctx(Principal {
        account: w.account.clone(),
        arn: "arn:aws:iam::111122223333:user/bob".into(),
        kind: PrincipalKind::User {
            name: "bob".into(),
            id: "AIDANEWBOB000000000".into(),
        },
        access_key_id: "AKIANEWBOB".into(),
        tags: vec![],
    });
    denied(get(&w.core, &new_bob, &arn));
    let shown = shown_policy(&w, &arn);
    let doc = shown.unwrap();
    assert!(
        doc.contains("\"AIDABOB\"") && !doc.contains("user/bob"),
        "{doc}"
    );
}

#[test]
fn a_resource_policy_naming_a_user_that_does_not_exist_is_refused() {
    let w = world();
    let arn = w.create("shared/later", "v", &[]);
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/not-yet"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
    let req: PutResourcePolicyRequest =
        serde_json::from_value(serde_json::json!({"SecretId": arn, "ResourcePolicy": policy}))
            .unwrap();
    let err = w
        .core
        .put_resource_policy(&w.root(), Validated::new(req).unwrap())
        .unwrap_err();
    assert_eq!(err.aws_code(), "MalformedPolicyDocumentException");
    // Nothing was stored: a user created later under that name gets nothing.
    let later = w.user("not-yet", None, &[]);
    denied(get(&w.core, &later, &arn));
    let shown = shown_policy(&w, &arn);
    assert!(shown.is_none());
}
