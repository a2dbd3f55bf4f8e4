//! Versioned schema migrations of the store file (secrets, keys, identities).
//!
//! The schema version is SQLite's `user_version` header field: the number of migrations
//! applied. At open, the pending migrations run in order inside one `BEGIN IMMEDIATE`
//! transaction together with the version bump, so a crash leaves the file either fully at the
//! old version or fully at the new one, and two processes opening the file at once cannot both
//! migrate it. A migration, once released, is never edited: a change is a new migration.
//!
//! The audit trail lives in a file of its own with its own migrations ([`super::audit_schema`]);
//! migration 6 took it out of this file, after [`move_audit_trail`] copied it there.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::{Result, StoreError};

/// Marks the file as a Tresor database (`PRAGMA application_id`), so that a path pointing at
/// some other SQLite database is refused instead of migrated. ASCII "TRSR".
const APPLICATION_ID: i64 = 0x5452_5352;

/// The migrations, in order; migration `n` (1-based) moves the schema from version `n - 1`
/// to `n`.
const MIGRATIONS: &[&str] = &[
    MIGRATION_1,
    MIGRATION_2,
    MIGRATION_3,
    MIGRATION_4,
    MIGRATION_5,
    MIGRATION_6,
    MIGRATION_7,
    MIGRATION_8,
    MIGRATION_9,
    MIGRATION_10,
    MIGRATION_11,
    MIGRATION_KMS_KEYS,
    MIGRATION_REPLICATION,
];

/// The schema version this build writes.
pub(super) const LATEST: i64 = MIGRATIONS.len() as i64;

/// Initial schema. Timestamps are milliseconds since the Unix epoch. JSON columns hold small
/// lists the store never queries into (tags, staging labels).
const MIGRATION_1: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
) STRICT;

CREATE TABLE access_keys (
    access_key_id TEXT PRIMARY KEY NOT NULL,
    account       TEXT NOT NULL,
    principal_arn TEXT NOT NULL,
    user_name     TEXT,
    sealed_secret BLOB NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('Active', 'Inactive')),
    created       INTEGER NOT NULL
) STRICT;

-- A NULL alias is distinct from every other NULL, so any number of keys may have no alias.
CREATE TABLE kms_keys (
    key_id      TEXT PRIMARY KEY NOT NULL,
    account     TEXT NOT NULL,
    region      TEXT NOT NULL,
    arn         TEXT NOT NULL UNIQUE,
    alias       TEXT,
    description TEXT NOT NULL,
    created     INTEGER NOT NULL,
    UNIQUE (account, region, alias)
) STRICT;

CREATE TABLE kms_key_versions (
    key_id  TEXT NOT NULL REFERENCES kms_keys (key_id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    wrapped BLOB NOT NULL,
    PRIMARY KEY (key_id, version)
) STRICT;

CREATE TABLE secrets (
    id              INTEGER PRIMARY KEY,
    account         TEXT NOT NULL,
    region          TEXT NOT NULL,
    arn             TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    description     TEXT,
    kms_key_id      TEXT,
    tags_json       TEXT NOT NULL,
    resource_policy TEXT,
    rotation        TEXT,
    created         INTEGER NOT NULL,
    last_changed    INTEGER NOT NULL,
    last_accessed   INTEGER,
    deleted_date    INTEGER,
    purge_after     INTEGER,
    UNIQUE (account, region, name),
    CHECK ((deleted_date IS NULL) = (purge_after IS NULL))
) STRICT;

CREATE INDEX secrets_by_purge_after ON secrets (purge_after) WHERE purge_after IS NOT NULL;

-- `seq` keeps the versions in the order they were added. `envelope` is the last column so that
-- reading a version's metadata never reads the (possibly overflowing) sealed value.
CREATE TABLE secret_versions (
    secret_id     INTEGER NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
    version_id    TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    stages_json   TEXT NOT NULL,
    created       INTEGER NOT NULL,
    last_accessed INTEGER,
    value_digest  BLOB NOT NULL,
    kms_key_id    TEXT NOT NULL,
    envelope      BLOB NOT NULL,
    PRIMARY KEY (secret_id, version_id),
    UNIQUE (secret_id, seq)
) STRICT;
";

/// Identities (IAM users, roles, policies), STS sessions and the audit trail.
///
/// User, role and managed-policy names are unique per account case-insensitively, as in IAM:
/// each table keeps the name as given and its ASCII-lowercased form (`*_lower`), which carries
/// the uniqueness constraint and serves lookups. Inline policies and attachments name their
/// principal by that lowercased form. IAM names are ASCII, so ASCII folding is IAM's folding;
/// it is also what SQLite's `NOCASE` collation does (used for `access_keys.user_name`).
const MIGRATION_2: &str = "
CREATE TABLE users (
    account         TEXT NOT NULL,
    user_name       TEXT NOT NULL,
    user_name_lower TEXT NOT NULL,
    user_id         TEXT NOT NULL UNIQUE,
    arn             TEXT NOT NULL UNIQUE,
    path            TEXT NOT NULL,
    tags_json       TEXT NOT NULL,
    created         INTEGER NOT NULL,
    PRIMARY KEY (account, user_name_lower)
) STRICT;

CREATE TABLE roles (
    account              TEXT NOT NULL,
    role_name            TEXT NOT NULL,
    role_name_lower      TEXT NOT NULL,
    role_id              TEXT NOT NULL UNIQUE,
    arn                  TEXT NOT NULL UNIQUE,
    path                 TEXT NOT NULL,
    description          TEXT,
    assume_role_policy   TEXT NOT NULL,
    max_session_duration INTEGER NOT NULL,
    tags_json            TEXT NOT NULL,
    created              INTEGER NOT NULL,
    PRIMARY KEY (account, role_name_lower)
) STRICT;

CREATE TABLE managed_policies (
    id                 INTEGER PRIMARY KEY,
    account            TEXT NOT NULL,
    policy_name        TEXT NOT NULL,
    policy_name_lower  TEXT NOT NULL,
    policy_id          TEXT NOT NULL UNIQUE,
    arn                TEXT NOT NULL UNIQUE,
    path               TEXT NOT NULL,
    description        TEXT,
    default_version_id TEXT NOT NULL,
    created            INTEGER NOT NULL,
    updated            INTEGER NOT NULL,
    UNIQUE (account, policy_name_lower)
) STRICT;

-- `seq` keeps the versions in the order they were added.
CREATE TABLE managed_policy_versions (
    policy_id  INTEGER NOT NULL REFERENCES managed_policies (id) ON DELETE CASCADE,
    version_id TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    document   TEXT NOT NULL,
    created    INTEGER NOT NULL,
    PRIMARY KEY (policy_id, version_id),
    UNIQUE (policy_id, seq)
) STRICT;

CREATE TABLE inline_policies (
    account         TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('user', 'role', 'group')),
    principal_lower TEXT NOT NULL,
    policy_name     TEXT NOT NULL,
    document        TEXT NOT NULL,
    PRIMARY KEY (account, kind, principal_lower, policy_name)
) STRICT;

CREATE TABLE policy_attachments (
    account         TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('user', 'role', 'group')),
    principal_lower TEXT NOT NULL,
    policy_arn      TEXT NOT NULL REFERENCES managed_policies (arn),
    PRIMARY KEY (account, kind, principal_lower, policy_arn)
) STRICT;

CREATE INDEX policy_attachments_by_policy ON policy_attachments (policy_arn);

-- The access keys of a user, found by name as IAM compares names.
CREATE INDEX access_keys_by_user
    ON access_keys (account, user_name COLLATE NOCASE)
    WHERE user_name IS NOT NULL;

-- What makes an access key temporary; it goes when its key goes.
CREATE TABLE sessions (
    access_key_id  TEXT PRIMARY KEY NOT NULL
                   REFERENCES access_keys (access_key_id) ON DELETE CASCADE,
    token_digest   BLOB NOT NULL,
    expires        INTEGER NOT NULL,
    role_name      TEXT NOT NULL,
    role_id        TEXT NOT NULL,
    role_arn       TEXT NOT NULL,
    session_name   TEXT NOT NULL,
    session_policy TEXT
) STRICT;

CREATE INDEX sessions_by_expiry ON sessions (expires);

-- The audit chain. `seq` is the rowid: appends go to the end of the table's b-tree. The lookup
-- indexes lead with the account (every lookup names one) and end with `seq`, so a filtered,
-- newest-first page is one backwards index range scan.
CREATE TABLE audit_records (
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

CREATE INDEX audit_by_account ON audit_records (account, seq);
CREATE INDEX audit_by_event_name ON audit_records (account, event_name, seq);
CREATE INDEX audit_by_event_id ON audit_records (event_id);
CREATE INDEX audit_by_username ON audit_records (account, username, seq);
CREATE INDEX audit_by_access_key ON audit_records (account, access_key_id, seq);
CREATE INDEX audit_by_event_time ON audit_records (account, event_time);

-- The resources of each record, one row per distinct (type, name), for lookups by resource.
-- (The record keeps its own list, in order, in `resources_json`.)
CREATE TABLE audit_resources (
    seq  INTEGER NOT NULL REFERENCES audit_records (seq) ON DELETE CASCADE,
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (seq, type, name)
) STRICT, WITHOUT ROWID;

CREATE INDEX audit_resources_by_type ON audit_resources (type);
CREATE INDEX audit_resources_by_name ON audit_resources (name);

CREATE TABLE audit_checkpoints (
    seq       INTEGER PRIMARY KEY CHECK (seq >= 0),
    hash      BLOB NOT NULL,
    time      INTEGER NOT NULL,
    signature BLOB NOT NULL
) STRICT;
";

/// A covering index for a secret's version metadata, in version order: loading a secret reads
/// its versions from a few contiguous index pages instead of one table lookup per version
/// (a secret written thousands of times a day keeps every version younger than 24 hours, and
/// every read and write of it loads their metadata).
const MIGRATION_3: &str = "
CREATE INDEX secret_versions_meta ON secret_versions
    (secret_id, seq, version_id, stages_json, created, last_accessed, value_digest, kms_key_id);
";

/// `ListSecrets` in every order it offers pages through an index instead of sorting the
/// whole scope per page (the name order has `UNIQUE (account, region, name)`).
const MIGRATION_4: &str = "
CREATE INDEX secrets_by_created ON secrets (account, region, created, arn);
CREATE INDEX secrets_by_last_changed ON secrets (account, region, last_changed, arn);
CREATE INDEX secrets_by_last_accessed ON secrets
    (account, region, COALESCE(last_accessed, -1), arn);
";

/// The labelled versions of a secret (two or three) without passing over its deprecated ones
/// (AWS keeps every version for a day: a secret written often has hundreds). Covering, like
/// `secret_versions_meta`: otherwise the planner prefers that one and reads every version.
const MIGRATION_5: &str = "
CREATE INDEX secret_versions_labelled ON secret_versions
    (secret_id, seq, version_id, stages_json, created, last_accessed, value_digest, kms_key_id)
    WHERE stages_json <> '[]';
";

/// The audit trail moves to a database file of its own ([`super::audit_schema`]). Its commits
/// (one per group of requests, every read included) no longer change this file, so the read
/// connections' page caches survive them: in WAL mode SQLite empties a connection's cache
/// whenever its file changed. [`move_audit_trail`] copied the rows before this runs.
const MIGRATION_6: &str = "
DROP TABLE audit_checkpoints;
DROP TABLE audit_resources;
DROP TABLE audit_records;
";

/// The versions a write may prune (those without a staging label), oldest first: a put finds
/// its few candidates with one short probe instead of passing over every version the secret
/// keeps (a secret written often keeps hundreds younger than a day).
const MIGRATION_7: &str = "
CREATE INDEX secret_versions_unlabelled ON secret_versions (secret_id, created, seq)
    WHERE stages_json = '[]';
";

/// GetSecretValue in fewer b-tree pages that no cache holds, with a million secrets:
/// - A secret's row by name from one index that holds all of it: one descent instead of two
///   (the name's `UNIQUE` index, then the table). The `UNIQUE` index stays, for the
///   constraint. The policy, often the longest column, is last, so that its overflow pages are
///   read only when a row has a long one.
/// - The labelled versions' keys alone: their rows, which hold the sealed value too, are read
///   through it. `secret_versions_labelled` covers the metadata, so its entries are long and
///   its interior levels (1 600 pages at a million secrets) miss the cache on most reads; this
///   one's are 15 pages. Listings and writes keep the covering one.
const MIGRATION_8: &str = "
CREATE INDEX secrets_by_name_whole ON secrets
    (account, region, name, id, arn, description, kms_key_id, tags_json, rotation, created,
     last_changed, last_accessed, deleted_date, purge_after, resource_policy);
CREATE INDEX secret_versions_labelled_rows ON secret_versions (secret_id, seq)
    WHERE stages_json <> '[]';
";

/// The link to the audit trail: the last record of the last group commit that changed this
/// file. The trail's file keeps the same number (its `store_commit`), committed first; the two
/// differ only when a commit of this file failed or was cut short after the trail's (see
/// [`super::commit`]), and the trail's records of that group then describe changes that never
/// happened.
const MIGRATION_9: &str = "
CREATE TABLE trail_link (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq INTEGER NOT NULL CHECK (last_seq >= 0)
) STRICT;
INSERT INTO trail_link (id, last_seq) VALUES (1, 0);
";

/// The AI gateway: routes, gateway keys (their token's MAC only), price overrides, and the
/// budget and rate ledgers (see [`crate::GatewayStore`]). Amounts are micro-USD. A ledger row
/// is one scope (`key:<id>`, `principal:<arn>`) in one period; a hold is one call's estimate in
/// one scope, counted while its lease runs; `gateway_settled` remembers the holds already
/// settled, so that settling one twice bills it once; a rate row is one key's fixed minute.
/// Route and key lists are small JSON arrays the store never queries into.
const MIGRATION_10: &str = "
CREATE TABLE gateway_routes (
    account     TEXT NOT NULL,
    name        TEXT NOT NULL,
    region      TEXT NOT NULL,
    arn         TEXT NOT NULL UNIQUE,
    provider    TEXT NOT NULL CHECK (provider IN ('openai', 'anthropic')),
    secret_id   TEXT NOT NULL,
    base_url    TEXT NOT NULL,
    allow_http  INTEGER NOT NULL CHECK (allow_http IN (0, 1)),
    ca_pem      TEXT,
    description TEXT,
    created     INTEGER NOT NULL,
    updated     INTEGER NOT NULL,
    PRIMARY KEY (account, name)
) STRICT;

-- A key's principal is matched as IAM matches names: by its ASCII-lowercased form.
CREATE TABLE gateway_keys (
    key_id           TEXT PRIMARY KEY NOT NULL,
    account          TEXT NOT NULL,
    region           TEXT NOT NULL,
    mac              BLOB NOT NULL UNIQUE,
    principal_kind   TEXT NOT NULL CHECK (principal_kind IN ('user', 'role')),
    principal_name   TEXT NOT NULL,
    principal_lower  TEXT NOT NULL,
    routes_json      TEXT NOT NULL,
    models_json      TEXT NOT NULL,
    budget_micro_usd INTEGER CHECK (budget_micro_usd >= 0),
    budget_period    TEXT NOT NULL CHECK (budget_period IN ('day', 'week', 'month', 'total')),
    rpm              INTEGER CHECK (rpm >= 0),
    tpm              INTEGER CHECK (tpm >= 0),
    expires          INTEGER,
    status           TEXT NOT NULL CHECK (status IN ('Active', 'Inactive')),
    description      TEXT,
    created          INTEGER NOT NULL
) STRICT;

CREATE INDEX gateway_keys_by_account ON gateway_keys (account, key_id);
CREATE INDEX gateway_keys_by_principal
    ON gateway_keys (account, principal_kind, principal_lower, key_id);

CREATE TABLE gateway_prices (
    account                     TEXT NOT NULL,
    model                       TEXT NOT NULL,
    input_micro_per_mtok        INTEGER NOT NULL CHECK (input_micro_per_mtok >= 0),
    output_micro_per_mtok       INTEGER NOT NULL CHECK (output_micro_per_mtok >= 0),
    cached_input_micro_per_mtok INTEGER CHECK (cached_input_micro_per_mtok >= 0),
    updated                     INTEGER NOT NULL,
    PRIMARY KEY (account, model)
) STRICT;

CREATE TABLE gateway_ledger (
    scope           TEXT NOT NULL,
    period_start    INTEGER NOT NULL,
    spent_micro_usd INTEGER NOT NULL,
    requests        INTEGER NOT NULL,
    input_tokens    INTEGER NOT NULL,
    output_tokens   INTEGER NOT NULL,
    PRIMARY KEY (scope, period_start)
) STRICT, WITHOUT ROWID;

CREATE TABLE gateway_holds (
    hold_id         TEXT NOT NULL,
    scope           TEXT NOT NULL,
    period_start    INTEGER NOT NULL,
    amount_micro_usd INTEGER NOT NULL CHECK (amount_micro_usd >= 0),
    lease_until     INTEGER NOT NULL,
    PRIMARY KEY (hold_id, scope)
) STRICT, WITHOUT ROWID;

-- The live holds of a scope in a period, summed from the index alone. A scope's expired holds
-- are found through it too: a scope has few holds at a time (its calls in flight), and one
-- index less is one write less per hold.
CREATE INDEX gateway_holds_by_scope
    ON gateway_holds (scope, period_start, lease_until, amount_micro_usd);

-- A USD budget for every gateway call of one user or role, over all its keys.
CREATE TABLE gateway_principal_budgets (
    account          TEXT NOT NULL,
    principal_kind   TEXT NOT NULL CHECK (principal_kind IN ('user', 'role')),
    principal_lower  TEXT NOT NULL,
    principal_name   TEXT NOT NULL,
    budget_micro_usd INTEGER NOT NULL CHECK (budget_micro_usd >= 0),
    budget_period    TEXT NOT NULL CHECK (budget_period IN ('day', 'week', 'month', 'total')),
    updated          INTEGER NOT NULL,
    PRIMARY KEY (account, principal_kind, principal_lower)
) STRICT;

CREATE TABLE gateway_settled (
    hold_id    TEXT PRIMARY KEY NOT NULL,
    settled_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX gateway_settled_by_time ON gateway_settled (settled_at);

CREATE TABLE gateway_rate (
    key_id       TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    requests     INTEGER NOT NULL,
    tokens       INTEGER NOT NULL,
    PRIMARY KEY (key_id, window_start)
) STRICT, WITHOUT ROWID;
";

/// Rotation (see [`crate::RotationStore`]): the registered rotators (a name unique in its
/// scope, an ARN in a Lambda function's shape, the settings as opaque JSON and a sealed
/// secret) and their logs, one row per step a rotator ran, in the order appended (`id`), the
/// newest 500 of each rotator kept. A log names its rotator by ARN, without a foreign key: a
/// step that ends after its rotator was deleted still records its outcome. The secrets with a
/// rotation, the scheduler's listing, are found through a partial index: few secrets rotate.
const MIGRATION_11: &str = "
CREATE TABLE rotators (
    account       TEXT NOT NULL,
    region        TEXT NOT NULL,
    name          TEXT NOT NULL,
    arn           TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    config_json   TEXT NOT NULL,
    sealed_secret BLOB,
    created       INTEGER NOT NULL,
    PRIMARY KEY (account, region, name)
) STRICT;

-- The captured output is last: reading a row's metadata does not read its overflow pages.
CREATE TABLE rotator_logs (
    id          INTEGER PRIMARY KEY,
    account     TEXT NOT NULL,
    rotator_arn TEXT NOT NULL,
    secret_arn  TEXT NOT NULL,
    version_id  TEXT NOT NULL,
    step        TEXT NOT NULL,
    time        INTEGER NOT NULL,
    outcome     TEXT NOT NULL,
    summary     TEXT NOT NULL,
    duration_ms INTEGER NOT NULL CHECK (duration_ms >= 0),
    stdout      BLOB NOT NULL,
    stderr      BLOB NOT NULL
) STRICT;

CREATE INDEX rotator_logs_by_rotator ON rotator_logs (rotator_arn, id);

CREATE INDEX secrets_rotating ON secrets (arn)
    WHERE rotation IS NOT NULL AND deleted_date IS NULL;
";

/// KMS key management (see [`crate::KmsStore`]): a key's state, deletion date, manager, key
/// policy, tags and rotation settings as columns of its row; each version's creation date and
/// origin; aliases in their own table (many per key, a name unique in its scope, gone with
/// their key). The aliases `kms_keys.alias` held move there and the column is left empty: the
/// alias table is the only place an alias lives. The `alias/aws/…` keys are AWS managed.
const MIGRATION_KMS_KEYS: &str = "
ALTER TABLE kms_keys ADD COLUMN key_state TEXT NOT NULL DEFAULT 'Enabled'
    CHECK (key_state IN ('Enabled', 'Disabled', 'PendingDeletion'));
ALTER TABLE kms_keys ADD COLUMN deletion_date INTEGER;
ALTER TABLE kms_keys ADD COLUMN key_manager TEXT NOT NULL DEFAULT 'CUSTOMER'
    CHECK (key_manager IN ('AWS', 'CUSTOMER'));
ALTER TABLE kms_keys ADD COLUMN policy TEXT;
ALTER TABLE kms_keys ADD COLUMN tags_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE kms_keys ADD COLUMN rotation_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE kms_keys ADD COLUMN rotation_period_days INTEGER NOT NULL DEFAULT 365;
ALTER TABLE kms_keys ADD COLUMN next_rotation INTEGER;

ALTER TABLE kms_key_versions ADD COLUMN created INTEGER NOT NULL DEFAULT 0;
ALTER TABLE kms_key_versions ADD COLUMN origin TEXT NOT NULL DEFAULT 'CREATED'
    CHECK (origin IN ('CREATED', 'AUTOMATIC', 'ON_DEMAND'));
UPDATE kms_key_versions SET created = (SELECT created FROM kms_keys k WHERE k.key_id = kms_key_versions.key_id);

CREATE TABLE kms_aliases (
    account TEXT NOT NULL,
    region  TEXT NOT NULL,
    name    TEXT NOT NULL,
    key_id  TEXT NOT NULL REFERENCES kms_keys (key_id) ON DELETE CASCADE,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    PRIMARY KEY (account, region, name)
) STRICT;

CREATE INDEX kms_aliases_by_key ON kms_aliases (key_id);

INSERT INTO kms_aliases (account, region, name, key_id, created, updated)
    SELECT account, region, alias, key_id, created, created FROM kms_keys WHERE alias IS NOT NULL;
UPDATE kms_keys SET key_manager = 'AWS' WHERE alias LIKE 'alias/aws/%';
UPDATE kms_keys SET alias = NULL;
";

/// Replication (issue 18): a secret's replication state, opaque JSON the core writes (on a
/// primary its replicas and their status, on a replica its primary's region). The index that
/// holds a secret's whole row for lookups by name is rebuilt to hold it too.
const MIGRATION_REPLICATION: &str = "
ALTER TABLE secrets ADD COLUMN replication TEXT;
DROP INDEX secrets_by_name_whole;
CREATE INDEX secrets_by_name_whole ON secrets
    (account, region, name, id, arn, description, kms_key_id, tags_json, rotation, created,
     last_changed, last_accessed, deleted_date, purge_after, resource_policy, replication);
";

/// The first version without the audit trail in this file.
const AUDIT_MOVED_OUT: i64 = 6;

/// Bring the store file's schema up to [`LATEST`]; a no-op when it is already there.
/// `audit_file` is the audit trail's file, already at its latest schema: a file from before
/// migration 6 has its trail copied there first.
pub(super) fn migrate(conn: &mut Connection, audit_file: Option<&Path>) -> Result<()> {
    if let Some(audit_file) = audit_file {
        move_audit_trail(conn, audit_file)?;
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current = check_version(&tx, "main", APPLICATION_ID, LATEST, "store")?;
    if current == LATEST {
        return Ok(());
    }
    apply(&tx, "main", current, MIGRATIONS, "store")?;
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.pragma_update(None, "user_version", LATEST)?;
    tx.commit()?;
    Ok(())
}

/// The store file's schema version (0 for a new file); refuses a file of another application
/// or of a newer build, before anything is written.
pub(super) fn check(conn: &Connection) -> Result<i64> {
    check_version(conn, "main", APPLICATION_ID, LATEST, "store")
}

/// The schema version of database `db` (`"main"` or an attached one): refuses a file of
/// another application or of a newer build. 0 for a new, empty file.
pub(super) fn check_version(
    conn: &Connection,
    db: &str,
    application_id: i64,
    latest: i64,
    what: &str,
) -> Result<i64> {
    let app_id: i64 = conn.pragma_query_value(Some(db), "application_id", |row| row.get(0))?;
    let current: i64 = conn.pragma_query_value(Some(db), "user_version", |row| row.get(0))?;
    if app_id != application_id && (app_id != 0 || current != 0) {
        return Err(StoreError::Backend(format!(
            "the {what} file is an SQLite database of another application"
        )));
    }
    if current > latest {
        return Err(StoreError::Backend(format!(
            "the {what} schema is version {current}, newer than this build's version {latest}"
        )));
    }
    if current < 0 {
        return Err(StoreError::Backend(format!(
            "the {what} schema version {current} is invalid"
        )));
    }
    if current == 0 {
        let objects: i64 = conn.query_row(
            &format!("SELECT count(*) FROM {db}.sqlite_schema"),
            [],
            |row| row.get(0),
        )?;
        if objects != 0 {
            return Err(StoreError::Backend(format!(
                "the {what} file is an SQLite database of another application"
            )));
        }
    }
    Ok(current)
}

/// Run the migrations after `current` on database `db`, with `{db}` in their text naming it.
/// The caller holds the transaction and sets the version.
pub(super) fn apply(
    conn: &Connection,
    db: &str,
    current: i64,
    migrations: &[&str],
    what: &str,
) -> Result<()> {
    let pending = usize::try_from(current).unwrap_or(0);
    for (index, sql) in migrations.iter().enumerate().skip(pending) {
        conn.execute_batch(&sql.replace("{db}", db))?;
        tracing::info!(version = index + 1, what, "applied schema migration");
    }
    Ok(())
}

/// Copy the audit trail of a store file from before migration 6 into `audit_file`, in one
/// transaction of that file, before migration 6 drops it here. Across two files SQLite's WAL
/// mode commits each file on its own, so the copy commits first and the drop after: a crash
/// between leaves the trail in both, and the next open finds the copy complete (the same head
/// record and checkpoint) and goes on to drop. An audit file that holds another trail is
/// refused, and nothing is dropped.
fn move_audit_trail(conn: &mut Connection, audit_file: &Path) -> Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let app_id: i64 = conn.pragma_query_value(None, "application_id", |row| row.get(0))?;
    // Version 1 had no trail; a file of another application is refused by `migrate`.
    if app_id != APPLICATION_ID || !(2..AUDIT_MOVED_OUT).contains(&version) {
        return Ok(());
    }
    let target = audit_file.to_str().ok_or_else(|| {
        StoreError::Backend("the audit file's path is not valid UTF-8".to_owned())
    })?;
    conn.execute("ATTACH DATABASE ?1 AS audit_target", [target])?;
    let copied = copy_audit_trail(conn);
    let detached = conn.execute_batch("DETACH DATABASE audit_target");
    copied?;
    detached?;
    Ok(())
}

/// The last record or checkpoint of a trail: its sequence number and hash.
type Head = (i64, Vec<u8>);

fn copy_audit_trail(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let heads = |db: &str| -> Result<[Option<Head>; 2]> {
        let head = |table: &str| -> Result<Option<Head>> {
            Ok(tx
                .query_row(
                    &format!("SELECT seq, hash FROM {db}.{table} ORDER BY seq DESC LIMIT 1"),
                    [],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?)
        };
        Ok([head("audit_records")?, head("audit_checkpoints")?])
    };
    let source = heads("main")?;
    let target = heads("audit_target")?;
    if source == [None, None] || source == target {
        // Nothing to move, or moved by an open that stopped before dropping it here.
        return Ok(());
    }
    if target != [None, None] {
        return Err(StoreError::Backend(
            "the audit file holds another audit trail than the store file it belongs to".to_owned(),
        ));
    }
    tx.execute_batch(
        "INSERT INTO audit_target.audit_records (seq, prev_hash, hash, mac, event_json,
             event_time, event_id, event_name, event_source, account, read_only, username,
             access_key_id, resources_json)
         SELECT seq, prev_hash, hash, mac, event_json, event_time, event_id, event_name,
             event_source, account, read_only, username, access_key_id, resources_json
         FROM main.audit_records ORDER BY seq;
         INSERT INTO audit_target.audit_lookup (seq, account, event_time, event_id, event_name,
             event_source, read_only, username, access_key_id)
         SELECT seq, account, event_time, event_id, event_name, event_source, read_only,
             username, access_key_id
         FROM main.audit_records ORDER BY seq;
         INSERT INTO audit_target.audit_resources (seq, type, name)
         SELECT seq, type, name FROM main.audit_resources;
         INSERT INTO audit_target.audit_checkpoints (seq, hash, time, signature)
         SELECT seq, hash, time, signature FROM main.audit_checkpoints;",
    )?;
    tx.commit()?;
    tracing::info!("moved the audit trail into its own file");
    Ok(())
}
