//! What Secrets Manager answers when KMS refuses a key, which names name the managed key, and
//! which versions a key change reseals.

#![allow(clippy::unwrap_used, clippy::panic)]

use super::*;
use tresor_store::{Scope, VersionMeta};
use tresor_types::{AccountId, Region, Timestamp};

fn scope() -> Scope {
    Scope {
        account: AccountId::parse("111122223333").unwrap(),
        region: Region::parse("eu-west-1").unwrap(),
    }
}

#[test]
fn the_managed_key_is_named_by_nothing_its_alias_or_its_alias_arn() {
    let s = scope();
    for named in [
        None,
        Some(""),
        Some("  "),
        Some("alias/aws/secretsmanager"),
        Some("arn:aws:kms:eu-west-1:111122223333:alias/aws/secretsmanager"),
    ] {
        assert!(Keyring::names_default_key(&s, named), "{named:?}");
    }
    for customer in [
        "alias/team",
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        // Another region's or account's managed key is not this scope's.
        "arn:aws:kms:us-east-1:111122223333:alias/aws/secretsmanager",
        "arn:aws:kms:eu-west-1:999999999999:alias/aws/secretsmanager",
    ] {
        assert!(
            !Keyring::names_default_key(&s, Some(customer)),
            "{customer}"
        );
    }
    assert_eq!(
        via_secrets_manager("eu-west-1"),
        "secretsmanager.eu-west-1.amazonaws.com"
    );
}

fn code_and_message(e: CoreError) -> (&'static str, String) {
    (e.aws_code(), e.message())
}

#[test]
fn kms_refusals_become_secrets_manager_errors() {
    let denied = || CoreError::AccessDenied {
        message: "User: u is not authorized to perform: kms:Decrypt".to_owned(),
        unreadable: Some("policy".to_owned()),
    };
    for purpose in [KeyPurpose::Seal, KeyPurpose::Open] {
        match as_secrets_manager_error(denied(), purpose) {
            CoreError::AccessDenied {
                message,
                unreadable,
            } => {
                assert_eq!(message, "Access to KMS is not allowed");
                assert_eq!(unreadable.as_deref(), Some("policy"));
            }
            other => panic!("{other:?}"),
        }
    }
    let encryption = (
        "EncryptionFailure",
        "Secrets Manager can't encrypt the protected secret text using the provided KMS key. \
         Check that the KMS key is available, enabled, and not in an invalid state."
            .to_owned(),
    );
    let decryption = (
        "DecryptionFailure",
        "Secrets Manager can't decrypt the protected secret text using the provided KMS key."
            .to_owned(),
    );
    for state in [
        KmsError::Disabled,
        KmsError::InvalidState,
        KmsError::KeyUnavailable,
    ] {
        let e = || CoreError::Kms(state, "arn:aws:kms:…:key/k is disabled.".to_owned());
        assert_eq!(
            code_and_message(as_secrets_manager_error(e(), KeyPurpose::Seal)),
            encryption
        );
        assert_eq!(
            code_and_message(as_secrets_manager_error(e(), KeyPurpose::Open)),
            decryption
        );
    }
    let gone = || CoreError::Kms(KmsError::NotFound, "Key 'k' does not exist".to_owned());
    assert_eq!(
        code_and_message(as_secrets_manager_error(gone(), KeyPurpose::Seal)),
        (
            "ResourceNotFoundException",
            "Key 'k' does not exist".to_owned()
        )
    );
    assert_eq!(
        code_and_message(as_secrets_manager_error(gone(), KeyPurpose::Open)),
        decryption
    );
    let internal = as_secrets_manager_error(
        CoreError::Internal("store down".to_owned()),
        KeyPurpose::Open,
    );
    assert!(internal.is_server_error());
}

fn version(id: &str, stages: &[&str], key: &str) -> VersionMeta {
    VersionMeta {
        version_id: id.to_owned(),
        stages: stages.iter().map(|s| (*s).to_owned()).collect(),
        created: Timestamp(1),
        last_accessed: None,
        value_digest: vec![1],
        kms_key_id: key.to_owned(),
    }
}

fn reseal(id: &str, from: &str) -> Reseal {
    Reseal {
        version_id: id.to_owned(),
        from_key_id: from.to_owned(),
        to_key_id: "new".to_owned(),
        envelope: format!("{id} under new").into_bytes(),
    }
}

#[test]
fn reseals_apply_to_versions_still_labelled_and_under_the_old_key() {
    let record = SecretRecord {
        scope: scope(),
        arn: "arn".to_owned(),
        name: "n".to_owned(),
        description: None,
        kms_key_id: Some("alias/new".to_owned()),
        tags: vec![],
        resource_policy: None,
        rotation: None,
        replication: None,
        created: Timestamp(0),
        last_changed: Timestamp(0),
        last_accessed: None,
        deletion: None,
        versions: vec![
            version("current", &[AWSCURRENT], "old"),
            version("previous", &[AWSPREVIOUS], "old"),
            version("pending", &[AWSPENDING, "blue"], "old"),
            // Lost its label in the same update (a new value moved AWSPREVIOUS on).
            version("deprecated", &[], "old"),
            // Only a custom label: AWS leaves it under its key.
            version("custom", &["blue"], "old"),
            // Changed key since it was opened.
            version("moved", &[AWSCURRENT], "other"),
        ],
    };
    let mut txn = SecretTxn::new(record);
    let reseals: Vec<Reseal> = [
        "current",
        "previous",
        "pending",
        "deprecated",
        "custom",
        "moved",
        "missing",
    ]
    .iter()
    .map(|id| reseal(id, "old"))
    .collect();
    apply_reseals(&mut txn, &reseals);
    let resealed: Vec<&str> = txn
        .resealed()
        .iter()
        .map(|s| s.version_id.as_str())
        .collect();
    assert_eq!(resealed, vec!["current", "previous", "pending"]);
    let key_of = |id: &str| txn.record.version(id).unwrap().kms_key_id.clone();
    assert_eq!(key_of("current"), "new");
    assert_eq!(key_of("pending"), "new");
    assert_eq!(key_of("deprecated"), "old");
    assert_eq!(key_of("custom"), "old");
    assert_eq!(key_of("moved"), "other");
}
