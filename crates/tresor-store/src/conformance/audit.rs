//! The audit trail ([`AuditStore`]).

use std::collections::HashSet;

use tresor_types::Timestamp;

use crate::{AuditQuery, AuditRow, AuditStore, CheckpointRow, Store, StoreError};

use super::fixtures::*;

fn query(attribute: Option<(&str, &str)>) -> AuditQuery {
    AuditQuery {
        attribute: attribute.map(|(a, v)| (a.to_owned(), v.to_owned())),
        limit: 1000,
        ..AuditQuery::default()
    }
}

fn seqs(rows: &[AuditRow]) -> Vec<u64> {
    rows.iter().map(|r| r.seq).collect()
}

fn head_of(rows: &[AuditRow]) -> Option<(u64, Vec<u8>)> {
    rows.last().map(|r| (r.seq, r.hash.clone()))
}

/// Contiguous batches append; the head follows; every record reads back byte for byte.
pub fn audit_appends_contiguous_batches<S: Store + AuditStore>(store: &S) {
    assert_eq!(store.audit_head().unwrap(), None);
    assert_eq!(store.read_audit(1, 10).unwrap(), vec![]);
    store.append_audit(&[]).unwrap();
    assert_eq!(store.audit_head().unwrap(), None);

    let first = audit_batch("main", None, 3, |row| {
        if row.seq == 2 {
            // Optional columns empty, no resources, two resources of which one repeats.
            row.account = None;
            row.username = None;
            row.access_key_id = None;
            row.read_only = false;
            row.resources = vec![];
        }
        if row.seq == 3 {
            row.resources = vec![
                ("AWS::IAM::User".to_owned(), "bob".to_owned()),
                ("AWS::IAM::User".to_owned(), "bob".to_owned()),
                ("AWS::IAM::Policy".to_owned(), "p".to_owned()),
            ];
        }
    });
    store.append_audit(&first).unwrap();
    assert_eq!(
        store.audit_head().unwrap(),
        Some((3, audit_hash("main", 3)))
    );

    let second = audit_batch("main", head_of(&first), 2, |_| {});
    store.append_audit(&second).unwrap();
    // A batch of one, too.
    let third = audit_batch("main", head_of(&second), 1, |_| {});
    store.append_audit(&third).unwrap();
    store.append_audit(&[]).unwrap();
    assert_eq!(
        store.audit_head().unwrap(),
        Some((6, audit_hash("main", 6)))
    );

    let all: Vec<AuditRow> = [first, second, third].concat();
    assert_eq!(store.read_audit(1, 100).unwrap(), all);
    assert_eq!(store.read_audit(0, 100).unwrap(), all);
}

/// A batch that does not continue the head (a gap, a repeat, a wrong `prev_hash`), or is not
/// contiguous in itself, is refused as a whole.
pub fn audit_rejects_broken_chains<S: Store + AuditStore>(store: &S) {
    // On an empty trail the first record must be seq 1.
    let mut from_two = audit_batch("main", None, 2, |_| {});
    from_two.remove(0);
    let r = store.append_audit(&from_two);
    assert!(matches!(r, Err(StoreError::Conflict)), "{r:?}");
    assert_eq!(store.audit_head().unwrap(), None);

    let base = audit_batch("main", None, 3, |_| {});
    store.append_audit(&base).unwrap();
    let head = head_of(&base);

    let refused = |rows: Vec<AuditRow>, why: &str| {
        let r = store.append_audit(&rows);
        assert!(matches!(r, Err(StoreError::Conflict)), "{why}: {r:?}");
        assert_eq!(store.audit_head().unwrap(), head, "{why}: the head moved");
        assert_eq!(
            store.read_audit(1, 100).unwrap(),
            base,
            "{why}: rows changed"
        );
    };

    // A gap: seq 5 after head 3.
    let mut gap = audit_batch("main", head.clone(), 2, |_| {});
    gap.remove(0);
    refused(gap, "gap");
    // A repeat of seq 3.
    refused(
        audit_batch("other", Some((2, audit_hash("main", 2))), 1, |_| {}),
        "repeated seq",
    );
    // The right seq but a wrong prev_hash.
    refused(
        audit_batch("main", Some((3, b"not the head".to_vec())), 2, |_| {}),
        "wrong prev_hash",
    );
    // A good first record, then a gap inside the batch.
    let mut inner_gap = audit_batch("main", head.clone(), 3, |_| {});
    inner_gap.remove(1);
    refused(inner_gap, "gap inside the batch");
    // A good first record, then a broken link inside the batch.
    let mut inner_link = audit_batch("main", head.clone(), 3, |_| {});
    inner_link[2].prev_hash = b"broken".to_vec();
    refused(inner_link, "broken link inside the batch");
    // A good first record, then a repeated seq inside the batch.
    let mut inner_repeat = audit_batch("main", head.clone(), 2, |_| {});
    inner_repeat[1].seq = 4;
    refused(inner_repeat, "repeated seq inside the batch");

    // The trail is still appendable where it was.
    let next = audit_batch("main", head, 2, |_| {});
    store.append_audit(&next).unwrap();
    assert_eq!(
        store.audit_head().unwrap(),
        Some((5, audit_hash("main", 5)))
    );
}

/// `read_audit` reads ascending from `from_seq`, at most `limit`.
pub fn audit_read_ranges<S: Store + AuditStore>(store: &S) {
    let rows = audit_batch("main", None, 10, |_| {});
    store.append_audit(&rows[..4]).unwrap();
    store.append_audit(&rows[4..]).unwrap();

    assert_eq!(store.read_audit(1, 3).unwrap(), rows[..3]);
    assert_eq!(store.read_audit(4, 3).unwrap(), rows[3..6]);
    assert_eq!(seqs(&store.read_audit(8, 100).unwrap()), [8, 9, 10]);
    assert_eq!(store.read_audit(10, 1).unwrap(), rows[9..]);
    assert_eq!(store.read_audit(11, 100).unwrap(), vec![]);
    assert_eq!(store.read_audit(u64::MAX, 100).unwrap(), vec![]);
    assert_eq!(store.read_audit(1, 0).unwrap(), vec![]);
}

/// Records for the lookup cases: 12 records in the home account (plus one elsewhere and one
/// with no account), with attribute values that let each filter be told apart.
fn lookup_fixture<S: AuditStore>(store: &S) -> Vec<AuditRow> {
    let rows = audit_batch("main", None, 14, |row| {
        let seq = row.seq;
        if seq % 3 == 0 {
            row.event_name = "PutSecretValue".to_owned();
            row.read_only = false;
        }
        if seq % 4 == 0 {
            row.username = Some("bob".to_owned());
            row.access_key_id = Some("AKIABOB0000000000001".to_owned());
        }
        if seq == 5 {
            row.username = None;
            row.access_key_id = None;
        }
        if seq % 5 == 0 {
            row.event_source = "iam.amazonaws.com".to_owned();
            row.event_name = "CreateUser".to_owned();
            row.resources = vec![("AWS::IAM::User".to_owned(), format!("user-{seq}"))];
        }
        if seq == 7 {
            row.resources
                .push(("AWS::KMS::Key".to_owned(), "key-1".to_owned()));
        }
        if seq == 13 {
            row.account = Some(account("222222222222"));
        }
        if seq == 14 {
            row.account = None;
        }
    });
    store.append_audit(&rows[..7]).unwrap();
    store.append_audit(&rows[7..]).unwrap();
    rows
}

/// Run `check` with the trail unindexed, with its first five records indexed, and with all of
/// it indexed: a lookup finds the same records whatever [`AuditStore::index_audit`] has done.
fn at_each_indexing_stage<S: AuditStore>(store: &S, check: impl Fn()) {
    check();
    let first = store.index_audit(5).unwrap();
    assert!(first <= 5, "indexed {first} records of at most 5");
    check();
    store.index_audit(usize::MAX).unwrap();
    assert_eq!(store.index_audit(usize::MAX).unwrap(), 0, "nothing is left");
    check();
}

/// `index_audit` takes the oldest records first, at most as many as asked, and says how many.
pub fn audit_indexing_goes_in_batches<S: Store + AuditStore>(store: &S) {
    assert_eq!(store.index_audit(10).unwrap(), 0, "an empty trail");
    lookup_fixture(store);
    assert_eq!(store.index_audit(0).unwrap(), 0);
    let first = store.index_audit(4).unwrap();
    let rest = store.index_audit(100).unwrap();
    // A backend indexes in batches (4 and then the other 10) or with every append (0 and 0).
    assert!(
        [(4, 10), (0, 0)].contains(&(first, rest)),
        "{first} then {rest}"
    );
    assert_eq!(store.index_audit(100).unwrap(), 0);
    let more = audit_batch("main", store.audit_head().unwrap(), 2, |_| {});
    store.append_audit(&more).unwrap();
    assert!([0, 2].contains(&store.index_audit(100).unwrap()));
    assert_eq!(
        seqs(&store.lookup_audit(&acct(), &query(None)).unwrap())[..3],
        [16, 15, 12]
    );
}

/// `lookup_audit` filters by each attribute within one account, newest first.
pub fn audit_lookup_by_attribute<S: Store + AuditStore>(store: &S) {
    let rows = lookup_fixture(store);
    at_each_indexing_stage(store, || lookups_by_attribute(store, &rows));
}

fn lookups_by_attribute<S: AuditStore>(store: &S, rows: &[AuditRow]) {
    let lookup = |attribute: Option<(&str, &str)>| -> Vec<u64> {
        seqs(&store.lookup_audit(&acct(), &query(attribute)).unwrap())
    };

    // Everything of the account, newest first, as stored.
    let all = store.lookup_audit(&acct(), &query(None)).unwrap();
    let mut expected: Vec<AuditRow> = rows[..12].to_vec();
    expected.reverse();
    assert_eq!(all, expected);
    assert_eq!(
        seqs(
            &store
                .lookup_audit(&account("222222222222"), &query(None))
                .unwrap()
        ),
        [13]
    );
    assert_eq!(
        seqs(
            &store
                .lookup_audit(&account("333333333333"), &query(None))
                .unwrap()
        ),
        Vec::<u64>::new()
    );

    assert_eq!(lookup(Some(("EventId", "event-7"))), [7]);
    assert_eq!(lookup(Some(("EventId", "event-13"))), Vec::<u64>::new());
    assert_eq!(lookup(Some(("EventName", "PutSecretValue"))), [12, 9, 6, 3]);
    assert_eq!(lookup(Some(("EventName", "CreateUser"))), [10, 5]);
    assert_eq!(
        lookup(Some(("EventName", "putsecretvalue"))),
        Vec::<u64>::new()
    );
    assert_eq!(lookup(Some(("ReadOnly", "false"))), [12, 9, 6, 3]);
    assert_eq!(
        lookup(Some(("ReadOnly", "true"))),
        [11, 10, 8, 7, 5, 4, 2, 1]
    );
    assert_eq!(lookup(Some(("ReadOnly", "maybe"))), Vec::<u64>::new());
    assert_eq!(lookup(Some(("Username", "bob"))), [12, 8, 4]);
    assert_eq!(
        lookup(Some(("Username", "alice"))),
        [11, 10, 9, 7, 6, 3, 2, 1]
    );
    assert_eq!(
        lookup(Some(("AccessKeyId", "AKIABOB0000000000001"))),
        [12, 8, 4]
    );
    assert_eq!(lookup(Some(("EventSource", "iam.amazonaws.com"))), [10, 5]);
    assert_eq!(
        lookup(Some(("EventSource", "secretsmanager.amazonaws.com"))),
        [12, 11, 9, 8, 7, 6, 4, 3, 2, 1]
    );
    assert_eq!(lookup(Some(("ResourceType", "AWS::IAM::User"))), [10, 5]);
    assert_eq!(lookup(Some(("ResourceType", "AWS::KMS::Key"))), [7]);
    assert_eq!(
        lookup(Some(("ResourceType", "AWS::SecretsManager::Secret"))),
        [12, 11, 9, 8, 7, 6, 4, 3, 2, 1]
    );
    assert_eq!(lookup(Some(("ResourceName", "user-5"))), [5]);
    assert_eq!(lookup(Some(("ResourceName", "key-1"))), [7]);
    assert_eq!(
        lookup(Some(("ResourceName", &arn_for(&home(), "app")))),
        [12, 11, 9, 8, 7, 6, 4, 3, 2, 1]
    );
    assert_eq!(lookup(Some(("ResourceName", "missing"))), Vec::<u64>::new());

    // An unknown attribute is the caller's bug, not an empty answer.
    let r = store.lookup_audit(&acct(), &query(Some(("Colour", "red"))));
    assert!(matches!(r, Err(StoreError::Backend(_))), "{r:?}");
}

/// `lookup_audit` bounds by time (both ends inclusive) and pages with `before_seq` and
/// `limit`, combined with an attribute.
pub fn audit_lookup_time_range_and_paging<S: Store + AuditStore>(store: &S) {
    lookup_fixture(store);
    at_each_indexing_stage(store, || lookups_by_time_and_page(store));
}

fn lookups_by_time_and_page<S: AuditStore>(store: &S) {
    let at = |seq: i64| T0.plus_seconds(seq);
    let lookup = |q: AuditQuery| seqs(&store.lookup_audit(&acct(), &q).unwrap());

    let ranged = |start: Option<Timestamp>, end: Option<Timestamp>| AuditQuery {
        start,
        end,
        ..query(None)
    };
    assert_eq!(lookup(ranged(Some(at(4)), Some(at(7)))), [7, 6, 5, 4]);
    assert_eq!(
        lookup(ranged(
            Some(Timestamp(at(4).0 + 1)),
            Some(Timestamp(at(7).0 - 1))
        )),
        [6, 5]
    );
    assert_eq!(lookup(ranged(Some(at(10)), None)), [12, 11, 10]);
    assert_eq!(lookup(ranged(None, Some(at(2)))), [2, 1]);
    assert_eq!(lookup(ranged(Some(at(8)), Some(at(7)))), Vec::<u64>::new());
    assert_eq!(
        lookup(AuditQuery {
            attribute: Some(("ReadOnly".to_owned(), "false".to_owned())),
            ..ranged(Some(at(4)), Some(at(12)))
        }),
        [12, 9, 6]
    );

    // Paging through everything, three at a time.
    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let page = lookup(AuditQuery {
            before_seq: before,
            limit: 3,
            ..query(None)
        });
        if page.is_empty() {
            break;
        }
        before = page.last().copied();
        pages.push(page);
    }
    assert_eq!(
        pages,
        vec![
            vec![12, 11, 10],
            vec![9, 8, 7],
            vec![6, 5, 4],
            vec![3, 2, 1]
        ]
    );

    // Paging with an attribute and a time range.
    let q = |before_seq| AuditQuery {
        attribute: Some(("Username".to_owned(), "alice".to_owned())),
        before_seq,
        limit: 2,
        ..ranged(Some(at(2)), Some(at(10)))
    };
    assert_eq!(lookup(q(None)), [10, 9]);
    assert_eq!(lookup(q(Some(9))), [7, 6]);
    assert_eq!(lookup(q(Some(6))), [3, 2]);
    assert_eq!(lookup(q(Some(2))), Vec::<u64>::new());
    assert_eq!(lookup(q(Some(u64::MAX))), [10, 9]);

    assert_eq!(
        lookup(AuditQuery {
            limit: 0,
            ..query(None)
        }),
        Vec::<u64>::new()
    );
}

/// Checkpoints round-trip, are listed by seq, and one seq holds one checkpoint.
pub fn audit_checkpoints_round_trip<S: Store + AuditStore>(store: &S) {
    assert_eq!(store.list_checkpoints().unwrap(), vec![]);
    let checkpoint = |seq: u64| CheckpointRow {
        seq,
        hash: audit_hash("main", seq),
        time: Timestamp(T0.0 + i64::try_from(seq).unwrap()),
        signature: format!("signature of {seq}").into_bytes(),
    };
    for seq in [100, 0, 50] {
        store.put_checkpoint(&checkpoint(seq)).unwrap();
    }
    let mut other = checkpoint(50);
    other.signature = b"forged".to_vec();
    let r = store.put_checkpoint(&other);
    assert!(matches!(r, Err(StoreError::Conflict)), "{r:?}");
    assert_eq!(
        store.list_checkpoints().unwrap(),
        vec![checkpoint(0), checkpoint(50), checkpoint(100)]
    );
}

const APPENDERS: usize = 8;
const APPENDS_PER_THREAD: usize = 50;

/// Appenders racing for the head (each reads it, builds the next record, and retries on
/// `Conflict`, as group commit does when it loses) leave one unbroken chain with every record.
pub fn concurrent_audit_appends_stay_chained<S: Store + AuditStore>(store: &S) {
    std::thread::scope(|s| {
        let threads: Vec<_> = (0..APPENDERS)
            .map(|t| {
                s.spawn(move || {
                    let mut conflicts = 0usize;
                    for i in 0..APPENDS_PER_THREAD {
                        loop {
                            let (seq, prev) = match store.audit_head().unwrap() {
                                Some((seq, hash)) => (seq + 1, hash),
                                None => (1, vec![0; 32]),
                            };
                            let mut row =
                                audit_row(seq, prev, format!("hash t{t} i{i:02}").into_bytes());
                            row.username = Some(format!("t{t}"));
                            row.event_id = format!("t{t}-i{i:02}");
                            match store.append_audit(&[row]) {
                                Ok(()) => break,
                                Err(StoreError::Conflict) => {
                                    conflicts += 1;
                                    std::thread::yield_now();
                                }
                                Err(e) => panic!("append failed: {e:?}"),
                            }
                        }
                    }
                    conflicts
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
    });

    let total = APPENDERS * APPENDS_PER_THREAD;
    let rows = store.read_audit(1, total + 10).unwrap();
    assert_eq!(rows.len(), total);
    let expected_seqs: Vec<u64> = (1..=u64::try_from(total).unwrap()).collect();
    assert_eq!(seqs(&rows), expected_seqs);
    for pair in rows.windows(2) {
        assert_eq!(
            pair[1].prev_hash, pair[0].hash,
            "record {} does not follow record {}",
            pair[1].seq, pair[0].seq
        );
    }
    assert_eq!(
        store.audit_head().unwrap(),
        rows.last().map(|r| (r.seq, r.hash.clone()))
    );
    let ids: HashSet<&str> = rows.iter().map(|r| r.event_id.as_str()).collect();
    assert_eq!(ids.len(), total, "a record was appended twice");
    // Each appender's records appear in the order it appended them.
    for t in 0..APPENDERS {
        let mine: Vec<&str> = rows
            .iter()
            .filter(|r| r.username.as_deref() == Some(&format!("t{t}")))
            .map(|r| r.event_id.as_str())
            .collect();
        let expected: Vec<String> = (0..APPENDS_PER_THREAD)
            .map(|i| format!("t{t}-i{i:02}"))
            .collect();
        assert_eq!(mine, expected);
    }
}
