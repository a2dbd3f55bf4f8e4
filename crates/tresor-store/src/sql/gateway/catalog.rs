//! The gateway's configuration: routes, gateway keys and price overrides, written once for both
//! backends. Every uniqueness rule (a route's name in its account, a key's id and MAC, a price's
//! model in its account) is a constraint, so a taken one is `Conflict` on both engines and the
//! transaction writes nothing.
//!
//! Values the schema constrains (provider, principal kind, status, budget period, non-negative
//! figures) are checked here first, so that a bad one is refused with a message naming the
//! field, never with an engine's constraint text.

use tresor_types::{AccountId, Timestamp};

use super::super::{params, sql, Db, Row};
use super::invalid;
use crate::codec::{millis, parse_account};
use crate::{
    GatewayKeyRecord, Missing, PriceRecord, PrincipalBudgetRecord, PrincipalKind, Result,
    RouteRecord, StoreError,
};

/// The form of a principal's name that key listings match on: IAM names compare ASCII
/// case-insensitively.
fn fold(name: &str) -> String {
    name.to_ascii_lowercase()
}

fn non_negative(value: Option<i64>, what: &str) -> Result<()> {
    match value {
        Some(n) if n < 0 => Err(invalid(&format!("{what} must not be negative"))),
        _ => Ok(()),
    }
}

// ---- routes ----

fn check_route(route: &RouteRecord) -> Result<()> {
    if route.name.is_empty() {
        return Err(invalid("a route needs a name"));
    }
    if !matches!(route.provider.as_str(), "openai" | "anthropic") {
        return Err(invalid("a route's provider must be openai or anthropic"));
    }
    Ok(())
}

macro_rules! route_columns {
    () => {
        "account, name, region, arn, provider, secret_id, base_url, allow_http, ca_pem,
         description, created, updated"
    };
}

fn route_from_row(row: &dyn Row) -> Result<RouteRecord> {
    Ok(RouteRecord {
        account: parse_account(&row.text(0)?)?,
        name: row.text(1)?,
        region: row.text(2)?,
        arn: row.text(3)?,
        provider: row.text(4)?,
        secret_id: row.text(5)?,
        base_url: row.text(6)?,
        allow_http: row.bool(7)?,
        ca_pem: row.opt_text(8)?,
        description: row.opt_text(9)?,
        created: Timestamp(row.int(10)?),
        updated: Timestamp(row.int(11)?),
    })
}

pub(crate) fn create_route(db: &mut dyn Db, route: &RouteRecord) -> Result<()> {
    check_route(route)?;
    db.execute(
        sql!(concat!(
            "INSERT INTO gateway_routes (",
            route_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        )),
        params![
            route.account.as_str(),
            &route.name,
            &route.region,
            &route.arn,
            &route.provider,
            &route.secret_id,
            &route.base_url,
            route.allow_http,
            &route.ca_pem,
            &route.description,
            millis(route.created),
            millis(route.updated),
        ],
    )?;
    Ok(())
}

/// Everything but the identity (account, name) and the creation time.
pub(crate) fn update_route(db: &mut dyn Db, route: &RouteRecord) -> Result<()> {
    check_route(route)?;
    let changed = db.execute(
        sql!(
            "UPDATE gateway_routes SET region = $3, arn = $4, provider = $5, secret_id = $6,
                 base_url = $7, allow_http = $8, ca_pem = $9, description = $10, updated = $11
             WHERE account = $1 AND name = $2"
        ),
        params![
            route.account.as_str(),
            &route.name,
            &route.region,
            &route.arn,
            &route.provider,
            &route.secret_id,
            &route.base_url,
            route.allow_http,
            &route.ca_pem,
            &route.description,
            millis(route.updated),
        ],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound(Missing::GatewayRoute(
            route.name.clone(),
        )));
    }
    Ok(())
}

pub(crate) fn get_route(
    db: &mut dyn Db,
    account: &AccountId,
    name: &str,
) -> Result<Option<RouteRecord>> {
    db.query_opt(
        sql!(concat!(
            "SELECT ",
            route_columns!(),
            " FROM gateway_routes WHERE account = $1 AND name = $2"
        )),
        params![account.as_str(), name],
        route_from_row,
    )
}

pub(crate) fn list_routes(db: &mut dyn Db, account: &AccountId) -> Result<Vec<RouteRecord>> {
    db.query(
        sql!(concat!(
            "SELECT ",
            route_columns!(),
            " FROM gateway_routes WHERE account = $1 ORDER BY name"
        )),
        params![account.as_str()],
        route_from_row,
    )
}

pub(crate) fn delete_route(db: &mut dyn Db, account: &AccountId, name: &str) -> Result<()> {
    let deleted = db.execute(
        sql!("DELETE FROM gateway_routes WHERE account = $1 AND name = $2"),
        params![account.as_str(), name],
    )?;
    if deleted == 0 {
        return Err(StoreError::NotFound(Missing::GatewayRoute(name.to_owned())));
    }
    Ok(())
}

// ---- keys ----

/// A stored principal kind (of a key or a budget).
fn kind_from_column(text: &str) -> Result<PrincipalKind> {
    match text {
        "user" => Ok(PrincipalKind::User),
        "role" => Ok(PrincipalKind::Role),
        _ => Err(StoreError::Backend(
            "a stored gateway principal kind is unknown".to_owned(),
        )),
    }
}

fn kind_column(kind: PrincipalKind) -> Result<&'static str> {
    match kind {
        PrincipalKind::User | PrincipalKind::Role => Ok(kind.as_str()),
        PrincipalKind::Group => Err(invalid(
            "a gateway key or budget belongs to a user or a role",
        )),
    }
}

/// The mutable fields, checked (the identity fields are checked by [`create_gateway_key`]).
fn check_key_limits(key: &GatewayKeyRecord) -> Result<()> {
    if !matches!(
        key.budget_period.as_str(),
        "day" | "week" | "month" | "total"
    ) {
        return Err(invalid(
            "a gateway key's budget period must be day, week, month or total",
        ));
    }
    if !matches!(key.status.as_str(), "Active" | "Inactive") {
        return Err(invalid("a gateway key's status must be Active or Inactive"));
    }
    non_negative(key.budget_micro_usd, "a gateway key's budget")?;
    non_negative(key.rpm, "a gateway key's requests per minute")?;
    non_negative(key.tpm, "a gateway key's tokens per minute")
}

fn list_to_json(list: &[String]) -> Result<String> {
    serde_json::to_string(list)
        .map_err(|_| StoreError::Backend("cannot encode a gateway key's list".to_owned()))
}

fn list_from_json(json: &str) -> Result<Vec<String>> {
    serde_json::from_str(json)
        .map_err(|_| StoreError::Backend("a stored gateway key's list is malformed".to_owned()))
}

macro_rules! key_columns {
    () => {
        "key_id, account, region, mac, principal_kind, principal_name, routes_json, models_json,
         budget_micro_usd, budget_period, rpm, tpm, expires, status, description, created"
    };
}

fn key_from_row(row: &dyn Row) -> Result<GatewayKeyRecord> {
    let principal_kind = kind_from_column(&row.text(4)?)?;
    Ok(GatewayKeyRecord {
        key_id: row.text(0)?,
        account: parse_account(&row.text(1)?)?,
        region: row.text(2)?,
        mac: row.blob(3)?,
        principal_kind,
        principal_name: row.text(5)?,
        routes: list_from_json(&row.text(6)?)?,
        models: list_from_json(&row.text(7)?)?,
        budget_micro_usd: row.opt_int(8)?,
        budget_period: row.text(9)?,
        rpm: row.opt_int(10)?,
        tpm: row.opt_int(11)?,
        expires: row.opt_int(12)?.map(Timestamp),
        status: row.text(13)?,
        description: row.opt_text(14)?,
        created: Timestamp(row.int(15)?),
    })
}

pub(crate) fn create_gateway_key(db: &mut dyn Db, key: &GatewayKeyRecord) -> Result<()> {
    if key.key_id.is_empty() || key.mac.is_empty() {
        return Err(invalid("a gateway key needs an id and a MAC"));
    }
    let kind = kind_column(key.principal_kind)?;
    check_key_limits(key)?;
    db.execute(
        sql!(
            "INSERT INTO gateway_keys (key_id, account, region, mac, principal_kind,
                 principal_name, principal_lower, routes_json, models_json, budget_micro_usd,
                 budget_period, rpm, tpm, expires, status, description, created)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        ),
        params![
            &key.key_id,
            key.account.as_str(),
            &key.region,
            &key.mac,
            kind,
            &key.principal_name,
            fold(&key.principal_name).as_str(),
            list_to_json(&key.routes)?.as_str(),
            list_to_json(&key.models)?.as_str(),
            key.budget_micro_usd,
            &key.budget_period,
            key.rpm,
            key.tpm,
            key.expires.map(millis),
            &key.status,
            &key.description,
            millis(key.created),
        ],
    )?;
    Ok(())
}

/// The fields a key's owner may change; its id, MAC, account, principal and creation stay.
pub(crate) fn update_gateway_key(db: &mut dyn Db, key: &GatewayKeyRecord) -> Result<()> {
    check_key_limits(key)?;
    let changed = db.execute(
        sql!(
            "UPDATE gateway_keys SET routes_json = $2, models_json = $3, budget_micro_usd = $4,
                 budget_period = $5, rpm = $6, tpm = $7, expires = $8, status = $9,
                 description = $10
             WHERE key_id = $1"
        ),
        params![
            &key.key_id,
            list_to_json(&key.routes)?.as_str(),
            list_to_json(&key.models)?.as_str(),
            key.budget_micro_usd,
            &key.budget_period,
            key.rpm,
            key.tpm,
            key.expires.map(millis),
            &key.status,
            &key.description,
        ],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound(Missing::GatewayKey(
            key.key_id.clone(),
        )));
    }
    Ok(())
}

pub(crate) fn get_gateway_key(db: &mut dyn Db, key_id: &str) -> Result<Option<GatewayKeyRecord>> {
    db.query_opt(
        sql!(concat!(
            "SELECT ",
            key_columns!(),
            " FROM gateway_keys WHERE key_id = $1"
        )),
        params![key_id],
        key_from_row,
    )
}

pub(crate) fn find_gateway_key_by_mac(
    db: &mut dyn Db,
    mac: &[u8],
) -> Result<Option<GatewayKeyRecord>> {
    db.query_opt(
        sql!(concat!(
            "SELECT ",
            key_columns!(),
            " FROM gateway_keys WHERE mac = $1"
        )),
        params![mac],
        key_from_row,
    )
}

pub(crate) fn list_gateway_keys(
    db: &mut dyn Db,
    account: &AccountId,
    principal: Option<(PrincipalKind, &str)>,
) -> Result<Vec<GatewayKeyRecord>> {
    match principal {
        None => db.query(
            sql!(concat!(
                "SELECT ",
                key_columns!(),
                " FROM gateway_keys WHERE account = $1 ORDER BY key_id"
            )),
            params![account.as_str()],
            key_from_row,
        ),
        Some((kind, name)) => db.query(
            sql!(concat!(
                "SELECT ",
                key_columns!(),
                " FROM gateway_keys
                  WHERE account = $1 AND principal_kind = $2 AND principal_lower = $3
                  ORDER BY key_id"
            )),
            params![account.as_str(), kind.as_str(), fold(name).as_str()],
            key_from_row,
        ),
    }
}

// ---- prices ----

fn check_price(price: &PriceRecord) -> Result<()> {
    if price.model.is_empty() {
        return Err(invalid("a price needs a model"));
    }
    non_negative(Some(price.input_micro_per_mtok), "an input price")?;
    non_negative(Some(price.output_micro_per_mtok), "an output price")?;
    non_negative(price.cached_input_micro_per_mtok, "a cached input price")
}

pub(crate) fn put_price(db: &mut dyn Db, price: &PriceRecord) -> Result<()> {
    check_price(price)?;
    db.execute(
        sql!(
            "INSERT INTO gateway_prices (account, model, input_micro_per_mtok,
                 output_micro_per_mtok, cached_input_micro_per_mtok, updated)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (account, model) DO UPDATE SET
                 input_micro_per_mtok = excluded.input_micro_per_mtok,
                 output_micro_per_mtok = excluded.output_micro_per_mtok,
                 cached_input_micro_per_mtok = excluded.cached_input_micro_per_mtok,
                 updated = excluded.updated"
        ),
        params![
            price.account.as_str(),
            &price.model,
            price.input_micro_per_mtok,
            price.output_micro_per_mtok,
            price.cached_input_micro_per_mtok,
            millis(price.updated),
        ],
    )?;
    Ok(())
}

pub(crate) fn list_prices(db: &mut dyn Db, account: &AccountId) -> Result<Vec<PriceRecord>> {
    db.query(
        sql!(
            "SELECT account, model, input_micro_per_mtok, output_micro_per_mtok,
                 cached_input_micro_per_mtok, updated
             FROM gateway_prices WHERE account = $1 ORDER BY model"
        ),
        params![account.as_str()],
        |row| {
            Ok(PriceRecord {
                account: parse_account(&row.text(0)?)?,
                model: row.text(1)?,
                input_micro_per_mtok: row.int(2)?,
                output_micro_per_mtok: row.int(3)?,
                cached_input_micro_per_mtok: row.opt_int(4)?,
                updated: Timestamp(row.int(5)?),
            })
        },
    )
}

pub(crate) fn delete_price(db: &mut dyn Db, account: &AccountId, model: &str) -> Result<()> {
    let deleted = db.execute(
        sql!("DELETE FROM gateway_prices WHERE account = $1 AND model = $2"),
        params![account.as_str(), model],
    )?;
    if deleted == 0 {
        return Err(StoreError::NotFound(Missing::Price(model.to_owned())));
    }
    Ok(())
}

// ---- budgets of users and roles ----

fn check_principal_budget(b: &PrincipalBudgetRecord) -> Result<()> {
    if b.principal_name.is_empty() {
        return Err(invalid("a principal budget needs a principal name"));
    }
    non_negative(Some(b.budget_micro_usd), "a principal budget")?;
    if !matches!(b.budget_period.as_str(), "day" | "week" | "month" | "total") {
        return Err(invalid(
            "a principal budget's period must be day, week, month or total",
        ));
    }
    Ok(())
}

fn principal_budget_from_row(row: &dyn Row) -> Result<PrincipalBudgetRecord> {
    let principal_kind = kind_from_column(&row.text(1)?)?;
    Ok(PrincipalBudgetRecord {
        account: parse_account(&row.text(0)?)?,
        principal_kind,
        principal_name: row.text(2)?,
        budget_micro_usd: row.int(3)?,
        budget_period: row.text(4)?,
        updated: Timestamp(row.int(5)?),
    })
}

pub(crate) fn put_principal_budget(db: &mut dyn Db, b: &PrincipalBudgetRecord) -> Result<()> {
    check_principal_budget(b)?;
    db.execute(
        sql!(
            "INSERT INTO gateway_principal_budgets (account, principal_kind, principal_lower,
                 principal_name, budget_micro_usd, budget_period, updated)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (account, principal_kind, principal_lower) DO UPDATE SET
                 principal_name = excluded.principal_name,
                 budget_micro_usd = excluded.budget_micro_usd,
                 budget_period = excluded.budget_period,
                 updated = excluded.updated"
        ),
        params![
            b.account.as_str(),
            kind_column(b.principal_kind)?,
            fold(&b.principal_name).as_str(),
            &b.principal_name,
            b.budget_micro_usd,
            &b.budget_period,
            millis(b.updated),
        ],
    )?;
    Ok(())
}

pub(crate) fn get_principal_budget(
    db: &mut dyn Db,
    account: &AccountId,
    kind: PrincipalKind,
    name: &str,
) -> Result<Option<PrincipalBudgetRecord>> {
    db.query_opt(
        sql!(
            "SELECT account, principal_kind, principal_name, budget_micro_usd, budget_period,
                 updated
             FROM gateway_principal_budgets
             WHERE account = $1 AND principal_kind = $2 AND principal_lower = $3"
        ),
        params![account.as_str(), kind_column(kind)?, fold(name).as_str()],
        principal_budget_from_row,
    )
}

pub(crate) fn list_principal_budgets(
    db: &mut dyn Db,
    account: &AccountId,
) -> Result<Vec<PrincipalBudgetRecord>> {
    db.query(
        sql!(
            "SELECT account, principal_kind, principal_name, budget_micro_usd, budget_period,
                 updated
             FROM gateway_principal_budgets WHERE account = $1
             ORDER BY principal_kind, principal_lower"
        ),
        params![account.as_str()],
        principal_budget_from_row,
    )
}

pub(crate) fn delete_principal_budget(
    db: &mut dyn Db,
    account: &AccountId,
    kind: PrincipalKind,
    name: &str,
) -> Result<()> {
    let deleted = db.execute(
        sql!(
            "DELETE FROM gateway_principal_budgets
             WHERE account = $1 AND principal_kind = $2 AND principal_lower = $3"
        ),
        params![account.as_str(), kind_column(kind)?, fold(name).as_str()],
    )?;
    if deleted == 0 {
        return Err(StoreError::NotFound(Missing::PrincipalBudget {
            kind,
            name: name.to_owned(),
        }));
    }
    Ok(())
}
