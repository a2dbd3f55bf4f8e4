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

use std::time::Instant;

use common::pg::TestDb;
use common::{iam_client, sdk_client, Server, ServerOptions};

const PASSPHRASE: &str = "gateway multi node passphrase";
const CALLS: usize = 32;

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
            .policy_document(common::gateway::ALLOW_INVOKE)
            .send()
            .await
            .unwrap();
    });
    let node0 = &nodes[0].url;
    common::gateway::cli(
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
    common::gateway::cli(
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
    let key = common::gateway::cli(
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
                s.spawn(move || common::gateway::chat(addr, token))
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
        let usage = common::gateway::cli(&node.url, &creds, &["key", "usage", &key_id]);
        assert_eq!(usage["requests"], 2, "{usage}");
        assert_eq!(usage["spent_usd"], 10.0, "{usage}");
        assert_eq!(usage["held_usd"], 0.0, "{usage}");
    }
    // A third call now needs $5 more than the $2 left, through either node.
    assert_eq!(common::gateway::chat(nodes[1].addr, &token).0, 429);
    drop(nodes);
    drop(db);
}
