//! [`KmsStore`] for every backend, written once: a key's metadata columns, its version
//! history and its aliases, each method one transaction of the backend's ([`Transactions`]),
//! which joins a `Store::atomically` block when called inside one.
//!
//! A version is keyed by (key id, version): two rotations adding the same version at once
//! meet the primary key and one gets `Conflict`. An alias name is the primary key of its
//! scope. Destroying a key deletes its row; its versions (the wrapped material) and aliases
//! go with it by their foreign keys' `ON DELETE CASCADE`, and are deleted explicitly too, so
//! nothing depends on the engine enforcing them.

use tresor_types::Timestamp;

use super::keys::put_kms_key_with;
use super::{params, sql, Db, Row, Transactions};
use crate::codec::{millis, parse_scope, tags_from_json, tags_to_json};
use crate::{
    KeyManager, KeyVersionOrigin, KmsAliasRecord, KmsKeyMeta, KmsKeyRecord, KmsKeyState,
    KmsKeyVersionInfo, KmsStore, Missing, Result, Scope, StoreError,
};

fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("a stored KMS key's {what} is unknown"))
}

fn as_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn meta_from_row(row: &dyn Row) -> Result<KmsKeyMeta> {
    Ok(KmsKeyMeta {
        state: KmsKeyState::parse(&row.text(0)?).ok_or_else(|| corrupt("state"))?,
        deletion_date: row.opt_int(1)?.map(Timestamp),
        key_manager: KeyManager::parse(&row.text(2)?).ok_or_else(|| corrupt("manager"))?,
        policy: row.opt_text(3)?,
        tags: tags_from_json(&row.text(4)?)?,
        rotation_enabled: row.bool(5)?,
        rotation_period_days: u32::try_from(row.int(6)?).map_err(|_| corrupt("period"))?,
        next_rotation: row.opt_int(7)?.map(Timestamp),
    })
}

fn get_meta(db: &mut dyn Db, scope: &Scope, key_id: &str) -> Result<Option<KmsKeyMeta>> {
    db.query_opt(
        sql!(
            "SELECT key_state, deletion_date, key_manager, policy, tags_json, rotation_enabled,
                    rotation_period_days, next_rotation
             FROM kms_keys WHERE account = $1 AND region = $2 AND key_id = $3"
        ),
        params![scope.account.as_str(), scope.region.as_str(), key_id],
        meta_from_row,
    )
}

fn key_exists(db: &mut dyn Db, scope: &Scope, key_id: &str) -> Result<bool> {
    db.exists(
        sql!("SELECT 1 FROM kms_keys WHERE account = $1 AND region = $2 AND key_id = $3"),
        params![scope.account.as_str(), scope.region.as_str(), key_id],
    )
}

fn put_meta(db: &mut dyn Db, scope: &Scope, key_id: &str, meta: &KmsKeyMeta) -> Result<()> {
    let tags = tags_to_json(&meta.tags)?;
    let changed = db.execute(
        sql!(
            "UPDATE kms_keys SET key_state = $4, deletion_date = $5, key_manager = $6,
                 policy = $7, tags_json = $8, rotation_enabled = $9,
                 rotation_period_days = $10, next_rotation = $11
             WHERE account = $1 AND region = $2 AND key_id = $3"
        ),
        params![
            scope.account.as_str(),
            scope.region.as_str(),
            key_id,
            meta.state.as_str(),
            meta.deletion_date.map(millis),
            meta.key_manager.as_str(),
            meta.policy.as_deref(),
            tags.as_str(),
            meta.rotation_enabled,
            i64::from(meta.rotation_period_days),
            meta.next_rotation.map(millis),
        ],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound(Missing::KmsKey(key_id.to_owned())));
    }
    Ok(())
}

fn set_description(db: &mut dyn Db, scope: &Scope, key_id: &str, description: &str) -> Result<()> {
    let changed = db.execute(
        sql!(
            "UPDATE kms_keys SET description = $4
             WHERE account = $1 AND region = $2 AND key_id = $3"
        ),
        params![
            scope.account.as_str(),
            scope.region.as_str(),
            key_id,
            description
        ],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound(Missing::KmsKey(key_id.to_owned())));
    }
    Ok(())
}

fn add_version(
    db: &mut dyn Db,
    scope: &Scope,
    key_id: &str,
    info: &KmsKeyVersionInfo,
    wrapped: &[u8],
) -> Result<()> {
    if !key_exists(db, scope, key_id)? {
        return Err(StoreError::NotFound(Missing::KmsKey(key_id.to_owned())));
    }
    db.execute(
        sql!(
            "INSERT INTO kms_key_versions (key_id, version, wrapped, created, origin)
             VALUES ($1, $2, $3, $4, $5)"
        ),
        params![
            key_id,
            i64::from(info.version),
            wrapped,
            millis(info.created),
            info.origin.as_str(),
        ],
    )?;
    Ok(())
}

fn versions(db: &mut dyn Db, scope: &Scope, key_id: &str) -> Result<Vec<KmsKeyVersionInfo>> {
    if !key_exists(db, scope, key_id)? {
        return Ok(Vec::new());
    }
    db.query(
        sql!(
            "SELECT version, created, origin FROM kms_key_versions
             WHERE key_id = $1 ORDER BY version"
        ),
        params![key_id],
        |row| {
            Ok(KmsKeyVersionInfo {
                version: u32::try_from(row.int(0)?).map_err(|_| corrupt("version"))?,
                created: Timestamp(row.int(1)?),
                origin: KeyVersionOrigin::parse(&row.text(2)?)
                    .ok_or_else(|| corrupt("version origin"))?,
            })
        },
    )
}

fn destroy(db: &mut dyn Db, scope: &Scope, key_id: &str) -> Result<bool> {
    if !key_exists(db, scope, key_id)? {
        return Ok(false);
    }
    db.execute(
        sql!("DELETE FROM kms_key_versions WHERE key_id = $1"),
        params![key_id],
    )?;
    db.execute(
        sql!("DELETE FROM kms_aliases WHERE key_id = $1"),
        params![key_id],
    )?;
    db.execute(
        sql!("DELETE FROM kms_keys WHERE key_id = $1"),
        params![key_id],
    )?;
    Ok(true)
}

fn alias_from_row(row: &dyn Row) -> Result<KmsAliasRecord> {
    Ok(KmsAliasRecord {
        scope: parse_scope(&row.text(0)?, &row.text(1)?)?,
        name: row.text(2)?,
        key_id: row.text(3)?,
        created: Timestamp(row.int(4)?),
        updated: Timestamp(row.int(5)?),
    })
}

fn create_alias(db: &mut dyn Db, alias: &KmsAliasRecord) -> Result<()> {
    if !key_exists(db, &alias.scope, &alias.key_id)? {
        return Err(StoreError::NotFound(Missing::KmsKey(alias.key_id.clone())));
    }
    let inserted = db.execute(
        sql!(
            "INSERT INTO kms_aliases (account, region, name, key_id, created, updated)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING"
        ),
        params![
            alias.scope.account.as_str(),
            alias.scope.region.as_str(),
            &alias.name,
            &alias.key_id,
            millis(alias.created),
            millis(alias.updated),
        ],
    )?;
    if inserted == 0 {
        return Err(StoreError::Conflict);
    }
    Ok(())
}

fn get_alias(db: &mut dyn Db, scope: &Scope, name: &str) -> Result<Option<KmsAliasRecord>> {
    db.query_opt(
        sql!(
            "SELECT account, region, name, key_id, created, updated FROM kms_aliases
             WHERE account = $1 AND region = $2 AND name = $3"
        ),
        params![scope.account.as_str(), scope.region.as_str(), name],
        alias_from_row,
    )
}

fn update_alias(
    db: &mut dyn Db,
    scope: &Scope,
    name: &str,
    key_id: &str,
    now: Timestamp,
) -> Result<bool> {
    if !key_exists(db, scope, key_id)? {
        return Err(StoreError::NotFound(Missing::KmsKey(key_id.to_owned())));
    }
    let changed = db.execute(
        sql!(
            "UPDATE kms_aliases SET key_id = $4, updated = $5
             WHERE account = $1 AND region = $2 AND name = $3"
        ),
        params![
            scope.account.as_str(),
            scope.region.as_str(),
            name,
            key_id,
            millis(now),
        ],
    )?;
    Ok(changed > 0)
}

fn delete_alias(db: &mut dyn Db, scope: &Scope, name: &str) -> Result<bool> {
    let deleted = db.execute(
        sql!("DELETE FROM kms_aliases WHERE account = $1 AND region = $2 AND name = $3"),
        params![scope.account.as_str(), scope.region.as_str(), name],
    )?;
    Ok(deleted > 0)
}

fn list_aliases(
    db: &mut dyn Db,
    scope: &Scope,
    key_id: Option<&str>,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<KmsAliasRecord>> {
    db.query(
        sql!(
            "SELECT account, region, name, key_id, created, updated FROM kms_aliases
             WHERE account = $1 AND region = $2 AND (CAST($3 AS TEXT) IS NULL OR key_id = $3)
               AND (CAST($4 AS TEXT) IS NULL OR name > $4)
             ORDER BY name LIMIT $5"
        ),
        params![
            scope.account.as_str(),
            scope.region.as_str(),
            key_id,
            after,
            as_i64(limit),
        ],
        alias_from_row,
    )
}

fn list_keys(
    db: &mut dyn Db,
    scope: &Scope,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<(String, String)>> {
    db.query(
        sql!(
            "SELECT key_id, arn FROM kms_keys
             WHERE account = $1 AND region = $2 AND (CAST($3 AS TEXT) IS NULL OR key_id > $3)
             ORDER BY key_id LIMIT $4"
        ),
        params![
            scope.account.as_str(),
            scope.region.as_str(),
            after,
            as_i64(limit),
        ],
        |row| Ok((row.text(0)?, row.text(1)?)),
    )
}

fn keys_due_for_destruction(
    db: &mut dyn Db,
    now: Timestamp,
    limit: usize,
) -> Result<Vec<(Scope, String)>> {
    db.query(
        sql!(
            "SELECT account, region, key_id FROM kms_keys
             WHERE key_state = 'PendingDeletion' AND deletion_date <= $1
             ORDER BY deletion_date, key_id LIMIT $2"
        ),
        params![now.0, as_i64(limit)],
        |row| Ok((parse_scope(&row.text(0)?, &row.text(1)?)?, row.text(2)?)),
    )
}

impl<S: Transactions> KmsStore for S {
    fn create_kms_key(&self, key: &KmsKeyRecord, meta: &KmsKeyMeta) -> Result<()> {
        self.write_db(|db| put_kms_key_with(db, key, meta))
    }

    fn get_kms_key_meta(&self, scope: &Scope, key_id: &str) -> Result<Option<KmsKeyMeta>> {
        self.read_db(|db| get_meta(db, scope, key_id))
    }

    fn put_kms_key_meta(&self, scope: &Scope, key_id: &str, meta: &KmsKeyMeta) -> Result<()> {
        self.write_db(|db| put_meta(db, scope, key_id, meta))
    }

    fn set_kms_key_description(
        &self,
        scope: &Scope,
        key_id: &str,
        description: &str,
    ) -> Result<()> {
        self.write_db(|db| set_description(db, scope, key_id, description))
    }

    fn add_kms_key_version(
        &self,
        scope: &Scope,
        key_id: &str,
        info: &KmsKeyVersionInfo,
        wrapped: &[u8],
    ) -> Result<()> {
        self.write_db(|db| add_version(db, scope, key_id, info, wrapped))
    }

    fn kms_key_versions(&self, scope: &Scope, key_id: &str) -> Result<Vec<KmsKeyVersionInfo>> {
        self.read_db(|db| versions(db, scope, key_id))
    }

    fn list_kms_keys(
        &self,
        scope: &Scope,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>> {
        self.read_db(|db| list_keys(db, scope, after, limit))
    }

    fn destroy_kms_key(&self, scope: &Scope, key_id: &str) -> Result<bool> {
        self.write_db(|db| destroy(db, scope, key_id))
    }

    fn kms_keys_due_for_destruction(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<(Scope, String)>> {
        self.read_db(|db| keys_due_for_destruction(db, now, limit))
    }

    fn create_kms_alias(&self, alias: &KmsAliasRecord) -> Result<()> {
        self.write_db(|db| create_alias(db, alias))
    }

    fn get_kms_alias(&self, scope: &Scope, name: &str) -> Result<Option<KmsAliasRecord>> {
        self.read_db(|db| get_alias(db, scope, name))
    }

    fn update_kms_alias(
        &self,
        scope: &Scope,
        name: &str,
        key_id: &str,
        now: Timestamp,
    ) -> Result<bool> {
        self.write_db(|db| update_alias(db, scope, name, key_id, now))
    }

    fn delete_kms_alias(&self, scope: &Scope, name: &str) -> Result<bool> {
        self.write_db(|db| delete_alias(db, scope, name))
    }

    fn list_kms_aliases(
        &self,
        scope: &Scope,
        key_id: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<KmsAliasRecord>> {
        self.read_db(|db| list_aliases(db, scope, key_id, after, limit))
    }
}
