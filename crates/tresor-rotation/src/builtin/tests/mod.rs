//! Tests of the built-in rotators against an in-memory Secrets Manager ([`fake_secrets`]) and
//! a mock provider on loopback ([`mock_provider`]), stepping through rotations as the engine
//! does: one step after another, stopping at the first that is not `Ok`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fake_secrets;
mod manual;
mod mock_provider;
mod openai;
mod openrouter;
mod stages;

use std::time::Duration;

use tresor_types::SecretBytes;

use super::Builtin;
use crate::http::Client;
use crate::rotator::{Outcome, Step, StepEvent, StepReport};
use fake_secrets::FakeSecrets;

pub const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/ai-AbCdEf";
pub const ADMIN_SECRET: &str = "provider-admin";
pub const ADMIN_KEY: &str = "sk-admin-mock-0123456789abcdef";
pub const OLD_KEY: &str = "sk-old-key-0001-abcdefghijklmnop";
pub const TOKEN: &str = "11111111-2222-3333-4444-555555555555";
pub const GRACE: Duration = Duration::from_secs(3600);

pub fn client() -> Client {
    crate::http::Clients::new()
        .unwrap()
        .for_route(None)
        .unwrap()
}

pub fn event(step: Step, token: &str) -> StepEvent {
    StepEvent {
        step,
        secret_id: ARN.into(),
        client_request_token: token.into(),
        rotation_token: SecretBytes::from_slice(b"rotation-token-secret"),
    }
}

/// A store with the admin key (as `admin_value`) and the rotated secret's current value, and
/// a rotation begun with [`TOKEN`].
pub fn store(admin_value: &str, current_value: &str) -> FakeSecrets {
    let api = FakeSecrets::new();
    api.version(ADMIN_SECRET, "admin-v1", &["AWSCURRENT"], Some(admin_value));
    api.version(ARN, "version-1", &["AWSCURRENT"], Some(current_value));
    api.begin_rotation(ARN, TOKEN);
    api
}

/// Run the steps from `from` on, as the engine does: stop at the first that is not `Ok`.
pub async fn rotate_from(
    builtin: &Builtin,
    api: &FakeSecrets,
    client: &Client,
    token: &str,
    from: Step,
) -> Vec<StepReport> {
    let mut reports = Vec::new();
    for step in Step::ALL.into_iter().skip_while(|s| *s != from) {
        let report = builtin.step(api, client, &event(step, token)).await;
        let ok = report.outcome == Outcome::Ok;
        reports.push(report);
        if !ok {
            break;
        }
    }
    reports
}

pub async fn rotate(
    builtin: &Builtin,
    api: &FakeSecrets,
    client: &Client,
    token: &str,
) -> Vec<StepReport> {
    rotate_from(builtin, api, client, token, Step::CreateSecret).await
}

/// No report shows a key: not in its summary, its output, nor its Debug form.
pub fn assert_no_key(reports: &[StepReport], keys: &[&str]) {
    for report in reports {
        let texts = [
            report.summary.clone(),
            String::from_utf8_lossy(&report.stdout).into_owned(),
            String::from_utf8_lossy(&report.stderr).into_owned(),
            format!("{report:?}"),
        ];
        for key in keys {
            assert!(!key.is_empty());
            for text in &texts {
                assert!(!text.contains(key), "a key leaked into a report: {text}");
            }
        }
    }
}

pub fn summaries(reports: &[StepReport]) -> Vec<(Outcome, String)> {
    reports
        .iter()
        .map(|r| (r.outcome, r.summary.clone()))
        .collect()
}

/// The new value's key and id.
pub fn pending_key(api: &FakeSecrets, token: &str) -> (String, String) {
    let text = api
        .text(ARN, token)
        .expect("the pending version has a value");
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    (
        value["api_key"].as_str().unwrap().to_owned(),
        value["key_id"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn builtin_step_future_is_send() {
    fn send<T: Send>(_: &T) {}
    let api = FakeSecrets::new();
    let client = client();
    let builtin = Builtin::Manual(super::ManualConfig {
        provider: "anthropic".into(),
        base_url: "http://127.0.0.1:9".into(),
        admin_secret_id: None,
        grace_period: GRACE,
    });
    let event = event(Step::CreateSecret, TOKEN);
    let step = builtin.step(&api, &client, &event);
    send(&step);
    let revoke = builtin.revoke(&api, &client, "k");
    send(&revoke);
}
