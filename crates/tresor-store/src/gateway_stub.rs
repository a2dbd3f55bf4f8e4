//! Temporary: lets the core compile until the SQL implementation lands. Deleted at merge.
#![allow(unused_variables)]
use tresor_types::{AccountId, Timestamp};

use crate::*;

fn todo<T>() -> Result<T> {
    Err(StoreError::Backend("gateway store not implemented yet".to_owned()))
}

impl GatewayStore for Backend {
    fn create_route(&self, route: &RouteRecord) -> Result<()> { todo() }
    fn update_route(&self, route: &RouteRecord) -> Result<()> { todo() }
    fn get_route(&self, account: &AccountId, name: &str) -> Result<Option<RouteRecord>> { todo() }
    fn list_routes(&self, account: &AccountId) -> Result<Vec<RouteRecord>> { todo() }
    fn delete_route(&self, account: &AccountId, name: &str) -> Result<()> { todo() }
    fn create_gateway_key(&self, key: &GatewayKeyRecord) -> Result<()> { todo() }
    fn update_gateway_key(&self, key: &GatewayKeyRecord) -> Result<()> { todo() }
    fn get_gateway_key(&self, key_id: &str) -> Result<Option<GatewayKeyRecord>> { todo() }
    fn find_gateway_key_by_mac(&self, mac: &[u8]) -> Result<Option<GatewayKeyRecord>> { todo() }
    fn list_gateway_keys(&self, account: &AccountId, principal: Option<(PrincipalKind, &str)>) -> Result<Vec<GatewayKeyRecord>> { todo() }
    fn delete_gateway_key(&self, key_id: &str) -> Result<()> { todo() }
    fn put_price(&self, price: &PriceRecord) -> Result<()> { todo() }
    fn list_prices(&self, account: &AccountId) -> Result<Vec<PriceRecord>> { todo() }
    fn delete_price(&self, account: &AccountId, model: &str) -> Result<()> { todo() }
    fn reserve(&self, reservation: &Reservation) -> Result<std::result::Result<(), Refused>> { todo() }
    fn settle(&self, settlement: &Settlement, scopes: &[BudgetScope], rate: Option<&RateCharge>) -> Result<()> { todo() }
    fn usage(&self, scope: &str, period_start: i64, now: Timestamp) -> Result<UsageRecord> { todo() }
}
