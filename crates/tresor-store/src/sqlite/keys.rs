//! Store metadata, access keys and KMS keys.

use rusqlite::{params, Connection, OptionalExtension};

use super::{millis, parse_account};
use crate::{AccessKeyRecord, AccessKeyStatus, KmsKeyRecord, Result, Scope, StoreError};
use tresor_types::Timestamp;

// ---- metadata ----

pub(super) fn get_meta(conn: &Connection, key: &str) -> Result<Option<Vec<u8>>> {
    let value = conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |row| row.get(0))
        .optional()?;
    Ok(value)
}

pub(super) fn init_meta(conn: &Connection, entries: &[(&str, Vec<u8>)]) -> Result<()> {
    // The caller's transaction makes the check and the inserts one unit: on error nothing of
    // it is committed.
    for (key, _) in entries {
        if get_meta(conn, key)?.is_some() {
            return Err(StoreError::AlreadyInitialized);
        }
    }
    let mut insert = conn.prepare_cached("INSERT INTO meta (key, value) VALUES (?1, ?2)")?;
    for (key, value) in entries {
        insert.execute(params![key, value])?;
    }
    Ok(())
}

// ---- access keys ----

pub(super) fn put_access_key(conn: &Connection, key: &AccessKeyRecord) -> Result<()> {
    let exists = conn
        .prepare_cached("SELECT 1 FROM access_keys WHERE access_key_id = ?1")?
        .exists([&key.access_key_id])?;
    if exists {
        return Err(StoreError::Conflict);
    }
    conn.prepare_cached(
        "INSERT INTO access_keys
             (access_key_id, account, principal_arn, user_name, sealed_secret, status, created)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        key.access_key_id,
        key.account.as_str(),
        key.principal_arn,
        key.user_name,
        key.sealed_secret,
        key.status.as_str(),
        millis(key.created),
    ])?;
    Ok(())
}

pub(super) fn get_access_key(
    conn: &Connection,
    access_key_id: &str,
) -> Result<Option<AccessKeyRecord>> {
    let row = conn
        .prepare_cached(
            "SELECT account, principal_arn, user_name, sealed_secret, status, created
             FROM access_keys WHERE access_key_id = ?1",
        )?
        .query_row([access_key_id], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, Option<String>>(2)?,
                row.get::<_, Vec<u8>>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, i64>(5)?,
            ))
        })
        .optional()?;
    let Some((account, principal_arn, user_name, sealed_secret, status, created)) = row else {
        return Ok(None);
    };
    let status = match status.as_str() {
        "Active" => AccessKeyStatus::Active,
        "Inactive" => AccessKeyStatus::Inactive,
        _ => {
            return Err(StoreError::Backend(
                "a stored access key status is unknown".to_owned(),
            ))
        }
    };
    Ok(Some(AccessKeyRecord {
        access_key_id: access_key_id.to_owned(),
        account: parse_account(&account)?,
        principal_arn,
        user_name,
        sealed_secret,
        status,
        created: Timestamp(created),
    }))
}

// ---- KMS keys ----

pub(super) fn put_kms_key(conn: &Connection, key: &KmsKeyRecord) -> Result<()> {
    let id_taken = conn
        .prepare_cached("SELECT 1 FROM kms_keys WHERE key_id = ?1 OR arn = ?2")?
        .exists([&key.key_id, &key.arn])?;
    if id_taken {
        return Err(StoreError::Conflict);
    }
    if let Some(alias) = &key.alias {
        let alias_taken = conn
            .prepare_cached(
                "SELECT 1 FROM kms_keys WHERE account = ?1 AND region = ?2 AND alias = ?3",
            )?
            .exists(params![
                key.scope.account.as_str(),
                key.scope.region.as_str(),
                alias
            ])?;
        if alias_taken {
            return Err(StoreError::Conflict);
        }
    }
    conn.prepare_cached(
        "INSERT INTO kms_keys (key_id, account, region, arn, alias, description, created)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        key.key_id,
        key.scope.account.as_str(),
        key.scope.region.as_str(),
        key.arn,
        key.alias,
        key.description,
        millis(key.created),
    ])?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO kms_key_versions (key_id, version, wrapped) VALUES (?1, ?2, ?3)",
    )?;
    for (version, wrapped) in &key.versions {
        insert.execute(params![key.key_id, version, wrapped])?;
    }
    Ok(())
}

/// How a KMS key is looked up within a scope.
#[derive(Debug, Clone, Copy)]
pub(super) enum KmsLookup<'a> {
    Id(&'a str),
    Alias(&'a str),
}

pub(super) fn get_kms_key(
    conn: &Connection,
    scope: &Scope,
    lookup: KmsLookup<'_>,
) -> Result<Option<KmsKeyRecord>> {
    let (sql, value) = match lookup {
        KmsLookup::Id(id) => (
            "SELECT key_id, arn, alias, description, created FROM kms_keys
             WHERE account = ?1 AND region = ?2 AND key_id = ?3",
            id,
        ),
        KmsLookup::Alias(alias) => (
            "SELECT key_id, arn, alias, description, created FROM kms_keys
             WHERE account = ?1 AND region = ?2 AND alias = ?3",
            alias,
        ),
    };
    let row = conn
        .prepare_cached(sql)?
        .query_row(
            params![scope.account.as_str(), scope.region.as_str(), value],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, Option<String>>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, i64>(4)?,
                ))
            },
        )
        .optional()?;
    let Some((key_id, arn, alias, description, created)) = row else {
        return Ok(None);
    };
    let versions = conn
        .prepare_cached(
            "SELECT version, wrapped FROM kms_key_versions WHERE key_id = ?1 ORDER BY version",
        )?
        .query_map([&key_id], |row| {
            Ok((row.get::<_, u32>(0)?, row.get::<_, Vec<u8>>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Some(KmsKeyRecord {
        scope: scope.clone(),
        key_id,
        arn,
        alias,
        description,
        created: Timestamp(created),
        versions,
    }))
}
