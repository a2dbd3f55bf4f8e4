//! Production mode end to end: `tresor init`, unsealing with a passphrase or a key file,
//! restarts, durability across `kill -9`, refusals that must change nothing, and the plain-HTTP
//! guard.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::time::Duration;

use aws_sdk_secretsmanager::primitives::Blob;
use common::{
    http_get, run_with_timeout, sdk_client, snapshot_files, tresor_command, unique, Creds,
    ServerOptions,
};

const PASSPHRASE: &str = "correct horse battery staple";
const INIT_TIMEOUT: Duration = Duration::from_secs(60);

/// `tresor init --output json`; returns the exit status and, on success, the parsed output.
fn init(
    dir: &Path,
    passphrase: Option<&str>,
    key_file: Option<&Path>,
    account: &str,
) -> (std::process::Output, Option<(String, Creds)>) {
    let mut cmd = tresor_command();
    cmd.arg("init")
        .arg("--data-dir")
        .arg(dir)
        .arg("--output")
        .arg("json")
        .arg("--account-id")
        .arg(account);
    if let Some(p) = passphrase {
        cmd.env("TRESOR_PASSPHRASE", p);
    }
    if let Some(k) = key_file {
        cmd.arg("--unseal-key-file").arg(k);
    }
    let out = run_with_timeout(cmd, INIT_TIMEOUT);
    if !out.status.success() {
        return (out, None);
    }
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("init --output json prints JSON");
    let field = |k: &str| {
        json.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_else(|| panic!("{k} in {json}"))
            .to_owned()
    };
    let creds = Creds {
        access_key_id: field("access_key_id"),
        secret_access_key: field("secret_access_key"),
    };
    let account = field("account_id");
    (out, Some((account, creds)))
}

fn init_ok(dir: &Path, passphrase: Option<&str>, key_file: Option<&Path>) -> Creds {
    let (out, parsed) = init(dir, passphrase, key_file, "000000000000");
    let (_, creds) = parsed.unwrap_or_else(|| {
        panic!(
            "init failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    });
    creds
}

fn production_with_key_file(dir: &Path, key_file: &Path) -> ServerOptions {
    let mut opts = ServerOptions::production(dir, "unused");
    opts.env.clear();
    opts.arg("--unseal-key-file")
        .arg(key_file.display().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_then_restart_keeps_secrets() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("store");
    let (out, parsed) = init(&dir, Some(PASSPHRASE), None, "123456789012");
    let (account, creds) =
        parsed.unwrap_or_else(|| panic!("init failed: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(account, "123456789012");
    assert!(creds.access_key_id.starts_with("AKIA"), "{creds:?}");
    assert!(creds.secret_access_key.len() >= 30);
    assert!(dir.join("tresor.db").is_file());
    assert!(dir.join("tresor.audit.db").is_file());

    let mut server = ServerOptions::production(&dir, PASSPHRASE).start();
    assert!(
        server.url.starts_with("http://127.0.0.1:"),
        "{}",
        server.url
    );
    let (status, body) = http_get(server.addr, "/health");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""status":"ok""#), "{body}");

    let client = sdk_client(&server.url, &creds);
    let created = client
        .create_secret()
        .name("prod/db")
        .secret_string("postgres://u:p@db/prod")
        .send()
        .await
        .expect("create");
    let arn = created.arn().expect("arn").to_owned();
    assert!(
        arn.starts_with("arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-"),
        "{arn}"
    );
    client
        .create_secret()
        .name("prod/cert")
        .secret_binary(Blob::new(vec![0u8, 1, 2, 254, 255]))
        .send()
        .await
        .expect("create binary");
    let v2 = client
        .put_secret_value()
        .secret_id("prod/db")
        .secret_string("postgres://u:p2@db/prod")
        .send()
        .await
        .expect("put")
        .version_id()
        .expect("version")
        .to_owned();

    // Wrong credentials are rejected (the root key really is the one init printed).
    let bad = sdk_client(
        &server.url,
        &Creds {
            access_key_id: creds.access_key_id.clone(),
            secret_access_key: "wrong".repeat(8),
        },
    );
    let err = bad
        .get_secret_value()
        .secret_id("prod/db")
        .send()
        .await
        .expect_err("bad signature");
    use aws_sdk_secretsmanager::error::ProvideErrorMetadata as _;
    assert_eq!(err.code(), Some("InvalidSignatureException"), "{err:?}");

    let status = server.stop();
    assert!(status.success(), "SIGTERM exit: {status}");
    drop(client);

    let server = ServerOptions::production(&dir, PASSPHRASE).start();
    let client = sdk_client(&server.url, &creds);
    let got = client
        .get_secret_value()
        .secret_id(&arn)
        .send()
        .await
        .expect("get after restart");
    assert_eq!(got.secret_string(), Some("postgres://u:p2@db/prod"));
    assert_eq!(got.version_id(), Some(v2.as_str()));
    let prev = client
        .get_secret_value()
        .secret_id("prod/db")
        .version_stage("AWSPREVIOUS")
        .send()
        .await
        .expect("previous after restart");
    assert_eq!(prev.secret_string(), Some("postgres://u:p@db/prod"));
    let bin = client
        .get_secret_value()
        .secret_id("prod/cert")
        .send()
        .await
        .expect("binary after restart");
    assert_eq!(
        bin.secret_binary().map(|b| b.as_ref()),
        Some(&[0u8, 1, 2, 254, 255][..])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passphrase_and_second_init_are_refused_and_change_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("store");
    let creds = init_ok(&dir, Some(PASSPHRASE), None);
    let mut server = ServerOptions::production(&dir, PASSPHRASE).start();
    sdk_client(&server.url, &creds)
        .create_secret()
        .name("kept")
        .secret_string("kept value")
        .send()
        .await
        .expect("create");
    assert!(server.stop().success());

    let before = snapshot_files(&dir);
    assert!(!before.is_empty());

    let failure = match ServerOptions::production(&dir, "not the passphrase").try_start() {
        Ok(_) => panic!("a wrong passphrase unsealed the store"),
        Err(f) => f,
    };
    assert!(!failure.status.success());
    assert!(
        failure
            .stderr
            .contains("wrong passphrase: it does not unseal this store"),
        "stderr: {}",
        failure.stderr
    );
    assert!(!failure.stderr.contains("not the passphrase"));
    assert!(
        snapshot_files(&dir) == before,
        "a refused unseal changed the store files"
    );

    // Empty passphrase: refused up front.
    let failure = match ServerOptions::production(&dir, "").try_start() {
        Ok(_) => panic!("an empty passphrase unsealed the store"),
        Err(f) => f,
    };
    assert!(!failure.status.success());
    assert!(failure.stderr.contains("passphrase"), "{}", failure.stderr);

    // A second init, same or other passphrase, refuses and touches nothing.
    for phrase in [PASSPHRASE, "another passphrase"] {
        let (out, parsed) = init(&dir, Some(phrase), None, "000000000000");
        assert!(parsed.is_none());
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("already holds a Tresor store"), "{stderr}");
        assert!(out.stdout.is_empty(), "init printed credentials again");
        assert!(
            snapshot_files(&dir) == before,
            "a refused init changed files"
        );
    }

    // The right passphrase still works, with the same data.
    let server = ServerOptions::production(&dir, PASSPHRASE).start();
    let got = sdk_client(&server.url, &creds)
        .get_secret_value()
        .secret_id("kept")
        .send()
        .await
        .expect("get");
    assert_eq!(got.secret_string(), Some("kept value"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_file_store_opens_only_with_its_key_file() {
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("store");
    let key = tmp.path().join("unseal.key");
    assert!(!key.exists());
    let creds = init_ok(&dir, None, Some(&key));
    let meta = std::fs::metadata(&key).expect("init created the key file");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);

    let mut server = production_with_key_file(&dir, &key).start();
    sdk_client(&server.url, &creds)
        .create_secret()
        .name("kf")
        .secret_string("sealed by a key file")
        .send()
        .await
        .expect("create");
    assert!(server.stop().success());
    let before = snapshot_files(&dir);

    // Another valid key file (made by an unrelated init) does not open this store.
    let other_dir = tmp.path().join("other");
    let other_key = tmp.path().join("other.key");
    init_ok(&other_dir, None, Some(&other_key));
    let failure = match production_with_key_file(&dir, &other_key).try_start() {
        Ok(_) => panic!("a wrong key file unsealed the store"),
        Err(f) => f,
    };
    assert!(!failure.status.success());
    assert!(
        failure
            .stderr
            .contains("wrong key file: it does not unseal this store"),
        "{}",
        failure.stderr
    );

    // A garbage key file: a clear error that does not echo its contents.
    let garbage = tmp.path().join("garbage.key");
    std::fs::write(&garbage, "this-is-not-a-key-file-XYZZY").expect("write");
    let failure = match production_with_key_file(&dir, &garbage).try_start() {
        Ok(_) => panic!("a garbage key file unsealed the store"),
        Err(f) => f,
    };
    assert!(!failure.status.success());
    assert!(failure.stderr.contains("key file"), "{}", failure.stderr);
    assert!(!failure.stderr.contains("XYZZY"), "{}", failure.stderr);

    // A passphrase on a key-file store.
    let failure = match ServerOptions::production(&dir, PASSPHRASE).try_start() {
        Ok(_) => panic!("a passphrase unsealed a key-file store"),
        Err(f) => f,
    };
    assert!(!failure.status.success());
    assert!(
        failure
            .stderr
            .contains("this store is sealed with a key file, not a passphrase"),
        "{}",
        failure.stderr
    );
    assert!(snapshot_files(&dir) == before, "refusals changed the store");

    let server = production_with_key_file(&dir, &key).start();
    let got = sdk_client(&server.url, &creds)
        .get_secret_value()
        .secret_id("kf")
        .send()
        .await
        .expect("get with the right key file");
    assert_eq!(got.secret_string(), Some("sealed by a key file"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_put_survives_kill_9() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("store");
    let creds = init_ok(&dir, Some(PASSPHRASE), None);
    let name = unique("durable");

    let mut server = ServerOptions::production(&dir, PASSPHRASE).start();
    let client = sdk_client(&server.url, &creds);
    client
        .create_secret()
        .name(&name)
        .secret_string("v0")
        .send()
        .await
        .expect("create");
    let mut acked = Vec::new();
    for i in 1..=3 {
        let out = client
            .put_secret_value()
            .secret_id(&name)
            .secret_string(format!("v{i}"))
            .send()
            .await
            .expect("put");
        acked.push((out.version_id().expect("id").to_owned(), format!("v{i}")));
    }
    // No grace: SIGKILL right after the last acknowledgement.
    server.kill9();
    drop(client);

    let server = ServerOptions::production(&dir, PASSPHRASE).start();
    let client = sdk_client(&server.url, &creds);
    for (id, value) in &acked {
        let got = client
            .get_secret_value()
            .secret_id(&name)
            .version_id(id)
            .send()
            .await
            .unwrap_or_else(|e| panic!("version {id} lost after kill -9: {e:?}"));
        assert_eq!(got.secret_string(), Some(value.as_str()));
    }
    let current = client
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .expect("current");
    assert_eq!(current.version_id(), Some(acked[2].0.as_str()));
    assert_eq!(current.secret_string(), Some("v3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_on_a_public_address_needs_insecure_http() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("store");
    let creds = init_ok(&dir, Some(PASSPHRASE), None);
    let before = snapshot_files(&dir);

    let failure = match ServerOptions::production(&dir, PASSPHRASE)
        .listen("0.0.0.0:0")
        .try_start()
    {
        Ok(s) => panic!("served plain HTTP on {} without --insecure-http", s.url),
        Err(f) => f,
    };
    assert!(!failure.status.success());
    assert!(
        failure.stderr.contains("--insecure-http"),
        "{}",
        failure.stderr
    );
    assert!(snapshot_files(&dir) == before);

    let server = ServerOptions::production(&dir, PASSPHRASE)
        .listen("0.0.0.0:0")
        .arg("--insecure-http")
        .start();
    assert!(server.url.starts_with("http://0.0.0.0:"), "{}", server.url);
    let local = std::net::SocketAddr::from(([127, 0, 0, 1], server.addr.port()));
    let (status, body) = http_get(local, "/health");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""status":"ok""#), "{body}");
    let listed = sdk_client(&format!("http://{local}"), &creds)
        .list_secrets()
        .send()
        .await
        .expect("list over --insecure-http");
    assert!(listed.secret_list().is_empty());
}

#[test]
fn server_without_a_store_says_to_run_init() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("empty");
    let failure = match ServerOptions::production(&dir, PASSPHRASE).try_start() {
        Ok(_) => panic!("started without a store"),
        Err(f) => f,
    };
    assert!(!failure.status.success());
    assert!(failure.stderr.contains("tresor init"), "{}", failure.stderr);
}
