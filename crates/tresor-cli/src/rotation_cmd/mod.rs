//! `tresor rotator …` and `tresor rotation …`: register rotators, read their logs, see every
//! secret's rotation and run due rotations now, through the signed rotation admin API
//! (`TresorRotation.*`, SigV4 signing name `rotation`) of a running server.
//!
//! Data path: clap parses and checks the flags (`args.rs`); `rotator.rs` and `rotation.rs`
//! turn a command into API requests, called through [`crate::admin_api`] (the same
//! environment, `--endpoint` and `--output json|text` as `tresor gateway`); the answers are
//! read into their shapes (`shapes.rs`) and printed as text (`render.rs`) or as the CLI's
//! snake_case JSON. `run-due --wait` polls the status (`wait.rs`). A webhook's signing secret
//! leaves the process only in `rotator create`'s output; errors print
//! `error: <Code>: <Message>` and exit 1, usage errors exit 2 before any call.

mod args;
mod render;
mod rotation;
mod rotator;
mod shapes;
mod wait;

pub use args::{RotationArgs, RotatorArgs};

use crate::admin_api::{self, AdminApi, Service};
use crate::client::CallError;
use args::RotatorCommand;

/// The rotation admin API.
const SERVICE: Service = Service {
    signing_name: "rotation",
    target_prefix: tresor_core::rotation::TARGET_PREFIX,
};

/// Why a rotation command failed.
#[derive(Debug, thiserror::Error)]
enum RotationCmdError {
    #[error(transparent)]
    Call(#[from] CallError),
    /// `run-due --wait`: a rotation ended other than in success, or the wait timed out.
    #[error("{0}")]
    NotSucceeded(String),
}

/// A connected client of the rotation admin API.
struct RotationCli {
    api: AdminApi,
}

/// Runs one `tresor rotator` command. The error is the whole line to print on stderr.
pub fn run_rotator(args: RotatorArgs) -> Result<(), String> {
    if let RotatorCommand::Create(a) = &args.command {
        if let Err(message) = a.kind() {
            usage_error(&["rotator", "create"], message);
        }
    }
    admin_api::run(
        &args.options,
        args.command.format(),
        SERVICE,
        |api| async move { RotationCli { api }.rotator(args.command).await },
    )
}

/// Runs one `tresor rotation` command. The error is the whole line to print on stderr.
pub fn run_rotation(args: RotationArgs) -> Result<(), String> {
    admin_api::run(
        &args.options,
        args.command.format(),
        SERVICE,
        |api| async move { RotationCli { api }.rotation(args.command).await },
    )
}

/// Exits 2 with clap's usage error for the subcommand at `path`: a check clap's declarations
/// cannot express reads the same as the ones they can.
fn usage_error(path: &[&str], message: String) -> ! {
    let mut command = <crate::cli::Cli as clap::CommandFactory>::command();
    command.build();
    error_at(&mut command, path, message).exit()
}

fn error_at(command: &mut clap::Command, path: &[&str], message: String) -> clap::Error {
    if let Some((name, rest)) = path.split_first() {
        if let Some(sub) = command.find_subcommand_mut(name) {
            return error_at(sub, rest, message);
        }
    }
    command.error(clap::error::ErrorKind::ArgumentConflict, message)
}
