//! Budgets and rates: reserve-then-settle over the ledgers, written once for both backends.
//!
//! Tables: `gateway_ledger` holds what each (scope, period) spent and used; `gateway_holds` one
//! row per (call, scope) with the estimate and its lease; `gateway_settled` the calls already
//! settled; `gateway_rate` one row per (key, minute).
//!
//! Concurrency. SQLite has one writer, so each operation is serial. On PostgreSQL writes run
//! at READ COMMITTED, concurrently: [`reserve`] first makes sure every ledger row of the call
//! exists (an upsert that does nothing if it does), then locks them with `FOR UPDATE`, then
//! reads the live holds. Any other reserve or settle of a scope waits for that lock, and each
//! statement after it sees what the previous holder committed, so `spent + held` is never
//! stale when it is compared with the cap. Every operation takes the locks in one order:
//! ledger rows by (scope, period), then hold rows, then the rate row; two calls therefore
//! never wait for each other in a cycle (a deadlock would still only cost a rerun).
//!
//! Idempotence. [`settle`] first records the hold id in `gateway_settled`; if it was there,
//! the call was billed already and nothing else happens. Markers are kept a day (by the
//! store's clock: a settlement carries no time of its own), long past any retry of a call;
//! [`reserve`] refuses a hold id that is held or settled (`Conflict`).

use std::collections::{BTreeSet, HashMap};

use tresor_types::Timestamp;

use super::super::{params, sql, Db};
use super::invalid;
use crate::codec::millis;
use crate::{
    BudgetScope, RateCharge, Refused, Reservation, Result, Settlement, StoreError, UsageDelta,
    UsageRecord,
};

/// How long a settled hold id is remembered, in milliseconds.
const SETTLED_RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

/// A rate window's length, in milliseconds.
const WINDOW_MS: i64 = 60_000;

/// The ledger scope of a gateway key.
pub(crate) fn key_scope(key_id: &str) -> String {
    format!("key:{key_id}")
}

fn check_reservation(r: &Reservation) -> Result<()> {
    if r.hold_id.is_empty() {
        return Err(invalid("a reservation needs a hold id"));
    }
    if r.amount_micro_usd < 0 {
        return Err(invalid("a reservation's amount must not be negative"));
    }
    let mut names = BTreeSet::new();
    for scope in &r.scopes {
        if !names.insert(scope.scope.as_str()) {
            return Err(invalid("a reservation names a scope twice"));
        }
        if scope.cap_micro_usd.is_some_and(|cap| cap < 0) {
            return Err(invalid("a budget cap must not be negative"));
        }
    }
    if let Some(rate) = &r.rate {
        if rate.tokens < 0 {
            return Err(invalid("a rate charge's tokens must not be negative"));
        }
        if rate.window_start.rem_euclid(WINDOW_MS) != 0 {
            return Err(invalid(
                "a rate window must start on a whole minute (a multiple of 60 000 ms)",
            ));
        }
    }
    Ok(())
}

fn check_settlement(s: &Settlement) -> Result<()> {
    if s.hold_id.is_empty() {
        return Err(invalid("a settlement needs a hold id"));
    }
    if s.cost_micro_usd < 0 || s.input_tokens < 0 || s.output_tokens < 0 || s.requests < 0 {
        return Err(invalid("a settlement's figures must not be negative"));
    }
    Ok(())
}

/// Make sure the ledger row of `scope` in `period_start` exists, lock it (PostgreSQL), and
/// answer what it spent.
fn lock_ledger(db: &mut dyn Db, scope: &str, period_start: i64) -> Result<i64> {
    db.execute(
        sql!(
            "INSERT INTO gateway_ledger
                 (scope, period_start, spent_micro_usd, requests, input_tokens, output_tokens)
             VALUES ($1, $2, 0, 0, 0, 0)
             ON CONFLICT DO NOTHING"
        ),
        params![scope, period_start],
    )?;
    db.query_one(
        sql!(
            pg: "SELECT spent_micro_usd FROM gateway_ledger
                 WHERE scope = $1 AND period_start = $2 FOR UPDATE",
            lite: "SELECT spent_micro_usd FROM gateway_ledger
                   WHERE scope = $1 AND period_start = $2",
        ),
        params![scope, period_start],
        |row| row.int(0),
    )
}

/// What the live holds of `scope` in `period_start` add up to at `now`.
fn live_held(db: &mut dyn Db, scope: &str, period_start: i64, now: i64) -> Result<i64> {
    db.query_one(
        sql!(
            "SELECT CAST(COALESCE(SUM(amount_micro_usd), 0) AS BIGINT) FROM gateway_holds
             WHERE scope = $1 AND period_start = $2 AND lease_until > $3"
        ),
        params![scope, period_start, now],
        |row| row.int(0),
    )
}

/// Charge one request and `charge.tokens` to the key's minute, unless that passes its `rpm`
/// or `tpm`; older minutes of the key are dropped.
fn charge_rate(db: &mut dyn Db, charge: &RateCharge, now: i64) -> Result<Option<Refused>> {
    db.execute(
        sql!("DELETE FROM gateway_rate WHERE key_id = $1 AND window_start < $2"),
        params![&charge.key_id, charge.window_start],
    )?;
    db.execute(
        sql!(
            "INSERT INTO gateway_rate (key_id, window_start, requests, tokens)
             VALUES ($1, $2, 0, 0)
             ON CONFLICT DO NOTHING"
        ),
        params![&charge.key_id, charge.window_start],
    )?;
    let (requests, tokens) = db.query_one(
        sql!(
            pg: "SELECT requests, tokens FROM gateway_rate
                 WHERE key_id = $1 AND window_start = $2 FOR UPDATE",
            lite: "SELECT requests, tokens FROM gateway_rate
                   WHERE key_id = $1 AND window_start = $2",
        ),
        params![&charge.key_id, charge.window_start],
        |row| Ok((row.int(0)?, row.int(1)?)),
    )?;
    let retry_after_secs = seconds_to_window_end(charge.window_start, now);
    if charge.rpm.is_some_and(|rpm| requests >= rpm) {
        return Ok(Some(Refused::Rpm { retry_after_secs }));
    }
    if charge
        .tpm
        .is_some_and(|tpm| tokens.saturating_add(charge.tokens) > tpm)
    {
        return Ok(Some(Refused::Tpm { retry_after_secs }));
    }
    db.execute(
        sql!(
            "UPDATE gateway_rate SET requests = requests + 1, tokens = tokens + $3
             WHERE key_id = $1 AND window_start = $2"
        ),
        params![&charge.key_id, charge.window_start, charge.tokens],
    )?;
    Ok(None)
}

/// Whole seconds until the minute starting at `window_start` ends, rounded up, at least 1 (a
/// client told to retry after 0 seconds retries at once, into the same refusal).
fn seconds_to_window_end(window_start: i64, now: i64) -> u64 {
    let left_ms = window_start.saturating_add(WINDOW_MS).saturating_sub(now);
    let secs = left_ms.saturating_add(999).div_euclid(1000);
    u64::try_from(secs).unwrap_or(0).max(1)
}

pub(crate) fn reserve(
    db: &mut dyn Db,
    r: &Reservation,
) -> Result<std::result::Result<(), Refused>> {
    check_reservation(r)?;
    let taken = db.exists(
        sql!(
            "SELECT 1 FROM gateway_holds WHERE hold_id = $1
             UNION ALL SELECT 1 FROM gateway_settled WHERE hold_id = $1"
        ),
        params![&r.hold_id],
    )?;
    if taken {
        return Err(StoreError::Conflict);
    }
    let now = millis(r.now);

    // Lock in one order (see the module comment); scope names are distinct (checked above).
    let mut ordered: Vec<&BudgetScope> = r.scopes.iter().collect();
    ordered.sort_by(|a, b| a.scope.cmp(&b.scope));
    let mut spent = HashMap::new();
    for scope in &ordered {
        let amount = lock_ledger(db, &scope.scope, scope.period_start)?;
        spent.insert(scope.scope.as_str(), amount);
    }
    for scope in &ordered {
        db.execute(
            sql!("DELETE FROM gateway_holds WHERE scope = $1 AND lease_until <= $2"),
            params![&scope.scope, now],
        )?;
    }

    // Budgets first: a spent budget is the refusal that waiting a minute does not cure.
    for scope in &r.scopes {
        let Some(cap) = scope.cap_micro_usd else {
            continue;
        };
        let spent = spent.get(scope.scope.as_str()).copied().unwrap_or(0);
        let held = live_held(db, &scope.scope, scope.period_start, now)?;
        if spent
            .saturating_add(held)
            .saturating_add(r.amount_micro_usd)
            > cap
        {
            return Ok(Err(Refused::Budget {
                scope: scope.scope.clone(),
                spent_micro_usd: spent,
                held_micro_usd: held,
                cap_micro_usd: cap,
            }));
        }
    }
    if let Some(charge) = &r.rate {
        if let Some(refused) = charge_rate(db, charge, now)? {
            return Ok(Err(refused));
        }
    }
    for scope in &ordered {
        db.execute(
            sql!(
                "INSERT INTO gateway_holds
                     (hold_id, scope, period_start, amount_micro_usd, lease_until)
                 VALUES ($1, $2, $3, $4, $5)"
            ),
            params![
                &r.hold_id,
                &scope.scope,
                scope.period_start,
                r.amount_micro_usd,
                millis(r.lease_until),
            ],
        )?;
    }
    Ok(Ok(()))
}

/// `settled_at` is the store's clock (milliseconds): when the marker was written.
/// Add a call's use to a ledger without a hold (see `GatewayStore::add_usage`).
pub(crate) fn add_usage(db: &mut dyn Db, d: &UsageDelta) -> Result<()> {
    if d.cost_micro_usd < 0 || d.input_tokens < 0 || d.output_tokens < 0 || d.requests < 0 {
        return Err(invalid("a usage delta's figures must not be negative"));
    }
    db.execute(
        sql!(
            "INSERT INTO gateway_ledger
                 (scope, period_start, spent_micro_usd, requests, input_tokens, output_tokens)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (scope, period_start) DO UPDATE SET
                 spent_micro_usd = gateway_ledger.spent_micro_usd + excluded.spent_micro_usd,
                 requests = gateway_ledger.requests + excluded.requests,
                 input_tokens = gateway_ledger.input_tokens + excluded.input_tokens,
                 output_tokens = gateway_ledger.output_tokens + excluded.output_tokens"
        ),
        params![
            &d.scope,
            d.period_start,
            d.cost_micro_usd,
            d.requests,
            d.input_tokens,
            d.output_tokens
        ],
    )?;
    Ok(())
}

pub(crate) fn settle(
    db: &mut dyn Db,
    s: &Settlement,
    scopes: &[BudgetScope],
    rate: Option<&RateCharge>,
    settled_at: i64,
) -> Result<()> {
    check_settlement(s)?;
    // A few old markers per settle, skipping those another settle is deleting: concurrent
    // settles never queue behind one another for the clean-up.
    db.execute(
        sql!(
            pg: "DELETE FROM gateway_settled WHERE hold_id IN (
                     SELECT hold_id FROM gateway_settled WHERE settled_at < $1
                     LIMIT 16 FOR UPDATE SKIP LOCKED)",
            lite: "DELETE FROM gateway_settled WHERE hold_id IN (
                       SELECT hold_id FROM gateway_settled WHERE settled_at < $1 LIMIT 16)",
        ),
        params![settled_at.saturating_sub(SETTLED_RETENTION_MS)],
    )?;
    let first = db.execute(
        sql!(
            "INSERT INTO gateway_settled (hold_id, settled_at) VALUES ($1, $2)
             ON CONFLICT DO NOTHING"
        ),
        params![&s.hold_id, settled_at],
    )?;
    if first == 0 {
        return Ok(());
    }

    // Bill the period each hold was made in; scopes whose hold is gone (its lease ran out and a
    // reserve forgot it), in the period the caller names.
    let mut targets: BTreeSet<(String, i64)> = db
        .query(
            sql!("SELECT scope, period_start FROM gateway_holds WHERE hold_id = $1"),
            params![&s.hold_id],
            |row| Ok((row.text(0)?, row.int(1)?)),
        )?
        .into_iter()
        .collect();
    for scope in scopes {
        if !targets.iter().any(|(name, _)| *name == scope.scope) {
            targets.insert((scope.scope.clone(), scope.period_start));
        }
    }
    // In (scope, period) order, as `reserve` locks them.
    for (scope, period_start) in &targets {
        db.execute(
            sql!(
                "INSERT INTO gateway_ledger
                     (scope, period_start, spent_micro_usd, requests, input_tokens, output_tokens)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (scope, period_start) DO UPDATE SET
                     spent_micro_usd = gateway_ledger.spent_micro_usd + excluded.spent_micro_usd,
                     requests = gateway_ledger.requests + excluded.requests,
                     input_tokens = gateway_ledger.input_tokens + excluded.input_tokens,
                     output_tokens = gateway_ledger.output_tokens + excluded.output_tokens"
            ),
            params![
                scope.as_str(),
                *period_start,
                s.cost_micro_usd,
                s.requests,
                s.input_tokens,
                s.output_tokens,
            ],
        )?;
    }
    db.execute(
        sql!("DELETE FROM gateway_holds WHERE hold_id = $1"),
        params![&s.hold_id],
    )?;
    if let Some(charge) = rate {
        let actual = s.input_tokens.saturating_add(s.output_tokens);
        db.execute(
            sql!(
                "UPDATE gateway_rate SET tokens = tokens + $3
                 WHERE key_id = $1 AND window_start = $2"
            ),
            params![
                &charge.key_id,
                charge.window_start,
                actual.saturating_sub(charge.tokens),
            ],
        )?;
    }
    Ok(())
}

pub(crate) fn usage(
    db: &mut dyn Db,
    scope: &str,
    period_start: i64,
    now: Timestamp,
) -> Result<UsageRecord> {
    let mut usage = db
        .query_opt(
            sql!(
                "SELECT requests, input_tokens, output_tokens, spent_micro_usd
                 FROM gateway_ledger WHERE scope = $1 AND period_start = $2"
            ),
            params![scope, period_start],
            |row| {
                Ok(UsageRecord {
                    requests: row.int(0)?,
                    input_tokens: row.int(1)?,
                    output_tokens: row.int(2)?,
                    spent_micro_usd: row.int(3)?,
                    held_micro_usd: 0,
                })
            },
        )?
        .unwrap_or_default();
    usage.held_micro_usd = live_held(db, scope, period_start, millis(now))?;
    Ok(usage)
}

/// Forget everything a key's budget and rate kept: its ledgers first, then its holds, then its
/// rate windows (the order `reserve` locks them in).
pub(crate) fn forget_key(db: &mut dyn Db, key_id: &str) -> Result<()> {
    let scope = key_scope(key_id);
    db.execute(
        sql!("DELETE FROM gateway_ledger WHERE scope = $1"),
        params![scope.as_str()],
    )?;
    db.execute(
        sql!("DELETE FROM gateway_holds WHERE scope = $1"),
        params![scope.as_str()],
    )?;
    db.execute(
        sql!("DELETE FROM gateway_rate WHERE key_id = $1"),
        params![key_id],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_the_window_end_and_is_at_least_one() {
        assert_eq!(seconds_to_window_end(60_000, 60_000), 60);
        assert_eq!(seconds_to_window_end(60_000, 60_001), 60);
        assert_eq!(seconds_to_window_end(60_000, 119_000), 1);
        assert_eq!(seconds_to_window_end(60_000, 119_999), 1);
        assert_eq!(seconds_to_window_end(60_000, 120_000), 1);
        assert_eq!(seconds_to_window_end(60_000, 500_000), 1);
        assert_eq!(seconds_to_window_end(60_000, 90_500), 30);
    }
}
