//! A change and its audit record, on SQLite's two files, stopped at the worst moments.
//!
//! The trail (`tresor.audit.db`) commits before the store file (`tresor.db`), with a link in
//! both that tells a group whose store commit was lost. A debug build stops the server at a
//! chosen point of a commit (`TRESOR_FAULT_DIR`, see `tresor-store`'s `sqlite::commit`): before
//! either commit, between the two (the record is durable, the change is not), or after both.
//! After a restart, for each point: the change and its success record are both there or both
//! absent, except between the commits, where the record stays (the chain is append-only) and
//! an `UncommittedChanges` record names it; the chain verifies; a second restart adds nothing.
//! A store commit that fails while the server runs (a full disk) is answered the same way.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{init, run_with_timeout, sdk_client, tresor_command, Creds, Server, ServerOptions};
use rusqlite::Connection;
use serde_json::Value;

const PASSPHRASE: &str = "commit atomicity passphrase";
const TIMEOUT: Duration = Duration::from_secs(60);
const NAME: &str = "ai/openai/prod";

struct Case {
    _tmp: tempfile::TempDir,
    data: PathBuf,
    faults: PathBuf,
    creds: Creds,
}

impl Case {
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        let faults = tmp.path().join("faults");
        std::fs::create_dir_all(&faults).expect("fault dir");
        let creds = init(&["--data-dir", data.to_str().expect("utf-8")], PASSPHRASE);
        Self {
            _tmp: tmp,
            data,
            faults,
            creds,
        }
    }

    fn start(&self) -> Server {
        ServerOptions::production(&self.data, PASSPHRASE)
            .env("TRESOR_FAULT_DIR", self.faults.to_str().expect("utf-8"))
            .start()
    }

    /// Arm a fault point for the next commit that links the two files.
    fn arm(&self, point: &str) {
        std::fs::write(self.faults.join(point), b"").expect("arm fault");
    }

    fn client(&self, server: &Server) -> aws_sdk_secretsmanager::Client {
        sdk_client(&server.url, &self.creds)
    }

    /// Every record of the trail, as events, with their seq.
    fn records(&self) -> Vec<(u64, Value)> {
        let conn = Connection::open(self.data.join("tresor.audit.db")).expect("open trail");
        let mut stmt = conn
            .prepare("SELECT seq, event_json FROM audit_records ORDER BY seq")
            .expect("prepare");
        stmt.query_map([], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
        })
        .expect("query")
        .map(|r| {
            let (seq, json) = r.expect("row");
            (
                u64::try_from(seq).expect("seq"),
                serde_json::from_str(&json).expect("event json"),
            )
        })
        .collect()
    }

    fn verify(&self) {
        let mut cmd = tresor_command();
        cmd.arg("audit")
            .arg("verify")
            .arg("--data-dir")
            .arg(&self.data)
            .env("TRESOR_PASSPHRASE", PASSPHRASE);
        let out = run_with_timeout(cmd, TIMEOUT);
        assert!(
            out.status.success(),
            "audit verify: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn events_named<'a>(records: &'a [(u64, Value)], name: &str) -> Vec<&'a Value> {
    records
        .iter()
        .map(|(_, e)| e)
        .filter(|e| e["eventName"] == name)
        .collect()
}

/// Successful records of `name`.
fn successes<'a>(records: &'a [(u64, Value)], name: &str) -> Vec<&'a Value> {
    events_named(records, name)
        .into_iter()
        .filter(|e| e.get("errorCode").is_none())
        .collect()
}

/// The event ids an `UncommittedChanges` record names.
fn named_by(answer: &Value) -> Vec<String> {
    answer["additionalEventData"]["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["eventID"].as_str().expect("eventID").to_owned())
        .collect()
}

fn wait_exit(server: &mut Server) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let gone = std::fs::read_to_string(format!("/proc/{}/stat", server.pid()))
            .map(|stat| stat.split_whitespace().nth(2) == Some("Z"))
            .unwrap_or(true);
        if gone {
            server.kill9();
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop at the fault point"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn value(client: &aws_sdk_secretsmanager::Client) -> String {
    client
        .get_secret_value()
        .secret_id(NAME)
        .send()
        .await
        .expect("GetSecretValue")
        .secret_string()
        .expect("string")
        .to_owned()
}

/// A running server on a fresh store holding the secret at "sk-before".
async fn with_secret() -> (Case, Server, aws_sdk_secretsmanager::Client) {
    let case = Case::new();
    let server = case.start();
    let client = case.client(&server);
    client
        .create_secret()
        .name(NAME)
        .secret_string("sk-before")
        .send()
        .await
        .expect("CreateSecret");
    (case, server, client)
}

/// Make a put stop the server at `point`, then restart it. Returns the case and the running
/// server after the restart.
async fn crash_at(point: &str) -> (Case, Server) {
    let (case, mut server, client) = with_secret().await;
    case.arm(point);
    let put = client
        .put_secret_value()
        .secret_id(NAME)
        .secret_string("sk-after")
        .send()
        .await;
    assert!(put.is_err(), "{point}: the put was answered: {put:?}");
    wait_exit(&mut server);
    assert!(
        !case.faults.join(point).exists(),
        "{point}: the fault point was never reached"
    );
    let server = case.start();
    (case, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_before_either_commit_the_change_and_its_record_are_both_absent() {
    let (case, mut server) = crash_at("before-trail-commit").await;
    assert_eq!(value(&case.client(&server)).await, "sk-before");
    server.stop();
    let records = case.records();
    assert!(successes(&records, "PutSecretValue").is_empty());
    assert!(events_named(&records, "UncommittedChanges").is_empty());
    assert_eq!(successes(&records, "CreateSecret").len(), 1);
    case.verify();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_between_the_commits_the_record_stays_and_is_answered() {
    let (case, mut server) = crash_at("between-commits").await;
    // The change did not happen.
    assert_eq!(value(&case.client(&server)).await, "sk-before");
    server.stop();
    let records = case.records();
    let puts = successes(&records, "PutSecretValue");
    assert_eq!(puts.len(), 1, "the record of the put committed");
    let answers = events_named(&records, "UncommittedChanges");
    assert_eq!(answers.len(), 1, "one answer: {answers:?}");
    let answer = answers[0];
    let put_id = puts[0]["eventID"].as_str().expect("eventID").to_owned();
    assert_eq!(named_by(answer), vec![put_id]);
    assert_eq!(answer["eventSource"], "secretsmanager.amazonaws.com");
    assert_eq!(answer["userIdentity"]["type"], "AWSService");
    assert_eq!(answer["eventType"], "AwsServiceEvent");
    assert_eq!(answer["readOnly"], false);
    assert_eq!(answer["recipientAccountId"], puts[0]["recipientAccountId"]);
    assert_eq!(answer["resources"], puts[0]["resources"]);
    case.verify();

    // Answered once: another start finds nothing left.
    let mut server = case.start();
    assert_eq!(value(&case.client(&server)).await, "sk-before");
    server.stop();
    assert_eq!(events_named(&case.records(), "UncommittedChanges").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_after_both_commits_the_change_and_its_record_are_both_there() {
    let (case, mut server) = crash_at("after-commits").await;
    assert_eq!(value(&case.client(&server)).await, "sk-after");
    server.stop();
    let records = case.records();
    assert_eq!(successes(&records, "PutSecretValue").len(), 1);
    assert!(events_named(&records, "UncommittedChanges").is_empty());
    case.verify();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_commit_that_fails_at_run_time_is_answered_even_after_later_changes() {
    let (case, mut server, client) = with_secret().await;
    case.arm("fail-store-commit");
    let failed = client
        .put_secret_value()
        .secret_id(NAME)
        .secret_string("sk-lost")
        .send()
        .await;
    let err = failed.expect_err("the put whose store commit failed is refused");
    assert_eq!(
        err.as_service_error()
            .and_then(|e| aws_sdk_secretsmanager::error::ProvideErrorMetadata::code(e)),
        Some("InternalServiceError"),
        "{err:?}"
    );
    assert_eq!(value(&client).await, "sk-before");
    // A later change links the files again: the lost group must not be overwritten.
    client
        .put_secret_value()
        .secret_id(NAME)
        .secret_string("sk-later")
        .send()
        .await
        .expect("a later put");
    assert_eq!(value(&client).await, "sk-later");
    // The shutdown checkpoint answers it.
    assert!(server.stop().success());
    let records = case.records();
    let answers = events_named(&records, "UncommittedChanges");
    assert_eq!(answers.len(), 1, "{answers:?}");
    let lost: Vec<String> = successes(&records, "PutSecretValue")
        .iter()
        .map(|e| e["eventID"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(lost.len(), 2, "the lost put's record and the later one's");
    assert_eq!(named_by(answers[0]), vec![lost[0].clone()]);
    case.verify();
}
