//! A sealed node's unseal progress: the shares submitted one at a time by
//! `tresor operator unseal`, until K of them rebuild the unseal key and the root key opens.
//!
//! Data path: the server's sealed mode hands each submitted share text to [`Unsealing::submit`].
//! Shares live only here, in memory (zeroized on drop, never logged); a share whose index was
//! already given is ignored. At the threshold the shares are combined, the sealed root key is
//! opened with the result and the [`Core`] is built; if the key does not open it, every share
//! is dropped and the answer says so without naming any share (nothing can tell which one was
//! wrong). Progress is per node: each node of a PostgreSQL cluster is unsealed on its own.
//!
//! Failed combinations are throttled: after [`FREE_FAILURES`] in a row, each further attempt
//! must wait a doubling delay (capped at [`MAX_COOLDOWN`]), so wrong shares cannot be tried at
//! speed. A share's 256 bits make guessing hopeless anyway; the delay limits noise and load.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tresor_crypto::{combine_shares, Share, ShareScheme, Unsealer};

use crate::bootstrap;
use crate::{Core, StoreBackend};

/// Failed combinations allowed in a row before the cooldown starts.
pub const FREE_FAILURES: u32 = 3;
/// The longest wait between failed combinations.
pub const MAX_COOLDOWN: Duration = Duration::from_secs(60);

/// Where unsealing stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnsealStatus {
    pub threshold: u8,
    pub shares: u8,
    /// Distinct shares held so far.
    pub progress: u8,
}

/// What a submitted share led to.
pub enum Submitted {
    /// Held; more are needed.
    Progress(UnsealStatus),
    /// The root key opened: the node can serve.
    Unsealed(Box<Core>),
}

#[derive(Debug, thiserror::Error)]
pub enum UnsealError {
    /// The text is not a share (the message describes the shape, never the text).
    #[error("{0}")]
    MalformedShare(String),
    /// K shares were combined and the result does not open the sealed root key.
    #[error("the shares do not open this store; unseal progress was reset")]
    WrongShares,
    /// Too many failed combinations in a row.
    #[error("too many failed unseal attempts; try again in {0} seconds")]
    CoolingDown(u64),
    /// Already unsealed (the core was handed out).
    #[error("this node is already unsealed")]
    AlreadyUnsealed,
    /// The store or the core failed; logged, not a statement about the shares.
    #[error("cannot unseal: {0}")]
    Internal(String),
}

struct State {
    store: Option<StoreBackend>,
    shares: Vec<Share>,
    failures: u32,
    cooldown_until: Option<Instant>,
}

/// One node's unseal progress.
pub struct Unsealing {
    scheme: ShareScheme,
    state: Mutex<State>,
}

impl Unsealing {
    /// A sealed node on `store`, whose sealed root key asks for `scheme`.
    pub fn new(store: StoreBackend, scheme: ShareScheme) -> Self {
        Self {
            scheme,
            state: Mutex::new(State {
                store: Some(store),
                shares: Vec::new(),
                failures: 0,
                cooldown_until: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave shares half-written in a way that
        // matters: the vector is consistent after every push or clear.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn status(&self, state: &State) -> UnsealStatus {
        UnsealStatus {
            threshold: self.scheme.threshold,
            shares: self.scheme.shares,
            progress: u8::try_from(state.shares.len()).unwrap_or(u8::MAX),
        }
    }

    /// The progress so far.
    pub fn progress(&self) -> UnsealStatus {
        self.status(&self.lock())
    }

    /// Forget every share submitted so far.
    pub fn reset(&self) -> UnsealStatus {
        let mut state = self.lock();
        state.shares.clear();
        self.status(&state)
    }

    /// Take one share (its text form). Runs the (cheap, HKDF-based) unseal at the threshold;
    /// call it off the async runtime anyway, as building the core touches the store.
    pub fn submit(&self, text: &[u8]) -> Result<Submitted, UnsealError> {
        let share = Share::parse(text).map_err(|e| UnsealError::MalformedShare(e.to_string()))?;
        let mut state = self.lock();
        if state.store.is_none() {
            return Err(UnsealError::AlreadyUnsealed);
        }
        if let Some(until) = state.cooldown_until {
            let now = Instant::now();
            if now < until {
                return Err(UnsealError::CoolingDown((until - now).as_secs().max(1)));
            }
        }
        if !state.shares.iter().any(|s| s.index() == share.index()) {
            state.shares.push(share);
        }
        if state.shares.len() < usize::from(self.scheme.threshold) {
            return Ok(Submitted::Progress(self.status(&state)));
        }
        let combined = combine_shares(&state.shares);
        state.shares.clear();
        let unseal_key = combined.map_err(|e| UnsealError::Internal(e.to_string()))?;
        let unsealer = Unsealer::Shares {
            unseal_key,
            scheme: self.scheme,
        };
        let opened = match &state.store {
            Some(store) => bootstrap::unseal(store, &unsealer),
            None => return Err(UnsealError::AlreadyUnsealed),
        };
        match opened {
            Ok(keyring) => {
                let store = state.store.take().ok_or(UnsealError::AlreadyUnsealed)?;
                state.failures = 0;
                state.cooldown_until = None;
                let core =
                    Core::new(store, keyring).map_err(|e| UnsealError::Internal(e.to_string()))?;
                Ok(Submitted::Unsealed(Box::new(core)))
            }
            Err(bootstrap::BootstrapError::Unseal(_)) => {
                state.failures = state.failures.saturating_add(1);
                if state.failures >= FREE_FAILURES {
                    let doublings = (state.failures - FREE_FAILURES).min(6);
                    let wait = Duration::from_secs(1u64 << doublings).min(MAX_COOLDOWN);
                    state.cooldown_until = Some(Instant::now() + wait);
                }
                Err(UnsealError::WrongShares)
            }
            Err(e) => Err(UnsealError::Internal(e.to_string())),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use tresor_types::AccountId;

    fn store_with_shares() -> (tempfile::TempDir, Vec<Share>) {
        let dir = tempfile::tempdir().unwrap();
        let store = StoreBackend::Sqlite(
            tresor_store::SqliteStore::open(&dir.path().join("tresor.db")).unwrap(),
        );
        let (unsealer, shares) = Unsealer::new_shares(ShareScheme::new(3, 2).unwrap()).unwrap();
        let account = AccountId::parse("123456789012").unwrap();
        bootstrap::initialize(&store, &unsealer, &account).unwrap();
        (dir, shares)
    }

    fn text(share: &Share) -> Vec<u8> {
        share.encode().expose().to_vec()
    }

    #[test]
    fn threshold_shares_unseal_and_duplicates_do_not_count() {
        let (dir, shares) = store_with_shares();
        let store = StoreBackend::Sqlite(
            tresor_store::SqliteStore::open(&dir.path().join("tresor.db")).unwrap(),
        );
        let scheme = bootstrap::share_scheme(&store).unwrap().unwrap();
        let unsealing = Unsealing::new(store, scheme);
        for _ in 0..2 {
            match unsealing.submit(&text(&shares[2])).unwrap() {
                Submitted::Progress(p) => assert_eq!(p.progress, 1),
                Submitted::Unsealed(_) => panic!("one share unsealed"),
            }
        }
        assert!(matches!(
            unsealing.submit(&text(&shares[0])).unwrap(),
            Submitted::Unsealed(_)
        ));
        assert!(matches!(
            unsealing.submit(&text(&shares[1])),
            Err(UnsealError::AlreadyUnsealed)
        ));
    }

    #[test]
    fn wrong_shares_reset_progress_and_failures_cool_down() {
        let (dir, shares) = store_with_shares();
        let (_other_dir, others) = store_with_shares();
        let store = StoreBackend::Sqlite(
            tresor_store::SqliteStore::open(&dir.path().join("tresor.db")).unwrap(),
        );
        let unsealing = Unsealing::new(store, ShareScheme::new(3, 2).unwrap());
        for attempt in 0..FREE_FAILURES {
            unsealing.submit(&text(&shares[0])).unwrap();
            let err = unsealing.submit(&text(&others[1])).err().unwrap();
            assert!(matches!(err, UnsealError::WrongShares), "{attempt}");
            assert_eq!(
                err.to_string(),
                "the shares do not open this store; unseal progress was reset"
            );
            assert_eq!(unsealing.progress().progress, 0);
        }
        assert!(matches!(
            unsealing.submit(&text(&shares[0])),
            Err(UnsealError::CoolingDown(1))
        ));
        assert!(matches!(
            unsealing.submit(b"tresor-share-v1-1-nonsense"),
            Err(UnsealError::MalformedShare(_))
        ));
    }

    #[test]
    fn reset_forgets_submitted_shares() {
        let (dir, shares) = store_with_shares();
        let store = StoreBackend::Sqlite(
            tresor_store::SqliteStore::open(&dir.path().join("tresor.db")).unwrap(),
        );
        let unsealing = Unsealing::new(store, ShareScheme::new(3, 2).unwrap());
        unsealing.submit(&text(&shares[0])).unwrap();
        assert_eq!(unsealing.progress().progress, 1);
        assert_eq!(unsealing.reset().progress, 0);
    }
}
