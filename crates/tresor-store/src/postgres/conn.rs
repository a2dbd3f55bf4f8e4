//! Connections: a small pool, a statement cache per connection, and the connection an
//! `atomically` block holds open on its thread.
//!
//! INVARIANT: a connection goes back to the pool outside any transaction. A connection returned
//! with a transaction open (a panic or an error between `BEGIN` and `COMMIT`) is rolled back on
//! its way in, and closed if that fails; a connection that failed at the transport level is
//! closed, and the pool opens a fresh one when it needs it, so the store reconnects by itself
//! after the database restarts.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, NoTls, Row, Statement};

use crate::{Result, StoreError};

/// One query parameter.
pub(super) type Param<'a> = &'a (dyn ToSql + Sync);

/// How long a caller waits for a free connection before failing.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(30);

/// An open connection with its prepared statements.
pub(super) struct Conn {
    client: Client,
    statements: HashMap<String, Statement>,
    /// `BEGIN` was sent and neither `COMMIT` nor `ROLLBACK` yet.
    in_tx: bool,
    /// The last failure was a serialization failure or a deadlock: the transaction may be
    /// retried from the start.
    pub(super) retryable: bool,
    /// The connection failed at the transport level and must not be reused.
    broken: bool,
}

impl Conn {
    fn new(client: Client) -> Self {
        Self {
            client,
            statements: HashMap::new(),
            in_tx: false,
            retryable: false,
            broken: false,
        }
    }

    /// Record what an error says about the connection and the transaction.
    fn note(&mut self, e: postgres::Error) -> StoreError {
        match e.code() {
            Some(code)
                if *code == SqlState::T_R_SERIALIZATION_FAILURE
                    || *code == SqlState::T_R_DEADLOCK_DETECTED =>
            {
                self.retryable = true;
            }
            // Connection exceptions (class 08) and operator intervention (class 57: the server
            // shutting down or the session terminated) leave the connection unusable.
            Some(code) if code.code().starts_with("08") || code.code().starts_with("57") => {
                self.broken = true;
            }
            Some(_) => {}
            None => {
                if e.as_db_error().is_none() {
                    self.broken = true;
                }
            }
        }
        if self.client.is_closed() {
            self.broken = true;
        }
        StoreError::from(e)
    }

    fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = match self.client.prepare(sql) {
            Ok(statement) => statement,
            Err(e) => return Err(self.note(e)),
        };
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    pub(super) fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>> {
        let statement = self.statement(sql)?;
        self.client
            .query(&statement, params)
            .map_err(|e| self.note(e))
    }

    pub(super) fn query_opt(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Option<Row>> {
        let statement = self.statement(sql)?;
        self.client
            .query_opt(&statement, params)
            .map_err(|e| self.note(e))
    }

    pub(super) fn query_one(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Row> {
        let statement = self.statement(sql)?;
        self.client
            .query_one(&statement, params)
            .map_err(|e| self.note(e))
    }

    pub(super) fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        let statement = self.statement(sql)?;
        self.client
            .execute(&statement, params)
            .map_err(|e| self.note(e))
    }

    /// Run statements without parameters (transaction control, DDL).
    pub(super) fn batch(&mut self, sql: &str) -> Result<()> {
        self.client.batch_execute(sql).map_err(|e| self.note(e))
    }

    pub(super) fn begin(&mut self, sql: &str) -> Result<()> {
        self.retryable = false;
        self.batch(sql)?;
        self.in_tx = true;
        Ok(())
    }

    pub(super) fn commit(&mut self) -> Result<()> {
        // After COMMIT (even a failed one) no transaction is open any more.
        let out = self.batch("COMMIT");
        self.in_tx = false;
        out
    }

    pub(super) fn rollback(&mut self) -> Result<()> {
        let out = self.batch("ROLLBACK");
        self.in_tx = false;
        if out.is_err() {
            self.broken = true;
        }
        out
    }

    pub(super) fn is_broken(&self) -> bool {
        self.broken || self.client.is_closed()
    }
}

/// A bounded pool of connections to one database, opened on demand.
pub(super) struct Pool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    config: postgres::Config,
    max: usize,
    state: Mutex<PoolState>,
    available: Condvar,
}

struct PoolState {
    idle: Vec<Conn>,
    /// Connections in existence: idle and checked out.
    open: usize,
}

impl PoolInner {
    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for PoolInner {
    fn drop(&mut self) {
        let idle = std::mem::take(&mut self.lock().idle);
        if idle.is_empty() {
            return;
        }
        // Closing a client runs its own small runtime, which may not happen on an async task's
        // thread: close them on a thread of their own.
        let closer = std::thread::Builder::new()
            .name("tresor-pg-close".to_owned())
            .spawn(move || drop(idle));
        if let Ok(handle) = closer {
            let _ = handle.join();
        }
    }
}

/// A connection checked out of the pool; it goes back when dropped.
pub(super) struct PooledConn {
    conn: Option<Box<Conn>>,
    pool: Arc<PoolInner>,
}

impl Pool {
    pub(super) fn new(config: postgres::Config, max: usize) -> Self {
        Self {
            inner: Arc::new(PoolInner {
                config,
                max: max.max(1),
                state: Mutex::new(PoolState {
                    idle: Vec::new(),
                    open: 0,
                }),
                available: Condvar::new(),
            }),
        }
    }

    /// Open a connection outside the pool's accounting (migrations at start).
    pub(super) fn connect(&self) -> Result<Conn> {
        connect(&self.inner.config)
    }

    /// A connection: an idle one, a new one if the pool is not full, else the next one
    /// returned (waiting at most [`CHECKOUT_TIMEOUT`]).
    pub(super) fn get(&self) -> Result<PooledConn> {
        let deadline = Instant::now() + CHECKOUT_TIMEOUT;
        let mut state = self.inner.lock();
        loop {
            if let Some(conn) = state.idle.pop() {
                if conn.is_broken() {
                    state.open = state.open.saturating_sub(1);
                    drop(state);
                    drop(conn);
                    state = self.inner.lock();
                    continue;
                }
                return Ok(PooledConn {
                    conn: Some(Box::new(conn)),
                    pool: Arc::clone(&self.inner),
                });
            }
            if state.open < self.inner.max {
                state.open += 1;
                drop(state);
                return match connect(&self.inner.config) {
                    Ok(conn) => Ok(PooledConn {
                        conn: Some(Box::new(conn)),
                        pool: Arc::clone(&self.inner),
                    }),
                    Err(e) => {
                        self.inner.lock().open -= 1;
                        self.inner.available.notify_one();
                        Err(e)
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StoreError::Backend(
                    "postgres: timed out waiting for a free database connection".to_owned(),
                ));
            }
            state = self
                .inner
                .available
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

fn connect(config: &postgres::Config) -> Result<Conn> {
    let client = config.connect(NoTls).map_err(|e| {
        StoreError::Backend(format!("postgres: cannot connect to the database: {e}"))
    })?;
    Ok(Conn::new(client))
}

impl Deref for PooledConn {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        // INVARIANT: `conn` is `Some` until the guard is dropped.
        self.conn.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl DerefMut for PooledConn {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn.as_mut().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for PooledConn {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        if conn.in_tx && !conn.is_broken() {
            let _ = conn.rollback();
        }
        conn.retryable = false;
        if conn.is_broken() || conn.in_tx {
            self.pool.lock().open -= 1;
            self.pool.available.notify_one();
            drop(conn);
            return;
        }
        self.pool.lock().idle.push(*conn);
        self.pool.available.notify_one();
    }
}

// ---- the transaction of an `atomically` block ----

/// The connection of an open `atomically` block of one store on this thread. `conn` is `None`
/// while a write of the block is using it (or after a write panicked with it).
struct Joined {
    store: u64,
    conn: Option<PooledConn>,
}

thread_local! {
    static JOINED: RefCell<Vec<Joined>> = const { RefCell::new(Vec::new()) };
}

/// What a call finds about an `atomically` block of `store` on this thread.
pub(super) enum Atomic {
    /// No block is open: the call runs on its own.
    Outside,
    /// The block's connection, taken until [`put_back`].
    Joined(PooledConn),
    /// A block is open but its connection is in use by a write of the block (the caller is
    /// inside that write, e.g. an `update_secret` closure), or was abandoned.
    Busy,
}

/// Take the connection of the open `atomically` block of `store`, if any.
pub(super) fn take_joined(store: u64) -> Atomic {
    JOINED.with(|joined| {
        let mut joined = joined.borrow_mut();
        match joined.iter_mut().find(|j| j.store == store) {
            None => Atomic::Outside,
            Some(Joined { conn, .. }) => conn.take().map_or(Atomic::Busy, Atomic::Joined),
        }
    })
}

pub(super) fn busy() -> StoreError {
    StoreError::Backend(
        "the store was written to from inside one of its own writes, or after the transaction \
         of the `atomically` block was abandoned"
            .to_owned(),
    )
}

/// Give the connection back to the open block of `store`.
pub(super) fn put_back(store: u64, conn: PooledConn) {
    JOINED.with(|joined| {
        if let Some(j) = joined.borrow_mut().iter_mut().find(|j| j.store == store) {
            j.conn = Some(conn);
        }
    });
}

/// Whether an `atomically` block of `store` is open on this thread.
pub(super) fn in_block(store: u64) -> bool {
    JOINED.with(|joined| joined.borrow().iter().any(|j| j.store == store))
}

/// An open `atomically` block, registered for its thread. Dropping it (also when unwinding)
/// ends the block; a connection still in it goes back to the pool, which rolls it back.
pub(super) struct Block(u64);

impl Block {
    pub(super) fn open(store: u64, conn: PooledConn) -> Self {
        JOINED.with(|joined| {
            joined.borrow_mut().push(Joined {
                store,
                conn: Some(conn),
            })
        });
        Self(store)
    }

    /// End the block, answering its connection (`None` if a write abandoned it).
    pub(super) fn close(self) -> Option<PooledConn> {
        let conn = self.remove();
        std::mem::forget(self);
        conn
    }

    fn remove(&self) -> Option<PooledConn> {
        JOINED
            .try_with(|joined| {
                let mut joined = joined.borrow_mut();
                let at = joined.iter().position(|j| j.store == self.0)?;
                joined.swap_remove(at).conn
            })
            .ok()
            .flatten()
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        drop(self.remove());
    }
}
