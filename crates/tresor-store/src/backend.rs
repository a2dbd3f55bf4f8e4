//! The backend chosen at start-up. Callers hold a `Backend` and never name a concrete store,
//! so adding PostgreSQL is one more variant here and nothing changes above.

use crate::*;

pub enum Backend {
    Sqlite(SqliteStore),
}

macro_rules! each {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            Backend::Sqlite($s) => $e,
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
    fn read_envelope(&self, arn: &str, version_id: &str) -> Result<Option<Vec<u8>>> {
        each!(self, s => s.read_envelope(arn, version_id))
    }
    fn update_secret<T, E, F>(&self, arn: &str, f: F) -> Result<T, E>
    where
        F: FnMut(&mut SecretTxn) -> Result<T, E>,
        E: From<StoreError>,
    {
        each!(self, s => s.update_secret(arn, f))
    }
    fn touch_secret(&self, arn: &str, version_id: &str, day: Timestamp) -> Result<()> {
        each!(self, s => s.touch_secret(arn, version_id, day))
    }
    fn purge_secret(&self, arn: &str) -> Result<()> {
        each!(self, s => s.purge_secret(arn))
    }
    fn list_secrets(
        &self,
        scope: &Scope,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<SecretRecord>> {
        each!(self, s => s.list_secrets(scope, after, limit))
    }
    fn expired_deletions(&self, now: Timestamp) -> Result<Vec<String>> {
        each!(self, s => s.expired_deletions(now))
    }
}
