//! `Core::kms_key_for_use`, the one way the cryptographic operations and Secrets Manager get a
//! key: the key policy decides with the request's KMS condition keys (`kms:ViaService`,
//! `kms:CallerAccount`, `kms:EncryptionContext:*`), then the key's state.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;

use serde_json::{json, Value};
use support::root;
use tresor_core::kms::keys::KeyUse;
use tresor_core::validate::{Validate, Validated};
use tresor_core::{bootstrap, Core, CoreError, KmsError, RequestContext, StoreBackend};
use tresor_crypto::EncryptionContext;
use tresor_store::SqliteStore;
use tresor_types::AccountId;

fn start(dir: &std::path::Path) -> (Core, RequestContext) {
    let store = StoreBackend::Sqlite(SqliteStore::open(&dir.join("tresor.db")).unwrap());
    let account = AccountId::parse("111122223333").unwrap();
    let (keyring, _creds) = bootstrap::dev(&store, &account, None).unwrap();
    (Core::new(store, keyring).unwrap(), root(&account))
}

fn request<T: serde::de::DeserializeOwned + Validate>(body: Value) -> Validated<T> {
    Validated::new(serde_json::from_value(body).unwrap()).unwrap()
}

fn create_key(core: &Core, ctx: &RequestContext, policy: Option<Value>) -> String {
    let body = match policy {
        Some(p) => json!({"Policy": p.to_string()}),
        None => json!({}),
    };
    core.create_key(ctx, request(body))
        .unwrap()
        .key_metadata
        .key_id
}

fn denied(result: Result<tresor_store::KmsKeyRecord, CoreError>) -> bool {
    matches!(result, Err(CoreError::AccessDenied { .. }))
}

#[test]
fn the_managed_key_is_usable_only_through_secrets_manager() {
    let dir = tempfile::tempdir().unwrap();
    let (core, ctx) = start(dir.path());
    let through = KeyUse {
        action: "kms:GenerateDataKey",
        encryption_context: None,
        via_service: Some("secretsmanager.us-east-1.amazonaws.com"),
    };
    let key = core
        .kms_key_for_use(&ctx, "alias/aws/secretsmanager", &through)
        .unwrap();
    assert!(key
        .arn
        .starts_with("arn:aws:kms:us-east-1:111122223333:key/"));
    let direct = KeyUse {
        via_service: None,
        ..through
    };
    assert!(denied(core.kms_key_for_use(
        &ctx,
        "alias/aws/secretsmanager",
        &direct
    )));
    let elsewhere = KeyUse {
        action: "kms:Decrypt",
        via_service: Some("secretsmanager.eu-west-1.amazonaws.com"),
        ..through
    };
    assert!(denied(core.kms_key_for_use(&ctx, &key.key_id, &elsewhere)));
}

#[test]
fn encryption_context_conditions_decide() {
    let dir = tempfile::tempdir().unwrap();
    let (core, ctx) = start(dir.path());
    let key = create_key(
        &core,
        &ctx,
        Some(json!({
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                 "Action": ["kms:PutKeyPolicy", "kms:DescribeKey"], "Resource": "*"},
                {"Sid": "Use", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                 "Action": "kms:Encrypt", "Resource": "*",
                 "Condition": {"StringEquals": {"kms:EncryptionContext:project": "tresor"},
                               "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["project", "file"]}}}
            ]
        })),
    );
    let context = |pairs: &[(&str, &str)]| {
        EncryptionContext(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        )
    };
    let use_with = |ec: &EncryptionContext| {
        core.kms_key_for_use(
            &ctx,
            &key,
            &KeyUse {
                action: "kms:Encrypt",
                encryption_context: Some(ec),
                via_service: None,
            },
        )
    };
    use_with(&context(&[("project", "tresor")])).unwrap();
    use_with(&context(&[("project", "tresor"), ("file", "a")])).unwrap();
    assert!(denied(use_with(&context(&[("project", "other")]))));
    assert!(denied(use_with(&context(&[
        ("project", "tresor"),
        ("extra", "x")
    ]))));
    assert!(denied(core.kms_key_for_use(
        &ctx,
        &key,
        &KeyUse {
            action: "kms:Encrypt",
            encryption_context: None,
            via_service: None,
        }
    )));
    let unknown = uuid::Uuid::new_v4().to_string();
    let missing = core.kms_key_for_use(
        &ctx,
        &unknown,
        &KeyUse {
            action: "kms:Encrypt",
            encryption_context: None,
            via_service: None,
        },
    );
    assert!(
        matches!(&missing, Err(CoreError::Kms(KmsError::NotFound, m)) if m.contains(&unknown)),
        "{missing:?}"
    );
}

#[test]
fn a_disabled_key_is_refused_for_use_and_comes_back_when_enabled() {
    let dir = tempfile::tempdir().unwrap();
    let (core, ctx) = start(dir.path());
    let key = create_key(&core, &ctx, None);
    let usage = KeyUse {
        action: "kms:Decrypt",
        encryption_context: None,
        via_service: None,
    };
    core.kms_key_for_use(&ctx, &key, &usage).unwrap();
    core.disable_key(&ctx, request(json!({"KeyId": key})))
        .unwrap();
    let err = core.kms_key_for_use(&ctx, &key, &usage).unwrap_err();
    let arn = format!("arn:aws:kms:us-east-1:111122223333:key/{key}");
    assert!(
        matches!(&err, CoreError::Kms(KmsError::Disabled, m) if *m == format!("{arn} is disabled.")),
        "{err:?}"
    );
    core.enable_key(&ctx, request(json!({"KeyId": key})))
        .unwrap();
    core.kms_key_for_use(&ctx, &key, &usage).unwrap();
}
