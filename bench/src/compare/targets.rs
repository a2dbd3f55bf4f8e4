//! The three servers `compare` measures, each started on its own free loopback port with its
//! output in a log file of the run's temporary directory:
//! - Tresor in production mode (SQLite store, durable audit: the production default),
//!   initialized with a key file, root credentials read from `tresor init --output json`;
//! - moto's standalone server (accepts any credentials);
//! - the ceiling (`tresor-bench ceiling`, this same executable).

use std::path::{Path, PathBuf};

use crate::load::http::Endpoint;
use crate::procs::{clean_command, free_port, ChildGuard};

/// A started server and how to sign for it.
pub struct Target {
    /// `tresor`, `moto` or `ceiling`.
    pub name: &'static str,
    pub endpoint: String,
    pub access_key_id: String,
    /// Never printed.
    pub secret_access_key: String,
    pub process: ChildGuard,
}

/// Where the executables are.
pub struct Binaries {
    pub tresor: PathBuf,
    pub moto: PathBuf,
    pub bench: PathBuf,
}

impl Binaries {
    /// `tresor` defaults to the directory of this executable (cargo puts both there); moto to
    /// the virtual environment `bench/compare` creates.
    pub fn locate(tresor: Option<PathBuf>, moto: Option<PathBuf>) -> crate::BenchResult<Self> {
        let bench = std::env::current_exe().map_err(|e| format!("locating tresor-bench: {e}"))?;
        let tresor = match tresor {
            Some(p) => p,
            None => bench
                .parent()
                .map(|d| d.join("tresor"))
                .ok_or("tresor-bench has no parent directory")?,
        };
        let moto = moto
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server"));
        if !tresor.is_file() {
            return Err(format!(
                "no tresor binary at {}: build it (cargo build --release -p tresor-cli) or pass --tresor-bin",
                tresor.display()
            ));
        }
        if !moto.is_file() {
            return Err(format!(
                "no moto_server at {}: run bench/compare (it creates bench/.venv) or pass --moto-bin",
                moto.display()
            ));
        }
        Ok(Self {
            tresor,
            moto,
            bench,
        })
    }
}

fn loopback(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

/// Initializes a production store in `dir` and serves it.
pub async fn start_tresor(bin: &Path, dir: &Path) -> crate::BenchResult<Target> {
    let data = dir.join("tresor-data");
    let key = dir.join("unseal.key");
    let mut init = tokio::process::Command::from(clean_command(bin));
    init.arg("init")
        .arg("--data-dir")
        .arg(&data)
        .arg("--unseal-key-file")
        .arg(&key)
        .args(["--output", "json"])
        .kill_on_drop(true);
    let out = init
        .output()
        .await
        .map_err(|e| format!("running {} init: {e}", bin.display()))?;
    if !out.status.success() {
        return Err(format!(
            "tresor init failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    // The root credentials; only the key id is ever shown.
    let creds: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("tresor init --output json printed no JSON object: {e}"))?;
    let field = |name: &str| {
        creds
            .get(name)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .ok_or_else(|| format!("tresor init --output json: no {name:?}"))
    };
    let (access_key_id, secret_access_key) = (field("access_key_id")?, field("secret_access_key")?);

    let port = free_port()?;
    let mut cmd = clean_command(bin);
    cmd.arg("server")
        .arg("--data-dir")
        .arg(&data)
        .arg("--unseal-key-file")
        .arg(&key)
        .args(["--listen", &loopback(port)]);
    let mut process = ChildGuard::spawn("tresor", cmd, &dir.join("tresor.log"))?;
    let endpoint = format!("http://{}", loopback(port));
    process
        .wait_ready(&Endpoint::resolve(&endpoint).await?, "/health", Some(200))
        .await?;
    Ok(Target {
        name: "tresor",
        endpoint,
        access_key_id,
        secret_access_key,
        process,
    })
}

/// Starts moto's server; any answer to `GET /` means it is up.
pub async fn start_moto(bin: &Path, dir: &Path) -> crate::BenchResult<Target> {
    let port = free_port()?;
    let mut cmd = clean_command(bin);
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    let mut process = ChildGuard::spawn("moto", cmd, &dir.join("moto.log"))?;
    let endpoint = format!("http://{}", loopback(port));
    process
        .wait_ready(&Endpoint::resolve(&endpoint).await?, "/", None)
        .await?;
    Ok(Target {
        name: "moto",
        endpoint,
        access_key_id: "bench".to_owned(),
        secret_access_key: "bench".to_owned(),
        process,
    })
}

/// Starts the ceiling (this executable's `ceiling` subcommand).
pub async fn start_ceiling(bench: &Path, dir: &Path) -> crate::BenchResult<Target> {
    let port = free_port()?;
    let mut cmd = clean_command(bench);
    cmd.args(["ceiling", "--listen", &loopback(port)]);
    let mut process = ChildGuard::spawn("ceiling", cmd, &dir.join("ceiling.log"))?;
    let endpoint = format!("http://{}", loopback(port));
    process
        .wait_ready(&Endpoint::resolve(&endpoint).await?, "/", Some(200))
        .await?;
    Ok(Target {
        name: "ceiling",
        endpoint,
        access_key_id: "bench".to_owned(),
        secret_access_key: "bench".to_owned(),
        process,
    })
}
