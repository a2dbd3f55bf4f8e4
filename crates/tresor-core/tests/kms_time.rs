//! What time decides for a KMS key, applied when the key is next loaded: a key whose deletion
//! date has passed is destroyed with its material (gone for good: `NotFoundException`, nothing
//! left in the store, nothing to decrypt with); a key whose rotation is due gets its new
//! versions, dated when they were due, and old versions stay. The test moves the request's
//! clock instead of waiting.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{json, Value};
use support::root;
use tresor_core::kms::keys::{KeyUse, Naming};
use tresor_core::validate::{Validate, Validated};
use tresor_core::{bootstrap, Core, CoreError, KmsError, RequestContext, StoreBackend};
use tresor_store::{AuditStore, KeyVersionOrigin, KmsStore, SqliteStore, Store};
use tresor_types::{AccountId, Timestamp};

const DAY: i64 = 86_400_000;

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
    core.create_key(ctx, request(json!({"Description": "timed"})))
        .unwrap()
        .key_metadata
        .key_id
}

#[test]
fn a_key_is_destroyed_once_its_deletion_date_passes() {
    let dir = tempfile::tempdir().unwrap();
    let (core, ctx) = start(dir.path());
    let key = create_key(&core, &ctx);
    core.schedule_key_deletion(
        &ctx,
        request(json!({"KeyId": key, "PendingWindowInDays": 7})),
    )
    .unwrap();

    // Six days on: still there, pending deletion, unusable.
    let six = later(&ctx, 6);
    let loaded = core.kms_load_key(&six, &key, Naming::KeyOnly).unwrap();
    assert_eq!(loaded.meta.state.as_str(), "PendingDeletion");
    let usage = KeyUse {
        action: "kms:Encrypt",
        encryption_context: None,
        via_service: None,
    };
    let pending = core.kms_key_for_use(&six, &key, &usage).unwrap_err();
    assert!(
        matches!(&pending, CoreError::Kms(KmsError::InvalidState, m) if m.ends_with("is pending deletion.")),
        "{pending:?}"
    );

    // Eight days on: gone, material and all.
    let eight = later(&ctx, 8);
    let gone = core
        .describe_key(&eight, request(json!({"KeyId": key})))
        .unwrap_err();
    assert!(
        matches!(&gone, CoreError::Kms(KmsError::NotFound, m) if m.contains("does not exist")),
        "{gone:?}"
    );
    let scope = ctx.scope();
    assert_eq!(core.store().get_kms_key(&scope, &key).unwrap(), None);
    assert!(core
        .store()
        .kms_key_versions(&scope, &key)
        .unwrap()
        .is_empty());
    // A cancel comes too late.
    assert!(core
        .cancel_key_deletion(&eight, request(json!({"KeyId": key})))
        .is_err());
}

#[test]
fn the_sweep_destroys_a_key_nobody_uses_again_and_records_it() {
    let dir = tempfile::tempdir().unwrap();
    let (core, ctx) = start(dir.path());
    let doomed = create_key(&core, &ctx);
    let kept = create_key(&core, &ctx);
    for key in [&doomed, &kept] {
        core.schedule_key_deletion(
            &ctx,
            request(
                json!({"KeyId": key, "PendingWindowInDays": if key == &doomed { 7 } else { 30 }}),
            ),
        )
        .unwrap();
    }
    let scope = ctx.scope();
    // Before the date the sweep leaves both; after the first one's, only that one goes.
    assert_eq!(core.destroy_due_kms_keys(later(&ctx, 6).now).unwrap(), 0);
    assert_eq!(core.destroy_due_kms_keys(later(&ctx, 8).now).unwrap(), 1);
    assert_eq!(core.store().get_kms_key(&scope, &doomed).unwrap(), None);
    assert!(core
        .store()
        .kms_key_versions(&scope, &doomed)
        .unwrap()
        .is_empty());
    assert!(core.store().get_kms_key(&scope, &kept).unwrap().is_some());
    // A second sweep finds nothing more to do.
    assert_eq!(core.destroy_due_kms_keys(later(&ctx, 9).now).unwrap(), 0);
    // Recorded with the destruction, in its transaction: KMS's own `DeleteKey` event.
    let deletions: Vec<Value> = core
        .store()
        .read_audit(1, 1_000_000)
        .unwrap()
        .into_iter()
        .map(|r| serde_json::from_str::<Value>(&r.event_json).unwrap())
        .filter(|e| e["eventName"] == "DeleteKey")
        .collect();
    assert_eq!(deletions.len(), 1, "{deletions:?}");
    let e = &deletions[0];
    assert_eq!(e["eventType"], "AwsServiceEvent");
    assert_eq!(e["eventSource"], "kms.amazonaws.com");
    assert!(
        e["resources"][0]["ARN"]
            .as_str()
            .unwrap()
            .ends_with(&doomed),
        "{e}"
    );
}

#[test]
fn a_cancelled_deletion_never_happens() {
    let dir = tempfile::tempdir().unwrap();
    let (core, ctx) = start(dir.path());
    let key = create_key(&core, &ctx);
    core.schedule_key_deletion(
        &ctx,
        request(json!({"KeyId": key, "PendingWindowInDays": 7})),
    )
    .unwrap();
    core.cancel_key_deletion(&ctx, request(json!({"KeyId": key})))
        .unwrap();
    let much_later = later(&ctx, 60);
    let meta = core
        .describe_key(&much_later, request(json!({"KeyId": key})))
        .unwrap()
        .key_metadata;
    assert_eq!(meta.key_state, "Disabled");
}

#[test]
fn automatic_rotation_adds_the_versions_that_came_due() {
    let dir = tempfile::tempdir().unwrap();
    let (core, ctx) = start(dir.path());
    let key = create_key(&core, &ctx);
    core.enable_key_rotation(
        &ctx,
        request(json!({"KeyId": key, "RotationPeriodInDays": 90})),
    )
    .unwrap();
    let scope = ctx.scope();

    let before = later(&ctx, 89);
    core.kms_load_key(&before, &key, Naming::KeyOnly).unwrap();
    assert_eq!(
        core.store().kms_key_versions(&scope, &key).unwrap().len(),
        1
    );

    // 200 days on: the rotations due at day 90 and day 180.
    let after = later(&ctx, 200);
    let loaded = core.kms_load_key(&after, &key, Naming::KeyOnly).unwrap();
    assert_eq!(
        loaded
            .record
            .versions
            .iter()
            .map(|(v, _)| *v)
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let versions = core.store().kms_key_versions(&scope, &key).unwrap();
    let dates: Vec<i64> = versions
        .iter()
        .skip(1)
        .map(|v| (v.created.0 - ctx.now.0) / DAY)
        .collect();
    assert_eq!(dates, [90, 180]);
    assert!(versions
        .iter()
        .skip(1)
        .all(|v| v.origin == KeyVersionOrigin::Automatic));
    let status = core
        .get_key_rotation_status(&after, request(json!({"KeyId": key})))
        .unwrap();
    assert_eq!(
        status.next_rotation_date.map(|d| (d.0 - ctx.now.0) / DAY),
        Some(270)
    );
    let listed = core
        .list_key_rotations(&after, request(json!({"KeyId": key})))
        .unwrap();
    assert_eq!(
        listed
            .rotations
            .iter()
            .map(|r| r.rotation_type)
            .collect::<Vec<_>>(),
        ["AUTOMATIC", "AUTOMATIC"]
    );
    // Loading again adds nothing more.
    core.kms_load_key(&after, &key, Naming::KeyOnly).unwrap();
    assert_eq!(
        core.store().kms_key_versions(&scope, &key).unwrap().len(),
        3
    );
}
