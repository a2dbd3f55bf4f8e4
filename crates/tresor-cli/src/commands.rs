//! What each subcommand does.

use std::sync::Arc;

use tresor_core::bootstrap::{self, RootCredentials};
use tresor_core::unsealing::Unsealing;
use tresor_core::Core;
use tresor_crypto::{Share, ShareScheme, Unsealer};
use tresor_server::{ServerConfig, TlsFiles};
use tresor_types::{AccountId, SecretBytes};

use crate::cli::{Command, InitArgs, Output, ServerArgs};
use crate::unseal;

/// Runs the command; the error is the whole line to print on stderr.
pub fn run(cli: crate::cli::Cli) -> Result<(), String> {
    let prefixed = |e: String| format!("tresor: {e}");
    match cli.command {
        Command::Server(args) => server(args).map_err(prefixed),
        Command::Init(args) => init(args).map_err(prefixed),
        Command::Audit(command) => crate::audit_cmd::run(command).map_err(prefixed),
        Command::MigrateStorage(args) => crate::migrate_cmd::run(args).map_err(prefixed),
        // Its errors are `error: <Code>: <Message>`, as the aws CLI prints them.
        Command::Gateway(args) => crate::gateway_cmd::run(args),
        Command::Rotator(args) => crate::rotation_cmd::run_rotator(args),
        Command::Rotation(args) => crate::rotation_cmd::run_rotation(args),
        Command::Kms(args) => crate::kms_cmd::run(args),
        // Becomes the command it runs; returns only when it could not, with its own status.
        Command::Run(args) => crate::run_cmd::exec(args),
        Command::Operator(command) => crate::operator_cmd::run(command).map_err(prefixed),
    }
}

fn account(id: &str) -> Result<AccountId, String> {
    AccountId::parse(id)
        .map_err(|_| format!("invalid account id {id:?}: it must be exactly 12 digits"))
}

fn init(args: InitArgs) -> Result<(), String> {
    let account = account(&args.account_id)?;
    let location = args.store.location()?;
    // Check before creating anything (a key file, say): init never touches a store.
    if location.holds_store()? {
        let store = location.open()?;
        if bootstrap::account_of(&store)
            .map_err(|e| e.to_string())?
            .is_some()
        {
            return Err(format!(
                "{} already holds a Tresor store; init refuses and changed nothing",
                location.describe()
            ));
        }
    }
    let mut shares = None;
    let unsealer = match (args.shares, args.threshold, &args.unseal_key_file) {
        (Some(n), Some(k), _) => {
            let scheme = ShareScheme::new(n, k).map_err(|e| e.to_string())?;
            let (unsealer, split) = Unsealer::new_shares(scheme).map_err(|e| e.to_string())?;
            shares = Some((split, k));
            unsealer
        }
        (_, _, Some(path)) if path.exists() => unseal::from_key_file(path)?,
        (_, _, Some(path)) => unseal::create_key_file(path)?,
        _ => unseal::passphrase(true)?,
    };
    let store = location.open()?;
    let (_keyring, creds) =
        bootstrap::initialize(&store, &unsealer, &account).map_err(|e| e.to_string())?;
    print_credentials(&creds, args.output, shares);
    Ok(())
}

fn print_credentials(creds: &RootCredentials, output: Output, shares: Option<(Vec<Share>, u8)>) {
    // Shown once, on purpose: this is the only way the user learns the root secret.
    let secret = String::from_utf8_lossy(creds.secret_access_key.expose());
    let json = serde_json::json!({
        "account_id": creds.account.as_str(),
        "access_key_id": creds.access_key_id,
        "secret_access_key": secret,
    });
    match (output, shares) {
        (Output::Json, Some((shares, k))) => {
            crate::operator_cmd::print_shares(&shares, k, Output::Json, Some(json));
        }
        (Output::Json, None) => println!("{json}"),
        (Output::Text, shares) => {
            println!("Tresor store created for account {}.", creds.account);
            println!("Root credentials (shown only now; keep them safe):");
            println!("  AWS_ACCESS_KEY_ID={}", creds.access_key_id);
            println!("  AWS_SECRET_ACCESS_KEY={secret}");
            if let Some((shares, k)) = shares {
                crate::operator_cmd::print_shares(&shares, k, Output::Text, None);
            }
        }
    }
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

fn server(args: ServerArgs) -> Result<(), String> {
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let limits = args.limits();
    // The temporary directory lives as long as this function: dev data goes with the process.
    let mut _throwaway = None;
    let (opening, banner) = if args.dev {
        let account = account(&args.account_id)?;
        let dir = match &args.data_dir {
            Some(d) => d.clone(),
            None => {
                let t = tempfile::Builder::new()
                    .prefix("tresor-dev-")
                    .tempdir()
                    .map_err(|e| format!("cannot create a temporary data directory: {e}"))?;
                let p = t.path().to_path_buf();
                _throwaway = Some(t);
                p
            }
        };
        let store = crate::location::Location::Dir(dir.clone()).open()?;
        let fixed = match (args.root_access_key_id, args.root_secret_access_key) {
            (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => {
                Some((id, SecretBytes::new(secret.into_bytes())))
            }
            (Some(_), Some(_)) => {
                return Err("root credentials must be non-empty strings".to_owned())
            }
            _ => None,
        };
        let (keyring, creds) = bootstrap::dev(&store, &account, fixed).map_err(|e| match e {
            bootstrap::BootstrapError::AlreadyInitialized => format!(
                "{} already holds a store; dev mode needs a new or empty data directory",
                dir.display()
            ),
            other => other.to_string(),
        })?;
        let banner = DevBanner {
            creds,
            dir: dir.display().to_string(),
            throwaway: args.data_dir.is_none(),
        };
        (
            Opening::Open(Core::new(store, keyring).map_err(|e| e.to_string())?),
            Some(banner),
        )
    } else {
        if tls.is_none() && !args.listen.ip().is_loopback() && !args.insecure_http {
            return Err(format!(
                "refusing to serve plain HTTP on {}: secrets and credentials would cross the network unencrypted. \
                 Give --tls-cert and --tls-key, listen on a loopback address, or pass --insecure-http if a TLS proxy sits in front.",
                args.listen
            ));
        }
        let location = crate::location::StoreArgs {
            data_dir: args.data_dir.clone(),
            storage: args.storage.clone(),
        }
        .location()
        .map_err(|e| format!("production mode: {e} (or use --dev for a throw-away server)"))?;
        let store = location.open_existing()?;
        match bootstrap::share_scheme(&store).map_err(|e| e.to_string())? {
            // Sealed with shares: start sealed, and build the core once they are given.
            Some(scheme) => (Opening::Sealed(Unsealing::new(store, scheme)), None),
            None => {
                let unsealer = match &args.unseal_key_file {
                    Some(path) => unseal::from_key_file(path)?,
                    None => unseal::passphrase(false)?,
                };
                let keyring = bootstrap::unseal(&store, &unsealer).map_err(|e| e.to_string())?;
                let core = Core::new(store, keyring).map_err(|e| e.to_string())?;
                (Opening::Open(core), None)
            }
        }
    };

    let rt = runtime()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        println!("Tresor listening on {scheme}://{addr}");
        if let Some(b) = &banner {
            b.print(scheme, addr);
        }
        tracing::info!(%addr, dev = banner.is_some(), "ready");
        let endpoint = args.rotation_endpoint_url.clone().unwrap_or_else(|| {
            let mut own = addr;
            if own.ip().is_unspecified() {
                own.set_ip(match own.ip() {
                    std::net::IpAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                    std::net::IpAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
                });
            }
            format!("{scheme}://{own}")
        });
        let config = ServerConfig {
            listen: addr,
            tls,
            limits,
            metrics: !args.no_metrics,
            rotation: tresor_server::RotationSettings {
                endpoint_url: endpoint,
                ca_bundle: args.rotation_ca_bundle.clone(),
                tick: args.rotation_tick,
            },
        };
        let mut shutdown = Box::pin(shutdown_signal());
        let core = match opening {
            Opening::Open(core) => core,
            Opening::Sealed(unsealing) => {
                let threshold = unsealing.progress().threshold;
                println!("Sealed: waiting for {threshold} unseal key shares (tresor operator unseal --endpoint {scheme}://{addr}).");
                tracing::info!(threshold, "sealed; waiting for unseal key shares");
                let opened = tresor_server::serve_sealed(
                    Arc::new(unsealing),
                    &listener,
                    &config,
                    shutdown.as_mut(),
                )
                .await
                .map_err(|e| format!("server failed: {e}"))?;
                match opened {
                    Some(core) => {
                        println!("Unsealed.");
                        core
                    }
                    None => return Ok(()),
                }
            }
        };
        if args.disable_command_rotators {
            core.disable_command_rotators();
        }
        let core = Arc::new(core);
        let served = tresor_server::serve(core.clone(), listener, config, shutdown)
            .await
            .map_err(|e| format!("server failed: {e}"));
        // The audit writer drains what is queued and signs a final checkpoint.
        core.shutdown();
        served
    })?;
    tracing::info!("stopped");
    Ok(())
}

/// How the server starts: with the core (dev mode, a passphrase or a key file), or sealed
/// until enough unseal key shares are given.
enum Opening {
    Open(Core),
    Sealed(Unsealing),
}

struct DevBanner {
    creds: RootCredentials,
    dir: String,
    throwaway: bool,
}

impl DevBanner {
    fn print(&self, scheme: &str, addr: std::net::SocketAddr) {
        use std::io::Write as _;
        let kind = if self.throwaway {
            "throw-away, deleted at exit"
        } else {
            "kept"
        };
        println!(
            "Development mode: data in {} ({kind}); the root key lives only in memory.",
            self.dir
        );
        println!("Use it with:");
        println!(
            "export AWS_ENDPOINT_URL={scheme}://{addr} AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={} AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1",
            self.creds.access_key_id,
            String::from_utf8_lossy(self.creds.secret_access_key.expose())
        );
        let _ = std::io::stdout().flush();
    }
}
