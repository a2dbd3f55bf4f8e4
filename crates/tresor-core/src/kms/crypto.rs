//! The cryptographic operations: Encrypt, Decrypt, ReEncrypt, GenerateDataKey,
//! GenerateDataKeyWithoutPlaintext and GenerateRandom.
//!
//! Data path: the server hands over a request checked against the model
//! ([`super::crypto_model`]). Each operation gets its key through [`Core::kms_key_for_use`]
//! (resolved, usable, authorized for the operation's action with the request's encryption
//! context as condition keys), then the keyring seals or opens a `CiphertextBlob`
//! ([`tresor_crypto::seal_ciphertext_blob`]) under the key's material. Decrypt and ReEncrypt
//! find the key and key version in the blob itself, so blobs sealed before a rotation still
//! open. Plaintext lives in [`SecretBytes`] until the response serializes it; it never reaches
//! an error, a log line or the audit record (whose `Plaintext`/`Ciphertext*` members are
//! redacted, and whose read operations keep no response elements).

use tresor_crypto::{CiphertextBlobHeader, EncryptionContext};
use tresor_store::KmsKeyRecord;
use tresor_types::SecretBytes;

use super::crypto_model::*;
use super::keys::KeyUse;
use crate::authz::Resource;
use crate::validate::Validated;
use crate::{Core, CoreError, KmsError, RequestContext};

fn invalid_ciphertext() -> CoreError {
    CoreError::Kms(
        KmsError::InvalidCiphertext,
        "The ciphertext is invalid, was not produced by this KMS, or its encryption context \
         does not match."
            .to_owned(),
    )
}

fn incorrect_key() -> CoreError {
    CoreError::Kms(
        KmsError::IncorrectKey,
        "The key ID in the request does not identify a KMS key that can perform this operation."
            .to_owned(),
    )
}

/// A member the model check made sure is present.
fn checked<T>(member: Option<T>, name: &str) -> Result<T, CoreError> {
    member.ok_or_else(|| CoreError::Internal(format!("validated request lacks {name}")))
}

/// Symmetric keys have one algorithm; any other names an asymmetric one.
fn symmetric_only(algorithm: Option<&str>, key: &KmsKeyRecord) -> Result<(), CoreError> {
    match algorithm {
        None | Some(SYMMETRIC_DEFAULT) => Ok(()),
        Some(other) => Err(CoreError::Kms(
            KmsError::InvalidKeyUsage,
            format!(
                "The encryption algorithm {other} is not compatible with the symmetric KMS key {}; \
                 use SYMMETRIC_DEFAULT.",
                key.arn
            ),
        )),
    }
}

/// Tresor issues no grants, so no grant token is valid.
fn no_grant_tokens(tokens: Option<&Vec<String>>) -> Result<(), CoreError> {
    match tokens {
        Some(t) if !t.is_empty() => Err(CoreError::Kms(
            KmsError::InvalidGrantToken,
            "The grant token is not valid: this KMS issues no grants.".to_owned(),
        )),
        _ => Ok(()),
    }
}

/// Attested (Nitro enclave) recipients need an attestation Tresor cannot verify.
fn no_recipient(recipient: Option<&serde_json::Value>) -> Result<(), CoreError> {
    match recipient {
        Some(_) => Err(CoreError::Kms(
            KmsError::UnsupportedOperation,
            "Recipient (an attested enclave's public key) is not supported by this KMS.".to_owned(),
        )),
        None => Ok(()),
    }
}

/// After the request was authorized: a dry run stops here, as AWS does.
fn unless_dry_run(dry_run: Option<bool>) -> Result<(), CoreError> {
    if dry_run == Some(true) {
        return Err(CoreError::Kms(
            KmsError::DryRunOperation,
            "The request would have succeeded, but the DryRun option is set.".to_owned(),
        ));
    }
    Ok(())
}

fn read_header(blob: &CiphertextBlob) -> Result<CiphertextBlobHeader, CoreError> {
    let header =
        tresor_crypto::ciphertext_blob_header(&blob.0).map_err(|_| invalid_ciphertext())?;
    // A blob names a key by its bare id; anything else (an alias, an ARN) is not ours.
    if header.key_id.contains(['/', ':']) {
        return Err(invalid_ciphertext());
    }
    Ok(header)
}

fn is_not_found(e: &CoreError) -> bool {
    matches!(e, CoreError::Kms(KmsError::NotFound, _))
}

impl Core {
    pub fn kms_encrypt(
        &self,
        ctx: &RequestContext,
        req: Validated<EncryptRequest>,
    ) -> Result<EncryptResponse, CoreError> {
        let req = req.into_inner();
        no_grant_tokens(req.grant_tokens.as_ref())?;
        let context = req.encryption_context.unwrap_or_default();
        let key = self.kms_key_for_crypto(
            ctx,
            &checked(req.key_id, "KeyId")?,
            &KeyUse::direct("kms:Encrypt", &context),
        )?;
        symmetric_only(req.encryption_algorithm.as_deref(), &key)?;
        unless_dry_run(req.dry_run)?;
        let plaintext = checked(req.plaintext, "Plaintext")?;
        let blob = self
            .keyring()
            .seal_kms_blob(&key, &context, plaintext.0.expose())?;
        Ok(EncryptResponse {
            ciphertext_blob: CiphertextBlob(blob),
            key_id: key.arn,
            encryption_algorithm: SYMMETRIC_DEFAULT,
        })
    }

    pub fn kms_decrypt(
        &self,
        ctx: &RequestContext,
        req: Validated<DecryptRequest>,
    ) -> Result<DecryptResponse, CoreError> {
        let req = req.into_inner();
        no_recipient(req.recipient.as_ref())?;
        no_grant_tokens(req.grant_tokens.as_ref())?;
        let blob = checked(req.ciphertext_blob, "CiphertextBlob")?;
        let header = read_header(&blob)?;
        let context = req.encryption_context.unwrap_or_default();
        let usage = KeyUse::direct("kms:Decrypt", &context);
        let key = self.key_of_blob(ctx, &header, req.key_id.as_deref(), &usage)?;
        symmetric_only(req.encryption_algorithm.as_deref(), &key)?;
        unless_dry_run(req.dry_run)?;
        let plaintext = self.open_blob(&key, &header, &context, &blob)?;
        Ok(DecryptResponse {
            key_id: key.arn,
            plaintext: RevealedBlob(plaintext),
            encryption_algorithm: SYMMETRIC_DEFAULT,
        })
    }

    pub fn kms_re_encrypt(
        &self,
        ctx: &RequestContext,
        req: Validated<ReEncryptRequest>,
    ) -> Result<ReEncryptResponse, CoreError> {
        let req = req.into_inner();
        no_grant_tokens(req.grant_tokens.as_ref())?;
        let blob = checked(req.ciphertext_blob, "CiphertextBlob")?;
        let header = read_header(&blob)?;
        let source_context = req.source_encryption_context.unwrap_or_default();
        let source = self.key_of_blob(
            ctx,
            &header,
            req.source_key_id.as_deref(),
            &KeyUse::direct("kms:ReEncryptFrom", &source_context),
        )?;
        symmetric_only(req.source_encryption_algorithm.as_deref(), &source)?;
        let destination_context = req.destination_encryption_context.unwrap_or_default();
        let destination = self.kms_key_for_crypto(
            ctx,
            &checked(req.destination_key_id, "DestinationKeyId")?,
            &KeyUse::direct("kms:ReEncryptTo", &destination_context),
        )?;
        symmetric_only(
            req.destination_encryption_algorithm.as_deref(),
            &destination,
        )?;
        unless_dry_run(req.dry_run)?;
        let plaintext = self.open_blob(&source, &header, &source_context, &blob)?;
        let sealed =
            self.keyring()
                .seal_kms_blob(&destination, &destination_context, plaintext.expose())?;
        Ok(ReEncryptResponse {
            ciphertext_blob: CiphertextBlob(sealed),
            source_key_id: source.arn,
            key_id: destination.arn,
            source_encryption_algorithm: SYMMETRIC_DEFAULT,
            destination_encryption_algorithm: SYMMETRIC_DEFAULT,
        })
    }

    pub fn kms_generate_data_key(
        &self,
        ctx: &RequestContext,
        req: Validated<GenerateDataKeyRequest>,
    ) -> Result<GenerateDataKeyResponse, CoreError> {
        let (key, data_key, blob) = self.new_data_key(ctx, req, "kms:GenerateDataKey")?;
        Ok(GenerateDataKeyResponse {
            ciphertext_blob: CiphertextBlob(blob),
            plaintext: RevealedBlob(data_key),
            key_id: key.arn,
        })
    }

    pub fn kms_generate_data_key_without_plaintext(
        &self,
        ctx: &RequestContext,
        req: Validated<GenerateDataKeyRequest>,
    ) -> Result<GenerateDataKeyWithoutPlaintextResponse, CoreError> {
        let (key, _, blob) = self.new_data_key(ctx, req, "kms:GenerateDataKeyWithoutPlaintext")?;
        Ok(GenerateDataKeyWithoutPlaintextResponse {
            ciphertext_blob: CiphertextBlob(blob),
            key_id: key.arn,
        })
    }

    pub fn kms_generate_random(
        &self,
        ctx: &RequestContext,
        req: Validated<GenerateRandomRequest>,
    ) -> Result<GenerateRandomResponse, CoreError> {
        let req = req.into_inner();
        no_recipient(req.recipient.as_ref())?;
        let len = req.number_of_bytes.and_then(|n| usize::try_from(n).ok());
        let Some(len) = len else {
            return Err(CoreError::Validation(
                "Please specify either number of bytes or key spec.".to_owned(),
            ));
        };
        if req.custom_key_store_id.is_some() {
            return Err(CoreError::Kms(
                KmsError::CustomKeyStoreNotFound,
                "This KMS has no custom key stores.".to_owned(),
            ));
        }
        self.authorize(ctx, "kms:GenerateRandom", Resource::any())?;
        let bytes = SecretBytes::new(tresor_crypto::random_bytes(len)?);
        Ok(GenerateRandomResponse {
            plaintext: RevealedBlob(bytes),
        })
    }

    /// GenerateDataKey(WithoutPlaintext): a fresh data key, and its blob under the key.
    fn new_data_key(
        &self,
        ctx: &RequestContext,
        req: Validated<GenerateDataKeyRequest>,
        action: &'static str,
    ) -> Result<(KmsKeyRecord, SecretBytes, Vec<u8>), CoreError> {
        let len = req.data_key_len()?;
        let req = req.into_inner();
        no_recipient(req.recipient.as_ref())?;
        no_grant_tokens(req.grant_tokens.as_ref())?;
        let context = req.encryption_context.unwrap_or_default();
        let key = self.kms_key_for_crypto(
            ctx,
            &checked(req.key_id, "KeyId")?,
            &KeyUse::direct(action, &context),
        )?;
        unless_dry_run(req.dry_run)?;
        let data_key = SecretBytes::new(tresor_crypto::random_bytes(len)?);
        let blob = self
            .keyring()
            .seal_kms_blob(&key, &context, data_key.expose())?;
        Ok((key, data_key, blob))
    }

    /// The key a blob names, for `usage`. A caller that names a key (`KeyId`,
    /// `SourceKeyId`) gets `IncorrectKeyException` when the blob is another key's; a blob
    /// whose key does not exist here is not a blob this KMS made.
    fn key_of_blob(
        &self,
        ctx: &RequestContext,
        header: &CiphertextBlobHeader,
        named: Option<&str>,
        usage: &KeyUse<'_>,
    ) -> Result<KmsKeyRecord, CoreError> {
        if let Some(named) = named {
            let key = self.kms_key_for_crypto(ctx, named, usage)?;
            if key.key_id != header.key_id {
                return Err(incorrect_key());
            }
            return Ok(key);
        }
        self.kms_key_for_crypto(ctx, &header.key_id, usage)
            .map_err(|e| {
                if is_not_found(&e) {
                    invalid_ciphertext()
                } else {
                    e
                }
            })
    }

    /// [`Core::kms_key_for_use`], answering an unknown key in KMS's words
    /// (`NotFoundException`) whatever the lookup underneath calls it.
    fn kms_key_for_crypto(
        &self,
        ctx: &RequestContext,
        key_id: &str,
        usage: &KeyUse<'_>,
    ) -> Result<KmsKeyRecord, CoreError> {
        self.kms_key_for_use(ctx, key_id, usage)
            .map_err(|e| match e {
                CoreError::ResourceNotFound(message) => CoreError::Kms(KmsError::NotFound, message),
                other => other,
            })
    }

    fn open_blob(
        &self,
        key: &KmsKeyRecord,
        header: &CiphertextBlobHeader,
        context: &EncryptionContext,
        blob: &CiphertextBlob,
    ) -> Result<SecretBytes, CoreError> {
        self.keyring()
            .open_kms_blob(key, header, context, &blob.0)?
            .ok_or_else(invalid_ciphertext)
    }
}
