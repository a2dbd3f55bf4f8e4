//! Concurrent writers on one secret: label moves must be atomic, no version may be lost. The
//! staging-label moves run against a SQLite server and against two nodes on one PostgreSQL
//! database (PostgreSQL policy as in `tresor-store`'s conformance suite: without a reachable
//! server that test prints a SKIPPED line and passes, unless `CI=true` or
//! `TRESOR_REQUIRE_POSTGRES=1`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use aws_sdk_secretsmanager::error::ProvideErrorMetadata as _;
use common::faults::{all_versions, holding, Counter};
use common::pg::TestDb;
use common::{sdk_client, unique, ServerOptions};

const WRITERS: usize = 32;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_put_secret_value_keeps_one_current_and_every_version() {
    let server = ServerOptions::dev().start();
    let client = server.client();
    let name = unique("contended");
    let first = client
        .create_secret()
        .name(&name)
        .secret_string("initial")
        .send()
        .await
        .expect("create")
        .version_id()
        .expect("version")
        .to_owned();

    let mut tasks = Vec::new();
    for i in 0..WRITERS {
        let client = client.clone();
        let name = name.clone();
        tasks.push(tokio::spawn(async move {
            let value = format!("value-{i:02}");
            let out = client
                .put_secret_value()
                .secret_id(&name)
                .secret_string(&value)
                .send()
                .await
                .unwrap_or_else(|e| panic!("put {i}: {e:?}"));
            (out.version_id().expect("version id").to_owned(), value)
        }));
    }
    let mut written: HashMap<String, String> = HashMap::new();
    for t in tasks {
        let (id, value) = t.await.expect("task");
        assert!(written.insert(id, value).is_none(), "duplicate version id");
    }
    assert_eq!(written.len(), WRITERS);
    written.insert(first.clone(), "initial".to_owned());

    // Every version, deprecated ones included, following NextToken.
    let mut stages: HashMap<String, Vec<String>> = HashMap::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = client
            .list_secret_version_ids()
            .secret_id(&name)
            .include_deprecated(true)
            .max_results(10)
            .set_next_token(token.take())
            .send()
            .await
            .expect("list versions");
        pages += 1;
        assert!(page.versions().len() <= 10);
        for v in page.versions() {
            let id = v.version_id().expect("id").to_owned();
            let prior = stages.insert(id.clone(), v.version_stages().to_vec());
            assert!(prior.is_none(), "version {id} listed twice");
        }
        match page.next_token() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
        assert!(pages < 20, "pagination does not end");
    }
    assert!(
        pages >= 4,
        "33 versions in pages of 10 need 4 pages, got {pages}"
    );
    assert_eq!(stages.len(), WRITERS + 1);
    let listed: HashSet<&String> = stages.keys().collect();
    let expected: HashSet<&String> = written.keys().collect();
    assert_eq!(listed, expected);

    let holders = |label: &str| -> Vec<&String> {
        stages
            .iter()
            .filter(|(_, s)| s.iter().any(|l| l == label))
            .map(|(id, _)| id)
            .collect()
    };
    let current = holders("AWSCURRENT");
    let previous = holders("AWSPREVIOUS");
    assert_eq!(current.len(), 1, "{stages:?}");
    assert_eq!(previous.len(), 1, "{stages:?}");
    assert_ne!(current[0], previous[0]);
    assert_ne!(current[0], &first, "a put must have become current");
    let labelled = stages.values().filter(|s| !s.is_empty()).count();
    assert_eq!(labelled, 2, "only two versions keep labels: {stages:?}");

    // Each version id returns its own value.
    for (id, value) in &written {
        let got = client
            .get_secret_value()
            .secret_id(&name)
            .version_id(id)
            .send()
            .await
            .unwrap_or_else(|e| panic!("get {id}: {e:?}"));
        assert_eq!(got.secret_string(), Some(value.as_str()), "version {id}");
        assert_eq!(got.version_id(), Some(id.as_str()));
    }
    let now = client
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .expect("get current");
    assert_eq!(now.version_id(), Some(current[0].as_str()));
    assert_eq!(now.secret_string(), Some(written[current[0]].as_str()));
}

/// The first secrets of a fresh account, created all at once: the account's default key is
/// made by whichever request comes first, and every other request (possibly in the same group
/// commit) must find it, not fail. Writes of several requests may share one transaction; each
/// is acknowledged only once it is durable, and each name exists exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn first_creates_on_a_fresh_store_all_succeed() {
    for round in 0..3 {
        let server = ServerOptions::dev().start();
        let client = server.client();
        let mut tasks = Vec::new();
        for i in 0..WRITERS {
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                client
                    .create_secret()
                    .name(format!("fresh/{i:02}"))
                    .secret_string(format!("value-{i:02}"))
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("round {round}, create {i}: {e:?}"))
            }));
        }
        for t in tasks {
            t.await.expect("task");
        }
        for i in 0..WRITERS {
            let got = client
                .get_secret_value()
                .secret_id(format!("fresh/{i:02}"))
                .send()
                .await
                .expect("read back");
            assert_eq!(got.secret_string(), Some(format!("value-{i:02}").as_str()));
        }
    }
}

// ---- concurrent UpdateSecretVersionStage ------------------------------------------------------

/// Clients moving labels at once.
const MOVERS: usize = 32;
/// Moves each client attempts.
const MOVES_PER_MOVER: usize = 3;
/// Versions the labels move between.
const VERSIONS: usize = 4;
const CUSTOM_LABEL: &str = "BLUE";

/// One acknowledged move of a label.
#[derive(Debug)]
struct Move {
    label: &'static str,
    from: String,
    to: String,
}

/// Checks that the acknowledged moves of one label chain, one after the other, from `start`
/// (each left the version the one before it reached), and returns where the chain ends. Moves
/// that serialize leave every version they pass through as often as they reach it, except the
/// first holder (left once more) and the last (reached once more); a lost update, two moves
/// acknowledged from the same holder, breaks that balance.
fn chain_end(label: &str, start: &str, moves: &[&Move]) -> String {
    let mut balance: HashMap<&str, i64> = HashMap::new();
    for m in moves {
        *balance.entry(m.from.as_str()).or_default() -= 1;
        *balance.entry(m.to.as_str()).or_default() += 1;
    }
    balance.retain(|_, b| *b != 0);
    if balance.is_empty() {
        return start.to_owned();
    }
    let ends: Vec<&str> = balance
        .iter()
        .filter(|(_, b)| **b == 1)
        .map(|(v, _)| *v)
        .collect();
    assert!(
        balance.len() == 2 && balance.get(start) == Some(&-1) && ends.len() == 1,
        "the acknowledged moves of {label} do not chain from {start}: balance {balance:?}, \
         moves {moves:?}"
    );
    ends[0].to_owned()
}

/// `MOVERS` clients (spread over `clients`, one per node) move two labels of one secret between
/// four versions at once: half of them `AWSCURRENT`, half a custom label. Each move names where
/// its client last saw the label (`RemoveFromVersionId`); a move whose label has gone elsewhere
/// meanwhile is refused with `InvalidParameterException`, and the client looks again. After the
/// storm each label is on exactly one version, the end of the chain of acknowledged moves, and
/// `AWSPREVIOUS` is on exactly one version, one that an acknowledged move of `AWSCURRENT` left
/// for its final holder; every version still holds its own value.
async fn concurrent_stage_moves(clients: &[aws_sdk_secretsmanager::Client]) {
    let client = &clients[0];
    let name = unique("stages");
    let mut ids = Vec::new();
    for v in 0..VERSIONS {
        let value = format!("value-{v}");
        let id = if v == 0 {
            let out = client
                .create_secret()
                .name(&name)
                .secret_string(value)
                .send()
                .await
                .expect("create");
            out.version_id().expect("version id").to_owned()
        } else {
            let out = client
                .put_secret_value()
                .secret_id(&name)
                .secret_string(value)
                .send()
                .await
                .expect("put");
            out.version_id().expect("version id").to_owned()
        };
        ids.push(id);
    }
    client
        .update_secret_version_stage()
        .secret_id(&name)
        .version_stage(CUSTOM_LABEL)
        .move_to_version_id(&ids[0])
        .send()
        .await
        .expect("attach the custom label");
    let first_current = ids[VERSIONS - 1].clone();

    let ids = Arc::new(ids);
    let start = Arc::new(tokio::sync::Barrier::new(MOVERS));
    let tasks: Vec<_> = (0..MOVERS)
        .map(|m| {
            let client = clients[m % clients.len()].clone();
            let (name, ids, start) = (name.clone(), ids.clone(), start.clone());
            tokio::spawn(async move {
                let label = if m % 2 == 0 {
                    "AWSCURRENT"
                } else {
                    CUSTOM_LABEL
                };
                start.wait().await;
                let mut done = Vec::new();
                let mut refused = 0;
                for attempt in 0..MOVES_PER_MOVER {
                    let described = client
                        .describe_secret()
                        .secret_id(&name)
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("mover {m}: describe: {e:?}"));
                    let stages = described.version_ids_to_stages().expect("versions");
                    let holder = stages
                        .iter()
                        .find(|(_, s)| s.iter().any(|l| l == label))
                        .map(|(id, _)| id.clone())
                        .unwrap_or_else(|| panic!("{label} is on no version: {stages:?}"));
                    let at = ids.iter().position(|id| *id == holder).expect("known id");
                    // Any version but the holder, varying with the mover and the attempt.
                    let to = ids[(at + 1 + (m / 2 + attempt) % (VERSIONS - 1)) % VERSIONS].clone();
                    let moved = client
                        .update_secret_version_stage()
                        .secret_id(&name)
                        .version_stage(label)
                        .remove_from_version_id(&holder)
                        .move_to_version_id(&to)
                        .send()
                        .await;
                    match moved {
                        Ok(_) => done.push(Move {
                            label,
                            from: holder,
                            to,
                        }),
                        Err(e) if e.code() == Some("InvalidParameterException") => refused += 1,
                        Err(e) => panic!("mover {m}: move {label}: {e:?}"),
                    }
                }
                (done, refused)
            })
        })
        .collect();
    let mut moves = Vec::new();
    let mut refused = 0;
    for task in tasks {
        let (done, r) = task.await.expect("mover");
        moves.extend(done);
        refused += r;
    }
    eprintln!(
        "{} moves acknowledged, {refused} refused (the label had moved meanwhile)",
        moves.len()
    );

    let of = |label: &str| -> Vec<&Move> { moves.iter().filter(|m| m.label == label).collect() };
    let (current_moves, custom_moves) = (of("AWSCURRENT"), of(CUSTOM_LABEL));
    assert!(
        !current_moves.is_empty() && !custom_moves.is_empty(),
        "{moves:?}"
    );
    let current = chain_end("AWSCURRENT", &first_current, &current_moves);
    let custom = chain_end(CUSTOM_LABEL, &ids[0], &custom_moves);

    let versions = all_versions(client, &name, &Counter::default()).await;
    assert_eq!(versions.len(), VERSIONS, "{versions:?}");
    assert_eq!(
        holding(&versions, "AWSCURRENT"),
        [current.as_str()],
        "{versions:?}"
    );
    assert_eq!(
        holding(&versions, CUSTOM_LABEL),
        [custom.as_str()],
        "{versions:?}"
    );
    let previous = holding(&versions, "AWSPREVIOUS");
    assert_eq!(previous.len(), 1, "{versions:?}");
    let previous = previous[0];
    assert!(
        current_moves
            .iter()
            .any(|m| m.from == previous && m.to == current),
        "AWSPREVIOUS is on {previous}, which no acknowledged move of AWSCURRENT left for \
         {current}: {versions:?}, moves {current_moves:?}"
    );
    for (v, id) in ids.iter().enumerate() {
        let got = client
            .get_secret_value()
            .secret_id(&name)
            .version_id(id)
            .send()
            .await
            .expect("get version");
        assert_eq!(got.secret_string(), Some(format!("value-{v}").as_str()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_stage_moves_on_sqlite_keep_each_label_on_one_version() {
    let server = ServerOptions::dev().start();
    concurrent_stage_moves(&[server.client()]).await;
}

#[test]
fn concurrent_stage_moves_through_two_postgres_nodes_keep_each_label_on_one_version() {
    const PASSPHRASE: &str = "stage moves passphrase";
    let Some(db) = TestDb::create("tresor_stages") else {
        return;
    };
    let creds = common::pg::init_store(&db.url, PASSPHRASE);
    let nodes = [
        ServerOptions::postgres(&db.url, PASSPHRASE).start(),
        ServerOptions::postgres(&db.url, PASSPHRASE).start(),
    ];
    let clients: Vec<_> = nodes.iter().map(|n| sdk_client(&n.url, &creds)).collect();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(concurrent_stage_moves(&clients));
    drop(nodes);
}
