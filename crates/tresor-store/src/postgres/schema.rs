//! Versioned schema migrations.
//!
//! `tresor_schema_migrations` holds one row per migration applied. At open, one transaction
//! takes a transaction-scoped advisory lock (so nodes starting together migrate one after the
//! other: the second finds the work done), applies the pending migrations in order with their
//! rows, and commits; PostgreSQL's DDL is transactional, so a crash leaves the database fully
//! at the old version or fully at the new one. A migration, once released, is never edited.
//!
//! The schema is the SQLite one in PostgreSQL's types: BYTEA for blobs, BIGINT milliseconds
//! since the Unix epoch, TEXT (JSON as text). Text columns use the "C" collation, so that
//! comparisons and `ORDER BY` are bytewise, as in SQLite (and Rust's `str` order), whatever the
//! database's default collation; under "C", `lower()` folds ASCII only, like SQLite's `NOCASE`.

use super::conn::Conn;
use crate::{Result, StoreError};

/// The advisory lock key migrations hold ("TRSRMIGR"). Advisory locks are per database.
const MIGRATION_LOCK: i64 = 0x5452_5352_4d49_4752;

/// The migrations, in order; migration `n` (1-based) moves the schema from version `n - 1`
/// to `n`.
const MIGRATIONS: &[&str] = &[
    MIGRATION_1,
    MIGRATION_2,
    MIGRATION_3,
    MIGRATION_4,
    MIGRATION_5,
    MIGRATION_6,
    MIGRATION_KMS_KEYS,
    MIGRATION_REPLICATION,
];

/// The schema version this build writes.
pub(super) const LATEST: i64 = MIGRATIONS.len() as i64;

/// The whole schema of SQLite's migrations 1 and 2.
const MIGRATION_1: &str = r#"
CREATE TABLE meta (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE access_keys (
    access_key_id TEXT COLLATE "C" PRIMARY KEY,
    account       TEXT COLLATE "C" NOT NULL,
    principal_arn TEXT COLLATE "C" NOT NULL,
    user_name     TEXT COLLATE "C",
    sealed_secret BYTEA NOT NULL,
    status        TEXT COLLATE "C" NOT NULL CHECK (status IN ('Active', 'Inactive')),
    created       BIGINT NOT NULL
);

-- A NULL alias is distinct from every other NULL, so any number of keys may have no alias.
CREATE TABLE kms_keys (
    key_id      TEXT COLLATE "C" PRIMARY KEY,
    account     TEXT COLLATE "C" NOT NULL,
    region      TEXT COLLATE "C" NOT NULL,
    arn         TEXT COLLATE "C" NOT NULL UNIQUE,
    alias       TEXT COLLATE "C",
    description TEXT NOT NULL,
    created     BIGINT NOT NULL,
    UNIQUE (account, region, alias)
);

CREATE TABLE kms_key_versions (
    key_id  TEXT COLLATE "C" NOT NULL REFERENCES kms_keys (key_id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    wrapped BYTEA NOT NULL,
    PRIMARY KEY (key_id, version)
);

CREATE TABLE secrets (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account         TEXT COLLATE "C" NOT NULL,
    region          TEXT COLLATE "C" NOT NULL,
    arn             TEXT COLLATE "C" NOT NULL UNIQUE,
    name            TEXT COLLATE "C" NOT NULL,
    description     TEXT,
    kms_key_id      TEXT,
    tags_json       TEXT NOT NULL,
    resource_policy TEXT,
    rotation        TEXT,
    created         BIGINT NOT NULL,
    last_changed    BIGINT NOT NULL,
    last_accessed   BIGINT,
    deleted_date    BIGINT,
    purge_after     BIGINT,
    UNIQUE (account, region, name),
    CHECK ((deleted_date IS NULL) = (purge_after IS NULL))
);

CREATE INDEX secrets_by_page ON secrets (account, region, name, arn);
CREATE INDEX secrets_by_purge_after ON secrets (purge_after) WHERE purge_after IS NOT NULL;

-- `seq` keeps the versions in the order they were added.
CREATE TABLE secret_versions (
    secret_id     BIGINT NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
    version_id    TEXT COLLATE "C" NOT NULL,
    seq           BIGINT NOT NULL,
    stages_json   TEXT NOT NULL,
    created       BIGINT NOT NULL,
    last_accessed BIGINT,
    value_digest  BYTEA NOT NULL,
    kms_key_id    TEXT NOT NULL,
    envelope      BYTEA NOT NULL,
    PRIMARY KEY (secret_id, version_id),
    UNIQUE (secret_id, seq)
);

-- User, role and managed-policy names are unique per account case-insensitively, as in IAM:
-- each table keeps the name as given and its ASCII-lowercased form (`*_lower`), which carries
-- the uniqueness constraint and serves lookups. Inline policies and attachments name their
-- principal by that lowercased form.
CREATE TABLE users (
    account         TEXT COLLATE "C" NOT NULL,
    user_name       TEXT COLLATE "C" NOT NULL,
    user_name_lower TEXT COLLATE "C" NOT NULL,
    user_id         TEXT COLLATE "C" NOT NULL UNIQUE,
    arn             TEXT COLLATE "C" NOT NULL UNIQUE,
    path            TEXT NOT NULL,
    tags_json       TEXT NOT NULL,
    created         BIGINT NOT NULL,
    PRIMARY KEY (account, user_name_lower)
);

CREATE TABLE roles (
    account              TEXT COLLATE "C" NOT NULL,
    role_name            TEXT COLLATE "C" NOT NULL,
    role_name_lower      TEXT COLLATE "C" NOT NULL,
    role_id              TEXT COLLATE "C" NOT NULL UNIQUE,
    arn                  TEXT COLLATE "C" NOT NULL UNIQUE,
    path                 TEXT NOT NULL,
    description          TEXT,
    assume_role_policy   TEXT NOT NULL,
    max_session_duration BIGINT NOT NULL,
    tags_json            TEXT NOT NULL,
    created              BIGINT NOT NULL,
    PRIMARY KEY (account, role_name_lower)
);

CREATE TABLE managed_policies (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account            TEXT COLLATE "C" NOT NULL,
    policy_name        TEXT COLLATE "C" NOT NULL,
    policy_name_lower  TEXT COLLATE "C" NOT NULL,
    policy_id          TEXT COLLATE "C" NOT NULL UNIQUE,
    arn                TEXT COLLATE "C" NOT NULL UNIQUE,
    path               TEXT NOT NULL,
    description        TEXT,
    default_version_id TEXT COLLATE "C" NOT NULL,
    created            BIGINT NOT NULL,
    updated            BIGINT NOT NULL,
    UNIQUE (account, policy_name_lower)
);

-- `seq` keeps the versions in the order they were added.
CREATE TABLE managed_policy_versions (
    policy_id  BIGINT NOT NULL REFERENCES managed_policies (id) ON DELETE CASCADE,
    version_id TEXT COLLATE "C" NOT NULL,
    seq        BIGINT NOT NULL,
    document   TEXT NOT NULL,
    created    BIGINT NOT NULL,
    PRIMARY KEY (policy_id, version_id),
    UNIQUE (policy_id, seq)
);

CREATE TABLE inline_policies (
    account         TEXT COLLATE "C" NOT NULL,
    kind            TEXT COLLATE "C" NOT NULL CHECK (kind IN ('user', 'role', 'group')),
    principal_lower TEXT COLLATE "C" NOT NULL,
    policy_name     TEXT COLLATE "C" NOT NULL,
    document        TEXT NOT NULL,
    PRIMARY KEY (account, kind, principal_lower, policy_name)
);

CREATE TABLE policy_attachments (
    account         TEXT COLLATE "C" NOT NULL,
    kind            TEXT COLLATE "C" NOT NULL CHECK (kind IN ('user', 'role', 'group')),
    principal_lower TEXT COLLATE "C" NOT NULL,
    policy_arn      TEXT COLLATE "C" NOT NULL REFERENCES managed_policies (arn),
    PRIMARY KEY (account, kind, principal_lower, policy_arn)
);

CREATE INDEX policy_attachments_by_policy ON policy_attachments (policy_arn);

-- The access keys of a user, found by name as IAM compares names (ASCII case folding: the
-- column's collation is "C").
CREATE INDEX access_keys_by_user
    ON access_keys (account, lower(user_name))
    WHERE user_name IS NOT NULL;

-- What makes an access key temporary; it goes when its key goes.
CREATE TABLE sessions (
    access_key_id  TEXT COLLATE "C" PRIMARY KEY
                   REFERENCES access_keys (access_key_id) ON DELETE CASCADE,
    token_digest   BYTEA NOT NULL,
    expires        BIGINT NOT NULL,
    role_name      TEXT NOT NULL,
    role_id        TEXT NOT NULL,
    role_arn       TEXT NOT NULL,
    session_name   TEXT NOT NULL,
    session_policy TEXT
);

CREATE INDEX sessions_by_expiry ON sessions (expires);

-- The audit chain. The lookup indexes lead with the account (every lookup names one) and end
-- with `seq`, so a filtered, newest-first page is one backwards index range scan.
CREATE TABLE audit_records (
    seq            BIGINT PRIMARY KEY CHECK (seq > 0),
    prev_hash      BYTEA NOT NULL,
    hash           BYTEA NOT NULL,
    mac            BYTEA NOT NULL,
    event_json     TEXT NOT NULL,
    event_time     BIGINT NOT NULL,
    event_id       TEXT COLLATE "C" NOT NULL,
    event_name     TEXT COLLATE "C" NOT NULL,
    event_source   TEXT COLLATE "C" NOT NULL,
    account        TEXT COLLATE "C",
    read_only      BOOLEAN NOT NULL,
    username       TEXT COLLATE "C",
    access_key_id  TEXT COLLATE "C",
    resources_json TEXT NOT NULL
);

CREATE INDEX audit_by_account ON audit_records (account, seq);
CREATE INDEX audit_by_event_name ON audit_records (account, event_name, seq);
CREATE INDEX audit_by_event_id ON audit_records (event_id);
CREATE INDEX audit_by_username ON audit_records (account, username, seq);
CREATE INDEX audit_by_access_key ON audit_records (account, access_key_id, seq);
CREATE INDEX audit_by_event_time ON audit_records (account, event_time);

-- The resources of each record, one row per distinct (type, name), for lookups by resource.
CREATE TABLE audit_resources (
    seq  BIGINT NOT NULL REFERENCES audit_records (seq) ON DELETE CASCADE,
    type TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (seq, type, name)
);

CREATE INDEX audit_resources_by_type ON audit_resources (type);
CREATE INDEX audit_resources_by_name ON audit_resources (name);

CREATE TABLE audit_checkpoints (
    seq       BIGINT PRIMARY KEY CHECK (seq >= 0),
    hash      BYTEA NOT NULL,
    time      BIGINT NOT NULL,
    signature BYTEA NOT NULL
);
"#;

/// `ListSecrets` in every order it offers pages through an index instead of sorting the
/// whole scope per page (the name order has `secrets_by_page`).
const MIGRATION_2: &str = r#"
CREATE INDEX secrets_by_created ON secrets (account, region, created, arn);
CREATE INDEX secrets_by_last_changed ON secrets (account, region, last_changed, arn);
CREATE INDEX secrets_by_last_accessed ON secrets
    (account, region, (COALESCE(last_accessed, -1)), arn);
"#;

/// The labelled versions of a secret (two or three) without passing over its deprecated ones
/// (AWS keeps every version for a day: a secret written often has hundreds).
const MIGRATION_3: &str = r#"
CREATE INDEX secret_versions_labelled ON secret_versions (secret_id, seq)
    INCLUDE (version_id, stages_json, created, last_accessed, value_digest, kms_key_id)
    WHERE stages_json <> '[]';
"#;

/// The versions a write may prune (those without a staging label), oldest first: a put finds
/// its few candidates with one short probe instead of passing over every version the secret
/// keeps (a secret written often keeps hundreds younger than a day).
const MIGRATION_4: &str = r#"
CREATE INDEX secret_versions_unlabelled ON secret_versions (secret_id, created, seq)
    WHERE stages_json = '[]';
"#;

/// The AI gateway, as SQLite's migration 10: routes, gateway keys, price overrides, and the
/// budget and rate ledgers. [`crate::sql::gateway`] locks a call's ledger rows (`FOR UPDATE`,
/// in one order) before it reads them, so nodes admitting calls at once share one budget.
const MIGRATION_5: &str = r#"
CREATE TABLE gateway_routes (
    account     TEXT COLLATE "C" NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    region      TEXT COLLATE "C" NOT NULL,
    arn         TEXT COLLATE "C" NOT NULL UNIQUE,
    provider    TEXT COLLATE "C" NOT NULL CHECK (provider IN ('openai', 'anthropic')),
    secret_id   TEXT COLLATE "C" NOT NULL,
    base_url    TEXT NOT NULL,
    allow_http  BOOLEAN NOT NULL,
    ca_pem      TEXT,
    description TEXT,
    created     BIGINT NOT NULL,
    updated     BIGINT NOT NULL,
    PRIMARY KEY (account, name)
);

CREATE TABLE gateway_keys (
    key_id           TEXT COLLATE "C" PRIMARY KEY,
    account          TEXT COLLATE "C" NOT NULL,
    region           TEXT COLLATE "C" NOT NULL,
    mac              BYTEA NOT NULL UNIQUE,
    principal_kind   TEXT COLLATE "C" NOT NULL CHECK (principal_kind IN ('user', 'role')),
    principal_name   TEXT COLLATE "C" NOT NULL,
    principal_lower  TEXT COLLATE "C" NOT NULL,
    routes_json      TEXT NOT NULL,
    models_json      TEXT NOT NULL,
    budget_micro_usd BIGINT CHECK (budget_micro_usd >= 0),
    budget_period    TEXT COLLATE "C" NOT NULL
                     CHECK (budget_period IN ('day', 'week', 'month', 'total')),
    rpm              BIGINT CHECK (rpm >= 0),
    tpm              BIGINT CHECK (tpm >= 0),
    expires          BIGINT,
    status           TEXT COLLATE "C" NOT NULL CHECK (status IN ('Active', 'Inactive')),
    description      TEXT,
    created          BIGINT NOT NULL
);

CREATE INDEX gateway_keys_by_account ON gateway_keys (account, key_id);
CREATE INDEX gateway_keys_by_principal
    ON gateway_keys (account, principal_kind, principal_lower, key_id);

CREATE TABLE gateway_prices (
    account                     TEXT COLLATE "C" NOT NULL,
    model                       TEXT COLLATE "C" NOT NULL,
    input_micro_per_mtok        BIGINT NOT NULL CHECK (input_micro_per_mtok >= 0),
    output_micro_per_mtok       BIGINT NOT NULL CHECK (output_micro_per_mtok >= 0),
    cached_input_micro_per_mtok BIGINT CHECK (cached_input_micro_per_mtok >= 0),
    updated                     BIGINT NOT NULL,
    PRIMARY KEY (account, model)
);

CREATE TABLE gateway_ledger (
    scope           TEXT COLLATE "C" NOT NULL,
    period_start    BIGINT NOT NULL,
    spent_micro_usd BIGINT NOT NULL,
    requests        BIGINT NOT NULL,
    input_tokens    BIGINT NOT NULL,
    output_tokens   BIGINT NOT NULL,
    PRIMARY KEY (scope, period_start)
);

CREATE TABLE gateway_holds (
    hold_id          TEXT COLLATE "C" NOT NULL,
    scope            TEXT COLLATE "C" NOT NULL,
    period_start     BIGINT NOT NULL,
    amount_micro_usd BIGINT NOT NULL CHECK (amount_micro_usd >= 0),
    lease_until      BIGINT NOT NULL,
    PRIMARY KEY (hold_id, scope)
);

CREATE INDEX gateway_holds_by_scope
    ON gateway_holds (scope, period_start, lease_until) INCLUDE (amount_micro_usd);

-- A USD budget for every gateway call of one user or role, over all its keys.
CREATE TABLE gateway_principal_budgets (
    account          TEXT COLLATE "C" NOT NULL,
    principal_kind   TEXT COLLATE "C" NOT NULL CHECK (principal_kind IN ('user', 'role')),
    principal_lower  TEXT COLLATE "C" NOT NULL,
    principal_name   TEXT COLLATE "C" NOT NULL,
    budget_micro_usd BIGINT NOT NULL CHECK (budget_micro_usd >= 0),
    budget_period    TEXT COLLATE "C" NOT NULL CHECK (budget_period IN ('day', 'week', 'month', 'total')),
    updated          BIGINT NOT NULL,
    PRIMARY KEY (account, principal_kind, principal_lower)
);

CREATE TABLE gateway_settled (
    hold_id    TEXT COLLATE "C" PRIMARY KEY,
    settled_at BIGINT NOT NULL
);

CREATE INDEX gateway_settled_by_time ON gateway_settled (settled_at);

CREATE TABLE gateway_rate (
    key_id       TEXT COLLATE "C" NOT NULL,
    window_start BIGINT NOT NULL,
    requests     BIGINT NOT NULL,
    tokens       BIGINT NOT NULL,
    PRIMARY KEY (key_id, window_start)
);
"#;

/// Rotation, as SQLite's migration 11: the registered rotators and their logs (the newest
/// 500 of each rotator kept, in the order appended), and the partial index through which the
/// scheduler finds the secrets with a rotation. [`crate::sql::rotation`] locks a rotator's row
/// (`FOR UPDATE`) before it appends to its log, so appends from several nodes keep the cap.
const MIGRATION_6: &str = r#"
CREATE TABLE rotators (
    account       TEXT COLLATE "C" NOT NULL,
    region        TEXT COLLATE "C" NOT NULL,
    name          TEXT COLLATE "C" NOT NULL,
    arn           TEXT COLLATE "C" NOT NULL UNIQUE,
    kind          TEXT COLLATE "C" NOT NULL,
    config_json   TEXT NOT NULL,
    sealed_secret BYTEA,
    created       BIGINT NOT NULL,
    PRIMARY KEY (account, region, name)
);

CREATE TABLE rotator_logs (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account     TEXT COLLATE "C" NOT NULL,
    rotator_arn TEXT COLLATE "C" NOT NULL,
    secret_arn  TEXT COLLATE "C" NOT NULL,
    version_id  TEXT COLLATE "C" NOT NULL,
    step        TEXT COLLATE "C" NOT NULL,
    time        BIGINT NOT NULL,
    outcome     TEXT COLLATE "C" NOT NULL,
    summary     TEXT NOT NULL,
    duration_ms BIGINT NOT NULL CHECK (duration_ms >= 0),
    stdout      BYTEA NOT NULL,
    stderr      BYTEA NOT NULL
);

CREATE INDEX rotator_logs_by_rotator ON rotator_logs (rotator_arn, id);

CREATE INDEX secrets_rotating ON secrets (arn)
    WHERE rotation IS NOT NULL AND deleted_date IS NULL;
"#;

/// KMS key management, as SQLite's migration of that name (see [`crate::KmsStore`]): a key's state, deletion date, manager, key
/// policy, tags and rotation settings as columns of its row; each version's creation date and
/// origin; aliases in their own table (many per key, a name unique in its scope, gone with
/// their key). The aliases `kms_keys.alias` held move there and the column is left empty: the
/// alias table is the only place an alias lives. The `alias/aws/…` keys are AWS managed.
const MIGRATION_KMS_KEYS: &str = r#"
ALTER TABLE kms_keys ADD COLUMN key_state TEXT NOT NULL DEFAULT 'Enabled'
    CHECK (key_state IN ('Enabled', 'Disabled', 'PendingDeletion'));
ALTER TABLE kms_keys ADD COLUMN deletion_date BIGINT;
ALTER TABLE kms_keys ADD COLUMN key_manager TEXT NOT NULL DEFAULT 'CUSTOMER'
    CHECK (key_manager IN ('AWS', 'CUSTOMER'));
ALTER TABLE kms_keys ADD COLUMN policy TEXT;
ALTER TABLE kms_keys ADD COLUMN tags_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE kms_keys ADD COLUMN rotation_enabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE kms_keys ADD COLUMN rotation_period_days BIGINT NOT NULL DEFAULT 365;
ALTER TABLE kms_keys ADD COLUMN next_rotation BIGINT;

ALTER TABLE kms_key_versions ADD COLUMN created BIGINT NOT NULL DEFAULT 0;
ALTER TABLE kms_key_versions ADD COLUMN origin TEXT NOT NULL DEFAULT 'CREATED'
    CHECK (origin IN ('CREATED', 'AUTOMATIC', 'ON_DEMAND'));
UPDATE kms_key_versions SET created = (SELECT created FROM kms_keys k WHERE k.key_id = kms_key_versions.key_id);

CREATE TABLE kms_aliases (
    account TEXT COLLATE "C" NOT NULL,
    region  TEXT COLLATE "C" NOT NULL,
    name    TEXT COLLATE "C" NOT NULL,
    key_id  TEXT COLLATE "C" NOT NULL REFERENCES kms_keys (key_id) ON DELETE CASCADE,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    PRIMARY KEY (account, region, name)
);

CREATE INDEX kms_aliases_by_key ON kms_aliases (key_id);

INSERT INTO kms_aliases (account, region, name, key_id, created, updated)
    SELECT account, region, alias, key_id, created, created FROM kms_keys WHERE alias IS NOT NULL;
UPDATE kms_keys SET key_manager = 'AWS' WHERE alias LIKE 'alias/aws/%';
UPDATE kms_keys SET alias = NULL;
"#;

/// Replication (issue 18): a secret's replication state, opaque JSON the core writes (on a
/// primary its replicas and their status, on a replica its primary's region).
const MIGRATION_REPLICATION: &str = r#"
ALTER TABLE secrets ADD COLUMN replication TEXT;
"#;

/// The schema version of the database: the number of migrations applied (0 for none).
pub(super) fn current_version(conn: &mut Conn) -> Result<i64> {
    let exists: bool = conn
        .query_one(
            "SELECT to_regclass('tresor_schema_migrations') IS NOT NULL",
            &[],
        )?
        .try_get(0)?;
    if !exists {
        return Ok(0);
    }
    Ok(conn
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM tresor_schema_migrations",
            &[],
        )?
        .try_get(0)?)
}

/// Bring the schema up to [`LATEST`]; a no-op when it is already there.
pub(super) fn migrate(conn: &mut Conn) -> Result<()> {
    conn.begin("BEGIN ISOLATION LEVEL READ COMMITTED")?;
    let out = migrate_locked(conn);
    match out {
        Ok(()) => conn.commit(),
        Err(e) => {
            let _ = conn.rollback();
            Err(e)
        }
    }
}

fn migrate_locked(conn: &mut Conn) -> Result<()> {
    conn.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    let current = current_version(conn)?;
    if current > LATEST {
        return Err(StoreError::Backend(format!(
            "the database schema is version {current}, newer than this build's version {LATEST}"
        )));
    }
    if current == LATEST {
        return Ok(());
    }
    if current == 0 {
        let tables: i64 = conn
            .query_one(
                "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema()",
                &[],
            )?
            .try_get(0)?;
        let marked: bool = conn
            .query_one(
                "SELECT to_regclass('tresor_schema_migrations') IS NOT NULL",
                &[],
            )?
            .try_get(0)?;
        if tables != 0 && !marked {
            return Err(StoreError::Backend(
                "the database schema holds tables of another application".to_owned(),
            ));
        }
        conn.batch(
            "CREATE TABLE IF NOT EXISTS tresor_schema_migrations (
                 version BIGINT PRIMARY KEY,
                 applied TIMESTAMPTZ NOT NULL DEFAULT now()
             )",
        )?;
    }
    let pending = usize::try_from(current).unwrap_or(0);
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(pending) {
        conn.batch(sql)?;
        let version = i64::try_from(index + 1).unwrap_or(i64::MAX);
        conn.execute(
            "INSERT INTO tresor_schema_migrations (version) VALUES ($1)",
            &[&version],
        )?;
        tracing::info!(version, "applied store schema migration");
    }
    Ok(())
}
