//! Derived signing keys, cached so a busy client costs one HMAC per request instead of five.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use aws_lc_rs::digest;
use tresor_types::SecretBytes;

use crate::verify::derive_signing_key;

/// When the cache holds this many keys it is emptied before the next insert: simple, bounded,
/// and the cost of a miss is four HMACs.
const MAX_ENTRIES: usize = 10_000;

/// Domain separation for the secret fingerprint, so it equals no other hash of the secret.
const FINGERPRINT_LABEL: &[u8] = b"tresor-sigv4 signing-key-cache fingerprint v1\0";

#[derive(Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    access_key_id: String,
    date: String,
    region: String,
    service: String,
    /// SHA-256 of the secret (labelled): a rotated or replaced secret misses the cache
    /// instead of reusing the key derived from the old one.
    secret_fingerprint: [u8; 32],
}

/// Signing keys per (access key id, date, region, service, fingerprint of the secret).
///
/// Shared by all request threads. The keys are [`SecretBytes`]: zeroized when evicted or
/// dropped, never printed.
#[derive(Default)]
pub struct SigningKeyCache {
    // INVARIANT: len() <= MAX_ENTRIES.
    keys: Mutex<HashMap<CacheKey, SecretBytes>>,
}

impl SigningKeyCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of cached keys.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Drops every cached key (e.g. after access keys were revoked in bulk).
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The signing key for this scope and secret, derived on a miss.
    pub(crate) fn signing_key(
        &self,
        access_key_id: &str,
        date: &str,
        region: &str,
        service: &str,
        secret_access_key: &SecretBytes,
    ) -> SecretBytes {
        let key = CacheKey {
            access_key_id: access_key_id.to_owned(),
            date: date.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
            secret_fingerprint: fingerprint(secret_access_key),
        };
        if let Some(found) = self.lock().get(&key) {
            return found.clone();
        }
        // Derived outside the lock: other threads need not wait for our HMACs.
        let derived = derive_signing_key(secret_access_key, date, region, service);
        let mut keys = self.lock();
        if keys.len() >= MAX_ENTRIES {
            keys.clear();
        }
        keys.insert(key, derived.clone());
        derived
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<CacheKey, SecretBytes>> {
        // Why recovering from poison is sound: every entry is a complete, correct derivation
        // (inserted in one call), so a panic elsewhere cannot leave a wrong key behind.
        self.keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl std::fmt::Debug for SigningKeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyCache")
            .field("entries", &self.len())
            .finish_non_exhaustive()
    }
}

fn fingerprint(secret: &SecretBytes) -> [u8; 32] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(FINGERPRINT_LABEL);
    ctx.update(secret.expose());
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_secret_never_reuses_a_key() {
        let cache = SigningKeyCache::new();
        let old = SecretBytes::from_slice(b"old-secret");
        let new = SecretBytes::from_slice(b"new-secret");
        let k1 = cache.signing_key("AKID", "20150830", "us-east-1", "service", &old);
        let k2 = cache.signing_key("AKID", "20150830", "us-east-1", "service", &new);
        assert_ne!(k1, k2);
        assert_eq!(
            k2,
            derive_signing_key(&new, "20150830", "us-east-1", "service")
        );
        assert_eq!(cache.len(), 2);
        let again = cache.signing_key("AKID", "20150830", "us-east-1", "service", &old);
        assert_eq!(again, k1);
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = SigningKeyCache::new();
        let secret = SecretBytes::from_slice(b"s");
        for i in 0..=MAX_ENTRIES {
            cache.signing_key(&format!("AKID{i}"), "20150830", "r", "s", &secret);
            assert!(cache.len() <= MAX_ENTRIES);
        }
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn debug_shows_no_keys() {
        let cache = SigningKeyCache::new();
        let secret = SecretBytes::from_slice(b"topsecret");
        let key = cache.signing_key("AKID", "20150830", "r", "s", &secret);
        let shown = format!("{cache:?}");
        assert!(!shown.contains(&hex::encode(key.expose())));
        assert!(shown.contains("entries: 1"));
    }
}
