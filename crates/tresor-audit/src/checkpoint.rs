//! Signed checkpoints: an Ed25519 signature over a chain head, so the chain up to it can be
//! checked with the public key alone.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use tresor_crypto::{sha256, verify_ed25519, Ed25519SigningKey};
use tresor_types::Timestamp;

use crate::chain::ChainHead;

/// Domain separation prefix of [`checkpoint_message`].
pub const CHECKPOINT_DOMAIN: &[u8] = b"tresor-audit-checkpoint/v1";

/// A signed statement "the chain's record `seq` has hash `hash`", made at `time`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub seq: u64,
    #[serde(with = "crate::hex32")]
    pub hash: [u8; 32],
    /// When it was signed (epoch milliseconds).
    pub time: Timestamp,
    #[serde(with = "crate::hex64")]
    pub signature: [u8; 64],
}

impl Checkpoint {
    /// The chain head this checkpoint vouches for.
    pub fn head(&self) -> ChainHead {
        ChainHead {
            seq: self.seq,
            hash: self.hash,
        }
    }
}

/// The signed message: `"tresor-audit-checkpoint/v1" || seq BE || hash || time (i64 millis) BE`.
pub fn checkpoint_message(seq: u64, hash: &[u8; 32], time: Timestamp) -> Vec<u8> {
    let mut m = Vec::with_capacity(CHECKPOINT_DOMAIN.len() + 8 + 32 + 8);
    m.extend_from_slice(CHECKPOINT_DOMAIN);
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(hash);
    m.extend_from_slice(&time.millis().to_be_bytes());
    m
}

/// Signs `head` at `time` (every minute and at shutdown; [`ChainHead::GENESIS`] for an empty
/// chain). `key` is [`crate::signing_key`].
pub fn sign_checkpoint(head: &ChainHead, time: Timestamp, key: &Ed25519SigningKey) -> Checkpoint {
    Checkpoint {
        seq: head.seq,
        hash: head.hash,
        time,
        signature: key.sign(&checkpoint_message(head.seq, &head.hash, time)),
    }
}

/// Whether `cp`'s signature is valid under `public_key`.
pub fn verify_checkpoint(cp: &Checkpoint, public_key: &PublicKey) -> bool {
    verify_ed25519(
        public_key.as_bytes(),
        &checkpoint_message(cp.seq, &cp.hash, cp.time),
        &cp.signature,
    )
}

/// The audit verification key (Ed25519 public key). Its text form, printed by
/// `tresor audit public-key` and read by `tresor audit verify --public-key FILE`, is
/// `ed25519:` followed by the standard padded base64 of the 32 key bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; 32]);

/// Prefix of [`PublicKey`]'s text form.
pub const PUBLIC_KEY_PREFIX: &str = "ed25519:";

impl PublicKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn from_signing_key(key: &Ed25519SigningKey) -> Self {
        Self(key.public_key())
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// `ed25519:<base64>`.
    pub fn to_text(&self) -> String {
        format!("{PUBLIC_KEY_PREFIX}{}", STANDARD.encode(self.0))
    }

    /// Parses the text form; surrounding whitespace (a trailing newline in a file) is ignored.
    pub fn parse(text: &str) -> Result<Self, PublicKeyParseError> {
        let body = text
            .trim()
            .strip_prefix(PUBLIC_KEY_PREFIX)
            .ok_or(PublicKeyParseError::MissingPrefix)?;
        let bytes = STANDARD
            .decode(body)
            .map_err(|_| PublicKeyParseError::BadBase64)?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| PublicKeyParseError::WrongLength)?;
        Ok(Self(key))
    }

    /// Hex of the first 16 bytes of SHA-256 of the key (the digest files'
    /// `digestPublicKeyFingerprint`).
    pub fn fingerprint(&self) -> String {
        let digest = sha256(&self.0);
        hex::encode(&digest[..16])
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_text())
    }
}

impl FromStr for PublicKey {
    type Err = PublicKeyParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Why a public key's text form was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PublicKeyParseError {
    #[error("an audit public key must start with \"ed25519:\"")]
    MissingPrefix,
    #[error("an audit public key must be base64 after \"ed25519:\"")]
    BadBase64,
    #[error("an audit public key must be 32 bytes")]
    WrongLength,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use tresor_types::SecretBytes;

    fn key() -> Ed25519SigningKey {
        Ed25519SigningKey::from_seed(&SecretBytes::from_slice(&[3u8; 32])).unwrap()
    }

    #[test]
    fn sign_and_verify() {
        let k = key();
        let pk = PublicKey::from_signing_key(&k);
        let head = ChainHead {
            seq: 42,
            hash: [9u8; 32],
        };
        let cp = sign_checkpoint(&head, Timestamp::from_millis(1_700_000_000_000), &k);
        assert!(verify_checkpoint(&cp, &pk));
        assert_eq!(cp.head(), head);
        let mut bad = cp.clone();
        bad.seq = 41;
        assert!(!verify_checkpoint(&bad, &pk));
        let mut bad = cp.clone();
        bad.hash[0] ^= 1;
        assert!(!verify_checkpoint(&bad, &pk));
        let mut bad = cp.clone();
        bad.time = Timestamp::from_millis(1_700_000_000_001);
        assert!(!verify_checkpoint(&bad, &pk));
        let mut bad = cp.clone();
        bad.signature[63] ^= 1;
        assert!(!verify_checkpoint(&bad, &pk));
        let other = Ed25519SigningKey::from_seed(&SecretBytes::from_slice(&[4u8; 32])).unwrap();
        assert!(!verify_checkpoint(
            &cp,
            &PublicKey::from_signing_key(&other)
        ));
        let json = serde_json::to_string(&cp).unwrap();
        assert_eq!(serde_json::from_str::<Checkpoint>(&json).unwrap(), cp);
    }

    #[test]
    fn message_layout() {
        let m = checkpoint_message(1, &[2u8; 32], Timestamp::from_millis(3));
        assert_eq!(&m[..26], b"tresor-audit-checkpoint/v1");
        assert_eq!(&m[26..34], &1u64.to_be_bytes());
        assert_eq!(&m[34..66], &[2u8; 32]);
        assert_eq!(&m[66..], &3i64.to_be_bytes());
    }

    #[test]
    fn public_key_text_round_trip() {
        let pk = PublicKey::from_signing_key(&key());
        let text = pk.to_text();
        assert!(text.starts_with("ed25519:"));
        assert_eq!(PublicKey::parse(&text).unwrap(), pk);
        assert_eq!(format!(" {text}\n").parse::<PublicKey>().unwrap(), pk);
        assert_eq!(format!("{pk}"), text);
        assert_eq!(pk.fingerprint().len(), 32);
        assert_eq!(
            PublicKey::parse("ed25519:!!"),
            Err(PublicKeyParseError::BadBase64)
        );
        assert_eq!(
            PublicKey::parse(&text[8..]),
            Err(PublicKeyParseError::MissingPrefix)
        );
        assert_eq!(
            PublicKey::parse("ed25519:AAAA"),
            Err(PublicKeyParseError::WrongLength)
        );
    }
}
