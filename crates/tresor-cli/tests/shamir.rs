//! Unsealing by several people, end to end with the real binary on SQLite: `init --shares`,
//! a sealed start, `operator unseal` one share at a time, wrong and repeated shares, restarts,
//! and `operator rekey` to new shares and to a passphrase without re-encrypting data.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::faults::failure;
use common::{
    http_get, run_with_timeout, sdk_client, tresor_command, Creds, Server, ServerOptions,
};

const TIMEOUT: Duration = Duration::from_secs(60);

/// `tresor <args>` with `input` as its stdin (one share per line).
fn tresor_with_stdin(args: &[&str], input: &str, env: &[(&str, &str)]) -> Output {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), input).unwrap();
    let mut cmd = tresor_command();
    cmd.args(args)
        .envs(env.iter().copied())
        .stdin(std::fs::File::open(file.path()).unwrap());
    run_with_timeout(cmd, TIMEOUT)
}

/// `tresor init --shares n --threshold k --output json`: the root credentials and the shares.
fn init_shares(dir: &Path, n: u8, k: u8) -> (Creds, Vec<String>) {
    init_shares_at(&["--data-dir", dir.to_str().unwrap()], n, k)
}

fn init_shares_at(place: &[&str], n: u8, k: u8) -> (Creds, Vec<String>) {
    let mut cmd = tresor_command();
    cmd.arg("init")
        .args(place)
        .args(["--shares", &n.to_string(), "--threshold", &k.to_string()])
        .args(["--output", "json"]);
    let out = run_with_timeout(cmd, TIMEOUT);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["threshold"], k);
    let shares: Vec<String> = json["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(shares.len(), usize::from(n));
    for (i, share) in shares.iter().enumerate() {
        assert!(
            share.starts_with(&format!("tresor-share-v1-{}-", i + 1)),
            "{share}"
        );
    }
    let creds = Creds {
        access_key_id: json["access_key_id"].as_str().unwrap().to_owned(),
        secret_access_key: json["secret_access_key"].as_str().unwrap().to_owned(),
    };
    (creds, shares)
}

fn sealed_server(dir: &Path) -> Server {
    start_sealed(ServerOptions::production(dir, "unused"))
}

fn start_sealed(mut opts: ServerOptions) -> Server {
    opts.env.clear();
    let server = opts.start();
    assert!(
        server
            .stdout_lines
            .iter()
            .any(|l| l.starts_with("Tresor listening on")),
        "{:?}",
        server.stdout_lines
    );
    server
}

/// `tresor operator unseal` with `share` on stdin: (success, stdout, stderr).
fn unseal(server: &Server, share: &str) -> (bool, String, String) {
    let out = tresor_with_stdin(
        &["operator", "unseal", "--endpoint", &server.url],
        &format!("{share}\n"),
        &[],
    );
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    )
}

fn unseal_ok(server: &Server, share: &str, expected: &str) {
    let (ok, stdout, stderr) = unseal(server, share);
    assert!(ok, "{stderr}");
    assert_eq!(stdout, expected);
}

fn health(server: &Server) -> (u16, serde_json::Value) {
    let (status, body) = http_get(server.addr, "/health");
    let json = serde_json::from_str(body.trim()).unwrap_or(serde_json::Value::Null);
    (status, json)
}

fn assert_sealed(server: &Server, progress: u8, threshold: u8) {
    let (status, json) = health(server);
    assert_eq!(status, 503, "{json}");
    assert_eq!(json["sealed"], true, "{json}");
    assert_eq!(json["threshold"], threshold, "{json}");
    assert_eq!(json["progress"], progress, "{json}");
}

async fn read_secret(
    server: &Server,
    creds: &Creds,
    name: &str,
) -> Result<String, (String, Option<u16>)> {
    sdk_client(&server.url, creds)
        .get_secret_value()
        .secret_id(name)
        .send()
        .await
        .map(|r| r.secret_string().unwrap_or_default().to_owned())
        .map_err(|e| failure(&e))
}

fn assert_no_share_in(bytes: &[u8], shares: &[String], what: &str) {
    for share in shares {
        // `tresor-share-v1-<index>-<data>`; the data may itself hold '-'.
        let data = share.splitn(5, '-').nth(4).unwrap();
        assert_eq!(data.len(), 48, "{what}");
        assert!(
            !common::contains(bytes, data.as_bytes()),
            "a share in {what}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_unseal_restart_and_rekey() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let (creds, shares) = init_shares(&dir, 5, 3);
    let (_, other_shares) = init_shares(&tmp.path().join("other"), 5, 3);
    let mut logs = Vec::new();

    // A sealed start: health says so, and an SDK call gets the sealed error.
    let mut server = sealed_server(&dir);
    assert_sealed(&server, 0, 3);
    let err = read_secret(&server, &creds, "anything").await.unwrap_err();
    assert_eq!(err, ("ServiceUnavailableException".to_owned(), Some(503)));

    // Two shares (one of them twice): still sealed at 2/3.
    unseal_ok(&server, &shares[0], "Unseal progress: 1/3");
    unseal_ok(&server, &shares[0], "Unseal progress: 1/3");
    unseal_ok(&server, &shares[3], "Unseal progress: 2/3");
    assert_sealed(&server, 2, 3);
    assert_eq!(
        read_secret(&server, &creds, "anything")
            .await
            .unwrap_err()
            .0,
        "ServiceUnavailableException"
    );
    // A mistyped share is refused on the client, before it is sent, and does not count.
    let mut typo = shares[1].clone().into_bytes();
    let last = typo.len() - 1;
    typo[last] = if typo[last] == b'A' { b'B' } else { b'A' };
    let (ok, _, stderr) = unseal(&server, std::str::from_utf8(&typo).unwrap());
    assert!(!ok);
    assert!(stderr.contains("mistyped"), "{stderr}");
    assert_sealed(&server, 2, 3);

    // The third share unseals; the API serves.
    unseal_ok(&server, &shares[4], "Unsealed.");
    let (status, json) = health(&server);
    assert_eq!(
        (status, json["sealed"].clone()),
        (200, false.into()),
        "{json}"
    );
    let client = sdk_client(&server.url, &creds);
    client
        .create_secret()
        .name("db-password")
        .secret_string("before-rekey")
        .send()
        .await
        .unwrap();
    assert_eq!(
        read_secret(&server, &creds, "db-password").await.unwrap(),
        "before-rekey"
    );
    // Unsealing a serving node changes nothing.
    unseal_ok(&server, &shares[1], "Unsealed.");
    server.stop();
    logs.push(server.stderr());

    // After a restart the node is sealed again; K-1 shares never unseal it; reset clears.
    let mut server = sealed_server(&dir);
    assert_sealed(&server, 0, 3);
    unseal_ok(&server, &shares[1], "Unseal progress: 1/3");
    unseal_ok(&server, &shares[2], "Unseal progress: 2/3");
    assert_sealed(&server, 2, 3);
    let out = tresor_with_stdin(
        &[
            "operator",
            "unseal",
            "--endpoint",
            &server.url,
            "--reset",
            "--output",
            "json",
        ],
        "",
        &[],
    );
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (json["sealed"].clone(), json["progress"].clone()),
        (true.into(), 0.into())
    );

    // A well-formed share of ANOTHER store among K: refused, progress reset, no share named.
    unseal_ok(&server, &shares[1], "Unseal progress: 1/3");
    unseal_ok(&server, &other_shares[2], "Unseal progress: 2/3");
    let (ok, stdout, stderr) = unseal(&server, &shares[0]);
    assert!(!ok, "{stdout}");
    assert_eq!(
        stderr,
        "tresor: IncorrectKeyException: The shares do not open this store; unseal progress was reset."
    );
    assert_sealed(&server, 0, 3);
    assert_eq!(
        read_secret(&server, &creds, "db-password")
            .await
            .unwrap_err()
            .0,
        "ServiceUnavailableException"
    );
    // The right three open it, and the data written before is there.
    unseal_ok(&server, &shares[2], "Unseal progress: 1/3");
    unseal_ok(&server, &shares[1], "Unseal progress: 2/3");
    unseal_ok(&server, &shares[0], "Unsealed.");
    assert_eq!(
        read_secret(&server, &creds, "db-password").await.unwrap(),
        "before-rekey"
    );
    server.stop();
    logs.push(server.stderr());

    // Rekey with a wrong share among the current ones: refused, nothing changed.
    let data_dir = dir.display().to_string();
    let rekey_args = [
        "operator",
        "rekey",
        "--data-dir",
        &data_dir,
        "--shares",
        "3",
        "--threshold",
        "2",
        "--output",
        "json",
    ];
    let wrong = format!("{}\n{}\n{}\n", shares[0], other_shares[1], shares[2]);
    let out = tresor_with_stdin(&rekey_args, &wrong, &[]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the shares do not open this store"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Rekey to 3 shares, threshold 2, with three current shares.
    let current = format!("{}\n{}\n{}\n", shares[4], shares[0], shares[2]);
    let out = tresor_with_stdin(&rekey_args, &current, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let new_shares: Vec<String> = json["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(new_shares.len(), 3);
    assert_eq!(json["threshold"], 2);

    // Old shares no longer open the store; two new ones do, and the data is still readable.
    let mut server = sealed_server(&dir);
    assert_sealed(&server, 0, 2);
    unseal_ok(&server, &shares[0], "Unseal progress: 1/2");
    let (ok, _, stderr) = unseal(&server, &shares[1]);
    assert!(!ok);
    assert!(stderr.contains("IncorrectKeyException"), "{stderr}");
    unseal_ok(&server, &new_shares[2], "Unseal progress: 1/2");
    unseal_ok(&server, &new_shares[0], "Unsealed.");
    assert_eq!(
        read_secret(&server, &creds, "db-password").await.unwrap(),
        "before-rekey"
    );
    server.stop();
    logs.push(server.stderr());

    // Rekey to a passphrase: the server then needs it and nothing else.
    let out = tresor_with_stdin(
        &[
            "operator",
            "rekey",
            "--data-dir",
            &data_dir,
            "--new-passphrase",
        ],
        &format!("{}\n{}\n", new_shares[1], new_shares[2]),
        &[("TRESOR_NEW_PASSPHRASE", "after shares")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "Rekeyed: the store is now sealed with a passphrase."
    );
    let server = ServerOptions::production(&dir, "after shares").start();
    let (status, _) = health(&server);
    assert_eq!(status, 200);
    assert_eq!(
        read_secret(&server, &creds, "db-password").await.unwrap(),
        "before-rekey"
    );
    logs.push(server.stderr());
    drop(server);

    // No share ever reached a server's log.
    let all: Vec<String> = shares
        .iter()
        .chain(&other_shares)
        .chain(&new_shares)
        .cloned()
        .collect();
    for (n, log) in logs.iter().enumerate() {
        assert!(!log.is_empty());
        assert_no_share_in(log, &all, &format!("server log {n}"));
    }
}

#[test]
fn init_refuses_bad_share_schemes_and_creates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    for (n, k, expected) in [
        ("5", "1", "invalid value '1' for '--threshold <THRESHOLD>'"),
        (
            "3",
            "4",
            "the threshold cannot be larger than the number of shares",
        ),
        ("256", "2", "invalid value '256' for '--shares <SHARES>'"),
    ] {
        let dir = tmp.path().join(format!("d{n}-{k}"));
        let mut cmd = tresor_command();
        cmd.arg("init")
            .arg("--data-dir")
            .arg(&dir)
            .args(["--shares", n, "--threshold", k]);
        let out = run_with_timeout(cmd, TIMEOUT);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{n}/{k}: {stderr}");
        assert!(!dir.exists(), "{n}/{k} created {}", dir.display());
    }
    // --threshold without --shares, and shares with a key file, are refused by the parser.
    let mut cmd = tresor_command();
    cmd.args(["init", "--data-dir"])
        .arg(tmp.path().join("x"))
        .args(["--threshold", "2"]);
    assert!(!run_with_timeout(cmd, TIMEOUT).status.success());
    let mut cmd = tresor_command();
    cmd.args(["init", "--data-dir"])
        .arg(tmp.path().join("y"))
        .args(["--shares", "3", "--threshold", "2", "--unseal-key-file"])
        .arg(tmp.path().join("key"));
    assert!(!run_with_timeout(cmd, TIMEOUT).status.success());
    assert!(!tmp.path().join("key").exists());
}

/// Two nodes on one PostgreSQL database: each starts sealed and is unsealed on its own (the
/// progress is per node), with the same shares; then both serve the same data.
#[test]
fn each_postgres_node_is_unsealed_with_the_same_shares() {
    let Some(db) = common::pg::TestDb::create("tresor_shamir") else {
        return;
    };
    let (creds, shares) = init_shares_at(&["--storage", &db.url], 3, 2);
    let a = start_sealed(ServerOptions::postgres(&db.url, "unused"));
    let b = start_sealed(ServerOptions::postgres(&db.url, "unused"));
    unseal_ok(&a, &shares[0], "Unseal progress: 1/2");
    assert_sealed(&b, 0, 2);
    unseal_ok(&a, &shares[1], "Unsealed.");
    assert_sealed(&b, 0, 2);
    // The blocking PostgreSQL harness cannot run inside an async test; the SDK gets its own
    // runtime here.
    let rt = tokio::runtime::Runtime::new().unwrap();
    assert_eq!(
        rt.block_on(read_secret(&b, &creds, "shared"))
            .unwrap_err()
            .0,
        "ServiceUnavailableException"
    );
    rt.block_on(
        sdk_client(&a.url, &creds)
            .create_secret()
            .name("shared")
            .secret_string("one store")
            .send(),
    )
    .unwrap();
    unseal_ok(&b, &shares[2], "Unseal progress: 1/2");
    unseal_ok(&b, &shares[1], "Unsealed.");
    assert_eq!(
        rt.block_on(read_secret(&b, &creds, "shared")).unwrap(),
        "one store"
    );
    drop((a, b));
    drop(db);
}

/// A raw HTTP/1.1 POST: `(status, body)`.
fn http_post(addr: std::net::SocketAddr, path: &str, body: &[u8]) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    common::parse_http_response(&raw)
}

/// Bad unseal requests get clear errors and count for nothing; the gateway and unknown paths
/// are sealed too; offline commands on a shares store ask for K shares.
#[test]
fn sealed_node_refuses_bad_unseal_requests() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let (_, shares) = init_shares(&dir, 3, 2);
    let server = sealed_server(&dir);
    let invalid = |(status, body): (u16, String)| {
        assert_eq!(status, 400, "{body}");
        let json: serde_json::Value = serde_json::from_str(body.trim()).unwrap();
        assert_eq!(json["__type"], "InvalidParameterException", "{json}");
        json["Message"].as_str().unwrap().to_owned()
    };
    invalid(http_post(server.addr, "/tresor/unseal", b"not json"));
    invalid(http_post(server.addr, "/tresor/unseal", b"{}"));
    invalid(http_post(
        server.addr,
        "/tresor/unseal",
        br#"{"share":"x","extra":1}"#,
    ));
    let big = format!(r#"{{"share":"{}"}}"#, "A".repeat(5000));
    invalid(http_post(server.addr, "/tresor/unseal", big.as_bytes()));
    let msg = invalid(http_post(
        server.addr,
        "/tresor/unseal",
        br#"{"share":"tresor-share-v1-1-AAAA"}"#,
    ));
    assert_eq!(
        msg,
        "invalid share: the share is mistyped: its data has the wrong length."
    );
    assert_sealed(&server, 0, 2);

    for path in ["/gateway/openai/v1/chat/completions", "/", "/other"] {
        let (status, body) = http_post(server.addr, path, b"{}");
        assert_eq!(status, 503, "{path}: {body}");
        let json: serde_json::Value = serde_json::from_str(body.trim()).unwrap();
        assert_eq!(json["__type"], "ServiceUnavailableException");
        assert_eq!(
            json["Message"],
            "Tresor is sealed: unseal it with `tresor operator unseal`."
        );
    }
    let (status, _) = http_get(server.addr, "/metrics");
    assert_eq!(status, 503);
    drop(server);

    // `tresor audit public-key` on a shares store reads K shares from stdin.
    let data_dir = dir.display().to_string();
    let args = ["audit", "public-key", "--data-dir", data_dir.as_str()];
    let out = tresor_with_stdin(&args, &format!("{}\n{}\n", shares[2], shares[0]), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ed25519:"));
    let out = tresor_with_stdin(&args, &format!("{}\n", shares[2]), &[]);
    assert!(!out.status.success());
}

/// Over HTTPS: the sealed node serves TLS, `operator unseal` trusts it through `--ca-bundle`
/// and refuses it without; after unsealing the same listener serves TLS.
#[test]
fn unseal_over_tls_with_a_ca_bundle() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let (_, shares) = init_shares(&dir, 2, 2);
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let ca = tmp.path().join("cert.pem");
    std::fs::write(&ca, cert.pem()).unwrap();
    std::fs::write(tmp.path().join("key.pem"), signing_key.serialize_pem()).unwrap();
    let server = start_sealed(
        ServerOptions::production(&dir, "unused")
            .arg("--tls-cert")
            .arg(ca.display().to_string())
            .arg("--tls-key")
            .arg(tmp.path().join("key.pem").display().to_string()),
    );
    assert!(server.url.starts_with("https://"), "{}", server.url);
    let ca_text = ca.display().to_string();
    let with_ca = |share: &str| {
        tresor_with_stdin(
            &[
                "operator",
                "unseal",
                "--endpoint",
                &server.url,
                "--ca-bundle",
                &ca_text,
            ],
            &format!("{share}\n"),
            &[],
        )
    };
    let untrusted = tresor_with_stdin(
        &["operator", "unseal", "--endpoint", &server.url],
        &format!("{}\n", shares[0]),
        &[],
    );
    assert!(!untrusted.status.success());
    let why = String::from_utf8_lossy(&untrusted.stderr);
    assert!(why.to_lowercase().contains("certificate"), "{why}");
    let out = with_ca(&shares[0]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "Unseal progress: 1/2"
    );
    let out = with_ca(&shares[1]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "Unsealed.");
    // Serving now, still over TLS: a second call reaches the serving node.
    let out = with_ca(&shares[1]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "Unsealed.");
}

/// From a key file to shares and back to a new key file, re-sealing only: the secret written
/// under the first key file stays readable, and the old key file stops working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rekey_from_a_key_file_to_shares_and_to_a_new_key_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let data_dir = dir.display().to_string();
    let old_key = tmp.path().join("old.key").display().to_string();
    let new_key = tmp.path().join("new.key").display().to_string();
    let mut cmd = tresor_command();
    cmd.args([
        "init",
        "--data-dir",
        &data_dir,
        "--unseal-key-file",
        &old_key,
        "--output",
        "json",
    ]);
    let out = run_with_timeout(cmd, TIMEOUT);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json.get("shares").is_none(), "{json}");
    let creds = Creds {
        access_key_id: json["access_key_id"].as_str().unwrap().to_owned(),
        secret_access_key: json["secret_access_key"].as_str().unwrap().to_owned(),
    };
    let with_key = |key: &str| {
        let mut opts = ServerOptions::production(&dir, "unused");
        opts.env.clear();
        opts.arg("--unseal-key-file").arg(key)
    };
    let server = with_key(&old_key).start();
    sdk_client(&server.url, &creds)
        .create_secret()
        .name("kept")
        .secret_string("under the key file")
        .send()
        .await
        .unwrap();
    drop(server);

    let out = tresor_with_stdin(
        &[
            "operator",
            "rekey",
            "--data-dir",
            &data_dir,
            "--unseal-key-file",
            &old_key,
            "--shares",
            "3",
            "--threshold",
            "2",
        ],
        "",
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("any 2 of these 3 open the store"), "{text}");
    let shares: Vec<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Share "))
        .map(|l| l.split_once(": ").unwrap().1.to_owned())
        .collect();
    assert_eq!(shares.len(), 3);

    let server = sealed_server(&dir);
    assert_sealed(&server, 0, 2);
    unseal_ok(&server, &shares[1], "Unseal progress: 1/2");
    unseal_ok(&server, &shares[2], "Unsealed.");
    assert_eq!(
        read_secret(&server, &creds, "kept").await.unwrap(),
        "under the key file"
    );
    drop(server);

    let out = tresor_with_stdin(
        &[
            "operator",
            "rekey",
            "--data-dir",
            &data_dir,
            "--new-unseal-key-file",
            &new_key,
        ],
        &format!("{}\n{}\n", shares[0], shares[2]),
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "Rekeyed: the store is now sealed with a key file."
    );
    let refused = with_key(&old_key).try_start();
    let failure = refused.err().expect("the old key file still unseals");
    assert!(
        failure.stderr.contains("wrong key file"),
        "{}",
        failure.stderr
    );
    let server = with_key(&new_key).start();
    assert_eq!(
        read_secret(&server, &creds, "kept").await.unwrap(),
        "under the key file"
    );
}
