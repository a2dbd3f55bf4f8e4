//! The OpenAI rotator: service accounts created, tested, promoted and deleted at the mock.

use std::sync::atomic::Ordering;

use super::mock_provider::MockProvider;
use super::*;
use crate::builtin::OpenAiConfig;

const PROJECT: &str = "proj_abc";

fn openai(mock: &MockProvider) -> Builtin {
    Builtin::OpenAi(OpenAiConfig {
        base_url: mock.url() + "/",
        admin_secret_id: ADMIN_SECRET.into(),
        project_id: PROJECT.into(),
        grace_period: GRACE,
    })
}

async fn setup() -> (MockProvider, FakeSecrets, Builtin) {
    let mock = MockProvider::start(ADMIN_KEY).await;
    mock.seed_key(OLD_KEY, "svc_acct_old");
    // The admin key as JSON, the current value with the id of the key it replaces.
    let api = store(
        &format!(r#"{{"api_key": "{ADMIN_KEY}"}}"#),
        &format!(r#"{{"api_key": "{OLD_KEY}", "key_id": "svc_acct_old"}}"#),
    );
    let builtin = openai(&mock);
    (mock, api, builtin)
}

#[tokio::test]
async fn builtin_openai_four_steps_then_revoke() {
    let (mock, api, builtin) = setup().await;
    let client = client();
    let reports = rotate(&builtin, &api, &client, TOKEN).await;
    assert!(
        reports.iter().all(|r| r.outcome == Outcome::Ok),
        "{:?}",
        summaries(&reports)
    );
    assert_eq!(reports.len(), 4);

    // createSecret: one service account, named after the secret and the token, by the admin key.
    let creates = mock.received_at(
        "POST",
        "/v1/organization/projects/proj_abc/service_accounts",
    );
    assert_eq!(creates.len(), 1);
    assert_eq!(
        creates[0].headers["authorization"],
        format!("Bearer {ADMIN_KEY}")
    );
    assert_eq!(creates[0].headers["content-type"], "application/json");
    assert_eq!(
        creates[0].json(),
        serde_json::json!({"name": "tresor-prod/ai-11111111"})
    );
    let (new_key, key_id) = pending_key(&api, TOKEN);
    assert!(new_key.starts_with("sk-svcacct-mock-"));
    assert_eq!(key_id, "svc_acct_proj_abc_1");
    assert_eq!(
        reports[0].summary,
        "createSecret: created provider key svc_acct_proj_abc_1 and put it as AWSPENDING"
    );
    assert_eq!(
        reports[1].summary,
        "setSecret: nothing to install: the provider key is live once created"
    );

    // testSecret: the models listed with the new key.
    let tests = mock.received_at("GET", "/v1/models");
    assert_eq!(tests.len(), 1);
    assert_eq!(
        tests[0].headers["authorization"],
        format!("Bearer {new_key}")
    );
    assert_eq!(
        reports[2].summary,
        "testSecret: GET /v1/models answered HTTP 200"
    );

    // finishSecret: AWSCURRENT moved, the old service account named for revocation.
    assert_eq!(api.version_with(ARN, "AWSCURRENT").as_deref(), Some(TOKEN));
    assert_eq!(
        api.version_with(ARN, "AWSPREVIOUS").as_deref(),
        Some("version-1")
    );
    assert_eq!(reports[3].revoke_later.as_deref(), Some("svc_acct_old"));
    assert!(reports[..3].iter().all(|r| r.revoke_later.is_none()));

    // finishSecret retried after the move (the engine stopped before recording it): nothing
    // moves, and the replaced key is still named for revocation.
    let retried = builtin
        .step(&api, &client, &event(Step::FinishSecret, TOKEN))
        .await;
    assert_eq!(retried.outcome, Outcome::Ok);
    assert_eq!(
        retried.summary,
        format!(
            "finishSecret: version {TOKEN} is already AWSCURRENT: nothing to do; provider key \
             svc_acct_old (AWSPREVIOUS) is revoked after the grace period"
        )
    );
    assert_eq!(retried.revoke_later.as_deref(), Some("svc_acct_old"));
    assert_eq!(api.promotes.load(Ordering::SeqCst), 1);

    // The old key keeps working until revoke; then its service account is deleted.
    assert_eq!(mock.active("svc_acct_old"), Some(true));
    let revoke = builtin.revoke(&api, &client, "svc_acct_old").await;
    assert_eq!(revoke.outcome, Outcome::Ok, "{}", revoke.summary);
    assert_eq!(
        revoke.summary,
        "revoke: DELETE /v1/organization/projects/proj_abc/service_accounts/svc_acct_old \
         answered HTTP 200"
    );
    let deletes = mock.received_at(
        "DELETE",
        "/v1/organization/projects/proj_abc/service_accounts/svc_acct_old",
    );
    assert_eq!(deletes.len(), 1);
    assert_eq!(
        deletes[0].headers["authorization"],
        format!("Bearer {ADMIN_KEY}")
    );
    assert_eq!(mock.active("svc_acct_old"), Some(false));
    assert_eq!(mock.active("svc_acct_proj_abc_1"), Some(true));

    // Revoking again (a retried revoke) finds it gone: done.
    let again = builtin.revoke(&api, &client, "svc_acct_old").await;
    assert_eq!(again.outcome, Outcome::Ok);
    assert!(again
        .summary
        .ends_with("answered HTTP 404: the key was already gone"));

    let mut all = reports;
    all.push(revoke);
    all.push(again);
    assert_no_key(&all, &[ADMIN_KEY, &new_key, OLD_KEY]);
}

#[tokio::test]
async fn builtin_openai_create_secret_retried_makes_one_key() {
    let (mock, api, builtin) = setup().await;
    let client = client();
    let first = builtin
        .step(&api, &client, &event(Step::CreateSecret, TOKEN))
        .await;
    let value = api.text(ARN, TOKEN);
    let second = builtin
        .step(&api, &client, &event(Step::CreateSecret, TOKEN))
        .await;
    assert_eq!(first.outcome, Outcome::Ok);
    assert_eq!(second.outcome, Outcome::Ok);
    assert_eq!(
        second.summary,
        "createSecret: the pending version already has a value: no new key made"
    );
    assert_eq!(mock.issued(), 1);
    assert_eq!(api.puts.load(Ordering::SeqCst), 1);
    assert_eq!(api.text(ARN, TOKEN), value);
}

#[tokio::test]
async fn builtin_openai_failing_test_secret_leaves_awscurrent() {
    let (mock, api, builtin) = setup().await;
    mock.refuse_tests(true);
    let client = client();
    let reports = rotate(&builtin, &api, &client, TOKEN).await;
    assert_eq!(
        summaries(&reports)[2..],
        [(
            Outcome::Failed,
            "testSecret: GET /v1/models answered HTTP 401".to_owned()
        )]
    );
    assert_eq!(reports.len(), 3, "finishSecret must not be reached");
    assert_eq!(
        api.version_with(ARN, "AWSCURRENT").as_deref(),
        Some("version-1")
    );
    assert_eq!(api.version_with(ARN, "AWSPENDING").as_deref(), Some(TOKEN));
    assert_eq!(api.promotes.load(Ordering::SeqCst), 0);
    // The provider's answer is in the transcript, not in the summary.
    let stderr = String::from_utf8_lossy(&reports[2].stderr);
    assert!(stderr.contains("Incorrect API key provided."), "{stderr}");
    let (new_key, _) = pending_key(&api, TOKEN);
    assert_no_key(&reports, &[ADMIN_KEY, &new_key]);
}

#[tokio::test]
async fn builtin_openai_failed_put_deletes_the_new_key() {
    let (mock, api, builtin) = setup().await;
    api.fail_put.store(true, Ordering::SeqCst);
    let client = client();
    let report = builtin
        .step(&api, &client, &event(Step::CreateSecret, TOKEN))
        .await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert_eq!(
        report.summary,
        "createSecret: PutSecretValue (AWSPENDING) failed: InternalServiceError: the store is \
         unavailable; the new provider key was deleted"
    );
    assert_eq!(mock.issued(), 1);
    assert_eq!(mock.active("svc_acct_proj_abc_1"), Some(false));
    assert_eq!(api.text(ARN, TOKEN), None);
    assert_no_key(&[report], &[ADMIN_KEY, "sk-svcacct-mock-0001"]);
}

#[tokio::test]
async fn builtin_openai_put_whose_answer_was_lost_keeps_the_key() {
    let (mock, api, builtin) = setup().await;
    api.lose_put_answer.store(true, Ordering::SeqCst);
    let client = client();
    let report = builtin
        .step(&api, &client, &event(Step::CreateSecret, TOKEN))
        .await;
    assert_eq!(report.outcome, Outcome::Ok, "{}", report.summary);
    assert_eq!(
        report.summary,
        "createSecret: created provider key svc_acct_proj_abc_1 and put it as AWSPENDING (the \
         put's error was not its outcome)"
    );
    assert_eq!(mock.active("svc_acct_proj_abc_1"), Some(true));
    // The rotation goes on with that key.
    api.lose_put_answer.store(false, Ordering::SeqCst);
    let rest = rotate_from(&builtin, &api, &client, TOKEN, Step::SetSecret).await;
    assert!(
        rest.iter().all(|r| r.outcome == Outcome::Ok),
        "{:?}",
        summaries(&rest)
    );
    assert_eq!(api.version_with(ARN, "AWSCURRENT").as_deref(), Some(TOKEN));
}

#[tokio::test]
async fn builtin_openai_put_of_unknown_outcome_keeps_the_key_and_names_it() {
    let (mock, api, builtin) = setup().await;
    api.fail_put.store(true, Ordering::SeqCst);
    api.unreadable_after_failed_put
        .store(true, Ordering::SeqCst);
    let report = builtin
        .step(&api, &client(), &event(Step::CreateSecret, TOKEN))
        .await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert_eq!(
        report.summary,
        "createSecret: PutSecretValue (AWSPENDING) failed: InternalServiceError: the store is \
         unavailable; provider key svc_acct_proj_abc_1 was kept: whether the put succeeded is \
         unknown"
    );
    assert_eq!(mock.active("svc_acct_proj_abc_1"), Some(true));
}

#[tokio::test]
async fn builtin_openai_provider_error_echoing_the_admin_key_is_redacted() {
    let (mock, api, builtin) = setup().await;
    mock.fail_create_echoing(true);
    let client = client();
    let report = builtin
        .step(&api, &client, &event(Step::CreateSecret, TOKEN))
        .await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert_eq!(
        report.summary,
        "createSecret: POST /v1/organization/projects/proj_abc/service_accounts answered HTTP 500"
    );
    let stderr = String::from_utf8_lossy(&report.stderr);
    assert!(stderr.contains("failed for [REDACTED]"), "{stderr}");
    assert_no_key(&[report], &[ADMIN_KEY]);
}

#[tokio::test]
async fn builtin_openai_missing_admin_key_fails_without_calling_the_provider() {
    let mock = MockProvider::start(ADMIN_KEY).await;
    let api = FakeSecrets::new();
    api.version(ARN, "version-1", &["AWSCURRENT"], Some(OLD_KEY));
    api.begin_rotation(ARN, TOKEN);
    api.version(ADMIN_SECRET, "admin-v1", &["AWSPREVIOUS"], Some(ADMIN_KEY));
    let report = openai(&mock)
        .step(&api, &client(), &event(Step::CreateSecret, TOKEN))
        .await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert_eq!(
        report.summary,
        "createSecret: the admin key secret provider-admin has no AWSCURRENT value"
    );
    assert!(mock.received().is_empty());
}
