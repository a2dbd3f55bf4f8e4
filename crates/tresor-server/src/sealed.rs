//! The sealed mode of a node whose root key is sealed with Shamir shares.
//!
//! Data path: the listener is up before the root key can be opened. While sealed, a node
//! answers three things only: `GET /health` (503, `{"sealed":true,"threshold":K,"progress":P}`),
//! `POST /tresor/unseal` (one share per call, or `{"reset":true}`; no SigV4, as Vault's
//! `sys/unseal`: the share is the credential), and every other request with a 503
//! `ServiceUnavailableException`. The shares go to [`Unsealing`] (memory only). When a share
//! completes the set and the root key opens, the call is answered with `Connection: close`,
//! this loop stops accepting, the sealed connections close, and the caller serves the new
//! [`Core`] on the same listener with [`crate::serve`].

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tresor_core::unsealing::{Submitted, UnsealError, UnsealStatus, Unsealing};
use tresor_core::Core;
use zeroize::Zeroizing;

use crate::deadlines::{Activity, Deadlines};
use crate::http_server::{http_builder, tls_acceptor, ServerConfig};
use crate::limits::PerSource;
use crate::wire::{self, Body};

/// The unseal endpoint's path.
pub const UNSEAL_PATH: &str = "/tresor/unseal";
/// Largest unseal request body: a share is under 100 bytes.
const MAX_UNSEAL_BODY: usize = 4 * 1024;
const SEALED_MESSAGE: &str = "Tresor is sealed: unseal it with `tresor operator unseal`.";

struct SealedShared {
    unsealing: Arc<Unsealing>,
    body_read_timeout: std::time::Duration,
    /// The core, once the shares opened the root key.
    opened: Mutex<Option<Core>>,
    unsealed: tokio::sync::Notify,
}

/// Serve the sealed mode on `listener` until the node is unsealed (`Some(core)`) or
/// `shutdown` resolves (`None`).
pub async fn serve_sealed(
    unsealing: Arc<Unsealing>,
    listener: &TcpListener,
    config: &ServerConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<Option<Core>> {
    let acceptor = config.tls.as_ref().map(tls_acceptor).transpose()?;
    let limits = config.limits;
    let shared = Arc::new(SealedShared {
        unsealing,
        body_read_timeout: limits.body_read_timeout,
        opened: Mutex::new(None),
        unsealed: tokio::sync::Notify::new(),
    });
    let builder = Arc::new(http_builder());
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let per_source = Arc::new(PerSource::default());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    let unsealed = loop {
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break false,
            },
            () = shared.unsealed.notified() => break true,
            () = &mut shutdown => break false,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            () = shared.unsealed.notified() => break true,
            () = &mut shutdown => break false,
        };
        let Some(source_slot) =
            PerSource::take(&per_source, peer.ip(), limits.max_connections_per_ip)
        else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (shared, builder, acceptor) = (shared.clone(), builder.clone(), acceptor.clone());
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _held = (permit, source_slot);
            let activity = Arc::new(Activity::default());
            let stream = Deadlines::new(
                stream,
                activity.clone(),
                limits.header_read_timeout,
                limits.idle_timeout,
            );
            let service = hyper::service::service_fn(move |req| {
                let shared = shared.clone();
                let in_flight = activity.begin();
                async move {
                    let response = answer(&shared, req, peer).await;
                    drop(in_flight);
                    Ok::<_, std::convert::Infallible>(response)
                }
            });
            let result = match acceptor {
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(tls) => {
                        let conn = builder.serve_connection(TokioIo::new(tls), service);
                        watcher.watch(conn.into_owned()).await
                    }
                    Err(_) => return,
                },
                None => {
                    let conn = builder.serve_connection(TokioIo::new(stream), service);
                    watcher.watch(conn.into_owned()).await
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "sealed-mode connection ended with an error");
            }
        });
    };
    // Sealed-mode connections end here: idle ones at once, one in flight when it is answered.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), graceful.shutdown()).await;
    if !unsealed {
        return Ok(None);
    }
    let core = shared
        .opened
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    Ok(core)
}

fn status_body(sealed: bool, status: UnsealStatus) -> Vec<u8> {
    serde_json::json!({
        "sealed": sealed,
        "threshold": status.threshold,
        "shares": status.shares,
        "progress": status.progress,
    })
    .to_string()
    .into_bytes()
}

async fn answer(
    shared: &Arc<SealedShared>,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Body> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let path = req.uri().path().to_owned();
    if req.method() == Method::GET && path == "/health" {
        let mut resp = wire::ok(status_body(true, shared.unsealing.progress()), &request_id);
        *resp.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        return resp;
    }
    if shared
        .opened
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .is_some()
    {
        // Accepted in the instant between the last share and the hand-over to the serving
        // mode: the client reconnects and reaches the serving node.
        let mut resp = wire::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailableException",
            "Tresor was just unsealed and is starting to serve: retry.",
            &request_id,
        );
        resp.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
        return resp;
    }
    if req.method() == Method::POST && path == UNSEAL_PATH {
        return unseal(shared, req, peer, &request_id).await;
    }
    wire::error(
        StatusCode::SERVICE_UNAVAILABLE,
        "ServiceUnavailableException",
        SEALED_MESSAGE,
        &request_id,
    )
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct UnsealRequest<'a> {
    /// Borrowed from the (zeroizing) body, so no other copy of the share is made.
    #[serde(borrow)]
    share: Option<&'a str>,
    #[serde(default)]
    reset: bool,
}

async fn unseal(
    shared: &Arc<SealedShared>,
    req: Request<Incoming>,
    peer: SocketAddr,
    request_id: &str,
) -> Response<Body> {
    let bad = |message: &str| {
        wire::error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterException",
            message,
            request_id,
        )
    };
    let collected = tokio::time::timeout(
        shared.body_read_timeout,
        Limited::new(req.into_body(), MAX_UNSEAL_BODY).collect(),
    )
    .await;
    let body: Zeroizing<Vec<u8>> = match collected {
        Ok(Ok(c)) => Zeroizing::new(zeroize_bytes(c.to_bytes())),
        _ => return bad("The unseal request body must be JSON of at most 4 KiB."),
    };
    let Ok(request) = serde_json::from_slice::<UnsealRequest>(&body) else {
        return bad(
            r#"The unseal request must be {"share": "tresor-share-v1-…"} or {"reset": true}."#,
        );
    };
    if request.reset {
        tracing::info!(source = %peer.ip(), "unseal progress reset");
        return wire::ok(status_body(true, shared.unsealing.reset()), request_id);
    }
    let Some(share) = request.share else {
        return bad(
            r#"The unseal request must be {"share": "tresor-share-v1-…"} or {"reset": true}."#,
        );
    };
    let share = Zeroizing::new(share.as_bytes().to_vec());
    let unsealing = shared.unsealing.clone();
    let submitted = tokio::task::spawn_blocking(move || unsealing.submit(&share)).await;
    let submitted = match submitted {
        Ok(s) => s,
        Err(_) => {
            return wire::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalFailure",
                "The unseal attempt failed.",
                request_id,
            )
        }
    };
    match submitted {
        Ok(Submitted::Progress(status)) => {
            tracing::info!(source = %peer.ip(), progress = status.progress, threshold = status.threshold, "unseal share accepted");
            wire::ok(status_body(true, status), request_id)
        }
        Ok(Submitted::Unsealed(core)) => {
            tracing::info!(source = %peer.ip(), "unsealed");
            let status = UnsealStatus {
                progress: 0,
                ..shared.unsealing.progress()
            };
            *shared.opened.lock().unwrap_or_else(|e| e.into_inner()) = Some(*core);
            shared.unsealed.notify_one();
            let mut resp = wire::ok(status_body(false, status), request_id);
            resp.headers_mut().insert(
                http::header::CONNECTION,
                http::HeaderValue::from_static("close"),
            );
            resp
        }
        Err(UnsealError::MalformedShare(message)) => bad(&format!("{message}.")),
        Err(e @ UnsealError::WrongShares) => {
            tracing::warn!(source = %peer.ip(), "unseal failed: the shares do not open this store");
            wire::error(
                StatusCode::BAD_REQUEST,
                "IncorrectKeyException",
                &capitalized(&e.to_string()),
                request_id,
            )
        }
        Err(e @ UnsealError::CoolingDown(_)) => wire::error(
            StatusCode::TOO_MANY_REQUESTS,
            "ThrottlingException",
            &capitalized(&e.to_string()),
            request_id,
        ),
        Err(UnsealError::AlreadyUnsealed) => wire::error(
            StatusCode::CONFLICT,
            "InvalidRequestException",
            "This node is already unsealed.",
            request_id,
        ),
        Err(UnsealError::Internal(detail)) => {
            tracing::error!(error = %detail, "unseal failed");
            wire::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalFailure",
                "The unseal attempt failed on the server; see its log.",
                request_id,
            )
        }
    }
}

/// The body's bytes in a buffer this module owns, the original wiped where it is not shared.
fn zeroize_bytes(bytes: Bytes) -> Vec<u8> {
    let copy = bytes.to_vec();
    if let Ok(mut owned) = bytes.try_into_mut() {
        zeroize::Zeroize::zeroize(owned.as_mut());
    }
    copy
}

fn capitalized(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}
