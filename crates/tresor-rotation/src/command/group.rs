//! Killing a command rotator's whole process group: the shell, the program and anything they
//! started in the background, which would otherwise outlive the step (and hold its output
//! pipes open).
//!
//! The program is spawned as the leader of a new group (`process_group(0)`), so the group's
//! id is its pid. The signal is sent by the shell's `kill` builtin (`kill -KILL -<pgid>`),
//! the workspace forbidding the `unsafe` a direct `kill(2)` call would need.

use std::process::Stdio;
use std::time::Duration;

/// How long the `kill` itself may take.
const KILL_TIMEOUT: Duration = Duration::from_secs(2);

/// A group to kill, once: explicitly with [`ProcessGroup::kill`], or when dropped (the step's
/// future was cancelled).
pub(super) struct ProcessGroup {
    id: Option<u32>,
}

impl ProcessGroup {
    pub(super) fn new(leader_pid: Option<u32>) -> Self {
        // 0 and 1 would name the caller's own group and init: never signal those.
        Self {
            id: leader_pid.filter(|&pid| pid > 1),
        }
    }

    /// SIGKILL every process left in the group.
    pub(super) async fn kill(&mut self) {
        let Some(id) = self.id.take() else { return };
        let killing = tokio::process::Command::new("/bin/sh")
            .args(kill_args(id))
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .status();
        // An empty group (everything already ended) makes `kill` fail: nothing to do.
        let _ = tokio::time::timeout(KILL_TIMEOUT, killing).await;
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            let _ = std::process::Command::new("/bin/sh")
                .args(kill_args(id))
                .env_clear()
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn kill_args(id: u32) -> [String; 4] {
    [
        "-c".to_owned(),
        r#"kill -KILL "-$1""#.to_owned(),
        "kill-group".to_owned(),
        id.to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_names_init_or_the_callers_group() {
        assert!(ProcessGroup::new(Some(0)).id.is_none());
        assert!(ProcessGroup::new(Some(1)).id.is_none());
        assert!(ProcessGroup::new(None).id.is_none());
        let mut stranger = ProcessGroup::new(Some(4242));
        assert_eq!(stranger.id, Some(4242));
        // Not ours to signal: forget it before it drops.
        stranger.id = None;
    }
}
