//! The command rotator against real processes: exit statuses, the event on stdin, the clean
//! environment, timeouts that kill background processes too, large output, missing commands.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Once;
use std::time::{Duration, Instant};

use tresor_rotation::command::{run, CommandSpec};
use tresor_rotation::rotator::{Outcome, MAX_CAPTURED};
use tresor_rotation::{Credentials, Environment, Step, StepEvent, StepReport};
use tresor_types::{SecretBytes, Timestamp};

const SECRET_KEY: &str = "wJalrXUtnFEMI-K7MDENG-secret-key";
const SESSION_TOKEN: &str = "FwoGZXIvYXdzE-session-token";
const ROTATION_TOKEN: &str = "rotation-token-3b1f";
/// Set in this test process (and only here): it must not reach the rotator.
const LEAK_NAME: &str = "TRESOR_TEST_LEAK_5E7A91";
const LEAK_VALUE: &str = "server-only-passphrase";

/// Every test calls this first, so the variable is set before any of them spawns a process
/// (setting the environment while another thread reads it is not safe).
fn setup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| std::env::set_var(LEAK_NAME, LEAK_VALUE));
}

fn event() -> StepEvent {
    StepEvent {
        step: Step::SetSecret,
        secret_id: "arn:aws:secretsmanager:eu-west-1:000000000000:secret:db-AbCdEf".into(),
        client_request_token: "9c0a5a0e-4c53-4cb1-9d3b-7b1c62f3b4a1".into(),
        rotation_token: SecretBytes::from_slice(ROTATION_TOKEN.as_bytes()),
    }
}

fn credentials() -> Credentials {
    Credentials {
        access_key_id: "ASIATESTROTATOR0001".into(),
        secret_access_key: SecretBytes::from_slice(SECRET_KEY.as_bytes()),
        session_token: SecretBytes::from_slice(SESSION_TOKEN.as_bytes()),
        expiration: Timestamp::now().plus_seconds(900),
    }
}

fn environment() -> Environment {
    Environment {
        endpoint_url: "https://127.0.0.1:8443".into(),
        region: "eu-west-1".into(),
        ca_bundle: Some("/etc/tresor/ca.pem".into()),
    }
}

async fn run_in(dir: Option<&Path>, command: &str, timeout: Duration) -> StepReport {
    setup();
    let spec = CommandSpec {
        command: command.into(),
        working_dir: dir.map(Path::to_path_buf),
    };
    run(&spec, &event(), &credentials(), &environment(), timeout).await
}

const LONG: Duration = Duration::from_secs(30);

#[tokio::test]
async fn exit_status_zero_is_success() {
    let report = run_in(None, "echo done; exit 0", LONG).await;
    assert_eq!(report.outcome, Outcome::Ok);
    assert_eq!(report.summary, "exit status 0");
    assert_eq!(report.stdout, b"done\n");
}

#[tokio::test]
async fn another_exit_status_is_a_failure_and_output_stays_out_of_the_summary() {
    let report = run_in(
        None,
        "echo oops-in-stderr >&2; echo shown-in-logs; exit 3",
        LONG,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert_eq!(report.summary, "exit status 3");
    assert_eq!(report.stdout, b"shown-in-logs\n");
    assert_eq!(report.stderr, b"oops-in-stderr\n");
    let debug = format!("{report:?}");
    assert!(
        !debug.contains("oops") && !debug.contains("shown-in-logs"),
        "{debug}"
    );
}

#[tokio::test]
async fn a_signal_is_named() {
    let report = run_in(None, "kill -TERM $$", LONG).await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert_eq!(report.summary, "killed by signal 15");
}

#[tokio::test]
async fn the_event_arrives_on_stdin_in_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let report = run_in(Some(dir.path()), "cat > event.json; pwd", LONG).await;
    assert_eq!(report.outcome, Outcome::Ok, "{}", report.summary);
    let cwd = String::from_utf8(report.stdout).unwrap();
    assert_eq!(
        Path::new(cwd.trim()).canonicalize().unwrap(),
        dir.path().canonicalize().unwrap()
    );
    let raw = std::fs::read(dir.path().join("event.json")).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    let fields: BTreeMap<String, serde_json::Value> =
        serde_json::from_value(json).expect("an object");
    assert_eq!(fields.len(), 4, "{fields:?}");
    assert_eq!(fields["Step"], "setSecret");
    assert_eq!(
        fields["SecretId"],
        "arn:aws:secretsmanager:eu-west-1:000000000000:secret:db-AbCdEf"
    );
    assert_eq!(
        fields["ClientRequestToken"],
        "9c0a5a0e-4c53-4cb1-9d3b-7b1c62f3b4a1"
    );
    assert_eq!(fields["RotationToken"], ROTATION_TOKEN);
}

#[tokio::test]
async fn the_environment_has_the_credentials_endpoint_and_region_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let report = run_in(Some(dir.path()), "env > env.txt", LONG).await;
    assert_eq!(report.outcome, Outcome::Ok, "{}", report.summary);
    let text = std::fs::read_to_string(dir.path().join("env.txt")).unwrap();
    let vars: BTreeMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();

    let expected = [
        ("AWS_ACCESS_KEY_ID", "ASIATESTROTATOR0001"),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
        ("AWS_SESSION_TOKEN", SESSION_TOKEN),
        ("AWS_ENDPOINT_URL", "https://127.0.0.1:8443"),
        ("SECRETS_MANAGER_ENDPOINT", "https://127.0.0.1:8443"),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_DEFAULT_REGION", "eu-west-1"),
        ("AWS_CA_BUNDLE", "/etc/tresor/ca.pem"),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("LANG", "C.UTF-8"),
    ];
    for (name, value) in expected {
        assert_eq!(vars.get(name), Some(&value), "{name}");
    }
    let server_path = std::env::var("PATH").unwrap_or_default();
    let path = if server_path.is_empty() {
        "/usr/local/bin:/usr/bin:/bin"
    } else {
        server_path.as_str()
    };
    assert_eq!(vars.get("PATH"), Some(&path));
    assert_eq!(std::env::var(LEAK_NAME).as_deref(), Ok(LEAK_VALUE));
    assert!(!vars.contains_key(LEAK_NAME));
    assert!(!text.contains(LEAK_VALUE));

    // Only what the rotator is given, and what the shell itself sets.
    let allowed: Vec<&str> = expected
        .iter()
        .map(|(n, _)| *n)
        .chain(["PATH", "HOME", "PWD", "OLDPWD", "SHLVL", "_"])
        .collect();
    for name in vars.keys() {
        assert!(allowed.contains(name), "unexpected variable {name}");
    }
}

#[tokio::test]
async fn debug_of_the_inputs_never_shows_the_credentials() {
    let shown = format!(
        "{:?} {:?} {:?}",
        credentials(),
        event(),
        CommandSpec {
            command: "python3 rotate.py".into(),
            working_dir: None
        }
    );
    for hidden in [SECRET_KEY, SESSION_TOKEN, ROTATION_TOKEN] {
        assert!(!shown.contains(hidden), "{shown}");
    }
    assert!(shown.contains("ASIATESTROTATOR0001"));
}

/// Whether `pid` is gone (or a zombie, which holds nothing).
fn is_gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X')),
    }
}

async fn wait_gone(pid: &str) -> bool {
    for _ in 0..50 {
        if is_gone(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn a_timeout_kills_the_program() {
    let started = Instant::now();
    let report = run_in(None, "sleep 60", Duration::from_millis(500)).await;
    assert_eq!(report.outcome, Outcome::Timeout);
    assert_eq!(report.summary, "timed out after 500 ms");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_timeout_kills_background_grandchildren_too() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let report = run_in(
        Some(dir.path()),
        "sleep 60 & echo $! > bg.pid; wait",
        Duration::from_secs(1),
    )
    .await;
    assert_eq!(report.outcome, Outcome::Timeout);
    assert_eq!(report.summary, "timed out after 1 s");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let pid = std::fs::read_to_string(dir.path().join("bg.pid")).unwrap();
    assert!(wait_gone(pid.trim()).await, "sleep {pid} survived the step");
}

#[tokio::test]
async fn what_a_finished_program_left_running_does_not_hold_the_step() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    // The background sleep holds stdout open; the step ends with the shell anyway.
    let report = run_in(
        Some(dir.path()),
        "sleep 60 & echo $! > bg.pid; echo started",
        LONG,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Ok, "{}", report.summary);
    assert_eq!(report.stdout, b"started\n");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let pid = std::fs::read_to_string(dir.path().join("bg.pid")).unwrap();
    assert!(wait_gone(pid.trim()).await, "sleep {pid} outlived the step");
}

#[tokio::test]
async fn a_mebibyte_of_output_on_each_pipe_neither_blocks_nor_is_all_kept() {
    let command = "head -c 1048576 /dev/zero | tr '\\0' a; printf END; \
                   head -c 1048576 /dev/zero | tr '\\0' b >&2; printf ERR >&2";
    let report = run_in(None, command, LONG).await;
    assert_eq!(report.outcome, Outcome::Ok, "{}", report.summary);
    assert_eq!(report.stdout.len(), MAX_CAPTURED);
    assert!(report.stdout.ends_with(b"aaaEND"));
    assert_eq!(report.stderr.len(), MAX_CAPTURED);
    assert!(report.stderr.ends_with(b"bbbERR"));
}

#[tokio::test]
async fn a_program_that_ignores_stdin_succeeds() {
    let report = run_in(None, "exec 0<&-; sleep 0.2; echo fine", LONG).await;
    assert_eq!(report.outcome, Outcome::Ok, "{}", report.summary);
    assert_eq!(report.stdout, b"fine\n");
}

#[tokio::test]
async fn a_missing_command_says_so() {
    let report = run_in(None, "tresor-no-such-rotator-cmd --step", LONG).await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert_eq!(report.summary, "exit status 127 (command not found)");
    assert!(!report.stderr.is_empty());
}

#[tokio::test]
async fn a_missing_working_directory_cannot_start() {
    let dir = tempfile::tempdir().unwrap();
    let gone = dir.path().join("gone");
    let report = run_in(Some(&gone), "true", LONG).await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert_eq!(report.summary, "could not start: entity not found");
    assert!(!report.summary.contains("gone"));
}
