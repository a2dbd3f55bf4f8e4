//! KMS key management ([`KmsStore`]): metadata, version history, aliases, destruction.

use tresor_types::Timestamp;

use super::fixtures::*;
use crate::{
    KeyManager, KeyVersionOrigin, KmsAliasRecord, KmsKeyMeta, KmsKeyState, KmsKeyVersionInfo,
    KmsStore, Missing, Store, StoreError,
};

fn alias(name: &str, key_id: &str, at: Timestamp) -> KmsAliasRecord {
    KmsAliasRecord {
        scope: home(),
        name: name.to_owned(),
        key_id: key_id.to_owned(),
        created: at,
        updated: at,
    }
}

/// A key created with metadata reads it back; a replaced metadata reads back whole; the
/// managed key `put_kms_key` writes is AWS's, with its alias in the alias table.
pub fn kms_key_metadata_round_trip<S: Store + KmsStore>(store: &S) {
    let key = kms_key(&home(), "key-1", None);
    let mut meta = KmsKeyMeta::customer("{\"policy\":1}".to_owned());
    meta.tags = vec![tag("team", "core"), tag("env", "prod")];
    store.create_kms_key(&key, &meta).unwrap();
    assert_eq!(
        store.get_kms_key_meta(&home(), "key-1").unwrap(),
        Some(meta.clone())
    );
    assert_eq!(
        store.get_kms_key_meta(&other_region(), "key-1").unwrap(),
        None
    );
    assert_eq!(
        store.get_kms_key(&home(), "key-1").unwrap(),
        Some(key.clone())
    );

    meta.state = KmsKeyState::PendingDeletion;
    meta.deletion_date = Some(Timestamp(T0.0 + 7 * 86_400_000));
    meta.rotation_enabled = true;
    meta.rotation_period_days = 90;
    meta.next_rotation = Some(Timestamp(T0.0 + 90 * 86_400_000));
    meta.tags.clear();
    store.put_kms_key_meta(&home(), "key-1", &meta).unwrap();
    assert_eq!(
        store.get_kms_key_meta(&home(), "key-1").unwrap(),
        Some(meta.clone())
    );

    store
        .set_kms_key_description(&home(), "key-1", "new words")
        .unwrap();
    let described = store.get_kms_key(&home(), "key-1").unwrap().unwrap();
    assert_eq!(described.description, "new words");
    assert!(store.set_kms_key_description(&home(), "nope", "x").is_err());

    let missing = store.put_kms_key_meta(&home(), "nope", &meta);
    assert!(
        matches!(&missing, Err(StoreError::NotFound(Missing::KmsKey(id))) if id == "nope"),
        "{missing:?}"
    );

    let managed = kms_key(&home(), "key-aws", Some("alias/aws/secretsmanager"));
    store.put_kms_key(&managed).unwrap();
    let managed_meta = store.get_kms_key_meta(&home(), "key-aws").unwrap().unwrap();
    assert_eq!(managed_meta.key_manager, KeyManager::Aws);
    assert_eq!(managed_meta.policy, None);
    let listed = store.list_kms_aliases(&home(), None, None, 10).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "alias/aws/secretsmanager");
    assert_eq!(listed[0].key_id, "key-aws");
}

/// Versions are keyed by (key, version): a second writer of the same version gets
/// `Conflict` and the first's material stays; the history keeps date and origin.
pub fn kms_key_versions_are_unique<S: Store + KmsStore>(store: &S) {
    let key = kms_key(&home(), "key-1", None);
    store
        .create_kms_key(&key, &KmsKeyMeta::customer(String::new()))
        .unwrap();
    let v2 = KmsKeyVersionInfo {
        version: 2,
        created: Timestamp(T0.0 + 1000),
        origin: KeyVersionOrigin::OnDemand,
    };
    store
        .add_kms_key_version(&home(), "key-1", &v2, b"wrapped v2")
        .unwrap();
    let again = store.add_kms_key_version(&home(), "key-1", &v2, b"other v2");
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    let missing = store.add_kms_key_version(&home(), "nope", &v2, b"x");
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );

    let read = store.get_kms_key(&home(), "key-1").unwrap().unwrap();
    assert_eq!(
        read.versions,
        vec![
            (1, b"wrapped key-1 v1".to_vec()),
            (2, b"wrapped v2".to_vec())
        ]
    );
    assert_eq!(
        store.kms_key_versions(&home(), "key-1").unwrap(),
        vec![
            KmsKeyVersionInfo {
                version: 1,
                created: T0,
                origin: KeyVersionOrigin::Created
            },
            v2
        ]
    );
    assert!(store
        .kms_key_versions(&other_region(), "key-1")
        .unwrap()
        .is_empty());
}

/// Aliases: many per key, unique per scope, movable, deletable, listed by name in pages and
/// by key; `get_kms_key_by_alias` follows them.
pub fn kms_aliases_name_keys<S: Store + KmsStore>(store: &S) {
    for id in ["key-a", "key-b"] {
        store
            .create_kms_key(
                &kms_key(&home(), id, None),
                &KmsKeyMeta::customer(String::new()),
            )
            .unwrap();
    }
    store
        .create_kms_alias(&alias("alias/one", "key-a", T0))
        .unwrap();
    store
        .create_kms_alias(&alias("alias/two", "key-a", T0))
        .unwrap();
    store
        .create_kms_alias(&alias("alias/three", "key-b", T0))
        .unwrap();
    let taken = store.create_kms_alias(&alias("alias/one", "key-b", T0));
    assert!(matches!(taken, Err(StoreError::Conflict)), "{taken:?}");
    let no_key = store.create_kms_alias(&alias("alias/four", "key-z", T0));
    assert!(matches!(no_key, Err(StoreError::NotFound(_))), "{no_key:?}");

    let by_alias = store
        .get_kms_key_by_alias(&home(), "alias/two")
        .unwrap()
        .unwrap();
    assert_eq!(by_alias.key_id, "key-a");
    assert_eq!(by_alias.alias.as_deref(), Some("alias/one"));
    assert_eq!(
        store
            .get_kms_key_by_alias(&other_region(), "alias/two")
            .unwrap(),
        None
    );

    let names = |after: Option<&str>, key: Option<&str>, limit| -> Vec<String> {
        store
            .list_kms_aliases(&home(), key, after, limit)
            .unwrap()
            .into_iter()
            .map(|a| a.name)
            .collect()
    };
    assert_eq!(names(None, None, 2), ["alias/one", "alias/three"]);
    assert_eq!(names(Some("alias/three"), None, 2), ["alias/two"]);
    assert_eq!(names(None, Some("key-a"), 10), ["alias/one", "alias/two"]);

    let later = Timestamp(T0.0 + 5000);
    assert!(store
        .update_kms_alias(&home(), "alias/two", "key-b", later)
        .unwrap());
    assert!(!store
        .update_kms_alias(&home(), "alias/none", "key-b", later)
        .unwrap());
    let moved = store.get_kms_alias(&home(), "alias/two").unwrap().unwrap();
    assert_eq!(
        (moved.key_id.as_str(), moved.created, moved.updated),
        ("key-b", T0, later)
    );

    assert!(store.delete_kms_alias(&home(), "alias/one").unwrap());
    assert!(!store.delete_kms_alias(&home(), "alias/one").unwrap());
    assert_eq!(
        store.get_kms_key_by_alias(&home(), "alias/one").unwrap(),
        None
    );
    assert_eq!(names(None, Some("key-a"), 10), Vec::<String>::new());
}

/// Keys list by key id in pages, per scope; destroying a key removes its material, its
/// metadata and its aliases for good.
pub fn kms_keys_list_and_destroy<S: Store + KmsStore>(store: &S) {
    for id in ["key-c", "key-a", "key-b"] {
        store
            .create_kms_key(
                &kms_key(&home(), id, None),
                &KmsKeyMeta::customer(String::new()),
            )
            .unwrap();
    }
    store
        .create_kms_key(
            &kms_key(&other_region(), "key-eu", None),
            &KmsKeyMeta::customer(String::new()),
        )
        .unwrap();
    let ids = |after: Option<&str>| -> Vec<String> {
        store
            .list_kms_keys(&home(), after, 2)
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    };
    assert_eq!(ids(None), ["key-a", "key-b"]);
    assert_eq!(ids(Some("key-b")), ["key-c"]);

    store
        .create_kms_alias(&alias("alias/b", "key-b", T0))
        .unwrap();
    assert!(store.destroy_kms_key(&home(), "key-b").unwrap());
    assert!(!store.destroy_kms_key(&home(), "key-b").unwrap());
    assert_eq!(store.get_kms_key(&home(), "key-b").unwrap(), None);
    assert_eq!(store.get_kms_key_meta(&home(), "key-b").unwrap(), None);
    assert!(store.kms_key_versions(&home(), "key-b").unwrap().is_empty());
    assert_eq!(store.get_kms_alias(&home(), "alias/b").unwrap(), None);
    assert_eq!(ids(None), ["key-a", "key-c"]);
    // The name is free again, and the other scope's key is untouched.
    store
        .create_kms_key(
            &kms_key(&home(), "key-b", None),
            &KmsKeyMeta::customer(String::new()),
        )
        .unwrap();
    assert!(store
        .get_kms_key(&other_region(), "key-eu")
        .unwrap()
        .is_some());
}

/// The sweep's query finds, across scopes, exactly the keys pending deletion whose date is at
/// or before the given time, soonest first.
pub fn kms_keys_due_for_destruction_across_scopes<S: Store + KmsStore>(store: &S) {
    let day = 86_400_000;
    let pending = |days: i64| {
        let mut meta = KmsKeyMeta::customer(String::new());
        meta.state = KmsKeyState::PendingDeletion;
        meta.deletion_date = Some(Timestamp(T0.0 + days * day));
        meta
    };
    store
        .create_kms_key(&kms_key(&home(), "key-late", None), &pending(30))
        .unwrap();
    store
        .create_kms_key(&kms_key(&other_region(), "key-soon", None), &pending(7))
        .unwrap();
    store
        .create_kms_key(&kms_key(&home(), "key-due", None), &pending(10))
        .unwrap();
    store
        .create_kms_key(
            &kms_key(&home(), "key-live", None),
            &KmsKeyMeta::customer(String::new()),
        )
        .unwrap();
    let due = |days: i64, limit: usize| -> Vec<String> {
        store
            .kms_keys_due_for_destruction(Timestamp(T0.0 + days * day), limit)
            .unwrap()
            .into_iter()
            .map(|(scope, id)| format!("{}/{id}", scope.region.as_str()))
            .collect()
    };
    assert!(due(6, 10).is_empty());
    let home_region = home().region.as_str().to_owned();
    let other = other_region().region.as_str().to_owned();
    assert_eq!(due(7, 10), [format!("{other}/key-soon")]);
    assert_eq!(
        due(10, 10),
        [
            format!("{other}/key-soon"),
            format!("{home_region}/key-due")
        ]
    );
    assert_eq!(due(365, 1), [format!("{other}/key-soon")]);
    assert_eq!(due(365, 10).len(), 3);
}
