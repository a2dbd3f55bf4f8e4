//! The hash chain: each record commits to its sequence number, its predecessor's hash and its
//! event JSON, and carries an HMAC of that hash under the audit MAC key.

use serde::{Deserialize, Serialize};
use tresor_crypto::{ct_eq, hmac_sha256, sha256};
use tresor_types::SecretBytes;

/// Domain separation prefix of [`record_hash`].
pub const RECORD_DOMAIN: &[u8] = b"tresor-audit-record/v1";

/// The last record of a chain: what the next record links to. The empty chain's head is
/// [`ChainHead::GENESIS`] (`seq` 0, all-zero hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChainHead {
    pub seq: u64,
    #[serde(with = "crate::hex32")]
    pub hash: [u8; 32],
}

impl ChainHead {
    /// The head of the empty chain; record 1 links to it.
    pub const GENESIS: ChainHead = ChainHead {
        seq: 0,
        hash: [0u8; 32],
    };
}

/// One audit record as the store keeps it.
///
/// - `seq`: 1, 2, 3, … with no gaps;
/// - `prev_hash`: the previous record's `hash` (all zeros for seq 1);
/// - `event_json`: the event's canonical JSON ([`crate::AuditEvent::canonical_json`]), stored
///   and hashed byte for byte (never re-serialized);
/// - `hash = SHA-256("tresor-audit-record/v1" || seq as u64 big-endian || prev_hash || event_json)`;
/// - `mac = HMAC-SHA256(audit MAC key, hash)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub seq: u64,
    #[serde(with = "crate::hex32")]
    pub prev_hash: [u8; 32],
    pub event_json: String,
    #[serde(with = "crate::hex32")]
    pub hash: [u8; 32],
    #[serde(with = "crate::hex32")]
    pub mac: [u8; 32],
}

impl AuditRecord {
    /// The chain head this record forms.
    pub fn head(&self) -> ChainHead {
        ChainHead {
            seq: self.seq,
            hash: self.hash,
        }
    }

    /// Whether `hash` is the hash of this record's own `seq`, `prev_hash` and `event_json`.
    pub fn hash_is_consistent(&self) -> bool {
        self.hash_is_consistent_at(self.seq)
    }

    /// Whether `hash` would be right if this record sat at `seq` (used to recognise a record
    /// that was moved or renumbered).
    pub fn hash_is_consistent_at(&self, seq: u64) -> bool {
        record_hash(seq, &self.prev_hash, &self.event_json) == self.hash
    }

    /// Whether `mac` is the HMAC of `hash` under `mac_key` (constant-time comparison).
    pub fn mac_is_valid(&self, mac_key: &SecretBytes) -> bool {
        ct_eq(&record_mac(mac_key, &self.hash), &self.mac)
    }
}

/// `SHA-256("tresor-audit-record/v1" || seq BE || prev_hash || event_json)`. The domain and the
/// two header fields have fixed lengths, so the encoding is unambiguous.
pub fn record_hash(seq: u64, prev_hash: &[u8; 32], event_json: &str) -> [u8; 32] {
    let mut buf = Vec::with_capacity(RECORD_DOMAIN.len() + 8 + 32 + event_json.len());
    buf.extend_from_slice(RECORD_DOMAIN);
    buf.extend_from_slice(&seq.to_be_bytes());
    buf.extend_from_slice(prev_hash);
    buf.extend_from_slice(event_json.as_bytes());
    sha256(&buf)
}

/// `HMAC-SHA256(mac_key, hash)`; `mac_key` is `root.subkey(labels::AUDIT_MAC)` (see
/// [`crate::mac_key`]).
pub fn record_mac(mac_key: &SecretBytes, hash: &[u8; 32]) -> [u8; 32] {
    hmac_sha256(mac_key.expose(), hash)
}

/// Appends `event_json` after `head` (`None` = the empty chain): the next record, with its
/// hash and MAC. The caller stores it and moves its head to `record.head()`.
pub fn link(head: Option<&ChainHead>, event_json: String, mac_key: &SecretBytes) -> AuditRecord {
    let head = head.copied().unwrap_or(ChainHead::GENESIS);
    // A u64 sequence cannot run out in practice; saturating keeps this total, and a repeated
    // u64::MAX would fail verification rather than wrap to 0.
    let seq = head.seq.saturating_add(1);
    let hash = record_hash(seq, &head.hash, &event_json);
    AuditRecord {
        seq,
        prev_hash: head.hash,
        mac: record_mac(mac_key, &hash),
        event_json,
        hash,
    }
}

/// Links a batch (one group commit) after `head`, in order.
pub fn link_batch(
    head: Option<&ChainHead>,
    events: impl IntoIterator<Item = String>,
    mac_key: &SecretBytes,
) -> Vec<AuditRecord> {
    let mut current = head.copied();
    events
        .into_iter()
        .map(|json| {
            let record = link(current.as_ref(), json, mac_key);
            current = Some(record.head());
            record
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn key() -> SecretBytes {
        SecretBytes::from_slice(&[7u8; 32])
    }

    #[test]
    fn first_record_links_to_zeros_and_the_next_to_it() {
        let a = link(None, "{\"a\":1}".into(), &key());
        assert_eq!(a.seq, 1);
        assert_eq!(a.prev_hash, [0u8; 32]);
        assert!(a.hash_is_consistent());
        assert!(a.mac_is_valid(&key()));
        assert!(!a.mac_is_valid(&SecretBytes::from_slice(&[8u8; 32])));
        let b = link(Some(&a.head()), "{\"b\":2}".into(), &key());
        assert_eq!((b.seq, b.prev_hash), (2, a.hash));
        assert!(b.hash_is_consistent());
        assert!(!b.hash_is_consistent_at(3));
        let batch = link_batch(None, ["{\"a\":1}".into(), "{\"b\":2}".into()], &key());
        assert_eq!(batch, vec![a, b]);
    }

    #[test]
    fn hash_matches_the_documented_construction() {
        let mut msg = b"tresor-audit-record/v1".to_vec();
        msg.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 9]);
        msg.extend_from_slice(&[1u8; 32]);
        msg.extend_from_slice(b"{}");
        assert_eq!(record_hash(9, &[1u8; 32], "{}"), sha256(&msg));
        let r = link(
            Some(&ChainHead {
                seq: 8,
                hash: [1u8; 32],
            }),
            "{}".into(),
            &key(),
        );
        assert_eq!(r.hash, sha256(&msg));
        assert_eq!(r.mac, hmac_sha256(&[7u8; 32], &r.hash));
    }

    #[test]
    fn serde_uses_hex() {
        let r = link(None, "{}".into(), &key());
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["prev_hash"], "0".repeat(64));
        assert_eq!(v["hash"], hex::encode(r.hash));
        let back: AuditRecord = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }
}
