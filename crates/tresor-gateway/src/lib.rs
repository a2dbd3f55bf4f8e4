//! The AI gateway: `/gateway/<route>/…` calls from applications pass through to OpenAI- and
//! Anthropic-style providers with the provider key added on the way out, so the application
//! never holds it.
//!
//! Data path of one call ([`Gateway::handle`]):
//! 1. The path names the route; the caller's gateway key (`tgk_…`, in `Authorization: Bearer`
//!    or `x-api-key`) is read from the headers ([`headers`]); the body is read whole, within
//!    [`Config::max_request_body`].
//! 2. [`admit`] (on a blocking thread): the core checks the key (its MAC, expiry, status) and
//!    the route, [`wire`] reads the model, stream flag, `max_tokens` and an input estimate
//!    from the body, the core authorizes `gateway:Invoke` with the IAM policy engine, and
//!    [`prices`] turns the estimate into USD, which the core holds against the key's budget
//!    (with its rate window) in one store transaction. The core reads the provider key from
//!    the route's secret. A refusal is answered in the provider's error shape with
//!    `x-should-retry: false` (and `retry-after` when waiting helps), and recorded.
//! 3. [`relay`]: the request goes upstream ([`upstream`]) with only the credential headers
//!    changed; the response comes back whole (JSON) or as it arrives (SSE, through [`body`]),
//!    metered by [`wire`]. When it ends, the core settles the hold from the reported usage
//!    (or an estimate, and the record says which) and writes the call's audit record in the
//!    same transaction, before the response completes.
//!
//! Never logged, recorded or echoed: the gateway key, the provider key, prompt or completion
//! content. The query string is forwarded but never recorded.

mod admit;
pub mod body;
pub mod headers;
#[cfg(feature = "mock")]
pub mod mock;
pub mod prices;
mod relay;
pub mod upstream;
pub mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use tresor_core::gateway::{CallMeta, Refusal};
use tresor_core::Core;

pub use body::Body;
use wire::{ErrorKind, Provider};

/// The path prefix the gateway answers under.
pub const PATH_PREFIX: &str = "/gateway/";

/// Limits and defaults of the gateway.
#[derive(Debug, Clone)]
pub struct Config {
    /// Largest request body (prompts with images run to megabytes).
    pub max_request_body: usize,
    /// Largest non-streamed response body the gateway reads whole.
    pub max_response_body: usize,
    /// How long a request body may take to arrive.
    pub body_read_timeout: Duration,
    /// How long the upstream may take to answer (headers); a streamed body may take longer.
    pub upstream_timeout: Duration,
    /// Output tokens assumed for a request that names no `max_tokens`.
    pub default_max_output_tokens: u64,
    /// Chunks a stream buffers for a slow client before it stops reading the upstream.
    pub stream_buffer_chunks: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_request_body: 32 * 1024 * 1024,
            max_response_body: 64 * 1024 * 1024,
            body_read_timeout: Duration::from_secs(60),
            upstream_timeout: Duration::from_secs(600),
            default_max_output_tokens: 4096,
            stream_buffer_chunks: 64,
        }
    }
}

/// The gateway, shared by every connection.
pub struct Gateway {
    core: Arc<Core>,
    upstreams: upstream::Upstreams,
    prices: admit::PriceCache,
    config: Config,
}

impl Gateway {
    pub fn new(core: Arc<Core>, config: Config) -> Result<Self, upstream::ClientError> {
        Ok(Self {
            core,
            upstreams: upstream::Upstreams::new()?,
            prices: admit::PriceCache::default(),
            config,
        })
    }

    /// Answer one `/gateway/…` request.
    pub async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
        peer: SocketAddr,
        secure: bool,
        request_id: String,
        started: Instant,
    ) -> Response<Body> {
        let (parts, body) = req.into_parts();
        let looks_like = if parts.headers.contains_key("anthropic-version") {
            Provider::Anthropic
        } else {
            Provider::OpenAi
        };
        let path = parts.uri.path();
        let Some((route, rest)) = split_path(path) else {
            return error_response(
                looks_like,
                ErrorKind::NotFound,
                "Tresor gateway: call /gateway/<route>/… (an OpenAI-style route at /gateway/<route>/v1).",
                None,
                &request_id,
            );
        };
        let route = route.to_owned();
        let rest = rest.to_owned();
        let declared = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let too_large = || {
            error_response(
                looks_like,
                ErrorKind::InvalidRequest,
                "Tresor gateway: the request body is larger than the gateway accepts.",
                None,
                &request_id,
            )
        };
        if declared.is_some_and(|n| n > self.config.max_request_body as u64) {
            return too_large();
        }
        let collected = tokio::time::timeout(
            self.config.body_read_timeout,
            Limited::new(body, self.config.max_request_body).collect(),
        )
        .await;
        let body: Bytes = match collected {
            Ok(Ok(c)) => c.to_bytes(),
            Ok(Err(e))
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some() =>
            {
                return too_large()
            }
            _ => {
                return error_response(
                    looks_like,
                    ErrorKind::InvalidRequest,
                    "Tresor gateway: the request body could not be read in time.",
                    None,
                    &request_id,
                )
            }
        };
        let meta = CallMeta {
            request_id: request_id.clone(),
            source_ip: peer.ip(),
            user_agent: parts
                .headers
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|ua| ua.chars().take(512).collect()),
            secure,
            started,
            path: rest.clone(),
        };
        let token: Option<Vec<u8>> = headers::presented_key(&parts.headers).map(<[u8]>::to_vec);
        let query = parts.uri.query().map(str::to_owned);
        let gw = self.clone();
        let admitted = tokio::task::spawn_blocking(move || {
            let call = admit::Incoming {
                token: token.as_deref(),
                route: &route,
                rest: &rest,
                query: query.as_deref(),
                body,
                looks_like,
            };
            let result = admit::admit(&gw.core, &gw.prices, &gw.config, call, meta);
            if let Err(rejected) = &result {
                // Recorded before the refusal is answered (fail closed if it cannot be).
                let recorded = gw.core.gateway_refused(
                    rejected.inv.as_ref(),
                    &rejected.meta,
                    &route,
                    &rejected.refusal,
                );
                return (result, recorded.is_ok());
            }
            (result, true)
        })
        .await;
        let (admitted, recorded) = match admitted {
            Ok(a) => a,
            Err(_) => {
                tracing::error!(request_id, "gateway admission task failed");
                return error_response(
                    looks_like,
                    ErrorKind::Unavailable,
                    "Tresor gateway: internal error.",
                    None,
                    &request_id,
                );
            }
        };
        match admitted {
            Ok(admitted) => {
                let gw = self.clone();
                let method = parts.method.clone();
                let headers = parts.headers;
                // A task of its own: a client that goes away does not stop the settlement
                // and the record of a call already sent upstream.
                let relayed = tokio::spawn(async move {
                    relay::relay(
                        gw.core.clone(),
                        &gw.upstreams,
                        &gw.config,
                        admitted,
                        method,
                        headers,
                    )
                    .await
                });
                match relayed.await {
                    Ok(resp) => resp,
                    Err(_) => error_response(
                        looks_like,
                        ErrorKind::Unavailable,
                        "Tresor gateway: internal error.",
                        None,
                        &request_id,
                    ),
                }
            }
            Err(rejected) if !recorded => error_response(
                rejected.provider,
                ErrorKind::Unavailable,
                "Tresor gateway: the call could not be recorded.",
                None,
                &request_id,
            ),
            Err(rejected) => {
                let kind = match &rejected.refusal {
                    Refusal::Unauthenticated => ErrorKind::Authentication,
                    Refusal::NoRoute(_) => ErrorKind::NotFound,
                    Refusal::Denied(_) => ErrorKind::Permission,
                    Refusal::BadRequest(_) => ErrorKind::InvalidRequest,
                    Refusal::Budget { .. } => ErrorKind::BudgetExceeded,
                    Refusal::Rate { .. } => ErrorKind::RateLimited,
                    Refusal::Unavailable(_) => ErrorKind::Unavailable,
                };
                error_response(
                    rejected.provider,
                    kind,
                    &format!("Tresor gateway: {}", rejected.refusal.message()),
                    rejected.refusal.retry_after_secs(),
                    &request_id,
                )
            }
        }
    }
}

/// `/gateway/<route><rest>` → (`route`, `rest`), `rest` empty or starting with `/`.
fn split_path(path: &str) -> Option<(&str, &str)> {
    let after = path.strip_prefix(PATH_PREFIX)?;
    let (route, rest) = match after.find('/') {
        Some(i) => after.split_at(i),
        None => (after, ""),
    };
    (!route.is_empty()).then_some((route, rest))
}

/// The gateway's own refusal, in the provider's error shape. Every one carries
/// `x-should-retry: false`: the SDKs' automatic retries would only repeat it (a refusal that
/// waiting can lift says when, in `retry-after`, for the caller to decide).
pub(crate) fn error_response(
    provider: Provider,
    kind: ErrorKind,
    message: &str,
    retry_after_secs: Option<u64>,
    request_id: &str,
) -> Response<Body> {
    let mut resp = Response::new(body::full(wire::error_body(provider, kind, message)));
    *resp.status_mut() = StatusCode::from_u16(kind.status()).unwrap_or(StatusCode::BAD_GATEWAY);
    let h = resp.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert("x-should-retry", HeaderValue::from_static("false"));
    if let Some(secs) = retry_after_secs {
        h.insert(http::header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-request-id", v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_the_route_and_the_rest() {
        assert_eq!(
            split_path("/gateway/openai/v1/chat/completions"),
            Some(("openai", "/v1/chat/completions"))
        );
        assert_eq!(split_path("/gateway/anthropic"), Some(("anthropic", "")));
        assert_eq!(split_path("/gateway//v1"), None);
        assert_eq!(split_path("/other"), None);
    }
}
