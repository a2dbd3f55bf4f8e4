//! The rotation admin API's answer shapes (`tresor_core::rotation`'s DTOs), read from their
//! PascalCase wire form and written out in the CLI's snake_case JSON, field by field (see
//! [`crate::admin_api::answer`]).

use serde::{Deserialize, Serialize};

use crate::admin_api::answer::{date, optional_date};

/// A rotator (`RotatorDescription`).
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all(deserialize = "PascalCase", serialize = "snake_case"))]
pub struct Rotator {
    pub name: String,
    /// `arn:aws:lambda:<region>:<account>:function:<name>`: the `RotationLambdaARN`.
    #[serde(rename(deserialize = "ARN", serialize = "arn"))]
    pub arn: String,
    #[serde(rename(deserialize = "Type", serialize = "type"))]
    pub kind: String,
    pub role_arn: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub command: Option<String>,
    #[serde(default)]
    pub working_directory: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub pass_credentials: Option<bool>,
    #[serde(default)]
    pub admin_secret_id: Option<String>,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub grace_period_seconds: Option<i64>,
    pub step_timeout_seconds: i64,
    #[serde(serialize_with = "date")]
    pub created_date: f64,
}

/// `CreateRotator`'s answer in the CLI's JSON: the rotator's fields, and a webhook's signing
/// secret (the only place it is ever shown).
#[derive(Serialize)]
pub struct CreatedRotator<'a> {
    #[serde(flatten)]
    pub rotator: &'a Rotator,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_secret: Option<&'a str>,
}

/// One step a rotator ran (`RotatorLogEntry`).
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all(deserialize = "PascalCase", serialize = "snake_case"))]
pub struct LogEntry {
    #[serde(serialize_with = "date")]
    pub time: f64,
    #[serde(rename(deserialize = "SecretARN", serialize = "secret_arn"))]
    pub secret_arn: String,
    pub version_id: String,
    pub step: String,
    /// `ok`, `failed`, `timeout` or `waiting`.
    pub outcome: String,
    pub summary: String,
    #[serde(default)]
    pub stdout: String,
    #[serde(default)]
    pub stderr: String,
    #[serde(default)]
    pub duration_ms: i64,
}

/// A secret's rotation (`RotationStatus`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all(deserialize = "PascalCase", serialize = "snake_case"))]
pub struct RotationStatus {
    #[serde(rename(deserialize = "ARN", serialize = "arn"))]
    pub arn: String,
    pub name: String,
    pub rotation_enabled: bool,
    #[serde(
        default,
        rename(deserialize = "RotationLambdaARN", serialize = "rotation_lambda_arn")
    )]
    pub rotation_lambda_arn: Option<String>,
    #[serde(default, serialize_with = "optional_date")]
    pub last_rotated_date: Option<f64>,
    #[serde(default, serialize_with = "optional_date")]
    pub next_rotation_date: Option<f64>,
    #[serde(default)]
    pub pending_version_id: Option<String>,
    /// `idle`, `running`, `waiting` or `retrying`.
    pub state: String,
    /// `succeeded`, `failed` or `abandoned`.
    #[serde(default)]
    pub last_result: Option<String>,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub attempts: Option<u32>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::admin_api::answer::member;
    use serde_json::{json, Value};
    use tresor_core::rotation as dto;
    use tresor_types::Timestamp;

    /// The shapes read what the server's DTOs write: serialized here from the DTOs
    /// themselves, so a renamed member fails this test rather than the CLI in use.
    #[test]
    fn the_shapes_read_the_servers_dtos() {
        let at = Timestamp::from_millis(1_700_000_000_250);
        let rotator = dto::RotatorDescription {
            name: "r".into(),
            arn: dto::rotator_arn("us-east-1", "000000000000", "r"),
            kind: "webhook".into(),
            role_arn: "arn:aws:iam::000000000000:role/rotator".into(),
            description: None,
            command: None,
            working_directory: None,
            url: Some("https://hooks.example/rotate".into()),
            pass_credentials: Some(true),
            admin_secret_id: None,
            project_id: None,
            provider: None,
            base_url: None,
            grace_period_seconds: None,
            step_timeout_seconds: 300,
            created_date: at,
        };
        let created = dto::CreateRotatorResponse {
            rotator: rotator.clone(),
            signing_secret: Some("whsec_x".into()),
        };
        let mut answer = serde_json::to_value(&created).unwrap();
        let secret: String = member(&mut answer, "SigningSecret").unwrap();
        assert_eq!(secret, "whsec_x");
        let read: Rotator = member(&mut answer, "Rotator").unwrap();
        let out = serde_json::to_value(&read).unwrap();
        assert_eq!(
            out["arn"],
            "arn:aws:lambda:us-east-1:000000000000:function:r"
        );
        assert_eq!(out["type"], "webhook");
        assert_eq!(out["pass_credentials"], true);
        assert_eq!(out["command"], Value::Null);
        assert_eq!(out["created_date"], "2023-11-14T22:13:20Z");

        let log = dto::RotatorLogEntry {
            time: at,
            secret_arn: "arn:s".into(),
            version_id: "v1".into(),
            step: "createSecret".into(),
            outcome: "ok".into(),
            summary: "exit status 0".into(),
            stdout: "out".into(),
            stderr: String::new(),
            duration_ms: 12,
        };
        let mut answer =
            serde_json::to_value(dto::GetRotatorLogsResponse { logs: vec![log] }).unwrap();
        let logs: Vec<LogEntry> = member(&mut answer, "Logs").unwrap();
        assert_eq!(logs[0].secret_arn, "arn:s");
        assert_eq!(logs[0].duration_ms, 12);

        let status = dto::RotationStatus {
            arn: "arn:s".into(),
            name: "s".into(),
            rotation_enabled: true,
            rotation_lambda_arn: Some("arn:l".into()),
            last_rotated_date: Some(at),
            state: "retrying".into(),
            last_result: Some("failed".into()),
            last_error: Some("boom".into()),
            attempts: Some(2),
            ..Default::default()
        };
        let mut answer = serde_json::to_value(dto::ListRotationStatusResponse {
            rotations: vec![status],
        })
        .unwrap();
        let list: Vec<RotationStatus> = member(&mut answer, "Rotations").unwrap();
        let out = serde_json::to_value(&list[0]).unwrap();
        assert_eq!(out["rotation_lambda_arn"], "arn:l");
        assert_eq!(out["last_rotated_date"], "2023-11-14T22:13:20Z");
        assert_eq!(out["next_rotation_date"], Value::Null);
        assert_eq!(out["state"], "retrying");
        assert_eq!(out["attempts"], 2);

        let mut answer = serde_json::to_value(dto::RunDueRotationsResponse {
            arns: vec!["arn:s".into()],
        })
        .unwrap();
        let arns: Vec<String> = member(&mut answer, "ARNs").unwrap();
        assert_eq!(arns, ["arn:s"]);
        assert_eq!(json!(arns), json!(["arn:s"]));
    }
}
