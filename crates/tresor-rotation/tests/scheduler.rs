//! The scheduler reads time only from its clock: with a manual clock, a rotation scheduled a
//! day ahead is not started until the clock is moved past its window's opening, and then it
//! is, without any call; its run reaches the rotator (a command) and its outcome is recorded.
//! The rotator here exits 0 at every step without moving AWSCURRENT, so the core refuses to
//! call that a success: the rotation fails with that summary, as it would in AWS.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tresor_core::validate::{Validate, Validated};
use tresor_core::{bootstrap, Core, CoreError, Principal, PrincipalKind, RequestContext};
use tresor_rotation::scheduler::{self, Clock, ManualClock};
use tresor_rotation::Engine;
use tresor_types::{AccountId, Region, Timestamp};

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

fn request<T: serde::de::DeserializeOwned + Validate>(body: Value) -> Validated<T> {
    Validated::new(serde_json::from_value(body).unwrap()).unwrap()
}

fn root(account: &AccountId) -> RequestContext {
    RequestContext {
        principal: Principal {
            account: account.clone(),
            arn: format!("arn:aws:iam::{account}:root"),
            kind: PrincipalKind::Root,
            access_key_id: "AKIAROOT".into(),
            tags: vec![],
        },
        region: Region::parse("us-east-1").unwrap(),
        request_id: "test".into(),
        source_ip: None,
        user_agent: None,
        secure_transport: true,
        now: Timestamp::now(),
    }
}

fn no_dispatch(
    _: &Core,
    _: &RequestContext,
    _: tresor_core::secretsmanager::Operation,
    _: &[u8],
) -> Result<Vec<u8>, CoreError> {
    Err(CoreError::Internal(
        "not used by command rotators".to_owned(),
    ))
}

fn status(core: &Core, ctx: &RequestContext) -> tresor_core::rotation::RotationStatus {
    core.rotation_list_status(ctx, request(json!({})))
        .unwrap()
        .rotations
        .pop()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_rotation_starts_when_the_clock_reaches_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = tresor_core::StoreBackend::Sqlite(
        tresor_store::SqliteStore::open(&dir.path().join("tresor.db")).unwrap(),
    );
    let account = AccountId::parse("111122223333").unwrap();
    let (keyring, _creds) = bootstrap::dev(&store, &account, None).unwrap();
    let core = Arc::new(Core::new(store, keyring).unwrap());
    let ctx = root(&account);
    tresor_core::iam::dispatch(
        &core,
        &ctx,
        tresor_core::iam::Operation::CreateRole,
        json!({"RoleName": "rotator", "AssumeRolePolicyDocument": TRUST}),
    )
    .unwrap();
    let steps = dir.path().join("steps");
    let rotator = core
        .rotation_create_rotator(
            &ctx,
            request(json!({
                "Name": "fn", "Type": "command", "StepTimeoutSeconds": 10,
                "RoleArn": "arn:aws:iam::111122223333:role/rotator",
                "Command": format!("cat >> {}; echo >> {}", steps.display(), steps.display()),
            })),
        )
        .unwrap()
        .rotator
        .arn;
    let arn = core
        .create_secret(
            &ctx,
            request(json!({"Name": "db/password", "SecretString": "v1",
                           "ClientRequestToken": uuid::Uuid::new_v4().to_string()})),
        )
        .unwrap()
        .arn;
    // Configured without rotating now: a test-only run, then the schedule (one day) decides.
    core.rotate_secret(
        &ctx,
        request(
            json!({"SecretId": arn, "ClientRequestToken": uuid::Uuid::new_v4().to_string(),
                       "RotationLambdaARN": rotator, "RotateImmediately": false,
                       "RotationRules": {"AutomaticallyAfterDays": 1}}),
        ),
    )
    .unwrap();

    let clock = Arc::new(ManualClock::at(Timestamp::now()));
    let engine = Arc::new(Engine {
        core: core.clone(),
        node: "test-node".to_owned(),
        endpoint_url: "http://127.0.0.1:9".to_owned(),
        ca_bundle: None,
        dispatch: no_dispatch,
        clients: tresor_rotation::http::Clients::new().unwrap(),
        clock: clock.clone(),
    });
    let scheduler = scheduler::start(engine, Duration::from_millis(50));

    let read_steps = || std::fs::read_to_string(&steps).unwrap_or_default();
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !done() {
            assert!(std::time::Instant::now() < deadline, "timed out: {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    // The test-only run: testSecret alone.
    wait_for("the test-only run", &|| status(&core, &ctx).state == "idle");
    assert_eq!(
        read_steps().matches("\"Step\"").count(),
        1,
        "{}",
        read_steps()
    );
    assert!(read_steps().contains("testSecret"));

    // A day later by the wall clock would fire it; by this clock, nothing is due yet.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(read_steps().matches("\"Step\"").count(), 1);
    assert!(core.rotations_due(clock.now()).unwrap().is_empty());

    // Past the window's opening: the scheduler starts the rotation on its own.
    clock.advance(Duration::from_secs(2 * 86_400));
    wait_for("the scheduled rotation", &|| {
        status(&core, &ctx).last_result.as_deref() == Some("failed")
    });
    let text = read_steps();
    for step in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
        assert!(text.contains(step), "{step} not run: {text}");
    }
    let s = status(&core, &ctx);
    assert_eq!(
        s.last_error.as_deref(),
        Some("finishSecret did not move AWSCURRENT to the pending version")
    );
    assert_eq!(s.state, "retrying");
    scheduler.abort();
}
