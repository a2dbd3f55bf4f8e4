//! Before a call goes upstream: the core's checks (key, route, authorization, budget and
//! rates, the provider key), with what the wire and the price table know about the request.
//! Runs on a blocking thread: every step reads or writes the store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tresor_core::gateway::{AdmitRequest, CallMeta, Invocation, Refusal};
use tresor_core::Core;
use tresor_types::{SecretBytes, Timestamp};

use crate::prices::{self, Price, PriceTable};
use crate::wire::{self, CallShape, Endpoint, Provider};
use crate::Config;

/// A call admitted upstream.
pub struct Admitted {
    pub inv: Invocation,
    pub provider: Provider,
    pub endpoint: Endpoint,
    pub shape: CallShape,
    pub price: Option<Price>,
    /// The provider key for this call.
    pub key: SecretBytes,
    /// The body to send (the caller's, or with `include_usage` asked for).
    pub body: Bytes,
    /// Whether the stream's usage chunk was added by the gateway, to be removed.
    pub strip_usage: bool,
    /// The upstream URL's path (after the route's base URL) and query.
    pub upstream_path: String,
    /// The most output tokens the call can produce (`max_tokens × n`, or the default cap).
    pub output_cap: u64,
}

/// A call refused before it went upstream, and the invocation if the key was valid.
pub struct Rejected {
    pub refusal: Refusal,
    pub provider: Provider,
    pub inv: Option<Invocation>,
    pub meta: CallMeta,
}

/// Price tables by account, each rebuilt at most every second (overrides change rarely; a
/// change reaches every node within that bound).
#[derive(Default)]
pub struct PriceCache {
    tables: parking_lot::Mutex<std::collections::HashMap<String, (Instant, Arc<PriceTable>)>>,
}

const PRICE_TTL: Duration = Duration::from_secs(1);

impl PriceCache {
    fn table(
        &self,
        core: &Core,
        account: &tresor_types::AccountId,
    ) -> Result<Arc<PriceTable>, Refusal> {
        if let Some((at, t)) = self.tables.lock().get(account.as_str()) {
            if at.elapsed() < PRICE_TTL {
                return Ok(t.clone());
            }
        }
        let overrides = core
            .gateway_price_overrides(account)
            .map_err(|_| Refusal::Unavailable("the price table could not be read".to_owned()))?;
        let table = Arc::new(
            PriceTable::defaults().with_overrides(overrides.into_iter().map(|p| {
                (
                    p.model,
                    Price {
                        input_per_mtok_micro: p.input_micro_per_mtok,
                        output_per_mtok_micro: p.output_micro_per_mtok,
                        cached_input_per_mtok_micro: p.cached_input_micro_per_mtok,
                    },
                )
            })),
        );
        self.tables
            .lock()
            .insert(account.as_str().to_owned(), (Instant::now(), table.clone()));
        Ok(table)
    }
}

/// What the path and headers say, before the body is read.
pub struct Head<'a> {
    pub token: Option<&'a [u8]>,
    pub route: &'a str,
    /// The provider the request looks like (for the shape of an early refusal).
    pub looks_like: Provider,
}

/// The rest of the request, read once its key is known.
pub struct Incoming<'a> {
    /// The path after `/gateway/<route>` (`/v1/chat/completions`).
    pub rest: &'a str,
    pub query: Option<&'a str>,
    pub body: Bytes,
}

/// The key and the route: done before the body is read, so a caller without a valid key can
/// make the gateway read no more than the request's head.
pub fn identify(
    core: &Core,
    head: &Head<'_>,
    meta: CallMeta,
) -> Result<(Invocation, Provider), Box<Rejected>> {
    let inv = match core.gateway_identify(head.token, head.route, meta, Timestamp::now()) {
        Ok(inv) => inv,
        Err(unidentified) => {
            let tresor_core::gateway::Unidentified { refusal, meta, inv } = *unidentified;
            return Err(Box::new(Rejected {
                refusal,
                provider: head.looks_like,
                inv,
                meta,
            }));
        }
    };
    match inv.route.provider.parse::<Provider>() {
        Ok(p) => Ok((inv, p)),
        Err(_) => Err(Rejected::of(
            inv,
            head.looks_like,
            Refusal::Unavailable("the route names an unknown provider".to_owned()),
        )),
    }
}

impl Rejected {
    /// A refusal of an identified call.
    pub fn of(inv: Invocation, provider: Provider, refusal: Refusal) -> Box<Self> {
        let meta = inv.meta.clone();
        Box::new(Rejected {
            refusal,
            provider,
            inv: Some(inv),
            meta,
        })
    }
}

/// Everything else before the call goes upstream: authorization, prices, the reservation and
/// the provider key.
pub fn admit(
    core: &Core,
    prices: &PriceCache,
    config: &Config,
    mut inv: Invocation,
    provider: Provider,
    call: Incoming<'_>,
) -> Result<Admitted, Box<Rejected>> {
    match checked(core, prices, config, &mut inv, provider, &call) {
        Ok((endpoint, shape, price, key, body, strip_usage, upstream_path)) => Ok(Admitted {
            output_cap: shape
                .max_output_tokens
                .unwrap_or(config.default_max_output_tokens)
                .saturating_mul(shape.n.max(1)),
            inv,
            provider,
            endpoint,
            shape,
            price,
            key,
            body,
            strip_usage,
            upstream_path,
        }),
        Err(refusal) => Err(Rejected::of(inv, provider, refusal)),
    }
}

type Checked = (
    Endpoint,
    CallShape,
    Option<Price>,
    SecretBytes,
    Bytes,
    bool,
    String,
);

fn checked(
    core: &Core,
    prices: &PriceCache,
    config: &Config,
    inv: &mut Invocation,
    provider: Provider,
    call: &Incoming<'_>,
) -> Result<Checked, Refusal> {
    // OpenAI-style clients address the route's base URL as `/gateway/<route>/v1`; Anthropic
    // clients as `/gateway/<route>` (their paths carry `/v1/…`).
    let after_base = match provider {
        Provider::OpenAi => call
            .rest
            .strip_prefix("/v1")
            .filter(|r| r.is_empty() || r.starts_with('/')),
        Provider::Anthropic => Some(call.rest),
    }
    .ok_or_else(|| {
        Refusal::BadRequest(format!(
            "OpenAI-style routes are called at /gateway/{}/v1/…: set the SDK's base URL to it.",
            inv.route.name
        ))
    })?;
    let endpoint = wire::endpoint(provider, call.rest);
    let shape = wire::inspect(provider, endpoint, &call.body)
        .map_err(|e| Refusal::BadRequest(e.to_string()))?;
    core.gateway_authorize(inv, shape.model.as_deref(), shape.stream)?;
    let table = prices.table(core, &inv.key.account)?;
    let price = shape.model.as_deref().and_then(|m| table.price(m));
    let billable = endpoint.billable();
    let budgeted = inv.key.budget_micro_usd.is_some() || inv.principal_budget.is_some();
    if billable && price.is_none() && budgeted {
        return Err(Refusal::BadRequest(format!(
            "The gateway has no price for the model {}, so this key's budget cannot be enforced. Set one with `tresor gateway price set`.",
            shape.model.as_deref().unwrap_or("(none named)")
        )));
    }
    let estimate_micro_usd = match (&price, billable) {
        (Some(p), true) => prices::estimate_micro(p, &shape, config.default_max_output_tokens),
        _ => 0,
    };
    let max_output = shape
        .max_output_tokens
        .unwrap_or(config.default_max_output_tokens)
        .saturating_mul(shape.n.max(1));
    let estimate_tokens = if billable {
        shape.input_estimate_tokens.saturating_add(max_output)
    } else {
        0
    };
    core.gateway_reserve(
        inv,
        AdmitRequest {
            estimate_micro_usd,
            estimate_tokens: i64::try_from(estimate_tokens).unwrap_or(i64::MAX),
            lease: config.upstream_timeout + Duration::from_secs(60),
        },
    )?;
    let key = core.gateway_upstream_key(inv)?;
    let (body, strip_usage) =
        match wire::with_usage_requested(provider, endpoint, &shape, &call.body) {
            Some(b) => (Bytes::from(b), true),
            None => (call.body.clone(), false),
        };
    let upstream_path = match call.query {
        Some(q) => format!("{after_base}?{q}"),
        None => after_base.to_owned(),
    };
    Ok((
        endpoint,
        shape,
        price,
        key,
        body,
        strip_usage,
        upstream_path,
    ))
}
