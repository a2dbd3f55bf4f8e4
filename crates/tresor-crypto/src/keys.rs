//! The root key and KMS key material: 256-bit secrets that zeroize on drop and never print.

use std::fmt;

use tresor_types::SecretBytes;
use zeroize::Zeroizing;

use crate::aead::{gcm_open, gcm_seal, KEY_LEN, NONCE_LEN, TAG_LEN};
use crate::util::{fill_random, hkdf_sha256_32, Reader};
use crate::CryptoError;

/// HKDF labels for [`RootKey::subkey`]. One label per purpose; a new purpose gets a new label,
/// and a changed derivation gets a new `/vN`.
pub mod labels {
    /// Seals access-key secrets at rest ([`crate::seal_with`], AAD = access key id).
    pub const ACCESS_KEY_SEAL: &str = "tresor/access-key-seal/v1";
    /// Keyed digest of secret values (e.g. to detect an identical `PutSecretValue` retry).
    pub const VALUE_DIGEST: &str = "tresor/value-digest/v1";
    /// Per-record HMAC of the audit hash chain.
    pub const AUDIT_MAC: &str = "tresor/audit-mac/v1";
    /// Seed of the Ed25519 key that signs audit checkpoints ([`crate::Ed25519SigningKey`]).
    pub const AUDIT_CHECKPOINT_SIGNING: &str = "tresor/audit-checkpoint-signing/v1";
    /// Wraps KMS key material ([`crate::RootKey::wrap_key`]); used inside this crate.
    pub(crate) const KMS_KEY_WRAP: &str = "tresor/kms-key-wrap/v1";
}

/// Format version byte of [`RootKey::wrap_key`] output.
const WRAPPED_KEY_VERSION: u8 = 1;
/// `[version 1][nonce 12][ciphertext 32][tag 16]`.
const WRAPPED_KEY_LEN: usize = 1 + NONCE_LEN + KEY_LEN + TAG_LEN;

/// The 256-bit root key: every other key is derived from it or wrapped under it.
///
/// Never stored in plaintext (see [`crate::seal_root_key`]); zeroized on drop; `Debug` prints
/// `RootKey([REDACTED])`; no `Clone`, so each copy is deliberate (share it with an `Arc`).
pub struct RootKey(Zeroizing<[u8; KEY_LEN]>);

impl RootKey {
    /// A fresh random root key (new store, or dev mode's ephemeral key).
    pub fn generate() -> Result<Self, CryptoError> {
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        fill_random(k.as_mut_slice())?;
        Ok(Self(k))
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != KEY_LEN {
            return None;
        }
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        k.copy_from_slice(bytes);
        Some(Self(k))
    }

    pub(crate) fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// A 32-byte subkey: HKDF-SHA256 with the root key as input key material, no salt (the root
    /// key is already uniformly random), and `label` as info. Use the constants in [`labels`].
    pub fn subkey(&self, label: &str) -> SecretBytes {
        let k = hkdf_sha256_32(&[], self.0.as_slice(), label.as_bytes());
        SecretBytes::from_slice(k.as_slice())
    }

    /// Wraps KMS key material with AES-256-GCM under the root key's
    /// `tresor/kms-key-wrap/v1` subkey, bound to `aad` (e.g. key ARN and version).
    ///
    /// Layout: `[format version 1][nonce 12][ciphertext 32][tag 16]` (61 bytes).
    pub fn wrap_key(&self, material: &KeyMaterial, aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let kek = self.subkey(labels::KMS_KEY_WRAP);
        let sealed = gcm_seal(kek.expose(), aad, material.0.as_slice())?;
        let mut out = Vec::with_capacity(WRAPPED_KEY_LEN);
        out.push(WRAPPED_KEY_VERSION);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Reverses [`RootKey::wrap_key`]. A wrong root key, wrong `aad` or tampered bytes →
    /// [`CryptoError::DecryptionFailed`]; a wrong length or version →
    /// [`CryptoError::MalformedSealedKey`].
    pub fn unwrap_key(&self, wrapped: &[u8], aad: &[u8]) -> Result<KeyMaterial, CryptoError> {
        if wrapped.len() != WRAPPED_KEY_LEN {
            return Err(CryptoError::MalformedSealedKey);
        }
        let mut r = Reader::new(wrapped, || CryptoError::MalformedSealedKey);
        if r.u8()? != WRAPPED_KEY_VERSION {
            return Err(CryptoError::MalformedSealedKey);
        }
        let kek = self.subkey(labels::KMS_KEY_WRAP);
        let material = gcm_open(kek.expose(), aad, r.rest())?;
        KeyMaterial::from_bytes(material.expose()).ok_or(CryptoError::MalformedSealedKey)
    }
}

impl fmt::Debug for RootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RootKey([REDACTED])")
    }
}

/// One version of a KMS key's material: 256 bits, wrapped under the root key at rest
/// ([`RootKey::wrap_key`]), used to wrap envelope data keys ([`crate::seal_envelope`]).
/// Zeroized on drop; `Debug` prints `KeyMaterial([REDACTED])`.
#[derive(Clone)]
pub struct KeyMaterial(Zeroizing<[u8; KEY_LEN]>);

impl KeyMaterial {
    /// Fresh random material for a new key or a new key version (rotation).
    pub fn generate() -> Result<Self, CryptoError> {
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        fill_random(k.as_mut_slice())?;
        Ok(Self(k))
    }

    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != KEY_LEN {
            return None;
        }
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        k.copy_from_slice(bytes);
        Some(Self(k))
    }

    pub(crate) fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyMaterial([REDACTED])")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn subkeys_are_deterministic_and_distinct_per_label() {
        let root = RootKey::generate().unwrap();
        let a = root.subkey(labels::ACCESS_KEY_SEAL);
        assert_eq!(a.len(), 32);
        assert_eq!(a, root.subkey(labels::ACCESS_KEY_SEAL));
        assert_ne!(a, root.subkey(labels::VALUE_DIGEST));
        assert_ne!(
            a,
            RootKey::generate().unwrap().subkey(labels::ACCESS_KEY_SEAL)
        );
        assert_ne!(a.expose(), root.expose());
    }

    #[test]
    fn wrap_round_trip() {
        let root = RootKey::generate().unwrap();
        let material = KeyMaterial::generate().unwrap();
        let aad = b"arn:aws:kms:us-east-1:111122223333:key/abc#1";
        let wrapped = root.wrap_key(&material, aad).unwrap();
        assert_eq!(wrapped.len(), WRAPPED_KEY_LEN);
        let back = root.unwrap_key(&wrapped, aad).unwrap();
        assert_eq!(back.expose(), material.expose());
        assert!(!wrapped
            .windows(KEY_LEN)
            .any(|w| w == material.expose().as_slice()));
        assert_ne!(wrapped, root.wrap_key(&material, aad).unwrap());
    }

    #[test]
    fn unwrap_with_wrong_aad_or_root_fails() {
        let root = RootKey::generate().unwrap();
        let material = KeyMaterial::generate().unwrap();
        let wrapped = root.wrap_key(&material, b"key#1").unwrap();
        assert!(matches!(
            root.unwrap_key(&wrapped, b"key#2"),
            Err(CryptoError::DecryptionFailed)
        ));
        assert!(matches!(
            RootKey::generate().unwrap().unwrap_key(&wrapped, b"key#1"),
            Err(CryptoError::DecryptionFailed)
        ));
    }

    #[test]
    fn every_byte_flip_and_truncation_of_a_wrapped_key_fails() {
        let root = RootKey::generate().unwrap();
        let wrapped = root
            .wrap_key(&KeyMaterial::generate().unwrap(), b"k")
            .unwrap();
        for i in 0..wrapped.len() {
            for bit in 0..8 {
                let mut bad = wrapped.clone();
                bad[i] ^= 1 << bit;
                assert!(root.unwrap_key(&bad, b"k").is_err(), "flip {i}/{bit}");
            }
            assert!(matches!(
                root.unwrap_key(&wrapped[..i], b"k"),
                Err(CryptoError::MalformedSealedKey)
            ));
        }
    }

    #[test]
    fn debug_prints_no_key_bytes() {
        let root = RootKey::generate().unwrap();
        let material = KeyMaterial::generate().unwrap();
        assert_eq!(format!("{root:?}"), "RootKey([REDACTED])");
        assert_eq!(format!("{material:?}"), "KeyMaterial([REDACTED])");
        assert_eq!(
            format!("{:#?}", Some(&material)),
            "Some(\n    KeyMaterial([REDACTED]),\n)"
        );
    }
}
