//! Every Secrets Manager operation is authorized: identity policies, the secret's resource
//! policy, explicit denies, conditions — driven through the core with a real SQLite store.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test support code

use tresor_core::secretsmanager::dto::*;
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
        self.core.create_secret(&self.root(), req).unwrap().arn
    }
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
    core.get_secret_value(ctx, req).map(|r| r.version_id)
}

fn denied(r: Result<impl std::fmt::Debug, CoreError>) -> String {
    match r {
        Err(CoreError::AccessDenied(m)) => m,
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
    let msg = denied(get(&w.core, &alice, "anthropic/prod"));
    assert_eq!(
        msg,
        format!(
            "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: secretsmanager:GetSecretValue on resource: {other} because no identity-based policy allows the secretsmanager:GetSecretValue action"
        )
    );
    // Other operations on the allowed secret are denied too.
    let describe: SecretIdRequest =
        serde_json::from_value(serde_json::json!({"SecretId": allowed})).unwrap();
    denied(w.core.describe_secret(&alice, describe));
    denied(w.core.list_secrets(&alice, ListSecretsRequest::default()));
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
    let req: PutResourcePolicyRequest =
        serde_json::from_value(serde_json::json!({"SecretId": arn, "ResourcePolicy": policy}))
            .unwrap();
    w.core.put_resource_policy(&w.root(), req).unwrap();
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
    let req: PutResourcePolicyRequest =
        serde_json::from_value(serde_json::json!({"SecretId": arn, "ResourcePolicy": policy}))
            .unwrap();
    w.core.put_resource_policy(&w.root(), req).unwrap();
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
    let msg = denied(w.core.create_secret(&dave, req));
    assert!(
        msg.ends_with("with an explicit deny in an identity-based policy"),
        "{msg}"
    );
    let req: CreateSecretRequest = serde_json::from_value(
        serde_json::json!({"Name": "fresh", "SecretString": "x", "ClientRequestToken": uuid()}),
    )
    .unwrap();
    assert!(w.core.create_secret(&dave, req).is_ok());
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
    let resp = w.core.batch_get_secret_value(&erin, req).unwrap();
    assert_eq!(resp.secret_values.len(), 1);
    assert_eq!(resp.errors.len(), 1);
    assert_eq!(resp.errors[0].error_code, "AccessDeniedException");
    assert_eq!(resp.errors[0].secret_id, b);
}
