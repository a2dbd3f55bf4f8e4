//! `tresor-bench load`: drives one workload of real SigV4-signed Secrets Manager requests, or
//! of OpenAI chat completions through an AI gateway (`gateway`, `gateway-stream`), against one
//! endpoint and reports throughput and latency.
//!
//! Data path: [`setup`] creates the secret pool (unless `--existing`); [`workload`] makes each
//! request (pre-signed for reads, see BENCHMARKS.md) with the `aws-sigv4` signer in [`sign`];
//! [`driver`] runs one task per keep-alive connection ([`http`]) in a closed loop on a
//! multi-thread runtime; [`report`] merges the per-connection histograms into the table and
//! the JSON report. The CLI is a contract: `scale` and other scripts run it with `--json`.

mod driver;
pub mod http;
pub mod report;
mod setup;
pub mod sign;
pub mod workload;

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use report::Report;
pub use workload::{ChatCall, Workload};

use driver::{Run, Stop};
use http::Endpoint;
use sign::Signer;
use workload::RequestMaker;

/// Options of `tresor-bench load`.
#[derive(clap::Args)]
pub struct Args {
    /// The server, `http://host:port`.
    #[arg(long)]
    pub endpoint: String,
    /// Access key id to sign with (not needed by the gateway workloads).
    #[arg(long, env = "AWS_ACCESS_KEY_ID")]
    pub access_key_id: Option<String>,
    /// Secret access key to sign with (never printed). Prefer the environment variable: an
    /// argument is visible to other users in the process list.
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub secret_access_key: Option<String>,
    /// Gateway workloads: the path of the chat completions call, e.g.
    /// `/gateway/<route>/v1/chat/completions` on Tresor.
    #[arg(long, default_value = "/v1/chat/completions")]
    pub path: String,
    /// Gateway workloads: the key sent as `Authorization: Bearer` (a gateway key, LiteLLM
    /// key or provider key; never printed). Prefer the environment variable.
    #[arg(long, env = "TRESOR_BENCH_BEARER_KEY", hide_env_values = true)]
    pub bearer_key: Option<String>,
    /// Signing region.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// What to send.
    #[arg(long, value_enum)]
    pub workload: Workload,
    /// Keep-alive connections, each with one request in flight.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub connections: u32,
    /// Measured seconds (after warm-up).
    #[arg(long, default_value_t = 10.0, conflicts_with = "requests")]
    pub duration: f64,
    /// Instead of a duration: this many measured requests in total.
    #[arg(long)]
    pub requests: Option<u64>,
    /// Warm-up seconds, sent but not counted.
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// Pool size: secrets `<prefix>0 … <prefix>{N-1}`.
    #[arg(long, default_value_t = 100)]
    pub secrets: usize,
    /// Pool name prefix.
    #[arg(long, default_value = "bench/pool-")]
    pub secret_prefix: String,
    /// The pool exists already: skip creating it.
    #[arg(long)]
    pub existing: bool,
    /// Size in bytes of the values written (pool, put, create).
    #[arg(long, default_value_t = 64)]
    pub value_size: usize,
    /// Sign every read as it is sent, even for a pool small enough to be signed up front, so
    /// runs on pools of different sizes cost the generator the same (`scale` does).
    #[arg(long)]
    pub sign_each: bool,
    /// The server's process id: also report the CPU time (user + system, all its threads, from
    /// `/proc`) it used in the measured phase, per request. On a machine the generator shares
    /// with the server this moves less from run to run than throughput does.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// One load run, as `compare` and `load` describe it.
#[derive(Clone)]
pub struct LoadConfig {
    pub endpoint: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub region: String,
    pub workload: Workload,
    pub connections: usize,
    /// Measured time, unless `requests` is set.
    pub duration: Duration,
    pub requests: Option<u64>,
    pub warmup: Duration,
    pub secrets: usize,
    pub prefix: String,
    pub value_size: usize,
    /// Sign every request as it is sent (see `Args::sign_each`).
    pub sign_each: bool,
    /// The server's process, whose CPU time per request is reported (see `Args::server_pid`).
    pub server_pid: Option<u32>,
    /// Where the gateway workloads call, and with which key (None for the others).
    pub chat: Option<ChatCall>,
}

fn seconds(name: &str, value: f64) -> crate::BenchResult<Duration> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| format!("--{name} {value}: not a number of seconds"))
}

pub fn run(args: Args) -> crate::BenchResult {
    let gateway = args.workload.is_gateway();
    let (access_key_id, secret_access_key) = match (args.access_key_id, args.secret_access_key) {
        (Some(id), Some(secret)) => (id, secret),
        // The gateway workloads sign nothing.
        _ if gateway => (String::new(), String::new()),
        _ => {
            return Err(format!(
                "the {} workload signs its requests: give --access-key-id and --secret-access-key (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
                args.workload.name()
            ))
        }
    };
    let chat = match args.bearer_key {
        Some(bearer) if gateway => Some(ChatCall {
            path: args.path,
            bearer,
        }),
        None if gateway => {
            return Err(format!(
                "the {} workload needs --bearer-key (or TRESOR_BENCH_BEARER_KEY)",
                args.workload.name()
            ))
        }
        _ => None,
    };
    let config = LoadConfig {
        endpoint: args.endpoint,
        access_key_id,
        secret_access_key,
        region: args.region,
        workload: args.workload,
        connections: usize::try_from(args.connections).map_err(|e| e.to_string())?,
        duration: seconds("duration", args.duration)?,
        requests: args.requests,
        warmup: seconds("warmup", args.warmup)?,
        secrets: args.secrets,
        prefix: args.secret_prefix,
        value_size: args.value_size,
        sign_each: args.sign_each,
        server_pid: args.server_pid,
        chat,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let report = runtime.block_on(async {
        if !args.existing && !config.workload.is_gateway() {
            setup_pool(&config).await?;
        }
        execute(&config).await
    })?;
    print!("{}", report.table());
    if let Some(path) = args.json {
        write_json(&path, &report)?;
    }
    Ok(())
}

/// Writes any serializable result as pretty JSON.
pub fn write_json(path: &std::path::Path, value: &impl serde::Serialize) -> crate::BenchResult {
    let text = serde_json::to_string_pretty(value).map_err(|e| format!("JSON: {e}"))?;
    std::fs::write(path, text + "\n").map_err(|e| format!("writing {}: {e}", path.display()))
}

fn signer(config: &LoadConfig, endpoint: &Endpoint) -> Signer {
    Signer::new(
        &config.access_key_id,
        &config.secret_access_key,
        &config.region,
        &endpoint.authority,
    )
}

/// Creates the pool the read and put workloads use (existing secrets are kept).
pub async fn setup_pool(config: &LoadConfig) -> crate::BenchResult {
    let endpoint = Endpoint::resolve(&config.endpoint).await?;
    let done = setup::create_pool(
        &endpoint,
        &signer(config, &endpoint),
        &config.prefix,
        config.secrets,
        config.value_size,
        config.connections,
    )
    .await?;
    eprintln!(
        "pool {}0..{}: {} created, {} already there",
        config.prefix,
        config.secrets.saturating_sub(1),
        done.created,
        done.existed
    );
    Ok(())
}

/// Runs the warm-up and the measured phase; the pool must exist.
pub async fn execute(config: &LoadConfig) -> crate::BenchResult<Report> {
    let endpoint = Endpoint::resolve(&config.endpoint).await?;
    let maker = RequestMaker::new(
        config.workload,
        signer(config, &endpoint),
        &config.prefix,
        config.secrets,
        config.value_size,
        config.sign_each,
        config.chat.as_ref(),
    )?;
    let warm_end = Instant::now() + config.warmup;
    let stop = match config.requests {
        Some(n) => Stop::After(n),
        None => Stop::At(warm_end + config.duration),
    };
    let run = Arc::new(Run {
        maker,
        addr: endpoint.addr,
        warm_end,
        stop,
        issued: AtomicU64::new(0),
    });
    // The server's CPU clock is read when the warm-up ends and when the last measured request
    // has finished, the window the report's requests fall in.
    let cpu_at_start = config.server_pid.map(|pid| {
        tokio::spawn(async move {
            tokio::time::sleep_until(warm_end.into()).await;
            crate::procs::cpu_time(pid)
        })
    });
    let (recorder, last) = driver::drive_all(run, config.connections).await?;
    let elapsed = last.saturating_duration_since(warm_end);
    let mut report = recorder.report(
        config.workload.name(),
        &endpoint.url,
        config.connections,
        elapsed,
    );
    if let (Some(pid), Some(start)) = (config.server_pid, cpu_at_start) {
        let start = start
            .await
            .map_err(|e| format!("reading the server's CPU time: {e}"))?;
        let used = start
            .zip(crate::procs::cpu_time(pid))
            .map(|(s, e)| e.saturating_sub(s));
        report.server_cpu_us = used
            .filter(|_| report.requests > 0)
            .map(|used| used.as_secs_f64() * 1e6 / report.requests as f64);
    }
    Ok(report)
}
