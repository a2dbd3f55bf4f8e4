//! `tresor rotation run-due --wait`: polling `ListRotationStatus` until the rotations just
//! made due are no longer running, and telling how each ended.

use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use tokio::time::Instant;

use super::shapes::RotationStatus;
use crate::admin_api::answer::member;
use crate::admin_api::AdminApi;
use crate::client::CallError;

/// How often the status is asked for while waiting.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// How long the status asked for at the deadline may take to come.
const LAST_LOOK: Duration = Duration::from_secs(5);

/// How one rotation ended, as last seen.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub arn: String,
    /// `succeeded`, `failed`, `abandoned`, `retrying`, `waiting`, `running` (the wait timed
    /// out), `not listed` (the secret left the list) or `no result`.
    pub outcome: String,
    pub succeeded: bool,
    /// The secret's rotation status; `null` if it is not listed.
    pub status: Option<RotationStatus>,
}

impl Outcome {
    pub fn of(arn: &str, status: Option<RotationStatus>) -> Self {
        let outcome = match &status {
            None => "not listed".to_owned(),
            Some(s) => match (s.state.as_str(), &s.last_result) {
                ("idle", Some(result)) => result.clone(),
                ("idle", None) => "no result".to_owned(),
                (state, _) => state.to_owned(),
            },
        };
        Self {
            arn: arn.to_owned(),
            succeeded: outcome == "succeeded",
            outcome,
            status,
        }
    }

    pub fn running(&self) -> bool {
        self.status.as_ref().is_some_and(|s| s.state == "running")
    }

    /// The secret's name, or its ARN when it is not listed.
    pub fn secret(&self) -> &str {
        self.status.as_ref().map_or(&self.arn, |s| &s.name)
    }

    pub fn label(&self) -> String {
        self.outcome.clone()
    }

    /// The last error, unless the rotation succeeded (an old error is not this run's).
    pub fn error(&self) -> Option<&str> {
        if self.succeeded {
            return None;
        }
        self.status.as_ref()?.last_error.as_deref()
    }
}

/// The end of a wait: each rotation's outcome, and whether time ran out first.
pub struct Waited {
    pub outcomes: Vec<Outcome>,
    pub timed_out: bool,
}

/// Polls every [`POLL_INTERVAL`] until none of `arns` is running, or `timeout` has passed.
pub async fn until_done(
    api: &AdminApi,
    arns: &[String],
    timeout: Duration,
) -> Result<Waited, CallError> {
    let deadline = Instant::now() + timeout;
    let mut outcomes: Vec<Outcome> = arns.iter().map(|a| Outcome::of(a, None)).collect();
    loop {
        // Why past the deadline: the look taken at the deadline deserves its answer.
        let Ok(answer) = tokio::time::timeout_at(deadline + LAST_LOOK, statuses(api)).await else {
            return Ok(Waited {
                outcomes,
                timed_out: true,
            });
        };
        let statuses = answer?;
        outcomes = arns
            .iter()
            .map(|arn| Outcome::of(arn, statuses.iter().find(|s| &s.arn == arn).cloned()))
            .collect();
        let running = outcomes.iter().any(Outcome::running);
        if !running || Instant::now() >= deadline {
            return Ok(Waited {
                outcomes,
                timed_out: running,
            });
        }
        tokio::time::sleep_until((Instant::now() + POLL_INTERVAL).min(deadline)).await;
    }
}

/// Every secret's rotation status.
pub async fn statuses(api: &AdminApi) -> Result<Vec<RotationStatus>, CallError> {
    let mut answer = api.call("ListRotationStatus", json!({})).await?;
    member(&mut answer, "Rotations")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: &str, last_result: Option<&str>, last_error: Option<&str>) -> RotationStatus {
        RotationStatus {
            arn: "arn:s".into(),
            name: "s".into(),
            rotation_enabled: true,
            rotation_lambda_arn: None,
            last_rotated_date: None,
            next_rotation_date: None,
            pending_version_id: None,
            state: state.into(),
            last_result: last_result.map(Into::into),
            last_error: last_error.map(Into::into),
            attempts: None,
        }
    }

    #[test]
    fn only_an_idle_rotation_whose_last_result_is_success_succeeded() {
        let cases = [
            (
                Some(status("idle", Some("succeeded"), Some("old"))),
                "succeeded",
                true,
                false,
            ),
            (
                Some(status("idle", Some("failed"), Some("boom"))),
                "failed",
                false,
                false,
            ),
            (
                Some(status("idle", Some("abandoned"), None)),
                "abandoned",
                false,
                false,
            ),
            (Some(status("idle", None, None)), "no result", false, false),
            (
                Some(status("retrying", Some("failed"), Some("boom"))),
                "retrying",
                false,
                false,
            ),
            (Some(status("waiting", None, None)), "waiting", false, false),
            (
                Some(status("running", Some("succeeded"), None)),
                "running",
                false,
                true,
            ),
            (None, "not listed", false, false),
        ];
        for (status, label, succeeded, running) in cases {
            let o = Outcome::of("arn:s", status);
            assert_eq!(o.label(), label);
            assert_eq!(o.succeeded, succeeded, "{label}");
            assert_eq!(o.running(), running, "{label}");
        }
        assert_eq!(
            Outcome::of(
                "arn:s",
                Some(status("idle", Some("succeeded"), Some("old")))
            )
            .error(),
            None
        );
        assert_eq!(
            Outcome::of("arn:s", Some(status("retrying", None, Some("boom")))).error(),
            Some("boom")
        );
        assert_eq!(Outcome::of("arn:gone", None).secret(), "arn:gone");
    }
}
