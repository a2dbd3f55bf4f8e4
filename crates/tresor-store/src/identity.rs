//! Identities and their policies (the IAM subset) and temporary sessions (STS): records and
//! the `IdentityStore` trait. Like everything in the store, secrets appear only sealed.

use tresor_types::{AccountId, Timestamp};

use crate::{Result, Tag};

/// An IAM user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub account: AccountId,
    pub user_name: String,
    /// `AIDA…`, stable for the user's life (never reused after deletion).
    pub user_id: String,
    pub arn: String,
    pub path: String,
    pub tags: Vec<Tag>,
    pub created: Timestamp,
}

/// An IAM role with its trust policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRecord {
    pub account: AccountId,
    pub role_name: String,
    /// `AROA…`.
    pub role_id: String,
    pub arn: String,
    pub path: String,
    pub description: Option<String>,
    /// The trust policy document (JSON text as given).
    pub assume_role_policy: String,
    pub max_session_duration: i64,
    pub tags: Vec<Tag>,
    pub created: Timestamp,
}

/// One version of a managed policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersionRecord {
    /// `v1`, `v2`, …
    pub version_id: String,
    pub document: String,
    pub created: Timestamp,
}

/// A customer managed policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedPolicyRecord {
    pub account: AccountId,
    pub policy_name: String,
    /// `ANPA…`.
    pub policy_id: String,
    pub arn: String,
    pub path: String,
    pub description: Option<String>,
    pub default_version_id: String,
    /// Ascending by creation.
    pub versions: Vec<PolicyVersionRecord>,
    pub created: Timestamp,
    pub updated: Timestamp,
}

impl ManagedPolicyRecord {
    pub fn default_document(&self) -> Option<&str> {
        self.versions
            .iter()
            .find(|v| v.version_id == self.default_version_id)
            .map(|v| v.document.as_str())
    }
}

/// Whom an inline policy or an attachment belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    User,
    Role,
    Group,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Role => "role",
            Self::Group => "group",
        }
    }
}

/// A named principal of an account: (kind, name).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PrincipalName {
    pub account: AccountId,
    pub kind: PrincipalKind,
    pub name: String,
}

/// The identity policies that apply to a principal, as stored: inline documents by name and
/// the default-version documents of attached managed policies by ARN.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrincipalPolicies {
    pub inline: Vec<(String, String)>,
    pub managed: Vec<(String, String)>,
}

/// What makes an access key temporary (STS `AssumeRole`): the role it acts as and until when.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// Keyed digest of the session token (the token itself is never stored).
    pub token_digest: Vec<u8>,
    pub expires: Timestamp,
    pub role_name: String,
    pub role_id: String,
    pub role_arn: String,
    pub session_name: String,
    /// A session policy passed to `AssumeRole`, which can only narrow the role's permissions.
    pub session_policy: Option<String>,
}

impl std::fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRecord")
            .field("expires", &self.expires)
            .field("role_arn", &self.role_arn)
            .field("session_name", &self.session_name)
            .finish_non_exhaustive()
    }
}

/// Identities, policies and sessions. Each method is atomic. Names are unique per account
/// (user, role and managed-policy names case-insensitively, as in IAM), and a user or role is
/// found by its name case-insensitively too: `get_user(acct, "ALICE")` finds `alice`, with the
/// name as it was created. Inline policy names and ARNs compare exactly.
///
/// Groups are not stored (yet): a [`PrincipalName`] of kind `Group` never exists, so the
/// methods that need an existing principal answer `NotFound` for it.
pub trait IdentityStore {
    // ---- users ----
    /// `StoreError::Conflict` if the name is taken (case-insensitively), or the user id or ARN.
    fn create_user(&self, user: &UserRecord) -> Result<()>;
    fn get_user(&self, account: &AccountId, user_name: &str) -> Result<Option<UserRecord>>;
    /// Users of an account ordered by name (bytewise).
    fn list_users(&self, account: &AccountId) -> Result<Vec<UserRecord>>;
    /// Replace a user's tags. `NotFound` if the user is missing.
    fn set_user_tags(&self, account: &AccountId, user_name: &str, tags: &[Tag]) -> Result<()>;
    /// Delete a user. `StoreError::Conflict` if it still has access keys, inline policies or
    /// attached policies (IAM's `DeleteConflict`); `NotFound` if missing.
    fn delete_user(&self, account: &AccountId, user_name: &str) -> Result<()>;

    // ---- access keys (created with `Store::put_access_key`, sessions' with `put_session_key`) ----
    /// Access keys of a user (not sessions), oldest first (ties by id). A key belongs to the
    /// user whose name matches its `user_name` case-insensitively. `NotFound` if the user is
    /// missing.
    fn list_user_access_keys(
        &self,
        account: &AccountId,
        user_name: &str,
    ) -> Result<Vec<crate::AccessKeyRecord>>;
    /// `NotFound` if the key is missing.
    fn set_access_key_status(
        &self,
        access_key_id: &str,
        status: crate::AccessKeyStatus,
    ) -> Result<()>;
    /// Delete any access key (a session key takes its session with it). `NotFound` if missing.
    fn delete_access_key(&self, access_key_id: &str) -> Result<()>;
    /// Store a session's temporary key with its session record (one atomic insert).
    /// `Conflict` if the key id exists.
    fn put_session_key(&self, key: &crate::AccessKeyRecord, session: &SessionRecord) -> Result<()>;
    /// The session of a temporary key; `None` for a missing key or a long-term one.
    fn get_session(&self, access_key_id: &str) -> Result<Option<SessionRecord>>;
    /// Delete session keys that expired at or before `now`; returns how many.
    fn purge_expired_sessions(&self, now: Timestamp) -> Result<usize>;

    // ---- roles ----
    /// `Conflict` if the name is taken (case-insensitively), or the role id or ARN.
    fn create_role(&self, role: &RoleRecord) -> Result<()>;
    fn get_role(&self, account: &AccountId, role_name: &str) -> Result<Option<RoleRecord>>;
    /// Roles of an account ordered by name (bytewise).
    fn list_roles(&self, account: &AccountId) -> Result<Vec<RoleRecord>>;
    /// `NotFound` if the role is missing.
    fn update_role_trust_policy(
        &self,
        account: &AccountId,
        role_name: &str,
        document: &str,
    ) -> Result<()>;
    /// `Conflict` if it still has inline or attached policies; `NotFound` if missing.
    fn delete_role(&self, account: &AccountId, role_name: &str) -> Result<()>;

    // ---- inline policies ----
    /// Create or replace. `NotFound` if the principal doesn't exist.
    fn put_inline_policy(
        &self,
        owner: &PrincipalName,
        policy_name: &str,
        document: &str,
    ) -> Result<()>;
    /// `None` if the policy (or the principal) is missing.
    fn get_inline_policy(&self, owner: &PrincipalName, policy_name: &str)
        -> Result<Option<String>>;
    /// Names, sorted. `NotFound` if the principal doesn't exist.
    fn list_inline_policies(&self, owner: &PrincipalName) -> Result<Vec<String>>;
    /// `NotFound` if the policy is missing.
    fn delete_inline_policy(&self, owner: &PrincipalName, policy_name: &str) -> Result<()>;

    // ---- managed policies ----
    /// `Conflict` if the name (case-insensitively, per account), the ARN or the policy id is
    /// taken. The record must hold at least one version, with distinct ids, and its
    /// `default_version_id` must be one of them (else `StoreError::Backend`: a caller bug).
    fn create_managed_policy(&self, policy: &ManagedPolicyRecord) -> Result<()>;
    fn get_managed_policy(&self, arn: &str) -> Result<Option<ManagedPolicyRecord>>;
    /// Policies of an account ordered by name (bytewise), then ARN.
    fn list_managed_policies(&self, account: &AccountId) -> Result<Vec<ManagedPolicyRecord>>;
    /// Add a version (`CreatePolicyVersion`) at the end of `versions`, making it the default if
    /// `set_as_default`; `updated` becomes the version's `created`. `NotFound` if the policy is
    /// missing; `Conflict` if the version id exists. (Limits such as IAM's five versions are
    /// the caller's.)
    fn add_policy_version(
        &self,
        arn: &str,
        version: &PolicyVersionRecord,
        set_as_default: bool,
    ) -> Result<()>;
    /// `NotFound` if the policy or the version is missing.
    fn set_default_policy_version(&self, arn: &str, version_id: &str) -> Result<()>;
    /// `NotFound` if the policy or the version is missing; `Conflict` if it is the default.
    fn delete_policy_version(&self, arn: &str, version_id: &str) -> Result<()>;
    /// How many principals the policy is attached to. `NotFound` if the policy is missing.
    fn managed_policy_attachment_count(&self, arn: &str) -> Result<usize>;
    /// `Conflict` if still attached; `NotFound` if missing.
    fn delete_managed_policy(&self, arn: &str) -> Result<()>;
    /// Attach (idempotent). `NotFound` if the principal or policy is missing.
    fn attach_policy(&self, owner: &PrincipalName, policy_arn: &str) -> Result<()>;
    /// `NotFound` if it was not attached.
    fn detach_policy(&self, owner: &PrincipalName, policy_arn: &str) -> Result<()>;
    /// ARNs attached to the principal, sorted. `NotFound` if the principal doesn't exist.
    fn list_attached_policies(&self, owner: &PrincipalName) -> Result<Vec<String>>;

    /// Everything needed to authorize a request of this principal, read in one snapshot:
    /// inline documents (sorted by name) and the default versions of attached managed policies
    /// (sorted by ARN). A missing principal has no policies (empty, not an error), so that a
    /// request racing the principal's deletion is simply denied.
    fn principal_policies(&self, owner: &PrincipalName) -> Result<PrincipalPolicies>;
}
