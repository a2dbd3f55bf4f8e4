//! The `tresor` binary: `server` (production or `--dev`), `init`, `audit …`,
//! `migrate-storage`, and `gateway …`, `rotator …`, `rotation …` (clients of a running
//! server's admin APIs).
//!
//! Data path: this crate only gathers configuration (flags and `TRESOR_*` variables), opens
//! the store, unseals the keyring through `tresor-core`'s bootstrap, and hands both to
//! `tresor-server`. It prints credentials only where the user asked for them (`init`, dev mode).

mod admin_api;
mod audit_cmd;
mod cli;
mod client;
mod commands;
mod gateway_cmd;
mod kms_cmd;
mod location;
mod migrate_cmd;
mod operator_cmd;
mod rotation_cmd;
mod run_cmd;
mod unseal;

use clap::Parser;

/// mimalloc instead of glibc's malloc: a request allocates and frees many small buffers on
/// several threads, where glibc's arenas showed up as a fifth of the server's CPU time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TRESOR_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match commands::run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}
