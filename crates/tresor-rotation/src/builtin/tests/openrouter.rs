//! The OpenRouter rotator: keys created with the management key, tested with `/api/v1/key`,
//! promoted and deleted at the mock.

use std::sync::atomic::Ordering;

use super::mock_provider::MockProvider;
use super::*;
use crate::builtin::OpenRouterConfig;

fn openrouter(mock: &MockProvider) -> Builtin {
    Builtin::OpenRouter(OpenRouterConfig {
        base_url: mock.url(),
        admin_secret_id: ADMIN_SECRET.into(),
        grace_period: GRACE,
    })
}

async fn setup() -> (MockProvider, FakeSecrets, Builtin) {
    let mock = MockProvider::start(ADMIN_KEY).await;
    mock.seed_key(OLD_KEY, "oldhash");
    // The management key as plain text.
    let api = store(
        &format!("{ADMIN_KEY}\n"),
        &format!(r#"{{"api_key": "{OLD_KEY}", "key_id": "oldhash"}}"#),
    );
    let builtin = openrouter(&mock);
    (mock, api, builtin)
}

#[tokio::test]
async fn builtin_openrouter_four_steps_then_revoke() {
    let (mock, api, builtin) = setup().await;
    let client = client();
    let reports = rotate(&builtin, &api, &client, TOKEN).await;
    assert!(
        reports.iter().all(|r| r.outcome == Outcome::Ok) && reports.len() == 4,
        "{:?}",
        summaries(&reports)
    );

    let creates = mock.received_at("POST", "/api/v1/keys");
    assert_eq!(creates.len(), 1);
    assert_eq!(
        creates[0].headers["authorization"],
        format!("Bearer {ADMIN_KEY}")
    );
    assert_eq!(
        creates[0].json(),
        serde_json::json!({"name": "tresor-prod/ai-11111111"})
    );
    let (new_key, key_id) = pending_key(&api, TOKEN);
    assert!(new_key.starts_with("sk-or-v1-mock0001"));
    assert_eq!(key_id, format!("{:064x}", 1));

    let tests = mock.received_at("GET", "/api/v1/key");
    assert_eq!(tests.len(), 1);
    assert_eq!(
        tests[0].headers["authorization"],
        format!("Bearer {new_key}")
    );
    assert_eq!(
        reports[2].summary,
        "testSecret: GET /api/v1/key answered HTTP 200"
    );

    assert_eq!(api.version_with(ARN, "AWSCURRENT").as_deref(), Some(TOKEN));
    assert_eq!(reports[3].revoke_later.as_deref(), Some("oldhash"));

    let revoke = builtin.revoke(&api, &client, "oldhash").await;
    assert_eq!(
        (revoke.outcome, revoke.summary.as_str()),
        (
            Outcome::Ok,
            "revoke: DELETE /api/v1/keys/oldhash answered HTTP 200"
        )
    );
    let deletes = mock.received_at("DELETE", "/api/v1/keys/oldhash");
    assert_eq!(deletes.len(), 1);
    assert_eq!(
        deletes[0].headers["authorization"],
        format!("Bearer {ADMIN_KEY}")
    );
    assert_eq!(mock.active("oldhash"), Some(false));

    let mut all = reports;
    all.push(revoke);
    assert_no_key(&all, &[ADMIN_KEY, &new_key, OLD_KEY]);
}

#[tokio::test]
async fn builtin_openrouter_create_secret_retried_makes_one_key() {
    let (mock, api, builtin) = setup().await;
    let client = client();
    for _ in 0..3 {
        let report = builtin
            .step(&api, &client, &event(Step::CreateSecret, TOKEN))
            .await;
        assert_eq!(report.outcome, Outcome::Ok, "{}", report.summary);
    }
    assert_eq!(mock.received_at("POST", "/api/v1/keys").len(), 1);
    assert_eq!(api.puts.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn builtin_openrouter_failing_test_secret_leaves_awscurrent() {
    let (mock, api, builtin) = setup().await;
    mock.refuse_tests(true);
    let client = client();
    let reports = rotate(&builtin, &api, &client, TOKEN).await;
    assert_eq!(reports.len(), 3);
    assert_eq!(
        (reports[2].outcome, reports[2].summary.as_str()),
        (
            Outcome::Failed,
            "testSecret: GET /api/v1/key answered HTTP 401"
        )
    );
    assert_eq!(
        api.version_with(ARN, "AWSCURRENT").as_deref(),
        Some("version-1")
    );
    // A retry after the provider recovers resumes from the same pending key.
    mock.refuse_tests(false);
    let retry = rotate(&builtin, &api, &client, TOKEN).await;
    assert!(
        retry.iter().all(|r| r.outcome == Outcome::Ok),
        "{:?}",
        summaries(&retry)
    );
    assert_eq!(mock.issued(), 1);
    assert_eq!(api.version_with(ARN, "AWSCURRENT").as_deref(), Some(TOKEN));
}

#[tokio::test]
async fn builtin_openrouter_plain_current_value_names_nothing_to_revoke() {
    let mock = MockProvider::start(ADMIN_KEY).await;
    mock.seed_key(OLD_KEY, "oldhash");
    let api = store(ADMIN_KEY, OLD_KEY);
    let reports = rotate(&openrouter(&mock), &api, &client(), TOKEN).await;
    assert_eq!(reports.len(), 4);
    assert_eq!(reports[3].outcome, Outcome::Ok);
    assert_eq!(reports[3].revoke_later, None);
    assert_eq!(
        reports[3].summary,
        format!(
            "finishSecret: AWSCURRENT moved from version version-1 to {TOKEN}; the replaced \
             value names no provider key to revoke"
        )
    );
}
