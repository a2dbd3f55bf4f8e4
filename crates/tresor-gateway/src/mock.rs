//! A mock provider for tests and benchmarks (feature `mock`): an HTTP server on loopback that
//! answers OpenAI chat completions and Anthropic messages in the documented shapes, JSON or
//! SSE, with fixed usage figures, and records which credential and path each request carried.
//! Deliberately small and fast: the benchmark's "direct" figures are measured against it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use parking_lot::Mutex;

/// Usage every mock answer reports.
pub const INPUT_TOKENS: u64 = 12;
pub const OUTPUT_TOKENS: u64 = 5;

/// One request the mock received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// `Authorization` or `x-api-key`, as received.
    pub credential: Option<String>,
    pub body: Bytes,
}

/// A running mock; it stops when dropped.
pub struct MockUpstream {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl MockUpstream {
    /// Start on 127.0.0.1 (port 0). With `record`, keep every request for inspection.
    pub async fn start(record: bool) -> std::io::Result<Self> {
        Self::start_on("127.0.0.1:0", record).await
    }

    pub async fn start_on(addr: &str, record: bool) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let received = Arc::new(Mutex::new(Vec::new()));
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let kept = received.clone();
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = &mut stopped => break,
                };
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let kept = kept.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let kept = kept.clone();
                        async move {
                            Ok::<_, std::convert::Infallible>(
                                answer(req, record.then_some(kept)).await,
                            )
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            addr,
            received,
            stop: Some(stop),
        })
    }

    /// The requests received so far (when recording).
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().clone()
    }
}

impl Drop for MockUpstream {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

type MockBody = http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>;

async fn answer(
    req: Request<Incoming>,
    record: Option<Arc<Mutex<Vec<Received>>>>,
) -> Response<MockBody> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    if let Some(kept) = record {
        let credential = parts
            .headers
            .get("authorization")
            .or_else(|| parts.headers.get("x-api-key"))
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        kept.lock().push(Received {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            credential,
            body: body.clone(),
        });
    }
    let path = parts.uri.path();
    let anthropic = path.ends_with("/messages");
    let text = std::str::from_utf8(&body).unwrap_or("");
    let stream = text.contains("\"stream\":true") || text.contains("\"stream\": true");
    let usage_asked =
        text.contains("\"include_usage\":true") || text.contains("\"include_usage\": true");
    let slow = text.contains("mock-slow");
    match (anthropic, stream) {
        (false, false) => json(OPENAI_CHAT),
        (true, false) => json(ANTHROPIC_MESSAGE),
        (false, true) => {
            let mut events: Vec<&'static str> = OPENAI_CHUNKS.to_vec();
            if usage_asked {
                events.push(OPENAI_USAGE_CHUNK);
            }
            events.push("data: [DONE]\n\n");
            sse(events, slow)
        }
        (true, true) => sse(ANTHROPIC_EVENTS.to_vec(), slow),
    }
}

fn json(body: &'static str) -> Response<MockBody> {
    let mut resp = Response::new(Full::new(Bytes::from_static(body.as_bytes())).boxed());
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    resp.headers_mut()
        .insert("x-request-id", http::HeaderValue::from_static("req_mock"));
    resp
}

fn sse(events: Vec<&'static str>, slow: bool) -> Response<MockBody> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(8);
    tokio::spawn(async move {
        for e in events {
            if slow {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if tx.send(Bytes::from_static(e.as_bytes())).await.is_err() {
                return;
            }
        }
    });
    let body = http_body_util::StreamBody::new(ChunkStream(rx));
    let mut resp = Response::new(BodyExt::boxed(body));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/event-stream"),
    );
    resp
}

struct ChunkStream(tokio::sync::mpsc::Receiver<Bytes>);

impl futures_core::Stream for ChunkStream {
    type Item = Result<hyper::body::Frame<Bytes>, std::convert::Infallible>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0
            .poll_recv(cx)
            .map(|b| b.map(|b| Ok(hyper::body::Frame::data(b))))
    }
}

const OPENAI_CHAT: &str = r#"{"id":"chatcmpl-mock","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the mock."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}"#;

const OPENAI_CHUNKS: [&str; 3] = [
    "data: {\"id\":\"chatcmpl-mock\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"chatcmpl-mock\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello from the mock.\"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"chatcmpl-mock\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
];

const OPENAI_USAGE_CHUNK: &str = "data: {\"id\":\"chatcmpl-mock\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":5,\"total_tokens\":17}}\n\n";

const ANTHROPIC_MESSAGE: &str = r#"{"id":"msg_mock","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hello from the mock."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":5}}"#;

const ANTHROPIC_EVENTS: [&str; 6] = [
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_mock\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n",
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello from the mock.\"}}\n\n",
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":5}}\n\n",
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
];
