//! Read-modify-write of a secret (`update_secret`).

use tresor_types::Timestamp;

use crate::{
    Deletion, Missing, SealedValue, SecretKey, SecretRecord, Store, StoreError, Tag, VersionPick,
    VersionPruning,
};

use super::fixtures::*;

/// Every mutable field of the secret is written; the closure's result is returned.
pub fn update_writes_metadata<S: Store>(store: &S) {
    let created = create_with_version(store, &home(), "meta");
    let edit = |r: &mut SecretRecord| {
        r.description = Some("new description".to_owned());
        r.kms_key_id = Some("key-2".to_owned());
        r.tags = vec![
            Tag {
                key: "b".to_owned(),
                value: "2".to_owned(),
            },
            Tag {
                key: "a".to_owned(),
                value: "1".to_owned(),
            },
        ];
        r.resource_policy = Some("{}".to_owned());
        r.rotation = Some("rotation config".to_owned());
        r.replication = Some(r#"{"replicas":[]}"#.to_owned());
        r.last_changed = T0.plus_days(1);
        r.last_accessed = Some(T0.plus_days(2).day_floor());
        r.deletion = Some(Deletion {
            deleted_date: T0.plus_days(3),
            purge_after: T0.plus_days(10),
        });
    };
    let answer = update(store, &created.arn, |txn| {
        edit(&mut txn.record);
        42
    });
    assert_eq!(answer, 42);
    let mut expected = created.clone();
    edit(&mut expected);
    assert_eq!(find(store, &created.arn), expected);
    assert_eq!(
        store.find_secret_by_name(&home(), "meta").unwrap(),
        Some(expected.clone())
    );

    // Optional fields can be cleared again.
    update(store, &created.arn, |txn| {
        txn.record.description = None;
        txn.record.kms_key_id = None;
        txn.record.tags.clear();
        txn.record.resource_policy = None;
        txn.record.rotation = None;
        txn.record.replication = None;
        txn.record.deletion = None;
    });
    let cleared = SecretRecord {
        description: None,
        kms_key_id: None,
        tags: Vec::new(),
        resource_policy: None,
        rotation: None,
        replication: None,
        deletion: None,
        ..expected
    };
    assert_eq!(find(store, &created.arn), cleared);

    // An update that changes nothing is fine.
    update(store, &created.arn, |_| ());
    assert_eq!(find(store, &created.arn), cleared);
}

/// Added versions are appended (oldest first) with their sealed values, removed versions lose
/// theirs, and labels move between versions in one step.
pub fn update_adds_removes_and_restages_versions<S: Store>(store: &S) {
    let secret = create_with_version(store, &home(), "rotating");
    let arn = secret.arn.as_str();

    let seen = update(store, arn, |txn| {
        txn.add_version(version("v2", &["AWSPENDING"]), envelope("v2"));
        txn.record.versions.len()
    });
    assert_eq!(seen, 2);
    let record = find(store, arn);
    assert_eq!(version_ids(&record), ["v1", "v2"]);
    assert_eq!(record.version("v2"), Some(&version("v2", &["AWSPENDING"])));

    // Promote v2: AWSCURRENT moves, the old current becomes AWSPREVIOUS.
    update(store, arn, |txn| {
        set_stages(txn, "v1", &["AWSPREVIOUS"]);
        set_stages(txn, "v2", &["AWSCURRENT"]);
        txn.record.versions[0].last_accessed = Some(T0.day_floor());
    });
    let record = find(store, arn);
    assert_eq!(stages_of(&record, "v1"), ["AWSPREVIOUS"]);
    assert_eq!(stages_of(&record, "v2"), ["AWSCURRENT"]);
    assert_eq!(
        record.version("v1").unwrap().last_accessed,
        Some(T0.day_floor())
    );
    assert_eq!(
        record.version_with_stage("AWSCURRENT").unwrap().version_id,
        "v2"
    );

    // Several versions in one update; a label taken off leaves a deprecated version.
    update(store, arn, |txn| {
        set_stages(txn, "v1", &[]);
        txn.add_version(version("v3", &[]), envelope("v3"));
        txn.add_version(version("v4", &["custom"]), envelope("v4"));
    });
    let record = find(store, arn);
    assert_eq!(version_ids(&record), ["v1", "v2", "v3", "v4"]);
    assert!(stages_of(&record, "v1").is_empty());

    // Removing versions deletes them and their sealed values; a removed newest version does
    // not disturb the order of those added after it.
    update(store, arn, |txn| {
        txn.remove_version("v1");
        txn.remove_version("v4");
        txn.add_version(version("v5", &["AWSPENDING"]), envelope("v5"));
    });
    let record = find(store, arn);
    assert_eq!(version_ids(&record), ["v2", "v3", "v5"]);
    assert_eq!(store.read_envelope(arn, "v1").unwrap(), None);
    assert_eq!(store.read_envelope(arn, "v4").unwrap(), None);
    for v in ["v2", "v3", "v5"] {
        assert_eq!(
            store.read_envelope(arn, v).unwrap(),
            Some(envelope(v)),
            "{v}"
        );
    }

    // A version added and removed in the same update never existed.
    update(store, arn, |txn| {
        txn.add_version(version("v6", &[]), envelope("v6"));
        txn.remove_version("v6");
    });
    assert_eq!(version_ids(&find(store, arn)), ["v2", "v3", "v5"]);
    assert_eq!(store.read_envelope(arn, "v6").unwrap(), None);

    // The metadata read back is what the closure saw at its end.
    let expected = update(store, arn, |txn| {
        set_stages(txn, "v5", &["AWSPENDING", "next"]);
        txn.record.clone()
    });
    assert_eq!(find(store, arn), expected);
}

/// A closure that fails leaves the secret exactly as it was and hands back its own error.
pub fn update_failing_closure_writes_nothing<S: Store>(store: &S) {
    let secret = create_with_version(store, &home(), "unchanged");
    let r = store.update_secret::<(), CallerError, _>(&secret.arn, |txn| {
        txn.record.description = Some("changed".to_owned());
        txn.record.tags.push(Tag {
            key: "k".to_owned(),
            value: "v".to_owned(),
        });
        txn.record.deletion = Some(Deletion {
            deleted_date: T0,
            purge_after: T0,
        });
        set_stages(txn, "v1", &["AWSPREVIOUS"]);
        txn.add_version(version("v2", &["AWSCURRENT"]), envelope("v2"));
        Err(CallerError::Refused)
    });
    assert!(matches!(r, Err(CallerError::Refused)), "{r:?}");
    assert_eq!(find(store, &secret.arn), secret);
    assert_eq!(store.read_envelope(&secret.arn, "v2").unwrap(), None);

    // A failure after removing a version keeps the version too.
    let r = store.update_secret::<(), CallerError, _>(&secret.arn, |txn| {
        txn.remove_version("v1");
        Err(CallerError::Refused)
    });
    assert!(matches!(r, Err(CallerError::Refused)), "{r:?}");
    assert_eq!(find(store, &secret.arn), secret);
    assert_eq!(
        store.read_envelope(&secret.arn, "v1").unwrap(),
        Some(envelope("v1"))
    );
    assert_eq!(
        store.expired_deletions(T0.plus_days(1000)).unwrap(),
        Vec::<String>::new()
    );
}

pub fn update_missing_secret_is_not_found<S: Store>(store: &S) {
    let mut ran = false;
    let r = store.update_secret::<(), CallerError, _>("arn:aws:secretsmanager:missing", |_| {
        ran = true;
        Ok(())
    });
    assert!(
        matches!(
            r,
            Err(CallerError::Store(StoreError::NotFound(Missing::Secret)))
        ),
        "{r:?}"
    );
    assert!(!ran, "the closure ran for a missing secret");
}

/// The identity of a secret and of its stored versions is fixed at creation: an update that
/// edits it writes the rest, never the identity.
pub fn update_keeps_identity<S: Store>(store: &S) {
    let secret = create_with_version(store, &home(), "fixed");
    update(store, &secret.arn, |txn| {
        txn.record.arn = arn_for(&home(), "renamed");
        txn.record.name = "renamed".to_owned();
        txn.record.scope = other_account();
        txn.record.created = T0.plus_days(5);
        let v1 = &mut txn.record.versions[0];
        v1.created = T0.plus_days(5);
        v1.value_digest = b"forged".to_vec();
        v1.kms_key_id = "other-key".to_owned();
        txn.record.description = Some("still written".to_owned());
    });
    let mut expected = secret.clone();
    expected.description = Some("still written".to_owned());
    assert_eq!(find(store, &secret.arn), expected);
    assert_eq!(
        store.find_secret_by_name(&home(), "fixed").unwrap(),
        Some(expected)
    );
    assert_eq!(
        store
            .find_secret_by_arn(&arn_for(&home(), "renamed"))
            .unwrap(),
        None
    );
    assert_eq!(store.find_secret_by_name(&home(), "renamed").unwrap(), None);
    assert_eq!(
        store
            .find_secret_by_name(&other_account(), "fixed")
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .find_secret_by_name(&other_account(), "renamed")
            .unwrap(),
        None
    );
}

// ---- secrets: access, purge, listing, expiry ----

/// Add version `id` created at `created` through `add_secret_version`, labelled `stages`
/// (taken from whichever loaded version held them), without pruning anything.
fn add_at<S: Store>(store: &S, arn: &str, id: &str, stages: &[&str], created: Timestamp) {
    let keep_all = VersionPruning {
        keep: usize::MAX,
        created_before: Timestamp(0),
    };
    store
        .add_secret_version::<(), StoreError, _>(arn, id, keep_all, |txn| {
            for v in &mut txn.record.versions {
                v.stages.retain(|s| !stages.contains(&s.as_str()));
            }
            let mut meta = version(id, stages);
            meta.created = created;
            txn.add_version(meta, envelope(id));
            Ok(())
        })
        .unwrap();
}

/// `add_secret_version` loads the labelled versions and the one it names (for an idempotent
/// retry), counts the others, writes what the closure changed and leaves the others alone.
pub fn add_version_loads_labelled_versions_only<S: Store>(store: &S) {
    let created = create_with_version(store, &home(), "labelled");
    for i in 2..=5 {
        add_at(store, &created.arn, &format!("v{i}"), &["AWSCURRENT"], T0);
    }
    // v5 is AWSCURRENT; v1..v4 carry no label.
    let seen = store
        .add_secret_version::<_, StoreError, _>(&created.arn, "v2", keep_nothing_old(), |txn| {
            Ok((
                version_ids(&txn.record)
                    .into_iter()
                    .map(str::to_owned)
                    .collect::<Vec<_>>(),
                txn.unloaded_versions(),
            ))
        })
        .unwrap();
    assert_eq!(seen, (vec!["v2".to_owned(), "v5".to_owned()], 3));
    let seen = store
        .add_secret_version::<_, StoreError, _>(&created.arn, "v9", keep_nothing_old(), |txn| {
            // A new label on an old version, and a new version.
            set_stages(txn, "v5", &["AWSCURRENT", "blue"]);
            txn.add_version(version("v9", &["AWSPENDING"]), envelope("v9"));
            Ok(txn.unloaded_versions())
        })
        .unwrap();
    assert_eq!(seen, 4);
    let found = find(store, &created.arn);
    assert_eq!(version_ids(&found), ["v1", "v2", "v3", "v4", "v5", "v9"]);
    assert_eq!(stages_of(&found, "v5"), ["AWSCURRENT", "blue"]);
    assert_eq!(stages_of(&found, "v9"), ["AWSPENDING"]);
    assert_eq!(
        store.read_envelope(&created.arn, "v9").unwrap(),
        Some(envelope("v9"))
    );
    assert_eq!(
        store.read_envelope(&created.arn, "v1").unwrap(),
        Some(envelope("v1"))
    );
    // A failing closure writes nothing; a missing secret is `NotFound`.
    let failed = store.add_secret_version::<(), CallerError, _>(
        &created.arn,
        "v10",
        keep_nothing_old(),
        |txn| {
            txn.add_version(version("v10", &["AWSCURRENT"]), envelope("v10"));
            Err(CallerError::Refused)
        },
    );
    assert!(matches!(failed, Err(CallerError::Refused)));
    assert_eq!(version_ids(&find(store, &created.arn)).len(), 6);
    let missing = store.add_secret_version::<(), StoreError, _>(
        &arn_for(&home(), "missing"),
        "v1",
        keep_nothing_old(),
        |_| Ok(()),
    );
    assert!(matches!(
        missing,
        Err(StoreError::NotFound(Missing::Secret))
    ));
}

/// Pruning that never applies: every version was created after `Timestamp(0)`.
fn keep_nothing_old() -> VersionPruning {
    VersionPruning {
        keep: 1,
        created_before: Timestamp(0),
    }
}

/// After adding a version, while more than `keep` versions are stored, the oldest one without
/// a label created before `created_before` is removed (with its sealed value); labelled and
/// recent versions stay, however many there are.
pub fn add_version_prunes_old_unlabelled_versions<S: Store>(store: &S) {
    let created = create_with_version(store, &home(), "prune");
    // v1 (T0) keeps AWSPREVIOUS; o2..o6 are old and unlabelled; r7, r8 are recent.
    let day = 86_400_000;
    for i in 2..=6 {
        add_at(
            store,
            &created.arn,
            &format!("o{i}"),
            &[],
            Timestamp(T0.millis() + i),
        );
    }
    let recent = Timestamp(T0.millis() + 10 * day);
    add_at(store, &created.arn, "r7", &[], recent);
    update(store, &created.arn, |txn| {
        set_stages(txn, "v1", &["AWSPREVIOUS"])
    });
    let prune = VersionPruning {
        keep: 4,
        created_before: Timestamp(recent.millis() - day),
    };
    store
        .add_secret_version::<(), StoreError, _>(&created.arn, "r8", prune, |txn| {
            let mut r8 = version("r8", &["AWSCURRENT"]);
            r8.created = recent;
            txn.add_version(r8, envelope("r8"));
            Ok(())
        })
        .unwrap();
    // 8 stored, keep 4: the four oldest unlabelled old ones go (o2..o5); o6 would be the next,
    // but 4 remain.
    let found = find(store, &created.arn);
    assert_eq!(version_ids(&found), ["v1", "o6", "r7", "r8"]);
    assert_eq!(store.read_envelope(&created.arn, "o2").unwrap(), None);

    // Of the rest only o6 is old and unlabelled: it goes, and the recent or labelled ones stay
    // although more than `keep` remain.
    let prune = VersionPruning {
        keep: 1,
        created_before: Timestamp(recent.millis() - day),
    };
    store
        .add_secret_version::<(), StoreError, _>(&created.arn, "r9", prune, |txn| {
            set_stages(txn, "r8", &[]);
            txn.add_version(version("r9", &["AWSCURRENT"]), envelope("r9"));
            Ok(())
        })
        .unwrap();
    let found = find(store, &created.arn);
    assert_eq!(version_ids(&found), ["v1", "r7", "r8", "r9"]);
}

/// `find_secret_labelled` returns the secret with its labelled versions and the one named,
/// by ARN or by name within the scope, and the secret's fields as `find_secret_by_arn` does.
pub fn find_labelled_versions<S: Store>(store: &S) {
    let created = create_with_version(store, &home(), "reads");
    for i in 2..=4 {
        add_at(store, &created.arn, &format!("v{i}"), &["AWSCURRENT"], T0);
    }
    update(store, &created.arn, |txn| {
        set_stages(txn, "v3", &["AWSPREVIOUS"])
    });
    let full = find(store, &created.arn);
    let by_arn = |also| {
        store
            .find_secret_labelled(SecretKey::Arn(&created.arn), also)
            .unwrap()
            .expect("found by ARN")
    };
    let labelled = by_arn(None);
    assert_eq!(version_ids(&labelled), ["v3", "v4"]);
    assert_eq!(
        SecretRecord {
            versions: full.versions.clone(),
            ..labelled.clone()
        },
        full
    );
    assert_eq!(version_ids(&by_arn(Some("v1"))), ["v1", "v3", "v4"]);
    assert_eq!(version_ids(&by_arn(Some("v4"))), ["v3", "v4"]);
    assert_eq!(version_ids(&by_arn(Some("nope"))), ["v3", "v4"]);
    let by_name = store
        .find_secret_labelled(SecretKey::Name(&home(), "reads"), Some("v2"))
        .unwrap()
        .expect("found by name");
    assert_eq!(version_ids(&by_name), ["v2", "v3", "v4"]);
    assert_eq!(
        store
            .find_secret_labelled(SecretKey::Name(&other_region(), "reads"), None)
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .find_secret_labelled(SecretKey::Arn(&arn_for(&home(), "missing")), None)
            .unwrap(),
        None
    );
}

/// `find_secret_value` returns what `find_secret_labelled` returns with the sealed value of the
/// picked version: by id (labelled or not), else by stage, `AWSCURRENT` by default; no value
/// when the secret has no such version.
pub fn find_secret_value_reads_the_picked_version<S: Store>(store: &S) {
    let created = create_with_version(store, &home(), "values");
    for i in 2..=4 {
        add_at(store, &created.arn, &format!("v{i}"), &["AWSCURRENT"], T0);
    }
    update(store, &created.arn, |txn| {
        set_stages(txn, "v3", &["AWSPREVIOUS", "custom"])
    });
    // A label whose JSON text holds that of `custom` (`"a\",\"custom"`), on an older
    // version: a store that looks for a stage in the stored text must not take it for one.
    update(store, &created.arn, |txn| {
        set_stages(txn, "v2", &[r#"a","custom"#])
    });
    let read = |key: SecretKey<'_>, version_id, stage| {
        store
            .find_secret_value(key, VersionPick { version_id, stage })
            .unwrap()
    };
    let value = |version_id: &str| SealedValue {
        version_id: version_id.to_owned(),
        envelope: envelope(version_id),
    };
    let arn = SecretKey::Arn(&created.arn);
    for (version_id, stage, expected) in [
        (None, None, Some("v4")),
        (None, Some("AWSCURRENT"), Some("v4")),
        (None, Some("AWSPREVIOUS"), Some("v3")),
        (None, Some("custom"), Some("v3")),
        (None, Some("AWSPENDING"), None),
        (Some("v3"), None, Some("v3")),
        (Some("v1"), None, Some("v1")),
        // A stage given with an id does not change which version is read (the caller checks
        // that the version carries it).
        (Some("v2"), Some("AWSCURRENT"), Some("v2")),
        (Some("nope"), None, None),
    ] {
        let (record, found) = read(arn, version_id, stage).expect("the secret exists");
        assert_eq!(
            Some(record),
            store.find_secret_labelled(arn, version_id).unwrap(),
            "{version_id:?} {stage:?}"
        );
        assert_eq!(found, expected.map(value), "{version_id:?} {stage:?}");
    }
    let (by_name, found) =
        read(SecretKey::Name(&home(), "values"), None, None).expect("found by name");
    assert_eq!(by_name.arn, created.arn);
    assert_eq!(found, Some(value("v4")));
    assert_eq!(
        read(SecretKey::Name(&other_region(), "values"), None, None),
        None
    );
    assert_eq!(
        read(SecretKey::Arn(&arn_for(&home(), "missing")), None, None),
        None
    );
}
