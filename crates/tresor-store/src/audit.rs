//! The audit trail as stored: chained records and signed checkpoints. The chain itself (hashes,
//! MACs, signatures) is computed by `tresor-audit`; the store keeps rows durably and in order.

use tresor_types::{AccountId, Timestamp};

use crate::Result;

/// One audit record: a CloudTrail event (already redacted) with its chain fields, plus the
/// columns `LookupEvents` filters on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// 1, 2, 3, … with no gaps.
    pub seq: u64,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
    pub mac: Vec<u8>,
    /// The canonical event JSON the hash covers, byte for byte.
    pub event_json: String,
    // Lookup columns (derived from the event; not covered separately by the chain).
    pub event_time: Timestamp,
    pub event_id: String,
    pub event_name: String,
    pub event_source: String,
    /// The account whose trail holds the record (`recipientAccountId`).
    pub account: Option<AccountId>,
    pub read_only: bool,
    pub username: Option<String>,
    pub access_key_id: Option<String>,
    /// (resource type, resource name/ARN) pairs.
    pub resources: Vec<(String, String)>,
}

/// A signed checkpoint of the chain head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointRow {
    pub seq: u64,
    pub hash: Vec<u8>,
    pub time: Timestamp,
    pub signature: Vec<u8>,
}

/// Audit records (`first_seq..=last_seq`, one group commit's) committed without the changes
/// they record: the store's commit of those changes failed, or a crash cut it short, after the
/// trail's. No response was sent for any of them. Only a backend that commits the trail and
/// the store separately (SQLite's two files) can have such records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LostChanges {
    pub first_seq: u64,
    pub last_seq: u64,
}

/// A `LookupEvents` query: at most one attribute, a time range, newest first, paged by `before_seq`.
/// A `limit` of 0 answers nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// (attribute, value) with attribute one of EventId, EventName, ReadOnly, Username,
    /// ResourceType, ResourceName, EventSource, AccessKeyId. Values compare exactly, except
    /// ReadOnly's `"true"`/`"false"` (any case; another value matches nothing). The caller
    /// validates the attribute name: an unknown one is a `StoreError::Backend` (a caller bug).
    pub attribute: Option<(String, String)>,
    /// Only records with `event_time >= start` (inclusive, as in CloudTrail).
    pub start: Option<Timestamp>,
    /// Only records with `event_time <= end` (inclusive).
    pub end: Option<Timestamp>,
    /// Only records with `seq < before_seq` (for paging).
    pub before_seq: Option<u64>,
    pub limit: usize,
}

/// The audit trail. `append_audit` is the fail-closed point: a request's response leaves only
/// after the batch holding its record is durable.
pub trait AuditStore {
    /// The last record's (seq, hash), if any.
    fn audit_head(&self) -> Result<Option<(u64, Vec<u8>)>>;
    /// Append a batch in one transaction (one fsync). The first record's `seq` must be one more
    /// than the head's and its `prev_hash` the head's hash, and the batch must be contiguous
    /// (each `seq` one more than the previous, each `prev_hash` the previous `hash`); otherwise
    /// `StoreError::Conflict` and nothing is written. On an empty trail the first `seq` must be
    /// 1; its `prev_hash` (the chain's genesis value) is the chain's choice and not checked.
    /// An empty batch is a no-op.
    fn append_audit(&self, rows: &[AuditRow]) -> Result<()>;
    /// Append records linked to the head as it is inside the write transaction: `link` gets
    /// the head's (seq, hash) (`None` on an empty trail) and returns the rows to append, which
    /// must continue it. No other append can interleave, so this never conflicts.
    fn append_audit_with(
        &self,
        link: &mut dyn FnMut(Option<(u64, Vec<u8>)>) -> Vec<AuditRow>,
    ) -> Result<()>;
    /// Records with `seq >= from_seq`, ascending, at most `limit`.
    fn read_audit(&self, from_seq: u64, limit: usize) -> Result<Vec<AuditRow>>;
    /// Records of `account` matching the query, newest (highest seq) first. Every appended
    /// record is found, whether or not [`Self::index_audit`] has indexed it yet.
    fn lookup_audit(&self, account: &AccountId, query: &AuditQuery) -> Result<Vec<AuditRow>>;
    /// Bring the lookup indexes up to date by at most `max` records (the oldest not yet
    /// indexed), in one transaction, and say how many that was: 0 when none were left. A
    /// backend may keep its lookup indexes as derived data written here, in batches, instead
    /// of in every append; one that indexes as it appends has nothing to do and answers 0.
    fn index_audit(&self, max: usize) -> Result<usize>;
    /// Store a checkpoint. `Conflict` if one exists at that `seq`. (The store does not check
    /// it against the chain: verification is `tresor-audit`'s.)
    fn put_checkpoint(&self, checkpoint: &CheckpointRow) -> Result<()>;
    /// All checkpoints, ascending by seq.
    fn list_checkpoints(&self) -> Result<Vec<CheckpointRow>>;
    /// Groups of records whose changes never committed and that no record answers yet, oldest
    /// first. Always empty on a backend that commits a change and its record together.
    fn lost_changes(&self) -> Result<Vec<LostChanges>> {
        Ok(Vec::new())
    }
    /// Stop reporting `lost` (as returned by [`Self::lost_changes`] in the same
    /// `Store::atomically` block): a record appended with it now answers them.
    fn settle_lost_changes(&self, lost: &[LostChanges]) -> Result<()> {
        let _ = lost;
        Ok(())
    }
}
