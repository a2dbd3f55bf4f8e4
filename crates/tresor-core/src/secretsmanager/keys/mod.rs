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

/// AWS's `EncryptionFailure` for a key that cannot seal (disabled, pending deletion, unusable).
pub(crate) fn encryption_failure() -> CoreError {
    CoreError::EncryptionFailure(
        "Secrets Manager can't encrypt the protected secret text using the provided KMS key. \
         Check that the KMS key is available, enabled, and not in an invalid state."
            .to_owned(),
    )
}

/// What a Secrets Manager client is told when KMS refuses a key: a denial is AWS's
/// `AccessDeniedException` "Access to KMS is not allowed"; a key that is disabled, pending
/// deletion or otherwise unusable fails the encryption or decryption (`EncryptionFailure`,
/// `DecryptionFailure`, AWS's texts); a key that does not exist (any more) is
/// `ResourceNotFoundException` for a write naming it and `DecryptionFailure` for a read of a
/// value sealed under it. Failures on Tresor's side pass unchanged.
pub(crate) fn as_secrets_manager_error(e: CoreError, purpose: KeyPurpose) -> CoreError {
    let unusable = || match purpose {
        KeyPurpose::Seal => encryption_failure(),
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
mod tests;
