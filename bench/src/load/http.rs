//! One keep-alive HTTP/1.1 client connection (hyper's low-level `conn` API, no pool), and the
//! endpoint it talks to. Each load task owns one [`Connection`] and so has exactly one request
//! in flight: the closed loop the report's latencies assume.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Body as _;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

/// How long connecting may take before it counts as a transport error.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one request may take before it counts as a transport error, so a hung server
/// cannot keep a run going past its deadline.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Where requests go: `http://host:port` only (the bench runs on loopback, TLS would measure
/// the handshake library rather than the server).
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// As given, for reports.
    pub url: String,
    /// `host:port`, sent as the `Host` header and signed.
    pub authority: String,
    /// Resolved address to connect to.
    pub addr: SocketAddr,
}

impl Endpoint {
    /// Parses and resolves `http://host:port[/]`.
    pub async fn resolve(url: &str) -> crate::BenchResult<Self> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            format!("endpoint {url:?}: only http://host:port is supported (no TLS)")
        })?;
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() || authority.contains('/') {
            return Err(format!("endpoint {url:?}: expected http://host:port"));
        }
        let with_port = if authority
            .rsplit_once(':')
            .is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        let addr = tokio::net::lookup_host(with_port.as_str())
            .await
            .map_err(|e| format!("endpoint {url:?}: cannot resolve: {e}"))?
            .next()
            .ok_or_else(|| format!("endpoint {url:?}: no address"))?;
        Ok(Self {
            url: url.to_owned(),
            authority: authority.to_owned(),
            addr,
        })
    }
}

/// A response, read whole (keep-alive needs the body drained anyway).
pub struct Response {
    pub status: u16,
    pub body: Bytes,
    /// When the first non-empty piece of the body arrived (None: an empty body): a streamed
    /// answer's time to first byte.
    pub first_byte: Option<Instant>,
}

/// An open HTTP/1.1 connection with at most one request in flight.
pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
}

impl Connection {
    /// Opens a TCP connection (no Nagle delay) and runs hyper's connection driver beside it.
    pub async fn open(addr: SocketAddr) -> Result<Self, String> {
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(addr))
            .await
            .map_err(|_| format!("connect to {addr} timed out"))?
            .map_err(|e| format!("connect to {addr}: {e}"))?;
        stream
            .set_nodelay(true)
            .map_err(|e| format!("set TCP_NODELAY: {e}"))?;
        let (sender, driver) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP handshake with {addr}: {e}"))?;
        // The driver ends when the peer closes; the next send then fails and the caller
        // reconnects.
        tokio::spawn(async move {
            let _ = driver.await;
        });
        Ok(Self { sender })
    }

    /// Whether the peer closed the connection (it answered `Connection: close`, say).
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }

    /// Sends one request and reads the whole response, within [`REQUEST_TIMEOUT`].
    pub async fn send(&mut self, request: http::Request<Full<Bytes>>) -> Result<Response, String> {
        tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(request))
            .await
            .map_err(|_| format!("no answer within {REQUEST_TIMEOUT:?}"))?
    }

    async fn exchange(&mut self, request: http::Request<Full<Bytes>>) -> Result<Response, String> {
        self.sender
            .ready()
            .await
            .map_err(|e| format!("connection not ready: {e}"))?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let status = response.status().as_u16();
        let mut incoming = response.into_body();
        // Read frame by frame, not with `collect`, to see when the first bytes arrive: an SSE
        // stream's first event comes long before its end.
        let mut body = bytes::BytesMut::new();
        let mut first_byte = None;
        while !incoming.is_end_stream() {
            let Some(frame) = incoming.frame().await else {
                break;
            };
            let frame = frame.map_err(|e| format!("reading the response body: {e}"))?;
            if let Ok(data) = frame.into_data() {
                if !data.is_empty() {
                    first_byte.get_or_insert_with(Instant::now);
                    body.extend_from_slice(&data);
                }
            }
        }
        Ok(Response {
            status,
            body: body.freeze(),
            first_byte,
        })
    }
}

/// A plain `GET path` on a fresh connection: readiness checks (`/health`).
pub async fn get_status(endpoint: &Endpoint, path: &str) -> Result<u16, String> {
    let mut conn = Connection::open(endpoint.addr).await?;
    let request = http::Request::builder()
        .method(http::Method::GET)
        .uri(path)
        .header(http::header::HOST, endpoint.authority.as_str())
        .body(Full::new(Bytes::new()))
        .map_err(|e| format!("building GET {path}: {e}"))?;
    Ok(conn.send(request).await?.status)
}
