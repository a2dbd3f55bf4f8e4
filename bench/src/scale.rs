//! `tresor-bench scale`: how Tresor behaves as the store grows (default 1 k, 100 k, 1 M
//! secrets).
//!
//! For each count, in a fresh temporary directory: `tresor init`, `seed` in-process (timed),
//! then `tresor server` (start-up timed until `/health` answers 200) and `tresor-bench load
//! --workload get --existing` over the whole pool at each connection count, twice: first on
//! the store as seeded (every secret's first read of the day also writes its
//! `LastAccessedDate`), then, after the server is stopped and every secret touched through
//! the store, in the steady state where a read is only a read. The server's `VmRSS`/`VmHWM`
//! are sampled during the runs; the data directory is measured before and after seeding; at
//! the largest count up to 100 k a full `ListSecrets` scan runs through the AWS SDK's
//! paginator. The server is killed on every exit path and the directories are removed unless
//! `--keep`.

mod list;
mod report;
mod server;
mod steps;

use std::path::{Path, PathBuf};
use std::time::Duration;

use report::{CountResult, LoadPoint, Scale};
use server::Server;
use steps::{LoadRun, RootCreds};

/// Options of `tresor-bench scale`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Store sizes to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000,100000,1000000")]
    counts: Vec<u64>,
    /// The `tresor` binary (default: beside this executable).
    #[arg(long)]
    tresor_bin: Option<PathBuf>,
    /// Seconds each load run measures.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Seconds each load run warms up before measuring.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Connection counts of the GetSecretValue runs, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "16,64")]
    connections: Vec<u32>,
    /// Also write the results as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Keep the temporary data directories (their paths are printed).
    #[arg(long)]
    keep: bool,
    /// Name prefix of the seeded secrets.
    #[arg(long, default_value = "bench/pool-")]
    prefix: String,
    /// Length of each seeded `SecretString`.
    #[arg(long, default_value_t = 64)]
    value_size: usize,
    /// Secrets per seeding transaction.
    #[arg(long, default_value_t = 5000)]
    batch: usize,
    /// Stop the ListSecrets scan after this many seconds and extrapolate from its pages.
    #[arg(long, default_value_t = 900)]
    list_limit: u64,
}

const REGION: &str = "us-east-1";

pub fn run(args: Args) -> crate::BenchResult {
    if args.counts.is_empty() || args.counts.contains(&0) {
        return Err("--counts takes positive numbers, e.g. 1000,100000,1000000".to_owned());
    }
    let bin = tresor_bin(args.tresor_bin.as_deref())?;
    // The full ListSecrets scan runs at the largest count up to 100 k (it is O(pages × store)).
    let list_count = args
        .counts
        .iter()
        .copied()
        .filter(|c| *c <= 100_000)
        .max()
        .or_else(|| args.counts.iter().copied().min());
    let mut scale = Scale::new(&args.connections);
    for &count in &args.counts {
        eprintln!("== {count} secrets ==");
        let result = measure(&args, &bin, count, Some(count) == list_count)?;
        scale.results.push(result);
        // Keep partial results: a later count may take hours or fail.
        write_json(&args, &scale)?;
    }
    scale.finish();
    scale.print();
    write_json(&args, &scale)
}

fn write_json(args: &Args, scale: &Scale) -> crate::BenchResult {
    let Some(path) = &args.json else {
        return Ok(());
    };
    let text = serde_json::to_string_pretty(scale).map_err(|e| e.to_string())?;
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn tresor_bin(given: Option<&Path>) -> crate::BenchResult<PathBuf> {
    let bin = match given {
        Some(p) => p.to_path_buf(),
        None => std::env::current_exe()
            .map_err(|e| format!("cannot find this executable: {e}"))?
            .with_file_name("tresor"),
    };
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!(
            "no tresor binary at {}; build it (cargo build --release -p tresor-cli) or pass \
             --tresor-bin",
            bin.display()
        ))
    }
}

/// Everything measured at one count, in its own temporary directory.
fn measure(
    args: &Args,
    bin: &Path,
    count: u64,
    full_list: bool,
) -> crate::BenchResult<CountResult> {
    let tmp = tempfile::Builder::new()
        .prefix("tresor-scale-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let root = tmp.path().to_path_buf();
    let kept = if args.keep {
        eprintln!("keeping {}", root.display());
        let _ = tmp.keep();
        None
    } else {
        Some(tmp)
    };
    let data_dir = root.join("data");
    let key_file = root.join("unseal.key");
    let log = root.join("server.log");

    let creds = steps::init(bin, &data_dir, &key_file)?;
    let mut r = CountResult::new(count, args.keep.then(|| root.display().to_string()));
    r.bytes_before_seed = steps::dir_size(&data_dir)?;
    let seeded = crate::seed::fill(&crate::seed::Args {
        data_dir: data_dir.clone(),
        unseal_key_file: key_file.clone(),
        count,
        prefix: args.prefix.clone(),
        value_size: args.value_size,
        batch: args.batch,
        region: REGION.to_owned(),
        // Touched later: first measured as seeded.
        touched: false,
    })?;
    r.seed_s = seeded.elapsed.as_secs_f64();
    r.seed_rate = seeded.rate();
    r.bytes_after_seed = steps::dir_size(&data_dir)?;
    eprintln!(
        "seeded in {:.1} s ({:.0}/s); {} bytes on disk",
        r.seed_s, r.seed_rate, r.bytes_after_seed
    );

    // As seeded: the first read of each secret today also writes.
    let server = Server::start(bin, &data_dir, &key_file, &log)?;
    r.startup_ms = server.startup.as_secs_f64() * 1e3;
    r.rss_idle = server.memory().unwrap_or_default();
    eprintln!("server up in {:.0} ms", r.startup_ms);
    r.first_read = load_runs(args, &server, &creds, count, &root, "first")?;
    server.stop()?;
    r.bytes_after_first_read = steps::dir_size(&data_dir)?;

    // Steady state: every secret already read today.
    let touched = crate::seed::touch_all(&data_dir, REGION, args.batch, count)?;
    r.bytes_after_touch = steps::dir_size(&data_dir)?;
    r.touch_s = touched.elapsed.as_secs_f64();
    if touched.count != count {
        return Err(format!(
            "the store lists {} secrets, {count} were seeded",
            touched.count
        ));
    }
    let server = Server::start(bin, &data_dir, &key_file, &log)?;
    r.restart_ms = server.startup.as_secs_f64() * 1e3;
    r.steady = load_runs(args, &server, &creds, count, &root, "steady")?;

    let endpoint = server.endpoint();
    let limit = Duration::from_secs(args.list_limit);
    let (first, list_mem) =
        server.sampling(|| list::scan(&endpoint, REGION, &creds, Some(1), limit));
    r.list_first_page_s = first?.first_page_s;
    r.list_memory = list_mem;
    if full_list {
        eprintln!(
            "ListSecrets scan (100 a page, up to {} s)…",
            args.list_limit
        );
        let scan = list::scan(&endpoint, REGION, &creds, None, limit)?;
        r.list_scan_s = Some(scan.full_scan_s(count));
        r.list_scan = Some(scan);
    }
    server.stop()?;
    drop(kept);
    Ok(r)
}

/// One GetSecretValue run per connection count, with the server's memory sampled.
fn load_runs(
    args: &Args,
    server: &Server,
    creds: &RootCreds,
    count: u64,
    dir: &Path,
    phase: &str,
) -> crate::BenchResult<Vec<LoadPoint>> {
    let endpoint = server.endpoint();
    let mut points = Vec::new();
    for &connections in &args.connections {
        let run = LoadRun {
            endpoint: &endpoint,
            creds,
            connections,
            duration_s: args.duration,
            warmup_s: args.warmup,
            secrets: count,
            prefix: &args.prefix,
            server_pid: server.pid(),
        };
        let json = dir.join(format!("load-{phase}-{connections}.json"));
        let (report, memory) = server.sampling(|| run.run(&json));
        let report = report?;
        eprintln!(
            "{phase} read, {connections} connections: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, \
             server CPU {} µs per request, {} errors",
            report.rps,
            report.p50_ms,
            report.p99_ms,
            report
                .server_cpu_us
                .map_or_else(|| "-".to_owned(), |us| format!("{us:.1}")),
            report.errors
        );
        points.push(LoadPoint {
            connections,
            report,
            memory,
        });
    }
    Ok(points)
}
