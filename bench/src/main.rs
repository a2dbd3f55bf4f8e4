//! `tresor-bench`: the instrument that measures Tresor beside its peers (moto) and beside the
//! machine's ceiling (a bare hyper server doing no work). It is not a test: it measures and
//! reports. `bench/compare` runs the side-by-side comparison; BENCHMARKS.md has the commands
//! and the latest numbers.
//!
//! Data path: `load` signs real SigV4 requests with the `aws-sigv4` crate (never Tresor's own
//! code) and drives them over keep-alive connections; `ceiling` is the no-work server;
//! `compare` starts Tresor, moto and the ceiling and runs the same workloads against each;
//! `seed` fills a store through the store layer directly; `scale` measures Tresor at 1 k,
//! 100 k and 1 M secrets; `mock-upstream` is the fast mock AI provider and `gateway_compare`
//! measures the AI gateway beside a direct call and beside LiteLLM's proxy.

mod ceiling;
mod compare;
mod gateway_compare;
mod load;
mod mock_upstream;
mod procs;
mod scale;
mod seed;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "tresor-bench", about = "Benchmarks for Tresor")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Drive one workload against one endpoint and report throughput and latency.
    Load(load::Args),
    /// Serve a fixed answer to every request: the machine's ceiling.
    Ceiling(ceiling::Args),
    /// Start Tresor, moto and the ceiling and compare them on the same workloads.
    Compare(compare::Args),
    /// Fill a Tresor store with many secrets through the store layer.
    Seed(seed::Args),
    /// Measure Tresor with 1 k, 100 k and 1 M secrets stored.
    Scale(scale::Args),
    /// Serve the mock AI provider (OpenAI and Anthropic shapes) the gateway benchmark calls.
    MockUpstream(mock_upstream::Args),
    /// Start the mock provider, Tresor and LiteLLM's proxy and compare chat completions called
    /// directly, through Tresor's gateway and through LiteLLM.
    GatewayCompare(gateway_compare::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Load(args) => load::run(args),
        Command::Ceiling(args) => ceiling::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Seed(args) => seed::run(args),
        Command::Scale(args) => scale::run(args),
        Command::MockUpstream(args) => mock_upstream::run(args),
        Command::GatewayCompare(args) => gateway_compare::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tresor-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Any failure of the instrument, as a message for the operator.
pub type BenchResult<T = ()> = Result<T, String>;
