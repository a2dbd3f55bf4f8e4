//! HTTP clients to the providers: HTTPS with the platform's roots (and a route's extra CA
//! when it names one), HTTP/1.1 and HTTP/2, pooled connections. Plain HTTP is refused unless
//! the route passed the core's transport check (loopback, or `AllowHttp`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use parking_lot::Mutex;

pub type UpstreamClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// How long connecting to an upstream may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the route's CA certificate could not be read")]
    BadCa,
    #[error("TLS set-up failed: {0}")]
    Tls(String),
}

/// The clients, one per distinct extra CA (most routes share the default one).
pub struct Upstreams {
    default: UpstreamClient,
    with_ca: Mutex<HashMap<[u8; 32], UpstreamClient>>,
}

impl Upstreams {
    pub fn new() -> Result<Self, ClientError> {
        Ok(Self {
            default: client(None)?,
            with_ca: Mutex::new(HashMap::new()),
        })
    }

    /// The client for a route, given its extra CA bundle (PEM) if any.
    pub fn for_route(&self, ca_pem: Option<&str>) -> Result<UpstreamClient, ClientError> {
        let Some(pem) = ca_pem else {
            return Ok(self.default.clone());
        };
        let id = tresor_crypto::sha256(pem.as_bytes());
        if let Some(c) = self.with_ca.lock().get(&id) {
            return Ok(c.clone());
        }
        let c = client(Some(pem))?;
        self.with_ca.lock().insert(id, c.clone());
        Ok(c)
    }
}

fn roots(extra_pem: Option<&str>) -> Result<rustls::RootCertStore, ClientError> {
    let mut roots = rustls::RootCertStore::empty();
    // Unreadable platform certificates are skipped, as every TLS client does.
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(pem) = extra_pem {
        let mut reader = pem.as_bytes();
        let mut added = 0;
        for cert in rustls_pemfile::certs(&mut reader) {
            roots
                .add(cert.map_err(|_| ClientError::BadCa)?)
                .map_err(|_| ClientError::BadCa)?;
            added += 1;
        }
        if added == 0 {
            return Err(ClientError::BadCa);
        }
    }
    Ok(roots)
}

fn client(extra_pem: Option<&str>) -> Result<UpstreamClient, ClientError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Tls(e.to_string()))?
        .with_root_certificates(roots(extra_pem)?)
        .with_no_client_auth();
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    http.set_nodelay(true);
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .build(connector))
}
