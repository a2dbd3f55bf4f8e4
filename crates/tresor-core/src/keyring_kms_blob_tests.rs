//! The keyring's KMS ciphertext blobs across key versions: a blob names the version that
//! sealed it, so blobs from before a rotation still open and new ones use the latest version.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use tresor_crypto::{ciphertext_blob_header, EncryptionContext, RootKey};
use tresor_store::{KmsKeyRecord, Scope};
use tresor_types::{AccountId, Region, Timestamp};

use super::Keyring;

fn key(id: &str) -> KmsKeyRecord {
    let scope = Scope {
        account: AccountId::parse("111122223333").unwrap(),
        region: Region::parse("us-east-1").unwrap(),
    };
    KmsKeyRecord {
        arn: format!("arn:aws:kms:us-east-1:111122223333:key/{id}"),
        scope,
        key_id: id.to_owned(),
        alias: None,
        description: String::new(),
        created: Timestamp::now(),
        versions: Vec::new(),
    }
}

/// Rotation as the key management operations do it: a new version pushed onto `versions`.
fn add_version(keyring: &Keyring, key: &mut KmsKeyRecord) -> u32 {
    let version = key.versions.last().map_or(1, |(v, _)| v + 1);
    let wrapped = keyring.wrap_new_material(key, version).unwrap();
    key.versions.push((version, wrapped));
    version
}

fn ctx() -> EncryptionContext {
    EncryptionContext(BTreeMap::from([("app".to_owned(), "billing".to_owned())]))
}

#[test]
fn old_blobs_open_after_rotation_and_new_ones_use_the_latest_version() {
    let keyring = Keyring::new(RootKey::generate().unwrap());
    let mut k = key("1234abcd-12ab-34cd-56ef-1234567890ab");
    add_version(&keyring, &mut k);
    let old = keyring.seal_kms_blob(&k, &ctx(), b"before").unwrap();
    let old_header = ciphertext_blob_header(&old).unwrap();
    assert_eq!(
        (old_header.key_id.as_str(), old_header.key_version),
        (k.key_id.as_str(), 1)
    );

    assert_eq!(add_version(&keyring, &mut k), 2);
    let new = keyring.seal_kms_blob(&k, &ctx(), b"after").unwrap();
    let new_header = ciphertext_blob_header(&new).unwrap();
    assert_eq!(new_header.key_version, 2);

    let open = |blob: &[u8]| {
        let header = ciphertext_blob_header(blob).unwrap();
        keyring.open_kms_blob(&k, &header, &ctx(), blob).unwrap()
    };
    assert_eq!(open(&old).unwrap().expose(), b"before");
    assert_eq!(open(&new).unwrap().expose(), b"after");
}

#[test]
fn a_blob_does_not_open_under_another_key_a_missing_version_or_another_context() {
    let keyring = Keyring::new(RootKey::generate().unwrap());
    let mut a = key("aaaaaaaa-0000-0000-0000-000000000000");
    let mut b = key("bbbbbbbb-0000-0000-0000-000000000000");
    add_version(&keyring, &mut a);
    add_version(&keyring, &mut b);
    let blob = keyring.seal_kms_blob(&a, &ctx(), b"data").unwrap();
    let header = ciphertext_blob_header(&blob).unwrap();
    assert!(keyring
        .open_kms_blob(&b, &header, &ctx(), &blob)
        .unwrap()
        .is_none());
    assert!(keyring
        .open_kms_blob(&a, &header, &EncryptionContext::default(), &blob)
        .unwrap()
        .is_none());
    // A header naming a version the key does not have (here: one rolled back away).
    let mut forged = header.clone();
    forged.key_version = 9;
    assert!(keyring
        .open_kms_blob(&a, &forged, &ctx(), &blob)
        .unwrap()
        .is_none());
    assert!(keyring
        .open_kms_blob(&a, &header, &ctx(), &blob)
        .unwrap()
        .is_some());
}

#[test]
fn a_key_without_material_cannot_seal() {
    let keyring = Keyring::new(RootKey::generate().unwrap());
    assert!(keyring.seal_kms_blob(&key("empty"), &ctx(), b"x").is_err());
}
