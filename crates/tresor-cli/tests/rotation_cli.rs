//! `tresor rotator …` and `tresor rotation …` against a fake rotation admin API
//! (`fake_admin::rotation`): the requests are SigV4-signed for the service `rotation` (checked
//! with `tresor-sigv4`, not the CLI's signer) and shaped as `tresor_core::rotation`'s DTOs;
//! flags become members; text and JSON outputs; the rotator's type told or implied; a
//! webhook's signing secret shown by `create` only; `run-due --wait` polling until the
//! rotations end and failing on one that did not succeed; usage errors exit 2 before any call,
//! API errors exit 1 with `error: <Code>: <Message>`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fake_admin;

use std::time::{Duration, Instant};

use fake_admin::rotation::{secret_arn, status, Script, ROLE_ARN, SIGNING_SECRET};
use fake_admin::{tresor, FakeAdmin, Run, ACCESS_KEY_ID, SECRET_ACCESS_KEY};
use serde_json::{json, Value};

/// `tresor GROUP ARGS` (GROUP `rotator` or `rotation`) with the usual AWS environment pointing
/// at `fake`.
fn cli(fake: &FakeAdmin, group: &str, args: &[&str]) -> Run {
    let endpoint = fake.endpoint();
    let mut all = vec![group];
    all.extend_from_slice(args);
    tresor(
        &all,
        &[
            ("AWS_ENDPOINT_URL", &endpoint),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
        ],
    )
}

fn rotator(fake: &FakeAdmin, args: &[&str]) -> Run {
    cli(fake, "rotator", args)
}

fn rotation(fake: &FakeAdmin, args: &[&str]) -> Run {
    cli(fake, "rotation", args)
}

fn fresh() -> FakeAdmin {
    FakeAdmin::rotation("us-east-1", Script::default())
}

fn ok(run: &Run) {
    assert_eq!(
        run.code, 0,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
}

const PY_ARN: &str = "arn:aws:lambda:us-east-1:000000000000:function:py";

#[test]
fn create_command_rotator_sends_a_signed_request_and_prints_the_arn_alone() {
    let fake = fresh();
    let run = rotator(
        &fake,
        &[
            "create",
            "py",
            "--role-arn",
            ROLE_ARN,
            "--command",
            "python3 rotate.py",
            "--working-directory",
            "/srv/rotators",
            "--step-timeout-seconds",
            "60",
            "--description",
            "db password",
        ],
    );
    ok(&run);
    let seen = fake.only();
    assert_eq!(seen.target, "TresorRotation.CreateRotator");
    assert_eq!(seen.service, "rotation");
    assert_eq!(seen.region, "us-east-1");
    assert_eq!(seen.content_type, "application/x-amz-json-1.1");
    for header in ["host", "x-amz-date", "x-amz-target", "content-type"] {
        assert!(
            seen.signed_headers.iter().any(|h| h == header),
            "{header} unsigned"
        );
    }
    // The type is implied by --command; options not given are not sent.
    assert_eq!(
        seen.body,
        json!({"Name": "py", "Type": "command", "RoleArn": ROLE_ARN,
               "Command": "python3 rotate.py", "WorkingDirectory": "/srv/rotators",
               "StepTimeoutSeconds": 60, "Description": "db password"})
    );
    // The ARN is all there is: `ARN=$(tresor rotator create …)` is the RotationLambdaARN.
    assert_eq!(run.stdout, format!("{PY_ARN}\n"));
}

#[test]
fn create_webhook_rotator_shows_the_signing_secret_once_after_the_arn() {
    let fake = fresh();
    let run = rotator(
        &fake,
        &[
            "create",
            "hook",
            "--role-arn",
            ROLE_ARN,
            "--url",
            "https://hooks.example/rotate",
            "--pass-credentials",
        ],
    );
    ok(&run);
    assert_eq!(
        fake.only().body,
        json!({"Name": "hook", "Type": "webhook", "RoleArn": ROLE_ARN,
               "Url": "https://hooks.example/rotate", "PassCredentials": true})
    );
    let mut lines = run.stdout.lines();
    assert_eq!(
        lines.next(),
        Some("arn:aws:lambda:us-east-1:000000000000:function:hook")
    );
    assert_eq!(
        run.stdout.matches(SIGNING_SECRET).count(),
        1,
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("shown only now"), "{}", run.stdout);
    assert!(!run.stderr.contains(SIGNING_SECRET));

    // Without --pass-credentials, none is sent (the server's default applies).
    let fake = fresh();
    let run = rotator(
        &fake,
        &[
            "create",
            "hook",
            "--role-arn",
            ROLE_ARN,
            "--url",
            "https://hooks.example/rotate",
            "--output",
            "json",
        ],
    );
    ok(&run);
    assert!(fake.only().body.get("PassCredentials").is_none());
    let v = run.json();
    assert_eq!(v["signing_secret"], SIGNING_SECRET);
    assert_eq!(
        v["arn"],
        "arn:aws:lambda:us-east-1:000000000000:function:hook"
    );
    assert_eq!(v["type"], "webhook");
    assert_eq!(v["url"], "https://hooks.example/rotate");
    assert_eq!(v["step_timeout_seconds"], 300);
    assert_eq!(v["created_date"], "2023-11-14T22:13:20Z");
    assert!(
        v.get("ARN").is_none() && v.get("Rotator").is_none() && v.get("SigningSecret").is_none(),
        "{v}"
    );
}

#[test]
fn built_in_rotators_need_their_type_and_send_their_options() {
    let fake = fresh();
    let run = rotator(
        &fake,
        &[
            "create",
            "openai-keys",
            "--type",
            "openai",
            "--role-arn",
            ROLE_ARN,
            "--admin-secret-id",
            "ai/openai/admin",
            "--project-id",
            "proj_abc",
            "--base-url",
            "http://127.0.0.1:9999/v1",
            "--grace-period-seconds",
            "3600",
            "--output",
            "json",
        ],
    );
    ok(&run);
    assert_eq!(
        fake.only().body,
        json!({"Name": "openai-keys", "Type": "openai", "RoleArn": ROLE_ARN,
               "AdminSecretId": "ai/openai/admin", "ProjectId": "proj_abc",
               "BaseUrl": "http://127.0.0.1:9999/v1", "GracePeriodSeconds": 3600})
    );
    let v = run.json();
    assert_eq!(v["type"], "openai");
    assert_eq!(v["grace_period_seconds"], 3600);
    assert_eq!(v["project_id"], "proj_abc");
    assert!(v.get("signing_secret").is_none(), "{v}");

    let fake = fresh();
    let run = rotator(
        &fake,
        &[
            "--output",
            "json",
            "create",
            "anthropic-keys",
            "--type",
            "manual",
            "--provider",
            "anthropic",
            "--role-arn",
            ROLE_ARN,
        ],
    );
    ok(&run);
    assert_eq!(
        fake.only().body,
        json!({"Name": "anthropic-keys", "Type": "manual", "Provider": "anthropic",
               "RoleArn": ROLE_ARN})
    );
    assert_eq!(run.json()["provider"], "anthropic");

    // A type that agrees with --command is accepted.
    let fake = fresh();
    ok(&rotator(
        &fake,
        &[
            "create",
            "py",
            "--type",
            "command",
            "--command",
            "./rotate",
            "--role-arn",
            ROLE_ARN,
        ],
    ));
    assert_eq!(fake.only().body["Type"], "command");
    let fake = fresh();
    ok(&rotator(
        &fake,
        &[
            "create",
            "o",
            "--type",
            "openrouter",
            "--role-arn",
            ROLE_ARN,
        ],
    ));
    assert_eq!(
        fake.only().body,
        json!({"Name": "o", "Type": "openrouter", "RoleArn": ROLE_ARN})
    );
}

#[test]
fn usage_errors_exit_2_before_any_call() {
    let fake = fresh();
    let create = |extra: &[&'static str]| {
        let mut args = vec!["create", "r", "--role-arn", ROLE_ARN];
        args.extend_from_slice(extra);
        args
    };
    for (args, expected) in [
        // The type cannot be told.
        (
            create(&["--command", "x", "--url", "https://h/"]),
            "cannot be used with",
        ),
        (create(&[]), "--command"),
        (
            create(&["--type", "openai", "--command", "x"]),
            "--type openai cannot be used with --command",
        ),
        (
            create(&["--type", "command", "--url", "https://h/"]),
            "--type command cannot be used with --url",
        ),
        (create(&["--type", "webhook"]), "--type webhook needs --url"),
        (
            create(&["--type", "command"]),
            "--type command needs --command",
        ),
        (create(&["--type", "lambda"]), "lambda"),
        // Options of another kind of rotator.
        (
            create(&["--type", "openai", "--working-directory", "/"]),
            "--command",
        ),
        (
            create(&["--command", "x", "--pass-credentials"]),
            "--pass-credentials is for webhook rotators",
        ),
        (
            create(&["--type", "openai", "--pass-credentials"]),
            "--pass-credentials is for webhook rotators",
        ),
        (
            create(&["--command", "x", "--project-id", "p"]),
            "cannot be used with",
        ),
        (
            create(&["--url", "https://h/", "--admin-secret-id", "s"]),
            "cannot be used with",
        ),
        // Values out of the API's ranges.
        (
            create(&["--type", "openai", "--grace-period-seconds=-1"]),
            "--grace-period-seconds",
        ),
        (
            create(&["--type", "openai", "--grace-period-seconds", "2592001"]),
            "2592001",
        ),
        (
            create(&["--command", "x", "--step-timeout-seconds", "0"]),
            "--step-timeout-seconds",
        ),
        (
            create(&["--command", "x", "--step-timeout-seconds", "901"]),
            "901",
        ),
        (
            create(&["--type", "manual", "--provider", "azure"]),
            "azure",
        ),
        (vec!["create", "r", "--command", "x"], "--role-arn"),
        (vec!["logs", "r", "--max-results", "0"], "--max-results"),
        (vec!["logs", "r", "--max-results", "501"], "501"),
        (vec!["list", "--output", "yaml"], "yaml"),
        (vec!["delete"], "NAME"),
    ] {
        let run = rotator(&fake, &args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
    }
    // The checks clap cannot declare read as its own do.
    let run = rotator(&fake, &create(&["--type", "webhook"]));
    assert!(
        run.stderr
            .starts_with("error: --type webhook needs --url URL\n\nUsage: tresor rotator create "),
        "{}",
        run.stderr
    );
    for (args, expected) in [
        (&["run-due", "--as-of", "tomorrow"][..], "RFC 3339"),
        (&["run-due", "--as-of", "2030-01-01"], "RFC 3339"),
        (&["run-due", "--wait-timeout", "5"], "--wait"),
        (
            &["run-due", "--wait", "--wait-timeout", "0"],
            "--wait-timeout",
        ),
        (&["status", "--output", "xml"], "xml"),
    ] {
        let run = rotation(&fake, args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
    }
    assert!(fake.seen().is_empty(), "{:?}", fake.seen());
}

#[test]
fn only_create_shows_a_signing_secret() {
    // The fake plants the secret in every rotator it describes; the CLI prints rotators field
    // by field, so it never shows it there.
    let fake = fresh();
    for args in [
        &["get", "py"][..],
        &["get", "py", "--output", "json"],
        &["list"],
        &["list", "--output", "json"],
        &["logs", "py"],
        &["create", "py", "--role-arn", ROLE_ARN, "--command", "x"],
        &[
            "create",
            "py",
            "--role-arn",
            ROLE_ARN,
            "--command",
            "x",
            "--output",
            "json",
        ],
    ] {
        let run = rotator(&fake, args);
        ok(&run);
        assert!(!run.stdout.contains("whsec_"), "{args:?}: {}", run.stdout);
        assert!(!run.stderr.contains("whsec_"), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn list_prints_a_table_and_json() {
    let fake = fresh();
    let run = rotator(&fake, &["list"]);
    ok(&run);
    assert_eq!(fake.only().target, "TresorRotation.ListRotators");
    assert_eq!(fake.only().body, json!({}));
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(header, ["NAME", "TYPE", "ROLE", "ARN"]);
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(row, ["py", "command", ROLE_ARN, PY_ARN]);
    assert!(lines[2].starts_with("hook ") && lines[2].contains("webhook"));
    // Columns line up: each ARN starts where the header's does.
    let at = lines[0].find("ARN").unwrap();
    assert_eq!(lines[1].find("arn:aws:lambda"), Some(at));
    assert_eq!(lines[2].find("arn:aws:lambda"), Some(at));

    let v = rotator(&fake, &["list", "--output", "json"]).json();
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["name"], "py");
    assert_eq!(list[0]["arn"], PY_ARN);
    assert_eq!(list[0]["role_arn"], ROLE_ARN);
    assert_eq!(list[0]["command"], "python3 rotate.py");
    assert_eq!(list[1]["pass_credentials"], true);
    assert_eq!(list[1]["command"], Value::Null);
}

#[test]
fn get_and_delete_name_the_rotator() {
    let fake = fresh();
    let run = rotator(&fake, &["get", "py"]);
    ok(&run);
    for expected in [
        "name:",
        "py",
        PY_ARN,
        "command",
        "python3 rotate.py",
        "300",
        "2023-11-14T22:13:20Z",
    ] {
        assert!(run.stdout.contains(expected), "{expected}: {}", run.stdout);
    }
    let run = rotator(&fake, &["delete", PY_ARN]);
    ok(&run);
    assert_eq!(run.stdout, format!("Deleted rotator {PY_ARN}.\n"));
    let v = rotator(&fake, &["delete", "py", "--output", "json"]).json();
    assert_eq!(v, json!({"name": "py", "deleted": true}));
    let seen = fake.seen();
    assert_eq!(seen[0].target, "TresorRotation.GetRotator");
    assert_eq!(seen[0].body, json!({"Name": "py"}));
    assert_eq!(seen[1].target, "TresorRotation.DeleteRotator");
    assert_eq!(seen[1].body, json!({"Name": PY_ARN}));
    assert_eq!(seen[2].body, json!({"Name": "py"}));
}

#[test]
fn logs_send_the_filters_and_show_each_step_with_its_output() {
    let fake = fresh();
    let run = rotator(
        &fake,
        &["logs", "py", "--secret-id", "db", "--max-results", "5"],
    );
    ok(&run);
    let seen = fake.only();
    assert_eq!(seen.target, "TresorRotation.GetRotatorLogs");
    assert_eq!(
        seen.body,
        json!({"Name": "py", "SecretId": "db", "MaxResults": 5})
    );
    let db = secret_arn("db");
    let expected = format!(
        "2023-11-14T22:15:20Z  {db}  version v-2  createSecret  failed  exit status 1\n\
         \x20   stderr:\n\
         \x20       Traceback (most recent call last):\n\
         \x20         boom\n\
         2023-11-14T22:13:20Z  {db}  version v-1  finishSecret  ok  exit status 0\n\
         \x20   stdout:\n\
         \x20       moved AWSCURRENT to v-1\n"
    );
    assert_eq!(run.stdout, expected);

    let run = rotator(&fake, &["logs", "py", "--output", "json"]);
    ok(&run);
    assert_eq!(fake.seen()[1].body, json!({"Name": "py"}));
    let v = run.json();
    assert_eq!(v[0]["time"], "2023-11-14T22:15:20Z");
    assert_eq!(v[0]["secret_arn"], db);
    assert_eq!(v[0]["version_id"], "v-2");
    assert_eq!(v[0]["step"], "createSecret");
    assert_eq!(v[0]["outcome"], "failed");
    assert_eq!(
        v[0]["stderr"],
        "Traceback (most recent call last):\n  boom\n"
    );
    assert_eq!(v[1]["stdout"], "moved AWSCURRENT to v-1\n");
    assert_eq!(v[1]["duration_ms"], 12);
}

#[test]
fn status_prints_every_column_of_the_table() {
    let fake = fresh();
    let run = rotation(&fake, &["status"]);
    ok(&run);
    let seen = fake.only();
    assert_eq!(seen.target, "TresorRotation.ListRotationStatus");
    assert_eq!(seen.service, "rotation");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    let columns = [
        "NAME",
        "STATE",
        "LAST RESULT",
        "LAST ROTATED",
        "NEXT ROTATION",
        "PENDING VERSION",
        "LAST ERROR",
    ];
    let mut at = 0;
    for column in columns {
        let found = lines[0][at..].find(column).map(|i| i + at);
        assert!(
            found.is_some(),
            "{column} missing or out of order: {}",
            lines[0]
        );
        at = found.unwrap() + column.len();
    }
    let cell = |line: &str, column: &str| -> String {
        let start = lines[0].find(column).unwrap();
        let rest = &line[start..];
        rest.split("  ").next().unwrap().trim().to_owned()
    };
    assert_eq!(cell(lines[1], "NAME"), "db");
    assert_eq!(cell(lines[1], "STATE"), "idle");
    assert_eq!(cell(lines[1], "LAST RESULT"), "succeeded");
    assert_eq!(cell(lines[1], "LAST ROTATED"), "2023-11-14T22:13:20Z");
    assert_eq!(cell(lines[1], "NEXT ROTATION"), "2023-12-14T22:13:20Z");
    assert_eq!(cell(lines[1], "PENDING VERSION"), "-");
    assert_eq!(cell(lines[1], "LAST ERROR"), "-");
    assert_eq!(cell(lines[2], "NAME"), "openai");
    assert_eq!(cell(lines[2], "STATE"), "retrying");
    assert_eq!(cell(lines[2], "LAST RESULT"), "failed");
    assert_eq!(
        cell(lines[2], "PENDING VERSION"),
        "c0ffee00-0000-4000-8000-000000000001"
    );
    assert!(
        lines[2].ends_with("testSecret: GET /v1/models answered 401"),
        "{}",
        lines[2]
    );

    let v = rotation(&fake, &["status", "--output", "json"]).json();
    assert_eq!(v[0]["arn"], secret_arn("db"));
    assert_eq!(v[0]["last_rotated_date"], "2023-11-14T22:13:20Z");
    assert_eq!(v[0]["rotation_enabled"], true);
    assert_eq!(v[1]["state"], "retrying");
    assert_eq!(v[1]["attempts"], 2);
    assert_eq!(
        v[1]["last_error"],
        "testSecret: GET /v1/models answered 401"
    );
}

#[test]
fn run_due_sends_as_of_in_epoch_seconds_and_prints_the_arns() {
    let fake = fresh();
    let run = rotation(&fake, &["run-due", "--as-of", "2030-01-01T00:00:00Z"]);
    ok(&run);
    let seen = fake.only();
    assert_eq!(seen.target, "TresorRotation.RunDueRotations");
    assert_eq!(seen.body, json!({"AsOf": 1_893_456_000.0}));
    assert_eq!(
        run.stdout,
        format!("{}\n{}\n", secret_arn("db"), secret_arn("openai"))
    );

    let fake = fresh();
    let run = rotation(&fake, &["run-due", "--output", "json"]);
    ok(&run);
    assert_eq!(fake.only().body, json!({}));
    assert_eq!(
        run.json(),
        json!({"arns": [secret_arn("db"), secret_arn("openai")]})
    );
}

/// A script in which both rotations run for `polls` answers, then end as `then` says.
fn script(polls: usize, then: Value) -> Script {
    let running = json!([
        status("db", "running", Some("succeeded"), None),
        status("openai", "running", None, None),
    ]);
    let mut statuses = vec![running; polls];
    statuses.push(then);
    Script {
        due: vec![secret_arn("db"), secret_arn("openai")],
        statuses,
    }
}

#[test]
fn run_due_wait_polls_until_the_rotations_end() {
    let done = json!([
        status("other", "running", None, None),
        status("db", "idle", Some("succeeded"), None),
        status("openai", "idle", Some("succeeded"), Some("an old error")),
    ]);
    let fake = FakeAdmin::rotation("us-east-1", script(3, done));
    let run = rotation(&fake, &["run-due", "--wait"]);
    ok(&run);
    let seen = fake.seen();
    assert_eq!(seen[0].target, "TresorRotation.RunDueRotations");
    let polls: Vec<_> = seen[1..].iter().collect();
    // Three answers with a rotation running, then one without: four looks, and no more
    // (a secret of the list that was not made due does not keep the wait going).
    assert_eq!(polls.len(), 4, "{seen:?}");
    for poll in &polls {
        assert_eq!(poll.target, "TresorRotation.ListRotationStatus");
    }
    for pair in polls.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(gap >= Duration::from_millis(180), "polled after {gap:?}");
        assert!(gap < Duration::from_millis(1500), "polled after {gap:?}");
    }
    let mut lines = run.stdout.lines();
    assert_eq!(lines.next(), Some(secret_arn("db").as_str()));
    assert_eq!(lines.next(), Some(secret_arn("openai").as_str()));
    let outcomes: Vec<Vec<&str>> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        outcomes,
        [
            vec!["SECRET", "OUTCOME", "LAST", "ERROR"],
            vec!["db", "succeeded", "-"],
            vec!["openai", "succeeded", "-"],
        ]
    );
}

#[test]
fn run_due_wait_exits_1_when_a_rotation_did_not_succeed() {
    let ended = json!([
        status("db", "idle", Some("succeeded"), None),
        status(
            "openai",
            "retrying",
            Some("failed"),
            Some("testSecret: GET /v1/models answered 401")
        ),
    ]);
    let fake = FakeAdmin::rotation("us-east-1", script(1, ended.clone()));
    let run = rotation(&fake, &["run-due", "--wait"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(fake.seen().len(), 3);
    assert!(
        run.stdout.lines().any(|l| l.starts_with("openai")
            && l.contains("retrying")
            && l.ends_with("testSecret: GET /v1/models answered 401")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("db") && l.contains("succeeded")),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stderr.trim(),
        "error: 1 of 2 rotations did not succeed: openai (retrying)"
    );

    // The same in JSON: the outcomes on stdout, the error on stderr, exit 1.
    let fake = FakeAdmin::rotation("us-east-1", script(1, ended));
    let run = rotation(&fake, &["run-due", "--wait", "--output", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["arns"], json!([secret_arn("db"), secret_arn("openai")]));
    assert_eq!(v["timed_out"], false);
    assert_eq!(v["outcomes"][0]["outcome"], "succeeded");
    assert_eq!(v["outcomes"][0]["succeeded"], true);
    assert_eq!(v["outcomes"][1]["arn"], secret_arn("openai"));
    assert_eq!(v["outcomes"][1]["outcome"], "retrying");
    assert_eq!(v["outcomes"][1]["succeeded"], false);
    assert_eq!(v["outcomes"][1]["status"]["last_result"], "failed");
    assert!(run.stderr.starts_with("error: 1 of 2"), "{}", run.stderr);

    // A rotation that gave up (idle, last result failed), one waiting for a person, and a
    // secret that left the list: none of them succeeded.
    let ended = json!([
        status(
            "db",
            "idle",
            Some("failed"),
            Some("finishSecret: exit status 2")
        ),
        status("openai", "waiting", None, None),
    ]);
    let fake = FakeAdmin::rotation(
        "us-east-1",
        Script {
            due: vec![secret_arn("db"), secret_arn("openai"), secret_arn("gone")],
            statuses: vec![ended],
        },
    );
    let run = rotation(&fake, &["run-due", "--wait"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr.trim(),
        format!(
            "error: 3 of 3 rotations did not succeed: db (failed), openai (waiting), {} (not listed)",
            secret_arn("gone")
        )
    );
    assert!(
        run.stdout.contains("finishSecret: exit status 2"),
        "{}",
        run.stdout
    );
}

#[test]
fn run_due_wait_gives_up_after_the_timeout() {
    let fake = FakeAdmin::rotation("us-east-1", script(1000, json!([])));
    let started = Instant::now();
    let run = rotation(&fake, &["run-due", "--wait", "--wait-timeout", "1"]);
    let took = started.elapsed();
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(
        run.stderr.trim(),
        "error: timed out after 1 s waiting for the rotation of db, openai"
    );
    assert!(took >= Duration::from_secs(1), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    let polls = fake.seen().len() - 1;
    assert!((4..=8).contains(&polls), "{polls} polls in a second");
    assert!(run
        .stdout
        .lines()
        .any(|l| l.starts_with("db") && l.contains("running")));
}

#[test]
fn run_due_wait_with_nothing_due_does_not_poll() {
    let fake = FakeAdmin::rotation(
        "us-east-1",
        Script {
            due: vec![],
            statuses: vec![],
        },
    );
    let run = rotation(&fake, &["run-due", "--wait"]);
    ok(&run);
    assert_eq!(fake.only().target, "TresorRotation.RunDueRotations");
    assert_eq!(run.stdout, "No rotation was due.\n");
}

#[test]
fn api_errors_exit_1_with_code_and_message() {
    let fake = fresh();
    for args in [
        &["get", "missing"][..],
        &["delete", "missing"],
        &["logs", "missing", "--output", "json"],
    ] {
        let run = rotator(&fake, args);
        assert_eq!(run.code, 1, "{args:?}");
        assert_eq!(
            run.stderr.trim(),
            "error: ResourceNotFoundException: missing does not exist"
        );
        assert!(run.stdout.is_empty(), "{}", run.stdout);
    }
    let run = rotator(
        &fake,
        &["create", "taken", "--role-arn", ROLE_ARN, "--command", "x"],
    );
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr.trim(),
        "error: ResourceExistsException: A rotator named taken already exists."
    );
}

#[test]
fn the_endpoint_flag_region_and_session_token_are_used_and_signatures_checked() {
    let fake = FakeAdmin::rotation("eu-west-1", Script::default());
    let endpoint = fake.endpoint();
    let run = tresor(
        &["rotation", "--endpoint", &endpoint, "status"],
        &[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
            ("AWS_SESSION_TOKEN", "session-token-xyz"),
            ("AWS_REGION", "eu-west-1"),
        ],
    );
    ok(&run);
    let seen = fake.only();
    assert_eq!(seen.region, "eu-west-1");
    assert_eq!(seen.service, "rotation");
    assert_eq!(seen.session_token.as_deref(), Some("session-token-xyz"));
    // What the fake accepts above, it refuses with the wrong secret.
    let run = tresor(
        &["rotator", "list", "--endpoint", &endpoint],
        &[
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", "not-the-secret"),
            ("AWS_REGION", "eu-west-1"),
        ],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with("error: InvalidSignatureException: "),
        "{}",
        run.stderr
    );
    let run = tresor(&["rotator", "list"], &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with("error: no endpoint"),
        "{}",
        run.stderr
    );
    assert_eq!(fake.seen().len(), 1);
}

#[test]
fn help_lists_the_commands_and_their_flags() {
    let run = tresor(&["--help"], &[]);
    ok(&run);
    for command in ["gateway", "rotator", "rotation"] {
        assert!(
            run.stdout
                .lines()
                .any(|l| l.trim_start().starts_with(command)),
            "{command}: {}",
            run.stdout
        );
    }
    let run = tresor(&["rotator", "--help"], &[]);
    ok(&run);
    for command in ["create", "list", "delete", "logs"] {
        assert!(
            run.stdout
                .lines()
                .any(|l| l.trim_start().starts_with(command)),
            "{command}: {}",
            run.stdout
        );
    }
    let run = tresor(&["rotation", "--help"], &[]);
    ok(&run);
    assert!(run.stdout.contains("status") && run.stdout.contains("run-due"));
    let run = tresor(&["rotator", "create", "--help"], &[]);
    ok(&run);
    for flag in [
        "--role-arn",
        "--command",
        "--working-directory",
        "--url",
        "--pass-credentials",
        "--type",
        "--admin-secret-id",
        "--project-id",
        "--provider",
        "--base-url",
        "--grace-period-seconds",
        "--step-timeout-seconds",
        "--description",
        "--output",
        "--endpoint",
    ] {
        assert!(run.stdout.contains(flag), "{flag}: {}", run.stdout);
    }
    let run = tresor(&["rotation", "run-due", "--help"], &[]);
    ok(&run);
    for flag in ["--as-of", "--wait", "--wait-timeout", "[default: 300]"] {
        assert!(run.stdout.contains(flag), "{flag}: {}", run.stdout);
    }
}
