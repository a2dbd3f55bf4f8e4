//! Versioned schema migrations of the audit trail's own database file.
//!
//! The audit trail is the store's busiest writer: every request appends a record, reads
//! included, so a group commit of records lands many times a second. In a file of its own those
//! commits leave the store file unchanged, and the read connections keep their page caches of
//! it (SQLite drops a connection's cache of a WAL file whenever the file changed). See
//! [`super`] for how the two files are opened and committed.
//!
//! Versioned like the store file (`user_version`, one `BEGIN IMMEDIATE` transaction), with its
//! own `application_id` so neither file can be mistaken for the other. The migrations name
//! their database `{db}`: `main` in the audit file's own connection, `audit` when an in-memory
//! store attaches an in-memory trail.

use rusqlite::{Connection, TransactionBehavior};

use super::schema::{apply, check_version};
use crate::Result;

/// Marks the file as a Tresor audit trail. ASCII "TRSA".
const APPLICATION_ID: i64 = 0x5452_5341;

const MIGRATIONS: &[&str] = &[MIGRATION_1, MIGRATION_2, MIGRATION_3];

/// The schema version this build writes.
pub(super) const LATEST: i64 = MIGRATIONS.len() as i64;

/// The audit chain, as the store file held it from its migration 2 to 5: the same DDL on
/// purpose (released migrations are never edited, so this file's first one repeats it), so a
/// trail moved out of an old store file keeps its exact columns and indexes.
///
/// `seq` is the rowid: appends go to the end of the table's b-tree. The lookup indexes lead
/// with the account (every lookup names one) and end with `seq`, so a filtered, newest-first
/// page is one backwards index range scan. `audit_resources` holds the resources of each
/// record, one row per distinct (type, name), for lookups by resource (the record keeps its
/// own list, in order, in `resources_json`).
const MIGRATION_1: &str = "
CREATE TABLE {db}.audit_records (
    seq            INTEGER PRIMARY KEY CHECK (seq > 0),
    prev_hash      BLOB NOT NULL,
    hash           BLOB NOT NULL,
    mac            BLOB NOT NULL,
    event_json     TEXT NOT NULL,
    event_time     INTEGER NOT NULL,
    event_id       TEXT NOT NULL,
    event_name     TEXT NOT NULL,
    event_source   TEXT NOT NULL,
    account        TEXT,
    read_only      INTEGER NOT NULL CHECK (read_only IN (0, 1)),
    username       TEXT,
    access_key_id  TEXT,
    resources_json TEXT NOT NULL
) STRICT;

CREATE INDEX {db}.audit_by_account ON audit_records (account, seq);
CREATE INDEX {db}.audit_by_event_name ON audit_records (account, event_name, seq);
CREATE INDEX {db}.audit_by_event_id ON audit_records (event_id);
CREATE INDEX {db}.audit_by_username ON audit_records (account, username, seq);
CREATE INDEX {db}.audit_by_access_key ON audit_records (account, access_key_id, seq);
CREATE INDEX {db}.audit_by_event_time ON audit_records (account, event_time);

CREATE TABLE {db}.audit_resources (
    seq  INTEGER NOT NULL REFERENCES audit_records (seq) ON DELETE CASCADE,
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (seq, type, name)
) STRICT, WITHOUT ROWID;

CREATE INDEX {db}.audit_resources_by_type ON audit_resources (type);
CREATE INDEX {db}.audit_resources_by_name ON audit_resources (name);

CREATE TABLE {db}.audit_checkpoints (
    seq       INTEGER PRIMARY KEY CHECK (seq >= 0),
    hash      BLOB NOT NULL,
    time      INTEGER NOT NULL,
    signature BLOB NOT NULL
) STRICT;
";

/// The lookup indexes leave the records' table for a table of their own, `audit_lookup`,
/// which the writer fills in batches after the records are committed (see [`super::audit`]).
///
/// An append used to dirty a page of every lookup index (and of the resources and their two
/// indexes) in every group commit: about 13 pages per commit of 4 records, each written to the
/// WAL before the answer could leave. The commit that answers wait for now writes the records
/// only. `audit_lookup` holds a copy of the columns the lookups filter on, one row per record,
/// so the highest `seq` in it is how far the trail is indexed; `audit_resources` becomes
/// derived data too and is filled in the same batches. Records of an existing trail are
/// indexed here, in the migration.
const MIGRATION_2: &str = "
CREATE TABLE {db}.audit_lookup (
    seq            INTEGER PRIMARY KEY,
    account        TEXT,
    event_time     INTEGER NOT NULL,
    event_id       TEXT NOT NULL,
    event_name     TEXT NOT NULL,
    event_source   TEXT NOT NULL,
    read_only      INTEGER NOT NULL CHECK (read_only IN (0, 1)),
    username       TEXT,
    access_key_id  TEXT
) STRICT;

INSERT INTO {db}.audit_lookup (seq, account, event_time, event_id, event_name, event_source,
        read_only, username, access_key_id)
    SELECT seq, account, event_time, event_id, event_name, event_source, read_only, username,
        access_key_id
    FROM {db}.audit_records ORDER BY seq;

DROP INDEX {db}.audit_by_account;
DROP INDEX {db}.audit_by_event_name;
DROP INDEX {db}.audit_by_event_id;
DROP INDEX {db}.audit_by_username;
DROP INDEX {db}.audit_by_access_key;
DROP INDEX {db}.audit_by_event_time;

CREATE INDEX {db}.audit_lookup_by_account ON audit_lookup (account, seq);
CREATE INDEX {db}.audit_lookup_by_event_name ON audit_lookup (account, event_name, seq);
CREATE INDEX {db}.audit_lookup_by_event_id ON audit_lookup (event_id);
CREATE INDEX {db}.audit_lookup_by_username ON audit_lookup (account, username, seq);
CREATE INDEX {db}.audit_lookup_by_access_key ON audit_lookup (account, access_key_id, seq);
CREATE INDEX {db}.audit_lookup_by_event_time ON audit_lookup (account, event_time);
";

/// The trail's side of the link between the two files (see [`super::commit`]):
/// - `store_commit`: the records (`first_seq..=last_seq`) of the last group commit that also
///   changed the store file, committed here before the store file commits. The store file's
///   `trail_link` holds the same `last_seq` once its commit landed. `settled_seq` is the
///   `last_seq` of a group found lost whose loss has a record of its own.
/// - `lost_changes`: groups whose records are committed here but whose store commit failed,
///   found when the next group linked the files, kept until an audit record says so.
const MIGRATION_3: &str = "
CREATE TABLE {db}.store_commit (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    first_seq   INTEGER NOT NULL CHECK (first_seq >= 0),
    last_seq    INTEGER NOT NULL CHECK (last_seq >= first_seq),
    settled_seq INTEGER NOT NULL CHECK (settled_seq >= 0)
) STRICT;
INSERT INTO {db}.store_commit (id, first_seq, last_seq, settled_seq) VALUES (1, 0, 0, 0);

CREATE TABLE {db}.lost_changes (
    first_seq INTEGER PRIMARY KEY CHECK (first_seq > 0),
    last_seq  INTEGER NOT NULL CHECK (last_seq >= first_seq)
) STRICT;
";

/// Bring the audit schema of database `db` on `conn` up to [`LATEST`]; a no-op when it is
/// already there.
pub(super) fn migrate(conn: &mut Connection, db: &str) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current = check_version(&tx, db, APPLICATION_ID, LATEST, "audit")?;
    if current == LATEST {
        return Ok(());
    }
    apply(&tx, db, current, MIGRATIONS, "audit")?;
    tx.pragma_update(Some(db), "application_id", APPLICATION_ID)?;
    tx.pragma_update(Some(db), "user_version", LATEST)?;
    tx.commit()?;
    Ok(())
}
