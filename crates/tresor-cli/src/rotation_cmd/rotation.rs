//! `tresor rotation …`: every secret's rotation status, and due rotations run now.

use std::io::Write as _;
use std::time::Duration;

use serde_json::json;

use super::args::{RotationCommand, RunDueArgs};
use super::wait::{self, Outcome};
use super::{render, RotationCli, RotationCmdError};
use crate::admin_api::answer::member;
use crate::cli::Output;

impl RotationCli {
    pub(super) async fn rotation(&self, command: RotationCommand) -> Result<(), RotationCmdError> {
        match command {
            RotationCommand::Status { .. } => {
                let statuses = wait::statuses(&self.api).await?;
                Ok(self.api.print(&statuses, || render::statuses(&statuses))?)
            }
            RotationCommand::RunDue(a) => self.run_due(a).await,
        }
    }

    async fn run_due(&self, a: RunDueArgs) -> Result<(), RotationCmdError> {
        let mut answer = self
            .api
            .call("RunDueRotations", json!({ "AsOf": a.as_of }))
            .await?;
        let arns: Vec<String> = member(&mut answer, "ARNs")?;
        if !a.wait || arns.is_empty() {
            return Ok(self
                .api
                .print(&json!({ "arns": arns }), || render::due(&arns))?);
        }
        if self.api.output == Output::Text {
            // Shown before the wait, so whoever waits knows on what.
            print!("{}", render::due(&arns));
            let _ = std::io::stdout().flush();
        }
        let timeout = Duration::from_secs(a.wait_timeout);
        let waited = wait::until_done(&self.api, &arns, timeout).await?;
        let json = json!({
            "arns": arns,
            "outcomes": waited.outcomes,
            "timed_out": waited.timed_out,
        });
        self.api.print(&json, || {
            format!("\n{}", render::outcomes(&waited.outcomes))
        })?;
        verdict(&waited.outcomes, waited.timed_out, a.wait_timeout)
    }
}

/// `Ok` if every rotation succeeded in time; otherwise the line that says which did not.
fn verdict(
    outcomes: &[Outcome],
    timed_out: bool,
    timeout_secs: u64,
) -> Result<(), RotationCmdError> {
    if timed_out {
        let running: Vec<&str> = outcomes
            .iter()
            .filter(|o| o.running())
            .map(Outcome::secret)
            .collect();
        return Err(RotationCmdError::NotSucceeded(format!(
            "timed out after {timeout_secs} s waiting for the rotation of {}",
            running.join(", ")
        )));
    }
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.succeeded)
        .map(|o| format!("{} ({})", o.secret(), o.label()))
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    Err(RotationCmdError::NotSucceeded(format!(
        "{} of {} rotations did not succeed: {}",
        failed.len(),
        outcomes.len(),
        failed.join(", ")
    )))
}
