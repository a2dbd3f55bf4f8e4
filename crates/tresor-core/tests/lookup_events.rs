//! `LookupEvents` answers the events of the request's region only, as CloudTrail's event
//! history is kept per region, and pages through them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test support code

mod support;

use tresor_core::cloudtrail::LookupEventsRequest;
use tresor_core::validate::Validated;
use tresor_core::{bootstrap, Core, RequestContext, StoreBackend};
use tresor_store::SqliteStore;
use tresor_types::{AccountId, NextToken, Region};

fn names(
    core: &Core,
    ctx: &RequestContext,
    max: Option<i64>,
    token: Option<String>,
) -> (Vec<String>, Option<String>) {
    let req = LookupEventsRequest {
        max_results: max,
        next_token: token.map(NextToken::from),
        ..LookupEventsRequest::default()
    };
    let resp = core
        .lookup_events(ctx, Validated::new(req).unwrap())
        .unwrap();
    (
        resp.events.into_iter().map(|e| e.event_name).collect(),
        resp.next_token,
    )
}

#[test]
fn lookup_events_answers_the_requests_region_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreBackend::Sqlite(SqliteStore::open(&dir.path().join("t.db")).unwrap());
    let account = AccountId::parse("111122223333").unwrap();
    let (keyring, _creds) = bootstrap::dev(&store, &account, None).unwrap();
    let core = Core::new(store, keyring).unwrap();
    let east = support::root(&account);
    let mut west = support::root(&account);
    west.region = Region::parse("eu-west-1").unwrap();
    for i in 0..5 {
        core.audit(support::audited_call(&east, "EastCall"))
            .unwrap();
        if i < 3 {
            core.audit(support::audited_call(&west, "WestCall"))
                .unwrap();
        }
    }
    let (in_west, token) = names(&core, &west, None, None);
    assert_eq!(in_west, ["WestCall"; 3]);
    assert!(token.is_none());
    let (in_east, _) = names(&core, &east, None, None);
    assert_eq!(in_east.iter().filter(|n| *n == "EastCall").count(), 5);
    assert!(!in_east.iter().any(|n| n == "WestCall"), "{in_east:?}");

    // Pages hold the region's events only.
    let (first, token) = names(&core, &west, Some(2), None);
    assert_eq!(first, ["WestCall"; 2]);
    let (second, token) = names(&core, &west, Some(2), token);
    assert_eq!(second, ["WestCall"]);
    assert!(token.is_none());
}
