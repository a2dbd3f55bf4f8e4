//! `tresor migrate-storage --from <data dir> --to postgres://…` moves a whole SQLite store into
//! an empty PostgreSQL database without decrypting anything: a server started on the new
//! store with the same passphrase serves the same secrets to the same credentials, the moved
//! audit trail verifies (with the passphrase, and with only the public key) and goes on
//! growing, the AI gateway keeps its routes, prices, keys (the same token works) and budgets
//! (what was spent before the move still counts), and a second move into the now non-empty
//! database is refused and changes nothing.
//! A move interrupted half-way (the process killed with SIGKILL, or its database connection
//! cut) lands not at all: the target holds no row, and the next move into it succeeds.
//!
//! PostgreSQL policy as in `tresor-store`'s conformance suite: without a reachable server the
//! PostgreSQL test prints a SKIPPED line and passes, unless `CI=true` or
//! `TRESOR_REQUIRE_POSTGRES=1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_sdk_secretsmanager::primitives::Blob;
use common::pg::TestDb;
use common::{
    iam_client, run_with_timeout, sdk_client, tresor_command, unique, Creds, Server, ServerOptions,
};
use serde_json::Value;

const PASSPHRASE: &str = "migrate storage passphrase";
const TIMEOUT: Duration = Duration::from_secs(120);

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn tresor(args: &[&str], unseal: bool) -> Output {
    let mut cmd = tresor_command();
    cmd.args(args);
    if unseal {
        cmd.env("TRESOR_PASSPHRASE", PASSPHRASE);
    }
    run_with_timeout(cmd, TIMEOUT)
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// `tresor audit verify …` must pass; returns its record count.
fn verify(args: &[&str], unseal: bool) -> u64 {
    let mut all = vec!["audit", "verify"];
    all.extend_from_slice(args);
    let out = tresor(&all, unseal);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "audit verify {args:?} failed ({}):\nstdout: {stdout}\nstderr: {}",
        out.status,
        text(&out.stderr)
    );
    stdout
        .split_once("audit chain OK: ")
        .and_then(|(_, rest)| rest.split_once(" records"))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no record count in {stdout:?}"))
}

/// Row counts of every table of the PostgreSQL store, to show a refused move changed nothing.
fn table_counts(db: &TestDb) -> Vec<(String, i64)> {
    let mut client = db.connect();
    let tables = db.tables();
    tables
        .into_iter()
        .map(|t| {
            let n: i64 = client
                .query_one(&format!("SELECT count(*) FROM \"{t}\""), &[])
                .unwrap()
                .get(0);
            (t, n)
        })
        .collect()
}

const ALLOW_READ: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;

struct Written {
    /// An IAM user's access key, allowed to read secrets by an inline policy.
    user: Creds,
    /// (name, string value of AWSCURRENT, string value of AWSPREVIOUS)
    strings: Vec<(String, String, String)>,
    binary: (String, Vec<u8>),
    deleted: String,
}

async fn make_requests(url: &str, creds: &Creds) -> Written {
    let client = sdk_client(url, creds);
    let mut strings = Vec::new();
    for i in 0..3 {
        let name = unique(&format!("mig/app{i}"));
        let first = unique(&format!("first-{i}"));
        let second = unique(&format!("second-{i}"));
        client
            .create_secret()
            .name(&name)
            .secret_string(&first)
            .send()
            .await
            .expect("create");
        client
            .put_secret_value()
            .secret_id(&name)
            .secret_string(&second)
            .send()
            .await
            .expect("put");
        strings.push((name, second, first));
    }
    let binary: Vec<u8> = (0..=255u8).chain(unique("bin").into_bytes()).collect();
    let bin_name = unique("mig/bin");
    client
        .create_secret()
        .name(&bin_name)
        .secret_binary(Blob::new(binary.clone()))
        .send()
        .await
        .expect("create binary");
    let deleted = unique("mig/deleted");
    client
        .create_secret()
        .name(&deleted)
        .secret_string("soon gone")
        .send()
        .await
        .expect("create doomed");
    client
        .delete_secret()
        .secret_id(&deleted)
        .recovery_window_in_days(7)
        .send()
        .await
        .expect("delete");
    // A failing call is audited too.
    let err = client
        .get_secret_value()
        .secret_id("mig/does-not-exist")
        .send()
        .await
        .expect_err("missing secret");
    assert_eq!(err.code(), Some("ResourceNotFoundException"), "{err:?}");
    let iam = iam_client(url, creds);
    iam.create_user()
        .user_name("mover")
        .send()
        .await
        .expect("create user");
    iam.put_user_policy()
        .user_name("mover")
        .policy_name("allow-read")
        .policy_document(ALLOW_READ)
        .send()
        .await
        .expect("user policy");
    let key = iam
        .create_access_key()
        .user_name("mover")
        .send()
        .await
        .expect("create access key");
    let key = key.access_key().expect("access key");
    let user = Creds {
        access_key_id: key.access_key_id().to_owned(),
        secret_access_key: key.secret_access_key().to_owned(),
    };
    Written {
        user,
        strings,
        binary: (bin_name, binary),
        deleted,
    }
}

async fn check_and_add(url: &str, creds: &Creds, written: &Written) -> u64 {
    let client = sdk_client(url, creds);
    let mut sent = 0;
    for (name, current, previous) in &written.strings {
        let got = client
            .get_secret_value()
            .secret_id(name)
            .send()
            .await
            .expect("get current");
        assert_eq!(got.secret_string(), Some(current.as_str()));
        let got = client
            .get_secret_value()
            .secret_id(name)
            .version_stage("AWSPREVIOUS")
            .send()
            .await
            .expect("get previous");
        assert_eq!(got.secret_string(), Some(previous.as_str()));
        sent += 2;
    }
    let got = client
        .get_secret_value()
        .secret_id(&written.binary.0)
        .send()
        .await
        .expect("get binary");
    assert_eq!(
        got.secret_binary().map(|b| b.as_ref().to_vec()),
        Some(written.binary.1.clone())
    );
    let described = client
        .describe_secret()
        .secret_id(&written.deleted)
        .send()
        .await
        .expect("describe deleted");
    assert!(described.deleted_date().is_some(), "{described:?}");
    sent += 2;
    // The IAM user's key (its sealed secret moved as it was) and its policy still work.
    let as_user = sdk_client(url, &written.user);
    let (name, current, _) = &written.strings[0];
    let got = as_user
        .get_secret_value()
        .secret_id(name)
        .send()
        .await
        .expect("get as the IAM user");
    assert_eq!(got.secret_string(), Some(current.as_str()));
    let err = as_user
        .describe_secret()
        .secret_id(name)
        .send()
        .await
        .expect_err("not allowed");
    assert_eq!(err.code(), Some("AccessDeniedException"), "{err:?}");
    sent += 2;
    // The moved store takes writes.
    let name = unique("mig/after");
    client
        .create_secret()
        .name(&name)
        .secret_string("after the move")
        .send()
        .await
        .expect("create after move");
    let got = client
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .expect("get after move");
    assert_eq!(got.secret_string(), Some("after the move"));
    sent + 2
}

// ---- the AI gateway's state ----

/// The gateway's configuration as its admin API lists it: routes, keys, price overrides.
fn gateway_config(endpoint: &str, creds: &Creds) -> Vec<Value> {
    ["route", "key", "price"]
        .iter()
        .map(|what| common::gateway::cli(endpoint, creds, &[what, "list"]))
        .collect()
}

/// What the store's gateway held before the move.
struct GatewaySeed {
    token: String,
    key_id: String,
    config: Vec<Value>,
}

/// Through the real tools (the SDKs, then the `tresor gateway` CLI): the provider key as a
/// secret, an IAM user allowed to invoke route `openai`, the route (to the mock provider), a
/// price of $1 per output token, and the user's key with a $12 total budget; then one call,
/// which costs $5 (the mock reports 5 output tokens).
fn seed_gateway(
    rt: &tokio::runtime::Runtime,
    server: &Server,
    creds: &Creds,
    upstream: &str,
) -> GatewaySeed {
    rt.block_on(async {
        sdk_client(&server.url, creds)
            .create_secret()
            .name("mig/openai-key")
            .secret_string("sk-mock-migrate")
            .send()
            .await
            .expect("provider key");
        let iam = iam_client(&server.url, creds);
        iam.create_user()
            .user_name("chat")
            .send()
            .await
            .expect("chat user");
        iam.put_user_policy()
            .user_name("chat")
            .policy_name("invoke")
            .policy_document(common::gateway::ALLOW_INVOKE)
            .send()
            .await
            .expect("invoke policy");
    });
    let url = server.url.as_str();
    common::gateway::cli(
        url,
        creds,
        &[
            "route",
            "create",
            "openai",
            "--provider",
            "openai",
            "--secret-id",
            "mig/openai-key",
            "--base-url",
            upstream,
        ],
    );
    common::gateway::cli(
        url,
        creds,
        &[
            "price",
            "set",
            "gpt-4o-mini",
            "--input-usd",
            "0",
            "--output-usd",
            "1000000",
        ],
    );
    let key = common::gateway::cli(
        url,
        creds,
        &[
            "key",
            "create",
            "--user",
            "chat",
            "--routes",
            "openai",
            "--budget-usd",
            "12",
            "--budget-period",
            "total",
        ],
    );
    let token = key["key"].as_str().unwrap().to_owned();
    let key_id = key["key_id"].as_str().unwrap().to_owned();
    assert_eq!(
        common::gateway::chat(server.addr, &token).0,
        200,
        "the call before the move"
    );
    let usage = common::gateway::cli(url, creds, &["key", "usage", &key_id]);
    assert_eq!(usage["spent_usd"], 5.0, "{usage}");
    GatewaySeed {
        token,
        key_id,
        config: gateway_config(url, creds),
    }
}

/// On the moved store: the same configuration; the same token still works; the $5 spent
/// before the move still counts, so one more $5 call fits the $12 budget and the next is
/// refused (a budget reset by the move would admit it). Returns the calls made.
fn check_gateway(server: &Server, creds: &Creds, seed: &GatewaySeed) -> u64 {
    let url = server.url.as_str();
    assert_eq!(gateway_config(url, creds), seed.config);
    let usage = common::gateway::cli(url, creds, &["key", "usage", &seed.key_id]);
    assert_eq!(usage["requests"], 1, "{usage}");
    assert_eq!(usage["spent_usd"], 5.0, "{usage}");
    assert_eq!(usage["held_usd"], 0.0, "{usage}");
    assert_eq!(
        common::gateway::chat(server.addr, &seed.token).0,
        200,
        "the key works after the move"
    );
    assert_eq!(
        common::gateway::chat(server.addr, &seed.token).0,
        429,
        "$10 of the $12 budget are spent: a $5 call must be refused"
    );
    let usage = common::gateway::cli(url, creds, &["key", "usage", &seed.key_id]);
    assert_eq!(usage["requests"], 2, "{usage}");
    assert_eq!(usage["spent_usd"], 10.0, "{usage}");
    2
}

#[test]
fn a_sqlite_store_moves_to_postgres_and_keeps_working() {
    let Some(db) = TestDb::create("tresor_mig") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");

    let out = tresor(
        &["init", "--data-dir", path(&data), "--output", "json"],
        true,
    );
    assert!(out.status.success(), "init: {}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let creds = Creds {
        access_key_id: json["access_key_id"].as_str().unwrap().to_owned(),
        secret_access_key: json["secret_access_key"].as_str().unwrap().to_owned(),
    };

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mock = rt
        .block_on(tresor_gateway::mock::MockUpstream::start(true))
        .unwrap();
    let upstream = format!("http://{}/v1", mock.addr);
    let mut server = ServerOptions::production(&data, PASSPHRASE).start();
    let written = rt.block_on(make_requests(&server.url, &creds));
    let seed = seed_gateway(&rt, &server, &creds, &upstream);
    let status = server.stop();
    assert!(status.success(), "SIGTERM exit: {status}");
    drop(server);

    let before = verify(&["--data-dir", path(&data)], true);
    let key_file = tmp.path().join("audit.pub");
    let out = tresor(
        &[
            "audit",
            "public-key",
            "--data-dir",
            path(&data),
            "--out",
            path(&key_file),
        ],
        true,
    );
    assert!(out.status.success(), "public-key: {}", text(&out.stderr));

    // The move itself needs no passphrase.
    let out = tresor(
        &["migrate-storage", "--from", path(&data), "--to", &db.url],
        false,
    );
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(
        out.status.success(),
        "migrate-storage failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
    eprintln!("migrate-storage:\n{stdout}");
    for line in [
        "  secrets: 6\n",
        "  secret versions: 9\n",
        "  access keys: 2\n",
        "  users: 2\n",
        "  inline policies: 2\n",
        "  gateway routes: 1\n",
        "  gateway keys: 1\n",
        "  gateway price overrides: 1\n",
        // The call was charged to its key and to its user (each a ledger).
        "  gateway budget ledgers: 2\n",
    ] {
        assert!(stdout.contains(line), "{line:?} missing: {stdout}");
    }
    assert!(
        stdout.contains(&format!("  audit records: {before}\n")),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!("audit records {before}/{before}")),
        "progress on stderr: {stderr}"
    );

    // The moved trail verifies, with the passphrase and with only the public key.
    assert_eq!(verify(&["--storage", &db.url], true), before);
    assert_eq!(
        verify(
            &["--storage", &db.url, "--public-key", path(&key_file)],
            false
        ),
        before
    );

    // A server on the new store: same passphrase, same credentials, same secrets.
    let mut server = ServerOptions::postgres(&db.url, PASSPHRASE).start();
    let mut sent = rt.block_on(check_and_add(&server.url, &creds, &written));
    sent += check_gateway(&server, &creds, &seed);
    let status = server.stop();
    assert!(status.success(), "SIGTERM exit: {status}");
    drop(server);
    let after = verify(&["--storage", &db.url], true);
    assert!(
        after >= before + sent,
        "{after} records after the move, {before} before and {sent} requests since"
    );
    assert_eq!(
        verify(
            &["--storage", &db.url, "--public-key", path(&key_file)],
            false
        ),
        after
    );

    // A second move into the now non-empty database is refused and changes nothing.
    let counts = table_counts(&db);
    let out = tresor(
        &["migrate-storage", "--from", path(&data), "--to", &db.url],
        false,
    );
    assert!(!out.status.success(), "a second move must be refused");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("not empty"), "{stderr}");
    assert_eq!(table_counts(&db), counts);
    assert_eq!(verify(&["--storage", &db.url], true), after);
}

/// Secrets in the store whose move is interrupted: enough that copying them takes a while (a
/// second here), so the move is surely still running when it is interrupted.
const MANY_SECRETS: usize = 1000;

/// A store of `MANY_SECRETS` secrets in `data`; returns its audit record count.
fn many_secrets(data: &Path) -> u64 {
    let out = tresor(
        &["init", "--data-dir", path(data), "--output", "json"],
        true,
    );
    assert!(out.status.success(), "init: {}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let creds = Creds {
        access_key_id: json["access_key_id"].as_str().unwrap().to_owned(),
        secret_access_key: json["secret_access_key"].as_str().unwrap().to_owned(),
    };
    let mut server = ServerOptions::production(data, PASSPHRASE).start();
    let client = sdk_client(&server.url, &creds);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let tasks: Vec<_> = (0..8)
                .map(|t| {
                    let client = client.clone();
                    tokio::spawn(async move {
                        for i in (t..MANY_SECRETS).step_by(8) {
                            client
                                .create_secret()
                                .name(format!("many/{i:04}"))
                                .secret_string(unique("value"))
                                .send()
                                .await
                                .expect("create");
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        });
    assert!(server.stop().success());
    verify(&["--data-dir", path(data)], true)
}

/// A `tresor migrate-storage` caught half-way: it has copied the metadata, keys and identities
/// into its open transaction of the target (PostgreSQL gave that transaction an id: it wrote)
/// and is copying the secrets. `stderr` collects what it printed.
struct MidCopy {
    child: Child,
    stderr: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl MidCopy {
    fn start(data: &Path, db: &TestDb) -> Self {
        let mut child = tresor_command()
            .args(["migrate-storage", "--from", path(data), "--to", &db.url])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn migrate-storage");
        let (tx, stderr) = mpsc::channel();
        let pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let mut seen = Vec::new();
        // Progress lines come when a kind is done; the secrets come right after the access keys.
        while !seen.iter().any(|l: &String| l.starts_with("access keys ")) {
            match stderr.recv_timeout(TIMEOUT) {
                Ok(line) => seen.push(line),
                Err(e) => panic!("migrate-storage did not reach the secrets ({e}): {seen:?}"),
            }
        }
        let mut admin = common::pg::admin().unwrap();
        let writing = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = $1 AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()",
                &[&db.name],
            )
            .unwrap()
            .get::<_, i64>(0);
        assert_eq!(
            writing, 1,
            "the move has no open transaction that wrote to the target: {seen:?}"
        );
        Self {
            child,
            stderr,
            seen,
        }
    }

    /// Waits for the process to end: its exit status and everything it printed on stderr.
    fn finish(mut self) -> (std::process::ExitStatus, String) {
        let deadline = Instant::now() + TIMEOUT;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "migrate-storage did not end");
            std::thread::sleep(Duration::from_millis(20));
        };
        // The reader ends at the end of the pipe, now that the process is gone.
        self.seen.extend(self.stderr.iter());
        (status, self.seen.join("\n"))
    }
}

/// Every table of the target but the schema's own bookkeeping holds no row.
fn assert_no_rows(db: &TestDb, after: &str) {
    let counts = table_counts(db);
    assert!(counts.iter().any(|(t, _)| t == "secrets"), "{counts:?}");
    let left: Vec<_> = counts
        .iter()
        .filter(|(t, n)| t != "tresor_schema_migrations" && *n != 0)
        .collect();
    assert!(
        left.is_empty(),
        "rows left in the target after {after}: {left:?}"
    );
}

#[test]
fn an_interrupted_move_leaves_the_target_empty_and_the_next_move_lands_whole() {
    let Some(db) = TestDb::create("tresor_mig_cut") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let records = many_secrets(&data);

    // The process is killed outright: PostgreSQL ends its transaction when the socket closes.
    let mut copy = MidCopy::start(&data, &db);
    copy.child.kill().unwrap();
    let (status, stderr) = copy.finish();
    assert!(
        !status.success() && status.code().is_none(),
        "migrate-storage finished before it was killed ({status}): {stderr}"
    );
    assert_no_rows(&db, "SIGKILL");

    // Its connection is cut (a dropped network, a database restart): the move fails and says
    // nothing was written.
    let copy = MidCopy::start(&data, &db);
    assert!(db.terminate_backends() >= 1);
    let (status, stderr) = copy.finish();
    assert!(
        !status.success(),
        "migrate-storage survived the cut: {stderr}"
    );
    assert!(
        stderr.contains("moving the store failed, nothing was written"),
        "{stderr}"
    );
    assert_no_rows(&db, "a cut connection");

    // The source is as it was, and the next move lands whole.
    assert_eq!(verify(&["--data-dir", path(&data)], true), records);
    let started = Instant::now();
    let out = tresor(
        &["migrate-storage", "--from", path(&data), "--to", &db.url],
        false,
    );
    eprintln!("the whole move took {:?}", started.elapsed());
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "migrate-storage after the interruptions failed ({}):\nstdout: {stdout}\nstderr: {}",
        out.status,
        text(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("  secrets: {MANY_SECRETS}\n")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("  audit records: {records}\n")),
        "{stdout}"
    );
    assert_eq!(verify(&["--storage", &db.url], true), records);
}

#[test]
fn bad_arguments_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    // Not a PostgreSQL URL.
    let out = tresor(
        &[
            "migrate-storage",
            "--from",
            path(tmp.path()),
            "--to",
            "mysql://x@y/z",
        ],
        false,
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("PostgreSQL URL"),
        "{}",
        text(&out.stderr)
    );
    // No store in the source directory: nothing is created there.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = tresor(
        &[
            "migrate-storage",
            "--from",
            path(&empty),
            "--to",
            "postgres://nobody@127.0.0.1:1/none",
        ],
        false,
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("holds no Tresor store"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
}
