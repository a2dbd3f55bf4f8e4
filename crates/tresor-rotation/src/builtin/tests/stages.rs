//! The stage check every step starts with, as AWS's rotation function templates do it.

use super::mock_provider::MockProvider;
use super::*;
use crate::builtin::OpenRouterConfig;

async fn setup() -> (MockProvider, Builtin) {
    let mock = MockProvider::start(ADMIN_KEY).await;
    let builtin = Builtin::OpenRouter(OpenRouterConfig {
        base_url: mock.url(),
        admin_secret_id: ADMIN_SECRET.into(),
        grace_period: GRACE,
    });
    (mock, builtin)
}

#[tokio::test]
async fn builtin_token_without_a_version_has_no_stage_for_rotation() {
    let (mock, builtin) = setup().await;
    let api = FakeSecrets::new();
    api.version(ADMIN_SECRET, "admin-v1", &["AWSCURRENT"], Some(ADMIN_KEY));
    api.version(ARN, "version-1", &["AWSCURRENT"], Some(OLD_KEY));
    // The server did not register the pending version before calling the rotator.
    for step in Step::ALL {
        let report = builtin.step(&api, &client(), &event(step, TOKEN)).await;
        assert_eq!(report.outcome, Outcome::Failed);
        assert_eq!(
            report.summary,
            format!("Secret version {TOKEN} has no stage for rotation of secret {ARN}.")
        );
    }
    assert!(mock.received().is_empty());
}

#[tokio::test]
async fn builtin_token_staged_otherwise_is_not_set_as_awspending() {
    let (mock, builtin) = setup().await;
    let api = FakeSecrets::new();
    api.version(ARN, "version-1", &["AWSCURRENT"], Some(OLD_KEY));
    api.version(ARN, TOKEN, &["AWSPREVIOUS"], Some("sk-x"));
    let report = builtin
        .step(&api, &client(), &event(Step::CreateSecret, TOKEN))
        .await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert_eq!(
        report.summary,
        format!("Secret version {TOKEN} not set as AWSPENDING for rotation of secret {ARN}.")
    );
    assert!(mock.received().is_empty());
}

#[tokio::test]
async fn builtin_token_already_current_has_nothing_to_do() {
    let (mock, builtin) = setup().await;
    let api = FakeSecrets::new();
    api.version(ARN, TOKEN, &["AWSCURRENT", "AWSPENDING"], Some(OLD_KEY));
    for step in Step::ALL {
        let report = builtin.step(&api, &client(), &event(step, TOKEN)).await;
        assert_eq!(report.outcome, Outcome::Ok);
        assert_eq!(
            report.summary,
            format!(
                "{}: version {TOKEN} is already AWSCURRENT: nothing to do",
                step.as_str()
            )
        );
        assert_eq!(report.revoke_later, None);
    }
    assert!(mock.received().is_empty());
}

#[tokio::test]
async fn builtin_unknown_secret_fails_with_the_api_error() {
    let (_mock, builtin) = setup().await;
    let api = FakeSecrets::new();
    let report = builtin
        .step(&api, &client(), &event(Step::CreateSecret, TOKEN))
        .await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert_eq!(
        report.summary,
        "createSecret: DescribeSecret failed: ResourceNotFoundException: Secrets Manager can't \
         find the specified secret."
    );
}
