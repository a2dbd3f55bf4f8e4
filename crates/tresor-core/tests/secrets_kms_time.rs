//! A secret under a customer KMS key whose deletion completes is unreadable for good: the
//! value is sealed under material that no longer exists anywhere. Until then, cancelling the
//! deletion and enabling the key brings it back. The test moves the request's clock instead
//! of waiting out the waiting period.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{json, Value};
use support::root;
use tresor_core::validate::{Validate, Validated};
use tresor_core::{bootstrap, Core, CoreError, RequestContext, StoreBackend};
use tresor_store::SqliteStore;
use tresor_types::{AccountId, Timestamp};

const DAY: i64 = 86_400_000;
const DECRYPTION_FAILURE: &str =
    "Secrets Manager can't decrypt the protected secret text using the provided KMS key.";

fn start(dir: &std::path::Path) -> (Core, RequestContext) {
    let store = StoreBackend::Sqlite(SqliteStore::open(&dir.join("tresor.db")).unwrap());
    let account = AccountId::parse("111122223333").unwrap();
    let (keyring, _creds) = bootstrap::dev(&store, &account, None).unwrap();
    (Core::new(store, keyring).unwrap(), root(&account))
}

fn request<T: serde::de::DeserializeOwned + Validate>(body: Value) -> Validated<T> {
    Validated::new(serde_json::from_value(body).unwrap()).unwrap()
}

fn later(ctx: &RequestContext, days: i64) -> RequestContext {
    RequestContext {
        now: Timestamp(ctx.now.0 + days * DAY),
        ..ctx.clone()
    }
}

fn create_key(core: &Core, ctx: &RequestContext) -> String {
    core.create_key(ctx, request(json!({"Description": "secrets"})))
        .unwrap()
        .key_metadata
        .key_id
}

fn create_secret(core: &Core, ctx: &RequestContext, name: &str, key: Option<&str>) {
    let mut body = json!({
        "Name": name,
        "SecretString": format!("value of {name}"),
        "ClientRequestToken": uuid::Uuid::new_v4().to_string(),
    });
    if let Some(key) = key {
        body["KmsKeyId"] = json!(key);
    }
    core.create_secret(ctx, request(body)).unwrap();
}

fn read(core: &Core, ctx: &RequestContext, name: &str) -> Result<String, CoreError> {
    let got = core.get_secret_value(ctx, request(json!({"SecretId": name})))?;
    let value = got.secret_string.expect("a string secret");
    Ok(String::from_utf8(value.0.expose().to_vec()).unwrap())
}

fn assert_unreadable(core: &Core, ctx: &RequestContext, name: &str) {
    match read(core, ctx, name) {
        Err(CoreError::DecryptionFailure(message)) => assert_eq!(message, DECRYPTION_FAILURE),
        other => panic!("{name} under an unusable key: {other:?}"),
    }
}

#[test]
fn a_secret_under_a_deleted_key_is_unreadable_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let (core, ctx) = start(dir.path());
    let key = create_key(&core, &ctx);
    create_secret(&core, &ctx, "doomed", Some(&key));
    create_secret(&core, &ctx, "managed", None);
    assert_eq!(read(&core, &ctx, "doomed").unwrap(), "value of doomed");

    core.schedule_key_deletion(
        &ctx,
        request(json!({"KeyId": key, "PendingWindowInDays": 7})),
    )
    .unwrap();
    assert_unreadable(&core, &later(&ctx, 6), "doomed");

    // Past the deletion date: the key and its material are gone, and so is the value.
    let eight = later(&ctx, 8);
    assert_unreadable(&core, &eight, "doomed");
    assert_unreadable(&core, &later(&ctx, 30), "doomed");
    assert_eq!(read(&core, &eight, "managed").unwrap(), "value of managed");
    // A write naming the destroyed key finds no key to seal under.
    let put = core.put_secret_value(
        &eight,
        request(json!({
            "SecretId": "doomed",
            "SecretString": "new",
            "ClientRequestToken": uuid::Uuid::new_v4().to_string(),
        })),
    );
    assert!(
        matches!(put, Err(CoreError::ResourceNotFound(_))),
        "{put:?}"
    );
    // Moving the secret to a usable key cannot rescue what nothing opens any more.
    core.update_secret(
        &eight,
        request(json!({"SecretId": "doomed", "KmsKeyId": "alias/aws/secretsmanager"})),
    )
    .unwrap();
    assert_unreadable(&core, &eight, "doomed");
}

#[test]
fn a_cancelled_deletion_and_an_enabled_key_bring_the_secret_back() {
    let dir = tempfile::tempdir().unwrap();
    let (core, ctx) = start(dir.path());
    let key = create_key(&core, &ctx);
    create_secret(&core, &ctx, "saved", Some(&key));
    core.schedule_key_deletion(
        &ctx,
        request(json!({"KeyId": key, "PendingWindowInDays": 7})),
    )
    .unwrap();
    let five = later(&ctx, 5);
    assert_unreadable(&core, &five, "saved");
    core.cancel_key_deletion(&five, request(json!({"KeyId": key})))
        .unwrap();
    // Cancelled, the key is disabled until enabled again.
    assert_unreadable(&core, &five, "saved");
    core.enable_key(&five, request(json!({"KeyId": key})))
        .unwrap();
    assert_eq!(
        read(&core, &later(&ctx, 60), "saved").unwrap(),
        "value of saved"
    );
}
