//! The listener and the per-request shell: limits, protocol decode, authentication, dispatch.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tresor_core::Core;
use tresor_types::Timestamp;

use crate::deadlines::{Activity, Deadlines};
use crate::handler::{handle, Shared};
use crate::limits::{self, Limits, PerSource};

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
    pub limits: Limits,
    /// Whether `GET /metrics` answers (Prometheus text format, no authentication).
    pub metrics: bool,
    pub rotation: RotationSettings,
}

/// How the rotation scheduler runs in this server.
#[derive(Debug, Clone)]
pub struct RotationSettings {
    /// Where rotators reach this server.
    pub endpoint_url: String,
    /// A CA bundle for rotators to trust the endpoint with.
    pub ca_bundle: Option<std::path::PathBuf>,
    /// How often the scheduler looks for due rotations.
    pub tick: std::time::Duration,
}

pub(crate) fn tls_acceptor(files: &TlsFiles) -> std::io::Result<tokio_rustls::TlsAcceptor> {
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

/// The HTTP/1 and HTTP/2 settings every connection gets: bounded heads and streams. The
/// deadlines are kept by [`Deadlines`], so hyper's own header timer is off and hyper is given
/// no timer.
pub(crate) fn http_builder() -> hyper_util::server::conn::auto::Builder<TokioExecutor> {
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .header_read_timeout(None)
        .max_headers(limits::MAX_HEADERS)
        .max_buf_size(limits::MAX_HEADER_BYTES);
    builder
        .http2()
        .max_header_list_size(limits::MAX_HEADER_BYTES as u32)
        .max_concurrent_streams(limits::MAX_H2_STREAMS);
    builder
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
    let limits = config.limits;
    let gateway = tresor_gateway::Gateway::new(core.clone(), tresor_gateway::Config::default())
        .map_err(|e| std::io::Error::other(format!("AI gateway: {e}")))?;
    let shared = Arc::new(Shared {
        core: core.clone(),
        body_read_timeout: limits.body_read_timeout,
        metrics: config.metrics,
        gateway: Arc::new(gateway),
    });
    let builder = Arc::new(http_builder());
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let per_source = Arc::new(PerSource::default());
    let purger = tokio::spawn(purge_loop(core.clone()));
    let scheduler = tresor_rotation::scheduler::start(
        Arc::new(rotation_engine(core.clone(), &config.rotation)?),
        config.rotation.tick,
    );
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        // At the cap, stop accepting: new clients wait in the kernel's backlog until a
        // connection ends, instead of being refused.
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
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
        let Some(source_slot) =
            PerSource::take(&per_source, peer.ip(), limits.max_connections_per_ip)
        else {
            tracing::debug!(source = %peer.ip(), "connection refused: too many from this source");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let builder = builder.clone();
        let acceptor = acceptor.clone();
        let secure = acceptor.is_some();
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
                let streams = req.uri().path().starts_with(tresor_gateway::PATH_PREFIX);
                async move {
                    let response = handle(shared, req, peer, secure).await;
                    // A gateway answer is in flight until its body ends: a stream can outlast
                    // the idle deadline, which must not cut it. Every other answer is whole
                    // when it is returned (and keeps its one allocation on the hot path).
                    let response = if streams {
                        response.map(|body| crate::wire::held(body, in_flight))
                    } else {
                        drop(in_flight);
                        response
                    };
                    Ok::<_, std::convert::Infallible>(response)
                }
            });
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
    scheduler.abort();
    Ok(())
}

/// Once a minute: remove secrets whose recovery window ended, and expired STS sessions.
/// The engine that runs this node's rotations.
fn rotation_engine(
    core: Arc<Core>,
    settings: &RotationSettings,
) -> std::io::Result<tresor_rotation::Engine> {
    let node = format!(
        "{}-{}",
        std::process::id(),
        hex_id(tresor_crypto::random_bytes(6).map_err(|e| std::io::Error::other(e.to_string()))?)
    );
    Ok(tresor_rotation::Engine {
        core,
        node,
        endpoint_url: settings.endpoint_url.clone(),
        ca_bundle: settings.ca_bundle.clone(),
        dispatch: crate::dispatch::secretsmanager,
        clients: tresor_rotation::http::Clients::new()
            .map_err(|e| std::io::Error::other(format!("rotation HTTPS client: {e}")))?,
        clock: Arc::new(tresor_rotation::scheduler::SystemClock),
    })
}

fn hex_id(bytes: Vec<u8>) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn purge_loop(core: Arc<Core>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        let core = core.clone();
        let swept = tokio::task::spawn_blocking(move || {
            let now = Timestamp::now();
            (
                core.purge_expired_secrets(now),
                core.purge_expired_sessions(now),
                core.destroy_due_kms_keys(now),
            )
        })
        .await;
        match swept {
            Ok((secrets, sessions, keys)) => {
                match keys {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(
                        destroyed = n,
                        "destroyed KMS keys whose waiting period ended"
                    ),
                    Err(e) => {
                        tracing::error!(error = %e, "destroying KMS keys due for deletion failed")
                    }
                }
                match secrets {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(purged = n, "removed secrets whose recovery window ended")
                    }
                    Err(e) => tracing::error!(error = %e, "purging expired secrets failed"),
                }
                match sessions {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(purged = n, "removed expired STS sessions"),
                    Err(e) => tracing::error!(error = %e, "purging expired sessions failed"),
                }
            }
            Err(e) => tracing::error!(error = %e, "purge task failed"),
        }
    }
}
