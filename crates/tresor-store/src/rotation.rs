//! Rotation's state besides the secrets themselves: the registered rotators (what runs a
//! secret's rotation in place of a Lambda function) and their logs (each step's outcome and
//! the rotator's captured output, size-capped).
//!
//! A secret's rotation configuration and the state of a rotation in progress (token, attempt,
//! lease) live in the secret's own row (`SecretRecord::rotation`, opaque JSON the core owns),
//! so they change in the same transaction as the secret's versions and labels;
//! [`RotationStore::rotating_secrets`] finds the secrets that have one.

use tresor_types::{AccountId, Timestamp};

use crate::{Result, Scope};

/// A registered rotator. Its ARN keeps the shape of a Lambda function's
/// (`arn:aws:lambda:<region>:<account>:function:<name>`), so `RotationLambdaARN` written for
/// AWS names it unchanged.
#[derive(Clone, PartialEq, Eq)]
pub struct RotatorRecord {
    pub scope: Scope,
    /// Unique in its scope (account and region).
    pub name: String,
    pub arn: String,
    /// `command`, `webhook`, `openai`, `openrouter` or `manual`.
    pub kind: String,
    /// The rotator's settings as the core serializes them (opaque to the store; no secret in
    /// it).
    pub config_json: String,
    /// A secret the rotator needs, sealed by the keyring (a webhook's signing secret).
    pub sealed_secret: Option<Vec<u8>>,
    pub created: Timestamp,
}

impl std::fmt::Debug for RotatorRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RotatorRecord")
            .field("arn", &self.arn)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// One step a rotator ran, as `tresor rotator logs` shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct RotatorLogRecord {
    pub account: AccountId,
    pub rotator_arn: String,
    pub secret_arn: String,
    /// The rotation's token (the pending version's id).
    pub version_id: String,
    /// `createSecret`, `setSecret`, `testSecret`, `finishSecret` (or `revoke` for a built-in
    /// rotator's removal of a previous provider key).
    pub step: String,
    pub time: Timestamp,
    /// `ok`, `failed`, `timeout` or `waiting`.
    pub outcome: String,
    /// A one-line summary without any output (exit status, HTTP status): this is what the
    /// audit trail may show.
    pub summary: String,
    /// What the rotator wrote, each capped by the caller (never in the audit trail).
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub duration_ms: i64,
}

impl std::fmt::Debug for RotatorLogRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RotatorLogRecord")
            .field("rotator_arn", &self.rotator_arn)
            .field("secret_arn", &self.secret_arn)
            .field("step", &self.step)
            .field("outcome", &self.outcome)
            .finish_non_exhaustive()
    }
}

/// How many log entries a rotator keeps; older ones are dropped when a new one is appended.
pub const ROTATOR_LOG_KEEP: usize = 500;

/// Rotators and their logs. Every method is one atomic unit, and joins the transaction of
/// [`crate::Store::atomically`] when called inside one (as the gateway's methods do).
pub trait RotationStore {
    /// Register a rotator; `Err(StoreError::Conflict)` if the name is taken in its scope.
    fn create_rotator(&self, rotator: &RotatorRecord) -> Result<()>;
    fn get_rotator(&self, scope: &Scope, name: &str) -> Result<Option<RotatorRecord>>;
    /// Every rotator of a scope, by name.
    fn list_rotators(&self, scope: &Scope) -> Result<Vec<RotatorRecord>>;
    /// Remove a rotator and its logs; `false` if there was none.
    fn delete_rotator(&self, scope: &Scope, name: &str) -> Result<bool>;
    /// Append a log entry, dropping the rotator's oldest beyond [`ROTATOR_LOG_KEEP`].
    fn append_rotator_log(&self, entry: &RotatorLogRecord) -> Result<()>;
    /// A rotator's log entries, newest first, at most `limit`, optionally only those of one
    /// secret.
    fn rotator_logs(
        &self,
        rotator_arn: &str,
        secret_arn: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RotatorLogRecord>>;
    /// The ARNs of every secret (all accounts and regions) whose rotation column is set and
    /// that is not scheduled for deletion, with that column.
    fn rotating_secrets(&self) -> Result<Vec<(String, String)>>;
}
