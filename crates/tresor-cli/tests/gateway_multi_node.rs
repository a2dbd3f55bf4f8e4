//! Two `tresor server` nodes on one PostgreSQL database share one gateway budget: calls
//! through either node are admitted against the same `spent + held ≤ cap`, reserved
//! atomically in the database, so concurrent calls through both nodes cannot overspend.
//!
//! The provider is the Rust mock (`tresor_gateway::mock`), which reports 5 output tokens per
//! call. The model's price is set so that a call with `max_tokens: 5` reserves exactly $5 and
//! costs exactly $5; the key's budget is $12, so across both nodes exactly two calls may run,
//! whatever their interleaving, and every other call is refused with 429 and
//! `x-should-retry: false`. Setup goes through the real tools: the AWS SDKs (secret, user,
//! policy) and the `tresor gateway` CLI (route, price, key).
//!
//! PostgreSQL policy as in `multi_node.rs`: skipped without a reachable server unless
//! `CI=true` or `TRESOR_REQUIRE_POSTGRES=1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::pg::TestDb;
use common::{iam_client, sdk_client, Creds, Server, ServerOptions};

const PASSPHRASE: &str = "gateway multi node passphrase";
const CALLS: usize = 32;

/// `tresor gateway <args> --output json` against `endpoint` as `creds`.
fn gateway_cli(endpoint: &str, creds: &Creds, args: &[&str]) -> serde_json::Value {
    let mut cmd = common::tresor_command();
    cmd.arg("gateway")
        .args(args)
        .args(["--output", "json"])
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", &creds.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &creds.secret_access_key)
        .env("AWS_REGION", "us-east-1");
    let out = common::run_with_timeout(cmd, Duration::from_secs(30));
    assert!(
        out.status.success(),
        "tresor gateway {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

/// One chat completion through a node's gateway: the status and whether the answer said
/// not to retry.
fn chat(addr: SocketAddr, key: &str) -> (u16, bool) {
    let body =
        r#"{"model":"gpt-4o-mini","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#;
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        stream,
        "POST /gateway/openai/v1/chat/completions HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    let (status, _) = common::parse_http_response(&raw);
    (status, text.contains("\r\nx-should-retry: false\r\n"))
}

#[test]
fn two_nodes_share_one_budget_under_concurrent_calls() {
    let Some(db) = TestDb::create("tresor_gw") else {
        return;
    };
    let creds = common::pg::init_store(&db.url, PASSPHRASE);
    let nodes: Vec<Server> = (0..2)
        .map(|_| ServerOptions::postgres(&db.url, PASSPHRASE).start())
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mock = rt
        .block_on(tresor_gateway::mock::MockUpstream::start(true))
        .unwrap();
    let upstream = format!("http://{}/v1", mock.addr);

    rt.block_on(async {
        let sm = sdk_client(&nodes[0].url, &creds);
        sm.create_secret()
            .name("ai/openai")
            .secret_string("sk-mock-multi-node")
            .send()
            .await
            .unwrap();
        let iam = iam_client(&nodes[0].url, &creds);
        iam.create_user().user_name("chat").send().await.unwrap();
        iam.put_user_policy()
            .user_name("chat")
            .policy_name("invoke")
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"gateway:Invoke","Resource":"arn:aws:gateway:*:*:route/openai"}]}"#,
            )
            .send()
            .await
            .unwrap();
    });
    let node0 = &nodes[0].url;
    gateway_cli(
        node0,
        &creds,
        &[
            "route",
            "create",
            "openai",
            "--provider",
            "openai",
            "--secret-id",
            "ai/openai",
            "--base-url",
            &upstream,
        ],
    );
    // $1 per output token, nothing for input: a call with max_tokens 5 holds $5 and the
    // mock's 5 output tokens cost $5.
    gateway_cli(
        node0,
        &creds,
        &[
            "price",
            "set",
            "gpt-4o-mini",
            "--input-usd",
            "0",
            "--output-usd",
            "1000000",
        ],
    );
    let key = gateway_cli(
        node0,
        &creds,
        &[
            "key",
            "create",
            "--user",
            "chat",
            "--routes",
            "openai",
            "--budget-usd",
            "12",
            "--budget-period",
            "total",
        ],
    );
    let token = key["key"].as_str().unwrap().to_owned();
    let key_id = key["key_id"].as_str().unwrap().to_owned();

    let started = Instant::now();
    let outcomes: Vec<(u16, bool)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..CALLS)
            .map(|i| {
                let addr = nodes[i % 2].addr;
                let token = token.as_str();
                s.spawn(move || chat(addr, token))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let admitted = outcomes.iter().filter(|(s, _)| *s == 200).count();
    let refused: Vec<_> = outcomes.iter().filter(|(s, _)| *s != 200).collect();
    eprintln!(
        "{CALLS} calls over two nodes in {:?}: {admitted} admitted",
        started.elapsed()
    );
    assert_eq!(
        admitted, 2,
        "a $12 budget holds exactly two $5 calls: {outcomes:?}"
    );
    for (status, no_retry) in &refused {
        assert_eq!(*status, 429, "{outcomes:?}");
        assert!(no_retry, "a budget refusal must say x-should-retry: false");
    }
    // The upstream saw only the admitted calls, each with the provider key.
    let received = mock.received();
    assert_eq!(received.len(), 2);
    assert!(received
        .iter()
        .all(|r| r.credential.as_deref() == Some("Bearer sk-mock-multi-node")));
    // Both nodes read the same ledger: $10 spent, nothing held.
    for node in &nodes {
        let usage = gateway_cli(&node.url, &creds, &["key", "usage", &key_id]);
        assert_eq!(usage["requests"], 2, "{usage}");
        assert_eq!(usage["spent_usd"], 10.0, "{usage}");
        assert_eq!(usage["held_usd"], 0.0, "{usage}");
    }
    // A third call now needs $5 more than the $2 left, through either node.
    assert_eq!(chat(nodes[1].addr, &token).0, 429);
    drop(nodes);
    drop(db);
}
