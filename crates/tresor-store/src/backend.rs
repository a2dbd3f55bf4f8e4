//! The backend chosen at start-up. Callers hold a `Backend` and never name a concrete store:
//! SQLite (one file) or PostgreSQL (any number of nodes on one database).

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

impl Store for Backend {
    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        each!(self, s => s.get_meta(key))
    }
    fn init_meta(&self, entries: &[(&str, Vec<u8>)]) -> Result<()> {
        each!(self, s => s.init_meta(entries))
    }
    fn put_access_key(&self, key: &AccessKeyRecord) -> Result<()> {
        each!(self, s => s.put_access_key(key))
    }
    fn get_access_key(&self, access_key_id: &str) -> Result<Option<AccessKeyRecord>> {
        each!(self, s => s.get_access_key(access_key_id))
    }
    fn put_kms_key(&self, key: &KmsKeyRecord) -> Result<()> {
        each!(self, s => s.put_kms_key(key))
    }
    fn get_kms_key(&self, scope: &Scope, key_id: &str) -> Result<Option<KmsKeyRecord>> {
        each!(self, s => s.get_kms_key(scope, key_id))
    }
    fn get_kms_key_by_alias(&self, scope: &Scope, alias: &str) -> Result<Option<KmsKeyRecord>> {
        each!(self, s => s.get_kms_key_by_alias(scope, alias))
    }
    fn create_secret(&self, record: &SecretRecord, first: Option<&SealedVersion>) -> Result<()> {
        each!(self, s => s.create_secret(record, first))
    }
    fn find_secret_by_arn(&self, arn: &str) -> Result<Option<SecretRecord>> {
        each!(self, s => s.find_secret_by_arn(arn))
    }
    fn find_secret_by_name(&self, scope: &Scope, name: &str) -> Result<Option<SecretRecord>> {
        each!(self, s => s.find_secret_by_name(scope, name))
    }
    fn find_secret_labelled(
        &self,
        key: SecretKey<'_>,
        version_id: Option<&str>,
    ) -> Result<Option<SecretRecord>> {
        each!(self, s => s.find_secret_labelled(key, version_id))
    }
    fn read_envelope(&self, arn: &str, version_id: &str) -> Result<Option<Vec<u8>>> {
        each!(self, s => s.read_envelope(arn, version_id))
    }

    fn find_secret_value(
        &self,
        key: SecretKey<'_>,
        pick: VersionPick<'_>,
    ) -> Result<Option<(SecretRecord, Option<SealedValue>)>> {
        each!(self, s => s.find_secret_value(key, pick))
    }
    fn update_secret<T, E, F>(&self, arn: &str, f: F) -> Result<T, E>
    where
        F: FnMut(&mut SecretTxn) -> Result<T, E>,
        E: From<StoreError>,
    {
        each!(self, s => s.update_secret(arn, f))
    }
    fn add_secret_version<T, E, F>(
        &self,
        arn: &str,
        version_id: &str,
        prune: VersionPruning,
        f: F,
    ) -> Result<T, E>
    where
        F: FnMut(&mut SecretTxn) -> Result<T, E>,
        E: From<StoreError>,
    {
        each!(self, s => s.add_secret_version(arn, version_id, prune, f))
    }
    fn touch_secret(&self, arn: &str, version_id: &str, day: Timestamp) -> Result<()> {
        each!(self, s => s.touch_secret(arn, version_id, day))
    }
    fn purge_secret(&self, arn: &str) -> Result<()> {
        each!(self, s => s.purge_secret(arn))
    }
    fn list_secrets_ordered(
        &self,
        scope: &Scope,
        order: ListOrder,
        after: Option<&ListCursor>,
        limit: usize,
    ) -> Result<Vec<SecretRecord>> {
        each!(self, s => s.list_secrets_ordered(scope, order, after, limit))
    }
    fn expired_deletions(&self, now: Timestamp) -> Result<Vec<String>> {
        each!(self, s => s.expired_deletions(now))
    }
    fn atomically<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce() -> Result<T, E>,
        E: From<StoreError>,
    {
        each!(self, s => s.atomically(f))
    }

    fn reading<T>(&self, f: impl FnOnce() -> T) -> T {
        each!(self, s => s.reading(f))
    }
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

impl Transfer for Backend {
    fn all_meta(&self) -> Result<Vec<(String, Vec<u8>)>> {
        each!(self, s => s.all_meta())
    }
    fn access_key_ids(&self) -> Result<Vec<String>> {
        each!(self, s => s.access_key_ids())
    }
    fn kms_key_ids(&self) -> Result<Vec<(Scope, String)>> {
        each!(self, s => s.kms_key_ids())
    }
    fn secret_arns(&self) -> Result<Vec<String>> {
        each!(self, s => s.secret_arns())
    }
    fn identity_accounts(&self) -> Result<Vec<AccountId>> {
        each!(self, s => s.identity_accounts())
    }
    fn is_empty(&self) -> Result<bool> {
        each!(self, s => s.is_empty())
    }
}
