//! The backend chosen at start-up. Callers hold a `Backend` and never name a concrete store:
//! SQLite (one file) or PostgreSQL (any number of nodes on one database).
//!
//! `Store`, `IdentityStore` and `Transfer` are written once over [`crate::sql::Transactions`],
//! so a `Backend` only hands each transaction to the store it holds; the audit trail, whose
//! appends and lookups differ by backend, is forwarded as a whole.

use tresor_types::AccountId;

use crate::*;

// One per process, behind an `Arc`: the size of the SQLite variant costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Backend {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

macro_rules! each {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            Backend::Sqlite($s) => $e,
            Backend::Postgres($s) => $e,
        }
    };
}

impl crate::sql::Transactions for Backend {
    fn read_db<T>(&self, f: impl FnOnce(&mut dyn crate::sql::Db) -> Result<T>) -> Result<T> {
        each!(self, s => s.read_db(f))
    }

    fn write_db<T, E: From<StoreError>>(
        &self,
        f: impl FnMut(&mut dyn crate::sql::Db) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        each!(self, s => s.write_db(f))
    }

    fn read_trail_db<T>(&self, f: impl FnOnce(&mut dyn crate::sql::Db) -> Result<T>) -> Result<T> {
        each!(self, s => s.read_trail_db(f))
    }

    fn atomically_db<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce() -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        each!(self, s => s.atomically_db(f))
    }

    fn reading_db<T>(&self, f: impl FnOnce() -> T) -> T {
        each!(self, s => s.reading_db(f))
    }
}

impl AuditStore for Backend {
    fn audit_head(&self) -> Result<Option<(u64, Vec<u8>)>> {
        each!(self, s => s.audit_head())
    }
    fn append_audit(&self, rows: &[AuditRow]) -> Result<()> {
        each!(self, s => s.append_audit(rows))
    }
    fn append_audit_with(
        &self,
        link: &mut dyn FnMut(Option<(u64, Vec<u8>)>) -> Vec<AuditRow>,
    ) -> Result<()> {
        each!(self, s => s.append_audit_with(link))
    }
    fn read_audit(&self, from_seq: u64, limit: usize) -> Result<Vec<AuditRow>> {
        each!(self, s => s.read_audit(from_seq, limit))
    }
    fn lookup_audit(&self, account: &AccountId, query: &AuditQuery) -> Result<Vec<AuditRow>> {
        each!(self, s => s.lookup_audit(account, query))
    }
    fn index_audit(&self, max: usize) -> Result<usize> {
        each!(self, s => s.index_audit(max))
    }
    fn put_checkpoint(&self, checkpoint: &CheckpointRow) -> Result<()> {
        each!(self, s => s.put_checkpoint(checkpoint))
    }
    fn list_checkpoints(&self) -> Result<Vec<CheckpointRow>> {
        each!(self, s => s.list_checkpoints())
    }
    fn lost_changes(&self) -> Result<Vec<LostChanges>> {
        each!(self, s => s.lost_changes())
    }
    fn settle_lost_changes(&self, lost: &[LostChanges]) -> Result<()> {
        each!(self, s => s.settle_lost_changes(lost))
    }
}
