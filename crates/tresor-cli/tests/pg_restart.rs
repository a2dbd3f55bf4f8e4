//! A real PostgreSQL server stops and starts under a Tresor node: crashed (`pg_ctl stop -m
//! immediate`, recovery from WAL on the next start) and restarted cleanly (`-m fast`).
//!
//! The server is the test's own (`common::pg_server`: `initdb` in a temp dir, `pg_ctl` on a free
//! port), so stopping it disturbs no other test. While it is down, `/health` answers 503 and
//! requests answer `InternalServiceError` (500), on the loaded node and on an idle second one;
//! after it is back both serve again by themselves, without being restarted; every acknowledged
//! write survived the crash, nothing is half-written, and the audit trail both faults
//! interrupted still verifies as one chain.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use common::faults;
use common::pg_server::{OwnPostgres, StopMode};
use common::{http_get, sdk_client, ServerOptions};

const PASSPHRASE: &str = "restart passphrase";

#[test]
fn postgres_crash_and_restart_fail_cleanly_and_the_node_recovers_by_itself() {
    let Some(pg) = OwnPostgres::start() else {
        return;
    };
    let url = pg.url("postgres");
    let creds = common::pg::init_store(&url, PASSPHRASE);
    // Two nodes: the load goes through the first, the second only watches.
    let mut node = ServerOptions::postgres(&url, PASSPHRASE).start();
    let mut other = ServerOptions::postgres(&url, PASSPHRASE).start();
    let addr = node.addr;
    let client = sdk_client(&node.url, &creds);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    let mut down_checks = Vec::new();
    let report = faults::under_load(&rt, &client, addr, || {
        std::thread::sleep(Duration::from_millis(300));
        for mode in [StopMode::Immediate, StopMode::Fast] {
            pg.stop(mode);
            // Down: the health check takes the node out of rotation, and a request fails cleanly.
            let started = Instant::now();
            let (status, body) = http_get(addr, "/health");
            assert_eq!(status, 503, "/health while PostgreSQL is down: {body}");
            let (status, body) = http_get(other.addr, "/health");
            assert_eq!(status, 503, "the other node's /health while down: {body}");
            let err = rt
                .block_on(client.list_secrets().send())
                .expect_err("a request while PostgreSQL is down");
            assert_eq!(err.code(), Some("InternalServiceError"), "{err:?}");
            down_checks.push((mode, started.elapsed()));
            std::thread::sleep(Duration::from_millis(500));
            pg.start_again();
            std::thread::sleep(Duration::from_millis(300));
        }
        Instant::now()
    });
    eprintln!("restart: down-time checks {down_checks:?}; {report:?}");
    assert!(
        report.acked > 0,
        "no write was acknowledged during the load"
    );
    assert!(report.failures > 0, "the load never saw PostgreSQL down");
    // The other node is back too, by itself, and sees what the first one wrote.
    let (status, body) = http_get(other.addr, "/health");
    assert_eq!(
        status, 200,
        "the other node's /health after the restarts: {body}"
    );
    let listed = rt
        .block_on(sdk_client(&other.url, &creds).list_secrets().send())
        .expect("list through the other node after the restarts");
    assert_eq!(listed.secret_list().len(), 1);
    drop(rt);

    // The trail both faults interrupted is still one chain, signed to its end.
    for n in [&mut node, &mut other] {
        let status = n.stop();
        assert!(status.success(), "node exit after SIGTERM: {status}");
    }
    common::pg::verify_trail(&url, PASSPHRASE);
}
