//! The KMS `CiphertextBlob`: what Encrypt, GenerateDataKey and ReEncrypt return and Decrypt
//! opens. It names its KMS key and key version, so Decrypt finds the key from the blob alone,
//! and it is authenticated under that key version's material with the request's encryption
//! context, so a wrong context, a changed byte, a cut blob or a blob of another key all fail.
//!
//! Blob layout (integers big-endian):
//!
//! ```text
//! [format version = 0x4B ('K'): u8]
//! [key id length: u8][key id: UTF-8, 1..=255 bytes]
//! [key version: u32]                                  <- end of the header
//! [nonce: 12][ciphertext | tag 16]
//! ```
//!
//! The cipher is AES-256-GCM with a random 96-bit nonce chosen by aws-lc-rs, under a key
//! derived per key version: HKDF-SHA256 over the version's [`KeyMaterial`] with the label
//! [`BLOB_KEY_LABEL`], so the material that wraps secret-value envelopes never seals KMS blobs
//! directly. The AAD is the header bytes followed by the canonical encryption context
//! ([`EncryptionContext::canonical_bytes`]): changing the key id or version in the header, or
//! decrypting under another context, fails authentication. Its format version byte differs
//! from the secret-value envelope's, so one is never mistaken for the other.

use tresor_types::SecretBytes;

use crate::aead::{gcm_open, gcm_seal, NONCE_LEN, TAG_LEN};
use crate::util::{hkdf_sha256_32, Reader};
use crate::{CryptoError, EncryptionContext, KeyMaterial};

/// The first byte of every ciphertext blob.
const BLOB_VERSION: u8 = 0x4B;
/// HKDF label of the per-version blob key.
pub const BLOB_KEY_LABEL: &str = "tresor/kms-ciphertext-blob/v1";
/// Most plaintext KMS encrypts in one blob (`PlaintextType`'s maximum in the KMS model).
pub const MAX_BLOB_PLAINTEXT: usize = 4096;

/// The plaintext header of a ciphertext blob: which KMS key and key version opens it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiphertextBlobHeader {
    pub key_id: String,
    pub key_version: u32,
}

/// Seals `plaintext` (at most [`MAX_BLOB_PLAINTEXT`] bytes) under version `key_version` of the
/// KMS key `key_id`, whose material is `key`, bound to `context`.
pub fn seal_ciphertext_blob(
    key: &KeyMaterial,
    key_id: &str,
    key_version: u32,
    context: &EncryptionContext,
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    if plaintext.len() > MAX_BLOB_PLAINTEXT {
        return Err(CryptoError::Internal(
            "a ciphertext blob holds at most 4096 bytes of plaintext",
        ));
    }
    let key_id_len = u8::try_from(key_id.len())
        .ok()
        .filter(|n| *n > 0)
        .ok_or(CryptoError::Internal("a key id must be 1 to 255 bytes"))?;
    let mut out =
        Vec::with_capacity(1 + 1 + key_id.len() + 4 + NONCE_LEN + plaintext.len() + TAG_LEN);
    out.push(BLOB_VERSION);
    out.push(key_id_len);
    out.extend_from_slice(key_id.as_bytes());
    out.extend_from_slice(&key_version.to_be_bytes());
    let aad = [out.as_slice(), &context.canonical_bytes()].concat();
    let sealed = gcm_seal(blob_key(key).expose(), &aad, plaintext)?;
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Reads a blob's header without decrypting, to know which key and version to load. A blob
/// that is not in this format → [`CryptoError::MalformedEnvelope`].
pub fn ciphertext_blob_header(blob: &[u8]) -> Result<CiphertextBlobHeader, CryptoError> {
    parse(blob).map(|p| p.header)
}

/// Opens a blob from [`seal_ciphertext_blob`] with the material of the version its header
/// names. Another key's material, another context or any changed byte →
/// [`CryptoError::DecryptionFailed`]; a structurally broken blob →
/// [`CryptoError::MalformedEnvelope`].
pub fn open_ciphertext_blob(
    key: &KeyMaterial,
    context: &EncryptionContext,
    blob: &[u8],
) -> Result<SecretBytes, CryptoError> {
    let parsed = parse(blob)?;
    let aad = [parsed.header_bytes, &context.canonical_bytes()].concat();
    gcm_open(blob_key(key).expose(), &aad, parsed.sealed)
}

fn blob_key(key: &KeyMaterial) -> SecretBytes {
    let derived = hkdf_sha256_32(&[], key.expose(), BLOB_KEY_LABEL.as_bytes());
    SecretBytes::from_slice(derived.as_slice())
}

struct ParsedBlob<'a> {
    header: CiphertextBlobHeader,
    header_bytes: &'a [u8],
    sealed: &'a [u8],
}

fn parse(blob: &[u8]) -> Result<ParsedBlob<'_>, CryptoError> {
    let mut r = Reader::new(blob, || CryptoError::MalformedEnvelope);
    if r.u8()? != BLOB_VERSION {
        return Err(CryptoError::MalformedEnvelope);
    }
    let key_id_len = usize::from(r.u8()?);
    if key_id_len == 0 {
        return Err(CryptoError::MalformedEnvelope);
    }
    let key_id = std::str::from_utf8(r.take(key_id_len)?)
        .map_err(|_| CryptoError::MalformedEnvelope)?
        .to_owned();
    let key_version = r.u32()?;
    let header_bytes = blob
        .get(..1 + 1 + key_id_len + 4)
        .ok_or(CryptoError::MalformedEnvelope)?;
    let sealed = r.rest();
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::MalformedEnvelope);
    }
    Ok(ParsedBlob {
        header: CiphertextBlobHeader {
            key_id,
            key_version,
        },
        header_bytes,
        sealed,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

    fn ctx() -> EncryptionContext {
        EncryptionContext(BTreeMap::from([
            ("purpose".to_owned(), "test".to_owned()),
            ("team".to_owned(), "blue".to_owned()),
        ]))
    }

    #[test]
    fn round_trip_and_header() {
        let key = KeyMaterial::generate().unwrap();
        let blob = seal_ciphertext_blob(&key, KEY_ID, 3, &ctx(), b"hunter2").unwrap();
        assert_eq!(
            ciphertext_blob_header(&blob).unwrap(),
            CiphertextBlobHeader {
                key_id: KEY_ID.to_owned(),
                key_version: 3
            }
        );
        assert_eq!(
            open_ciphertext_blob(&key, &ctx(), &blob).unwrap().expose(),
            b"hunter2"
        );
        let full = vec![0x5Au8; MAX_BLOB_PLAINTEXT];
        let blob =
            seal_ciphertext_blob(&key, KEY_ID, 1, &EncryptionContext::default(), &full).unwrap();
        assert!(blob.len() <= 6144, "fits CiphertextType's maximum");
        assert_eq!(
            open_ciphertext_blob(&key, &EncryptionContext::default(), &blob)
                .unwrap()
                .expose(),
            &full[..]
        );
    }

    #[test]
    fn layout_matches_the_documented_format() {
        let key = KeyMaterial::generate().unwrap();
        let blob = seal_ciphertext_blob(&key, "k1", 0x0102_0304, &ctx(), b"abc").unwrap();
        assert_eq!(&blob[..8], &[0x4B, 2, b'k', b'1', 1, 2, 3, 4]);
        assert_eq!(blob.len(), 8 + 12 + 3 + 16);
    }

    #[test]
    fn a_wrong_context_fails() {
        let key = KeyMaterial::generate().unwrap();
        let blob = seal_ciphertext_blob(&key, KEY_ID, 1, &ctx(), b"data").unwrap();
        let mut other = ctx();
        other.0.insert("team".to_owned(), "red".to_owned());
        let mut extra = ctx();
        extra.0.insert("more".to_owned(), String::new());
        for wrong in [other, extra, EncryptionContext::default()] {
            assert!(matches!(
                open_ciphertext_blob(&key, &wrong, &blob),
                Err(CryptoError::DecryptionFailed)
            ));
        }
    }

    #[test]
    fn a_blob_of_another_key_fails() {
        let key = KeyMaterial::generate().unwrap();
        let blob = seal_ciphertext_blob(&key, KEY_ID, 1, &ctx(), b"data").unwrap();
        assert!(matches!(
            open_ciphertext_blob(&KeyMaterial::generate().unwrap(), &ctx(), &blob),
            Err(CryptoError::DecryptionFailed)
        ));
    }

    #[test]
    fn every_bit_flip_and_truncation_fails_without_panicking() {
        let key = KeyMaterial::generate().unwrap();
        let blob = seal_ciphertext_blob(&key, KEY_ID, 2, &ctx(), b"value").unwrap();
        for i in 0..blob.len() {
            for bit in 0..8 {
                let mut bad = blob.clone();
                bad[i] ^= 1 << bit;
                assert!(
                    open_ciphertext_blob(&key, &ctx(), &bad).is_err(),
                    "flip {i}/{bit}"
                );
                let _ = ciphertext_blob_header(&bad);
            }
            assert!(
                open_ciphertext_blob(&key, &ctx(), &blob[..i]).is_err(),
                "cut {i}"
            );
        }
        let mut longer = blob.clone();
        longer.push(0);
        assert!(open_ciphertext_blob(&key, &ctx(), &longer).is_err());
    }

    #[test]
    fn garbage_and_empty_blobs_are_malformed_or_fail() {
        let key = KeyMaterial::generate().unwrap();
        assert!(matches!(
            open_ciphertext_blob(&key, &ctx(), b""),
            Err(CryptoError::MalformedEnvelope)
        ));
        assert!(matches!(
            ciphertext_blob_header(b""),
            Err(CryptoError::MalformedEnvelope)
        ));
        for len in 0..200 {
            let junk = crate::random_bytes(len).unwrap();
            assert!(open_ciphertext_blob(&key, &ctx(), &junk).is_err());
            let mut versioned = junk.clone();
            if let Some(b) = versioned.first_mut() {
                *b = BLOB_VERSION;
            }
            assert!(open_ciphertext_blob(&key, &ctx(), &versioned).is_err());
            let _ = ciphertext_blob_header(&versioned);
        }
    }

    #[test]
    fn a_secret_value_envelope_is_not_a_blob() {
        let key = KeyMaterial::generate().unwrap();
        let envelope = crate::seal_envelope(&key, KEY_ID, 1, &ctx(), b"value").unwrap();
        assert!(matches!(
            open_ciphertext_blob(&key, &ctx(), &envelope),
            Err(CryptoError::MalformedEnvelope)
        ));
    }

    #[test]
    fn seals_differ_and_hide_plaintext_and_material() {
        let key = KeyMaterial::generate().unwrap();
        let pt = b"correct horse battery staple";
        let a = seal_ciphertext_blob(&key, KEY_ID, 1, &ctx(), pt).unwrap();
        let b = seal_ciphertext_blob(&key, KEY_ID, 1, &ctx(), pt).unwrap();
        assert_ne!(a, b);
        assert!(!a.windows(pt.len()).any(|w| w == pt));
        assert!(!a.windows(32).any(|w| w == key.expose().as_slice()));
        assert!(!a.windows(32).any(|w| w == blob_key(&key).expose()));
    }

    #[test]
    fn oversized_plaintext_and_bad_key_ids_are_refused() {
        let key = KeyMaterial::generate().unwrap();
        let big = vec![0u8; MAX_BLOB_PLAINTEXT + 1];
        assert!(matches!(
            seal_ciphertext_blob(&key, KEY_ID, 1, &ctx(), &big),
            Err(CryptoError::Internal(_))
        ));
        for id in [String::new(), "k".repeat(256)] {
            assert!(matches!(
                seal_ciphertext_blob(&key, &id, 1, &ctx(), b"x"),
                Err(CryptoError::Internal(_))
            ));
        }
    }
}
