//! Resealing stored versions (`SecretTxn::reseal_version`): what changing a secret's KMS key
//! writes.

use crate::{SealedValue, Store, StoreError, VersionPick, VersionPruning};

use super::fixtures::*;

/// A resealed version gets its new sealed value and key id in the same transaction as the
/// rest of the update; its id, labels, dates and digest stay, and the versions not resealed
/// keep their own. A failing closure reseals nothing.
pub fn reseal_replaces_envelope_and_key<S: Store>(store: &S) {
    let secret = create_with_version(store, &home(), "rekeyed");
    let arn = secret.arn.as_str();
    update(store, arn, |txn| {
        for v in &mut txn.record.versions {
            v.stages.clear();
        }
        txn.add_version(version("v2", &["AWSPREVIOUS"]), envelope("v2"));
        txn.add_version(version("v3", &["AWSCURRENT"]), envelope("v3"));
    });

    // A failing closure leaves the old sealed value and key.
    let failed = store.update_secret::<(), StoreError, _>(arn, |txn| {
        assert!(txn.reseal_version("v3", b"never written".to_vec(), "key-new"));
        Err(StoreError::Conflict)
    });
    assert!(matches!(failed, Err(StoreError::Conflict)));
    assert_eq!(
        store.read_envelope(arn, "v3").unwrap(),
        Some(envelope("v3"))
    );

    let before = find(store, arn);
    let answered = update(store, arn, |txn| {
        txn.record.description = Some("under key-new".to_owned());
        (
            txn.reseal_version("v2", b"v2 under key-new".to_vec(), "key-new"),
            txn.reseal_version("v3", b"v3 under key-new".to_vec(), "key-new"),
            txn.reseal_version("missing", b"nothing".to_vec(), "key-new"),
        )
    });
    assert_eq!(answered, (true, true, false));

    let after = find(store, arn);
    assert_eq!(after.description.as_deref(), Some("under key-new"));
    assert_eq!(version_ids(&after), vec!["v1", "v2", "v3"]);
    for (old, new) in before.versions.iter().zip(&after.versions) {
        assert_eq!(new.stages, old.stages);
        assert_eq!(new.created, old.created);
        assert_eq!(new.value_digest, old.value_digest);
        assert_eq!(new.last_accessed, old.last_accessed);
    }
    let key_of = |id: &str| after.version(id).unwrap().kms_key_id.clone();
    assert_eq!(key_of("v1"), "alias/aws/secretsmanager");
    assert_eq!(key_of("v2"), "key-new");
    assert_eq!(key_of("v3"), "key-new");
    assert_eq!(
        store.read_envelope(arn, "v1").unwrap(),
        Some(envelope("v1"))
    );
    assert_eq!(
        store.read_envelope(arn, "v2").unwrap(),
        Some(b"v2 under key-new".to_vec())
    );
    // GetSecretValue's own read sees the new sealed value too.
    let (_, value) = store
        .find_secret_value(crate::SecretKey::Arn(arn), VersionPick::default())
        .unwrap()
        .unwrap();
    assert_eq!(
        value,
        Some(SealedValue {
            version_id: "v3".to_owned(),
            envelope: b"v3 under key-new".to_vec(),
        })
    );
}

/// A write that adds a version can reseal the labelled versions it loaded in the same
/// transaction; resealing a version added by the same closure replaces its new sealed value.
pub fn reseal_inside_add_version<S: Store>(store: &S) {
    let secret = create_with_version(store, &home(), "added");
    let arn = secret.arn.as_str();
    let keep_all = VersionPruning {
        keep: usize::MAX,
        created_before: tresor_types::Timestamp(0),
    };
    store
        .add_secret_version::<(), StoreError, _>(arn, "v2", keep_all, |txn| {
            for v in &mut txn.record.versions {
                v.stages = vec!["AWSPREVIOUS".to_owned()];
            }
            txn.add_version(version("v2", &["AWSCURRENT"]), envelope("v2"));
            assert!(txn.reseal_version("v1", b"v1 resealed".to_vec(), "key-new"));
            assert!(txn.reseal_version("v2", b"v2 resealed".to_vec(), "key-new"));
            Ok(())
        })
        .unwrap();
    let after = find(store, arn);
    assert_eq!(version_ids(&after), vec!["v1", "v2"]);
    assert_eq!(stages_of(&after, "v1"), vec!["AWSPREVIOUS"]);
    assert_eq!(stages_of(&after, "v2"), vec!["AWSCURRENT"]);
    assert!(after.versions.iter().all(|v| v.kms_key_id == "key-new"));
    assert_eq!(
        store.read_envelope(arn, "v1").unwrap(),
        Some(b"v1 resealed".to_vec())
    );
    assert_eq!(
        store.read_envelope(arn, "v2").unwrap(),
        Some(b"v2 resealed".to_vec())
    );
}
