//! The AI gateway's control plane and its per-call decisions.
//!
//! Two kinds of request reach this module:
//! - **Admin calls** (`X-Amz-Target: TresorGateway.<Operation>`, SigV4, awsJson1.1): routes,
//!   gateway keys, price overrides and the budgets of users and roles ([`routes`], [`keys`],
//!   [`prices`], [`budgets`]), each authorized by its own IAM action (`gateway:CreateRoute`, …)
//!   and audited like every other call.
//! - **Invocations** (`/gateway/<route>/…`, authenticated by a gateway key, not SigV4): the
//!   `tresor-gateway` crate asks [`Core::gateway_admit`] whether a call may go upstream (key
//!   valid, `gateway:Invoke` allowed on the route by the key's identity's policies, model and
//!   route allowed by the key, budget and rates reserved), and after the call
//!   [`Core::gateway_settle`] bills what it used and records it in the audit trail. See
//!   [`invoke`].
//!
//! A route's ARN is `arn:aws:gateway:<region>:<account>:route/<name>`; the policy engine
//! sees the condition keys `gateway:Route`, `gateway:Model` and `gateway:KeyId`.

mod budgets;
mod dto;
pub mod invoke;
pub mod keys;
mod prices;
pub(crate) mod routes;

pub use dto::*;
pub use invoke::{
    model_matches, AdmitRequest, CallMeta, Invocation, Outcome, Refusal, Unidentified, UsageSource,
    UsedTokens,
};

/// The JSON target prefix of the admin API.
pub const TARGET_PREFIX: &str = "TresorGateway";

/// The gateway's operations: the admin API, and `Invoke` (a call through the gateway, which
/// has no admin target).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    CreateRoute,
    UpdateRoute,
    GetRoute,
    ListRoutes,
    DeleteRoute,
    CreateKey,
    UpdateKey,
    GetKey,
    ListKeys,
    DeleteKey,
    GetKeyUsage,
    PutPrice,
    ListPrices,
    DeletePrice,
    PutBudget,
    GetBudget,
    ListBudgets,
    DeleteBudget,
    Invoke,
}

impl Operation {
    pub const ALL: [Operation; 19] = [
        Self::CreateRoute,
        Self::UpdateRoute,
        Self::GetRoute,
        Self::ListRoutes,
        Self::DeleteRoute,
        Self::CreateKey,
        Self::UpdateKey,
        Self::GetKey,
        Self::ListKeys,
        Self::DeleteKey,
        Self::GetKeyUsage,
        Self::PutPrice,
        Self::ListPrices,
        Self::DeletePrice,
        Self::PutBudget,
        Self::GetBudget,
        Self::ListBudgets,
        Self::DeleteBudget,
        Self::Invoke,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::CreateRoute => "CreateRoute",
            Self::UpdateRoute => "UpdateRoute",
            Self::GetRoute => "GetRoute",
            Self::ListRoutes => "ListRoutes",
            Self::DeleteRoute => "DeleteRoute",
            Self::CreateKey => "CreateKey",
            Self::UpdateKey => "UpdateKey",
            Self::GetKey => "GetKey",
            Self::ListKeys => "ListKeys",
            Self::DeleteKey => "DeleteKey",
            Self::GetKeyUsage => "GetKeyUsage",
            Self::PutPrice => "PutPrice",
            Self::ListPrices => "ListPrices",
            Self::DeletePrice => "DeletePrice",
            Self::PutBudget => "PutBudget",
            Self::GetBudget => "GetBudget",
            Self::ListBudgets => "ListBudgets",
            Self::DeleteBudget => "DeleteBudget",
            Self::Invoke => "Invoke",
        }
    }

    /// The operation an admin target names. `Invoke` is not one: it is reached only through
    /// `/gateway/<route>/…`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|op| op.name() == name && *op != Self::Invoke)
    }

    pub fn is_read_only(self) -> bool {
        matches!(
            self,
            Self::GetRoute
                | Self::ListRoutes
                | Self::GetKey
                | Self::ListKeys
                | Self::GetKeyUsage
                | Self::ListPrices
                | Self::GetBudget
                | Self::ListBudgets
        )
    }

    /// Whether it changes state (and so runs in one transaction with its record). `Invoke`
    /// changes the budget ledgers, in transactions of its own around the upstream call.
    pub fn changes_state(self) -> bool {
        !self.is_read_only() && self != Self::Invoke
    }
}

/// A route's ARN.
pub fn route_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:gateway:{region}:{account}:route/{name}")
}
