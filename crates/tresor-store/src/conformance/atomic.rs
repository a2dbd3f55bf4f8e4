//! `Store::atomically` and `AuditStore::append_audit_with`: a change and its audit record
//! commit together or not at all. `Store::reading`: read-only work in one snapshot.

use crate::{AuditStore, Store, StoreError};

use super::fixtures::*;

/// Writes inside `atomically` commit with an `Ok`: a secret, a version update and an audit
/// record linked to the head read inside the transaction.
pub fn atomically_commits_everything<S: Store + AuditStore>(store: &S) {
    let record = store
        .atomically(|| {
            let r = create_with_version(store, &home(), "app/key");
            store.update_secret(&r.arn, |txn| {
                txn.record.description = Some("inside".to_owned());
                Ok::<_, StoreError>(())
            })?;
            store.append_audit_with(&mut |head| {
                assert_eq!(head, None);
                vec![audit_row(1, vec![0; 32], audit_hash("a", 1))]
            })?;
            Ok::<_, StoreError>(r)
        })
        .unwrap();
    let found = find(store, &record.arn);
    assert_eq!(found.description.as_deref(), Some("inside"));
    assert_eq!(store.audit_head().unwrap(), Some((1, audit_hash("a", 1))));
}

/// An `Err` from the closure rolls back every write made inside it, audit record included,
/// and the store is usable afterwards.
pub fn atomically_rolls_back_on_error<S: Store + AuditStore>(store: &S) {
    let kept = create_with_version(store, &home(), "kept");
    let outcome: Result<(), StoreError> = store.atomically(|| {
        create_with_version(store, &home(), "discarded");
        store.update_secret(&kept.arn, |txn| {
            txn.record.description = Some("discarded".to_owned());
            Ok::<_, StoreError>(())
        })?;
        store.append_audit_with(&mut |_| vec![audit_row(1, vec![0; 32], audit_hash("a", 1))])?;
        Err(StoreError::Conflict)
    });
    assert!(matches!(outcome, Err(StoreError::Conflict)));
    assert!(store
        .find_secret_by_name(&home(), "discarded")
        .unwrap()
        .is_none());
    assert_eq!(find(store, &kept.arn).description, None);
    assert_eq!(store.audit_head().unwrap(), None);
    // Still usable, inside and outside `atomically`.
    store
        .atomically(|| Ok::<_, StoreError>(create_with_version(store, &home(), "after")))
        .unwrap();
    assert!(store
        .find_secret_by_name(&home(), "after")
        .unwrap()
        .is_some());
}

/// A failing write inside `atomically` fails alone (its savepoint rolls back); the block can
/// still commit the rest.
pub fn atomically_survives_a_failed_inner_write<S: Store + AuditStore>(store: &S) {
    let first = create_with_version(store, &home(), "first");
    store
        .atomically(|| {
            let dup = bare_secret(&home(), "first");
            assert!(matches!(
                store.create_secret(&dup, None),
                Err(StoreError::SecretExists { .. })
            ));
            store.update_secret(&first.arn, |txn| {
                txn.record.description = Some("second write".to_owned());
                Ok::<_, StoreError>(())
            })
        })
        .unwrap();
    assert_eq!(
        find(store, &first.arn).description.as_deref(),
        Some("second write")
    );
}

/// `append_audit_with` links to the head as it is when the write starts.
pub fn audit_append_with_links_to_the_current_head<S: Store + AuditStore>(store: &S) {
    store
        .append_audit(&[audit_row(1, vec![0; 32], audit_hash("a", 1))])
        .unwrap();
    store
        .append_audit_with(&mut |head| {
            let (seq, hash) = head.expect("a head");
            vec![
                audit_row(seq + 1, hash.clone(), audit_hash("a", seq + 1)),
                audit_row(seq + 2, audit_hash("a", seq + 1), audit_hash("a", seq + 2)),
            ]
        })
        .unwrap();
    assert_eq!(store.audit_head().unwrap(), Some((3, audit_hash("a", 3))));
    // A closure that returns rows not continuing the head is refused and writes nothing.
    let bad = store.append_audit_with(&mut |_| vec![audit_row(9, vec![1; 32], audit_hash("b", 9))]);
    assert!(matches!(bad, Err(StoreError::Conflict)));
    assert_eq!(store.audit_head().unwrap(), Some((3, audit_hash("a", 3))));
}

/// `reading` runs its closure once and returns its value; reads inside it see what was
/// committed before it began, nested blocks and other threads work, and a panic inside it
/// leaves the store usable with later reads seeing later commits.
pub fn reading_sees_committed_state_and_ends_cleanly<S: Store + AuditStore>(store: &S) {
    let before = create_with_version(store, &home(), "read/before");
    let (found, nested) = store.reading(|| {
        let found = find(store, &before.arn);
        let nested = store.reading(|| store.find_secret_by_name(&home(), "read/before"));
        // Another thread reads and writes meanwhile, unhindered.
        std::thread::scope(|s| {
            s.spawn(|| {
                store.reading(|| create_with_version(store, &home(), "read/other"));
                assert!(store
                    .find_secret_by_name(&home(), "read/other")
                    .unwrap()
                    .is_some());
            });
        });
        (found, nested.unwrap())
    });
    assert_eq!(found.arn, before.arn);
    assert_eq!(nested.map(|r| r.arn), Some(before.arn.clone()));

    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        store.reading(|| {
            let _ = find(store, &before.arn);
            panic!("inside reading");
        })
    }));
    assert!(unwound.is_err());
    // After the block: a new commit is visible to the next read, inside or outside `reading`.
    let after = create_with_version(store, &home(), "read/after");
    assert_eq!(find(store, &after.arn).arn, after.arn);
    let seen = store.reading(|| store.find_secret_by_name(&home(), "read/after"));
    assert_eq!(seen.unwrap().map(|r| r.arn), Some(after.arn));
}
