//! The listings behind [`Transfer`]: what a whole-store copy reads, by id.

use tresor_types::AccountId;

use super::conn::Conn;
use super::{parse_account, parse_scope, PostgresStore};
use crate::{Result, Scope, StoreError, Transfer};

fn strings(c: &mut Conn, sql: &str) -> Result<Vec<String>> {
    c.query(sql, &[])?
        .iter()
        .map(|row| row.try_get(0).map_err(StoreError::from))
        .collect()
}

impl Transfer for PostgresStore {
    fn all_meta(&self) -> Result<Vec<(String, Vec<u8>)>> {
        self.read(|c| {
            c.query("SELECT key, value FROM meta ORDER BY key", &[])?
                .iter()
                .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
                .collect()
        })
    }

    fn access_key_ids(&self) -> Result<Vec<String>> {
        self.read(|c| {
            strings(
                c,
                "SELECT access_key_id FROM access_keys ORDER BY access_key_id",
            )
        })
    }

    fn kms_key_ids(&self) -> Result<Vec<(Scope, String)>> {
        self.read(|c| {
            c.query(
                "SELECT account, region, key_id FROM kms_keys ORDER BY account, region, key_id",
                &[],
            )?
            .iter()
            .map(|row| {
                let account: String = row.try_get(0)?;
                let region: String = row.try_get(1)?;
                Ok((parse_scope(&account, &region)?, row.try_get(2)?))
            })
            .collect()
        })
    }

    fn secret_arns(&self) -> Result<Vec<String>> {
        self.read(|c| {
            strings(
                c,
                "SELECT arn FROM secrets ORDER BY account, region, name, arn",
            )
        })
    }

    fn identity_accounts(&self) -> Result<Vec<AccountId>> {
        self.read(|c| {
            strings(
                c,
                "SELECT account FROM users UNION SELECT account FROM roles
                 UNION SELECT account FROM managed_policies ORDER BY 1",
            )?
            .iter()
            .map(|a| parse_account(a))
            .collect()
        })
    }

    fn is_empty(&self) -> Result<bool> {
        self.read(|c| {
            let any: bool = c
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM meta) OR EXISTS (SELECT 1 FROM access_keys)
                         OR EXISTS (SELECT 1 FROM kms_keys) OR EXISTS (SELECT 1 FROM secrets)
                         OR EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM roles)
                         OR EXISTS (SELECT 1 FROM managed_policies)
                         OR EXISTS (SELECT 1 FROM inline_policies)
                         OR EXISTS (SELECT 1 FROM audit_records)
                         OR EXISTS (SELECT 1 FROM audit_checkpoints)",
                    &[],
                )?
                .try_get(0)?;
            Ok(!any)
        })
    }
}
