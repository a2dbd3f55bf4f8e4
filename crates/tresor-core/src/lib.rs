//! Tresor's core: one function per API operation, and the pipeline every request goes through.
//!
//! Data path: the server decodes a request into an [`Operation`] and its body, and hands it to
//! the pipeline ([`pipeline`]: [`Core::authenticate`], then [`Core::perform`], or
//! [`Core::refuse`] for a request that never reached an operation). The request was checked
//! against its model when it was decoded ([`validate::Validated`]); an operation applies its
//! service's further rules, resolves the secret, asks [`Core::authorize`] (the policy engine,
//! with the caller's and the resource's policies), changes state in one store transaction
//! (ciphertext only), and encrypts or decrypts through the [`Keyring`] (the only place
//! plaintext exists). Every request is recorded in the audit trail before its response leaves:
//! a call that changes state writes its record inside its transaction, every other call
//! through the group-commit writer. No HTTP types live here; errors are [`CoreError`]s that the
//! server maps to the wire.

mod audit;
mod audit_event;
mod auth;
pub mod auth_failures;
pub mod authz;
pub mod bootstrap;
pub mod cloudtrail;
mod context;
mod error;
pub mod fuzzing;
pub mod gateway;
pub mod iam;
pub mod keyring;
pub mod kms;
pub mod metrics;
pub mod net;
mod operation;
mod paging;
mod pipeline;
mod principals;
pub mod rotation;
pub mod secretsmanager;
pub mod sts;
pub mod unsealing;
pub mod validate;

pub use audit::AuditTicket;
pub use audit_event::AuditedCall;
pub use auth::Authenticated;
pub use context::{Principal, PrincipalKind, RequestContext};
pub use error::{CoreError, KmsError};
pub use keyring::Keyring;
pub use operation::{Operation, Service};
pub use pipeline::{Performed, RequestMeta, REQUEST_LOG};
pub use tresor_store::Backend as StoreBackend;

use std::sync::Arc;

use tresor_sigv4::SigningKeyCache;

/// The running core: the store, the unsealed keyring, the audit log and caches shared by all
/// requests.
pub struct Core {
    store: Arc<StoreBackend>,
    keyring: Keyring,
    signing_keys: SigningKeyCache,
    audit_log: audit::AuditLog,
    audit_mac: tresor_types::SecretBytes,
    /// How many failed authentications each source may still write to the trail.
    auth_failures: auth_failures::AuthFailureBudget,
    metrics: Arc<metrics::Metrics>,
    /// What the AI gateway caches (upstream keys, for at most a second).
    gateway: gateway::invoke::GatewayCaches,
    /// Wakes the rotation scheduler when a rotation becomes due now.
    rotation_wakeup: Arc<tokio::sync::Notify>,
    /// Whether command rotators may be registered and run (`--disable-command-rotators`).
    command_rotators: std::sync::atomic::AtomicBool,
}

impl Core {
    /// Start the core: this also starts the audit writer, which needs the store to be writable,
    /// and signs the audit chain's head at least every minute.
    pub fn new(store: StoreBackend, keyring: Keyring) -> Result<Self, CoreError> {
        Self::with_checkpoint_every(store, keyring, audit::CHECKPOINT_EVERY)
    }

    /// [`Core::new`], signing the audit chain's head every `checkpoint_every` while records
    /// arrive instead of every minute.
    pub fn with_checkpoint_every(
        store: StoreBackend,
        keyring: Keyring,
        checkpoint_every: std::time::Duration,
    ) -> Result<Self, CoreError> {
        let store = Arc::new(store);
        let audit_mac = keyring.audit_mac_key();
        let metrics = Arc::new(metrics::Metrics::default());
        let audit_log = audit::AuditLog::start(
            store.clone(),
            audit_mac.clone(),
            keyring.audit_signing_key()?,
            checkpoint_every,
            metrics.audit.clone(),
        )?;
        Ok(Self {
            store,
            keyring,
            signing_keys: SigningKeyCache::new(),
            audit_log,
            audit_mac,
            auth_failures: auth_failures::AuthFailureBudget::new(),
            metrics,
            gateway: Default::default(),
            rotation_wakeup: Arc::new(tokio::sync::Notify::new()),
            command_rotators: std::sync::atomic::AtomicBool::new(true),
        })
    }

    /// Whether the store answers (for the health endpoint).
    pub fn health(&self) -> Result<(), CoreError> {
        use tresor_store::Store;
        self.store.get_meta("mode")?;
        Ok(())
    }

    /// The store, for tests that set up or inspect state the API cannot reach.
    #[cfg(feature = "testkit")]
    pub fn store(&self) -> &StoreBackend {
        &self.store
    }

    /// Whether `op` is a read that takes microseconds on this store, so the server may run it
    /// on the connection's own task rather than hop to the blocking pool and back (which would
    /// cost more than the call): a point read of one secret on the embedded store. Writes wait
    /// for an fsync, listings grow with the store, and every PostgreSQL read is a round trip.
    pub fn reads_quickly(&self, op: Operation) -> bool {
        use secretsmanager::Operation as O;
        matches!(*self.store, StoreBackend::Sqlite(_))
            && matches!(
                op,
                Operation::SecretsManager(
                    O::GetSecretValue
                        | O::DescribeSecret
                        | O::GetResourcePolicy
                        | O::ListSecretVersionIds
                )
            )
    }

    /// Whether the store answers point reads in microseconds (the embedded store), so a caller
    /// may make a few on an async worker instead of hopping to the blocking pool and back.
    pub fn reads_inline(&self) -> bool {
        matches!(*self.store, StoreBackend::Sqlite(_))
    }

    /// What the server has done, for `GET /metrics`.
    pub fn metrics(&self) -> &metrics::Metrics {
        &self.metrics
    }

    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }
}
