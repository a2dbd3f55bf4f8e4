//! A `tresor server` child process for one measurement: started on a free loopback port, timed
//! until `GET /health` answers 200, its memory read from `/proc/<pid>/status`, and stopped on
//! every exit path (the guard's `Drop` kills it if [`Server::stop`] was not reached).

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long a server may take to answer its health check.
const START_TIMEOUT: Duration = Duration::from_secs(600);
/// How long a stopping server may take to drain before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// From spawn to the first 200 on `/health`.
    pub startup: Duration,
}

/// Resident memory of a process, in bytes.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Memory {
    /// `VmRSS`: resident now.
    pub rss: u64,
    /// `VmHWM`: the peak resident size so far.
    pub hwm: u64,
    /// `RssAnon`: the heap and stacks, i.e. `VmRSS` without mapped files (the store file
    /// is read through a memory map, whose resident pages are page cache, not heap).
    pub anon: u64,
}

impl Server {
    /// Start `tresor server` on `data_dir`, its output appended to `log`.
    pub fn start(
        bin: &Path,
        data_dir: &Path,
        key_file: &Path,
        log: &Path,
    ) -> crate::BenchResult<Self> {
        let addr = free_port()?;
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
        let start = Instant::now();
        let child = Command::new(bin)
            .arg("server")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--unseal-key-file")
            .arg(key_file)
            .arg("--listen")
            .arg(addr.to_string())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let mut server = Self {
            child,
            addr,
            startup: Duration::ZERO,
        };
        loop {
            if health(addr) == Some(200) {
                server.startup = start.elapsed();
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!(
                    "tresor server exited during start-up ({status}); see {}",
                    log.display()
                ));
            }
            if start.elapsed() > START_TIMEOUT {
                return Err(format!(
                    "tresor server did not answer /health within {} s; see {}",
                    START_TIMEOUT.as_secs(),
                    log.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The server's process id (its CPU time is read by `load --server-pid`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn memory(&self) -> Option<Memory> {
        memory_of(self.child.id())
    }

    /// Run `f` while sampling the server's memory every 200 ms; answers `f`'s result and the
    /// largest `VmRSS`, `VmHWM` and `RssAnon` seen.
    pub fn sampling<T>(&self, f: impl FnOnce() -> T) -> (T, Memory) {
        let pid = self.child.id();
        let done = AtomicBool::new(false);
        std::thread::scope(|s| {
            let sampler = s.spawn(|| {
                let mut peak = Memory::default();
                loop {
                    if let Some(m) = memory_of(pid) {
                        peak.rss = peak.rss.max(m.rss);
                        peak.hwm = peak.hwm.max(m.hwm);
                        peak.anon = peak.anon.max(m.anon);
                    }
                    if done.load(Ordering::Relaxed) {
                        return peak;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            });
            let out = f();
            done.store(true, Ordering::Relaxed);
            (out, sampler.join().unwrap_or_default())
        })
    }

    /// Stop gracefully (SIGTERM: the audit writer drains and checkpoints), killing the server
    /// if it does not exit in time.
    pub fn stop(mut self) -> crate::BenchResult {
        let pid = self.child.id().to_string();
        let termed = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .is_ok_and(|s| s.success());
        let deadline = Instant::now() + STOP_TIMEOUT;
        while termed && Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) => return Ok(()),
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => return Err(format!("waiting for the server: {e}")),
            }
        }
        self.kill();
        Ok(())
    }

    fn kill(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A loopback port nobody listens on right now.
fn free_port() -> crate::BenchResult<SocketAddr> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

/// The status code of `GET /health`, if the server answered.
fn health(addr: SocketAddr) -> Option<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    // "HTTP/1.1 200"
    std::str::from_utf8(head.get(9..12)?).ok()?.parse().ok()
}

/// `VmRSS` and `VmHWM` of `pid` from `/proc/<pid>/status` (Linux).
pub fn memory_of(pid: u32) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |field: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(field))?;
        let n: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(n * 1024)
    };
    Some(Memory {
        rss: kib("VmRSS:")?,
        hwm: kib("VmHWM:")?,
        anon: kib("RssAnon:").unwrap_or(0),
    })
}
