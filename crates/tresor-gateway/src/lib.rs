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
        let Some((route, rest)) = split_path(parts.uri.path()) else {
            return error_response(
                looks_like,
                ErrorKind::NotFound,
                "Tresor gateway: call /gateway/<route>/… (an OpenAI-style route at /gateway/<route>/v1).",
                None,
                &request_id,
            );
        };
        let (route, rest) = (route.to_owned(), rest.to_owned());
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

        // 1. The key and the route, before the body is read.
        let token: Option<Vec<u8>> = headers::presented_key(&parts.headers).map(<[u8]>::to_vec);
        let gw = self.clone();
        let inline = self.core.reads_inline();
        let identified = self
            .store_work(inline, looks_like, &request_id, move || {
                let head = admit::Head {
                    token: token.as_deref(),
                    route: &route,
                    looks_like,
                };
                admit::identify(&gw.core, &head, meta)
            })
            .await;
        let (inv, provider) = match identified {
            Ok(Ok(identified)) => identified,
            Ok(Err(rejected)) => return self.reject(rejected).await,
            Err(resp) => return resp,
        };

        // 2. The body, bounded.
        let body = match self.read_body(&parts.headers, body).await {
            Ok(body) => body,
            Err(why) => {
                let rejected =
                    admit::Rejected::of(inv, provider, Refusal::BadRequest(why.to_owned()));
                return self.reject(rejected).await;
            }
        };

        // 3. Authorization, budget, the provider key.
        let query = parts.uri.query().map(str::to_owned);
        let gw = self.clone();
        let inline = self.core.reads_inline() && !inv.will_hold();
        let admitted = self
            .store_work(inline, provider, &request_id, move || {
                let call = admit::Incoming {
                    rest: &rest,
                    query: query.as_deref(),
                    body,
                };
                admit::admit(&gw.core, &gw.prices, &gw.config, inv, provider, call)
            })
            .await;
        let admitted = match admitted {
            Ok(Ok(admitted)) => admitted,
            Ok(Err(rejected)) => return self.reject(rejected).await,
            Err(resp) => return resp,
        };

        // 4. Upstream, in a task of its own: a client that goes away does not stop the
        // settlement and the record of a call already sent.
        let gw = self.clone();
        let method = parts.method.clone();
        let headers = parts.headers;
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
            Err(_) => internal_error(provider, &request_id),
        }
    }

    /// Run store work, its reads in one snapshot: `inline` (reads only, on the embedded
    /// store: microseconds, less than a hop to the blocking pool and back) on this task, else
    /// on a blocking thread. A task that failed is answered at once.
    async fn store_work<T: Send + 'static>(
        &self,
        inline: bool,
        provider: Provider,
        request_id: &str,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Response<Body>> {
        if inline {
            return Ok(self.core.reading(work));
        }
        let core = self.core.clone();
        tokio::task::spawn_blocking(move || core.reading(work))
            .await
            .map_err(|_| {
                tracing::error!(request_id, "gateway task failed");
                internal_error(provider, request_id)
            })
    }

    /// The request body, within the size and time limits (a message for the caller if not).
    async fn read_body(
        &self,
        headers: &http::HeaderMap,
        body: Incoming,
    ) -> Result<Bytes, &'static str> {
        const TOO_LARGE: &str = "the request body is larger than the gateway accepts";
        let declared = headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.config.max_request_body as u64) {
            return Err(TOO_LARGE);
        }
        let collected = tokio::time::timeout(
            self.config.body_read_timeout,
            Limited::new(body, self.config.max_request_body).collect(),
        )
        .await;
        match collected {
            Ok(Ok(c)) => Ok(c.to_bytes()),
            Ok(Err(e))
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some() =>
            {
                Err(TOO_LARGE)
            }
            _ => Err("the request body could not be read in time"),
        }
    }

    /// Record a refusal, then answer it in the provider's shape (or, if the record could not
    /// be written, with 503: nothing is answered without its record).
    async fn reject(self: &Arc<Self>, rejected: Box<admit::Rejected>) -> Response<Body> {
        let gw = self.clone();
        let request_id = rejected.meta.request_id.clone();
        let provider = rejected.provider;
        let recorded = tokio::task::spawn_blocking(move || {
            let route = rejected
                .inv
                .as_ref()
                .map(|i| i.route.name.clone())
                .unwrap_or_default();
            let recorded = gw.core.gateway_refused(
                rejected.inv.as_ref(),
                &rejected.meta,
                &route,
                &rejected.refusal,
            );
            (rejected, recorded.is_ok())
        })
        .await;
        let Ok((rejected, true)) = recorded else {
            return error_response(
                provider,
                ErrorKind::Unavailable,
                "Tresor gateway: the call could not be recorded.",
                None,
                &request_id,
            );
        };
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
            provider,
            kind,
            &format!("Tresor gateway: {}", rejected.refusal.message()),
            rejected.refusal.retry_after_secs(),
            &request_id,
        )
    }
}

fn internal_error(provider: Provider, request_id: &str) -> Response<Body> {
    error_response(
        provider,
        ErrorKind::Unavailable,
        "Tresor gateway: internal error.",
        None,
        request_id,
    )
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
