use std::net::SocketAddr;
use std::path::PathBuf;

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
    #[arg(long, env = "TRESOR_UNSEAL_KEY_FILE")]
    pub unseal_key_file: Option<PathBuf>,
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
