#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Smoke test of the bench instrument, a few seconds long: `tresor-bench load` against a real
//! `tresor server --dev` (get, put, list, mixed with zero errors and sane percentiles), against
//! the `ceiling`, and against a server with wrong credentials, where it must report errors (an
//! instrument that cannot see failures would make every benchmark pass); and the gateway
//! workloads against the mock provider, through a Tresor dev server, and `gateway-compare`
//! without LiteLLM.

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

/// Runs `tresor-bench load` with a gateway workload for about a second; its JSON report.
fn load_gateway(endpoint: &str, workload: &str, path: &str, key: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let out = Command::new(BENCH)
        .args(["load", "--endpoint", endpoint, "--workload", workload])
        .args(["--path", path, "--bearer-key", key])
        .args([
            "--connections",
            "4",
            "--duration",
            "1",
            "--warmup",
            "0.2",
            "--json",
        ])
        .arg(&json)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "load {workload} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains(key), "the key was printed: {stdout}");
    serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap()
}

#[test]
fn gateway_workloads_against_the_mock_upstream() {
    let mut cmd = Command::new(BENCH);
    cmd.args(["mock-upstream", "--listen", "127.0.0.1:0"]);
    let mock = start(cmd);
    let key = "sk-smoke-provider-key";
    let report = load_gateway(&mock.url, "gateway", "/v1/chat/completions", key);
    assert_eq!(report["workload"], "gateway");
    assert_clean(&report);
    // Only streamed answers have a time to first byte worth reporting.
    assert!(report["ttfb_p50_ms"].is_null(), "{report:#}");

    let report = load_gateway(&mock.url, "gateway-stream", "/v1/chat/completions", key);
    assert_eq!(report["workload"], "gateway-stream");
    assert_clean(&report);
    let (ttfb50, ttfb99) = (
        number(&report, "ttfb_p50_ms"),
        number(&report, "ttfb_p99_ms"),
    );
    // Each answer's first byte comes before its end, so the quantiles keep that order.
    assert!(
        0.0 < ttfb50 && ttfb50 <= ttfb99 && ttfb50 <= number(&report, "p50_ms"),
        "{report:#}"
    );
    assert!(ttfb99 <= number(&report, "p99_ms"), "{report:#}");
}

#[test]
fn gateway_load_reports_refused_keys_as_errors() {
    let server = dev_server();
    let report = load_gateway(
        &server.url,
        "gateway",
        "/gateway/nowhere/v1/chat/completions",
        "tgk_not-a-key",
    );
    assert!(number(&report, "requests") > 0.0, "{report:#}");
    assert_eq!(
        number(&report, "errors"),
        number(&report, "requests"),
        "a refused key went unnoticed: {report:#}"
    );
}

#[test]
fn gateway_load_needs_a_key() {
    let out = Command::new(BENCH)
        .args([
            "load",
            "--endpoint",
            "http://127.0.0.1:9",
            "--workload",
            "gateway",
        ])
        .env_remove("TRESOR_BENCH_BEARER_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--bearer-key"), "{stderr}");
}

#[test]
fn gateway_compare_sets_up_tresor_and_measures_it_beside_the_direct_call() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("gateway.json");
    let out = Command::new(BENCH)
        .args(["gateway-compare", "--no-litellm", "--tresor-bin"])
        .arg(tresor_bin())
        .args(["--connections", "2", "--stream-connections", "2"])
        .args([
            "--latency-connections",
            "2",
            "--duration",
            "0.5",
            "--warmup",
            "0.1",
        ])
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "gateway-compare failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !stdout.contains("tgk_"),
        "a gateway key was printed: {stdout}"
    );
    assert!(stdout.contains("added latency @2, p50"), "{stdout}");
    let result: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let rows = result["rows"].as_array().unwrap();
    let shape: Vec<(&str, u64)> = rows
        .iter()
        .map(|r| {
            (
                r["workload"].as_str().unwrap(),
                r["connections"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(shape, [("gateway", 2), ("gateway-stream", 2)], "{result:#}");
    for row in rows {
        let results = row["results"].as_object().unwrap();
        let names: Vec<&String> = results.keys().collect();
        assert_eq!(names, ["direct", "tresor"], "{row:#}");
        for report in results.values() {
            assert_clean(report);
        }
        assert!(row["tresor_over_litellm"].is_null(), "{row:#}");
    }
    assert!(
        rows[1]["results"]["tresor"]["ttfb_p50_ms"]
            .as_f64()
            .unwrap()
            > 0.0
    );
}
