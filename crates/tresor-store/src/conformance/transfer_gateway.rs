//! Whole-store copies and the AI gateway: routes, keys (MAC as stored), price overrides and
//! budget ledgers move; holds, settled markers and rate windows stay behind; a target holding
//! any gateway row is not empty; a bad or duplicate ledger is refused.

use super::fixtures::*;
use super::gateway::{assert_invalid, gateway_key, route};
use super::transfer::fill_for_transfer;
use crate::{
    BudgetScope, GatewayKeyRecord, LedgerRecord, PriceRecord, PrincipalKind, RateCharge,
    Reservation, Settlement, StoreError, Transfer,
};

/// A budget period's start (any value: ledgers are only keyed by it).
const PERIOD: i64 = 1_698_796_800_000;
const NEXT_PERIOD: i64 = 1_701_388_800_000;
/// The start of the minute `T0` is in.
const WINDOW: i64 = 28_333_333 * 60_000;

const ALICE_KEY: &str = "key:gk-alice";
const ALICE: &str = "principal:arn:aws:iam::111111111111:user/Alice";
/// The live hold left in the source, and the call already settled there.
const LIVE_HOLD: &str = "call-live";
const SETTLED: &str = "call-1";
/// What the live hold holds, micro-USD.
const HELD: i64 = 7_000;

fn budget(scope: &str, period_start: i64, cap: Option<i64>) -> BudgetScope {
    BudgetScope {
        scope: scope.to_owned(),
        period_start,
        cap_micro_usd: cap,
    }
}

fn alice_scopes(period_start: i64) -> Vec<BudgetScope> {
    vec![
        budget(ALICE_KEY, period_start, Some(5_000_000)),
        budget(ALICE, period_start, None),
    ]
}

/// One request in Alice's key's current minute, limited to `rpm`.
fn alice_rate(rpm: Option<i64>) -> RateCharge {
    RateCharge {
        key_id: "gk-alice".to_owned(),
        window_start: WINDOW,
        rpm,
        tpm: None,
        tokens: 30,
    }
}

fn reservation(hold_id: &str, scopes: Vec<BudgetScope>, rate: Option<RateCharge>) -> Reservation {
    Reservation {
        hold_id: hold_id.to_owned(),
        scopes,
        amount_micro_usd: HELD,
        // Far past any `now` the checks use: the hold is live throughout.
        lease_until: T0.plus_seconds(86_400),
        now: T0,
        rate,
    }
}

/// Reserve then settle one call that cost `cost`.
fn call<S: Transfer>(store: &S, hold_id: &str, scopes: Vec<BudgetScope>, cost: i64) {
    assert_eq!(
        store
            .reserve(&reservation(hold_id, scopes.clone(), None))
            .unwrap(),
        Ok(())
    );
    store
        .settle(
            &Settlement {
                hold_id: hold_id.to_owned(),
                cost_micro_usd: cost,
                input_tokens: cost / 10,
                output_tokens: cost / 100,
                requests: 1,
            },
            &scopes,
            None,
        )
        .unwrap();
}

fn price(account_id: &str, model: &str, cached: Option<i64>) -> PriceRecord {
    PriceRecord {
        account: account(account_id),
        model: model.to_owned(),
        input_micro_per_mtok: 150_000,
        output_micro_per_mtok: 600_000,
        cached_input_micro_per_mtok: cached,
        updated: T0.plus_seconds(9),
    }
}

fn key(key_id: &str, f: impl FnOnce(&mut GatewayKeyRecord)) -> GatewayKeyRecord {
    let mut key = gateway_key(key_id);
    f(&mut key);
    key
}

/// Routes, keys and prices in two accounts, ledgers in two periods and three scopes, and the
/// transient state a copy leaves behind: a live hold, a rate window, a settled marker.
pub fn fill_gateway_for_transfer<S: Transfer>(store: &S) {
    let mut openai = route("111111111111", "openai");
    openai.ca_pem = Some("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into());
    openai.description = Some("the default".to_owned());
    openai.updated = T0.plus_seconds(60);
    store.create_route(&openai).unwrap();
    let mut local = route("111111111111", "local");
    local.provider = "anthropic".to_owned();
    local.base_url = "http://127.0.0.1:8080".to_owned();
    local.allow_http = true;
    store.create_route(&local).unwrap();
    store
        .create_route(&route("222222222222", "theirs"))
        .unwrap();

    store
        .create_gateway_key(&key("gk-alice", |k| {
            k.principal_name = "Alice".to_owned();
            k.mac = (0..=255u8).rev().take(32).collect();
            k.routes = vec!["openai".to_owned(), "local".to_owned()];
            k.models = vec!["gpt-4o-mini".to_owned(), "gpt-4.1*".to_owned()];
            k.budget_micro_usd = Some(5_000_000);
            k.rpm = Some(60);
            k.tpm = Some(10_000);
            k.expires = Some(T0.plus_seconds(30 * 86_400));
            k.description = Some("ci".to_owned());
        }))
        .unwrap();
    store
        .create_gateway_key(&key("gk-deployer", |k| {
            k.principal_kind = PrincipalKind::Role;
            k.principal_name = "Deployer".to_owned();
            k.budget_period = "total".to_owned();
            k.status = "Inactive".to_owned();
        }))
        .unwrap();
    store
        .create_gateway_key(&key("gk-carol", |k| {
            k.account = account("222222222222");
            k.principal_name = "carol".to_owned();
        }))
        .unwrap();

    store
        .put_price(&price("111111111111", "gpt-4o-mini", Some(75_000)))
        .unwrap();
    store
        .put_price(&price("111111111111", "gpt-4.1*", None))
        .unwrap();
    store
        .put_price(&price("222222222222", "claude-sonnet-4", None))
        .unwrap();
    store
        .put_principal_budget(&crate::PrincipalBudgetRecord {
            account: account("111111111111"),
            principal_kind: crate::PrincipalKind::User,
            principal_name: "Alice".to_owned(),
            budget_micro_usd: 50_000_000,
            budget_period: "month".to_owned(),
            updated: tresor_types::Timestamp(1_700_000_000_000),
        })
        .unwrap();

    // Ledgers: two calls in one period, one in the next (the key's scope only), one on a
    // `total` budget of another account.
    call(store, SETTLED, alice_scopes(PERIOD), 1_230_000);
    call(store, "call-2", alice_scopes(PERIOD), 45_600);
    call(
        store,
        "call-3",
        vec![budget(ALICE_KEY, NEXT_PERIOD, Some(5_000_000))],
        7_890,
    );
    call(
        store,
        "call-carol",
        vec![budget("key:gk-carol", 0, None)],
        100,
    );
    // A call in flight when the copy is made: its hold and its rate window stay behind.
    assert_eq!(
        store
            .reserve(&reservation(
                LIVE_HOLD,
                alice_scopes(PERIOD),
                Some(alice_rate(Some(60)))
            ))
            .unwrap(),
        Ok(())
    );
}

/// What the copy of [`fill_gateway_for_transfer`]'s store counts.
pub const GATEWAY_COUNTS: (u64, u64, u64, u64) = (3, 3, 3, 4);

/// The gateway's durable state of `a` reads back the same from `b`, through the listings and
/// the gateway's own lookups.
pub fn assert_same_gateway_contents<A: Transfer, B: Transfer>(a: &A, b: &B) {
    assert_eq!(a.gateway_accounts().unwrap(), b.gateway_accounts().unwrap());
    let budgets = a.all_principal_budgets().unwrap();
    assert_eq!(budgets.len(), 1);
    assert_eq!(budgets, b.all_principal_budgets().unwrap());
    assert_eq!(a.all_routes().unwrap(), b.all_routes().unwrap());
    for route in a.all_routes().unwrap() {
        assert_eq!(
            b.get_route(&route.account, &route.name).unwrap().as_ref(),
            Some(&route)
        );
    }
    assert_eq!(a.all_gateway_keys().unwrap(), b.all_gateway_keys().unwrap());
    for key in a.all_gateway_keys().unwrap() {
        // The token's MAC moved as stored: the same token finds the same key.
        assert_eq!(
            b.find_gateway_key_by_mac(&key.mac).unwrap().as_ref(),
            Some(&key)
        );
        assert_eq!(
            a.list_gateway_keys(
                &key.account,
                Some((key.principal_kind, &key.principal_name))
            )
            .unwrap(),
            b.list_gateway_keys(
                &key.account,
                Some((key.principal_kind, &key.principal_name))
            )
            .unwrap()
        );
    }
    assert_eq!(a.all_prices().unwrap(), b.all_prices().unwrap());
    assert_eq!(a.gateway_ledgers().unwrap(), b.gateway_ledgers().unwrap());
    // What the gateway reads to admit a call: spent and used, per scope and period.
    let now = T0.plus_seconds(60);
    for ledger in a.gateway_ledgers().unwrap() {
        let (mut from, mut to) = (
            a.usage(&ledger.scope, ledger.period_start, now).unwrap(),
            b.usage(&ledger.scope, ledger.period_start, now).unwrap(),
        );
        from.held_micro_usd = 0;
        to.held_micro_usd = 0;
        assert_eq!(from, to, "{}", ledger.scope);
    }
}

/// After copying [`fill_gateway_for_transfer`]'s store from `from` to `to`: the budgets did
/// not reset, and the transient state stayed behind (no hold, no rate window, no settled
/// marker in `to`). Writes to both stores.
pub fn assert_gateway_moved<F: Transfer, T: Transfer>(from: &F, to: &T) {
    let now = T0.plus_seconds(60);
    let spent = 1_230_000 + 45_600;
    for store_usage in [
        from.usage(ALICE_KEY, PERIOD, now).unwrap(),
        to.usage(ALICE_KEY, PERIOD, now).unwrap(),
    ] {
        assert_eq!(store_usage.spent_micro_usd, spent);
        assert_eq!(store_usage.requests, 2);
        assert_eq!(store_usage.input_tokens, 123_000 + 4_560);
    }
    assert_eq!(
        from.usage(ALICE_KEY, PERIOD, now).unwrap().held_micro_usd,
        HELD
    );
    assert_eq!(to.usage(ALICE_KEY, PERIOD, now).unwrap().held_micro_usd, 0);
    assert_eq!(to.usage(ALICE, PERIOD, now).unwrap().held_micro_usd, 0);

    // The key's minute: the source has counted one request, the copy none (rpm 1 admits).
    let one_more = |id: &str| reservation(id, Vec::new(), Some(alice_rate(Some(1))));
    assert!(from.reserve(&one_more("rate-from")).unwrap().is_err());
    assert_eq!(to.reserve(&one_more("rate-to")).unwrap(), Ok(()));

    // A settled call's id is taken in the source only.
    assert!(matches!(
        from.reserve(&reservation(SETTLED, alice_scopes(PERIOD), None)),
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        to.reserve(&reservation(SETTLED, alice_scopes(PERIOD), None))
            .unwrap(),
        Ok(())
    );
    // The moved budget still binds: $5 cap, $1.2756 spent, the hold above, and this.
    let mut big = reservation("too-big", alice_scopes(PERIOD), None);
    big.amount_micro_usd = 5_000_000 - spent - HELD + 1;
    assert!(to.reserve(&big).unwrap().is_err());
}

/// A target holding only gateway state, each table in turn, is refused and keeps it; each
/// piece is removed (through the gateway's own deletes) before the next.
pub fn transfer_refuses_a_target_with_gateway_state<F: Transfer, T: Transfer>(from: &F, to: &T) {
    fill_for_transfer(from);
    let refused = |what: &str| {
        assert!(!to.is_empty().unwrap(), "{what} counts");
        let r = crate::transfer(from, to, &mut |_| {});
        assert!(
            matches!(r, Err(crate::TransferError::TargetNotEmpty)),
            "{what}: {r:?}"
        );
        assert!(to.all_meta().unwrap().is_empty(), "{what}");
    };
    let me = account("111111111111");

    to.create_route(&route("111111111111", "only")).unwrap();
    refused("a route");
    assert_eq!(to.all_routes().unwrap().len(), 1);
    to.delete_route(&me, "only").unwrap();

    to.put_price(&price("111111111111", "only", None)).unwrap();
    refused("a price override");
    to.delete_price(&me, "only").unwrap();

    to.create_gateway_key(&gateway_key("gk-t")).unwrap();
    refused("a gateway key");
    to.delete_gateway_key("gk-t").unwrap();
    assert!(to.is_empty().unwrap());

    // Deleting key gk-t forgets its ledgers, holds and rate windows.
    let forget = || {
        to.create_gateway_key(&gateway_key("gk-t")).unwrap();
        to.delete_gateway_key("gk-t").unwrap();
        assert!(to.is_empty().unwrap());
    };
    to.import_gateway_ledger(&ledger("key:gk-t", 0)).unwrap();
    refused("a budget ledger");
    forget();
    let mut rate_only = reservation("r", Vec::new(), Some(alice_rate(None)));
    if let Some(rate) = &mut rate_only.rate {
        rate.key_id = "gk-t".to_owned();
    }
    assert_eq!(to.reserve(&rate_only).unwrap(), Ok(()));
    refused("a rate window");
    forget();
    let held = reservation("h", vec![budget("key:gk-t", 0, None)], None);
    assert_eq!(to.reserve(&held).unwrap(), Ok(()));
    refused("a hold");
    forget();
    // Last: a settled marker stays a day, and no delete reaches it.
    let marker = Settlement {
        hold_id: "s".to_owned(),
        cost_micro_usd: 0,
        input_tokens: 0,
        output_tokens: 0,
        requests: 0,
    };
    to.settle(&marker, &[], None).unwrap();
    assert!(to.gateway_ledgers().unwrap().is_empty());
    refused("a settled marker");
}

fn ledger(scope: &str, period_start: i64) -> LedgerRecord {
    LedgerRecord {
        scope: scope.to_owned(),
        period_start,
        spent_micro_usd: 10,
        requests: 1,
        input_tokens: 2,
        output_tokens: 3,
    }
}

/// An imported ledger reads back as it was; a second one for the same scope and period is
/// `Conflict`; an empty scope or a negative figure is refused naming the field, and writes
/// nothing.
pub fn transfer_ledger_import_checks_its_input<T: Transfer>(to: &T) {
    let good = ledger("principal:arn:aws:iam::111111111111:role/x", PERIOD);
    to.import_gateway_ledger(&good).unwrap();
    assert_eq!(to.gateway_ledgers().unwrap(), vec![good.clone()]);
    let usage = to.usage(&good.scope, PERIOD, T0).unwrap();
    assert_eq!(
        (usage.spent_micro_usd, usage.requests, usage.output_tokens),
        (10, 1, 3)
    );
    let mut again = good.clone();
    again.spent_micro_usd = 99;
    assert!(matches!(
        to.import_gateway_ledger(&again),
        Err(StoreError::Conflict)
    ));
    assert_invalid(to.import_gateway_ledger(&ledger("", PERIOD)), "scope");
    type Spoil = fn(&mut LedgerRecord);
    let negatives: [(Spoil, &str); 4] = [
        (|l| l.spent_micro_usd = -1, "spent"),
        (|l| l.requests = -1, "requests"),
        (|l| l.input_tokens = -1, "input tokens"),
        (|l| l.output_tokens = -1, "output tokens"),
    ];
    for (set, field) in negatives {
        let mut bad = ledger("key:gk-bad", PERIOD);
        set(&mut bad);
        assert_invalid(to.import_gateway_ledger(&bad), field);
    }
    assert_eq!(to.gateway_ledgers().unwrap(), vec![good]);
}
