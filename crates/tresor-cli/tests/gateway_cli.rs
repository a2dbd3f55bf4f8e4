//! `tresor gateway …` against a fake admin API (`fake_admin`): the requests are SigV4-signed
//! for the service `gateway` (checked with `tresor-sigv4`, not the CLI's signer) and shaped
//! as the contract says; text and JSON outputs; usage errors exit 2 before any call; API and
//! connection errors exit 1 with `error: …`; neither secret leaks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fake_admin;

use std::sync::Arc;

use fake_admin::gateway::PLANTED_KEY;
use fake_admin::{tresor, FakeAdmin, Run, ACCESS_KEY_ID, SECRET_ACCESS_KEY};
use serde_json::{json, Value};

/// `tresor gateway ARGS` with the usual AWS environment pointing at `fake`.
fn gateway(fake: &FakeAdmin, args: &[&str]) -> Run {
    let endpoint = fake.endpoint();
    let mut all = vec!["gateway"];
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

fn ok(run: &Run) {
    assert_eq!(
        run.code, 0,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
}

#[test]
fn route_create_sends_a_signed_request_shaped_as_the_contract() {
    let fake = FakeAdmin::start("us-east-1");
    let run = gateway(
        &fake,
        &[
            "route",
            "create",
            "vllm",
            "--provider",
            "openai",
            "--secret-id",
            "ai/vllm",
            "--base-url",
            "http://10.0.0.5:8000/v1",
            "--allow-http",
            "--description",
            "local",
        ],
    );
    ok(&run);
    let seen = fake.only();
    assert_eq!(seen.target, "TresorGateway.CreateRoute");
    assert_eq!(seen.service, "gateway");
    assert_eq!(seen.region, "us-east-1");
    assert_eq!(seen.content_type, "application/x-amz-json-1.1");
    for header in ["host", "x-amz-date", "x-amz-target", "content-type"] {
        assert!(
            seen.signed_headers.iter().any(|h| h == header),
            "{header} unsigned"
        );
    }
    assert_eq!(
        seen.body,
        json!({"Name": "vllm", "Provider": "openai", "SecretId": "ai/vllm",
               "BaseUrl": "http://10.0.0.5:8000/v1", "AllowHttp": true, "Description": "local"})
    );
    assert!(run.stdout.contains("name:"), "{}", run.stdout);
    assert!(run
        .stdout
        .contains("arn:aws:gateway:us-east-1:000000000000:route/vllm"));
    assert!(
        run.stdout.contains("2023-11-14T22:13:20Z"),
        "{}",
        run.stdout
    );
}

#[test]
fn options_not_given_are_not_sent() {
    let fake = FakeAdmin::start("us-east-1");
    ok(&gateway(
        &fake,
        &[
            "route",
            "create",
            "openai",
            "--provider",
            "anthropic",
            "--secret-id",
            "s",
        ],
    ));
    assert_eq!(
        fake.only().body,
        json!({"Name": "openai", "Provider": "anthropic", "SecretId": "s"})
    );
}

#[test]
fn route_json_output_is_snake_case_field_by_field() {
    let fake = FakeAdmin::start("us-east-1");
    let run = gateway(&fake, &["route", "get", "openai", "--output", "json"]);
    ok(&run);
    let v = run.json();
    assert_eq!(v["name"], "openai");
    assert_eq!(v["secret_id"], "ai/openai/prod");
    assert_eq!(v["base_url"], "https://api.openai.com/v1");
    assert_eq!(v["allow_http"], false);
    assert_eq!(v["has_ca_certificate"], false);
    assert_eq!(v["created_date"], "2023-11-14T22:13:20Z");
    assert!(
        v.get("Name").is_none() && v.get("SecretId").is_none(),
        "{v}"
    );
    // `--output` may also come right after `gateway`.
    let run = gateway(&fake, &["--output", "json", "route", "list"]);
    ok(&run);
    let list = run.json();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["openai", "vllm"]);
}

#[test]
fn route_update_sends_only_the_changes_and_the_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let ca = rcgen::generate_simple_self_signed(vec!["upstream".to_owned()]).unwrap();
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, ca.cert.pem()).unwrap();
    let fake = FakeAdmin::start("us-east-1");
    ok(&gateway(
        &fake,
        &[
            "route",
            "update",
            "vllm",
            "--allow-http=false",
            "--ca-file",
            ca_path.to_str().unwrap(),
        ],
    ));
    let body = fake.only().body;
    assert_eq!(body["Name"], "vllm");
    assert_eq!(body["AllowHttp"], false);
    assert_eq!(body["CaCertificatePem"], ca.cert.pem());
    assert!(
        body.get("SecretId").is_none() && body.get("BaseUrl").is_none(),
        "{body}"
    );
}

#[test]
fn a_ca_file_without_a_certificate_is_refused_before_any_call() {
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("ca.txt");
    std::fs::write(&not_pem, "just text\n").unwrap();
    let fake = FakeAdmin::start("us-east-1");
    let run = gateway(
        &fake,
        &[
            "route",
            "update",
            "r",
            "--ca-file",
            not_pem.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("error: --ca-file") && run.stderr.contains("no PEM certificate"),
        "{}",
        run.stderr
    );
    let run = gateway(
        &fake,
        &["route", "update", "r", "--ca-file", "/nonexistent/ca.pem"],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("cannot read --ca-file"),
        "{}",
        run.stderr
    );
    assert!(fake.seen().is_empty());
}

#[test]
fn key_create_prints_the_key_once_with_a_warning() {
    let fake = FakeAdmin::start("us-east-1");
    let run = gateway(
        &fake,
        &[
            "key",
            "create",
            "--user",
            "chat-service",
            "--routes",
            "openai",
            "--models",
            "gpt-4o-mini,gpt-4.1*",
            "--budget-usd",
            "50",
            "--budget-period",
            "month",
            "--rpm",
            "600",
            "--tpm",
            "200000",
            "--expires-in",
            "90d",
        ],
    );
    ok(&run);
    assert_eq!(
        fake.only().body,
        json!({"UserName": "chat-service", "Routes": ["openai"],
               "Models": ["gpt-4o-mini", "gpt-4.1*"], "BudgetUsd": 50.0, "BudgetPeriod": "month",
               "Rpm": 600, "Tpm": 200000, "ExpiresInSeconds": 7_776_000})
    );
    assert_eq!(run.stdout.matches(PLANTED_KEY).count(), 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("shown only this once"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("gk-0001"));
    assert!(run.stdout.contains("50.00 USD per month"), "{}", run.stdout);
    assert!(!run.stderr.contains(PLANTED_KEY));
}

#[test]
fn key_create_json_has_the_key_its_id_and_the_snake_case_fields() {
    let fake = FakeAdmin::start("us-east-1");
    let run = gateway(
        &fake,
        &[
            "key",
            "create",
            "--role",
            "batch",
            "--routes",
            "openai,anthropic",
            "--expires-in",
            "3600",
            "--output",
            "json",
        ],
    );
    ok(&run);
    let body = fake.only().body;
    assert_eq!(
        body,
        json!({"RoleName": "batch", "Routes": ["openai", "anthropic"],
                            "ExpiresInSeconds": 3600})
    );
    let v = run.json();
    assert_eq!(v["key"], PLANTED_KEY);
    assert_eq!(v["key_id"], "gk-0001");
    assert_eq!(
        v["principal"],
        json!({"type": "User", "name": "chat-service",
                                      "arn": "arn:aws:iam::000000000000:user/chat-service"})
    );
    assert_eq!(v["budget_usd"], 50.0);
    assert_eq!(v["budget_period"], "month");
    assert_eq!(v["rpm"], 600);
    assert_eq!(v["models"], json!(["gpt-4o-mini", "gpt-4.1*"]));
    assert_eq!(v["status"], "Active");
    assert!(
        v.get("KeyId").is_none() && v.get("GatewayKey").is_none(),
        "{v}"
    );
}

#[test]
fn only_key_create_shows_a_gateway_key() {
    let fake = FakeAdmin::start("us-east-1");
    for args in [
        &["key", "get", "gk-0001"][..],
        &["key", "list"],
        &["key", "list", "--output", "json"],
        &["key", "usage", "gk-0001", "--output", "json"],
    ] {
        let run = gateway(&fake, args);
        ok(&run);
        assert!(!run.stdout.contains("tgk_"), "{args:?}: {}", run.stdout);
    }
}

#[test]
fn key_list_filters_and_prints_a_table() {
    let fake = FakeAdmin::start("us-east-1");
    let run = gateway(&fake, &["key", "list", "--role", "batch"]);
    ok(&run);
    assert_eq!(fake.only().body, json!({"RoleName": "batch"}));
    let mut lines = run.stdout.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("KEY_ID") && header.contains("STATUS"),
        "{header}"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2, "{}", run.stdout);
    assert!(
        rows[0].starts_with("gk-0001") && rows[1].contains("Inactive"),
        "{}",
        run.stdout
    );
}

#[test]
fn disable_and_enable_set_the_status_through_update_key() {
    let fake = FakeAdmin::start("us-east-1");
    let run = gateway(&fake, &["key", "disable", "gk-7", "--output", "json"]);
    ok(&run);
    assert_eq!(run.json()["status"], "Inactive");
    ok(&gateway(&fake, &["key", "enable", "gk-7"]));
    let seen = fake.seen();
    assert_eq!(seen[0].target, "TresorGateway.UpdateKey");
    assert_eq!(seen[0].body, json!({"KeyId": "gk-7", "Status": "Inactive"}));
    assert_eq!(seen[1].body, json!({"KeyId": "gk-7", "Status": "Active"}));
}

#[test]
fn key_update_and_delete() {
    let fake = FakeAdmin::start("us-east-1");
    ok(&gateway(
        &fake,
        &[
            "key",
            "update",
            "gk-7",
            "--budget-usd",
            "12.5",
            "--models",
            "gpt-4o",
        ],
    ));
    let run = gateway(&fake, &["key", "delete", "gk-7"]);
    ok(&run);
    assert!(
        run.stdout.contains("Deleted gateway key gk-7"),
        "{}",
        run.stdout
    );
    let seen = fake.seen();
    assert_eq!(
        seen[0].body,
        json!({"KeyId": "gk-7", "BudgetUsd": 12.5, "Models": ["gpt-4o"]})
    );
    assert_eq!(seen[1].target, "TresorGateway.DeleteKey");
    assert_eq!(seen[1].body, json!({"KeyId": "gk-7"}));
}

#[test]
fn key_usage_in_text_and_json() {
    let fake = FakeAdmin::start("us-east-1");
    let run = gateway(&fake, &["key", "usage", "gk-0001"]);
    ok(&run);
    for expected in [
        "requests:",
        "42",
        "1200",
        "3400",
        "0.0123",
        "0.50",
        "50.00",
        "month",
    ] {
        assert!(run.stdout.contains(expected), "{expected}: {}", run.stdout);
    }
    let v = gateway(&fake, &["key", "usage", "gk-0001", "--output", "json"]).json();
    assert_eq!(v["requests"], 42);
    assert_eq!(v["input_tokens"], 1200);
    assert_eq!(v["spent_usd"], 0.0123);
    assert_eq!(v["held_usd"], 0.5);
    assert_eq!(v["budget_usd"], 50.0);
    assert_eq!(v["period_start"], "2023-11-01T00:00:00Z");
}

#[test]
fn prices_set_list_and_delete() {
    let fake = FakeAdmin::start("us-east-1");
    let run = gateway(
        &fake,
        &[
            "price",
            "set",
            "my-model",
            "--input-usd",
            "1",
            "--output-usd",
            "2.5",
            "--cached-input-usd",
            "0.1",
        ],
    );
    ok(&run);
    assert_eq!(
        fake.only().body,
        json!({"Model": "my-model", "InputPerMillionUsd": 1.0, "OutputPerMillionUsd": 2.5,
               "CachedInputPerMillionUsd": 0.1})
    );
    let run = gateway(&fake, &["price", "list"]);
    ok(&run);
    assert!(run.stdout.starts_with("MODEL"), "{}", run.stdout);
    assert!(run.stdout.contains("gpt-4o-mini") && run.stdout.contains("override"));
    let v = gateway(&fake, &["price", "list", "--output", "json"]).json();
    assert_eq!(v[0]["input_per_million_usd"], 0.15);
    assert_eq!(v[0]["source"], "default");
    assert_eq!(v[1]["cached_input_per_million_usd"], Value::Null);
    let run = gateway(
        &fake,
        &[
            "price",
            "set",
            "m2",
            "--input-usd",
            "0.5",
            "--output-usd",
            "4",
            "--output",
            "json",
        ],
    );
    ok(&run);
    let v = run.json();
    assert_eq!(v["model"], "m2");
    assert_eq!(v["output_per_million_usd"], 4.0);
    assert_eq!(v["cached_input_per_million_usd"], Value::Null);
    ok(&gateway(&fake, &["price", "delete", "my-model"]));
    assert_eq!(
        fake.seen().last().unwrap().body,
        json!({"Model": "my-model"})
    );
}

#[test]
fn api_errors_exit_1_with_code_and_message() {
    let fake = FakeAdmin::start("us-east-1");
    let run = gateway(&fake, &["route", "get", "missing"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr.trim(),
        "error: ResourceNotFoundException: missing does not exist"
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    let run = gateway(&fake, &["key", "usage", "gk-missing", "--output", "json"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with("error: ResourceNotFoundException: "),
        "{}",
        run.stderr
    );
}

#[test]
fn usage_errors_exit_2_before_any_call() {
    let fake = FakeAdmin::start("us-east-1");
    for (args, expected) in [
        (
            &[
                "key", "create", "--user", "u", "--role", "r", "--routes", "a",
            ][..],
            "cannot be used",
        ),
        (&["key", "create", "--routes", "a"], "--user"),
        (&["key", "create", "--user", "u"], "--routes"),
        (
            &[
                "key",
                "create",
                "--user",
                "u",
                "--routes",
                "a",
                "--expires-in",
                "10w",
            ],
            "90d",
        ),
        (
            &[
                "key",
                "create",
                "--user",
                "u",
                "--routes",
                "a",
                "--expires-in",
                "0",
            ],
            "zero",
        ),
        (
            &["key", "create", "--user", "u", "--routes", "a,,b"],
            "empty name",
        ),
        (
            &[
                "key",
                "create",
                "--user",
                "u",
                "--routes",
                "a",
                "--budget-usd",
                "-5",
            ],
            "USD",
        ),
        (
            &[
                "key", "create", "--user", "u", "--routes", "a", "--rpm", "0",
            ],
            "--rpm",
        ),
        (
            &[
                "key",
                "create",
                "--user",
                "u",
                "--routes",
                "a",
                "--budget-period",
                "year",
            ],
            "year",
        ),
        (&["key", "update", "gk-1"], "required"),
        (
            &["key", "list", "--user", "u", "--role", "r"],
            "cannot be used",
        ),
        (
            &[
                "route",
                "create",
                "r",
                "--provider",
                "azure",
                "--secret-id",
                "s",
            ],
            "azure",
        ),
        (&["route", "update", "r"], "required"),
        (&["route", "get", "r", "--output", "yaml"], "yaml"),
        (&["price", "set", "m", "--input-usd", "1"], "--output-usd"),
        (
            &[
                "price",
                "set",
                "m",
                "--input-usd",
                "1",
                "--output-usd",
                "json",
            ],
            "USD",
        ),
        (
            &[
                "price",
                "set",
                "m",
                "--input-usd",
                "-1",
                "--output-usd",
                "1",
            ],
            "USD",
        ),
    ] {
        let run = gateway(&fake, args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
    }
    assert!(fake.seen().is_empty(), "{:?}", fake.seen());
}

#[test]
fn a_missing_endpoint_or_credentials_is_a_clear_error() {
    let run = tresor(
        &["gateway", "route", "list"],
        &[
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
        ],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with("error: no endpoint") && run.stderr.contains("AWS_ENDPOINT_URL"),
        "{}",
        run.stderr
    );
    let run = tresor(
        &[
            "gateway",
            "route",
            "list",
            "--endpoint",
            "http://127.0.0.1:9",
        ],
        &[],
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("AWS_ACCESS_KEY_ID"), "{}", run.stderr);
}

#[test]
fn the_endpoint_flag_the_region_and_the_session_token_are_used() {
    let fake = FakeAdmin::start("eu-west-1");
    let endpoint = fake.endpoint();
    let run = tresor(
        &["gateway", "--endpoint", &endpoint, "route", "list"],
        &[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
            ("AWS_SESSION_TOKEN", "session-token-xyz"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
        ],
    );
    ok(&run);
    let seen = fake.only();
    assert_eq!(seen.region, "eu-west-1");
    assert_eq!(seen.session_token.as_deref(), Some("session-token-xyz"));
    assert!(seen
        .signed_headers
        .iter()
        .any(|h| h == "x-amz-security-token"));
}

#[test]
fn a_wrong_secret_or_region_fails_the_signature_check() {
    // The fake's check is real: what it accepts above, it refuses here.
    let fake = FakeAdmin::start("us-east-1");
    let endpoint = fake.endpoint();
    let run = tresor(
        &["gateway", "route", "list"],
        &[
            ("AWS_ENDPOINT_URL", &endpoint),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", "not-the-secret"),
        ],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with("error: InvalidSignatureException: "),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("not-the-secret"), "{}", run.stderr);
    let run = tresor(
        &["gateway", "route", "list"],
        &[
            ("AWS_ENDPOINT_URL", &endpoint),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
            ("AWS_REGION", "ap-south-1"),
        ],
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    assert!(fake.seen().is_empty());
}

#[test]
fn an_unreachable_endpoint_is_an_error_naming_it() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let run = tresor(
        &["gateway", "price", "list"],
        &[
            ("AWS_ENDPOINT_URL", &endpoint),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
        ],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .starts_with(&format!("error: cannot call {endpoint}")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.to_lowercase().contains("refused"),
        "{}",
        run.stderr
    );
}

#[test]
fn https_with_aws_ca_bundle_and_not_without() {
    let dir = tempfile::tempdir().unwrap();
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let bundle = dir.path().join("bundle.pem");
    std::fs::write(&bundle, cert.pem()).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::try_from(signing_key.serialize_der()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .unwrap();
    let fake = FakeAdmin::start_with("us-east-1", Some(Arc::new(config)));
    let endpoint = format!("https://localhost:{}", fake.addr.port());
    let bundle = bundle.to_str().unwrap();
    let mut env = vec![
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
    ];
    let run = tresor(&["gateway", "route", "list"], &env);
    assert_eq!(run.code, 1, "an untrusted certificate was accepted");
    assert!(
        run.stderr.starts_with("error: cannot call https://"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("certificate"), "{}", run.stderr);
    env.push(("AWS_CA_BUNDLE", bundle));
    let run = tresor(&["gateway", "route", "list"], &env);
    ok(&run);
    assert_eq!(fake.only().target, "TresorGateway.ListRoutes");
}
