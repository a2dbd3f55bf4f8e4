//! Envelope encryption of secret values, bound to an encryption context.
//!
//! Envelope layout (integers big-endian):
//!
//! ```text
//! [format version = 1: u8]
//! [key id length: u16][key id: UTF-8]
//! [key version: u32]                                  <- end of the header
//! [wrapped data key length: u16 = 60][wrapped data key: nonce 12 | ciphertext 32 | tag 16]
//! [value nonce: 12][value ciphertext | tag 16]
//! ```
//!
//! The data key is fresh for every envelope. It is wrapped under the KMS key material with
//! AAD = header bytes || canonical context, and the value is sealed under the data key with
//! AAD = canonical context. Putting the header in the wrap AAD means a changed key id or key
//! version fails to open even when the caller opens with the right key material regardless.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tresor_types::SecretBytes;
use zeroize::Zeroizing;

use crate::aead::{gcm_open, gcm_seal, KEY_LEN, NONCE_LEN, TAG_LEN};
use crate::util::{fill_random, Reader};
use crate::{CryptoError, KeyMaterial};

const ENVELOPE_VERSION: u8 = 1;
const WRAPPED_DATA_KEY_LEN: usize = NONCE_LEN + KEY_LEN + TAG_LEN;

/// A KMS encryption context: a string map whose canonical form is used as AAD. Serializes as
/// the bare JSON object (the `EncryptionContext` shape of the KMS API).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EncryptionContext(pub BTreeMap<String, String>);

impl EncryptionContext {
    /// The context Secrets Manager uses for a secret version:
    /// `{"SecretARN": <arn>, "SecretVersionId": <version id>}`.
    pub fn secret_version(secret_arn: &str, version_id: &str) -> Self {
        Self(BTreeMap::from([
            ("SecretARN".to_owned(), secret_arn.to_owned()),
            ("SecretVersionId".to_owned(), version_id.to_owned()),
        ]))
    }

    /// Compact JSON object with keys in sorted order (the `BTreeMap` order), e.g.
    /// `{"SecretARN":"arn:...","SecretVersionId":"..."}`. Equal maps give equal bytes.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        // Through `serde_json::Value` because its `Display` cannot fail for a string map, where
        // `serde_json::to_vec` would hand back a `Result` with no reachable error. Entries are
        // inserted in sorted order, so the output is sorted even if serde_json's
        // `preserve_order` feature is enabled elsewhere in the build.
        let object: serde_json::Map<String, serde_json::Value> = self
            .0
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        serde_json::Value::Object(object).to_string().into_bytes()
    }
}

/// The plaintext header of an envelope: which KMS key and version opens it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeHeader {
    pub key_id: String,
    pub key_version: u32,
}

/// Seals `plaintext` under a fresh data key, itself wrapped under `key` (version `key_version`
/// of the KMS key `key_id`), both bound to `context`.
pub fn seal_envelope(
    key: &KeyMaterial,
    key_id: &str,
    key_version: u32,
    context: &EncryptionContext,
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let key_id_len = u16::try_from(key_id.len())
        .map_err(|_| CryptoError::Internal("a key id must be shorter than 64 KiB"))?;
    let context = context.canonical_bytes();

    let mut out = Vec::with_capacity(
        1 + 2 + key_id.len() + 4 + 2 + WRAPPED_DATA_KEY_LEN + NONCE_LEN + plaintext.len() + TAG_LEN,
    );
    out.push(ENVELOPE_VERSION);
    out.extend_from_slice(&key_id_len.to_be_bytes());
    out.extend_from_slice(key_id.as_bytes());
    out.extend_from_slice(&key_version.to_be_bytes());

    let mut data_key = Zeroizing::new([0u8; KEY_LEN]);
    fill_random(data_key.as_mut_slice())?;
    let wrap_aad = [out.as_slice(), context.as_slice()].concat();
    let wrapped = gcm_seal(key.expose(), &wrap_aad, data_key.as_slice())?;
    let sealed_value = gcm_seal(data_key.as_slice(), &context, plaintext)?;

    let wrapped_len = u16::try_from(wrapped.len())
        .map_err(|_| CryptoError::Internal("wrapped data key length"))?;
    out.extend_from_slice(&wrapped_len.to_be_bytes());
    out.extend_from_slice(&wrapped);
    out.extend_from_slice(&sealed_value);
    Ok(out)
}

/// Reads an envelope's header without decrypting, to know which key version to load.
pub fn envelope_header(envelope: &[u8]) -> Result<EnvelopeHeader, CryptoError> {
    parse(envelope).map(|p| p.header)
}

/// Opens an envelope from [`seal_envelope`]. A wrong key, a context for another secret or
/// version, or any modified byte → [`CryptoError::DecryptionFailed`]; a structurally broken
/// envelope → [`CryptoError::MalformedEnvelope`].
pub fn open_envelope(
    key: &KeyMaterial,
    context: &EncryptionContext,
    envelope: &[u8],
) -> Result<SecretBytes, CryptoError> {
    let parsed = parse(envelope)?;
    let context = context.canonical_bytes();
    let wrap_aad = [parsed.header_bytes, context.as_slice()].concat();
    let data_key = gcm_open(key.expose(), &wrap_aad, parsed.wrapped_data_key)?;
    if data_key.len() != KEY_LEN {
        return Err(CryptoError::MalformedEnvelope);
    }
    gcm_open(data_key.expose(), &context, parsed.sealed_value)
}

struct ParsedEnvelope<'a> {
    header: EnvelopeHeader,
    header_bytes: &'a [u8],
    wrapped_data_key: &'a [u8],
    sealed_value: &'a [u8],
}

fn parse(envelope: &[u8]) -> Result<ParsedEnvelope<'_>, CryptoError> {
    let mut r = Reader::new(envelope, || CryptoError::MalformedEnvelope);
    if r.u8()? != ENVELOPE_VERSION {
        return Err(CryptoError::MalformedEnvelope);
    }
    let key_id_len = usize::from(r.u16()?);
    let key_id = std::str::from_utf8(r.take(key_id_len)?)
        .map_err(|_| CryptoError::MalformedEnvelope)?
        .to_owned();
    let key_version = r.u32()?;
    let header_len = 1 + 2 + key_id_len + 4;
    let header_bytes = envelope
        .get(..header_len)
        .ok_or(CryptoError::MalformedEnvelope)?;
    let wrapped_len = usize::from(r.u16()?);
    if wrapped_len != WRAPPED_DATA_KEY_LEN {
        return Err(CryptoError::MalformedEnvelope);
    }
    let wrapped_data_key = r.take(wrapped_len)?;
    let sealed_value = r.rest();
    if sealed_value.len() < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::MalformedEnvelope);
    }
    Ok(ParsedEnvelope {
        header: EnvelopeHeader {
            key_id,
            key_version,
        },
        header_bytes,
        wrapped_data_key,
        sealed_value,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf";
    const VERSION_ID: &str = "EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE";
    const KEY_ID: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef";

    fn ctx() -> EncryptionContext {
        EncryptionContext::secret_version(ARN, VERSION_ID)
    }

    #[test]
    fn canonical_context_is_sorted_compact_json() {
        assert_eq!(
            String::from_utf8(EncryptionContext::secret_version("a\"rn", "v1").canonical_bytes())
                .unwrap(),
            r#"{"SecretARN":"a\"rn","SecretVersionId":"v1"}"#
        );
        let mut map = BTreeMap::new();
        map.insert("z".to_owned(), "1".to_owned());
        map.insert("a".to_owned(), "é".to_owned());
        assert_eq!(
            EncryptionContext(map).canonical_bytes(),
            "{\"a\":\"é\",\"z\":\"1\"}".as_bytes()
        );
        assert_eq!(EncryptionContext::default().canonical_bytes(), b"{}");
        let parsed: EncryptionContext =
            serde_json::from_str(r#"{"SecretVersionId":"v1","SecretARN":"arn"}"#).unwrap();
        assert_eq!(parsed, EncryptionContext::secret_version("arn", "v1"));
        assert_eq!(
            serde_json::to_vec(&parsed).unwrap(),
            parsed.canonical_bytes()
        );
    }

    #[test]
    fn round_trip_and_header() {
        let key = KeyMaterial::generate().unwrap();
        let env = seal_envelope(&key, KEY_ID, 7, &ctx(), b"hunter2").unwrap();
        assert_eq!(
            envelope_header(&env).unwrap(),
            EnvelopeHeader {
                key_id: KEY_ID.to_owned(),
                key_version: 7
            }
        );
        assert_eq!(
            open_envelope(&key, &ctx(), &env).unwrap().expose(),
            b"hunter2"
        );

        let empty = seal_envelope(&key, "", u32::MAX, &ctx(), b"").unwrap();
        assert_eq!(envelope_header(&empty).unwrap().key_version, u32::MAX);
        assert!(open_envelope(&key, &ctx(), &empty).unwrap().is_empty());

        let big = vec![0xA5u8; 65536];
        let env = seal_envelope(&key, KEY_ID, 1, &ctx(), &big).unwrap();
        assert_eq!(
            open_envelope(&key, &ctx(), &env).unwrap().expose(),
            &big[..]
        );
    }

    #[test]
    fn layout_matches_the_documented_format() {
        let key = KeyMaterial::generate().unwrap();
        let env = seal_envelope(&key, "k1", 0x0102_0304, &ctx(), b"abc").unwrap();
        assert_eq!(&env[..9], &[1, 0, 2, b'k', b'1', 1, 2, 3, 4]);
        assert_eq!(&env[9..11], &[0, 60]);
        assert_eq!(env.len(), 11 + 60 + 12 + 3 + 16);
    }

    #[test]
    fn another_secret_or_version_context_fails() {
        let key = KeyMaterial::generate().unwrap();
        let env = seal_envelope(&key, KEY_ID, 1, &ctx(), b"hunter2").unwrap();
        for other in [
            EncryptionContext::secret_version(&format!("{ARN}x"), VERSION_ID),
            EncryptionContext::secret_version(ARN, "another-version"),
            EncryptionContext::default(),
        ] {
            assert!(matches!(
                open_envelope(&key, &other, &env),
                Err(CryptoError::DecryptionFailed)
            ));
        }
        assert!(matches!(
            open_envelope(&KeyMaterial::generate().unwrap(), &ctx(), &env),
            Err(CryptoError::DecryptionFailed)
        ));
    }

    #[test]
    fn every_bit_flip_and_truncation_fails_without_panicking() {
        let key = KeyMaterial::generate().unwrap();
        let env = seal_envelope(&key, "key-1", 3, &ctx(), b"value").unwrap();
        for i in 0..env.len() {
            for bit in 0..8 {
                let mut bad = env.clone();
                bad[i] ^= 1 << bit;
                assert!(open_envelope(&key, &ctx(), &bad).is_err(), "flip {i}/{bit}");
                let _ = envelope_header(&bad);
            }
            assert!(open_envelope(&key, &ctx(), &env[..i]).is_err(), "cut {i}");
            assert!(envelope_header(&env[..i.min(7)]).is_err());
        }
        let mut longer = env.clone();
        longer.push(0);
        assert!(open_envelope(&key, &ctx(), &longer).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let key = KeyMaterial::generate().unwrap();
        for len in 0..200 {
            let junk = crate::random_bytes(len).unwrap();
            assert!(open_envelope(&key, &ctx(), &junk).is_err());
            let mut versioned = junk.clone();
            if let Some(b) = versioned.first_mut() {
                *b = ENVELOPE_VERSION;
            }
            assert!(open_envelope(&key, &ctx(), &versioned).is_err());
            let _ = envelope_header(&versioned);
        }
    }

    #[test]
    fn two_seals_differ_and_hide_the_plaintext() {
        let key = KeyMaterial::generate().unwrap();
        let pt = b"correct horse battery staple";
        let a = seal_envelope(&key, KEY_ID, 1, &ctx(), pt).unwrap();
        let b = seal_envelope(&key, KEY_ID, 1, &ctx(), pt).unwrap();
        assert_ne!(a, b);
        let header_len = 1 + 2 + KEY_ID.len() + 4 + 2;
        assert_ne!(
            a[header_len..header_len + WRAPPED_DATA_KEY_LEN],
            b[header_len..header_len + WRAPPED_DATA_KEY_LEN]
        );
        assert!(!a.windows(pt.len()).any(|w| w == pt));
        assert!(!a.windows(KEY_LEN).any(|w| w == key.expose().as_slice()));
    }

    #[test]
    fn over_long_key_id_is_rejected() {
        let key = KeyMaterial::generate().unwrap();
        let id = "k".repeat(70_000);
        assert!(matches!(
            seal_envelope(&key, &id, 1, &ctx(), b"x"),
            Err(CryptoError::Internal(_))
        ));
    }
}
