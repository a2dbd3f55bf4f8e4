//! The command rotator: runs a program once per step.
//!
//! TO BUILD (helper): see the brief.

use std::path::PathBuf;
use std::time::Duration;

use crate::rotator::{Credentials, Environment, StepEvent, StepReport};

/// A command rotator's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSpec {
    /// Run with `/bin/sh -c`.
    pub command: String,
    /// The working directory (the server's when `None`).
    pub working_dir: Option<PathBuf>,
}

/// Run one step: the event JSON on stdin, a clean environment with the credentials, the
/// endpoint and the region; exit status 0 is success; killed after `timeout`.
pub async fn run(
    spec: &CommandSpec,
    event: &StepEvent,
    credentials: &Credentials,
    env: &Environment,
    timeout: Duration,
) -> StepReport {
    let _ = (spec, event, credentials, env, timeout);
    todo!("helper")
}
