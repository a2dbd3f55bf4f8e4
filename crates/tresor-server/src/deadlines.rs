//! Deadlines on a connection's reads: a request head must arrive within the header-read
//! timeout of its first byte, and a connection with no request in flight is closed after the
//! idle timeout.
//!
//! Written here rather than taken from hyper because hyper's HTTP/1 header timer starts when
//! the connection begins to wait for a head, so it also bounds the keep-alive wait and the two
//! cannot differ; and HTTP/2 and TLS handshakes have no such timer at all. The wrapper sits
//! under TLS, so a handshake that never completes counts as a head that never arrives.
//!
//! The service tells the wrapper when a request is in flight ([`Activity::begin`]); while one
//! is, no deadline runs (the body has its own timeout in the handler, and an operation may
//! wait for the store). A deadline that passes fails the read with `TimedOut`, and hyper
//! closes the connection.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// What the service shares with its connection's [`Deadlines`].
#[derive(Debug, Default)]
pub struct Activity {
    in_flight: AtomicUsize,
    /// Requests begun on this connection so far.
    begun: AtomicU64,
    /// The reader to wake when the last request in flight ends, so its idle deadline starts.
    reader: Mutex<Option<Waker>>,
}

/// A request in flight; it ends when dropped.
#[derive(Debug)]
pub struct InFlight(Arc<Activity>);

impl Activity {
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.begun.fetch_add(1, Ordering::SeqCst);
        InFlight(self.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            if let Some(waker) = self.0.reader.lock().take() {
                waker.wake();
            }
        }
    }
}

/// An IO stream whose reads fail with `TimedOut` when a deadline passes.
pub struct Deadlines<T> {
    inner: T,
    activity: Arc<Activity>,
    header_timeout: Duration,
    idle_timeout: Duration,
    /// Last time bytes moved either way, or a request ended.
    last_activity: Instant,
    /// When the first byte of a head not yet handed to the service arrived, and how many
    /// requests had begun then (a change means the head was handed over).
    head: Option<(Instant, u64)>,
    /// Whether a request was in flight at the last read.
    was_busy: bool,
    timer: Pin<Box<Sleep>>,
}

impl<T> Deadlines<T> {
    pub fn new(
        inner: T,
        activity: Arc<Activity>,
        header_timeout: Duration,
        idle_timeout: Duration,
    ) -> Self {
        let now = Instant::now();
        Self {
            inner,
            activity,
            header_timeout,
            idle_timeout,
            last_activity: now,
            head: None,
            was_busy: false,
            timer: Box::pin(tokio::time::sleep_until(now + idle_timeout)),
        }
    }

    /// The deadline now running, if any.
    fn deadline(&mut self, now: Instant) -> Option<Instant> {
        let busy = self.activity.in_flight.load(Ordering::SeqCst) > 0;
        let begun = self.activity.begun.load(Ordering::SeqCst);
        if self.head.is_some_and(|(_, at)| at != begun) {
            self.head = None;
        }
        if busy {
            self.was_busy = true;
            self.head = None;
            return None;
        }
        if self.was_busy {
            // The last request just ended: idleness starts now.
            self.was_busy = false;
            self.last_activity = now;
        }
        Some(match self.head {
            Some((started, _)) => started + self.header_timeout,
            None => self.last_activity + self.idle_timeout,
        })
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "connection deadline passed")
}

impl<T: AsyncRead + Unpin> AsyncRead for Deadlines<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    let now = Instant::now();
                    this.last_activity = now;
                    let idle = this.activity.in_flight.load(Ordering::SeqCst) == 0;
                    if idle && this.head.is_none() {
                        this.head = Some((now, this.activity.begun.load(Ordering::SeqCst)));
                    }
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                let now = Instant::now();
                let Some(deadline) = this.deadline(now) else {
                    // Woken when the last request in flight ends, so the idle deadline starts.
                    let mut reader = this.activity.reader.lock();
                    if !reader.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                        *reader = Some(cx.waker().clone());
                    }
                    return Poll::Pending;
                };
                if now >= deadline {
                    return Poll::Ready(Err(timed_out()));
                }
                // The timer is moved only when it would fire too late: a deadline that moved
                // later (each request moves the idle one) is found when the timer fires early,
                // so a busy connection does not re-register its timer on every read.
                if this.timer.deadline() > deadline {
                    this.timer.as_mut().reset(deadline);
                }
                loop {
                    match this.timer.as_mut().poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(()) if Instant::now() >= deadline => {
                            return Poll::Ready(Err(timed_out()))
                        }
                        Poll::Ready(()) => this.timer.as_mut().reset(deadline),
                    }
                }
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Deadlines<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.last_activity = Instant::now();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.last_activity = Instant::now();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const HEADER: Duration = Duration::from_secs(10);
    const IDLE: Duration = Duration::from_secs(60);

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_is_closed_after_the_idle_timeout() {
        let (client, server) = tokio::io::duplex(1024);
        let mut io = Deadlines::new(server, Arc::default(), HEADER, IDLE);
        let started = Instant::now();
        let mut buf = [0u8; 16];
        let err = io.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), IDLE);
        drop(client);
    }

    #[tokio::test(start_paused = true)]
    async fn a_head_must_arrive_within_the_header_timeout_of_its_first_byte() {
        let (mut client, server) = tokio::io::duplex(1024);
        let mut io = Deadlines::new(server, Arc::default(), HEADER, IDLE);
        client.write_all(b"POST / HTTP/1.1\r\n").await.unwrap();
        let mut buf = [0u8; 64];
        let started = Instant::now();
        assert!(io.read(&mut buf).await.unwrap() > 0);
        // Trickling more bytes does not extend the deadline.
        let trickle = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if client.write_all(b"x").await.is_err() {
                    break;
                }
            }
        });
        let err = loop {
            match io.read(&mut buf).await {
                Ok(_) => continue,
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() <= HEADER + Duration::from_secs(1));
        trickle.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn no_deadline_runs_while_a_request_is_in_flight() {
        let (client, server) = tokio::io::duplex(1024);
        let activity = Arc::new(Activity::default());
        let mut io = Deadlines::new(server, activity.clone(), HEADER, IDLE);
        let request = activity.begin();
        let mut buf = [0u8; 16];
        let read = tokio::time::timeout(IDLE * 3, io.read(&mut buf)).await;
        assert!(read.is_err(), "the read was still waiting");
        // Once it ends, the connection is idle and the idle deadline runs from then.
        let ended = Instant::now();
        drop(request);
        let err = io.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(ended.elapsed(), IDLE);
        drop(client);
    }

    #[tokio::test(start_paused = true)]
    async fn a_head_handed_to_the_service_stops_the_header_deadline() {
        let (mut client, server) = tokio::io::duplex(1024);
        let activity = Arc::new(Activity::default());
        let mut io = Deadlines::new(server, activity.clone(), HEADER, IDLE);
        client
            .write_all(b"GET /health HTTP/1.1\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 64];
        assert!(io.read(&mut buf).await.unwrap() > 0);
        // A fast request, begun and ended between two reads.
        drop(activity.begin());
        let quiet = Instant::now();
        let err = io.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(
            quiet.elapsed() >= IDLE,
            "idle, not a head: {:?}",
            quiet.elapsed()
        );
    }
}
