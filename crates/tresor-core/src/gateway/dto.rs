//! The admin API's request and response shapes (PascalCase, as the other JSON services),
//! and their model checks.

use serde::{Deserialize, Serialize};
use tresor_types::{epoch, epoch_opt, Timestamp};

use crate::validate::{Validate, Validator};
use crate::CoreError;

/// Providers a route can speak.
pub const PROVIDERS: [&str; 2] = ["openai", "anthropic"];
/// Budget periods.
pub const PERIODS: [&str; 4] = ["day", "week", "month", "total"];
/// Longest budget: one billion USD (a typo guard, not a policy).
const MAX_BUDGET_USD: f64 = 1e9;
/// Longest key life: ten years.
const MAX_EXPIRES_IN: i64 = 10 * 366 * 24 * 3600;
/// Largest extra CA bundle a route keeps.
const MAX_CA_PEM: usize = 64 * 1024;

/// A route or principal name: 1–64 of `[A-Za-z0-9_.-]`.
fn check_name(v: &mut Validator, value: Option<&str>, at: &str) {
    v.length(value, at, 1, 64);
    v.chars(value, at, "[A-Za-z0-9_.-]+", |c| {
        c.is_ascii_alphanumeric() || "_.-".contains(c)
    });
}

fn check_base_url(v: &mut Validator, value: Option<&str>) {
    v.length(value, "baseUrl", 1, 2048);
    if let Some(url) = value {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            v.constraint(
                Some(url),
                "baseUrl",
                "Member must be an http:// or https:// URL",
            );
        }
    }
}

fn check_models(v: &mut Validator, models: Option<&[String]>) {
    v.count(models, "models", 0, 100);
    for m in models.unwrap_or_default() {
        v.length(Some(m), "models.member", 1, 256);
    }
}

fn check_routes(v: &mut Validator, routes: Option<&[String]>) {
    v.count(routes, "routes", 1, 100);
    for r in routes.unwrap_or_default() {
        if r != "*" {
            check_name(v, Some(r), "routes.member");
        }
    }
}

fn check_budget(v: &mut Validator, usd: Option<f64>, period: Option<&str>) {
    if let Some(usd) = usd {
        if !(0.0..=MAX_BUDGET_USD).contains(&usd) || usd.is_nan() {
            v.constraint(None, "budgetUsd", "Member must be between 0 and 1000000000");
        }
    }
    v.one_of(period, "budgetPeriod", &PERIODS);
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateRouteRequest {
    pub name: Option<String>,
    pub provider: Option<String>,
    pub secret_id: Option<String>,
    pub base_url: Option<String>,
    pub allow_http: Option<bool>,
    pub ca_certificate_pem: Option<String>,
    pub description: Option<String>,
}

impl Validate for CreateRouteRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.required(&self.name, "name");
        check_name(v, self.name.as_deref(), "name");
        v.required(&self.provider, "provider");
        v.one_of(self.provider.as_deref(), "provider", &PROVIDERS);
        v.required(&self.secret_id, "secretId");
        v.length(self.secret_id.as_deref(), "secretId", 1, 2048);
        check_base_url(v, self.base_url.as_deref());
        v.length(
            self.ca_certificate_pem.as_deref(),
            "caCertificatePem",
            1,
            MAX_CA_PEM,
        );
        v.length(self.description.as_deref(), "description", 0, 2048);
        Ok(())
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateRouteRequest {
    pub name: Option<String>,
    pub secret_id: Option<String>,
    pub base_url: Option<String>,
    pub allow_http: Option<bool>,
    pub ca_certificate_pem: Option<String>,
    pub description: Option<String>,
}

impl Validate for UpdateRouteRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.required(&self.name, "name");
        check_name(v, self.name.as_deref(), "name");
        v.length(self.secret_id.as_deref(), "secretId", 1, 2048);
        check_base_url(v, self.base_url.as_deref());
        v.length(
            self.ca_certificate_pem.as_deref(),
            "caCertificatePem",
            0,
            MAX_CA_PEM,
        );
        v.length(self.description.as_deref(), "description", 0, 2048);
        Ok(())
    }
}

/// `GetRoute`, `DeleteRoute`.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct RouteNameRequest {
    pub name: Option<String>,
}

impl Validate for RouteNameRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.required(&self.name, "name");
        check_name(v, self.name.as_deref(), "name");
        Ok(())
    }
}

/// Requests without parameters (`ListRoutes`, `ListPrices`).
#[derive(Debug, Deserialize, Default)]
pub struct EmptyRequest {}

impl Validate for EmptyRequest {
    fn check(&self, _: &mut Validator) -> Result<(), CoreError> {
        Ok(())
    }
}

#[derive(Debug, Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct Route {
    pub name: String,
    pub arn: String,
    pub provider: String,
    pub secret_id: String,
    pub base_url: String,
    pub allow_http: bool,
    pub has_ca_certificate: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(serialize_with = "epoch")]
    pub created_date: Timestamp,
    #[serde(serialize_with = "epoch")]
    pub last_changed_date: Timestamp,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RouteResponse {
    pub route: Route,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRoutesResponse {
    pub routes: Vec<Route>,
}

#[derive(Debug, Serialize, Default)]
pub struct EmptyResponse {}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateKeyRequest {
    pub user_name: Option<String>,
    pub role_name: Option<String>,
    pub routes: Option<Vec<String>>,
    pub models: Option<Vec<String>>,
    pub budget_usd: Option<f64>,
    pub budget_period: Option<String>,
    pub rpm: Option<i64>,
    pub tpm: Option<i64>,
    pub expires_in_seconds: Option<i64>,
    pub description: Option<String>,
}

impl Validate for CreateKeyRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        if self.user_name.is_some() == self.role_name.is_some() {
            return Err(CoreError::InvalidParameter(
                "Specify exactly one of UserName and RoleName: the identity whose policies govern the key."
                    .to_owned(),
            ));
        }
        check_name(v, self.user_name.as_deref(), "userName");
        check_name(v, self.role_name.as_deref(), "roleName");
        v.required(&self.routes, "routes");
        check_routes(v, self.routes.as_deref());
        check_models(v, self.models.as_deref());
        check_budget(v, self.budget_usd, self.budget_period.as_deref());
        v.range(self.rpm, "rpm", 1, 1_000_000_000);
        v.range(self.tpm, "tpm", 1, 1_000_000_000_000);
        v.range(
            self.expires_in_seconds,
            "expiresInSeconds",
            60,
            MAX_EXPIRES_IN,
        );
        v.length(self.description.as_deref(), "description", 0, 2048);
        Ok(())
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateKeyRequest {
    pub key_id: Option<String>,
    pub status: Option<String>,
    pub routes: Option<Vec<String>>,
    pub models: Option<Vec<String>>,
    pub budget_usd: Option<f64>,
    pub budget_period: Option<String>,
    pub rpm: Option<i64>,
    pub tpm: Option<i64>,
    pub description: Option<String>,
}

impl Validate for UpdateKeyRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.required(&self.key_id, "keyId");
        v.length(self.key_id.as_deref(), "keyId", 1, 64);
        v.one_of(self.status.as_deref(), "status", &["Active", "Inactive"]);
        check_routes(v, self.routes.as_deref());
        check_models(v, self.models.as_deref());
        check_budget(v, self.budget_usd, self.budget_period.as_deref());
        v.range(self.rpm, "rpm", 1, 1_000_000_000);
        v.range(self.tpm, "tpm", 1, 1_000_000_000_000);
        v.length(self.description.as_deref(), "description", 0, 2048);
        Ok(())
    }
}

/// `GetKey`, `DeleteKey`, `GetKeyUsage`.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct KeyIdRequest {
    pub key_id: Option<String>,
}

impl Validate for KeyIdRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.required(&self.key_id, "keyId");
        v.length(self.key_id.as_deref(), "keyId", 1, 64);
        Ok(())
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListKeysRequest {
    pub user_name: Option<String>,
    pub role_name: Option<String>,
}

impl Validate for ListKeysRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        if self.user_name.is_some() && self.role_name.is_some() {
            return Err(CoreError::InvalidParameter(
                "Specify at most one of UserName and RoleName.".to_owned(),
            ));
        }
        check_name(v, self.user_name.as_deref(), "userName");
        check_name(v, self.role_name.as_deref(), "roleName");
        Ok(())
    }
}

#[derive(Debug, Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct KeyPrincipal {
    /// `User` or `Role`.
    #[serde(rename = "Type")]
    pub kind: String,
    pub name: String,
    pub arn: String,
}

#[derive(Debug, Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct GatewayKey {
    pub key_id: String,
    pub principal: KeyPrincipal,
    pub routes: Vec<String>,
    pub models: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget_usd: Option<f64>,
    pub budget_period: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpm: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tpm: Option<i64>,
    #[serde(serialize_with = "epoch_opt", skip_serializing_if = "Option::is_none")]
    pub expires_date: Option<Timestamp>,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(serialize_with = "epoch")]
    pub created_date: Timestamp,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GatewayKeyResponse {
    pub gateway_key: GatewayKey,
}

/// The one answer that carries a gateway key's token.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateKeyResponse {
    /// `tgk_…`, shown once.
    pub key: crate::gateway::keys::KeyToken,
    pub key_id: String,
    pub gateway_key: GatewayKey,
}

impl std::fmt::Debug for CreateKeyResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateKeyResponse")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeysResponse {
    pub gateway_keys: Vec<GatewayKey>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyUsageResponse {
    pub key_id: String,
    pub budget_period: String,
    #[serde(serialize_with = "epoch")]
    pub period_start: Timestamp,
    pub requests: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub spent_usd: f64,
    pub held_usd: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget_usd: Option<f64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct PutPriceRequest {
    pub model: Option<String>,
    pub input_per_million_usd: Option<f64>,
    pub output_per_million_usd: Option<f64>,
    pub cached_input_per_million_usd: Option<f64>,
}

fn check_price(v: &mut Validator, value: Option<f64>, at: &str) {
    if let Some(p) = value {
        if !(0.0..=1e6).contains(&p) || p.is_nan() {
            v.constraint(None, at, "Member must be between 0 and 1000000");
        }
    }
}

impl Validate for PutPriceRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.required(&self.model, "model");
        v.length(self.model.as_deref(), "model", 1, 256);
        v.required(&self.input_per_million_usd, "inputPerMillionUsd");
        v.required(&self.output_per_million_usd, "outputPerMillionUsd");
        check_price(v, self.input_per_million_usd, "inputPerMillionUsd");
        check_price(v, self.output_per_million_usd, "outputPerMillionUsd");
        check_price(
            v,
            self.cached_input_per_million_usd,
            "cachedInputPerMillionUsd",
        );
        Ok(())
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeletePriceRequest {
    pub model: Option<String>,
}

impl Validate for DeletePriceRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.required(&self.model, "model");
        v.length(self.model.as_deref(), "model", 1, 256);
        Ok(())
    }
}

#[derive(Debug, Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct Price {
    pub model: String,
    pub input_per_million_usd: f64,
    pub output_per_million_usd: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached_input_per_million_usd: Option<f64>,
    /// `override` (set through the API) or `default` (shipped), in `ListPrices`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PriceResponse {
    pub price: Price,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListPricesResponse {
    pub prices: Vec<Price>,
}

/// USD as micro-USD, rounded to the nearest micro-dollar.
pub(crate) fn micro(usd: f64) -> i64 {
    (usd * 1e6).round() as i64
}

/// Micro-USD as USD.
pub(crate) fn usd(micro: i64) -> f64 {
    micro as f64 / 1e6
}

/// `GetBudget`, `DeleteBudget`: the user or the role whose budget it is.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct BudgetOwnerRequest {
    pub user_name: Option<String>,
    pub role_name: Option<String>,
}

fn check_owner(
    v: &mut Validator,
    user_name: Option<&str>,
    role_name: Option<&str>,
) -> Result<(), CoreError> {
    if user_name.is_some() == role_name.is_some() {
        return Err(CoreError::InvalidParameter(
            "Specify exactly one of UserName and RoleName.".to_owned(),
        ));
    }
    check_name(v, user_name, "userName");
    check_name(v, role_name, "roleName");
    Ok(())
}

impl Validate for BudgetOwnerRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        check_owner(v, self.user_name.as_deref(), self.role_name.as_deref())
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct PutBudgetRequest {
    pub user_name: Option<String>,
    pub role_name: Option<String>,
    pub budget_usd: Option<f64>,
    pub budget_period: Option<String>,
}

impl Validate for PutBudgetRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        check_owner(v, self.user_name.as_deref(), self.role_name.as_deref())?;
        v.required(&self.budget_usd, "budgetUsd");
        check_budget(v, self.budget_usd, self.budget_period.as_deref());
        Ok(())
    }
}

/// A user's or role's budget, with what it spent in the current period.
#[derive(Debug, Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct Budget {
    pub principal: KeyPrincipal,
    pub budget_usd: f64,
    pub budget_period: String,
    #[serde(serialize_with = "epoch")]
    pub period_start: Timestamp,
    pub requests: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub spent_usd: f64,
    pub held_usd: f64,
    #[serde(serialize_with = "epoch")]
    pub last_changed_date: Timestamp,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BudgetResponse {
    pub budget: Budget,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListBudgetsResponse {
    pub budgets: Vec<Budget>,
}
