//! "Signed at least every minute": while the core runs, the audit writer signs the chain's
//! head once per interval in which records arrived, before any shutdown, and an idle trail is
//! not signed again. The interval is a minute in production; here the core is started with a
//! short one, and the checkpoints it writes are verified with `tresor-audit` against the
//! trail, as an auditor holding the public key does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test support code

mod support;

use std::time::{Duration, Instant};

use support::{audited_call, root};
use tresor_audit::{AuditRecord, Checkpoint, VerifyReport};
use tresor_core::{bootstrap, Core, RequestContext, StoreBackend};
use tresor_store::{AuditStore, SqliteStore};
use tresor_types::AccountId;

/// The checkpoint interval the core is started with.
const EVERY: Duration = Duration::from_millis(200);

fn start(dir: &std::path::Path) -> (Core, RequestContext) {
    let store = StoreBackend::Sqlite(SqliteStore::open(&dir.join("tresor.db")).unwrap());
    let account = AccountId::parse("111122223333").unwrap();
    let (keyring, _creds) = bootstrap::dev(&store, &account, None).unwrap();
    let core = Core::with_checkpoint_every(store, keyring, EVERY).unwrap();
    (core, root(&account))
}

fn checkpoints(core: &Core) -> Vec<Checkpoint> {
    core.store()
        .list_checkpoints()
        .unwrap()
        .into_iter()
        .map(|c| Checkpoint {
            seq: c.seq,
            hash: c.hash.try_into().unwrap(),
            time: c.time,
            signature: c.signature.try_into().unwrap(),
        })
        .collect()
}

fn records(core: &Core) -> Vec<AuditRecord> {
    core.store()
        .read_audit(1, 1_000_000)
        .unwrap()
        .into_iter()
        .map(|r| AuditRecord {
            seq: r.seq,
            prev_hash: r.prev_hash.try_into().unwrap(),
            event_json: r.event_json,
            hash: r.hash.try_into().unwrap(),
            mac: r.mac.try_into().unwrap(),
        })
        .collect()
}

/// The seq of the chain's last record.
fn head(core: &Core) -> u64 {
    core.store().audit_head().unwrap().unwrap().0
}

/// The trail and its checkpoints, verified with the public key only (what an auditor holds).
fn verified(core: &Core) -> VerifyReport {
    let public_key = core.keyring().audit_public_key().unwrap();
    tresor_audit::verify_live(records(core), &checkpoints(core), None, &public_key).unwrap()
}

/// Wait (bounded) until a checkpoint covers record `seq`; the checkpoints then.
fn signed_through(core: &Core, seq: u64) -> Vec<Checkpoint> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let cps = checkpoints(core);
        if cps.iter().any(|c| c.seq >= seq) {
            return cps;
        }
        assert!(
            Instant::now() < deadline,
            "no checkpoint covers record {seq} after 20 s of a {EVERY:?} interval: {:?}",
            cps.iter().map(|c| c.seq).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A read's record (group commit) and a change's record (appended in its own transaction).
fn read_and_change(core: &Core, ctx: &RequestContext) {
    core.audit(audited_call(ctx, "GetSecretValue")).unwrap();
    core.atomically(|| core.audit_in_transaction(audited_call(ctx, "PutSecretValue")))
        .unwrap();
}

#[test]
fn the_head_is_signed_every_interval_while_the_writer_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (core, ctx) = start(dir.path());

    read_and_change(&core, &ctx);
    let first = head(&core);
    let cps = signed_through(&core, first);
    let report = verified(&core);
    assert!(report.checkpoints >= 1, "{report:?}");
    assert!(report.signed_through >= first, "{report:?}");

    // Later records are signed in a later interval, still without a shutdown.
    for _ in 0..3 {
        read_and_change(&core, &ctx);
    }
    let second = head(&core);
    assert!(second > first);
    let later = signed_through(&core, second);
    assert!(
        later.len() > cps.len(),
        "a new checkpoint, not a rewritten one"
    );
    let report = verified(&core);
    assert_eq!(report.signed_through, second, "{report:?}");
    assert_eq!(report.last_seq, second, "{report:?}");
}

#[test]
fn an_idle_trail_is_not_signed_again() {
    let dir = tempfile::tempdir().unwrap();
    let (core, ctx) = start(dir.path());
    read_and_change(&core, &ctx);
    let seq = head(&core);
    let signed = signed_through(&core, seq);

    // Ten intervals without a record: the same checkpoints, the same signing times.
    std::thread::sleep(EVERY * 10);
    assert_eq!(head(&core), seq, "nothing was appended while idle");
    assert_eq!(checkpoints(&core), signed);
    assert_eq!(verified(&core).signed_through, seq);
}
