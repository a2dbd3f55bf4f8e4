//! What an operator sees: `GET /metrics` counts requests by operation and outcome with their
//! latency and the audit writer's work, and the log has one `request` span per request with
//! its operation, principal, outcome and latency. Neither ever holds a secret's name or value.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read as _, Write as _};

use aws_sdk_secretsmanager::error::ProvideErrorMetadata as _;
use common::{http_get, sdk_client, unique, Creds, ServerOptions};

/// The value of the sample `line` (a full `name{labels}` key) in a Prometheus text body.
fn sample(text: &str, key: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_request_spans_say_what_happened_without_values() {
    let server = ServerOptions::dev()
        .env("TRESOR_LOG", "info,tresor::request=debug")
        .start();
    let client = server.client();
    let name = unique("observed/name");
    let value = format!("sk-observed-{}", uuid::Uuid::new_v4().simple());
    client
        .create_secret()
        .name(&name)
        .secret_string(&value)
        .send()
        .await
        .unwrap();
    for _ in 0..2 {
        let got = client
            .get_secret_value()
            .secret_id(&name)
            .send()
            .await
            .unwrap();
        assert_eq!(got.secret_string(), Some(value.as_str()));
    }
    let missing = client
        .describe_secret()
        .secret_id(unique("observed/missing"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some("ResourceNotFoundException"));
    let stranger = sdk_client(&server.url, &Creds::random());
    let refused = stranger
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("UnrecognizedClientException"));

    // Answered before any operation: counted by reason.
    let (status, _) = http_get(server.addr, "/nowhere");
    assert_eq!(status, 404);
    let mut raw = std::net::TcpStream::connect(server.addr).unwrap();
    write!(
        raw,
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    let _ = raw.read_to_end(&mut answer);
    assert!(
        answer.starts_with(b"HTTP/1.1 413"),
        "{}",
        String::from_utf8_lossy(&answer)
    );

    let (status, text) = http_get(server.addr, "/metrics");
    assert_eq!(status, 200, "{text}");
    let refused = |reason: &str| {
        sample(
            &text,
            &format!("tresor_requests_refused_total{{reason=\"{reason}\"}}"),
        )
    };
    assert_eq!(refused("unknown_path"), Some(1.0), "{text}");
    assert_eq!(refused("body_too_large"), Some(1.0), "{text}");
    assert_eq!(refused("panic"), Some(0.0), "{text}");
    let requests = |op: &str, outcome: &str| {
        sample(
            &text,
            &format!(
                "tresor_requests_total{{service=\"secretsmanager\",operation=\"{op}\",outcome=\"{outcome}\"}}"
            ),
        )
    };
    assert_eq!(requests("CreateSecret", "ok"), Some(1.0), "{text}");
    assert_eq!(requests("GetSecretValue", "ok"), Some(2.0), "{text}");
    assert_eq!(
        requests("DescribeSecret", "ResourceNotFoundException"),
        Some(1.0)
    );
    // Refused before authentication, and still counted under the operation it named.
    assert_eq!(
        requests("GetSecretValue", "UnrecognizedClientException"),
        Some(1.0)
    );
    let latency = |suffix: &str| {
        sample(
            &text,
            &format!(
                "tresor_request_duration_seconds_{suffix}{{service=\"secretsmanager\",operation=\"GetSecretValue\"}}"
            ),
        )
    };
    assert_eq!(latency("count"), Some(3.0), "{text}");
    assert!(latency("sum").unwrap() > 0.0);
    assert!(
        sample(&text, "tresor_audit_records_total").unwrap() >= 5.0,
        "{text}"
    );
    assert!(sample(&text, "tresor_audit_group_commit_seconds_count").unwrap() >= 1.0);
    assert!(sample(&text, "tresor_audit_queue_depth").is_some());
    assert_eq!(
        sample(&text, "tresor_audit_commit_failures_total"),
        Some(0.0)
    );
    assert_eq!(sample(&text, "tresor_store_errors_total"), Some(0.0));
    assert!(!text.contains(&value) && !text.contains(&name), "{text}");

    // The log: one span per request, filled in as the request goes; the value never.
    let log = String::from_utf8_lossy(&server.stderr()).into_owned();
    let line = |op: &str, outcome: &str| {
        log.lines().find(|l| {
            l.contains("request{")
                && l.contains(&format!("operation={op} "))
                && l.contains(&format!("outcome={outcome} "))
        })
    };
    let ok = line("GetSecretValue", "ok").unwrap_or_else(|| panic!("{log}"));
    assert!(
        ok.contains("principal=arn:aws:iam::000000000000:root ") && ok.contains("latency_us="),
        "{ok}"
    );
    let failed =
        line("DescribeSecret", "ResourceNotFoundException").unwrap_or_else(|| panic!("{log}"));
    assert!(failed.contains(" INFO "), "{failed}");
    assert!(
        line("GetSecretValue", "UnrecognizedClientException").is_some(),
        "{log}"
    );
    assert!(!log.contains(&value), "the log holds a secret value");
}

/// At the default level requests are not traced (the span costs CPU on every request), but a
/// failure is still logged, with the span's fields; and `/metrics` can be turned off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_failures_are_logged_and_metrics_can_be_turned_off() {
    let server = ServerOptions::dev().arg("--no-metrics").start();
    let client = server.client();
    let name = unique("quiet/name");
    client
        .create_secret()
        .name(&name)
        .secret_string("sk-quiet-value")
        .send()
        .await
        .unwrap();
    let missing = client
        .get_secret_value()
        .secret_id(unique("quiet/missing"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some("ResourceNotFoundException"));
    let log = String::from_utf8_lossy(&server.stderr()).into_owned();
    let failed = log
        .lines()
        .find(|l| l.contains(" failed ") && l.contains("operation=\"GetSecretValue\""))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(
        failed.contains(" INFO ")
            && failed.contains("outcome=\"ResourceNotFoundException\"")
            && failed.contains("principal=\"arn:aws:iam::000000000000:root\"")
            && failed.contains("request_id="),
        "{failed}"
    );
    assert!(
        !log.contains("request{"),
        "requests are traced at the default level: {log}"
    );
    assert!(!log.contains("operation=\"CreateSecret\""), "{log}");

    let (status, body) = http_get(server.addr, "/metrics");
    assert_eq!(status, 404, "{body}");
    assert!(!body.contains("tresor_requests_total"));
    let (status, _) = http_get(server.addr, "/health");
    assert_eq!(status, 200);
}
