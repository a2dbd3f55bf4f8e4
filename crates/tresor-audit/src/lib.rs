//! Tresor's audit trail: the CloudTrail event model, the tamper-evident chain, signed
//! checkpoints, offline verification and CloudTrail-format export. Pure: no database, no HTTP;
//! the only I/O is the export directory ([`export`], [`verify_export`]).
//!
//! Data path:
//!
//! 1. **Build.** For every request (allowed, denied, or failed authentication) the core builds
//!    one [`AuditEvent`]: a CloudTrail event (`eventVersion` 1.08, `userIdentity`,
//!    `eventTime`, `eventSource`, `eventName`, …, `recipientAccountId`).
//! 2. **Redact.** [`redact`] replaces every secret-bearing member of `requestParameters` /
//!    `responseElements` (`SecretString`, `SecretBinary`, `*Password*`, `Plaintext`,
//!    `CiphertextBlob`, `SecretAccessKey`, `SessionToken`, `*PrivateKey*`, …) with
//!    `"HIDDEN_DUE_TO_SECURITY_REASONS"`, keeping ARNs, names, version ids and stages.
//!    [`AuditEvent::canonical_json`] always redacts, so an unredacted event cannot be recorded.
//! 3. **Link.** The store's single audit writer turns each event's canonical JSON into an
//!    [`AuditRecord`] with [`link`] / [`link_batch`]: `seq` (1, 2, …), `prev_hash`,
//!    `hash = SHA-256("tresor-audit-record/v1" || seq || prev_hash || event_json)` and
//!    `mac = HMAC-SHA256(audit MAC key, hash)`. Requests waiting at the same time are linked
//!    in one batch (group commit).
//! 4. **Append.** The store appends the batch durably (one transaction / fsync) **before** any
//!    of those responses leaves; if the append fails, the request fails (fail-closed).
//! 5. **Checkpoint.** At least every minute, and at shutdown, the writer signs its head with
//!    [`sign_checkpoint`] (Ed25519, key from [`signing_key`]) and stores the [`Checkpoint`].
//!    `tresor audit public-key` prints [`PublicKey::to_text`] (`ed25519:<base64>`).
//! 6. **Verify / export.** [`verify_live`] (or the streaming [`ChainVerifier`]) checks the
//!    stored chain offline; [`export`] writes CloudTrail log files `{"Records": [...]}` plus
//!    signed, chained digest files; [`verify_export`] checks an export with the public key
//!    only. Errors name the first broken record ([`VerifyError::first_bad_seq`]) and its
//!    [`TamperKind`].
//!
//! What is detected:
//!
//! | damage | MAC key + public key | public key only |
//! |---|---|---|
//! | edited record (bytes changed, not re-hashed) | `Edited` | `Edited` |
//! | deleted / reordered / inserted record (not re-hashed) | `Deleted` / `Reordered` / `Inserted` | same |
//! | forged or re-hashed record (attacker recomputes hashes) | `BadMac` at that record | before the last checkpoint: `CheckpointMismatch` at the next checkpoint; after it: **not detected** |
//! | truncation | up to the last checkpoint: `Truncated`; after it: **not detected** | same |
//! | forged checkpoint | `BadCheckpointSignature` | same |
//!
//! An export is stronger than the live chain: its digests are signed at export time over the
//! last exported record, so every exported record is covered by a signature, and a re-hashed
//! record or a truncated tail is found with the public key alone (down to the last whole export
//! run deleted, which nothing inside the export can reveal). See [`export`] for the layout.

mod chain;
mod checkpoint;
mod event;
mod export;
mod verify;

pub use chain::{link, link_batch, record_hash, record_mac, AuditRecord, ChainHead, RECORD_DOMAIN};
pub use checkpoint::{
    checkpoint_message, sign_checkpoint, verify_checkpoint, Checkpoint, PublicKey,
    PublicKeyParseError, CHECKPOINT_DOMAIN, PUBLIC_KEY_PREFIX,
};
pub use event::{
    is_read_only_operation, is_secret_member, redact, AuditEvent, IdentityType, Resource,
    SessionAttributes, SessionContext, SessionIssuer, UserIdentity, AWS_SERVICE_EVENT,
    CLOUDTRAIL_SOURCE, EVENT_VERSION, HIDDEN, IAM_SOURCE, KMS_SOURCE, SECRETS_MANAGER_SOURCE,
    STS_SOURCE,
};
pub use export::{
    digest_signature_message, export, verify_export, verify_export_with, ExportError,
    ExportOptions, ExportSummary, DIGEST_DOMAIN,
};
pub use verify::{verify_live, ChainVerifier, TamperKind, VerifyError, VerifyReport, LOOKAHEAD};

use tresor_crypto::{labels, CryptoError, Ed25519SigningKey, RootKey};
use tresor_types::SecretBytes;

/// The audit MAC key: `root.subkey(labels::AUDIT_MAC)`.
pub fn mac_key(root: &RootKey) -> SecretBytes {
    root.subkey(labels::AUDIT_MAC)
}

/// The checkpoint and digest signing key, seeded by `root.subkey(labels::AUDIT_CHECKPOINT_SIGNING)`.
pub fn signing_key(root: &RootKey) -> Result<Ed25519SigningKey, CryptoError> {
    Ed25519SigningKey::from_seed(&root.subkey(labels::AUDIT_CHECKPOINT_SIGNING))
}

/// The verification key to hand to auditors (`tresor audit public-key`).
pub fn public_key(root: &RootKey) -> Result<PublicKey, CryptoError> {
    Ok(PublicKey::from_signing_key(&signing_key(root)?))
}

/// Serde for `[u8; 32]` as lowercase hex.
pub(crate) mod hex32 {
    use serde::{de, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(&text, &mut out)
            .map_err(|_| de::Error::custom("expected 64 hex digits"))?;
        Ok(out)
    }
}

/// Serde for `[u8; 64]` as lowercase hex.
pub(crate) mod hex64 {
    use serde::{de, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8; 64], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 64], D::Error> {
        let text = String::deserialize(d)?;
        let mut out = [0u8; 64];
        hex::decode_to_slice(&text, &mut out)
            .map_err(|_| de::Error::custom("expected 128 hex digits"))?;
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn keys_derive_from_the_root_key() {
        let root = RootKey::generate().unwrap();
        assert_eq!(mac_key(&root), root.subkey(labels::AUDIT_MAC));
        let pk = public_key(&root).unwrap();
        assert_eq!(
            pk,
            PublicKey::from_signing_key(&signing_key(&root).unwrap())
        );
        assert_ne!(pk, public_key(&RootKey::generate().unwrap()).unwrap());
    }
}
