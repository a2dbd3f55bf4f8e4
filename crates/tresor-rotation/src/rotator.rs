//! What every rotator is given and what it gives back.

use std::fmt;

use tresor_types::{SecretBytes, Timestamp};

/// The most of a rotator's stdout, stderr (or a webhook's answer) kept, each.
pub const MAX_CAPTURED: usize = 64 * 1024;

/// The four steps of a rotation, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    CreateSecret,
    SetSecret,
    TestSecret,
    FinishSecret,
}

impl Step {
    pub const ALL: [Step; 4] = [
        Self::CreateSecret,
        Self::SetSecret,
        Self::TestSecret,
        Self::FinishSecret,
    ];

    /// The name a rotation function receives in `Step`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreateSecret => "createSecret",
            Self::SetSecret => "setSecret",
            Self::TestSecret => "testSecret",
            Self::FinishSecret => "finishSecret",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// The event of one step: the same four fields a rotation Lambda receives.
pub struct StepEvent {
    pub step: Step,
    /// The secret's ARN.
    pub secret_id: String,
    /// The rotation's token: the pending version's id.
    pub client_request_token: String,
    /// Proves a call belongs to this rotation; sensitive (never logged or audited).
    pub rotation_token: SecretBytes,
}

impl StepEvent {
    /// `{"Step": …, "SecretId": …, "ClientRequestToken": …, "RotationToken": …}`.
    pub fn to_json(&self) -> zeroize::Zeroizing<Vec<u8>> {
        let token = String::from_utf8_lossy(self.rotation_token.expose()).into_owned();
        let token = zeroize::Zeroizing::new(token);
        let value = serde_json::json!({
            "Step": self.step.as_str(),
            "SecretId": self.secret_id,
            "ClientRequestToken": self.client_request_token,
            "RotationToken": token.as_str(),
        });
        zeroize::Zeroizing::new(serde_json::to_vec(&value).unwrap_or_default())
    }
}

impl fmt::Debug for StepEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StepEvent")
            .field("step", &self.step)
            .field("secret_id", &self.secret_id)
            .field("client_request_token", &self.client_request_token)
            .finish_non_exhaustive()
    }
}

/// Short-lived credentials of the rotator's role (an STS session).
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: SecretBytes,
    pub session_token: SecretBytes,
    pub expiration: Timestamp,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Where a rotator reaches Tresor.
#[derive(Debug, Clone)]
pub struct Environment {
    /// `AWS_ENDPOINT_URL`: this server's own address.
    pub endpoint_url: String,
    /// The secret's region (`AWS_REGION`, `AWS_DEFAULT_REGION`).
    pub region: String,
    /// A CA bundle to trust for `endpoint_url` (`AWS_CA_BUNDLE`), when Tresor serves TLS
    /// with a certificate the platform does not trust.
    pub ca_bundle: Option<std::path::PathBuf>,
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Failed,
    Timeout,
    /// Nothing failed but the step cannot go on yet (a manual rotation waiting for a person
    /// to put the new key): the rotation is checked again later, without counting a failure.
    Waiting,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed => "failed",
            Self::Timeout => "timeout",
            Self::Waiting => "waiting",
        }
    }
}

/// What a step left behind.
pub struct StepReport {
    pub outcome: Outcome,
    /// One line that says what happened without any of the rotator's output (an exit status,
    /// an HTTP status, a provider's error code): this is what the audit trail may show.
    pub summary: String,
    /// What the rotator wrote, each at most [`MAX_CAPTURED`] bytes (kept for `tresor rotator
    /// logs`, never in the audit trail).
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub duration: std::time::Duration,
    /// A built-in rotator's provider key id of the key this rotation replaced, to revoke once
    /// the grace period is over (set by `finishSecret`).
    pub revoke_later: Option<String>,
}

impl fmt::Debug for StepReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StepReport")
            .field("outcome", &self.outcome)
            .field("summary", &self.summary)
            .field("stdout_bytes", &self.stdout.len())
            .field("stderr_bytes", &self.stderr.len())
            .field("duration", &self.duration)
            .finish_non_exhaustive()
    }
}

/// Keep at most [`MAX_CAPTURED`] bytes of `bytes` (the last ones, where errors usually are).
pub fn capped(mut bytes: Vec<u8>) -> Vec<u8> {
    if bytes.len() > MAX_CAPTURED {
        bytes.drain(..bytes.len() - MAX_CAPTURED);
    }
    bytes
}
