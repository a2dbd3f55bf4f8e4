//! Secrets and their versions, written once for both backends.
//!
//! A secret is one `secrets` row; each version is one `secret_versions` row holding its
//! metadata and its sealed value. Loading a record reads the metadata only; the sealed value is
//! read by [`read_envelope`] when a caller needs it (or, on SQLite, by GetSecretValue's own
//! read, `sqlite/pick.rs`).
//!
//! A read-modify-write locks the secret's row before it reads the versions on PostgreSQL
//! (`FOR UPDATE`), so concurrent writers on any node serialize on the secret; on SQLite the
//! single writer already does.

use std::collections::{HashMap, HashSet};

use tresor_types::Timestamp;

use super::{count, params, sql, sqlite_string, Db, Engine, Row, Sql, Value};
use crate::codec::{check_cursor, list_order_sql, millis, parse_scope};
use crate::codec::{stages_from_json, stages_to_json, tags_from_json, tags_to_json};
use crate::{
    Deletion, ListCursor, ListOrder, Missing, Result, Scope, SealedValue, SealedVersion, SecretKey,
    SecretRecord, SecretTxn, SortValue, StoreError, VersionMeta, VersionPick, VersionPruning,
};

/// A statement for both engines, with a row-locking clause on PostgreSQL only.
macro_rules! locking {
    ($text:expr) => {
        sql!(pg: concat!($text, " FOR UPDATE"), lite: $text)
    };
}

macro_rules! secret_columns {
    () => {
        "id, account, region, arn, name, description, kms_key_id, tags_json, resource_policy, \
         rotation, created, last_changed, last_accessed, deleted_date, purge_after, replication"
    };
}

macro_rules! version_columns {
    () => {
        "secret_id, version_id, stages_json, created, last_accessed, value_digest, kms_key_id"
    };
}
pub(crate) use version_columns;

/// A row of `secret_columns!()`: the record without its versions, and its row id.
pub(crate) fn secret_from_row(row: &dyn Row) -> Result<(i64, SecretRecord)> {
    let deletion = match (row.opt_int(13)?, row.opt_int(14)?) {
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
        scope: parse_scope(&row.text(1)?, &row.text(2)?)?,
        arn: row.text(3)?,
        name: row.text(4)?,
        description: row.opt_text(5)?,
        kms_key_id: row.opt_text(6)?,
        tags: tags_from_json(&row.text(7)?)?,
        resource_policy: row.opt_text(8)?,
        rotation: row.opt_text(9)?,
        created: Timestamp(row.int(10)?),
        last_changed: Timestamp(row.int(11)?),
        last_accessed: row.opt_int(12)?.map(Timestamp),
        deletion,
        versions: Vec::new(),
        replication: row.opt_text(15)?,
    };
    Ok((row.int(0)?, record))
}

/// A row of `version_columns!()`: the secret's row id and the version's metadata.
pub(crate) fn version_from_row(row: &dyn Row) -> Result<(i64, VersionMeta)> {
    Ok((
        row.int(0)?,
        VersionMeta {
            version_id: row.text(1)?,
            stages: stages_from_json(&row.text(2)?)?,
            created: Timestamp(row.int(3)?),
            last_accessed: row.opt_int(4)?.map(Timestamp),
            value_digest: row.blob(5)?,
            kms_key_id: row.text(6)?,
        },
    ))
}

// ---- reads ----

/// The version metadata `sql` selects (its first columns are `version_columns!()`).
fn versions(db: &mut dyn Db, sql: Sql<'_>, params: &[Value<'_>]) -> Result<Vec<VersionMeta>> {
    db.query(sql, params, |row| Ok(version_from_row(row)?.1))
}

fn with_versions(
    db: &mut dyn Db,
    found: Option<(i64, SecretRecord)>,
) -> Result<Option<(i64, SecretRecord)>> {
    let Some((id, mut record)) = found else {
        return Ok(None);
    };
    record.versions = versions(
        db,
        sql!(concat!(
            "SELECT ",
            version_columns!(),
            " FROM secret_versions WHERE secret_id = $1 ORDER BY seq"
        )),
        params![id],
    )?;
    Ok(Some((id, record)))
}

/// The secret with this ARN and its row id. With `lock`, the row is locked until the end of
/// the transaction, and the versions are read after the lock is granted.
pub(crate) fn load_by_arn(
    db: &mut dyn Db,
    arn: &str,
    lock: bool,
) -> Result<Option<(i64, SecretRecord)>> {
    let found = secret_row(db, SecretKey::Arn(arn), lock)?;
    with_versions(db, found)
}

/// A secret by name. On SQLite, from the index that holds its whole row: one b-tree descent
/// instead of two. The index is named because the planner would take the `UNIQUE` one (its
/// shortcut for an equality on every column of a unique index does not weigh coverage).
pub(crate) const SECRET_BY_NAME: Sql<'static> = sql!(
    pg: concat!(
        "SELECT ",
        secret_columns!(),
        " FROM secrets WHERE account = $1 AND region = $2 AND name = $3"
    ),
    lite: concat!(
        "SELECT ",
        secret_columns!(),
        " FROM secrets INDEXED BY secrets_by_name_whole \
         WHERE account = $1 AND region = $2 AND name = $3"
    ),
);

/// The `secrets` row `key` names and its row id, locked (by ARN only) with `lock`.
pub(crate) fn secret_row(
    db: &mut dyn Db,
    key: SecretKey<'_>,
    lock: bool,
) -> Result<Option<(i64, SecretRecord)>> {
    match (key, lock) {
        (SecretKey::Arn(arn), false) => db.query_opt(
            sql!(concat!(
                "SELECT ",
                secret_columns!(),
                " FROM secrets WHERE arn = $1"
            )),
            params![arn],
            secret_from_row,
        ),
        (SecretKey::Arn(arn), true) => db.query_opt(
            locking!(concat!(
                "SELECT ",
                secret_columns!(),
                " FROM secrets WHERE arn = $1"
            )),
            params![arn],
            secret_from_row,
        ),
        (SecretKey::Name(scope, name), _) => db.query_opt(
            SECRET_BY_NAME,
            params![scope.account.as_str(), scope.region.as_str(), name],
            secret_from_row,
        ),
    }
}

/// The secret `key` names and its row id (locked with `lock`, before the versions are read),
/// with its labelled versions and `version_id`.
pub(crate) fn load_labelled(
    db: &mut dyn Db,
    key: SecretKey<'_>,
    version_id: Option<&str>,
    lock: bool,
) -> Result<Option<(i64, SecretRecord)>> {
    let Some((id, mut record)) = secret_row(db, key, lock)? else {
        return Ok(None);
    };
    // The labelled ones come from their partial index instead of a pass over every version.
    // A named version is a second lookup (a UNION, ordered by `seq`, the 8th column); without
    // one the query is the first lookup alone.
    record.versions = match version_id {
        None => versions(
            db,
            sql!(concat!(
                "SELECT ",
                version_columns!(),
                " FROM secret_versions WHERE secret_id = $1 AND stages_json <> '[]' ORDER BY seq"
            )),
            params![id],
        )?,
        Some(v) => versions(
            db,
            sql!(concat!(
                "SELECT ",
                version_columns!(),
                ", seq FROM secret_versions WHERE secret_id = $1 AND stages_json <> '[]' \
                 UNION SELECT ",
                version_columns!(),
                ", seq FROM secret_versions WHERE secret_id = $1 AND version_id = $2 \
                 ORDER BY 8"
            )),
            params![id, v],
        )?,
    };
    Ok(Some((id, record)))
}

/// The secret `key` names with its labelled versions (and `pick.version_id`), and the sealed
/// value of the version `pick` picks, in one read transaction: what GetSecretValue reads.
/// SQLite reads it in one pass (`sqlite/pick.rs`).
pub(crate) fn load_picked(
    db: &mut dyn Db,
    key: SecretKey<'_>,
    pick: VersionPick<'_>,
) -> Result<Option<(SecretRecord, Option<SealedValue>)>> {
    if db.engine() == Engine::Sqlite {
        return crate::sqlite::load_picked(db, key, pick);
    }
    let Some((_, record)) = load_labelled(db, key, pick.version_id, false)? else {
        return Ok(None);
    };
    let picked = pick
        .position(&record.versions)
        .and_then(|i| record.versions.get(i))
        .map(|v| v.version_id.clone());
    let value = match picked {
        Some(version_id) => {
            read_envelope(db, &record.arn, &version_id)?.map(|envelope| SealedValue {
                version_id,
                envelope,
            })
        }
        None => None,
    };
    Ok(Some((record, value)))
}

/// The secret with this ARN (its row locked), its row id, its labelled versions and
/// `version_id`; with the number of versions stored in all.
pub(crate) fn load_for_new_version(
    db: &mut dyn Db,
    arn: &str,
    version_id: &str,
) -> Result<Option<(i64, SecretRecord, usize)>> {
    let Some((id, record)) = load_labelled(db, SecretKey::Arn(arn), Some(version_id), true)? else {
        return Ok(None);
    };
    let stored = count_versions(db, id)?;
    Ok(Some((id, record, stored)))
}

fn count_versions(db: &mut dyn Db, secret_id: i64) -> Result<usize> {
    let n = db.query_one(
        sql!("SELECT COUNT(*) FROM secret_versions WHERE secret_id = $1"),
        params![secret_id],
        |row| row.int(0),
    )?;
    Ok(count(n))
}

/// Remove the oldest unlabelled versions created before `prune.created_before` while the
/// secret (with `stored` versions) has more than `prune.keep`. The candidates come oldest
/// first from their partial index, so a secret with hundreds of versions younger than a day
/// costs a put one short index probe, not a pass over all of them.
pub(crate) fn prune_versions(
    db: &mut dyn Db,
    secret_id: i64,
    prune: VersionPruning,
    stored: usize,
) -> Result<()> {
    let excess = stored.saturating_sub(prune.keep);
    if excess == 0 {
        return Ok(());
    }
    let excess = i64::try_from(excess).unwrap_or(i64::MAX);
    let before = millis(prune.created_before);
    match db.engine() {
        // One statement, one round trip.
        Engine::Postgres => {
            db.execute(
                sql!(
                    "DELETE FROM secret_versions WHERE secret_id = $1 AND seq IN (
                         SELECT seq FROM secret_versions
                         WHERE secret_id = $1 AND stages_json = '[]' AND created < $2
                         ORDER BY created, seq LIMIT $3)"
                ),
                params![secret_id, before, excess],
            )?;
        }
        // Row by row with a cached statement: a `DELETE … IN (SELECT … LIMIT ?)` was prepared
        // anew on every run.
        Engine::Sqlite => {
            let candidates = db.query(
                sql!(
                    "SELECT seq FROM secret_versions
                     WHERE secret_id = $1 AND stages_json = '[]' AND created < $2
                     ORDER BY created, seq LIMIT $3"
                ),
                params![secret_id, before, excess],
                |row| row.int(0),
            )?;
            for seq in candidates {
                db.execute(
                    sql!("DELETE FROM secret_versions WHERE secret_id = $1 AND seq = $2"),
                    params![secret_id, seq],
                )?;
            }
        }
    }
    Ok(())
}

pub(crate) fn load_by_name(
    db: &mut dyn Db,
    scope: &Scope,
    name: &str,
) -> Result<Option<SecretRecord>> {
    let found = secret_row(db, SecretKey::Name(scope, name), false)?;
    Ok(with_versions(db, found)?.map(|(_, record)| record))
}

pub(crate) fn read_envelope(
    db: &mut dyn Db,
    arn: &str,
    version_id: &str,
) -> Result<Option<Vec<u8>>> {
    db.query_opt(
        sql!(
            "SELECT v.envelope FROM secret_versions v JOIN secrets s ON s.id = v.secret_id
             WHERE s.arn = $1 AND v.version_id = $2"
        ),
        params![arn, version_id],
        |row| row.blob(0),
    )
}

/// One page of a scope's secrets in `order` (see `Store::list_secrets_ordered`). Both queries
/// select the same page, and they run in one read transaction, so they agree. Text compares
/// bytewise on both engines, Rust's `str` order (SQLite's BINARY collation; PostgreSQL's
/// columns are `COLLATE "C"`).
pub(crate) fn list(
    db: &mut dyn Db,
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
    let secrets_lite = sqlite_string(&secrets_sql);
    let versions_lite = sqlite_string(&versions_sql);
    let mut args = vec![
        Value::Text(scope.account.as_str()),
        Value::Text(scope.region.as_str()),
        Value::Int(limit),
    ];
    if let Some(cursor) = after {
        args.push(match &cursor.value {
            SortValue::Text(t) => Value::Text(t),
            SortValue::Millis(m) => Value::Int(*m),
        });
        args.push(Value::Text(&cursor.arn));
    }
    let rows = db.query(
        Sql {
            pg: &secrets_sql,
            lite: &secrets_lite,
        },
        &args,
        secret_from_row,
    )?;
    let mut versions: HashMap<i64, Vec<VersionMeta>> = HashMap::new();
    db.each(
        Sql {
            pg: &versions_sql,
            lite: &versions_lite,
        },
        &args,
        &mut |row| {
            let (secret_id, meta) = version_from_row(row)?;
            versions.entry(secret_id).or_default().push(meta);
            Ok(())
        },
    )?;
    Ok(rows
        .into_iter()
        .map(|(id, mut record)| {
            record.versions = versions.remove(&id).unwrap_or_default();
            record
        })
        .collect())
}

pub(crate) fn expired_deletions(db: &mut dyn Db, now: Timestamp) -> Result<Vec<String>> {
    db.query(
        sql!("SELECT arn FROM secrets WHERE purge_after <= $1 ORDER BY purge_after, arn"),
        params![millis(now)],
        |row| row.text(0),
    )
}

/// Whether the secret and the version already record an access on `day` (then `touch` would
/// change nothing). A missing secret or version answers `false`.
pub(crate) fn is_touched(
    db: &mut dyn Db,
    arn: &str,
    version_id: &str,
    day: Timestamp,
) -> Result<bool> {
    let seen = db.query_opt(
        sql!(
            "SELECT s.last_accessed, v.last_accessed
             FROM secrets s JOIN secret_versions v ON v.secret_id = s.id
             WHERE s.arn = $1 AND v.version_id = $2"
        ),
        params![arn, version_id],
        |row| Ok((row.opt_int(0)?, row.opt_int(1)?)),
    )?;
    let day = Some(millis(day));
    Ok(matches!(seen, Some((secret, version)) if secret == day && version == day))
}

// ---- writes (each runs inside the caller's write transaction) ----

/// Whether a secret holds the name in the scope: `Some(scheduled_for_deletion)`.
fn name_holder(db: &mut dyn Db, record: &SecretRecord) -> Result<Option<bool>> {
    db.query_opt(
        sql!("SELECT deleted_date FROM secrets WHERE account = $1 AND region = $2 AND name = $3"),
        params![
            record.scope.account.as_str(),
            record.scope.region.as_str(),
            &record.name
        ],
        |row| Ok(row.opt_int(0)?.is_some()),
    )
}

fn arn_taken(db: &mut dyn Db, arn: &str) -> Result<bool> {
    db.exists(sql!("SELECT 1 FROM secrets WHERE arn = $1"), params![arn])
}

pub(crate) fn create(
    db: &mut dyn Db,
    record: &SecretRecord,
    first: Option<&SealedVersion>,
) -> Result<()> {
    if let Some(scheduled_for_deletion) = name_holder(db, record)? {
        return Err(StoreError::SecretExists {
            scheduled_for_deletion,
        });
    }
    if arn_taken(db, &record.arn)? {
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

    // A concurrent creator of the same name (on another PostgreSQL node) is met here:
    // `ON CONFLICT` waits for its transaction and then inserts nothing if it committed.
    let deletion = record.deletion;
    let inserted = db.query_opt(
        sql!(
            "INSERT INTO secrets (account, region, arn, name, description, kms_key_id, tags_json,
                 resource_policy, rotation, created, last_changed, last_accessed, deleted_date,
                 purge_after, replication)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
             ON CONFLICT DO NOTHING
             RETURNING id"
        ),
        params![
            record.scope.account.as_str(),
            record.scope.region.as_str(),
            &record.arn,
            &record.name,
            &record.description,
            &record.kms_key_id,
            tags_to_json(&record.tags)?.as_str(),
            &record.resource_policy,
            &record.rotation,
            millis(record.created),
            millis(record.last_changed),
            record.last_accessed.map(millis),
            deletion.map(|d| millis(d.deleted_date)),
            deletion.map(|d| millis(d.purge_after)),
            &record.replication,
        ],
        |row| row.int(0),
    )?;
    let Some(id) = inserted else {
        // The statement saw the winner's committed row; a new statement sees it too.
        if let Some(scheduled_for_deletion) = name_holder(db, record)? {
            return Err(StoreError::SecretExists {
                scheduled_for_deletion,
            });
        }
        if arn_taken(db, &record.arn)? {
            return Err(StoreError::Conflict);
        }
        // The holder went away in between: run the transaction again.
        db.retry_later();
        return Err(StoreError::Backend(
            "create_secret: a concurrent change of the same name".to_owned(),
        ));
    };
    if let Some((meta, sealed)) = first {
        insert_version(db, id, 1, meta, &sealed.envelope)?;
    }
    Ok(())
}

fn insert_version(
    db: &mut dyn Db,
    secret_id: i64,
    seq: i64,
    meta: &VersionMeta,
    envelope: &[u8],
) -> Result<()> {
    db.execute(
        sql!(
            "INSERT INTO secret_versions (secret_id, version_id, seq, stages_json, created,
                 last_accessed, value_digest, kms_key_id, envelope)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ),
        params![
            secret_id,
            &meta.version_id,
            seq,
            stages_to_json(&meta.stages)?.as_str(),
            millis(meta.created),
            meta.last_accessed.map(millis),
            &meta.value_digest,
            &meta.kms_key_id,
            envelope,
        ],
    )?;
    Ok(())
}

/// Write what an `update_secret` closure changed between `before` (as loaded) and `txn`.
///
/// The identity of a secret (scope, ARN, name, creation date) and of a stored version (id,
/// creation date, digest) never changes here, whatever the closure did to them; a stored
/// version's sealed value and key id change only through `SecretTxn::reseal_version`. The
/// order of stored versions is the order they were added in.
pub(crate) fn write_changes(
    db: &mut dyn Db,
    id: i64,
    before: &SecretRecord,
    txn: &SecretTxn,
) -> Result<()> {
    let after = &txn.record;
    if secret_columns_changed(before, after) {
        let deletion = after.deletion;
        db.execute(
            sql!(
                "UPDATE secrets SET description = $1, kms_key_id = $2, tags_json = $3,
                     resource_policy = $4, rotation = $5, last_changed = $6, last_accessed = $7,
                     deleted_date = $8, purge_after = $9, replication = $10
                 WHERE id = $11"
            ),
            params![
                &after.description,
                &after.kms_key_id,
                tags_to_json(&after.tags)?.as_str(),
                &after.resource_policy,
                &after.rotation,
                millis(after.last_changed),
                after.last_accessed.map(millis),
                deletion.map(|d| millis(d.deleted_date)),
                deletion.map(|d| millis(d.purge_after)),
                &after.replication,
                id,
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
            db.execute(
                sql!("DELETE FROM secret_versions WHERE secret_id = $1 AND version_id = $2"),
                params![id, id_str],
            )?;
        }
    }

    let mut next_seq = db.query_one(
        sql!("SELECT COALESCE(MAX(seq), 0) + 1 FROM secret_versions WHERE secret_id = $1"),
        params![id],
        |row| row.int(0),
    )?;
    let resealed: HashMap<&str, &SealedVersion> = txn
        .resealed()
        .iter()
        .map(|s| (s.version_id.as_str(), s))
        .collect();
    let stored: HashMap<&str, &VersionMeta> = before
        .versions
        .iter()
        .map(|v| (v.version_id.as_str(), v))
        .collect();
    for version in &after.versions {
        let version_id = version.version_id.as_str();
        if let Some(new) = sealed.get(version_id) {
            insert_version(db, id, next_seq, version, &new.envelope)?;
            next_seq += 1;
        } else if let Some(old) = stored.get(version_id) {
            if let Some(resealed) = resealed.get(version_id) {
                db.execute(
                    sql!(
                        "UPDATE secret_versions SET envelope = $1, kms_key_id = $2
                         WHERE secret_id = $3 AND version_id = $4"
                    ),
                    params![&resealed.envelope, &version.kms_key_id, id, version_id],
                )?;
            }
            if old.stages != version.stages || old.last_accessed != version.last_accessed {
                db.execute(
                    sql!(
                        "UPDATE secret_versions SET stages_json = $1, last_accessed = $2
                         WHERE secret_id = $3 AND version_id = $4"
                    ),
                    params![
                        stages_to_json(&version.stages)?.as_str(),
                        version.last_accessed.map(millis),
                        id,
                        version_id,
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
        || before.replication != after.replication
}

/// Record a read on `day`. A missing secret or version answers `NotFound` (and the caller's
/// transaction is rolled back).
pub(crate) fn touch(db: &mut dyn Db, arn: &str, version_id: &str, day: Timestamp) -> Result<()> {
    // The secret's row is locked first, as `update_secret` does, so that the two never wait
    // for each other in opposite orders.
    let id = db
        .query_opt(
            locking!("SELECT id FROM secrets WHERE arn = $1"),
            params![arn],
            |row| row.int(0),
        )?
        .ok_or(StoreError::NotFound(Missing::Secret))?;
    let day = millis(day);
    let touched = db.execute(
        sql!(
            "UPDATE secret_versions SET last_accessed = $1
             WHERE secret_id = $2 AND version_id = $3"
        ),
        params![day, id, version_id],
    )?;
    if touched == 0 {
        return Err(StoreError::NotFound(Missing::SecretVersion));
    }
    db.execute(
        sql!("UPDATE secrets SET last_accessed = $1 WHERE id = $2"),
        params![day, id],
    )?;
    Ok(())
}

/// Remove a secret and its versions. Purging an ARN that is already gone is not an error, so
/// that two nodes sweeping expired deletions at once both succeed.
pub(crate) fn purge(db: &mut dyn Db, arn: &str) -> Result<()> {
    // The secret's row is locked first, as `update_secret` does. The foreign key cascades
    // too; deleting the versions explicitly does not depend on it.
    let Some(id) = db.query_opt(
        locking!("SELECT id FROM secrets WHERE arn = $1"),
        params![arn],
        |row| row.int(0),
    )?
    else {
        return Ok(());
    };
    db.execute(
        sql!("DELETE FROM secret_versions WHERE secret_id = $1"),
        params![id],
    )?;
    db.execute(sql!("DELETE FROM secrets WHERE id = $1"), params![id])?;
    Ok(())
}
