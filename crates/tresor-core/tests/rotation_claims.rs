//! The rotation state machine the engine drives, with the time given to each call (as the
//! scheduler's clock does), so leases, retries and schedules are exercised without waiting:
//! - RotateSecret creates the pending version first and the rotation is due at once;
//! - of many claimers racing for one rotation exactly one gets it, and nobody else until its
//!   lease runs out; then another claims it, with the same token, as a new attempt;
//! - a failure keeps AWSPENDING and backs off; success clears AWSPENDING and sets the dates;
//! - a claim that no longer holds (cancelled, taken over) changes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use support::root;
use tresor_core::rotation::run::{Claimed, Finish, StepLog};
use tresor_core::validate::{Validate, Validated};
use tresor_core::{bootstrap, Core, RequestContext, StoreBackend};
use tresor_store::{SqliteStore, Store};
use tresor_types::{AccountId, Timestamp};

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

fn request<T: serde::de::DeserializeOwned + Validate>(body: Value) -> Validated<T> {
    Validated::new(serde_json::from_value(body).unwrap()).unwrap()
}

struct World {
    core: Arc<Core>,
    ctx: RequestContext,
    rotator: String,
    _dir: tempfile::TempDir,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreBackend::Sqlite(SqliteStore::open(&dir.path().join("tresor.db")).unwrap());
    let account = AccountId::parse("111122223333").unwrap();
    let (keyring, _creds) = bootstrap::dev(&store, &account, None).unwrap();
    let core = Arc::new(Core::new(store, keyring).unwrap());
    let ctx = root(&account);
    let iam_ctx = ctx.clone();
    tresor_core::iam::dispatch(
        &core,
        &iam_ctx,
        tresor_core::iam::Operation::CreateRole,
        json!({"RoleName": "rotator", "AssumeRolePolicyDocument": TRUST}),
    )
    .unwrap();
    let rotator = core
        .rotation_create_rotator(
            &ctx,
            request(json!({
                "Name": "fn", "Type": "command", "Command": "true", "StepTimeoutSeconds": 60,
                "RoleArn": "arn:aws:iam::111122223333:role/rotator",
            })),
        )
        .unwrap()
        .rotator
        .arn;
    World {
        core,
        ctx,
        rotator,
        _dir: dir,
    }
}

fn secret(w: &World, name: &str) -> String {
    w.core
        .create_secret(
            &w.ctx,
            request(json!({"Name": name, "SecretString": "v1",
                           "ClientRequestToken": uuid::Uuid::new_v4().to_string()})),
        )
        .unwrap()
        .arn
}

fn stages(w: &World, arn: &str) -> std::collections::BTreeMap<String, Vec<String>> {
    w.core
        .describe_secret(&w.ctx, request(json!({ "SecretId": arn })))
        .unwrap()
        .version_ids_to_stages
        .unwrap_or_default()
}

fn rotate(w: &World, arn: &str, token: &str) {
    w.core
        .rotate_secret(
            &w.ctx,
            request(json!({"SecretId": arn, "ClientRequestToken": token,
                           "RotationLambdaARN": w.rotator,
                           "RotationRules": {"AutomaticallyAfterDays": 7}})),
        )
        .unwrap();
}

fn claim(
    w: &World,
    arn: &str,
    node: &str,
    now: Timestamp,
) -> Option<tresor_core::rotation::run::Claim> {
    match w.core.claim_rotation(arn, node, now).unwrap() {
        Some(Claimed::Rotation(c)) => Some(*c),
        Some(other) => panic!("not a rotation: {other:?}"),
        None => None,
    }
}

fn log(step: &str) -> StepLog {
    StepLog {
        step: step.to_owned(),
        outcome: "ok".to_owned(),
        summary: "exit status 0".to_owned(),
        stdout: Vec::new(),
        stderr: Vec::new(),
        duration: Duration::from_millis(1),
    }
}

/// What a rotation function's createSecret and finishSecret do, through the API.
fn rotate_value(w: &World, arn: &str, token: &str) {
    w.core
        .put_secret_value(
            &w.ctx,
            request(json!({"SecretId": arn, "ClientRequestToken": token,
                           "SecretString": "v2", "VersionStages": ["AWSPENDING"]})),
        )
        .unwrap();
    let current = stages(w, arn)
        .into_iter()
        .find(|(_, s)| s.iter().any(|l| l == "AWSCURRENT"))
        .unwrap()
        .0;
    w.core
        .update_secret_version_stage(
            &w.ctx,
            request(json!({"SecretId": arn, "VersionStage": "AWSCURRENT",
                           "MoveToVersionId": token, "RemoveFromVersionId": current})),
        )
        .unwrap();
}

#[test]
fn exactly_one_of_many_claimers_runs_a_rotation() {
    let w = world();
    let arn = secret(&w, "db/one");
    let token = uuid::Uuid::new_v4().to_string();
    rotate(&w, &arn, &token);
    // The pending version exists, without a value, before anything runs.
    assert_eq!(stages(&w, &arn)[&token], ["AWSPENDING"]);
    let now = Timestamp::now();
    assert_eq!(
        w.core.rotations_due(now).unwrap(),
        std::slice::from_ref(&arn)
    );
    let mut winners: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (w, arn) = (&w, &arn);
                s.spawn(move || claim(w, arn, &format!("node-{i}"), now))
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(winners.len(), 1, "{winners:?}");
    let first = winners.pop().unwrap();
    assert_eq!((first.token.as_str(), first.attempt), (token.as_str(), 1));
    // Held: not due, and nobody else can claim it, until the lease (60 s + margin) runs out.
    assert!(w.core.rotations_due(now).unwrap().is_empty());
    assert!(claim(&w, &arn, "late", now.plus_seconds(30)).is_none());
    let taken = claim(&w, &arn, "late", now.plus_seconds(71)).expect("lease ran out");
    assert_eq!(taken.token, token);
    assert_eq!(taken.attempt, 2);
    // The first node's claim no longer holds: its reports change nothing.
    assert!(!w
        .core
        .rotation_step(&first, log("setSecret"), now.plus_seconds(72))
        .unwrap());
    assert!(!w
        .core
        .finish_rotation(
            &first,
            Finish::Succeeded { revoke_later: None },
            now.plus_seconds(72)
        )
        .unwrap());
    // The new holder finishes it.
    rotate_value(&w, &arn, &token);
    assert!(w
        .core
        .rotation_step(&taken, log("finishSecret"), now.plus_seconds(73))
        .unwrap());
    assert!(w
        .core
        .finish_rotation(
            &taken,
            Finish::Succeeded { revoke_later: None },
            now.plus_seconds(73)
        )
        .unwrap());
    let s = stages(&w, &arn);
    assert_eq!(s[&token], ["AWSCURRENT"]);
    assert!(!s.values().any(|l| l.iter().any(|x| x == "AWSPENDING")));
    let d = w
        .core
        .describe_secret(&w.ctx, request(json!({ "SecretId": arn })))
        .unwrap();
    assert_eq!(d.rotation_enabled, Some(true));
    assert!(d.last_rotated_date.is_some());
    // Seven days on, the end of that day.
    let next = d.next_rotation_date.unwrap().millis() - now.plus_seconds(73).millis();
    assert!((6 * 86_400_000..8 * 86_400_000).contains(&next), "{next}");
    // Nothing due until the next window opens; then a new rotation with a new token.
    assert!(w
        .core
        .rotations_due(now.plus_seconds(3600))
        .unwrap()
        .is_empty());
    let later = now.plus_days(8);
    let next_claim = claim(&w, &arn, "node-0", later).expect("scheduled rotation");
    assert_ne!(next_claim.token, token);
    assert_eq!(stages(&w, &arn)[&next_claim.token], ["AWSPENDING"]);
}

#[test]
fn a_failure_keeps_pending_and_backs_off_and_a_cancel_stops_the_claim() {
    let w = world();
    let arn = secret(&w, "db/two");
    let token = uuid::Uuid::new_v4().to_string();
    rotate(&w, &arn, &token);
    let now = Timestamp::now();
    let c = claim(&w, &arn, "node", now).unwrap();
    assert!(w
        .core
        .finish_rotation(
            &c,
            Finish::Failed {
                summary: "testSecret: exit status 1".to_owned()
            },
            now
        )
        .unwrap());
    let s = stages(&w, &arn);
    assert_eq!(s[&token], ["AWSPENDING"]);
    assert!(s.values().any(|l| l == &["AWSCURRENT"]));
    // Backoff: not due for 30 s.
    assert!(w
        .core
        .rotations_due(now.plus_seconds(29))
        .unwrap()
        .is_empty());
    let again = claim(&w, &arn, "node", now.plus_seconds(31)).unwrap();
    assert_eq!((again.token.as_str(), again.attempt), (token.as_str(), 2));
    // A cancel while it runs: the claim no longer holds; the labels stay.
    let out = w
        .core
        .cancel_rotate_secret(&w.ctx, request(json!({ "SecretId": arn })))
        .unwrap();
    assert_eq!(out.version_id.as_deref(), Some(token.as_str()));
    assert!(!w
        .core
        .rotation_step(&again, log("setSecret"), now.plus_seconds(32))
        .unwrap());
    assert_eq!(stages(&w, &arn)[&token], ["AWSPENDING"]);
    assert!(w.core.rotations_due(now.plus_days(30)).unwrap().is_empty());
    // The store's view: the rotation column is kept (configuration visible after cancel).
    let record = w.core.store().find_secret_by_arn(&arn).unwrap().unwrap();
    assert!(record.rotation.unwrap().contains("\"enabled\":false"));
}
