//! Creating and opening a store: `tresor init` (generate and seal the root key, create the
//! account and its root credentials), unsealing at `tresor server` start, and dev mode; and
//! `tresor operator rekey`, which re-seals the root key under new unseal material without
//! touching anything the root key encrypts.

use tresor_crypto::{RootKey, ShareScheme, Unsealer};
use tresor_store::{AccessKeyRecord, AccessKeyStatus, Store, StoreError};
use tresor_types::{AccountId, SecretBytes, Timestamp};

use crate::auth::root_arn;
use crate::{Keyring, StoreBackend};

const META_SEALED_ROOT_KEY: &str = "root_key.sealed";
const META_ACCOUNT_ID: &str = "account_id";
const META_MODE: &str = "mode";

/// The root credentials of an account, shown once at `init` (or at every dev start).
#[derive(Debug)]
pub struct RootCredentials {
    pub account: AccountId,
    pub access_key_id: String,
    pub secret_access_key: SecretBytes,
}

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("the store is already initialized; `init` changes nothing on an existing store")]
    AlreadyInitialized,
    #[error("the store is not initialized; run `tresor init` first")]
    NotInitialized,
    #[error("this store was created by `server --dev` and cannot be opened in production mode")]
    DevStore,
    #[error("cannot unseal the store: {0}")]
    Unseal(String),
    #[error("the sealed root key changed while rekeying (another rekey?); nothing was changed")]
    RekeyRaced,
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Core(#[from] crate::CoreError),
}

/// `tresor init`: generate the root key, seal it, create the account's root access key.
/// Refuses, changing nothing, if the store already holds anything.
pub fn initialize(
    store: &StoreBackend,
    unsealer: &Unsealer,
    account: &AccountId,
) -> Result<(Keyring, RootCredentials), BootstrapError> {
    if store.get_meta(META_SEALED_ROOT_KEY)?.is_some() || store.get_meta(META_MODE)?.is_some() {
        return Err(BootstrapError::AlreadyInitialized);
    }
    let root = RootKey::generate().map_err(|e| BootstrapError::Unseal(e.to_string()))?;
    let sealed = tresor_crypto::seal_root_key(&root, unsealer)
        .map_err(|e| BootstrapError::Unseal(e.to_string()))?;
    let keyring = Keyring::new(root);
    let creds = new_root_access_key(store, &keyring, account, None)?;
    match store.init_meta(&[
        (META_SEALED_ROOT_KEY, sealed),
        (META_ACCOUNT_ID, account.as_str().as_bytes().to_vec()),
        (META_MODE, b"production".to_vec()),
    ]) {
        Ok(()) => Ok((keyring, creds)),
        Err(StoreError::AlreadyInitialized) => Err(BootstrapError::AlreadyInitialized),
        Err(e) => Err(e.into()),
    }
}

/// `tresor server`: unseal the root key. A wrong passphrase or key file changes nothing.
pub fn unseal(store: &StoreBackend, unsealer: &Unsealer) -> Result<Keyring, BootstrapError> {
    if store.get_meta(META_MODE)?.as_deref() == Some(b"dev".as_slice()) {
        return Err(BootstrapError::DevStore);
    }
    let sealed = store
        .get_meta(META_SEALED_ROOT_KEY)?
        .ok_or(BootstrapError::NotInitialized)?;
    let root = tresor_crypto::unseal_root_key(&sealed, unsealer)
        .map_err(|e| BootstrapError::Unseal(e.to_string()))?;
    Ok(Keyring::new(root))
}

/// The share scheme of a production store sealed with shares (its server starts sealed and
/// waits for `tresor operator unseal`); `None` for a passphrase or key file.
pub fn share_scheme(store: &StoreBackend) -> Result<Option<ShareScheme>, BootstrapError> {
    if store.get_meta(META_MODE)?.as_deref() == Some(b"dev".as_slice()) {
        return Err(BootstrapError::DevStore);
    }
    let sealed = store
        .get_meta(META_SEALED_ROOT_KEY)?
        .ok_or(BootstrapError::NotInitialized)?;
    tresor_crypto::sealed_root_key_scheme(&sealed)
        .map_err(|e| BootstrapError::Unseal(e.to_string()))
}

/// `tresor operator rekey`: unseal the root key with the `current` material and seal the same
/// root key under `new`, replacing the stored blob only if nobody changed it meanwhile. Data
/// keys, KMS keys and access keys stay as they are (they are wrapped by the root key, which
/// does not change). A wrong `current` changes nothing.
pub fn rekey(
    store: &StoreBackend,
    current: &Unsealer,
    new: &Unsealer,
) -> Result<(), BootstrapError> {
    if store.get_meta(META_MODE)?.as_deref() == Some(b"dev".as_slice()) {
        return Err(BootstrapError::DevStore);
    }
    let sealed = store
        .get_meta(META_SEALED_ROOT_KEY)?
        .ok_or(BootstrapError::NotInitialized)?;
    let root = tresor_crypto::unseal_root_key(&sealed, current)
        .map_err(|e| BootstrapError::Unseal(e.to_string()))?;
    let resealed = tresor_crypto::seal_root_key(&root, new)
        .map_err(|e| BootstrapError::Unseal(e.to_string()))?;
    match store.replace_meta(META_SEALED_ROOT_KEY, &sealed, &resealed) {
        Ok(()) => Ok(()),
        Err(StoreError::Conflict) => Err(BootstrapError::RekeyRaced),
        Err(e) => Err(e.into()),
    }
}

/// The account a production store was initialized for.
pub fn account_of(store: &StoreBackend) -> Result<Option<AccountId>, BootstrapError> {
    Ok(store
        .get_meta(META_ACCOUNT_ID)?
        .and_then(|v| String::from_utf8(v).ok())
        .and_then(|s| AccountId::parse(&s).ok()))
}

/// `tresor server --dev`: an ephemeral root key (nothing sealed is stored) and root
/// credentials, fixed by the caller or random.
pub fn dev(
    store: &StoreBackend,
    account: &AccountId,
    fixed: Option<(String, SecretBytes)>,
) -> Result<(Keyring, RootCredentials), BootstrapError> {
    if store.get_meta(META_MODE)?.is_some() {
        return Err(BootstrapError::AlreadyInitialized);
    }
    let root = RootKey::generate().map_err(|e| BootstrapError::Unseal(e.to_string()))?;
    let keyring = Keyring::new(root);
    let creds = new_root_access_key(store, &keyring, account, fixed)?;
    store.init_meta(&[
        (META_ACCOUNT_ID, account.as_str().as_bytes().to_vec()),
        (META_MODE, b"dev".to_vec()),
    ])?;
    Ok((keyring, creds))
}

fn new_root_access_key(
    store: &StoreBackend,
    keyring: &Keyring,
    account: &AccountId,
    fixed: Option<(String, SecretBytes)>,
) -> Result<RootCredentials, BootstrapError> {
    let (access_key_id, secret) = match fixed {
        Some(pair) => pair,
        None => (
            tresor_crypto::new_access_key_id("AKIA").map_err(crate::CoreError::from)?,
            tresor_crypto::new_secret_access_key().map_err(crate::CoreError::from)?,
        ),
    };
    let record = AccessKeyRecord {
        access_key_id: access_key_id.clone(),
        account: account.clone(),
        principal_arn: root_arn(account),
        user_name: None,
        sealed_secret: keyring.seal_access_secret(&access_key_id, &secret)?,
        status: AccessKeyStatus::Active,
        created: Timestamp::now(),
    };
    store.put_access_key(&record)?;
    Ok(RootCredentials {
        account: account.clone(),
        access_key_id,
        secret_access_key: secret,
    })
}
