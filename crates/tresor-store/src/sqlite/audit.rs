//! The audit trail: chained records and checkpoints.
//!
//! Appends run on the writer in one `BEGIN IMMEDIATE` transaction per batch: the head is read,
//! the batch is checked against it, and every row is inserted before the single commit (one WAL
//! fsync under `synchronous=FULL`), so a batch is durable, and continuous with what was there,
//! as a whole or not at all.
//!
//! An append writes `audit_records` only. The lookup indexes are derived data, written later
//! in larger batches by [`index`] (`AuditStore::index_audit`): `audit_lookup` (one row per
//! record with the columns lookups filter on, and their indexes, which lead with the account)
//! and `audit_resources` (one row per distinct resource of a record). The commit a request
//! waits for then dirties the pages at the end of one b-tree instead of a page in each of ten,
//! and a batch of hundreds of records dirties each index's hot pages once. The trail is
//! indexed up to the highest `seq` in `audit_lookup`, with no gaps; a lookup reads the records
//! above it (the tail, a few hundred at most while the writer keeps up) directly, filtering on
//! their own columns, and the rest through the indexes, in one read transaction.

use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
use tresor_types::{AccountId, Timestamp};

use super::{millis, parse_account, SqliteStore};
use crate::{AuditQuery, AuditRow, AuditStore, CheckpointRow, LostChanges, Result, StoreError};

macro_rules! record_columns {
    () => {
        "seq, prev_hash, hash, mac, event_json, event_time, event_id, event_name, event_source, \
         account, read_only, username, access_key_id, resources_json"
    };
    // The same columns of the records' table named `r` in a join.
    (r) => {
        "r.seq, r.prev_hash, r.hash, r.mac, r.event_json, r.event_time, r.event_id, \
         r.event_name, r.event_source, r.account, r.read_only, r.username, r.access_key_id, \
         r.resources_json"
    };
}

fn to_i64(seq: u64) -> Result<i64> {
    i64::try_from(seq)
        .map_err(|_| StoreError::Backend("an audit sequence number is too large".to_owned()))
}

fn to_u64(seq: i64) -> Result<u64> {
    u64::try_from(seq)
        .map_err(|_| StoreError::Backend("a stored audit sequence number is negative".to_owned()))
}

fn resources_to_json(resources: &[(String, String)]) -> Result<String> {
    serde_json::to_string(resources).map_err(|_| {
        StoreError::Backend("cannot encode the resources of an audit record".to_owned())
    })
}

fn resources_from_json(json: &str) -> Result<Vec<(String, String)>> {
    serde_json::from_str(json).map_err(|_| {
        StoreError::Backend("the stored resources of an audit record are malformed".to_owned())
    })
}

/// An `audit_records` row as stored.
struct RecordRow {
    seq: i64,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
    mac: Vec<u8>,
    event_json: String,
    event_time: i64,
    event_id: String,
    event_name: String,
    event_source: String,
    account: Option<String>,
    read_only: bool,
    username: Option<String>,
    access_key_id: Option<String>,
    resources_json: String,
}

impl RecordRow {
    /// Read the columns of `record_columns!()`, in order.
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            seq: row.get(0)?,
            prev_hash: row.get(1)?,
            hash: row.get(2)?,
            mac: row.get(3)?,
            event_json: row.get(4)?,
            event_time: row.get(5)?,
            event_id: row.get(6)?,
            event_name: row.get(7)?,
            event_source: row.get(8)?,
            account: row.get(9)?,
            read_only: row.get(10)?,
            username: row.get(11)?,
            access_key_id: row.get(12)?,
            resources_json: row.get(13)?,
        })
    }

    fn into_record(self) -> Result<AuditRow> {
        Ok(AuditRow {
            seq: to_u64(self.seq)?,
            prev_hash: self.prev_hash,
            hash: self.hash,
            mac: self.mac,
            event_json: self.event_json,
            event_time: Timestamp(self.event_time),
            event_id: self.event_id,
            event_name: self.event_name,
            event_source: self.event_source,
            account: self.account.as_deref().map(parse_account).transpose()?,
            read_only: self.read_only,
            username: self.username,
            access_key_id: self.access_key_id,
            resources: resources_from_json(&self.resources_json)?,
        })
    }
}

fn head(conn: &Connection) -> Result<Option<(u64, Vec<u8>)>> {
    let row = conn
        .prepare_cached("SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1")?
        .query_row([], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?))
        })
        .optional()?;
    row.map(|(seq, hash)| Ok((to_u64(seq)?, hash))).transpose()
}

/// Whether the trail holds any record or checkpoint.
pub(super) fn holds_records(conn: &Connection) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM audit_records) OR EXISTS (SELECT 1 FROM audit_checkpoints)",
        [],
        |row| row.get(0),
    )?)
}

/// Check that `rows` continue the chain at `head` and among themselves.
fn check_continuity(head: Option<(u64, Vec<u8>)>, rows: &[AuditRow]) -> Result<()> {
    let (mut expected_seq, mut expected_prev) = match head {
        Some((seq, hash)) => (seq.checked_add(1), Some(hash)),
        // The genesis `prev_hash` is the chain's choice.
        None => (Some(1), None),
    };
    for row in rows {
        let seq_ok = expected_seq == Some(row.seq);
        let prev_ok = expected_prev
            .as_ref()
            .is_none_or(|prev| *prev == row.prev_hash);
        if !seq_ok || !prev_ok {
            return Err(StoreError::Conflict);
        }
        expected_seq = row.seq.checked_add(1);
        expected_prev = Some(row.hash.clone());
    }
    Ok(())
}

fn append(conn: &Connection, rows: &[AuditRow]) -> Result<()> {
    check_continuity(head(conn)?, rows)?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO audit_records (seq, prev_hash, hash, mac, event_json, event_time, event_id,
             event_name, event_source, account, read_only, username, access_key_id,
             resources_json)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?;
    for row in rows {
        let seq = to_i64(row.seq)?;
        insert.execute(params![
            seq,
            row.prev_hash,
            row.hash,
            row.mac,
            row.event_json,
            millis(row.event_time),
            row.event_id,
            row.event_name,
            row.event_source,
            row.account.as_ref().map(AccountId::as_str),
            row.read_only,
            row.username,
            row.access_key_id,
            resources_to_json(&row.resources)?,
        ])?;
    }
    Ok(())
}

/// The highest `seq` the lookup indexes hold (0 when none): every record up to it is indexed.
fn indexed_up_to(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT coalesce(max(seq), 0) FROM audit_lookup")?
        .query_row([], |row| row.get(0))?)
}

/// Index up to `max` records of the tail, oldest first; how many were indexed.
fn index(conn: &Connection, max: usize) -> Result<usize> {
    let from = indexed_up_to(conn)?;
    let max = i64::try_from(max).unwrap_or(i64::MAX);
    let indexed = conn
        .prepare_cached(
            "INSERT INTO audit_lookup (seq, account, event_time, event_id, event_name,
                 event_source, read_only, username, access_key_id)
             SELECT seq, account, event_time, event_id, event_name, event_source, read_only,
                 username, access_key_id
             FROM audit_records WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?
        .execute(params![from, max])?;
    if indexed == 0 {
        return Ok(0);
    }
    // `resources_json` is `[[type, name], …]`, as `resources_to_json` wrote it. A record lists
    // a resource once in `audit_resources` however often it names it.
    conn.prepare_cached(
        "INSERT INTO audit_resources (seq, type, name)
         SELECT r.seq, resource.value ->> 0, resource.value ->> 1
         FROM audit_records r, json_each(r.resources_json) resource
         WHERE r.seq > ?1 AND r.seq <= ?2
         ON CONFLICT DO NOTHING",
    )?
    .execute(params![from, indexed_up_to(conn)?])?;
    Ok(indexed)
}

fn read(conn: &Connection, from_seq: u64, limit: usize) -> Result<Vec<AuditRow>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    // Past the largest stored seq there is nothing to read.
    let Ok(from) = i64::try_from(from_seq) else {
        return Ok(Vec::new());
    };
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    conn.prepare_cached(concat!(
        "SELECT ",
        record_columns!(),
        " FROM audit_records WHERE seq >= ?1 ORDER BY seq LIMIT ?2"
    ))?
    .query_map(params![from, limit], RecordRow::from_row)?
    .collect::<rusqlite::Result<Vec<_>>>()?
    .into_iter()
    .map(RecordRow::into_record)
    .collect()
}

/// Where a lookup reads: the indexed records through `audit_lookup` (alias `l`, joined to the
/// records), or the tail from `audit_records` itself (alias `r`).
#[derive(Clone, Copy)]
enum LookupPart {
    Indexed,
    Tail,
}

/// The `WHERE` conditions of `query` after the account's, with their arguments; `None` when
/// the query can match nothing.
fn conditions(
    part: LookupPart,
    account: &AccountId,
    query: &AuditQuery,
) -> Result<Option<(String, Vec<Value>)>> {
    let (t, by_type, by_name) = match part {
        LookupPart::Indexed => (
            "l",
            " AND l.seq IN (SELECT seq FROM audit_resources WHERE type = ?)",
            " AND l.seq IN (SELECT seq FROM audit_resources WHERE name = ?)",
        ),
        LookupPart::Tail => (
            "r",
            " AND EXISTS (SELECT 1 FROM json_each(r.resources_json) WHERE value ->> 0 = ?)",
            " AND EXISTS (SELECT 1 FROM json_each(r.resources_json) WHERE value ->> 1 = ?)",
        ),
    };
    let mut sql = format!("{t}.account = ?");
    let mut args: Vec<Value> = vec![Value::Text(account.as_str().to_owned())];

    if let Some((attribute, value)) = &query.attribute {
        let condition = match attribute.as_str() {
            "EventId" => format!(" AND {t}.event_id = ?"),
            "EventName" => format!(" AND {t}.event_name = ?"),
            "Username" => format!(" AND {t}.username = ?"),
            "EventSource" => format!(" AND {t}.event_source = ?"),
            "AccessKeyId" => format!(" AND {t}.access_key_id = ?"),
            "ResourceType" => by_type.to_owned(),
            "ResourceName" => by_name.to_owned(),
            "ReadOnly" => {
                if value.eq_ignore_ascii_case("true") {
                    format!(" AND {t}.read_only = 1")
                } else if value.eq_ignore_ascii_case("false") {
                    format!(" AND {t}.read_only = 0")
                } else {
                    return Ok(None);
                }
            }
            _ => {
                return Err(StoreError::Backend(
                    "lookup_audit: unknown lookup attribute".to_owned(),
                ))
            }
        };
        sql.push_str(&condition);
        if attribute != "ReadOnly" {
            args.push(Value::Text(value.clone()));
        }
    }
    if let Some(start) = query.start {
        sql.push_str(&format!(" AND {t}.event_time >= ?"));
        args.push(Value::Integer(millis(start)));
    }
    if let Some(end) = query.end {
        sql.push_str(&format!(" AND {t}.event_time <= ?"));
        args.push(Value::Integer(millis(end)));
    }
    if let Some(before) = query.before_seq {
        // Every stored seq fits in an i64, so a larger bound excludes nothing.
        if let Ok(before) = i64::try_from(before) {
            sql.push_str(&format!(" AND {t}.seq < ?"));
            args.push(Value::Integer(before));
        }
    }
    Ok(Some((sql, args)))
}

/// The statement of one part of a lookup: the records matching `conditions` (from
/// [`conditions`]), newest first, at most `LIMIT` (bound last). The tail's statement also
/// takes, before the limit, the `seq` up to which the trail is indexed; the indexed part is
/// whatever `audit_lookup` holds, all of it at or below that `seq` in the same transaction.
fn part_sql(part: LookupPart, conditions: &str) -> String {
    match part {
        // `CROSS JOIN` keeps `audit_lookup` the outer loop: its indexes choose and order the
        // rows, and each record is then read by its `seq`.
        LookupPart::Indexed => format!(
            concat!(
                "SELECT ",
                record_columns!(r),
                " FROM audit_lookup l CROSS JOIN audit_records r ON r.seq = l.seq",
                " WHERE {} ORDER BY l.seq DESC LIMIT ?"
            ),
            conditions
        ),
        LookupPart::Tail => format!(
            concat!(
                "SELECT ",
                record_columns!(r),
                " FROM audit_records r WHERE {} AND r.seq > ? ORDER BY r.seq DESC LIMIT ?"
            ),
            conditions
        ),
    }
}

/// The records of one part of the trail that match, newest first, at most `limit`.
fn lookup_part(
    conn: &Connection,
    part: LookupPart,
    indexed_up_to: i64,
    account: &AccountId,
    query: &AuditQuery,
    limit: usize,
) -> Result<Vec<AuditRow>> {
    let Some((conditions, mut args)) = conditions(part, account, query)? else {
        return Ok(Vec::new());
    };
    if let LookupPart::Tail = part {
        args.push(Value::Integer(indexed_up_to));
    }
    args.push(Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
    conn.prepare_cached(&part_sql(part, &conditions))?
        .query_map(params_from_iter(args), RecordRow::from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .map(RecordRow::into_record)
        .collect()
}

fn lookup(conn: &Connection, account: &AccountId, query: &AuditQuery) -> Result<Vec<AuditRow>> {
    if query.limit == 0 {
        return Ok(Vec::new());
    }
    // The tail holds the newest records: it comes first, newest first, and the indexed part
    // fills what is left of the page.
    let up_to = indexed_up_to(conn)?;
    let mut rows = lookup_part(conn, LookupPart::Tail, up_to, account, query, query.limit)?;
    let left = query.limit.saturating_sub(rows.len());
    if left > 0 {
        rows.extend(lookup_part(
            conn,
            LookupPart::Indexed,
            up_to,
            account,
            query,
            left,
        )?);
    }
    Ok(rows)
}

fn put_checkpoint(conn: &Connection, checkpoint: &CheckpointRow) -> Result<()> {
    let seq = to_i64(checkpoint.seq)?;
    let exists = conn
        .prepare_cached("SELECT 1 FROM audit_checkpoints WHERE seq = ?1")?
        .exists([seq])?;
    if exists {
        return Err(StoreError::Conflict);
    }
    conn.prepare_cached(
        "INSERT INTO audit_checkpoints (seq, hash, time, signature) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        seq,
        checkpoint.hash,
        millis(checkpoint.time),
        checkpoint.signature
    ])?;
    Ok(())
}

fn list_checkpoints(conn: &Connection) -> Result<Vec<CheckpointRow>> {
    conn.prepare_cached("SELECT seq, hash, time, signature FROM audit_checkpoints ORDER BY seq")?
        .query_map([], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, Vec<u8>>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, Vec<u8>>(3)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .map(|(seq, hash, time, signature)| {
            Ok(CheckpointRow {
                seq: to_u64(seq)?,
                hash,
                time: Timestamp(time),
                signature,
            })
        })
        .collect()
}

impl AuditStore for SqliteStore {
    fn lost_changes(&self) -> Result<Vec<LostChanges>> {
        if self.path.is_none() {
            // In memory the two databases commit as one.
            return Ok(Vec::new());
        }
        self.read_both(super::commit::lost)
    }

    fn settle_lost_changes(&self, lost: &[LostChanges]) -> Result<()> {
        if lost.is_empty() {
            return Ok(());
        }
        self.write_trail(|trail| super::commit::settle(trail, lost))
    }

    fn audit_head(&self) -> Result<Option<(u64, Vec<u8>)>> {
        self.read_trail(head)
    }

    fn append_audit(&self, rows: &[AuditRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        // One `BEGIN IMMEDIATE` transaction on the writer: the head cannot move between the
        // check and the inserts, and the batch commits (one fsync) or rolls back as a whole.
        self.write_trail(|tx| append(tx, rows))
    }

    fn append_audit_with(
        &self,
        link: &mut dyn FnMut(Option<(u64, Vec<u8>)>) -> Vec<AuditRow>,
    ) -> Result<()> {
        self.write_trail(|tx| {
            let rows = link(head(tx)?);
            if rows.is_empty() {
                return Ok(());
            }
            append(tx, &rows)
        })
    }

    fn read_audit(&self, from_seq: u64, limit: usize) -> Result<Vec<AuditRow>> {
        self.read_trail(|tx| read(tx, from_seq, limit))
    }

    fn lookup_audit(&self, account: &AccountId, query: &AuditQuery) -> Result<Vec<AuditRow>> {
        self.read_trail(|tx| lookup(tx, account, query))
    }

    fn index_audit(&self, max: usize) -> Result<usize> {
        if max == 0 {
            return Ok(0);
        }
        self.write_trail(|tx| index(tx, max))
    }

    fn put_checkpoint(&self, checkpoint: &CheckpointRow) -> Result<()> {
        self.write_trail(|tx| put_checkpoint(tx, checkpoint))
    }

    fn list_checkpoints(&self) -> Result<Vec<CheckpointRow>> {
        self.read_trail(list_checkpoints)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The plan of `part` of a lookup of `account` with `attribute`, as the audit schema has it.
    fn plan(part: LookupPart, attribute: Option<(&str, &str)>) -> String {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::audit_schema::migrate(&mut conn, "main").unwrap();
        let query = AuditQuery {
            attribute: attribute.map(|(a, v)| (a.to_owned(), v.to_owned())),
            before_seq: Some(9),
            limit: 5,
            ..AuditQuery::default()
        };
        let account = AccountId::parse("000000000000").unwrap();
        let (conditions, _) = conditions(part, &account, &query).unwrap().unwrap();
        let mut stmt = conn
            .prepare(&format!(
                "EXPLAIN QUERY PLAN {}",
                part_sql(part, &conditions)
            ))
            .unwrap();
        let unbound = vec![Value::Null; stmt.parameter_count()];
        let plan: Vec<String> = stmt
            .query_map(params_from_iter(unbound), |row| row.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        plan.join("; ")
    }

    /// The indexed part of every lookup goes through the index of its attribute, newest first
    /// without a sort, and reads each record by its `seq`.
    #[test]
    fn indexed_lookups_use_their_indexes() {
        for (attribute, index) in [
            (None, "audit_lookup_by_account (account=? AND seq<?)"),
            (
                Some(("EventName", "x")),
                "audit_lookup_by_event_name (account=? AND event_name=? AND seq<?)",
            ),
            (
                Some(("Username", "x")),
                "audit_lookup_by_username (account=? AND username=? AND seq<?)",
            ),
            (
                Some(("AccessKeyId", "x")),
                "audit_lookup_by_access_key (account=? AND access_key_id=? AND seq<?)",
            ),
            (
                Some(("EventId", "x")),
                "audit_lookup_by_event_id (event_id=?",
            ),
            (
                Some(("ResourceName", "x")),
                "audit_resources_by_name (name=?)",
            ),
            (
                Some(("ResourceType", "x")),
                "audit_resources_by_type (type=?)",
            ),
        ] {
            let plan = plan(LookupPart::Indexed, attribute);
            assert!(plan.contains(index), "{attribute:?}: {plan}");
            assert!(
                plan.contains("SEARCH r USING INTEGER PRIMARY KEY (rowid=?)"),
                "{attribute:?}: {plan}"
            );
            assert!(!plan.contains("SCAN l"), "{attribute:?}: {plan}");
        }
    }

    /// The tail is read from the end of the records, by `seq`, however the lookup filters.
    #[test]
    fn the_tail_is_read_by_seq() {
        for attribute in [None, Some(("EventName", "x")), Some(("ResourceName", "x"))] {
            let plan = plan(LookupPart::Tail, attribute);
            assert!(
                plan.starts_with("SEARCH r USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"),
                "{attribute:?}: {plan}"
            );
            assert!(!plan.contains("TEMP B-TREE"), "{attribute:?}: {plan}");
        }
    }
}
