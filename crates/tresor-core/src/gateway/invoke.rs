//! One call through the gateway, as the core decides and records it.
//!
//! The `tresor-gateway` crate walks a call through these steps, each a blocking store call
//! it runs off the async workers:
//! 1. [`Core::gateway_identify`]: the presented token's MAC names an active, unexpired key of
//!    an identity that still exists, and the route the path names exists and is one the key
//!    may call. Every failure here answers the same 401 for a bad key (unknown, expired,
//!    disabled, deleted identity), so a caller learns nothing about keys it does not hold.
//! 2. [`Core::gateway_authorize`]: the key's model list, then the IAM policy engine:
//!    `gateway:Invoke` on the route's ARN with `gateway:Route`, `gateway:Model` and
//!    `gateway:KeyId`, evaluated with the identity's policies like any other call.
//! 3. [`Core::gateway_reserve`]: the estimated cost is held against the key's budget and the
//!    call charged to its rate window, atomically in the store (see
//!    `tresor_store::GatewayStore::reserve`); a store that does not answer refuses the call.
//! 4. [`Core::gateway_upstream_key`]: the route secret's `AWSCURRENT` value, cached for at
//!    most [`UPSTREAM_KEY_TTL`] so a new value reaches every node within that bound.
//! 5. [`Core::gateway_finish`] (or [`Core::gateway_refused`]): the hold is settled from the
//!    usage the provider reported (or estimated), and the call's audit record is written in
//!    the same transaction, durable before the response completes. A call that held nothing
//!    (its key has no budget and no rates) adds its use to the ledger in the record's group
//!    commit instead, as a read records its `LastAccessedDate`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::{json, Value};
use tresor_store::{
    BudgetScope, GatewayKeyRecord, GatewayStore, IdentityStore, PrincipalBudgetRecord,
    PrincipalKind, RateCharge, Refused, Reservation, RouteRecord, Settlement, UsageDelta,
};
use tresor_types::{Region, SecretBytes, Timestamp};

use super::keys::{period_bounds, TOKEN_PREFIX};
use super::Operation;
use crate::authz::Resource;
use crate::metrics::Slot;
use crate::{AuditTicket, AuditedCall, Core, CoreError, Principal, RequestContext, Service};

/// How long an upstream key read from its secret is reused: the bound within which a
/// `PutSecretValue` or a rotation reaches every node.
pub const UPSTREAM_KEY_TTL: Duration = Duration::from_secs(1);
/// Longest token a caller may present (a real one is 47 bytes).
const MAX_TOKEN: usize = 256;

/// The ledger scope of a gateway key.
pub fn key_scope(key_id: &str) -> String {
    format!("key:{key_id}")
}

/// The ledger scope of a user's or role's budget, over all its keys (IAM names compare
/// case-insensitively, so the scope does too).
pub fn principal_scope(
    account: &tresor_types::AccountId,
    kind: PrincipalKind,
    name: &str,
) -> String {
    format!(
        "principal:{account}:{}/{}",
        kind.as_str(),
        name.to_ascii_lowercase()
    )
}

/// What only the wire knows about a call.
#[derive(Debug, Clone)]
pub struct CallMeta {
    pub request_id: String,
    pub source_ip: IpAddr,
    pub user_agent: Option<String>,
    pub secure: bool,
    pub started: Instant,
    /// The path after the route (`/v1/chat/completions`), without the query.
    pub path: String,
}

/// Why a call was not sent upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No key, or one that is unknown, disabled, expired, or whose identity is gone.
    Unauthenticated,
    /// The path names no route of the key's account.
    NoRoute(String),
    /// The key may not call this route, or this model, or the policies deny it.
    Denied(String),
    /// The request body could not be read as the endpoint needs it.
    BadRequest(String),
    /// The key's budget cannot hold the call's estimate.
    /// A budget cannot hold the call's estimate: the key's, or (`of_identity`) the budget of
    /// the key's user or role.
    Budget {
        retry_after_secs: Option<u64>,
        of_identity: bool,
    },
    /// The key's requests or tokens per minute are spent.
    Rate {
        what: &'static str,
        retry_after_secs: u64,
    },
    /// The store (budgets, keys) or the route's secret could not be read: fail closed.
    Unavailable(String),
}

impl Refusal {
    /// The HTTP status the gateway answers.
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthenticated => 401,
            Self::NoRoute(_) => 404,
            Self::Denied(_) => 403,
            Self::BadRequest(_) => 400,
            Self::Budget { .. } | Self::Rate { .. } => 429,
            Self::Unavailable(_) => 503,
        }
    }

    /// The message for the caller: never a key, never a secret.
    pub fn message(&self) -> String {
        match self {
            Self::Unauthenticated => "Invalid gateway key: it is unknown, disabled or expired. Send a Tresor gateway key (tgk_…) as the API key.".to_owned(),
            Self::NoRoute(route) => format!("The gateway has no route named {route}."),
            Self::Denied(why) => why.clone(),
            Self::BadRequest(why) => why.clone(),
            Self::Budget {
                of_identity: false,
                ..
            } => "The gateway key's budget cannot cover this request.".to_owned(),
            Self::Budget {
                of_identity: true, ..
            } => "The budget of this gateway key's user or role cannot cover this request."
                .to_owned(),
            Self::Rate { what, .. } => format!("The gateway key's {what} limit is reached."),
            Self::Unavailable(why) => format!("The gateway cannot serve this request now: {why}."),
        }
    }

    /// Seconds after which retrying can succeed, if waiting helps.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::Budget {
                retry_after_secs, ..
            } => *retry_after_secs,
            Self::Rate {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        }
    }

    fn core_error(&self) -> CoreError {
        match self {
            Self::Unauthenticated => CoreError::Authentication {
                failure: tresor_sigv4::AuthFailure::UnrecognizedClient,
                message: self.message(),
            },
            Self::NoRoute(_) => CoreError::ResourceNotFound(self.message()),
            Self::Denied(m) => CoreError::AccessDenied {
                message: m.clone(),
                unreadable: None,
            },
            Self::BadRequest(m) => CoreError::InvalidRequest(m.clone()),
            Self::Budget { .. } | Self::Rate { .. } => CoreError::LimitExceeded(self.message()),
            Self::Unavailable(m) => CoreError::Internal(m.clone()),
        }
    }
}

/// A call [`Core::gateway_identify`] refused.
pub struct Unidentified {
    pub refusal: Refusal,
    pub meta: CallMeta,
    /// The key's call, when the key was valid but the route unknown (recorded under the key).
    pub inv: Option<Invocation>,
}

impl Unidentified {
    fn new(refusal: Refusal, meta: CallMeta) -> Box<Self> {
        Box::new(Self {
            refusal,
            meta,
            inv: None,
        })
    }
}

/// A call that passed [`Core::gateway_identify`]: its key, route and caller.
pub struct Invocation {
    pub key: GatewayKeyRecord,
    pub route: RouteRecord,
    pub ctx: RequestContext,
    pub meta: CallMeta,
    pub model: Option<String>,
    pub stream: bool,
    /// The budget of the key's user or role, if it has one.
    pub principal_budget: Option<PrincipalBudgetRecord>,
    /// What was reserved, once [`Core::gateway_reserve`] admitted the call.
    admission: Option<Admission>,
}

impl std::fmt::Debug for Invocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invocation")
            .field("key_id", &self.key.key_id)
            .field("route", &self.route.name)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

/// What a call holds in the store until it is settled.
#[derive(Debug, Clone)]
pub struct Admission {
    pub hold_id: String,
    pub scopes: Vec<BudgetScope>,
    pub rate: Option<RateCharge>,
    pub estimate_micro_usd: i64,
    /// Whether a hold was recorded (a key without a budget or rates holds nothing).
    pub held: bool,
}

/// What an admitted call reserves.
#[derive(Debug, Clone, Copy)]
pub struct AdmitRequest {
    pub estimate_micro_usd: i64,
    pub estimate_tokens: i64,
    /// How long the hold counts if the call is never settled (its deadline plus grace).
    pub lease: Duration,
}

/// Where a call's token counts came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageSource {
    /// The provider reported them.
    Reported,
    /// The provider reported none (a cut stream, a disconnect): the estimate is billed.
    Estimated,
    /// The call used nothing billable (an error before any token, a models listing).
    None,
}

impl UsageSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reported => "reported",
            Self::Estimated => "estimated",
            Self::None => "none",
        }
    }
}

/// What a finished call used.
#[derive(Debug, Clone, Default)]
pub struct UsedTokens {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cached_input_tokens: u64,
}

/// How a call that went upstream ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The upstream's HTTP status (0 if it never answered).
    pub status: u16,
    pub used: UsedTokens,
    pub source: UsageSource,
    pub cost_micro_usd: i64,
    /// The client went away before the response ended.
    pub client_disconnected: bool,
    /// The upstream failed (connection, cut stream, in-band error): a short description,
    /// never a body.
    pub upstream_error: Option<String>,
}

/// Caches the gateway keeps in the core.
#[derive(Default)]
pub(crate) struct GatewayCaches {
    /// Upstream keys by route ARN: (read at, the route's secret id then, value).
    upstream: Mutex<HashMap<String, (Instant, String, SecretBytes)>>,
}

impl Core {
    /// Step 1: the key and the route.
    pub fn gateway_identify(
        &self,
        token: Option<&[u8]>,
        route: &str,
        meta: CallMeta,
        now: Timestamp,
    ) -> Result<Invocation, Box<Unidentified>> {
        let Some(token) =
            token.filter(|t| t.len() <= MAX_TOKEN && t.starts_with(TOKEN_PREFIX.as_bytes()))
        else {
            return Err(Unidentified::new(Refusal::Unauthenticated, meta));
        };
        let mac = self.keyring.gateway_key_mac(token);
        let key = match self.store.find_gateway_key_by_mac(&mac) {
            Ok(Some(key)) => key,
            Ok(None) => return Err(Unidentified::new(Refusal::Unauthenticated, meta)),
            Err(e) => return Err(Unidentified::new(unavailable(e.into()), meta)),
        };
        // The index lookup found it by MAC; comparing again in constant time keeps the answer
        // from depending on anything but the MAC's equality.
        if !tresor_crypto::ct_eq(&mac, &key.mac)
            || key.status != "Active"
            || key.expires.is_some_and(|e| e <= now)
        {
            return Err(Unidentified::new(Refusal::Unauthenticated, meta));
        }
        let principal = match self.key_principal(&key) {
            Ok(Some(p)) => p,
            Ok(None) => return Err(Unidentified::new(Refusal::Unauthenticated, meta)),
            Err(e) => return Err(Unidentified::new(unavailable(e), meta)),
        };
        let Ok(region) = Region::parse(&key.region).or_else(|_| Region::parse("us-east-1")) else {
            return Err(Unidentified::new(
                Refusal::Unavailable("the key's region is unreadable".to_owned()),
                meta,
            ));
        };
        let ctx = RequestContext {
            principal,
            region,
            request_id: meta.request_id.clone(),
            source_ip: Some(meta.source_ip.to_string()),
            user_agent: meta.user_agent.clone(),
            secure_transport: meta.secure,
            now,
        };
        let principal_budget = match self.store.get_principal_budget(
            &key.account,
            key.principal_kind,
            &key.principal_name,
        ) {
            Ok(b) => b,
            Err(e) => return Err(Unidentified::new(unavailable(e.into()), meta)),
        };
        let route = match self.store.get_route(&key.account, route) {
            Ok(Some(r)) => r,
            Ok(None) => {
                // A valid key's call: recorded under the key, like any of its refusals.
                let inv = Invocation::unrouted(key, ctx, meta.clone(), route);
                return Err(Box::new(Unidentified {
                    refusal: Refusal::NoRoute(route.to_owned()),
                    meta,
                    inv: Some(inv),
                }));
            }
            Err(e) => return Err(Unidentified::new(unavailable(e.into()), meta)),
        };
        Ok(Invocation {
            key,
            route,
            ctx,
            meta,
            model: None,
            stream: false,
            principal_budget,
            admission: None,
        })
    }

    /// The identity a key acts as, if it still exists: a user, or a session of a role named
    /// after the key.
    fn key_principal(&self, key: &GatewayKeyRecord) -> Result<Option<Principal>, CoreError> {
        let account = key.account.clone();
        Ok(match key.principal_kind {
            PrincipalKind::Role => {
                self.store
                    .get_role(&account, &key.principal_name)?
                    .map(|role| Principal {
                        arn: format!(
                            "arn:aws:sts::{account}:assumed-role/{}/{}",
                            role.role_name, key.key_id
                        ),
                        kind: crate::PrincipalKind::AssumedRole {
                            role_name: role.role_name,
                            role_id: role.role_id,
                            role_arn: role.arn,
                            session_name: key.key_id.clone(),
                            session_policy: None,
                        },
                        access_key_id: key.key_id.clone(),
                        tags: role.tags.into_iter().map(|t| (t.key, t.value)).collect(),
                        account,
                    })
            }
            _ => self
                .store
                .get_user(&account, &key.principal_name)?
                .map(|user| Principal {
                    arn: user.arn,
                    kind: crate::PrincipalKind::User {
                        name: user.user_name,
                        id: user.user_id,
                    },
                    access_key_id: key.key_id.clone(),
                    tags: user.tags.into_iter().map(|t| (t.key, t.value)).collect(),
                    account,
                }),
        })
    }

    /// Step 2: may this key's identity call this route with this model?
    pub fn gateway_authorize(
        &self,
        inv: &mut Invocation,
        model: Option<&str>,
        stream: bool,
    ) -> Result<(), Refusal> {
        inv.model = model.map(str::to_owned);
        inv.stream = stream;
        let route = &inv.route.name;
        if !inv.key.routes.iter().any(|r| r == "*" || r == route) {
            return Err(Refusal::Denied(format!(
                "This gateway key may not call the route {route}."
            )));
        }
        if !inv.key.models.is_empty() {
            let allowed = model.is_some_and(|m| inv.key.models.iter().any(|p| model_matches(p, m)));
            if !allowed {
                return Err(Refusal::Denied(format!(
                    "This gateway key may not call the model {}.",
                    model.unwrap_or("(none named)")
                )));
            }
        }
        let mut keys = vec![
            ("gateway:Route".to_owned(), vec![route.clone()]),
            ("gateway:KeyId".to_owned(), vec![inv.key.key_id.clone()]),
        ];
        if let Some(m) = model {
            keys.push(("gateway:Model".to_owned(), vec![m.to_owned()]));
        }
        let resource = Resource {
            arn: &inv.route.arn,
            account: Some(&inv.route.account),
            policy: None,
            keys,
            shown_as: None,
        };
        let action = format!("gateway:{}", Operation::Invoke.name());
        match self.authorize(&inv.ctx, &action, resource) {
            Ok(()) => Ok(()),
            Err(CoreError::AccessDenied { message, .. }) => Err(Refusal::Denied(message)),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Step 3: hold the estimate against the budget and charge the rate window.
    pub fn gateway_reserve(
        &self,
        inv: &mut Invocation,
        admit: AdmitRequest,
    ) -> Result<(), Refusal> {
        let key = &inv.key;
        let now = inv.ctx.now;
        let (start, next) = period_bounds(&key.budget_period, now);
        // The user's or role's scope is charged too, capped if it has a budget: a budget set
        // later in a period then counts what the period already spent.
        let owner = principal_scope(&key.account, key.principal_kind, &key.principal_name);
        let owner_period = inv
            .principal_budget
            .as_ref()
            .map_or("month", |b| b.budget_period.as_str());
        let (owner_start, owner_next) = period_bounds(owner_period, now);
        let scopes = vec![
            BudgetScope {
                scope: key_scope(&key.key_id),
                period_start: start.millis(),
                cap_micro_usd: key.budget_micro_usd,
            },
            BudgetScope {
                scope: owner.clone(),
                period_start: owner_start.millis(),
                cap_micro_usd: inv.principal_budget.as_ref().map(|b| b.budget_micro_usd),
            },
        ];
        let rate = (key.rpm.is_some() || key.tpm.is_some()).then(|| RateCharge {
            key_id: key.key_id.clone(),
            window_start: now.millis().div_euclid(60_000) * 60_000,
            rpm: key.rpm,
            tpm: key.tpm,
            tokens: admit.estimate_tokens,
        });
        let mut admission = Admission {
            hold_id: inv.meta.request_id.clone(),
            scopes,
            rate,
            estimate_micro_usd: admit.estimate_micro_usd,
            held: false,
        };
        // A call without a budget or rates to respect holds nothing: its use is counted with
        // its record's group commit.
        if inv.will_hold() {
            admission.held = true;
            let reservation = Reservation {
                hold_id: admission.hold_id.clone(),
                scopes: admission.scopes.clone(),
                amount_micro_usd: admit.estimate_micro_usd,
                lease_until: Timestamp::from_millis(now.millis() + admit.lease.as_millis() as i64),
                now,
                rate: admission.rate.clone(),
            };
            match self.store.reserve(&reservation) {
                Ok(Ok(())) => {}
                Ok(Err(Refused::Budget { scope, .. })) => {
                    let of_identity = scope == owner;
                    let next = if of_identity { owner_next } else { next };
                    let retry_after_secs = next.map(|n| secs_until(now, n));
                    return Err(Refusal::Budget {
                        retry_after_secs,
                        of_identity,
                    });
                }
                Ok(Err(Refused::Rpm { retry_after_secs })) => {
                    return Err(Refusal::Rate {
                        what: "requests-per-minute",
                        retry_after_secs,
                    })
                }
                Ok(Err(Refused::Tpm { retry_after_secs })) => {
                    return Err(Refusal::Rate {
                        what: "tokens-per-minute",
                        retry_after_secs,
                    })
                }
                Err(e) => return Err(unavailable(e.into())),
            }
        }
        inv.admission = Some(admission);
        Ok(())
    }

    /// Step 4: the provider key, from the route's secret (`AWSCURRENT`; a plain string, or
    /// JSON with an `api_key` member).
    pub fn gateway_upstream_key(&self, inv: &Invocation) -> Result<SecretBytes, Refusal> {
        let arn = &inv.route.arn;
        {
            let cache = self.gateway.upstream.lock();
            if let Some((at, secret_id, value)) = cache.get(arn) {
                if at.elapsed() < UPSTREAM_KEY_TTL && *secret_id == inv.route.secret_id {
                    return Ok(value.clone());
                }
            }
        }
        let mut ctx = inv.ctx.clone();
        if let Ok(region) = Region::parse(&inv.route.region) {
            ctx.region = region;
        }
        let (_, value) = self
            .current_value_unchecked(&ctx, &inv.route.secret_id)
            .map_err(|e| match e {
                CoreError::ResourceNotFound(_) | CoreError::InvalidRequest(_) => {
                    Refusal::Unavailable("the route's secret has no current value".to_owned())
                }
                // A customer KMS key that is disabled, pending deletion or gone.
                CoreError::DecryptionFailure(_) => Refusal::Unavailable(
                    "the route's secret cannot be decrypted: its KMS key is not usable".to_owned(),
                ),
                other => unavailable(other),
            })?;
        let key = api_key_of(value).ok_or_else(|| {
            Refusal::Unavailable("the route's secret does not hold an API key".to_owned())
        })?;
        self.gateway.upstream.lock().insert(
            arn.clone(),
            (Instant::now(), inv.route.secret_id.clone(), key.clone()),
        );
        Ok(key)
    }

    /// Step 5: settle what the call used and record it, in one transaction (durable when this
    /// returns `Ok`).
    pub fn gateway_finish(
        &self,
        inv: &Invocation,
        outcome: &Outcome,
    ) -> Result<Option<AuditTicket>, CoreError> {
        let mut call = self.invoke_record(inv);
        call.additional = Some(outcome_data(inv, outcome));
        let result = match inv.admission.as_ref() {
            // A hold becomes what the call cost, in one transaction with the record.
            Some(a) if a.held => {
                let settlement = Settlement {
                    hold_id: inv.meta.request_id.clone(),
                    cost_micro_usd: outcome.cost_micro_usd,
                    input_tokens: outcome.used.input_tokens as i64,
                    output_tokens: outcome.used.output_tokens as i64,
                    requests: 1,
                };
                self.atomically(|| {
                    self.store.settle(&settlement, &a.scopes, a.rate.as_ref())?;
                    self.audit_in_transaction(call)
                })
                .map(|()| None)
            }
            // Nothing was held: the use rides the record's group commit (queued first, so it
            // is durable no later than the record), and no write waits for an fsync of its own.
            admission => {
                for scope in admission.map(|a| a.scopes.as_slice()).unwrap_or_default() {
                    self.audit_log.add_usage(UsageDelta {
                        scope: scope.scope.clone(),
                        period_start: scope.period_start,
                        cost_micro_usd: outcome.cost_micro_usd,
                        input_tokens: outcome.used.input_tokens as i64,
                        output_tokens: outcome.used.output_tokens as i64,
                        requests: 1,
                    });
                }
                self.submit_audit(call).map(Some)
            }
        };
        let code = match &result {
            Err(e) => Some(e.aws_code()),
            Ok(_) if outcome.status >= 400 || outcome.upstream_error.is_some() => {
                Some("UpstreamError")
            }
            Ok(_) => None,
        };
        counted(self, &inv.meta, Some(&inv.ctx.principal.arn), code);
        result
    }

    /// Record a call refused before it went upstream (releasing its hold, if it had one).
    /// Calls without a known key are recorded within their source's budget of failures, as
    /// failed SigV4 authentications are. `Err` only if the record could not be written.
    pub fn gateway_refused(
        &self,
        inv: Option<&Invocation>,
        meta: &CallMeta,
        route: &str,
        refusal: &Refusal,
    ) -> Result<(), CoreError> {
        let error = refusal.core_error();
        let principal = inv.map(|i| i.ctx.principal.arn.as_str());
        counted(self, meta, principal, Some(error.aws_code()));
        match inv {
            Some(inv) => self.atomically(|| {
                if let Some(a) = inv.admission.as_ref().filter(|a| a.held) {
                    let release = Settlement {
                        hold_id: inv.meta.request_id.clone(),
                        cost_micro_usd: 0,
                        input_tokens: 0,
                        output_tokens: 0,
                        requests: 0,
                    };
                    self.store.settle(&release, &a.scopes, a.rate.as_ref())?;
                }
                let mut call = self.invoke_record(inv);
                call.error = Some(&error);
                call.additional = Some(json!({
                    "gatewayKeyId": inv.key.key_id,
                    "route": inv.route.name,
                }));
                self.audit_in_transaction(call)
            }),
            None => {
                let verdict = self
                    .auth_failures
                    .admit(meta.source_ip, std::time::Instant::now());
                if matches!(verdict, crate::auth_failures::Verdict::Skip) {
                    return Ok(());
                }
                let call = AuditedCall {
                    service: Service::Gateway,
                    operation: Operation::Invoke.name(),
                    read_only: Some(false),
                    principal: None,
                    claimed_access_key_id: None,
                    region: "us-east-1".to_owned(),
                    request_id: &meta.request_id,
                    source_ip: Some(meta.source_ip.to_string()),
                    user_agent: meta.user_agent.as_deref(),
                    time: Timestamp::now(),
                    request: json!({ "route": bounded(route) }),
                    response: None,
                    error: Some(&error),
                    additional: None,
                };
                self.submit_audit(call)?.wait()
            }
        }
    }

    fn invoke_record<'a>(&self, inv: &'a Invocation) -> AuditedCall<'a> {
        AuditedCall {
            service: Service::Gateway,
            operation: Operation::Invoke.name(),
            read_only: Some(false),
            principal: Some(&inv.ctx.principal),
            claimed_access_key_id: None,
            region: inv.route.region.clone(),
            request_id: &inv.meta.request_id,
            source_ip: Some(inv.meta.source_ip.to_string()),
            user_agent: inv.meta.user_agent.as_deref(),
            time: inv.ctx.now,
            request: json!({
                "route": inv.route.name,
                "path": bounded(&inv.meta.path),
                "model": inv.model.as_deref().map(bounded),
                "stream": inv.stream,
            }),
            response: None,
            error: None,
            additional: None,
        }
    }
}

impl Invocation {
    /// A key's call to a route that does not exist, for its record.
    fn unrouted(key: GatewayKeyRecord, ctx: RequestContext, meta: CallMeta, route: &str) -> Self {
        let region = key.region.clone();
        let account = key.account.clone();
        Self {
            route: RouteRecord {
                account: account.clone(),
                arn: super::route_arn(&region, account.as_str(), route),
                region,
                name: bounded(route).to_owned(),
                provider: String::new(),
                secret_id: String::new(),
                base_url: String::new(),
                allow_http: false,
                ca_pem: None,
                description: None,
                created: ctx.now,
                updated: ctx.now,
            },
            key,
            ctx,
            meta,
            model: None,
            stream: false,
            principal_budget: None,
            admission: None,
        }
    }

    /// Whether admitting the call will write to the store (its key has a budget or rates).
    pub fn will_hold(&self) -> bool {
        self.key.budget_micro_usd.is_some()
            || self.key.rpm.is_some()
            || self.key.tpm.is_some()
            || self.principal_budget.is_some()
    }

    /// Whether the call holds part of a budget or a rate window (settling it then writes to
    /// the store and waits for its commit: run [`Core::gateway_finish`] off the async workers).
    pub fn holds(&self) -> bool {
        self.admission.as_ref().is_some_and(|a| a.held)
    }

    /// The estimate held for the call (0 if nothing was held).
    pub fn estimate_micro_usd(&self) -> i64 {
        self.admission.as_ref().map_or(0, |a| a.estimate_micro_usd)
    }
}

/// Count a call in the metrics and log it as the pipeline logs every request (target
/// [`crate::REQUEST_LOG`]: failures at `info`, the rest at `debug`), by its ids only.
fn counted(core: &Core, meta: &CallMeta, principal: Option<&str>, outcome: Option<&'static str>) {
    let elapsed = meta.started.elapsed();
    core.metrics.answered(
        Slot::of(
            Service::Gateway,
            Some(crate::Operation::Gateway(Operation::Invoke)),
        ),
        outcome,
        elapsed,
    );
    let latency_us = elapsed.as_micros() as u64;
    match outcome {
        None => tracing::debug!(
            target: crate::REQUEST_LOG,
            request_id = %meta.request_id,
            operation = "Invoke",
            principal,
            outcome = "ok",
            latency_us,
            "answered"
        ),
        Some(code) => tracing::info!(
            target: crate::REQUEST_LOG,
            request_id = %meta.request_id,
            operation = "Invoke",
            principal,
            outcome = code,
            latency_us,
            "failed"
        ),
    }
}

/// What a record keeps of how a call ended: figures, never content.
fn outcome_data(inv: &Invocation, o: &Outcome) -> Value {
    json!({
        "gatewayKeyId": inv.key.key_id,
        "route": inv.route.name,
        "model": inv.model.as_deref().map(bounded),
        "upstreamStatus": o.status,
        "inputTokens": o.used.input_tokens,
        "outputTokens": o.used.output_tokens,
        "cachedInputTokens": o.used.cached_input_tokens,
        "costUsd": super::dto::usd(o.cost_micro_usd),
        "usageSource": o.source.as_str(),
        "latencyMs": inv.meta.started.elapsed().as_millis() as u64,
        "clientDisconnected": o.client_disconnected,
        "upstreamError": o.upstream_error,
    })
}

/// A caller-chosen string as a record keeps it: at most 256 bytes.
fn bounded(s: &str) -> &str {
    let mut end = s.len().min(256);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn unavailable(e: CoreError) -> Refusal {
    // The store's own words stay in the log; the caller learns only that it failed.
    tracing::warn!(error = %e.aws_code(), "gateway call refused: the store did not answer");
    Refusal::Unavailable("the key and budget store did not answer".to_owned())
}

fn secs_until(now: Timestamp, then: Timestamp) -> u64 {
    let ms = (then.millis() - now.millis()).max(1000);
    (ms as u64).div_ceil(1000)
}

/// Whether a key's model pattern admits `model`: equal, or a prefix ending in `*`.
pub fn model_matches(pattern: &str, model: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => model.starts_with(prefix),
        None => pattern == model,
    }
}

/// The API key in a secret's value: the whole string (trimmed), or the `api_key` member of a
/// JSON object.
fn api_key_of(value: SecretBytes) -> Option<SecretBytes> {
    let text = std::str::from_utf8(value.expose()).ok()?.trim();
    if text.is_empty() {
        return None;
    }
    if text.starts_with('{') {
        let parsed: zeroize::Zeroizing<String> = zeroize::Zeroizing::new(
            serde_json::from_str::<Value>(text)
                .ok()?
                .get("api_key")?
                .as_str()?
                .to_owned(),
        );
        return (!parsed.is_empty()).then(|| SecretBytes::from_slice(parsed.as_bytes()));
    }
    Some(SecretBytes::from_slice(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn model_patterns() {
        assert!(model_matches("gpt-4o-mini", "gpt-4o-mini"));
        assert!(!model_matches("gpt-4o-mini", "gpt-4o-mini-2024-07-18"));
        assert!(model_matches("gpt-4.1*", "gpt-4.1-mini"));
        assert!(!model_matches("gpt-4.1*", "gpt-4o"));
        assert!(model_matches("*", "anything"));
    }

    #[test]
    fn api_key_from_a_string_or_json() {
        let k = api_key_of(SecretBytes::from_slice(b" sk-abc \n")).unwrap();
        assert_eq!(k.expose(), b"sk-abc");
        let k = api_key_of(SecretBytes::from_slice(
            br#"{"api_key":"sk-json","org":"x"}"#,
        ))
        .unwrap();
        assert_eq!(k.expose(), b"sk-json");
        assert!(api_key_of(SecretBytes::from_slice(br#"{"key":"sk"}"#)).is_none());
        assert!(api_key_of(SecretBytes::from_slice(b"  ")).is_none());
    }
}
