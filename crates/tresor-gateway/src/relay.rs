//! After admission: the call goes upstream, the answer comes back (a JSON body whole, an SSE
//! stream chunk by chunk as it arrives), its usage is metered, and the core settles and
//! records the call before the response completes. The relay runs in a task of its own, so a
//! client that goes away mid-call still leaves a settled hold and a record behind.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use tokio::sync::mpsc;
use tresor_core::gateway::{Outcome, UsageSource, UsedTokens};
use tresor_core::{Core, CoreError};

use crate::admit::Admitted;
use crate::body::{self, Body};
use crate::prices;
use crate::upstream::Upstreams;
use crate::wire::{self, ErrorKind, Provider, StreamMeter, Usage};
use crate::{error_response, headers, Config};

/// Relay an admitted call and answer it.
pub async fn relay(
    core: Arc<Core>,
    upstreams: &Upstreams,
    config: &Config,
    admitted: Admitted,
    method: http::Method,
    client_headers: http::HeaderMap,
) -> Response<Body> {
    let provider = admitted.provider;
    let request_id = admitted.inv.meta.request_id.clone();
    let request = match build_request(upstreams, &admitted, method, &client_headers) {
        Ok(r) => r,
        Err(why) => {
            return finish_failed(core, admitted, why, ErrorKind::Unavailable).await;
        }
    };
    let (client, request) = request;
    let sent = tokio::time::timeout(config.upstream_timeout, client.request(request)).await;
    let response = match sent {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            // The error's text can name the host; it never holds the key.
            tracing::info!(request_id, error = %e, "gateway upstream unreachable");
            return finish_failed(
                core,
                admitted,
                "the upstream could not be reached",
                ErrorKind::Upstream,
            )
            .await;
        }
        Err(_) => {
            return finish_failed(
                core,
                admitted,
                "the upstream did not answer in time",
                ErrorKind::Upstream,
            )
            .await;
        }
    };
    let (parts, upstream_body) = response.into_parts();
    let content_type = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // JSON (answers and errors) is read whole, to meter it; anything else (SSE, audio, files)
    // is passed on as it arrives.
    if content_type.starts_with("application/json") {
        whole(core, config, admitted, parts, upstream_body, provider).await
    } else {
        let sse = content_type.starts_with("text/event-stream");
        stream(core, config, admitted, parts, upstream_body, sse)
    }
}

type Prepared = (crate::upstream::UpstreamClient, http::Request<Full<Bytes>>);

fn build_request(
    upstreams: &Upstreams,
    a: &Admitted,
    method: http::Method,
    client_headers: &http::HeaderMap,
) -> Result<Prepared, &'static str> {
    let client = upstreams
        .for_route(a.inv.route.ca_pem.as_deref())
        .map_err(|_| "the route's CA certificate could not be used")?;
    let uri: http::Uri = format!("{}{}", a.inv.route.base_url, a.upstream_path)
        .parse()
        .map_err(|_| "the route's base URL and the request path do not form a URL")?;
    let headers = headers::upstream_request(client_headers, a.provider, &a.key)
        .map_err(|_| "the route's secret does not hold a valid header value")?;
    let mut request = http::Request::new(Full::new(a.body.clone()));
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    Ok((client, request))
}

/// The upstream never answered: release the hold, record the failure, answer 502/503.
async fn finish_failed(
    core: Arc<Core>,
    a: Admitted,
    why: &'static str,
    kind: ErrorKind,
) -> Response<Body> {
    let outcome = Outcome {
        status: 0,
        used: UsedTokens::default(),
        source: UsageSource::None,
        cost_micro_usd: 0,
        client_disconnected: false,
        upstream_error: Some(why.to_owned()),
    };
    let provider = a.provider;
    let request_id = a.inv.meta.request_id.clone();
    let message = if finish(core, a, outcome).await {
        format!("Tresor gateway: {why}.")
    } else {
        "Tresor gateway: the call could not be recorded.".to_owned()
    };
    error_response(provider, kind, &message, None, &request_id)
}

/// Settle and record a finished call: whether its record is durable. A call that holds
/// nothing only queues its record (no thread waits); one that holds a budget settles in a
/// store transaction, on a blocking thread.
async fn finish(core: Arc<Core>, a: Admitted, outcome: Outcome) -> bool {
    let finished = if a.inv.holds() {
        tokio::task::spawn_blocking(move || core.gateway_finish(&a.inv, &outcome))
            .await
            .unwrap_or_else(|_| Err(CoreError::Internal("settlement task failed".to_owned())))
    } else {
        core.gateway_finish(&a.inv, &outcome)
    };
    match finished {
        Ok(Some(ticket)) => ticket.durable().await.is_ok(),
        Ok(None) => true,
        Err(_) => false,
    }
}

fn used(u: &Usage) -> UsedTokens {
    UsedTokens {
        input_tokens: u.input_tokens,
        output_tokens: u.output_tokens,
        cached_input_tokens: u.cached_input_tokens,
    }
}

/// The cost of what was used, at the model's price (0 for a model without one).
fn cost(a: &Admitted, u: &Usage) -> i64 {
    a.price.as_ref().map_or(0, |p| prices::cost_micro(p, u))
}

/// A response that is not a stream: read whole (bounded), metered, settled and recorded,
/// then answered.
async fn whole(
    core: Arc<Core>,
    config: &Config,
    a: Admitted,
    parts: http::response::Parts,
    upstream_body: hyper::body::Incoming,
    provider: Provider,
) -> Response<Body> {
    let request_id = a.inv.meta.request_id.clone();
    let collected = Limited::new(upstream_body, config.max_response_body)
        .collect()
        .await;
    let Ok(collected) = collected else {
        return finish_failed(
            core,
            a,
            "the upstream's answer could not be read",
            ErrorKind::Upstream,
        )
        .await;
    };
    let bytes = collected.to_bytes();
    let status = parts.status.as_u16();
    let usage = wire::usage_of_body(a.provider, a.endpoint, &bytes);
    let (used_tokens, source, cost_micro) = match &usage {
        Some(u) => (used(u), UsageSource::Reported, cost(&a, u)),
        None => (UsedTokens::default(), UsageSource::None, 0),
    };
    let outcome = Outcome {
        status,
        used: used_tokens,
        source,
        cost_micro_usd: cost_micro,
        client_disconnected: false,
        upstream_error: None,
    };
    if !finish(core, a, outcome).await {
        // Fail closed: an answer without its record is not sent.
        return error_response(
            provider,
            ErrorKind::Unavailable,
            "Tresor gateway: the call could not be recorded.",
            None,
            &request_id,
        );
    }
    let mut resp = Response::new(body::full(bytes));
    *resp.status_mut() = parts.status;
    *resp.headers_mut() = headers::client_response(&parts.headers, false);
    resp
}

/// An SSE response: forwarded as it arrives through a pump task; settled and recorded when
/// the upstream ends (or the client goes away), before the client's body ends.
fn stream(
    core: Arc<Core>,
    config: &Config,
    a: Admitted,
    parts: http::response::Parts,
    upstream_body: hyper::body::Incoming,
    sse: bool,
) -> Response<Body> {
    let (tx, client_body) = body::channel(config.stream_buffer_chunks);
    let mut resp = Response::new(client_body);
    *resp.status_mut() = parts.status;
    *resp.headers_mut() = headers::client_response(&parts.headers, true);
    if !resp.headers().contains_key(http::header::CACHE_CONTROL) {
        resp.headers_mut().insert(
            http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        );
    }
    let status = parts.status;
    tokio::spawn(pump(core, a, status, upstream_body, tx, sse));
    resp
}

async fn pump(
    core: Arc<Core>,
    a: Admitted,
    status: StatusCode,
    mut upstream: hyper::body::Incoming,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    sse: bool,
) {
    let mut meter = StreamMeter::new(a.provider, a.endpoint, a.strip_usage);
    let mut forwarded: u64 = 0;
    let mut disconnected = false;
    let mut cut = false;
    loop {
        tokio::select! {
            frame = upstream.frame() => match frame {
                Some(Ok(frame)) => {
                    let Ok(data) = frame.into_data() else { continue };
                    let out = meter.push(&data);
                    if !out.is_empty() {
                        forwarded += out.len() as u64;
                        if tx.send(Ok(out)).await.is_err() {
                            disconnected = true;
                            break;
                        }
                    }
                }
                Some(Err(_)) => {
                    cut = true;
                    break;
                }
                None => break,
            },
            _ = tx.closed() => {
                disconnected = true;
                break;
            }
        }
    }
    // Dropping the upstream body cancels the upstream call if it is still running.
    drop(upstream);
    let rest = meter.finish();
    // Only an event stream has a protocol end to miss; other bodies end when they end.
    let ended_early = sse && !meter.completed() && !disconnected && status.is_success();
    // An in-band error event is the provider's own end of the stream (the client has it);
    // a stream that just stops is a cut the gateway reports as an error of its own.
    let errored = meter.saw_error();
    let cut_short = (cut || ended_early) && !errored;
    let upstream_error = if errored {
        Some("the upstream sent an error event".to_owned())
    } else if cut_short {
        Some("the upstream stream ended before its final event".to_owned())
    } else {
        None
    };
    let (used_tokens, source, cost_micro) = match meter.usage() {
        Some(u) => (used(&u), UsageSource::Reported, cost(&a, &u)),
        None if status.is_success() && a.endpoint.billable() => {
            // No usage reported (cut, or the client left first): bill an estimate, the input
            // estimate and what was forwarded as output (about four bytes a token), and say so.
            // Bytes forwarded include the SSE framing, so the figure is capped at the
            // output the call could produce (what its reservation held).
            let u = Usage {
                input_tokens: a.shape.input_estimate_tokens,
                output_tokens: forwarded.div_ceil(4).min(a.output_cap),
                ..Usage::default()
            };
            (used(&u), UsageSource::Estimated, cost(&a, &u))
        }
        None => (UsedTokens::default(), UsageSource::None, 0),
    };
    let outcome = Outcome {
        status: status.as_u16(),
        used: used_tokens,
        source,
        cost_micro_usd: cost_micro,
        client_disconnected: disconnected,
        upstream_error: upstream_error.clone(),
    };
    let provider = a.provider;
    let recorded = finish(core, a, outcome).await;
    if disconnected {
        return;
    }
    if !rest.is_empty() && tx.send(Ok(rest)).await.is_err() {
        return;
    }
    if !recorded {
        // Fail closed: the client sees a broken transfer, never a clean end.
        let _ = tx
            .send(Err(std::io::Error::other("the call could not be recorded")))
            .await;
        return;
    }
    if cut_short {
        // A cut upstream is an error the SDK raises, never a clean end of stream.
        let event = wire::stream_error_event(
            provider,
            ErrorKind::Upstream,
            "Tresor gateway: the upstream stream ended before its final event.",
        );
        let _ = tx.send(Ok(event)).await;
    }
}
