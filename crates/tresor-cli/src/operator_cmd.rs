//! `tresor operator unseal` and `tresor operator rekey`: the operators' side of a store sealed
//! with Shamir shares.
//!
//! Data path: `unseal` reads ONE share (a prompt without echo, or a line of stdin when it is not
//! a terminal) and posts it to a sealed node's `POST /tresor/unseal`, printing the progress;
//! each operator runs it from their own terminal. `rekey` works offline on the store: it
//! unseals the root key with the current material (K shares, the passphrase or the key file)
//! and seals the same root key under the new material, replacing the stored blob by
//! compare-and-swap; nothing the root key encrypts is rewritten. New shares are printed once.

use std::path::PathBuf;

use tresor_core::bootstrap;
use tresor_crypto::{Share, ShareScheme, Unsealer};
use zeroize::Zeroizing;

use crate::cli::Output;
use crate::location::StoreArgs;
use crate::unseal;

#[derive(Debug, clap::Subcommand)]
pub enum OperatorCommand {
    /// Submit one unseal key share to a sealed server (each key holder runs this once, from
    /// their own terminal). Reads the share from a prompt without echo, or from stdin.
    Unseal(UnsealArgs),
    /// Change the unseal material without re-encrypting any data: new shares and/or threshold,
    /// or a passphrase or key file instead (and back). Offline: stop the servers first. Needs
    /// the current material (K shares, the passphrase or the key file).
    Rekey(RekeyArgs),
}

#[derive(Debug, clap::Args)]
pub struct UnsealArgs {
    /// The sealed server, e.g. https://tresor.internal:8750.
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub endpoint: String,
    /// A CA bundle to trust the server's certificate with.
    #[arg(long, env = "AWS_CA_BUNDLE")]
    pub ca_bundle: Option<PathBuf>,
    /// Forget the shares submitted so far on that server, instead of submitting one.
    #[arg(long)]
    pub reset: bool,
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
}

#[derive(Debug, clap::Args)]
#[command(group(
    clap::ArgGroup::new("new_material")
        .required(true)
        .args(["shares", "new_unseal_key_file", "new_passphrase"]),
))]
pub struct RekeyArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The current key file, when the store is sealed with one.
    #[arg(long, env = "TRESOR_UNSEAL_KEY_FILE")]
    pub unseal_key_file: Option<PathBuf>,
    /// Split a new unseal key into this many shares (with `--threshold`).
    #[arg(long, requires = "threshold", value_parser = clap::value_parser!(u8).range(2..))]
    pub shares: Option<u8>,
    /// How many of the new shares unseal (at least 2).
    #[arg(long, requires = "shares", value_parser = clap::value_parser!(u8).range(2..))]
    pub threshold: Option<u8>,
    /// Seal with this key file from now on (created if it does not exist).
    #[arg(long)]
    pub new_unseal_key_file: Option<PathBuf>,
    /// Seal with a passphrase from now on (`TRESOR_NEW_PASSPHRASE`, or asked twice).
    #[arg(long)]
    pub new_passphrase: bool,
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
}

pub fn run(command: OperatorCommand) -> Result<(), String> {
    match command {
        OperatorCommand::Unseal(args) => unseal_remote(args),
        OperatorCommand::Rekey(args) => rekey(args),
    }
}

fn unseal_remote(args: UnsealArgs) -> Result<(), String> {
    let body = if args.reset {
        serde_json::json!({ "reset": true })
            .to_string()
            .into_bytes()
    } else {
        let share = unseal::read_share("Unseal key share: ")?;
        // Checked here too, so a typo is reported before anything is sent.
        Share::parse(share.expose()).map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(share.expose()).trim().to_owned();
        let body = serde_json::json!({ "share": Zeroizing::new(text).as_str() }).to_string();
        body.into_bytes()
    };
    let answer = crate::commands::runtime()?.block_on(crate::client::post_unsigned(
        &args.endpoint,
        args.ca_bundle.as_deref(),
        tresor_server::UNSEAL_PATH,
        body,
    ));
    let answer = answer.map_err(|e| e.to_string())?;
    match args.output {
        Output::Json => println!("{answer}"),
        Output::Text if answer["sealed"] == false => println!("Unsealed."),
        Output::Text => println!(
            "Unseal progress: {}/{}",
            answer["progress"], answer["threshold"]
        ),
    }
    Ok(())
}

fn rekey(args: RekeyArgs) -> Result<(), String> {
    let location = args.store.location()?;
    let store = location.open_existing()?;
    let current = unseal::current_material(&store, args.unseal_key_file.as_deref())?;
    let mut new_shares: Option<(Vec<Share>, u8)> = None;
    let new = match (args.shares, args.threshold, &args.new_unseal_key_file) {
        (Some(n), Some(k), _) => {
            let scheme = ShareScheme::new(n, k).map_err(|e| e.to_string())?;
            let (unsealer, shares) = Unsealer::new_shares(scheme).map_err(|e| e.to_string())?;
            new_shares = Some((shares, k));
            unsealer
        }
        (_, _, Some(path)) if path.exists() => unseal::from_key_file(path)?,
        (_, _, Some(path)) => unseal::create_key_file(path)?,
        _ => unseal::new_passphrase()?,
    };
    bootstrap::rekey(&store, &current, &new).map_err(|e| e.to_string())?;
    match (&new_shares, args.output) {
        (Some((shares, k)), output) => print_shares(shares, *k, output, None),
        (None, Output::Json) => println!("{}", serde_json::json!({ "rekeyed": true })),
        (None, Output::Text) => println!("Rekeyed: the store is now sealed with {}.", new.method()),
    }
    Ok(())
}

/// Prints new shares once: numbered lines with a warning, or a JSON `shares` array (merged
/// into `extra`, the rest of the command's JSON output, when given).
pub fn print_shares(
    shares: &[Share],
    threshold: u8,
    output: Output,
    extra: Option<serde_json::Value>,
) {
    let texts: Vec<Zeroizing<String>> = shares
        .iter()
        .map(|s| Zeroizing::new(String::from_utf8_lossy(s.encode().expose()).into_owned()))
        .collect();
    match output {
        Output::Json => {
            let mut json = extra.unwrap_or_else(|| serde_json::json!({}));
            json["shares"] = texts.iter().map(|t| t.as_str()).collect();
            json["threshold"] = threshold.into();
            println!("{json}");
        }
        Output::Text => {
            println!(
                "Unseal key shares: any {threshold} of these {} open the store. They are shown only now: \
                 give each to a different person and keep no two together.",
                texts.len()
            );
            for (n, text) in texts.iter().enumerate() {
                println!("  Share {}: {}", n + 1, text.as_str());
            }
        }
    }
}
