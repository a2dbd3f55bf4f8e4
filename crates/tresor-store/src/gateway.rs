//! The AI gateway's state: routes (a provider, an upstream URL and the secret that holds the
//! provider key), gateway keys (stored only as a MAC of the token, bound to an IAM user or
//! role), price overrides, and the budget and rate ledgers that admit calls.
//!
//! Budgets follow reserve-then-settle: [`GatewayStore::reserve`] admits a call only if, for
//! every scope it is charged to, `spent + held + estimate ≤ cap`, and records a hold with a
//! lease, all in one transaction (so any number of nodes on one PostgreSQL database share one
//! budget); [`GatewayStore::settle`] turns the hold into what the call really cost. A hold
//! whose lease ran out no longer counts (a crashed node cannot block a budget for longer than
//! its lease); settling it still bills the call. Amounts are micro-USD (1e-6 USD), integers.

use tresor_types::{AccountId, Timestamp};

use crate::{PrincipalKind, Result};

/// A route: where `/gateway/<name>/…` calls go, and which secret holds the provider key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRecord {
    pub account: AccountId,
    /// The region the route was created in (its ARN's region).
    pub region: String,
    /// Unique in the account.
    pub name: String,
    /// `arn:aws:gateway:<region>:<account>:route/<name>`.
    pub arn: String,
    /// `openai` or `anthropic`: the wire format and how the key is sent upstream.
    pub provider: String,
    /// The secret holding the provider key, as given (name or ARN), in `region`.
    pub secret_id: String,
    /// The upstream base URL (`https://api.openai.com/v1`, `https://api.anthropic.com`).
    pub base_url: String,
    /// Whether plain HTTP to a non-loopback host is allowed.
    pub allow_http: bool,
    /// An extra CA certificate (PEM) trusted for this route's upstream besides the platform's.
    pub ca_pem: Option<String>,
    pub description: Option<String>,
    pub created: Timestamp,
    pub updated: Timestamp,
}

/// A gateway key's state. The token itself is never stored: only `mac`, an HMAC of it under a
/// key derived from the root key.
#[derive(Clone, PartialEq, Eq)]
pub struct GatewayKeyRecord {
    /// Public identifier (`gk-…`), for management and audit.
    pub key_id: String,
    pub account: AccountId,
    /// The region of the call that created it.
    pub region: String,
    /// HMAC-SHA-256 of the token; unique.
    pub mac: Vec<u8>,
    /// The IAM identity whose policies govern the key's calls (`User` or `Role`).
    pub principal_kind: PrincipalKind,
    pub principal_name: String,
    /// Route names the key may call (`*` for any).
    pub routes: Vec<String>,
    /// Model patterns (`gpt-4o-mini`, `gpt-4.1*`); empty: any model.
    pub models: Vec<String>,
    /// The USD budget in micro-USD, over `budget_period`.
    pub budget_micro_usd: Option<i64>,
    /// `day`, `week`, `month` or `total`.
    pub budget_period: String,
    /// Requests per minute.
    pub rpm: Option<i64>,
    /// Tokens (input + output) per minute.
    pub tpm: Option<i64>,
    pub expires: Option<Timestamp>,
    /// `Active` or `Inactive`.
    pub status: String,
    pub description: Option<String>,
    pub created: Timestamp,
}

// The MAC is not a secret (the token cannot be derived from it) but it is a lookup handle:
// keep it out of logs all the same.
impl std::fmt::Debug for GatewayKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayKeyRecord")
            .field("key_id", &self.key_id)
            .field("account", &self.account)
            .field("principal_kind", &self.principal_kind)
            .field("principal_name", &self.principal_name)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// A price override for one model (or a pattern ending in `*`), in micro-USD per million
/// tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceRecord {
    pub account: AccountId,
    pub model: String,
    pub input_micro_per_mtok: i64,
    pub output_micro_per_mtok: i64,
    pub cached_input_micro_per_mtok: Option<i64>,
    pub updated: Timestamp,
}

/// A USD budget over every gateway call of one IAM user or role, whichever of its keys makes
/// it (charged to the scope `principal:<ARN>` beside the key's own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalBudgetRecord {
    pub account: AccountId,
    /// `User` or `Role`.
    pub principal_kind: PrincipalKind,
    /// As IAM names it; matched ASCII case-insensitively, as IAM names are.
    pub principal_name: String,
    pub budget_micro_usd: i64,
    /// `day`, `week`, `month` or `total`.
    pub budget_period: String,
    pub updated: Timestamp,
}

/// One budget a call is charged to: `key:<key_id>` or `principal:<arn>`, in the period that
/// starts at `period_start` (milliseconds; 0 for `total`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetScope {
    pub scope: String,
    pub period_start: i64,
    /// The cap in micro-USD; `None` counts spend without limiting it.
    pub cap_micro_usd: Option<i64>,
}

/// A per-minute rate charge on a gateway key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateCharge {
    pub key_id: String,
    /// Start of the current fixed one-minute window (milliseconds, a multiple of 60 000).
    pub window_start: i64,
    pub rpm: Option<i64>,
    pub tpm: Option<i64>,
    /// The tokens this call is estimated to use (input estimate + max output).
    pub tokens: i64,
}

/// What to reserve for one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// Unique per call (the request id).
    pub hold_id: String,
    pub scopes: Vec<BudgetScope>,
    /// The estimate held in every scope, micro-USD.
    pub amount_micro_usd: i64,
    /// When the hold stops counting if never settled.
    pub lease_until: Timestamp,
    pub now: Timestamp,
    pub rate: Option<RateCharge>,
}

/// Which limit refused a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// `spent + held + amount` would pass the cap of `scope`.
    Budget {
        scope: String,
        spent_micro_usd: i64,
        held_micro_usd: i64,
        cap_micro_usd: i64,
    },
    /// The key's requests in this minute reached its `rpm`.
    Rpm { retry_after_secs: u64 },
    /// The key's tokens in this minute (with this call's estimate) would pass its `tpm`.
    Tpm { retry_after_secs: u64 },
}

/// What settling a hold records: what the call really used and cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub hold_id: String,
    pub cost_micro_usd: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    /// Whether the call counts as a request in the usage totals (always true for a call
    /// that reached the upstream).
    pub requests: i64,
}

/// Use to add to a scope's ledger without a hold (a call whose key has no budget and no
/// rates: nothing was reserved, and its use is counted with the next audit group commit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageDelta {
    pub scope: String,
    pub period_start: i64,
    pub cost_micro_usd: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub requests: i64,
}

/// What one scope used in one period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageRecord {
    pub requests: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub spent_micro_usd: i64,
    /// Live holds (lease not run out) at `now`.
    pub held_micro_usd: i64,
}

/// One budget ledger as stored: what `scope` spent and used in the period starting at
/// `period_start`, settled calls only (holds are not in it). Read and written only by a
/// whole-store copy ([`crate::Transfer`]); the gateway itself goes through `settle` and
/// `usage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRecord {
    pub scope: String,
    pub period_start: i64,
    pub spent_micro_usd: i64,
    pub requests: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
}

/// The gateway's persistent state. Each method is one transaction.
pub trait GatewayStore {
    // ---- routes ----

    /// Insert (`StoreError::Conflict` if the account has a route of that name).
    fn create_route(&self, route: &RouteRecord) -> Result<()>;
    /// Replace a route's fields (found by account and name); `NotFound` if it has none.
    fn update_route(&self, route: &RouteRecord) -> Result<()>;
    fn get_route(&self, account: &AccountId, name: &str) -> Result<Option<RouteRecord>>;
    /// By name.
    fn list_routes(&self, account: &AccountId) -> Result<Vec<RouteRecord>>;
    /// `NotFound` if it has none.
    fn delete_route(&self, account: &AccountId, name: &str) -> Result<()>;

    // ---- keys ----

    /// Insert (`StoreError::Conflict` if its id or MAC exists).
    fn create_gateway_key(&self, key: &GatewayKeyRecord) -> Result<()>;
    /// Replace a key's mutable fields (routes, models, budget, limits, expiry, status,
    /// description), found by `key_id`; `NotFound` if there is none.
    fn update_gateway_key(&self, key: &GatewayKeyRecord) -> Result<()>;
    fn get_gateway_key(&self, key_id: &str) -> Result<Option<GatewayKeyRecord>>;
    /// The key whose token has this MAC.
    fn find_gateway_key_by_mac(&self, mac: &[u8]) -> Result<Option<GatewayKeyRecord>>;
    /// The account's keys, optionally only one principal's, by key id.
    fn list_gateway_keys(
        &self,
        account: &AccountId,
        principal: Option<(PrincipalKind, &str)>,
    ) -> Result<Vec<GatewayKeyRecord>>;
    /// Delete a key and its holds, ledgers and rate windows; `NotFound` if there is none.
    fn delete_gateway_key(&self, key_id: &str) -> Result<()>;

    // ---- prices ----

    /// Insert or replace the override of `price.model`.
    fn put_price(&self, price: &PriceRecord) -> Result<()>;
    fn list_prices(&self, account: &AccountId) -> Result<Vec<PriceRecord>>;
    /// `NotFound` if there is no override for `model`.
    fn delete_price(&self, account: &AccountId, model: &str) -> Result<()>;

    // ---- budgets of users and roles ----

    /// Insert or replace the budget of `budget.principal_*`.
    fn put_principal_budget(&self, budget: &PrincipalBudgetRecord) -> Result<()>;
    fn get_principal_budget(
        &self,
        account: &AccountId,
        kind: PrincipalKind,
        name: &str,
    ) -> Result<Option<PrincipalBudgetRecord>>;
    /// The account's principal budgets, by kind and name.
    fn list_principal_budgets(&self, account: &AccountId) -> Result<Vec<PrincipalBudgetRecord>>;
    /// `NotFound` if the principal has no budget. Its ledgers stay (what it spent is spent).
    fn delete_principal_budget(
        &self,
        account: &AccountId,
        kind: PrincipalKind,
        name: &str,
    ) -> Result<()>;

    // ---- budgets and rates ----

    /// In one transaction: forget holds whose lease ran out; refuse if any capped scope
    /// would pass its cap, or the rate charge its `rpm`/`tpm`; otherwise record the hold in
    /// every scope and charge the rate window (one request, `tokens` tokens).
    fn reserve(&self, reservation: &Reservation) -> Result<std::result::Result<(), Refused>>;
    /// Remove the hold `hold_id` from every scope and add the settlement to each scope's
    /// ledger for the period the hold was made in (even if the lease ran out: the call is
    /// billed). `scopes` says where to bill when the hold is already gone. If `rate` is
    /// given, the window's token count is corrected by `actual_tokens - rate.tokens`.
    fn settle(
        &self,
        settlement: &Settlement,
        scopes: &[BudgetScope],
        rate: Option<&RateCharge>,
    ) -> Result<()>;
    /// Add each delta to its scope's ledger (creating the row), in one transaction.
    fn add_usage(&self, deltas: &[UsageDelta]) -> Result<()>;
    /// What `scope` used in the period starting at `period_start`, with its live holds at
    /// `now`.
    fn usage(&self, scope: &str, period_start: i64, now: Timestamp) -> Result<UsageRecord>;
}
