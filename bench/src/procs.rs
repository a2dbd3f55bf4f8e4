//! Child processes the bench starts (Tresor, moto, the ceiling): a guard that kills and reaps
//! its child when dropped, so every exit path (error, Ctrl-C handled by the caller, panic)
//! leaves nothing running; free loopback ports; waiting until a server answers; the CPU time
//! a process has used.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::load::http::{self, Endpoint};

/// How long a server may take to answer its first request (moto imports a lot of Python).
const READY_TIMEOUT: Duration = Duration::from_secs(90);
/// How much of a child's log an error message shows.
const LOG_TAIL: usize = 2000;

/// A running child, killed (SIGKILL) and reaped when dropped; with its whole process group
/// when it leads one (servers that fork workers, like LiteLLM's proxy).
pub struct ChildGuard {
    name: String,
    child: Child,
    log: PathBuf,
    /// The child leads its own process group, which is killed with it.
    group: bool,
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if self.group {
            // By the group's id (the child's pid): its workers, and nothing else. `kill` is
            // the only way without unsafe code; if it is missing, the child itself still dies.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
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
    pub fn spawn(name: &str, cmd: Command, log: &Path) -> crate::BenchResult<Self> {
        Self::start(name, cmd, log, false)
    }

    /// Like [`ChildGuard::spawn`], in a process group of its own that is killed whole.
    pub fn spawn_group(name: &str, mut cmd: Command, log: &Path) -> crate::BenchResult<Self> {
        use std::os::unix::process::CommandExt as _;
        cmd.process_group(0);
        Self::start(name, cmd, log, true)
    }

    fn start(name: &str, mut cmd: Command, log: &Path, group: bool) -> crate::BenchResult<Self> {
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
            group,
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

    /// The child's process id (for [`cpu_time`]).
    pub fn pid(&self) -> u32 {
        self.child.id()
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

/// Clock ticks per second of `/proc/<pid>/stat`'s times: Linux reports them in `USER_HZ`,
/// which is 100 on every architecture it exports procfs times for (x86, arm, riscv, …).
const USER_HZ: u64 = 100;

/// The CPU time (user + system) process `pid` has used so far, all its threads included, live
/// and exited, as `/proc/<pid>/stat` counts it (10 ms ticks); None where there is no such
/// process or no procfs.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_cpu_time(&stat)
}

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line. The command name (field 2)
/// is in parentheses and may itself hold spaces and parentheses, so fields are counted from
/// the last `)`: the state (field 3) comes first after it.
fn parse_cpu_time(stat: &str) -> Option<Duration> {
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace().skip(14 - 3);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    let ticks = utime.checked_add(stime)?;
    Some(Duration::from_millis(ticks.checked_mul(1000 / USER_HZ)?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn cpu_time_is_read_past_a_command_name_with_spaces_and_parentheses() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
        // utime stime …
        let line = "4242 (tokio rt) (x)) S 1 4242 4242 0 -1 4194560 900 0 3 0 1234 56 0 0 20 0 9";
        assert_eq!(parse_cpu_time(line), Some(Duration::from_millis(12_900)));
        assert_eq!(parse_cpu_time("4242 (short) S 1 2"), None);
        assert_eq!(parse_cpu_time("no parentheses"), None);
    }

    #[test]
    fn cpu_time_of_this_process_grows_with_work() {
        let pid = std::process::id();
        let before = cpu_time(pid).unwrap();
        let start = std::time::Instant::now();
        // Spin until the clock has moved by five ticks: how long that takes depends on what
        // else the machine runs, so the bound is on wall time, generously.
        let mut x = 0u64;
        let after = loop {
            for _ in 0..1_000_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
            let now = cpu_time(pid).unwrap();
            if now >= before + Duration::from_millis(50) {
                break now;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the CPU time did not move while this thread spun: {before:?} -> {now:?}"
            );
        };
        // No more than the wall time on every core, plus a tick of rounding at each end.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
        assert!(
            after - before <= start.elapsed() * cores + Duration::from_millis(20),
            "{before:?} -> {after:?} in {:?}",
            start.elapsed()
        );
        assert_eq!(cpu_time(u32::MAX), None);
    }
}
