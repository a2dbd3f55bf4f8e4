//! Sealing the root key at rest, and key files.
//!
//! Sealed root key layout (90 bytes, integers big-endian):
//!
//! | offset | size | field                                                              |
//! |-------:|-----:|--------------------------------------------------------------------|
//! |      0 |    1 | format version = 1                                                 |
//! |      1 |    1 | method: 1 = passphrase (Argon2id), 2 = key file, 3 = shares (HKDF) |
//! |      2 |    4 | Argon2id memory cost in KiB (`m`), 0 otherwise                     |
//! |      6 |    4 | Argon2id iterations (`t`); for shares the threshold K; else 0      |
//! |     10 |    4 | Argon2id lanes (`p`); for shares the number of shares N; else 0    |
//! |     14 |   16 | random salt (Argon2id salt, or HKDF salt)                          |
//! |     30 |   12 | AES-256-GCM nonce                                                  |
//! |     42 |   48 | AES-256-GCM ciphertext of the 32-byte root key, then the 16-byte tag |
//!
//! The AAD is `"tresor-root-key/v1"` followed by bytes 0..30 (the header), so the method, the
//! parameters and the salt are authenticated along with the key.
//!
//! With shares (method 3) the key-encryption key comes from a random 32-byte unseal key that
//! `crate::shamir` splits; the blob records N and K but nothing about any share.

use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use tresor_types::SecretBytes;
use zeroize::Zeroizing;

use crate::aead::{gcm_open, gcm_seal, KEY_LEN, NONCE_LEN, TAG_LEN};
use crate::shamir::{ShareScheme, SHAMIR_SECRET_LEN};
use crate::util::{fill_random, hkdf_sha256_32, Reader};
use crate::{CryptoError, RootKey, UnsealMethod};

const SEALED_ROOT_VERSION: u8 = 1;
const METHOD_PASSPHRASE: u8 = 1;
const METHOD_KEY_FILE: u8 = 2;
const METHOD_SHARES: u8 = 3;
const SALT_LEN: usize = 16;
const HEADER_LEN: usize = 1 + 1 + 12 + SALT_LEN;
const SEALED_ROOT_LEN: usize = HEADER_LEN + NONCE_LEN + KEY_LEN + TAG_LEN;
const ROOT_AAD_PREFIX: &[u8] = b"tresor-root-key/v1";
const KEY_FILE_KEK_INFO: &[u8] = b"tresor/key-file-kek/v1";
const SHARES_KEK_INFO: &[u8] = b"tresor/shares-kek/v1";

/// Length of a key file's key: 32 raw bytes.
pub const KEY_FILE_LEN: usize = 32;

/// Argon2id cost parameters. Stored in the sealed blob, so unsealing always uses the parameters
/// the blob was sealed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Iterations.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl Argon2Params {
    /// What [`seal_root_key`] uses: 64 MiB, 3 iterations, 1 lane.
    pub const PRODUCTION: Self = Self {
        m_kib: 64 * 1024,
        t: 3,
        p: 1,
    };
    /// Upper bounds accepted when unsealing, so a corrupted or hostile blob cannot make the
    /// server allocate or spin without limit: 1 GiB, 64 iterations, 16 lanes.
    pub const MAX_M_KIB: u32 = 1024 * 1024;
    pub const MAX_T: u32 = 64;
    pub const MAX_P: u32 = 16;

    fn to_argon2(self) -> Option<Params> {
        if self.m_kib > Self::MAX_M_KIB || self.t > Self::MAX_T || self.p > Self::MAX_P {
            return None;
        }
        Params::new(self.m_kib, self.t, self.p, Some(KEY_LEN)).ok()
    }
}

/// How the root key is sealed at rest. `Debug` never shows the passphrase or key bytes.
#[derive(Debug, Clone)]
pub enum Unsealer {
    /// A passphrase (any bytes; the CLI reads it without echo).
    Passphrase(SecretBytes),
    /// The 32 raw bytes of a key file, as returned by [`parse_key_file`].
    KeyFile(SecretBytes),
    /// The 32-byte unseal key that Shamir shares carry ([`crate::combine_shares`]), and the
    /// scheme recorded when sealing (unsealing reads N and K from the sealed blob instead).
    Shares {
        unseal_key: SecretBytes,
        scheme: ShareScheme,
    },
}

impl Unsealer {
    pub fn method(&self) -> UnsealMethod {
        match self {
            Self::Passphrase(_) => UnsealMethod::Passphrase,
            Self::KeyFile(_) => UnsealMethod::KeyFile,
            Self::Shares { .. } => UnsealMethod::Shares,
        }
    }

    /// A new random unseal key split into shares: the unsealer to seal with, and the shares to
    /// hand out (each once).
    pub fn new_shares(scheme: ShareScheme) -> Result<(Self, Vec<crate::Share>), CryptoError> {
        let mut key = Zeroizing::new([0u8; SHAMIR_SECRET_LEN]);
        fill_random(key.as_mut_slice())?;
        let shares = crate::split_secret(&key, scheme)?;
        let unsealer = Self::Shares {
            unseal_key: SecretBytes::from_slice(key.as_slice()),
            scheme,
        };
        Ok((unsealer, shares))
    }
}

/// Seals the root key for storage, with [`Argon2Params::PRODUCTION`] for a passphrase.
pub fn seal_root_key(root: &RootKey, unsealer: &Unsealer) -> Result<Vec<u8>, CryptoError> {
    seal_root_key_with_params(root, unsealer, Argon2Params::PRODUCTION)
}

/// [`seal_root_key`] with explicit Argon2id parameters (ignored for a key file). Tests use tiny
/// parameters to stay fast; production code calls [`seal_root_key`].
pub fn seal_root_key_with_params(
    root: &RootKey,
    unsealer: &Unsealer,
    params: Argon2Params,
) -> Result<Vec<u8>, CryptoError> {
    let mut salt = [0u8; SALT_LEN];
    fill_random(&mut salt)?;
    let mut header = Vec::with_capacity(SEALED_ROOT_LEN);
    header.push(SEALED_ROOT_VERSION);
    let stored_params = match unsealer {
        Unsealer::Passphrase(_) => {
            header.push(METHOD_PASSPHRASE);
            if params.to_argon2().is_none() {
                return Err(CryptoError::Internal("Argon2id parameters out of range"));
            }
            params
        }
        Unsealer::KeyFile(_) => {
            header.push(METHOD_KEY_FILE);
            Argon2Params {
                m_kib: 0,
                t: 0,
                p: 0,
            }
        }
        Unsealer::Shares { scheme, .. } => {
            let scheme = ShareScheme::new(scheme.shares, scheme.threshold)?;
            header.push(METHOD_SHARES);
            Argon2Params {
                m_kib: 0,
                t: u32::from(scheme.threshold),
                p: u32::from(scheme.shares),
            }
        }
    };
    header.extend_from_slice(&stored_params.m_kib.to_be_bytes());
    header.extend_from_slice(&stored_params.t.to_be_bytes());
    header.extend_from_slice(&stored_params.p.to_be_bytes());
    header.extend_from_slice(&salt);

    let kek = derive_kek(unsealer, stored_params, &salt)?;
    let sealed = gcm_seal(kek.as_slice(), &root_aad(&header), root.expose())?;
    let mut out = header;
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Which method a sealed root key needs, read from its header without unsealing (so the CLI
/// knows whether to prompt for a passphrase or read a key file).
pub fn sealed_root_key_method(sealed: &[u8]) -> Result<UnsealMethod, CryptoError> {
    parse_sealed_root(sealed).map(|s| s.method)
}

/// The share scheme (N shares, threshold K) a root key sealed with shares records; `None` for
/// a passphrase or key file.
pub fn sealed_root_key_scheme(sealed: &[u8]) -> Result<Option<ShareScheme>, CryptoError> {
    let parsed = parse_sealed_root(sealed)?;
    Ok(match parsed.method {
        UnsealMethod::Shares => Some(shares_scheme(parsed.params)?),
        _ => None,
    })
}

fn shares_scheme(params: Argon2Params) -> Result<ShareScheme, CryptoError> {
    let threshold = u8::try_from(params.t).map_err(|_| CryptoError::MalformedSealedKey)?;
    let shares = u8::try_from(params.p).map_err(|_| CryptoError::MalformedSealedKey)?;
    if params.m_kib != 0 {
        return Err(CryptoError::MalformedSealedKey);
    }
    ShareScheme::new(shares, threshold).map_err(|_| CryptoError::MalformedSealedKey)
}

/// Unseals a root key sealed by [`seal_root_key`]. A wrong passphrase or key file, or an
/// unsealer of the other method, → [`CryptoError::WrongUnsealKey`]; a blob of the wrong length,
/// an unknown version or method, or absurd parameters → [`CryptoError::MalformedSealedKey`].
///
/// Tampering with the header or the ciphertext also surfaces as `WrongUnsealKey`: the AEAD
/// cannot tell a wrong key from a modified blob.
pub fn unseal_root_key(sealed: &[u8], unsealer: &Unsealer) -> Result<RootKey, CryptoError> {
    let parsed = parse_sealed_root(sealed)?;
    let given = unsealer.method();
    let wrong = CryptoError::WrongUnsealKey {
        sealed_with: parsed.method,
        given,
    };
    if parsed.method != given {
        return Err(wrong);
    }
    let kek = derive_kek(unsealer, parsed.params, &parsed.salt)?;
    let root =
        gcm_open(kek.as_slice(), &root_aad(parsed.header), parsed.sealed).map_err(|_| wrong)?;
    RootKey::from_bytes(root.expose()).ok_or(CryptoError::MalformedSealedKey)
}

struct SealedRoot<'a> {
    header: &'a [u8],
    method: UnsealMethod,
    params: Argon2Params,
    salt: [u8; SALT_LEN],
    sealed: &'a [u8],
}

fn parse_sealed_root(sealed: &[u8]) -> Result<SealedRoot<'_>, CryptoError> {
    if sealed.len() != SEALED_ROOT_LEN {
        return Err(CryptoError::MalformedSealedKey);
    }
    let mut r = Reader::new(sealed, || CryptoError::MalformedSealedKey);
    let header = sealed
        .get(..HEADER_LEN)
        .ok_or(CryptoError::MalformedSealedKey)?;
    if r.u8()? != SEALED_ROOT_VERSION {
        return Err(CryptoError::MalformedSealedKey);
    }
    let method = match r.u8()? {
        METHOD_PASSPHRASE => UnsealMethod::Passphrase,
        METHOD_KEY_FILE => UnsealMethod::KeyFile,
        METHOD_SHARES => UnsealMethod::Shares,
        _ => return Err(CryptoError::MalformedSealedKey),
    };
    let params = Argon2Params {
        m_kib: r.u32()?,
        t: r.u32()?,
        p: r.u32()?,
    };
    let params_ok = match method {
        UnsealMethod::Passphrase => params.to_argon2().is_some(),
        UnsealMethod::KeyFile => {
            params
                == Argon2Params {
                    m_kib: 0,
                    t: 0,
                    p: 0,
                }
        }
        UnsealMethod::Shares => shares_scheme(params).is_ok(),
    };
    if !params_ok {
        return Err(CryptoError::MalformedSealedKey);
    }
    let salt = r.array()?;
    Ok(SealedRoot {
        header,
        method,
        params,
        salt,
        sealed: r.rest(),
    })
}

fn root_aad(header: &[u8]) -> Vec<u8> {
    [ROOT_AAD_PREFIX, header].concat()
}

/// The key-encryption key: Argon2id(passphrase, salt) or HKDF-SHA256(key file, salt).
fn derive_kek(
    unsealer: &Unsealer,
    params: Argon2Params,
    salt: &[u8; SALT_LEN],
) -> Result<Zeroizing<[u8; KEY_LEN]>, CryptoError> {
    match unsealer {
        Unsealer::Passphrase(passphrase) => {
            let params = params
                .to_argon2()
                .ok_or(CryptoError::Internal("Argon2id parameters out of range"))?;
            let mut kek = Zeroizing::new([0u8; KEY_LEN]);
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password_into(passphrase.expose(), salt, kek.as_mut_slice())
                .map_err(|_| CryptoError::Internal("Argon2id key derivation failed"))?;
            Ok(kek)
        }
        Unsealer::KeyFile(key) => {
            if key.len() != KEY_FILE_LEN {
                return Err(CryptoError::KeyFile(format!(
                    "a key file key must be {KEY_FILE_LEN} bytes, got {}",
                    key.len()
                )));
            }
            Ok(hkdf_sha256_32(salt, key.expose(), KEY_FILE_KEK_INFO))
        }
        Unsealer::Shares { unseal_key, .. } => {
            if unseal_key.len() != SHAMIR_SECRET_LEN {
                return Err(CryptoError::Share("the unseal key must be 32 bytes"));
            }
            Ok(hkdf_sha256_32(salt, unseal_key.expose(), SHARES_KEK_INFO))
        }
    }
}

/// 32 random bytes for a new key file.
pub fn generate_key_file() -> Result<SecretBytes, CryptoError> {
    let mut key = Zeroizing::new([0u8; KEY_FILE_LEN]);
    fill_random(key.as_mut_slice())?;
    Ok(SecretBytes::from_slice(key.as_slice()))
}

/// The text form of a key file, to write to disk: standard base64 and a trailing newline.
pub fn encode_key_file(key: &SecretBytes) -> SecretBytes {
    // Capacity reserved up front so the buffer holding the encoded key never reallocates
    // (which would leave an unzeroized copy behind).
    let mut text = String::with_capacity(key.len().div_ceil(3) * 4 + 1);
    STANDARD.encode_string(key.expose(), &mut text);
    text.push('\n');
    SecretBytes::new(text.into_bytes())
}

/// Reads a key file: exactly 32 raw bytes, or the text form of [`encode_key_file`] (surrounding
/// whitespace ignored; padding optional). The error never quotes the contents.
pub fn parse_key_file(contents: &[u8]) -> Result<SecretBytes, CryptoError> {
    // Unambiguous: base64 text of 32 bytes is at least 43 characters.
    if contents.len() == KEY_FILE_LEN {
        return Ok(SecretBytes::from_slice(contents));
    }
    let text = contents.trim_ascii();
    let mut buf = Zeroizing::new([0u8; KEY_FILE_LEN + 3]);
    let decoded = STANDARD
        .decode_slice(text, buf.as_mut_slice())
        .or_else(|_| STANDARD_NO_PAD.decode_slice(text, buf.as_mut_slice()));
    match decoded {
        Ok(KEY_FILE_LEN) => Ok(SecretBytes::from_slice(&buf[..KEY_FILE_LEN])),
        Ok(n) => Err(CryptoError::KeyFile(format!(
            "expected {KEY_FILE_LEN} bytes of key, the base64 text holds {n}"
        ))),
        Err(_) => Err(CryptoError::KeyFile(format!(
            "expected {KEY_FILE_LEN} raw bytes or base64 text, got {} bytes that are neither",
            contents.len()
        ))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::labels;

    /// The smallest parameters Argon2id accepts: fast enough to run many times in tests.
    const CHEAP: Argon2Params = Argon2Params {
        m_kib: 8,
        t: 1,
        p: 1,
    };

    fn pass(p: &str) -> Unsealer {
        Unsealer::Passphrase(SecretBytes::from_slice(p.as_bytes()))
    }

    fn same_root(a: &RootKey, b: &RootKey) -> bool {
        a.subkey(labels::AUDIT_MAC) == b.subkey(labels::AUDIT_MAC)
    }

    #[test]
    fn passphrase_round_trip() {
        let root = RootKey::generate().unwrap();
        let sealed = seal_root_key_with_params(&root, &pass("correct horse"), CHEAP).unwrap();
        assert_eq!(sealed.len(), SEALED_ROOT_LEN);
        assert_eq!(&sealed[..2], &[1, METHOD_PASSPHRASE]);
        assert_eq!(&sealed[2..14], &[0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 1]);
        let back = unseal_root_key(&sealed, &pass("correct horse")).unwrap();
        assert!(same_root(&root, &back));
        assert_eq!(
            sealed_root_key_method(&sealed).unwrap(),
            UnsealMethod::Passphrase
        );
    }

    #[test]
    fn production_params_round_trip() {
        let root = RootKey::generate().unwrap();
        let sealed = seal_root_key(&root, &pass("pw")).unwrap();
        assert_eq!(&sealed[2..14], &[0, 1, 0, 0, 0, 0, 0, 3, 0, 0, 0, 1]);
        assert!(same_root(
            &root,
            &unseal_root_key(&sealed, &pass("pw")).unwrap()
        ));
    }

    #[test]
    fn key_file_round_trip() {
        let root = RootKey::generate().unwrap();
        let key = generate_key_file().unwrap();
        let sealed = seal_root_key(&root, &Unsealer::KeyFile(key.clone())).unwrap();
        assert_eq!(
            &sealed[..14],
            &[1, METHOD_KEY_FILE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        let back = unseal_root_key(&sealed, &Unsealer::KeyFile(key)).unwrap();
        assert!(same_root(&root, &back));
        assert_eq!(
            sealed_root_key_method(&sealed).unwrap(),
            UnsealMethod::KeyFile
        );
    }

    #[test]
    fn wrong_passphrase_or_key_file_is_wrong_unseal_key() {
        let root = RootKey::generate().unwrap();
        let sealed = seal_root_key_with_params(&root, &pass("right"), CHEAP).unwrap();
        let err = unseal_root_key(&sealed, &pass("wrong")).unwrap_err();
        assert!(matches!(
            err,
            CryptoError::WrongUnsealKey {
                sealed_with: UnsealMethod::Passphrase,
                given: UnsealMethod::Passphrase
            }
        ));
        assert_eq!(
            err.to_string(),
            "wrong passphrase: it does not unseal this store"
        );

        let sealed =
            seal_root_key(&root, &Unsealer::KeyFile(generate_key_file().unwrap())).unwrap();
        let err =
            unseal_root_key(&sealed, &Unsealer::KeyFile(generate_key_file().unwrap())).unwrap_err();
        assert!(matches!(err, CryptoError::WrongUnsealKey { .. }));
        assert_eq!(
            err.to_string(),
            "wrong key file: it does not unseal this store"
        );
    }

    #[test]
    fn the_other_method_is_wrong_unseal_key_with_a_clear_message() {
        let root = RootKey::generate().unwrap();
        let key = generate_key_file().unwrap();
        let by_pass = seal_root_key_with_params(&root, &pass("pw"), CHEAP).unwrap();
        let by_file = seal_root_key(&root, &Unsealer::KeyFile(key.clone())).unwrap();

        let err = unseal_root_key(&by_pass, &Unsealer::KeyFile(key)).unwrap_err();
        assert!(matches!(
            err,
            CryptoError::WrongUnsealKey {
                sealed_with: UnsealMethod::Passphrase,
                given: UnsealMethod::KeyFile
            }
        ));
        assert_eq!(
            err.to_string(),
            "this store is sealed with a passphrase, not a key file"
        );
        let err = unseal_root_key(&by_file, &pass("pw")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "this store is sealed with a key file, not a passphrase"
        );
    }

    #[test]
    fn every_bit_flip_and_truncation_fails_without_panicking() {
        let root = RootKey::generate().unwrap();
        let unsealer = pass("pw");
        let sealed = seal_root_key_with_params(&root, &unsealer, CHEAP).unwrap();
        for i in 0..sealed.len() {
            for bit in 0..8 {
                let mut bad = sealed.clone();
                bad[i] ^= 1 << bit;
                // A flip may raise m/t/p; skip the few that make Argon2id expensive but still
                // check they are errors cheaply through a key-file unsealer.
                let costly = (2..14).contains(&i) && {
                    let p = parse_sealed_root(&bad);
                    p.as_ref().is_ok_and(|p| {
                        u64::from(p.params.m_kib) * u64::from(p.params.t) > 64 * 1024
                    })
                };
                let result = if costly {
                    unseal_root_key(&bad, &Unsealer::KeyFile(generate_key_file().unwrap()))
                } else {
                    unseal_root_key(&bad, &unsealer)
                };
                assert!(result.is_err(), "flip {i}/{bit}");
            }
            assert!(matches!(
                unseal_root_key(&sealed[..i], &unsealer),
                Err(CryptoError::MalformedSealedKey)
            ));
        }

        let key = generate_key_file().unwrap();
        let unsealer = Unsealer::KeyFile(key);
        let sealed = seal_root_key(&root, &unsealer).unwrap();
        for i in 0..sealed.len() {
            for bit in 0..8 {
                let mut bad = sealed.clone();
                bad[i] ^= 1 << bit;
                assert!(unseal_root_key(&bad, &unsealer).is_err(), "flip {i}/{bit}");
            }
        }
    }

    #[test]
    fn absurd_params_are_malformed() {
        let root = RootKey::generate().unwrap();
        let sealed = seal_root_key_with_params(&root, &pass("pw"), CHEAP).unwrap();
        for (offset, value) in [
            (2, Argon2Params::MAX_M_KIB + 1),
            (2, u32::MAX),
            (6, Argon2Params::MAX_T + 1),
            (6, 0),
            (10, Argon2Params::MAX_P + 1),
            (10, 0),
        ] {
            let mut bad = sealed.clone();
            bad[offset..offset + 4].copy_from_slice(&value.to_be_bytes());
            assert!(matches!(
                unseal_root_key(&bad, &pass("pw")),
                Err(CryptoError::MalformedSealedKey)
            ));
        }
        let mut bad = sealed.clone();
        bad[0] = 2;
        assert!(matches!(
            unseal_root_key(&bad, &pass("pw")),
            Err(CryptoError::MalformedSealedKey)
        ));
        assert!(matches!(
            seal_root_key_with_params(
                &root,
                &pass("pw"),
                Argon2Params {
                    m_kib: 2 * 1024 * 1024,
                    t: 1,
                    p: 1
                }
            ),
            Err(CryptoError::Internal(_))
        ));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let unsealer = Unsealer::KeyFile(generate_key_file().unwrap());
        for len in [0, 1, 2, 14, 30, 42, 89, 90, 91, 200] {
            let junk = crate::random_bytes(len).unwrap();
            assert!(unseal_root_key(&junk, &unsealer).is_err());
        }
    }

    #[test]
    fn sealed_blob_does_not_contain_the_root_key_or_passphrase() {
        let root = RootKey::generate().unwrap();
        let a = seal_root_key_with_params(&root, &pass("a long passphrase"), CHEAP).unwrap();
        let b = seal_root_key_with_params(&root, &pass("a long passphrase"), CHEAP).unwrap();
        assert_ne!(a, b);
        assert!(!a.windows(KEY_LEN).any(|w| w == root.expose().as_slice()));
        assert!(!a.windows(17).any(|w| w == b"a long passphrase"));
        let key = generate_key_file().unwrap();
        let c = seal_root_key(&root, &Unsealer::KeyFile(key.clone())).unwrap();
        assert!(!c.windows(KEY_LEN).any(|w| w == root.expose().as_slice()));
        assert!(!c.windows(KEY_LEN).any(|w| w == key.expose()));
    }

    #[test]
    fn debug_of_unsealer_prints_no_secret() {
        let p = format!("{:?}", pass("hunter2"));
        assert_eq!(p, "Passphrase([REDACTED])");
        let key = generate_key_file().unwrap();
        let k = format!("{:?}", Unsealer::KeyFile(key.clone()));
        assert_eq!(k, "KeyFile([REDACTED])");
        assert!(!k.contains(&hex::encode(key.expose())));
    }

    #[test]
    fn key_file_text_and_raw_forms_parse() {
        let key = generate_key_file().unwrap();
        assert_eq!(key.len(), 32);
        let text = encode_key_file(&key);
        assert_eq!(text.len(), 45);
        assert_eq!(text.expose().last(), Some(&b'\n'));
        assert_eq!(parse_key_file(text.expose()).unwrap(), key);
        assert_eq!(parse_key_file(key.expose()).unwrap(), key);

        let trimmed = std::str::from_utf8(text.expose()).unwrap().trim();
        assert_eq!(parse_key_file(trimmed.as_bytes()).unwrap(), key);
        let padded = format!("  {trimmed}\r\n\n");
        assert_eq!(parse_key_file(padded.as_bytes()).unwrap(), key);
        let unpadded = trimmed.trim_end_matches('=');
        assert_eq!(parse_key_file(unpadded.as_bytes()).unwrap(), key);
    }

    #[test]
    fn key_file_of_the_wrong_length_is_rejected_without_quoting_it() {
        for bad in [
            &b""[..],
            &[7u8; 31][..],
            &[7u8; 33][..],
            &[7u8; 64][..],
            STANDARD.encode([1u8; 31]).as_bytes(),
            STANDARD.encode([1u8; 33]).as_bytes(),
            b"not base64 at all!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        ] {
            let err = parse_key_file(bad).unwrap_err();
            assert!(matches!(err, CryptoError::KeyFile(_)));
        }
        let secretish = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA==";
        let msg = parse_key_file(secretish.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(!msg.contains(secretish));
        let short = Unsealer::KeyFile(SecretBytes::from_slice(&[1u8; 16]));
        assert!(matches!(
            seal_root_key(&RootKey::generate().unwrap(), &short),
            Err(CryptoError::KeyFile(_))
        ));
    }

    #[test]
    fn shares_round_trip_and_record_the_scheme_only() {
        let root = RootKey::generate().unwrap();
        let scheme = ShareScheme::new(5, 3).unwrap();
        let (unsealer, shares) = Unsealer::new_shares(scheme).unwrap();
        let sealed = seal_root_key(&root, &unsealer).unwrap();
        assert_eq!(sealed.len(), SEALED_ROOT_LEN);
        assert_eq!(
            &sealed[..14],
            &[1, METHOD_SHARES, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 5]
        );
        assert_eq!(
            sealed_root_key_method(&sealed).unwrap(),
            UnsealMethod::Shares
        );
        assert_eq!(sealed_root_key_scheme(&sealed).unwrap(), Some(scheme));
        for share in &shares {
            let text = share.encode();
            assert!(!sealed
                .windows(16)
                .any(|w| text.expose().windows(16).any(|t| t == w)));
        }
        let key = crate::combine_shares(&[shares[4].clone(), shares[0].clone(), shares[2].clone()])
            .unwrap();
        let given = Unsealer::Shares {
            unseal_key: key,
            scheme,
        };
        assert!(same_root(&root, &unseal_root_key(&sealed, &given).unwrap()));

        let too_few = crate::combine_shares(&shares[..2]).unwrap();
        let err = unseal_root_key(
            &sealed,
            &Unsealer::Shares {
                unseal_key: too_few,
                scheme,
            },
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "the shares do not open this store");
        let err = unseal_root_key(&sealed, &pass("pw")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "this store is sealed with unseal key shares"
        );
        assert_eq!(
            format!("{given:?}"),
            "Shares { unseal_key: [REDACTED], scheme: ShareScheme { shares: 5, threshold: 3 } }"
        );
        // A header claiming a threshold of 1 or more shares than 255 is malformed.
        for (offset, value) in [(6, 1u32), (10, 256), (6, 6), (2, 1)] {
            let mut bad = sealed.clone();
            bad[offset..offset + 4].copy_from_slice(&value.to_be_bytes());
            assert!(matches!(
                sealed_root_key_scheme(&bad),
                Err(CryptoError::MalformedSealedKey)
            ));
        }
    }
}
