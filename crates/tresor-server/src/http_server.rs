//! The listener and the per-request shell: limits, protocol decode, authentication, dispatch.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tresor_core::secretsmanager::Operation;
use tresor_core::{Core, CoreError, RequestContext};
use tresor_types::Timestamp;

use crate::wire::{self, Body};
use crate::{dispatch, MAX_BODY_BYTES};

/// PEM files for HTTPS.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub tls: Option<TlsFiles>,
}

fn tls_acceptor(files: &TlsFiles) -> std::io::Result<tokio_rustls::TlsAcceptor> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
    let mut cert_reader = std::io::BufReader::new(std::fs::File::open(&files.cert)?);
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut cert_reader)
        .collect::<Result<_, _>>()
        .map_err(|e| bad(format!("reading {}: {e}", files.cert.display())))?;
    if certs.is_empty() {
        return Err(bad(format!(
            "no certificate found in {}",
            files.cert.display()
        )));
    }
    let mut key_reader = std::io::BufReader::new(std::fs::File::open(&files.key)?);
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut key_reader)
        .map_err(|_| {
            bad(format!(
                "cannot read a private key from {}",
                files.key.display()
            ))
        })?
        .ok_or_else(|| bad(format!("no private key found in {}", files.key.display())))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(format!("TLS configuration: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| bad(format!("TLS certificate and key: {e}")))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Serve until `shutdown` resolves. The listener is bound before this returns its future's
/// first poll completes, so callers can print the address right after `bind`.
pub async fn serve(
    core: Arc<Core>,
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let acceptor = config.tls.as_ref().map(tls_acceptor).transpose()?;
    let purger = tokio::spawn(purge_loop(core.clone()));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let core = core.clone();
        let acceptor = acceptor.clone();
        let secure = acceptor.is_some();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let core = core.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(core, req, peer, secure).await) }
            });
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let result = match acceptor {
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(tls) => {
                        watcher
                            .watch(
                                builder
                                    .serve_connection(TokioIo::new(tls), service)
                                    .into_owned(),
                            )
                            .await
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "TLS handshake failed");
                        return;
                    }
                },
                None => {
                    watcher
                        .watch(
                            builder
                                .serve_connection(TokioIo::new(stream), service)
                                .into_owned(),
                        )
                        .await
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    // Let requests in flight finish (bounded), so no client sees a reset for an acknowledged
    // change.
    if tokio::time::timeout(std::time::Duration::from_secs(10), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after 10 s; stopping anyway");
    }
    purger.abort();
    Ok(())
}

/// Secrets whose recovery window ended are removed for good, checked every minute.
async fn purge_loop(core: Arc<Core>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        let core = core.clone();
        match tokio::task::spawn_blocking(move || core.purge_expired_secrets(Timestamp::now()))
            .await
        {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(purged = n, "removed secrets whose recovery window ended"),
            Ok(Err(e)) => tracing::error!(error = %e, "purging expired secrets failed"),
            Err(e) => tracing::error!(error = %e, "purge task failed"),
        }
    }
}

fn header<'a>(req: &'a Request<Incoming>, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

async fn handle(
    core: Arc<Core>,
    req: Request<Incoming>,
    peer: SocketAddr,
    _secure: bool,
) -> Response<Body> {
    let request_id = uuid::Uuid::new_v4().to_string();
    if req.uri().path() == "/health" && req.method() == Method::GET {
        return wire::ok(br#"{"status":"ok","sealed":false}"#.to_vec(), &request_id);
    }
    if req.method() != Method::POST || req.uri().path() != "/" {
        return wire::error(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            "Tresor answers POST / (AWS JSON protocol) and GET /health.",
            &request_id,
        );
    }
    let too_large = || {
        wire::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLargeException",
            "Request body must be 1 MiB or smaller.",
            &request_id,
        )
    };
    let declared = header(&req, "content-length").and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return too_large();
    }
    let (parts, body) = req.into_parts();
    let body: Bytes = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return too_large()
        }
        Err(_) => {
            return wire::error(
                StatusCode::BAD_REQUEST,
                "SerializationException",
                "The request body could not be read.",
                &request_id,
            )
        }
    };
    let mut ctx_headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_owned(), v.to_owned()))
        })
        .collect();
    // HTTP/2 carries the host as the `:authority` pseudo-header, which hyper puts in the URI;
    // SigV4 signs it as `host`.
    if !parts.headers.contains_key(http::header::HOST) {
        if let Some(authority) = parts.uri.authority() {
            ctx_headers.push(("host".to_owned(), authority.as_str().to_owned()));
        }
    }
    let user_agent = parts
        .headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let content_type = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or("").to_owned();
    let method = parts.method.as_str().to_owned();

    let rid = request_id.clone();
    let outcome = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, CoreError> {
        let now = Timestamp::now();
        let sig_request = tresor_sigv4::Request {
            method: &method,
            path: &path,
            query: &query,
            headers: &ctx_headers,
            body: &body,
        };
        let (service, op_name) = match target.as_deref().and_then(|t| t.split_once('.')) {
            Some(("secretsmanager", op)) => ("secretsmanager", op),
            _ => {
                // Authenticate first so an unsigned probe learns nothing, then refuse.
                let scope_service = "secretsmanager";
                core.authenticate(&sig_request, scope_service, now)?;
                return Err(CoreError::UnknownOperation(match target {
                    None => "Missing X-Amz-Target header: Tresor needs it to choose the operation.".to_owned(),
                    Some(_) => "Unknown X-Amz-Target: this endpoint serves secretsmanager.<Operation>.".to_owned(),
                }));
            }
        };
        let authenticated = core.authenticate(&sig_request, service, now)?;
        let op = Operation::from_name(op_name).ok_or_else(|| {
            CoreError::UnknownOperation(format!("Unknown operation secretsmanager.{op_name}."))
        })?;
        match content_type.as_deref().map(|c| c.split(';').next().unwrap_or("").trim()) {
            Some("application/x-amz-json-1.1") | Some("application/x-amz-json-1.0") => {}
            _ => {
                return Err(CoreError::Serialization(
                    "Content-Type must be application/x-amz-json-1.1.".to_owned(),
                ))
            }
        }
        let ctx = RequestContext {
            principal: authenticated.principal,
            region: authenticated.region,
            request_id: rid,
            source_ip: Some(peer.ip().to_string()),
            user_agent,
            now,
        };
        let result = dispatch::secretsmanager(&core, &ctx, op, &body);
        match &result {
            Ok(_) => tracing::info!(request_id = %ctx.request_id, operation = op.name(), "ok"),
            Err(e) => tracing::info!(request_id = %ctx.request_id, operation = op.name(), error = e.aws_code(), "failed"),
        }
        result
    })
    .await;
    match outcome {
        Ok(Ok(body)) => wire::ok(body, &request_id),
        Ok(Err(e)) => wire::core_error(&e, &request_id),
        Err(join) => {
            // A panic in an operation: log the fact, never its payload (it might hold data).
            tracing::error!(
                request_id,
                panicked = join.is_panic(),
                "operation task failed"
            );
            wire::core_error(
                &CoreError::Internal("operation task failed".to_owned()),
                &request_id,
            )
        }
    }
}
