//! The store conformance suite on SQLite, plus what is specific to SQLite: durability settings,
//! persistence across reopen, migrations and the database file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use tresor_store::{
    AuditQuery, AuditRow, AuditStore, Backend, CheckpointRow, IdentityStore, PrincipalKind,
    PrincipalName, RotationStore, RotatorRecord, Scope, SealedValue, SealedVersion, SecretKey,
    SecretRecord, SqliteStore, Store, StoreError, Transfer, UserRecord, VersionMeta, VersionPick,
};
use tresor_types::{AccountId, Region, Timestamp};

/// The schema version this build writes (migration 2 added identities and the audit trail,
/// 4 the listing indexes, 5 the labelled-versions index, 6 moved the audit trail out, 7 the
/// unlabelled-versions index, 8 the by-name and labelled-rows indexes, 9 the link to the trail,
/// 10 the AI gateway's tables, 11 rotation's, 12 KMS key management's, 13 replication's).
const LATEST_SCHEMA: i64 = 13;

/// The schema version of the audit trail's own file.
const LATEST_AUDIT_SCHEMA: i64 = 3;

/// The suite on a database file, with its pool of read connections.
mod file {
    use tresor_store::SqliteStore;

    fn with_store(case: fn(&SqliteStore)) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("tresor.db")).unwrap();
        case(&store);
    }

    tresor_store::conformance_tests!(SqliteStore, with_store);
}

/// The suite in memory (one connection for everything), through the start-up `Backend`.
mod in_memory {
    use tresor_store::{Backend, SqliteStore};

    fn with_store(case: fn(&Backend)) {
        case(&Backend::Sqlite(SqliteStore::open_in_memory().unwrap()));
    }

    tresor_store::conformance_tests!(Backend, with_store);
}

#[test]
fn run_all_runs_every_case() {
    tresor_store::conformance::run_all(|| Backend::Sqlite(SqliteStore::open_in_memory().unwrap()));
}

// ---- fixtures ----

fn scope() -> Scope {
    Scope {
        account: AccountId::parse("111111111111").unwrap(),
        region: Region::parse("us-east-1").unwrap(),
    }
}

fn secret(name: &str) -> (SecretRecord, SealedVersion) {
    let record = SecretRecord {
        scope: scope(),
        arn: format!("arn:aws:secretsmanager:us-east-1:111111111111:secret:{name}-AbCdEf"),
        name: name.to_owned(),
        description: Some("persisted".to_owned()),
        kms_key_id: None,
        tags: Vec::new(),
        resource_policy: None,
        rotation: None,
        replication: None,
        created: Timestamp(1_700_000_000_000),
        last_changed: Timestamp(1_700_000_000_000),
        last_accessed: None,
        deletion: None,
        versions: vec![VersionMeta {
            version_id: "v1".to_owned(),
            stages: vec!["AWSCURRENT".to_owned()],
            created: Timestamp(1_700_000_000_000),
            last_accessed: None,
            value_digest: b"digest".to_vec(),
            kms_key_id: "key-1".to_owned(),
        }],
    };
    let sealed = SealedVersion {
        version_id: "v1".to_owned(),
        envelope: b"sealed".to_vec(),
    };
    (record, sealed)
}

fn raw(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

// ---- SQLite specifics ----

#[test]
fn data_persists_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tresor.db");
    tresor_store::conformance::data_persists_across_reopen(&|| SqliteStore::open(&path).unwrap());
}

#[test]
fn every_connection_is_durable() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("tresor.db")).unwrap();
    let settings = store.connection_settings().unwrap();
    assert_eq!(settings.iter().filter(|s| s.role == "writer").count(), 2);
    assert!(settings.iter().any(|s| s.role == "reader"));
    for database in ["state", "audit"] {
        assert_eq!(
            settings.iter().filter(|s| s.database == database).count(),
            settings.len() / 2
        );
    }
    for s in settings {
        assert_eq!(s.journal_mode, "wal", "{s:?}");
        assert_eq!(s.synchronous, 2, "synchronous=FULL: {s:?}");
        assert!(s.foreign_keys, "{s:?}");
        assert_eq!(s.busy_timeout_ms, 5000, "{s:?}");
        let latest = match s.database {
            "state" => LATEST_SCHEMA,
            _ => LATEST_AUDIT_SCHEMA,
        };
        assert_eq!(s.schema_version, latest, "{s:?}");
        assert_eq!(s.temp_store, 2, "statement journals in memory: {s:?}");
        assert!(s.stable_plans, "{s:?}");
    }
}

/// The bundled SQLite is built with the flags in `.cargo/config.toml`: without them every page
/// fetch and every allocation of every connection takes one of two process-wide mutexes, and
/// the readers contend with the writer (a tenth of the server's CPU under read load).
#[test]
fn sqlite_is_built_without_global_mutexes_on_the_read_path() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("tresor.db")).unwrap();
    let options = &store.connection_settings().unwrap()[0].compile_options;
    assert!(options.iter().any(|o| o == "THREADSAFE=1"), "{options:?}");
    assert!(
        !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
        "one page-cache group (and mutex) for all connections: {options:?}"
    );
    assert!(
        options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
        "memory statistics take a global mutex per allocation: {options:?}"
    );

    let memory = SqliteStore::open_in_memory().unwrap();
    let settings = memory.connection_settings().unwrap();
    assert_eq!(settings.len(), 2);
    for s in settings {
        assert_eq!(s.synchronous, 2, "{s:?}");
        assert!(s.foreign_keys, "{s:?}");
    }
}

#[test]
fn migrations_are_idempotent_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tresor.db");
    let schema = |path: &Path| -> Vec<(String, String)> {
        let conn = raw(path);
        let mut stmt = conn
            .prepare("SELECT type, name FROM sqlite_schema ORDER BY type, name")
            .unwrap();
        stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let version = |path: &Path| -> i64 {
        raw(path)
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap()
    };

    let audit = SqliteStore::audit_path(&path);
    assert_eq!(audit, dir.path().join("tresor.audit.db"));
    drop(SqliteStore::open(&path).unwrap());
    let first = schema(&path);
    assert!(first.contains(&("table".to_owned(), "secret_versions".to_owned())));
    assert!(!first.iter().any(|(_, name)| name.starts_with("audit")));
    let first_audit = schema(&audit);
    assert!(first_audit.contains(&("table".to_owned(), "audit_records".to_owned())));
    assert!(!first_audit
        .iter()
        .any(|(_, name)| name.starts_with("secret")));
    assert_eq!(version(&path), LATEST_SCHEMA);
    assert_eq!(version(&audit), LATEST_AUDIT_SCHEMA);
    let (record, sealed) = secret("survivor");
    SqliteStore::open(&path)
        .unwrap()
        .create_secret(&record, Some(&sealed))
        .unwrap();

    for _ in 0..3 {
        let store = SqliteStore::open(&path).unwrap();
        assert!(store.find_secret_by_arn(&record.arn).unwrap().is_some());
    }
    assert_eq!(schema(&path), first);
    assert_eq!(schema(&audit), first_audit);
    assert_eq!(version(&path), LATEST_SCHEMA);
    assert_eq!(version(&audit), LATEST_AUDIT_SCHEMA);
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tresor.db");
    drop(SqliteStore::open(&path).unwrap());
    raw(&path).pragma_update(None, "user_version", 99).unwrap();
    let r = SqliteStore::open(&path);
    assert!(matches!(r, Err(StoreError::Backend(_))), "{r:?}");
}

#[test]
fn another_applications_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    raw(&path)
        .execute_batch("CREATE TABLE notes (body TEXT)")
        .unwrap();
    let r = SqliteStore::open(&path);
    assert!(matches!(r, Err(StoreError::Backend(_))), "{r:?}");
    // Untouched: no Tresor table was added, and no audit file created beside it.
    let tables: i64 = raw(&path)
        .query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))
        .unwrap();
    assert_eq!(tables, 1);
    assert!(!SqliteStore::audit_path(&path).exists());

    // Nor is another application's database taken for the audit trail.
    let path = dir.path().join("tresor.db");
    raw(&SqliteStore::audit_path(&path))
        .execute_batch("CREATE TABLE notes (body TEXT)")
        .unwrap();
    let r = SqliteStore::open(&path);
    assert!(matches!(r, Err(StoreError::Backend(_))), "{r:?}");
}

#[cfg(unix)]
#[test]
fn a_new_database_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tresor.db");
    let store = SqliteStore::open(&path).unwrap();
    store.init_meta(&[("k", vec![1])]).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&dir.path().join("tresor.db-wal")), 0o600);
    store.append_audit(&[audit_record(1, vec![0; 32])]).unwrap();
    assert_eq!(mode(&dir.path().join("tresor.audit.db")), 0o600);
    assert_eq!(mode(&dir.path().join("tresor.audit.db-wal")), 0o600);
}

#[test]
fn an_unopenable_path_is_a_backend_error() {
    let dir = tempfile::tempdir().unwrap();
    let r = SqliteStore::open(&dir.path().join("missing-dir").join("tresor.db"));
    assert!(matches!(r, Err(StoreError::Backend(_))), "{r:?}");
}

#[test]
fn versions_without_sealed_values_are_refused() {
    let store = SqliteStore::open_in_memory().unwrap();
    let (record, sealed) = secret("strict");

    // Metadata for a version whose sealed value is not given.
    let r = store.create_secret(&record, None);
    assert!(matches!(r, Err(StoreError::Backend(_))), "{r:?}");
    let other = SealedVersion {
        version_id: "v2".to_owned(),
        ..sealed.clone()
    };
    let r = store.create_secret(&record, Some(&other));
    assert!(matches!(r, Err(StoreError::Backend(_))), "{r:?}");
    assert_eq!(store.find_secret_by_arn(&record.arn).unwrap(), None);

    store.create_secret(&record, Some(&sealed)).unwrap();
    let r = store.update_secret::<(), StoreError, _>(&record.arn, |txn| {
        let mut pushed = txn.record.versions[0].clone();
        pushed.version_id = "v2".to_owned();
        txn.record.versions.push(pushed);
        txn.record.description = Some("not written".to_owned());
        Ok(())
    });
    assert!(matches!(r, Err(StoreError::Backend(_))), "{r:?}");
    let duplicated = store.update_secret::<(), StoreError, _>(&record.arn, |txn| {
        let again = txn.record.versions[0].clone();
        txn.add_version(again, b"other".to_vec());
        Ok(())
    });
    assert!(
        matches!(duplicated, Err(StoreError::Conflict)),
        "{duplicated:?}"
    );
    assert_eq!(
        store.find_secret_by_arn(&record.arn).unwrap(),
        Some(record.clone())
    );
    assert_eq!(
        store.read_envelope(&record.arn, "v1").unwrap(),
        Some(sealed.envelope)
    );
}

/// Group commit under contention: threads write at once, every third one fails after writing.
/// Whether a failing block was the first of its group (no savepoint: the whole transaction is
/// rolled back) or a later one (its savepoint is), exactly the blocks that succeeded are
/// stored, each whole.
#[test]
fn failing_members_of_a_group_leave_nothing_and_spoil_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("tresor.db")).unwrap();
    let outcomes: Vec<(String, bool)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let store = &store;
                s.spawn(move || {
                    let mut done = Vec::new();
                    for i in 0..40 {
                        let name = format!("group/{t}-{i}");
                        let fail = (t + i) % 3 == 0;
                        let outcome = store.atomically(|| {
                            let (record, sealed) = secret(&name);
                            store.create_secret(&record, Some(&sealed))?;
                            store.update_secret(&record.arn, |txn| {
                                txn.record.description = Some("second write".to_owned());
                                Ok::<_, StoreError>(())
                            })?;
                            if fail {
                                return Err(StoreError::Conflict);
                            }
                            Ok(())
                        });
                        assert_eq!(outcome.is_ok(), !fail, "{name}: {outcome:?}");
                        done.push((name, !fail));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(outcomes.len(), 320);
    for (name, kept) in outcomes {
        let found = store.find_secret_by_name(&scope(), &name).unwrap();
        match (kept, found) {
            (true, Some(r)) => assert_eq!(r.description.as_deref(), Some("second write")),
            (false, None) => {}
            (kept, found) => panic!("{name}: kept {kept}, found {found:?}"),
        }
    }
    // Reopened from the file: what was acknowledged was committed.
    drop(store);
    let store = SqliteStore::open(&dir.path().join("tresor.db")).unwrap();
    assert!(store
        .find_secret_by_name(&scope(), "group/1-1")
        .unwrap()
        .is_some());
    assert!(store
        .find_secret_by_name(&scope(), "group/0-0")
        .unwrap()
        .is_none());
}

#[test]
fn a_panicking_closure_leaves_the_store_usable() {
    let store = SqliteStore::open_in_memory().unwrap();
    let (record, sealed) = secret("survives");
    store.create_secret(&record, Some(&sealed)).unwrap();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = store.update_secret::<(), StoreError, _>(&record.arn, |txn| {
            txn.record.description = Some("half done".to_owned());
            panic!("closure bug");
        });
    }));
    assert!(outcome.is_err());
    assert_eq!(
        store.find_secret_by_arn(&record.arn).unwrap(),
        Some(record.clone())
    );
    store
        .update_secret::<(), StoreError, _>(&record.arn, |txn| {
            txn.record.description = Some("after".to_owned());
            Ok(())
        })
        .unwrap();
    let found = store.find_secret_by_arn(&record.arn).unwrap().unwrap();
    assert_eq!(found.description.as_deref(), Some("after"));
}

fn schema_objects(path: &Path) -> Vec<(String, String, Option<String>)> {
    let conn = raw(path);
    let mut stmt = conn
        .prepare("SELECT type, name, sql FROM sqlite_schema ORDER BY type, name")
        .unwrap();
    stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn alice() -> UserRecord {
    UserRecord {
        account: AccountId::parse("111111111111").unwrap(),
        user_name: "alice".to_owned(),
        user_id: "AIDAALICE".to_owned(),
        arn: "arn:aws:iam::111111111111:user/alice".to_owned(),
        path: "/".to_owned(),
        tags: Vec::new(),
        created: Timestamp(3),
    }
}

fn audit_record(seq: u64, prev_hash: Vec<u8>) -> AuditRow {
    AuditRow {
        seq,
        prev_hash,
        hash: format!("hash {seq}").into_bytes(),
        mac: format!("mac {seq}").into_bytes(),
        event_json: format!(r#"{{"eventID":"e{seq}"}}"#),
        event_time: Timestamp(1_700_000_000_000 + i64::try_from(seq).unwrap()),
        event_id: format!("e{seq}"),
        event_name: "CreateUser".to_owned(),
        event_source: "iam.amazonaws.com".to_owned(),
        account: Some(AccountId::parse("111111111111").unwrap()),
        read_only: false,
        username: None,
        access_key_id: None,
        resources: vec![("AWS::IAM::User".to_owned(), "alice".to_owned())],
    }
}

/// The audit file is checkpointed after a couple of hundred WAL frames, not SQLite's default
/// thousand, so that each checkpoint (inside the commit that triggers it) stays short. A WAL
/// file keeps the largest size it reached, so its size bounds every WAL there was.
#[test]
fn the_audit_wal_is_checkpointed_every_few_hundred_frames() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tresor.db");
    let store = SqliteStore::open(&path).unwrap();
    let mut prev = vec![0; 32];
    for seq in 1..=600 {
        let record = audit_record(seq, prev);
        prev = record.hash.clone();
        // One commit each, every one writing at least the page the record went to.
        store.append_audit(&[record]).unwrap();
    }
    let mut wal = SqliteStore::audit_path(&path).into_os_string();
    wal.push("-wal");
    let frame = 24 + 4096;
    let size = std::fs::metadata(&wal).unwrap().len();
    assert!(size < 260 * frame, "the audit WAL reached {size} bytes");
    assert_eq!(store.read_audit(600, 1).unwrap().len(), 1);
}

/// A chain of two records and a checkpoint of its head.
fn trail() -> (Vec<AuditRow>, CheckpointRow) {
    let records = vec![
        audit_record(1, vec![0; 32]),
        audit_record(2, b"hash 1".to_vec()),
    ];
    let checkpoint = CheckpointRow {
        seq: 2,
        hash: b"hash 2".to_vec(),
        time: Timestamp(5),
        signature: b"signature".to_vec(),
    };
    (records, checkpoint)
}

/// GetSecretValue's read decides the picked version on the parsed labels. A label stored in
/// another JSON spelling of the same text (`\u0041` for `A`) is not found in the stored text,
/// so its value is not selected with the versions; it is read from the version's row after.
#[test]
fn a_pick_the_statement_did_not_see_is_read_after() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tresor.db");
    let (record, sealed) = secret("escaped");
    SqliteStore::open(&path)
        .unwrap()
        .create_secret(&record, Some(&sealed))
        .unwrap();
    raw(&path)
        .execute(
            r#"UPDATE secret_versions SET stages_json = '["\u0041WSCURRENT"]'"#,
            [],
        )
        .unwrap();
    let store = SqliteStore::open(&path).unwrap();
    for key in [
        SecretKey::Arn(&record.arn),
        SecretKey::Name(&record.scope, &record.name),
    ] {
        let (found, value) = store
            .find_secret_value(key, VersionPick::default())
            .unwrap()
            .unwrap();
        assert_eq!(found, record);
        assert_eq!(
            value,
            Some(SealedValue {
                version_id: sealed.version_id.clone(),
                envelope: sealed.envelope.clone(),
            })
        );
    }
}

/// A file at schema version 1 (before identities and the audit trail) is upgraded in place at
/// open: its data stays, and the result is the schema a new file gets.
#[test]
fn a_version_1_file_is_upgraded() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh.db");
    drop(SqliteStore::open(&fresh).unwrap());

    let path = dir.path().join("tresor.db");
    let (record, sealed) = secret("from-v1");
    {
        let store = SqliteStore::open(&path).unwrap();
        store.create_secret(&record, Some(&sealed)).unwrap();
    }
    // Take the file back to version 1: drop what migrations 11, 10, 9, 8, 7, 5, 4, 3 and 2
    // added (6 took out the audit trail that 2 added).
    raw(&path).execute_batch(DROP_REPLICATION).unwrap();
    raw(&path).execute_batch(DROP_KMS_KEYS).unwrap();
    raw(&path).execute_batch(DROP_ROTATION).unwrap();
    raw(&path).execute_batch(DROP_GATEWAY).unwrap();
    raw(&path)
        .execute_batch(
            "DROP INDEX secrets_by_name_whole;
             DROP INDEX secret_versions_labelled_rows;
             DROP INDEX secret_versions_unlabelled;
             DROP INDEX secret_versions_labelled;
             DROP INDEX secrets_by_created;
             DROP INDEX secrets_by_last_changed;
             DROP INDEX secrets_by_last_accessed;
             DROP INDEX secret_versions_meta;
             DROP TABLE sessions;
             DROP INDEX access_keys_by_user;
             DROP TABLE policy_attachments;
             DROP TABLE inline_policies;
             DROP TABLE managed_policy_versions;
             DROP TABLE managed_policies;
             DROP TABLE roles;
             DROP TABLE users;
             DROP TABLE trail_link;
             PRAGMA user_version = 1;",
        )
        .unwrap();
    let v1 = schema_objects(&path);
    assert!(!v1.iter().any(|(_, name, _)| name == "users"));

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(schema_objects(&path), schema_objects(&fresh));
    assert!(store
        .connection_settings()
        .unwrap()
        .iter()
        .filter(|s| s.database == "state")
        .all(|s| s.schema_version == LATEST_SCHEMA));
    assert_eq!(
        store.find_secret_by_arn(&record.arn).unwrap(),
        Some(record.clone())
    );
    store.create_user(&alice()).unwrap();
    store.append_audit(&[audit_record(1, vec![0; 32])]).unwrap();
}

/// A file of version 10 (before rotation) gains rotation's tables and indexes, ends up as a
/// new file is, and lists its secrets that already had a rotation configured.
#[test]
fn a_version_10_file_gains_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh.db");
    drop(SqliteStore::open(&fresh).unwrap());
    let path = dir.path().join("tresor.db");
    let (mut record, sealed) = secret("rotating");
    record.rotation = Some(r#"{"days":30}"#.to_owned());
    SqliteStore::open(&path)
        .unwrap()
        .create_secret(&record, Some(&sealed))
        .unwrap();
    raw(&path)
        .execute_batch(&format!(
            "{DROP_REPLICATION} {DROP_KMS_KEYS} {DROP_ROTATION} PRAGMA user_version = 10;"
        ))
        .unwrap();
    assert!(!schema_objects(&path)
        .iter()
        .any(|(_, name, _)| name.starts_with("rotator")));

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(schema_objects(&path), schema_objects(&fresh));
    assert_eq!(
        store.rotating_secrets().unwrap(),
        vec![(record.arn.clone(), r#"{"days":30}"#.to_owned())]
    );
    let rotator = RotatorRecord {
        scope: scope(),
        name: "r".to_owned(),
        arn: "arn:aws:lambda:us-east-1:111111111111:function:r".to_owned(),
        kind: "command".to_owned(),
        config_json: "{}".to_owned(),
        sealed_secret: None,
        created: Timestamp(1),
    };
    store.create_rotator(&rotator).unwrap();
    assert_eq!(store.list_rotators(&scope()).unwrap(), vec![rotator]);
}

/// Identities, sessions, policies, audit records and checkpoints survive a reopen.
#[test]
fn identities_and_audit_persist_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tresor.db");
    let account = AccountId::parse("111111111111").unwrap();
    let me = PrincipalName {
        account: account.clone(),
        kind: PrincipalKind::User,
        name: "alice".to_owned(),
    };
    let (records, checkpoint) = trail();
    {
        let store = SqliteStore::open(&path).unwrap();
        store.create_user(&alice()).unwrap();
        store.put_inline_policy(&me, "inline", "{}").unwrap();
        store.append_audit(&records[..1]).unwrap();
        store.append_audit(&records[1..]).unwrap();
        store.put_checkpoint(&checkpoint).unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.get_user(&account, "alice").unwrap(), Some(alice()));
    assert_eq!(
        store.get_inline_policy(&me, "inline").unwrap().as_deref(),
        Some("{}")
    );
    assert_eq!(store.audit_head().unwrap(), Some((2, b"hash 2".to_vec())));
    assert_trail_intact(&store, &records, &checkpoint);
}

/// The trail of [`trail`] is all there in `store`: the records, the checkpoint, the lookup by
/// resource name (its index), and the chain goes on after the last record.
fn assert_trail_intact(store: &SqliteStore, records: &[AuditRow], checkpoint: &CheckpointRow) {
    assert_eq!(store.read_audit(1, 10).unwrap(), records);
    assert_eq!(
        store.list_checkpoints().unwrap(),
        std::slice::from_ref(checkpoint)
    );
    let by_resource = store
        .lookup_audit(
            &AccountId::parse("111111111111").unwrap(),
            &AuditQuery {
                attribute: Some(("ResourceName".to_owned(), "alice".to_owned())),
                limit: 10,
                ..AuditQuery::default()
            },
        )
        .unwrap();
    assert_eq!(by_resource.len(), 2);
    store
        .append_audit(&[audit_record(3, b"hash 2".to_vec())])
        .unwrap();
    assert_eq!(store.audit_head().unwrap(), Some((3, b"hash 3".to_vec())));
}

/// The lookup indexes of the audit records as the store file held them (schema 2 to 5) and the
/// audit file until its version 2 moved them to `audit_lookup`.
const AUDIT_INDEXES_OF_VERSION_1: &str = "
    CREATE INDEX audit_by_account ON audit_records (account, seq);
    CREATE INDEX audit_by_event_name ON audit_records (account, event_name, seq);
    CREATE INDEX audit_by_event_id ON audit_records (event_id);
    CREATE INDEX audit_by_username ON audit_records (account, username, seq);
    CREATE INDEX audit_by_access_key ON audit_records (account, access_key_id, seq);
    CREATE INDEX audit_by_event_time ON audit_records (account, event_time);
";

/// What migration 10 added (the AI gateway's tables, with their indexes).
const DROP_GATEWAY: &str = "
    DROP TABLE gateway_routes;
    DROP TABLE gateway_keys;
    DROP TABLE gateway_prices;
    DROP TABLE gateway_principal_budgets;
    DROP TABLE gateway_ledger;
    DROP TABLE gateway_holds;
    DROP TABLE gateway_settled;
    DROP TABLE gateway_rate;
";

/// What the replication migration (13) added: the column, and the whole-row index as
/// migration 10 made it.
const DROP_REPLICATION: &str = "
    DROP INDEX secrets_by_name_whole;
    ALTER TABLE secrets DROP COLUMN replication;
    CREATE INDEX secrets_by_name_whole ON secrets
    (account, region, name, id, arn, description, kms_key_id, tags_json, rotation, created,
     last_changed, last_accessed, deleted_date, purge_after, resource_policy);
";

/// Undo the KMS key migration (12): aliases back into their key's row.
const DROP_KMS_KEYS: &str = "
    UPDATE kms_keys SET alias = (SELECT MIN(name) FROM kms_aliases a WHERE a.key_id = kms_keys.key_id);
    DROP TABLE kms_aliases;
    ALTER TABLE kms_key_versions DROP COLUMN origin;
    ALTER TABLE kms_key_versions DROP COLUMN created;
    ALTER TABLE kms_keys DROP COLUMN next_rotation;
    ALTER TABLE kms_keys DROP COLUMN rotation_period_days;
    ALTER TABLE kms_keys DROP COLUMN rotation_enabled;
    ALTER TABLE kms_keys DROP COLUMN tags_json;
    ALTER TABLE kms_keys DROP COLUMN policy;
    ALTER TABLE kms_keys DROP COLUMN key_manager;
    ALTER TABLE kms_keys DROP COLUMN deletion_date;
    ALTER TABLE kms_keys DROP COLUMN key_state;
";

/// What migration 11 added (rotation's tables, with their indexes, and the index of the
/// secrets with a rotation).
const DROP_ROTATION: &str = "
    DROP TABLE rotators;
    DROP TABLE rotator_logs;
    DROP INDEX secrets_rotating;
";

/// Turn the store at `path` into one at version 5: the audit trail (its tables, as the audit
/// file holds them, with the lookup indexes on the records as they were then, and its rows)
/// inside the store file, no audit file, and without what migrations 7 to 11 added.
fn back_to_version_5(path: &Path) {
    let audit = SqliteStore::audit_path(path);
    let conn = raw(path);
    conn.execute("ATTACH DATABASE ?1 AS trail", [audit.to_str().unwrap()])
        .unwrap();
    let ddl: Vec<String> = conn
        .prepare(
            "SELECT sql FROM trail.sqlite_schema
             WHERE sql IS NOT NULL
               AND tbl_name NOT IN ('audit_lookup', 'store_commit', 'lost_changes')
             ORDER BY rowid",
        )
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for sql in ddl {
        conn.execute_batch(&sql).unwrap();
    }
    conn.execute_batch(AUDIT_INDEXES_OF_VERSION_1).unwrap();
    conn.execute_batch(DROP_REPLICATION).unwrap();
    conn.execute_batch(DROP_KMS_KEYS).unwrap();
    conn.execute_batch(DROP_ROTATION).unwrap();
    conn.execute_batch(DROP_GATEWAY).unwrap();
    conn.execute_batch(
        "INSERT INTO main.audit_records SELECT * FROM trail.audit_records;
         INSERT INTO main.audit_resources SELECT * FROM trail.audit_resources;
         INSERT INTO main.audit_checkpoints SELECT * FROM trail.audit_checkpoints;
         DETACH DATABASE trail;
         DROP INDEX secrets_by_name_whole;
         DROP INDEX secret_versions_labelled_rows;
         DROP INDEX secret_versions_unlabelled;
         DROP TABLE trail_link;
         PRAGMA user_version = 5;",
    )
    .unwrap();
    drop(conn);
    for suffix in ["", "-wal", "-shm"] {
        let mut file = audit.clone().into_os_string();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
}

/// [`trail`], written to the store at `path` and indexed (as a trail from before the indexes
/// were written in batches always was).
fn write_trail(path: &Path) -> (Vec<AuditRow>, CheckpointRow) {
    let (records, checkpoint) = trail();
    let store = SqliteStore::open(path).unwrap();
    store.append_audit(&records).unwrap();
    assert_eq!(store.index_audit(usize::MAX).unwrap(), records.len());
    store.put_checkpoint(&checkpoint).unwrap();
    (records, checkpoint)
}

/// An audit file of version 1 (lookup indexes on the records, written with every append) has
/// its records indexed in `audit_lookup` by the upgrade, and ends up as a new one is.
#[test]
fn an_audit_file_of_version_1_has_its_records_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh.db");
    drop(SqliteStore::open(&fresh).unwrap());
    let path = dir.path().join("tresor.db");
    let (records, checkpoint) = write_trail(&path);
    let audit = SqliteStore::audit_path(&path);
    raw(&audit)
        .execute_batch(&format!(
            "DROP TABLE audit_lookup; DROP TABLE store_commit; DROP TABLE lost_changes;
             {AUDIT_INDEXES_OF_VERSION_1} PRAGMA user_version = 1;"
        ))
        .unwrap();

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        schema_objects(&audit),
        schema_objects(&SqliteStore::audit_path(&fresh))
    );
    let indexed: i64 = raw(&audit)
        .query_row("SELECT count(*) FROM audit_lookup", [], |row| row.get(0))
        .unwrap();
    assert_eq!(indexed, i64::try_from(records.len()).unwrap());
    assert_eq!(
        store.index_audit(usize::MAX).unwrap(),
        0,
        "nothing left to index"
    );
    assert_trail_intact(&store, &records, &checkpoint);
}

/// A store file from before the audit trail had a file of its own has its trail moved there at
/// open: the records, their resources and the checkpoints, and the chain goes on after them.
/// The store file ends up as a new one is.
#[test]
fn a_version_5_file_has_its_audit_trail_moved_out() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh.db");
    drop(SqliteStore::open(&fresh).unwrap());
    let path = dir.path().join("tresor.db");
    let (records, checkpoint) = write_trail(&path);
    back_to_version_5(&path);
    assert!(schema_objects(&path)
        .iter()
        .any(|(_, name, _)| name == "audit_records"));
    assert!(!SqliteStore::audit_path(&path).exists());

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(schema_objects(&path), schema_objects(&fresh));
    assert_eq!(
        schema_objects(&SqliteStore::audit_path(&path)),
        schema_objects(&SqliteStore::audit_path(&fresh))
    );
    assert_trail_intact(&store, &records, &checkpoint);
}

/// An open that stopped after copying the trail and before dropping it from the store file
/// (they are two files, committed one after the other) is completed by the next open, without
/// copying twice.
#[test]
fn a_move_interrupted_after_the_copy_is_completed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tresor.db");
    let (records, checkpoint) = write_trail(&path);
    let audit = SqliteStore::audit_path(&path);
    let kept = dir.path().join("kept.audit.db");
    std::fs::copy(&audit, &kept).unwrap();
    back_to_version_5(&path);
    std::fs::copy(&kept, &audit).unwrap();

    let store = SqliteStore::open(&path).unwrap();
    assert!(!schema_objects(&path)
        .iter()
        .any(|(_, name, _)| name.starts_with("audit")));
    assert_trail_intact(&store, &records, &checkpoint);
}

/// An audit file holding another trail than the store file's is refused, and the store file
/// keeps its own.
#[test]
fn a_move_onto_another_trail_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tresor.db");
    write_trail(&path);
    back_to_version_5(&path);
    {
        let other = SqliteStore::open(&dir.path().join("other.db")).unwrap();
        other.append_audit(&[audit_record(1, vec![0; 32])]).unwrap();
    }
    std::fs::copy(
        dir.path().join("other.audit.db"),
        SqliteStore::audit_path(&path),
    )
    .unwrap();

    let r = SqliteStore::open(&path);
    assert!(matches!(r, Err(StoreError::Backend(_))), "{r:?}");
    let kept: i64 = raw(&path)
        .query_row("SELECT count(*) FROM audit_records", [], |row| row.get(0))
        .unwrap();
    assert_eq!(kept, 2);
    let version: i64 = raw(&path)
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, 5);
}

/// An audit append commits to the audit file alone: the store file does not change, so the
/// read connections keep their page caches of it (SQLite empties a connection's cache of a WAL
/// file whenever another connection committed to it, which `data_version` reports).
#[test]
fn audit_commits_leave_the_store_file_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tresor.db");
    let store = SqliteStore::open(&path).unwrap();
    let state = raw(&path);
    let audit = raw(&SqliteStore::audit_path(&path));
    let version = |conn: &rusqlite::Connection| -> i64 {
        conn.pragma_query_value(None, "data_version", |row| row.get(0))
            .unwrap()
    };
    let (state_before, audit_before) = (version(&state), version(&audit));
    store.append_audit(&[audit_record(1, vec![0; 32])]).unwrap();
    assert_eq!(version(&state), state_before, "the store file changed");
    assert_ne!(
        version(&audit),
        audit_before,
        "the audit file did not change"
    );

    // A change and its record commit to both.
    let (record, sealed) = secret("both");
    let audit_before = version(&audit);
    store
        .atomically(|| {
            store.create_secret(&record, Some(&sealed))?;
            store.append_audit(&[audit_record(2, b"hash 1".to_vec())])
        })
        .unwrap();
    assert_ne!(version(&state), state_before);
    assert_ne!(version(&audit), audit_before);
}

/// The user-key listing and the session purge are served by indexes, not table scans (the
/// audit lookups' statements are checked as the store runs them, in its unit tests).
#[test]
fn lookups_use_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tresor.db");
    drop(SqliteStore::open(&path).unwrap());
    let conn = raw(&path);
    let audit = raw(&SqliteStore::audit_path(&path));
    let plan = |sql: &str| -> String {
        let conn = if sql.contains("audit_") {
            &audit
        } else {
            &conn
        };
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows: Vec<String> = stmt
            .query_map([], |row| row.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.join("; ")
    };
    for (sql, index) in [
        (
            "SELECT access_key_id FROM access_keys \
             WHERE account = '1' AND user_name = 'x' COLLATE NOCASE",
            "access_keys_by_user",
        ),
        (
            "SELECT 1 FROM sessions WHERE expires <= 5",
            "sessions_by_expiry",
        ),
    ] {
        let plan = plan(sql);
        assert!(plan.contains(index), "{sql}\n  uses: {plan}");
    }
    // The labelled versions of a secret, and those of a listing page, without a pass over
    // every version (the columns the store reads: the index covers them).
    let columns = "secret_id, version_id, stages_json, created, last_accessed, value_digest, \
                   kms_key_id, rowid, seq";
    for filter in [
        "secret_id = 1",
        "secret_id IN (SELECT id FROM secrets WHERE account = '1' AND region = 'r' \
         ORDER BY name LIMIT 100)",
        "secret_id IN (SELECT id FROM secrets WHERE account = '1' AND region = 'r' \
         AND (created, arn) > (5, 'a') ORDER BY created ASC, arn ASC LIMIT 101)",
    ] {
        let sql = format!(
            "SELECT {columns} FROM secret_versions WHERE {filter} AND stages_json <> '[]' \
             ORDER BY secret_id, seq"
        );
        let plan = plan(&sql);
        assert!(
            plan.contains("secret_versions_labelled"),
            "{sql}\n  uses: {plan}"
        );
    }
    // A put's prune candidates, oldest first, without a pass over the secret's versions.
    let sql = "SELECT seq FROM secret_versions WHERE secret_id = 1 AND stages_json = '[]' \
               AND created < 5 ORDER BY created, seq LIMIT 3";
    let prune = plan(sql);
    assert!(
        prune.contains("secret_versions_unlabelled"),
        "{sql}\n  uses: {prune}"
    );
    assert!(!prune.contains("TEMP B-TREE"), "{sql}\n  sorts: {prune}");
    // ListSecrets pages in every order through an index, never sorting the scope.
    for (column, index) in [
        ("name", "sqlite_autoindex_secrets_2"),
        ("created", "secrets_by_created"),
        ("last_changed", "secrets_by_last_changed"),
        ("COALESCE(last_accessed, -1)", "secrets_by_last_accessed"),
    ] {
        for (dir, cmp) in [("ASC", ">"), ("DESC", "<")] {
            let sql = format!(
                "SELECT * FROM secrets WHERE account = '1' AND region = 'r' \
                 AND ({column}, arn) {cmp} (5, 'a') ORDER BY {column} {dir}, arn {dir} LIMIT 100"
            );
            let plan = plan(&sql);
            assert!(plan.contains(index), "{sql}\n  uses: {plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{sql}\n  sorts: {plan}");
        }
    }
}

/// The gateway's lookups on the hot path (a call's live holds, a scope's expired ones, a
/// principal's keys, a key by its MAC, old settled markers) are served by indexes.
#[test]
fn gateway_lookups_use_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tresor.db");
    drop(SqliteStore::open(&path).unwrap());
    let conn = raw(&path);
    for (sql, index) in [
        (
            "SELECT SUM(amount_micro_usd) FROM gateway_holds \
             WHERE scope = 'k' AND period_start = 1 AND lease_until > 5",
            "COVERING INDEX gateway_holds_by_scope",
        ),
        (
            "SELECT 1 FROM gateway_holds WHERE scope = 'k' AND lease_until <= 5",
            "gateway_holds_by_scope",
        ),
        (
            "SELECT scope FROM gateway_holds WHERE hold_id = 'h'",
            "PRIMARY KEY",
        ),
        (
            "SELECT key_id FROM gateway_keys WHERE account = '1' AND principal_kind = 'user' \
             AND principal_lower = 'alice' ORDER BY key_id",
            "gateway_keys_by_principal",
        ),
        (
            "SELECT key_id FROM gateway_keys WHERE account = '1' ORDER BY key_id",
            "gateway_keys_by_account",
        ),
        (
            "SELECT key_id FROM gateway_keys WHERE mac = x'00'",
            "sqlite_autoindex_gateway_keys_2",
        ),
        (
            "SELECT hold_id FROM gateway_settled WHERE settled_at < 5 LIMIT 16",
            "gateway_settled_by_time",
        ),
    ] {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let plan: Vec<String> = stmt
            .query_map([], |row| row.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let plan = plan.join("; ");
        assert!(plan.contains(index), "{sql}\n  uses: {plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{sql}\n  sorts: {plan}");
    }
}

/// Rotation's lookups are served by indexes: the scheduler's listing of the secrets with a
/// rotation (a partial index: few secrets rotate), a rotator by name, by ARN and by scope, and
/// its log newest first (with the cap's probe past the newest 500), without sorting.
#[test]
fn rotation_lookups_use_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tresor.db");
    drop(SqliteStore::open(&path).unwrap());
    let conn = raw(&path);
    for (sql, index) in [
        (
            "SELECT arn, rotation FROM secrets \
             WHERE rotation IS NOT NULL AND deleted_date IS NULL ORDER BY arn",
            "secrets_rotating",
        ),
        (
            "SELECT name FROM rotators WHERE account = '1' AND region = 'r' ORDER BY name",
            "INDEX sqlite_autoindex_rotators_2 (account=? AND region=?)",
        ),
        (
            "SELECT 1 FROM rotators WHERE arn = 'a'",
            "INDEX sqlite_autoindex_rotators_1 (arn=?)",
        ),
        (
            "SELECT step FROM rotator_logs WHERE rotator_arn = 'a' ORDER BY id DESC LIMIT 5",
            "rotator_logs_by_rotator",
        ),
        (
            "SELECT step FROM rotator_logs WHERE rotator_arn = 'a' AND secret_arn = 's' \
             ORDER BY id DESC LIMIT 5",
            "rotator_logs_by_rotator",
        ),
        (
            "SELECT id FROM rotator_logs WHERE rotator_arn = 'a' \
             ORDER BY id DESC LIMIT 1 OFFSET 500",
            "COVERING INDEX rotator_logs_by_rotator",
        ),
    ] {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let plan: Vec<String> = stmt
            .query_map([], |row| row.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let plan = plan.join("; ");
        assert!(plan.contains(index), "{sql}\n  uses: {plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{sql}\n  sorts: {plan}");
    }
}

/// A whole store copied from one SQLite file to another (and into memory, through `Backend`)
/// reads back the same; a non-empty target is refused and left as it was.
#[test]
fn transfer_sqlite_to_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let from = SqliteStore::open(&dir.path().join("from.db")).unwrap();
    let to = SqliteStore::open(&dir.path().join("to.db")).unwrap();
    tresor_store::conformance::transfer_round_trip(&from, &to);

    let from = Backend::Sqlite(SqliteStore::open(&dir.path().join("from2.db")).unwrap());
    let to = Backend::Sqlite(SqliteStore::open_in_memory().unwrap());
    tresor_store::conformance::transfer_round_trip(&from, &to);
}

#[test]
fn transfer_refuses_a_non_empty_sqlite_target() {
    let dir = tempfile::tempdir().unwrap();
    let from = SqliteStore::open(&dir.path().join("from.db")).unwrap();
    let to = SqliteStore::open(&dir.path().join("to.db")).unwrap();
    tresor_store::conformance::transfer_refuses_a_non_empty_target(&from, &to);
}

#[test]
fn transfer_refuses_a_sqlite_target_with_gateway_state() {
    let dir = tempfile::tempdir().unwrap();
    let from = SqliteStore::open(&dir.path().join("from.db")).unwrap();
    let to = SqliteStore::open(&dir.path().join("to.db")).unwrap();
    tresor_store::conformance::transfer_refuses_a_target_with_gateway_state(&from, &to);
}

#[test]
fn transfer_refuses_a_sqlite_target_with_rotation_state() {
    let dir = tempfile::tempdir().unwrap();
    let from = SqliteStore::open(&dir.path().join("from.db")).unwrap();
    let to = SqliteStore::open(&dir.path().join("to.db")).unwrap();
    tresor_store::conformance::transfer_refuses_a_target_with_rotation_state(&from, &to);
}

#[test]
fn transfer_ledger_import_checks_its_input_on_sqlite() {
    let to = SqliteStore::open_in_memory().unwrap();
    tresor_store::conformance::transfer_ledger_import_checks_its_input(&to);
}

/// Inside `atomically` the writer holds the two files on connections of their own: the
/// emptiness check of a whole-store copy still reads the trail from the trail's file, through
/// the backend the callers hold.
#[test]
fn is_empty_inside_atomically_reads_the_trail() {
    let dir = tempfile::tempdir().unwrap();
    let store = Backend::Sqlite(SqliteStore::open(&dir.path().join("tresor.db")).unwrap());
    store
        .atomically(|| {
            assert!(store.is_empty()?);
            Ok::<_, StoreError>(())
        })
        .unwrap();
    store.append_audit(&[audit_record(1, vec![0; 32])]).unwrap();
    store
        .atomically(|| {
            assert!(!store.is_empty()?);
            Ok::<_, StoreError>(())
        })
        .unwrap();
}

/// An audit trail left beside a missing store file belongs to that store (its records are
/// sealed under its keys): a new store is not started on top of it.
#[test]
fn a_new_store_does_not_adopt_an_orphaned_audit_trail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tresor.db");
    write_trail(&path);
    std::fs::remove_file(&path).unwrap();
    let r = SqliteStore::open(&path);
    assert!(matches!(r, Err(StoreError::Backend(_))), "{r:?}");
    let kept: i64 = raw(&SqliteStore::audit_path(&path))
        .query_row("SELECT count(*) FROM audit_records", [], |row| row.get(0))
        .unwrap();
    assert_eq!(kept, 2);
}
