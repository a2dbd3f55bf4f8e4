//! `tresor-bench gateway-compare`: the same OpenAI chat completion sent to the mock provider
//! directly, through Tresor's gateway and through LiteLLM's proxy, from the same load
//! generator, in one run on one machine. LiteLLM is called with its master key unless given a
//! PostgreSQL server for virtual keys (`--litellm-postgres`).
//!
//! It starts the mock provider, Tresor and LiteLLM ([`targets`]) in a temporary directory, sets
//! both gateways up through their own APIs ([`admin`]), checks that one call through each
//! succeeds, then for every (workload, connections) runs `load` against each target in turn
//! (so slow drift of the machine hits all three alike) and prints one table ([`table`]) with
//! the latency each gateway adds over the direct call and Tresor's throughput over LiteLLM's,
//! and a line per issue target. Every child process (LiteLLM with its workers) is killed, its
//! database dropped and the directory removed on every exit but a SIGKILL of the bench.

mod admin;
mod table;
mod targets;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use http_body_util::Full;

use crate::compare::machine::Machine;
use crate::load::http::{Connection, Endpoint};
use crate::load::sign::Signer;
use crate::load::workload::chat_body;
use crate::load::{self, ChatCall, LoadConfig, Workload};
use table::Row;
use targets::{Database, LiteLlmSetup, Server};

/// Options of `tresor-bench gateway-compare`.
#[derive(clap::Args)]
pub struct Args {
    /// Connection counts of the non-streamed runs (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "16,64")]
    pub connections: Vec<u32>,
    /// Connections of the streamed run (time to first byte); 0 skips it.
    #[arg(long, default_value_t = 16)]
    pub stream_connections: u32,
    /// The connection count whose added latency is held against the targets.
    #[arg(long, default_value_t = 16)]
    pub latency_connections: u32,
    /// Measured seconds per run.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Warm-up seconds per run.
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// The tresor binary (default: next to this executable).
    #[arg(long)]
    pub tresor_bin: Option<PathBuf>,
    /// LiteLLM's executable (default: bench/.venv/bin/litellm).
    #[arg(long)]
    pub litellm_bin: Option<PathBuf>,
    /// LiteLLM worker processes (default: one per core, its best showing on this machine).
    #[arg(long)]
    pub litellm_workers: Option<usize>,
    /// Call LiteLLM with a virtual key: a fresh database `litellm_bench_<pid>` is made on this
    /// PostgreSQL server (`postgresql://user@host:port`) for it. LiteLLM reaches its database
    /// through Prisma, whose engines it downloads at run time: without network access it
    /// cannot start. Without this option LiteLLM has no database and is called with its
    /// master key.
    #[arg(long)]
    pub litellm_postgres: Option<String>,
    /// Leave LiteLLM out (direct and Tresor only).
    #[arg(long)]
    pub no_litellm: bool,
    /// Also write the whole result as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// One endpoint measured, and how to call it.
struct Target {
    name: &'static str,
    endpoint: String,
    call: ChatCall,
    /// Whose CPU time per request is reported (None: LiteLLM, whose workers are other
    /// processes).
    pid: Option<u32>,
}

/// The running servers, LiteLLM's database and their directory. Fields drop in order: the
/// processes are killed before their database is dropped and their directory removed.
struct Lab {
    servers: Vec<Server>,
    database: Option<Database>,
    dir: tempfile::TempDir,
}

/// Everything `--json` writes.
#[derive(serde::Serialize)]
struct Comparison {
    machine: Machine,
    duration_s: f64,
    warmup_s: f64,
    /// `/proc/loadavg`'s 1, 5 and 15-minute figures before and after the runs: the cores are
    /// shared, and these say how busy the machine was otherwise.
    load_before: String,
    load_after: String,
    litellm: Option<LiteLlmInfo>,
    /// Target name to endpoint.
    targets: BTreeMap<String, String>,
    rows: Vec<Row>,
    summary: Vec<String>,
}

#[derive(serde::Serialize, Clone)]
struct LiteLlmInfo {
    version: String,
    workers: usize,
    /// `virtual key` or `master key`.
    key: &'static str,
}

pub fn run(args: Args) -> crate::BenchResult {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        tokio::select! {
            result = compare(args) => result,
            signal = crate::compare::interrupted() => Err(format!("stopped by {signal}; servers killed")),
        }
    })
}

/// The 1, 5 and 15-minute load averages, as `/proc/loadavg` gives them.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_owned())
}

fn seconds(name: &str, value: f64) -> crate::BenchResult<Duration> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| format!("--{name} {value}: not a number of seconds"))
}

fn count(name: &str, value: u32) -> crate::BenchResult<usize> {
    match usize::try_from(value) {
        Ok(0) | Err(_) => Err(format!("--{name} {value}: must be at least 1")),
        Ok(n) if n > 10_000 => Err(format!("--{name} {value}: at most 10000")),
        Ok(n) => Ok(n),
    }
}

/// Where the executables are: `tresor` beside this one unless given, LiteLLM in the bench venv.
fn locate(args: &Args) -> crate::BenchResult<(PathBuf, PathBuf, Option<PathBuf>)> {
    let bench = std::env::current_exe().map_err(|e| format!("locating tresor-bench: {e}"))?;
    let tresor = match &args.tresor_bin {
        Some(p) => p.clone(),
        None => bench
            .parent()
            .map(|d| d.join("tresor"))
            .ok_or("tresor-bench has no parent directory")?,
    };
    if !tresor.is_file() {
        return Err(format!(
            "no tresor binary at {}: build it (cargo build --release -p tresor-cli) or pass --tresor-bin",
            tresor.display()
        ));
    }
    let litellm = if args.no_litellm {
        None
    } else {
        let bin = args
            .litellm_bin
            .clone()
            .unwrap_or_else(targets::default_litellm_bin);
        if !bin.is_file() {
            return Err(format!(
                "no litellm at {}: run bench/gateway-compare (it installs bench/requirements.txt into bench/.venv), pass --litellm-bin, or --no-litellm",
                bin.display()
            ));
        }
        Some(bin)
    };
    Ok((bench, tresor, litellm))
}

/// One call, checked before measuring: a misconfigured target fails here with its answer
/// rather than as a table of errors.
async fn check_once(name: &str, endpoint: &str, call: &ChatCall) -> crate::BenchResult {
    let endpoint = Endpoint::resolve(endpoint).await?;
    let mut auth = http::HeaderValue::from_str(&format!("Bearer {}", call.bearer))
        .map_err(|_| format!("{name}: the key is not a valid header value"))?;
    auth.set_sensitive(true);
    let request = http::Request::builder()
        .method(http::Method::POST)
        .uri(call.path.as_str())
        .header(http::header::HOST, endpoint.authority.as_str())
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::AUTHORIZATION, auth)
        .body(Full::new(chat_body(false)))
        .map_err(|e| format!("{name}: building the first call: {e}"))?;
    let response = Connection::open(endpoint.addr)
        .await?
        .send(request)
        .await
        .map_err(|e| format!("{name}: first call: {e}"))?;
    let body = String::from_utf8_lossy(&response.body).replace(&call.bearer, "[REDACTED]");
    if !(200..300).contains(&response.status) || !body.contains("chat.completion") {
        return Err(format!(
            "{name}: the first call answered HTTP {}: {body}",
            response.status
        ));
    }
    Ok(())
}

async fn compare(args: Args) -> crate::BenchResult {
    let duration = seconds("duration", args.duration)?;
    let warmup = seconds("warmup", args.warmup)?;
    let latency_connections = count("latency-connections", args.latency_connections)?;
    let mut plan = Vec::new();
    for &c in &args.connections {
        plan.push((Workload::Gateway, count("connections", c)?));
    }
    if args.stream_connections > 0 {
        plan.push((
            Workload::GatewayStream,
            count("stream-connections", args.stream_connections)?,
        ));
    }
    let (bench, tresor_bin, litellm_bin) = locate(&args)?;
    let machine = Machine::detect();
    let load_before = load_average();
    eprintln!(
        "machine: {}; load average {load_before}",
        machine.describe()
    );
    let dir = tempfile::Builder::new()
        .prefix("tresor-gateway-compare-")
        .tempdir()
        .map_err(|e| format!("creating a temporary directory: {e}"))?;
    let mut lab = Lab {
        servers: Vec::new(),
        database: None,
        dir,
    };
    let path = lab.dir.path().to_path_buf();
    let mut targets = Vec::new();

    // The provider's key, as the route's secret and LiteLLM's config hold it.
    let provider_key = format!("sk-bench-{}", targets::random_token(32));
    let mock = targets::start_mock(&bench, &path).await?;
    let upstream_base = format!("{}/v1", mock.endpoint);
    targets.push(Target {
        name: "direct",
        endpoint: mock.endpoint.clone(),
        call: ChatCall {
            path: "/v1/chat/completions".to_owned(),
            bearer: provider_key.clone(),
        },
        pid: Some(mock.process.pid()),
    });
    lab.servers.push(mock);

    let tresor = targets::start_tresor(&tresor_bin, &path).await?;
    let endpoint = Endpoint::resolve(&tresor.server.endpoint).await?;
    let signer = Signer::new(
        &tresor.access_key_id,
        &tresor.secret_access_key,
        "us-east-1",
        &endpoint.authority,
    );
    let gateway_key =
        admin::setup_tresor(&endpoint, &signer, &upstream_base, &provider_key).await?;
    targets.push(Target {
        name: "tresor",
        endpoint: tresor.server.endpoint.clone(),
        call: ChatCall {
            path: format!("/gateway/{}/v1/chat/completions", admin::ROUTE),
            bearer: gateway_key,
        },
        pid: Some(tresor.server.process.pid()),
    });
    lab.servers.push(tresor.server);

    let mut litellm_info = None;
    if let Some(bin) = &litellm_bin {
        let workers = args.litellm_workers.unwrap_or(machine.cores).max(1);
        if let Some(url) = &args.litellm_postgres {
            lab.database = Some(Database::create(url)?);
        }
        let master_key = format!("sk-master-{}", targets::random_token(32));
        let setup = LiteLlmSetup {
            bin,
            upstream_base: &upstream_base,
            upstream_key: &provider_key,
            master_key: &master_key,
            database_url: lab.database.as_ref().map(|d| d.url.as_str()),
            workers,
        };
        let server = targets::start_litellm(&setup, &path).await?;
        let endpoint = Endpoint::resolve(&server.endpoint).await?;
        let (bearer, key) = if lab.database.is_some() {
            (
                admin::litellm_virtual_key(&endpoint, &master_key, "gpt-4o-mini").await?,
                "virtual key",
            )
        } else {
            (master_key.clone(), "master key")
        };
        targets.push(Target {
            name: "litellm",
            endpoint: server.endpoint.clone(),
            call: ChatCall {
                path: "/v1/chat/completions".to_owned(),
                bearer,
            },
            pid: None,
        });
        lab.servers.push(server);
        litellm_info = Some(LiteLlmInfo {
            version: targets::litellm_version(bin),
            workers,
            key,
        });
    }
    for t in &targets {
        eprintln!("{}: {}", t.name, t.endpoint);
        check_once(t.name, &t.endpoint, &t.call).await?;
    }

    let mut rows = Vec::new();
    for (i, &(workload, conns)) in plan.iter().enumerate() {
        let mut results = BTreeMap::new();
        for t in &targets {
            eprint!(
                "[{}/{}] {} @{} on {} ... ",
                i + 1,
                plan.len(),
                workload.name(),
                conns,
                t.name
            );
            let config = LoadConfig {
                endpoint: t.endpoint.clone(),
                access_key_id: String::new(),
                secret_access_key: String::new(),
                region: "us-east-1".to_owned(),
                workload,
                connections: conns,
                duration,
                requests: None,
                warmup,
                secrets: 0,
                prefix: String::new(),
                value_size: 0,
                sign_each: false,
                server_pid: t.pid,
                chat: Some(t.call.clone()),
            };
            let report = load::execute(&config).await?;
            eprintln!("{:.1} req/s, {} errors", report.rps, report.errors);
            for server in lab.servers.iter_mut() {
                if !server.process.is_running() {
                    return Err(format!(
                        "a server died during {} on {}; its output:\n{}",
                        workload.name(),
                        t.name,
                        server.process.log_tail()
                    ));
                }
            }
            results.insert(t.name.to_owned(), report);
        }
        rows.push(Row::new(workload.name(), conns, results));
    }

    let summary = table::summary(&rows, latency_connections);
    let load_after = load_average();
    println!(
        "machine: {}; load average {load_before} before, {load_after} after; each run: {} s measured after {} s warm-up; everything on loopback on this machine",
        machine.describe(),
        args.duration,
        args.warmup,
    );
    match &litellm_info {
        Some(l) => println!(
            "litellm {} with {} worker(s), called with a {}",
            l.version, l.workers, l.key
        ),
        None => println!("litellm: not run"),
    }
    print!("{}", table::render(&rows));
    print!("{}", table::render_errors(&rows));
    for line in &summary {
        println!("{line}");
    }
    if let Some(path) = &args.json {
        let comparison = Comparison {
            machine,
            duration_s: args.duration,
            warmup_s: args.warmup,
            load_before,
            load_after,
            litellm: litellm_info,
            targets: targets
                .iter()
                .map(|t| (t.name.to_owned(), t.endpoint.clone()))
                .collect(),
            rows,
            summary,
        };
        load::write_json(path, &comparison)?;
    }
    // The servers are killed, the database dropped and the directory removed here.
    drop(lab);
    Ok(())
}
