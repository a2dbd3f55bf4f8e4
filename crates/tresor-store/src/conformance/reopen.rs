//! Durability across a reopen: what one store instance wrote, the next one over the same
//! database reads back. It takes a way to open the store again, so it is not in
//! [`cases`](super::cases); a backend's tests call it with their opener.

use tresor_types::{AccountId, Timestamp};

use super::fixtures::*;
use super::FullStore;
use crate::{
    AccessKeyRecord, AccessKeyStatus, KmsKeyRecord, PrincipalKind, PrincipalName, SealedVersion,
};

/// Write a bit of everything through one store from `open`, drop it, and read it all back
/// through a new one.
pub fn data_persists_across_reopen<S: FullStore>(open: &dyn Fn() -> S) {
    let mut record = bare_secret(&home(), "kept");
    record.description = Some("persisted".to_owned());
    record.versions.push(version("v1", &["AWSCURRENT"]));
    let sealed = SealedVersion {
        version_id: "v1".to_owned(),
        envelope: b"sealed".to_vec(),
    };
    let access_key = AccessKeyRecord {
        access_key_id: "AKIAKEPT000000000001".to_owned(),
        account: AccountId::parse("111111111111").unwrap(),
        principal_arn: "arn:aws:iam::111111111111:root".to_owned(),
        user_name: None,
        sealed_secret: b"sealed secret".to_vec(),
        status: AccessKeyStatus::Active,
        created: Timestamp(1),
    };
    let kms_key = KmsKeyRecord {
        scope: home(),
        key_id: "key-1".to_owned(),
        arn: "arn:aws:kms:us-east-1:111111111111:key/key-1".to_owned(),
        alias: Some("alias/aws/secretsmanager".to_owned()),
        description: "default".to_owned(),
        created: Timestamp(2),
        versions: vec![(1, b"wrapped".to_vec())],
    };
    let alice = user(&home().account, "alice");
    let me = PrincipalName {
        account: alice.account.clone(),
        kind: PrincipalKind::User,
        name: "alice".to_owned(),
    };
    let records = [
        audit_row(1, vec![0; 32], b"hash 1".to_vec()),
        audit_row(2, b"hash 1".to_vec(), b"hash 2".to_vec()),
    ];
    {
        let store = open();
        store
            .init_meta(&[("root", b"sealed root".to_vec())])
            .unwrap();
        store.put_access_key(&access_key).unwrap();
        store.put_kms_key(&kms_key).unwrap();
        store.create_secret(&record, Some(&sealed)).unwrap();
        store
            .touch_secret(&record.arn, "v1", Timestamp(86_400_000))
            .unwrap();
        store.create_user(&alice).unwrap();
        store.put_inline_policy(&me, "inline", "{}").unwrap();
        store.append_audit(&records).unwrap();
    }

    let store = open();
    assert_eq!(
        store.get_meta("root").unwrap(),
        Some(b"sealed root".to_vec())
    );
    assert_eq!(
        store.get_access_key(&access_key.access_key_id).unwrap(),
        Some(access_key)
    );
    assert_eq!(store.get_kms_key(&home(), "key-1").unwrap(), Some(kms_key));
    let found = store.find_secret_by_arn(&record.arn).unwrap().unwrap();
    assert_eq!(found.description.as_deref(), Some("persisted"));
    assert_eq!(found.last_accessed, Some(Timestamp(86_400_000)));
    assert_eq!(
        store.read_envelope(&record.arn, "v1").unwrap(),
        Some(sealed.envelope)
    );
    assert_eq!(
        store.get_user(&alice.account, "ALICE").unwrap(),
        Some(alice)
    );
    assert_eq!(
        store.get_inline_policy(&me, "inline").unwrap().as_deref(),
        Some("{}")
    );
    assert_eq!(store.read_audit(1, 10).unwrap(), records.to_vec());
    assert_eq!(store.audit_head().unwrap(), Some((2, b"hash 2".to_vec())));
}
