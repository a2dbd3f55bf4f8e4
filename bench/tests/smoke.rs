#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Smoke test of the bench instrument, a few seconds long: `tresor-bench load` against a real
//! `tresor server --dev` (get, put, list, mixed with zero errors and sane percentiles), against
//! the `ceiling`, and against a server with wrong credentials, where it must report errors (an
//! instrument that cannot see failures would make every benchmark pass).

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

const BENCH: &str = env!("CARGO_BIN_EXE_tresor-bench");

/// The `tresor` binary cargo built beside `tresor-bench`.
fn tresor_bin() -> PathBuf {
    let bin = Path::new(BENCH).parent().unwrap().join("tresor");
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build --workspace` first (scripts/test does)",
        bin.display()
    );
    bin
}

/// A server started for one test: killed when the test ends, however it ends; its stderr
/// kept in a temporary file so a failure can show why.
struct Server {
    child: Child,
    url: String,
    log: tempfile::NamedTempFile,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// The end of the server's log.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log.path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

/// Starts `cmd` and waits for the `http://…` address of its "listening on" line.
fn start(mut cmd: Command) -> Server {
    let log = tempfile::NamedTempFile::new().unwrap();
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log.reopen().unwrap());
    for (key, _) in std::env::vars_os() {
        let k = key.to_string_lossy();
        if k.starts_with("TRESOR_") || k.starts_with("AWS_") {
            cmd.env_remove(&key);
        }
    }
    let mut child = cmd.spawn().expect("spawn server");
    let stdout = child.stdout.take().unwrap();
    let mut server = Server {
        child,
        url: String::new(),
        log,
    };
    let (tx, rx) = mpsc::channel();
    // Keeps draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(at) = line.find("listening on http://") {
                let _ = tx.send(line[at + "listening on ".len()..].trim().to_owned());
            }
        }
    });
    server.url = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| {
            panic!(
                "the server printed no 'listening on http://' line within 60 s; its log:\n{}",
                server.log_tail()
            )
        });
    server
}

fn dev_server() -> Server {
    let mut cmd = Command::new(tresor_bin());
    cmd.args(["server", "--dev", "--listen", "127.0.0.1:0"])
        .args([
            "--root-access-key-id",
            "test",
            "--root-secret-access-key",
            "test",
        ]);
    start(cmd)
}

/// Runs `tresor-bench load` for about a second and returns its JSON report.
fn load(server: &Server, secret: &str, workload: &str, extra: &[&str]) -> Value {
    let endpoint = server.url.as_str();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let out = Command::new(BENCH)
        .args(["load", "--endpoint", endpoint, "--access-key-id", "test"])
        .args(["--secret-access-key", secret, "--workload", workload])
        .args(["--connections", "4", "--duration", "1", "--warmup", "0.2"])
        .args(["--secrets", "20", "--json"])
        .arg(&json)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "load {workload} failed: {}\n{}\nthe server's log ends with:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        server.log_tail()
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("req/s"), "no table printed: {stdout}");
    if secret != "test" {
        // ("test" is too common a word to look for.)
        assert!(
            !stdout.contains(secret),
            "the secret access key was printed: {stdout}"
        );
    }
    serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap()
}

fn number(report: &Value, field: &str) -> f64 {
    report[field]
        .as_f64()
        .unwrap_or_else(|| panic!("no number {field} in {report}"))
}

/// Zero errors, some requests, and ordered percentiles.
fn assert_clean(report: &Value) {
    assert_eq!(number(report, "errors"), 0.0, "errors in {report:#}");
    assert!(
        number(report, "requests") > 0.0,
        "no requests in {report:#}"
    );
    assert!(number(report, "rps") > 0.0, "no throughput in {report:#}");
    let (p50, p99, max) = (
        number(report, "p50_ms"),
        number(report, "p99_ms"),
        number(report, "max_ms"),
    );
    assert!(
        p50 <= p99 && p99 <= max,
        "percentiles out of order in {report:#}"
    );
    for field in [
        "workload",
        "endpoint",
        "connections",
        "duration_s",
        "p90_ms",
        "p999_ms",
        "error_kinds",
    ] {
        assert!(report.get(field).is_some(), "no {field} in {report:#}");
    }
}

#[test]
fn load_against_tresor_dev_server() {
    let server = dev_server();
    for workload in ["get", "put", "list", "mixed"] {
        let report = load(&server, "test", workload, &[]);
        assert_eq!(report["workload"], workload);
        assert_clean(&report);
    }
    // Reads signed as they are sent (what `scale` does at every store size) are accepted too.
    let report = load(&server, "test", "get", &["--existing", "--sign-each"]);
    assert_clean(&report);
}

#[test]
fn load_reports_the_servers_cpu_per_request_when_given_its_pid() {
    let server = dev_server();
    let pid = server.child.id().to_string();
    let report = load(&server, "test", "get", &["--server-pid", &pid]);
    assert_clean(&report);
    let us = number(&report, "server_cpu_us");
    // A GetSecretValue costs the server tens of microseconds; anything outside 1 µs..10 ms is
    // a misread clock or a wrong process.
    assert!(
        (1.0..10_000.0).contains(&us),
        "server CPU {us} µs in {report:#}"
    );
    // Without a pid there is no such figure, rather than a made-up one.
    let report = load(&server, "test", "get", &["--existing"]);
    assert!(report["server_cpu_us"].is_null(), "{report:#}");
}

#[test]
fn load_reports_errors_with_wrong_credentials() {
    let server = dev_server();
    let report = load(&server, "not-the-secret", "get", &["--existing"]);
    assert!(number(&report, "requests") > 0.0, "{report:#}");
    assert!(
        number(&report, "errors") > 0.0,
        "wrong credentials went unnoticed: {report:#}"
    );
    let kinds = report["error_kinds"].as_object().unwrap();
    assert!(!kinds.is_empty(), "{report:#}");
}

#[test]
fn load_against_ceiling() {
    let mut cmd = Command::new(BENCH);
    cmd.args(["ceiling", "--listen", "127.0.0.1:0"]);
    let ceiling = start(cmd);
    let report = load(&ceiling, "test", "get", &[]);
    assert_clean(&report);
}
