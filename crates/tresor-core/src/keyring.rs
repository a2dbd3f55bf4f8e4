//! The keyring: the unsealed root key, the KMS keys it wraps, and the subkeys derived from it.
//! Plaintext exists only between `seal_value`/`open_value` and the caller; KMS key material is
//! unwrapped on first use and cached for the life of the process.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use tresor_crypto::{EncryptionContext, KeyMaterial, RootKey};
use tresor_store::{AccessKeyRecord, KmsKeyRecord, Scope, Store};
use tresor_types::{SecretBytes, Timestamp};

use crate::{CoreError, StoreBackend};

/// The alias that stands in for AWS's managed `aws/secretsmanager` key.
pub const DEFAULT_SECRETS_KEY_ALIAS: &str = "alias/aws/secretsmanager";

const LABEL_ACCESS_KEY_SEAL: &str = "tresor/access-key-seal/v1";
const LABEL_VALUE_DIGEST: &str = "tresor/value-digest/v1";
const LABEL_SESSION_TOKEN: &str = "tresor/session-token/v1";
/// MACs gateway key tokens: the store keeps the MAC, never the token.
const LABEL_GATEWAY_KEY: &str = "tresor/gateway-key-mac/v1";
/// Derives each rotation's `RotationToken` from the secret and the rotation's version id.
const LABEL_ROTATION_TOKEN: &str = "tresor/rotation-token/v1";
/// Seals what a rotator needs kept secret (a webhook's signing key).
const LABEL_ROTATOR_SEAL: &str = "tresor/rotator-seal/v1";

/// What a stored secret value is: the first byte of every sealed plaintext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    String = 1,
    Binary = 2,
}

pub struct Keyring {
    root: RootKey,
    access_key_seal: SecretBytes,
    value_digest: SecretBytes,
    session_token: SecretBytes,
    gateway_key: SecretBytes,
    rotation_token: SecretBytes,
    rotator_seal: SecretBytes,
    materials: RwLock<HashMap<MaterialId, Arc<KeyMaterial>>>,
    /// The key id of each scope's AWS managed secrets key, once seen: it never changes, so a
    /// read under it needs no store read to know it needs no KMS check.
    default_keys: RwLock<HashMap<Scope, String>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keyring([REDACTED])")
    }
}

fn wrap_aad(key: &KmsKeyRecord, version: u32) -> Vec<u8> {
    format!("{}#{version}", key.arn).into_bytes()
}

impl Keyring {
    pub fn new(root: RootKey) -> Self {
        let access_key_seal = root.subkey(LABEL_ACCESS_KEY_SEAL);
        let value_digest = root.subkey(LABEL_VALUE_DIGEST);
        let session_token = root.subkey(LABEL_SESSION_TOKEN);
        let gateway_key = root.subkey(LABEL_GATEWAY_KEY);
        let rotation_token = root.subkey(LABEL_ROTATION_TOKEN);
        let rotator_seal = root.subkey(LABEL_ROTATOR_SEAL);
        Self {
            root,
            access_key_seal,
            value_digest,
            session_token,
            gateway_key,
            rotation_token,
            rotator_seal,
            materials: RwLock::new(HashMap::new()),
            default_keys: RwLock::new(HashMap::new()),
        }
    }

    /// Whether a secret's `KmsKeyId` (or its absence) names the scope's AWS managed key
    /// `alias/aws/secretsmanager`, by alias name or alias ARN, without a store read.
    pub fn names_default_key(scope: &Scope, kms_key_id: Option<&str>) -> bool {
        let Some(id) = kms_key_id.map(str::trim).filter(|s| !s.is_empty()) else {
            return true;
        };
        let bare = id
            .strip_prefix(&format!("arn:aws:kms:{}:{}:", scope.region, scope.account))
            .unwrap_or(id);
        bare == DEFAULT_SECRETS_KEY_ALIAS
    }

    /// Whether `key_id` is the scope's AWS managed secrets key. Answered from memory once the
    /// scope's default key has been seen; before that by one lookup of its alias.
    pub fn is_default_key(
        &self,
        store: &StoreBackend,
        scope: &Scope,
        key_id: &str,
    ) -> Result<bool, CoreError> {
        // Looked up by the scope itself: no allocation on the read path.
        let known = self
            .default_keys
            .read()
            .ok()
            .and_then(|m| m.get(scope).map(|default| default == key_id));
        if let Some(is_default) = known {
            return Ok(is_default);
        }
        match store.get_kms_key_by_alias(scope, DEFAULT_SECRETS_KEY_ALIAS)? {
            Some(key) => {
                self.remember_default(&key);
                Ok(key.key_id == key_id)
            }
            None => Ok(false),
        }
    }

    fn remember_default(&self, key: &KmsKeyRecord) {
        if let Ok(mut known) = self.default_keys.write() {
            known.insert(key.scope.clone(), key.key_id.clone());
        }
    }

    /// The id of the KMS key an envelope was sealed under, from its header. A malformed
    /// envelope is a `DecryptionFailure`.
    pub fn sealed_by(envelope: &[u8]) -> Result<String, CoreError> {
        tresor_crypto::envelope_header(envelope)
            .map(|h| h.key_id)
            .map_err(|_| decryption_failure())
    }

    /// The default secrets key of a scope, created on first use.
    pub fn default_key(
        &self,
        store: &StoreBackend,
        scope: &Scope,
    ) -> Result<KmsKeyRecord, CoreError> {
        if let Some(k) = store.get_kms_key_by_alias(scope, DEFAULT_SECRETS_KEY_ALIAS)? {
            self.remember_default(&k);
            return Ok(k);
        }
        let key_id = uuid::Uuid::new_v4().to_string();
        let arn = format!(
            "arn:aws:kms:{}:{}:key/{key_id}",
            scope.region, scope.account
        );
        let mut record = KmsKeyRecord {
            scope: scope.clone(),
            key_id,
            arn,
            alias: Some(DEFAULT_SECRETS_KEY_ALIAS.to_owned()),
            description:
                "Default key that protects my Secrets Manager data when no other key is defined"
                    .to_owned(),
            created: Timestamp::now(),
            versions: Vec::new(),
        };
        let material = KeyMaterial::generate()?;
        let wrapped = self.root.wrap_key(&material, &wrap_aad(&record, 1))?;
        record.versions.push((1, wrapped));
        match store.put_kms_key(&record) {
            Ok(()) => {
                self.remember_default(&record);
                Ok(record)
            }
            // Another request created it first: use theirs.
            Err(tresor_store::StoreError::Conflict) => store
                .get_kms_key_by_alias(scope, DEFAULT_SECRETS_KEY_ALIAS)?
                .ok_or_else(|| CoreError::Internal("default key vanished".to_owned())),
            Err(e) => Err(e.into()),
        }
    }

    /// The key a secret uses: its `KmsKeyId` (id, ARN or alias) or the scope's default key.
    pub fn resolve_key(
        &self,
        store: &StoreBackend,
        scope: &Scope,
        kms_key_id: Option<&str>,
    ) -> Result<KmsKeyRecord, CoreError> {
        let id = match kms_key_id {
            Some(id) if !Self::names_default_key(scope, Some(id)) => id,
            _ => return self.default_key(store, scope),
        };
        let bare = id
            .strip_prefix(&format!("arn:aws:kms:{}:{}:", scope.region, scope.account))
            .unwrap_or(id);
        let found = if bare.starts_with("alias/") {
            store.get_kms_key_by_alias(scope, bare)?
        } else {
            store.get_kms_key(scope, bare.strip_prefix("key/").unwrap_or(bare))?
        };
        found.ok_or_else(|| {
            CoreError::ResourceNotFound(format!(
                "The KMS key {id} can't be found in this account and Region."
            ))
        })
    }

    /// Fresh 256-bit material for version `version` of `key`, wrapped by the root key (what
    /// `CreateKey` and a rotation store; the plaintext never leaves this function).
    pub fn wrap_new_material(
        &self,
        key: &KmsKeyRecord,
        version: u32,
    ) -> Result<Vec<u8>, CoreError> {
        let material = KeyMaterial::generate()?;
        Ok(self.root.wrap_key(&material, &wrap_aad(key, version))?)
    }

    /// Forget every unwrapped version of a key (it was destroyed): nothing opens under it
    /// again in this process. Other nodes' caches forget it when they restart.
    pub fn forget_key(&self, scope: &Scope, key_id: &str) {
        if let Ok(mut cache) = self.materials.write() {
            cache.retain(|id, _| {
                !(id.key_id == key_id
                    && id.account == scope.account.as_str()
                    && id.region == scope.region.as_str())
            });
        }
    }

    fn material(&self, key: &KmsKeyRecord, version: u32) -> Result<Arc<KeyMaterial>, CoreError> {
        let cache_key = MaterialId::of(&key.scope, &key.key_id, version);
        if let Some(m) = self.cached_material(&cache_key) {
            return Ok(m);
        }
        let wrapped = key
            .versions
            .iter()
            .find(|(v, _)| *v == version)
            .map(|(_, w)| w)
            .ok_or_else(|| {
                CoreError::DecryptionFailure(
                    "The key version that protects this secret is missing.".to_owned(),
                )
            })?;
        let material = Arc::new(self.root.unwrap_key(wrapped, &wrap_aad(key, version))?);
        if let Ok(mut cache) = self.materials.write() {
            cache.insert(cache_key, material.clone());
        }
        Ok(material)
    }

    fn cached_material(&self, id: &MaterialId) -> Option<Arc<KeyMaterial>> {
        self.materials.read().ok()?.get(id).cloned()
    }

    /// Seal one secret version's value under the key's latest version, bound to
    /// `{SecretARN, SecretVersionId}`.
    pub fn seal_value(
        &self,
        key: &KmsKeyRecord,
        secret_arn: &str,
        version_id: &str,
        kind: ValueKind,
        value: &SecretBytes,
    ) -> Result<Vec<u8>, CoreError> {
        let (version, _) = key.versions.last().ok_or_else(|| {
            CoreError::EncryptionFailure("The KMS key has no key material.".to_owned())
        })?;
        let material = self.material(key, *version)?;
        let mut plain = zeroize::Zeroizing::new(Vec::with_capacity(value.len() + 1));
        plain.push(kind as u8);
        plain.extend_from_slice(value.expose());
        let ctx = EncryptionContext::secret_version(secret_arn, version_id);
        Ok(tresor_crypto::seal_envelope(
            &material,
            &key.key_id,
            *version,
            &ctx,
            &plain,
        )?)
    }

    /// Open one secret version's value sealed under the scope's AWS managed key (the caller
    /// checked [`Keyring::is_default_key`]; a customer key is opened with
    /// [`Keyring::open_value_under`] once KMS allowed it). Any mismatch (another secret's or
    /// version's ciphertext, a tampered byte, a missing key) is a `DecryptionFailure`.
    pub fn open_value(
        &self,
        store: &StoreBackend,
        scope: &Scope,
        secret_arn: &str,
        version_id: &str,
        envelope: &[u8],
    ) -> Result<(ValueKind, SecretBytes), CoreError> {
        let failure = decryption_failure;
        let header = tresor_crypto::envelope_header(envelope).map_err(|_| failure())?;
        // A key version's material never changes, so material unwrapped once for this scope
        // answers without reading the key again. A customer key's state (disabled, pending
        // deletion) is checked by the caller on every use, before its material is; the AWS
        // managed key can be neither disabled nor deleted. A destroyed key is forgotten on the
        // node that destroys it ([`Self::forget_key`]); other nodes keep theirs until they
        // restart, but refuse to use it, since its record is gone.
        let cached =
            self.cached_material(&MaterialId::of(scope, &header.key_id, header.key_version));
        let material = match cached {
            Some(material) => material,
            None => {
                let key = store
                    .get_kms_key(scope, &header.key_id)?
                    .ok_or_else(failure)?;
                self.material(&key, header.key_version)?
            }
        };
        open_with(&material, secret_arn, version_id, envelope)
    }

    /// Open one secret version's value sealed under `key`, a key KMS has just allowed for
    /// this use. An envelope sealed under another key is a `DecryptionFailure`.
    pub fn open_value_under(
        &self,
        key: &KmsKeyRecord,
        secret_arn: &str,
        version_id: &str,
        envelope: &[u8],
    ) -> Result<(ValueKind, SecretBytes), CoreError> {
        let header = tresor_crypto::envelope_header(envelope).map_err(|_| decryption_failure())?;
        if header.key_id != key.key_id {
            return Err(decryption_failure());
        }
        let material = self.material(key, header.key_version)?;
        open_with(&material, secret_arn, version_id, envelope)
    }

    /// Seal a KMS `CiphertextBlob` (Encrypt, GenerateDataKey, ReEncrypt) under the key's
    /// latest version, bound to the request's encryption context.
    pub fn seal_kms_blob(
        &self,
        key: &KmsKeyRecord,
        context: &EncryptionContext,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CoreError> {
        let (version, _) = key.versions.last().ok_or_else(|| {
            CoreError::Internal(format!("KMS key {} has no key material", key.key_id))
        })?;
        let material = self.material(key, *version)?;
        Ok(tresor_crypto::seal_ciphertext_blob(
            &material,
            &key.key_id,
            *version,
            context,
            plaintext,
        )?)
    }

    /// Open a KMS `CiphertextBlob` of `key` under the key version its header names (old
    /// versions stay after rotation). `None` when the blob does not open: a version the key
    /// does not have, another context, another key's blob or a changed byte, which KMS answers
    /// alike (`InvalidCiphertextException`).
    pub fn open_kms_blob(
        &self,
        key: &KmsKeyRecord,
        header: &tresor_crypto::CiphertextBlobHeader,
        context: &EncryptionContext,
        blob: &[u8],
    ) -> Result<Option<SecretBytes>, CoreError> {
        if header.key_id != key.key_id
            || !key.versions.iter().any(|(v, _)| *v == header.key_version)
        {
            return Ok(None);
        }
        let material = self.material(key, header.key_version)?;
        Ok(tresor_crypto::open_ciphertext_blob(&material, context, blob).ok())
    }

    /// A keyed digest of a value, bound to its secret: lets a repeated `ClientRequestToken` be
    /// checked for "same value" without decrypting, and reveals nothing about the value.
    pub fn value_digest(&self, secret_arn: &str, kind: ValueKind, value: &SecretBytes) -> Vec<u8> {
        let mut data =
            zeroize::Zeroizing::new(Vec::with_capacity(secret_arn.len() + value.len() + 2));
        data.extend_from_slice(secret_arn.as_bytes());
        data.push(0);
        data.push(kind as u8);
        data.extend_from_slice(value.expose());
        tresor_crypto::hmac_sha256(self.value_digest.expose(), &data).to_vec()
    }

    /// The key that MACs every audit record.
    pub fn audit_mac_key(&self) -> SecretBytes {
        tresor_audit::mac_key(&self.root)
    }

    /// The key that signs audit checkpoints and export digests.
    pub fn audit_signing_key(&self) -> Result<tresor_crypto::Ed25519SigningKey, CoreError> {
        Ok(tresor_audit::signing_key(&self.root)?)
    }

    /// The public half of the audit signing key, for auditors.
    pub fn audit_public_key(&self) -> Result<tresor_audit::PublicKey, CoreError> {
        Ok(tresor_audit::public_key(&self.root)?)
    }

    /// Keyed digest of a session token: the store keeps this, never the token.
    pub fn session_token_digest(&self, token: &str) -> Vec<u8> {
        tresor_crypto::hmac_sha256(self.session_token.expose(), token.as_bytes()).to_vec()
    }

    /// Keyed digest of a gateway key token: the store keeps this, never the token.
    pub fn gateway_key_mac(&self, token: &[u8]) -> Vec<u8> {
        tresor_crypto::hmac_sha256(self.gateway_key.expose(), token).to_vec()
    }

    /// The `RotationToken` of the rotation of `secret_arn` creating `version_id`: a MAC, so
    /// it is never stored and a caller cannot forge one.
    pub fn rotation_token(&self, secret_arn: &str, version_id: &str) -> Vec<u8> {
        let mut message = Vec::with_capacity(secret_arn.len() + version_id.len() + 1);
        message.extend_from_slice(secret_arn.as_bytes());
        message.push(0);
        message.extend_from_slice(version_id.as_bytes());
        tresor_crypto::hmac_sha256(self.rotation_token.expose(), &message).to_vec()
    }

    /// Seal a rotator's secret, bound to its ARN.
    pub fn seal_rotator_secret(
        &self,
        rotator_arn: &str,
        secret: &SecretBytes,
    ) -> Result<Vec<u8>, CoreError> {
        Ok(tresor_crypto::seal_with(
            &self.rotator_seal,
            rotator_arn.as_bytes(),
            secret.expose(),
        )?)
    }

    pub fn open_rotator_secret(
        &self,
        rotator_arn: &str,
        sealed: &[u8],
    ) -> Result<SecretBytes, CoreError> {
        Ok(tresor_crypto::open_with(
            &self.rotator_seal,
            rotator_arn.as_bytes(),
            sealed,
        )?)
    }

    pub fn seal_access_secret(
        &self,
        access_key_id: &str,
        secret: &SecretBytes,
    ) -> Result<Vec<u8>, CoreError> {
        Ok(tresor_crypto::seal_with(
            &self.access_key_seal,
            access_key_id.as_bytes(),
            secret.expose(),
        )?)
    }

    pub fn open_access_secret(&self, key: &AccessKeyRecord) -> Result<SecretBytes, CoreError> {
        Ok(tresor_crypto::open_with(
            &self.access_key_seal,
            key.access_key_id.as_bytes(),
            &key.sealed_secret,
        )?)
    }
}

/// Secrets Manager's answer for a value it cannot open (AWS's words).
pub(crate) fn decryption_failure() -> CoreError {
    CoreError::DecryptionFailure(
        "Secrets Manager can't decrypt the protected secret text using the provided KMS key."
            .to_owned(),
    )
}

/// Open a secret version's envelope with unwrapped key material, bound to
/// `{SecretARN, SecretVersionId}`.
fn open_with(
    material: &KeyMaterial,
    secret_arn: &str,
    version_id: &str,
    envelope: &[u8],
) -> Result<(ValueKind, SecretBytes), CoreError> {
    let ctx = EncryptionContext::secret_version(secret_arn, version_id);
    let plain =
        tresor_crypto::open_envelope(material, &ctx, envelope).map_err(|_| decryption_failure())?;
    let (kind, value) = match plain.expose().split_first() {
        Some((1, rest)) => (ValueKind::String, rest),
        Some((2, rest)) => (ValueKind::Binary, rest),
        _ => return Err(decryption_failure()),
    };
    Ok((kind, SecretBytes::from_slice(value)))
}

/// Unwrapped key material is cached per (scope, key id, key version): the scope is part of the
/// id so a key of another account or region is never found through the cache.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct MaterialId {
    account: String,
    region: String,
    key_id: String,
    version: u32,
}

impl MaterialId {
    fn of(scope: &Scope, key_id: &str, version: u32) -> Self {
        Self {
            account: scope.account.as_str().to_owned(),
            region: scope.region.as_str().to_owned(),
            key_id: key_id.to_owned(),
            version,
        }
    }
}

#[cfg(test)]
#[path = "keyring_kms_blob_tests.rs"]
mod kms_blob_tests;
