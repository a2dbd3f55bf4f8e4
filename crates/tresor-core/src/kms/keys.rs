//! Key management and the one way to get a key for use ([`Core::kms_key_for_use`]).
//!
//! SKELETON: the helper building key management replaces this file's body; the signature of
//! `kms_key_for_use` and `KeyUse` are the contract the cryptographic operations and Secrets
//! Manager code against.

use tresor_crypto::EncryptionContext;
use tresor_store::KmsKeyRecord;

use crate::authz::Resource;
use crate::{Core, CoreError, RequestContext};

/// Why a key is wanted: the IAM action it needs and the request's KMS condition keys.
#[derive(Debug, Clone, Copy)]
pub struct KeyUse<'a> {
    /// `kms:Encrypt`, `kms:Decrypt`, `kms:GenerateDataKey`, `kms:ReEncryptFrom`, …
    pub action: &'static str,
    /// The request's encryption context (`kms:EncryptionContext:<key>` and
    /// `kms:EncryptionContextKeys`).
    pub encryption_context: Option<&'a EncryptionContext>,
    /// The service that calls KMS on the caller's behalf (`kms:ViaService`), e.g.
    /// `secretsmanager.<region>.amazonaws.com`; `None` for a direct KMS call.
    pub via_service: Option<&'a str>,
}

impl Core {
    /// The key `key_id` names (key id, key ARN, alias name or alias ARN) in the caller's
    /// account and region: resolved, in a state that allows `usage` (AWS's
    /// `DisabledException` / `KMSInvalidStateException` otherwise) and authorized for the
    /// caller by the key policy and IAM as KMS evaluates them, with `kms:ViaService`,
    /// `kms:EncryptionContext:*` and `kms:CallerAccount`. An unknown key is
    /// `NotFoundException`.
    pub fn kms_key_for_use(
        &self,
        ctx: &RequestContext,
        key_id: &str,
        usage: &KeyUse<'_>,
    ) -> Result<KmsKeyRecord, CoreError> {
        // SKELETON: resolves through the keyring and asks IAM only.
        let key = self
            .keyring()
            .resolve_key(&self.store, &ctx.scope(), Some(key_id))?;
        self.authorize(
            ctx,
            usage.action,
            Resource {
                arn: &key.arn,
                account: Some(&ctx.principal.account),
                policy: None,
                keys: Vec::new(),
                shown_as: None,
            },
        )?;
        Ok(key)
    }
}
