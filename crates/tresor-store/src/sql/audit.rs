//! The audit trail's records and checkpoints, written once for both backends: the chain's
//! head, the continuity check and the inserts of an append, reading in order, checkpoints.
//!
//! What differs stays with the backend: how an append excludes other appenders (SQLite's
//! single writer; PostgreSQL's advisory lock, `postgres/audit.rs`), and the lookup indexes
//! (SQLite writes them later in batches, `sqlite/audit.rs`; PostgreSQL with each append).

use tresor_types::{AccountId, Timestamp};

use super::{params, sql, Db, Engine, Row};
use crate::codec::{millis, parse_account};
use crate::{AuditRow, CheckpointRow, Result, StoreError};

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
pub(crate) use record_columns;

pub(crate) fn to_i64(seq: u64) -> Result<i64> {
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
pub(crate) fn record_from_row(row: &dyn Row) -> Result<AuditRow> {
    Ok(AuditRow {
        seq: to_u64(row.int(0)?)?,
        prev_hash: row.blob(1)?,
        hash: row.blob(2)?,
        mac: row.blob(3)?,
        event_json: row.text(4)?,
        event_time: Timestamp(row.int(5)?),
        event_id: row.text(6)?,
        event_name: row.text(7)?,
        event_source: row.text(8)?,
        account: row.opt_text(9)?.as_deref().map(parse_account).transpose()?,
        read_only: row.bool(10)?,
        username: row.opt_text(11)?,
        access_key_id: row.opt_text(12)?,
        resources: resources_from_json(&row.text(13)?)?,
    })
}

/// The last record's `seq` and hash.
pub(crate) fn head(db: &mut dyn Db) -> Result<Option<(u64, Vec<u8>)>> {
    db.query_opt(
        sql!("SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1"),
        params![],
        |row| Ok((to_u64(row.int(0)?)?, row.blob(1)?)),
    )
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

/// Insert `rows` after the head `head`, read in this transaction after every other appender
/// was excluded. PostgreSQL indexes each record's resources as it goes.
pub(crate) fn append(
    db: &mut dyn Db,
    head: Option<(u64, Vec<u8>)>,
    rows: &[AuditRow],
) -> Result<()> {
    check_continuity(head, rows)?;
    for row in rows {
        let seq = to_i64(row.seq)?;
        db.execute(
            sql!(
                "INSERT INTO audit_records (seq, prev_hash, hash, mac, event_json, event_time,
                     event_id, event_name, event_source, account, read_only, username,
                     access_key_id, resources_json)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            ),
            params![
                seq,
                &row.prev_hash,
                &row.hash,
                &row.mac,
                &row.event_json,
                millis(row.event_time),
                &row.event_id,
                &row.event_name,
                &row.event_source,
                row.account.as_ref().map(AccountId::as_str),
                row.read_only,
                &row.username,
                &row.access_key_id,
                resources_to_json(&row.resources)?.as_str(),
            ],
        )?;
        if db.engine() == Engine::Postgres {
            for (kind, name) in &row.resources {
                db.execute(
                    sql!(
                        "INSERT INTO audit_resources (seq, type, name) VALUES ($1, $2, $3)
                         ON CONFLICT DO NOTHING"
                    ),
                    params![seq, kind, name],
                )?;
            }
        }
    }
    Ok(())
}

/// Up to `limit` records from `from_seq` on, in order.
pub(crate) fn read(db: &mut dyn Db, from_seq: u64, limit: usize) -> Result<Vec<AuditRow>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    // Past the largest stored seq there is nothing to read.
    let Ok(from) = i64::try_from(from_seq) else {
        return Ok(Vec::new());
    };
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    db.query(
        sql!(concat!(
            "SELECT ",
            record_columns!(),
            " FROM audit_records WHERE seq >= $1 ORDER BY seq LIMIT $2"
        )),
        params![from, limit],
        record_from_row,
    )
}

pub(crate) fn put_checkpoint(db: &mut dyn Db, checkpoint: &CheckpointRow) -> Result<()> {
    // A checkpoint at a taken seq is a unique violation: `Conflict`.
    db.execute(
        sql!("INSERT INTO audit_checkpoints (seq, hash, time, signature) VALUES ($1, $2, $3, $4)"),
        params![
            to_i64(checkpoint.seq)?,
            &checkpoint.hash,
            millis(checkpoint.time),
            &checkpoint.signature,
        ],
    )?;
    Ok(())
}

pub(crate) fn list_checkpoints(db: &mut dyn Db) -> Result<Vec<CheckpointRow>> {
    db.query(
        sql!("SELECT seq, hash, time, signature FROM audit_checkpoints ORDER BY seq"),
        params![],
        |row| {
            Ok(CheckpointRow {
                seq: to_u64(row.int(0)?)?,
                hash: row.blob(1)?,
                time: Timestamp(row.int(2)?),
                signature: row.blob(3)?,
            })
        },
    )
}
