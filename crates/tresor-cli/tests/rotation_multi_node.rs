//! Rotation on two `tresor server` nodes sharing one PostgreSQL database: exactly one node
//! runs a given rotation (a lease in the secret's row), and a node killed with SIGKILL in the
//! middle of a rotation leaves it to the other node, which runs it again from `createSecret`
//! with the same token once the lease has run out.
//!
//! The rotator is AWS's standard four-step rotation function (boto3), run as a command
//! rotator with the Python of the test environment `scripts/test` creates (`.venv`); each
//! step it receives is logged with the node that sent it.
//!
//! PostgreSQL policy as in `multi_node.rs`: skipped without a reachable server unless
//! `CI=true` or `TRESOR_REQUIRE_POSTGRES=1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::pg::TestDb;
use common::{iam_client, sdk_client, Creds, Server, ServerOptions};

const PASSPHRASE: &str = "rotation multi node passphrase";
const ROLE_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*"}]}"#;
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The test environment's Python, with boto3 (`scripts/test` creates it first).
fn python() -> PathBuf {
    let python = repo_root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/test, which creates the Python environment before the Rust tests",
        python.display()
    );
    python
}

/// `tresor <args> --output json` against `endpoint` as `creds`.
fn cli(endpoint: &str, creds: &Creds, args: &[&str]) -> serde_json::Value {
    let mut cmd = common::tresor_command();
    cmd.args(args)
        .args(["--output", "json"])
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", &creds.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &creds.secret_access_key)
        .env("AWS_REGION", "us-east-1");
    let out = common::run_with_timeout(cmd, Duration::from_secs(60));
    assert!(
        out.status.success(),
        "tresor {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

fn node(db: &TestDb) -> Server {
    ServerOptions::postgres(&db.url, PASSPHRASE)
        .arg("--rotation-tick")
        .arg("100ms")
        .start()
}

/// The events each rotator process received: (secret, step, node endpoint).
fn events(log: &Path) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["SecretId"].as_str().unwrap().to_owned(),
                v["Step"].as_str().unwrap().to_owned(),
                v["Node"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

struct Setup {
    rt: tokio::runtime::Runtime,
    creds: Creds,
    work: tempfile::TempDir,
}

impl Setup {
    fn role(&self, endpoint: &str) -> String {
        self.rt.block_on(async {
            let iam = iam_client(endpoint, &self.creds);
            let arn = iam
                .create_role()
                .role_name("rotator")
                .assume_role_policy_document(TRUST)
                .send()
                .await
                .unwrap()
                .role
                .unwrap()
                .arn;
            iam.put_role_policy()
                .role_name("rotator")
                .policy_name("rotate")
                .policy_document(ROLE_POLICY)
                .send()
                .await
                .unwrap();
            arn
        })
    }

    /// A command rotator running the boto3 function; `extra` environment assignments.
    fn rotator(&self, endpoint: &str, name: &str, role: &str, extra: &str, timeout: u32) -> String {
        let target = self.work.path().join(name);
        std::fs::create_dir_all(&target).unwrap();
        let command = format!(
            "TARGET_DIR={} EVENT_LOG={} {extra} {} run_rotation.py",
            target.display(),
            self.work.path().join(format!("{name}.events")).display(),
            python().display()
        );
        let function_dir = repo_root().join("tests/compat/rotation_function");
        let out = cli(
            endpoint,
            &self.creds,
            &[
                "rotator",
                "create",
                name,
                "--role-arn",
                role,
                "--command",
                &command,
                "--working-directory",
                function_dir.to_str().unwrap(),
                "--step-timeout-seconds",
                &timeout.to_string(),
            ],
        );
        out["arn"].as_str().unwrap().to_owned()
    }

    fn stages(&self, endpoint: &str, arn: &str) -> BTreeMap<String, Vec<String>> {
        self.rt.block_on(async {
            let d = sdk_client(endpoint, &self.creds)
                .describe_secret()
                .secret_id(arn)
                .send()
                .await
                .unwrap();
            d.version_ids_to_stages()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .collect()
        })
    }

    /// Wait until `arn`'s AWSCURRENT is `token` and no AWSPENDING is left.
    fn wait_rotated(&self, endpoint: &str, arn: &str, token: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let stages = self.stages(endpoint, arn);
            let done = stages.get(token).is_some_and(|s| s == &["AWSCURRENT"])
                && !stages.values().any(|s| s.iter().any(|l| l == "AWSPENDING"));
            if done {
                return;
            }
            if Instant::now() >= deadline {
                let status = cli(endpoint, &self.creds, &["rotation", "status"]);
                panic!("{arn} was not rotated to {token}: {stages:?}\nstatus: {status:#}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
fn two_nodes_run_each_rotation_exactly_once_and_resume_after_kill_9() {
    let Some(db) = TestDb::create("tresor_rot") else {
        return;
    };
    let creds = common::pg::init_store(&db.url, PASSPHRASE);
    let mut nodes = [node(&db), node(&db)];
    let setup = Setup {
        rt: tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap(),
        creds,
        work: tempfile::tempdir().unwrap(),
    };
    let (a, b) = (nodes[0].url.clone(), nodes[1].url.clone());
    let role = setup.role(&a);
    // Each step's event is logged with the node that sent it (its AWS_ENDPOINT_URL).
    let node_tag = "NODE_TAG=1";
    let quick = setup.rotator(&a, "quick", &role, node_tag, 30);

    // 1. Eight secrets rotate, each started through alternating nodes while both schedulers
    //    look for due rotations every 100 ms: each step of each rotation runs exactly once.
    let mut tokens = Vec::new();
    for i in 0..8 {
        let endpoint = if i % 2 == 0 { &a } else { &b };
        let token = uuid::Uuid::new_v4().to_string();
        let arn = setup.rt.block_on(async {
            let sm = sdk_client(endpoint, &setup.creds);
            let arn = sm
                .create_secret()
                .name(format!("db/password-{i}"))
                .secret_string("initial")
                .send()
                .await
                .unwrap()
                .arn
                .unwrap();
            sm.rotate_secret()
                .secret_id(&arn)
                .client_request_token(&token)
                .rotation_lambda_arn(&quick)
                .rotation_rules(
                    aws_sdk_secretsmanager::types::RotationRulesType::builder()
                        .automatically_after_days(1)
                        .build(),
                )
                .send()
                .await
                .unwrap();
            arn
        });
        tokens.push((arn, token));
    }
    for (arn, token) in &tokens {
        setup.wait_rotated(&b, arn, token, Duration::from_secs(120));
    }
    // Then both nodes race for the next scheduled rotations, made due by the test clock.
    let as_of = (time::OffsetDateTime::now_utc() + time::Duration::days(3))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let made_due = cli(
        &a,
        &setup.creds,
        &["rotation", "run-due", "--as-of", &as_of, "--wait"],
    );
    assert_eq!(
        made_due["arns"].as_array().unwrap().len(),
        tokens.len(),
        "{made_due}"
    );
    let log = setup.work.path().join("quick.events");
    let seen = events(&log);
    for (arn, _) in &tokens {
        for step in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
            let runs = seen
                .iter()
                .filter(|(s, st, _)| s == arn && st == step)
                .count();
            assert_eq!(
                runs, 2,
                "{arn} {step} ran {runs} times over two rotations: {seen:?}"
            );
        }
        let stages = setup.stages(&a, arn);
        assert_eq!(stages.len(), 2, "{stages:?}");
    }

    // 2. A node killed mid-rotation: the rotator hangs in setSecret on the node that runs it
    //    first; that node is killed with SIGKILL; the other node takes over when the lease
    //    (the step timeout, 4 s, and a margin) runs out, and finishes the rotation with the
    //    same token.
    let marker = setup.work.path().join("hang.marker");
    let hang = format!(
        "{node_tag} HANG_STEP=setSecret HANG_MARKER={}",
        marker.display()
    );
    let hanging = setup.rotator(&a, "hanging", &role, &hang, 4);
    let token = uuid::Uuid::new_v4().to_string();
    let arn = setup.rt.block_on(async {
        let sm = sdk_client(&a, &setup.creds);
        let arn = sm
            .create_secret()
            .name("db/killed-mid-rotation")
            .secret_string("initial")
            .send()
            .await
            .unwrap()
            .arn
            .unwrap();
        sm.rotate_secret()
            .secret_id(&arn)
            .client_request_token(&token)
            .rotation_lambda_arn(&hanging)
            .send()
            .await
            .unwrap();
        arn
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while !marker.exists() {
        assert!(Instant::now() < deadline, "setSecret never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(100));
    let hung = std::fs::read_to_string(&marker).unwrap();
    let (runner, pid) = hung.trim().split_once(' ').unwrap();
    let (victim, survivor) = if runner == a { (0, 1) } else { (1, 0) };
    assert_eq!(runner, nodes[victim].url);
    nodes[victim].kill9();
    // The hanging step's process is in its own process group: it outlives its server.
    let _ = std::process::Command::new("kill")
        .args(["-KILL", pid])
        .status();
    let survivor_url = nodes[survivor].url.clone();
    setup.wait_rotated(&survivor_url, &arn, &token, Duration::from_secs(90));
    let seen = events(&setup.work.path().join("hanging.events"));
    let steps: Vec<(&str, bool)> = seen
        .iter()
        .filter(|(s, _, _)| s == &arn)
        .map(|(_, step, node)| (step.as_str(), node == &survivor_url))
        .collect();
    assert_eq!(
        steps,
        [
            ("createSecret", false),
            ("setSecret", false),
            ("createSecret", true),
            ("setSecret", true),
            ("testSecret", true),
            ("finishSecret", true),
        ],
        "{seen:?}"
    );
    // One new value: the retry found the pending value createSecret had put, and kept it.
    let stages = setup.stages(&survivor_url, &arn);
    assert_eq!(stages.len(), 2, "{stages:?}");
}
