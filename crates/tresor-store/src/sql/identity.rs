//! Identities (IAM users and roles), their policies, and STS sessions, written once for both
//! backends.
//!
//! User, role and managed-policy names are unique per account case-insensitively: each row keeps
//! the name as given and its ASCII-lowercased form, which carries the uniqueness constraint and
//! serves every lookup by name. Inline policies and attachments name their principal by that
//! lowercased form, so they follow the principal whatever case a caller spells it in. An access
//! key names its user as given; it is matched with `COLLATE NOCASE` on SQLite and `lower()` on
//! a "C"-collated column on PostgreSQL (ASCII folding, both).
//!
//! A taken name, id or ARN is a unique violation, which is `Conflict` on both engines. On
//! PostgreSQL, where writers run concurrently, a check-then-write locks the row it checks
//! (`FOR UPDATE`, or `FOR SHARE` for a row that only has to stay); SQLite's single writer
//! needs no lock, so its text leaves the clause out.

use std::collections::{HashMap, HashSet};

use tresor_types::{AccountId, Timestamp};

use super::{count, keys, params, sql, Db, Row, Sql, Transactions};
use crate::codec::{millis, parse_account, tags_from_json, tags_to_json};
use crate::{
    AccessKeyRecord, AccessKeyStatus, IdentityStore, ManagedPolicyRecord, Missing,
    PolicyVersionRecord, PrincipalKind, PrincipalName, PrincipalPolicies, Result, RoleRecord,
    SessionRecord, StoreError, Tag, UserRecord,
};

/// The form of a name that uniqueness and lookups use. IAM names are ASCII, and both SQLite's
/// `NOCASE` and `lower()` under PostgreSQL's "C" collation fold ASCII only, so both sides fold
/// the same way.
fn fold(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// A statement for both engines, with a row-locking clause on PostgreSQL only.
macro_rules! locking {
    ($text:expr, $lock:literal) => {
        sql!(pg: concat!($text, " ", $lock), lite: $text)
    };
}

// ---- users ----

macro_rules! user_columns {
    () => {
        "account, user_name, user_id, arn, path, tags_json, created"
    };
}

fn user_from_row(row: &dyn Row) -> Result<UserRecord> {
    Ok(UserRecord {
        account: parse_account(&row.text(0)?)?,
        user_name: row.text(1)?,
        user_id: row.text(2)?,
        arn: row.text(3)?,
        path: row.text(4)?,
        tags: tags_from_json(&row.text(5)?)?,
        created: Timestamp(row.int(6)?),
    })
}

fn user_exists(db: &mut dyn Db, account: &AccountId, user_name: &str) -> Result<bool> {
    db.exists(
        sql!("SELECT 1 FROM users WHERE account = $1 AND user_name_lower = $2"),
        params![account.as_str(), fold(user_name).as_str()],
    )
}

fn create_user(db: &mut dyn Db, user: &UserRecord) -> Result<()> {
    db.execute(
        sql!(
            "INSERT INTO users (account, user_name, user_name_lower, user_id, arn, path,
                 tags_json, created)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ),
        params![
            user.account.as_str(),
            &user.user_name,
            fold(&user.user_name).as_str(),
            &user.user_id,
            &user.arn,
            &user.path,
            tags_to_json(&user.tags)?.as_str(),
            millis(user.created),
        ],
    )?;
    Ok(())
}

fn get_user(db: &mut dyn Db, account: &AccountId, user_name: &str) -> Result<Option<UserRecord>> {
    db.query_opt(
        sql!(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE account = $1 AND user_name_lower = $2"
        )),
        params![account.as_str(), fold(user_name).as_str()],
        user_from_row,
    )
}

fn list_users(db: &mut dyn Db, account: &AccountId) -> Result<Vec<UserRecord>> {
    db.query(
        sql!(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE account = $1 ORDER BY user_name"
        )),
        params![account.as_str()],
        user_from_row,
    )
}

fn set_user_tags(
    db: &mut dyn Db,
    account: &AccountId,
    user_name: &str,
    tags: &[Tag],
) -> Result<()> {
    let changed = db.execute(
        sql!("UPDATE users SET tags_json = $1 WHERE account = $2 AND user_name_lower = $3"),
        params![
            tags_to_json(tags)?.as_str(),
            account.as_str(),
            fold(user_name).as_str()
        ],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound(Missing::user(user_name)));
    }
    Ok(())
}

/// Whether a principal still has inline or attached policies.
fn has_policies(
    db: &mut dyn Db,
    account: &AccountId,
    kind: PrincipalKind,
    lower: &str,
) -> Result<bool> {
    let args = params![account.as_str(), kind.as_str(), lower];
    let inline = db.exists(
        sql!(
            "SELECT 1 FROM inline_policies
             WHERE account = $1 AND kind = $2 AND principal_lower = $3"
        ),
        args,
    )?;
    let attached = db.exists(
        sql!(
            "SELECT 1 FROM policy_attachments
             WHERE account = $1 AND kind = $2 AND principal_lower = $3"
        ),
        args,
    )?;
    Ok(inline || attached)
}

fn delete_user(db: &mut dyn Db, account: &AccountId, user_name: &str) -> Result<()> {
    let lower = fold(user_name);
    // Lock the user's row: writers that add a policy to the user share-lock it, so none can
    // add one between the check below and the deletion.
    let found = db.exists(
        locking!(
            "SELECT 1 FROM users WHERE account = $1 AND user_name_lower = $2",
            "FOR UPDATE"
        ),
        params![account.as_str(), lower.as_str()],
    )?;
    if !found {
        return Err(StoreError::NotFound(Missing::user(user_name)));
    }
    let has_keys = db.exists(
        sql!(
            pg: "SELECT 1 FROM access_keys
                 WHERE account = $1 AND lower(user_name) = lower($2::TEXT COLLATE \"C\")",
            lite: "SELECT 1 FROM access_keys
                   WHERE account = $1 AND user_name = $2 COLLATE NOCASE",
        ),
        params![account.as_str(), user_name],
    )?;
    if has_keys || has_policies(db, account, PrincipalKind::User, &lower)? {
        return Err(StoreError::Conflict);
    }
    db.execute(
        sql!("DELETE FROM users WHERE account = $1 AND user_name_lower = $2"),
        params![account.as_str(), lower.as_str()],
    )?;
    Ok(())
}

// ---- access keys and sessions ----

fn list_user_access_keys(
    db: &mut dyn Db,
    account: &AccountId,
    user_name: &str,
) -> Result<Vec<AccessKeyRecord>> {
    if !user_exists(db, account, user_name)? {
        return Err(StoreError::NotFound(Missing::user(user_name)));
    }
    let ids = db.query(
        sql!(
            pg: "SELECT access_key_id FROM access_keys
                 WHERE account = $1 AND lower(user_name) = lower($2::TEXT COLLATE \"C\")
                   AND access_key_id NOT IN (SELECT access_key_id FROM sessions)
                 ORDER BY created, access_key_id",
            lite: "SELECT access_key_id FROM access_keys
                   WHERE account = $1 AND user_name = $2 COLLATE NOCASE
                     AND access_key_id NOT IN (SELECT access_key_id FROM sessions)
                   ORDER BY created, access_key_id",
        ),
        params![account.as_str(), user_name],
        |row| row.text(0),
    )?;
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        // Same read transaction: the key cannot have gone in between.
        found.push(
            keys::get_access_key(db, &id)?
                .ok_or(StoreError::NotFound(Missing::AccessKey(id.clone())))?,
        );
    }
    Ok(found)
}

fn set_access_key_status(
    db: &mut dyn Db,
    access_key_id: &str,
    status: AccessKeyStatus,
) -> Result<()> {
    let changed = db.execute(
        sql!("UPDATE access_keys SET status = $1 WHERE access_key_id = $2"),
        params![status.as_str(), access_key_id],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound(Missing::AccessKey(
            access_key_id.to_owned(),
        )));
    }
    Ok(())
}

fn delete_access_key(db: &mut dyn Db, access_key_id: &str) -> Result<()> {
    // The foreign key cascades too; deleting the session explicitly does not depend on it.
    db.execute(
        sql!("DELETE FROM sessions WHERE access_key_id = $1"),
        params![access_key_id],
    )?;
    let deleted = db.execute(
        sql!("DELETE FROM access_keys WHERE access_key_id = $1"),
        params![access_key_id],
    )?;
    if deleted == 0 {
        return Err(StoreError::NotFound(Missing::AccessKey(
            access_key_id.to_owned(),
        )));
    }
    Ok(())
}

fn put_session_key(db: &mut dyn Db, key: &AccessKeyRecord, session: &SessionRecord) -> Result<()> {
    keys::put_access_key(db, key)?;
    db.execute(
        sql!(
            "INSERT INTO sessions (access_key_id, token_digest, expires, role_name, role_id,
                 role_arn, session_name, session_policy)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ),
        params![
            &key.access_key_id,
            &session.token_digest,
            millis(session.expires),
            &session.role_name,
            &session.role_id,
            &session.role_arn,
            &session.session_name,
            &session.session_policy,
        ],
    )?;
    Ok(())
}

fn get_session(db: &mut dyn Db, access_key_id: &str) -> Result<Option<SessionRecord>> {
    db.query_opt(
        sql!(
            "SELECT token_digest, expires, role_name, role_id, role_arn, session_name,
                 session_policy
             FROM sessions WHERE access_key_id = $1"
        ),
        params![access_key_id],
        |row| {
            Ok(SessionRecord {
                token_digest: row.blob(0)?,
                expires: Timestamp(row.int(1)?),
                role_name: row.text(2)?,
                role_id: row.text(3)?,
                role_arn: row.text(4)?,
                session_name: row.text(5)?,
                session_policy: row.opt_text(6)?,
            })
        },
    )
}

fn purge_expired_sessions(db: &mut dyn Db, now: Timestamp) -> Result<usize> {
    let purged = db.execute(
        sql!(
            "DELETE FROM access_keys WHERE access_key_id IN
                 (SELECT access_key_id FROM sessions WHERE expires <= $1)"
        ),
        params![millis(now)],
    )?;
    // Nothing is left here when the foreign key cascaded; this does not depend on it.
    db.execute(
        sql!("DELETE FROM sessions WHERE expires <= $1"),
        params![millis(now)],
    )?;
    Ok(usize::try_from(purged).unwrap_or(usize::MAX))
}

// ---- roles ----

macro_rules! role_columns {
    () => {
        "account, role_name, role_id, arn, path, description, assume_role_policy, \
         max_session_duration, tags_json, created"
    };
}

fn role_from_row(row: &dyn Row) -> Result<RoleRecord> {
    Ok(RoleRecord {
        account: parse_account(&row.text(0)?)?,
        role_name: row.text(1)?,
        role_id: row.text(2)?,
        arn: row.text(3)?,
        path: row.text(4)?,
        description: row.opt_text(5)?,
        assume_role_policy: row.text(6)?,
        max_session_duration: row.int(7)?,
        tags: tags_from_json(&row.text(8)?)?,
        created: Timestamp(row.int(9)?),
    })
}

fn create_role(db: &mut dyn Db, role: &RoleRecord) -> Result<()> {
    db.execute(
        sql!(
            "INSERT INTO roles (account, role_name, role_name_lower, role_id, arn, path,
                 description, assume_role_policy, max_session_duration, tags_json, created)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ),
        params![
            role.account.as_str(),
            &role.role_name,
            fold(&role.role_name).as_str(),
            &role.role_id,
            &role.arn,
            &role.path,
            &role.description,
            &role.assume_role_policy,
            role.max_session_duration,
            tags_to_json(&role.tags)?.as_str(),
            millis(role.created),
        ],
    )?;
    Ok(())
}

fn get_role(db: &mut dyn Db, account: &AccountId, role_name: &str) -> Result<Option<RoleRecord>> {
    db.query_opt(
        sql!(concat!(
            "SELECT ",
            role_columns!(),
            " FROM roles WHERE account = $1 AND role_name_lower = $2"
        )),
        params![account.as_str(), fold(role_name).as_str()],
        role_from_row,
    )
}

fn list_roles(db: &mut dyn Db, account: &AccountId) -> Result<Vec<RoleRecord>> {
    db.query(
        sql!(concat!(
            "SELECT ",
            role_columns!(),
            " FROM roles WHERE account = $1 ORDER BY role_name"
        )),
        params![account.as_str()],
        role_from_row,
    )
}

fn update_role_trust_policy(
    db: &mut dyn Db,
    account: &AccountId,
    role_name: &str,
    document: &str,
) -> Result<()> {
    let changed = db.execute(
        sql!(
            "UPDATE roles SET assume_role_policy = $1
             WHERE account = $2 AND role_name_lower = $3"
        ),
        params![document, account.as_str(), fold(role_name).as_str()],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound(Missing::role(role_name)));
    }
    Ok(())
}

fn delete_role(db: &mut dyn Db, account: &AccountId, role_name: &str) -> Result<()> {
    let lower = fold(role_name);
    let found = db.exists(
        locking!(
            "SELECT 1 FROM roles WHERE account = $1 AND role_name_lower = $2",
            "FOR UPDATE"
        ),
        params![account.as_str(), lower.as_str()],
    )?;
    if !found {
        return Err(StoreError::NotFound(Missing::role(role_name)));
    }
    if has_policies(db, account, PrincipalKind::Role, &lower)? {
        return Err(StoreError::Conflict);
    }
    db.execute(
        sql!("DELETE FROM roles WHERE account = $1 AND role_name_lower = $2"),
        params![account.as_str(), lower.as_str()],
    )?;
    Ok(())
}

// ---- inline policies ----

/// Whether the principal exists. With `lock`, its row is share-locked until the end of the
/// transaction (PostgreSQL), so that it cannot be deleted under a policy being added to it.
fn principal_exists(db: &mut dyn Db, owner: &PrincipalName, lock: bool) -> Result<bool> {
    let sql = match (owner.kind, lock) {
        (PrincipalKind::User, false) => {
            sql!("SELECT 1 FROM users WHERE account = $1 AND user_name_lower = $2")
        }
        (PrincipalKind::User, true) => locking!(
            "SELECT 1 FROM users WHERE account = $1 AND user_name_lower = $2",
            "FOR SHARE"
        ),
        (PrincipalKind::Role, false) => {
            sql!("SELECT 1 FROM roles WHERE account = $1 AND role_name_lower = $2")
        }
        (PrincipalKind::Role, true) => locking!(
            "SELECT 1 FROM roles WHERE account = $1 AND role_name_lower = $2",
            "FOR SHARE"
        ),
        // Groups are not stored.
        (PrincipalKind::Group, _) => return Ok(false),
    };
    db.exists(
        sql,
        params![owner.account.as_str(), fold(&owner.name).as_str()],
    )
}

fn require_principal(db: &mut dyn Db, owner: &PrincipalName, lock: bool) -> Result<()> {
    if principal_exists(db, owner, lock)? {
        Ok(())
    } else {
        Err(StoreError::NotFound(Missing::principal(owner)))
    }
}

fn put_inline_policy(
    db: &mut dyn Db,
    owner: &PrincipalName,
    policy_name: &str,
    document: &str,
) -> Result<()> {
    require_principal(db, owner, true)?;
    db.execute(
        sql!(
            "INSERT INTO inline_policies (account, kind, principal_lower, policy_name, document)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (account, kind, principal_lower, policy_name)
             DO UPDATE SET document = excluded.document"
        ),
        params![
            owner.account.as_str(),
            owner.kind.as_str(),
            fold(&owner.name).as_str(),
            policy_name,
            document,
        ],
    )?;
    Ok(())
}

fn get_inline_policy(
    db: &mut dyn Db,
    owner: &PrincipalName,
    policy_name: &str,
) -> Result<Option<String>> {
    db.query_opt(
        sql!(
            "SELECT document FROM inline_policies
             WHERE account = $1 AND kind = $2 AND principal_lower = $3 AND policy_name = $4"
        ),
        params![
            owner.account.as_str(),
            owner.kind.as_str(),
            fold(&owner.name).as_str(),
            policy_name,
        ],
        |row| row.text(0),
    )
}

/// The names `select` lists for `owner` (its one text column, keyed by the owner's account,
/// kind and folded name as `$1`–`$3`), once the owner is known to exist.
fn owner_names(db: &mut dyn Db, owner: &PrincipalName, select: Sql<'_>) -> Result<Vec<String>> {
    require_principal(db, owner, false)?;
    db.query(
        select,
        params![
            owner.account.as_str(),
            owner.kind.as_str(),
            fold(&owner.name).as_str(),
        ],
        |row| row.text(0),
    )
}

fn list_inline_policies(db: &mut dyn Db, owner: &PrincipalName) -> Result<Vec<String>> {
    owner_names(
        db,
        owner,
        sql!(
            "SELECT policy_name FROM inline_policies
             WHERE account = $1 AND kind = $2 AND principal_lower = $3
             ORDER BY policy_name"
        ),
    )
}

fn delete_inline_policy(db: &mut dyn Db, owner: &PrincipalName, policy_name: &str) -> Result<()> {
    let deleted = db.execute(
        sql!(
            "DELETE FROM inline_policies
             WHERE account = $1 AND kind = $2 AND principal_lower = $3 AND policy_name = $4"
        ),
        params![
            owner.account.as_str(),
            owner.kind.as_str(),
            fold(&owner.name).as_str(),
            policy_name,
        ],
    )?;
    if deleted == 0 {
        return Err(StoreError::NotFound(Missing::InlinePolicy {
            kind: owner.kind,
            name: policy_name.to_owned(),
        }));
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
    record: ManagedPolicyRecord,
}

fn policy_from_row(row: &dyn Row) -> Result<PolicyRow> {
    Ok(PolicyRow {
        id: row.int(0)?,
        record: ManagedPolicyRecord {
            account: parse_account(&row.text(1)?)?,
            policy_name: row.text(2)?,
            policy_id: row.text(3)?,
            arn: row.text(4)?,
            path: row.text(5)?,
            description: row.opt_text(6)?,
            default_version_id: row.text(7)?,
            versions: Vec::new(),
            created: Timestamp(row.int(8)?),
            updated: Timestamp(row.int(9)?),
        },
    })
}

fn version_from_row(row: &dyn Row) -> Result<PolicyVersionRecord> {
    Ok(PolicyVersionRecord {
        version_id: row.text(0)?,
        document: row.text(1)?,
        created: Timestamp(row.int(2)?),
    })
}

fn insert_policy_version(
    db: &mut dyn Db,
    policy_row_id: i64,
    seq: i64,
    version: &PolicyVersionRecord,
) -> Result<()> {
    db.execute(
        sql!(
            "INSERT INTO managed_policy_versions (policy_id, version_id, seq, document, created)
             VALUES ($1, $2, $3, $4, $5)"
        ),
        params![
            policy_row_id,
            &version.version_id,
            seq,
            &version.document,
            millis(version.created),
        ],
    )?;
    Ok(())
}

fn create_managed_policy(db: &mut dyn Db, policy: &ManagedPolicyRecord) -> Result<()> {
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
    let id = db.query_one(
        sql!(
            "INSERT INTO managed_policies (account, policy_name, policy_name_lower, policy_id,
                 arn, path, description, default_version_id, created, updated)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             RETURNING id"
        ),
        params![
            policy.account.as_str(),
            &policy.policy_name,
            fold(&policy.policy_name).as_str(),
            &policy.policy_id,
            &policy.arn,
            &policy.path,
            &policy.description,
            &policy.default_version_id,
            millis(policy.created),
            millis(policy.updated),
        ],
        |row| row.int(0),
    )?;
    for (seq, version) in (1..).zip(&policy.versions) {
        insert_policy_version(db, id, seq, version)?;
    }
    Ok(())
}

/// How a read of a policy's row locks it until the end of the transaction (PostgreSQL).
#[derive(Clone, Copy)]
enum Lock {
    None,
    /// The caller only needs the row to stay (attaching).
    Share,
    /// The caller writes the policy.
    Update,
}

/// The policy's row.
fn load_policy_row(db: &mut dyn Db, arn: &str, lock: Lock) -> Result<Option<PolicyRow>> {
    let sql = match lock {
        Lock::None => sql!(concat!(
            "SELECT ",
            policy_columns!(),
            " FROM managed_policies WHERE arn = $1"
        )),
        Lock::Share => locking!(
            concat!(
                "SELECT ",
                policy_columns!(),
                " FROM managed_policies WHERE arn = $1"
            ),
            "FOR SHARE"
        ),
        Lock::Update => locking!(
            concat!(
                "SELECT ",
                policy_columns!(),
                " FROM managed_policies WHERE arn = $1"
            ),
            "FOR UPDATE"
        ),
    };
    db.query_opt(sql, params![arn], policy_from_row)
}

/// The policy's row id; `NotFound` if it is missing.
fn policy_row_id(db: &mut dyn Db, arn: &str, lock: Lock) -> Result<i64> {
    let sql: Sql = match lock {
        Lock::None => sql!("SELECT id FROM managed_policies WHERE arn = $1"),
        Lock::Share => locking!(
            "SELECT id FROM managed_policies WHERE arn = $1",
            "FOR SHARE"
        ),
        Lock::Update => locking!(
            "SELECT id FROM managed_policies WHERE arn = $1",
            "FOR UPDATE"
        ),
    };
    db.query_opt(sql, params![arn], |row| row.int(0))?
        .ok_or_else(|| StoreError::NotFound(Missing::ManagedPolicy(arn.to_owned())))
}

fn get_managed_policy(db: &mut dyn Db, arn: &str) -> Result<Option<ManagedPolicyRecord>> {
    let Some(row) = load_policy_row(db, arn, Lock::None)? else {
        return Ok(None);
    };
    let mut record = row.record;
    record.versions = db.query(
        sql!(
            "SELECT version_id, document, created FROM managed_policy_versions
             WHERE policy_id = $1 ORDER BY seq"
        ),
        params![row.id],
        version_from_row,
    )?;
    Ok(Some(record))
}

fn list_managed_policies(db: &mut dyn Db, account: &AccountId) -> Result<Vec<ManagedPolicyRecord>> {
    let rows = db.query(
        sql!(concat!(
            "SELECT ",
            policy_columns!(),
            " FROM managed_policies WHERE account = $1 ORDER BY policy_name, arn"
        )),
        params![account.as_str()],
        policy_from_row,
    )?;
    let mut versions: HashMap<i64, Vec<PolicyVersionRecord>> = HashMap::new();
    db.each(
        sql!(
            "SELECT v.policy_id, v.version_id, v.document, v.created
             FROM managed_policy_versions v JOIN managed_policies p ON p.id = v.policy_id
             WHERE p.account = $1 ORDER BY v.policy_id, v.seq"
        ),
        params![account.as_str()],
        &mut |row| {
            versions
                .entry(row.int(0)?)
                .or_default()
                .push(PolicyVersionRecord {
                    version_id: row.text(1)?,
                    document: row.text(2)?,
                    created: Timestamp(row.int(3)?),
                });
            Ok(())
        },
    )?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let mut record = row.record;
            record.versions = versions.remove(&row.id).unwrap_or_default();
            record
        })
        .collect())
}

fn version_exists(db: &mut dyn Db, policy_row_id: i64, version_id: &str) -> Result<bool> {
    db.exists(
        sql!("SELECT 1 FROM managed_policy_versions WHERE policy_id = $1 AND version_id = $2"),
        params![policy_row_id, version_id],
    )
}

fn add_policy_version(
    db: &mut dyn Db,
    arn: &str,
    version: &PolicyVersionRecord,
    set_as_default: bool,
) -> Result<()> {
    // Locking the policy's row serializes version additions, so their `seq`s differ.
    let id = policy_row_id(db, arn, Lock::Update)?;
    if version_exists(db, id, &version.version_id)? {
        return Err(StoreError::Conflict);
    }
    let seq = db.query_one(
        sql!("SELECT COALESCE(MAX(seq), 0) + 1 FROM managed_policy_versions WHERE policy_id = $1"),
        params![id],
        |row| row.int(0),
    )?;
    insert_policy_version(db, id, seq, version)?;
    db.execute(
        sql!("UPDATE managed_policies SET updated = $1 WHERE id = $2"),
        params![millis(version.created), id],
    )?;
    if set_as_default {
        db.execute(
            sql!("UPDATE managed_policies SET default_version_id = $1 WHERE id = $2"),
            params![&version.version_id, id],
        )?;
    }
    Ok(())
}

fn set_default_policy_version(db: &mut dyn Db, arn: &str, version_id: &str) -> Result<()> {
    let id = policy_row_id(db, arn, Lock::Update)?;
    if !version_exists(db, id, version_id)? {
        return Err(StoreError::NotFound(Missing::policy_version(
            arn, version_id,
        )));
    }
    db.execute(
        sql!("UPDATE managed_policies SET default_version_id = $1 WHERE id = $2"),
        params![version_id, id],
    )?;
    Ok(())
}

fn delete_policy_version(db: &mut dyn Db, arn: &str, version_id: &str) -> Result<()> {
    let row = load_policy_row(db, arn, Lock::Update)?
        .ok_or_else(|| StoreError::NotFound(Missing::ManagedPolicy(arn.to_owned())))?;
    if !version_exists(db, row.id, version_id)? {
        return Err(StoreError::NotFound(Missing::policy_version(
            arn, version_id,
        )));
    }
    if row.record.default_version_id == version_id {
        return Err(StoreError::Conflict);
    }
    db.execute(
        sql!("DELETE FROM managed_policy_versions WHERE policy_id = $1 AND version_id = $2"),
        params![row.id, version_id],
    )?;
    Ok(())
}

fn attachments(db: &mut dyn Db, arn: &str) -> Result<usize> {
    let n = db.query_one(
        sql!("SELECT count(*) FROM policy_attachments WHERE policy_arn = $1"),
        params![arn],
        |row| row.int(0),
    )?;
    Ok(count(n))
}

fn attachment_count(db: &mut dyn Db, arn: &str) -> Result<usize> {
    policy_row_id(db, arn, Lock::None)?;
    attachments(db, arn)
}

fn delete_managed_policy(db: &mut dyn Db, arn: &str) -> Result<()> {
    let id = policy_row_id(db, arn, Lock::Update)?;
    if attachments(db, arn)? > 0 {
        return Err(StoreError::Conflict);
    }
    db.execute(
        sql!("DELETE FROM managed_policy_versions WHERE policy_id = $1"),
        params![id],
    )?;
    db.execute(
        sql!("DELETE FROM managed_policies WHERE id = $1"),
        params![id],
    )?;
    Ok(())
}

fn attach_policy(db: &mut dyn Db, owner: &PrincipalName, policy_arn: &str) -> Result<()> {
    require_principal(db, owner, true)?;
    policy_row_id(db, policy_arn, Lock::Share)?;
    db.execute(
        sql!(
            "INSERT INTO policy_attachments (account, kind, principal_lower, policy_arn)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING"
        ),
        params![
            owner.account.as_str(),
            owner.kind.as_str(),
            fold(&owner.name).as_str(),
            policy_arn,
        ],
    )?;
    Ok(())
}

fn detach_policy(db: &mut dyn Db, owner: &PrincipalName, policy_arn: &str) -> Result<()> {
    let deleted = db.execute(
        sql!(
            "DELETE FROM policy_attachments
             WHERE account = $1 AND kind = $2 AND principal_lower = $3 AND policy_arn = $4"
        ),
        params![
            owner.account.as_str(),
            owner.kind.as_str(),
            fold(&owner.name).as_str(),
            policy_arn,
        ],
    )?;
    if deleted == 0 {
        return Err(StoreError::NotFound(Missing::Attachment(
            policy_arn.to_owned(),
        )));
    }
    Ok(())
}

fn list_attached_policies(db: &mut dyn Db, owner: &PrincipalName) -> Result<Vec<String>> {
    owner_names(
        db,
        owner,
        sql!(
            "SELECT policy_arn FROM policy_attachments
             WHERE account = $1 AND kind = $2 AND principal_lower = $3
             ORDER BY policy_arn"
        ),
    )
}

fn principal_policies(db: &mut dyn Db, owner: &PrincipalName) -> Result<PrincipalPolicies> {
    if !principal_exists(db, owner, false)? {
        return Ok(PrincipalPolicies::default());
    }
    let lower = fold(&owner.name);
    let args = params![owner.account.as_str(), owner.kind.as_str(), lower.as_str()];
    let pair = |row: &dyn Row| Ok((row.text(0)?, row.text(1)?));
    let inline = db.query(
        sql!(
            "SELECT policy_name, document FROM inline_policies
             WHERE account = $1 AND kind = $2 AND principal_lower = $3
             ORDER BY policy_name"
        ),
        args,
        pair,
    )?;
    let managed = db.query(
        sql!(
            "SELECT a.policy_arn, v.document
             FROM policy_attachments a
             JOIN managed_policies p ON p.arn = a.policy_arn
             JOIN managed_policy_versions v
                 ON v.policy_id = p.id AND v.version_id = p.default_version_id
             WHERE a.account = $1 AND a.kind = $2 AND a.principal_lower = $3
             ORDER BY a.policy_arn"
        ),
        args,
        pair,
    )?;
    Ok(PrincipalPolicies { inline, managed })
}

// ---- the trait, for every backend ----

impl<S: Transactions> IdentityStore for S {
    fn create_user(&self, user: &UserRecord) -> Result<()> {
        self.write_db(|db| create_user(db, user))
    }

    fn get_user(&self, account: &AccountId, user_name: &str) -> Result<Option<UserRecord>> {
        self.read_db(|db| get_user(db, account, user_name))
    }

    fn list_users(&self, account: &AccountId) -> Result<Vec<UserRecord>> {
        self.read_db(|db| list_users(db, account))
    }

    fn set_user_tags(&self, account: &AccountId, user_name: &str, tags: &[Tag]) -> Result<()> {
        self.write_db(|db| set_user_tags(db, account, user_name, tags))
    }

    fn delete_user(&self, account: &AccountId, user_name: &str) -> Result<()> {
        self.write_db(|db| delete_user(db, account, user_name))
    }

    fn list_user_access_keys(
        &self,
        account: &AccountId,
        user_name: &str,
    ) -> Result<Vec<AccessKeyRecord>> {
        self.read_db(|db| list_user_access_keys(db, account, user_name))
    }

    fn set_access_key_status(&self, access_key_id: &str, status: AccessKeyStatus) -> Result<()> {
        self.write_db(|db| set_access_key_status(db, access_key_id, status))
    }

    fn delete_access_key(&self, access_key_id: &str) -> Result<()> {
        self.write_db(|db| delete_access_key(db, access_key_id))
    }

    fn put_session_key(&self, key: &AccessKeyRecord, session: &SessionRecord) -> Result<()> {
        self.write_db(|db| put_session_key(db, key, session))
    }

    fn get_session(&self, access_key_id: &str) -> Result<Option<SessionRecord>> {
        self.read_db(|db| get_session(db, access_key_id))
    }

    fn purge_expired_sessions(&self, now: Timestamp) -> Result<usize> {
        self.write_db(|db| purge_expired_sessions(db, now))
    }

    fn create_role(&self, role: &RoleRecord) -> Result<()> {
        self.write_db(|db| create_role(db, role))
    }

    fn get_role(&self, account: &AccountId, role_name: &str) -> Result<Option<RoleRecord>> {
        self.read_db(|db| get_role(db, account, role_name))
    }

    fn list_roles(&self, account: &AccountId) -> Result<Vec<RoleRecord>> {
        self.read_db(|db| list_roles(db, account))
    }

    fn update_role_trust_policy(
        &self,
        account: &AccountId,
        role_name: &str,
        document: &str,
    ) -> Result<()> {
        self.write_db(|db| update_role_trust_policy(db, account, role_name, document))
    }

    fn delete_role(&self, account: &AccountId, role_name: &str) -> Result<()> {
        self.write_db(|db| delete_role(db, account, role_name))
    }

    fn put_inline_policy(
        &self,
        owner: &PrincipalName,
        policy_name: &str,
        document: &str,
    ) -> Result<()> {
        self.write_db(|db| put_inline_policy(db, owner, policy_name, document))
    }

    fn get_inline_policy(
        &self,
        owner: &PrincipalName,
        policy_name: &str,
    ) -> Result<Option<String>> {
        self.read_db(|db| get_inline_policy(db, owner, policy_name))
    }

    fn list_inline_policies(&self, owner: &PrincipalName) -> Result<Vec<String>> {
        self.read_db(|db| list_inline_policies(db, owner))
    }

    fn delete_inline_policy(&self, owner: &PrincipalName, policy_name: &str) -> Result<()> {
        self.write_db(|db| delete_inline_policy(db, owner, policy_name))
    }

    fn create_managed_policy(&self, policy: &ManagedPolicyRecord) -> Result<()> {
        self.write_db(|db| create_managed_policy(db, policy))
    }

    fn get_managed_policy(&self, arn: &str) -> Result<Option<ManagedPolicyRecord>> {
        self.read_db(|db| get_managed_policy(db, arn))
    }

    fn list_managed_policies(&self, account: &AccountId) -> Result<Vec<ManagedPolicyRecord>> {
        self.read_db(|db| list_managed_policies(db, account))
    }

    fn add_policy_version(
        &self,
        arn: &str,
        version: &PolicyVersionRecord,
        set_as_default: bool,
    ) -> Result<()> {
        self.write_db(|db| add_policy_version(db, arn, version, set_as_default))
    }

    fn set_default_policy_version(&self, arn: &str, version_id: &str) -> Result<()> {
        self.write_db(|db| set_default_policy_version(db, arn, version_id))
    }

    fn delete_policy_version(&self, arn: &str, version_id: &str) -> Result<()> {
        self.write_db(|db| delete_policy_version(db, arn, version_id))
    }

    fn managed_policy_attachment_count(&self, arn: &str) -> Result<usize> {
        self.read_db(|db| attachment_count(db, arn))
    }

    fn delete_managed_policy(&self, arn: &str) -> Result<()> {
        self.write_db(|db| delete_managed_policy(db, arn))
    }

    fn attach_policy(&self, owner: &PrincipalName, policy_arn: &str) -> Result<()> {
        self.write_db(|db| attach_policy(db, owner, policy_arn))
    }

    fn detach_policy(&self, owner: &PrincipalName, policy_arn: &str) -> Result<()> {
        self.write_db(|db| detach_policy(db, owner, policy_arn))
    }

    fn list_attached_policies(&self, owner: &PrincipalName) -> Result<Vec<String>> {
        self.read_db(|db| list_attached_policies(db, owner))
    }

    fn principal_policies(&self, owner: &PrincipalName) -> Result<PrincipalPolicies> {
        self.read_db(|db| principal_policies(db, owner))
    }
}
