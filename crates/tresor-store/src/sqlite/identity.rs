//! Identities (IAM users and roles), their policies, and STS sessions.
//!
//! User, role and managed-policy names are unique per account case-insensitively: each row keeps
//! the name as given and its ASCII-lowercased form, which carries the uniqueness constraint and
//! serves every lookup by name. Inline policies and attachments name their principal by that
//! lowercased form, so they follow the principal whatever case a caller spells it in. An access
//! key names its user as given; it is matched with `COLLATE NOCASE` (ASCII folding, the same).

use std::collections::{HashMap, HashSet};

use rusqlite::{params, Connection, OptionalExtension, Row};
use tresor_types::{AccountId, Timestamp};

use super::{keys, millis, parse_account, SqliteStore};
use crate::codec::{tags_from_json, tags_to_json};
use crate::{
    AccessKeyRecord, AccessKeyStatus, IdentityStore, ManagedPolicyRecord, PolicyVersionRecord,
    PrincipalKind, PrincipalName, PrincipalPolicies, Result, RoleRecord, SessionRecord, StoreError,
    Tag, UserRecord,
};

/// The form of a name that uniqueness and lookups use. IAM names are ASCII, and SQLite's
/// `NOCASE` folds ASCII only, so both sides fold the same way.
fn fold(name: &str) -> String {
    name.to_ascii_lowercase()
}

fn count(n: i64) -> usize {
    usize::try_from(n).unwrap_or(0)
}

// ---- users ----

macro_rules! user_columns {
    () => {
        "account, user_name, user_id, arn, path, tags_json, created"
    };
}

struct UserRow {
    account: String,
    user_name: String,
    user_id: String,
    arn: String,
    path: String,
    tags_json: String,
    created: i64,
}

impl UserRow {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            account: row.get(0)?,
            user_name: row.get(1)?,
            user_id: row.get(2)?,
            arn: row.get(3)?,
            path: row.get(4)?,
            tags_json: row.get(5)?,
            created: row.get(6)?,
        })
    }

    fn into_record(self) -> Result<UserRecord> {
        Ok(UserRecord {
            account: parse_account(&self.account)?,
            user_name: self.user_name,
            user_id: self.user_id,
            arn: self.arn,
            path: self.path,
            tags: tags_from_json(&self.tags_json)?,
            created: Timestamp(self.created),
        })
    }
}

fn user_exists(conn: &Connection, account: &AccountId, user_name: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM users WHERE account = ?1 AND user_name_lower = ?2")?
        .exists(params![account.as_str(), fold(user_name)])?)
}

fn create_user(conn: &Connection, user: &UserRecord) -> Result<()> {
    let taken = conn
        .prepare_cached(
            "SELECT 1 FROM users
             WHERE (account = ?1 AND user_name_lower = ?2) OR user_id = ?3 OR arn = ?4",
        )?
        .exists(params![
            user.account.as_str(),
            fold(&user.user_name),
            user.user_id,
            user.arn
        ])?;
    if taken {
        return Err(StoreError::Conflict);
    }
    conn.prepare_cached(
        "INSERT INTO users (account, user_name, user_name_lower, user_id, arn, path, tags_json,
             created)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        user.account.as_str(),
        user.user_name,
        fold(&user.user_name),
        user.user_id,
        user.arn,
        user.path,
        tags_to_json(&user.tags)?,
        millis(user.created),
    ])?;
    Ok(())
}

fn get_user(conn: &Connection, account: &AccountId, user_name: &str) -> Result<Option<UserRecord>> {
    conn.prepare_cached(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE account = ?1 AND user_name_lower = ?2"
    ))?
    .query_row(
        params![account.as_str(), fold(user_name)],
        UserRow::from_row,
    )
    .optional()?
    .map(UserRow::into_record)
    .transpose()
}

fn list_users(conn: &Connection, account: &AccountId) -> Result<Vec<UserRecord>> {
    conn.prepare_cached(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE account = ?1 ORDER BY user_name"
    ))?
    .query_map([account.as_str()], UserRow::from_row)?
    .collect::<rusqlite::Result<Vec<_>>>()?
    .into_iter()
    .map(UserRow::into_record)
    .collect()
}

fn set_user_tags(
    conn: &Connection,
    account: &AccountId,
    user_name: &str,
    tags: &[Tag],
) -> Result<()> {
    let changed = conn
        .prepare_cached(
            "UPDATE users SET tags_json = ?1 WHERE account = ?2 AND user_name_lower = ?3",
        )?
        .execute(params![
            tags_to_json(tags)?,
            account.as_str(),
            fold(user_name)
        ])?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Whether a principal still has inline or attached policies.
fn has_policies(
    conn: &Connection,
    account: &AccountId,
    kind: PrincipalKind,
    lower: &str,
) -> Result<bool> {
    let args = params![account.as_str(), kind.as_str(), lower];
    let inline = conn
        .prepare_cached(
            "SELECT 1 FROM inline_policies
             WHERE account = ?1 AND kind = ?2 AND principal_lower = ?3",
        )?
        .exists(args)?;
    let attached = conn
        .prepare_cached(
            "SELECT 1 FROM policy_attachments
             WHERE account = ?1 AND kind = ?2 AND principal_lower = ?3",
        )?
        .exists(args)?;
    Ok(inline || attached)
}

fn delete_user(conn: &Connection, account: &AccountId, user_name: &str) -> Result<()> {
    let lower = fold(user_name);
    if !user_exists(conn, account, user_name)? {
        return Err(StoreError::NotFound);
    }
    let has_keys = conn
        .prepare_cached(
            "SELECT 1 FROM access_keys WHERE account = ?1 AND user_name = ?2 COLLATE NOCASE",
        )?
        .exists(params![account.as_str(), user_name])?;
    if has_keys || has_policies(conn, account, PrincipalKind::User, &lower)? {
        return Err(StoreError::Conflict);
    }
    conn.prepare_cached("DELETE FROM users WHERE account = ?1 AND user_name_lower = ?2")?
        .execute(params![account.as_str(), lower])?;
    Ok(())
}

// ---- access keys and sessions ----

fn list_user_access_keys(
    conn: &Connection,
    account: &AccountId,
    user_name: &str,
) -> Result<Vec<AccessKeyRecord>> {
    if !user_exists(conn, account, user_name)? {
        return Err(StoreError::NotFound);
    }
    let ids = conn
        .prepare_cached(
            "SELECT access_key_id FROM access_keys
             WHERE account = ?1 AND user_name = ?2 COLLATE NOCASE
               AND access_key_id NOT IN (SELECT access_key_id FROM sessions)
             ORDER BY created, access_key_id",
        )?
        .query_map(params![account.as_str(), user_name], |row| {
            row.get::<_, String>(0)
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut keys = Vec::with_capacity(ids.len());
    for id in ids {
        // Same read transaction: the key cannot have gone in between.
        keys.push(keys::get_access_key(conn, &id)?.ok_or(StoreError::NotFound)?);
    }
    Ok(keys)
}

fn set_access_key_status(
    conn: &Connection,
    access_key_id: &str,
    status: AccessKeyStatus,
) -> Result<()> {
    let changed = conn
        .prepare_cached("UPDATE access_keys SET status = ?1 WHERE access_key_id = ?2")?
        .execute(params![status.as_str(), access_key_id])?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

fn delete_access_key(conn: &Connection, access_key_id: &str) -> Result<()> {
    // The foreign key cascades too; deleting the session explicitly does not depend on it.
    conn.prepare_cached("DELETE FROM sessions WHERE access_key_id = ?1")?
        .execute([access_key_id])?;
    let deleted = conn
        .prepare_cached("DELETE FROM access_keys WHERE access_key_id = ?1")?
        .execute([access_key_id])?;
    if deleted == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

fn put_session_key(
    conn: &Connection,
    key: &AccessKeyRecord,
    session: &SessionRecord,
) -> Result<()> {
    keys::put_access_key(conn, key)?;
    conn.prepare_cached(
        "INSERT INTO sessions (access_key_id, token_digest, expires, role_name, role_id,
             role_arn, session_name, session_policy)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        key.access_key_id,
        session.token_digest,
        millis(session.expires),
        session.role_name,
        session.role_id,
        session.role_arn,
        session.session_name,
        session.session_policy,
    ])?;
    Ok(())
}

fn get_session(conn: &Connection, access_key_id: &str) -> Result<Option<SessionRecord>> {
    Ok(conn
        .prepare_cached(
            "SELECT token_digest, expires, role_name, role_id, role_arn, session_name,
                 session_policy
             FROM sessions WHERE access_key_id = ?1",
        )?
        .query_row([access_key_id], |row| {
            Ok(SessionRecord {
                token_digest: row.get(0)?,
                expires: Timestamp(row.get(1)?),
                role_name: row.get(2)?,
                role_id: row.get(3)?,
                role_arn: row.get(4)?,
                session_name: row.get(5)?,
                session_policy: row.get(6)?,
            })
        })
        .optional()?)
}

fn purge_expired_sessions(conn: &Connection, now: Timestamp) -> Result<usize> {
    let purged = conn
        .prepare_cached(
            "DELETE FROM access_keys WHERE access_key_id IN
                 (SELECT access_key_id FROM sessions WHERE expires <= ?1)",
        )?
        .execute([millis(now)])?;
    // Nothing is left here when the foreign key cascaded; this does not depend on it.
    conn.prepare_cached("DELETE FROM sessions WHERE expires <= ?1")?
        .execute([millis(now)])?;
    Ok(purged)
}

// ---- roles ----

macro_rules! role_columns {
    () => {
        "account, role_name, role_id, arn, path, description, assume_role_policy, \
         max_session_duration, tags_json, created"
    };
}

struct RoleRow {
    account: String,
    role_name: String,
    role_id: String,
    arn: String,
    path: String,
    description: Option<String>,
    assume_role_policy: String,
    max_session_duration: i64,
    tags_json: String,
    created: i64,
}

impl RoleRow {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            account: row.get(0)?,
            role_name: row.get(1)?,
            role_id: row.get(2)?,
            arn: row.get(3)?,
            path: row.get(4)?,
            description: row.get(5)?,
            assume_role_policy: row.get(6)?,
            max_session_duration: row.get(7)?,
            tags_json: row.get(8)?,
            created: row.get(9)?,
        })
    }

    fn into_record(self) -> Result<RoleRecord> {
        Ok(RoleRecord {
            account: parse_account(&self.account)?,
            role_name: self.role_name,
            role_id: self.role_id,
            arn: self.arn,
            path: self.path,
            description: self.description,
            assume_role_policy: self.assume_role_policy,
            max_session_duration: self.max_session_duration,
            tags: tags_from_json(&self.tags_json)?,
            created: Timestamp(self.created),
        })
    }
}

fn role_exists(conn: &Connection, account: &AccountId, role_name: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM roles WHERE account = ?1 AND role_name_lower = ?2")?
        .exists(params![account.as_str(), fold(role_name)])?)
}

fn create_role(conn: &Connection, role: &RoleRecord) -> Result<()> {
    let taken = conn
        .prepare_cached(
            "SELECT 1 FROM roles
             WHERE (account = ?1 AND role_name_lower = ?2) OR role_id = ?3 OR arn = ?4",
        )?
        .exists(params![
            role.account.as_str(),
            fold(&role.role_name),
            role.role_id,
            role.arn
        ])?;
    if taken {
        return Err(StoreError::Conflict);
    }
    conn.prepare_cached(
        "INSERT INTO roles (account, role_name, role_name_lower, role_id, arn, path, description,
             assume_role_policy, max_session_duration, tags_json, created)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        role.account.as_str(),
        role.role_name,
        fold(&role.role_name),
        role.role_id,
        role.arn,
        role.path,
        role.description,
        role.assume_role_policy,
        role.max_session_duration,
        tags_to_json(&role.tags)?,
        millis(role.created),
    ])?;
    Ok(())
}

fn get_role(conn: &Connection, account: &AccountId, role_name: &str) -> Result<Option<RoleRecord>> {
    conn.prepare_cached(concat!(
        "SELECT ",
        role_columns!(),
        " FROM roles WHERE account = ?1 AND role_name_lower = ?2"
    ))?
    .query_row(
        params![account.as_str(), fold(role_name)],
        RoleRow::from_row,
    )
    .optional()?
    .map(RoleRow::into_record)
    .transpose()
}

fn list_roles(conn: &Connection, account: &AccountId) -> Result<Vec<RoleRecord>> {
    conn.prepare_cached(concat!(
        "SELECT ",
        role_columns!(),
        " FROM roles WHERE account = ?1 ORDER BY role_name"
    ))?
    .query_map([account.as_str()], RoleRow::from_row)?
    .collect::<rusqlite::Result<Vec<_>>>()?
    .into_iter()
    .map(RoleRow::into_record)
    .collect()
}

fn update_role_trust_policy(
    conn: &Connection,
    account: &AccountId,
    role_name: &str,
    document: &str,
) -> Result<()> {
    let changed = conn
        .prepare_cached(
            "UPDATE roles SET assume_role_policy = ?1 WHERE account = ?2 AND role_name_lower = ?3",
        )?
        .execute(params![document, account.as_str(), fold(role_name)])?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

fn delete_role(conn: &Connection, account: &AccountId, role_name: &str) -> Result<()> {
    let lower = fold(role_name);
    if !role_exists(conn, account, role_name)? {
        return Err(StoreError::NotFound);
    }
    if has_policies(conn, account, PrincipalKind::Role, &lower)? {
        return Err(StoreError::Conflict);
    }
    conn.prepare_cached("DELETE FROM roles WHERE account = ?1 AND role_name_lower = ?2")?
        .execute(params![account.as_str(), lower])?;
    Ok(())
}

// ---- inline policies ----

fn principal_exists(conn: &Connection, owner: &PrincipalName) -> Result<bool> {
    match owner.kind {
        PrincipalKind::User => user_exists(conn, &owner.account, &owner.name),
        PrincipalKind::Role => role_exists(conn, &owner.account, &owner.name),
        // Groups are not stored.
        PrincipalKind::Group => Ok(false),
    }
}

fn require_principal(conn: &Connection, owner: &PrincipalName) -> Result<()> {
    if principal_exists(conn, owner)? {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

fn put_inline_policy(
    conn: &Connection,
    owner: &PrincipalName,
    policy_name: &str,
    document: &str,
) -> Result<()> {
    require_principal(conn, owner)?;
    conn.prepare_cached(
        "INSERT INTO inline_policies (account, kind, principal_lower, policy_name, document)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (account, kind, principal_lower, policy_name)
         DO UPDATE SET document = excluded.document",
    )?
    .execute(params![
        owner.account.as_str(),
        owner.kind.as_str(),
        fold(&owner.name),
        policy_name,
        document
    ])?;
    Ok(())
}

fn get_inline_policy(
    conn: &Connection,
    owner: &PrincipalName,
    policy_name: &str,
) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT document FROM inline_policies
             WHERE account = ?1 AND kind = ?2 AND principal_lower = ?3 AND policy_name = ?4",
        )?
        .query_row(
            params![
                owner.account.as_str(),
                owner.kind.as_str(),
                fold(&owner.name),
                policy_name
            ],
            |row| row.get(0),
        )
        .optional()?)
}

fn list_inline_policies(conn: &Connection, owner: &PrincipalName) -> Result<Vec<String>> {
    require_principal(conn, owner)?;
    Ok(conn
        .prepare_cached(
            "SELECT policy_name FROM inline_policies
             WHERE account = ?1 AND kind = ?2 AND principal_lower = ?3
             ORDER BY policy_name",
        )?
        .query_map(
            params![
                owner.account.as_str(),
                owner.kind.as_str(),
                fold(&owner.name)
            ],
            |row| row.get(0),
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

fn delete_inline_policy(conn: &Connection, owner: &PrincipalName, policy_name: &str) -> Result<()> {
    let deleted = conn
        .prepare_cached(
            "DELETE FROM inline_policies
             WHERE account = ?1 AND kind = ?2 AND principal_lower = ?3 AND policy_name = ?4",
        )?
        .execute(params![
            owner.account.as_str(),
            owner.kind.as_str(),
            fold(&owner.name),
            policy_name
        ])?;
    if deleted == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

// ---- managed policies ----

macro_rules! policy_columns {
    () => {
        "id, account, policy_name, policy_id, arn, path, description, default_version_id, \
         created, updated"
    };
}

struct PolicyRow {
    id: i64,
    account: String,
    policy_name: String,
    policy_id: String,
    arn: String,
    path: String,
    description: Option<String>,
    default_version_id: String,
    created: i64,
    updated: i64,
}

impl PolicyRow {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            account: row.get(1)?,
            policy_name: row.get(2)?,
            policy_id: row.get(3)?,
            arn: row.get(4)?,
            path: row.get(5)?,
            description: row.get(6)?,
            default_version_id: row.get(7)?,
            created: row.get(8)?,
            updated: row.get(9)?,
        })
    }

    fn into_record(self, versions: Vec<PolicyVersionRecord>) -> Result<ManagedPolicyRecord> {
        Ok(ManagedPolicyRecord {
            account: parse_account(&self.account)?,
            policy_name: self.policy_name,
            policy_id: self.policy_id,
            arn: self.arn,
            path: self.path,
            description: self.description,
            default_version_id: self.default_version_id,
            versions,
            created: Timestamp(self.created),
            updated: Timestamp(self.updated),
        })
    }
}

fn version_from_row(row: &Row<'_>) -> rusqlite::Result<PolicyVersionRecord> {
    Ok(PolicyVersionRecord {
        version_id: row.get(0)?,
        document: row.get(1)?,
        created: Timestamp(row.get(2)?),
    })
}

fn insert_policy_version(
    conn: &Connection,
    policy_row_id: i64,
    seq: i64,
    version: &PolicyVersionRecord,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO managed_policy_versions (policy_id, version_id, seq, document, created)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        policy_row_id,
        version.version_id,
        seq,
        version.document,
        millis(version.created),
    ])?;
    Ok(())
}

fn create_managed_policy(conn: &Connection, policy: &ManagedPolicyRecord) -> Result<()> {
    let mut ids = HashSet::new();
    let distinct = policy
        .versions
        .iter()
        .all(|v| ids.insert(v.version_id.as_str()));
    if !distinct || !ids.contains(policy.default_version_id.as_str()) {
        return Err(StoreError::Backend(
            "create_managed_policy: the versions must have distinct ids and include the default"
                .to_owned(),
        ));
    }
    let taken = conn
        .prepare_cached(
            "SELECT 1 FROM managed_policies
             WHERE (account = ?1 AND policy_name_lower = ?2) OR arn = ?3 OR policy_id = ?4",
        )?
        .exists(params![
            policy.account.as_str(),
            fold(&policy.policy_name),
            policy.arn,
            policy.policy_id
        ])?;
    if taken {
        return Err(StoreError::Conflict);
    }
    conn.prepare_cached(
        "INSERT INTO managed_policies (account, policy_name, policy_name_lower, policy_id, arn,
             path, description, default_version_id, created, updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        policy.account.as_str(),
        policy.policy_name,
        fold(&policy.policy_name),
        policy.policy_id,
        policy.arn,
        policy.path,
        policy.description,
        policy.default_version_id,
        millis(policy.created),
        millis(policy.updated),
    ])?;
    let id = conn.last_insert_rowid();
    for (seq, version) in (1..).zip(&policy.versions) {
        insert_policy_version(conn, id, seq, version)?;
    }
    Ok(())
}

fn load_policy_row(conn: &Connection, arn: &str) -> Result<Option<PolicyRow>> {
    Ok(conn
        .prepare_cached(concat!(
            "SELECT ",
            policy_columns!(),
            " FROM managed_policies WHERE arn = ?1"
        ))?
        .query_row([arn], PolicyRow::from_row)
        .optional()?)
}

fn policy_row_id(conn: &Connection, arn: &str) -> Result<i64> {
    conn.prepare_cached("SELECT id FROM managed_policies WHERE arn = ?1")?
        .query_row([arn], |row| row.get(0))
        .optional()?
        .ok_or(StoreError::NotFound)
}

fn get_managed_policy(conn: &Connection, arn: &str) -> Result<Option<ManagedPolicyRecord>> {
    let Some(row) = load_policy_row(conn, arn)? else {
        return Ok(None);
    };
    let versions = conn
        .prepare_cached(
            "SELECT version_id, document, created FROM managed_policy_versions
             WHERE policy_id = ?1 ORDER BY seq",
        )?
        .query_map([row.id], version_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    row.into_record(versions).map(Some)
}

fn list_managed_policies(
    conn: &Connection,
    account: &AccountId,
) -> Result<Vec<ManagedPolicyRecord>> {
    let rows = conn
        .prepare_cached(concat!(
            "SELECT ",
            policy_columns!(),
            " FROM managed_policies WHERE account = ?1 ORDER BY policy_name, arn"
        ))?
        .query_map([account.as_str()], PolicyRow::from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut versions: HashMap<i64, Vec<PolicyVersionRecord>> = HashMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT v.policy_id, v.version_id, v.document, v.created
         FROM managed_policy_versions v JOIN managed_policies p ON p.id = v.policy_id
         WHERE p.account = ?1 ORDER BY v.policy_id, v.seq",
    )?;
    let version_rows = stmt.query_map([account.as_str()], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            PolicyVersionRecord {
                version_id: row.get(1)?,
                document: row.get(2)?,
                created: Timestamp(row.get(3)?),
            },
        ))
    })?;
    for row in version_rows {
        let (id, version) = row?;
        versions.entry(id).or_default().push(version);
    }
    rows.into_iter()
        .map(|row| {
            let own = versions.remove(&row.id).unwrap_or_default();
            row.into_record(own)
        })
        .collect()
}

fn version_exists(conn: &Connection, policy_row_id: i64, version_id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM managed_policy_versions WHERE policy_id = ?1 AND version_id = ?2",
        )?
        .exists(params![policy_row_id, version_id])?)
}

fn add_policy_version(
    conn: &Connection,
    arn: &str,
    version: &PolicyVersionRecord,
    set_as_default: bool,
) -> Result<()> {
    let id = policy_row_id(conn, arn)?;
    if version_exists(conn, id, &version.version_id)? {
        return Err(StoreError::Conflict);
    }
    let seq: i64 = conn
        .prepare_cached(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM managed_policy_versions WHERE policy_id = ?1",
        )?
        .query_row([id], |row| row.get(0))?;
    insert_policy_version(conn, id, seq, version)?;
    conn.prepare_cached("UPDATE managed_policies SET updated = ?1 WHERE id = ?2")?
        .execute(params![millis(version.created), id])?;
    if set_as_default {
        conn.prepare_cached("UPDATE managed_policies SET default_version_id = ?1 WHERE id = ?2")?
            .execute(params![version.version_id, id])?;
    }
    Ok(())
}

fn set_default_policy_version(conn: &Connection, arn: &str, version_id: &str) -> Result<()> {
    let id = policy_row_id(conn, arn)?;
    if !version_exists(conn, id, version_id)? {
        return Err(StoreError::NotFound);
    }
    conn.prepare_cached("UPDATE managed_policies SET default_version_id = ?1 WHERE id = ?2")?
        .execute(params![version_id, id])?;
    Ok(())
}

fn delete_policy_version(conn: &Connection, arn: &str, version_id: &str) -> Result<()> {
    let row = load_policy_row(conn, arn)?.ok_or(StoreError::NotFound)?;
    if !version_exists(conn, row.id, version_id)? {
        return Err(StoreError::NotFound);
    }
    if row.default_version_id == version_id {
        return Err(StoreError::Conflict);
    }
    conn.prepare_cached(
        "DELETE FROM managed_policy_versions WHERE policy_id = ?1 AND version_id = ?2",
    )?
    .execute(params![row.id, version_id])?;
    Ok(())
}

fn attachment_count(conn: &Connection, arn: &str) -> Result<usize> {
    policy_row_id(conn, arn)?;
    let n: i64 = conn
        .prepare_cached("SELECT count(*) FROM policy_attachments WHERE policy_arn = ?1")?
        .query_row([arn], |row| row.get(0))?;
    Ok(count(n))
}

fn delete_managed_policy(conn: &Connection, arn: &str) -> Result<()> {
    let id = policy_row_id(conn, arn)?;
    if attachment_count(conn, arn)? > 0 {
        return Err(StoreError::Conflict);
    }
    conn.prepare_cached("DELETE FROM managed_policy_versions WHERE policy_id = ?1")?
        .execute([id])?;
    conn.prepare_cached("DELETE FROM managed_policies WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

fn attach_policy(conn: &Connection, owner: &PrincipalName, policy_arn: &str) -> Result<()> {
    require_principal(conn, owner)?;
    policy_row_id(conn, policy_arn)?;
    conn.prepare_cached(
        "INSERT INTO policy_attachments (account, kind, principal_lower, policy_arn)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT DO NOTHING",
    )?
    .execute(params![
        owner.account.as_str(),
        owner.kind.as_str(),
        fold(&owner.name),
        policy_arn
    ])?;
    Ok(())
}

fn detach_policy(conn: &Connection, owner: &PrincipalName, policy_arn: &str) -> Result<()> {
    let deleted = conn
        .prepare_cached(
            "DELETE FROM policy_attachments
             WHERE account = ?1 AND kind = ?2 AND principal_lower = ?3 AND policy_arn = ?4",
        )?
        .execute(params![
            owner.account.as_str(),
            owner.kind.as_str(),
            fold(&owner.name),
            policy_arn
        ])?;
    if deleted == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

fn list_attached_policies(conn: &Connection, owner: &PrincipalName) -> Result<Vec<String>> {
    require_principal(conn, owner)?;
    Ok(conn
        .prepare_cached(
            "SELECT policy_arn FROM policy_attachments
             WHERE account = ?1 AND kind = ?2 AND principal_lower = ?3
             ORDER BY policy_arn",
        )?
        .query_map(
            params![
                owner.account.as_str(),
                owner.kind.as_str(),
                fold(&owner.name)
            ],
            |row| row.get(0),
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

fn principal_policies(conn: &Connection, owner: &PrincipalName) -> Result<PrincipalPolicies> {
    if !principal_exists(conn, owner)? {
        return Ok(PrincipalPolicies::default());
    }
    let args = params![
        owner.account.as_str(),
        owner.kind.as_str(),
        fold(&owner.name)
    ];
    let pair = |row: &Row<'_>| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?));
    let inline = conn
        .prepare_cached(
            "SELECT policy_name, document FROM inline_policies
             WHERE account = ?1 AND kind = ?2 AND principal_lower = ?3
             ORDER BY policy_name",
        )?
        .query_map(args, pair)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let managed = conn
        .prepare_cached(
            "SELECT a.policy_arn, v.document
             FROM policy_attachments a
             JOIN managed_policies p ON p.arn = a.policy_arn
             JOIN managed_policy_versions v
                 ON v.policy_id = p.id AND v.version_id = p.default_version_id
             WHERE a.account = ?1 AND a.kind = ?2 AND a.principal_lower = ?3
             ORDER BY a.policy_arn",
        )?
        .query_map(args, pair)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(PrincipalPolicies { inline, managed })
}

// ---- the trait ----

impl IdentityStore for SqliteStore {
    fn create_user(&self, user: &UserRecord) -> Result<()> {
        self.write(|tx| create_user(tx, user))
    }

    fn get_user(&self, account: &AccountId, user_name: &str) -> Result<Option<UserRecord>> {
        self.read(|tx| get_user(tx, account, user_name))
    }

    fn list_users(&self, account: &AccountId) -> Result<Vec<UserRecord>> {
        self.read(|tx| list_users(tx, account))
    }

    fn set_user_tags(&self, account: &AccountId, user_name: &str, tags: &[Tag]) -> Result<()> {
        self.write(|tx| set_user_tags(tx, account, user_name, tags))
    }

    fn delete_user(&self, account: &AccountId, user_name: &str) -> Result<()> {
        self.write(|tx| delete_user(tx, account, user_name))
    }

    fn list_user_access_keys(
        &self,
        account: &AccountId,
        user_name: &str,
    ) -> Result<Vec<AccessKeyRecord>> {
        self.read(|tx| list_user_access_keys(tx, account, user_name))
    }

    fn set_access_key_status(&self, access_key_id: &str, status: AccessKeyStatus) -> Result<()> {
        self.write(|tx| set_access_key_status(tx, access_key_id, status))
    }

    fn delete_access_key(&self, access_key_id: &str) -> Result<()> {
        self.write(|tx| delete_access_key(tx, access_key_id))
    }

    fn put_session_key(&self, key: &AccessKeyRecord, session: &SessionRecord) -> Result<()> {
        self.write(|tx| put_session_key(tx, key, session))
    }

    fn get_session(&self, access_key_id: &str) -> Result<Option<SessionRecord>> {
        self.read(|tx| get_session(tx, access_key_id))
    }

    fn purge_expired_sessions(&self, now: Timestamp) -> Result<usize> {
        self.write(|tx| purge_expired_sessions(tx, now))
    }

    fn create_role(&self, role: &RoleRecord) -> Result<()> {
        self.write(|tx| create_role(tx, role))
    }

    fn get_role(&self, account: &AccountId, role_name: &str) -> Result<Option<RoleRecord>> {
        self.read(|tx| get_role(tx, account, role_name))
    }

    fn list_roles(&self, account: &AccountId) -> Result<Vec<RoleRecord>> {
        self.read(|tx| list_roles(tx, account))
    }

    fn update_role_trust_policy(
        &self,
        account: &AccountId,
        role_name: &str,
        document: &str,
    ) -> Result<()> {
        self.write(|tx| update_role_trust_policy(tx, account, role_name, document))
    }

    fn delete_role(&self, account: &AccountId, role_name: &str) -> Result<()> {
        self.write(|tx| delete_role(tx, account, role_name))
    }

    fn put_inline_policy(
        &self,
        owner: &PrincipalName,
        policy_name: &str,
        document: &str,
    ) -> Result<()> {
        self.write(|tx| put_inline_policy(tx, owner, policy_name, document))
    }

    fn get_inline_policy(
        &self,
        owner: &PrincipalName,
        policy_name: &str,
    ) -> Result<Option<String>> {
        self.read(|tx| get_inline_policy(tx, owner, policy_name))
    }

    fn list_inline_policies(&self, owner: &PrincipalName) -> Result<Vec<String>> {
        self.read(|tx| list_inline_policies(tx, owner))
    }

    fn delete_inline_policy(&self, owner: &PrincipalName, policy_name: &str) -> Result<()> {
        self.write(|tx| delete_inline_policy(tx, owner, policy_name))
    }

    fn create_managed_policy(&self, policy: &ManagedPolicyRecord) -> Result<()> {
        self.write(|tx| create_managed_policy(tx, policy))
    }

    fn get_managed_policy(&self, arn: &str) -> Result<Option<ManagedPolicyRecord>> {
        self.read(|tx| get_managed_policy(tx, arn))
    }

    fn list_managed_policies(&self, account: &AccountId) -> Result<Vec<ManagedPolicyRecord>> {
        self.read(|tx| list_managed_policies(tx, account))
    }

    fn add_policy_version(
        &self,
        arn: &str,
        version: &PolicyVersionRecord,
        set_as_default: bool,
    ) -> Result<()> {
        self.write(|tx| add_policy_version(tx, arn, version, set_as_default))
    }

    fn set_default_policy_version(&self, arn: &str, version_id: &str) -> Result<()> {
        self.write(|tx| set_default_policy_version(tx, arn, version_id))
    }

    fn delete_policy_version(&self, arn: &str, version_id: &str) -> Result<()> {
        self.write(|tx| delete_policy_version(tx, arn, version_id))
    }

    fn managed_policy_attachment_count(&self, arn: &str) -> Result<usize> {
        self.read(|tx| attachment_count(tx, arn))
    }

    fn delete_managed_policy(&self, arn: &str) -> Result<()> {
        self.write(|tx| delete_managed_policy(tx, arn))
    }

    fn attach_policy(&self, owner: &PrincipalName, policy_arn: &str) -> Result<()> {
        self.write(|tx| attach_policy(tx, owner, policy_arn))
    }

    fn detach_policy(&self, owner: &PrincipalName, policy_arn: &str) -> Result<()> {
        self.write(|tx| detach_policy(tx, owner, policy_arn))
    }

    fn list_attached_policies(&self, owner: &PrincipalName) -> Result<Vec<String>> {
        self.read(|tx| list_attached_policies(tx, owner))
    }

    fn principal_policies(&self, owner: &PrincipalName) -> Result<PrincipalPolicies> {
        self.read(|tx| principal_policies(tx, owner))
    }
}
