//! Reading a program's stdout or stderr while it runs, keeping only the last
//! [`MAX_CAPTURED`] bytes but draining everything (a full pipe would block the program).

use std::sync::Arc;

use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::task::JoinHandle;

use crate::rotator::{capped, MAX_CAPTURED};

/// One pipe being read in the background.
pub(super) struct Capture {
    kept: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
}

impl Capture {
    pub(super) fn start<R>(pipe: Option<R>) -> Self
    where
        R: AsyncRead + Unpin + Send + 'static,
    {
        let kept = Arc::new(Mutex::new(Vec::new()));
        let reader = pipe.map(|pipe| tokio::spawn(drain(pipe, Arc::clone(&kept))));
        Self { kept, reader }
    }

    /// What was read, once the pipe is closed or `deadline` has passed (whichever is first).
    pub(super) async fn finish(mut self, deadline: tokio::time::Instant) -> Vec<u8> {
        if let Some(reader) = self.reader.as_mut() {
            if tokio::time::timeout_at(deadline, &mut *reader)
                .await
                .is_err()
            {
                reader.abort();
            }
        }
        capped(std::mem::take(&mut *self.kept.lock()))
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(reader) = &self.reader {
            reader.abort();
        }
    }
}

async fn drain<R: AsyncRead + Unpin>(mut pipe: R, kept: Arc<Mutex<Vec<u8>>>) {
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        match pipe.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let mut kept = kept.lock();
                kept.extend_from_slice(&chunk[..n]);
                // Trimmed in batches: at most twice the cap is held at any time.
                if kept.len() > 2 * MAX_CAPTURED {
                    let excess = kept.len() - MAX_CAPTURED;
                    kept.drain(..excess);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn keeps_the_last_bytes_of_a_long_stream() {
        let mut data = vec![b'a'; 3 * MAX_CAPTURED];
        data.extend_from_slice(b"the end");
        let capture = Capture::start(Some(std::io::Cursor::new(data)));
        let far = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        let kept = capture.finish(far).await;
        assert_eq!(kept.len(), MAX_CAPTURED);
        assert!(kept.ends_with(b"aaathe end"));
    }

    #[tokio::test]
    async fn a_missing_pipe_is_empty() {
        let capture = Capture::start(None::<std::io::Cursor<Vec<u8>>>);
        let now = tokio::time::Instant::now();
        assert!(capture.finish(now).await.is_empty());
    }
}
