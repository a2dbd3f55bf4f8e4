//! The domain-level store: every method is one atomic unit of Tresor state.
//!
//! Data path: the core resolves, authorizes and encrypts; then it calls exactly one `Store`
//! method per state change (create a secret with its first version; read-modify-write a secret
//! inside one transaction; add an access key; …). The store only ever sees ciphertext and
//! metadata. Backends: SQLite (embedded default, WAL, `synchronous=FULL`) and PostgreSQL
//! (any number of nodes on one database). `conformance` is the suite every backend must pass, and
//! `testkit` the PostgreSQL test harness: both behind the feature `testkit`, for tests.

mod audit;
mod backend;
mod codec;
#[cfg(feature = "testkit")]
pub mod conformance;
mod error;
mod gateway;
mod identity;
mod kms;
mod model;
mod postgres;
mod rotation;
mod sql;
mod sqlite;
#[cfg(feature = "testkit")]
pub mod testkit;
mod transfer;

pub use audit::{AuditQuery, AuditRow, AuditStore, CheckpointRow, LostChanges};
pub use backend::Backend;
pub use error::{Missing, StoreError};
pub use gateway::*;
pub use identity::*;
pub use kms::*;
pub use model::*;
pub use postgres::PostgresStore;
pub use rotation::*;
pub use sqlite::{ConnectionSettings, SqliteStore};
pub use transfer::{transfer, Transfer, TransferCounts, TransferError, TransferProgress};

use tresor_types::Timestamp;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Tresor's persistent state. Implementations must make each method atomic and durable before
/// it returns `Ok` (an acknowledged write survives `kill -9`).
pub trait Store: Send + Sync + 'static {
    // ---- store-wide metadata (sealed root key, format version, …) ----

    /// Read one metadata entry.
    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Write all entries at once, only if none of them exists yet; otherwise change nothing and
    /// answer `StoreError::AlreadyInitialized`.
    fn init_meta(&self, entries: &[(&str, Vec<u8>)]) -> Result<()>;
    /// Replace one metadata entry whose value is exactly `expected` with `new` (compare and
    /// swap, e.g. re-sealing the root key at rekey). If the entry is missing or holds anything
    /// else, change nothing and answer `StoreError::Conflict`.
    fn replace_meta(&self, key: &str, expected: &[u8], new: &[u8]) -> Result<()>;

    // ---- access keys ----

    /// Insert a new access key (`StoreError::Conflict` if its id exists).
    fn put_access_key(&self, key: &AccessKeyRecord) -> Result<()>;
    fn get_access_key(&self, access_key_id: &str) -> Result<Option<AccessKeyRecord>>;

    // ---- KMS keys ----

    /// Insert a key (`StoreError::Conflict` if its id, or its alias in that scope, exists).
    fn put_kms_key(&self, key: &KmsKeyRecord) -> Result<()>;
    fn get_kms_key(&self, scope: &Scope, key_id: &str) -> Result<Option<KmsKeyRecord>>;
    fn get_kms_key_by_alias(&self, scope: &Scope, alias: &str) -> Result<Option<KmsKeyRecord>>;

    // ---- secrets ----

    /// Create a secret, with its first version if `first` is given (its metadata must already be
    /// in `record.versions`). A name taken in the scope answers `StoreError::SecretExists`,
    /// saying whether the holder is scheduled for deletion.
    fn create_secret(&self, record: &SecretRecord, first: Option<&SealedVersion>) -> Result<()>;
    /// Find by exact ARN.
    fn find_secret_by_arn(&self, arn: &str) -> Result<Option<SecretRecord>>;
    /// Find by name within a scope.
    fn find_secret_by_name(&self, scope: &Scope, name: &str) -> Result<Option<SecretRecord>>;
    /// Find a secret with only the versions that carry a staging label, and `version_id`
    /// whatever its labels: what reading one version, describing or authorizing needs, without
    /// loading every deprecated version (a secret written often has hundreds).
    fn find_secret_labelled(
        &self,
        key: SecretKey<'_>,
        version_id: Option<&str>,
    ) -> Result<Option<SecretRecord>>;
    /// The sealed value of one version.
    fn read_envelope(&self, arn: &str, version_id: &str) -> Result<Option<Vec<u8>>>;
    /// `find_secret_labelled(key, pick.version_id)` and, in the same snapshot, the sealed value
    /// of the version `pick` picks if the secret has it: what `GetSecretValue` reads (SQLite in
    /// one pass over the version rows; PostgreSQL by a second lookup in the same transaction).
    fn find_secret_value(
        &self,
        key: SecretKey<'_>,
        pick: VersionPick<'_>,
    ) -> Result<Option<(SecretRecord, Option<SealedValue>)>>;
    /// Read-modify-write one secret in a single transaction. `f` may run more than once (a
    /// backend may retry on a serialization conflict), so it must not have side effects beyond
    /// the transaction it is given. If `f` fails, nothing is written. A missing secret answers
    /// `StoreError::NotFound(Missing::Secret)` (converted into `E`).
    fn update_secret<T, E, F>(&self, arn: &str, f: F) -> Result<T, E>
    where
        F: FnMut(&mut SecretTxn) -> Result<T, E>,
        E: From<StoreError>;
    /// `update_secret` for a write that adds the version `version_id`, without reading all
    /// the old versions (a secret written often has hundreds). `txn.record.versions` holds the
    /// versions that carry a staging label and, if it is already stored, `version_id` (for an
    /// idempotent retry), in the order they were added; `txn.unloaded_versions()` counts the
    /// others, which stay as they are. After `f` succeeds, old versions are removed as `prune`
    /// says, in the same transaction.
    fn add_secret_version<T, E, F>(
        &self,
        arn: &str,
        version_id: &str,
        prune: VersionPruning,
        f: F,
    ) -> Result<T, E>
    where
        F: FnMut(&mut SecretTxn) -> Result<T, E>,
        E: From<StoreError>;
    /// Record a read: set `last_accessed` of the secret and the version to `day`.
    fn touch_secret(&self, arn: &str, version_id: &str, day: Timestamp) -> Result<()>;
    /// Remove a secret and all its versions for good.
    fn purge_secret(&self, arn: &str) -> Result<()>;
    /// One page of a scope's secrets in `order`, strictly after `after`, at most `limit`. Each
    /// carries its labelled versions only: a listing never shows deprecated ones, and a
    /// secret written often has hundreds of them. A cursor that does not fit the order (see
    /// `ListOrder::fits`) is refused. Every order is served by an index: a page costs the
    /// same at any depth of the listing.
    fn list_secrets_ordered(
        &self,
        scope: &Scope,
        order: ListOrder,
        after: Option<&ListCursor>,
        limit: usize,
    ) -> Result<Vec<SecretRecord>>;
    /// `list_secrets_ordered` by name, after a `(name, arn)` cursor.
    fn list_secrets(
        &self,
        scope: &Scope,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<SecretRecord>> {
        let cursor = after.map(|(name, arn)| ListCursor {
            value: SortValue::Text(name.to_owned()),
            arn: arn.to_owned(),
        });
        self.list_secrets_ordered(scope, ListOrder::BY_NAME, cursor.as_ref(), limit)
    }
    /// ARNs of secrets whose recovery window ended at or before `now`.
    fn expired_deletions(&self, now: Timestamp) -> Result<Vec<String>>;

    /// Run `f` so that every write it makes through this store (from this thread) commits
    /// together with its `Ok`, or not at all on `Err` (or a panic); `Ok` is returned only once
    /// they are durable. Writes of other threads wait until it ends (a backend may commit
    /// several such blocks in one transaction, each rolled back alone on its `Err`). Nested
    /// calls join the outermost one. Reads inside `f` see its own writes on SQLite; on other
    /// backends they may not.
    fn atomically<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce() -> Result<T, E>,
        E: From<StoreError>;

    /// Run read-only work `f` so that the reads it makes on this thread may share one read
    /// transaction (one snapshot, one transaction start). A hint: backends without a cheaper
    /// way just run `f`. Writes inside `f` still commit, but its reads may not see them.
    fn reading<T>(&self, f: impl FnOnce() -> T) -> T {
        f()
    }
}
