//! The manual rotator: it waits for a person's key, then tests, promotes and (with an admin
//! key) deactivates the replaced Anthropic key.

use super::mock_provider::MockProvider;
use super::*;
use crate::builtin::ManualConfig;

const PERSON_KEY: &str = "sk-ant-api03-new-key-from-a-person";

fn manual(mock: &MockProvider, provider: &str, admin: bool) -> Builtin {
    Builtin::Manual(ManualConfig {
        provider: provider.into(),
        base_url: mock.url(),
        admin_secret_id: admin.then(|| ADMIN_SECRET.to_owned()),
        grace_period: GRACE,
    })
}

#[tokio::test]
async fn builtin_manual_waits_then_proceeds_once_a_key_is_put() {
    let mock = MockProvider::start(ADMIN_KEY).await;
    mock.seed_key(OLD_KEY, "apikey_old");
    mock.seed_key(PERSON_KEY, "apikey_new");
    let api = store(
        ADMIN_KEY,
        &format!(r#"{{"api_key": "{OLD_KEY}", "key_id": "apikey_old"}}"#),
    );
    let builtin = manual(&mock, "anthropic", true);
    let client = client();

    // No key yet: waiting, not failed, and the rotation goes no further.
    let waiting = rotate(&builtin, &api, &client, TOKEN).await;
    assert_eq!(
        summaries(&waiting),
        [(
            Outcome::Waiting,
            format!(
                "waiting for the new key: put it as AWSPENDING with ClientRequestToken {TOKEN}"
            )
        )]
    );
    assert!(mock.received().is_empty());

    // A person puts the new key (with its id) as the pending value.
    api.version(
        ARN,
        TOKEN,
        &["AWSPENDING"],
        Some(&format!(
            r#"{{"api_key": "{PERSON_KEY}", "key_id": "apikey_new"}}"#
        )),
    );
    let reports = rotate(&builtin, &api, &client, TOKEN).await;
    assert!(
        reports.len() == 4 && reports.iter().all(|r| r.outcome == Outcome::Ok),
        "{:?}",
        summaries(&reports)
    );
    let tests = mock.received_at("GET", "/v1/models");
    assert_eq!(tests.len(), 1);
    assert_eq!(tests[0].headers["x-api-key"], PERSON_KEY);
    assert_eq!(tests[0].headers["anthropic-version"], "2023-06-01");
    assert!(!tests[0].headers.contains_key("authorization"));
    assert_eq!(api.version_with(ARN, "AWSCURRENT").as_deref(), Some(TOKEN));
    assert_eq!(reports[3].revoke_later.as_deref(), Some("apikey_old"));

    // Revoke: the old key set inactive with the admin key.
    let revoke = builtin.revoke(&api, &client, "apikey_old").await;
    assert_eq!(
        (revoke.outcome, revoke.summary.as_str()),
        (
            Outcome::Ok,
            "revoke: POST /v1/organizations/api_keys/apikey_old answered HTTP 200"
        )
    );
    let updates = mock.received_at("POST", "/v1/organizations/api_keys/apikey_old");
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].headers["x-api-key"], ADMIN_KEY);
    assert_eq!(updates[0].headers["anthropic-version"], "2023-06-01");
    assert_eq!(updates[0].json(), serde_json::json!({"status": "inactive"}));
    assert_eq!(mock.active("apikey_old"), Some(false));
    assert_eq!(mock.active("apikey_new"), Some(true));

    let mut all = waiting;
    all.extend(reports);
    all.push(revoke);
    assert_no_key(&all, &[ADMIN_KEY, PERSON_KEY, OLD_KEY]);
}

#[tokio::test]
async fn builtin_manual_failing_test_secret_leaves_awscurrent() {
    let mock = MockProvider::start(ADMIN_KEY).await;
    let api = store(ADMIN_KEY, OLD_KEY);
    // A mistyped key: the provider does not know it.
    api.version(ARN, TOKEN, &["AWSPENDING"], Some("sk-ant-typo"));
    let reports = rotate(&manual(&mock, "anthropic", false), &api, &client(), TOKEN).await;
    assert_eq!(
        summaries(&reports)[2..],
        [(
            Outcome::Failed,
            "testSecret: GET /v1/models answered HTTP 401".to_owned()
        )]
    );
    assert_eq!(
        api.version_with(ARN, "AWSCURRENT").as_deref(),
        Some("version-1")
    );
    assert_no_key(&reports, &["sk-ant-typo"]);
}

#[tokio::test]
async fn builtin_manual_without_admin_key_names_nothing_to_revoke() {
    let mock = MockProvider::start(ADMIN_KEY).await;
    mock.seed_key(PERSON_KEY, "apikey_new");
    let api = store(
        ADMIN_KEY,
        &format!(r#"{{"api_key": "{OLD_KEY}", "key_id": "apikey_old"}}"#),
    );
    api.version(ARN, TOKEN, &["AWSPENDING"], Some(PERSON_KEY));
    let builtin = manual(&mock, "anthropic", false);
    let reports = rotate(&builtin, &api, &client(), TOKEN).await;
    assert_eq!(reports.len(), 4);
    assert_eq!(reports[3].outcome, Outcome::Ok);
    assert_eq!(reports[3].revoke_later, None);
    assert_eq!(api.version_with(ARN, "AWSCURRENT").as_deref(), Some(TOKEN));
    let retried = builtin
        .step(&api, &client(), &event(Step::FinishSecret, TOKEN))
        .await;
    assert_eq!((retried.outcome, retried.revoke_later), (Outcome::Ok, None));
    let revoke = builtin.revoke(&api, &client(), "apikey_old").await;
    assert_eq!(revoke.outcome, Outcome::Ok);
    assert!(
        revoke.summary.starts_with("revoke skipped"),
        "{}",
        revoke.summary
    );
    assert!(mock
        .received_at("POST", "/v1/organizations/api_keys/apikey_old")
        .is_empty());
}

#[tokio::test]
async fn builtin_manual_openai_tests_with_bearer_and_skips_revoke() {
    let mock = MockProvider::start(ADMIN_KEY).await;
    mock.seed_key(PERSON_KEY, "key_new");
    let api = store(
        ADMIN_KEY,
        &format!(r#"{{"api_key": "{OLD_KEY}", "key_id": "key_old"}}"#),
    );
    api.version(ARN, TOKEN, &["AWSPENDING"], Some(PERSON_KEY));
    let builtin = manual(&mock, "openai", true);
    let client = client();
    let reports = rotate(&builtin, &api, &client, TOKEN).await;
    assert!(
        reports.len() == 4 && reports.iter().all(|r| r.outcome == Outcome::Ok),
        "{:?}",
        summaries(&reports)
    );
    let tests = mock.received_at("GET", "/v1/models");
    assert_eq!(
        tests[0].headers["authorization"],
        format!("Bearer {PERSON_KEY}")
    );
    assert!(!tests[0].headers.contains_key("x-api-key"));
    assert_eq!(reports[3].revoke_later.as_deref(), Some("key_old"));
    let revoke = builtin.revoke(&api, &client, "key_old").await;
    assert_eq!(revoke.outcome, Outcome::Ok);
    assert!(
        revoke.summary.starts_with("revoke skipped: OpenAI"),
        "{}",
        revoke.summary
    );
    assert_eq!(mock.received().len(), 1, "revoke calls nothing");
    assert_no_key(&reports, &[ADMIN_KEY, PERSON_KEY, OLD_KEY]);
}

#[tokio::test]
async fn builtin_manual_unknown_provider_fails_its_test() {
    let mock = MockProvider::start(ADMIN_KEY).await;
    let api = store(ADMIN_KEY, OLD_KEY);
    api.version(ARN, TOKEN, &["AWSPENDING"], Some(PERSON_KEY));
    let report = manual(&mock, "mistral", false)
        .step(&api, &client(), &event(Step::TestSecret, TOKEN))
        .await;
    assert_eq!(
        (report.outcome, report.summary.as_str()),
        (
            Outcome::Failed,
            "testSecret: unknown provider \"mistral\" (anthropic or openai)"
        )
    );
}
