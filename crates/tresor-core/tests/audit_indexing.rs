//! The audit writer keeps the trail's lookup indexes up to date in batches, with a real SQLite
//! store: after every 256 records appended (reads' records and those of changes alike), and
//! at shutdown. The records are counted in the store's own audit file.
//!
//! Each read waits for its record's group commit, and the writer indexes after answering a
//! group and before taking the next, so once a read is answered every batch due before its
//! record is written. Only the changes' batch, which no read follows, is waited for.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test support code

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::{audited_call, root};
use tresor_core::{bootstrap, Core, RequestContext, StoreBackend};
use tresor_store::SqliteStore;
use tresor_types::AccountId;

/// Records appended between two batches (`tresor_core::audit::INDEX_EVERY`).
const INDEX_EVERY: i64 = 256;

/// (records in the trail, records indexed), read from the audit file beside `store`.
fn counts(store: &Path) -> (i64, i64) {
    let conn = rusqlite::Connection::open(SqliteStore::audit_path(store)).unwrap();
    conn.query_row(
        "SELECT (SELECT count(*) FROM audit_records), (SELECT count(*) FROM audit_lookup)",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .unwrap()
}

fn start(dir: &Path) -> (Core, RequestContext, PathBuf) {
    let path = dir.join("tresor.db");
    let store = StoreBackend::Sqlite(SqliteStore::open(&path).unwrap());
    let account = AccountId::parse("111122223333").unwrap();
    let (keyring, _creds) = bootstrap::dev(&store, &account, None).unwrap();
    let core = Core::new(store, keyring).unwrap();
    (core, root(&account), path)
}

/// A read's record: queued for the writer's next group, waited for.
fn read(core: &Core, ctx: &RequestContext) {
    core.audit(audited_call(ctx, "GetSecretValue")).unwrap();
}

/// A change's record: appended in the change's own transaction.
fn change(core: &Core, ctx: &RequestContext) {
    core.atomically(|| core.audit_in_transaction(audited_call(ctx, "PutSecretValue")))
        .unwrap();
}

#[test]
fn reads_records_are_indexed_in_batches_and_the_rest_at_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let (core, ctx, path) = start(dir.path());
    for _ in 0..300 {
        read(&core, &ctx);
    }
    let (records, indexed) = counts(&path);
    assert!(records >= 300, "{records}");
    assert!(indexed >= INDEX_EVERY, "{indexed} of {records} indexed");
    assert!(
        records - indexed < INDEX_EVERY,
        "{indexed} of {records} indexed"
    );

    drop(core);
    let (after, indexed) = counts(&path);
    assert_eq!(
        (after, indexed),
        (records, records),
        "all indexed at shutdown"
    );
}

#[test]
fn changes_records_count_towards_a_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (core, ctx, path) = start(dir.path());
    // The writer's first group indexes whatever the trail held when it started.
    read(&core, &ctx);
    let (_, before) = counts(&path);
    for _ in 0..INDEX_EVERY {
        change(&core, &ctx);
    }
    // Nothing else is queued: the writer, asleep until its next checkpoint a minute away, is
    // woken when the changes' records complete a batch.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (records, indexed) = counts(&path);
        if indexed >= before + INDEX_EVERY {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{indexed} of {records} indexed, {before} before the changes"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
