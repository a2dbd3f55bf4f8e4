//! The store conformance suite on PostgreSQL, plus what is specific to PostgreSQL: migrations
//! under a lock when nodes start together, persistence across reopen, and concurrency through
//! several store instances (as several nodes on one database).
//!
//! The server and its throwaway databases are the store's test harness
//! (`tresor_store::testkit::postgres`): `TRESOR_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), a fresh database `tresor_test_<pid>_<n>_<nanos>`
//! per case, dropped afterwards. When no server answers, the tests print a SKIPPED line and
//! pass, unless `CI=true` or `TRESOR_REQUIRE_POSTGRES=1`, in which case they fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::sync::Barrier;
use std::time::Duration;

use tresor_store::testkit::postgres::TestDb;
use tresor_store::{
    AuditRow, AuditStore, Backend, Deletion, PostgresStore, RotationStore, RotatorLogRecord,
    RotatorRecord, Scope, SealedVersion, SecretRecord, Store, StoreError, VersionMeta,
    ROTATOR_LOG_KEEP,
};
use tresor_types::{AccountId, Region, Timestamp};

/// The schema version this build writes (5 added the AI gateway's tables, 6 rotation's, 7 KMS
/// key management's, 8 replication's).
const LATEST_SCHEMA: i64 = 8;

/// The prefix of this suite's test databases.
const PREFIX: &str = "tresor_test";

/// Run `case` on a store over a fresh database.
fn with_db(case: impl FnOnce(&TestDb)) {
    if let Some(db) = TestDb::create(PREFIX) {
        case(&db);
    }
}

/// The suite, one `#[test]` per case, each on a fresh database.
mod conformance {
    use tresor_store::PostgresStore;

    fn with_store(case: fn(&PostgresStore)) {
        super::with_db(|db| {
            let store = db.open();
            case(&store);
        });
    }

    tresor_store::conformance_tests!(PostgresStore, with_store);
}

/// Two store instances on one database (two nodes) share one gateway budget: 32 threads over
/// both, each reserving a tenth of a cap of which a quarter is left, get exactly two through.
#[test]
fn gateway_budget_is_shared_by_two_nodes() {
    with_db(|db| {
        let (a, b) = (db.open(), db.open());
        tresor_store::conformance::gateway_budget_holds_across_stores(&[&a, &b]);
    });
}

/// Two store instances on one database (two nodes) registering one rotator name at once: one
/// registration wins, the others are `Conflict` (the unique constraint, not a prior read).
#[test]
fn rotator_names_are_unique_across_two_nodes() {
    with_db(|db| {
        let (a, b) = (db.open(), db.open());
        tresor_store::conformance::rotator_names_hold_across_stores(&[&a, &b]);
    });
}

/// Two nodes appending to one rotator's log at once keep exactly its newest entries.
#[test]
fn rotator_log_cap_holds_across_two_nodes() {
    with_db(|db| {
        let (a, b) = (db.open(), db.open());
        let rotator = RotatorRecord {
            scope: scope(),
            name: "busy".to_owned(),
            arn: "arn:aws:lambda:us-east-1:111111111111:function:busy".to_owned(),
            kind: "command".to_owned(),
            config_json: "{}".to_owned(),
            sealed_secret: None,
            created: Timestamp(1),
        };
        a.create_rotator(&rotator).unwrap();
        let entry = |n: usize| RotatorLogRecord {
            account: scope().account,
            rotator_arn: rotator.arn.clone(),
            secret_arn: "arn:aws:secretsmanager:us-east-1:111111111111:secret:db-AbCdEf".into(),
            version_id: format!("token-{n:05}"),
            step: "createSecret".to_owned(),
            time: Timestamp(1_700_000_000_000),
            outcome: "ok".to_owned(),
            summary: "exit status 0".to_owned(),
            stdout: Vec::new(),
            stderr: Vec::new(),
            duration_ms: 1,
        };
        // Most of the cap in one transaction, then racing appends through both nodes.
        a.atomically(|| {
            (0..ROTATOR_LOG_KEEP - 10).try_for_each(|n| a.append_rotator_log(&entry(n)))
        })
        .unwrap();
        let start = Barrier::new(8);
        std::thread::scope(|s| {
            for t in 0..8 {
                let (node, start, entry) = (if t % 2 == 0 { &a } else { &b }, &start, &entry);
                s.spawn(move || {
                    start.wait();
                    for i in 0..5 {
                        node.append_rotator_log(&entry(10_000 + t * 10 + i))
                            .unwrap();
                    }
                });
            }
        });
        for node in [&a, &b] {
            let kept = node.rotator_logs(&rotator.arn, None, usize::MAX).unwrap();
            assert_eq!(kept.len(), ROTATOR_LOG_KEEP);
            assert!(kept[..40]
                .iter()
                .all(|e| e.version_id.starts_with("token-1")));
            assert_eq!(kept[ROTATOR_LOG_KEEP - 1].version_id, "token-00030");
        }
    });
}

/// Every case once more, through the start-up `Backend`, on one database emptied between
/// cases (which also reopens an already migrated database each time).
#[test]
fn run_all_through_the_backend() {
    with_db(|db| {
        drop(db.open());
        let mut raw = db.connect();
        let tables: Vec<String> = raw
            .query(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() \
                 AND tablename <> 'tresor_schema_migrations'",
                &[],
            )
            .unwrap()
            .iter()
            .map(|row| format!("\"{}\"", row.get::<_, String>(0)))
            .collect();
        let truncate = format!("TRUNCATE {} RESTART IDENTITY CASCADE", tables.join(", "));
        let raw = std::sync::Mutex::new(raw);
        tresor_store::conformance::run_all(|| {
            raw.lock().unwrap().batch_execute(&truncate).unwrap();
            Backend::Postgres(db.open())
        });
    });
}

// ---- fixtures ----

fn scope() -> Scope {
    Scope {
        account: AccountId::parse("111111111111").unwrap(),
        region: Region::parse("us-east-1").unwrap(),
    }
}

fn version(id: &str, stages: &[&str]) -> VersionMeta {
    VersionMeta {
        version_id: id.to_owned(),
        stages: stages.iter().map(|s| (*s).to_owned()).collect(),
        created: Timestamp(1_700_000_000_000),
        last_accessed: None,
        value_digest: format!("digest {id}").into_bytes(),
        kms_key_id: "key-1".to_owned(),
    }
}

/// A secret with one version `v1` (AWSCURRENT); `suffix` makes the ARN, as AWS's random
/// suffix does.
fn secret(name: &str, suffix: &str) -> (SecretRecord, SealedVersion) {
    let record = SecretRecord {
        scope: scope(),
        arn: format!("arn:aws:secretsmanager:us-east-1:111111111111:secret:{name}-{suffix}"),
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
        versions: vec![version("v1", &["AWSCURRENT"])],
    };
    let sealed = SealedVersion {
        version_id: "v1".to_owned(),
        envelope: b"sealed".to_vec(),
    };
    (record, sealed)
}

fn audit_record(seq: u64, prev_hash: Vec<u8>, hash: Vec<u8>) -> AuditRow {
    AuditRow {
        seq,
        prev_hash,
        hash,
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

fn migrations(db: &TestDb) -> Vec<i64> {
    db.connect()
        .query(
            "SELECT version FROM tresor_schema_migrations ORDER BY version",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

// ---- PostgreSQL specifics ----

/// Several nodes starting together on a new database: the migrations run once (under the
/// advisory lock) and every node opens.
#[test]
fn migrations_run_once_when_nodes_start_together() {
    with_db(|db| {
        let start = Barrier::new(4);
        let stores: Vec<PostgresStore> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        start.wait();
                        PostgresStore::open(&db.url)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap().unwrap())
                .collect()
        });
        let expected: Vec<i64> = (1..=LATEST_SCHEMA).collect();
        assert_eq!(migrations(db), expected);
        for store in &stores {
            assert_eq!(store.schema_version().unwrap(), LATEST_SCHEMA);
        }
        // Every node sees what another wrote.
        let (record, sealed) = secret("shared", "AbCdEf");
        stores[0].create_secret(&record, Some(&sealed)).unwrap();
        for store in &stores {
            assert_eq!(
                store.find_secret_by_arn(&record.arn).unwrap(),
                Some(record.clone())
            );
        }
        drop(stores);
        // Reopening changes nothing.
        drop(db.open());
        assert_eq!(migrations(db), expected);
    });
}

#[test]
fn data_persists_across_reopen() {
    with_db(|db| tresor_store::conformance::data_persists_across_reopen(&|| db.open()));
}

/// Eight creators of one name, on two nodes, at once: one secret, seven `SecretExists`. Then,
/// with the holder scheduled for deletion, every creator is told so.
#[test]
fn concurrent_creates_of_one_name_make_one_secret() {
    with_db(|db| {
        let nodes = [db.open(), db.open()];
        let attempt = |round: &str| -> Vec<Result<(), StoreError>> {
            let start = Barrier::new(8);
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..8)
                    .map(|i| {
                        let node = &nodes[i % 2];
                        let start = &start;
                        s.spawn(move || {
                            let (record, sealed) = secret("contended", &format!("{round}{i:02}"));
                            start.wait();
                            node.create_secret(&record, Some(&sealed))
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            })
        };

        let outcomes = attempt("a");
        let created = outcomes.iter().filter(|r| r.is_ok()).count();
        let refused = outcomes
            .iter()
            .filter(|r| {
                matches!(
                    r,
                    Err(StoreError::SecretExists {
                        scheduled_for_deletion: false
                    })
                )
            })
            .count();
        assert_eq!((created, refused), (1, 7), "{outcomes:?}");
        let listed = nodes[1].list_secrets(&scope(), None, 10).unwrap();
        assert_eq!(listed.len(), 1);

        nodes[0]
            .update_secret::<(), StoreError, _>(&listed[0].arn, |txn| {
                txn.record.deletion = Some(Deletion {
                    deleted_date: Timestamp(5),
                    purge_after: Timestamp(10),
                });
                Ok(())
            })
            .unwrap();
        let outcomes = attempt("b");
        assert!(
            outcomes.iter().all(|r| matches!(
                r,
                Err(StoreError::SecretExists {
                    scheduled_for_deletion: true
                })
            )),
            "{outcomes:?}"
        );
    });
}

/// Sixteen writers on two nodes (two pools) add versions to one secret, each moving
/// AWSCURRENT to its new version: no update is lost and the labels stay unique.
#[test]
fn concurrent_updates_through_two_nodes_serialize() {
    const WRITERS: usize = 16;
    const UPDATES: usize = 10;
    with_db(|db| {
        let nodes = [db.open(), db.open()];
        let (record, sealed) = secret("contended", "AbCdEf");
        nodes[0].create_secret(&record, Some(&sealed)).unwrap();
        let arn = record.arn.as_str();
        std::thread::scope(|s| {
            for w in 0..WRITERS {
                let node = &nodes[w % 2];
                s.spawn(move || {
                    for i in 0..UPDATES {
                        let id = format!("w{w:02}-{i:02}");
                        node.update_secret::<(), StoreError, _>(arn, |txn| {
                            for v in &mut txn.record.versions {
                                v.stages.retain(|l| l != "AWSPREVIOUS");
                                if let Some(at) = v.stages.iter().position(|l| l == "AWSCURRENT") {
                                    v.stages[at] = "AWSPREVIOUS".to_owned();
                                }
                            }
                            txn.add_version(version(&id, &["AWSCURRENT"]), id.clone().into_bytes());
                            Ok(())
                        })
                        .unwrap();
                    }
                });
            }
        });
        let found = nodes[1].find_secret_by_arn(arn).unwrap().unwrap();
        assert_eq!(found.versions.len(), 1 + WRITERS * UPDATES);
        let ids: HashSet<&str> = found
            .versions
            .iter()
            .map(|v| v.version_id.as_str())
            .collect();
        assert_eq!(ids.len(), found.versions.len());
        let with = |label: &str| {
            found
                .versions
                .iter()
                .filter(|v| v.stages.iter().any(|l| l == label))
                .count()
        };
        assert_eq!(with("AWSCURRENT"), 1);
        assert_eq!(with("AWSPREVIOUS"), 1);
        let n = found.versions.len();
        assert_eq!(found.versions[n - 1].stages, ["AWSCURRENT"]);
        assert_eq!(found.versions[n - 2].stages, ["AWSPREVIOUS"]);
    });
}

/// Appenders on two nodes, each linking to the head inside its transaction: one chain, no
/// conflict, no gap.
#[test]
fn audit_appends_from_two_nodes_form_one_chain() {
    const APPENDERS: usize = 6;
    const APPENDS: usize = 15;
    with_db(|db| {
        let nodes = [db.open(), db.open()];
        std::thread::scope(|s| {
            for t in 0..APPENDERS {
                let node = &nodes[t % 2];
                s.spawn(move || {
                    for i in 0..APPENDS {
                        node.append_audit_with(&mut |head| {
                            let (seq, prev) = match head {
                                Some((seq, hash)) => (seq + 1, hash),
                                None => (1, vec![0; 32]),
                            };
                            let mut row = audit_record(seq, prev, format!("t{t}-{i}").into_bytes());
                            row.event_id = format!("t{t}-{i}");
                            vec![row]
                        })
                        .unwrap();
                    }
                });
            }
        });
        let rows = nodes[0].read_audit(1, 1000).unwrap();
        assert_eq!(rows.len(), APPENDERS * APPENDS);
        for (i, pair) in rows.windows(2).enumerate() {
            assert_eq!(pair[0].seq, u64::try_from(i + 1).unwrap());
            assert_eq!(pair[1].prev_hash, pair[0].hash);
        }
    });
}

/// An `atomically` block on one node holds the audit append lock until it ends: an append
/// through another node waits for it, then links to the block's record.
#[test]
fn an_atomic_block_holds_the_chain_across_nodes() {
    with_db(|db| {
        let nodes = [db.open(), db.open()];
        let inside = Barrier::new(2);
        std::thread::scope(|s| {
            s.spawn(|| {
                nodes[0]
                    .atomically(|| {
                        nodes[0].append_audit_with(&mut |head| {
                            assert_eq!(head, None);
                            vec![audit_record(1, vec![0; 32], b"h1".to_vec())]
                        })?;
                        inside.wait();
                        std::thread::sleep(Duration::from_millis(300));
                        Ok::<_, StoreError>(())
                    })
                    .unwrap();
            });
            s.spawn(|| {
                inside.wait();
                nodes[1]
                    .append_audit_with(&mut |head| {
                        let (seq, hash) = head.expect("the block's record");
                        vec![audit_record(seq + 1, hash, b"h2".to_vec())]
                    })
                    .unwrap();
            });
        });
        assert_eq!(nodes[1].audit_head().unwrap(), Some((2, b"h2".to_vec())));
    });
}

/// A database of version 5 (before rotation) gains rotation's tables and indexes at open, and
/// lists its secrets that already had a rotation configured.
#[test]
fn a_version_5_database_gains_rotation() {
    with_db(|db| {
        let (mut record, sealed) = secret("rotating", "AbCdEf");
        record.rotation = Some(r#"{"days":30}"#.to_owned());
        db.open().create_secret(&record, Some(&sealed)).unwrap();
        db.connect()
            .batch_execute(
                "ALTER TABLE secrets DROP COLUMN replication;
                 DELETE FROM tresor_schema_migrations WHERE version = 8;
                 UPDATE kms_keys SET alias =
                     (SELECT MIN(name) FROM kms_aliases a WHERE a.key_id = kms_keys.key_id);
                 DROP TABLE kms_aliases;
                 ALTER TABLE kms_key_versions DROP COLUMN origin, DROP COLUMN created;
                 ALTER TABLE kms_keys DROP COLUMN next_rotation, DROP COLUMN rotation_period_days,
                     DROP COLUMN rotation_enabled, DROP COLUMN tags_json, DROP COLUMN policy,
                     DROP COLUMN key_manager, DROP COLUMN deletion_date, DROP COLUMN key_state;
                 DELETE FROM tresor_schema_migrations WHERE version = 7;
                 DROP TABLE rotators; DROP TABLE rotator_logs; DROP INDEX secrets_rotating;
                 DELETE FROM tresor_schema_migrations WHERE version = 6;",
            )
            .unwrap();
        assert_eq!(migrations(db), (1..=5).collect::<Vec<i64>>());

        let store = db.open();
        assert_eq!(migrations(db), (1..=LATEST_SCHEMA).collect::<Vec<i64>>());
        assert_eq!(
            store.rotating_secrets().unwrap(),
            vec![(record.arn.clone(), r#"{"days":30}"#.to_owned())]
        );
        let indexes: Vec<String> = db
            .connect()
            .query(
                "SELECT indexname FROM pg_indexes WHERE tablename IN ('rotators', 'rotator_logs', \
                 'secrets') AND indexname IN ('secrets_rotating', 'rotator_logs_by_rotator') \
                 ORDER BY indexname",
                &[],
            )
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        assert_eq!(indexes, ["rotator_logs_by_rotator", "secrets_rotating"]);
    });
}

#[test]
fn a_newer_schema_is_refused() {
    with_db(|db| {
        drop(db.open());
        db.connect()
            .batch_execute("INSERT INTO tresor_schema_migrations (version) VALUES (99)")
            .unwrap();
        let r = PostgresStore::open(&db.url);
        assert!(matches!(r, Err(StoreError::Backend(_))), "{r:?}");
    });
}

#[test]
fn another_applications_database_is_refused() {
    with_db(|db| {
        db.connect()
            .batch_execute("CREATE TABLE notes (body TEXT)")
            .unwrap();
        let r = PostgresStore::open(&db.url);
        assert!(matches!(r, Err(StoreError::Backend(_))), "{r:?}");
        let tables: i64 = db
            .connect()
            .query_one(
                "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(tables, 1);
    });
}

#[test]
fn an_unreachable_server_is_a_backend_error() {
    let r = PostgresStore::open("postgres://postgres@127.0.0.1:1/none?connect_timeout=2");
    assert!(matches!(r, Err(StoreError::Backend(_))), "{r:?}");
    let r = PostgresStore::open("postgres://[bad");
    assert!(matches!(r, Err(StoreError::Backend(_))), "{r:?}");
}

/// The server opens and drops the store on async tasks and calls it from `spawn_blocking`.
#[test]
fn works_with_a_tokio_runtime() {
    with_db(|db| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let store = std::sync::Arc::new(PostgresStore::open(&db.url).unwrap());
            let (record, sealed) = secret("async", "AbCdEf");
            let writer = std::sync::Arc::clone(&store);
            let created = record.clone();
            tokio::task::spawn_blocking(move || writer.create_secret(&created, Some(&sealed)))
                .await
                .unwrap()
                .unwrap();
            let reader = std::sync::Arc::clone(&store);
            let arn = record.arn.clone();
            let found = tokio::task::spawn_blocking(move || reader.find_secret_by_arn(&arn))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(found, Some(record));
            // Dropped on an async task, with idle connections in its pool.
            drop(store);
        });
    });
}

/// Errors never quote stored or bound values (PostgreSQL's detail does: it is left out).
#[test]
fn errors_name_the_condition_not_the_values() {
    with_db(|db| {
        let store = db.open();
        let (record, sealed) = secret("private-name", "AbCdEf");
        store.create_secret(&record, Some(&sealed)).unwrap();
        // A version id repeated inside one update is a conflict.
        let r = store.update_secret::<(), StoreError, _>(&record.arn, |txn| {
            let mut dup = version("v-secret-id", &[]);
            dup.value_digest = b"digest".to_vec();
            txn.add_version(dup.clone(), b"one".to_vec());
            txn.record.versions.push(dup);
            Ok(())
        });
        assert!(matches!(r, Err(StoreError::Conflict)), "{r:?}");
        // A constraint violation names the constraint, not the row.
        db.connect()
            .batch_execute("ALTER TABLE secrets ADD CONSTRAINT no_x CHECK (name <> 'x')")
            .unwrap();
        let (x, sealed) = secret("x", "ZzZzZz");
        let r = store.create_secret(&x, Some(&sealed));
        match r {
            Err(StoreError::Backend(message)) => {
                assert!(message.contains("no_x"), "{message}");
                assert!(!message.contains("ZzZzZz"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    });
}

/// A panic inside an `update_secret` closure or an `atomically` block rolls back, and the
/// store stays usable (the connection goes back to the pool clean).
#[test]
fn a_panicking_closure_leaves_the_store_usable() {
    with_db(|db| {
        let store = db.open();
        let (record, sealed) = secret("survives", "AbCdEf");
        store.create_secret(&record, Some(&sealed)).unwrap();
        for _ in 0..10 {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let _ = store.update_secret::<(), StoreError, _>(&record.arn, |txn| {
                    txn.record.description = Some("half done".to_owned());
                    panic!("closure bug");
                });
            }));
            assert!(outcome.is_err());
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let _ = store.atomically(|| {
                    store.update_secret::<(), StoreError, _>(&record.arn, |txn| {
                        txn.record.description = Some("half done".to_owned());
                        Ok(())
                    })?;
                    panic!("block bug");
                    #[allow(unreachable_code)]
                    Ok::<_, StoreError>(())
                });
            }));
            assert!(outcome.is_err());
        }
        assert_eq!(
            store.find_secret_by_arn(&record.arn).unwrap(),
            Some(record.clone())
        );
        store
            .atomically(|| {
                store.update_secret::<(), StoreError, _>(&record.arn, |txn| {
                    txn.record.description = Some("after".to_owned());
                    Ok(())
                })
            })
            .unwrap();
        let found = store.find_secret_by_arn(&record.arn).unwrap().unwrap();
        assert_eq!(found.description.as_deref(), Some("after"));
    });
}

/// When the server ends the store's sessions (as a restart does), the next calls get fresh
/// connections: nothing fails once the dead connections are found at `BEGIN`.
#[test]
fn the_store_reconnects_after_its_sessions_are_terminated() {
    with_db(|db| {
        let store = db.open();
        let (record, sealed) = secret("reconnect", "AbCdEf");
        store.create_secret(&record, Some(&sealed)).unwrap();
        // Fill the pool with several idle connections.
        std::thread::scope(|s| {
            for _ in 0..6 {
                s.spawn(|| {
                    for _ in 0..20 {
                        store.find_secret_by_arn(&record.arn).unwrap();
                    }
                });
            }
        });
        let terminated: i64 = db
            .connect()
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid() \
                 AND application_name = 'tresor'",
                &[],
            )
            .unwrap()
            .get(0);
        assert!(terminated >= 1);
        std::thread::sleep(Duration::from_millis(200));
        assert!(store.find_secret_by_arn(&record.arn).unwrap().is_some());
        store
            .update_secret::<(), StoreError, _>(&record.arn, |txn| {
                txn.record.description = Some("after restart".to_owned());
                Ok(())
            })
            .unwrap();
        let found = store.find_secret_by_arn(&record.arn).unwrap().unwrap();
        assert_eq!(found.description.as_deref(), Some("after restart"));
    });
}

/// A whole SQLite store copied into a fresh PostgreSQL database reads back the same; a
/// non-empty PostgreSQL target is refused and left as it was.
#[test]
fn transfer_sqlite_to_postgres() {
    with_db(|db| {
        let dir = tempfile::tempdir().unwrap();
        let from = tresor_store::SqliteStore::open(&dir.path().join("from.db")).unwrap();
        let to = Backend::Postgres(db.open());
        tresor_store::conformance::transfer_round_trip(&from, &to);
    });
}

#[test]
fn transfer_refuses_a_non_empty_postgres_target() {
    with_db(|db| {
        let dir = tempfile::tempdir().unwrap();
        let from = tresor_store::SqliteStore::open(&dir.path().join("from.db")).unwrap();
        tresor_store::conformance::transfer_refuses_a_non_empty_target(&from, &db.open());
    });
}

#[test]
fn transfer_refuses_a_postgres_target_with_gateway_state() {
    with_db(|db| {
        let dir = tempfile::tempdir().unwrap();
        let from = tresor_store::SqliteStore::open(&dir.path().join("from.db")).unwrap();
        tresor_store::conformance::transfer_refuses_a_target_with_gateway_state(&from, &db.open());
    });
}

#[test]
fn transfer_refuses_a_postgres_target_with_rotation_state() {
    with_db(|db| {
        let dir = tempfile::tempdir().unwrap();
        let from = tresor_store::SqliteStore::open(&dir.path().join("from.db")).unwrap();
        tresor_store::conformance::transfer_refuses_a_target_with_rotation_state(&from, &db.open());
    });
}

/// A whole PostgreSQL store copied into a fresh SQLite file reads back the same (rotators and
/// their logs included).
#[test]
fn transfer_postgres_to_sqlite() {
    with_db(|db| {
        let dir = tempfile::tempdir().unwrap();
        let from = Backend::Postgres(db.open());
        let to = tresor_store::SqliteStore::open(&dir.path().join("to.db")).unwrap();
        tresor_store::conformance::transfer_round_trip(&from, &to);
    });
}

#[test]
fn transfer_ledger_import_checks_its_input_on_postgres() {
    with_db(|db| tresor_store::conformance::transfer_ledger_import_checks_its_input(&db.open()));
}
