//! Tresor's core: one function per API operation, and the pipeline every request goes through.
//!
//! Data path: the server authenticates a request ([`Core::authenticate`], SigV4 against the
//! access keys in the store), decodes its body into a typed request, and calls the operation
//! here. An operation validates its input, resolves the secret, changes state in exactly one
//! store transaction (ciphertext only), and encrypts or decrypts through the [`Keyring`] (the
//! only place plaintext exists). No HTTP types live here; errors are [`CoreError`]s that the
//! server maps to the wire. Policy enforcement and audit join this pipeline in later issues.

mod auth;
pub mod bootstrap;
mod context;
mod error;
pub mod keyring;
pub mod secretsmanager;

pub use context::{Principal, PrincipalKind, RequestContext};
pub use error::CoreError;
pub use keyring::Keyring;
pub use tresor_store::Backend as StoreBackend;

use tresor_sigv4::SigningKeyCache;

/// The running core: the store, the unsealed keyring and caches shared by all requests.
pub struct Core {
    store: StoreBackend,
    keyring: Keyring,
    signing_keys: SigningKeyCache,
}

impl Core {
    pub fn new(store: StoreBackend, keyring: Keyring) -> Self {
        Self {
            store,
            keyring,
            signing_keys: SigningKeyCache::new(),
        }
    }

    pub fn store(&self) -> &StoreBackend {
        &self.store
    }

    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }
}
