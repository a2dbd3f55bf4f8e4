//! Rotation's state ([`RotationStore`]): rotators (a name unique in its scope, an ARN unique
//! everywhere, also when writers race), their logs (newest first, by secret, the newest
//! [`ROTATOR_LOG_KEEP`] kept, gone with their rotator), the secrets with a rotation, and
//! rotation writes committing or rolling back with `Store::atomically`.

use std::sync::Barrier;

use super::fixtures::*;
use crate::{
    Deletion, RotationStore, RotatorLogRecord, RotatorRecord, Scope, Store, StoreError,
    ROTATOR_LOG_KEEP,
};

const STEPS: [&str; 4] = ["createSecret", "setSecret", "testSecret", "finishSecret"];

pub(super) fn rotator_arn(scope: &Scope, name: &str) -> String {
    format!(
        "arn:aws:lambda:{}:{}:function:{name}",
        scope.region, scope.account
    )
}

/// A command rotator without a sealed secret.
pub(super) fn rotator(scope: &Scope, name: &str) -> RotatorRecord {
    RotatorRecord {
        scope: scope.clone(),
        name: name.to_owned(),
        arn: rotator_arn(scope, name),
        kind: "command".to_owned(),
        config_json: format!(r#"{{"command":"python3 rotate-{name}.py","timeout_secs":30}}"#),
        sealed_secret: None,
        created: T0,
    }
}

/// The `n`th step `rotator` ran, on the secret `secret` of its scope: every field differs
/// with `n`, and the output holds bytes that are not UTF-8.
pub(super) fn log_entry(rotator: &RotatorRecord, secret: &str, n: usize) -> RotatorLogRecord {
    let n64 = i64::try_from(n).unwrap();
    let failed = n % 5 == 4;
    RotatorLogRecord {
        account: rotator.scope.account.clone(),
        rotator_arn: rotator.arn.clone(),
        secret_arn: arn_for(&rotator.scope, secret),
        version_id: format!("token-{n:04}"),
        step: STEPS[n % STEPS.len()].to_owned(),
        time: T0.plus_seconds(n64),
        outcome: if failed { "failed" } else { "ok" }.to_owned(),
        summary: format!("exit status {}", u8::from(failed)),
        stdout: format!("step {n} done\n").into_bytes(),
        stderr: if n % 3 == 0 {
            Vec::new()
        } else {
            vec![0, 0xff, 0xfe, u8::try_from(n % 256).unwrap()]
        },
        duration_ms: n64 * 7,
    }
}

fn logs<S: RotationStore>(store: &S, rotator_arn: &str) -> Vec<RotatorLogRecord> {
    store.rotator_logs(rotator_arn, None, usize::MAX).unwrap()
}

fn newest_first(mut entries: Vec<RotatorLogRecord>) -> Vec<RotatorLogRecord> {
    entries.reverse();
    entries
}

/// A refusal of bad input: a `Backend` error whose message names the field.
fn assert_refused<T: std::fmt::Debug>(r: crate::Result<T>, field: &str) {
    match r {
        Err(StoreError::Backend(message)) => assert!(
            message.contains(field),
            "the error does not name {field}: {message}"
        ),
        other => panic!("expected a refusal naming {field}, got {other:?}"),
    }
}

// ---- rotators ----

/// Rotators: create, read, list by name per scope, delete; the same name in another region or
/// account is another rotator; a name taken in the scope, or an ARN taken anywhere, is
/// `Conflict` and changes nothing.
pub fn rotators_round_trip_and_conflict<S: RotationStore>(store: &S) {
    assert!(store.list_rotators(&home()).unwrap().is_empty());
    let mut webhook = rotator(&home(), "zeta");
    webhook.kind = "webhook".to_owned();
    webhook.config_json =
        r#"{"url":"https://hooks.example/rotate","pass_credentials":false}"#.to_owned();
    webhook.sealed_secret = Some(vec![0, 1, 2, 0xff, 0]);
    webhook.created = T0.plus_seconds(5);
    let alpha = rotator(&home(), "alpha");
    store.create_rotator(&webhook).unwrap();
    store.create_rotator(&alpha).unwrap();

    assert_eq!(
        store.get_rotator(&home(), "zeta").unwrap(),
        Some(webhook.clone())
    );
    assert_eq!(
        store.get_rotator(&home(), "alpha").unwrap(),
        Some(alpha.clone())
    );
    assert_eq!(
        store.get_rotator(&home(), "ALPHA").unwrap(),
        None,
        "names are exact"
    );
    assert_eq!(store.get_rotator(&home(), "missing").unwrap(), None);
    assert_eq!(
        store.list_rotators(&home()).unwrap(),
        vec![alpha.clone(), webhook.clone()]
    );

    // The same name in another region and in another account.
    let elsewhere = rotator(&other_region(), "alpha");
    let theirs = rotator(&other_account(), "alpha");
    store.create_rotator(&elsewhere).unwrap();
    store.create_rotator(&theirs).unwrap();
    assert_eq!(
        store.list_rotators(&other_region()).unwrap(),
        vec![elsewhere.clone()]
    );
    assert_eq!(
        store.list_rotators(&other_account()).unwrap(),
        vec![theirs.clone()]
    );
    assert_eq!(store.list_rotators(&home()).unwrap().len(), 2);
    assert_eq!(
        store.get_rotator(&other_region(), "alpha").unwrap(),
        Some(elsewhere.clone())
    );

    // A name taken in the scope (whatever the ARN), and an ARN taken by another name.
    let mut same_name = rotator(&home(), "alpha");
    same_name.arn = rotator_arn(&home(), "alpha-2");
    same_name.kind = "openai".to_owned();
    assert!(matches!(
        store.create_rotator(&same_name),
        Err(StoreError::Conflict)
    ));
    let mut same_arn = rotator(&home(), "beta");
    same_arn.arn = alpha.arn.clone();
    assert!(matches!(
        store.create_rotator(&same_arn),
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.get_rotator(&home(), "alpha").unwrap(),
        Some(alpha.clone())
    );
    assert_eq!(store.get_rotator(&home(), "beta").unwrap(), None);
    assert_eq!(store.list_rotators(&home()).unwrap().len(), 2);

    // Delete: `true` once, then `false`; the namesakes elsewhere stay.
    assert!(store.delete_rotator(&home(), "alpha").unwrap());
    assert_eq!(store.get_rotator(&home(), "alpha").unwrap(), None);
    assert!(!store.delete_rotator(&home(), "alpha").unwrap());
    assert!(!store.delete_rotator(&home(), "never").unwrap());
    assert_eq!(store.list_rotators(&home()).unwrap(), vec![webhook]);
    assert_eq!(
        store.list_rotators(&other_region()).unwrap(),
        vec![elsewhere]
    );
    assert_eq!(store.list_rotators(&other_account()).unwrap(), vec![theirs]);
    // The name and the ARN are free again.
    store.create_rotator(&alpha).unwrap();
    assert_eq!(store.get_rotator(&home(), "alpha").unwrap(), Some(alpha));
}

/// A rotator without a name, an ARN or a kind, and a log entry without a rotator ARN or with
/// a negative duration, are refused naming the field, and nothing is written.
pub fn rotators_refuse_bad_input<S: RotationStore>(store: &S) {
    type Spoil = fn(&mut RotatorRecord);
    let spoils: [(Spoil, &str); 3] = [
        (|r| r.name.clear(), "name"),
        (|r| r.arn.clear(), "ARN"),
        (|r| r.kind.clear(), "kind"),
    ];
    for (spoil, field) in spoils {
        let mut bad = rotator(&home(), "bad");
        spoil(&mut bad);
        assert_refused(store.create_rotator(&bad), field);
    }
    assert!(store.list_rotators(&home()).unwrap().is_empty());

    let good = rotator(&home(), "good");
    store.create_rotator(&good).unwrap();
    let mut no_arn = log_entry(&good, "db", 0);
    no_arn.rotator_arn.clear();
    assert_refused(store.append_rotator_log(&no_arn), "ARN");
    let mut negative = log_entry(&good, "db", 0);
    negative.duration_ms = -1;
    assert_refused(store.append_rotator_log(&negative), "duration");
    assert!(logs(store, &good.arn).is_empty());
    assert!(logs(store, "").is_empty());
}

// ---- logs ----

/// A rotator's log reads back newest first, every field as appended, at most `limit`
/// entries, optionally only one secret's; other rotators' entries never show.
pub fn rotator_logs_newest_first_and_by_secret<S: RotationStore>(store: &S) {
    let r = rotator(&home(), "r");
    let o = rotator(&home(), "o");
    store.create_rotator(&r).unwrap();
    store.create_rotator(&o).unwrap();
    assert!(logs(store, &r.arn).is_empty());

    // Entries of two secrets, interleaved with another rotator's; all at the same time, so
    // that the order is the order of appending, not of `time`.
    let mut mine = Vec::new();
    for n in 0..8 {
        let mut entry = log_entry(&r, if n % 2 == 0 { "db" } else { "api" }, n);
        entry.time = T0;
        store.append_rotator_log(&entry).unwrap();
        mine.push(entry);
        if n % 3 == 0 {
            store
                .append_rotator_log(&log_entry(&o, "db", 100 + n))
                .unwrap();
        }
    }
    assert_eq!(logs(store, &r.arn), newest_first(mine.clone()));
    assert_eq!(
        store.rotator_logs(&r.arn, None, 3).unwrap(),
        newest_first(mine.clone())[..3].to_vec()
    );
    assert!(store.rotator_logs(&r.arn, None, 0).unwrap().is_empty());

    let db_arn = arn_for(&home(), "db");
    let of_db: Vec<_> = mine
        .iter()
        .filter(|e| e.secret_arn == db_arn)
        .cloned()
        .collect();
    assert_eq!(of_db.len(), 4);
    assert_eq!(
        store.rotator_logs(&r.arn, Some(&db_arn), 100).unwrap(),
        newest_first(of_db.clone())
    );
    assert_eq!(
        store.rotator_logs(&r.arn, Some(&db_arn), 2).unwrap(),
        newest_first(of_db)[..2].to_vec()
    );
    assert!(store
        .rotator_logs(&r.arn, Some(&arn_for(&home(), "none")), 100)
        .unwrap()
        .is_empty());

    let others = logs(store, &o.arn);
    assert_eq!(others.len(), 3);
    assert!(others.iter().all(|e| e.rotator_arn == o.arn));
    assert_eq!(
        others
            .iter()
            .map(|e| e.version_id.as_str())
            .collect::<Vec<_>>(),
        ["token-0106", "token-0103", "token-0100"]
    );
    assert!(logs(store, &rotator_arn(&home(), "unknown")).is_empty());
}

/// A rotator keeps its newest [`ROTATOR_LOG_KEEP`] entries: the one past the cap drops the
/// oldest, also when appends of several writers race; other rotators' logs are untouched.
pub fn rotator_logs_keep_the_newest<S: RotationStore + Sync>(store: &S) {
    let r = rotator(&home(), "busy");
    let o = rotator(&home(), "quiet");
    store.create_rotator(&r).unwrap();
    store.create_rotator(&o).unwrap();
    for n in 0..3 {
        store.append_rotator_log(&log_entry(&o, "db", n)).unwrap();
    }
    for n in 0..ROTATOR_LOG_KEEP {
        store.append_rotator_log(&log_entry(&r, "db", n)).unwrap();
    }
    assert_eq!(
        logs(store, &r.arn).len(),
        ROTATOR_LOG_KEEP,
        "none dropped yet"
    );

    store
        .append_rotator_log(&log_entry(&r, "db", ROTATOR_LOG_KEEP))
        .unwrap();
    let kept = logs(store, &r.arn);
    assert_eq!(kept.len(), ROTATOR_LOG_KEEP);
    assert_eq!(kept.first(), Some(&log_entry(&r, "db", ROTATOR_LOG_KEEP)));
    assert_eq!(
        kept.last(),
        Some(&log_entry(&r, "db", 1)),
        "the oldest went"
    );
    assert!(!kept.contains(&log_entry(&r, "db", 0)));
    assert_eq!(logs(store, &o.arn).len(), 3);

    // Racing appends: the cap holds exactly, and the newest entries are theirs.
    const WRITERS: usize = 4;
    const EACH: usize = 5;
    let start = Barrier::new(WRITERS);
    std::thread::scope(|s| {
        for w in 0..WRITERS {
            let (r, start) = (&r, &start);
            s.spawn(move || {
                start.wait();
                for i in 0..EACH {
                    let n = 10_000 + w * 100 + i;
                    store.append_rotator_log(&log_entry(r, "db", n)).unwrap();
                }
            });
        }
    });
    let kept = logs(store, &r.arn);
    assert_eq!(kept.len(), ROTATOR_LOG_KEEP);
    let newest: Vec<&str> = kept[..WRITERS * EACH]
        .iter()
        .map(|e| e.version_id.as_str())
        .collect();
    assert!(
        newest.iter().all(|id| id.starts_with("token-1")),
        "the racing appends are the newest: {newest:?}"
    );
    assert_eq!(
        kept.last().map(|e| e.version_id.clone()),
        Some(format!("token-{:04}", 1 + WRITERS * EACH))
    );
    assert_eq!(logs(store, &o.arn).len(), 3);
}

/// Deleting a rotator deletes its log, and no other. An entry appended under a deleted
/// rotator's ARN (a step that ended after the delete) is kept, and a new rotator of that ARN
/// starts with an empty log.
pub fn rotator_delete_removes_its_logs<S: RotationStore>(store: &S) {
    let r = rotator(&home(), "r");
    let o = rotator(&home(), "o");
    store.create_rotator(&r).unwrap();
    store.create_rotator(&o).unwrap();
    for n in 0..4 {
        store.append_rotator_log(&log_entry(&r, "db", n)).unwrap();
        store.append_rotator_log(&log_entry(&o, "db", n)).unwrap();
    }
    assert!(store.delete_rotator(&home(), "r").unwrap());
    assert!(logs(store, &r.arn).is_empty());
    assert_eq!(logs(store, &o.arn).len(), 4);

    let late = log_entry(&r, "db", 9);
    store.append_rotator_log(&late).unwrap();
    assert_eq!(logs(store, &r.arn), vec![late]);
    store.create_rotator(&r).unwrap();
    assert!(
        logs(store, &r.arn).is_empty(),
        "a new rotator starts afresh"
    );
    store.append_rotator_log(&log_entry(&r, "db", 10)).unwrap();
    assert_eq!(logs(store, &r.arn), vec![log_entry(&r, "db", 10)]);
    assert_eq!(logs(store, &o.arn).len(), 4);
}

/// Concurrent registrations of one name in one scope, through any of `stores` (several nodes
/// on one database): exactly one succeeds, every other is `Conflict`, and one rotator is left.
pub fn rotator_names_hold_across_stores<S: RotationStore + Sync>(stores: &[&S]) {
    const WRITERS: usize = 8;
    let start = Barrier::new(WRITERS);
    let outcomes: Vec<(String, crate::Result<()>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..WRITERS)
            .map(|w| {
                let store = stores[w % stores.len()];
                let start = &start;
                s.spawn(move || {
                    // Each with its own ARN: only the name is contended.
                    let mut mine = rotator(&home(), "contended");
                    mine.arn = rotator_arn(&home(), &format!("contended-{w}"));
                    start.wait();
                    (mine.arn.clone(), store.create_rotator(&mine))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let won: Vec<&String> = outcomes
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(arn, _)| arn)
        .collect();
    assert_eq!(won.len(), 1, "{outcomes:?}");
    for (_, outcome) in &outcomes {
        assert!(
            matches!(outcome, Ok(()) | Err(StoreError::Conflict)),
            "{outcome:?}"
        );
    }
    for store in stores {
        let listed = store.list_rotators(&home()).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(&listed[0].arn, won[0]);
    }
}

/// [`rotator_names_hold_across_stores`] on one store.
pub fn concurrent_rotator_creates_one_wins<S: RotationStore + Sync>(store: &S) {
    rotator_names_hold_across_stores(&[store, store]);
}

// ---- secrets with rotation ----

fn create_with_rotation<S: Store>(store: &S, scope: &Scope, name: &str, rotation: Option<&str>) {
    let mut record = bare_secret(scope, name);
    record.rotation = rotation.map(str::to_owned);
    store.create_secret(&record, None).unwrap();
}

/// `rotating_secrets` lists every secret, in every scope, whose rotation is set and that is
/// not scheduled for deletion, with its rotation, by ARN; and follows changes of both.
pub fn rotating_secrets_lists_rotation_not_deleted<S: Store + RotationStore>(store: &S) {
    assert!(store.rotating_secrets().unwrap().is_empty());
    create_with_rotation(store, &home(), "plain", None);
    create_with_rotation(store, &home(), "rotating", Some(r#"{"days":30}"#));
    create_with_rotation(store, &other_account(), "theirs", Some(r#"{"days":1}"#));
    create_with_rotation(store, &other_region(), "eu", Some(r#"{"cron":"x"}"#));
    create_with_rotation(store, &home(), "deleted", Some(r#"{"days":7}"#));
    let deleted = arn_for(&home(), "deleted");
    update(store, &deleted, |txn| {
        txn.record.deletion = Some(Deletion {
            deleted_date: T0,
            purge_after: T0.plus_days(7),
        });
    });
    let expected = |mut pairs: Vec<(String, &str)>| {
        pairs.sort();
        pairs
            .into_iter()
            .map(|(arn, rotation)| (arn, rotation.to_owned()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        store.rotating_secrets().unwrap(),
        expected(vec![
            (arn_for(&home(), "rotating"), r#"{"days":30}"#),
            (arn_for(&other_account(), "theirs"), r#"{"days":1}"#),
            (arn_for(&other_region(), "eu"), r#"{"cron":"x"}"#),
        ])
    );

    // Rotation turned off, a deletion cancelled, rotation set and changed.
    update(store, &arn_for(&home(), "rotating"), |txn| {
        txn.record.rotation = None;
    });
    update(store, &deleted, |txn| txn.record.deletion = None);
    update(store, &arn_for(&home(), "plain"), |txn| {
        txn.record.rotation = Some(r#"{"days":2}"#.to_owned());
    });
    update(store, &arn_for(&other_region(), "eu"), |txn| {
        txn.record.rotation = Some(r#"{"cron":"y"}"#.to_owned());
    });
    assert_eq!(
        store.rotating_secrets().unwrap(),
        expected(vec![
            (arn_for(&home(), "plain"), r#"{"days":2}"#),
            (arn_for(&home(), "deleted"), r#"{"days":7}"#),
            (arn_for(&other_account(), "theirs"), r#"{"days":1}"#),
            (arn_for(&other_region(), "eu"), r#"{"cron":"y"}"#),
        ])
    );
    store.purge_secret(&deleted).unwrap();
    assert_eq!(store.rotating_secrets().unwrap().len(), 3);
}

// ---- transactions ----

/// Rotation writes join `Store::atomically`: with the block's `Ok` they commit together with
/// a secret's; with its `Err` none of them remains (a rotator created, entries appended, a
/// rotator deleted). A taken name inside a block fails alone, and the block still commits.
pub fn rotation_writes_join_atomically<S: Store + RotationStore>(store: &S) {
    let kept = rotator(&home(), "kept");
    store
        .atomically(|| {
            store.create_rotator(&kept)?;
            store.append_rotator_log(&log_entry(&kept, "db", 0))?;
            create_with_rotation(store, &home(), "db", Some(r#"{"days":30}"#));
            Ok::<_, StoreError>(())
        })
        .unwrap();
    assert_eq!(
        store.get_rotator(&home(), "kept").unwrap(),
        Some(kept.clone())
    );
    assert_eq!(logs(store, &kept.arn), vec![log_entry(&kept, "db", 0)]);
    assert_eq!(store.rotating_secrets().unwrap().len(), 1);

    let discarded = rotator(&home(), "discarded");
    let outcome: Result<(), StoreError> = store.atomically(|| {
        store.create_rotator(&discarded)?;
        store.append_rotator_log(&log_entry(&discarded, "db", 1))?;
        store.append_rotator_log(&log_entry(&kept, "db", 2))?;
        assert!(store.delete_rotator(&home(), "kept")?);
        Err(StoreError::Conflict)
    });
    assert!(matches!(outcome, Err(StoreError::Conflict)));
    assert_eq!(store.get_rotator(&home(), "discarded").unwrap(), None);
    assert!(logs(store, &discarded.arn).is_empty());
    assert_eq!(
        store.get_rotator(&home(), "kept").unwrap(),
        Some(kept.clone())
    );
    assert_eq!(logs(store, &kept.arn), vec![log_entry(&kept, "db", 0)]);
    assert_eq!(store.list_rotators(&home()).unwrap(), vec![kept.clone()]);

    // A conflict inside a block fails alone.
    let after = rotator(&home(), "after");
    store
        .atomically(|| {
            assert!(matches!(
                store.create_rotator(&rotator(&home(), "kept")),
                Err(StoreError::Conflict)
            ));
            store.create_rotator(&after)?;
            store.append_rotator_log(&log_entry(&kept, "db", 3))
        })
        .unwrap();
    assert_eq!(
        store.list_rotators(&home()).unwrap(),
        vec![after, kept.clone()]
    );
    assert_eq!(logs(store, &kept.arn).len(), 2);
}
