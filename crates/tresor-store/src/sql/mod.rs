//! The dialect both backends speak: each store operation is written once in the modules below
//! ([`keys`], [`secrets`], [`identity`], [`audit`], `gateway`, `rotation`, and
//! `store`/`transfer`, which implement the store traits over them), against [`Db`], "a
//! connection inside a transaction", and each backend implements `Db` on its own connection
//! (SQLite's in `sqlite/db.rs`, PostgreSQL's in `postgres/db.rs`) and [`Transactions`] on its
//! store.
//!
//! Data path: a backend opens the transaction (SQLite: its single writer or a reader;
//! PostgreSQL: a pooled connection, retried on a serialization failure) and hands the operation
//! a `&mut dyn Db`; the operation runs its statements through it and never sees which engine is
//! below. Statements stay prepared on both (SQLite's `prepare_cached`, PostgreSQL's statement
//! cache per connection).
//!
//! SQL is written once with PostgreSQL's `$N` placeholders; [`sql!`] derives SQLite's `?N`
//! text at compile time. Where the engines really differ (row locks, collations, upserts) the
//! statement is written twice, `sql!(pg: …, lite: …)`; where the steps differ too (pruning,
//! GetSecretValue's read, the audit indexes) the operation asks [`Db::engine`]. A unique
//! violation is `StoreError::Conflict` on both.

pub(crate) mod audit;
mod gateway;
pub(crate) mod identity;
pub(crate) mod keys;
mod kms;
mod rotation;
pub(crate) mod secrets;
mod store;
mod transfer;

pub(crate) use transfer::holds_trail;

use crate::{Result, StoreError};

/// One statement, in the text each engine runs.
#[derive(Debug, Clone, Copy)]
pub struct Sql<'a> {
    pub pg: &'a str,
    pub lite: &'a str,
}

/// Which engine a [`Db`] is, for the few operations whose steps (not only their text) differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// SQLite's text of a statement written with `$N` placeholders: `?N`, the same length.
pub(crate) const fn sqlite_text<const N: usize>(pg: &str) -> [u8; N] {
    let bytes = pg.as_bytes();
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        let b = bytes[i];
        out[i] = if b == b'$' && i + 1 < N && bytes[i + 1].is_ascii_digit() {
            b'?'
        } else {
            b
        };
        i += 1;
    }
    out
}

/// [`sqlite_text`] for a statement built at run time.
pub(crate) fn sqlite_string(pg: &str) -> String {
    let bytes = pg.as_bytes();
    pg.char_indices()
        .map(|(i, c)| {
            let placeholder = c == '$' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
            if placeholder {
                '?'
            } else {
                c
            }
        })
        .collect()
}

/// A statement for both engines: `sql!("… $1 …")`, or `sql!(pg: "…", lite: "…")` where the
/// engines need different text (both with `$N` placeholders).
macro_rules! sql {
    (pg: $pg:expr, lite: $lite:expr $(,)?) => {
        $crate::sql::Sql {
            pg: $pg,
            lite: $crate::sql::sql!(@lite $lite),
        }
    };
    (@lite $text:expr) => {{
        const TEXT: &str = $text;
        const BYTES: [u8; TEXT.len()] = $crate::sql::sqlite_text(TEXT);
        // `$` → `?` keeps the text valid UTF-8: the error arm is never taken.
        const LITE: &str = match ::std::str::from_utf8(&BYTES) {
            Ok(s) => s,
            Err(_) => "",
        };
        LITE
    }};
    ($text:expr) => {
        $crate::sql::Sql {
            pg: $text,
            lite: $crate::sql::sql!(@lite $text),
        }
    };
}
pub(crate) use sql;

/// One statement parameter.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    Text(&'a str),
    Int(i64),
    Blob(&'a [u8]),
    Bool(bool),
    Null,
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(s: &'a str) -> Self {
        Value::Text(s)
    }
}

impl<'a> From<&'a String> for Value<'a> {
    fn from(s: &'a String) -> Self {
        Value::Text(s)
    }
}

impl From<i64> for Value<'_> {
    fn from(n: i64) -> Self {
        Value::Int(n)
    }
}

impl From<bool> for Value<'_> {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl<'a> From<&'a [u8]> for Value<'a> {
    fn from(b: &'a [u8]) -> Self {
        Value::Blob(b)
    }
}

impl<'a> From<&'a Vec<u8>> for Value<'a> {
    fn from(b: &'a Vec<u8>) -> Self {
        Value::Blob(b)
    }
}

impl<'a, T> From<Option<T>> for Value<'a>
where
    T: Into<Value<'a>>,
{
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

impl<'a> From<&'a Option<String>> for Value<'a> {
    fn from(v: &'a Option<String>) -> Self {
        v.as_deref().map_or(Value::Null, Value::Text)
    }
}

impl<'a> From<&'a Option<Vec<u8>>> for Value<'a> {
    fn from(v: &'a Option<Vec<u8>>) -> Self {
        v.as_deref().map_or(Value::Null, Value::Blob)
    }
}

/// `[Value]` from a list of anything convertible: `params![a, b.as_str(), 3]`.
macro_rules! params {
    ($($v:expr),* $(,)?) => {
        &[$($crate::sql::Value::from($v)),*]
    };
}
pub(crate) use params;

/// One result row, read by column index.
pub trait Row {
    fn text(&self, i: usize) -> Result<String>;
    fn opt_text(&self, i: usize) -> Result<Option<String>>;
    fn int(&self, i: usize) -> Result<i64>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>>;
    fn blob(&self, i: usize) -> Result<Vec<u8>>;
    fn opt_blob(&self, i: usize) -> Result<Option<Vec<u8>>>;
    fn bool(&self, i: usize) -> Result<bool>;
}

/// What a visitor of rows answers per row.
pub type Visit<'f> = &'f mut dyn FnMut(&dyn Row) -> Result<()>;

/// A connection inside a transaction (see the module comment).
pub trait Db {
    fn engine(&self) -> Engine;
    /// Run a statement; how many rows it changed.
    fn execute(&mut self, sql: Sql<'_>, params: &[Value<'_>]) -> Result<u64>;
    /// Visit every row of a query, in order.
    fn each(&mut self, sql: Sql<'_>, params: &[Value<'_>], visit: Visit<'_>) -> Result<()>;
    /// Visit the row of a query that answers at most one; whether there was one.
    fn one(&mut self, sql: Sql<'_>, params: &[Value<'_>], visit: Visit<'_>) -> Result<bool>;
    /// Whether a query answers any row.
    fn exists(&mut self, sql: Sql<'_>, params: &[Value<'_>]) -> Result<bool>;
    /// The transaction met a concurrent change that a rerun from the start resolves: the
    /// backend may rerun it after it fails. (SQLite's single writer never meets one.)
    fn retry_later(&mut self) {}
}

impl dyn Db + '_ {
    /// Every row of a query, each read by `read`.
    pub fn query<T>(
        &mut self,
        sql: Sql<'_>,
        params: &[Value<'_>],
        mut read: impl FnMut(&dyn Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.each(sql, params, &mut |row| {
            out.push(read(row)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The row of a query that answers at most one, read by `read`.
    pub fn query_opt<T>(
        &mut self,
        sql: Sql<'_>,
        params: &[Value<'_>],
        read: impl FnOnce(&dyn Row) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut read = Some(read);
        let mut out = None;
        self.one(sql, params, &mut |row| {
            if let Some(read) = read.take() {
                out = Some(read(row)?);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// The row of a query that always answers one (an aggregate, `RETURNING`).
    pub fn query_one<T>(
        &mut self,
        sql: Sql<'_>,
        params: &[Value<'_>],
        read: impl FnOnce(&dyn Row) -> Result<T>,
    ) -> Result<T> {
        self.query_opt(sql, params, read)?
            .ok_or_else(|| StoreError::Backend("a query answered no row".to_owned()))
    }
}

/// How a backend runs an operation in a transaction. Implemented by both stores; `Store`,
/// `IdentityStore` and `Transfer` are implemented once, over it.
pub trait Transactions: Send + Sync + 'static {
    /// Run `f` in a read transaction (one snapshot).
    fn read_db<T>(&self, f: impl FnOnce(&mut dyn Db) -> Result<T>) -> Result<T>;
    /// Run `f` in a write transaction and commit if it succeeds. `f` may run more than once
    /// (PostgreSQL reruns a transaction after a serialization failure).
    fn write_db<T, E: From<StoreError>>(
        &self,
        f: impl FnMut(&mut dyn Db) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>;
    /// [`Self::read_db`] on the audit trail's tables (SQLite keeps them in a file of their
    /// own; PostgreSQL in the one database).
    fn read_trail_db<T>(&self, f: impl FnOnce(&mut dyn Db) -> Result<T>) -> Result<T>;
    /// `Store::atomically`.
    fn atomically_db<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce() -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>;
    /// `Store::reading`.
    fn reading_db<T>(&self, f: impl FnOnce() -> T) -> T;
}

/// A count read from the database as a `usize`.
pub(crate) fn count(n: i64) -> usize {
    usize::try_from(n).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_sqlites_and_nothing_else_changes() {
        const BOTH: Sql<'static> = sql!("SELECT '$' || a FROM t WHERE b = $1 AND c IN ($2, $10)");
        assert_eq!(
            BOTH.lite,
            "SELECT '$' || a FROM t WHERE b = ?1 AND c IN (?2, ?10)"
        );
        assert_eq!(
            BOTH.pg,
            "SELECT '$' || a FROM t WHERE b = $1 AND c IN ($2, $10)"
        );
        assert_eq!(sqlite_string(BOTH.pg), BOTH.lite);
        let pair = sql!(pg: "SELECT 1 FOR UPDATE WHERE x = $1", lite: "SELECT 1 WHERE x = $1");
        assert_eq!(pair.lite, "SELECT 1 WHERE x = ?1");
    }
}
