//! Creating and finding secrets.

use tresor_types::Timestamp;

use crate::{Deletion, SealedVersion, Store, StoreError, Tag};

use super::fixtures::*;

pub fn create_and_find_secret<S: Store>(store: &S) {
    // Every optional field set, so that each one is seen to round-trip.
    let mut full = bare_secret(&home(), "prod/db/password");
    full.description = Some("the database password".to_owned());
    full.kms_key_id = Some("alias/app".to_owned());
    full.tags = vec![
        Tag {
            key: "team".to_owned(),
            value: "payments".to_owned(),
        },
        Tag {
            key: "env".to_owned(),
            value: "prod".to_owned(),
        },
        Tag {
            key: "empty".to_owned(),
            value: String::new(),
        },
    ];
    full.resource_policy = Some(r#"{"Version":"2012-10-17","Statement":[]}"#.to_owned());
    full.rotation = Some(r#"{"days":30}"#.to_owned());
    full.replication = Some(r#"{"replica":{"primary_region":"eu-west-1"}}"#.to_owned());
    full.created = Timestamp(T0.0 + 1);
    full.last_changed = Timestamp(T0.0 + 2);
    full.last_accessed = Some(Timestamp(T0.0 + 3));
    full.deletion = Some(Deletion {
        deleted_date: Timestamp(T0.0 + 4),
        purge_after: Timestamp(T0.0 + 5),
    });
    let mut first = version("v1", &["AWSCURRENT", "custom"]);
    first.last_accessed = Some(Timestamp(T0.0 + 6));
    first.kms_key_id = "key-1".to_owned();
    full.versions.push(first);
    let sealed = SealedVersion {
        version_id: "v1".to_owned(),
        envelope: envelope("v1"),
    };
    store.create_secret(&full, Some(&sealed)).unwrap();

    // No first version at all.
    let bare = bare_secret(&home(), "bare");
    store.create_secret(&bare, None).unwrap();

    assert_eq!(
        store.find_secret_by_arn(&full.arn).unwrap(),
        Some(full.clone())
    );
    assert_eq!(
        store.find_secret_by_name(&home(), &full.name).unwrap(),
        Some(full.clone())
    );
    assert_eq!(
        store.find_secret_by_arn(&bare.arn).unwrap(),
        Some(bare.clone())
    );
    assert_eq!(
        store.find_secret_by_name(&home(), "bare").unwrap(),
        Some(bare)
    );
    assert_eq!(
        store.read_envelope(&full.arn, "v1").unwrap(),
        Some(envelope("v1"))
    );

    assert_eq!(
        store
            .find_secret_by_arn("arn:aws:secretsmanager:x")
            .unwrap(),
        None
    );
    assert_eq!(store.find_secret_by_name(&home(), "prod/db").unwrap(), None);
    assert_eq!(
        store
            .find_secret_by_name(&other_region(), &full.name)
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .find_secret_by_name(&other_account(), &full.name)
            .unwrap(),
        None
    );
}

/// The same name may be used in another region and in another account.
pub fn secret_names_are_per_scope<S: Store>(store: &S) {
    let here = create_with_version(store, &home(), "shared-name");
    let region = create_with_version(store, &other_region(), "shared-name");
    let mut account = bare_secret(&other_account(), "shared-name");
    account.description = Some("the other account's".to_owned());
    store.create_secret(&account, None).unwrap();

    assert_eq!(
        store.find_secret_by_name(&home(), "shared-name").unwrap(),
        Some(here.clone())
    );
    assert_eq!(
        store
            .find_secret_by_name(&other_region(), "shared-name")
            .unwrap(),
        Some(region.clone())
    );
    assert_eq!(
        store
            .find_secret_by_name(&other_account(), "shared-name")
            .unwrap(),
        Some(account.clone())
    );
    assert_eq!(find(store, &here.arn), here);
    assert_eq!(find(store, &region.arn), region);
    assert_eq!(find(store, &account.arn), account);
}

/// A taken name answers `SecretExists`, telling whether its holder is scheduled for deletion.
pub fn create_reports_taken_name<S: Store>(store: &S) {
    let holder = create_with_version(store, &home(), "taken");
    let mut again = bare_secret(&home(), "taken");
    again.arn = format!("{}-again", holder.arn);

    let r = store.create_secret(&again, None);
    assert!(
        matches!(
            r,
            Err(StoreError::SecretExists {
                scheduled_for_deletion: false
            })
        ),
        "{r:?}"
    );

    update(store, &holder.arn, |txn| {
        txn.record.deletion = Some(Deletion {
            deleted_date: T0,
            purge_after: T0.plus_days(7),
        });
    });
    let mut with_version = again.clone();
    with_version.versions.push(version("v9", &["AWSCURRENT"]));
    let sealed = SealedVersion {
        version_id: "v9".to_owned(),
        envelope: envelope("v9"),
    };
    let r = store.create_secret(&with_version, Some(&sealed));
    assert!(
        matches!(
            r,
            Err(StoreError::SecretExists {
                scheduled_for_deletion: true
            })
        ),
        "{r:?}"
    );

    // Nothing of the refused secrets was written.
    assert_eq!(store.find_secret_by_arn(&again.arn).unwrap(), None);
    assert_eq!(store.read_envelope(&again.arn, "v9").unwrap(), None);
    assert_eq!(find(store, &holder.arn).versions, holder.versions);
}

pub fn create_rejects_taken_arn<S: Store>(store: &S) {
    let holder = create_with_version(store, &home(), "first-name");
    let mut same_arn = bare_secret(&home(), "second-name");
    same_arn.arn = holder.arn.clone();
    let r = store.create_secret(&same_arn, None);
    assert!(matches!(r, Err(StoreError::Conflict)), "{r:?}");
    assert_eq!(
        store.find_secret_by_name(&home(), "second-name").unwrap(),
        None
    );
    assert_eq!(find(store, &holder.arn), holder);
}

pub fn read_envelope_by_version<S: Store>(store: &S) {
    let secret = create_with_version(store, &home(), "enveloped");
    update(store, &secret.arn, |txn| {
        txn.add_version(version("v2", &["AWSPENDING"]), envelope("v2"));
    });
    assert_eq!(
        store.read_envelope(&secret.arn, "v1").unwrap(),
        Some(envelope("v1"))
    );
    assert_eq!(
        store.read_envelope(&secret.arn, "v2").unwrap(),
        Some(envelope("v2"))
    );
    assert_eq!(store.read_envelope(&secret.arn, "v3").unwrap(), None);
    assert_eq!(
        store
            .read_envelope("arn:aws:secretsmanager:missing", "v1")
            .unwrap(),
        None
    );

    // A version id is looked up within its own secret only.
    let other = bare_secret(&home(), "other");
    store.create_secret(&other, None).unwrap();
    assert_eq!(store.read_envelope(&other.arn, "v1").unwrap(), None);
}

// ---- secrets: update ----
