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
use tresor_types::AccountId;

use super::conn::{Conn, Param};
use super::{limit, millis, PostgresStore};
use crate::sql::audit::{self, record_columns, record_from_row};
use crate::{AuditQuery, AuditRow, AuditStore, CheckpointRow, Result, StoreError};

/// The advisory lock key audit appends hold ("TRSRAUDT"). Advisory locks are per database.
const APPEND_LOCK: i64 = 0x5452_5352_4155_4454;

/// Take the append lock, then read the head as it is now.
fn lock_head(c: &mut Conn) -> Result<Option<(u64, Vec<u8>)>> {
    c.execute("SELECT pg_advisory_xact_lock($1)", &[&APPEND_LOCK])?;
    audit::head(c)
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
        .map(|row| record_from_row(row))
        .collect()
}

impl AuditStore for PostgresStore {
    fn audit_head(&self) -> Result<Option<(u64, Vec<u8>)>> {
        self.read(|c| audit::head(c))
    }

    fn append_audit(&self, rows: &[AuditRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.write(|c| {
            let head = lock_head(c)?;
            audit::append(c, head, rows)
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
            audit::append(c, head, &rows)
        })
    }

    fn read_audit(&self, from_seq: u64, limit: usize) -> Result<Vec<AuditRow>> {
        self.read(|c| audit::read(c, from_seq, limit))
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
        self.write(|c| audit::put_checkpoint(c, checkpoint))
    }

    fn list_checkpoints(&self) -> Result<Vec<CheckpointRow>> {
        self.read(|c| audit::list_checkpoints(c))
    }
}
