//! Store metadata, access keys and KMS keys.

use crate::{AccessKeyStatus, Store, StoreError};

use super::fixtures::*;

/// `init_meta` writes all its entries or none; a key that exists refuses the whole call.
pub fn meta_init_is_all_or_nothing<S: Store>(store: &S) {
    assert_eq!(store.get_meta("root").unwrap(), None);
    store.init_meta(&[]).unwrap();

    store
        .init_meta(&[("root", b"sealed root".to_vec()), ("format", vec![1])])
        .unwrap();
    assert_eq!(
        store.get_meta("root").unwrap(),
        Some(b"sealed root".to_vec())
    );
    assert_eq!(store.get_meta("format").unwrap(), Some(vec![1]));

    let again = store.init_meta(&[("fresh", vec![7]), ("root", b"other root".to_vec())]);
    assert!(
        matches!(again, Err(StoreError::AlreadyInitialized)),
        "{again:?}"
    );
    assert_eq!(
        store.get_meta("fresh").unwrap(),
        None,
        "a refused init wrote an entry"
    );
    assert_eq!(
        store.get_meta("root").unwrap(),
        Some(b"sealed root".to_vec())
    );

    // Keys that do not exist yet can still be initialized later.
    store.init_meta(&[("fresh", Vec::new())]).unwrap();
    assert_eq!(store.get_meta("fresh").unwrap(), Some(Vec::new()));
}

/// `replace_meta` swaps a value only if it still holds the expected one.
pub fn meta_replace_is_compare_and_swap<S: Store>(store: &S) {
    let missing = store.replace_meta("root", b"a", b"b");
    assert!(matches!(missing, Err(StoreError::Conflict)), "{missing:?}");
    assert_eq!(store.get_meta("root").unwrap(), None);

    store
        .init_meta(&[("root", b"sealed v1".to_vec()), ("other", vec![9])])
        .unwrap();
    let stale = store.replace_meta("root", b"sealed v0", b"sealed v2");
    assert!(matches!(stale, Err(StoreError::Conflict)), "{stale:?}");
    assert_eq!(store.get_meta("root").unwrap(), Some(b"sealed v1".to_vec()));

    store
        .replace_meta("root", b"sealed v1", b"sealed v2")
        .unwrap();
    assert_eq!(store.get_meta("root").unwrap(), Some(b"sealed v2".to_vec()));
    assert_eq!(store.get_meta("other").unwrap(), Some(vec![9]));
    // The old value no longer matches: a second rekey from the same starting point loses.
    let again = store.replace_meta("root", b"sealed v1", b"sealed v3");
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    assert_eq!(store.get_meta("root").unwrap(), Some(b"sealed v2".to_vec()));
}

// ---- access keys ----

pub fn access_keys_round_trip<S: Store>(store: &S) {
    let root = access_key("AKIAROOT000000000001", "111111111111", None);
    let mut user = access_key("AKIAUSER000000000001", "222222222222", Some("alice"));
    user.status = AccessKeyStatus::Inactive;
    store.put_access_key(&root).unwrap();
    store.put_access_key(&user).unwrap();

    assert_eq!(
        store.get_access_key(&root.access_key_id).unwrap(),
        Some(root)
    );
    assert_eq!(
        store.get_access_key(&user.access_key_id).unwrap(),
        Some(user)
    );
    assert_eq!(store.get_access_key("AKIAMISSING000000001").unwrap(), None);
}

pub fn access_key_ids_are_unique<S: Store>(store: &S) {
    let original = access_key("AKIADUP0000000000001", "111111111111", None);
    store.put_access_key(&original).unwrap();
    let mut other = access_key("AKIADUP0000000000001", "222222222222", Some("mallory"));
    other.sealed_secret = b"other".to_vec();
    let again = store.put_access_key(&other);
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    assert_eq!(
        store.get_access_key(&original.access_key_id).unwrap(),
        Some(original)
    );
}

// ---- KMS keys ----

pub fn kms_keys_by_id_and_alias_per_scope<S: Store>(store: &S) {
    let mut aliased = kms_key(&home(), "key-1", Some("alias/aws/secretsmanager"));
    aliased.versions.push((2, b"wrapped key-1 v2".to_vec()));
    aliased.versions.push((3, b"wrapped key-1 v3".to_vec()));
    let plain = kms_key(&home(), "key-2", None);
    let plain_too = kms_key(&home(), "key-3", None);
    let elsewhere = kms_key(&other_region(), "key-4", Some("alias/aws/secretsmanager"));
    for key in [&aliased, &plain, &plain_too, &elsewhere] {
        store.put_kms_key(key).unwrap();
    }

    assert_eq!(
        store.get_kms_key(&home(), "key-1").unwrap(),
        Some(aliased.clone())
    );
    assert_eq!(store.get_kms_key(&home(), "key-2").unwrap(), Some(plain));
    assert_eq!(
        store.get_kms_key(&home(), "key-3").unwrap(),
        Some(plain_too)
    );
    assert_eq!(store.get_kms_key(&home(), "missing").unwrap(), None);
    assert_eq!(
        store
            .get_kms_key_by_alias(&home(), "alias/aws/secretsmanager")
            .unwrap(),
        Some(aliased)
    );
    assert_eq!(
        store
            .get_kms_key_by_alias(&other_region(), "alias/aws/secretsmanager")
            .unwrap(),
        Some(elsewhere.clone())
    );
    assert_eq!(
        store
            .get_kms_key_by_alias(&home(), "alias/missing")
            .unwrap(),
        None
    );

    // A key is visible only in its own scope.
    assert_eq!(store.get_kms_key(&other_region(), "key-1").unwrap(), None);
    assert_eq!(store.get_kms_key(&other_account(), "key-1").unwrap(), None);
    assert_eq!(store.get_kms_key(&home(), "key-4").unwrap(), None);
    assert_eq!(
        store.get_kms_key(&other_region(), "key-4").unwrap(),
        Some(elsewhere)
    );
    assert_eq!(
        store
            .get_kms_key_by_alias(&other_account(), "alias/aws/secretsmanager")
            .unwrap(),
        None
    );
}

pub fn kms_key_ids_and_aliases_are_unique<S: Store>(store: &S) {
    let original = kms_key(&home(), "key-1", Some("alias/app"));
    store.put_kms_key(&original).unwrap();

    let same_id = kms_key(&home(), "key-1", Some("alias/other"));
    let r = store.put_kms_key(&same_id);
    assert!(matches!(r, Err(StoreError::Conflict)), "{r:?}");
    assert_eq!(
        store.get_kms_key_by_alias(&home(), "alias/other").unwrap(),
        None
    );

    let same_alias = kms_key(&home(), "key-2", Some("alias/app"));
    let r = store.put_kms_key(&same_alias);
    assert!(matches!(r, Err(StoreError::Conflict)), "{r:?}");
    assert_eq!(store.get_kms_key(&home(), "key-2").unwrap(), None);
    assert_eq!(
        store.get_kms_key_by_alias(&home(), "alias/app").unwrap(),
        Some(original)
    );

    // The same alias in another scope is another key.
    store
        .put_kms_key(&kms_key(&other_account(), "key-3", Some("alias/app")))
        .unwrap();
}
