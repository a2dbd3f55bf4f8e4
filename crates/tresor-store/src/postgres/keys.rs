//! Store metadata, access keys and KMS keys.

use tresor_types::Timestamp;

use super::conn::Conn;
use super::{millis, parse_account};
use crate::{AccessKeyRecord, AccessKeyStatus, KmsKeyRecord, Result, Scope, StoreError};

// ---- metadata ----

pub(super) fn get_meta(c: &mut Conn, key: &str) -> Result<Option<Vec<u8>>> {
    c.query_opt("SELECT value FROM meta WHERE key = $1", &[&key])?
        .map(|row| row.try_get(0))
        .transpose()
        .map_err(StoreError::from)
}

pub(super) fn init_meta(c: &mut Conn, entries: &[(&str, Vec<u8>)]) -> Result<()> {
    // The caller's transaction makes the check and the inserts one unit. Two nodes
    // initializing at once: the loser's insert meets the winner's key (a unique violation).
    for (key, _) in entries {
        if get_meta(c, key)?.is_some() {
            return Err(StoreError::AlreadyInitialized);
        }
    }
    for (key, value) in entries {
        let inserted = c.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[key, value],
        )?;
        if inserted == 0 {
            return Err(StoreError::AlreadyInitialized);
        }
    }
    Ok(())
}

// ---- access keys ----

pub(super) fn put_access_key(c: &mut Conn, key: &AccessKeyRecord) -> Result<()> {
    let inserted = c.execute(
        "INSERT INTO access_keys
             (access_key_id, account, principal_arn, user_name, sealed_secret, status, created)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT DO NOTHING",
        &[
            &key.access_key_id,
            &key.account.as_str(),
            &key.principal_arn,
            &key.user_name,
            &key.sealed_secret,
            &key.status.as_str(),
            &millis(key.created),
        ],
    )?;
    if inserted == 0 {
        return Err(StoreError::Conflict);
    }
    Ok(())
}

pub(super) fn get_access_key(c: &mut Conn, access_key_id: &str) -> Result<Option<AccessKeyRecord>> {
    let Some(row) = c.query_opt(
        "SELECT account, principal_arn, user_name, sealed_secret, status, created
         FROM access_keys WHERE access_key_id = $1",
        &[&access_key_id],
    )?
    else {
        return Ok(None);
    };
    let status: String = row.try_get(4)?;
    let status = match status.as_str() {
        "Active" => AccessKeyStatus::Active,
        "Inactive" => AccessKeyStatus::Inactive,
        _ => {
            return Err(StoreError::Backend(
                "a stored access key status is unknown".to_owned(),
            ))
        }
    };
    let account: String = row.try_get(0)?;
    Ok(Some(AccessKeyRecord {
        access_key_id: access_key_id.to_owned(),
        account: parse_account(&account)?,
        principal_arn: row.try_get(1)?,
        user_name: row.try_get(2)?,
        sealed_secret: row.try_get(3)?,
        status,
        created: Timestamp(row.try_get(5)?),
    }))
}

// ---- KMS keys ----

pub(super) fn put_kms_key(c: &mut Conn, key: &KmsKeyRecord) -> Result<()> {
    // Every uniqueness rule (id, ARN, alias in the scope) is a constraint: a taken one is a
    // unique violation, which is `Conflict`, and the transaction writes nothing.
    c.execute(
        "INSERT INTO kms_keys (key_id, account, region, arn, alias, description, created)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &key.key_id,
            &key.scope.account.as_str(),
            &key.scope.region.as_str(),
            &key.arn,
            &key.alias,
            &key.description,
            &millis(key.created),
        ],
    )?;
    for (version, wrapped) in &key.versions {
        c.execute(
            "INSERT INTO kms_key_versions (key_id, version, wrapped) VALUES ($1, $2, $3)",
            &[&key.key_id, &i64::from(*version), wrapped],
        )?;
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
    c: &mut Conn,
    scope: &Scope,
    lookup: KmsLookup<'_>,
) -> Result<Option<KmsKeyRecord>> {
    let (sql, value) = match lookup {
        KmsLookup::Id(id) => (
            "SELECT key_id, arn, alias, description, created FROM kms_keys
             WHERE account = $1 AND region = $2 AND key_id = $3",
            id,
        ),
        KmsLookup::Alias(alias) => (
            "SELECT key_id, arn, alias, description, created FROM kms_keys
             WHERE account = $1 AND region = $2 AND alias = $3",
            alias,
        ),
    };
    let Some(row) = c.query_opt(
        sql,
        &[&scope.account.as_str(), &scope.region.as_str(), &value],
    )?
    else {
        return Ok(None);
    };
    let key_id: String = row.try_get(0)?;
    let versions = c
        .query(
            "SELECT version, wrapped FROM kms_key_versions WHERE key_id = $1 ORDER BY version",
            &[&key_id],
        )?
        .into_iter()
        .map(|row| {
            let version: i64 = row.try_get(0)?;
            let version = u32::try_from(version).map_err(|_| {
                StoreError::Backend("a stored KMS key version is out of range".to_owned())
            })?;
            Ok((version, row.try_get(1)?))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(KmsKeyRecord {
        scope: scope.clone(),
        key_id,
        arn: row.try_get(1)?,
        alias: row.try_get(2)?,
        description: row.try_get(3)?,
        created: Timestamp(row.try_get(4)?),
        versions,
    }))
}
