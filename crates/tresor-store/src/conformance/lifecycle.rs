//! Reads, purges, listing and expiry of secrets.

use std::collections::HashSet;

use tresor_types::Timestamp;

use crate::{
    Deletion, ListCursor, ListOrder, Missing, Scope, SecretRecord, SecretSort, SortValue, Store,
    StoreError, Tag,
};

use super::fixtures::*;

/// `touch_secret` sets `last_accessed` of the secret and of that version only.
pub fn touch_records_access<S: Store>(store: &S) {
    let secret = create_with_version(store, &home(), "touched");
    update(store, &secret.arn, |txn| {
        txn.add_version(version("v2", &["AWSPENDING"]), envelope("v2"));
    });
    let day = T0.plus_days(3).day_floor();
    store.touch_secret(&secret.arn, "v1", day).unwrap();
    let record = find(store, &secret.arn);
    assert_eq!(record.last_accessed, Some(day));
    assert_eq!(record.version("v1").unwrap().last_accessed, Some(day));
    assert_eq!(record.version("v2").unwrap().last_accessed, None);
    assert_eq!(
        record.last_changed, secret.last_changed,
        "a read is not a change"
    );

    // The same day again changes nothing; a later day moves both.
    store.touch_secret(&secret.arn, "v1", day).unwrap();
    assert_eq!(find(store, &secret.arn), record);
    let later = day.plus_days(1);
    store.touch_secret(&secret.arn, "v2", later).unwrap();
    let record = find(store, &secret.arn);
    assert_eq!(record.last_accessed, Some(later));
    assert_eq!(record.version("v1").unwrap().last_accessed, Some(day));
    assert_eq!(record.version("v2").unwrap().last_accessed, Some(later));

    // A missing secret or version is `NotFound`, and nothing changes.
    let r = store.touch_secret("arn:aws:secretsmanager:missing", "v1", later.plus_days(1));
    assert!(
        matches!(r, Err(StoreError::NotFound(Missing::Secret))),
        "{r:?}"
    );
    let r = store.touch_secret(&secret.arn, "v9", later.plus_days(1));
    assert!(
        matches!(r, Err(StoreError::NotFound(Missing::SecretVersion))),
        "{r:?}"
    );
    assert_eq!(find(store, &secret.arn), record);
}

/// A purged secret is gone with all its versions and its name is free; purging what is
/// already gone succeeds (two sweepers may race).
pub fn purge_removes_everything<S: Store>(store: &S) {
    let secret = create_with_version(store, &home(), "doomed");
    update(store, &secret.arn, |txn| {
        txn.add_version(version("v2", &[]), envelope("v2"));
        txn.record.deletion = Some(Deletion {
            deleted_date: T0,
            purge_after: T0.plus_days(7),
        });
    });
    let neighbour = create_with_version(store, &home(), "neighbour");

    store.purge_secret(&secret.arn).unwrap();
    assert_eq!(store.find_secret_by_arn(&secret.arn).unwrap(), None);
    assert_eq!(store.find_secret_by_name(&home(), "doomed").unwrap(), None);
    assert_eq!(store.read_envelope(&secret.arn, "v1").unwrap(), None);
    assert_eq!(store.read_envelope(&secret.arn, "v2").unwrap(), None);
    assert!(store.expired_deletions(T0.plus_days(8)).unwrap().is_empty());
    let r = store.update_secret::<(), StoreError, _>(&secret.arn, |_| Ok(()));
    assert!(
        matches!(r, Err(StoreError::NotFound(Missing::Secret))),
        "{r:?}"
    );

    store.purge_secret(&secret.arn).unwrap();
    store
        .purge_secret("arn:aws:secretsmanager:never-existed")
        .unwrap();

    // The name (and even the ARN) can be used again, starting from scratch.
    let mut reborn = bare_secret(&home(), "doomed");
    reborn.description = Some("second life".to_owned());
    store.create_secret(&reborn, None).unwrap();
    assert_eq!(find(store, &secret.arn), reborn);
    assert_eq!(store.read_envelope(&secret.arn, "v1").unwrap(), None);

    assert_eq!(find(store, &neighbour.arn), neighbour);
}

/// Listing is ordered by name then ARN, bytewise (upper case before lower case), and a
/// `(name, arn)` cursor continues strictly after that position.
pub fn list_orders_and_paginates<S: Store>(store: &S) {
    let names = [
        "b",
        "B",
        "a",
        "a/b",
        "a-b",
        "Z",
        "zz",
        "a.b",
        "\u{e9}t\u{e9}",
        "0",
    ];
    for name in names {
        create_with_version(store, &home(), name);
    }
    let mut sorted: Vec<&str> = names.to_vec();
    sorted.sort_unstable();
    let all = store.list_secrets(&home(), None, 100).unwrap();
    let listed: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(listed, sorted);

    for page_size in [1, 3, 4, names.len(), 100] {
        let mut pages = Vec::new();
        let mut cursor: Option<(String, String)> = None;
        loop {
            let after = cursor.as_ref().map(|(n, a)| (n.as_str(), a.as_str()));
            let page = store.list_secrets(&home(), after, page_size).unwrap();
            assert!(page.len() <= page_size);
            let Some(last) = page.last() else { break };
            cursor = Some((last.name.clone(), last.arn.clone()));
            let full = page.len() == page_size;
            pages.extend(page);
            if !full {
                break;
            }
        }
        assert_eq!(pages, all, "page size {page_size}");
    }

    assert!(store.list_secrets(&home(), None, 0).unwrap().is_empty());
    // The cursor need not name an existing secret.
    let after_a: Vec<String> = store
        .list_secrets(&home(), Some(("a.", "")), 2)
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(after_a, ["a.b", "a/b"]);
    // Within one name the ARN decides: strictly after `(a, its arn)` excludes `a`.
    let a_arn = arn_for(&home(), "a");
    let from_a = store.list_secrets(&home(), Some(("a", "")), 1).unwrap();
    assert_eq!(from_a[0].name, "a");
    let past_a = store
        .list_secrets(&home(), Some(("a", a_arn.as_str())), 1)
        .unwrap();
    assert_eq!(past_a[0].name, "a-b");
    // Past the last secret there is nothing.
    let last = all.last().unwrap();
    let past_end = store
        .list_secrets(&home(), Some((&last.name, &last.arn)), 10)
        .unwrap();
    assert!(past_end.is_empty());
}

/// Listing sees only its scope, includes secrets scheduled for deletion, and carries the
/// metadata of every labelled version (deprecated ones are left out).
pub fn list_is_scoped_and_complete<S: Store>(store: &S) {
    let one = create_with_version(store, &home(), "one");
    update(store, &one.arn, |txn| {
        txn.add_version(version("v2", &["AWSPENDING"]), envelope("v2"));
        txn.add_version(version("v3", &[]), envelope("v3"));
        txn.record.tags.push(Tag {
            key: "k".to_owned(),
            value: "v".to_owned(),
        });
    });
    let two = bare_secret(&home(), "two");
    store.create_secret(&two, None).unwrap();
    let three = create_with_version(store, &home(), "three");
    update(store, &three.arn, |txn| {
        txn.record.deletion = Some(Deletion {
            deleted_date: T0,
            purge_after: T0.plus_days(7),
        });
    });
    create_with_version(store, &other_region(), "one");
    create_with_version(store, &other_account(), "four");

    let listed = store.list_secrets(&home(), None, 10).unwrap();
    let expected: Vec<SecretRecord> = [&one.arn, &three.arn, &two.arn]
        .iter()
        .map(|arn| {
            let mut record = find(store, arn);
            record.versions.retain(|v| !v.stages.is_empty());
            record
        })
        .collect();
    assert_eq!(listed, expected);
    assert_eq!(version_ids(&find(store, &one.arn)), ["v1", "v2", "v3"]);
    assert_eq!(version_ids(&listed[0]), ["v1", "v2"], "v3 is deprecated");
    assert!(listed[1].deletion.is_some());
    assert!(listed[2].versions.is_empty());

    let region = store.list_secrets(&other_region(), None, 10).unwrap();
    assert_eq!(region.len(), 1);
    assert_eq!(region[0].scope, other_region());
    let account = store.list_secrets(&other_account(), None, 10).unwrap();
    assert_eq!(
        account.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["four"]
    );
    assert!(store
        .list_secrets(&scope("333333333333", "us-east-1"), None, 10)
        .unwrap()
        .is_empty());
}

/// `expired_deletions` names, across all scopes, every secret whose recovery window ended at
/// or before `now`.
pub fn expired_deletions_by_purge_time<S: Store>(store: &S) {
    let schedule = |scope: &Scope, name: &str, purge_after: Option<i64>| -> String {
        let secret = create_with_version(store, scope, name);
        if let Some(purge_after) = purge_after {
            update(store, &secret.arn, |txn| {
                txn.record.deletion = Some(Deletion {
                    deleted_date: T0,
                    purge_after: Timestamp(purge_after),
                });
            });
        }
        secret.arn
    };
    let early = schedule(&other_account(), "early", Some(T0.0 + 50));
    let due = schedule(&home(), "due", Some(T0.0 + 100));
    let later = schedule(&other_region(), "later", Some(T0.0 + 200));
    schedule(&home(), "kept", None);

    let expired = |now: i64| -> HashSet<String> {
        store
            .expired_deletions(Timestamp(now))
            .unwrap()
            .into_iter()
            .collect()
    };
    assert_eq!(expired(T0.0 + 49), HashSet::new());
    assert_eq!(expired(T0.0 + 50), HashSet::from([early.clone()]));
    assert_eq!(
        expired(T0.0 + 100),
        HashSet::from([early.clone(), due.clone()])
    );
    assert_eq!(
        expired(T0.0 + 199),
        HashSet::from([early.clone(), due.clone()])
    );
    assert_eq!(
        expired(T0.0 + 10_000),
        HashSet::from([early.clone(), due.clone(), later.clone()])
    );

    // Cancelling a deletion takes the secret off the list.
    update(store, &due, |txn| txn.record.deletion = None);
    assert_eq!(expired(T0.0 + 10_000), HashSet::from([early, later]));
}

// ---- concurrency ----

/// `list_secrets_ordered` in every order, both directions, pages exactly like one sorted list
/// (ties on the sort value broken by ARN, never-read secrets as -1), and refuses a cursor of
/// another order's kind.
pub fn list_in_every_order<S: Store>(store: &S) {
    // Dates with ties; some secrets never read.
    for i in 0..9_i64 {
        let mut record = bare_secret(&home(), &format!("s{}", (i * 5) % 9));
        record.created = Timestamp(T0.millis() + i % 3);
        record.last_changed = Timestamp(T0.millis() + 10 - i % 4);
        record.last_accessed = (i % 3 != 0).then(|| Timestamp(T0.millis() + i % 2));
        store.create_secret(&record, None).unwrap();
    }
    create_with_version(store, &other_region(), "elsewhere");
    let everything = store.list_secrets(&home(), None, 100).unwrap();
    assert_eq!(everything.len(), 9);
    for by in [
        SecretSort::Name,
        SecretSort::Created,
        SecretSort::LastChanged,
        SecretSort::LastAccessed,
    ] {
        for descending in [false, true] {
            let order = ListOrder { by, descending };
            let mut expected = everything.clone();
            expected.sort_by(|a, b| {
                let key = |r: &SecretRecord| order.cursor_after(r);
                let (ka, kb) = (key(a), key(b));
                let primary = match (&ka.value, &kb.value) {
                    (SortValue::Text(x), SortValue::Text(y)) => x.cmp(y),
                    (SortValue::Millis(x), SortValue::Millis(y)) => x.cmp(y),
                    _ => unreachable!("one order, one kind of value"),
                };
                primary.then_with(|| ka.arn.cmp(&kb.arn))
            });
            if descending {
                expected.reverse();
            }
            for page_size in [1, 2, 4, 100] {
                let mut listed = Vec::new();
                let mut cursor = None;
                loop {
                    let page = store
                        .list_secrets_ordered(&home(), order, cursor.as_ref(), page_size)
                        .unwrap();
                    assert!(page.len() <= page_size);
                    let Some(last) = page.last() else { break };
                    cursor = Some(order.cursor_after(last));
                    let full = page.len() == page_size;
                    listed.extend(page);
                    if !full {
                        break;
                    }
                }
                let names = |v: &[SecretRecord]| -> Vec<String> {
                    v.iter().map(|r| r.name.clone()).collect()
                };
                assert_eq!(
                    names(&listed),
                    names(&expected),
                    "{order:?}, page {page_size}"
                );
            }
        }
    }
    let wrong_kind = ListCursor {
        value: SortValue::Text("s1".to_owned()),
        arn: String::new(),
    };
    let created = ListOrder {
        by: SecretSort::Created,
        descending: false,
    };
    assert!(matches!(
        store.list_secrets_ordered(&home(), created, Some(&wrong_kind), 10),
        Err(StoreError::Backend(_))
    ));
}
