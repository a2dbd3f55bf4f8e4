//! The listings behind [`Transfer`]: what a whole-store copy reads, by id, written once for
//! both backends, and the one write no store trait has (a budget ledger, verbatim). Rotators
//! and their logs are found by scope and by rotator ARN, and read and written through
//! [`crate::RotationStore`].

use tresor_types::AccountId;

use super::gateway::ledger;
use super::{params, sql, Db, Transactions};
use crate::codec::{parse_account, parse_scope};
use crate::{AuditStore, LedgerRecord, Result, Scope, Transfer};

fn strings(db: &mut dyn Db, sql: super::Sql<'_>) -> Result<Vec<String>> {
    db.query(sql, params![], |row| row.text(0))
}

/// Whether the store's own tables hold anything. Every gateway table counts, the transient
/// ones (holds, settled markers, rate windows) too: a target where calls were made is not
/// empty, even though a copy would not carry them. So do rotators and their logs.
fn holds_state(db: &mut dyn Db) -> Result<bool> {
    db.exists(
        sql!(
            "SELECT 1 WHERE EXISTS (SELECT 1 FROM meta) OR EXISTS (SELECT 1 FROM access_keys)
                 OR EXISTS (SELECT 1 FROM kms_keys) OR EXISTS (SELECT 1 FROM secrets)
                 OR EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM roles)
                 OR EXISTS (SELECT 1 FROM managed_policies)
                 OR EXISTS (SELECT 1 FROM inline_policies)
                 OR EXISTS (SELECT 1 FROM gateway_routes)
                 OR EXISTS (SELECT 1 FROM gateway_keys)
                 OR EXISTS (SELECT 1 FROM gateway_prices)
                 OR EXISTS (SELECT 1 FROM gateway_principal_budgets)
                 OR EXISTS (SELECT 1 FROM gateway_ledger)
                 OR EXISTS (SELECT 1 FROM gateway_holds)
                 OR EXISTS (SELECT 1 FROM gateway_settled)
                 OR EXISTS (SELECT 1 FROM gateway_rate)
                 OR EXISTS (SELECT 1 FROM rotators)
                 OR EXISTS (SELECT 1 FROM rotator_logs)"
        ),
        params![],
    )
}

/// Whether the audit trail holds any record or checkpoint.
pub(crate) fn holds_trail(db: &mut dyn Db) -> Result<bool> {
    db.exists(
        sql!(
            "SELECT 1 WHERE EXISTS (SELECT 1 FROM audit_records)
                 OR EXISTS (SELECT 1 FROM audit_checkpoints)"
        ),
        params![],
    )
}

impl<S: Transactions + AuditStore> Transfer for S {
    fn all_meta(&self) -> Result<Vec<(String, Vec<u8>)>> {
        self.read_db(|db| {
            db.query(
                sql!("SELECT key, value FROM meta ORDER BY key"),
                params![],
                |row| Ok((row.text(0)?, row.blob(1)?)),
            )
        })
    }

    fn access_key_ids(&self) -> Result<Vec<String>> {
        self.read_db(|db| {
            strings(
                db,
                sql!("SELECT access_key_id FROM access_keys ORDER BY access_key_id"),
            )
        })
    }

    fn kms_key_ids(&self) -> Result<Vec<(Scope, String)>> {
        self.read_db(|db| {
            db.query(
                sql!(
                    "SELECT account, region, key_id FROM kms_keys
                     ORDER BY account, region, key_id"
                ),
                params![],
                |row| Ok((parse_scope(&row.text(0)?, &row.text(1)?)?, row.text(2)?)),
            )
        })
    }

    fn secret_arns(&self) -> Result<Vec<String>> {
        self.read_db(|db| {
            strings(
                db,
                sql!("SELECT arn FROM secrets ORDER BY account, region, name, arn"),
            )
        })
    }

    fn identity_accounts(&self) -> Result<Vec<AccountId>> {
        self.read_db(|db| {
            strings(
                db,
                sql!(
                    "SELECT account FROM users UNION SELECT account FROM roles
                     UNION SELECT account FROM managed_policies ORDER BY 1"
                ),
            )?
            .iter()
            .map(|a| parse_account(a))
            .collect()
        })
    }

    fn gateway_accounts(&self) -> Result<Vec<AccountId>> {
        self.read_db(|db| {
            strings(
                db,
                sql!(
                    "SELECT account FROM gateway_routes UNION SELECT account FROM gateway_keys
                     UNION SELECT account FROM gateway_prices
                     UNION SELECT account FROM gateway_principal_budgets ORDER BY 1"
                ),
            )?
            .iter()
            .map(|a| parse_account(a))
            .collect()
        })
    }

    fn gateway_ledgers(&self) -> Result<Vec<LedgerRecord>> {
        self.read_db(ledger::all_ledgers)
    }

    fn rotator_scopes(&self) -> Result<Vec<Scope>> {
        self.read_db(|db| {
            db.query(
                sql!("SELECT DISTINCT account, region FROM rotators ORDER BY account, region"),
                params![],
                |row| parse_scope(&row.text(0)?, &row.text(1)?),
            )
        })
    }

    fn rotator_log_arns(&self) -> Result<Vec<String>> {
        self.read_db(|db| {
            strings(
                db,
                sql!("SELECT DISTINCT rotator_arn FROM rotator_logs ORDER BY rotator_arn"),
            )
        })
    }

    fn import_gateway_ledger(&self, record: &LedgerRecord) -> Result<()> {
        self.write_db(|db| ledger::import_ledger(db, record))
    }

    fn is_empty(&self) -> Result<bool> {
        // One read transaction where the backend can share it (SQLite's reader holds both
        // files; PostgreSQL has one database).
        self.reading_db(|| Ok(!self.read_db(holds_state)? && !self.read_trail_db(holds_trail)?))
    }
}
