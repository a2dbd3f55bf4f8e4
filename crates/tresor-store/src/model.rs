//! The records the store keeps. Everything here is ciphertext or metadata: the store never sees
//! a plaintext secret value, key or access-key secret.

use tresor_types::{AccountId, Region, Timestamp};

/// The (account, region) a request acts in. Secrets, keys and names live per scope, as in AWS.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    pub account: AccountId,
    pub region: Region,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// A secret scheduled for deletion: `deleted_date` is when `DeleteSecret` was called,
/// `purge_after` when the recovery window ends and the secret may be removed for good.
/// What a listing of secrets is ordered by; ties are broken by ARN, in the same direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretSort {
    Name,
    Created,
    LastChanged,
    /// Never-read secrets (no `LastAccessedDate`) first in ascending order.
    LastAccessed,
}

/// The order of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListOrder {
    pub by: SecretSort,
    pub descending: bool,
}

/// The sort value of a secret in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortValue {
    Text(String),
    /// Milliseconds; -1 for a secret never read (`SecretSort::LastAccessed`).
    Millis(i64),
}

/// Where the next page of a listing starts: just past the secret with this sort value and
/// ARN, in the listing's direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCursor {
    pub value: SortValue,
    pub arn: String,
}

impl ListOrder {
    /// By name, ascending: the order of `Store::list_secrets`.
    pub const BY_NAME: Self = Self {
        by: SecretSort::Name,
        descending: false,
    };

    /// The cursor that continues this listing after `record`.
    pub fn cursor_after(&self, record: &SecretRecord) -> ListCursor {
        let value = match self.by {
            SecretSort::Name => SortValue::Text(record.name.clone()),
            SecretSort::Created => SortValue::Millis(record.created.millis()),
            SecretSort::LastChanged => SortValue::Millis(record.last_changed.millis()),
            SecretSort::LastAccessed => {
                SortValue::Millis(record.last_accessed.map_or(-1, Timestamp::millis))
            }
        };
        ListCursor {
            value,
            arn: record.arn.clone(),
        }
    }

    /// Whether `cursor` holds the kind of value this order sorts by.
    pub fn fits(&self, cursor: &ListCursor) -> bool {
        matches!(
            (self.by, &cursor.value),
            (SecretSort::Name, SortValue::Text(_))
                | (
                    SecretSort::Created | SecretSort::LastChanged | SecretSort::LastAccessed,
                    SortValue::Millis(_)
                )
        )
    }
}

/// How a secret is looked up: by ARN, or by name within a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKey<'a> {
    Arn(&'a str),
    Name(&'a Scope, &'a str),
}

/// Which version's sealed value [`crate::Store::find_secret_value`] reads with a secret: the
/// one named by id, else the one carrying `stage` (`AWSCURRENT` when not given), as
/// `GetSecretValue` picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VersionPick<'a> {
    pub version_id: Option<&'a str>,
    pub stage: Option<&'a str>,
}

impl VersionPick<'_> {
    /// The stage a pick without a version id or stage reads.
    pub const CURRENT: &'static str = "AWSCURRENT";

    /// Where the picked version is among `versions` (the first that [`Self::matches`]), if it
    /// is there.
    pub fn position(&self, versions: &[VersionMeta]) -> Option<usize> {
        versions.iter().position(|v| self.matches(v))
    }

    /// Whether `version` is the one picked: it has the id, or (without one) carries the stage.
    pub fn matches(&self, version: &VersionMeta) -> bool {
        match self.version_id {
            Some(id) => version.version_id == id,
            None => {
                let stage = self.stage.unwrap_or(Self::CURRENT);
                version.stages.iter().any(|s| s == stage)
            }
        }
    }
}

/// The sealed value of one version, as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedValue {
    pub version_id: String,
    pub envelope: Vec<u8>,
}

impl std::fmt::Debug for SealedValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedValue")
            .field("version_id", &self.version_id)
            .field("envelope_len", &self.envelope.len())
            .finish()
    }
}

/// Which old versions a write that adds a version removes: while the secret has more than
/// `keep` versions, the oldest one without a staging label created before `created_before`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionPruning {
    pub keep: usize,
    pub created_before: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deletion {
    pub deleted_date: Timestamp,
    pub purge_after: Timestamp,
}

/// One version's metadata (the sealed value is kept apart and read only when needed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionMeta {
    pub version_id: String,
    /// Staging labels on this version; empty means the version is deprecated.
    pub stages: Vec<String>,
    pub created: Timestamp,
    pub last_accessed: Option<Timestamp>,
    /// Keyed MAC of the value (never the value itself), used to decide whether a repeated
    /// `ClientRequestToken` carries the same value without decrypting anything.
    pub value_digest: Vec<u8>,
    /// The KMS key id the version's data key is wrapped under.
    pub kms_key_id: String,
}

/// A secret and the metadata of all its versions, oldest version first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRecord {
    pub scope: Scope,
    pub arn: String,
    pub name: String,
    pub description: Option<String>,
    /// The key the caller asked for (`KmsKeyId`), or `None` for the default key.
    pub kms_key_id: Option<String>,
    pub tags: Vec<Tag>,
    pub resource_policy: Option<String>,
    /// Rotation configuration as the core serializes it (opaque to the store).
    pub rotation: Option<String>,
    /// Replication state as the core serializes it (opaque to the store): on a primary, its
    /// replicas and their status; on a replica, the region of its primary.
    pub replication: Option<String>,
    pub created: Timestamp,
    pub last_changed: Timestamp,
    pub last_accessed: Option<Timestamp>,
    pub deletion: Option<Deletion>,
    pub versions: Vec<VersionMeta>,
}

impl SecretRecord {
    pub fn version(&self, version_id: &str) -> Option<&VersionMeta> {
        self.versions.iter().find(|v| v.version_id == version_id)
    }
    pub fn version_with_stage(&self, stage: &str) -> Option<&VersionMeta> {
        self.versions
            .iter()
            .find(|v| v.stages.iter().any(|s| s == stage))
    }
}

/// A new version's sealed value (the envelope bytes from `tresor-crypto`).
#[derive(Clone, PartialEq, Eq)]
pub struct SealedVersion {
    pub version_id: String,
    pub envelope: Vec<u8>,
}

impl std::fmt::Debug for SealedVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SealedVersion({}, {} bytes)",
            self.version_id,
            self.envelope.len()
        )
    }
}

/// An open read-modify-write of one secret. The closure given to `Store::update_secret`
/// edits `record` freely (metadata, tags, stages of existing versions, the `versions` list) and
/// registers sealed values for versions it adds; the store writes the difference atomically.
#[derive(Debug)]
pub struct SecretTxn {
    pub record: SecretRecord,
    pub(crate) new_envelopes: Vec<SealedVersion>,
    /// Stored versions whose sealed value is replaced (see [`SecretTxn::reseal_version`]).
    pub(crate) resealed: Vec<SealedVersion>,
    /// Stored versions not in `record.versions` (see `Store::add_secret_version`).
    pub(crate) unloaded: usize,
}

impl SecretTxn {
    pub fn new(record: SecretRecord) -> Self {
        Self {
            record,
            new_envelopes: Vec::new(),
            resealed: Vec::new(),
            unloaded: 0,
        }
    }
    /// A transaction that holds some of the secret's versions; `unloaded` more are stored.
    pub(crate) fn partial(record: SecretRecord, unloaded: usize) -> Self {
        Self {
            unloaded,
            ..Self::new(record)
        }
    }
    /// How many stored versions this transaction did not load (and will not change): 0 for
    /// `Store::update_secret`.
    pub fn unloaded_versions(&self) -> usize {
        self.unloaded
    }
    /// How many versions the secret has once this transaction is written: the unloaded ones
    /// stay as they are.
    pub(crate) fn stored_versions(&self) -> usize {
        self.unloaded.saturating_add(self.record.versions.len())
    }
    /// Add a version: its metadata goes to the end of `record.versions`, its envelope is stored.
    pub fn add_version(&mut self, meta: VersionMeta, envelope: Vec<u8>) {
        self.new_envelopes.push(SealedVersion {
            version_id: meta.version_id.clone(),
            envelope,
        });
        self.record.versions.push(meta);
    }
    /// Versions removed from `record.versions` are deleted with their envelopes.
    pub fn remove_version(&mut self, version_id: &str) {
        self.record.versions.retain(|v| v.version_id != version_id);
        self.new_envelopes.retain(|v| v.version_id != version_id);
        self.resealed.retain(|v| v.version_id != version_id);
    }
    pub fn new_envelopes(&self) -> &[SealedVersion] {
        &self.new_envelopes
    }
    /// Replace the sealed value of the loaded version `version_id` and the key it is sealed
    /// under (the same value sealed under another KMS key, when a secret's key changes). Its
    /// id, labels, creation date and digest stay. Answers whether the version is loaded; one
    /// that is not is left alone.
    pub fn reseal_version(
        &mut self,
        version_id: &str,
        envelope: Vec<u8>,
        kms_key_id: &str,
    ) -> bool {
        let Some(meta) = self
            .record
            .versions
            .iter_mut()
            .find(|v| v.version_id == version_id)
        else {
            return false;
        };
        meta.kms_key_id = kms_key_id.to_owned();
        match self
            .new_envelopes
            .iter_mut()
            .chain(self.resealed.iter_mut())
            .find(|s| s.version_id == version_id)
        {
            Some(sealed) => sealed.envelope = envelope,
            None => self.resealed.push(SealedVersion {
                version_id: version_id.to_owned(),
                envelope,
            }),
        }
        true
    }
    /// The versions [`SecretTxn::reseal_version`] gave a new sealed value.
    pub fn resealed(&self) -> &[SealedVersion] {
        &self.resealed
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessKeyStatus {
    Active,
    Inactive,
}

impl AccessKeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Inactive => "Inactive",
        }
    }
}

/// An access key. The secret half is sealed by the keyring (`sealed_secret`), never stored plain.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKeyRecord {
    pub access_key_id: String,
    pub account: AccountId,
    /// ARN of the principal the key belongs to (`arn:aws:iam::<acct>:root` for the root).
    pub principal_arn: String,
    /// IAM user name, `None` for the account root.
    pub user_name: Option<String>,
    pub sealed_secret: Vec<u8>,
    pub status: AccessKeyStatus,
    pub created: Timestamp,
}

impl std::fmt::Debug for AccessKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKeyRecord")
            .field("access_key_id", &self.access_key_id)
            .field("account", &self.account)
            .field("principal_arn", &self.principal_arn)
            .field("user_name", &self.user_name)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// A KMS key: one or more versions of wrapped 256-bit material (rotation adds a version; old
/// versions stay so that old ciphertexts still open).
#[derive(Clone, PartialEq, Eq)]
pub struct KmsKeyRecord {
    pub scope: Scope,
    pub key_id: String,
    pub arn: String,
    /// Alias such as `alias/aws/secretsmanager`, if any.
    pub alias: Option<String>,
    pub description: String,
    pub created: Timestamp,
    /// (version number, material wrapped by the root key), ascending by version.
    pub versions: Vec<(u32, Vec<u8>)>,
}

impl std::fmt::Debug for KmsKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KmsKeyRecord")
            .field("key_id", &self.key_id)
            .field("alias", &self.alias)
            .field("versions", &self.versions.len())
            .finish_non_exhaustive()
    }
}
