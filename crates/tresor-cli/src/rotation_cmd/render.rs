//! Text output of `tresor rotator …` and `tresor rotation …`. (`--output json` prints the
//! shapes of `shapes.rs` instead.)

use super::shapes::{LogEntry, RotationStatus, Rotator};
use super::wait::Outcome;
use crate::admin_api::answer::date_text;
use crate::admin_api::text::{fields, or_dash, table};

/// `rotator create`'s text: the ARN alone on the first line (so `$(tresor rotator create …)`
/// is the `RotationLambdaARN`), then a webhook's signing secret, once, with the warning.
pub fn created(rotator: &Rotator, signing_secret: Option<&str>) -> String {
    let mut out = format!("{}\n", rotator.arn);
    if let Some(secret) = signing_secret {
        // Written in place: a temporary copy of the secret would be freed without zeroizing.
        out.reserve(256 + secret.len());
        out.push_str(
            "\nWebhook signing secret (shown only now: it cannot be retrieved later, store it \
             where the webhook checks signatures):\n\n    ",
        );
        out.push_str(secret);
        out.push('\n');
    }
    out
}

pub fn rotator(r: &Rotator) -> String {
    let mut lines = vec![
        ("name", r.name.clone()),
        ("arn", r.arn.clone()),
        ("type", r.kind.clone()),
        ("role_arn", r.role_arn.clone()),
    ];
    let optional = [
        ("command", r.command.clone()),
        ("working_directory", r.working_directory.clone()),
        ("url", r.url.clone()),
        (
            "pass_credentials",
            r.pass_credentials.map(|b| b.to_string()),
        ),
        ("admin_secret_id", r.admin_secret_id.clone()),
        ("project_id", r.project_id.clone()),
        ("provider", r.provider.clone()),
        ("base_url", r.base_url.clone()),
        (
            "grace_period_seconds",
            r.grace_period_seconds.map(|n| n.to_string()),
        ),
    ];
    lines.extend(optional.into_iter().filter_map(|(n, v)| Some((n, v?))));
    lines.extend([
        ("step_timeout_seconds", r.step_timeout_seconds.to_string()),
        ("description", or_dash(r.description.clone())),
        ("created", date_text(r.created_date)),
    ]);
    fields(&lines)
}

pub fn rotators(list: &[Rotator]) -> String {
    if list.is_empty() {
        return "No rotators.\n".to_owned();
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                r.kind.clone(),
                r.role_arn.clone(),
                r.arn.clone(),
            ]
        })
        .collect();
    table(&["NAME", "TYPE", "ROLE", "ARN"], &rows)
}

/// Each entry: time, secret, version, step, outcome and summary on one line, then the
/// rotator's output, indented, when it wrote any.
pub fn logs(entries: &[LogEntry]) -> String {
    if entries.is_empty() {
        return "No log entries.\n".to_owned();
    }
    let mut out = String::new();
    for e in entries {
        out.push_str(&format!(
            "{}  {}  version {}  {}  {}  {}\n",
            date_text(e.time),
            e.secret_arn,
            e.version_id,
            e.step,
            e.outcome,
            one_line(&e.summary),
        ));
        for (name, text) in [("stdout", &e.stdout), ("stderr", &e.stderr)] {
            if text.trim().is_empty() {
                continue;
            }
            out.push_str(&format!("    {name}:\n"));
            for line in text.trim_end().lines() {
                out.push_str(&format!("        {}\n", printable(line)));
            }
        }
    }
    out
}

pub fn statuses(list: &[RotationStatus]) -> String {
    if list.is_empty() {
        return "No secrets with rotation.\n".to_owned();
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                s.state.clone(),
                or_dash(s.last_result.clone()),
                or_dash(s.last_rotated_date.map(date_text)),
                or_dash(s.next_rotation_date.map(date_text)),
                or_dash(s.pending_version_id.clone()),
                or_dash(s.last_error.as_deref().map(one_line)),
            ]
        })
        .collect();
    table(
        &[
            "NAME",
            "STATE",
            "LAST RESULT",
            "LAST ROTATED",
            "NEXT ROTATION",
            "PENDING VERSION",
            "LAST ERROR",
        ],
        &rows,
    )
}

/// `run-due`'s text: the ARNs made due, one a line.
pub fn due(arns: &[String]) -> String {
    if arns.is_empty() {
        return "No rotation was due.\n".to_owned();
    }
    arns.iter().map(|a| format!("{a}\n")).collect()
}

/// `run-due --wait`'s text once the wait is over: how each rotation ended.
pub fn outcomes(outcomes: &[Outcome]) -> String {
    let rows: Vec<Vec<String>> = outcomes
        .iter()
        .map(|o| {
            vec![
                o.secret().to_owned(),
                o.label(),
                or_dash(o.error().map(one_line)),
            ]
        })
        .collect();
    table(&["SECRET", "OUTCOME", "LAST ERROR"], &rows)
}

/// A line of a rotator's output as it may reach a terminal: control characters (escape
/// sequences a rotator could send to the reader's terminal) become U+FFFD; tabs stay.
fn printable(line: &str) -> String {
    line.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

/// A message on one line of a table: line breaks and other control characters as spaces.
fn one_line(text: &str) -> String {
    text.trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(stdout: &str, stderr: &str) -> LogEntry {
        LogEntry {
            time: 1_700_000_000.0,
            secret_arn: "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf".into(),
            version_id: "v-1".into(),
            step: "createSecret".into(),
            outcome: "failed".into(),
            summary: "exit status 1".into(),
            stdout: stdout.into(),
            stderr: stderr.into(),
            duration_ms: 5,
        }
    }

    #[test]
    fn log_output_is_indented_and_only_when_written() {
        let text = logs(&[entry("", "Traceback\n  line 2\n"), entry("", "")]);
        assert_eq!(
            text,
            "2023-11-14T22:13:20Z  arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf  version v-1  createSecret  failed  exit status 1\n\
             \x20   stderr:\n\
             \x20       Traceback\n\
             \x20         line 2\n\
             2023-11-14T22:13:20Z  arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf  version v-1  createSecret  failed  exit status 1\n"
        );
    }

    #[test]
    fn a_rotators_output_cannot_drive_the_terminal() {
        let text = logs(&[entry("\u{1b}[2J\u{1b}]0;title\u{7}ok\tdone\r\n", "")]);
        assert!(
            !text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t'),
            "{text:?}"
        );
        assert!(
            text.contains("        \u{fffd}[2J\u{fffd}]0;title\u{fffd}ok\tdone\n"),
            "{text:?}"
        );
    }

    #[test]
    fn errors_stay_on_their_row() {
        assert_eq!(one_line(" a\nb\tc \r\n"), "a b c");
    }
}
