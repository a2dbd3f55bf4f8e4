//! The listings behind [`Transfer`]: what a whole-store copy reads, by id.

use rusqlite::Connection;
use tresor_types::AccountId;

use super::{parse_account, parse_scope, SqliteStore};
use crate::{Result, Scope, Transfer};

fn strings(conn: &Connection, sql: &str) -> Result<Vec<String>> {
    let out = conn
        .prepare(sql)?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(out)
}

impl Transfer for SqliteStore {
    fn all_meta(&self) -> Result<Vec<(String, Vec<u8>)>> {
        self.read(|tx| {
            let out = tx
                .prepare("SELECT key, value FROM meta ORDER BY key")?
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(out)
        })
    }

    fn access_key_ids(&self) -> Result<Vec<String>> {
        self.read(|tx| {
            strings(
                tx,
                "SELECT access_key_id FROM access_keys ORDER BY access_key_id",
            )
        })
    }

    fn kms_key_ids(&self) -> Result<Vec<(Scope, String)>> {
        self.read(|tx| {
            let rows = tx
                .prepare(
                    "SELECT account, region, key_id FROM kms_keys ORDER BY account, region, key_id",
                )?
                .query_map([], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(account, region, id)| Ok((parse_scope(&account, &region)?, id)))
                .collect()
        })
    }

    fn secret_arns(&self) -> Result<Vec<String>> {
        self.read(|tx| {
            strings(
                tx,
                "SELECT arn FROM secrets ORDER BY account, region, name, arn",
            )
        })
    }

    fn identity_accounts(&self) -> Result<Vec<AccountId>> {
        self.read(|tx| {
            strings(
                tx,
                "SELECT account FROM users UNION SELECT account FROM roles
                 UNION SELECT account FROM managed_policies ORDER BY 1",
            )?
            .iter()
            .map(|a| parse_account(a))
            .collect()
        })
    }

    fn is_empty(&self) -> Result<bool> {
        self.read_both(|state, trail| {
            let any_state: bool = state.query_row(
                "SELECT EXISTS (SELECT 1 FROM meta) OR EXISTS (SELECT 1 FROM access_keys)
                     OR EXISTS (SELECT 1 FROM kms_keys) OR EXISTS (SELECT 1 FROM secrets)
                     OR EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM roles)
                     OR EXISTS (SELECT 1 FROM managed_policies)
                     OR EXISTS (SELECT 1 FROM inline_policies)",
                [],
                |row| row.get(0),
            )?;
            let any_trail: bool = trail.query_row(
                "SELECT EXISTS (SELECT 1 FROM audit_records)
                     OR EXISTS (SELECT 1 FROM audit_checkpoints)",
                [],
                |row| row.get(0),
            )?;
            Ok(!any_state && !any_trail)
        })
    }
}
