//! The budget ledgers as a whole-store copy ([`crate::Transfer`]) reads and writes them: every
//! (scope, period) row verbatim, so budgets do not reset when a store moves. The gateway itself
//! never writes a ledger this way; it goes through `settle`.

use super::super::{params, sql, Db};
use super::invalid;
use crate::{LedgerRecord, Result};

/// Every ledger, by (scope, period).
pub(crate) fn all_ledgers(db: &mut dyn Db) -> Result<Vec<LedgerRecord>> {
    db.query(
        sql!(
            "SELECT scope, period_start, spent_micro_usd, requests, input_tokens, output_tokens
             FROM gateway_ledger ORDER BY scope, period_start"
        ),
        params![],
        |row| {
            Ok(LedgerRecord {
                scope: row.text(0)?,
                period_start: row.int(1)?,
                spent_micro_usd: row.int(2)?,
                requests: row.int(3)?,
                input_tokens: row.int(4)?,
                output_tokens: row.int(5)?,
            })
        },
    )
}

/// Insert a ledger as it is (`Conflict` if its scope has one for that period). The table has
/// no CHECK of its own, so what `settle` can never write is refused here.
pub(crate) fn import_ledger(db: &mut dyn Db, ledger: &LedgerRecord) -> Result<()> {
    if ledger.scope.is_empty() {
        return Err(invalid("a budget ledger needs a scope"));
    }
    for (value, what) in [
        (
            ledger.spent_micro_usd,
            "a budget ledger's spent amount must not be negative",
        ),
        (
            ledger.requests,
            "a budget ledger's requests must not be negative",
        ),
        (
            ledger.input_tokens,
            "a budget ledger's input tokens must not be negative",
        ),
        (
            ledger.output_tokens,
            "a budget ledger's output tokens must not be negative",
        ),
    ] {
        if value < 0 {
            return Err(invalid(what));
        }
    }
    db.execute(
        sql!(
            "INSERT INTO gateway_ledger
                 (scope, period_start, spent_micro_usd, requests, input_tokens, output_tokens)
             VALUES ($1, $2, $3, $4, $5, $6)"
        ),
        params![
            &ledger.scope,
            ledger.period_start,
            ledger.spent_micro_usd,
            ledger.requests,
            ledger.input_tokens,
            ledger.output_tokens,
        ],
    )?;
    Ok(())
}
