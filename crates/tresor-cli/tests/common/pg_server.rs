//! A PostgreSQL server of the test's own, for fault tests that stop and start the server: made
//! with `initdb` in a temporary directory and run with `pg_ctl` on a free loopback port, so
//! stopping it disturbs nobody else (the machine's shared server on 5432 stays up).
//!
//! The binaries come from `TRESOR_TEST_PG_BINDIR`, else `pg_config --bindir`, else the newest
//! `/usr/lib/postgresql/*/bin`. PostgreSQL refuses to run as root, so when the tests run as root
//! the server runs as the `postgres` user (`runuser`), owning its directory. Without the
//! binaries the test is skipped loudly, or fails when PostgreSQL is required (`CI=true`).

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::pg;

/// How the server is stopped.
#[derive(Debug, Clone, Copy)]
pub enum StopMode {
    /// `pg_ctl stop -m fast`: clients are disconnected, a clean shutdown (a restart).
    Fast,
    /// `pg_ctl stop -m immediate`: the server dies without a checkpoint, as in a crash or power
    /// loss; it recovers from its WAL on the next start.
    Immediate,
}

/// A running throw-away PostgreSQL; stopped (immediately) and removed when dropped.
pub struct OwnPostgres {
    bin_dir: PathBuf,
    /// Runs the server's commands as this user (when the tests run as root).
    run_as: Option<String>,
    root: tempfile::TempDir,
    pub port: u16,
}

impl OwnPostgres {
    /// Initializes and starts a server. `None` when PostgreSQL's binaries are not installed and
    /// PostgreSQL is not required.
    pub fn start() -> Option<Self> {
        let Some(bin_dir) = find_bin_dir() else {
            assert!(
                !pg::required(),
                "PostgreSQL is required (CI=true or TRESOR_REQUIRE_POSTGRES=1) but initdb/pg_ctl \
                 were not found (set TRESOR_TEST_PG_BINDIR)"
            );
            let _ = writeln!(
                std::io::stderr(),
                "\nSKIPPED: no PostgreSQL binaries (initdb, pg_ctl) found; the restart test did \
                 not run (set TRESOR_TEST_PG_BINDIR; CI=true makes this a failure)"
            );
            return None;
        };
        let run_as = is_root().then(|| "postgres".to_owned());
        let root = tempfile::Builder::new()
            .prefix("tresor-own-pg")
            .tempdir()
            .expect("temp dir");
        if let Some(user) = &run_as {
            let status = Command::new("chown")
                .arg("-R")
                .arg(format!("{user}:"))
                .arg(root.path())
                .status()
                .expect("chown");
            assert!(status.success(), "chown {user} {}", root.path().display());
        }
        let server = Self {
            bin_dir,
            run_as,
            root,
            port: free_port(),
        };
        let out = server.run(
            "initdb",
            &[
                "-D",
                &server.data_dir(),
                "--auth=trust",
                "--username=postgres",
                "--encoding=UTF8",
                "--no-sync",
            ],
        );
        assert!(out.status.success(), "initdb failed: {}", text(&out));
        server.start_again();
        Some(server)
    }

    /// The URL of database `db` on this server.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// `pg_ctl start`, waiting until the server accepts connections.
    pub fn start_again(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=on",
            self.port,
            self.root.path().display()
        );
        let log = self.root.path().join("server.log");
        let out = self.run(
            "pg_ctl",
            &[
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                &self.data_dir(),
                "-l",
                &log.display().to_string(),
                "-o",
                &options,
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}\n{}",
            text(&out),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// `pg_ctl stop`, waiting until the server is gone.
    pub fn stop(&self, mode: StopMode) {
        let mode = match mode {
            StopMode::Fast => "fast",
            StopMode::Immediate => "immediate",
        };
        let out = self.run(
            "pg_ctl",
            &["stop", "-w", "-t", "60", "-m", mode, "-D", &self.data_dir()],
        );
        assert!(out.status.success(), "pg_ctl stop failed: {}", text(&out));
    }

    fn data_dir(&self) -> String {
        self.root.path().join("data").display().to_string()
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        let program = self.bin_dir.join(program);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut cmd = Command::new("runuser");
                cmd.arg("-u").arg(user).arg("--").arg(&program);
                cmd
            }
            None => Command::new(&program),
        };
        // A PGDATA or PGPORT of the environment must not redirect the commands.
        for key in ["PGDATA", "PGPORT", "PGHOST", "PGUSER"] {
            cmd.env_remove(key);
        }
        cmd.args(args)
            .current_dir(self.root.path())
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", program.display()))
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        if Path::new(&self.data_dir()).join("postmaster.pid").exists() {
            let _ = self.run(
                "pg_ctl",
                &["stop", "-w", "-m", "immediate", "-D", &self.data_dir()],
            );
        }
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

fn find_bin_dir() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("TRESOR_TEST_PG_BINDIR") {
        let dir = PathBuf::from(dir);
        return has_tools(&dir).then_some(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_tools(&dir) {
            return Some(dir);
        }
    }
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|d| has_tools(d))
        .collect();
    // Newest major version last.
    candidates.sort_by_key(|d| {
        d.parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
    });
    candidates.pop()
}
