//! The audit trail end to end: a production server records every request (allowed, failed,
//! unauthenticated), and `tresor audit verify | public-key | export` check it; tampering with
//! the live store or with an export is found and named by its first broken record; no secret
//! value reaches the trail.
//!
//! One store is built once (init, a server, ~20 SDK requests, SIGTERM so the final checkpoint
//! is written); every test works on its own copy of it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;
use std::time::Duration;

use aws_sdk_secretsmanager::error::ProvideErrorMetadata as _;
use aws_sdk_secretsmanager::primitives::Blob;
use base64::Engine as _;
use common::{
    contains, run_with_timeout, sdk_client, snapshot_files, tresor_command, unique, Creds,
    ServerOptions,
};
use rusqlite::{params, Connection};

const PASSPHRASE: &str = "audit trail passphrase";
const TIMEOUT: Duration = Duration::from_secs(120);

/// The store every test copies.
struct Fixture {
    /// Parent of `data`; removed with the test binary's next run (see [`fixture`]).
    root: PathBuf,
    data: PathBuf,
    /// Plaintext secret values sent to the server (and the root secret key): none may appear
    /// in the trail.
    canaries: Vec<(String, Vec<u8>)>,
    /// How many requests reached the server.
    requests: u64,
    /// The last record's seq and the seqs of the stored checkpoints.
    last_seq: u64,
    checkpoints: Vec<u64>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(build_fixture)
}

/// A fresh directory under Cargo's per-target temporary directory. Runs of this binary leave
/// theirs behind (statics are never dropped); each run removes the ones older than an hour.
fn scratch_root() -> PathBuf {
    let parent = Path::new(env!("CARGO_TARGET_TMPDIR")).join("audit_trail");
    std::fs::create_dir_all(&parent).expect("scratch parent");
    if let Ok(entries) = std::fs::read_dir(&parent) {
        for e in entries.flatten() {
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > Duration::from_secs(3600));
            if old {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let root = parent.join(unique("run"));
    std::fs::create_dir_all(&root).expect("scratch root");
    root
}

fn build_fixture() -> Fixture {
    let root = scratch_root();
    let data = root.join("data");

    let mut cmd = tresor_command();
    cmd.arg("init")
        .arg("--data-dir")
        .arg(&data)
        .arg("--output")
        .arg("json")
        .env("TRESOR_PASSPHRASE", PASSPHRASE);
    let out = run_with_timeout(cmd, TIMEOUT);
    assert!(out.status.success(), "init: {}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("init json");
    let creds = Creds {
        access_key_id: json["access_key_id"].as_str().expect("key id").to_owned(),
        secret_access_key: json["secret_access_key"]
            .as_str()
            .expect("secret")
            .to_owned(),
    };

    let mut canaries: Vec<(String, Vec<u8>)> = vec![(
        "root secret access key".to_owned(),
        creds.secret_access_key.clone().into_bytes(),
    )];
    let mut server = ServerOptions::production(&data, PASSPHRASE).start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let requests = rt.block_on(make_requests(&server.url, &creds, &mut canaries));
    drop(rt);
    let status = server.stop();
    assert!(status.success(), "SIGTERM exit: {status}");

    let conn = Connection::open(data.join("tresor.audit.db")).expect("open db");
    let last_seq: u64 = conn
        .query_row("SELECT MAX(seq) FROM audit_records", [], |r| r.get(0))
        .expect("max seq");
    let checkpoints: Vec<u64> = conn
        .prepare("SELECT seq FROM audit_checkpoints ORDER BY seq")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    drop(conn);
    Fixture {
        root,
        data,
        canaries,
        requests,
        last_seq,
        checkpoints,
    }
}

/// About twenty requests: creates, reads, updates, a failing read of a missing secret, and
/// requests with a bad signature. Every secret value is recorded in `canaries`. Returns how
/// many requests were sent (retries are off: one request per call).
async fn make_requests(url: &str, creds: &Creds, canaries: &mut Vec<(String, Vec<u8>)>) -> u64 {
    let client = sdk_client(url, creds);
    let mut sent = 0u64;
    let mut names = Vec::new();
    for i in 0..3 {
        let name = unique(&format!("audit/app{i}"));
        let value = unique(&format!("canary-string-{i}-value"));
        client
            .create_secret()
            .name(&name)
            .secret_string(&value)
            .send()
            .await
            .expect("create");
        sent += 1;
        canaries.push((format!("string value {i}"), value.into_bytes()));
        names.push(name);
    }
    let binary: Vec<u8> = format!("canary-binary-{}", uuid::Uuid::new_v4().simple())
        .into_bytes()
        .into_iter()
        .chain([0u8, 1, 2, 254, 255])
        .collect();
    let bin_name = unique("audit/bin");
    client
        .create_secret()
        .name(&bin_name)
        .secret_binary(Blob::new(binary.clone()))
        .send()
        .await
        .expect("create binary");
    sent += 1;
    canaries.push(("binary value".to_owned(), binary));

    for name in &names {
        client
            .get_secret_value()
            .secret_id(name)
            .send()
            .await
            .expect("get");
        sent += 1;
    }
    client
        .get_secret_value()
        .secret_id(&bin_name)
        .send()
        .await
        .expect("get binary");
    sent += 1;
    for (i, name) in names.iter().enumerate() {
        let value = unique(&format!("canary-put-{i}"));
        client
            .put_secret_value()
            .secret_id(name)
            .secret_string(&value)
            .send()
            .await
            .expect("put");
        sent += 1;
        canaries.push((format!("put value {i}"), value.into_bytes()));
    }
    let updated = unique("canary-update");
    client
        .update_secret()
        .secret_id(&names[0])
        .secret_string(&updated)
        .description("rotated by hand")
        .send()
        .await
        .expect("update");
    sent += 1;
    canaries.push(("updated value".to_owned(), updated.into_bytes()));
    client
        .describe_secret()
        .secret_id(&names[1])
        .send()
        .await
        .expect("describe");
    sent += 1;
    client.list_secrets().send().await.expect("list");
    sent += 1;

    // A read of a secret that does not exist: an error event.
    let err = client
        .get_secret_value()
        .secret_id(unique("audit/missing"))
        .send()
        .await
        .expect_err("missing secret");
    sent += 1;
    assert_eq!(err.code(), Some("ResourceNotFoundException"), "{err:?}");

    // Bad signatures: recorded as failed authentications; the value sent must not be.
    let bad = sdk_client(
        url,
        &Creds {
            access_key_id: creds.access_key_id.clone(),
            secret_access_key: format!("{}x", creds.secret_access_key),
        },
    );
    let rejected = unique("canary-rejected-auth");
    let err = bad
        .put_secret_value()
        .secret_id(&names[2])
        .secret_string(&rejected)
        .send()
        .await
        .expect_err("bad signature");
    sent += 1;
    assert_eq!(err.code(), Some("InvalidSignatureException"), "{err:?}");
    canaries.push((
        "value of a request with a bad signature".to_owned(),
        rejected.into_bytes(),
    ));
    let err = bad
        .get_secret_value()
        .secret_id(&names[0])
        .send()
        .await
        .expect_err("bad signature");
    sent += 1;
    assert_eq!(err.code(), Some("InvalidSignatureException"), "{err:?}");

    // And a few more reads after the failures.
    for name in names.iter().take(2) {
        client
            .get_secret_value()
            .secret_id(name)
            .send()
            .await
            .expect("get again");
        sent += 1;
    }
    sent
}

// ---- helpers ---------------------------------------------------------------------------------

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A fresh directory for one test case, with a copy of the fixture's data directory at
/// `<case>/data`.
fn fresh_copy(case: &str) -> PathBuf {
    let dir = fixture().root.join(unique(case));
    copy_dir(&fixture().data, &dir.join("data"));
    dir
}

fn audit(args: &[&str], unseal: bool) -> Output {
    let mut cmd = tresor_command();
    cmd.arg("audit").args(args);
    if unseal {
        cmd.env("TRESOR_PASSPHRASE", PASSPHRASE);
    }
    run_with_timeout(cmd, TIMEOUT)
}

fn verify_data_dir(data: &Path) -> Output {
    audit(&["verify", "--data-dir", path(data)], true)
}

fn verify_export(dir: &Path, key: &Path) -> Output {
    audit(
        &[
            "verify",
            "--export-dir",
            path(dir),
            "--public-key",
            path(key),
        ],
        false,
    )
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn assert_ok(what: &str, out: &Output) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// The command failed (exit 1) and its stderr names `seq` as the first broken record, and the
/// kind of damage when given.
fn assert_broken_at(what: &str, out: &Output, seq: u64, kind: Option<&str>) {
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{what}: expected exit 1, got {}\nstdout: {}\nstderr: {stderr}",
        out.status,
        text(&out.stdout)
    );
    let expected = format!("first bad record: seq {seq} (");
    assert!(
        stderr.contains(&expected),
        "{what}: stderr does not name seq {seq}: {stderr}"
    );
    if let Some(kind) = kind {
        assert!(
            stderr.contains(&format!("seq {seq} ({kind})")),
            "{what}: expected {kind:?}: {stderr}"
        );
    }
}

fn assert_fails(what: &str, out: &Output) {
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{what}: expected exit 1, got {}\nstdout: {}\nstderr: {stderr}",
        out.status,
        text(&out.stdout)
    );
    assert!(
        stderr.contains("verification FAILED: first bad record: seq "),
        "{what}: {stderr}"
    );
}

fn db(data: &Path) -> Connection {
    Connection::open(data.join("tresor.audit.db")).expect("open db")
}

fn event_json(conn: &Connection, seq: u64) -> String {
    conn.query_row(
        "SELECT event_json FROM audit_records WHERE seq = ?1",
        params![seq],
        |r| r.get(0),
    )
    .expect("event_json")
}

fn hash_of(conn: &Connection, seq: u64) -> [u8; 32] {
    let v: Vec<u8> = conn
        .query_row(
            "SELECT hash FROM audit_records WHERE seq = ?1",
            params![seq],
            |r| r.get(0),
        )
        .expect("hash");
    v.try_into().expect("32 bytes")
}

/// Copies record `from` (all columns) to a new row at `to` with the given chain fields.
fn insert_copy(
    conn: &Connection,
    from: u64,
    to: u64,
    prev_hash: &[u8; 32],
    event_json: &str,
    hash: &[u8; 32],
    mac: &[u8; 32],
) {
    let n = conn
        .execute(
            "INSERT INTO audit_records (seq, prev_hash, hash, mac, event_json, event_time, \
             event_id, event_name, event_source, account, read_only, username, access_key_id, \
             resources_json) \
             SELECT ?2, ?3, ?4, ?5, ?6, event_time, event_id, event_name, event_source, account, \
             read_only, username, access_key_id, resources_json \
             FROM audit_records WHERE seq = ?1",
            params![
                from,
                to,
                prev_hash.to_vec(),
                hash.to_vec(),
                mac.to_vec(),
                event_json
            ],
        )
        .expect("insert forged record");
    assert_eq!(n, 1);
}

/// The export written by `audit export` for the fixture, in `<dir>/export`, with
/// `records_per_file` records per log file; returns (export dir, public key file).
fn export_into(dir: &Path, data: &Path, records_per_file: usize) -> (PathBuf, PathBuf) {
    let export = dir.join("export");
    let out = audit(
        &[
            "export",
            "--data-dir",
            path(data),
            "--out",
            path(&export),
            "--records-per-file",
            &records_per_file.to_string(),
        ],
        true,
    );
    assert_ok("audit export", &out);
    let key = dir.join("audit.pub");
    let out = audit(
        &["public-key", "--data-dir", path(data), "--out", path(&key)],
        true,
    );
    assert_ok("audit public-key", &out);
    (export, key)
}

/// The export's files of one kind (`CloudTrail` log files or `CloudTrail-Digest` digests,
/// without the `.sig` files), in chain order (each name ends with its first record's seq).
fn export_files(export: &Path, kind: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = snapshot_files(export)
        .into_keys()
        .filter(|p| {
            let s = p.to_string_lossy();
            s.contains(&format!("/{kind}/")) && s.ends_with(".json")
        })
        .collect();
    files.sort_by_key(|p| {
        let name = p.file_name().expect("name").to_string_lossy().into_owned();
        let stem = name.trim_end_matches(".json");
        stem.rsplit('_').next().expect("seq suffix").to_owned()
    });
    files
}

// ---- tests -----------------------------------------------------------------------------------

#[test]
fn server_records_every_request_and_the_trail_verifies() {
    let f = fixture();
    // One record per request, none lost, none extra.
    assert!(f.requests >= 19, "{}", f.requests);
    assert_eq!(
        f.last_seq, f.requests,
        "{} requests left {} audit records",
        f.requests, f.last_seq
    );
    // The final checkpoint, written at shutdown, covers the last record.
    assert_eq!(
        f.checkpoints.last().copied(),
        Some(f.last_seq),
        "checkpoints {:?}, last seq {}",
        f.checkpoints,
        f.last_seq
    );
    // Allowed, failed and unauthenticated requests are all there.
    let conn = db(&f.data);
    let events: Vec<String> = conn
        .prepare("SELECT event_json FROM audit_records ORDER BY seq")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    drop(conn);
    let all = events.join("\n");
    for needle in [
        "\"CreateSecret\"",
        "\"GetSecretValue\"",
        "\"PutSecretValue\"",
        "ResourceNotFoundException",
        "InvalidSignature",
    ] {
        assert!(all.contains(needle), "no {needle} in the trail:\n{all}");
    }

    let dir = fresh_copy("clean");
    let data = dir.join("data");
    let out = verify_data_dir(&data);
    let stdout = assert_ok("audit verify --data-dir", &out);
    assert!(
        stdout.contains(&format!("{} records", f.last_seq))
            && stdout.contains(&format!("last seq {}", f.last_seq))
            && stdout.contains(&format!("signed through seq {}", f.last_seq))
            && stdout.contains("record MACs checked"),
        "{stdout}"
    );

    // The public key: printed, and written with --out.
    let key_file = dir.join("key.pub");
    let out = audit(
        &[
            "public-key",
            "--data-dir",
            path(&data),
            "--out",
            path(&key_file),
        ],
        true,
    );
    let printed = assert_ok("audit public-key", &out);
    let printed = printed.trim();
    let key = printed.strip_prefix("ed25519:").expect("ed25519: prefix");
    let raw = base64::engine::general_purpose::STANDARD
        .decode(key)
        .expect("base64 key");
    assert_eq!(raw.len(), 32, "{printed}");
    assert_eq!(
        std::fs::read_to_string(&key_file).expect("key file").trim(),
        printed
    );

    // The live chain with the public key only: no unsealing, no MAC check.
    let out = audit(
        &[
            "verify",
            "--data-dir",
            path(&data),
            "--public-key",
            path(&key_file),
        ],
        false,
    );
    let stdout = assert_ok("audit verify --data-dir --public-key", &out);
    assert!(stdout.contains("MACs not checked"), "{stdout}");

    // Export, verify with the public key only; a second export adds nothing and still verifies.
    let export = dir.join("export");
    let out = audit(
        &["export", "--data-dir", path(&data), "--out", path(&export)],
        true,
    );
    let stdout = assert_ok("audit export", &out);
    assert!(
        stdout.contains(&format!("Exported {} audit records", f.last_seq)),
        "{stdout}"
    );
    assert!(!export_files(&export, "CloudTrail").is_empty());
    assert!(!export_files(&export, "CloudTrail-Digest").is_empty());
    let out = verify_export(&export, &key_file);
    let stdout = assert_ok("audit verify --export-dir", &out);
    assert!(
        stdout.contains(&format!("{} records", f.last_seq))
            && stdout.contains(&format!("signed through seq {}", f.last_seq)),
        "{stdout}"
    );
    let out = audit(
        &["export", "--data-dir", path(&data), "--out", path(&export)],
        true,
    );
    let stdout = assert_ok("audit export (again)", &out);
    assert!(stdout.contains("Nothing new to export"), "{stdout}");
    assert_ok(
        "verify after a second export",
        &verify_export(&export, &key_file),
    );

    // The log files are CloudTrail: {"Records":[...]} with CloudTrail events.
    let log = &export_files(&export, "CloudTrail")[0];
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(log).expect("log file")).expect("log json");
    let records = json["Records"].as_array().expect("Records");
    assert!(!records.is_empty());
    assert!(records[0].get("eventVersion").is_some(), "{}", records[0]);
    assert!(records[0].get("eventName").is_some(), "{}", records[0]);
}

#[test]
fn no_secret_value_reaches_the_trail() {
    let f = fixture();
    let dir = fresh_copy("leaks");
    let data = dir.join("data");
    let (export, _) = export_into(&dir, &data, 1000);
    let mut files = snapshot_files(&data);
    files.extend(snapshot_files(&export));
    assert!(files.len() >= 3, "{:?}", files.keys());
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut leaks = Vec::new();
    for (label, value) in &f.canaries {
        let forms = [
            ("raw", value.clone()),
            ("base64", b64.encode(value).into_bytes()),
        ];
        for (form, needle) in &forms {
            for (file, bytes) in &files {
                if contains(bytes, needle) {
                    leaks.push(format!("{label} ({form}) in {}", file.display()));
                }
            }
        }
    }
    assert!(leaks.is_empty(), "secret values in the trail: {leaks:#?}");
    // The audit records themselves, as the store returns them.
    let conn = db(&data);
    let events: Vec<String> = conn
        .prepare("SELECT event_json FROM audit_records")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    let all = events.join("\n");
    for (label, value) in &f.canaries {
        assert!(
            !contains(all.as_bytes(), value)
                && !contains(all.as_bytes(), b64.encode(value).as_bytes()),
            "{label} in the stored events"
        );
    }
}

#[test]
fn tampering_with_the_live_store_is_found_at_the_first_broken_record() {
    let f = fixture();
    let last = f.last_seq;
    let mid = last / 2;
    let last_cp = *f.checkpoints.last().expect("a checkpoint");
    assert!(
        mid > 2 && mid + 3 < last_cp,
        "mid {mid}, last checkpoint {last_cp}"
    );

    // (a) One byte of a record's event in the middle.
    let data = fresh_copy("edit").join("data");
    {
        let conn = db(&data);
        let json = event_json(&conn, mid);
        let mut bytes = json.into_bytes();
        let at = (bytes.len() / 2..bytes.len())
            .find(|&i| bytes[i].is_ascii_alphanumeric())
            .expect("an alphanumeric byte");
        bytes[at] = if bytes[at] == b'x' { b'y' } else { b'x' };
        let edited = String::from_utf8(bytes).expect("utf-8");
        conn.execute(
            "UPDATE audit_records SET event_json = ?2 WHERE seq = ?1",
            params![mid, edited],
        )
        .expect("edit");
    }
    assert_broken_at("edited byte", &verify_data_dir(&data), mid, Some("edited"));

    // (b) A middle record deleted (with its lookup rows, as a careful attacker would).
    let data = fresh_copy("delete").join("data");
    {
        let conn = db(&data);
        conn.execute("DELETE FROM audit_resources WHERE seq = ?1", params![mid])
            .expect("delete resources");
        let n = conn
            .execute("DELETE FROM audit_records WHERE seq = ?1", params![mid])
            .expect("delete");
        assert_eq!(n, 1);
    }
    assert_broken_at(
        "deleted record",
        &verify_data_dir(&data),
        mid,
        Some("deleted"),
    );

    // (c) The events of two records swapped.
    let data = fresh_copy("swap").join("data");
    {
        let conn = db(&data);
        let (a, b) = (event_json(&conn, mid), event_json(&conn, mid + 2));
        assert_ne!(a, b);
        conn.execute(
            "UPDATE audit_records SET event_json = ?2 WHERE seq = ?1",
            params![mid, b],
        )
        .expect("swap a");
        conn.execute(
            "UPDATE audit_records SET event_json = ?2 WHERE seq = ?1",
            params![mid + 2, a],
        )
        .expect("swap b");
    }
    assert_broken_at(
        "swapped events",
        &verify_data_dir(&data),
        mid,
        Some("edited"),
    );

    // (d) A forged record appended after the last one, with a wrong link and a made-up MAC (the
    // attacker can compute the hash, not the MAC).
    let data = fresh_copy("forge-end").join("data");
    {
        let conn = db(&data);
        let json = event_json(&conn, last);
        let prev = [7u8; 32];
        let hash = tresor_audit::record_hash(last + 1, &prev, &json);
        insert_copy(&conn, last, last + 1, &prev, &json, &hash, &[9u8; 32]);
    }
    assert_broken_at(
        "forged record at the end",
        &verify_data_dir(&data),
        last + 1,
        None,
    );

    // (d') A forged record inserted in the middle: the records from `mid` on are shifted up one
    // seq, and the forgery takes `mid`, correctly linked and hashed, with a made-up MAC.
    let data = fresh_copy("forge-mid").join("data");
    {
        let conn = db(&data);
        // Both tables, in two steps so that no intermediate seq collides, with the foreign key
        // (audit_resources -> audit_records) off meanwhile.
        conn.execute_batch("PRAGMA foreign_keys = OFF")
            .expect("foreign keys off");
        for table in ["audit_records", "audit_resources"] {
            conn.execute(
                &format!("UPDATE {table} SET seq = seq + 1000000 WHERE seq >= ?1"),
                params![mid],
            )
            .expect("shift up");
            conn.execute(
                &format!("UPDATE {table} SET seq = seq - 999999 WHERE seq >= 1000000"),
                [],
            )
            .expect("shift back");
        }
        conn.execute_batch("PRAGMA foreign_keys = ON")
            .expect("foreign keys on");
        let prev = hash_of(&conn, mid - 1);
        let json = event_json(&conn, mid + 1);
        let hash = tresor_audit::record_hash(mid, &prev, &json);
        insert_copy(&conn, mid + 1, mid, &prev, &json, &hash, &[9u8; 32]);
    }
    assert_broken_at(
        "forged record in the middle",
        &verify_data_dir(&data),
        mid,
        None,
    );

    // (d'') A record rewritten and re-hashed in place (without the MAC key).
    let data = fresh_copy("rehash").join("data");
    {
        let conn = db(&data);
        let json = event_json(&conn, mid).replacen("\"eventName\":\"", "\"eventName\":\"X", 1);
        let prev = {
            let v: Vec<u8> = conn
                .query_row(
                    "SELECT prev_hash FROM audit_records WHERE seq = ?1",
                    params![mid],
                    |r| r.get(0),
                )
                .expect("prev_hash");
            <[u8; 32]>::try_from(v).expect("32 bytes")
        };
        let hash = tresor_audit::record_hash(mid, &prev, &json);
        conn.execute(
            "UPDATE audit_records SET event_json = ?2, hash = ?3 WHERE seq = ?1",
            params![mid, json, hash.to_vec()],
        )
        .expect("rehash");
    }
    assert_broken_at(
        "re-hashed record",
        &verify_data_dir(&data),
        mid,
        Some("bad MAC"),
    );

    // (e) Truncation: the tail deleted from before the last checkpoint on.
    let data = fresh_copy("truncate").join("data");
    let cut = last_cp - 3;
    {
        let conn = db(&data);
        conn.execute("DELETE FROM audit_resources WHERE seq >= ?1", params![cut])
            .expect("delete resources");
        conn.execute("DELETE FROM audit_records WHERE seq >= ?1", params![cut])
            .expect("truncate");
    }
    assert_broken_at(
        "truncated chain",
        &verify_data_dir(&data),
        cut,
        Some("truncated"),
    );

    // (f) A checkpoint's signature altered.
    let data = fresh_copy("checkpoint").join("data");
    {
        let conn = db(&data);
        let sig: Vec<u8> = conn
            .query_row(
                "SELECT signature FROM audit_checkpoints WHERE seq = ?1",
                params![last_cp],
                |r| r.get(0),
            )
            .expect("signature");
        let mut sig = sig;
        sig[10] ^= 1;
        conn.execute(
            "UPDATE audit_checkpoints SET signature = ?2 WHERE seq = ?1",
            params![last_cp, sig],
        )
        .expect("edit signature");
    }
    assert_broken_at(
        "forged checkpoint",
        &verify_data_dir(&data),
        last_cp,
        Some("bad checkpoint signature"),
    );
}

#[test]
fn tampering_with_an_export_is_found_with_the_public_key_alone() {
    let f = fixture();
    let base = fresh_copy("export-base");
    // Several log files, so that one can go missing.
    let (export, key) = export_into(&base, &base.join("data"), 5);
    let logs = export_files(&export, "CloudTrail");
    let digests = export_files(&export, "CloudTrail-Digest");
    assert!(logs.len() >= 4, "{logs:?}");
    assert_eq!(logs.len(), digests.len(), "{logs:?} {digests:?}");
    assert_ok("verify the clean export", &verify_export(&export, &key));

    // Each case on its own copy of the export; `rel` maps a file to its place in the copy.
    type PathMap = Box<dyn Fn(&Path) -> PathBuf>;
    let case = |name: &str| -> (PathBuf, PathMap) {
        let copy = fixture().root.join(unique(name));
        copy_dir(&export, &copy);
        let (from, to) = (export.clone(), copy.clone());
        let map = move |p: &Path| to.join(p.strip_prefix(&from).expect("inside the export"));
        (copy, Box::new(map))
    };

    // A byte of a log file edited: a letter of an event name, inside a record's event (not its
    // chain member), so the record's own bytes change.
    let (copy, at) = case("export-edit");
    let file = at(&logs[1]);
    let mut bytes = std::fs::read(&file).expect("read log");
    let marker = b"\"eventName\":\"";
    let i = bytes
        .windows(marker.len())
        .position(|w| w == marker)
        .expect("an eventName")
        + marker.len();
    bytes[i] = if bytes[i] == b'x' { b'y' } else { b'x' };
    std::fs::write(&file, bytes).expect("write log");
    assert_fails("edited log file", &verify_export(&copy, &key));

    // One record removed from a log file's Records array (the rest kept byte for byte).
    let (copy, at) = case("export-drop-record");
    type Log = std::collections::BTreeMap<String, Vec<Box<serde_json::value::RawValue>>>;
    let (file, records) = logs
        .iter()
        .find_map(|log| {
            let file = at(log);
            let parsed: Log =
                serde_json::from_str(&std::fs::read_to_string(&file).expect("read log"))
                    .expect("log json");
            let records = parsed.into_values().next().expect("Records");
            (records.len() >= 2).then_some((file, records))
        })
        .expect("a log file with two records");
    let kept: Vec<&str> = records
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, r)| r.get())
        .collect();
    std::fs::write(&file, format!("{{\"Records\":[{}]}}", kept.join(","))).expect("write log");
    assert_fails(
        "record removed from a log file",
        &verify_export(&copy, &key),
    );

    // A whole log file deleted.
    let (copy, at) = case("export-drop-file");
    std::fs::remove_file(at(&logs[2])).expect("remove log");
    assert_fails("deleted log file", &verify_export(&copy, &key));

    // A digest edited (its signature no longer matches).
    let (copy, at) = case("export-edit-digest");
    let file = at(&digests[1]);
    let edited = std::fs::read_to_string(&file)
        .expect("read digest")
        .replacen("\"Ed25519\"", "\"ed25519\"", 1);
    std::fs::write(&file, edited).expect("write digest");
    assert_fails("edited digest", &verify_export(&copy, &key));

    // The last log file and its digest deleted: earlier digests state where the run ended.
    let (copy, at) = case("export-truncate");
    let last_log = logs.last().expect("a log");
    let last_digest = digests.last().expect("a digest");
    std::fs::remove_file(at(last_log)).expect("remove log");
    std::fs::remove_file(at(last_digest)).expect("remove digest");
    let sig = PathBuf::from(format!("{}.sig", at(last_digest).display()));
    std::fs::remove_file(sig).expect("remove signature");
    assert_fails("truncated export", &verify_export(&copy, &key));

    // The export still verifies where nothing was touched.
    let out = verify_export(&export, &key);
    let stdout = assert_ok("verify the untouched export", &out);
    assert!(
        stdout.contains(&format!("{} records", f.last_seq)),
        "{stdout}"
    );
}

#[test]
fn an_export_does_not_verify_under_another_public_key() {
    let dir = fresh_copy("wrong-key");
    let (export, key) = export_into(&dir, &dir.join("data"), 1000);
    assert_ok("right key", &verify_export(&export, &key));

    let wrong = dir.join("wrong.pub");
    let mut raw = base64::engine::general_purpose::STANDARD
        .decode(
            std::fs::read_to_string(&key)
                .expect("key")
                .trim()
                .strip_prefix("ed25519:")
                .expect("prefix"),
        )
        .expect("base64");
    raw[0] ^= 0x55;
    std::fs::write(
        &wrong,
        format!(
            "ed25519:{}\n",
            base64::engine::general_purpose::STANDARD.encode(&raw)
        ),
    )
    .expect("write wrong key");
    assert_fails("wrong public key", &verify_export(&export, &wrong));

    // Not a key at all: refused before verifying anything.
    let garbage = dir.join("garbage.pub");
    std::fs::write(&garbage, "not a key\n").expect("write");
    let out = verify_export(&export, &garbage);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("ed25519:"),
        "{}",
        text(&out.stderr)
    );

    // --export-dir without --public-key is a usage error.
    let out = audit(&["verify", "--export-dir", path(&export)], false);
    assert!(!out.status.success());
}
