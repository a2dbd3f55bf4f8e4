//! The KMS key under a secret's versions, as Secrets Manager uses it on the caller's behalf.
//!
//! - Writing a value seals it under the secret's `KmsKeyId`: the AWS managed
//!   `alias/aws/secretsmanager` key as before, or a customer key that KMS must allow the caller
//!   for `kms:GenerateDataKey` through Secrets Manager ([`Core::sealing_key`]).
//! - Reading a value opens it under the key its envelope names: the AWS managed key straight
//!   from the keyring (the hot path: no store read once the key is known), a customer key only
//!   after KMS allows `kms:Decrypt` through Secrets Manager, in a usable state, on every read
//!   ([`Core::open_secret_value`]).
//! - Changing the key reseals the versions labelled `AWSCURRENT`, `AWSPENDING` or
//!   `AWSPREVIOUS` under the new key in the update's own transaction
//!   ([`Core::reseal_for_new_key`], [`apply_reseals`]); deprecated versions stay under the key
//!   that sealed them, as in AWS.
//!
//! KMS answers in its own codes (`DisabledException`, `NotFoundException`, …); a client of
//! Secrets Manager sees Secrets Manager's ([`as_secrets_manager_error`]).

use tresor_crypto::EncryptionContext;
use tresor_store::{KmsKeyRecord, KmsKeyState, SecretRecord, SecretTxn, Store};
use tresor_types::SecretBytes;

use super::{AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use crate::keyring::{Keyring, ValueKind};
use crate::kms::keys::{KeyUse, Naming};
use crate::{Core, CoreError, KmsError, RequestContext};

/// The labels whose versions follow the secret to a new key (AWS's rule).
const RESEALED_LABELS: [&str; 3] = [AWSCURRENT, AWSPENDING, AWSPREVIOUS];

/// What Secrets Manager asks KMS for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyPurpose {
    /// A new data key to seal a value (`kms:GenerateDataKey`).
    Seal,
    /// Opening a sealed data key (`kms:Decrypt`).
    Open,
}

impl KeyPurpose {
    fn action(self) -> &'static str {
        match self {
            Self::Seal => "kms:GenerateDataKey",
            Self::Open => "kms:Decrypt",
        }
    }
}

/// Whom a value is opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reader {
    /// The caller, who needs `kms:Decrypt` on a customer key (GetSecretValue and the like).
    Caller,
    /// Tresor on its own behalf (the gateway's upstream key): the key must be usable, but the
    /// caller's KMS permissions are not asked, since the caller was authorized for the route
    /// and never for the secret (the route's creator was, key included).
    Tresor,
}

/// `kms:ViaService` for calls Secrets Manager makes in `region`.
pub(crate) fn via_secrets_manager(region: &str) -> String {
    format!("secretsmanager.{region}.amazonaws.com")
}

/// What a Secrets Manager client is told when KMS refuses a key: a denial is AWS's
/// `AccessDeniedException` "Access to KMS is not allowed"; a key that is disabled, pending
/// deletion or otherwise unusable fails the encryption or decryption (`EncryptionFailure`,
/// `DecryptionFailure`, AWS's texts); a key that does not exist (any more) is
/// `ResourceNotFoundException` for a write naming it and `DecryptionFailure` for a read of a
/// value sealed under it. Failures on Tresor's side pass unchanged.
pub(crate) fn as_secrets_manager_error(e: CoreError, purpose: KeyPurpose) -> CoreError {
    let unusable = || match purpose {
        KeyPurpose::Seal => CoreError::EncryptionFailure(
            "Secrets Manager can't encrypt the protected secret text using the provided KMS key. \
             Check that the KMS key is available, enabled, and not in an invalid state."
                .to_owned(),
        ),
        KeyPurpose::Open => crate::keyring::decryption_failure(),
    };
    match e {
        CoreError::AccessDenied { unreadable, .. } => CoreError::AccessDenied {
            message: "Access to KMS is not allowed".to_owned(),
            unreadable,
        },
        CoreError::Kms(KmsError::NotFound, message) | CoreError::ResourceNotFound(message) => {
            match purpose {
                KeyPurpose::Seal => CoreError::ResourceNotFound(message),
                KeyPurpose::Open => unusable(),
            }
        }
        CoreError::Kms(_, _) => unusable(),
        other => other,
    }
}

/// What a key change reseals: each labelled version's value sealed under the new key.
pub(crate) struct Reseal {
    version_id: String,
    /// The key the version was under when it was opened: a version changed since is skipped.
    from_key_id: String,
    to_key_id: String,
    envelope: Vec<u8>,
}

/// Apply prepared reseals inside the update's transaction, to the versions that still carry
/// a label that follows the key and are still under the key they were opened from.
pub(crate) fn apply_reseals(txn: &mut SecretTxn, reseals: &[Reseal]) {
    for r in reseals {
        let current = txn.record.version(&r.version_id).filter(|v| {
            v.kms_key_id == r.from_key_id
                && v.stages
                    .iter()
                    .any(|s| RESEALED_LABELS.contains(&s.as_str()))
        });
        if current.is_some() {
            txn.reseal_version(&r.version_id, r.envelope.clone(), &r.to_key_id);
        }
    }
}

impl Core {
    /// KMS's answer for using `key_id` for `purpose` on one version of `secret_arn`, with the
    /// encryption context and `kms:ViaService` Secrets Manager's own calls carry.
    fn secret_key_for(
        &self,
        ctx: &RequestContext,
        key_id: &str,
        purpose: KeyPurpose,
        secret_arn: &str,
        version_id: &str,
    ) -> Result<KmsKeyRecord, CoreError> {
        let context = EncryptionContext::secret_version(secret_arn, version_id);
        let via = via_secrets_manager(ctx.scope().region.as_str());
        let usage = KeyUse {
            action: purpose.action(),
            encryption_context: Some(&context),
            via_service: Some(&via),
        };
        self.kms_key_for_use(ctx, key_id, &usage)
            .map_err(|e| as_secrets_manager_error(e, purpose))
    }

    /// The key that seals version `version_id` of `record`: the AWS managed key when the
    /// secret names none (or names it), else the secret's customer key as KMS allows it for
    /// `kms:GenerateDataKey` through Secrets Manager.
    pub(crate) fn sealing_key(
        &self,
        ctx: &RequestContext,
        record: &SecretRecord,
        version_id: &str,
    ) -> Result<KmsKeyRecord, CoreError> {
        let scope = ctx.scope();
        match record.kms_key_id.as_deref() {
            Some(id) if !Keyring::names_default_key(&scope, Some(id)) => {
                self.secret_key_for(ctx, id.trim(), KeyPurpose::Seal, &record.arn, version_id)
            }
            _ => self.keyring.default_key(&self.store, &scope),
        }
    }

    /// Check that `kms_key_id` names a key of the caller's scope (`ResourceNotFoundException`
    /// otherwise), for a write that names a key without sealing anything under it yet.
    pub(crate) fn check_secret_key_exists(
        &self,
        ctx: &RequestContext,
        kms_key_id: Option<&str>,
    ) -> Result<(), CoreError> {
        self.keyring
            .resolve_key(&self.store, &ctx.scope(), kms_key_id)
            .map(|_| ())
    }

    /// Open version `version_id` of `secret_arn` from its envelope. Under the AWS managed key
    /// it opens from the keyring alone; under a customer key only once KMS allows the caller
    /// `kms:Decrypt` through Secrets Manager and the key is usable.
    pub(crate) fn open_secret_value(
        &self,
        ctx: &RequestContext,
        reader: Reader,
        secret_arn: &str,
        version_id: &str,
        envelope: &[u8],
    ) -> Result<(ValueKind, SecretBytes), CoreError> {
        let scope = ctx.scope();
        let key_id = Keyring::sealed_by(envelope)?;
        if self.keyring.is_default_key(&self.store, &scope, &key_id)? {
            return self
                .keyring
                .open_value(&self.store, &scope, secret_arn, version_id, envelope);
        }
        let key = match reader {
            Reader::Caller => {
                self.secret_key_for(ctx, &key_id, KeyPurpose::Open, secret_arn, version_id)?
            }
            Reader::Tresor => {
                let loaded = self
                    .kms_load_key(ctx, &key_id, Naming::KeyOnly)
                    .map_err(|e| as_secrets_manager_error(e, KeyPurpose::Open))?;
                if loaded.meta.state != KmsKeyState::Enabled {
                    return Err(crate::keyring::decryption_failure());
                }
                loaded.record
            }
        };
        self.keyring
            .open_value_under(&key, secret_arn, version_id, envelope)
    }

    /// Check that the caller could open `record`'s `AWSCURRENT` value as GetSecretValue
    /// would (KMS's `kms:Decrypt` through Secrets Manager on a customer key), without opening
    /// it: for a caller who points something at the secret that reads it later.
    pub(crate) fn authorize_current_value_key(
        &self,
        ctx: &RequestContext,
        record: &SecretRecord,
    ) -> Result<(), CoreError> {
        let Some(current) = record
            .version_with_stage(AWSCURRENT)
            .filter(|v| !crate::rotation::run::is_empty_version(v))
        else {
            return Ok(());
        };
        if self
            .keyring
            .is_default_key(&self.store, &ctx.scope(), &current.kms_key_id)?
        {
            return Ok(());
        }
        self.secret_key_for(
            ctx,
            &current.kms_key_id,
            KeyPurpose::Open,
            &record.arn,
            &current.version_id,
        )
        .map(|_| ())
    }

    /// The reseals moving `record`'s labelled versions (as loaded) to the key `new_key_id`
    /// names: each is opened as a read would open it and sealed as a write would seal it, so
    /// the caller needs `kms:Decrypt` on the old key and `kms:GenerateDataKey` on the new one.
    /// As AWS documents, a version the old key no longer opens for the caller (denied,
    /// disabled, gone) is not resealed and stays under its key; a new key that refuses the
    /// caller fails the update.
    pub(crate) fn reseal_for_new_key(
        &self,
        ctx: &RequestContext,
        record: &SecretRecord,
    ) -> Result<Vec<Reseal>, CoreError> {
        let mut reseals = Vec::new();
        let moving = record.versions.iter().filter(|v| {
            v.stages
                .iter()
                .any(|s| RESEALED_LABELS.contains(&s.as_str()))
                && !crate::rotation::run::is_empty_version(v)
        });
        for version in moving {
            let key = self.sealing_key(ctx, record, &version.version_id)?;
            if key.key_id == version.kms_key_id {
                continue;
            }
            let Some(envelope) = self.store.read_envelope(&record.arn, &version.version_id)? else {
                continue;
            };
            let (kind, value) = match self.open_secret_value(
                ctx,
                Reader::Caller,
                &record.arn,
                &version.version_id,
                &envelope,
            ) {
                Ok(opened) => opened,
                Err(e) if e.is_server_error() => return Err(e),
                Err(_) => continue,
            };
            let envelope =
                self.keyring
                    .seal_value(&key, &record.arn, &version.version_id, kind, &value)?;
            reseals.push(Reseal {
                version_id: version.version_id.clone(),
                from_key_id: version.kms_key_id.clone(),
                to_key_id: key.key_id.clone(),
                envelope,
            });
        }
        Ok(reseals)
    }
}

#[cfg(test)]
mod tests {
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
}
