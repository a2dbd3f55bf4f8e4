//! The rotation admin API's canned answers (`TresorRotation.*`), for `tests/rotation_cli.rs`:
//! shaped as `tresor_core::rotation`'s DTOs serialize, echoing the request's identifiers, with
//! `ListRotationStatus` answering a script of successive states (to watch `run-due --wait`
//! poll).

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use super::Answer;

/// A webhook's signing secret as the fake `CreateRotator` returns it; planted in other answers
/// too (where the API has no such member), so a CLI that printed it anywhere else is caught.
pub const SIGNING_SECRET: &str = "whsec_planted_b71e02c94d5a";
pub const ROLE_ARN: &str = "arn:aws:iam::000000000000:role/rotator";
pub const DATE: f64 = 1_700_000_000.25;

/// The secrets the fake's rotations are about.
pub fn secret_arn(name: &str) -> String {
    format!("arn:aws:secretsmanager:us-east-1:000000000000:secret:{name}-AbCdEf")
}

/// How the fake answers `RunDueRotations` and `ListRotationStatus`.
pub struct Script {
    /// The ARNs `RunDueRotations` made due.
    pub due: Vec<String>,
    /// The `Rotations` of successive `ListRotationStatus` answers; the last one repeats.
    pub statuses: Vec<Value>,
}

impl Default for Script {
    fn default() -> Self {
        Self {
            due: vec![secret_arn("db"), secret_arn("openai")],
            statuses: vec![json!([
                status("db", "idle", Some("succeeded"), None),
                status(
                    "openai",
                    "retrying",
                    Some("failed"),
                    Some("testSecret: GET /v1/models answered 401")
                ),
            ])],
        }
    }
}

/// One secret's `RotationStatus`.
pub fn status(
    name: &str,
    state: &str,
    last_result: Option<&str>,
    last_error: Option<&str>,
) -> Value {
    let mut s = json!({
        "ARN": secret_arn(name), "Name": name, "RotationEnabled": true,
        "RotationLambdaARN": "arn:aws:lambda:us-east-1:000000000000:function:py",
        "LastRotatedDate": DATE, "NextRotationDate": DATE + 30.0 * 86_400.0,
        "State": state,
    });
    if let Some(r) = last_result {
        s["LastResult"] = json!(r);
    }
    if let Some(e) = last_error {
        s["LastError"] = json!(e);
        s["PendingVersionId"] = json!("c0ffee00-0000-4000-8000-000000000001");
        s["Attempts"] = json!(2);
    }
    s
}

/// A rotator as the API describes it, with `request`'s settings.
fn rotator(region: &str, name: &str, kind: &str, request: &Value) -> Value {
    let mut r = json!({
        "Name": name,
        "ARN": format!("arn:aws:lambda:{region}:000000000000:function:{name}"),
        "Type": kind,
        "RoleArn": request.get("RoleArn").cloned().unwrap_or(json!(ROLE_ARN)),
        "StepTimeoutSeconds": request.get("StepTimeoutSeconds").cloned().unwrap_or(json!(300)),
        "CreatedDate": DATE,
    });
    for member in [
        "Description",
        "Command",
        "WorkingDirectory",
        "Url",
        "PassCredentials",
        "AdminSecretId",
        "ProjectId",
        "Provider",
        "BaseUrl",
        "GracePeriodSeconds",
    ] {
        if let Some(v) = request.get(member) {
            r[member] = v.clone();
        }
    }
    r
}

fn log_entries() -> Value {
    json!([
        {"Time": DATE + 120.0, "SecretARN": secret_arn("db"), "VersionId": "v-2",
         "Step": "createSecret", "Outcome": "failed", "Summary": "exit status 1",
         "Stdout": "", "Stderr": "Traceback (most recent call last):\n  boom\n", "DurationMs": 80},
        {"Time": DATE, "SecretARN": secret_arn("db"), "VersionId": "v-1",
         "Step": "finishSecret", "Outcome": "ok", "Summary": "exit status 0",
         "Stdout": "moved AWSCURRENT to v-1\n", "Stderr": "", "DurationMs": 12},
    ])
}

/// The fake's answers for `region`, following `script`.
pub fn answers(region: &'static str, script: Script) -> Answer {
    let polls = Mutex::new(0usize);
    Arc::new(move |target: &str, body: &Value| {
        let name = body["Name"].as_str().unwrap_or("");
        let not_found = || {
            (
                404,
                json!({"__type": "ResourceNotFoundException",
                       "Message": format!("{name} does not exist")}),
            )
        };
        let operation = target.strip_prefix("TresorRotation.").unwrap_or("");
        let ok = match operation {
            "CreateRotator" => {
                if name == "taken" {
                    return (
                        400,
                        json!({"__type": "ResourceExistsException",
                               "Message": "A rotator named taken already exists."}),
                    );
                }
                let kind = body["Type"].as_str().unwrap_or("");
                let mut answer = json!({ "Rotator": rotator(region, name, kind, body) });
                if kind == "webhook" {
                    answer["SigningSecret"] = json!(SIGNING_SECRET);
                }
                answer
            }
            "GetRotator" if name == "missing" => return not_found(),
            "GetRotator" => {
                let mut r = rotator(
                    region,
                    name,
                    "command",
                    &json!({"Command": "python3 rotate.py"}),
                );
                r["SigningSecret"] = json!(SIGNING_SECRET);
                json!({ "Rotator": r, "SigningSecret": SIGNING_SECRET })
            }
            "ListRotators" => {
                let mut hook = rotator(
                    region,
                    "hook",
                    "webhook",
                    &json!({"Url": "https://hooks.example/rotate", "PassCredentials": true}),
                );
                hook["SigningSecret"] = json!(SIGNING_SECRET);
                json!({ "Rotators": [
                    rotator(region, "py", "command", &json!({"Command": "python3 rotate.py"})),
                    hook,
                ]})
            }
            "DeleteRotator" | "GetRotatorLogs" if name == "missing" => return not_found(),
            "DeleteRotator" => json!({}),
            "GetRotatorLogs" => json!({ "Logs": log_entries() }),
            "ListRotationStatus" => {
                let mut n = polls.lock().expect("polls");
                let at = (*n).min(script.statuses.len().saturating_sub(1));
                *n += 1;
                json!({ "Rotations": script.statuses.get(at).cloned().unwrap_or(json!([])) })
            }
            "RunDueRotations" => json!({ "ARNs": script.due }),
            _ => {
                return (
                    400,
                    json!({"__type": "UnknownOperationException", "Message": "unknown operation"}),
                )
            }
        };
        (200, ok)
    })
}
