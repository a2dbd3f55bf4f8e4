//! The steps `scale` runs as subprocesses or on the file system: `tresor init`, one
//! `tresor-bench load` run (parsed from its `--json` report), and the size of a data directory.

use std::path::Path;
use std::process::Command;

/// The root credentials `tresor init` printed. The secret is never printed or logged.
pub struct RootCreds {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for RootCreds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RootCreds({}, [REDACTED])", self.access_key_id)
    }
}

/// `tresor init --data-dir … --unseal-key-file … --output json`.
pub fn init(bin: &Path, data_dir: &Path, key_file: &Path) -> crate::BenchResult<RootCreds> {
    let out = Command::new(bin)
        .arg("init")
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--unseal-key-file")
        .arg(key_file)
        .args(["--output", "json"])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    if !out.status.success() {
        return Err(format!(
            "tresor init failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    // Never echo stdout on failure: it holds the root secret.
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|_| "tresor init printed no JSON credentials".to_owned())?;
    let field = |name: &str| {
        json.get(name)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .ok_or_else(|| format!("tresor init's JSON has no {name}"))
    };
    Ok(RootCreds {
        access_key_id: field("access_key_id")?,
        secret_access_key: field("secret_access_key")?,
    })
}

/// What `tresor-bench load --json` reports: the load generator's own report type.
pub use crate::load::Report as LoadReport;

/// One `GetSecretValue` run over `<prefix>0 .. <prefix>{secrets-1}`.
pub struct LoadRun<'a> {
    pub endpoint: &'a str,
    pub creds: &'a RootCreds,
    pub connections: u32,
    pub duration_s: u64,
    pub warmup_s: u64,
    pub secrets: u64,
    pub prefix: &'a str,
    /// The server's process, whose CPU time per request the report gives.
    pub server_pid: u32,
}

impl LoadRun<'_> {
    /// Run `tresor-bench load` (this executable) and read its JSON report from `json`.
    pub fn run(&self, json: &Path) -> crate::BenchResult<LoadReport> {
        let exe = std::env::current_exe()
            .map_err(|e| format!("cannot find the tresor-bench executable: {e}"))?;
        let out = Command::new(exe)
            .arg("load")
            .args(["--endpoint", self.endpoint])
            .args(["--access-key-id", &self.creds.access_key_id])
            // The secret goes through the environment, not the (world-readable) command line.
            .env("AWS_SECRET_ACCESS_KEY", &self.creds.secret_access_key)
            .args(["--workload", "get", "--existing"])
            // Stores above `PRESIGN_LIMIT` secrets are signed per request; so is every count
            // here, so that the generator's cost is the same at every count.
            .arg("--sign-each")
            .args(["--connections", &self.connections.to_string()])
            .args(["--duration", &self.duration_s.to_string()])
            .args(["--warmup", &self.warmup_s.to_string()])
            .args(["--secrets", &self.secrets.to_string()])
            .args(["--secret-prefix", self.prefix])
            .args(["--server-pid", &self.server_pid.to_string()])
            .arg("--json")
            .arg(json)
            .output()
            .map_err(|e| format!("cannot run tresor-bench load: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "tresor-bench load failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let text = std::fs::read(json)
            .map_err(|e| format!("load wrote no report at {}: {e}", json.display()))?;
        serde_json::from_slice(&text)
            .map_err(|e| format!("cannot read the load report {}: {e}", json.display()))
    }
}

/// Bytes of every file under `dir` (apparent sizes, the WAL and shared-memory files included).
pub fn dir_size(dir: &Path) -> crate::BenchResult<u64> {
    let mut total = 0;
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let meta = entry
            .metadata()
            .map_err(|e| format!("cannot stat {}: {e}", entry.path().display()))?;
        total += if meta.is_dir() {
            dir_size(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}
