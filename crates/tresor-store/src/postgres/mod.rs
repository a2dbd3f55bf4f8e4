//! The PostgreSQL backend: any number of Tresor nodes share one database.
//!
//! Data path: every call checks a connection out of a small pool ([`conn`]). Writes run in a
//! `READ COMMITTED` transaction and take row locks where they read-modify-write
//! (`SELECT … FOR UPDATE` on the secret in `update_secret`), so concurrent writers on any node
//! serialize on what they touch; a serialization failure or a deadlock reruns the whole
//! transaction (a few times), which is why `update_secret`'s closure may run more than once.
//! Reads run in a `REPEATABLE READ READ ONLY` transaction, so that all their queries see one
//! committed state. Audit appends take a transaction-scoped advisory lock, which serializes
//! them across connections, nodes and processes. `COMMIT` returns once the database has made
//! the transaction durable (with the server's `synchronous_commit`, on by default).
//!
//! `atomically` checks out one connection for the calling thread and opens a transaction on
//! it; every write of the block made through this store on that thread runs there, inside a
//! savepoint, and so do the block's reads (they see its writes).
//!
//! The `postgres` client is synchronous and drives its own small runtime: call the store from
//! plain threads or `spawn_blocking` threads, never from an async task. (Opening and dropping
//! the store are safe anywhere.)
//!
//! Layout: the operations themselves are written once for both backends ([`crate::sql`]); this
//! backend keeps its transactions and connections ([`conn`]), its side of the dialect
//! ([`db`]), [`schema`] (migrations, applied at open under an advisory lock) and what is its
//! own in the audit trail ([`audit`]: the append lock, lookups).

mod audit;
mod conn;
mod db;
mod schema;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use self::conn::{Atomic, Block, Conn, Pool, PooledConn};
use crate::codec::millis;
use crate::sql::{Db, Transactions};
use crate::{Result, StoreError};

/// Connections per store (per node).
const POOL_SIZE: usize = 8;

/// How many times a transaction that hit a serialization failure or a deadlock is run.
const ATTEMPTS: u32 = 8;

const BEGIN_WRITE: &str = "BEGIN ISOLATION LEVEL READ COMMITTED";
const BEGIN_READ: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

/// Distinguishes store instances, so that an `atomically` block of one store is not joined by
/// writes to another one on the same thread.
static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(1);

/// The PostgreSQL store. Cheap to share: wrap it in an `Arc` and use it from any (blocking)
/// thread.
pub struct PostgresStore {
    id: u64,
    pool: Pool,
    /// The database, for diagnostics (never the password).
    target: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.target)
            .field("pool_size", &POOL_SIZE)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connect to the database at `url` (`postgres://USER[:PASSWORD]@HOST[:PORT]/DB`, or the
    /// `key=value` form) and apply any pending schema migrations. Several nodes may open the
    /// same database at once: migrations run under an advisory lock.
    pub fn open(url: &str) -> Result<Self> {
        let mut config: postgres::Config = url.parse().map_err(|_| {
            StoreError::Backend("the PostgreSQL connection string is malformed".to_owned())
        })?;
        if config.get_application_name().is_none() {
            config.application_name("tresor");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let target = describe(&config);
        // On a thread of its own: the client may not run on an async task's thread.
        std::thread::scope(|s| {
            s.spawn(|| {
                let pool = Pool::new(config.clone(), POOL_SIZE);
                let mut conn = pool.connect()?;
                schema::migrate(&mut conn)?;
                drop(conn);
                Ok(Self {
                    id: NEXT_STORE_ID.fetch_add(1, Ordering::Relaxed),
                    pool,
                    target,
                })
            })
            .join()
            .unwrap_or_else(|_| {
                Err(StoreError::Backend(
                    "opening the PostgreSQL store panicked".to_owned(),
                ))
            })
        })
    }

    /// The schema version of the database (the number of migrations applied).
    pub fn schema_version(&self) -> Result<i64> {
        self.read(schema::current_version)
    }

    /// A connection with a transaction (`sql`) open on it; a connection found dead at `BEGIN`
    /// (the database restarted) is replaced, since nothing was done on it yet.
    fn begin(&self, sql: &str) -> Result<PooledConn> {
        let mut last = None;
        for _ in 0..=POOL_SIZE {
            let mut conn = self.pool.get()?;
            match conn.begin(sql) {
                Ok(()) => return Ok(conn),
                Err(e) if conn.is_broken() => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| StoreError::Backend("postgres: no connection".to_owned())))
    }

    /// Run `f` in a write transaction and commit if it succeeds; rerun it (from a new
    /// transaction) after a serialization failure or a deadlock. Inside [`Store::atomically`]
    /// on this thread, `f` runs once, in a savepoint of the block's transaction.
    fn write<T, E: From<StoreError>>(
        &self,
        mut f: impl FnMut(&mut Conn) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        match conn::take_joined(self.id) {
            Atomic::Joined(conn) => return self.in_savepoint(conn, f),
            Atomic::Busy => return Err(conn::busy().into()),
            Atomic::Outside => {}
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut conn = self.begin(BEGIN_WRITE)?;
            let out = match f(&mut conn) {
                Ok(v) => match conn.commit() {
                    Ok(()) => return Ok(v),
                    Err(e) => Err(E::from(e)),
                },
                Err(e) => {
                    // A failed rollback leaves the connection broken (it is closed, which ends
                    // the transaction): report the closure's error, without a retry.
                    if conn.rollback().is_err() {
                        return Err(e);
                    }
                    Err(e)
                }
            };
            if !conn.retryable || attempt >= ATTEMPTS {
                return out;
            }
            drop(conn);
            backoff(attempt);
        }
    }

    /// Run `f` in a read transaction, so that all its queries see one committed state (inside
    /// `atomically`, in the block's transaction).
    fn read<T>(&self, f: impl FnOnce(&mut Conn) -> Result<T>) -> Result<T> {
        // Inside a write of this thread's block (or after it was abandoned), a read goes to a
        // connection of its own: it sees committed state only.
        if let Atomic::Joined(conn) = conn::take_joined(self.id) {
            return self.in_savepoint(conn, f);
        }
        let mut conn = self.begin(BEGIN_READ)?;
        let out = f(&mut conn)?;
        conn.commit()?;
        Ok(out)
    }

    /// Run `f` on the connection of this thread's `atomically` block, in a savepoint: on `Err`
    /// only what `f` did is undone.
    fn in_savepoint<T, E: From<StoreError>>(
        &self,
        mut conn: PooledConn,
        f: impl FnOnce(&mut Conn) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        // If `f` panics, `conn` is dropped with the block's transaction open: the pool rolls it
        // back, and the block finds its connection gone and fails.
        let out = match conn.batch("SAVEPOINT tresor_write") {
            Ok(()) => match f(&mut conn) {
                Ok(v) => conn
                    .batch("RELEASE SAVEPOINT tresor_write")
                    .map(|()| v)
                    .map_err(E::from),
                Err(e) => conn
                    .batch("ROLLBACK TO SAVEPOINT tresor_write; RELEASE SAVEPOINT tresor_write")
                    .map_err(E::from)
                    .and(Err(e)),
            },
            Err(e) => Err(E::from(e)),
        };
        conn::put_back(self.id, conn);
        out
    }

    fn run_atomically<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce() -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        if conn::in_block(self.id) {
            // Nested: the outer block decides.
            return f();
        }
        let conn = self.begin(BEGIN_WRITE)?;
        let block = Block::open(self.id, conn);
        // If `f` unwinds, dropping `block` rolls the transaction back.
        let out = f();
        let conn = block.close();
        match (out, conn) {
            (Ok(v), Some(mut conn)) => {
                conn.commit()?;
                Ok(v)
            }
            (Ok(_), None) => Err(StoreError::Backend(
                "the transaction of an `atomically` block was abandoned by a failed write"
                    .to_owned(),
            )
            .into()),
            (Err(e), Some(mut conn)) => {
                conn.rollback()?;
                Err(e)
            }
            (Err(e), None) => Err(e),
        }
    }
}

/// Wait a little before rerunning a transaction, more after each attempt, with jitter so that
/// the contenders do not collide again in step.
fn backoff(attempt: u32) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let base = 1u64 << attempt.min(6);
    let jitter = u64::from(nanos % 1000);
    std::thread::sleep(Duration::from_micros(base * 500 + jitter * base));
}

/// `user@host:port/dbname`, for diagnostics.
fn describe(config: &postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_default();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}@{}:{}/{}",
        config.get_user().unwrap_or(""),
        host,
        port,
        config.get_dbname().unwrap_or("")
    )
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        if let Some(db) = e.as_db_error() {
            if *db.code() == postgres::error::SqlState::UNIQUE_VIOLATION {
                return StoreError::Conflict;
            }
            // The message names the condition; the detail (which may quote values of the row)
            // is left out on purpose.
            return StoreError::Backend(format!(
                "postgres: {} ({})",
                db.message(),
                db.code().code()
            ));
        }
        // Transport, protocol and conversion errors carry no values.
        StoreError::Backend(format!("postgres: {e}"))
    }
}

// ---- conversions between records and columns ----

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Transactions for PostgresStore {
    fn read_db<T>(&self, f: impl FnOnce(&mut dyn Db) -> Result<T>) -> Result<T> {
        self.read(|conn| f(conn))
    }

    fn write_db<T, E: From<StoreError>>(
        &self,
        mut f: impl FnMut(&mut dyn Db) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        self.write(|conn| f(conn))
    }

    /// The trail is in the one database.
    fn read_trail_db<T>(&self, f: impl FnOnce(&mut dyn Db) -> Result<T>) -> Result<T> {
        self.read(|conn| f(conn))
    }

    /// Each read is a transaction of its own: there is no cheaper way to share one.
    fn reading_db<T>(&self, f: impl FnOnce() -> T) -> T {
        f()
    }

    fn atomically_db<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce() -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        self.run_atomically(f)
    }
}
