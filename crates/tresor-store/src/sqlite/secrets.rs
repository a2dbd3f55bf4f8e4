//! Secrets and their versions.
//!
//! A secret is one `secrets` row; each version is one `secret_versions` row holding its
//! metadata and its sealed value. Loading a record reads the metadata only; the sealed value is
//! read by [`read_envelope`] when a caller needs it.

use std::collections::{HashMap, HashSet};

use rusqlite::types::{ToSql, Value};
use rusqlite::{params, Connection, OptionalExtension, Row};
use tresor_types::Timestamp;

use super::{millis, parse_scope};
use crate::codec::{check_cursor, list_order_sql};
use crate::codec::{stages_from_json, stages_to_json, tags_from_json, tags_to_json};
use crate::{
    Deletion, ListCursor, ListOrder, Result, Scope, SealedValue, SealedVersion, SecretKey,
    SecretRecord, SecretTxn, SortValue, StoreError, VersionMeta, VersionPick, VersionPruning,
};

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

/// A `secrets` row as stored.
struct SecretRow {
    id: i64,
    account: String,
    region: String,
    arn: String,
    name: String,
    description: Option<String>,
    kms_key_id: Option<String>,
    tags_json: String,
    resource_policy: Option<String>,
    rotation: Option<String>,
    created: i64,
    last_changed: i64,
    last_accessed: Option<i64>,
    deleted_date: Option<i64>,
    purge_after: Option<i64>,
}

impl SecretRow {
    /// Read the columns of `secret_columns!()`, in order.
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            account: row.get(1)?,
            region: row.get(2)?,
            arn: row.get(3)?,
            name: row.get(4)?,
            description: row.get(5)?,
            kms_key_id: row.get(6)?,
            tags_json: row.get(7)?,
            resource_policy: row.get(8)?,
            rotation: row.get(9)?,
            created: row.get(10)?,
            last_changed: row.get(11)?,
            last_accessed: row.get(12)?,
            deleted_date: row.get(13)?,
            purge_after: row.get(14)?,
        })
    }

    /// The record, without its versions.
    fn into_record(self) -> Result<(i64, SecretRecord)> {
        let deletion = match (self.deleted_date, self.purge_after) {
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
        let record = SecretRecord {
            scope: parse_scope(&self.account, &self.region)?,
            arn: self.arn,
            name: self.name,
            description: self.description,
            kms_key_id: self.kms_key_id,
            tags: tags_from_json(&self.tags_json)?,
            resource_policy: self.resource_policy,
            rotation: self.rotation,
            created: Timestamp(self.created),
            last_changed: Timestamp(self.last_changed),
            last_accessed: self.last_accessed.map(Timestamp),
            deletion,
            versions: Vec::new(),
        };
        Ok((self.id, record))
    }
}

/// A `secret_versions` row as stored, without the sealed value.
struct VersionRow {
    secret_id: i64,
    version_id: String,
    stages_json: String,
    created: i64,
    last_accessed: Option<i64>,
    value_digest: Vec<u8>,
    kms_key_id: String,
}

impl VersionRow {
    /// Read the columns of `version_columns!()`, in order.
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            secret_id: row.get(0)?,
            version_id: row.get(1)?,
            stages_json: row.get(2)?,
            created: row.get(3)?,
            last_accessed: row.get(4)?,
            value_digest: row.get(5)?,
            kms_key_id: row.get(6)?,
        })
    }

    fn into_meta(self) -> Result<VersionMeta> {
        Ok(VersionMeta {
            version_id: self.version_id,
            stages: stages_from_json(&self.stages_json)?,
            created: Timestamp(self.created),
            last_accessed: self.last_accessed.map(Timestamp),
            value_digest: self.value_digest,
            kms_key_id: self.kms_key_id,
        })
    }
}

// ---- reads ----

fn load_versions(conn: &Connection, secret_id: i64) -> Result<Vec<VersionMeta>> {
    let mut stmt = conn.prepare_cached(concat!(
        "SELECT ",
        version_columns!(),
        " FROM secret_versions WHERE secret_id = ?1 ORDER BY seq"
    ))?;
    let rows = stmt
        .query_map([secret_id], VersionRow::from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(VersionRow::into_meta).collect()
}

fn with_versions(conn: &Connection, row: Option<SecretRow>) -> Result<Option<(i64, SecretRecord)>> {
    let Some(row) = row else {
        return Ok(None);
    };
    let (id, mut record) = row.into_record()?;
    record.versions = load_versions(conn, id)?;
    Ok(Some((id, record)))
}

/// The secret with this ARN and its row id.
pub(super) fn load_by_arn(conn: &Connection, arn: &str) -> Result<Option<(i64, SecretRecord)>> {
    with_versions(conn, secret_row(conn, SecretKey::Arn(arn))?)
}

/// A secret by name, from the index that holds its whole row: one b-tree descent instead of
/// two. The index is named because the planner would take the `UNIQUE` one (its shortcut for
/// an equality on every column of a unique index does not weigh coverage).
const SECRET_BY_NAME: &str = concat!(
    "SELECT ",
    secret_columns!(),
    " FROM secrets INDEXED BY secrets_by_name_whole \
     WHERE account = ?1 AND region = ?2 AND name = ?3"
);

/// The `secrets` row `key` names.
fn secret_row(conn: &Connection, key: SecretKey<'_>) -> Result<Option<SecretRow>> {
    Ok(match key {
        SecretKey::Arn(arn) => conn
            .prepare_cached(concat!(
                "SELECT ",
                secret_columns!(),
                " FROM secrets WHERE arn = ?1"
            ))?
            .query_row([arn], SecretRow::from_row)
            .optional()?,
        SecretKey::Name(scope, name) => conn
            .prepare_cached(SECRET_BY_NAME)?
            .query_row(
                params![scope.account.as_str(), scope.region.as_str(), name],
                SecretRow::from_row,
            )
            .optional()?,
    })
}

/// The secret `key` names and its row id, with its labelled versions and `version_id`.
pub(super) fn load_labelled(
    conn: &Connection,
    key: SecretKey<'_>,
    version_id: Option<&str>,
) -> Result<Option<(i64, SecretRecord)>> {
    let Some(row) = secret_row(conn, key)? else {
        return Ok(None);
    };
    let (id, mut record) = row.into_record()?;
    // The labelled ones come from their partial index instead of a pass over every version.
    // A named version is a second lookup (a UNION, ordered by `seq`, the 8th column); without
    // one the query is the first lookup alone.
    let mut stmt = match version_id {
        None => conn.prepare_cached(concat!(
            "SELECT ",
            version_columns!(),
            " FROM secret_versions WHERE secret_id = ?1 AND stages_json <> '[]' ORDER BY seq"
        ))?,
        Some(_) => conn.prepare_cached(concat!(
            "SELECT ",
            version_columns!(),
            ", seq FROM secret_versions WHERE secret_id = ?1 AND stages_json <> '[]' \
             UNION SELECT ",
            version_columns!(),
            ", seq FROM secret_versions WHERE secret_id = ?1 AND version_id = ?2 \
             ORDER BY 8"
        ))?,
    };
    let rows = match version_id {
        None => stmt.query_map(params![id], VersionRow::from_row)?,
        Some(v) => stmt.query_map(params![id, v], VersionRow::from_row)?,
    };
    record.versions = rows
        .map(|row| VersionRow::into_meta(row?))
        .collect::<Result<_>>()?;
    Ok(Some((id, record)))
}

/// A secret's labelled versions, from their rows, with the sealed value of those whose labels
/// may hold the stage `?2` (as JSON text). Columns: the version's (0..=6), its row id (7), the
/// value or NULL (8).
const PICK_BY_STAGE: &str = concat!(
    "SELECT ",
    version_columns!(),
    ", rowid, CASE WHEN instr(stages_json, ?2) > 0 THEN envelope END \
     FROM secret_versions INDEXED BY secret_versions_labelled_rows \
     WHERE secret_id = ?1 AND stages_json <> '[]' ORDER BY seq"
);

/// A secret's labelled versions and the version `?2` (labelled or not), with the sealed value
/// of that one. Columns as [`PICK_BY_STAGE`], then `seq` (9).
const PICK_BY_VERSION: &str = concat!(
    "SELECT ",
    version_columns!(),
    ", rowid, CASE WHEN version_id = ?2 THEN envelope END, seq \
     FROM secret_versions INDEXED BY secret_versions_labelled_rows \
     WHERE secret_id = ?1 AND stages_json <> '[]' \
     UNION ALL SELECT ",
    version_columns!(),
    ", rowid, envelope, seq FROM secret_versions \
     WHERE secret_id = ?1 AND version_id = ?2 AND stages_json = '[]' \
     ORDER BY 10"
);

/// The secret `key` names with its labelled versions (and `pick.version_id`), and the sealed
/// value of the version `pick` picks: GetSecretValue's one read.
///
/// The versions come from their rows, found through `secret_versions_labelled_rows`, whose
/// entries are only the keys (so its interior levels stay small enough to be cached), and the
/// picked value comes from the row that holds its metadata. The statement selects a value
/// only where the pick may match (for a stage, where its JSON text occurs in the labels), so
/// the others, which may overflow onto pages of their own, are not read; the pick itself is
/// decided here, on the parsed labels.
pub(super) fn load_picked(
    conn: &Connection,
    key: SecretKey<'_>,
    pick: VersionPick<'_>,
) -> Result<Option<(SecretRecord, Option<SealedValue>)>> {
    let Some(row) = secret_row(conn, key)? else {
        return Ok(None);
    };
    let (id, mut record) = row.into_record()?;
    let (mut stmt, filter) = match pick.version_id {
        None => {
            let stage = pick.stage.unwrap_or(VersionPick::CURRENT);
            let stage_json = serde_json::to_string(stage)
                .map_err(|_| StoreError::Backend("cannot encode a staging label".to_owned()))?;
            (conn.prepare_cached(PICK_BY_STAGE)?, stage_json)
        }
        Some(version_id) => (conn.prepare_cached(PICK_BY_VERSION)?, version_id.to_owned()),
    };
    let mut rows = stmt.query(params![id, filter])?;
    let mut picked: Option<SealedValue> = None;
    // A version the labels pick whose value the statement did not select (never, while the
    // JSON text of a label is what `stages_to_json` writes): read by its row id.
    let mut unread: Option<(String, i64)> = None;
    while let Some(row) = rows.next()? {
        let version = VersionRow::from_row(row)?.into_meta()?;
        if picked.is_none() && unread.is_none() && pick.matches(&version) {
            match row.get::<_, Option<Vec<u8>>>(8)? {
                Some(envelope) => {
                    picked = Some(SealedValue {
                        version_id: version.version_id.clone(),
                        envelope,
                    })
                }
                None => unread = Some((version.version_id.clone(), row.get(7)?)),
            }
        }
        record.versions.push(version);
    }
    drop(rows);
    if let Some((version_id, rowid)) = unread {
        picked = read_envelope_at(conn, rowid)?.map(|envelope| SealedValue {
            version_id,
            envelope,
        });
    }
    Ok(Some((record, picked)))
}

/// The sealed value in the version row `rowid` (from [`load_picked`], in the same read
/// transaction): one b-tree lookup, where [`read_envelope`] makes three (the ARN, the
/// version's key, its row).
fn read_envelope_at(conn: &Connection, rowid: i64) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached("SELECT envelope FROM secret_versions WHERE rowid = ?1")?
        .query_row([rowid], |row| row.get(0))
        .optional()?)
}

/// The secret with this ARN, its row id, its labelled versions and `version_id`; with the
/// number of versions stored in all.
pub(super) fn load_for_new_version(
    conn: &Connection,
    arn: &str,
    version_id: &str,
) -> Result<Option<(i64, SecretRecord, usize)>> {
    let Some((id, record)) = load_labelled(conn, SecretKey::Arn(arn), Some(version_id))? else {
        return Ok(None);
    };
    let stored = count_versions(conn, id)?;
    Ok(Some((id, record, stored)))
}

fn count_versions(conn: &Connection, secret_id: i64) -> Result<usize> {
    let n: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM secret_versions WHERE secret_id = ?1")?
        .query_row([secret_id], |row| row.get(0))?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Remove the oldest unlabelled versions created before `prune.created_before` while the
/// secret (with `stored` versions) has more than `prune.keep`. The candidates come oldest
/// first from their partial index, so a secret with hundreds of versions younger than a day
/// costs a put one short index probe, not a pass over all of them.
pub(super) fn prune_versions(
    conn: &Connection,
    secret_id: i64,
    prune: VersionPruning,
    stored: usize,
) -> Result<()> {
    let excess = stored.saturating_sub(prune.keep);
    if excess == 0 {
        return Ok(());
    }
    let candidates: Vec<i64> = conn
        .prepare_cached(
            "SELECT seq FROM secret_versions
             WHERE secret_id = ?1 AND stages_json = '[]' AND created < ?2
             ORDER BY created, seq LIMIT ?3",
        )?
        .query_map(
            params![
                secret_id,
                millis(prune.created_before),
                i64::try_from(excess).unwrap_or(i64::MAX)
            ],
            |row| row.get(0),
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    // Row by row with a cached statement: a `DELETE … IN (SELECT … LIMIT ?)` was prepared
    // anew on every run.
    let mut delete =
        conn.prepare_cached("DELETE FROM secret_versions WHERE secret_id = ?1 AND seq = ?2")?;
    for seq in candidates {
        delete.execute(params![secret_id, seq])?;
    }
    Ok(())
}

pub(super) fn load_by_name(
    conn: &Connection,
    scope: &Scope,
    name: &str,
) -> Result<Option<SecretRecord>> {
    let row = secret_row(conn, SecretKey::Name(scope, name))?;
    Ok(with_versions(conn, row)?.map(|(_, record)| record))
}

pub(super) fn read_envelope(
    conn: &Connection,
    arn: &str,
    version_id: &str,
) -> Result<Option<Vec<u8>>> {
    let envelope = conn
        .prepare_cached(
            "SELECT v.envelope FROM secret_versions v JOIN secrets s ON s.id = v.secret_id
             WHERE s.arn = ?1 AND v.version_id = ?2",
        )?
        .query_row([arn, version_id], |row| row.get(0))
        .optional()?;
    Ok(envelope)
}

/// One page of a scope's secrets in `order` (see `Store::list_secrets_ordered`). Both queries
/// select the same page, and they run in one read transaction, so they agree.
pub(super) fn list(
    conn: &Connection,
    scope: &Scope,
    order: ListOrder,
    after: Option<&ListCursor>,
    limit: usize,
) -> Result<Vec<SecretRecord>> {
    check_cursor(order, after)?;
    if limit == 0 {
        return Ok(Vec::new());
    }
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let account = scope.account.as_str();
    let region = scope.region.as_str();
    // SQLite compares TEXT bytewise (BINARY collation), which is Rust's `str` order.
    let (column, dir, cmp) = list_order_sql(order);
    let page = match after {
        None => format!("account = ?1 AND region = ?2 ORDER BY {column} {dir}, arn {dir} LIMIT ?3"),
        Some(_) => format!(
            "account = ?1 AND region = ?2 AND ({column}, arn) {cmp} (?4, ?5) \
             ORDER BY {column} {dir}, arn {dir} LIMIT ?3"
        ),
    };
    let secrets_sql = format!("SELECT {} FROM secrets WHERE {page}", secret_columns!());
    let versions_sql = format!(
        "SELECT {} FROM secret_versions WHERE secret_id IN (SELECT id FROM secrets WHERE {page}) \
         AND stages_json <> '[]' ORDER BY secret_id, seq",
        version_columns!()
    );
    let value = after.map(|c| match &c.value {
        SortValue::Text(t) => Value::Text(t.clone()),
        SortValue::Millis(m) => Value::Integer(*m),
    });
    let mut args: Vec<&dyn ToSql> = vec![&account, &region, &limit];
    if let (Some(cursor), Some(value)) = (after, &value) {
        args.push(value);
        args.push(&cursor.arn);
    }
    let (secrets_sql, versions_sql) = (secrets_sql.as_str(), versions_sql.as_str());

    let rows = conn
        .prepare_cached(secrets_sql)?
        .query_map(args.as_slice(), SecretRow::from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let version_rows = conn
        .prepare_cached(versions_sql)?
        .query_map(args.as_slice(), VersionRow::from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;

    let mut versions: HashMap<i64, Vec<VersionMeta>> = HashMap::new();
    for row in version_rows {
        let secret_id = row.secret_id;
        versions
            .entry(secret_id)
            .or_default()
            .push(row.into_meta()?);
    }
    rows.into_iter()
        .map(|row| {
            let (id, mut record) = row.into_record()?;
            record.versions = versions.remove(&id).unwrap_or_default();
            Ok(record)
        })
        .collect()
}

pub(super) fn expired_deletions(conn: &Connection, now: Timestamp) -> Result<Vec<String>> {
    let arns = conn
        .prepare_cached(
            "SELECT arn FROM secrets WHERE purge_after <= ?1 ORDER BY purge_after, arn",
        )?
        .query_map([millis(now)], |row| row.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(arns)
}

/// Whether the secret and the version already record an access on `day` (then `touch` would
/// change nothing). A missing secret or version answers `false`.
pub(super) fn is_touched(
    conn: &Connection,
    arn: &str,
    version_id: &str,
    day: Timestamp,
) -> Result<bool> {
    let seen: Option<(Option<i64>, Option<i64>)> = conn
        .prepare_cached(
            "SELECT s.last_accessed, v.last_accessed
             FROM secrets s JOIN secret_versions v ON v.secret_id = s.id
             WHERE s.arn = ?1 AND v.version_id = ?2",
        )?
        .query_row([arn, version_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let day = Some(millis(day));
    Ok(matches!(seen, Some((secret, version)) if secret == day && version == day))
}

// ---- writes (each runs inside the caller's write transaction) ----

pub(super) fn create(
    conn: &Connection,
    record: &SecretRecord,
    first: Option<&SealedVersion>,
) -> Result<()> {
    let holder: Option<Option<i64>> = conn
        .prepare_cached(
            "SELECT deleted_date FROM secrets WHERE account = ?1 AND region = ?2 AND name = ?3",
        )?
        .query_row(
            params![
                record.scope.account.as_str(),
                record.scope.region.as_str(),
                record.name
            ],
            |row| row.get(0),
        )
        .optional()?;
    if let Some(deleted_date) = holder {
        return Err(StoreError::SecretExists {
            scheduled_for_deletion: deleted_date.is_some(),
        });
    }
    let arn_taken = conn
        .prepare_cached("SELECT 1 FROM secrets WHERE arn = ?1")?
        .exists([&record.arn])?;
    if arn_taken {
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

    let deletion = record.deletion;
    conn.prepare_cached(
        "INSERT INTO secrets (account, region, arn, name, description, kms_key_id, tags_json,
             resource_policy, rotation, created, last_changed, last_accessed, deleted_date,
             purge_after)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        record.scope.account.as_str(),
        record.scope.region.as_str(),
        record.arn,
        record.name,
        record.description,
        record.kms_key_id,
        tags_to_json(&record.tags)?,
        record.resource_policy,
        record.rotation,
        millis(record.created),
        millis(record.last_changed),
        record.last_accessed.map(millis),
        deletion.map(|d| millis(d.deleted_date)),
        deletion.map(|d| millis(d.purge_after)),
    ])?;
    let id = conn.last_insert_rowid();
    if let Some((meta, sealed)) = first {
        insert_version(conn, id, 1, meta, &sealed.envelope)?;
    }
    Ok(())
}

fn insert_version(
    conn: &Connection,
    secret_id: i64,
    seq: i64,
    meta: &VersionMeta,
    envelope: &[u8],
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO secret_versions (secret_id, version_id, seq, stages_json, created,
             last_accessed, value_digest, kms_key_id, envelope)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        secret_id,
        meta.version_id,
        seq,
        stages_to_json(&meta.stages)?,
        millis(meta.created),
        meta.last_accessed.map(millis),
        meta.value_digest,
        meta.kms_key_id,
        envelope,
    ])?;
    Ok(())
}

/// Write what an `update_secret` closure changed between `before` (as loaded) and `txn`.
///
/// The identity of a secret (scope, ARN, name, creation date) and of a stored version (id,
/// creation date, digest, key id, sealed value) never changes here, whatever the closure did
/// to them; the order of stored versions is the order they were added in.
pub(super) fn write_changes(
    conn: &Connection,
    id: i64,
    before: &SecretRecord,
    txn: &SecretTxn,
) -> Result<()> {
    let after = &txn.record;
    if secret_columns_changed(before, after) {
        let deletion = after.deletion;
        conn.prepare_cached(
            "UPDATE secrets SET description = ?1, kms_key_id = ?2, tags_json = ?3,
                 resource_policy = ?4, rotation = ?5, last_changed = ?6, last_accessed = ?7,
                 deleted_date = ?8, purge_after = ?9
             WHERE id = ?10",
        )?
        .execute(params![
            after.description,
            after.kms_key_id,
            tags_to_json(&after.tags)?,
            after.resource_policy,
            after.rotation,
            millis(after.last_changed),
            after.last_accessed.map(millis),
            deletion.map(|d| millis(d.deleted_date)),
            deletion.map(|d| millis(d.purge_after)),
            id,
        ])?;
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
    let mut delete = conn
        .prepare_cached("DELETE FROM secret_versions WHERE secret_id = ?1 AND version_id = ?2")?;
    for old in &before.versions {
        let id_str = old.version_id.as_str();
        if !after_ids.contains(id_str) || sealed.contains_key(id_str) {
            delete.execute(params![id, id_str])?;
        }
    }

    let mut next_seq: i64 = conn
        .prepare_cached(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM secret_versions WHERE secret_id = ?1",
        )?
        .query_row([id], |row| row.get(0))?;
    let stored: HashMap<&str, &VersionMeta> = before
        .versions
        .iter()
        .map(|v| (v.version_id.as_str(), v))
        .collect();
    for version in &after.versions {
        let version_id = version.version_id.as_str();
        if let Some(new) = sealed.get(version_id) {
            insert_version(conn, id, next_seq, version, &new.envelope)?;
            next_seq += 1;
        } else if let Some(old) = stored.get(version_id) {
            if old.stages != version.stages || old.last_accessed != version.last_accessed {
                conn.prepare_cached(
                    "UPDATE secret_versions SET stages_json = ?1, last_accessed = ?2
                     WHERE secret_id = ?3 AND version_id = ?4",
                )?
                .execute(params![
                    stages_to_json(&version.stages)?,
                    version.last_accessed.map(millis),
                    id,
                    version_id,
                ])?;
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
pub(super) fn touch(conn: &Connection, arn: &str, version_id: &str, day: Timestamp) -> Result<()> {
    let id: i64 = conn
        .prepare_cached("SELECT id FROM secrets WHERE arn = ?1")?
        .query_row([arn], |row| row.get(0))
        .optional()?
        .ok_or(StoreError::NotFound)?;
    let day = millis(day);
    let touched = conn
        .prepare_cached(
            "UPDATE secret_versions SET last_accessed = ?1 WHERE secret_id = ?2 AND version_id = ?3",
        )?
        .execute(params![day, id, version_id])?;
    if touched == 0 {
        return Err(StoreError::NotFound);
    }
    conn.prepare_cached("UPDATE secrets SET last_accessed = ?1 WHERE id = ?2")?
        .execute(params![day, id])?;
    Ok(())
}

/// Remove a secret and its versions. Purging an ARN that is already gone is not an error, so
/// that two nodes sweeping expired deletions at once both succeed.
pub(super) fn purge(conn: &Connection, arn: &str) -> Result<()> {
    // The foreign key cascades too; deleting the versions explicitly does not depend on it.
    conn.prepare_cached(
        "DELETE FROM secret_versions WHERE secret_id IN (SELECT id FROM secrets WHERE arn = ?1)",
    )?
    .execute([arn])?;
    conn.prepare_cached("DELETE FROM secrets WHERE arn = ?1")?
        .execute([arn])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The plan of `sql` as the store's schema has it.
    fn plan(sql: &str) -> Vec<String> {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn, None).unwrap();
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let unbound = vec![Value::Null; stmt.parameter_count()];
        let plan = stmt
            .query_map(rusqlite::params_from_iter(unbound), |row| row.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        plan
    }

    /// A secret by name comes from the index alone, as the store runs the statement.
    #[test]
    fn a_secret_by_name_is_read_from_its_covering_index() {
        assert_eq!(
            plan(SECRET_BY_NAME),
            ["SEARCH secrets USING COVERING INDEX secrets_by_name_whole \
              (account=? AND region=? AND name=?)"]
        );
    }

    /// GetSecretValue's versions come through the short index, in order, without a sort.
    #[test]
    fn the_picked_value_is_read_through_the_short_labelled_index() {
        assert_eq!(
            plan(PICK_BY_STAGE),
            ["SEARCH secret_versions USING INDEX secret_versions_labelled_rows (secret_id=?)"]
        );
        let by_version = plan(PICK_BY_VERSION).join("; ");
        assert!(
            by_version.contains("USING INDEX secret_versions_labelled_rows (secret_id=?)"),
            "{by_version}"
        );
        assert!(
            by_version.contains("USING INDEX sqlite_autoindex_secret_versions_1"),
            "{by_version}"
        );
    }
}
