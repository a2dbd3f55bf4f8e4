//! Replication on both store backends (SQLite always, PostgreSQL when reachable): a replica
//! follows writes to its primary in the write's own transaction, so a transaction rolled back
//! after the write changes neither; a replica is sealed under its region's key, bound to its
//! own ARN; removing the region deletes it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test support code

mod support;

use serde_json::{json, Value};
use support::root;
use tresor_core::validate::{Validate, Validated};
use tresor_core::{bootstrap, Core, CoreError, RequestContext, StoreBackend};
use tresor_store::testkit::postgres::TestDb;
use tresor_store::{SqliteStore, Store};
use tresor_types::{AccountId, Region};

fn request<T: serde::de::DeserializeOwned + Validate>(body: Value) -> Validated<T> {
    Validated::new(serde_json::from_value(body).unwrap()).unwrap()
}

fn value(core: &Core, ctx: &RequestContext, id: &str, stage: &str) -> Result<String, CoreError> {
    let got = core.get_secret_value(
        ctx,
        request(json!({ "SecretId": id, "VersionStage": stage })),
    )?;
    Ok(String::from_utf8(got.secret_string.unwrap().0.expose().to_vec()).unwrap())
}

fn put(core: &Core, ctx: &RequestContext, id: &str, v: &str, token: &str) -> Result<(), CoreError> {
    core.put_secret_value(
        ctx,
        request(json!({"SecretId": id, "SecretString": v, "ClientRequestToken": token})),
    )
    .map(drop)
}

fn token() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn replication_follows_writes(store: StoreBackend) {
    let account = AccountId::parse("111122223333").unwrap();
    let (keyring, _creds) = bootstrap::dev(&store, &account, None).unwrap();
    let core = Core::new(store, keyring).unwrap();
    let home = root(&account);
    let away = RequestContext {
        region: Region::parse("eu-west-1").unwrap(),
        ..root(&account)
    };

    let created = core
        .atomically(|| {
            core.create_secret(
                &home,
                request(json!({
                    "Name": "db",
                    "SecretString": "v1",
                    "ClientRequestToken": token(),
                    "AddReplicaRegions": [{"Region": "eu-west-1"}],
                })),
            )
        })
        .unwrap();
    let status = created.replication_status.unwrap();
    assert_eq!(
        (status[0].region.as_str(), status[0].status.as_str()),
        ("eu-west-1", "InSync")
    );
    let replica_arn = created.arn.replace(":us-east-1:", ":eu-west-1:");
    assert_eq!(value(&core, &away, "db", "AWSCURRENT").unwrap(), "v1");

    // The replica's envelope is its own: bound to its ARN, under its region's key.
    let versions = core
        .list_secret_version_ids(&away, request(json!({ "SecretId": "db" })))
        .unwrap();
    let home_versions = core
        .list_secret_version_ids(&home, request(json!({ "SecretId": "db" })))
        .unwrap();
    assert_eq!(versions.arn, replica_arn);
    assert_ne!(
        versions.versions[0].kms_key_ids,
        home_versions.versions[0].kms_key_ids
    );
    let version = &versions.versions[0].version_id;
    let primary_envelope = core
        .store()
        .read_envelope(&created.arn, version)
        .unwrap()
        .unwrap();
    let replica_envelope = core
        .store()
        .read_envelope(&replica_arn, version)
        .unwrap()
        .unwrap();
    assert_ne!(primary_envelope, replica_envelope);

    put(&core, &home, "db", "v2", &token()).unwrap();
    assert_eq!(value(&core, &away, "db", "AWSCURRENT").unwrap(), "v2");
    assert_eq!(value(&core, &away, "db", "AWSPREVIOUS").unwrap(), "v1");

    // A write whose transaction is rolled back afterwards leaves both as they were.
    let rolled_back: Result<(), CoreError> = core.atomically(|| {
        put(&core, &home, "db", "v3", &token())?;
        Err(CoreError::Internal(
            "the audit record could not be written".to_owned(),
        ))
    });
    assert!(rolled_back.is_err());
    assert_eq!(value(&core, &home, "db", "AWSCURRENT").unwrap(), "v2");
    assert_eq!(value(&core, &away, "db", "AWSCURRENT").unwrap(), "v2");

    // Writes to the replica are refused.
    match put(&core, &away, "db", "mine", &token()) {
        Err(CoreError::InvalidParameter(m)) => assert_eq!(
            m,
            "Operation not permitted on a replica secret. Call must be made in primary secret's region."
        ),
        other => panic!("a write to a replica was not refused: {other:?}"),
    }

    core.atomically(|| {
        core.remove_regions_from_replication(
            &home,
            request(json!({"SecretId": "db", "RemoveReplicaRegions": ["eu-west-1"]})),
        )
    })
    .unwrap();
    assert!(core
        .store()
        .find_secret_by_arn(&replica_arn)
        .unwrap()
        .is_none());
    assert!(matches!(
        value(&core, &away, "db", "AWSCURRENT"),
        Err(CoreError::ResourceNotFound(_))
    ));
}

#[test]
fn replication_follows_writes_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("tresor.db")).unwrap();
    replication_follows_writes(StoreBackend::Sqlite(store));
}

#[test]
fn replication_follows_writes_on_postgres() {
    let Some(db) = TestDb::create("tresor_core_replication") else {
        return;
    };
    replication_follows_writes(StoreBackend::Postgres(db.open()));
}
