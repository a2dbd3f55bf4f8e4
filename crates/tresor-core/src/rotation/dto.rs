//! The rotation admin API's request and response shapes (PascalCase, as the other JSON
//! services), and their model checks.

use serde::{Deserialize, Serialize};
use tresor_types::{epoch, epoch_opt, Timestamp};

use crate::validate::{Validate, Validator};
use crate::CoreError;

/// The kinds of rotator.
pub const ROTATOR_TYPES: [&str; 5] = ["command", "webhook", "openai", "openrouter", "manual"];
/// Providers a manual rotator can test keys against.
pub const MANUAL_PROVIDERS: [&str; 2] = ["anthropic", "openai"];
/// Longest a step may take: 15 minutes (a Lambda's limit).
pub const MAX_STEP_TIMEOUT_SECONDS: i64 = 900;
/// Longest grace period before a replaced provider key is revoked: 30 days.
pub const MAX_GRACE_PERIOD_SECONDS: i64 = 30 * 86_400;

/// A rotator name: 1–64 of `[A-Za-z0-9_-]` (a Lambda function name's characters).
fn check_name(v: &mut Validator, value: Option<&str>, at: &str) {
    v.length(value, at, 1, 64);
    v.chars(value, at, "[A-Za-z0-9_-]+", |c| {
        c.is_ascii_alphanumeric() || "_-".contains(c)
    });
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateRotatorRequest {
    pub name: Option<String>,
    /// One of [`ROTATOR_TYPES`].
    #[serde(rename = "Type")]
    pub kind: Option<String>,
    /// The IAM role whose short-lived credentials the rotator acts with (required).
    pub role_arn: Option<String>,
    pub description: Option<String>,
    /// `command`: the program, run with `/bin/sh -c`.
    pub command: Option<String>,
    /// `command`: its working directory.
    pub working_directory: Option<String>,
    /// `webhook`: the URL (HTTPS; plain HTTP only to a loopback address).
    pub url: Option<String>,
    /// `webhook`: whether the role's credentials go along as headers.
    pub pass_credentials: Option<bool>,
    /// Built-ins: the secret holding the provider admin (OpenAI), management (OpenRouter) or
    /// optional admin (manual) key.
    pub admin_secret_id: Option<String>,
    /// `openai`: the project whose service-account keys are created.
    pub project_id: Option<String>,
    /// `manual`: `anthropic` or `openai`.
    pub provider: Option<String>,
    /// Built-ins: the provider's base URL (defaults to the provider's public API).
    pub base_url: Option<String>,
    /// Built-ins: how long a replaced key keeps working (default one day).
    pub grace_period_seconds: Option<i64>,
    /// How long each step may take (default 300 seconds).
    pub step_timeout_seconds: Option<i64>,
}

impl Validate for CreateRotatorRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.required(&self.name, "name");
        check_name(v, self.name.as_deref(), "name");
        v.required(&self.kind, "type");
        v.one_of(self.kind.as_deref(), "type", &ROTATOR_TYPES);
        v.required(&self.role_arn, "roleArn");
        v.length(self.role_arn.as_deref(), "roleArn", 20, 2048);
        v.length(self.description.as_deref(), "description", 0, 256);
        v.length(self.command.as_deref(), "command", 1, 4096);
        v.length(
            self.working_directory.as_deref(),
            "workingDirectory",
            1,
            4096,
        );
        v.length(self.url.as_deref(), "url", 1, 2048);
        v.length(self.admin_secret_id.as_deref(), "adminSecretId", 1, 2048);
        v.length(self.project_id.as_deref(), "projectId", 1, 256);
        v.one_of(self.provider.as_deref(), "provider", &MANUAL_PROVIDERS);
        v.length(self.base_url.as_deref(), "baseUrl", 1, 2048);
        v.range(
            self.grace_period_seconds,
            "gracePeriodSeconds",
            0,
            MAX_GRACE_PERIOD_SECONDS,
        );
        v.range(
            self.step_timeout_seconds,
            "stepTimeoutSeconds",
            1,
            MAX_STEP_TIMEOUT_SECONDS,
        );
        Ok(())
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct RotatorNameRequest {
    /// The rotator's name or its `arn:aws:lambda:…:function:<name>`.
    pub name: Option<String>,
}

impl Validate for RotatorNameRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.required(&self.name, "name");
        v.length(self.name.as_deref(), "name", 1, 2048);
        Ok(())
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListRotatorsRequest {}

impl Validate for ListRotatorsRequest {
    fn check(&self, _v: &mut Validator) -> Result<(), CoreError> {
        Ok(())
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct GetRotatorLogsRequest {
    pub name: Option<String>,
    /// Only the entries of this secret (name or ARN).
    pub secret_id: Option<String>,
    /// At most this many entries, newest first (default 50, at most 500).
    pub max_results: Option<i64>,
}

impl Validate for GetRotatorLogsRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.required(&self.name, "name");
        v.length(self.name.as_deref(), "name", 1, 2048);
        v.length(self.secret_id.as_deref(), "secretId", 1, 2048);
        v.range(self.max_results, "maxResults", 1, 500);
        Ok(())
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListRotationStatusRequest {}

impl Validate for ListRotationStatusRequest {
    fn check(&self, _v: &mut Validator) -> Result<(), CoreError> {
        Ok(())
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct RunDueRotationsRequest {
    /// Run what is due at this time (epoch seconds) rather than now: rotations scheduled
    /// before it start at once. Never earlier than now.
    pub as_of: Option<f64>,
}

impl Validate for RunDueRotationsRequest {
    fn check(&self, _v: &mut Validator) -> Result<(), CoreError> {
        Ok(())
    }
}

/// A rotator as the API shows it (never its signing secret).
#[derive(Debug, Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct RotatorDescription {
    pub name: String,
    /// `arn:aws:lambda:<region>:<account>:function:<name>`: the `RotationLambdaARN` to use.
    #[serde(rename = "ARN")]
    pub arn: String,
    #[serde(rename = "Type")]
    pub kind: String,
    pub role_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass_credentials: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_secret_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grace_period_seconds: Option<i64>,
    pub step_timeout_seconds: i64,
    #[serde(serialize_with = "epoch")]
    pub created_date: Timestamp,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateRotatorResponse {
    pub rotator: RotatorDescription,
    /// A webhook rotator's HMAC key (`whsec_…`), shown once, here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_secret: Option<String>,
}

// Why by hand: the signing secret must never reach Debug output.
impl std::fmt::Debug for CreateRotatorResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateRotatorResponse")
            .field("rotator", &self.rotator)
            .field(
                "signing_secret",
                &self.signing_secret.as_ref().map(|_| "[REDACTED]"),
            )
            .finish()
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRotatorResponse {
    pub rotator: RotatorDescription,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRotatorsResponse {
    pub rotators: Vec<RotatorDescription>,
}

#[derive(Debug, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Empty {}

/// One step a rotator ran.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotatorLogEntry {
    #[serde(serialize_with = "epoch")]
    pub time: Timestamp,
    #[serde(rename = "SecretARN")]
    pub secret_arn: String,
    pub version_id: String,
    pub step: String,
    /// `ok`, `failed`, `timeout` or `waiting`.
    pub outcome: String,
    pub summary: String,
    /// Captured output as text (lossy UTF-8), each at most 64 KiB.
    pub stdout: String,
    pub stderr: String,
    pub duration_ms: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRotatorLogsResponse {
    pub logs: Vec<RotatorLogEntry>,
}

/// A secret's rotation, for `tresor rotation status`.
#[derive(Debug, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct RotationStatus {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub name: String,
    pub rotation_enabled: bool,
    #[serde(rename = "RotationLambdaARN", skip_serializing_if = "Option::is_none")]
    pub rotation_lambda_arn: Option<String>,
    #[serde(serialize_with = "epoch_opt", skip_serializing_if = "Option::is_none")]
    pub last_rotated_date: Option<Timestamp>,
    #[serde(serialize_with = "epoch_opt", skip_serializing_if = "Option::is_none")]
    pub next_rotation_date: Option<Timestamp>,
    /// The version a rotation in progress (or stuck) is creating.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_version_id: Option<String>,
    /// `idle`, `running`, `waiting` (a manual rotation waiting for the new key) or
    /// `retrying` (failed, to be retried).
    pub state: String,
    /// `succeeded`, `failed` or `abandoned`: how the last rotation ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_result: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Attempts of the rotation in progress.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRotationStatusResponse {
    pub rotations: Vec<RotationStatus>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RunDueRotationsResponse {
    /// The secrets whose rotation was made due now.
    #[serde(rename = "ARNs")]
    pub arns: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_signing_secret() {
        let shown = format!(
            "{:?}",
            CreateRotatorResponse {
                rotator: RotatorDescription {
                    name: "hook".into(),
                    arn: "arn:aws:lambda:us-east-1:111122223333:function:hook".into(),
                    kind: "webhook".into(),
                    role_arn: "arn:aws:iam::111122223333:role/r".into(),
                    description: None,
                    command: None,
                    working_directory: None,
                    url: None,
                    pass_credentials: None,
                    admin_secret_id: None,
                    project_id: None,
                    provider: None,
                    base_url: None,
                    grace_period_seconds: None,
                    step_timeout_seconds: 300,
                    created_date: Timestamp::from_millis(0),
                },
                signing_secret: Some("whsec_debug-canary".into()),
            }
        );
        assert!(
            shown.contains("function:hook") && shown.contains("[REDACTED]"),
            "{shown}"
        );
        assert!(!shown.contains("whsec_debug-canary"), "{shown}");
    }
}
