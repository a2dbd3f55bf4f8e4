//! KMS key management state beyond a key's wrapped material ([`crate::KmsKeyRecord`]): its
//! state and deletion date, who manages it, its key policy, tags, rotation settings and the
//! history of its versions, and aliases (their own table: many aliases per key, each unique
//! in its scope). The core decides every rule (state transitions, validity of names and
//! periods); the store only keeps what it is given, atomically.

use tresor_types::Timestamp;

use crate::{KmsKeyRecord, Result, Scope, Tag};

/// A key's `KeyState` as KMS names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KmsKeyState {
    Enabled,
    Disabled,
    PendingDeletion,
}

impl KmsKeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "Enabled",
            Self::Disabled => "Disabled",
            Self::PendingDeletion => "PendingDeletion",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Enabled" => Some(Self::Enabled),
            "Disabled" => Some(Self::Disabled),
            "PendingDeletion" => Some(Self::PendingDeletion),
            _ => None,
        }
    }
}

/// `KeyManager`: `AWS` for the managed `alias/aws/…` keys, `CUSTOMER` for `CreateKey`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyManager {
    Aws,
    Customer,
}

impl KeyManager {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Aws => "AWS",
            Self::Customer => "CUSTOMER",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "AWS" => Some(Self::Aws),
            "CUSTOMER" => Some(Self::Customer),
            _ => None,
        }
    }
}

/// What a key is besides its material: everything management operations change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsKeyMeta {
    pub state: KmsKeyState,
    /// When a key pending deletion is destroyed.
    pub deletion_date: Option<Timestamp>,
    pub key_manager: KeyManager,
    /// The key policy document; `None` for a managed key whose policy the core supplies.
    pub policy: Option<String>,
    pub tags: Vec<Tag>,
    pub rotation_enabled: bool,
    /// `RotationPeriodInDays` (kept when rotation is disabled, as AWS shows it again).
    pub rotation_period_days: u32,
    /// When automatic rotation next adds a version (set while rotation is enabled).
    pub next_rotation: Option<Timestamp>,
}

impl KmsKeyMeta {
    /// A new customer key: enabled, no tags, automatic rotation off, AWS's default period.
    pub fn customer(policy: String) -> Self {
        Self {
            state: KmsKeyState::Enabled,
            deletion_date: None,
            key_manager: KeyManager::Customer,
            policy: Some(policy),
            tags: Vec::new(),
            rotation_enabled: false,
            rotation_period_days: 365,
            next_rotation: None,
        }
    }
}

/// How a key version came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyVersionOrigin {
    /// The material the key was created with.
    Created,
    Automatic,
    OnDemand,
}

impl KeyVersionOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "CREATED",
            Self::Automatic => "AUTOMATIC",
            Self::OnDemand => "ON_DEMAND",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "CREATED" => Some(Self::Created),
            "AUTOMATIC" => Some(Self::Automatic),
            "ON_DEMAND" => Some(Self::OnDemand),
            _ => None,
        }
    }
}

/// One version of a key's material, without the material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsKeyVersionInfo {
    pub version: u32,
    pub created: Timestamp,
    pub origin: KeyVersionOrigin,
}

/// An alias: a name (`alias/…`) unique in its scope, naming one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsAliasRecord {
    pub scope: Scope,
    pub name: String,
    pub key_id: String,
    pub created: Timestamp,
    pub updated: Timestamp,
}

/// KMS key management. Every method is one atomic unit, and joins the transaction of
/// [`crate::Store::atomically`] when called inside one.
pub trait KmsStore {
    /// Store a new key with its metadata; `Conflict` if its id, ARN or alias is taken.
    fn create_kms_key(&self, key: &KmsKeyRecord, meta: &KmsKeyMeta) -> Result<()>;
    fn get_kms_key_meta(&self, scope: &Scope, key_id: &str) -> Result<Option<KmsKeyMeta>>;
    /// Replace a key's metadata; `NotFound` if there is no such key.
    fn put_kms_key_meta(&self, scope: &Scope, key_id: &str, meta: &KmsKeyMeta) -> Result<()>;
    /// Replace a key's description; `NotFound` if there is no such key.
    fn set_kms_key_description(&self, scope: &Scope, key_id: &str, description: &str)
        -> Result<()>;
    /// Add a version of a key's material; `Conflict` if that version exists (two rotations
    /// at once: one wins), `NotFound` if the key does not.
    fn add_kms_key_version(
        &self,
        scope: &Scope,
        key_id: &str,
        info: &KmsKeyVersionInfo,
        wrapped: &[u8],
    ) -> Result<()>;
    /// A key's versions, ascending.
    fn kms_key_versions(&self, scope: &Scope, key_id: &str) -> Result<Vec<KmsKeyVersionInfo>>;
    /// `(key id, ARN)` of a scope's keys by key id, after `after`, at most `limit`.
    fn list_kms_keys(
        &self,
        scope: &Scope,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>>;
    /// Destroy a key for good: its row, every version of its material, its aliases.
    /// `false` if there was none.
    fn destroy_kms_key(&self, scope: &Scope, key_id: &str) -> Result<bool>;
    /// Keys of every scope whose deletion date is at or before `now`, at most `limit`,
    /// soonest first: what the periodic sweep destroys.
    fn kms_keys_due_for_destruction(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<(Scope, String)>>;
    /// `Conflict` if the name is taken in its scope, `NotFound` if the key does not exist.
    fn create_kms_alias(&self, alias: &KmsAliasRecord) -> Result<()>;
    fn get_kms_alias(&self, scope: &Scope, name: &str) -> Result<Option<KmsAliasRecord>>;
    /// Point an existing alias at another key; `false` if there is no such alias.
    fn update_kms_alias(
        &self,
        scope: &Scope,
        name: &str,
        key_id: &str,
        now: Timestamp,
    ) -> Result<bool>;
    /// `false` if there was no such alias.
    fn delete_kms_alias(&self, scope: &Scope, name: &str) -> Result<bool>;
    /// A scope's aliases by name (only `key_id`'s if given), after `after`, at most `limit`.
    fn list_kms_aliases(
        &self,
        scope: &Scope,
        key_id: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<KmsAliasRecord>>;
}
