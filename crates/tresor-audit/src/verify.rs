//! Offline verification of a chain: sequence continuity, links, hashes, MACs and checkpoints.

use std::fmt;

use tresor_types::SecretBytes;

use crate::chain::{AuditRecord, ChainHead};
use crate::checkpoint::{verify_checkpoint, Checkpoint, PublicKey};

/// How many records after the first anomaly are read to tell a deletion from a reordering, and
/// how far (in sequence numbers) a moved record's original position is searched for.
pub const LOOKAHEAD: usize = 256;

/// What kind of damage verification found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TamperKind {
    /// A record's content or header no longer matches its hash, or (without the MAC key) a
    /// record was rewritten and re-hashed, as its successor's link shows.
    Edited,
    /// Records are missing from the middle of the chain (a gap), or a log file or digest file
    /// of an export is missing.
    Deleted,
    /// A record appears at another position than its own.
    Reordered,
    /// An extra record: a duplicated sequence number, records shifted down by an insertion,
    /// or (with the MAC key) a genuine-looking record that is not chained to its predecessor.
    Inserted,
    /// The chain ends before a signed checkpoint (or, in an export, before the end a signed
    /// digest states).
    Truncated,
    /// A record's MAC is wrong: it was written or re-hashed without the audit MAC key.
    BadMac,
    /// A checkpoint's signature does not verify under the public key.
    BadCheckpointSignature,
    /// A validly signed checkpoint names a hash the chain does not have at that seq: the chain
    /// up to it was rewritten (and re-hashed).
    CheckpointMismatch,
    /// An export's digest file is modified, or its signature is missing or invalid.
    BadDigestSignature,
    /// An export's digest does not chain to the previous digest (`previousDigest*`, seq ranges).
    DigestChainBroken,
    /// The chain's head after a digest's log files differs from the hash the digest signs.
    DigestMismatch,
    /// A log file's bytes differ from the SHA-256 its signed digest lists.
    LogFileModified,
    /// A record, log file or digest cannot be parsed in the format Tresor writes.
    Malformed,
}

impl TamperKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TamperKind::Edited => "edited",
            TamperKind::Deleted => "deleted",
            TamperKind::Reordered => "reordered",
            TamperKind::Inserted => "inserted",
            TamperKind::Truncated => "truncated",
            TamperKind::BadMac => "bad MAC",
            TamperKind::BadCheckpointSignature => "bad checkpoint signature",
            TamperKind::CheckpointMismatch => "checkpoint mismatch",
            TamperKind::BadDigestSignature => "bad digest signature",
            TamperKind::DigestChainBroken => "digest chain broken",
            TamperKind::DigestMismatch => "digest mismatch",
            TamperKind::LogFileModified => "log file modified",
            TamperKind::Malformed => "malformed",
        }
    }
}

impl fmt::Display for TamperKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Verification failed. `first_bad_seq` is the lowest sequence number that can no longer be
/// vouched for (the first broken record; for a missing range, its first seq).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit record {first_bad_seq}: {kind}: {message}")]
pub struct VerifyError {
    pub first_bad_seq: u64,
    pub kind: TamperKind,
    pub message: String,
}

impl VerifyError {
    pub fn new(first_bad_seq: u64, kind: TamperKind, message: impl Into<String>) -> Self {
        Self {
            first_bad_seq,
            kind,
            message: message.into(),
        }
    }
}

/// What a successful verification covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Records verified.
    pub records: u64,
    /// Checkpoints whose signature and hash were verified.
    pub checkpoints: u64,
    /// The chain's last seq (0 if empty) and hash.
    pub last_seq: u64,
    pub last_hash: [u8; 32],
    /// The highest verified checkpoint, if any.
    pub last_checkpoint_seq: Option<u64>,
    /// Records up to this seq are covered by an Ed25519 signature (the last checkpoint; for an
    /// export, the last digest). Later records are protected only by their MACs (checked when
    /// the MAC key was given): without the key, a rewritten tail after this seq is undetectable.
    pub signed_through: u64,
    /// Whether record MACs were checked.
    pub mac_checked: bool,
    /// Export only: log and digest files verified (0 for a live chain).
    pub log_files: u64,
    pub digests: u64,
}

/// Streaming verifier: feed records in storage order with [`ChainVerifier::push`], then call
/// [`ChainVerifier::finish`]. Memory stays constant while the chain is intact; after the first
/// anomaly it buffers up to [`LOOKAHEAD`] records to classify it.
pub struct ChainVerifier<'k> {
    mac_key: Option<&'k SecretBytes>,
    public_key: PublicKey,
    checkpoints: Vec<Checkpoint>,
    next_cp: usize,
    head: ChainHead,
    records: u64,
    checkpoints_ok: u64,
    last_checkpoint_seq: Option<u64>,
    pending: Vec<AuditRecord>,
}

impl<'k> ChainVerifier<'k> {
    /// A verifier for a chain starting at seq 1. `checkpoints` may come in any order.
    pub fn new(
        checkpoints: &[Checkpoint],
        mac_key: Option<&'k SecretBytes>,
        public_key: &PublicKey,
    ) -> Self {
        let mut checkpoints = checkpoints.to_vec();
        checkpoints.sort_by_key(|cp| (cp.seq, cp.time));
        Self {
            mac_key,
            public_key: *public_key,
            checkpoints,
            next_cp: 0,
            head: ChainHead::GENESIS,
            records: 0,
            checkpoints_ok: 0,
            last_checkpoint_seq: None,
            pending: Vec::new(),
        }
    }

    /// The last accepted record (GENESIS before the first).
    pub fn head(&self) -> ChainHead {
        self.head
    }

    /// Whether an anomaly was seen and is being classified (every later `push` only buffers).
    pub fn is_failing(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The classified error if an anomaly was seen, without reading further records.
    pub fn pending_error(&self) -> Option<VerifyError> {
        (!self.pending.is_empty()).then(|| self.classify_pending())
    }

    /// Checks the next record. `Err` names the first broken record; once a push fails (or the
    /// verifier [`is_failing`](Self::is_failing)), the chain is not intact.
    pub fn push(&mut self, record: &AuditRecord) -> Result<(), VerifyError> {
        if !self.pending.is_empty() {
            self.pending.push(record.clone());
            if self.pending.len() >= LOOKAHEAD {
                return Err(self.classify_pending());
            }
            return Ok(());
        }
        let n = self.expected();
        if record.seq == n && record.prev_hash == self.head.hash && record.hash_is_consistent() {
            if let Some(key) = self.mac_key {
                if !record.mac_is_valid(key) {
                    return Err(VerifyError::new(
                        n,
                        TamperKind::BadMac,
                        format!(
                            "record {n}'s MAC does not verify: it was written or re-hashed \
                             without the audit MAC key"
                        ),
                    ));
                }
            }
            self.head = record.head();
            self.records += 1;
            return self.settle_checkpoints();
        }
        match self.classify_first(record) {
            Some(err) => Err(err),
            None => {
                self.pending.push(record.clone());
                Ok(())
            }
        }
    }

    /// Ends verification: classifies a pending anomaly, then checks that no signed checkpoint
    /// lies beyond the chain's end (truncation).
    pub fn finish(mut self) -> Result<VerifyReport, VerifyError> {
        if !self.pending.is_empty() {
            return Err(self.classify_pending());
        }
        self.settle_checkpoints()?;
        let rest = &self.checkpoints[self.next_cp..];
        if let Some(cp) = rest
            .iter()
            .find(|cp| verify_checkpoint(cp, &self.public_key))
        {
            let first = self.expected();
            return Err(VerifyError::new(
                first,
                TamperKind::Truncated,
                format!(
                    "the chain ends at seq {} but a signed checkpoint vouches for seq {}: \
                     records {first}..={} are missing",
                    self.head.seq, cp.seq, cp.seq
                ),
            ));
        }
        if let Some(cp) = rest.first() {
            return Err(bad_checkpoint_signature(cp));
        }
        Ok(VerifyReport {
            records: self.records,
            checkpoints: self.checkpoints_ok,
            last_seq: self.head.seq,
            last_hash: self.head.hash,
            last_checkpoint_seq: self.last_checkpoint_seq,
            signed_through: self.last_checkpoint_seq.unwrap_or(0),
            mac_checked: self.mac_key.is_some(),
            log_files: 0,
            digests: 0,
        })
    }

    fn expected(&self) -> u64 {
        self.head.seq.saturating_add(1)
    }

    /// Checks every checkpoint at or below the head: signature, then hash.
    fn settle_checkpoints(&mut self) -> Result<(), VerifyError> {
        while let Some(cp) = self.checkpoints.get(self.next_cp) {
            if cp.seq > self.head.seq {
                break;
            }
            if !verify_checkpoint(cp, &self.public_key) {
                return Err(bad_checkpoint_signature(cp));
            }
            // Checkpoints are settled after every record, so a lower seq is only the genesis
            // checkpoint of an empty chain.
            let expected = if cp.seq == self.head.seq {
                self.head.hash
            } else if cp.seq == 0 {
                ChainHead::GENESIS.hash
            } else {
                [0xff; 32]
            };
            if cp.hash != expected {
                return Err(VerifyError::new(
                    cp.seq,
                    TamperKind::CheckpointMismatch,
                    format!(
                        "record {}'s hash differs from the one its signed checkpoint names: \
                         the chain up to seq {} was rewritten after the previous checkpoint (seq \
                         {}); the MAC key locates the first rewritten record",
                        cp.seq,
                        cp.seq,
                        self.last_checkpoint_seq.unwrap_or(0)
                    ),
                ));
            }
            self.checkpoints_ok += 1;
            self.last_checkpoint_seq = Some(cp.seq);
            self.next_cp += 1;
        }
        Ok(())
    }

    /// The error for an anomaly visible from `r` alone, or `None` if telling a deletion from a
    /// reordering needs the records after it.
    fn classify_first(&self, r: &AuditRecord) -> Option<VerifyError> {
        let n = self.expected();
        let prev = self.head.seq;
        if r.seq < n {
            let (at, what) = if r.seq == prev && prev > 0 {
                (prev, format!("two records claim seq {prev}"))
            } else {
                (
                    n,
                    format!(
                        "a record claiming seq {} appears where seq {n} belongs",
                        r.seq
                    ),
                )
            };
            return Some(VerifyError::new(
                at,
                TamperKind::Inserted,
                format!("{what}: an extra record was inserted"),
            ));
        }
        if r.seq > n {
            if r.hash_is_consistent_at(n) {
                return Some(VerifyError::new(
                    n,
                    TamperKind::Edited,
                    format!("record {n}'s sequence number was changed to {}", r.seq),
                ));
            }
            return None;
        }
        if !r.hash_is_consistent() {
            return match origin(r, n) {
                None => Some(VerifyError::new(
                    n,
                    TamperKind::Edited,
                    format!("record {n}'s content does not match its hash"),
                )),
                Some(m) if m < n => Some(VerifyError::new(
                    m,
                    TamperKind::Inserted,
                    format!(
                        "the record at seq {n} is record {m} renumbered: {} extra record(s) \
                         were inserted from seq {m}",
                        n - m
                    ),
                )),
                Some(_) => None,
            };
        }
        if let Some(key) = self.mac_key {
            if !r.mac_is_valid(key) {
                return Some(VerifyError::new(
                    n,
                    TamperKind::BadMac,
                    format!(
                        "record {n}'s MAC does not verify: it was written or re-hashed without \
                         the audit MAC key"
                    ),
                ));
            }
            return Some(VerifyError::new(
                n,
                TamperKind::Inserted,
                format!(
                    "record {n} has a valid MAC but is not chained to record {prev}: it comes \
                     from another chain"
                ),
            ));
        }
        let at = prev.max(1);
        Some(VerifyError::new(
            at,
            TamperKind::Edited,
            if prev == 0 {
                "record 1 is chained to a non-zero hash: it is not the first record".to_owned()
            } else {
                format!(
                    "record {n} is chained to a hash record {prev} does not have: record {prev} \
                     was rewritten and re-hashed (or record {n}'s link was); the MAC key tells \
                     which"
                )
            },
        ))
    }

    /// Classifies the first anomaly with the records buffered after it: the record expected at
    /// seq n either shows up later (reordered) or nowhere (deleted).
    fn classify_pending(&self) -> VerifyError {
        let n = self.expected();
        let Some(first) = self.pending.first() else {
            return VerifyError::new(n, TamperKind::Malformed, "no anomaly to classify");
        };
        if let Some(err) = self.classify_first(first) {
            return err;
        }
        let later = self.pending.get(1..).unwrap_or_default();
        if let Some(pos) = later.iter().position(|w| w.hash_is_consistent_at(n)) {
            return VerifyError::new(
                n,
                TamperKind::Reordered,
                format!(
                    "record {n} appears {} position(s) later than it belongs",
                    pos + 1
                ),
            );
        }
        let message = if first.seq > n {
            format!(
                "records {n}..={} are missing (the next record present is seq {})",
                first.seq - 1,
                first.seq
            )
        } else {
            let m = origin(first, n).unwrap_or(n);
            format!(
                "records {n}..={} are missing and the records after them were renumbered",
                m.saturating_sub(1).max(n)
            )
        };
        VerifyError::new(n, TamperKind::Deleted, message)
    }
}

fn bad_checkpoint_signature(cp: &Checkpoint) -> VerifyError {
    VerifyError::new(
        cp.seq,
        TamperKind::BadCheckpointSignature,
        format!(
            "the checkpoint for seq {} is not signed by the audit key",
            cp.seq
        ),
    )
}

/// The seq, other than `r.seq`, at which `r`'s hash is consistent (where a moved or renumbered
/// record came from), searched within [`LOOKAHEAD`] of `n`.
fn origin(r: &AuditRecord, n: u64) -> Option<u64> {
    let radius = LOOKAHEAD as u64;
    let lo = n.saturating_sub(radius).max(1);
    let hi = n.saturating_add(radius);
    (lo..=hi).find(|&s| s != r.seq && r.hash_is_consistent_at(s))
}

/// Verifies a live chain: `records` in seq order as stored, the stored `checkpoints`, and the
/// MAC key when available (`tresor audit verify --data-dir` has it; an auditor with only the
/// public key passes `None`).
///
/// Checks, per record: seq continuity (gaps, duplicates, moves), the hash over (seq, prev_hash,
/// event_json), the link to the previous record's hash, the MAC (with the key), and at each
/// checkpoint its Ed25519 signature and that the record at its seq has exactly its hash; at
/// the end, that no signed checkpoint lies beyond the last record.
pub fn verify_live(
    records: impl IntoIterator<Item = AuditRecord>,
    checkpoints: &[Checkpoint],
    mac_key: Option<&SecretBytes>,
    public_key: &PublicKey,
) -> Result<VerifyReport, VerifyError> {
    let mut verifier = ChainVerifier::new(checkpoints, mac_key, public_key);
    for record in records {
        verifier.push(&record)?;
    }
    verifier.finish()
}
