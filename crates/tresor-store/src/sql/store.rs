//! [`Store`] for every backend, written once: each method is one operation of [`keys`] or
//! [`secrets`] in one transaction of the backend's ([`Transactions`]).

use tresor_types::Timestamp;

use super::{keys, secrets, Transactions};
use crate::{
    AccessKeyRecord, KmsKeyRecord, ListCursor, ListOrder, Missing, Result, Scope, SealedValue,
    SealedVersion, SecretKey, SecretRecord, SecretTxn, Store, StoreError, VersionPick,
    VersionPruning,
};

impl<S: Transactions> Store for S {
    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.read_db(|db| keys::get_meta(db, key))
    }

    fn init_meta(&self, entries: &[(&str, Vec<u8>)]) -> Result<()> {
        self.write_db(|db| keys::init_meta(db, entries))
    }

    fn replace_meta(&self, key: &str, expected: &[u8], new: &[u8]) -> Result<()> {
        self.write_db(|db| keys::replace_meta(db, key, expected, new))
    }

    fn put_access_key(&self, key: &AccessKeyRecord) -> Result<()> {
        self.write_db(|db| keys::put_access_key(db, key))
    }

    fn get_access_key(&self, access_key_id: &str) -> Result<Option<AccessKeyRecord>> {
        self.read_db(|db| keys::get_access_key(db, access_key_id))
    }

    fn put_kms_key(&self, key: &KmsKeyRecord) -> Result<()> {
        self.write_db(|db| keys::put_kms_key(db, key))
    }

    fn get_kms_key(&self, scope: &Scope, key_id: &str) -> Result<Option<KmsKeyRecord>> {
        self.read_db(|db| keys::get_kms_key(db, scope, keys::KmsLookup::Id(key_id)))
    }

    fn get_kms_key_by_alias(&self, scope: &Scope, alias: &str) -> Result<Option<KmsKeyRecord>> {
        self.read_db(|db| keys::get_kms_key(db, scope, keys::KmsLookup::Alias(alias)))
    }

    fn create_secret(&self, record: &SecretRecord, first: Option<&SealedVersion>) -> Result<()> {
        self.write_db(|db| secrets::create(db, record, first))
    }

    fn find_secret_by_arn(&self, arn: &str) -> Result<Option<SecretRecord>> {
        self.read_db(|db| Ok(secrets::load_by_arn(db, arn, false)?.map(|(_, record)| record)))
    }

    fn find_secret_by_name(&self, scope: &Scope, name: &str) -> Result<Option<SecretRecord>> {
        self.read_db(|db| secrets::load_by_name(db, scope, name))
    }

    fn find_secret_labelled(
        &self,
        key: SecretKey<'_>,
        version_id: Option<&str>,
    ) -> Result<Option<SecretRecord>> {
        self.read_db(|db| {
            Ok(secrets::load_labelled(db, key, version_id, false)?.map(|(_, record)| record))
        })
    }

    fn find_secret_value(
        &self,
        key: SecretKey<'_>,
        pick: VersionPick<'_>,
    ) -> Result<Option<(SecretRecord, Option<SealedValue>)>> {
        self.read_db(|db| secrets::load_picked(db, key, pick))
    }

    fn read_envelope(&self, arn: &str, version_id: &str) -> Result<Option<Vec<u8>>> {
        self.read_db(|db| secrets::read_envelope(db, arn, version_id))
    }

    fn update_secret<T, E, F>(&self, arn: &str, mut f: F) -> Result<T, E>
    where
        F: FnMut(&mut SecretTxn) -> Result<T, E>,
        E: From<StoreError>,
    {
        // The secret's row is locked (PostgreSQL's `FOR UPDATE`; SQLite has one writer) before
        // its versions are read, so nothing can change it between the read and the write; `f`
        // reruns only after a deadlock.
        self.write_db(|db| {
            let (id, before) = secrets::load_by_arn(db, arn, true)?
                .ok_or(StoreError::NotFound(Missing::Secret))?;
            let mut txn = SecretTxn::new(before.clone());
            let out = f(&mut txn)?;
            secrets::write_changes(db, id, &before, &txn)?;
            Ok(out)
        })
    }

    fn add_secret_version<T, E, F>(
        &self,
        arn: &str,
        version_id: &str,
        prune: VersionPruning,
        mut f: F,
    ) -> std::result::Result<T, E>
    where
        F: FnMut(&mut SecretTxn) -> std::result::Result<T, E>,
        E: From<StoreError>,
    {
        // As `update_secret`: the secret's row is locked before its versions are read.
        self.write_db(|db| {
            let (id, before, stored) = secrets::load_for_new_version(db, arn, version_id)?
                .ok_or(StoreError::NotFound(Missing::Secret))?;
            let unloaded = stored.saturating_sub(before.versions.len());
            let mut txn = SecretTxn::partial(before.clone(), unloaded);
            let out = f(&mut txn)?;
            secrets::write_changes(db, id, &before, &txn)?;
            secrets::prune_versions(db, id, prune, txn.stored_versions())?;
            Ok(out)
        })
    }

    fn touch_secret(&self, arn: &str, version_id: &str, day: Timestamp) -> Result<()> {
        // Most reads happen on a day already recorded: answer those without writing.
        if self.read_db(|db| secrets::is_touched(db, arn, version_id, day))? {
            return Ok(());
        }
        self.write_db(|db| secrets::touch(db, arn, version_id, day))
    }

    fn purge_secret(&self, arn: &str) -> Result<()> {
        self.write_db(|db| secrets::purge(db, arn))
    }

    fn list_secrets_ordered(
        &self,
        scope: &Scope,
        order: ListOrder,
        after: Option<&ListCursor>,
        limit: usize,
    ) -> Result<Vec<SecretRecord>> {
        self.read_db(|db| secrets::list(db, scope, order, after, limit))
    }

    fn expired_deletions(&self, now: Timestamp) -> Result<Vec<String>> {
        self.read_db(|db| secrets::expired_deletions(db, now))
    }

    fn atomically<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        F: FnOnce() -> std::result::Result<T, E>,
        E: From<StoreError>,
    {
        self.atomically_db(f)
    }

    fn reading<T>(&self, f: impl FnOnce() -> T) -> T {
        self.reading_db(f)
    }
}
