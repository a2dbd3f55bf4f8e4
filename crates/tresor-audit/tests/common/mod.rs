//! Shared fixture: a signed, MACed chain with checkpoints, and tools to forge records the way
//! an attacker without the MAC key could.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;
use tresor_audit::{
    link, record_hash, record_mac, sign_checkpoint, AuditEvent, AuditRecord, ChainHead, Checkpoint,
    PublicKey, SECRETS_MANAGER_SOURCE,
};
use tresor_crypto::Ed25519SigningKey;
use tresor_types::{SecretBytes, Timestamp};

/// 2026-11-28T15:00:00Z.
pub const BASE_MS: i64 = 1_795_878_000_000;
pub const ACCOUNT: &str = "111122223333";

pub struct Fixture {
    pub mac_key: SecretBytes,
    pub signing_key: Ed25519SigningKey,
    pub public_key: PublicKey,
    pub records: Vec<AuditRecord>,
    pub checkpoints: Vec<Checkpoint>,
}

impl Fixture {
    /// `n` records (7 s apart) with a checkpoint after every `every`-th record.
    pub fn new(n: u64, every: u64) -> Self {
        Self::with_accounts(n, every, &[ACCOUNT])
    }

    /// Like [`Fixture::new`], cycling the event's account through `accounts`.
    pub fn with_accounts(n: u64, every: u64, accounts: &[&str]) -> Self {
        let mac_key = SecretBytes::from_slice(&[0x42; 32]);
        let signing_key =
            Ed25519SigningKey::from_seed(&SecretBytes::from_slice(&[0x24; 32])).expect("seed");
        let public_key = PublicKey::from_signing_key(&signing_key);
        let mut records: Vec<AuditRecord> = Vec::new();
        let mut checkpoints = Vec::new();
        for i in 1..=n {
            let account = accounts[(i as usize - 1) % accounts.len()];
            let json = event_json(i, account);
            let record = link(records.last().map(|r| r.head()).as_ref(), json, &mac_key);
            if i % every == 0 {
                checkpoints.push(sign_checkpoint(
                    &record.head(),
                    Timestamp::from_millis(BASE_MS + i as i64 * 7_000 + 1),
                    &signing_key,
                ));
            }
            records.push(record);
        }
        Self {
            mac_key,
            signing_key,
            public_key,
            records,
            checkpoints,
        }
    }

    pub fn record(&self, seq: u64) -> &AuditRecord {
        &self.records[seq as usize - 1]
    }
}

/// The redacted canonical JSON of the i-th event.
pub fn event_json(i: u64, account: &str) -> String {
    let name = if i % 3 == 0 {
        "PutSecretValue"
    } else {
        "GetSecretValue"
    };
    let mut e = AuditEvent::new(
        SECRETS_MANAGER_SOURCE,
        name,
        "us-east-1",
        account,
        Timestamp::from_millis(BASE_MS + i as i64 * 7_000),
    );
    e.request_id = format!("req-{i:04}");
    e.source_ip_address = "192.0.2.10".into();
    e.user_agent = "aws-cli/2".into();
    e.request_parameters =
        json!({"SecretId": format!("app/key-{i:04}"), "SecretString": "sk-live"});
    e.canonical_json().expect("event serializes")
}

/// What an attacker without the MAC key can build: a record with a correct hash after `head`
/// and a MAC under a key they made up.
pub fn forge(head: &ChainHead, event_json: String) -> AuditRecord {
    link(
        Some(head),
        event_json,
        &SecretBytes::from_slice(&[0x66; 32]),
    )
}

/// Recomputes seq, prev_hash and hash (and a fake MAC) of `records[from_index..]` after the
/// record before it: a rebuilt suffix.
pub fn rehash_from(records: &mut [AuditRecord], from_index: usize) {
    let fake = SecretBytes::from_slice(&[0x66; 32]);
    for i in from_index..records.len() {
        let (seq, prev) = if i == 0 {
            (1, [0u8; 32])
        } else {
            (records[i - 1].seq + 1, records[i - 1].hash)
        };
        let r = &mut records[i];
        r.seq = seq;
        r.prev_hash = prev;
        r.hash = record_hash(seq, &prev, &r.event_json);
        r.mac = record_mac(&fake, &r.hash);
    }
}

/// The record as a log file carries it (the documented export form).
pub fn record_object(r: &AuditRecord) -> String {
    format!(
        "{},\"tresorChain\":{{\"seq\":{},\"prevHash\":\"{}\",\"hash\":\"{}\",\"mac\":\"{}\"}}}}",
        &r.event_json[..r.event_json.len() - 1],
        r.seq,
        hex::encode(r.prev_hash),
        hex::encode(r.hash),
        hex::encode(r.mac)
    )
}
