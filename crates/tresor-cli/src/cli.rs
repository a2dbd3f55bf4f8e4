use std::net::SocketAddr;
use std::path::PathBuf;

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
    #[arg(long, env = "TRESOR_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
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
    /// Data directory to create the store in.
    #[arg(long, env = "TRESOR_DATA_DIR")]
    pub data_dir: PathBuf,
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
