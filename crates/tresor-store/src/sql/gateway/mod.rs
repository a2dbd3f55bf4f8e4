//! [`GatewayStore`] for every backend, written once: the AI gateway's configuration
//! ([`catalog`]: routes, keys, prices) and its budgets and rates ([`budget`]), each method one
//! transaction of the backend's ([`Transactions`]).
//!
//! Data path: the gateway looks a call's key up by its token's MAC, then [`GatewayStore::reserve`]s
//! the call's estimate in every budget it is charged to (and its rate window) before it goes
//! upstream, and [`GatewayStore::settle`]s what the call really cost when it ends. A
//! whole-store copy reads and writes the ledgers verbatim ([`ledger`]).

mod budget;
mod catalog;
pub(super) mod ledger;

use tresor_types::{AccountId, Timestamp};

use super::Transactions;
use crate::{
    BudgetScope, GatewayKeyRecord, GatewayStore, Missing, PriceRecord, PrincipalBudgetRecord,
    PrincipalKind, RateCharge, Refused, Reservation, Result, RouteRecord, Settlement, StoreError,
    UsageDelta, UsageRecord,
};

/// A refused input: the message names the field, never its value.
fn invalid(what: &str) -> StoreError {
    StoreError::Backend(format!("invalid gateway input: {what}"))
}

impl<S: Transactions> GatewayStore for S {
    fn create_route(&self, route: &RouteRecord) -> Result<()> {
        self.write_db(|db| catalog::create_route(db, route))
    }

    fn update_route(&self, route: &RouteRecord) -> Result<()> {
        self.write_db(|db| catalog::update_route(db, route))
    }

    fn get_route(&self, account: &AccountId, name: &str) -> Result<Option<RouteRecord>> {
        self.read_db(|db| catalog::get_route(db, account, name))
    }

    fn list_routes(&self, account: &AccountId) -> Result<Vec<RouteRecord>> {
        self.read_db(|db| catalog::list_routes(db, account))
    }

    fn delete_route(&self, account: &AccountId, name: &str) -> Result<()> {
        self.write_db(|db| catalog::delete_route(db, account, name))
    }

    fn create_gateway_key(&self, key: &GatewayKeyRecord) -> Result<()> {
        self.write_db(|db| catalog::create_gateway_key(db, key))
    }

    fn update_gateway_key(&self, key: &GatewayKeyRecord) -> Result<()> {
        self.write_db(|db| catalog::update_gateway_key(db, key))
    }

    fn get_gateway_key(&self, key_id: &str) -> Result<Option<GatewayKeyRecord>> {
        self.read_db(|db| catalog::get_gateway_key(db, key_id))
    }

    fn find_gateway_key_by_mac(&self, mac: &[u8]) -> Result<Option<GatewayKeyRecord>> {
        self.read_db(|db| catalog::find_gateway_key_by_mac(db, mac))
    }

    fn list_gateway_keys(
        &self,
        account: &AccountId,
        principal: Option<(PrincipalKind, &str)>,
    ) -> Result<Vec<GatewayKeyRecord>> {
        self.read_db(|db| catalog::list_gateway_keys(db, account, principal))
    }

    fn delete_gateway_key(&self, key_id: &str) -> Result<()> {
        self.write_db(|db| {
            // Its budget state first, in the order `reserve` locks it; then the key itself.
            budget::forget_key(db, key_id)?;
            let deleted = db.execute(
                super::sql!("DELETE FROM gateway_keys WHERE key_id = $1"),
                super::params![key_id],
            )?;
            if deleted == 0 {
                return Err(StoreError::NotFound(Missing::GatewayKey(key_id.to_owned())));
            }
            Ok(())
        })
    }

    fn put_price(&self, price: &PriceRecord) -> Result<()> {
        self.write_db(|db| catalog::put_price(db, price))
    }

    fn list_prices(&self, account: &AccountId) -> Result<Vec<PriceRecord>> {
        self.read_db(|db| catalog::list_prices(db, account))
    }

    fn delete_price(&self, account: &AccountId, model: &str) -> Result<()> {
        self.write_db(|db| catalog::delete_price(db, account, model))
    }

    fn put_principal_budget(&self, budget: &PrincipalBudgetRecord) -> Result<()> {
        self.write_db(|db| catalog::put_principal_budget(db, budget))
    }

    fn get_principal_budget(
        &self,
        account: &AccountId,
        kind: PrincipalKind,
        name: &str,
    ) -> Result<Option<PrincipalBudgetRecord>> {
        self.read_db(|db| catalog::get_principal_budget(db, account, kind, name))
    }

    fn list_principal_budgets(&self, account: &AccountId) -> Result<Vec<PrincipalBudgetRecord>> {
        self.read_db(|db| catalog::list_principal_budgets(db, account))
    }

    fn delete_principal_budget(
        &self,
        account: &AccountId,
        kind: PrincipalKind,
        name: &str,
    ) -> Result<()> {
        self.write_db(|db| catalog::delete_principal_budget(db, account, kind, name))
    }

    fn reserve(&self, reservation: &Reservation) -> Result<std::result::Result<(), Refused>> {
        self.write_db(|db| budget::reserve(db, reservation))
    }

    fn settle(
        &self,
        settlement: &Settlement,
        scopes: &[BudgetScope],
        rate: Option<&RateCharge>,
    ) -> Result<()> {
        // Read once: a rerun of the transaction writes the same marker time.
        let settled_at = Timestamp::now().0;
        self.write_db(|db| budget::settle(db, settlement, scopes, rate, settled_at))
    }

    fn add_usage(&self, deltas: &[UsageDelta]) -> Result<()> {
        self.write_db(|db| deltas.iter().try_for_each(|d| budget::add_usage(db, d)))
    }

    fn usage(&self, scope: &str, period_start: i64, now: Timestamp) -> Result<UsageRecord> {
        self.read_db(|db| budget::usage(db, scope, period_start, now))
    }
}
