//! Child processes the bench starts (Tresor, moto, the ceiling): a guard that kills and reaps
//! its child when dropped, so every exit path (error, Ctrl-C handled by the caller, panic)
//! leaves nothing running; free loopback ports; waiting until a server answers.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::load::http::{self, Endpoint};

/// How long a server may take to answer its first request (moto imports a lot of Python).
const READY_TIMEOUT: Duration = Duration::from_secs(90);
/// How much of a child's log an error message shows.
const LOG_TAIL: usize = 2000;

/// A running child, killed (SIGKILL) and reaped when dropped.
pub struct ChildGuard {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A command with a clean environment: no inherited `TRESOR_*` or `AWS_*` variables (a stray
/// passphrase or endpoint must not change what is measured) and no stdin.
pub fn clean_command(program: &Path) -> Command {
    let mut cmd = Command::new(program);
    for (key, _) in std::env::vars_os() {
        let k = key.to_string_lossy();
        if k.starts_with("TRESOR_") || k.starts_with("AWS_") {
            cmd.env_remove(&key);
        }
    }
    cmd.stdin(Stdio::null());
    cmd
}

impl ChildGuard {
    /// Starts `cmd` with stdout and stderr going to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> crate::BenchResult<Self> {
        let out = File::create(log).map_err(|e| format!("creating {}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("opening {}: {e}", log.display()))?;
        cmd.stdout(out).stderr(err);
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {name} ({:?}): {e}", cmd.get_program()))?;
        Ok(Self {
            name: name.to_owned(),
            child,
            log: log.to_path_buf(),
        })
    }

    /// The end of the child's output, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let start = text
            .char_indices()
            .rev()
            .nth(LOG_TAIL)
            .map_or(0, |(i, _)| i);
        text[start..].to_owned()
    }

    /// Waits until `GET path` on `endpoint` answers `want` (any status if None), failing if
    /// the child exits first or the deadline passes.
    pub async fn wait_ready(
        &mut self,
        endpoint: &Endpoint,
        path: &str,
        want: Option<u16>,
    ) -> crate::BenchResult {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "{} exited ({status}) before it was ready; its output:\n{}",
                    self.name,
                    self.log_tail()
                ));
            }
            let last = match http::get_status(endpoint, path).await {
                Ok(s) if want.is_none_or(|w| w == s) => return Ok(()),
                Ok(s) => format!("GET {path} answered {s}"),
                Err(e) => e,
            };
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} at {} not ready after {READY_TIMEOUT:?} ({last}); its output:\n{}",
                    self.name,
                    endpoint.url,
                    self.log_tail()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Whether the child is still running (a crash under load is worth reporting).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// A loopback port free right now (bound and released: another process could take it in
/// between, which on a bench machine does not happen).
pub fn free_port() -> crate::BenchResult<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("finding a free port: {e}"))?;
    Ok(listener
        .local_addr()
        .map_err(|e| format!("finding a free port: {e}"))?
        .port())
}
