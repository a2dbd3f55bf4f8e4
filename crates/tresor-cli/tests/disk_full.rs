//! Disk full (issue 14): a production server whose data directory is a small tmpfs that the
//! test fills up. While the filesystem is full, writes and audited reads fail with a clean
//! `InternalServiceError` (500, no internal detail), never with a value whose audit record is
//! not durable (calls that still succeed, in WAL space SQLite already holds, are acknowledged
//! like any other); nothing acknowledged before or during the fault is lost; a write that failed
//! leaves no version behind; and as soon as the space returns the same process serves again.
//! The trail then holds a record of every call, failed ones included, and still verifies.
//!
//! The test mounts the tmpfs itself, so it needs root. Without it (or when `mount` fails) it
//! prints a SKIPPED line and passes, unless `CI=true`, where it fails: CI runs as root.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_secretsmanager::config::http::HttpResponse;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::operation::RequestId as _;
use common::{http_get, run_with_timeout, sdk_client, tresor_command, unique, Creds};
use common::{ServerOptions, TRESOR};

const PASSPHRASE: &str = "disk full is no reason to lose a secret";
const TIMEOUT: Duration = Duration::from_secs(60);
/// Small enough to fill in milliseconds, large enough for the store and its WAL files.
const FS_SIZE: &str = "8m";
/// The message every server error carries: no path, no SQLite text, no errno.
const SERVER_ERROR: &str = "An error occurred on the server side.";
/// Bounds of the loops that write (or read) until the full filesystem makes a call fail. SQLite
/// reuses WAL space it already holds, so the first calls after the fill may still succeed.
const MAX_ATTEMPTS: usize = 300;
/// Secrets the writes are spread over, so that no secret reaches the version limit (where old
/// versions would be pruned, legitimately, and look lost).
const SECRETS: usize = 10;

/// Whether a missing mount must fail the run instead of skipping the test.
fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// A size-limited tmpfs mounted on a fresh temporary directory; unmounted on drop, also when
/// the test panics (lazily if something still holds it), before the directory is removed.
struct SmallFs {
    dir: tempfile::TempDir,
}

impl SmallFs {
    fn mount(size: &str) -> Result<Self, String> {
        let dir = tempfile::Builder::new()
            .prefix("tresor-disk-full-")
            .tempdir()
            .map_err(|e| format!("mount point: {e}"))?;
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            let _ = Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}

/// A file that takes every free byte of the filesystem it is on.
struct Filler(PathBuf);

impl Filler {
    fn fill(dir: &Path) -> Self {
        let path = dir.join("filler");
        let mut file = std::fs::File::create(&path).expect("create the filler");
        let chunk = vec![0u8; 64 * 1024];
        loop {
            // A partial write means the next one finds no space.
            match file.write(&chunk) {
                Ok(0) => panic!("the filler wrote nothing without an error"),
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(28) => break,
                Err(e) => panic!("filling the filesystem: {e}"),
            }
        }
        Self(path)
    }

    fn remove(self) {
        std::fs::remove_file(&self.0).expect("remove the filler");
    }
}

/// `tresor init` on `dir`; the root credentials.
fn init(dir: &Path) -> Creds {
    let mut cmd = tresor_command();
    cmd.arg("init")
        .arg("--data-dir")
        .arg(dir)
        .args(["--output", "json", "--account-id", "000000000000"])
        .env("TRESOR_PASSPHRASE", PASSPHRASE);
    let out = run_with_timeout(cmd, TIMEOUT);
    assert!(
        out.status.success(),
        "init failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("init JSON");
    let field = |k: &str| json[k].as_str().expect(k).to_owned();
    Creds {
        access_key_id: field("access_key_id"),
        secret_access_key: field("secret_access_key"),
    }
}

/// A failed call must be a clean server error: `InternalServiceError`, HTTP 500, the fixed
/// message. Anything else (another code, a dropped connection, a leaked detail) fails the test.
fn assert_server_error<E: ProvideErrorMetadata + std::fmt::Debug>(
    what: &str,
    e: &SdkError<E, HttpResponse>,
) {
    let status = e.raw_response().map(|r| r.status().as_u16());
    assert_eq!(
        (e.code(), status, e.message()),
        (Some("InternalServiceError"), Some(500), Some(SERVER_ERROR)),
        "{what} failed, but not with a clean server error: {e:?}"
    );
}

type Client = aws_sdk_secretsmanager::Client;

/// A value of about 8 KiB, different for every call, so that each write needs new pages.
fn value(tag: &str) -> String {
    let mut v = format!("{tag}:");
    while v.len() < 8 * 1024 {
        v.push_str(&uuid::Uuid::new_v4().simple().to_string());
    }
    v
}

/// What the test knows must (or must not) be in the store.
#[derive(Default)]
struct Ledger {
    /// Acknowledged versions: (secret, version id) → value.
    acked: BTreeMap<(String, String), String>,
    /// The acknowledged current version of each secret.
    current: BTreeMap<String, String>,
    /// Versions whose `PutSecretValue` failed: (secret, version id).
    failed_puts: Vec<(String, String)>,
    /// Secrets whose `CreateSecret` failed.
    failed_creates: Vec<String>,
    /// Request ids of acknowledged calls: each must have its record in the trail.
    acked_requests: BTreeSet<String>,
    /// Request ids of calls that failed: each must have a record of its failure in the trail
    /// once space returned.
    failed_requests: BTreeSet<String>,
}

type Shared = Arc<Mutex<Ledger>>;

/// The calls the test makes while the disk is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Put,
    Create,
    Get,
}

impl Call {
    fn name(self) -> &'static str {
        match self {
            Self::Put => "PutSecretValue",
            Self::Create => "CreateSecret",
            Self::Get => "GetSecretValue",
        }
    }
}

/// Makes `call` on secret `name` (`Create` makes a new secret named after it) and notes the
/// outcome in the ledger; `true` when it was acknowledged. A failure must be a clean server
/// error; a read that answers must answer the current acknowledged value.
async fn make(client: &Client, call: Call, name: &str, ledger: &Shared) -> bool {
    match call {
        Call::Put => {
            let version = uuid::Uuid::new_v4().to_string();
            let v = value(name);
            let sent = client
                .put_secret_value()
                .secret_id(name)
                .client_request_token(&version)
                .secret_string(&v)
                .send()
                .await;
            let mut l = ledger.lock().unwrap();
            match sent {
                Ok(out) => {
                    assert_eq!(out.version_id(), Some(version.as_str()));
                    l.acked_requests
                        .insert(out.request_id().expect("rid").to_owned());
                    l.current.insert(name.to_owned(), version.clone());
                    l.acked.insert((name.to_owned(), version), v);
                    true
                }
                Err(e) => {
                    assert_server_error(call.name(), &e);
                    l.failed_requests
                        .insert(e.request_id().expect("rid").to_owned());
                    l.failed_puts.push((name.to_owned(), version));
                    false
                }
            }
        }
        Call::Create => {
            let name = unique(name);
            let v = value(&name);
            let sent = client
                .create_secret()
                .name(&name)
                .secret_string(&v)
                .send()
                .await;
            let mut l = ledger.lock().unwrap();
            match sent {
                Ok(out) => {
                    let version = out.version_id().expect("version").to_owned();
                    l.acked_requests
                        .insert(out.request_id().expect("rid").to_owned());
                    l.current.insert(name.clone(), version.clone());
                    l.acked.insert((name, version), v);
                    true
                }
                Err(e) => {
                    assert_server_error(call.name(), &e);
                    l.failed_requests
                        .insert(e.request_id().expect("rid").to_owned());
                    l.failed_creates.push(name);
                    false
                }
            }
        }
        Call::Get => {
            let sent = client.get_secret_value().secret_id(name).send().await;
            let mut l = ledger.lock().unwrap();
            match sent {
                Ok(out) => {
                    let version = out.version_id().expect("version").to_owned();
                    assert_eq!(l.current.get(name), Some(&version), "{name}: current");
                    let want = l.acked.get(&(name.to_owned(), version)).expect("acked");
                    assert_eq!(out.secret_string(), Some(want.as_str()), "{name}");
                    l.acked_requests
                        .insert(out.request_id().expect("rid").to_owned());
                    true
                }
                Err(e) => {
                    assert_server_error(call.name(), &e);
                    l.failed_requests
                        .insert(e.request_id().expect("rid").to_owned());
                    false
                }
            }
        }
    }
}

/// Makes `call`, round robin over `names`, until one fails; how many calls that took.
async fn until_failure(client: &Client, call: Call, names: &[String], ledger: &Shared) -> usize {
    for attempt in 1..=MAX_ATTEMPTS {
        let name = &names[attempt % names.len()];
        if !make(client, call, name, ledger).await {
            return attempt;
        }
    }
    panic!("{} never failed on a full disk", call.name());
}

/// One disk-full episode: fill the filesystem; every kind of call fails cleanly (after any
/// that the space SQLite already holds still lets through); a burst of concurrent calls (a
/// group commit of several requests, a batch of several audit records) fails cleanly too; then
/// the space returns and the same process serves every kind of call at once.
async fn episode(
    label: &str,
    fs: &SmallFs,
    server: &common::Server,
    client: &Client,
    names: &[String],
    ledger: &Shared,
) {
    let filler = Filler::fill(fs.path());
    for call in [Call::Get, Call::Put, Call::Create] {
        let attempts = until_failure(client, call, names, ledger).await;
        eprintln!(
            "{label}: the first {} to fail was call {attempts}",
            call.name()
        );
    }
    // Writers on the first half of the secrets, readers on the other: a read's expected value
    // does not race a write.
    let (writes, reads) = names.split_at(names.len() / 2);
    let mut burst = Vec::new();
    for (i, call) in [Call::Put, Call::Get, Call::Create]
        .repeat(4)
        .into_iter()
        .enumerate()
    {
        let name = match call {
            Call::Get => reads[i % reads.len()].clone(),
            _ => writes[i % writes.len()].clone(),
        };
        let (client, ledger) = (client.clone(), ledger.clone());
        burst.push(tokio::spawn(async move {
            make(&client, call, &name, &ledger).await
        }));
    }
    let mut acked = 0;
    for task in burst {
        acked += usize::from(task.await.expect("burst call"));
    }
    eprintln!("{label}: {acked} of the burst's calls were acknowledged");

    filler.remove();
    for call in [Call::Get, Call::Put, Call::Create] {
        assert!(
            make(client, call, &names[0], ledger).await,
            "{label}: {} failed once space returned",
            call.name()
        );
    }
    let (status, body) = http_get(server.addr, "/health");
    assert_eq!(status, 200, "{label}: {body}");
}

/// Every acknowledged version reads back with its value; no failed write left anything.
async fn check_store(client: &Client, ledger: &Ledger) {
    for ((name, version), v) in &ledger.acked {
        let out = client
            .get_secret_value()
            .secret_id(name)
            .version_id(version)
            .send()
            .await
            .unwrap_or_else(|e| panic!("acknowledged version {name} {version} is lost: {e:?}"));
        assert_eq!(out.secret_string(), Some(v.as_str()), "{name} {version}");
    }
    let mut listed: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (name, version) in &ledger.failed_puts {
        if !listed.contains_key(name.as_str()) {
            let pages = client
                .list_secret_version_ids()
                .secret_id(name)
                .include_deprecated(true)
                .into_paginator()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .expect("list versions");
            let ids = pages
                .iter()
                .flat_map(|p| p.versions())
                .filter_map(|v| v.version_id());
            listed.insert(name, ids.map(str::to_owned).collect());
        }
        assert!(
            !listed[name.as_str()].contains(version),
            "the failed put {version} of {name} is listed"
        );
        let e = client
            .get_secret_value()
            .secret_id(name)
            .version_id(version)
            .send()
            .await
            .expect_err("a failed put is readable");
        assert_eq!(e.code(), Some("ResourceNotFoundException"), "{e:?}");
    }
    for name in &ledger.failed_creates {
        let e = client
            .describe_secret()
            .secret_id(name)
            .send()
            .await
            .expect_err("a failed create is there");
        assert_eq!(e.code(), Some("ResourceNotFoundException"), "{e:?}");
    }
}

/// The trail's records, in order: (seq, event).
fn trail(data: &Path) -> Vec<(i64, serde_json::Value)> {
    let conn = rusqlite::Connection::open(data.join("tresor.audit.db")).expect("open the trail");
    let rows: Vec<(i64, String)> = conn
        .prepare("SELECT seq, event_json FROM audit_records ORDER BY seq")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    rows.into_iter()
        .map(|(seq, e)| (seq, serde_json::from_str(&e).expect("event JSON")))
        .collect()
}

/// Checks the trail against the ledger: every acknowledged call has its record; every failed
/// call has a record of its failure (written once space returned); and a record of success
/// for a put that failed (the audit file commits before the store file, so on a full disk a
/// write's record can be committed without the write) is followed by its request's record of
/// failure, which tells the reader the write did not happen. How many such records there were.
fn check_trail(data: &Path, ledger: &Ledger) -> usize {
    let records = trail(data);
    let request = |e: &serde_json::Value| e["requestID"].as_str().expect("requestID").to_owned();
    let is_failure = |e: &serde_json::Value| e["errorCode"] == "InternalServiceError";
    let recorded: BTreeSet<String> = records.iter().map(|(_, e)| request(e)).collect();
    let missing: Vec<_> = ledger.acked_requests.difference(&recorded).collect();
    assert!(
        missing.is_empty(),
        "acknowledged calls without a record: {missing:?}"
    );

    let failures: BTreeMap<String, i64> = records
        .iter()
        .filter(|(_, e)| is_failure(e))
        .map(|(seq, e)| (request(e), *seq))
        .collect();
    let unrecorded: Vec<_> = ledger
        .failed_requests
        .iter()
        .filter(|id| !failures.contains_key(*id))
        .collect();
    assert!(
        unrecorded.is_empty(),
        "{} of {} failed calls have no record of their failure: {unrecorded:?}",
        unrecorded.len(),
        ledger.failed_requests.len()
    );

    let failed_versions: BTreeSet<&str> =
        ledger.failed_puts.iter().map(|(_, v)| v.as_str()).collect();
    let mut unwritten = 0;
    for (seq, e) in &records {
        let version = e["responseElements"]["VersionId"]
            .as_str()
            .unwrap_or_default();
        if e["eventName"] == "PutSecretValue" && !is_failure(e) && failed_versions.contains(version)
        {
            unwritten += 1;
            let failed_at = failures.get(&request(e));
            assert!(
                failed_at.is_some_and(|f| f > seq),
                "record {seq} says the failed put {version} succeeded, and no record of its \
                 failure follows"
            );
        }
    }
    unwritten
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_requests_cleanly_and_loses_nothing() {
    let fs = match SmallFs::mount(FS_SIZE) {
        Ok(fs) => fs,
        Err(e) if required() => panic!("CI=true: the disk-full test needs a tmpfs mount: {e}"),
        Err(e) => {
            // On the real stderr: the test harness does not capture it, so the skip is seen.
            let _ = writeln!(
                std::io::stderr(),
                "\nSKIPPED: the disk-full test needs root to mount a tmpfs: {e}"
            );
            return;
        }
    };
    let data = fs.path().join("data");
    let creds = init(&data);
    // The passphrase stays in the environment, off the small filesystem.
    let mut server = ServerOptions::production(&data, PASSPHRASE).start();
    let client = sdk_client(&server.url, &creds);
    let ledger = Shared::default();
    for _ in 0..SECRETS {
        assert!(
            make(&client, Call::Create, "disk-full", &ledger).await,
            "create"
        );
    }
    let names: Vec<String> = ledger.lock().unwrap().current.keys().cloned().collect();
    assert!(make(&client, Call::Put, &names[0], &ledger).await, "put");

    // The disk fills while the WAL files hold about what they were ever written: the next
    // commit needs new space.
    episode("first", &fs, &server, &client, &names, &ledger).await;

    // The trail's WAL passes its checkpoint size (200 frames), is copied into the database and
    // starts over: SQLite then holds WAL space it reuses, so calls may go on succeeding after
    // the disk fills, until that space is used up and the checkpoint that would free it finds
    // no room in the database file; and the audit file may commit where the store file
    // cannot.
    for i in 0..2 * 200 {
        let name = &names[SECRETS / 2 + i % (SECRETS / 2)];
        assert!(make(&client, Call::Get, name, &ledger).await, "read {i}");
    }
    episode("second", &fs, &server, &client, &names, &ledger).await;

    // Without a restart: nothing acknowledged is lost, nothing failed is there.
    let ledger = Arc::try_unwrap(ledger)
        .ok()
        .expect("one owner")
        .into_inner()
        .unwrap();
    check_store(&client, &ledger).await;
    let status = server.stop();
    assert!(
        status.success(),
        "the server did not stop cleanly: {status}"
    );
    let stderr = String::from_utf8_lossy(&server.stderr()).into_owned();
    assert!(
        !stderr.contains("panicked"),
        "the server panicked:\n{stderr}"
    );

    // Every call is on record, and the trail verifies.
    let unwritten = check_trail(&data, &ledger);
    eprintln!("records of success of failed puts, each followed by its failure: {unwritten}");
    let mut cmd = tresor_command();
    cmd.args(["audit", "verify", "--data-dir"])
        .arg(&data)
        .env("TRESOR_PASSPHRASE", PASSPHRASE);
    let out = run_with_timeout(cmd, TIMEOUT);
    assert!(
        out.status.success(),
        "{TRESOR} audit verify failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // And all of it is on disk: a new process reads the same.
    let server = ServerOptions::production(&data, PASSPHRASE).start();
    check_store(&sdk_client(&server.url, &creds), &ledger).await;
    drop(server);
    drop(fs);
}
