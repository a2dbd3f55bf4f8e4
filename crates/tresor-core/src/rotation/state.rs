//! A secret's rotation, as its row keeps it (`SecretRecord::rotation`, JSON): the configuration
//! `RotateSecret` set, the dates DescribeSecret shows, and the rotation in progress, if any,
//! with the lease of the node running it. It changes only inside the secret's transaction.

use serde::{Deserialize, Serialize};
use tresor_store::SecretRecord;
use tresor_types::Timestamp;

use super::schedule::Schedule;
use crate::secretsmanager::dto::RotationRulesType;
use crate::secretsmanager::{AWSCURRENT, AWSPENDING};

/// How a rotation ended, as `tresor rotation status` shows it.
pub const SUCCEEDED: &str = "succeeded";
pub const FAILED: &str = "failed";
pub const ABANDONED: &str = "abandoned";

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct RotationState {
    /// `RotationEnabled`: on from a RotateSecret that configured it, off after
    /// CancelRotateSecret (the configuration stays visible).
    pub enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lambda_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules: Option<RotationRulesType>,
    /// Epoch milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_rotated: Option<i64>,
    /// The start of the next window: when the scheduler starts the next rotation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_rotation: Option<i64>,
    /// `NextRotationDate` as AWS shows it: the last second of that window ("on or before").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_rotation_date: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<Run>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_result: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Provider keys replaced by a built-in rotator, to revoke once their grace period ends.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub revocations: Vec<Revocation>,
}

/// A rotation in progress.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct Run {
    /// The `ClientRequestToken`: the pending version's id.
    pub token: String,
    pub started: i64,
    /// Attempts made (each runs the steps from `createSecret`).
    pub attempts: u32,
    /// When the next attempt may start.
    pub next_attempt: i64,
    /// `RotateImmediately=false`: only `testSecret` runs, then the pending version goes.
    pub test_only: bool,
    /// A manual rotation waiting for a person to put the new value.
    pub waiting: bool,
    /// The node running it and until when its claim holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease: Option<Lease>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct Lease {
    pub owner: String,
    pub until: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct Revocation {
    pub rotator_arn: String,
    pub key_id: String,
    pub due: i64,
    pub attempts: u32,
}

impl RotationState {
    /// The state a record keeps; `None` if rotation was never configured (or the column is
    /// unreadable, which the core never writes).
    pub fn of(record: &SecretRecord) -> Option<Self> {
        record
            .rotation
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
    }

    /// Write it into the record.
    pub fn store(&self, record: &mut SecretRecord) {
        record.rotation = serde_json::to_string(self).ok();
    }

    pub fn schedule(&self) -> Option<Schedule> {
        self.rules.as_ref().and_then(|r| Schedule::parse(r).ok())
    }

    /// Schedule the next rotation in the first window after `last` (none without a
    /// schedule).
    pub fn schedule_from(&mut self, last: Timestamp) {
        let window = self.schedule().map(|s| s.next_window(last));
        self.next_rotation = window.map(|w| w.start.millis());
        self.next_rotation_date = window.map(|w| w.next_rotation_date().millis());
    }

    /// The start of the first window after `last`, if a schedule is set.
    pub fn next_window_start(&self, last: Timestamp) -> Option<i64> {
        self.schedule().map(|s| s.next_window(last).start.millis())
    }

    /// Whether the run is held by a live lease at `now`.
    pub fn leased(&self, now: Timestamp) -> bool {
        self.run
            .as_ref()
            .and_then(|r| r.lease.as_ref())
            .is_some_and(|l| l.until > now.millis())
    }

    /// Whether something is due at `now`: a scheduled rotation, an attempt of the one in
    /// progress whose lease ran out, or a revocation.
    pub fn due(&self, now: Timestamp) -> bool {
        let now_ms = now.millis();
        let revocation = self.revocations.iter().any(|r| r.due <= now_ms);
        match &self.run {
            Some(run) => run.next_attempt <= now_ms && !self.leased(now),
            None => {
                revocation
                    || (self.enabled && self.next_rotation.is_some_and(|next| next <= now_ms))
            }
        }
    }
}

/// Whether AWSPENDING is on a version other than AWSCURRENT's: a rotation is in progress (or
/// stuck), as AWS judges it.
pub fn pending_elsewhere(record: &SecretRecord) -> Option<String> {
    let current = record.version_with_stage(AWSCURRENT).map(|v| &v.version_id);
    record
        .version_with_stage(AWSPENDING)
        .filter(|v| Some(&v.version_id) != current)
        .map(|v| v.version_id.clone())
}
