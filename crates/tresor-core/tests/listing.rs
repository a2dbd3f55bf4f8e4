//! `ListSecrets` paging through a scope larger than one call's scan budget, with a real SQLite
//! store: every secret comes exactly once and in order, a selective filter may answer empty
//! pages with a `NextToken` but never loses a match, and an unfiltered listing ends without a
//! trailing empty page.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test support code

mod support;

use support::root;
use tresor_core::secretsmanager::dto::*;
use tresor_core::validate::Validated;
use tresor_core::{bootstrap, Core, RequestContext, StoreBackend};
use tresor_store::{Scope, SecretRecord, SqliteStore, Store, StoreError};
use tresor_types::{AccountId, NextToken, Timestamp};

/// Follow `NextToken` to the end: the names listed, and how many calls it took.
fn list_all(
    core: &Core,
    ctx: &RequestContext,
    req: impl Fn() -> ListSecretsRequest,
) -> (Vec<String>, usize, usize) {
    let mut names = Vec::new();
    let (mut calls, mut empty) = (0, 0);
    let mut token = None;
    loop {
        let page = core
            .list_secrets(
                ctx,
                Validated::new(ListSecretsRequest {
                    next_token: token.take().map(NextToken::from),
                    ..req()
                })
                .unwrap(),
            )
            .unwrap();
        calls += 1;
        if page.secret_list.is_empty() {
            empty += 1;
        }
        names.extend(page.secret_list.into_iter().map(|d| d.name));
        match page.next_token {
            Some(t) => token = Some(t),
            None => return (names, calls, empty),
        }
        assert!(calls < 1000, "the listing does not end");
    }
}

#[test]
fn listings_larger_than_the_scan_budget_page_completely() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreBackend::Sqlite(SqliteStore::open(&dir.path().join("t.db")).unwrap());
    let account = AccountId::parse("111122223333").unwrap();
    let (keyring, _creds) = bootstrap::dev(&store, &account, None).unwrap();
    let core = Core::new(store, keyring).unwrap();
    let ctx = root(&account);
    let scope = Scope {
        account: account.clone(),
        region: ctx.region.clone(),
    };
    // 1 200 secrets that a name filter skips, sorted before the 30 it keeps.
    let names: Vec<String> = (0..1200)
        .map(|i| format!("a-noise/{i:04}"))
        .chain((0..30).map(|i| format!("z-match/{i:02}")))
        .collect();
    core.store()
        .atomically(|| {
            for (i, name) in names.iter().enumerate() {
                let record = SecretRecord {
                    scope: scope.clone(),
                    arn: format!("arn:aws:secretsmanager:us-east-1:{account}:secret:{name}-AbCdEf"),
                    name: name.clone(),
                    description: None,
                    kms_key_id: None,
                    tags: Vec::new(),
                    resource_policy: None,
                    rotation: None,
                    replication: None,
                    created: Timestamp(1_700_000_000_000 + i as i64),
                    last_changed: Timestamp(1_700_000_000_000),
                    last_accessed: None,
                    deletion: None,
                    versions: Vec::new(),
                };
                core.store().create_secret(&record, None)?;
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();

    // Unfiltered, by creation date (the default): 13 full calls, the last one short, no
    // trailing empty page.
    let (listed, calls, empty) = list_all(&core, &ctx, ListSecretsRequest::default);
    assert_eq!(listed, names);
    assert_eq!((calls, empty), (13, 0));

    // By name, descending, 7 at a time.
    let (listed, _, empty) = list_all(&core, &ctx, || ListSecretsRequest {
        sort_by: Some("name".into()),
        sort_order: Some("desc".into()),
        max_results: Some(7),
        ..Default::default()
    });
    let mut reversed = names.clone();
    reversed.reverse();
    assert_eq!(listed, reversed);
    assert_eq!(empty, 0);

    // A filter matching only what lies beyond the first 1 000: the first call answers an
    // empty page with a token, and following the tokens finds every match once, in order.
    let (listed, calls, empty) = list_all(&core, &ctx, || ListSecretsRequest {
        sort_by: Some("name".into()),
        max_results: Some(20),
        filters: Some(vec![Filter {
            key: Some("name".into()),
            values: Some(vec!["z-match".into()]),
        }]),
        ..Default::default()
    });
    assert_eq!(listed, names[1200..].to_vec());
    assert!(empty >= 1, "the scan budget did not bound the first call");
    assert!(calls <= 4, "{calls} calls");
}
