//! Store metadata, access keys and KMS keys, written once for both backends.

use tresor_types::Timestamp;

use super::{params, sql, Db, Row};
use crate::codec::{millis, parse_account, tags_to_json};
use crate::{
    AccessKeyRecord, AccessKeyStatus, KeyManager, KmsKeyMeta, KmsKeyRecord, Result, Scope,
    StoreError,
};

// ---- metadata ----

pub(crate) fn get_meta(db: &mut dyn Db, key: &str) -> Result<Option<Vec<u8>>> {
    db.query_opt(
        sql!("SELECT value FROM meta WHERE key = $1"),
        params![key],
        |row| row.blob(0),
    )
}

pub(crate) fn init_meta(db: &mut dyn Db, entries: &[(&str, Vec<u8>)]) -> Result<()> {
    // The caller's transaction makes the check and the inserts one unit: on error nothing of
    // it is committed. Two PostgreSQL nodes initializing at once: the loser's insert meets the
    // winner's key (SQLite has one writer, so it cannot).
    for (key, _) in entries {
        if get_meta(db, key)?.is_some() {
            return Err(StoreError::AlreadyInitialized);
        }
    }
    for (key, value) in entries {
        let inserted = db.execute(
            sql!(
                pg: "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                lite: "INSERT INTO meta (key, value) VALUES ($1, $2)",
            ),
            params![*key, value],
        )?;
        if inserted == 0 {
            return Err(StoreError::AlreadyInitialized);
        }
    }
    Ok(())
}

pub(crate) fn replace_meta(db: &mut dyn Db, key: &str, expected: &[u8], new: &[u8]) -> Result<()> {
    // One conditional UPDATE: two rekeys racing on PostgreSQL cannot both win, as the loser's
    // WHERE no longer matches once the winner's row is written.
    let changed = db.execute(
        sql!("UPDATE meta SET value = $1 WHERE key = $2 AND value = $3"),
        params![new, key, expected],
    )?;
    if changed == 0 {
        return Err(StoreError::Conflict);
    }
    Ok(())
}

// ---- access keys ----

pub(crate) fn put_access_key(db: &mut dyn Db, key: &AccessKeyRecord) -> Result<()> {
    let inserted = db.execute(
        sql!(
            "INSERT INTO access_keys
                 (access_key_id, account, principal_arn, user_name, sealed_secret, status,
                  created)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT DO NOTHING"
        ),
        params![
            &key.access_key_id,
            key.account.as_str(),
            &key.principal_arn,
            &key.user_name,
            &key.sealed_secret,
            key.status.as_str(),
            millis(key.created),
        ],
    )?;
    if inserted == 0 {
        return Err(StoreError::Conflict);
    }
    Ok(())
}

pub(crate) fn get_access_key(
    db: &mut dyn Db,
    access_key_id: &str,
) -> Result<Option<AccessKeyRecord>> {
    db.query_opt(
        sql!(
            "SELECT account, principal_arn, user_name, sealed_secret, status, created
             FROM access_keys WHERE access_key_id = $1"
        ),
        params![access_key_id],
        |row| {
            let status = match row.text(4)?.as_str() {
                "Active" => AccessKeyStatus::Active,
                "Inactive" => AccessKeyStatus::Inactive,
                _ => {
                    return Err(StoreError::Backend(
                        "a stored access key status is unknown".to_owned(),
                    ))
                }
            };
            Ok(AccessKeyRecord {
                access_key_id: access_key_id.to_owned(),
                account: parse_account(&row.text(0)?)?,
                principal_arn: row.text(1)?,
                user_name: row.opt_text(2)?,
                sealed_secret: row.blob(3)?,
                status,
                created: Timestamp(row.int(5)?),
            })
        },
    )
}

// ---- KMS keys ----

pub(crate) fn put_kms_key(db: &mut dyn Db, key: &KmsKeyRecord) -> Result<()> {
    // The key's alias, if it has one, lives in `kms_aliases` (the `alias` column stays empty
    // since the KMS key migration); a key created here with an `alias/aws/…` alias is the
    // managed key AWS would create.
    let manager = match &key.alias {
        Some(alias) if alias.starts_with("alias/aws/") => KeyManager::Aws,
        _ => KeyManager::Customer,
    };
    put_kms_key_with(
        db,
        key,
        &KmsKeyMeta {
            key_manager: manager,
            policy: None,
            ..KmsKeyMeta::customer(String::new())
        },
    )
}

/// Insert a key, its versions and its alias. Every uniqueness rule (id, ARN, alias in the
/// scope) is a constraint: a taken one is a unique violation, which is `Conflict`, and the
/// transaction writes nothing.
pub(crate) fn put_kms_key_with(
    db: &mut dyn Db,
    key: &KmsKeyRecord,
    meta: &KmsKeyMeta,
) -> Result<()> {
    db.execute(
        sql!(
            "INSERT INTO kms_keys
                 (key_id, account, region, arn, alias, description, created, key_state,
                  deletion_date, key_manager, policy, tags_json, rotation_enabled,
                  rotation_period_days, next_rotation)
             VALUES ($1, $2, $3, $4, NULL, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ),
        params![
            &key.key_id,
            key.scope.account.as_str(),
            key.scope.region.as_str(),
            &key.arn,
            &key.description,
            millis(key.created),
            meta.state.as_str(),
            meta.deletion_date.map(millis),
            meta.key_manager.as_str(),
            meta.policy.as_deref(),
            tags_to_json(&meta.tags)?.as_str(),
            meta.rotation_enabled,
            i64::from(meta.rotation_period_days),
            meta.next_rotation.map(millis),
        ],
    )?;
    for (version, wrapped) in &key.versions {
        db.execute(
            sql!(
                "INSERT INTO kms_key_versions (key_id, version, wrapped, created, origin)
                 VALUES ($1, $2, $3, $4, 'CREATED')"
            ),
            params![
                &key.key_id,
                i64::from(*version),
                wrapped,
                millis(key.created)
            ],
        )?;
    }
    if let Some(alias) = &key.alias {
        db.execute(
            sql!(
                "INSERT INTO kms_aliases (account, region, name, key_id, created, updated)
                 VALUES ($1, $2, $3, $4, $5, $5)"
            ),
            params![
                key.scope.account.as_str(),
                key.scope.region.as_str(),
                alias.as_str(),
                &key.key_id,
                millis(key.created),
            ],
        )?;
    }
    Ok(())
}

/// How a KMS key is looked up within a scope.
#[derive(Debug, Clone, Copy)]
pub(crate) enum KmsLookup<'a> {
    Id(&'a str),
    Alias(&'a str),
}

pub(crate) fn get_kms_key(
    db: &mut dyn Db,
    scope: &Scope,
    lookup: KmsLookup<'_>,
) -> Result<Option<KmsKeyRecord>> {
    let (sql, value) = match lookup {
        KmsLookup::Id(id) => (
            sql!(
                "SELECT k.key_id, k.arn,
                        (SELECT MIN(a.name) FROM kms_aliases a WHERE a.key_id = k.key_id),
                        k.description, k.created
                 FROM kms_keys k
                 WHERE k.account = $1 AND k.region = $2 AND k.key_id = $3"
            ),
            id,
        ),
        KmsLookup::Alias(alias) => (
            sql!(
                "SELECT k.key_id, k.arn,
                        (SELECT MIN(b.name) FROM kms_aliases b WHERE b.key_id = k.key_id),
                        k.description, k.created
                 FROM kms_aliases a JOIN kms_keys k ON k.key_id = a.key_id
                 WHERE a.account = $1 AND a.region = $2 AND a.name = $3"
            ),
            alias,
        ),
    };
    let found = db.query_opt(
        sql,
        params![scope.account.as_str(), scope.region.as_str(), value],
        |row: &dyn Row| {
            Ok(KmsKeyRecord {
                scope: scope.clone(),
                key_id: row.text(0)?,
                arn: row.text(1)?,
                alias: row.opt_text(2)?,
                description: row.text(3)?,
                created: Timestamp(row.int(4)?),
                versions: Vec::new(),
            })
        },
    )?;
    let Some(mut key) = found else {
        return Ok(None);
    };
    key.versions = db.query(
        sql!("SELECT version, wrapped FROM kms_key_versions WHERE key_id = $1 ORDER BY version"),
        params![&key.key_id],
        |row| {
            let version = u32::try_from(row.int(0)?).map_err(|_| {
                StoreError::Backend("a stored KMS key version is out of range".to_owned())
            })?;
            Ok((version, row.blob(1)?))
        },
    )?;
    Ok(Some(key))
}
