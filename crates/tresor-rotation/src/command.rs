//! The command rotator: runs a program once per step.
//!
//! Each step runs `/bin/sh -c <command>` in the rotator's working directory (the server's
//! when none is set), in a process group of its own, with:
//! - the step's event JSON (`Step`, `SecretId`, `ClientRequestToken`, `RotationToken`, the
//!   four fields a rotation Lambda receives) on stdin, which is then closed; a program that
//!   does not read it is fine;
//! - a clean environment: only `PATH`, `HOME`, `LANG=C.UTF-8`, the role's short-lived
//!   credentials, the endpoint (`AWS_ENDPOINT_URL` and `SECRETS_MANAGER_ENDPOINT`, which AWS's
//!   rotation templates read), the region and settings that keep the AWS SDKs from looking
//!   anywhere else for credentials. Nothing else of the server's environment (its passphrase,
//!   say) reaches the program.
//!
//! Exit status 0 is success. stdout and stderr are read while the program runs (a program
//! writing megabytes does not block) and the last [`MAX_CAPTURED`](crate::rotator::MAX_CAPTURED)
//! bytes of each are kept. When the step's timeout passes, the whole process group is killed,
//! background processes included; when the program exits, whatever it left running in its
//! group is killed too: nothing a step started outlives the step.
//!
//! The report's summary says how the program ended (`exit status 3`, `killed by signal 9`,
//! `timed out after 30 s`, `could not start: …`) and never contains its output.

mod capture;
mod environment;
mod group;

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::process::ChildStdin;

use crate::rotator::{Credentials, Environment, Outcome, StepEvent, StepReport};

use capture::Capture;
use group::ProcessGroup;

/// How long the output pipes may stay open once the program has ended and its group has been
/// killed (a process that left the group can hold them open; it is not waited for).
const OUTPUT_GRACE: Duration = Duration::from_secs(1);

/// How long reaping a killed program may take.
const REAP_GRACE: Duration = Duration::from_secs(2);

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
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + timeout;

    let mut command = tokio::process::Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(&spec.command)
        .env_clear()
        .envs(environment::variables(credentials, env))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(dir) = &spec.working_dir {
        command.current_dir(dir);
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            return report(
                Outcome::Failed,
                format!("could not start: {}", e.kind()),
                Vec::new(),
                Vec::new(),
                started,
            )
        }
    };
    // Declared after `child` so that, if this future is dropped, the group is killed before
    // the child is reaped (its id cannot be reused while it is unreaped).
    let mut group = ProcessGroup::new(child.id());

    let feeder = tokio::spawn(feed(child.stdin.take(), event.to_json()));
    let stdout = Capture::start(child.stdout.take());
    let stderr = Capture::start(child.stderr.take());

    let (outcome, summary) = match tokio::time::timeout_at(deadline, child.wait()).await {
        Ok(Ok(status)) => {
            group.kill().await;
            ended(status)
        }
        Ok(Err(e)) => {
            group.kill().await;
            (Outcome::Failed, format!("could not wait: {}", e.kind()))
        }
        Err(_elapsed) => {
            // The group first, while the unreaped child still holds its id.
            group.kill().await;
            let _ = tokio::time::timeout(REAP_GRACE, child.kill()).await;
            (
                Outcome::Timeout,
                format!("timed out after {}", in_words(timeout)),
            )
        }
    };
    feeder.abort();

    let grace = tokio::time::Instant::now() + OUTPUT_GRACE;
    let stdout = stdout.finish(grace).await;
    let stderr = stderr.finish(grace).await;
    report(outcome, summary, stdout, stderr, started)
}

/// Write the event to the program's stdin and close it. A program that exits without reading
/// it makes the write fail with a broken pipe: that is its business, not a failure.
async fn feed(stdin: Option<ChildStdin>, event: zeroize::Zeroizing<Vec<u8>>) {
    if let Some(mut stdin) = stdin {
        let _ = stdin.write_all(&event).await;
        let _ = stdin.shutdown().await;
    }
}

/// The outcome and summary of a program that ended on its own.
fn ended(status: ExitStatus) -> (Outcome, String) {
    use std::os::unix::process::ExitStatusExt;

    let outcome = if status.success() {
        Outcome::Ok
    } else {
        Outcome::Failed
    };
    let summary = match (status.code(), status.signal()) {
        (Some(126), _) => "exit status 126 (command not executable)".to_owned(),
        (Some(127), _) => "exit status 127 (command not found)".to_owned(),
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => "ended without an exit status".to_owned(),
    };
    (outcome, summary)
}

/// `30 s`, or `250 ms` for a timeout under a second or not a whole number of seconds.
pub(crate) fn in_words(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

fn report(
    outcome: Outcome,
    summary: String,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    started: Instant,
) -> StepReport {
    StepReport {
        outcome,
        summary,
        stdout,
        stderr,
        duration: started.elapsed(),
        revoke_later: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_said_in_seconds_or_milliseconds() {
        assert_eq!(in_words(Duration::from_secs(30)), "30 s");
        assert_eq!(in_words(Duration::from_millis(250)), "250 ms");
        assert_eq!(in_words(Duration::from_millis(1500)), "1500 ms");
    }

    #[test]
    fn summaries_name_the_status_or_the_signal() {
        use std::os::unix::process::ExitStatusExt;
        // Raw wait statuses: exit code in the high byte, a signal in the low bits.
        assert_eq!(
            ended(ExitStatus::from_raw(0)),
            (Outcome::Ok, "exit status 0".into())
        );
        assert_eq!(
            ended(ExitStatus::from_raw(3 << 8)),
            (Outcome::Failed, "exit status 3".into())
        );
        assert_eq!(
            ended(ExitStatus::from_raw(9)),
            (Outcome::Failed, "killed by signal 9".into())
        );
        assert_eq!(
            ended(ExitStatus::from_raw(126 << 8)).1,
            "exit status 126 (command not executable)"
        );
    }
}
