//! SQLite's side of the dialect ([`crate::sql::Db`]): statements run on the connection the
//! store's transaction is open on, prepared once and cached by the connection.

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{params_from_iter, Connection};

use crate::sql::{Db, Engine, Row, Sql, Value, Visit};
use crate::Result;

/// A SQLite connection with a transaction open on it.
pub(super) struct Lite<'c>(pub(super) &'c Connection);

impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match *self {
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Int(n) => ValueRef::Integer(n),
            Value::Blob(b) => ValueRef::Blob(b),
            Value::Bool(b) => ValueRef::Integer(i64::from(b)),
            Value::Null => ValueRef::Null,
        }))
    }
}

impl Row for rusqlite::Row<'_> {
    fn text(&self, i: usize) -> Result<String> {
        Ok(self.get(i)?)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        Ok(self.get(i)?)
    }
    fn int(&self, i: usize) -> Result<i64> {
        Ok(self.get(i)?)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        Ok(self.get(i)?)
    }
    fn blob(&self, i: usize) -> Result<Vec<u8>> {
        Ok(self.get(i)?)
    }
    fn opt_blob(&self, i: usize) -> Result<Option<Vec<u8>>> {
        Ok(self.get(i)?)
    }
    fn bool(&self, i: usize) -> Result<bool> {
        Ok(self.get(i)?)
    }
}

impl Db for Lite<'_> {
    fn engine(&self) -> Engine {
        Engine::Sqlite
    }

    fn execute(&mut self, sql: Sql<'_>, params: &[Value<'_>]) -> Result<u64> {
        let changed = self
            .0
            .prepare_cached(sql.lite)?
            .execute(params_from_iter(params))?;
        Ok(u64::try_from(changed).unwrap_or(u64::MAX))
    }

    fn each(&mut self, sql: Sql<'_>, params: &[Value<'_>], visit: Visit<'_>) -> Result<()> {
        let mut stmt = self.0.prepare_cached(sql.lite)?;
        let mut rows = stmt.query(params_from_iter(params))?;
        while let Some(row) = rows.next()? {
            visit(row)?;
        }
        Ok(())
    }

    fn one(&mut self, sql: Sql<'_>, params: &[Value<'_>], visit: Visit<'_>) -> Result<bool> {
        let mut stmt = self.0.prepare_cached(sql.lite)?;
        let mut rows = stmt.query(params_from_iter(params))?;
        match rows.next()? {
            Some(row) => {
                visit(row)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn exists(&mut self, sql: Sql<'_>, params: &[Value<'_>]) -> Result<bool> {
        Ok(self
            .0
            .prepare_cached(sql.lite)?
            .exists(params_from_iter(params))?)
    }
}
