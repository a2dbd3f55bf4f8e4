//! No plaintext at rest and none in the logs: after storing, reading and replacing distinctive
//! values (string and binary) through the SDK, neither the data directory (database, WAL and
//! shared-memory files included) nor the server's stderr holds any of them, raw, in base64 or
//! in hex. On PostgreSQL ("ciphertext and metadata only") the same workload runs against a
//! node of a fresh database, and the scan runs over a `pg_dump` of it, taken while the node
//! runs and after it stopped (PostgreSQL policy as in `tresor-store`'s conformance suite:
//! without a reachable server that test prints a SKIPPED line and passes, unless `CI=true` or
//! `TRESOR_REQUIRE_POSTGRES=1`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::PathBuf;
use std::process::Command;

use aws_sdk_secretsmanager::error::ProvideErrorMetadata as _;
use aws_sdk_secretsmanager::primitives::Blob;
use base64::Engine as _;
use common::pg::TestDb;
use common::{contains, sdk_client, snapshot_files, unique, Creds, Server, ServerOptions};

/// A value that must never be found, and the forms it could be found in.
struct Canary {
    label: String,
    bytes: Vec<u8>,
}

impl Canary {
    fn string(label: &str) -> Self {
        let token = uuid::Uuid::new_v4().simple().to_string();
        Self {
            label: label.to_owned(),
            bytes: format!("sk-canary-{label}-{token}-{token}").into_bytes(),
        }
    }

    fn binary(label: &str) -> Self {
        let token = uuid::Uuid::new_v4();
        let mut bytes = vec![0x00, 0xff, 0x10, 0x80];
        bytes.extend_from_slice(token.as_bytes());
        bytes.extend_from_slice(b"\x01bin-canary\xfe");
        bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        Self {
            label: label.to_owned(),
            bytes,
        }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes).expect("string canary")
    }

    /// The byte strings whose presence means a leak: the value itself, its standard base64
    /// (as it travels in JSON), the base64 runs it produces at each of the three alignments
    /// inside a longer base64 text (edges trimmed, as they depend on the neighbouring bytes),
    /// and each of those in lowercase hex (as `pg_dump` writes a `bytea` column).
    fn needles(&self) -> Vec<Vec<u8>> {
        let plain = self.plain_needles();
        let hex = plain
            .iter()
            .map(|n| hex(n).into_bytes())
            .collect::<Vec<_>>();
        plain.into_iter().chain(hex).collect()
    }

    fn plain_needles(&self) -> Vec<Vec<u8>> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut out = vec![self.bytes.clone(), b64.encode(&self.bytes).into_bytes()];
        for shift in 0..3 {
            let mut shifted = vec![0u8; shift];
            shifted.extend_from_slice(&self.bytes);
            let text = b64.encode(&shifted);
            let start = if shift == 0 { 0 } else { 4 };
            out.push(text.as_bytes()[start..text.len() - 4].to_vec());
        }
        out
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where each canary was found, if anywhere.
fn find_leaks(canaries: &[Canary], places: &BTreeMap<PathBuf, Vec<u8>>) -> Vec<String> {
    let mut leaks = Vec::new();
    for c in canaries {
        for (i, needle) in c.needles().iter().enumerate() {
            for (path, bytes) in places {
                if contains(bytes, needle) {
                    leaks.push(format!("{} (form {i}) in {}", c.label, path.display()));
                }
            }
        }
    }
    leaks
}

/// The usual workload against the server at `url`, as root `creds`: five secrets stored, read,
/// replaced and read again (one `BatchGetSecretValue` over all), and three writes refused after
/// their values were sent. Returns every value that must never be found.
async fn store_read_and_replace(url: &str, creds: &Creds) -> Vec<Canary> {
    let client = sdk_client(url, creds);

    let mut canaries: Vec<Canary> = Vec::new();
    let mut names = Vec::new();
    // Five secrets: three strings, two binaries.
    for i in 0..5 {
        let name = unique(&format!("leak/{i}"));
        let first = if i < 3 {
            Canary::string(&format!("s{i}-v1"))
        } else {
            Canary::binary(&format!("b{i}-v1"))
        };
        let req = client.create_secret().name(&name);
        let req = if i < 3 {
            req.secret_string(first.as_str())
        } else {
            req.secret_binary(Blob::new(first.bytes.clone()))
        };
        req.send().await.expect("create");
        let got = client
            .get_secret_value()
            .secret_id(&name)
            .send()
            .await
            .expect("get");
        if i < 3 {
            assert_eq!(got.secret_string(), Some(first.as_str()));
        } else {
            assert_eq!(
                got.secret_binary().map(|b| b.as_ref()),
                Some(&first.bytes[..])
            );
        }

        let second = if i < 3 {
            Canary::string(&format!("s{i}-v2"))
        } else {
            Canary::binary(&format!("b{i}-v2"))
        };
        let req = client.put_secret_value().secret_id(&name);
        let req = if i < 3 {
            req.secret_string(second.as_str())
        } else {
            req.secret_binary(Blob::new(second.bytes.clone()))
        };
        req.send().await.expect("put");
        let got = client
            .get_secret_value()
            .secret_id(&name)
            .send()
            .await
            .expect("get v2");
        let bytes: &[u8] = match got.secret_string() {
            Some(s) => s.as_bytes(),
            None => got.secret_binary().expect("binary").as_ref(),
        };
        assert_eq!(bytes, &second.bytes[..]);
        let prev = client
            .get_secret_value()
            .secret_id(&name)
            .version_stage("AWSPREVIOUS")
            .send()
            .await
            .expect("get previous");
        assert!(prev.secret_string().is_some() || prev.secret_binary().is_some());
        canaries.push(first);
        canaries.push(second);
        names.push(name);
    }
    let batch = client
        .batch_get_secret_value()
        .set_secret_id_list(Some(names.clone()))
        .send()
        .await
        .expect("batch get");
    assert_eq!(batch.secret_values().len(), 5);

    // Values in requests that fail must not leak either.
    let rejected_both = Canary::string("rejected-both");
    let err = client
        .put_secret_value()
        .secret_id(&names[0])
        .secret_string(rejected_both.as_str())
        .secret_binary(Blob::new(b"x".to_vec()))
        .send()
        .await
        .expect_err("both kinds");
    assert_eq!(err.code(), Some("InvalidParameterException"));
    let rejected_token = Canary::string("rejected-token");
    let token = uuid::Uuid::new_v4().to_string();
    let ok_value = Canary::string("token-first");
    client
        .put_secret_value()
        .secret_id(&names[1])
        .secret_string(ok_value.as_str())
        .client_request_token(&token)
        .send()
        .await
        .expect("put with token");
    let err = client
        .put_secret_value()
        .secret_id(&names[1])
        .secret_string(rejected_token.as_str())
        .client_request_token(&token)
        .send()
        .await
        .expect_err("same token, other value");
    assert_eq!(err.code(), Some("ResourceExistsException"));
    let rejected_auth = Canary::string("rejected-auth");
    let bad = sdk_client(
        url,
        &Creds {
            access_key_id: creds.access_key_id.clone(),
            secret_access_key: format!("{}x", creds.secret_access_key),
        },
    );
    let err = bad
        .put_secret_value()
        .secret_id(&names[2])
        .secret_string(rejected_auth.as_str())
        .send()
        .await
        .expect_err("bad signature");
    assert_eq!(err.code(), Some("InvalidSignatureException"));
    canaries.extend([rejected_both, rejected_token, ok_value, rejected_auth]);
    canaries.push(Canary {
        label: "root secret access key".to_owned(),
        bytes: creds.secret_access_key.clone().into_bytes(),
    });
    canaries
}

/// The server's log holds the request log and none of `canaries`.
fn assert_log_clean(server: &Server, canaries: &[Canary], log_level: &str) {
    let log = server.stderr();
    assert!(!log.is_empty(), "the server logged nothing at {log_level}");
    // The log really is the request log we think it is.
    assert!(
        contains(&log, b"PutSecretValue"),
        "{}",
        String::from_utf8_lossy(&log)
    );
    let mut logs = BTreeMap::new();
    logs.insert(server.stderr_path.clone(), log);
    let leaks = find_leaks(canaries, &logs);
    assert!(leaks.is_empty(), "found in the log: {leaks:#?}");
}

async fn sqlite_store_and_log_hold_no_value(log_level: &str) {
    // The harness always passes an explicit --data-dir (inside its own temporary directory).
    let mut server = ServerOptions::dev().env("TRESOR_LOG", log_level).start();
    let data_dir = server.data_dir.clone();
    let creds = server.dev_creds.clone().expect("creds");
    let canaries = store_read_and_replace(&server.url, &creds).await;

    // While running (the WAL holds the recent writes), then after a clean stop.
    let running = snapshot_files(&data_dir);
    for file in ["tresor.db", "tresor.audit.db", "tresor.audit.db-wal"] {
        assert!(
            running.keys().any(|p| p.ends_with(file)),
            "{file}: {running:?}"
        );
    }
    let leaks = find_leaks(&canaries, &running);
    assert!(leaks.is_empty(), "found while running: {leaks:#?}");

    assert!(server.stop().success());
    let stopped = snapshot_files(&data_dir);
    let leaks = find_leaks(&canaries, &stopped);
    assert!(leaks.is_empty(), "found after stop: {leaks:#?}");
    assert_log_clean(&server, &canaries, log_level);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_value_at_rest_or_in_the_log() {
    sqlite_store_and_log_hold_no_value("info").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_value_at_rest_or_in_the_log_at_debug_level() {
    sqlite_store_and_log_hold_no_value("debug").await;
}

/// The whole test database as text: `pg_dump` (schema and every row, `bytea` in hex), or, when
/// no `pg_dump` able to dump this server is installed, `COPY … TO STDOUT` of every table (the
/// same rows in the same text format), said on stderr.
fn dump(db: &TestDb) -> Vec<u8> {
    let pg_dump = Command::new("pg_dump")
        .args(["--no-password", "--dbname", &db.url])
        .output();
    match pg_dump {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("COPY public.secret_versions"), "{text}");
            return out.stdout;
        }
        Ok(out) => eprintln!(
            "pg_dump failed ({}): {}; dumping with COPY instead",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => eprintln!("no pg_dump ({e}); dumping with COPY instead"),
    }
    let mut client = db.connect();
    let tables = db.tables();
    assert!(tables.iter().any(|t| t == "secret_versions"), "{tables:?}");
    let mut out = Vec::new();
    for table in tables {
        out.extend_from_slice(format!("COPY {table}\n").as_bytes());
        client
            .copy_out(&format!("COPY \"{table}\" TO STDOUT"))
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
    }
    out
}

/// "Ciphertext and metadata only": after the usual workload against a node on PostgreSQL, a
/// dump of the database holds none of the values, while the node runs and after it stopped,
/// and neither does the node's log.
#[test]
fn no_value_in_a_postgres_dump_or_the_log() {
    const PASSPHRASE: &str = "no leak passphrase";
    let Some(db) = TestDb::create("tresor_leak") else {
        return;
    };
    let creds = common::pg::init_store(&db.url, PASSPHRASE);
    let mut server = ServerOptions::postgres(&db.url, PASSPHRASE)
        .env("TRESOR_LOG", "debug")
        .start();
    let canaries = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(store_read_and_replace(&server.url, &creds));

    let dump_path = PathBuf::from(format!("pg_dump of {}", db.name));
    let running = dump(&db);
    // The dump really holds the rows the workload wrote.
    assert!(
        contains(&running, b"PutSecretValue"),
        "no audit records in the dump"
    );
    assert!(
        contains(&running, b"AWSPREVIOUS"),
        "no secret versions in the dump"
    );
    let leaks = find_leaks(&canaries, &BTreeMap::from([(dump_path.clone(), running)]));
    assert!(leaks.is_empty(), "found while running: {leaks:#?}");

    assert!(server.stop().success());
    let stopped = dump(&db);
    let leaks = find_leaks(&canaries, &BTreeMap::from([(dump_path, stopped)]));
    assert!(leaks.is_empty(), "found after stop: {leaks:#?}");
    assert_log_clean(&server, &canaries, "debug");
}

/// The scanner itself finds what it must: a planted value, raw or base64 at any alignment.
#[test]
fn scanner_finds_planted_values() {
    let c = Canary::binary("planted");
    let b64 = base64::engine::general_purpose::STANDARD;
    for prefix_len in 0..3 {
        let mut wrapped = vec![b'Z'; prefix_len];
        wrapped.extend_from_slice(&c.bytes);
        wrapped.extend_from_slice(b"tail");
        let mut places = BTreeMap::new();
        places.insert(
            PathBuf::from("b64"),
            format!("{{\"x\":\"{}\"}}", b64.encode(&wrapped)).into_bytes(),
        );
        assert!(
            !find_leaks(std::slice::from_ref(&c), &places).is_empty(),
            "base64 at offset {prefix_len} not found"
        );
    }
    let mut places = BTreeMap::new();
    let mut raw = b"prefix".to_vec();
    raw.extend_from_slice(&c.bytes);
    places.insert(PathBuf::from("raw"), raw);
    assert!(!find_leaks(std::slice::from_ref(&c), &places).is_empty());
    // As `pg_dump` writes a `bytea` column: the value itself, and text holding its base64.
    for bytea in [
        hex(&c.bytes),
        hex(format!("Zz{}", b64.encode(&c.bytes)).as_bytes()),
    ] {
        let dumped = format!("COPY t (v) FROM stdin;\n\\\\x00{bytea}ff\n\\.\n");
        let places = BTreeMap::from([(PathBuf::from("dump"), dumped.into_bytes())]);
        assert!(!find_leaks(std::slice::from_ref(&c), &places).is_empty());
    }
    places.insert(PathBuf::from("raw"), b"nothing here".to_vec());
    assert!(find_leaks(std::slice::from_ref(&c), &places).is_empty());
}
