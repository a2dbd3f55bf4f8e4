//! The audit trail: chained records and checkpoints.
//!
//! Every append first takes a transaction-scoped advisory lock ([`APPEND_LOCK`]), which every
//! appender of the database takes, on any connection, node or process; the head is read after
//! the lock is granted (under `READ COMMITTED` each statement sees what committed before it),
//! the batch is checked against it, and every row is inserted before the single commit. So a
//! batch is durable, and continuous with what was there, as a whole or not at all, and the
//! trail stays one chain whatever number of nodes append to it. The lock is held until the
//! transaction ends, so inside `atomically` it is held until the block commits.

use postgres::types::ToSql;
use postgres::Row;
use tresor_types::{AccountId, Timestamp};

use super::conn::{Conn, Param};
use super::{limit, millis, parse_account, PostgresStore};
use crate::{AuditQuery, AuditRow, AuditStore, CheckpointRow, Result, StoreError};

/// The advisory lock key audit appends hold ("TRSRAUDT"). Advisory locks are per database.
const APPEND_LOCK: i64 = 0x5452_5352_4155_4454;

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

/// A row of `record_columns!()`.
fn record_from_row(row: &Row) -> Result<AuditRow> {
    let account: Option<String> = row.try_get(9)?;
    let resources_json: String = row.try_get(13)?;
    Ok(AuditRow {
        seq: to_u64(row.try_get(0)?)?,
        prev_hash: row.try_get(1)?,
        hash: row.try_get(2)?,
        mac: row.try_get(3)?,
        event_json: row.try_get(4)?,
        event_time: Timestamp(row.try_get(5)?),
        event_id: row.try_get(6)?,
        event_name: row.try_get(7)?,
        event_source: row.try_get(8)?,
        account: account.as_deref().map(parse_account).transpose()?,
        read_only: row.try_get(10)?,
        username: row.try_get(11)?,
        access_key_id: row.try_get(12)?,
        resources: resources_from_json(&resources_json)?,
    })
}

fn head(c: &mut Conn) -> Result<Option<(u64, Vec<u8>)>> {
    let Some(row) = c.query_opt(
        "SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1",
        &[],
    )?
    else {
        return Ok(None);
    };
    Ok(Some((to_u64(row.try_get(0)?)?, row.try_get(1)?)))
}

/// Take the append lock, then read the head as it is now.
fn lock_head(c: &mut Conn) -> Result<Option<(u64, Vec<u8>)>> {
    c.execute("SELECT pg_advisory_xact_lock($1)", &[&APPEND_LOCK])?;
    head(c)
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

/// Insert `rows` after the head `head` (read under the append lock).
fn append(c: &mut Conn, head: Option<(u64, Vec<u8>)>, rows: &[AuditRow]) -> Result<()> {
    check_continuity(head, rows)?;
    for row in rows {
        let seq = to_i64(row.seq)?;
        c.execute(
            "INSERT INTO audit_records (seq, prev_hash, hash, mac, event_json, event_time,
                 event_id, event_name, event_source, account, read_only, username,
                 access_key_id, resources_json)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            &[
                &seq,
                &row.prev_hash,
                &row.hash,
                &row.mac,
                &row.event_json,
                &millis(row.event_time),
                &row.event_id,
                &row.event_name,
                &row.event_source,
                &row.account.as_ref().map(AccountId::as_str),
                &row.read_only,
                &row.username,
                &row.access_key_id,
                &resources_to_json(&row.resources)?,
            ],
        )?;
        for (kind, name) in &row.resources {
            c.execute(
                "INSERT INTO audit_resources (seq, type, name) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[&seq, kind, name],
            )?;
        }
    }
    Ok(())
}

fn read(c: &mut Conn, from_seq: u64, n: usize) -> Result<Vec<AuditRow>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    // Past the largest stored seq there is nothing to read.
    let Ok(from) = i64::try_from(from_seq) else {
        return Ok(Vec::new());
    };
    c.query(
        concat!(
            "SELECT ",
            record_columns!(),
            " FROM audit_records WHERE seq >= $1 ORDER BY seq LIMIT $2"
        ),
        &[&from, &limit(n)],
    )?
    .iter()
    .map(record_from_row)
    .collect()
}

/// A parameter of a query built at run time.
enum Arg {
    Text(String),
    Int(i64),
}

impl Arg {
    fn param(&self) -> Param<'_> {
        match self {
            Arg::Text(s) => s as &(dyn ToSql + Sync),
            Arg::Int(i) => i as &(dyn ToSql + Sync),
        }
    }
}

fn lookup(c: &mut Conn, account: &AccountId, query: &AuditQuery) -> Result<Vec<AuditRow>> {
    if query.limit == 0 {
        return Ok(Vec::new());
    }
    let mut sql = String::from(concat!(
        "SELECT ",
        record_columns!(),
        " FROM audit_records WHERE account = $1"
    ));
    let mut args = vec![Arg::Text(account.as_str().to_owned())];
    // Adds ` <condition with $N> ` for the next parameter.
    let mut push = |sql: &mut String, condition: &str, arg: Arg| {
        args.push(arg);
        sql.push_str(&condition.replace("$N", &format!("${}", args.len())));
    };

    if let Some((attribute, value)) = &query.attribute {
        let text = || Arg::Text(value.clone());
        match attribute.as_str() {
            "EventId" => push(&mut sql, " AND event_id = $N", text()),
            "EventName" => push(&mut sql, " AND event_name = $N", text()),
            "Username" => push(&mut sql, " AND username = $N", text()),
            "EventSource" => push(&mut sql, " AND event_source = $N", text()),
            "AccessKeyId" => push(&mut sql, " AND access_key_id = $N", text()),
            "ResourceType" => push(
                &mut sql,
                " AND seq IN (SELECT seq FROM audit_resources WHERE type = $N)",
                text(),
            ),
            "ResourceName" => push(
                &mut sql,
                " AND seq IN (SELECT seq FROM audit_resources WHERE name = $N)",
                text(),
            ),
            "ReadOnly" => {
                if value.eq_ignore_ascii_case("true") {
                    sql.push_str(" AND read_only");
                } else if value.eq_ignore_ascii_case("false") {
                    sql.push_str(" AND NOT read_only");
                } else {
                    return Ok(Vec::new());
                }
            }
            _ => {
                return Err(StoreError::Backend(
                    "lookup_audit: unknown lookup attribute".to_owned(),
                ))
            }
        }
    }
    if let Some(start) = query.start {
        push(&mut sql, " AND event_time >= $N", Arg::Int(millis(start)));
    }
    if let Some(end) = query.end {
        push(&mut sql, " AND event_time <= $N", Arg::Int(millis(end)));
    }
    if let Some(before) = query.before_seq {
        // Every stored seq fits in an i64, so a larger bound excludes nothing.
        if let Ok(before) = i64::try_from(before) {
            push(&mut sql, " AND seq < $N", Arg::Int(before));
        }
    }
    push(
        &mut sql,
        " ORDER BY seq DESC LIMIT $N",
        Arg::Int(limit(query.limit)),
    );
    let params: Vec<Param<'_>> = args.iter().map(Arg::param).collect();
    c.query(&sql, &params)?
        .iter()
        .map(record_from_row)
        .collect()
}

fn put_checkpoint(c: &mut Conn, checkpoint: &CheckpointRow) -> Result<()> {
    // A checkpoint at a taken seq is a unique violation: `Conflict`.
    c.execute(
        "INSERT INTO audit_checkpoints (seq, hash, time, signature) VALUES ($1, $2, $3, $4)",
        &[
            &to_i64(checkpoint.seq)?,
            &checkpoint.hash,
            &millis(checkpoint.time),
            &checkpoint.signature,
        ],
    )?;
    Ok(())
}

fn list_checkpoints(c: &mut Conn) -> Result<Vec<CheckpointRow>> {
    c.query(
        "SELECT seq, hash, time, signature FROM audit_checkpoints ORDER BY seq",
        &[],
    )?
    .iter()
    .map(|row| {
        Ok(CheckpointRow {
            seq: to_u64(row.try_get(0)?)?,
            hash: row.try_get(1)?,
            time: Timestamp(row.try_get(2)?),
            signature: row.try_get(3)?,
        })
    })
    .collect()
}

impl AuditStore for PostgresStore {
    fn audit_head(&self) -> Result<Option<(u64, Vec<u8>)>> {
        self.read(head)
    }

    fn append_audit(&self, rows: &[AuditRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.write(|c| {
            let head = lock_head(c)?;
            append(c, head, rows)
        })
    }

    fn append_audit_with(
        &self,
        link: &mut dyn FnMut(Option<(u64, Vec<u8>)>) -> Vec<AuditRow>,
    ) -> Result<()> {
        self.write(|c| {
            let head = lock_head(c)?;
            let rows = link(head.clone());
            if rows.is_empty() {
                return Ok(());
            }
            append(c, head, &rows)
        })
    }

    fn read_audit(&self, from_seq: u64, limit: usize) -> Result<Vec<AuditRow>> {
        self.read(|c| read(c, from_seq, limit))
    }

    fn lookup_audit(&self, account: &AccountId, query: &AuditQuery) -> Result<Vec<AuditRow>> {
        self.read(|c| lookup(c, account, query))
    }

    /// PostgreSQL writes its lookup indexes with each append: there is never anything to
    /// index.
    fn index_audit(&self, _max: usize) -> Result<usize> {
        Ok(0)
    }

    fn put_checkpoint(&self, checkpoint: &CheckpointRow) -> Result<()> {
        self.write(|c| put_checkpoint(c, checkpoint))
    }

    fn list_checkpoints(&self) -> Result<Vec<CheckpointRow>> {
        self.read(list_checkpoints)
    }
}
