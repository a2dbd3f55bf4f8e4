//! Identities (IAM users and roles), their policies, and STS sessions.
//!
//! User, role and managed-policy names are unique per account case-insensitively: each row keeps
//! the name as given and its ASCII-lowercased form, which carries the uniqueness constraint and
//! serves every lookup by name. Inline policies and attachments name their principal by that
//! lowercased form. An access key names its user as given; it is matched with `lower()` on a
//! "C"-collated column (ASCII folding, the same).

use std::collections::{HashMap, HashSet};

use postgres::Row;
use tresor_types::{AccountId, Timestamp};

use super::conn::Conn;
use super::{keys, millis, parse_account, PostgresStore};
use crate::codec::{tags_from_json, tags_to_json};
use crate::{
    AccessKeyRecord, AccessKeyStatus, IdentityStore, ManagedPolicyRecord, PolicyVersionRecord,
    PrincipalKind, PrincipalName, PrincipalPolicies, Result, RoleRecord, SessionRecord, StoreError,
    Tag, UserRecord,
};

/// The form of a name that uniqueness and lookups use. IAM names are ASCII, and `lower()` under
/// the "C" collation folds ASCII only, so both sides fold the same way.
fn fold(name: &str) -> String {
    name.to_ascii_lowercase()
}

fn count(n: i64) -> usize {
    usize::try_from(n).unwrap_or(0)
}

fn strings(rows: Vec<Row>) -> Result<Vec<String>> {
    rows.iter()
        .map(|row| row.try_get(0).map_err(StoreError::from))
        .collect()
}

// ---- users ----

macro_rules! user_columns {
    () => {
        "account, user_name, user_id, arn, path, tags_json, created"
    };
}

fn user_from_row(row: &Row) -> Result<UserRecord> {
    let account: String = row.try_get(0)?;
    let tags_json: String = row.try_get(5)?;
    Ok(UserRecord {
        account: parse_account(&account)?,
        user_name: row.try_get(1)?,
        user_id: row.try_get(2)?,
        arn: row.try_get(3)?,
        path: row.try_get(4)?,
        tags: tags_from_json(&tags_json)?,
        created: Timestamp(row.try_get(6)?),
    })
}

fn user_exists(c: &mut Conn, account: &AccountId, user_name: &str) -> Result<bool> {
    c.exists(
        "SELECT 1 FROM users WHERE account = $1 AND user_name_lower = $2",
        &[&account.as_str(), &fold(user_name)],
    )
}

fn create_user(c: &mut Conn, user: &UserRecord) -> Result<()> {
    // A taken name, id or ARN is a unique violation: `Conflict`.
    c.execute(
        "INSERT INTO users (account, user_name, user_name_lower, user_id, arn, path, tags_json,
             created)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &user.account.as_str(),
            &user.user_name,
            &fold(&user.user_name),
            &user.user_id,
            &user.arn,
            &user.path,
            &tags_to_json(&user.tags)?,
            &millis(user.created),
        ],
    )?;
    Ok(())
}

fn get_user(c: &mut Conn, account: &AccountId, user_name: &str) -> Result<Option<UserRecord>> {
    c.query_opt(
        concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE account = $1 AND user_name_lower = $2"
        ),
        &[&account.as_str(), &fold(user_name)],
    )?
    .as_ref()
    .map(user_from_row)
    .transpose()
}

fn list_users(c: &mut Conn, account: &AccountId) -> Result<Vec<UserRecord>> {
    c.query(
        concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE account = $1 ORDER BY user_name"
        ),
        &[&account.as_str()],
    )?
    .iter()
    .map(user_from_row)
    .collect()
}

fn set_user_tags(c: &mut Conn, account: &AccountId, user_name: &str, tags: &[Tag]) -> Result<()> {
    let changed = c.execute(
        "UPDATE users SET tags_json = $1 WHERE account = $2 AND user_name_lower = $3",
        &[&tags_to_json(tags)?, &account.as_str(), &fold(user_name)],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Whether a principal still has inline or attached policies.
fn has_policies(
    c: &mut Conn,
    account: &AccountId,
    kind: PrincipalKind,
    lower: &str,
) -> Result<bool> {
    let inline = c.exists(
        "SELECT 1 FROM inline_policies
         WHERE account = $1 AND kind = $2 AND principal_lower = $3",
        &[&account.as_str(), &kind.as_str(), &lower],
    )?;
    let attached = c.exists(
        "SELECT 1 FROM policy_attachments
         WHERE account = $1 AND kind = $2 AND principal_lower = $3",
        &[&account.as_str(), &kind.as_str(), &lower],
    )?;
    Ok(inline || attached)
}

fn delete_user(c: &mut Conn, account: &AccountId, user_name: &str) -> Result<()> {
    let lower = fold(user_name);
    // Lock the user's row: writers that add a policy to the user share-lock it, so none can
    // add one between the check below and the deletion.
    let found = c.exists(
        "SELECT 1 FROM users WHERE account = $1 AND user_name_lower = $2 FOR UPDATE",
        &[&account.as_str(), &lower],
    )?;
    if !found {
        return Err(StoreError::NotFound);
    }
    let has_keys = c.exists(
        "SELECT 1 FROM access_keys WHERE account = $1 AND lower(user_name) = lower($2::TEXT COLLATE \"C\")",
        &[&account.as_str(), &user_name],
    )?;
    if has_keys || has_policies(c, account, PrincipalKind::User, &lower)? {
        return Err(StoreError::Conflict);
    }
    c.execute(
        "DELETE FROM users WHERE account = $1 AND user_name_lower = $2",
        &[&account.as_str(), &lower],
    )?;
    Ok(())
}

// ---- access keys and sessions ----

fn list_user_access_keys(
    c: &mut Conn,
    account: &AccountId,
    user_name: &str,
) -> Result<Vec<AccessKeyRecord>> {
    if !user_exists(c, account, user_name)? {
        return Err(StoreError::NotFound);
    }
    let ids = strings(c.query(
        "SELECT access_key_id FROM access_keys
         WHERE account = $1 AND lower(user_name) = lower($2::TEXT COLLATE \"C\")
           AND access_key_id NOT IN (SELECT access_key_id FROM sessions)
         ORDER BY created, access_key_id",
        &[&account.as_str(), &user_name],
    )?)?;
    let mut keys = Vec::with_capacity(ids.len());
    for id in ids {
        // Same read transaction: the key cannot have gone in between.
        keys.push(keys::get_access_key(c, &id)?.ok_or(StoreError::NotFound)?);
    }
    Ok(keys)
}

fn set_access_key_status(c: &mut Conn, access_key_id: &str, status: AccessKeyStatus) -> Result<()> {
    let changed = c.execute(
        "UPDATE access_keys SET status = $1 WHERE access_key_id = $2",
        &[&status.as_str(), &access_key_id],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

fn delete_access_key(c: &mut Conn, access_key_id: &str) -> Result<()> {
    // The foreign key cascades too; deleting the session explicitly does not depend on it.
    c.execute(
        "DELETE FROM sessions WHERE access_key_id = $1",
        &[&access_key_id],
    )?;
    let deleted = c.execute(
        "DELETE FROM access_keys WHERE access_key_id = $1",
        &[&access_key_id],
    )?;
    if deleted == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

fn put_session_key(c: &mut Conn, key: &AccessKeyRecord, session: &SessionRecord) -> Result<()> {
    keys::put_access_key(c, key)?;
    c.execute(
        "INSERT INTO sessions (access_key_id, token_digest, expires, role_name, role_id,
             role_arn, session_name, session_policy)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &key.access_key_id,
            &session.token_digest,
            &millis(session.expires),
            &session.role_name,
            &session.role_id,
            &session.role_arn,
            &session.session_name,
            &session.session_policy,
        ],
    )?;
    Ok(())
}

fn get_session(c: &mut Conn, access_key_id: &str) -> Result<Option<SessionRecord>> {
    let Some(row) = c.query_opt(
        "SELECT token_digest, expires, role_name, role_id, role_arn, session_name,
             session_policy
         FROM sessions WHERE access_key_id = $1",
        &[&access_key_id],
    )?
    else {
        return Ok(None);
    };
    Ok(Some(SessionRecord {
        token_digest: row.try_get(0)?,
        expires: Timestamp(row.try_get(1)?),
        role_name: row.try_get(2)?,
        role_id: row.try_get(3)?,
        role_arn: row.try_get(4)?,
        session_name: row.try_get(5)?,
        session_policy: row.try_get(6)?,
    }))
}

fn purge_expired_sessions(c: &mut Conn, now: Timestamp) -> Result<usize> {
    let purged = c.execute(
        "DELETE FROM access_keys WHERE access_key_id IN
             (SELECT access_key_id FROM sessions WHERE expires <= $1)",
        &[&millis(now)],
    )?;
    // Nothing is left here when the foreign key cascaded; this does not depend on it.
    c.execute("DELETE FROM sessions WHERE expires <= $1", &[&millis(now)])?;
    Ok(usize::try_from(purged).unwrap_or(usize::MAX))
}

// ---- roles ----

macro_rules! role_columns {
    () => {
        "account, role_name, role_id, arn, path, description, assume_role_policy, \
         max_session_duration, tags_json, created"
    };
}

fn role_from_row(row: &Row) -> Result<RoleRecord> {
    let account: String = row.try_get(0)?;
    let tags_json: String = row.try_get(8)?;
    Ok(RoleRecord {
        account: parse_account(&account)?,
        role_name: row.try_get(1)?,
        role_id: row.try_get(2)?,
        arn: row.try_get(3)?,
        path: row.try_get(4)?,
        description: row.try_get(5)?,
        assume_role_policy: row.try_get(6)?,
        max_session_duration: row.try_get(7)?,
        tags: tags_from_json(&tags_json)?,
        created: Timestamp(row.try_get(9)?),
    })
}

fn create_role(c: &mut Conn, role: &RoleRecord) -> Result<()> {
    // A taken name, id or ARN is a unique violation: `Conflict`.
    c.execute(
        "INSERT INTO roles (account, role_name, role_name_lower, role_id, arn, path, description,
             assume_role_policy, max_session_duration, tags_json, created)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &role.account.as_str(),
            &role.role_name,
            &fold(&role.role_name),
            &role.role_id,
            &role.arn,
            &role.path,
            &role.description,
            &role.assume_role_policy,
            &role.max_session_duration,
            &tags_to_json(&role.tags)?,
            &millis(role.created),
        ],
    )?;
    Ok(())
}

fn get_role(c: &mut Conn, account: &AccountId, role_name: &str) -> Result<Option<RoleRecord>> {
    c.query_opt(
        concat!(
            "SELECT ",
            role_columns!(),
            " FROM roles WHERE account = $1 AND role_name_lower = $2"
        ),
        &[&account.as_str(), &fold(role_name)],
    )?
    .as_ref()
    .map(role_from_row)
    .transpose()
}

fn list_roles(c: &mut Conn, account: &AccountId) -> Result<Vec<RoleRecord>> {
    c.query(
        concat!(
            "SELECT ",
            role_columns!(),
            " FROM roles WHERE account = $1 ORDER BY role_name"
        ),
        &[&account.as_str()],
    )?
    .iter()
    .map(role_from_row)
    .collect()
}

fn update_role_trust_policy(
    c: &mut Conn,
    account: &AccountId,
    role_name: &str,
    document: &str,
) -> Result<()> {
    let changed = c.execute(
        "UPDATE roles SET assume_role_policy = $1 WHERE account = $2 AND role_name_lower = $3",
        &[&document, &account.as_str(), &fold(role_name)],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

fn delete_role(c: &mut Conn, account: &AccountId, role_name: &str) -> Result<()> {
    let lower = fold(role_name);
    let found = c.exists(
        "SELECT 1 FROM roles WHERE account = $1 AND role_name_lower = $2 FOR UPDATE",
        &[&account.as_str(), &lower],
    )?;
    if !found {
        return Err(StoreError::NotFound);
    }
    if has_policies(c, account, PrincipalKind::Role, &lower)? {
        return Err(StoreError::Conflict);
    }
    c.execute(
        "DELETE FROM roles WHERE account = $1 AND role_name_lower = $2",
        &[&account.as_str(), &lower],
    )?;
    Ok(())
}

// ---- inline policies ----

/// Whether the principal exists. With `lock`, its row is share-locked until the end of the
/// transaction, so that it cannot be deleted under a policy being added to it.
fn principal_exists(c: &mut Conn, owner: &PrincipalName, lock: bool) -> Result<bool> {
    let sql = match (owner.kind, lock) {
        (PrincipalKind::User, false) => {
            "SELECT 1 FROM users WHERE account = $1 AND user_name_lower = $2"
        }
        (PrincipalKind::User, true) => {
            "SELECT 1 FROM users WHERE account = $1 AND user_name_lower = $2 FOR SHARE"
        }
        (PrincipalKind::Role, false) => {
            "SELECT 1 FROM roles WHERE account = $1 AND role_name_lower = $2"
        }
        (PrincipalKind::Role, true) => {
            "SELECT 1 FROM roles WHERE account = $1 AND role_name_lower = $2 FOR SHARE"
        }
        // Groups are not stored.
        (PrincipalKind::Group, _) => return Ok(false),
    };
    c.exists(sql, &[&owner.account.as_str(), &fold(&owner.name)])
}

fn require_principal(c: &mut Conn, owner: &PrincipalName, lock: bool) -> Result<()> {
    if principal_exists(c, owner, lock)? {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

fn put_inline_policy(
    c: &mut Conn,
    owner: &PrincipalName,
    policy_name: &str,
    document: &str,
) -> Result<()> {
    require_principal(c, owner, true)?;
    c.execute(
        "INSERT INTO inline_policies (account, kind, principal_lower, policy_name, document)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (account, kind, principal_lower, policy_name)
         DO UPDATE SET document = EXCLUDED.document",
        &[
            &owner.account.as_str(),
            &owner.kind.as_str(),
            &fold(&owner.name),
            &policy_name,
            &document,
        ],
    )?;
    Ok(())
}

fn get_inline_policy(
    c: &mut Conn,
    owner: &PrincipalName,
    policy_name: &str,
) -> Result<Option<String>> {
    c.query_opt(
        "SELECT document FROM inline_policies
         WHERE account = $1 AND kind = $2 AND principal_lower = $3 AND policy_name = $4",
        &[
            &owner.account.as_str(),
            &owner.kind.as_str(),
            &fold(&owner.name),
            &policy_name,
        ],
    )?
    .map(|row| row.try_get(0))
    .transpose()
    .map_err(StoreError::from)
}

fn list_inline_policies(c: &mut Conn, owner: &PrincipalName) -> Result<Vec<String>> {
    require_principal(c, owner, false)?;
    strings(c.query(
        "SELECT policy_name FROM inline_policies
         WHERE account = $1 AND kind = $2 AND principal_lower = $3
         ORDER BY policy_name",
        &[
            &owner.account.as_str(),
            &owner.kind.as_str(),
            &fold(&owner.name),
        ],
    )?)
}

fn delete_inline_policy(c: &mut Conn, owner: &PrincipalName, policy_name: &str) -> Result<()> {
    let deleted = c.execute(
        "DELETE FROM inline_policies
         WHERE account = $1 AND kind = $2 AND principal_lower = $3 AND policy_name = $4",
        &[
            &owner.account.as_str(),
            &owner.kind.as_str(),
            &fold(&owner.name),
            &policy_name,
        ],
    )?;
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

/// A `managed_policies` row as stored.
struct PolicyRow {
    id: i64,
    default_version_id: String,
    record: ManagedPolicyRecord,
}

fn policy_from_row(row: &Row) -> Result<PolicyRow> {
    let account: String = row.try_get(1)?;
    let default_version_id: String = row.try_get(7)?;
    Ok(PolicyRow {
        id: row.try_get(0)?,
        default_version_id: default_version_id.clone(),
        record: ManagedPolicyRecord {
            account: parse_account(&account)?,
            policy_name: row.try_get(2)?,
            policy_id: row.try_get(3)?,
            arn: row.try_get(4)?,
            path: row.try_get(5)?,
            description: row.try_get(6)?,
            default_version_id,
            versions: Vec::new(),
            created: Timestamp(row.try_get(8)?),
            updated: Timestamp(row.try_get(9)?),
        },
    })
}

fn version_from_row(row: &Row) -> Result<PolicyVersionRecord> {
    Ok(PolicyVersionRecord {
        version_id: row.try_get(0)?,
        document: row.try_get(1)?,
        created: Timestamp(row.try_get(2)?),
    })
}

fn insert_policy_version(
    c: &mut Conn,
    policy_row_id: i64,
    seq: i64,
    version: &PolicyVersionRecord,
) -> Result<()> {
    c.execute(
        "INSERT INTO managed_policy_versions (policy_id, version_id, seq, document, created)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &policy_row_id,
            &version.version_id,
            &seq,
            &version.document,
            &millis(version.created),
        ],
    )?;
    Ok(())
}

fn create_managed_policy(c: &mut Conn, policy: &ManagedPolicyRecord) -> Result<()> {
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
    // A taken name, ARN or policy id is a unique violation: `Conflict`.
    let id: i64 = c
        .query_one(
            "INSERT INTO managed_policies (account, policy_name, policy_name_lower, policy_id,
                 arn, path, description, default_version_id, created, updated)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             RETURNING id",
            &[
                &policy.account.as_str(),
                &policy.policy_name,
                &fold(&policy.policy_name),
                &policy.policy_id,
                &policy.arn,
                &policy.path,
                &policy.description,
                &policy.default_version_id,
                &millis(policy.created),
                &millis(policy.updated),
            ],
        )?
        .try_get(0)?;
    for (seq, version) in (1..).zip(&policy.versions) {
        insert_policy_version(c, id, seq, version)?;
    }
    Ok(())
}

/// The policy's row; with `lock`, locked until the end of the transaction.
fn load_policy_row(c: &mut Conn, arn: &str, lock: bool) -> Result<Option<PolicyRow>> {
    let sql = if lock {
        concat!(
            "SELECT ",
            policy_columns!(),
            " FROM managed_policies WHERE arn = $1 FOR UPDATE"
        )
    } else {
        concat!(
            "SELECT ",
            policy_columns!(),
            " FROM managed_policies WHERE arn = $1"
        )
    };
    c.query_opt(sql, &[&arn])?
        .as_ref()
        .map(policy_from_row)
        .transpose()
}

/// How a read of a policy's row locks it until the end of the transaction.
#[derive(Clone, Copy)]
enum Lock {
    None,
    /// The caller only needs the row to stay (attaching).
    Share,
    /// The caller writes the policy.
    Update,
}

/// The policy's row id.
fn policy_row_id(c: &mut Conn, arn: &str, lock: Lock) -> Result<i64> {
    let sql = match lock {
        Lock::None => "SELECT id FROM managed_policies WHERE arn = $1",
        Lock::Share => "SELECT id FROM managed_policies WHERE arn = $1 FOR SHARE",
        Lock::Update => "SELECT id FROM managed_policies WHERE arn = $1 FOR UPDATE",
    };
    c.query_opt(sql, &[&arn])?
        .ok_or(StoreError::NotFound)?
        .try_get(0)
        .map_err(StoreError::from)
}

fn get_managed_policy(c: &mut Conn, arn: &str) -> Result<Option<ManagedPolicyRecord>> {
    let Some(row) = load_policy_row(c, arn, false)? else {
        return Ok(None);
    };
    let mut record = row.record;
    record.versions = c
        .query(
            "SELECT version_id, document, created FROM managed_policy_versions
             WHERE policy_id = $1 ORDER BY seq",
            &[&row.id],
        )?
        .iter()
        .map(version_from_row)
        .collect::<Result<_>>()?;
    Ok(Some(record))
}

fn list_managed_policies(c: &mut Conn, account: &AccountId) -> Result<Vec<ManagedPolicyRecord>> {
    let rows = c
        .query(
            concat!(
                "SELECT ",
                policy_columns!(),
                " FROM managed_policies WHERE account = $1 ORDER BY policy_name, arn"
            ),
            &[&account.as_str()],
        )?
        .iter()
        .map(policy_from_row)
        .collect::<Result<Vec<_>>>()?;
    let mut versions: HashMap<i64, Vec<PolicyVersionRecord>> = HashMap::new();
    for row in c.query(
        "SELECT v.policy_id, v.version_id, v.document, v.created
         FROM managed_policy_versions v JOIN managed_policies p ON p.id = v.policy_id
         WHERE p.account = $1 ORDER BY v.policy_id, v.seq",
        &[&account.as_str()],
    )? {
        let id: i64 = row.try_get(0)?;
        versions.entry(id).or_default().push(PolicyVersionRecord {
            version_id: row.try_get(1)?,
            document: row.try_get(2)?,
            created: Timestamp(row.try_get(3)?),
        });
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let mut record = row.record;
            record.versions = versions.remove(&row.id).unwrap_or_default();
            record
        })
        .collect())
}

fn version_exists(c: &mut Conn, policy_row_id: i64, version_id: &str) -> Result<bool> {
    c.exists(
        "SELECT 1 FROM managed_policy_versions WHERE policy_id = $1 AND version_id = $2",
        &[&policy_row_id, &version_id],
    )
}

fn add_policy_version(
    c: &mut Conn,
    arn: &str,
    version: &PolicyVersionRecord,
    set_as_default: bool,
) -> Result<()> {
    // Locking the policy's row serializes version additions, so their `seq`s differ.
    let id = policy_row_id(c, arn, Lock::Update)?;
    if version_exists(c, id, &version.version_id)? {
        return Err(StoreError::Conflict);
    }
    let seq: i64 = c
        .query_one(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM managed_policy_versions WHERE policy_id = $1",
            &[&id],
        )?
        .try_get(0)?;
    insert_policy_version(c, id, seq, version)?;
    c.execute(
        "UPDATE managed_policies SET updated = $1 WHERE id = $2",
        &[&millis(version.created), &id],
    )?;
    if set_as_default {
        c.execute(
            "UPDATE managed_policies SET default_version_id = $1 WHERE id = $2",
            &[&version.version_id, &id],
        )?;
    }
    Ok(())
}

fn set_default_policy_version(c: &mut Conn, arn: &str, version_id: &str) -> Result<()> {
    let id = policy_row_id(c, arn, Lock::Update)?;
    if !version_exists(c, id, version_id)? {
        return Err(StoreError::NotFound);
    }
    c.execute(
        "UPDATE managed_policies SET default_version_id = $1 WHERE id = $2",
        &[&version_id, &id],
    )?;
    Ok(())
}

fn delete_policy_version(c: &mut Conn, arn: &str, version_id: &str) -> Result<()> {
    let row = load_policy_row(c, arn, true)?.ok_or(StoreError::NotFound)?;
    if !version_exists(c, row.id, version_id)? {
        return Err(StoreError::NotFound);
    }
    if row.default_version_id == version_id {
        return Err(StoreError::Conflict);
    }
    c.execute(
        "DELETE FROM managed_policy_versions WHERE policy_id = $1 AND version_id = $2",
        &[&row.id, &version_id],
    )?;
    Ok(())
}

fn attachments(c: &mut Conn, arn: &str) -> Result<usize> {
    let n: i64 = c
        .query_one(
            "SELECT count(*) FROM policy_attachments WHERE policy_arn = $1",
            &[&arn],
        )?
        .try_get(0)?;
    Ok(count(n))
}

fn attachment_count(c: &mut Conn, arn: &str) -> Result<usize> {
    policy_row_id(c, arn, Lock::None)?;
    attachments(c, arn)
}

fn delete_managed_policy(c: &mut Conn, arn: &str) -> Result<()> {
    let id = policy_row_id(c, arn, Lock::Update)?;
    if attachments(c, arn)? > 0 {
        return Err(StoreError::Conflict);
    }
    c.execute(
        "DELETE FROM managed_policy_versions WHERE policy_id = $1",
        &[&id],
    )?;
    c.execute("DELETE FROM managed_policies WHERE id = $1", &[&id])?;
    Ok(())
}

fn attach_policy(c: &mut Conn, owner: &PrincipalName, policy_arn: &str) -> Result<()> {
    require_principal(c, owner, true)?;
    policy_row_id(c, policy_arn, Lock::Share)?;
    c.execute(
        "INSERT INTO policy_attachments (account, kind, principal_lower, policy_arn)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING",
        &[
            &owner.account.as_str(),
            &owner.kind.as_str(),
            &fold(&owner.name),
            &policy_arn,
        ],
    )?;
    Ok(())
}

fn detach_policy(c: &mut Conn, owner: &PrincipalName, policy_arn: &str) -> Result<()> {
    let deleted = c.execute(
        "DELETE FROM policy_attachments
         WHERE account = $1 AND kind = $2 AND principal_lower = $3 AND policy_arn = $4",
        &[
            &owner.account.as_str(),
            &owner.kind.as_str(),
            &fold(&owner.name),
            &policy_arn,
        ],
    )?;
    if deleted == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

fn list_attached_policies(c: &mut Conn, owner: &PrincipalName) -> Result<Vec<String>> {
    require_principal(c, owner, false)?;
    strings(c.query(
        "SELECT policy_arn FROM policy_attachments
         WHERE account = $1 AND kind = $2 AND principal_lower = $3
         ORDER BY policy_arn",
        &[
            &owner.account.as_str(),
            &owner.kind.as_str(),
            &fold(&owner.name),
        ],
    )?)
}

fn pairs(rows: Vec<Row>) -> Result<Vec<(String, String)>> {
    rows.iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect()
}

fn principal_policies(c: &mut Conn, owner: &PrincipalName) -> Result<PrincipalPolicies> {
    if !principal_exists(c, owner, false)? {
        return Ok(PrincipalPolicies::default());
    }
    let account = owner.account.as_str();
    let kind = owner.kind.as_str();
    let lower = fold(&owner.name);
    let inline = pairs(c.query(
        "SELECT policy_name, document FROM inline_policies
         WHERE account = $1 AND kind = $2 AND principal_lower = $3
         ORDER BY policy_name",
        &[&account, &kind, &lower],
    )?)?;
    let managed = pairs(c.query(
        "SELECT a.policy_arn, v.document
         FROM policy_attachments a
         JOIN managed_policies p ON p.arn = a.policy_arn
         JOIN managed_policy_versions v
             ON v.policy_id = p.id AND v.version_id = p.default_version_id
         WHERE a.account = $1 AND a.kind = $2 AND a.principal_lower = $3
         ORDER BY a.policy_arn",
        &[&account, &kind, &lower],
    )?)?;
    Ok(PrincipalPolicies { inline, managed })
}

// ---- the trait ----

impl IdentityStore for PostgresStore {
    fn create_user(&self, user: &UserRecord) -> Result<()> {
        self.write(|c| create_user(c, user))
    }

    fn get_user(&self, account: &AccountId, user_name: &str) -> Result<Option<UserRecord>> {
        self.read(|c| get_user(c, account, user_name))
    }

    fn list_users(&self, account: &AccountId) -> Result<Vec<UserRecord>> {
        self.read(|c| list_users(c, account))
    }

    fn set_user_tags(&self, account: &AccountId, user_name: &str, tags: &[Tag]) -> Result<()> {
        self.write(|c| set_user_tags(c, account, user_name, tags))
    }

    fn delete_user(&self, account: &AccountId, user_name: &str) -> Result<()> {
        self.write(|c| delete_user(c, account, user_name))
    }

    fn list_user_access_keys(
        &self,
        account: &AccountId,
        user_name: &str,
    ) -> Result<Vec<AccessKeyRecord>> {
        self.read(|c| list_user_access_keys(c, account, user_name))
    }

    fn set_access_key_status(&self, access_key_id: &str, status: AccessKeyStatus) -> Result<()> {
        self.write(|c| set_access_key_status(c, access_key_id, status))
    }

    fn delete_access_key(&self, access_key_id: &str) -> Result<()> {
        self.write(|c| delete_access_key(c, access_key_id))
    }

    fn put_session_key(&self, key: &AccessKeyRecord, session: &SessionRecord) -> Result<()> {
        self.write(|c| put_session_key(c, key, session))
    }

    fn get_session(&self, access_key_id: &str) -> Result<Option<SessionRecord>> {
        self.read(|c| get_session(c, access_key_id))
    }

    fn purge_expired_sessions(&self, now: Timestamp) -> Result<usize> {
        self.write(|c| purge_expired_sessions(c, now))
    }

    fn create_role(&self, role: &RoleRecord) -> Result<()> {
        self.write(|c| create_role(c, role))
    }

    fn get_role(&self, account: &AccountId, role_name: &str) -> Result<Option<RoleRecord>> {
        self.read(|c| get_role(c, account, role_name))
    }

    fn list_roles(&self, account: &AccountId) -> Result<Vec<RoleRecord>> {
        self.read(|c| list_roles(c, account))
    }

    fn update_role_trust_policy(
        &self,
        account: &AccountId,
        role_name: &str,
        document: &str,
    ) -> Result<()> {
        self.write(|c| update_role_trust_policy(c, account, role_name, document))
    }

    fn delete_role(&self, account: &AccountId, role_name: &str) -> Result<()> {
        self.write(|c| delete_role(c, account, role_name))
    }

    fn put_inline_policy(
        &self,
        owner: &PrincipalName,
        policy_name: &str,
        document: &str,
    ) -> Result<()> {
        self.write(|c| put_inline_policy(c, owner, policy_name, document))
    }

    fn get_inline_policy(
        &self,
        owner: &PrincipalName,
        policy_name: &str,
    ) -> Result<Option<String>> {
        self.read(|c| get_inline_policy(c, owner, policy_name))
    }

    fn list_inline_policies(&self, owner: &PrincipalName) -> Result<Vec<String>> {
        self.read(|c| list_inline_policies(c, owner))
    }

    fn delete_inline_policy(&self, owner: &PrincipalName, policy_name: &str) -> Result<()> {
        self.write(|c| delete_inline_policy(c, owner, policy_name))
    }

    fn create_managed_policy(&self, policy: &ManagedPolicyRecord) -> Result<()> {
        self.write(|c| create_managed_policy(c, policy))
    }

    fn get_managed_policy(&self, arn: &str) -> Result<Option<ManagedPolicyRecord>> {
        self.read(|c| get_managed_policy(c, arn))
    }

    fn list_managed_policies(&self, account: &AccountId) -> Result<Vec<ManagedPolicyRecord>> {
        self.read(|c| list_managed_policies(c, account))
    }

    fn add_policy_version(
        &self,
        arn: &str,
        version: &PolicyVersionRecord,
        set_as_default: bool,
    ) -> Result<()> {
        self.write(|c| add_policy_version(c, arn, version, set_as_default))
    }

    fn set_default_policy_version(&self, arn: &str, version_id: &str) -> Result<()> {
        self.write(|c| set_default_policy_version(c, arn, version_id))
    }

    fn delete_policy_version(&self, arn: &str, version_id: &str) -> Result<()> {
        self.write(|c| delete_policy_version(c, arn, version_id))
    }

    fn managed_policy_attachment_count(&self, arn: &str) -> Result<usize> {
        self.read(|c| attachment_count(c, arn))
    }

    fn delete_managed_policy(&self, arn: &str) -> Result<()> {
        self.write(|c| delete_managed_policy(c, arn))
    }

    fn attach_policy(&self, owner: &PrincipalName, policy_arn: &str) -> Result<()> {
        self.write(|c| attach_policy(c, owner, policy_arn))
    }

    fn detach_policy(&self, owner: &PrincipalName, policy_arn: &str) -> Result<()> {
        self.write(|c| detach_policy(c, owner, policy_arn))
    }

    fn list_attached_policies(&self, owner: &PrincipalName) -> Result<Vec<String>> {
        self.read(|c| list_attached_policies(c, owner))
    }

    fn principal_policies(&self, owner: &PrincipalName) -> Result<PrincipalPolicies> {
        self.read(|c| principal_policies(c, owner))
    }
}
