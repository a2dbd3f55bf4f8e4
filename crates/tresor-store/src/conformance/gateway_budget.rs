//! The AI gateway's budgets and rates: reserve-then-settle, leases, rate windows, usage, and
//! admission under concurrency.

use std::sync::Barrier;

use tresor_types::Timestamp;

use crate::{
    BudgetScope, GatewayStore, RateCharge, Refused, Reservation, Settlement, StoreError,
    UsageDelta, UsageRecord,
};

use super::fixtures::T0;
use super::gateway::{assert_invalid, gateway_key};

/// A budget period's start (any value: the store only keys ledgers by it).
const PERIOD: i64 = 1_698_796_800_000;
const NEXT_PERIOD: i64 = 1_701_388_800_000;

/// The start of the minute `T0` is in (T0 is 40 s into it).
const WINDOW: i64 = 28_333_333 * 60_000;

const KEY: &str = "key:gk-1";
const PRINCIPAL: &str = "principal:arn:aws:iam::111111111111:user/alice";

fn at(ms: i64) -> Timestamp {
    Timestamp(ms)
}

fn scope(name: &str, period_start: i64, cap: Option<i64>) -> BudgetScope {
    BudgetScope {
        scope: name.to_owned(),
        period_start,
        cap_micro_usd: cap,
    }
}

/// The key's budget with `cap`, and the principal's, uncapped, in [`PERIOD`].
fn scopes(cap: i64) -> Vec<BudgetScope> {
    vec![
        scope(KEY, PERIOD, Some(cap)),
        scope(PRINCIPAL, PERIOD, None),
    ]
}

/// A reservation at `now` whose lease runs a minute.
fn reservation(hold_id: &str, scopes: Vec<BudgetScope>, amount: i64, now: i64) -> Reservation {
    Reservation {
        hold_id: hold_id.to_owned(),
        scopes,
        amount_micro_usd: amount,
        lease_until: at(now + 60_000),
        now: at(now),
        rate: None,
    }
}

fn rate(
    key_id: &str,
    window_start: i64,
    rpm: Option<i64>,
    tpm: Option<i64>,
    tokens: i64,
) -> RateCharge {
    RateCharge {
        key_id: key_id.to_owned(),
        window_start,
        rpm,
        tpm,
        tokens,
    }
}

fn settlement(hold_id: &str, cost: i64, input: i64, output: i64) -> Settlement {
    Settlement {
        hold_id: hold_id.to_owned(),
        cost_micro_usd: cost,
        input_tokens: input,
        output_tokens: output,
        requests: 1,
    }
}

fn admit<S: GatewayStore>(store: &S, r: &Reservation) {
    assert_eq!(
        store.reserve(r).unwrap(),
        Ok(()),
        "{} was refused",
        r.hold_id
    );
}

fn refused<S: GatewayStore>(store: &S, r: &Reservation) -> Refused {
    match store.reserve(r).unwrap() {
        Err(refused) => refused,
        Ok(()) => panic!("{} was admitted", r.hold_id),
    }
}

fn budget_refusal(scope: &str, spent: i64, held: i64, cap: i64) -> Refused {
    Refused::Budget {
        scope: scope.to_owned(),
        spent_micro_usd: spent,
        held_micro_usd: held,
        cap_micro_usd: cap,
    }
}

fn usage<S: GatewayStore>(store: &S, scope: &str, period_start: i64, now: i64) -> UsageRecord {
    store.usage(scope, period_start, at(now)).unwrap()
}

/// `spent + held + amount ≤ cap` admits, one more micro-dollar does not; the refusal says which
/// scope, with its figures; a refused call holds nothing anywhere; periods are separate.
pub fn gateway_reserve_admits_up_to_the_cap<S: GatewayStore>(store: &S) {
    let now = T0.0;
    for hold in ["h1", "h2", "h3"] {
        admit(store, &reservation(hold, scopes(1_000), 300, now));
    }
    assert_eq!(
        refused(store, &reservation("h4", scopes(1_000), 300, now)),
        budget_refusal(KEY, 0, 900, 1_000)
    );
    admit(store, &reservation("h5", scopes(1_000), 100, now));
    assert_eq!(usage(store, KEY, PERIOD, now).held_micro_usd, 1_000);
    assert_eq!(usage(store, PRINCIPAL, PERIOD, now).held_micro_usd, 1_000);

    store
        .settle(&settlement("h1", 250, 10, 20), &scopes(1_000), None)
        .unwrap();
    admit(store, &reservation("h6", scopes(1_000), 50, now));
    assert_eq!(
        refused(store, &reservation("h7", scopes(1_000), 1, now)),
        budget_refusal(KEY, 250, 750, 1_000)
    );
    let principal = usage(store, PRINCIPAL, PERIOD, now);
    assert_eq!(
        (principal.spent_micro_usd, principal.held_micro_usd),
        (250, 750),
        "a refused call held nothing in the other scope"
    );

    // Several caps: the one that would pass refuses, with its own figures.
    let both = vec![
        scope(KEY, PERIOD, Some(2_000)),
        scope(PRINCIPAL, PERIOD, Some(760)),
    ];
    assert_eq!(
        refused(store, &reservation("h8", both, 20, now)),
        budget_refusal(PRINCIPAL, 250, 750, 760)
    );
    // Another period of the same scope is another budget.
    admit(
        store,
        &reservation("h9", vec![scope(KEY, NEXT_PERIOD, Some(1_000))], 1_000, now),
    );

    // A hold id is one call: held or settled, it cannot be reserved again.
    let r = store.reserve(&reservation("h2", scopes(1_000_000), 1, now));
    assert!(matches!(r, Err(StoreError::Conflict)), "{r:?}");
    let r = store.reserve(&reservation("h1", scopes(1_000_000), 1, now));
    assert!(matches!(r, Err(StoreError::Conflict)), "{r:?}");
}

/// A reservation with a negative amount, a scope named twice, a negative cap or a rate window
/// off the minute is refused, naming what is wrong, and holds nothing.
pub fn gateway_reserve_refuses_bad_input<S: GatewayStore>(store: &S) {
    let now = T0.0;
    assert_invalid(
        store.reserve(&reservation("b1", scopes(1_000), -1, now)),
        "amount",
    );
    let twice = vec![
        scope(KEY, PERIOD, Some(1_000)),
        scope(KEY, NEXT_PERIOD, None),
    ];
    assert_invalid(
        store.reserve(&reservation("b2", twice, 1, now)),
        "scope twice",
    );
    assert_invalid(store.reserve(&reservation("b3", scopes(-1), 1, now)), "cap");
    let mut off_minute = reservation("b4", scopes(1_000), 1, now);
    off_minute.rate = Some(rate("gk-1", WINDOW + 1, None, None, 1));
    assert_invalid(store.reserve(&off_minute), "whole minute");
    assert_invalid(
        store.reserve(&reservation("", scopes(1_000), 1, now)),
        "hold id",
    );
    assert_eq!(usage(store, KEY, PERIOD, now), UsageRecord::default());
    assert_invalid(
        store.settle(&settlement("b5", -1, 0, 0), &scopes(1_000), None),
        "figures",
    );
}

/// A hold counts until its lease runs out (`lease_until ≤ now`), and a reserve then forgets it;
/// settling a hold whose lease ran out still bills the call, in the period the hold was made in
/// while it is kept, and in the period the caller names once it is gone.
pub fn gateway_holds_expire_with_their_lease<S: GatewayStore>(store: &S) {
    let now = T0.0;
    let mut first = reservation("h1", scopes(1_000), 1_000, now);
    first.lease_until = at(now + 10_000);
    admit(store, &first);
    assert_eq!(
        refused(store, &reservation("h2", scopes(1_000), 1, now + 5_000)),
        budget_refusal(KEY, 0, 1_000, 1_000)
    );
    assert_eq!(usage(store, KEY, PERIOD, now + 9_999).held_micro_usd, 1_000);
    assert_eq!(usage(store, KEY, PERIOD, now + 10_000).held_micro_usd, 0);
    admit(
        store,
        &reservation("h3", scopes(1_000), 1_000, now + 10_000),
    );

    // h1 is gone (the reserve forgot it): the call is billed where the caller says.
    store
        .settle(&settlement("h1", 400, 1, 2), &scopes(1_000), None)
        .unwrap();
    let key = usage(store, KEY, PERIOD, now + 10_000);
    assert_eq!((key.spent_micro_usd, key.held_micro_usd), (400, 1_000));

    // A run-out hold that is still kept bills the period it was made in.
    let mut late = reservation("h4", vec![scope("principal:x", PERIOD, None)], 70, now);
    late.lease_until = at(now + 1);
    admit(store, &late);
    store
        .settle(
            &settlement("h4", 65, 1, 2),
            &[scope("principal:x", NEXT_PERIOD, None)],
            None,
        )
        .unwrap();
    assert_eq!(usage(store, "principal:x", PERIOD, now).spent_micro_usd, 65);
    assert_eq!(
        usage(store, "principal:x", NEXT_PERIOD, now),
        UsageRecord::default()
    );
}

/// Settling moves a hold to spent in every scope, with the call's tokens and request, corrects
/// the rate window by what the call really used, and does nothing the second time.
pub fn gateway_settle_moves_held_to_spent_once<S: GatewayStore>(store: &S) {
    let now = WINDOW + 15_500;
    let charge = rate("gk-1", WINDOW, None, Some(1_500), 1_000);
    let mut first = reservation("h1", scopes(1_000), 500, now);
    first.rate = Some(charge.clone());
    admit(store, &first);
    let held = usage(store, KEY, PERIOD, now);
    assert_eq!((held.spent_micro_usd, held.held_micro_usd), (0, 500));

    store
        .settle(
            &settlement("h1", 200, 100, 200),
            &scopes(1_000),
            Some(&charge),
        )
        .unwrap();
    let settled = UsageRecord {
        requests: 1,
        input_tokens: 100,
        output_tokens: 200,
        spent_micro_usd: 200,
        held_micro_usd: 0,
    };
    assert_eq!(usage(store, KEY, PERIOD, now), settled);
    assert_eq!(usage(store, PRINCIPAL, PERIOD, now), settled);

    // Again, even with other figures: billed once.
    store
        .settle(
            &settlement("h1", 200, 100, 200),
            &scopes(1_000),
            Some(&charge),
        )
        .unwrap();
    store
        .settle(&settlement("h1", 999, 9, 9), &scopes(1_000), Some(&charge))
        .unwrap();
    assert_eq!(usage(store, KEY, PERIOD, now), settled);

    // The window holds the 300 tokens used, not the 1 000 estimated: 1 200 more fit in 1 500.
    let mut second = reservation("h2", scopes(1_000), 1, now);
    second.rate = Some(rate("gk-1", WINDOW, None, Some(1_500), 1_200));
    admit(store, &second);
    let mut third = reservation("h3", scopes(1_000), 1, now);
    third.rate = Some(rate("gk-1", WINDOW, None, Some(1_500), 1));
    assert!(matches!(refused(store, &third), Refused::Tpm { .. }));

    // A hold that never existed bills the scopes given (its reserve's record was lost).
    store
        .settle(&settlement("h-lost", 7, 1, 1), &scopes(1_000), None)
        .unwrap();
    let key = usage(store, KEY, PERIOD, now);
    assert_eq!((key.spent_micro_usd, key.requests), (207, 2));
}

/// `rpm` refuses the request past it and `tpm` the tokens past it, until the minute ends:
/// `retry_after_secs` is the seconds left, rounded up, at least 1. A refused call holds and
/// charges nothing; a spent budget is reported before a rate.
pub fn gateway_rate_limits_refuse_until_the_minute_ends<S: GatewayStore>(store: &S) {
    let now = WINDOW + 15_500;
    let rpm = |hold: &str, window: i64, at: i64| {
        let mut r = reservation(hold, vec![scope(KEY, PERIOD, None)], 10, at);
        r.rate = Some(rate("gk-1", window, Some(2), None, 5));
        r
    };
    admit(store, &rpm("r1", WINDOW, now));
    admit(store, &rpm("r2", WINDOW, now));
    assert_eq!(
        refused(store, &rpm("r3", WINDOW, now)),
        Refused::Rpm {
            retry_after_secs: 45
        }
    );
    assert_eq!(usage(store, KEY, PERIOD, now).held_micro_usd, 20);
    assert_eq!(
        refused(store, &rpm("r4", WINDOW, WINDOW + 59_999)),
        Refused::Rpm {
            retry_after_secs: 1
        }
    );
    admit(store, &rpm("r5", WINDOW + 60_000, WINDOW + 60_000));

    let tpm = |hold: &str, tokens: i64| {
        let mut r = reservation(hold, vec![scope("key:gk-t", PERIOD, None)], 1, now);
        r.rate = Some(rate("gk-t", WINDOW, None, Some(1_000), tokens));
        r
    };
    admit(store, &tpm("t1", 600));
    assert_eq!(
        refused(store, &tpm("t2", 500)),
        Refused::Tpm {
            retry_after_secs: 45
        }
    );
    admit(store, &tpm("t3", 400));
    assert!(matches!(refused(store, &tpm("t4", 1)), Refused::Tpm { .. }));
    assert_eq!(usage(store, "key:gk-t", PERIOD, now).held_micro_usd, 2);

    // Over its budget and its rate: the budget is what the caller is told (r1, r2 and r5 hold
    // 10 each).
    let mut both = rpm("r6", WINDOW, now);
    both.scopes = vec![scope(KEY, PERIOD, Some(35))];
    assert_eq!(refused(store, &both), budget_refusal(KEY, 0, 30, 35));
}

/// Usage per scope and period: nothing for an unknown one; requests count the settlements
/// that say so; each period apart.
pub fn gateway_usage_per_scope_and_period<S: GatewayStore>(store: &S) {
    let now = T0.0;
    assert_eq!(usage(store, KEY, PERIOD, now), UsageRecord::default());
    admit(store, &reservation("u1", scopes(1_000_000), 100, now));
    admit(store, &reservation("u2", scopes(1_000_000), 100, now));
    admit(
        store,
        &reservation("u3", vec![scope(KEY, NEXT_PERIOD, None)], 40, now),
    );
    store
        .settle(&settlement("u1", 30, 1_000, 50), &scopes(1_000_000), None)
        .unwrap();
    // An upstream error that produced nothing: released, not counted as a request.
    let released = Settlement {
        requests: 0,
        ..settlement("u2", 0, 0, 0)
    };
    store.settle(&released, &scopes(1_000_000), None).unwrap();
    assert_eq!(
        usage(store, KEY, PERIOD, now),
        UsageRecord {
            requests: 1,
            input_tokens: 1_000,
            output_tokens: 50,
            spent_micro_usd: 30,
            held_micro_usd: 0,
        }
    );
    assert_eq!(
        usage(store, KEY, NEXT_PERIOD, now),
        UsageRecord {
            held_micro_usd: 40,
            ..UsageRecord::default()
        }
    );
    assert_eq!(
        usage(store, "key:other", PERIOD, now),
        UsageRecord::default()
    );
    // Use counted without a hold (a key with no budget) adds to the same ledger.
    let delta = UsageDelta {
        scope: KEY.to_owned(),
        period_start: PERIOD,
        cost_micro_usd: 7,
        input_tokens: 10,
        output_tokens: 2,
        requests: 1,
    };
    store.add_usage(&[delta.clone(), delta.clone()]).unwrap();
    assert_eq!(
        usage(store, KEY, PERIOD, now),
        UsageRecord {
            requests: 3,
            input_tokens: 1_020,
            output_tokens: 54,
            spent_micro_usd: 44,
            held_micro_usd: 0,
        }
    );
    let negative = UsageDelta {
        cost_micro_usd: -1,
        ..delta
    };
    assert!(store.add_usage(&[negative]).is_err());
    assert_eq!(usage(store, KEY, PERIOD, now).spent_micro_usd, 44);
}

/// Deleting a key deletes its ledgers, its holds and its rate windows; the principal's budget
/// keeps what the key's calls spent and still hold.
pub fn gateway_key_delete_forgets_its_budget_and_rates<S: GatewayStore>(store: &S) {
    let now = WINDOW + 15_500;
    store.create_gateway_key(&gateway_key("gk-1")).unwrap();
    let with_rate = |hold: &str| {
        let mut r = reservation(hold, scopes(1_000), 100, now);
        r.rate = Some(rate("gk-1", WINDOW, Some(2), None, 1));
        r
    };
    admit(store, &with_rate("d1"));
    store
        .settle(&settlement("d1", 60, 1, 1), &scopes(1_000), None)
        .unwrap();
    admit(store, &with_rate("d2"));
    assert!(matches!(
        refused(store, &with_rate("d3")),
        Refused::Rpm { .. }
    ));

    store.delete_gateway_key("gk-1").unwrap();
    assert_eq!(store.get_gateway_key("gk-1").unwrap(), None);
    assert_eq!(usage(store, KEY, PERIOD, now), UsageRecord::default());
    let principal = usage(store, PRINCIPAL, PERIOD, now);
    assert_eq!(
        (principal.spent_micro_usd, principal.held_micro_usd),
        (60, 100)
    );

    // A key made again under that id starts with a fresh minute and budget.
    store.create_gateway_key(&gateway_key("gk-1")).unwrap();
    admit(store, &with_rate("d4"));
    assert_eq!(usage(store, KEY, PERIOD, now).held_micro_usd, 100);
}

/// Concurrent reserves admit exactly what fits: 32 threads each reserve a tenth of a cap of
/// which a quarter is left; exactly two are admitted, every other is refused with figures that
/// add up; 32 threads against `rpm` 5 get exactly 5 requests through.
pub fn gateway_concurrent_reserves_fit_the_budget<S: GatewayStore + Sync>(store: &S) {
    gateway_budget_holds_across_stores(&[store]);
}

/// [`gateway_concurrent_reserves_fit_the_budget`] with the threads spread over several stores
/// on one database (as several nodes).
pub fn gateway_budget_holds_across_stores<S: GatewayStore + Sync>(stores: &[&S]) {
    const THREADS: usize = 32;
    const CAP: i64 = 10_000_000;
    let now = WINDOW + 15_500;
    let first = stores[0];
    admit(first, &reservation("before", scopes(CAP), CAP * 3 / 4, now));
    first
        .settle(&settlement("before", CAP * 3 / 4, 1, 1), &scopes(CAP), None)
        .unwrap();

    let run = |make: &(dyn Fn(usize) -> Reservation + Sync)| -> Vec<Result<(), Refused>> {
        let start = Barrier::new(THREADS);
        std::thread::scope(|s| {
            let threads: Vec<_> = (0..THREADS)
                .map(|i| {
                    let store = stores[i % stores.len()];
                    let start = &start;
                    s.spawn(move || {
                        let r = make(i);
                        start.wait();
                        store.reserve(&r).unwrap()
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        })
    };

    let outcomes = run(&|i| reservation(&format!("call-{i}"), scopes(CAP), CAP / 10, now));
    let admitted = outcomes.iter().filter(|o| o.is_ok()).count();
    assert_eq!(admitted, 2, "a quarter of the cap left admits two tenths");
    for outcome in &outcomes {
        if let Err(refusal) = outcome {
            let Refused::Budget {
                scope,
                spent_micro_usd,
                held_micro_usd,
                cap_micro_usd,
            } = refusal
            else {
                panic!("refused by {refusal:?}");
            };
            assert_eq!((scope.as_str(), *cap_micro_usd), (KEY, CAP));
            assert_eq!(*spent_micro_usd, CAP * 3 / 4);
            assert!(
                *spent_micro_usd + *held_micro_usd + CAP / 10 > CAP,
                "{refusal:?}"
            );
        }
    }
    for store in stores {
        let key = usage(*store, KEY, PERIOD, now);
        assert_eq!(
            (key.spent_micro_usd, key.held_micro_usd),
            (CAP * 3 / 4, CAP / 5)
        );
    }

    let outcomes = run(&|i| {
        let mut r = reservation(
            &format!("rate-{i}"),
            vec![scope("key:gk-r", PERIOD, None)],
            1,
            now,
        );
        r.rate = Some(rate("gk-r", WINDOW, Some(5), None, 1));
        r
    });
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 5);
    assert!(outcomes
        .iter()
        .all(|o| matches!(o, Ok(()) | Err(Refused::Rpm { .. }))));
}
