//! The recovery window: a secret deleted with a window is purged for good by the sweep that
//! runs after the window ends, and not before; a secret restored within its window is never
//! purged; each purge leaves one audit record, written with it, in which Secrets Manager itself
//! is the actor. The sweep is given the time (the server passes the current time once a minute),
//! so the test moves past the window without waiting for it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test support code

mod support;

use serde_json::{json, Value};
use support::root;
use tresor_core::secretsmanager::dto::*;
use tresor_core::validate::{Validate, Validated};
use tresor_core::{bootstrap, Core, CoreError, RequestContext, StoreBackend};
use tresor_store::{AuditStore, SqliteStore};
use tresor_types::{AccountId, Timestamp};

fn start(dir: &std::path::Path) -> (Core, RequestContext) {
    let store = StoreBackend::Sqlite(SqliteStore::open(&dir.join("tresor.db")).unwrap());
    let account = AccountId::parse("111122223333").unwrap();
    let (keyring, _creds) = bootstrap::dev(&store, &account, None).unwrap();
    (Core::new(store, keyring).unwrap(), root(&account))
}

fn request<T: serde::de::DeserializeOwned + Validate>(body: Value) -> Validated<T> {
    Validated::new(serde_json::from_value(body).unwrap()).unwrap()
}

fn create(core: &Core, ctx: &RequestContext, name: &str) -> String {
    core.create_secret(
        ctx,
        request(json!({
            "Name": name,
            "SecretString": "sk-recovery-window",
            "ClientRequestToken": uuid::Uuid::new_v4().to_string(),
        })),
    )
    .unwrap()
    .arn
}

fn delete(core: &Core, ctx: &RequestContext, arn: &str, days: i64) -> Timestamp {
    core.delete_secret(
        ctx,
        request(json!({"SecretId": arn, "RecoveryWindowInDays": days})),
    )
    .unwrap()
    .deletion_date
}

fn describe(core: &Core, ctx: &RequestContext, id: &str) -> Result<SecretDescription, CoreError> {
    core.describe_secret(ctx, request(json!({ "SecretId": id })))
}

fn get_value(core: &Core, ctx: &RequestContext, id: &str) -> Result<String, CoreError> {
    core.get_secret_value(ctx, request(json!({ "SecretId": id })))
        .map(|r| r.version_id)
}

fn assert_not_found<T: std::fmt::Debug>(r: Result<T, CoreError>) {
    match r {
        Err(e @ CoreError::ResourceNotFound(_)) => {
            assert_eq!(e.aws_code(), "ResourceNotFoundException")
        }
        other => panic!("expected ResourceNotFoundException, got {other:?}"),
    }
}

/// The trail's purge records (Secrets Manager's own `DeleteSecret` events), as stored.
fn purge_records(core: &Core) -> Vec<Value> {
    core.store()
        .read_audit(1, 1_000_000)
        .unwrap()
        .into_iter()
        .map(|r| serde_json::from_str::<Value>(&r.event_json).unwrap())
        .filter(|e| e["eventName"] == "DeleteSecret")
        .collect()
}

#[test]
fn a_secret_past_its_window_is_purged_and_the_purge_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let (core, ctx) = start(dir.path());
    let name = "openai/retired";
    let arn = create(&core, &ctx, name);
    let window_end = delete(&core, &ctx, &arn, 7);
    assert_eq!(window_end, ctx.now.plus_days(7));

    // The sweep just before the window ends leaves it, recoverable.
    assert_eq!(
        core.purge_expired_secrets(window_end.plus_seconds(-1))
            .unwrap(),
        0
    );
    assert!(describe(&core, &ctx, &arn).unwrap().deleted_date.is_some());
    assert!(purge_records(&core).is_empty());

    // The first sweep after it purges it.
    let swept_at = window_end.plus_seconds(30);
    assert_eq!(core.purge_expired_secrets(swept_at).unwrap(), 1);
    assert_not_found(get_value(&core, &ctx, &arn));
    assert_not_found(describe(&core, &ctx, &arn));
    assert_not_found(describe(&core, &ctx, name));
    assert_eq!(core.purge_expired_secrets(swept_at).unwrap(), 0);

    // The name is free again: a new secret, with another ARN.
    let again = create(&core, &ctx, name);
    assert_ne!(again, arn);
    assert!(get_value(&core, &ctx, name).is_ok());

    let records = purge_records(&core);
    assert_eq!(
        records.len(),
        1,
        "one record per purged secret: {records:?}"
    );
    let e = &records[0];
    assert_eq!(e["eventType"], "AwsServiceEvent");
    assert_eq!(e["eventSource"], "secretsmanager.amazonaws.com");
    assert_eq!(e["readOnly"], false);
    assert_eq!(
        e["userIdentity"],
        json!({"type": "AWSService", "accountId": "111122223333",
               "invokedBy": "secretsmanager.amazonaws.com"})
    );
    assert_eq!(e["sourceIPAddress"], "secretsmanager.amazonaws.com");
    assert_eq!(e["recipientAccountId"], "111122223333");
    assert_eq!(e["awsRegion"], "us-east-1");
    assert_eq!(
        e["resources"],
        json!([{"ARN": arn, "accountId": "111122223333", "type": "AWS::SecretsManager::Secret"}])
    );
    assert_eq!(e["responseElements"], json!({"ARN": arn, "Name": name}));
    assert_eq!(
        e["additionalEventData"]["DeletionDate"],
        json!(window_end.epoch_seconds())
    );
    // The record is timed by the sweep that purged, not by the wall clock.
    let when = tresor_audit::AuditEvent::from_json(&e.to_string()).unwrap();
    assert_eq!(when.event_time.millis() / 1000, swept_at.millis() / 1000);
}

#[test]
fn a_secret_within_its_window_or_restored_is_not_purged() {
    let dir = tempfile::tempdir().unwrap();
    let (core, ctx) = start(dir.path());
    let short = create(&core, &ctx, "short-window");
    let long = create(&core, &ctx, "long-window");
    let restored = create(&core, &ctx, "restored");
    let short_end = delete(&core, &ctx, &short, 7);
    let long_end = delete(&core, &ctx, &long, 30);
    let restored_end = delete(&core, &ctx, &restored, 7);
    core.restore_secret(&ctx, request(json!({ "SecretId": restored })))
        .unwrap();

    // Past the 7-day windows, within the 30-day one: only the short one goes.
    let swept_at = short_end.plus_days(1);
    assert!(swept_at > restored_end && swept_at < long_end);
    assert_eq!(core.purge_expired_secrets(swept_at).unwrap(), 1);
    assert_not_found(describe(&core, &ctx, &short));
    assert!(describe(&core, &ctx, &long).unwrap().deleted_date.is_some());
    let back = describe(&core, &ctx, &restored).unwrap();
    assert!(back.deleted_date.is_none());
    assert!(get_value(&core, &ctx, &restored).is_ok());

    // Long after every window: the one still deleted goes, the restored one stays.
    assert_eq!(
        core.purge_expired_secrets(long_end.plus_days(365)).unwrap(),
        1
    );
    assert_not_found(describe(&core, &ctx, &long));
    assert!(get_value(&core, &ctx, &restored).is_ok());

    let purged: Vec<Value> = purge_records(&core)
        .iter()
        .map(|e| e["resources"][0]["ARN"].clone())
        .collect();
    assert_eq!(purged, [json!(short), json!(long)]);
}
