//! `tresor-bench compare`: Tresor beside moto and beside the machine's ceiling, on the same
//! workloads, from the same load generator, on the same machine.
//!
//! It starts the three servers ([`targets`]) in a temporary directory, creates the same secret
//! pool on each, then for every workload runs `load` against each target in turn (so slow
//! drift of the machine hits all three alike), and prints one table ([`table`]) whose last line
//! gives the GetSecretValue ratios. Every child process is killed and the directory removed
//! on every exit: normal, error, SIGINT/SIGTERM (the work future is dropped, and with it the
//! process guards) or panic. Only a SIGKILL of the bench itself leaves them behind.

pub mod machine;
mod table;
mod targets;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::load::{self, LoadConfig, Workload};
use machine::Machine;
use table::Row;
use targets::{Binaries, Target};

/// Options of `tresor-bench compare`.
#[derive(clap::Args)]
pub struct Args {
    /// Workloads to run, in order (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "get,describe,put,mixed,list,create"
    )]
    pub workloads: Vec<Workload>,
    /// Connections for every workload.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub connections: u32,
    /// Connections of the extra `get` run that gives the latency figure.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub latency_connections: u32,
    /// Measured seconds per run.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Warm-up seconds per run.
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// Pool size on each target.
    #[arg(long, default_value_t = 100)]
    pub secrets: usize,
    /// The tresor binary (default: next to this executable).
    #[arg(long)]
    pub tresor_bin: Option<PathBuf>,
    /// moto's server (default: bench/.venv/bin/moto_server).
    #[arg(long)]
    pub moto_bin: Option<PathBuf>,
    /// Also write the whole result as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// The running servers and their directory. Fields drop in order: the processes are killed
/// before the directory they write to is removed.
struct Lab {
    targets: Vec<Target>,
    dir: tempfile::TempDir,
}

/// Everything `--json` writes.
#[derive(serde::Serialize)]
struct Comparison {
    machine: Machine,
    duration_s: f64,
    warmup_s: f64,
    secrets: usize,
    /// Target name to endpoint.
    targets: BTreeMap<String, String>,
    rows: Vec<Row>,
    summary: String,
}

pub fn run(args: Args) -> crate::BenchResult {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        tokio::select! {
            result = compare(args) => result,
            signal = interrupted() => Err(format!("stopped by {signal}; servers killed")),
        }
    })
}

/// Resolves on SIGINT or SIGTERM.
pub(crate) async fn interrupted() -> &'static str {
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    else {
        let _ = tokio::signal::ctrl_c().await;
        return "SIGINT";
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}

fn seconds(name: &str, value: f64) -> crate::BenchResult<Duration> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| format!("--{name} {value}: not a number of seconds"))
}

async fn compare(args: Args) -> crate::BenchResult {
    let duration = seconds("duration", args.duration)?;
    let warmup = seconds("warmup", args.warmup)?;
    let connections = usize::try_from(args.connections).map_err(|e| e.to_string())?;
    let latency_connections =
        usize::try_from(args.latency_connections).map_err(|e| e.to_string())?;
    let bins = Binaries::locate(args.tresor_bin, args.moto_bin)?;
    let machine = Machine::detect();
    let dir = tempfile::Builder::new()
        .prefix("tresor-compare-")
        .tempdir()
        .map_err(|e| format!("creating a temporary directory: {e}"))?;
    eprintln!("machine: {}", machine.describe());
    let mut lab = Lab {
        targets: Vec::new(),
        dir,
    };
    let path = lab.dir.path().to_path_buf();
    lab.targets
        .push(targets::start_tresor(&bins.tresor, &path).await?);
    lab.targets
        .push(targets::start_moto(&bins.moto, &path).await?);
    lab.targets
        .push(targets::start_ceiling(&bins.bench, &path).await?);
    let targets = &mut lab.targets;
    for t in targets.iter() {
        eprintln!("{}: {}", t.name, t.endpoint);
    }
    let base = |t: &Target, workload: Workload, connections: usize| LoadConfig {
        endpoint: t.endpoint.clone(),
        access_key_id: t.access_key_id.clone(),
        secret_access_key: t.secret_access_key.clone(),
        region: "us-east-1".to_owned(),
        workload,
        connections,
        duration,
        requests: None,
        warmup,
        secrets: args.secrets,
        prefix: "bench/pool-".to_owned(),
        value_size: 64,
        sign_each: false,
        server_pid: Some(t.process.pid()),
        chat: None,
    };
    for t in targets.iter() {
        load::setup_pool(&base(t, Workload::Get, connections)).await?;
    }

    let mut plan = Vec::new();
    for &w in &args.workloads {
        plan.push((w, connections));
        if w == Workload::Get && latency_connections != connections {
            plan.push((w, latency_connections));
        }
    }
    let mut rows = Vec::new();
    for (i, &(workload, conns)) in plan.iter().enumerate() {
        let mut results = BTreeMap::new();
        for t in targets.iter_mut() {
            eprint!(
                "[{}/{}] {} @{} on {} ... ",
                i + 1,
                plan.len(),
                workload.name(),
                conns,
                t.name
            );
            let report = load::execute(&base(t, workload, conns)).await?;
            eprintln!("{:.1} req/s, {} errors", report.rps, report.errors);
            if !t.process.is_running() {
                return Err(format!(
                    "{} died during {}; its output:\n{}",
                    t.name,
                    workload.name(),
                    t.process.log_tail()
                ));
            }
            results.insert(t.name.to_owned(), report);
        }
        rows.push(Row::new(workload.name(), conns, results));
    }

    let summary = table::summary(&rows, connections, latency_connections);
    println!(
        "machine: {}; each run: {} s measured after {} s warm-up, pool of {} secrets",
        machine.describe(),
        args.duration,
        args.warmup,
        args.secrets
    );
    print!("{}", table::render(&rows));
    print!("{}", table::render_errors(&rows));
    println!("{summary}");
    if let Some(path) = &args.json {
        let comparison = Comparison {
            machine,
            duration_s: args.duration,
            warmup_s: args.warmup,
            secrets: args.secrets,
            targets: targets
                .iter()
                .map(|t| (t.name.to_owned(), t.endpoint.clone()))
                .collect(),
            rows,
            summary,
        };
        load::write_json(path, &comparison)?;
    }
    Ok(())
}
