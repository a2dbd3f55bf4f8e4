//! The closed loop: one task per connection, each with exactly one request in flight, until the
//! deadline (or the request budget) is reached. Warm-up requests are sent but not recorded.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::http::{Connection, Response};
use super::report::Recorder;
use super::workload::RequestMaker;

/// Pause after a transport error, so a dead server is not hammered in a tight loop.
const BACKOFF: Duration = Duration::from_millis(10);

/// When the measured phase ends.
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    /// No request starts after this instant.
    At(Instant),
    /// This many measured requests in total, over all connections.
    After(u64),
}

/// What all connection tasks of a run share.
pub struct Run {
    pub maker: Arc<RequestMaker>,
    pub addr: SocketAddr,
    /// Requests starting before this are warm-up.
    pub warm_end: Instant,
    pub stop: Stop,
    /// Measured requests started so far (for [`Stop::After`]).
    pub issued: AtomicU64,
}

/// Runs `connections` tasks and returns their merged measurements and the instant the last
/// measured request finished.
pub async fn drive_all(
    run: Arc<Run>,
    connections: usize,
) -> crate::BenchResult<(Recorder, Instant)> {
    let tasks: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(drive(run.clone())))
        .collect();
    let mut total = Recorder::new()?;
    let mut last = run.warm_end;
    for task in tasks {
        let (recorder, finished) = task
            .await
            .map_err(|e| format!("a connection task failed: {e}"))??;
        total.merge(recorder)?;
        last = last.max(finished);
    }
    Ok((total, last))
}

/// One connection's loop.
async fn drive(run: Arc<Run>) -> crate::BenchResult<(Recorder, Instant)> {
    let mut rng = fastrand::Rng::new();
    let mut recorder = Recorder::new()?;
    let mut conn: Option<Connection> = None;
    let mut list_token: Option<String> = None;
    let mut finished = run.warm_end;
    loop {
        let now = Instant::now();
        let measured = now >= run.warm_end;
        match run.stop {
            Stop::At(end) if now >= end => break,
            Stop::After(n) if measured && run.issued.fetch_add(1, Ordering::Relaxed) >= n => break,
            _ => {}
        }
        let request = run.maker.next(&mut rng, list_token.as_deref())?;
        let started = Instant::now();
        let outcome = exchange(&mut conn, run.addr, request.to_http()).await;
        let latency = started.elapsed();
        if measured {
            recorder.record(latency, &outcome);
            if run.maker.streams() {
                if let Ok(response) = &outcome {
                    if let (200..300, Some(first)) = (response.status, response.first_byte) {
                        recorder.record_first_byte(first.saturating_duration_since(started));
                    }
                }
            }
            finished = Instant::now();
        }
        match &outcome {
            Ok(response) if run.maker.follows_pages() => list_token = next_token(response),
            Ok(_) => {}
            Err(_) => {
                conn = None;
                tokio::time::sleep(BACKOFF).await;
            }
        }
    }
    Ok((recorder, finished))
}

/// Sends on the connection, opening a new one first if there is none or the peer closed it.
async fn exchange(
    conn: &mut Option<Connection>,
    addr: SocketAddr,
    request: http::Request<http_body_util::Full<bytes::Bytes>>,
) -> Result<Response, String> {
    let open = match conn.take() {
        Some(c) if !c.is_closed() => c,
        _ => Connection::open(addr).await?,
    };
    let c = conn.insert(open);
    c.send(request).await
}

/// The NextToken of a ListSecrets answer; None (start over) at the end or on an error.
fn next_token(response: &Response) -> Option<String> {
    if !(200..300).contains(&response.status) {
        return None;
    }
    serde_json::from_slice::<serde_json::Value>(&response.body)
        .ok()?
        .get("NextToken")?
        .as_str()
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}
