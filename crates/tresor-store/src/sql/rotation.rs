//! [`RotationStore`] for every backend, written once: the registered rotators and their logs,
//! each method one transaction of the backend's ([`Transactions`]), which joins a
//! `Store::atomically` block when called inside one.
//!
//! A rotator's name is unique in its scope and its ARN everywhere: both are constraints, so a
//! taken one is `Conflict` on both engines, also when two nodes register one at once.
//!
//! Logs are keyed by the rotator's ARN, not bound to its row: a step that ends after its
//! rotator was deleted still records its outcome (a new rotator of that ARN starts with an
//! empty log: [`create_rotator`] clears it). The newest [`ROTATOR_LOG_KEEP`] entries of a
//! rotator are kept. An append locks the rotator's row first (`FOR UPDATE` on PostgreSQL;
//! SQLite has one writer), so appends of one rotator on any node run one after the other and
//! never leave more than the cap; `delete_rotator` takes the same row before the logs, so
//! the two never wait for each other in a cycle.

use super::{params, sql, Db, Row, Transactions};
use crate::codec::{millis, parse_account, parse_scope};
use crate::{
    Result, RotationStore, RotatorLogRecord, RotatorRecord, Scope, StoreError, ROTATOR_LOG_KEEP,
};
use tresor_types::Timestamp;

/// `SELECT … FOR UPDATE` on PostgreSQL; the plain statement on SQLite (one writer).
macro_rules! locking {
    ($text:expr) => {
        sql!(pg: concat!($text, " FOR UPDATE"), lite: $text)
    };
}

/// A refused input: the message names the field, never its value.
fn invalid(what: &str) -> StoreError {
    StoreError::Backend(format!("invalid rotation input: {what}"))
}

/// A count or limit as the engines take it.
fn as_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

// ---- rotators ----

macro_rules! rotator_columns {
    () => {
        "account, region, name, arn, kind, config_json, sealed_secret, created"
    };
}

fn rotator_from_row(row: &dyn Row) -> Result<RotatorRecord> {
    Ok(RotatorRecord {
        scope: parse_scope(&row.text(0)?, &row.text(1)?)?,
        name: row.text(2)?,
        arn: row.text(3)?,
        kind: row.text(4)?,
        config_json: row.text(5)?,
        sealed_secret: row.opt_blob(6)?,
        created: Timestamp(row.int(7)?),
    })
}

fn check_rotator(rotator: &RotatorRecord) -> Result<()> {
    if rotator.name.is_empty() {
        return Err(invalid("a rotator needs a name"));
    }
    if rotator.arn.is_empty() {
        return Err(invalid("a rotator needs an ARN"));
    }
    if rotator.kind.is_empty() {
        return Err(invalid("a rotator needs a kind"));
    }
    Ok(())
}

pub(crate) fn create_rotator(db: &mut dyn Db, rotator: &RotatorRecord) -> Result<()> {
    check_rotator(rotator)?;
    db.execute(
        sql!(concat!(
            "INSERT INTO rotators (",
            rotator_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        )),
        params![
            rotator.scope.account.as_str(),
            rotator.scope.region.as_str(),
            &rotator.name,
            &rotator.arn,
            &rotator.kind,
            &rotator.config_json,
            &rotator.sealed_secret,
            millis(rotator.created),
        ],
    )?;
    // Entries a deleted rotator of this ARN received after its deletion are not this one's.
    db.execute(
        sql!("DELETE FROM rotator_logs WHERE rotator_arn = $1"),
        params![&rotator.arn],
    )?;
    Ok(())
}

pub(crate) fn get_rotator(
    db: &mut dyn Db,
    scope: &Scope,
    name: &str,
) -> Result<Option<RotatorRecord>> {
    db.query_opt(
        sql!(concat!(
            "SELECT ",
            rotator_columns!(),
            " FROM rotators WHERE account = $1 AND region = $2 AND name = $3"
        )),
        params![scope.account.as_str(), scope.region.as_str(), name],
        rotator_from_row,
    )
}

pub(crate) fn list_rotators(db: &mut dyn Db, scope: &Scope) -> Result<Vec<RotatorRecord>> {
    db.query(
        sql!(concat!(
            "SELECT ",
            rotator_columns!(),
            " FROM rotators WHERE account = $1 AND region = $2 ORDER BY name"
        )),
        params![scope.account.as_str(), scope.region.as_str()],
        rotator_from_row,
    )
}

pub(crate) fn delete_rotator(db: &mut dyn Db, scope: &Scope, name: &str) -> Result<bool> {
    let arn = db.query_opt(
        sql!(
            "DELETE FROM rotators WHERE account = $1 AND region = $2 AND name = $3
             RETURNING arn"
        ),
        params![scope.account.as_str(), scope.region.as_str(), name],
        |row| row.text(0),
    )?;
    let Some(arn) = arn else {
        return Ok(false);
    };
    db.execute(
        sql!("DELETE FROM rotator_logs WHERE rotator_arn = $1"),
        params![&arn],
    )?;
    Ok(true)
}

// ---- logs ----

macro_rules! log_columns {
    () => {
        "account, rotator_arn, secret_arn, version_id, step, time, outcome, summary,
         duration_ms, stdout, stderr"
    };
}

fn log_from_row(row: &dyn Row) -> Result<RotatorLogRecord> {
    Ok(RotatorLogRecord {
        account: parse_account(&row.text(0)?)?,
        rotator_arn: row.text(1)?,
        secret_arn: row.text(2)?,
        version_id: row.text(3)?,
        step: row.text(4)?,
        time: Timestamp(row.int(5)?),
        outcome: row.text(6)?,
        summary: row.text(7)?,
        duration_ms: row.int(8)?,
        stdout: row.blob(9)?,
        stderr: row.blob(10)?,
    })
}

pub(crate) fn append_rotator_log(db: &mut dyn Db, entry: &RotatorLogRecord) -> Result<()> {
    if entry.rotator_arn.is_empty() {
        return Err(invalid("a rotator log entry needs the rotator's ARN"));
    }
    if entry.duration_ms < 0 {
        return Err(invalid(
            "a rotator log entry's duration must not be negative",
        ));
    }
    // The rotator's row, if it has one, orders this append after any other of the rotator.
    db.exists(
        locking!("SELECT 1 FROM rotators WHERE arn = $1"),
        params![&entry.rotator_arn],
    )?;
    db.execute(
        sql!(concat!(
            "INSERT INTO rotator_logs (",
            log_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        )),
        params![
            entry.account.as_str(),
            &entry.rotator_arn,
            &entry.secret_arn,
            &entry.version_id,
            &entry.step,
            millis(entry.time),
            &entry.outcome,
            &entry.summary,
            entry.duration_ms,
            &entry.stdout,
            &entry.stderr,
        ],
    )?;
    // Everything from the first entry past the cap, newest first, goes.
    db.execute(
        sql!(
            "DELETE FROM rotator_logs WHERE rotator_arn = $1 AND id <= (
                 SELECT id FROM rotator_logs WHERE rotator_arn = $1
                 ORDER BY id DESC LIMIT 1 OFFSET $2)"
        ),
        params![&entry.rotator_arn, as_i64(ROTATOR_LOG_KEEP)],
    )?;
    Ok(())
}

pub(crate) fn rotator_logs(
    db: &mut dyn Db,
    rotator_arn: &str,
    secret_arn: Option<&str>,
    limit: usize,
) -> Result<Vec<RotatorLogRecord>> {
    match secret_arn {
        None => db.query(
            sql!(concat!(
                "SELECT ",
                log_columns!(),
                " FROM rotator_logs WHERE rotator_arn = $1 ORDER BY id DESC LIMIT $2"
            )),
            params![rotator_arn, as_i64(limit)],
            log_from_row,
        ),
        Some(secret_arn) => db.query(
            sql!(concat!(
                "SELECT ",
                log_columns!(),
                " FROM rotator_logs WHERE rotator_arn = $1 AND secret_arn = $2
                  ORDER BY id DESC LIMIT $3"
            )),
            params![rotator_arn, secret_arn, as_i64(limit)],
            log_from_row,
        ),
    }
}

// ---- secrets with rotation ----

pub(crate) fn rotating_secrets(db: &mut dyn Db) -> Result<Vec<(String, String)>> {
    db.query(
        sql!(
            "SELECT arn, rotation FROM secrets
             WHERE rotation IS NOT NULL AND deleted_date IS NULL ORDER BY arn"
        ),
        params![],
        |row| Ok((row.text(0)?, row.text(1)?)),
    )
}

impl<S: Transactions> RotationStore for S {
    fn create_rotator(&self, rotator: &RotatorRecord) -> Result<()> {
        self.write_db(|db| create_rotator(db, rotator))
    }

    fn get_rotator(&self, scope: &Scope, name: &str) -> Result<Option<RotatorRecord>> {
        self.read_db(|db| get_rotator(db, scope, name))
    }

    fn list_rotators(&self, scope: &Scope) -> Result<Vec<RotatorRecord>> {
        self.read_db(|db| list_rotators(db, scope))
    }

    fn delete_rotator(&self, scope: &Scope, name: &str) -> Result<bool> {
        self.write_db(|db| delete_rotator(db, scope, name))
    }

    fn append_rotator_log(&self, entry: &RotatorLogRecord) -> Result<()> {
        self.write_db(|db| append_rotator_log(db, entry))
    }

    fn rotator_logs(
        &self,
        rotator_arn: &str,
        secret_arn: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RotatorLogRecord>> {
        self.read_db(|db| rotator_logs(db, rotator_arn, secret_arn, limit))
    }

    fn rotating_secrets(&self) -> Result<Vec<(String, String)>> {
        self.read_db(rotating_secrets)
    }
}
