//! Ed25519 signatures for audit checkpoints.

use std::fmt;

use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use tresor_types::SecretBytes;

use crate::CryptoError;

/// An Ed25519 signing key, e.g. from `root.subkey(labels::AUDIT_CHECKPOINT_SIGNING)`, so it
/// needs no storage of its own. `Debug` prints only the public key.
pub struct Ed25519SigningKey(Ed25519KeyPair);

impl Ed25519SigningKey {
    /// The key pair whose private seed is `seed` (32 bytes).
    pub fn from_seed(seed: &SecretBytes) -> Result<Self, CryptoError> {
        Ed25519KeyPair::from_seed_unchecked(seed.expose())
            .map(Self)
            .map_err(|_| CryptoError::Internal("an Ed25519 seed must be 32 bytes"))
    }

    /// The 32-byte public key, to hand to auditors.
    pub fn public_key(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        // INVARIANT: an Ed25519 public key is exactly 32 bytes.
        out.copy_from_slice(self.0.public_key().as_ref());
        out
    }

    /// The 64-byte signature of `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        let mut out = [0u8; 64];
        // INVARIANT: an Ed25519 signature is exactly 64 bytes.
        out.copy_from_slice(self.0.sign(message).as_ref());
        out
    }
}

impl fmt::Debug for Ed25519SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Ed25519SigningKey(public: {})",
            hex::encode(self.public_key())
        )
    }
}

/// Verifies an Ed25519 signature; needs only the public key (so `tresor audit verify` runs
/// without the root key).
pub fn verify_ed25519(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    UnparsedPublicKey::new(&signature::ED25519, public_key)
        .verify(message, signature)
        .is_ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::{labels, RootKey};

    #[test]
    fn sign_and_verify() {
        let root = RootKey::generate().unwrap();
        let seed = root.subkey(labels::AUDIT_CHECKPOINT_SIGNING);
        let key = Ed25519SigningKey::from_seed(&seed).unwrap();
        let again = Ed25519SigningKey::from_seed(&seed).unwrap();
        assert_eq!(key.public_key(), again.public_key());
        let sig = key.sign(b"checkpoint 42");
        assert!(verify_ed25519(&key.public_key(), b"checkpoint 42", &sig));
        assert!(!verify_ed25519(&key.public_key(), b"checkpoint 43", &sig));
        let mut bad = sig;
        bad[0] ^= 1;
        assert!(!verify_ed25519(&key.public_key(), b"checkpoint 42", &bad));
        assert!(!verify_ed25519(&[0u8; 3], b"checkpoint 42", &sig));
        let dbg = format!("{key:?}");
        assert!(!dbg.contains(&hex::encode(seed.expose())));
        assert!(Ed25519SigningKey::from_seed(&SecretBytes::from_slice(&[1u8; 31])).is_err());
    }

    #[test]
    fn rfc8032_test_vector_1() {
        let seed = hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
            .unwrap();
        let key = Ed25519SigningKey::from_seed(&SecretBytes::new(seed)).unwrap();
        assert_eq!(
            hex::encode(key.public_key()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        assert_eq!(
            hex::encode(key.sign(b"")),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
             5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
    }
}
