use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::location::StoreArgs;

#[derive(Debug, clap::Parser)]
#[command(
    name = "tresor",
    version,
    about = "A self-hosted secrets manager that speaks the AWS Secrets Manager API"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Run the server.
    Server(ServerArgs),
    /// Create a new store: generate and seal the root key, create the account and its root
    /// credentials (printed once).
    Init(InitArgs),
    /// The audit trail: print the verification key, verify the chain or an export, export it
    /// as CloudTrail log and digest files.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Move a whole SQLite store (`--from DIR`) into an empty PostgreSQL database
    /// (`--to postgres://…`), as stored: nothing is decrypted and no passphrase is needed.
    /// Stop the server first. Refuses a target that already holds data.
    MigrateStorage(crate::migrate_cmd::MigrateStorageArgs),
    /// The AI gateway's routes, keys, prices and budgets, managed through a running server's admin API
    /// (the usual AWS environment: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
    /// AWS_SESSION_TOKEN, AWS_REGION).
    Gateway(crate::gateway_cmd::GatewayArgs),
    /// Rotators, the programs, webhooks or built-ins that rotate secrets in place of Lambda
    /// functions: create (prints the RotationLambdaARN to use), list, delete, logs; through a
    /// running server's admin API (the same AWS environment as `gateway`).
    Rotator(crate::rotation_cmd::RotatorArgs),
    /// Run a command with secrets in its environment only: `tresor run --env
    /// OPENAI_API_KEY=openai/prod --env DB_PASS=db/prod#password -- cmd args` (the same AWS
    /// environment as `gateway`). The command replaces this process: signals reach it, its
    /// exit status is returned, nothing is written to disk.
    Run(crate::run_cmd::RunArgs),
    /// KMS key deletion with a warning the aws CLI cannot give: `schedule-key-deletion` lists
    /// the secrets under the key (once destroyed, they are unreadable for good) and
    /// `cancel-key-deletion` (the same AWS environment as `gateway`).
    Kms(crate::kms_cmd::KmsArgs),
    /// Unsealing by several people: submit a share to a sealed server (`unseal`), or change
    /// the unseal material without re-encrypting data (`rekey`).
    #[command(subcommand)]
    Operator(crate::operator_cmd::OperatorCommand),
    /// Secrets' rotation: the status of every secret with rotation, and due rotations run now
    /// (`run-due`, optionally `--as-of` a later time and `--wait`ing for the outcome).
    Rotation(crate::rotation_cmd::RotationArgs),
}

#[derive(Debug, clap::Args)]
pub struct ServerArgs {
    /// Development mode: throw-away data directory, ephemeral root key, auto-unsealed.
    #[arg(long)]
    pub dev: bool,
    /// Address to listen on.
    #[arg(long, env = "TRESOR_LISTEN", default_value = "127.0.0.1:8750")]
    pub listen: SocketAddr,
    /// Data directory (SQLite store). In dev mode, a temporary one unless given.
    #[arg(long, env = "TRESOR_DATA_DIR", conflicts_with = "storage")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL store (postgres://USER@HOST[:PORT]/DATABASE), shared by any number of nodes.
    #[arg(long, env = "TRESOR_STORAGE", conflicts_with = "dev")]
    pub storage: Option<String>,
    /// Account id of the dev account.
    #[arg(long, env = "TRESOR_ACCOUNT_ID", default_value = "000000000000")]
    pub account_id: String,
    /// Dev mode: the root access key id (random if not given).
    #[arg(
        long,
        env = "TRESOR_ROOT_ACCESS_KEY_ID",
        requires = "root_secret_access_key"
    )]
    pub root_access_key_id: Option<String>,
    /// Dev mode: the root secret access key (random if not given).
    #[arg(
        long,
        env = "TRESOR_ROOT_SECRET_ACCESS_KEY",
        requires = "root_access_key_id",
        hide_env_values = true
    )]
    pub root_secret_access_key: Option<String>,
    /// Unseal with this key file instead of a passphrase.
    #[arg(long, env = "TRESOR_UNSEAL_KEY_FILE")]
    pub unseal_key_file: Option<PathBuf>,
    /// TLS certificate chain (PEM).
    #[arg(long, env = "TRESOR_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "TRESOR_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Allow plain HTTP on a non-loopback address in production mode.
    #[arg(long)]
    pub insecure_http: bool,
    /// Connections held at once; at the cap the listener stops accepting until one ends.
    #[arg(long, env = "TRESOR_MAX_CONNECTIONS", default_value_t = tresor_server::Limits::default().max_connections as u32,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// Connections held at once from one source address; more are closed at once.
    #[arg(long, env = "TRESOR_MAX_CONNECTIONS_PER_IP", default_value_t = tresor_server::Limits::default().max_connections_per_ip as u32,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections_per_ip: u32,
    /// Time from a request's first byte (or TLS handshake's) to its complete head, e.g. `10s`.
    #[arg(long, env = "TRESOR_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_read_timeout: Duration,
    /// Time a request's body may take once its head has arrived, e.g. `30s`.
    #[arg(long, env = "TRESOR_BODY_READ_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub body_read_timeout: Duration,
    /// Time a connection may stay open with no request in flight, e.g. `60s`.
    #[arg(long, env = "TRESOR_IDLE_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub idle_timeout: Duration,
    /// Do not serve `GET /metrics` (request counts and latencies by operation, for Prometheus;
    /// served without authentication, so turn it off where the listener is reachable by
    /// those who should not see them).
    #[arg(long, env = "TRESOR_NO_METRICS")]
    pub no_metrics: bool,
    /// The URL rotators use to reach this server (`AWS_ENDPOINT_URL` in a command rotator's
    /// environment); defaults to the listener's address (a wildcard address as loopback).
    #[arg(long, env = "TRESOR_ROTATION_ENDPOINT_URL")]
    pub rotation_endpoint_url: Option<String>,
    /// A CA bundle command rotators trust for the endpoint (`AWS_CA_BUNDLE`), when the
    /// server's certificate is not one the platform trusts.
    #[arg(long, env = "TRESOR_ROTATION_CA_BUNDLE")]
    pub rotation_ca_bundle: Option<PathBuf>,
    /// How often the rotation scheduler looks for due rotations (RotateSecret and
    /// `tresor rotation run-due` wake it at once).
    #[arg(long, env = "TRESOR_ROTATION_TICK", default_value = "5s", value_parser = parse_duration)]
    pub rotation_tick: Duration,
    /// Refuse to register or run command rotators: a command runs as this server's OS user,
    /// so whoever may create one may run any program here. Webhook and built-in rotators
    /// still work.
    #[arg(long, env = "TRESOR_DISABLE_COMMAND_ROTATORS")]
    pub disable_command_rotators: bool,
}

impl ServerArgs {
    /// The listener limits these options ask for.
    pub fn limits(&self) -> tresor_server::Limits {
        tresor_server::Limits {
            max_connections: self.max_connections as usize,
            max_connections_per_ip: self.max_connections_per_ip as usize,
            header_read_timeout: self.header_read_timeout,
            body_read_timeout: self.body_read_timeout,
            idle_timeout: self.idle_timeout,
        }
    }
}

/// A duration written `500ms`, `10s` or `2m` (a bare number is seconds); at least 1 ms.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 500ms, 10s or 2m"))?;
    let duration = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        _ => {
            return Err(format!(
                "{text:?} is not a duration such as 500ms, 10s or 2m"
            ))
        }
    };
    if duration.is_zero() {
        return Err("a timeout must be longer than zero".to_owned());
    }
    Ok(duration)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Where to create the store.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Account id to create.
    #[arg(long, env = "TRESOR_ACCOUNT_ID", default_value = "000000000000")]
    pub account_id: String,
    /// Seal with a key file instead of a passphrase; created if it does not exist.
    #[arg(long, env = "TRESOR_UNSEAL_KEY_FILE", conflicts_with = "shares")]
    pub unseal_key_file: Option<PathBuf>,
    /// Seal under a random unseal key split into this many Shamir shares (with
    /// `--threshold`); the server then starts sealed until `tresor operator unseal` has been
    /// given that many. The shares are printed once.
    #[arg(long, requires = "threshold", value_parser = clap::value_parser!(u8).range(2..))]
    pub shares: Option<u8>,
    /// How many shares unseal (at least 2, at most `--shares`).
    #[arg(long, requires = "shares", value_parser = clap::value_parser!(u8).range(2..))]
    pub threshold: Option<u8>,
    /// How to print the root credentials.
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
}

#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Print the audit verification key (`ed25519:<base64>`) that checks checkpoints and
    /// export digests. Needs the passphrase or key file.
    PublicKey(AuditPublicKeyArgs),
    /// Verify the live audit chain of a store (`--data-dir`) or an export (`--export-dir` with
    /// `--public-key`). Exits 0 if intact; 1 with the first broken record otherwise.
    Verify(AuditVerifyArgs),
    /// Export the audit chain as CloudTrail log files with signed digest files; a second run
    /// into the same directory continues the export.
    Export(AuditExportArgs),
}

#[derive(Debug, clap::Args)]
pub struct AuditPublicKeyArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Unseal with this key file instead of a passphrase.
    #[arg(long, env = "TRESOR_UNSEAL_KEY_FILE")]
    pub unseal_key_file: Option<PathBuf>,
    /// Also write the key (one line) to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
#[command(group(
    clap::ArgGroup::new("source")
        .required(true)
        .args(["data_dir", "storage", "export_dir"]),
))]
pub struct AuditVerifyArgs {
    /// Verify the live chain in this store's data directory. Unseals the store (passphrase or
    /// key file) to check every record's MAC, unless `--public-key` is given.
    #[arg(long, conflicts_with = "storage")]
    pub data_dir: Option<PathBuf>,
    /// Verify the live chain of a PostgreSQL store (postgres://USER@HOST/DB).
    #[arg(long)]
    pub storage: Option<String>,
    /// Verify an export written by `tresor audit export` (needs `--public-key`; no passphrase).
    #[arg(long, requires = "public_key")]
    pub export_dir: Option<PathBuf>,
    /// File holding the verification key (as printed by `tresor audit public-key`). With
    /// `--data-dir`, verifies without unsealing: signatures only, no record MACs.
    #[arg(long)]
    pub public_key: Option<PathBuf>,
    /// Unseal with this key file instead of a passphrase (`--data-dir` without
    /// `--public-key` only; ignored otherwise).
    #[arg(long, env = "TRESOR_UNSEAL_KEY_FILE")]
    pub unseal_key_file: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct AuditExportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Directory to write the export to (created if missing; an earlier export there is
    /// continued).
    #[arg(long)]
    pub out: PathBuf,
    /// Unseal with this key file instead of a passphrase.
    #[arg(long, env = "TRESOR_UNSEAL_KEY_FILE")]
    pub unseal_key_file: Option<PathBuf>,
    /// Most records per log file.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub records_per_file: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_read_with_their_unit() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        for bad in ["", "0s", "ten", "10h", "-1s", "1.5s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
