//! Concurrent writers on one secret: label moves must be atomic, no version may be lost.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{HashMap, HashSet};

use common::{unique, ServerOptions};

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
