//! `tresor run`: a process started with secrets in its environment, and nowhere else.
//!
//! `tresor run --env OPENAI_API_KEY=openai/prod --env DB_PASS=db/prod#password -- cmd args`
//! (or `--env-file FILE` with one `NAME=SECRET` per line) reads each secret with
//! GetSecretValue (a name, ARN or partial ARN; `#key` picks one member of a JSON secret
//! string), then replaces itself with `cmd` (`exec`), its environment the caller's plus those
//! variables. So signals reach the command directly, its exit status is the one the caller
//! sees, and nothing is written to disk.
//!
//! Data path: the usual AWS environment and `--endpoint` ([`crate::client::Connection`]),
//! GetSecretValue through Secrets Manager's API (SigV4 `secretsmanager`), then `execvp`. A
//! secret that is missing or may not be read stops the run before the command starts, with an
//! error naming the variable and the secret, never a value (exit 1); a command that cannot be
//! started exits 127, as a shell does.

use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;

use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::client::{CallError, Client, Connection};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// A variable and the secret it gets: NAME=SECRET or NAME=SECRET#KEY (a member of a JSON
    /// secret string). SECRET is a name, an ARN or a partial ARN. Repeatable.
    #[arg(long = "env", value_name = "NAME=SECRET[#KEY]")]
    pub env: Vec<String>,
    /// A file of NAME=SECRET[#KEY] lines (blank lines and `#` comments ignored). Repeatable.
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
    /// The Tresor endpoint, e.g. http://127.0.0.1:8750 (default: AWS_ENDPOINT_URL).
    #[arg(long)]
    pub endpoint: Option<String>,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// One variable to set: its name, the secret, and the JSON member if one is picked.
#[derive(Debug, PartialEq, Eq)]
struct Wanted {
    name: String,
    secret: String,
    key: Option<String>,
}

/// Exit status when the command cannot be started (a shell's "command not found").
const CANNOT_START: i32 = 127;

/// Runs `tresor run`: replaces this process with the command. It comes back only if the
/// secrets could not be read (exit 1), an entry is malformed (2) or the command could not be
/// started (127): the error is printed and the process exits with that status.
pub fn exec(args: RunArgs) -> ! {
    let (error, status) = run(args);
    eprintln!("{error}");
    std::process::exit(status)
}

/// The error line and the exit status of a run that did not start its command.
fn run(args: RunArgs) -> (String, i32) {
    let wanted = match wanted(&args) {
        Ok(w) => w,
        Err(e) => return (format!("tresor run: {e}"), 2),
    };
    let values = match read_all(args.endpoint.as_deref(), &wanted) {
        Ok(v) => v,
        Err(e) => return (format!("tresor run: {e}"), 1),
    };
    let Some((program, rest)) = args.command.split_first() else {
        return ("tresor run: no command given after --".to_owned(), 2);
    };
    let mut command = std::process::Command::new(program);
    command.args(rest);
    for (name, value) in &values {
        command.env(name, value.as_str());
    }
    // Only returns if the command could not be started.
    let e = command.exec();
    (
        format!("tresor run: cannot start {program}: {e}"),
        CANNOT_START,
    )
}

/// Every `--env` and `--env-file` entry, checked before anything is read.
fn wanted(args: &RunArgs) -> Result<Vec<Wanted>, String> {
    let mut out = Vec::new();
    for file in &args.env_file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            out.push(parse(line).map_err(|e| format!("{}, line {}: {e}", file.display(), n + 1))?);
        }
    }
    for entry in &args.env {
        out.push(parse(entry).map_err(|e| format!("--env {entry:?}: {e}"))?);
    }
    if out.is_empty() {
        return Err("nothing to inject: give --env NAME=SECRET or --env-file FILE".to_owned());
    }
    Ok(out)
}

/// `NAME=SECRET[#KEY]`. Secret names and ARNs cannot contain `#`, so the first one starts
/// the key.
fn parse(entry: &str) -> Result<Wanted, String> {
    let (name, reference) = entry
        .split_once('=')
        .ok_or("expected NAME=SECRET or NAME=SECRET#KEY")?;
    let name = name.trim();
    let valid_name = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_name {
        return Err(format!(
            "{name:?} is not a variable name (letters, digits and _, not starting with a digit)"
        ));
    }
    let (secret, key) = match reference.trim().split_once('#') {
        Some((secret, key)) => (secret, Some(key)),
        None => (reference.trim(), None),
    };
    if secret.is_empty() || key.is_some_and(str::is_empty) {
        return Err("expected NAME=SECRET or NAME=SECRET#KEY".to_owned());
    }
    Ok(Wanted {
        name: name.to_owned(),
        secret: secret.to_owned(),
        key: key.map(str::to_owned),
    })
}

/// Read every wanted secret; the first failure stops the run.
fn read_all(
    endpoint: Option<&str>,
    wanted: &[Wanted],
) -> Result<Vec<(String, Zeroizing<String>)>, String> {
    let connection = Connection::from_env(endpoint, |name| std::env::var(name).ok())
        .map_err(|e| e.to_string())?;
    let client = Client::new(connection, "secretsmanager").map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        let mut values = Vec::with_capacity(wanted.len());
        for w in wanted {
            let value = read_one(&client, w)
                .await
                .map_err(|why| format!("{}: cannot read secret {:?}: {why}", w.name, w.secret))?;
            values.push((w.name.clone(), value));
        }
        Ok(values)
    })
}

async fn read_one(client: &Client, w: &Wanted) -> Result<Zeroizing<String>, String> {
    let answer = client
        .call(
            "secretsmanager.GetSecretValue",
            &json!({"SecretId": w.secret}),
        )
        .await
        .map_err(|e| match e {
            CallError::Api { code, message, .. } => format!("{code}: {message}"),
            other => other.to_string(),
        })?;
    // (serde_json's values cannot be zeroized; the process image is replaced by `exec` next.)
    let Some(text) = answer.get("SecretString").and_then(Value::as_str) else {
        return Err("it holds a binary value (SecretBinary), not a string".to_owned());
    };
    let Some(key) = &w.key else {
        return Ok(Zeroizing::new(text.to_owned()));
    };
    // The value is never quoted: serde_json's errors give a position only, and none is shown.
    let object: serde_json::Map<String, Value> = serde_json::from_str(text)
        .map_err(|_| format!("its value is not a JSON object, so it has no key {key:?}"))?;
    match object.get(key.as_str()) {
        Some(Value::String(s)) => Ok(Zeroizing::new(s.clone())),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Zeroizing::new(v.to_string())),
        Some(_) => Err(format!(
            "its key {key:?} holds an object, an array or null, not a value"
        )),
        None => Err(format!("its JSON value has no key {key:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_parse_and_bad_ones_are_refused() {
        assert_eq!(
            parse("DB_PASS=db/prod#password").unwrap(),
            Wanted {
                name: "DB_PASS".to_owned(),
                secret: "db/prod".to_owned(),
                key: Some("password".to_owned()),
            }
        );
        let arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbC123";
        assert_eq!(parse(&format!("X={arn}")).unwrap().secret, arn);
        for bad in ["NOEQUALS", "=s", "1X=s", "A-B=s", "X=", "X=s#", "X=#k"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
