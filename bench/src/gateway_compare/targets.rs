//! The processes `gateway-compare` starts, each on its own free loopback port with its output
//! in a log file of the run's temporary directory:
//! - the mock provider (`tresor-bench mock-upstream`, this same executable);
//! - Tresor in dev mode (SQLite store in the run's directory, fixed random root credentials);
//! - LiteLLM's proxy (`litellm --config …`), its model `gpt-4o-mini` pointing at the mock, with
//!   a master key, and (when asked) a PostgreSQL database of its own for virtual keys.

use std::path::{Path, PathBuf};

use crate::load::http::Endpoint;
use crate::procs::{clean_command, free_port, ChildGuard};

/// A started server.
pub struct Server {
    pub endpoint: String,
    pub process: ChildGuard,
}

fn loopback(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

/// A random token of letters and digits (keys the bench makes up; never printed).
pub fn random_token(len: usize) -> String {
    let mut rng = fastrand::Rng::new();
    (0..len).map(|_| rng.alphanumeric()).collect()
}

/// Starts the mock provider (this executable's `mock-upstream` subcommand).
pub async fn start_mock(bench: &Path, dir: &Path) -> crate::BenchResult<Server> {
    let port = free_port()?;
    let mut cmd = clean_command(bench);
    cmd.args(["mock-upstream", "--listen", &loopback(port)]);
    let mut process = ChildGuard::spawn("mock-upstream", cmd, &dir.join("mock.log"))?;
    let endpoint = format!("http://{}", loopback(port));
    // The mock answers any path; a GET is enough to know it listens.
    process
        .wait_ready(&Endpoint::resolve(&endpoint).await?, "/", Some(200))
        .await?;
    Ok(Server { endpoint, process })
}

/// Tresor and the root credentials it was started with.
pub struct Tresor {
    pub server: Server,
    pub access_key_id: String,
    /// Never printed.
    pub secret_access_key: String,
}

/// Starts `tresor server --dev` on a data directory inside `dir`.
pub async fn start_tresor(bin: &Path, dir: &Path) -> crate::BenchResult<Tresor> {
    let access_key_id = "AKIABENCHGATEWAY0001".to_owned();
    let secret_access_key = random_token(40);
    let port = free_port()?;
    let mut cmd = clean_command(bin);
    cmd.args(["server", "--dev", "--listen", &loopback(port)])
        .arg("--data-dir")
        .arg(dir.join("tresor-data"))
        .args(["--root-access-key-id", &access_key_id])
        // Dev mode takes the root secret on the command line only; the server is on loopback
        // and lives for this run.
        .args(["--root-secret-access-key", &secret_access_key]);
    let mut process = ChildGuard::spawn("tresor", cmd, &dir.join("tresor.log"))?;
    let endpoint = format!("http://{}", loopback(port));
    process
        .wait_ready(&Endpoint::resolve(&endpoint).await?, "/health", Some(200))
        .await?;
    Ok(Tresor {
        server: Server { endpoint, process },
        access_key_id,
        secret_access_key,
    })
}

/// How LiteLLM is run.
pub struct LiteLlmSetup<'a> {
    pub bin: &'a Path,
    /// `http://127.0.0.1:<port>/v1` of the mock.
    pub upstream_base: &'a str,
    pub upstream_key: &'a str,
    pub master_key: &'a str,
    /// `postgresql://…/<database>` for virtual keys, or None (master key only).
    pub database_url: Option<&'a str>,
    pub workers: usize,
}

/// The proxy's config.yaml: one model, `gpt-4o-mini`, served by the mock.
fn litellm_config(setup: &LiteLlmSetup<'_>) -> String {
    let mut config = format!(
        "model_list:\n  - model_name: gpt-4o-mini\n    litellm_params:\n      model: openai/gpt-4o-mini\n      api_base: {}\n      api_key: {}\ngeneral_settings:\n  master_key: {}\n",
        setup.upstream_base, setup.upstream_key, setup.master_key
    );
    if let Some(url) = setup.database_url {
        config.push_str(&format!("  database_url: {url}\n"));
    }
    config.push_str("litellm_settings:\n  telemetry: false\n");
    config
}

/// Starts LiteLLM's proxy; it is ready when `/health/liveliness` answers 200.
pub async fn start_litellm(setup: &LiteLlmSetup<'_>, dir: &Path) -> crate::BenchResult<Server> {
    let config = dir.join("litellm.yaml");
    std::fs::write(&config, litellm_config(setup))
        .map_err(|e| format!("writing {}: {e}", config.display()))?;
    let port = free_port()?;
    let mut cmd = clean_command(setup.bin);
    cmd.arg("--config")
        .arg(&config)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--num_workers", &setup.workers.to_string()])
        // Its price table from the package, not from the network; quiet logs, as in
        // production.
        .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        .env("LITELLM_LOG", "ERROR")
        .current_dir(dir);
    if let Some(url) = setup.database_url {
        cmd.env("DATABASE_URL", url);
    }
    let mut process = ChildGuard::spawn_group("litellm", cmd, &dir.join("litellm.log"))?;
    let endpoint = format!("http://{}", loopback(port));
    process
        .wait_ready(
            &Endpoint::resolve(&endpoint).await?,
            "/health/liveliness",
            Some(200),
        )
        .await?;
    Ok(Server { endpoint, process })
}

/// A fresh PostgreSQL database for LiteLLM, dropped when this is dropped.
pub struct Database {
    pub url: String,
    admin_url: String,
    name: String,
}

impl Database {
    /// Creates `litellm_bench_<pid>` on the server of `admin_url` (`postgresql://user@host:port`)
    /// with `psql`.
    pub fn create(admin_url: &str) -> crate::BenchResult<Self> {
        let name = format!("litellm_bench_{}", std::process::id());
        let admin_url = admin_url.trim_end_matches('/').to_owned();
        psql(&admin_url, &format!("DROP DATABASE IF EXISTS {name}"))?;
        psql(&admin_url, &format!("CREATE DATABASE {name}"))?;
        Ok(Self {
            url: format!("{admin_url}/{name}"),
            admin_url,
            name,
        })
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = psql(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

fn psql(url: &str, sql: &str) -> crate::BenchResult {
    let out = std::process::Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qc", sql])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("running psql: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "psql {sql:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Where LiteLLM's executable is by default: the virtual environment `bench/gateway-compare`
/// creates.
pub fn default_litellm_bin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/litellm")
}

/// LiteLLM's version, as `pip` recorded it beside the executable (for the report).
pub fn litellm_version(bin: &Path) -> String {
    let python = bin.with_file_name("python");
    std::process::Command::new(python)
        .args([
            "-c",
            "import importlib.metadata as m; print(m.version('litellm'))",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}
