//! AES-256-GCM with nonces chosen by aws-lc-rs (`RandomizedNonceKey`), and the small
//! versioned "sealed value" format used for access-key secrets.

use aws_lc_rs::aead::{Aad, Nonce, RandomizedNonceKey, AES_256_GCM};
use tresor_types::SecretBytes;
use zeroize::Zeroizing;

use crate::util::Reader;
use crate::CryptoError;

pub(crate) const KEY_LEN: usize = 32;
pub(crate) const TAG_LEN: usize = 16;
pub(crate) const NONCE_LEN: usize = aws_lc_rs::aead::NONCE_LEN;

/// Format version byte of [`seal_with`] output.
const SEALED_VALUE_VERSION: u8 = 1;

fn gcm_key(key: &[u8]) -> Result<RandomizedNonceKey, CryptoError> {
    if key.len() != KEY_LEN {
        return Err(CryptoError::Internal("an AES-256-GCM key must be 32 bytes"));
    }
    RandomizedNonceKey::new(&AES_256_GCM, key)
        .map_err(|_| CryptoError::Internal("the crypto library rejected an AES-256-GCM key"))
}

/// AES-256-GCM seal with a library-chosen random nonce. Output: `nonce (12) || ct || tag (16)`.
pub(crate) fn gcm_seal(key: &[u8], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let key = gcm_key(key)?;
    // Zeroizing: until sealing succeeds the buffer holds plaintext.
    let mut out = Zeroizing::new(Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN));
    out.resize(NONCE_LEN, 0);
    out.extend_from_slice(plaintext);
    let (nonce, tag) = key
        .seal_in_place_separate_tag(Aad::from(aad), &mut out[NONCE_LEN..])
        .map_err(|_| CryptoError::Internal("AES-256-GCM sealing failed"))?;
    out[..NONCE_LEN].copy_from_slice(nonce.as_ref());
    out.extend_from_slice(tag.as_ref());
    Ok(std::mem::take(&mut *out))
}

/// Opens `nonce || ct || tag` from [`gcm_seal`]. Any failure is [`CryptoError::DecryptionFailed`].
pub(crate) fn gcm_open(key: &[u8], aad: &[u8], sealed: &[u8]) -> Result<SecretBytes, CryptoError> {
    let key = gcm_key(key)?;
    let Some((nonce, ct)) = sealed.split_at_checked(NONCE_LEN) else {
        return Err(CryptoError::DecryptionFailed);
    };
    if ct.len() < TAG_LEN {
        return Err(CryptoError::DecryptionFailed);
    }
    let nonce =
        Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::DecryptionFailed)?;
    let mut buf = Zeroizing::new(ct.to_vec());
    let len = key
        .open_in_place(nonce, Aad::from(aad), &mut buf)
        .map_err(|_| CryptoError::DecryptionFailed)?
        .len();
    buf.truncate(len);
    Ok(SecretBytes::new(std::mem::take(&mut *buf)))
}

/// Seals a small secret (e.g. an access key's secret) under a 32-byte key, typically a
/// [`crate::RootKey::subkey`], bound to `aad` (e.g. the access key id).
///
/// Layout: `[format version 1][nonce 12][ciphertext][tag 16]`.
pub fn seal_with(key: &SecretBytes, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let sealed = gcm_seal(key.expose(), aad, plaintext)?;
    let mut out = Vec::with_capacity(1 + sealed.len());
    out.push(SEALED_VALUE_VERSION);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Opens [`seal_with`] output. Wrong key or AAD, or tampering → [`CryptoError::DecryptionFailed`];
/// an unknown version or a truncated value → [`CryptoError::MalformedEnvelope`].
pub fn open_with(key: &SecretBytes, aad: &[u8], sealed: &[u8]) -> Result<SecretBytes, CryptoError> {
    let mut r = Reader::new(sealed, || CryptoError::MalformedEnvelope);
    if r.u8()? != SEALED_VALUE_VERSION {
        return Err(CryptoError::MalformedEnvelope);
    }
    let rest = r.rest();
    if rest.len() < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::MalformedEnvelope);
    }
    gcm_open(key.expose(), aad, rest)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn key() -> SecretBytes {
        SecretBytes::new(crate::random_bytes(32).unwrap())
    }

    #[test]
    fn round_trip() {
        let k = key();
        let sealed = seal_with(&k, b"AKIAEXAMPLE", b"wJalrXUtnFEMI/K7MDENG").unwrap();
        assert_eq!(sealed.len(), 1 + 12 + 21 + 16);
        let opened = open_with(&k, b"AKIAEXAMPLE", &sealed).unwrap();
        assert_eq!(opened.expose(), b"wJalrXUtnFEMI/K7MDENG");
        assert!(open_with(&k, b"", &seal_with(&k, b"", b"").unwrap())
            .unwrap()
            .is_empty());
    }

    #[test]
    fn wrong_key_or_aad_fails() {
        let k = key();
        let sealed = seal_with(&k, b"AKIA1", b"secret").unwrap();
        assert!(matches!(
            open_with(&k, b"AKIA2", &sealed),
            Err(CryptoError::DecryptionFailed)
        ));
        assert!(matches!(
            open_with(&key(), b"AKIA1", &sealed),
            Err(CryptoError::DecryptionFailed)
        ));
    }

    #[test]
    fn every_byte_flip_and_truncation_fails() {
        let k = key();
        let sealed = seal_with(&k, b"id", b"secret").unwrap();
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(open_with(&k, b"id", &bad).is_err(), "flip at {i}");
            assert!(
                open_with(&k, b"id", &sealed[..i]).is_err(),
                "truncated to {i}"
            );
        }
    }

    #[test]
    fn seals_differ_and_hide_the_plaintext() {
        let k = key();
        let pt = b"a fairly recognisable plaintext";
        let a = seal_with(&k, b"id", pt).unwrap();
        let b = seal_with(&k, b"id", pt).unwrap();
        assert_ne!(a, b);
        assert!(!a.windows(pt.len()).any(|w| w == pt));
    }

    #[test]
    fn wrong_key_length_is_rejected() {
        let short = SecretBytes::from_slice(&[0u8; 16]);
        assert!(matches!(
            seal_with(&short, b"", b"x"),
            Err(CryptoError::Internal(_))
        ));
    }
}
