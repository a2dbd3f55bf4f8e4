//! The embedded SQLite backend: two database files in the data directory, the store file
//! (secrets, keys, identities) and the audit trail's file beside it ([`SqliteStore::audit_path`]).
//!
//! Data path: every write goes through one writer connection (behind a mutex) inside a
//! `BEGIN IMMEDIATE` transaction, so writers never race each other and never need a retry.
//! Reads go to a small pool of read-only connections; in WAL mode each read transaction sees the
//! last committed state, without blocking or being blocked by the writer. Both files are in WAL
//! mode with `synchronous=FULL`, so a write acknowledged with `Ok` has been fsynced and survives
//! a crash or `kill -9`.
//!
//! Two files, one transaction: the writer has a connection per file, and every read connection
//! opens the audit file as `main` and attaches the store file as `state` (table names are
//! distinct, so statements name neither). A group that writes both (a change with its audit
//! record) commits the trail first, then the store file: WAL mode gives no atomic commit across
//! files, so [`commit`] orders the two and links them. A change is never durable without its
//! record; a group whose store commit failed, or was cut short by a crash, after its trail
//! commit is found by the link and answered with an audit record of its own (see [`commit`]).
//! The trail has a file of its own because it is written on every request, reads included: in
//! one file, each of its commits emptied the read connections' page caches.
//!
//! Layout: the operations themselves are written once for both backends ([`crate::sql`]); this
//! backend keeps its transactions (the writer, the readers, [`group`] commit and [`commit`]
//! across the two files), its side of the dialect ([`db`]), [`schema`] and [`audit_schema`]
//! (migrations, applied at open), GetSecretValue's one-pass read ([`pick`]) and what is its
//! own in the audit trail ([`audit`]: deferred lookup indexes, lost changes).

mod audit;
mod audit_schema;
mod commit;
mod db;
mod group;
mod pick;
mod schema;

pub(crate) use pick::load_picked;

use std::cell::{Cell, RefCell};
use std::ffi::c_int;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::{ReentrantMutex, ReentrantMutexGuard};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};

use self::db::Lite;
use crate::codec::millis;
use crate::sql::Transactions;
use crate::{Result, StoreError};

/// How many read connections a file-backed store keeps. Reads are short; a few connections
/// keep request handlers from queueing behind one another without holding many file handles.
const READ_CONNECTIONS: usize = 4;

/// How many prepared statements each connection keeps (more than the store has).
const STATEMENT_CACHE: usize = 256;

/// How long a connection waits for a lock held by another process before failing.
const BUSY_TIMEOUT: Duration = Duration::from_millis(5000);

/// The SQLite store. Cheap to share: wrap it in an `Arc` and use it from any thread.
pub struct SqliteStore {
    /// `None` for an in-memory store.
    path: Option<PathBuf>,
    /// What each of the two databases is called on the connections.
    databases: Databases,
    // INVARIANT: every write transaction runs on this connection, so there is one writer. The
    // lock is re-entrant so that writes made inside `atomically` on the same thread join its
    // transaction (as savepoints) instead of waiting for themselves.
    writer: ReentrantMutex<RefCell<Writer>>,
    /// Empty for an in-memory store (a private in-memory database is visible only to the
    /// connection that created it), in which case reads use the writer. Re-entrant so that the
    /// reads of a [`Store::reading`] block find the connection their thread already holds.
    readers: Vec<ReentrantMutex<RefCell<Connection>>>,
    next_reader: AtomicUsize,
    group: group::GroupCommit,
}

/// The writer's connections, and whether an `atomically` block holds their transaction open.
struct Writer {
    /// The store file's connection (the file alone, as `main`). In memory, the one connection,
    /// with the trail attached to it.
    conn: Connection,
    /// The audit file's own connection (as `main`), committed before `conn`; `None` in memory.
    trail: Option<Connection>,
    atomic: bool,
    /// The group whose transaction is open on this connection (see [`group`]), and how many
    /// members it has had.
    group: Option<u64>,
    members: usize,
    /// Whether the current member runs in a savepoint. The first member of a group does not:
    /// the transaction holds nothing else, so a failure rolls the whole transaction back, and
    /// it saves SQLite copying every page it changes into the statement journal.
    savepoint: bool,
    /// Whether a member of the open group wrote to the store file (also one rolled back since:
    /// the link is then written for nothing, which is harmless).
    changed_state: bool,
    /// The trail's last `seq` when the open group began.
    trail_head: u64,
}

impl Writer {
    /// The connection that writes the audit trail.
    fn trail(&self) -> &Connection {
        self.trail.as_ref().unwrap_or(&self.conn)
    }

    /// The connection that holds `db`.
    fn on(&self, db: Db) -> &Connection {
        match db {
            Db::State => &self.conn,
            Db::Trail => self.trail(),
        }
    }

    /// Run a transaction-control statement on every connection of the writer.
    fn control(&self, sql: &str) -> Result<()> {
        exec(&self.conn, sql)?;
        if let Some(trail) = &self.trail {
            exec(trail, sql)?;
        }
        Ok(())
    }

    /// Roll back whatever is open on every connection, ignoring failures (a connection with
    /// nothing open refuses).
    fn abandon(&self) {
        let _ = self.conn.execute_batch("ROLLBACK");
        if let Some(trail) = &self.trail {
            let _ = trail.execute_batch("ROLLBACK");
        }
    }
}

/// Which of the two databases a write goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Db {
    /// The store file: secrets, keys, identities.
    State,
    /// The audit trail.
    Trail,
}

/// The schema names of the store and the audit trail on a connection.
#[derive(Debug, Clone, Copy)]
struct Databases {
    state: &'static str,
    audit: &'static str,
}

/// A file-backed store: the audit file is `main` (see the module comment for why).
const FILE_DATABASES: Databases = Databases {
    state: "state",
    audit: "main",
};

/// In memory, the order of commits does not matter.
const MEMORY_DATABASES: Databases = Databases {
    state: "main",
    audit: "audit",
};

fn writer(conn: Connection, trail: Option<Connection>) -> ReentrantMutex<RefCell<Writer>> {
    ReentrantMutex::new(RefCell::new(Writer {
        conn,
        trail,
        atomic: false,
        group: None,
        members: 0,
        savepoint: false,
        changed_state: false,
        trail_head: 0,
    }))
}

fn reentered() -> StoreError {
    StoreError::Backend("the store was re-entered while a write was in progress".to_owned())
}

/// The settings in force on one connection, as SQLite reports them (diagnostics and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// `"writer"` or `"reader"`.
    pub role: &'static str,
    /// `"state"` (the store file) or `"audit"` (the audit trail's file).
    pub database: &'static str,
    /// `"wal"` for a file-backed store, `"memory"` in memory.
    pub journal_mode: String,
    /// 2 is `FULL`.
    pub synchronous: i64,
    pub foreign_keys: bool,
    pub busy_timeout_ms: i64,
    /// 2: statement journals stay in memory.
    pub temp_store: i64,
    /// Query plans independent of bound values (`SQLITE_DBCONFIG_ENABLE_QPSG`): statements
    /// are not prepared again when a parameter is rebound.
    pub stable_plans: bool,
    /// SQLite's compile-time options, as `PRAGMA compile_options` lists them (`.cargo/config.toml`
    /// sets some: see there).
    pub compile_options: Vec<String>,
    /// The schema version of this database (number of its migrations applied).
    pub schema_version: i64,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("read_connections", &self.readers.len())
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Open the store at `path` and its audit trail at [`Self::audit_path`]`(path)`, creating
    /// them (readable by their owner only) if they are missing, and apply any pending schema
    /// migrations. A store file from before the audit trail had its own file has its trail
    /// moved there.
    pub fn open(path: &Path) -> Result<Self> {
        let audit = Self::audit_path(path);
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        // Each file is migrated on a connection of its own, where it is `main`: the audit
        // file first, as the store file's migration may move a trail into it. A file that is
        // not a store is refused before anything is created beside it.
        create_private_file(path)?;
        let mut state = Connection::open_with_flags(path, flags)?;
        configure(&state, &["main"])?;
        let new_store = schema::check(&state)? == 0;
        create_private_file(&audit)?;
        let mut conn = Connection::open_with_flags(&audit, flags)?;
        configure(&conn, &["main"])?;
        wal(&conn, "main")?;
        audit_schema::migrate(&mut conn, "main")?;
        if new_store && crate::sql::holds_trail(&mut Lite(&conn))? {
            // Its records are chained and sealed under another store's keys.
            return Err(StoreError::Backend(
                "the audit file beside the new store file holds another store's audit trail; \
                 restore its store file or move it aside"
                    .to_owned(),
            ));
        }
        drop(conn);
        wal(&state, "main")?;
        schema::migrate(&mut state, Some(&audit))?;
        drop(state);

        let connect = || -> Result<Connection> {
            let conn = Connection::open_with_flags(&audit, flags)?;
            let state = path.to_str().ok_or_else(|| {
                StoreError::Backend("the database file's path is not valid UTF-8".to_owned())
            })?;
            conn.execute("ATTACH DATABASE ?1 AS state", [state])?;
            configure(&conn, &["main", "state"])?;
            Ok(conn)
        };
        // The writer's store connection sees the store file alone: its transactions never
        // lock the audit file, whose own connection commits first (see [`commit`]).
        let writer_conn = Connection::open_with_flags(path, flags)?;
        configure(&writer_conn, &["main"])?;
        writer_conn.wal_hook(Some(checkpoint_store_when_due));
        let trail_conn = Connection::open_with_flags(&audit, flags)?;
        configure(&trail_conn, &["main"])?;
        trail_conn.wal_hook(Some(checkpoint_trail_when_due));
        let mut readers = Vec::with_capacity(READ_CONNECTIONS);
        for _ in 0..READ_CONNECTIONS {
            let reader = connect()?;
            reader.pragma_update(None, "query_only", true)?;
            readers.push(ReentrantMutex::new(RefCell::new(reader)));
        }
        Ok(Self {
            path: Some(path.to_owned()),
            databases: FILE_DATABASES,
            writer: writer(writer_conn, Some(trail_conn)),
            readers,
            next_reader: AtomicUsize::new(0),
            group: group::GroupCommit::default(),
        })
    }

    /// Where the store at `path` keeps its audit trail: beside it, `.audit` before the
    /// extension (`tresor.db` → `tresor.audit.db`).
    pub fn audit_path(path: &Path) -> PathBuf {
        let stem = path.file_stem().unwrap_or_default().to_os_string();
        let mut name = stem;
        name.push(".audit");
        if let Some(extension) = path.extension() {
            name.push(".");
            name.push(extension);
        }
        path.with_file_name(name)
    }

    /// A store that lives in memory and disappears when dropped (tests). All calls use a single
    /// connection, with the audit trail in a second in-memory database attached to it.
    pub fn open_in_memory() -> Result<Self> {
        let mut writer_conn = Connection::open_in_memory()?;
        writer_conn.execute_batch("ATTACH DATABASE ':memory:' AS audit")?;
        configure(&writer_conn, &["main", "audit"])?;
        schema::migrate(&mut writer_conn, None)?;
        audit_schema::migrate(&mut writer_conn, "audit")?;
        Ok(Self {
            path: None,
            databases: MEMORY_DATABASES,
            writer: writer(writer_conn, None),
            readers: Vec::new(),
            next_reader: AtomicUsize::new(0),
            group: group::GroupCommit::default(),
        })
    }

    /// The database file, `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The settings of every connection, for each of its two databases: the writer first,
    /// then the readers.
    pub fn connection_settings(&self) -> Result<Vec<ConnectionSettings>> {
        let guard = self.writer.lock();
        let w = guard.try_borrow().map_err(|_| reentered())?;
        let mut out = match &w.trail {
            Some(trail) => {
                let mut out = settings(&w.conn, "writer", "state", "main")?;
                out.extend(settings(trail, "writer", "audit", "main")?);
                out
            }
            None => both_settings(&w.conn, "writer", self.databases)?,
        };
        for reader in &self.readers {
            let guard = reader.lock();
            let conn = guard.try_borrow().map_err(|_| reentered())?;
            out.extend(both_settings(&conn, "reader", self.databases)?);
        }
        Ok(out)
    }

    /// Run `f` on the store file in a write transaction and commit if it succeeds (with the
    /// other writes of its group, see [`group`]). Inside [`Store::atomically`] on this thread,
    /// `f` runs in a savepoint of that transaction.
    fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Connection) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        self.write_on(Db::State, f)
    }

    /// [`Self::write`] for the audit trail.
    fn write_trail<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Connection) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        self.write_on(Db::Trail, f)
    }

    fn write_on<T, E: From<StoreError>>(
        &self,
        db: Db,
        f: impl FnOnce(&Connection) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        // Held by another thread means not inside `atomically` on this one (the lock is
        // re-entrant); do not wait for it here, uncounted: wait in `run_atomically`, where the
        // holder sees this thread queued and leaves the transaction open for it.
        let inside = match self.writer.try_lock() {
            Some(guard) => guard.try_borrow().map_err(|_| reentered())?.atomic,
            None => false,
        };
        if !inside {
            // A member of its own: `run_atomically` gives it a savepoint.
            return self.run_atomically(|| {
                let guard = self.writer.lock();
                let mut w = guard.try_borrow_mut().map_err(|_| reentered())?;
                let out = f(w.on(db))?;
                w.changed_state |= db == Db::State;
                Ok(out)
            });
        }
        let guard = self.writer.lock();
        let mut w = guard.try_borrow_mut().map_err(|_| reentered())?;
        let conn = w.on(db);
        // Cached statements, not rusqlite's `Savepoint` (which parses `SAVEPOINT` and
        // `RELEASE` anew each time): a request makes several such writes. SQLite nests
        // savepoints of one name, acting on the innermost.
        exec(conn, "SAVEPOINT nested")?;
        /// Rolls the savepoint back unless it was released, also when `f` unwinds.
        struct Nested<'a>(&'a Connection, bool);
        impl Drop for Nested<'_> {
            fn drop(&mut self) {
                if !self.1 {
                    let _ = exec(self.0, "ROLLBACK TO nested");
                    let _ = exec(self.0, "RELEASE nested");
                }
            }
        }
        let mut nested = Nested(conn, false);
        let out = f(conn)?;
        exec(conn, "RELEASE nested")?;
        nested.1 = true;
        drop(nested);
        w.changed_state |= db == Db::State;
        Ok(out)
    }

    /// Run `f` in a read transaction, so that all its queries see one committed state.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.read_on(Db::State, f)
    }

    /// [`Self::read`] for the audit trail.
    fn read_trail<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.read_on(Db::Trail, f)
    }

    /// Run `f` on the connections of the store file and of the trail (the same connection
    /// outside a write), in one read transaction.
    fn read_both<T>(&self, f: impl FnOnce(&Connection, &Connection) -> Result<T>) -> Result<T> {
        if let Some(guard) = self.writer.try_lock() {
            if let Ok(w) = guard.try_borrow() {
                if w.atomic {
                    return f(&w.conn, w.trail());
                }
            }
        }
        self.read_on(Db::State, |conn| f(conn, conn))
    }

    fn read_on<T>(&self, db: Db, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        if self.readers.is_empty() {
            // In memory there is only the writer; inside `atomically` it sees its own writes.
            let guard = self.writer.lock();
            let mut w = guard.try_borrow_mut().map_err(|_| reentered())?;
            if w.atomic {
                return f(w.on(db));
            }
            clean_conn(&w.conn)?;
            let tx = w
                .conn
                .transaction_with_behavior(TransactionBehavior::Deferred)?;
            let out = f(&tx)?;
            tx.commit()?;
            return Ok(out);
        }
        if let Some(guard) = self.writer.try_lock() {
            // Inside `atomically` on this thread, read on the writer: its open transaction holds
            // this block's writes and those of the group's earlier members, which a reader
            // cannot see yet (a name taken by one of them, say).
            if let Ok(w) = guard.try_borrow() {
                if w.atomic {
                    return f(w.on(db));
                }
            }
        }
        if let Some(pinned) = self.pinned_reader() {
            // Inside `reading` on this thread: its transaction is already open.
            let guard = pinned.lock();
            let conn = guard.try_borrow().map_err(|_| reentered())?;
            return f(&conn);
        }
        // BEGIN and COMMIT as cached statements: a read is a few microseconds, and parsing
        // them anew each time (as `Connection::transaction` does) was a visible part of it.
        // A transaction left open by a panic in `f` is rolled back by the next checkout.
        let (guard, _) = self.reader_connection()?;
        let conn = guard.try_borrow().map_err(|_| reentered())?;
        conn.prepare_cached("BEGIN")?.execute([])?;
        let out = f(&conn);
        let end = if out.is_ok() { "COMMIT" } else { "ROLLBACK" };
        conn.prepare_cached(end)?.execute([])?;
        out
    }

    /// The reader a `reading` block of this thread holds on this store, if any.
    fn pinned_reader(&self) -> Option<&ReentrantMutex<RefCell<Connection>>> {
        let (store, index) = PINNED_READER.get()?;
        if store != self.identity() {
            return None;
        }
        self.readers.get(index)
    }

    /// Tells this store apart from others in [`PINNED_READER`] (its address; it does not move
    /// while borrowed).
    fn identity(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    /// Run `f` with every read it makes through this store, on this thread, in one read
    /// transaction on one connection: one snapshot, and one transaction start instead of one
    /// per read. For read-only work: writes inside `f` go to the writer as usual but are not
    /// seen by its reads.
    fn run_reading<T>(&self, f: impl FnOnce() -> T) -> T {
        if self.readers.is_empty() || PINNED_READER.get().is_some() {
            return f();
        }
        let Ok((guard, index)) = self.reader_connection() else {
            return f();
        };
        let began = guard
            .try_borrow()
            .ok()
            .and_then(|conn| conn.prepare_cached("BEGIN").ok()?.execute([]).ok());
        if began.is_none() {
            return f();
        }
        /// Ends the transaction and unpins, also when `f` unwinds.
        struct Pinned<'a>(&'a RefCell<Connection>);
        impl Drop for Pinned<'_> {
            fn drop(&mut self) {
                PINNED_READER.set(None);
                if let Ok(conn) = self.0.try_borrow() {
                    let ended = conn
                        .prepare_cached("COMMIT")
                        .and_then(|mut end| end.execute([]));
                    if ended.is_err() {
                        let _ = conn.execute_batch("ROLLBACK");
                    }
                }
            }
        }
        PINNED_READER.set(Some((self.identity(), index)));
        let _pinned = Pinned(&guard);
        f()
    }

    /// Everything `f` writes through this store on this thread commits or rolls back as one
    /// unit, with `f`'s result: in a savepoint of its group's transaction, acknowledged only
    /// once the group has committed (see [`group`]).
    fn run_atomically<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce() -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        self.group.enqueue();
        let guard = self.writer.lock();
        self.group.dequeue();
        let group = {
            let mut w = guard.try_borrow_mut().map_err(|_| reentered())?;
            if w.atomic {
                // Nested: the outer block decides.
                drop(w);
                return f();
            }
            let group = match w.group {
                Some(group) => {
                    if let Err(e) = w.control("SAVEPOINT member") {
                        // Nothing of this member is in the transaction; end it for the others.
                        w.savepoint = false;
                        drop(self.close_member(&mut w, true));
                        return Err(e.into());
                    }
                    w.savepoint = true;
                    group
                }
                None => {
                    clean_conn(&w.conn)?;
                    if let Some(trail) = &w.trail {
                        clean_conn(trail)?;
                    }
                    w.control("BEGIN IMMEDIATE")?;
                    w.trail_head = match commit::trail_head(&w) {
                        Ok(head) => head,
                        Err(e) => {
                            w.abandon();
                            return Err(e.into());
                        }
                    };
                    let group = self.group.new_group();
                    w.group = Some(group);
                    w.members = 0;
                    w.savepoint = false;
                    w.changed_state = false;
                    group
                }
            };
            w.members += 1;
            w.atomic = true;
            group
        };
        /// Rolls this member back, and commits or hands off for the others, if `f` unwinds.
        struct Abandon<'a>(&'a SqliteStore, &'a RefCell<Writer>, bool);
        impl Drop for Abandon<'_> {
            fn drop(&mut self) {
                if !self.2 {
                    if let Ok(mut w) = self.1.try_borrow_mut() {
                        drop(self.0.close_member(&mut w, false));
                    }
                }
            }
        }
        let mut abandon = Abandon(self, &guard, false);
        let out = f();
        abandon.2 = true;
        let completion = {
            let mut w = guard.try_borrow_mut().map_err(|_| reentered())?;
            self.close_member(&mut w, out.is_ok())
        };
        drop(abandon);
        drop(guard);
        let durable = match completion {
            Completion::Committed(result) => result,
            // Wait even when `f` failed: its error may come from a member before it (a name
            // that member took), which the caller may go on to read once it is committed.
            Completion::HandedOff => self.group.wait(group),
        };
        match (out, durable) {
            (Ok(v), Ok(())) => Ok(v),
            (Err(e), _) => Err(e),
            (Ok(_), Err(e)) => Err(e.into()),
        }
    }

    /// End the current member's savepoint (kept or rolled back), then commit the group, or
    /// leave its transaction open for a thread already waiting to join it.
    fn close_member(&self, w: &mut Writer, keep: bool) -> Completion {
        w.atomic = false;
        let Some(group) = w.group else {
            return Completion::Committed(Err(StoreError::Backend(
                "no write transaction is open".to_owned(),
            )));
        };
        let ended = match (w.savepoint, keep) {
            (true, true) => w.control("RELEASE member"),
            (true, false) => w
                .control("ROLLBACK TO member")
                .and_then(|()| w.control("RELEASE member")),
            (false, true) => Ok(()),
            (false, false) => {
                // The first member failed: the transaction holds its writes only.
                let rolled_back = w.control("ROLLBACK");
                if rolled_back.is_err() {
                    w.abandon();
                }
                w.group = None;
                w.members = 0;
                let outcome = Err("the transaction was rolled back".to_owned());
                self.group.publish(group, outcome.clone());
                return Completion::Committed(
                    rolled_back.and(outcome.map_err(StoreError::Backend)),
                );
            }
        };
        w.savepoint = false;
        // In memory, readers use the writer connection and would see an open group's writes:
        // there every member commits at once.
        let hand_off = ended.is_ok()
            && !self.readers.is_empty()
            && w.members < group::MAX_MEMBERS
            && self.group.has_waiters();
        if hand_off {
            return Completion::HandedOff;
        }
        let committed = ended.and_then(|()| commit::commit(w));
        if committed.is_err() {
            w.abandon();
        }
        w.group = None;
        w.members = 0;
        self.group.publish(
            group,
            committed.as_ref().map(|_| ()).map_err(ToString::to_string),
        );
        Completion::Committed(committed)
    }

    /// A free read connection if there is one, else wait for one (round robin), with its
    /// index.
    fn reader_connection(&self) -> Result<(ReaderGuard<'_>, usize)> {
        let count = self.readers.len();
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed) % count;
        for i in 0..count {
            let index = (start + i) % count;
            let Some(reader) = self.readers.get(index) else {
                continue;
            };
            if let Some(guard) = reader.try_lock() {
                return Ok((clean(guard)?, index));
            }
        }
        match self.readers.get(start) {
            Some(reader) => Ok((clean(reader.lock())?, start)),
            None => Err(StoreError::Backend("no read connection".to_owned())),
        }
    }
}

type ReaderGuard<'a> = ReentrantMutexGuard<'a, RefCell<Connection>>;

/// How a member's turn on the writer ended.
enum Completion {
    /// This member committed the group (itself included): the commit's result.
    Committed(Result<()>),
    /// Another member, already waiting, will commit the group.
    HandedOff,
}

/// Run a transaction-control statement (cached: these run on every write).
fn exec(conn: &Connection, sql: &str) -> Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

thread_local! {
    /// The reader a [`SqliteStore::run_reading`] block holds on this thread: (store, index).
    static PINNED_READER: Cell<Option<(usize, usize)>> = const { Cell::new(None) };
}

/// Roll back a transaction left open on the writer (by a rollback that failed while unwinding)
/// before starting a new one.
fn clean_conn(conn: &Connection) -> Result<()> {
    if !conn.is_autocommit() {
        conn.execute_batch("ROLLBACK")?;
    }
    Ok(())
}

/// Make sure no transaction is left open on a connection (a rollback that failed during
/// unwinding would leave one), so the next caller starts from committed state.
fn clean(guard: ReaderGuard<'_>) -> Result<ReaderGuard<'_>> {
    {
        let conn = guard.try_borrow().map_err(|_| reentered())?;
        if !conn.is_autocommit() {
            conn.execute_batch("ROLLBACK")?;
        }
    }
    Ok(guard)
}

/// Per-connection settings (these are not stored in the file), for the databases `dbs`.
fn configure(conn: &Connection, dbs: &[&str]) -> Result<()> {
    // Every statement the store runs stays prepared: the writer alone runs a few dozen
    // distinct ones, and with rusqlite's default of 16 they evicted each other, so a write
    // spent more time parsing SQL than running it.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // Plans that do not depend on bound values. Without this, a statement with `LIMIT ?` (a
    // listing page, a prune, an audit lookup) is marked expired whenever the parameter is
    // bound again, so every run parsed and planned it anew (SQLite may size a LIMIT from its
    // bound value). Nothing is lost: the store keeps no `ANALYZE` statistics for bound
    // values to be weighed against.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    for db in dbs {
        conn.pragma_update(Some(*db), "synchronous", "FULL")?;
    }
    // Statement journals (a group member's savepoint) stay in memory instead of spilling to a
    // temporary file that is created, written and deleted within one commit.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

/// WAL frames after which a commit checkpoints the audit file: every commit adds a few, and a
/// checkpoint copies each page they hold back into the file once, inside the commit that
/// triggers it, while the requests of the next group wait. SQLite's default of 1 000 made those
/// waits the slowest percent of GetSecretValue latencies (about 380 pages copied, several
/// milliseconds); 200 keeps each copy short for about the same work in all.
const AUDIT_CHECKPOINT_FRAMES: c_int = 200;

/// WAL frames after which a commit checkpoints the store file (SQLite's default): its
/// commits are the writes, fewer and larger, and a put was measured faster with these.
const STATE_CHECKPOINT_FRAMES: c_int = 1000;

/// The writer's WAL hooks, in place of SQLite's auto-checkpoint (one size for every file):
/// after a commit, checkpoint the file if its WAL has grown past its size.
fn checkpoint_trail_when_due(wal: &rusqlite::hooks::Wal, frames: c_int) -> rusqlite::Result<()> {
    checkpoint_when_due(wal, frames, AUDIT_CHECKPOINT_FRAMES)
}

fn checkpoint_store_when_due(wal: &rusqlite::hooks::Wal, frames: c_int) -> rusqlite::Result<()> {
    checkpoint_when_due(wal, frames, STATE_CHECKPOINT_FRAMES)
}

/// A checkpoint that cannot run now (a reader holds old frames) is left to the next commit;
/// an error must not be returned, as the commit it follows would be reported failed.
fn checkpoint_when_due(
    wal: &rusqlite::hooks::Wal,
    frames: c_int,
    due: c_int,
) -> rusqlite::Result<()> {
    if frames >= due {
        if let Err(e) = wal.checkpoint() {
            tracing::debug!(error = %e, "a checkpoint after a commit did not run");
        }
    }
    Ok(())
}

/// Put database `db` in WAL mode (a property of the file; it must be set outside a
/// transaction).
fn wal(conn: &Connection, db: &str) -> Result<()> {
    let mode: String =
        conn.pragma_update_and_check(Some(db), "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend(format!(
            "the database refused WAL journal mode (it is in {mode} mode)"
        )));
    }
    Ok(())
}

/// The settings of a connection that holds both databases.
fn both_settings(
    conn: &Connection,
    role: &'static str,
    databases: Databases,
) -> Result<Vec<ConnectionSettings>> {
    let mut out = settings(conn, role, "state", databases.state)?;
    out.extend(settings(conn, role, "audit", databases.audit)?);
    Ok(out)
}

/// The settings of database `db` on a connection, reported as `database`.
fn settings(
    conn: &Connection,
    role: &'static str,
    database: &'static str,
    db: &str,
) -> Result<Vec<ConnectionSettings>> {
    let int = |db: &str, name: &str| -> Result<i64> {
        Ok(conn.pragma_query_value(Some(db), name, |row| row.get(0))?)
    };
    let compile_options: Vec<String> = conn
        .prepare("PRAGMA compile_options")?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    [(database, db)]
        .into_iter()
        .map(|(database, db)| {
            Ok(ConnectionSettings {
                role,
                database,
                journal_mode: conn
                    .pragma_query_value(Some(db), "journal_mode", |row| row.get(0))?,
                synchronous: int(db, "synchronous")?,
                foreign_keys: int("main", "foreign_keys")? == 1,
                busy_timeout_ms: int("main", "busy_timeout")?,
                temp_store: int("main", "temp_store")?,
                stable_plans: conn.db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG)?,
                compile_options: compile_options.clone(),
                schema_version: int(db, "user_version")?,
            })
        })
        .collect()
}

/// Create the database file with owner-only permissions before SQLite opens it (SQLite gives
/// its `-wal` and `-shm` files the permissions of the database file). An existing file is left
/// as it is.
fn create_private_file(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path).map_err(|e| {
        StoreError::Backend(format!("cannot open or create the database file: {e}"))
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = file.metadata() {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    "the database file is readable by other users than its owner"
                );
            }
        }
    }
    drop(file);
    Ok(())
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        // Uniqueness is checked explicitly before every insert; a violation that still reaches
        // SQLite (e.g. a duplicate within one call) is a conflict, not a backend failure.
        if let rusqlite::Error::SqliteFailure(code, _) = &e {
            if code.code == ErrorCode::ConstraintViolation
                && matches!(
                    code.extended_code,
                    rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                        | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                )
            {
                return StoreError::Conflict;
            }
        }
        // rusqlite's messages name the condition (and a column), never a bound value.
        StoreError::Backend(format!("sqlite: {e}"))
    }
}

// ---- conversions between records and columns ----

impl Transactions for SqliteStore {
    fn read_db<T>(&self, f: impl FnOnce(&mut dyn crate::sql::Db) -> Result<T>) -> Result<T> {
        self.read(|conn| f(&mut Lite(conn)))
    }

    fn write_db<T, E: From<StoreError>>(
        &self,
        mut f: impl FnMut(&mut dyn crate::sql::Db) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        self.write(|conn| f(&mut Lite(conn)))
    }

    fn read_trail_db<T>(&self, f: impl FnOnce(&mut dyn crate::sql::Db) -> Result<T>) -> Result<T> {
        self.read_trail(|conn| f(&mut Lite(conn)))
    }

    fn atomically_db<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce() -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        self.run_atomically(f)
    }

    fn reading_db<T>(&self, f: impl FnOnce() -> T) -> T {
        self.run_reading(f)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rusqlite::{params, StatementStatus};

    use super::*;

    /// How many times a cached `LIMIT ?` statement was prepared again over runs with
    /// different limits.
    fn reprepares(conn: &Connection) -> i32 {
        conn.execute_batch("CREATE TABLE t (x INTEGER PRIMARY KEY)")
            .unwrap();
        for limit in 1..=5 {
            let mut stmt = conn
                .prepare_cached("SELECT x FROM t WHERE x > ?1 ORDER BY x LIMIT ?2")
                .unwrap();
            stmt.query_map(params![0, limit], |row| row.get::<_, i64>(0))
                .unwrap()
                .for_each(drop);
        }
        conn.prepare_cached("SELECT x FROM t WHERE x > ?1 ORDER BY x LIMIT ?2")
            .unwrap()
            .get_status(StatementStatus::RePrepare)
    }

    #[test]
    fn a_rebound_limit_does_not_prepare_the_statement_again() {
        let plain = Connection::open_in_memory().unwrap();
        assert!(reprepares(&plain) > 0, "SQLite re-prepares by default");
        let configured = Connection::open_in_memory().unwrap();
        configure(&configured, &["main"]).unwrap();
        assert_eq!(reprepares(&configured), 0);
    }
}
