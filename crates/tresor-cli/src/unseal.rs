//! Getting the unseal material: a key file, `TRESOR_PASSPHRASE`, a prompt without echo, or
//! unseal key shares (prompts without echo, or lines of stdin).

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::Path;
use tresor_core::{bootstrap, StoreBackend};
use tresor_crypto::{combine_shares, Share, ShareScheme, Unsealer};
use tresor_types::SecretBytes;
use zeroize::Zeroizing;

pub fn from_key_file(path: &Path) -> Result<Unsealer, String> {
    let contents = zeroize::Zeroizing::new(
        std::fs::read(path).map_err(|e| format!("cannot read key file {}: {e}", path.display()))?,
    );
    let key = tresor_crypto::parse_key_file(&contents)
        .map_err(|e| format!("key file {}: {e}", path.display()))?;
    Ok(Unsealer::KeyFile(key))
}

/// Create a new key file (mode 0600); refuses to overwrite.
pub fn create_key_file(path: &Path) -> Result<Unsealer, String> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let key = tresor_crypto::generate_key_file().map_err(|e| e.to_string())?;
    let text = tresor_crypto::encode_key_file(&key);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot create key file {}: {e}", path.display()))?;
    f.write_all(text.expose())
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("cannot write key file {}: {e}", path.display()))?;
    Ok(Unsealer::KeyFile(key))
}

/// The passphrase from `TRESOR_PASSPHRASE`, else asked for on the terminal (twice when
/// `confirm`).
pub fn passphrase(confirm: bool) -> Result<Unsealer, String> {
    let phrase = match std::env::var("TRESOR_PASSPHRASE") {
        Ok(p) => zeroize::Zeroizing::new(p),
        Err(_) => {
            let first = zeroize::Zeroizing::new(
                rpassword::prompt_password("Passphrase: ")
                    .map_err(|e| format!("no TRESOR_PASSPHRASE and no terminal to ask on: {e}"))?,
            );
            if confirm {
                let again = zeroize::Zeroizing::new(
                    rpassword::prompt_password("Passphrase again: ").map_err(|e| e.to_string())?,
                );
                if *again != *first {
                    return Err("the passphrases differ".to_owned());
                }
            }
            first
        }
    };
    if phrase.is_empty() {
        return Err("the passphrase must not be empty".to_owned());
    }
    Ok(Unsealer::Passphrase(SecretBytes::from_slice(
        phrase.as_bytes(),
    )))
}

/// A new passphrase (`tresor operator rekey --new-passphrase`): `TRESOR_NEW_PASSPHRASE`, else
/// asked twice on the terminal.
pub fn new_passphrase() -> Result<Unsealer, String> {
    let phrase = match std::env::var("TRESOR_NEW_PASSPHRASE") {
        Ok(p) => zeroize::Zeroizing::new(p),
        Err(_) => {
            let first =
                zeroize::Zeroizing::new(rpassword::prompt_password("New passphrase: ").map_err(
                    |e| format!("no TRESOR_NEW_PASSPHRASE and no terminal to ask on: {e}"),
                )?);
            let again = zeroize::Zeroizing::new(
                rpassword::prompt_password("New passphrase again: ").map_err(|e| e.to_string())?,
            );
            if *again != *first {
                return Err("the passphrases differ".to_owned());
            }
            first
        }
    };
    if phrase.is_empty() {
        return Err("the new passphrase must not be empty".to_owned());
    }
    Ok(Unsealer::Passphrase(SecretBytes::from_slice(
        phrase.as_bytes(),
    )))
}

/// What opens `store` now, asked for in the form it is sealed with: K shares, or the key file
/// (when given) or the passphrase.
pub fn current_material(store: &StoreBackend, key_file: Option<&Path>) -> Result<Unsealer, String> {
    match bootstrap::share_scheme(store).map_err(|e| e.to_string())? {
        Some(scheme) => current_shares(scheme),
        None => match key_file {
            Some(path) => from_key_file(path),
            None => passphrase(false),
        },
    }
}

/// One share, from a prompt without echo, or the first line of stdin when it is not a terminal.
pub fn read_share(prompt: &str) -> Result<SecretBytes, String> {
    let line = if std::io::stdin().is_terminal() {
        Zeroizing::new(rpassword::prompt_password(prompt).map_err(|e| e.to_string())?)
    } else {
        let mut line = Zeroizing::new(String::new());
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the share from stdin: {e}"))?;
        line
    };
    if line.trim().is_empty() {
        return Err("no share given".to_owned());
    }
    Ok(SecretBytes::from_slice(line.trim().as_bytes()))
}

/// The current unseal key from `scheme.threshold` shares (prompts, or lines of stdin).
fn current_shares(scheme: ShareScheme) -> Result<Unsealer, String> {
    let mut shares = Vec::with_capacity(usize::from(scheme.threshold));
    for n in 1..=scheme.threshold {
        let text = read_share(&format!(
            "Current unseal key share {n} of {}: ",
            scheme.threshold
        ))?;
        let share =
            Share::parse(text.expose()).map_err(|e| format!("share {n} of the input: {e}"))?;
        shares.push(share);
    }
    let unseal_key = combine_shares(&shares).map_err(|e| e.to_string())?;
    Ok(Unsealer::Shares { unseal_key, scheme })
}
