//! PostgreSQL's side of the dialect ([`crate::sql::Db`]): statements run on the pooled
//! connection the store's transaction is open on, through its statement cache.

use bytes::BytesMut;
use postgres::types::{IsNull, ToSql, Type, WrongType};

use super::conn::{Conn, Param};
use crate::sql::{Db, Engine, Row, Sql, Value, Visit};
use crate::Result;

type ToSqlResult = std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>>;

impl ToSql for Value<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> ToSqlResult {
        match *self {
            Value::Text(s) => s.to_sql(ty, out),
            Value::Int(n) => n.to_sql(ty, out),
            Value::Blob(b) => b.to_sql(ty, out),
            Value::Bool(b) => b.to_sql(ty, out),
            Value::Null => Ok(IsNull::Yes),
        }
    }

    /// Every type: whether this value fits is checked per value, in `to_sql_checked`.
    fn accepts(_: &Type) -> bool {
        true
    }

    fn to_sql_checked(&self, ty: &Type, out: &mut BytesMut) -> ToSqlResult {
        let fits = match self {
            Value::Text(_) => <&str as ToSql>::accepts(ty),
            Value::Int(_) => <i64 as ToSql>::accepts(ty),
            Value::Blob(_) => <&[u8] as ToSql>::accepts(ty),
            Value::Bool(_) => <bool as ToSql>::accepts(ty),
            Value::Null => true,
        };
        if !fits {
            let wrong = match self {
                Value::Text(_) => WrongType::new::<&str>(ty.clone()),
                Value::Blob(_) => WrongType::new::<&[u8]>(ty.clone()),
                Value::Bool(_) => WrongType::new::<bool>(ty.clone()),
                _ => WrongType::new::<i64>(ty.clone()),
            };
            return Err(Box::new(wrong));
        }
        self.to_sql(ty, out)
    }
}

impl Row for postgres::Row {
    fn text(&self, i: usize) -> Result<String> {
        Ok(self.try_get(i)?)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        Ok(self.try_get(i)?)
    }
    fn int(&self, i: usize) -> Result<i64> {
        Ok(self.try_get(i)?)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        Ok(self.try_get(i)?)
    }
    fn blob(&self, i: usize) -> Result<Vec<u8>> {
        Ok(self.try_get(i)?)
    }
    fn opt_blob(&self, i: usize) -> Result<Option<Vec<u8>>> {
        Ok(self.try_get(i)?)
    }
    fn bool(&self, i: usize) -> Result<bool> {
        Ok(self.try_get(i)?)
    }
}

fn refs<'a>(params: &'a [Value<'_>]) -> Vec<Param<'a>> {
    params.iter().map(|v| v as Param<'a>).collect()
}

impl Db for Conn {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    fn execute(&mut self, sql: Sql<'_>, params: &[Value<'_>]) -> Result<u64> {
        Conn::execute(self, sql.pg, &refs(params))
    }

    fn each(&mut self, sql: Sql<'_>, params: &[Value<'_>], visit: Visit<'_>) -> Result<()> {
        for row in &self.query(sql.pg, &refs(params))? {
            visit(row)?;
        }
        Ok(())
    }

    fn one(&mut self, sql: Sql<'_>, params: &[Value<'_>], visit: Visit<'_>) -> Result<bool> {
        match self.query_opt(sql.pg, &refs(params))? {
            Some(row) => {
                visit(&row)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn exists(&mut self, sql: Sql<'_>, params: &[Value<'_>]) -> Result<bool> {
        Ok(!self.query(sql.pg, &refs(params))?.is_empty())
    }

    fn retry_later(&mut self) {
        self.retryable = true;
    }
}
