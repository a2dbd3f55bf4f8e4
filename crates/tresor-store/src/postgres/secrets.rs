//! Secrets and their versions.
//!
//! A secret is one `secrets` row; each version is one `secret_versions` row holding its
//! metadata and its sealed value. Loading a record reads the metadata only; the sealed value is
//! read by [`read_envelope`] when a caller needs it.

use std::collections::{HashMap, HashSet};

use postgres::Row;
use tresor_types::Timestamp;

use super::conn::{Conn, Param};
use super::{limit, millis, parse_scope};
use crate::codec::{check_cursor, list_order_sql};
use crate::codec::{stages_from_json, stages_to_json, tags_from_json, tags_to_json};
use crate::{
    Deletion, Result, Scope, SealedVersion, SecretRecord, SecretTxn, StoreError, VersionMeta,
};
use crate::{ListCursor, ListOrder, SecretKey, SortValue, VersionPruning};

macro_rules! secret_columns {
    () => {
        "id, account, region, arn, name, description, kms_key_id, tags_json, resource_policy, \
         rotation, created, last_changed, last_accessed, deleted_date, purge_after"
    };
}

macro_rules! version_columns {
    () => {
        "secret_id, version_id, stages_json, created, last_accessed, value_digest, kms_key_id"
    };
}

/// A row of `secret_columns!()`: the record without its versions, and its row id.
fn secret_from_row(row: &Row) -> Result<(i64, SecretRecord)> {
    let deletion = match (
        row.try_get::<_, Option<i64>>(13)?,
        row.try_get::<_, Option<i64>>(14)?,
    ) {
        (Some(deleted_date), Some(purge_after)) => Some(Deletion {
            deleted_date: Timestamp(deleted_date),
            purge_after: Timestamp(purge_after),
        }),
        (None, None) => None,
        _ => {
            return Err(StoreError::Backend(
                "a stored secret has half of a deletion schedule".to_owned(),
            ))
        }
    };
    let account: String = row.try_get(1)?;
    let region: String = row.try_get(2)?;
    let tags_json: String = row.try_get(7)?;
    let record = SecretRecord {
        scope: parse_scope(&account, &region)?,
        arn: row.try_get(3)?,
        name: row.try_get(4)?,
        description: row.try_get(5)?,
        kms_key_id: row.try_get(6)?,
        tags: tags_from_json(&tags_json)?,
        resource_policy: row.try_get(8)?,
        rotation: row.try_get(9)?,
        created: Timestamp(row.try_get(10)?),
        last_changed: Timestamp(row.try_get(11)?),
        last_accessed: row.try_get::<_, Option<i64>>(12)?.map(Timestamp),
        deletion,
        versions: Vec::new(),
    };
    Ok((row.try_get(0)?, record))
}

/// A row of `version_columns!()`: the secret's row id and the version's metadata.
fn version_from_row(row: &Row) -> Result<(i64, VersionMeta)> {
    let stages_json: String = row.try_get(2)?;
    Ok((
        row.try_get(0)?,
        VersionMeta {
            version_id: row.try_get(1)?,
            stages: stages_from_json(&stages_json)?,
            created: Timestamp(row.try_get(3)?),
            last_accessed: row.try_get::<_, Option<i64>>(4)?.map(Timestamp),
            value_digest: row.try_get(5)?,
            kms_key_id: row.try_get(6)?,
        },
    ))
}

// ---- reads ----

fn with_versions(c: &mut Conn, row: Option<Row>) -> Result<Option<(i64, SecretRecord)>> {
    let Some(row) = row else {
        return Ok(None);
    };
    let (id, mut record) = secret_from_row(&row)?;
    record.versions = versions(
        c,
        concat!(
            "SELECT ",
            version_columns!(),
            " FROM secret_versions WHERE secret_id = $1 ORDER BY seq"
        ),
        &[&id],
    )?;
    Ok(Some((id, record)))
}

/// The version metadata `sql` selects (its first columns are `version_columns!()`).
fn versions(c: &mut Conn, sql: &str, params: &[Param<'_>]) -> Result<Vec<VersionMeta>> {
    c.query(sql, params)?
        .iter()
        .map(|row| Ok(version_from_row(row)?.1))
        .collect()
}

/// The secret with this ARN and its row id. With `lock`, the row is locked until the end of
/// the transaction (`FOR UPDATE`), and the versions are read after the lock is granted.
pub(super) fn load_by_arn(
    c: &mut Conn,
    arn: &str,
    lock: bool,
) -> Result<Option<(i64, SecretRecord)>> {
    let row = secret_row(c, SecretKey::Arn(arn), lock)?;
    with_versions(c, row)
}

/// The `secrets` row `key` names, locked (`FOR UPDATE`, by ARN only) with `lock`.
fn secret_row(c: &mut Conn, key: SecretKey<'_>, lock: bool) -> Result<Option<Row>> {
    match (key, lock) {
        (SecretKey::Arn(arn), false) => c.query_opt(
            concat!("SELECT ", secret_columns!(), " FROM secrets WHERE arn = $1"),
            &[&arn],
        ),
        (SecretKey::Arn(arn), true) => c.query_opt(
            concat!(
                "SELECT ",
                secret_columns!(),
                " FROM secrets WHERE arn = $1 FOR UPDATE"
            ),
            &[&arn],
        ),
        (SecretKey::Name(scope, name), _) => c.query_opt(
            concat!(
                "SELECT ",
                secret_columns!(),
                " FROM secrets WHERE account = $1 AND region = $2 AND name = $3"
            ),
            &[&scope.account.as_str(), &scope.region.as_str(), &name],
        ),
    }
}

/// The secret `key` names and its row id (locked with `lock`, before the versions are read),
/// with its labelled versions and `version_id`.
pub(super) fn load_labelled(
    c: &mut Conn,
    key: SecretKey<'_>,
    version_id: Option<&str>,
    lock: bool,
) -> Result<Option<(i64, SecretRecord)>> {
    let row = secret_row(c, key, lock)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let (id, mut record) = secret_from_row(&row)?;
    // As on SQLite: the labelled ones from their partial index; a named version is a second
    // lookup (a UNION ordered by `seq`, the 8th column), and only when there is one.
    record.versions = match version_id {
        None => versions(
            c,
            concat!(
                "SELECT ",
                version_columns!(),
                " FROM secret_versions WHERE secret_id = $1 AND stages_json <> '[]' ORDER BY seq"
            ),
            &[&id],
        )?,
        Some(v) => versions(
            c,
            concat!(
                "SELECT ",
                version_columns!(),
                ", seq FROM secret_versions WHERE secret_id = $1 AND stages_json <> '[]' \
                 UNION SELECT ",
                version_columns!(),
                ", seq FROM secret_versions WHERE secret_id = $1 AND version_id = $2 ORDER BY 8"
            ),
            &[&id, &v],
        )?,
    };
    Ok(Some((id, record)))
}

/// The secret with this ARN (its row locked), its row id, its labelled versions and
/// `version_id`; with the number of versions stored in all.
pub(super) fn load_for_new_version(
    c: &mut Conn,
    arn: &str,
    version_id: &str,
) -> Result<Option<(i64, SecretRecord, usize)>> {
    let Some((id, record)) = load_labelled(c, SecretKey::Arn(arn), Some(version_id), true)? else {
        return Ok(None);
    };
    let stored = count_versions(c, id)?;
    Ok(Some((id, record, stored)))
}

fn count_versions(c: &mut Conn, secret_id: i64) -> Result<usize> {
    let n: i64 = c
        .query_one(
            "SELECT COUNT(*) FROM secret_versions WHERE secret_id = $1",
            &[&secret_id],
        )?
        .try_get(0)?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Remove the oldest unlabelled versions created before `prune.created_before` while the
/// secret (with `stored` versions) has more than `prune.keep`, found through their partial
/// index.
pub(super) fn prune_versions(
    c: &mut Conn,
    secret_id: i64,
    prune: VersionPruning,
    stored: usize,
) -> Result<()> {
    let excess = stored.saturating_sub(prune.keep);
    if excess == 0 {
        return Ok(());
    }
    c.execute(
        "DELETE FROM secret_versions WHERE secret_id = $1 AND seq IN (
             SELECT seq FROM secret_versions
             WHERE secret_id = $1 AND stages_json = '[]' AND created < $2
             ORDER BY created, seq LIMIT $3)",
        &[
            &secret_id,
            &millis(prune.created_before),
            &i64::try_from(excess).unwrap_or(i64::MAX),
        ],
    )?;
    Ok(())
}

pub(super) fn load_by_name(
    c: &mut Conn,
    scope: &Scope,
    name: &str,
) -> Result<Option<SecretRecord>> {
    let row = secret_row(c, SecretKey::Name(scope, name), false)?;
    Ok(with_versions(c, row)?.map(|(_, record)| record))
}

pub(super) fn read_envelope(c: &mut Conn, arn: &str, version_id: &str) -> Result<Option<Vec<u8>>> {
    c.query_opt(
        "SELECT v.envelope FROM secret_versions v JOIN secrets s ON s.id = v.secret_id
         WHERE s.arn = $1 AND v.version_id = $2",
        &[&arn, &version_id],
    )?
    .map(|row| row.try_get(0))
    .transpose()
    .map_err(StoreError::from)
}

/// One page of a scope's secrets in `order` (see `Store::list_secrets_ordered`). Both queries
/// select the same page, and they run in one transaction, so they agree. Text columns are
/// `COLLATE "C"`: bytewise, Rust's `str` order, as on SQLite.
pub(super) fn list(
    c: &mut Conn,
    scope: &Scope,
    order: ListOrder,
    after: Option<&ListCursor>,
    n: usize,
) -> Result<Vec<SecretRecord>> {
    check_cursor(order, after)?;
    if n == 0 {
        return Ok(Vec::new());
    }
    let n = limit(n);
    let account = scope.account.as_str();
    let region = scope.region.as_str();
    let (column, dir, cmp) = list_order_sql(order);
    let page = match after {
        None => format!("account = $1 AND region = $2 ORDER BY {column} {dir}, arn {dir} LIMIT $3"),
        Some(_) => format!(
            "account = $1 AND region = $2 AND ({column}, arn) {cmp} ($4, $5) \
             ORDER BY {column} {dir}, arn {dir} LIMIT $3"
        ),
    };
    let secrets_sql = format!("SELECT {} FROM secrets WHERE {page}", secret_columns!());
    let versions_sql = format!(
        "SELECT {} FROM secret_versions WHERE secret_id IN (SELECT id FROM secrets WHERE {page}) \
         AND stages_json <> '[]' ORDER BY secret_id, seq",
        version_columns!()
    );
    let mut args: Vec<Param<'_>> = vec![&account, &region, &n];
    if let Some(cursor) = after {
        match &cursor.value {
            SortValue::Text(t) => args.push(t),
            SortValue::Millis(m) => args.push(m),
        }
        args.push(&cursor.arn);
    }
    let (secrets_sql, versions_sql) = (secrets_sql.as_str(), versions_sql.as_str());
    let rows = c.query(secrets_sql, &args)?;
    let version_rows = c.query(versions_sql, &args)?;
    let mut versions: HashMap<i64, Vec<VersionMeta>> = HashMap::new();
    for row in &version_rows {
        let (secret_id, meta) = version_from_row(row)?;
        versions.entry(secret_id).or_default().push(meta);
    }
    rows.iter()
        .map(|row| {
            let (id, mut record) = secret_from_row(row)?;
            record.versions = versions.remove(&id).unwrap_or_default();
            Ok(record)
        })
        .collect()
}

pub(super) fn expired_deletions(c: &mut Conn, now: Timestamp) -> Result<Vec<String>> {
    c.query(
        "SELECT arn FROM secrets WHERE purge_after <= $1 ORDER BY purge_after, arn",
        &[&millis(now)],
    )?
    .iter()
    .map(|row| row.try_get(0).map_err(StoreError::from))
    .collect()
}

/// Whether the secret and the version already record an access on `day` (then `touch` would
/// change nothing). A missing secret or version answers `false`.
pub(super) fn is_touched(
    c: &mut Conn,
    arn: &str,
    version_id: &str,
    day: Timestamp,
) -> Result<bool> {
    let Some(row) = c.query_opt(
        "SELECT s.last_accessed, v.last_accessed
         FROM secrets s JOIN secret_versions v ON v.secret_id = s.id
         WHERE s.arn = $1 AND v.version_id = $2",
        &[&arn, &version_id],
    )?
    else {
        return Ok(false);
    };
    let day = Some(millis(day));
    Ok(row.try_get::<_, Option<i64>>(0)? == day && row.try_get::<_, Option<i64>>(1)? == day)
}

// ---- writes (each runs inside the caller's write transaction) ----

/// Whether a secret holds the name in the scope: `Some(scheduled_for_deletion)`.
fn name_holder(c: &mut Conn, record: &SecretRecord) -> Result<Option<bool>> {
    c.query_opt(
        "SELECT deleted_date IS NOT NULL FROM secrets
         WHERE account = $1 AND region = $2 AND name = $3",
        &[
            &record.scope.account.as_str(),
            &record.scope.region.as_str(),
            &record.name,
        ],
    )?
    .map(|row| row.try_get(0))
    .transpose()
    .map_err(StoreError::from)
}

fn arn_taken(c: &mut Conn, arn: &str) -> Result<bool> {
    c.exists("SELECT 1 FROM secrets WHERE arn = $1", &[&arn])
}

pub(super) fn create(
    c: &mut Conn,
    record: &SecretRecord,
    first: Option<&SealedVersion>,
) -> Result<()> {
    if let Some(scheduled_for_deletion) = name_holder(c, record)? {
        return Err(StoreError::SecretExists {
            scheduled_for_deletion,
        });
    }
    if arn_taken(c, &record.arn)? {
        return Err(StoreError::Conflict);
    }

    // INVARIANT: every stored version has its sealed value, so the record may list exactly the
    // version given as `first`, or none.
    let first = match (first, record.versions.as_slice()) {
        (None, []) => None,
        (Some(sealed), [meta]) if meta.version_id == sealed.version_id => Some((meta, sealed)),
        _ => {
            return Err(StoreError::Backend(
                "create_secret: the record's versions must be exactly the first version given"
                    .to_owned(),
            ))
        }
    };

    // A concurrent creator of the same name (on any node) is met here: `ON CONFLICT` waits for
    // its transaction and then inserts nothing if it committed.
    let deletion = record.deletion;
    let inserted = c.query_opt(
        "INSERT INTO secrets (account, region, arn, name, description, kms_key_id, tags_json,
             resource_policy, rotation, created, last_changed, last_accessed, deleted_date,
             purge_after)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT DO NOTHING
         RETURNING id",
        &[
            &record.scope.account.as_str(),
            &record.scope.region.as_str(),
            &record.arn,
            &record.name,
            &record.description,
            &record.kms_key_id,
            &tags_to_json(&record.tags)?,
            &record.resource_policy,
            &record.rotation,
            &millis(record.created),
            &millis(record.last_changed),
            &record.last_accessed.map(millis),
            &deletion.map(|d| millis(d.deleted_date)),
            &deletion.map(|d| millis(d.purge_after)),
        ],
    )?;
    let Some(row) = inserted else {
        // The statement saw the winner's committed row; a new statement sees it too.
        if let Some(scheduled_for_deletion) = name_holder(c, record)? {
            return Err(StoreError::SecretExists {
                scheduled_for_deletion,
            });
        }
        if arn_taken(c, &record.arn)? {
            return Err(StoreError::Conflict);
        }
        // The holder went away in between: run the transaction again.
        c.retryable = true;
        return Err(StoreError::Backend(
            "create_secret: a concurrent change of the same name".to_owned(),
        ));
    };
    let id: i64 = row.try_get(0)?;
    if let Some((meta, sealed)) = first {
        insert_version(c, id, 1, meta, &sealed.envelope)?;
    }
    Ok(())
}

fn insert_version(
    c: &mut Conn,
    secret_id: i64,
    seq: i64,
    meta: &VersionMeta,
    envelope: &[u8],
) -> Result<()> {
    c.execute(
        "INSERT INTO secret_versions (secret_id, version_id, seq, stages_json, created,
             last_accessed, value_digest, kms_key_id, envelope)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &secret_id,
            &meta.version_id,
            &seq,
            &stages_to_json(&meta.stages)?,
            &millis(meta.created),
            &meta.last_accessed.map(millis),
            &meta.value_digest,
            &meta.kms_key_id,
            &envelope,
        ],
    )?;
    Ok(())
}

/// Write what an `update_secret` closure changed between `before` (as loaded) and `txn`.
///
/// The identity of a secret (scope, ARN, name, creation date) and of a stored version (id,
/// creation date, digest, key id, sealed value) never changes here, whatever the closure did
/// to them; the order of stored versions is the order they were added in.
pub(super) fn write_changes(
    c: &mut Conn,
    id: i64,
    before: &SecretRecord,
    txn: &SecretTxn,
) -> Result<()> {
    let after = &txn.record;
    if secret_columns_changed(before, after) {
        let deletion = after.deletion;
        c.execute(
            "UPDATE secrets SET description = $1, kms_key_id = $2, tags_json = $3,
                 resource_policy = $4, rotation = $5, last_changed = $6, last_accessed = $7,
                 deleted_date = $8, purge_after = $9
             WHERE id = $10",
            &[
                &after.description,
                &after.kms_key_id,
                &tags_to_json(&after.tags)?,
                &after.resource_policy,
                &after.rotation,
                &millis(after.last_changed),
                &after.last_accessed.map(millis),
                &deletion.map(|d| millis(d.deleted_date)),
                &deletion.map(|d| millis(d.purge_after)),
                &id,
            ],
        )?;
    }

    let mut after_ids = HashSet::new();
    for version in &after.versions {
        if !after_ids.insert(version.version_id.as_str()) {
            return Err(StoreError::Conflict);
        }
    }
    let sealed: HashMap<&str, &SealedVersion> = txn
        .new_envelopes()
        .iter()
        .map(|s| (s.version_id.as_str(), s))
        .collect();

    // Deletions first: a version removed and added again under the same id in one closure is
    // replaced by the new one.
    for old in &before.versions {
        let id_str = old.version_id.as_str();
        if !after_ids.contains(id_str) || sealed.contains_key(id_str) {
            c.execute(
                "DELETE FROM secret_versions WHERE secret_id = $1 AND version_id = $2",
                &[&id, &id_str],
            )?;
        }
    }

    let mut next_seq: i64 = c
        .query_one(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM secret_versions WHERE secret_id = $1",
            &[&id],
        )?
        .try_get(0)?;
    let stored: HashMap<&str, &VersionMeta> = before
        .versions
        .iter()
        .map(|v| (v.version_id.as_str(), v))
        .collect();
    for version in &after.versions {
        let version_id = version.version_id.as_str();
        if let Some(new) = sealed.get(version_id) {
            insert_version(c, id, next_seq, version, &new.envelope)?;
            next_seq += 1;
        } else if let Some(old) = stored.get(version_id) {
            if old.stages != version.stages || old.last_accessed != version.last_accessed {
                c.execute(
                    "UPDATE secret_versions SET stages_json = $1, last_accessed = $2
                     WHERE secret_id = $3 AND version_id = $4",
                    &[
                        &stages_to_json(&version.stages)?,
                        &version.last_accessed.map(millis),
                        &id,
                        &version_id,
                    ],
                )?;
            }
        } else {
            return Err(StoreError::Backend(
                "update_secret: a new version has no sealed value (add it with SecretTxn::add_version)"
                    .to_owned(),
            ));
        }
    }
    Ok(())
}

fn secret_columns_changed(before: &SecretRecord, after: &SecretRecord) -> bool {
    before.description != after.description
        || before.kms_key_id != after.kms_key_id
        || before.tags != after.tags
        || before.resource_policy != after.resource_policy
        || before.rotation != after.rotation
        || before.last_changed != after.last_changed
        || before.last_accessed != after.last_accessed
        || before.deletion != after.deletion
}

/// Record a read on `day`. A missing secret or version answers `NotFound` (and the caller's
/// transaction is rolled back).
pub(super) fn touch(c: &mut Conn, arn: &str, version_id: &str, day: Timestamp) -> Result<()> {
    // The secret's row is locked first, as `update_secret` does, so that the two never wait
    // for each other in opposite orders.
    let id: i64 = c
        .query_opt("SELECT id FROM secrets WHERE arn = $1 FOR UPDATE", &[&arn])?
        .ok_or(StoreError::NotFound)?
        .try_get(0)?;
    let day = millis(day);
    let touched = c.execute(
        "UPDATE secret_versions SET last_accessed = $1 WHERE secret_id = $2 AND version_id = $3",
        &[&day, &id, &version_id],
    )?;
    if touched == 0 {
        return Err(StoreError::NotFound);
    }
    c.execute(
        "UPDATE secrets SET last_accessed = $1 WHERE id = $2",
        &[&day, &id],
    )?;
    Ok(())
}

/// Remove a secret and its versions. Purging an ARN that is already gone is not an error, so
/// that two nodes sweeping expired deletions at once both succeed.
pub(super) fn purge(c: &mut Conn, arn: &str) -> Result<()> {
    // The secret's row is locked first, as `update_secret` does. The foreign key cascades
    // too; deleting the versions explicitly does not depend on it.
    let Some(row) = c.query_opt("SELECT id FROM secrets WHERE arn = $1 FOR UPDATE", &[&arn])?
    else {
        return Ok(());
    };
    let id: i64 = row.try_get(0)?;
    c.execute("DELETE FROM secret_versions WHERE secret_id = $1", &[&id])?;
    c.execute("DELETE FROM secrets WHERE id = $1", &[&id])?;
    Ok(())
}
