//! The `tresor rotator …` and `tresor rotation …` command lines (issue 17's contract): what
//! clap parses and checks before any call is made. A bad flag value exits 2 with clap's
//! message; so does a `rotator create` whose kind cannot be told ([`RotatorCreateArgs::kind`]).

use tresor_core::rotation::{MAX_GRACE_PERIOD_SECONDS, MAX_STEP_TIMEOUT_SECONDS};

use crate::admin_api::{Format, GroupOptions};

#[derive(Debug, clap::Args)]
pub struct RotatorArgs {
    #[command(flatten)]
    pub options: GroupOptions,
    #[command(subcommand)]
    pub command: RotatorCommand,
}

#[derive(Debug, clap::Args)]
pub struct RotationArgs {
    #[command(flatten)]
    pub options: GroupOptions,
    #[command(subcommand)]
    pub command: RotationCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum RotatorCommand {
    /// Register a rotator; prints its arn:aws:lambda:…:function:NAME, the RotationLambdaARN
    /// to rotate secrets with (and a webhook's signing secret, once).
    Create(RotatorCreateArgs),
    /// Show a rotator (never a webhook's signing secret).
    Get(RotatorNameArgs),
    /// List the rotators.
    List {
        #[command(flatten)]
        format: Format,
    },
    /// Delete a rotator and its logs.
    Delete(RotatorNameArgs),
    /// What a rotator's steps did, newest first: outcome, summary, and its output.
    Logs(RotatorLogsArgs),
}

#[derive(Debug, clap::Subcommand)]
pub enum RotationCommand {
    /// Every secret with rotation: state, last result, last and next rotation, pending
    /// version, last error.
    Status {
        #[command(flatten)]
        format: Format,
    },
    /// Start the rotations that are due now (or at --as-of) without waiting for the
    /// scheduler, and print the secrets' ARNs; with --wait, wait until they end.
    RunDue(RunDueArgs),
}

/// What runs a secret's rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RotatorType {
    /// A local program (--command).
    Command,
    /// An HTTPS endpoint (--url), signed with HMAC.
    Webhook,
    /// OpenAI project service-account keys, through an admin key.
    Openai,
    /// OpenRouter keys, through a management key.
    Openrouter,
    /// A person puts the new key; Tresor tests and promotes it.
    Manual,
}

impl RotatorType {
    /// The name the API knows it by (`Type`).
    pub fn wire(self) -> &'static str {
        match self {
            Self::Command => "command",
            Self::Webhook => "webhook",
            Self::Openai => "openai",
            Self::Openrouter => "openrouter",
            Self::Manual => "manual",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ManualProvider {
    Anthropic,
    Openai,
}

impl ManualProvider {
    pub fn wire(self) -> &'static str {
        match self {
            Self::Anthropic => "anthropic",
            Self::Openai => "openai",
        }
    }
}

#[derive(Debug, clap::Args)]
#[command(group(
    clap::ArgGroup::new("what_runs")
        .required(true)
        .multiple(true)
        .args(["command", "url", "kind"]),
))]
pub struct RotatorCreateArgs {
    /// The rotator's name (1–64 of A-Z a-z 0-9 _ -): the function name in its ARN.
    pub name: String,
    /// The IAM role whose short-lived credentials the rotator acts with.
    #[arg(long, required = true)]
    pub role_arn: String,
    /// Run this program (with /bin/sh -c) for each step, the event on stdin: a command
    /// rotator.
    #[arg(long, value_name = "CMD", conflicts_with = "url")]
    pub command: Option<String>,
    /// The command's working directory.
    #[arg(long, value_name = "DIR", requires = "command")]
    pub working_directory: Option<String>,
    /// POST each step's event to this HTTPS URL, signed: a webhook rotator.
    #[arg(long)]
    pub url: Option<String>,
    /// Send the role's short-lived credentials to the webhook as headers.
    // Why not `requires = "url"`: clap does not enforce it on a flag; `kind` checks instead.
    #[arg(long)]
    pub pass_credentials: bool,
    /// The kind of rotator; optional with --command (command) or --url (webhook).
    #[arg(long = "type", value_enum, value_name = "TYPE")]
    pub kind: Option<RotatorType>,
    /// Built-ins: the secret holding the provider's admin (OpenAI), management (OpenRouter)
    /// or optional admin (manual) key.
    #[arg(long, conflicts_with_all = ["command", "url"])]
    pub admin_secret_id: Option<String>,
    /// openai: the project whose service-account keys are created.
    #[arg(long, conflicts_with_all = ["command", "url"])]
    pub project_id: Option<String>,
    /// manual: the provider new keys are tested against.
    #[arg(long, value_enum, conflicts_with_all = ["command", "url"])]
    pub provider: Option<ManualProvider>,
    /// Built-ins: the provider's base URL (default: its public API).
    #[arg(long, conflicts_with_all = ["command", "url"])]
    pub base_url: Option<String>,
    /// Built-ins: how long a replaced provider key keeps working (server default: a day).
    #[arg(long, value_name = "N", conflicts_with_all = ["command", "url"],
          value_parser = clap::value_parser!(i64).range(0..=MAX_GRACE_PERIOD_SECONDS))]
    pub grace_period_seconds: Option<i64>,
    /// How long each step may take (server default: 300).
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(i64).range(1..=MAX_STEP_TIMEOUT_SECONDS))]
    pub step_timeout_seconds: Option<i64>,
    #[arg(long)]
    pub description: Option<String>,
    #[command(flatten)]
    pub format: Format,
}

impl RotatorCreateArgs {
    /// The rotator's kind: `--type`, or what `--command` or `--url` says. `Err` is the usage
    /// error to print (clap has already refused both `--command` and `--url`, and neither of
    /// them without `--type`).
    pub fn kind(&self) -> Result<RotatorType, String> {
        if self.pass_credentials && self.url.is_none() {
            return Err(
                "--pass-credentials is for webhook rotators: it needs --url URL".to_owned(),
            );
        }
        let implied = match (&self.command, &self.url) {
            (Some(_), _) => Some(RotatorType::Command),
            (None, Some(_)) => Some(RotatorType::Webhook),
            (None, None) => None,
        };
        match (self.kind, implied) {
            (Some(kind), Some(implied)) if kind != implied => Err(format!(
                "--type {} cannot be used with {}: {} makes a {} rotator",
                kind.wire(),
                flag_of(implied),
                flag_of(implied),
                implied.wire()
            )),
            (Some(RotatorType::Command), None) => {
                Err("--type command needs --command CMD".to_owned())
            }
            (Some(RotatorType::Webhook), None) => Err("--type webhook needs --url URL".to_owned()),
            (Some(kind), _) | (None, Some(kind)) => Ok(kind),
            (None, None) => Err(
                "say what runs the rotation: --command CMD, --url URL, or --type openai|openrouter|manual"
                    .to_owned(),
            ),
        }
    }
}

fn flag_of(kind: RotatorType) -> &'static str {
    match kind {
        RotatorType::Webhook => "--url",
        _ => "--command",
    }
}

#[derive(Debug, clap::Args)]
pub struct RotatorNameArgs {
    /// The rotator's name or its arn:aws:lambda:…:function:NAME.
    pub name: String,
    #[command(flatten)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct RotatorLogsArgs {
    /// The rotator's name or its arn:aws:lambda:…:function:NAME.
    pub name: String,
    /// Only the entries of this secret (name or ARN).
    #[arg(long)]
    pub secret_id: Option<String>,
    /// At most this many entries, newest first (server default: 50).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..=500))]
    pub max_results: Option<i64>,
    #[command(flatten)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct RunDueArgs {
    /// Run what is due at this time rather than now (RFC 3339, e.g. 2030-01-01T00:00:00Z).
    #[arg(long, value_name = "RFC3339", value_parser = epoch_seconds)]
    pub as_of: Option<f64>,
    /// Wait until the rotations started end; exit 1 unless every one succeeded.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: give up (exit 1) after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300, requires = "wait",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub wait_timeout: u64,
    #[command(flatten)]
    pub format: Format,
}

impl RotatorCommand {
    /// The `--output` given after the command, if any.
    pub fn format(&self) -> Format {
        match self {
            Self::Create(a) => a.format,
            Self::Get(a) | Self::Delete(a) => a.format,
            Self::List { format } => *format,
            Self::Logs(a) => a.format,
        }
    }
}

impl RotationCommand {
    /// The `--output` given after the command, if any.
    pub fn format(&self) -> Format {
        match self {
            Self::Status { format } => *format,
            Self::RunDue(a) => a.format,
        }
    }
}

/// An RFC 3339 time as epoch seconds (the API's `AsOf`).
fn epoch_seconds(text: &str) -> Result<f64, String> {
    let at =
        time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
            .map_err(|_| {
                format!("{text:?} is not an RFC 3339 time such as 2030-01-01T00:00:00Z")
            })?;
    Ok(at.unix_timestamp_nanos() as f64 / 1e9)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use clap::ValueEnum as _;

    #[test]
    fn every_type_is_one_the_api_knows() {
        let wire: Vec<&str> = RotatorType::value_variants()
            .iter()
            .map(|t| t.wire())
            .collect();
        assert_eq!(wire, tresor_core::rotation::ROTATOR_TYPES);
        let providers: Vec<&str> = ManualProvider::value_variants()
            .iter()
            .map(|p| p.wire())
            .collect();
        for p in providers {
            assert!(tresor_core::rotation::MANUAL_PROVIDERS.contains(&p), "{p}");
        }
    }

    #[test]
    fn as_of_is_read_as_rfc3339() {
        assert_eq!(epoch_seconds("2023-11-14T22:13:20Z"), Ok(1_700_000_000.0));
        assert_eq!(
            epoch_seconds("2023-11-15T00:13:20.5+02:00"),
            Ok(1_700_000_000.5)
        );
        for bad in ["", "2023-11-14", "1700000000", "2023-11-14 22:13:20"] {
            assert!(epoch_seconds(bad).is_err(), "{bad}");
        }
    }
}
