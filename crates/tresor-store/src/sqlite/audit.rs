//! The audit trail: chained records and checkpoints.
//!
//! Appends run on the writer in one `BEGIN IMMEDIATE` transaction per batch: the head is read,
//! the batch is checked against it, and every row is inserted before the single commit (one WAL
//! fsync under `synchronous=FULL`), so a batch is durable, and continuous with what was there,
//! as a whole or not at all. Lookups read `audit_records` through indexes that lead with the
//! account; resources are searched through `audit_resources`.

use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
use tresor_types::{AccountId, Timestamp};

use super::{millis, parse_account, SqliteStore};
use crate::{AuditQuery, AuditRow, AuditStore, CheckpointRow, Result, StoreError};

macro_rules! record_columns {
    () => {
        "seq, prev_hash, hash, mac, event_json, event_time, event_id, event_name, event_source, \
         account, read_only, username, access_key_id, resources_json"
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
    let mut insert_resource = conn.prepare_cached(
        "INSERT INTO audit_resources (seq, type, name) VALUES (?1, ?2, ?3)
         ON CONFLICT DO NOTHING",
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
        for (kind, name) in &row.resources {
            insert_resource.execute(params![seq, kind, name])?;
        }
    }
    Ok(())
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

fn lookup(conn: &Connection, account: &AccountId, query: &AuditQuery) -> Result<Vec<AuditRow>> {
    if query.limit == 0 {
        return Ok(Vec::new());
    }
    let mut sql = String::from(concat!(
        "SELECT ",
        record_columns!(),
        " FROM audit_records WHERE account = ?"
    ));
    let mut args: Vec<Value> = vec![Value::Text(account.as_str().to_owned())];

    if let Some((attribute, value)) = &query.attribute {
        let condition = match attribute.as_str() {
            "EventId" => " AND event_id = ?",
            "EventName" => " AND event_name = ?",
            "Username" => " AND username = ?",
            "EventSource" => " AND event_source = ?",
            "AccessKeyId" => " AND access_key_id = ?",
            "ResourceType" => " AND seq IN (SELECT seq FROM audit_resources WHERE type = ?)",
            "ResourceName" => " AND seq IN (SELECT seq FROM audit_resources WHERE name = ?)",
            "ReadOnly" => {
                if value.eq_ignore_ascii_case("true") {
                    " AND read_only = 1"
                } else if value.eq_ignore_ascii_case("false") {
                    " AND read_only = 0"
                } else {
                    return Ok(Vec::new());
                }
            }
            _ => {
                return Err(StoreError::Backend(
                    "lookup_audit: unknown lookup attribute".to_owned(),
                ))
            }
        };
        sql.push_str(condition);
        if attribute != "ReadOnly" {
            args.push(Value::Text(value.clone()));
        }
    }
    if let Some(start) = query.start {
        sql.push_str(" AND event_time >= ?");
        args.push(Value::Integer(millis(start)));
    }
    if let Some(end) = query.end {
        sql.push_str(" AND event_time <= ?");
        args.push(Value::Integer(millis(end)));
    }
    if let Some(before) = query.before_seq {
        // Every stored seq fits in an i64, so a larger bound excludes nothing.
        if let Ok(before) = i64::try_from(before) {
            sql.push_str(" AND seq < ?");
            args.push(Value::Integer(before));
        }
    }
    sql.push_str(" ORDER BY seq DESC LIMIT ?");
    args.push(Value::Integer(
        i64::try_from(query.limit).unwrap_or(i64::MAX),
    ));

    conn.prepare_cached(&sql)?
        .query_map(params_from_iter(args), RecordRow::from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .map(RecordRow::into_record)
        .collect()
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
    fn audit_head(&self) -> Result<Option<(u64, Vec<u8>)>> {
        self.read(head)
    }

    fn append_audit(&self, rows: &[AuditRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        // One `BEGIN IMMEDIATE` transaction on the writer: the head cannot move between the
        // check and the inserts, and the batch commits (one fsync) or rolls back as a whole.
        self.write(|tx| append(tx, rows))
    }

    fn append_audit_with(
        &self,
        link: &mut dyn FnMut(Option<(u64, Vec<u8>)>) -> Vec<AuditRow>,
    ) -> Result<()> {
        self.write(|tx| {
            let rows = link(head(tx)?);
            if rows.is_empty() {
                return Ok(());
            }
            append(tx, &rows)
        })
    }

    fn read_audit(&self, from_seq: u64, limit: usize) -> Result<Vec<AuditRow>> {
        self.read(|tx| read(tx, from_seq, limit))
    }

    fn lookup_audit(&self, account: &AccountId, query: &AuditQuery) -> Result<Vec<AuditRow>> {
        self.read(|tx| lookup(tx, account, query))
    }

    fn put_checkpoint(&self, checkpoint: &CheckpointRow) -> Result<()> {
        self.write(|tx| put_checkpoint(tx, checkpoint))
    }

    fn list_checkpoints(&self) -> Result<Vec<CheckpointRow>> {
        self.read(list_checkpoints)
    }
}
