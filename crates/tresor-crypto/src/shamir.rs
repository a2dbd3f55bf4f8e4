//! Shamir's secret sharing over GF(2^8), for unsealing by several people.
//!
//! Data path: `tresor init --shares N --threshold K` draws a random 32-byte unseal key, seals
//! the root key under it ([`crate::Unsealer::Shares`]), and splits the unseal key into N
//! [`Share`]s with [`split_secret`]; any K of them rebuild it with [`combine_shares`]. Each byte
//! of the key is the constant term of its own random polynomial of degree K-1 over GF(2^8)
//! (the AES field, x^8 + x^4 + x^3 + x + 1); share `i` holds every polynomial's value at x = i.
//!
//! Field arithmetic is branch-free and uses no tables (multiplication is shift-and-add with
//! masks), so timing does not depend on the secret bytes. Indexes are public.
//!
//! Text form: `tresor-share-v1-<index>-<base64url(value || check)>`, where `check` is the first
//! 4 bytes of SHA-256(`"tresor-share-v1"` || index || value). The check catches typos in the
//! share itself; it depends on nothing but the share, so a well-formed share of another store
//! (or a wrong one) passes it and is only found out when the combined key fails to open the
//! sealed root key, which cannot say which share was wrong.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use tresor_types::SecretBytes;
use zeroize::Zeroizing;

use crate::util::{ct_eq, fill_random, sha256};
use crate::CryptoError;

/// Length of the secret a share set carries: a 256-bit unseal key.
pub const SHAMIR_SECRET_LEN: usize = 32;
const CHECK_LEN: usize = 4;
const SHARE_PREFIX: &str = "tresor-share-v1-";
const CHECK_LABEL: &[u8] = b"tresor-share-v1";

/// How many shares exist and how many open the store (2 ≤ threshold ≤ shares ≤ 255).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShareScheme {
    pub shares: u8,
    pub threshold: u8,
}

impl ShareScheme {
    /// Checks the bounds: a threshold of 1 would make every share the whole key.
    pub fn new(shares: u8, threshold: u8) -> Result<Self, CryptoError> {
        if threshold < 2 {
            return Err(CryptoError::Share(
                "the threshold must be at least 2 (with 1, every share alone is the key)",
            ));
        }
        if threshold > shares {
            return Err(CryptoError::Share(
                "the threshold cannot be larger than the number of shares",
            ));
        }
        Ok(Self { shares, threshold })
    }
}

/// One share: its index (x, 1..=255) and its value (the polynomials at x). `Debug` shows the
/// index only.
#[derive(Clone)]
pub struct Share {
    index: u8,
    value: Zeroizing<[u8; SHAMIR_SECRET_LEN]>,
}

impl fmt::Debug for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Share")
            .field("index", &self.index)
            .field("value", &"[REDACTED]")
            .finish()
    }
}

impl Share {
    /// The share's index, public (it is printed in the share's text).
    pub fn index(&self) -> u8 {
        self.index
    }

    /// The text form, `tresor-share-v1-<index>-<base64url>`; secret.
    pub fn encode(&self) -> SecretBytes {
        let mut raw = Zeroizing::new([0u8; SHAMIR_SECRET_LEN + CHECK_LEN]);
        raw[..SHAMIR_SECRET_LEN].copy_from_slice(self.value.as_slice());
        raw[SHAMIR_SECRET_LEN..].copy_from_slice(&check(self.index, &self.value));
        let mut text = String::with_capacity(SHARE_PREFIX.len() + 4 + 48);
        text.push_str(SHARE_PREFIX);
        text.push_str(&self.index.to_string());
        text.push('-');
        URL_SAFE_NO_PAD.encode_string(raw.as_slice(), &mut text);
        SecretBytes::new(text.into_bytes())
    }

    /// Reads the text form (surrounding whitespace ignored). The error names what is wrong with
    /// the shape, never the share's text.
    pub fn parse(text: &[u8]) -> Result<Self, CryptoError> {
        let text = text.trim_ascii();
        let rest = text
            .strip_prefix(SHARE_PREFIX.as_bytes())
            .ok_or(CryptoError::Share(
                "not a Tresor share: it should start with tresor-share-v1-",
            ))?;
        let dash = rest
            .iter()
            .position(|b| *b == b'-')
            .ok_or(CryptoError::Share(
                "a share is tresor-share-v1-<index>-<data>",
            ))?;
        let (index_text, data) = (&rest[..dash], &rest[dash + 1..]);
        let index = std::str::from_utf8(index_text)
            .ok()
            .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|t| t.parse::<u8>().ok())
            .filter(|i| *i != 0)
            .ok_or(CryptoError::Share("a share's index must be 1 to 255"))?;
        let mut raw = Zeroizing::new([0u8; SHAMIR_SECRET_LEN + CHECK_LEN + 3]);
        let n = URL_SAFE_NO_PAD
            .decode_slice(data, raw.as_mut_slice())
            .map_err(|_| CryptoError::Share("the share is mistyped: its data is not base64url"))?;
        if n != SHAMIR_SECRET_LEN + CHECK_LEN {
            return Err(CryptoError::Share(
                "the share is mistyped: its data has the wrong length",
            ));
        }
        let mut value = Zeroizing::new([0u8; SHAMIR_SECRET_LEN]);
        value.copy_from_slice(&raw[..SHAMIR_SECRET_LEN]);
        if !ct_eq(
            &check(index, &value),
            &raw[SHAMIR_SECRET_LEN..SHAMIR_SECRET_LEN + CHECK_LEN],
        ) {
            return Err(CryptoError::Share(
                "the share is mistyped: its checksum does not match",
            ));
        }
        Ok(Self { index, value })
    }
}

fn check(index: u8, value: &[u8; SHAMIR_SECRET_LEN]) -> [u8; CHECK_LEN] {
    let mut input = Zeroizing::new(Vec::with_capacity(
        CHECK_LABEL.len() + 1 + SHAMIR_SECRET_LEN,
    ));
    input.extend_from_slice(CHECK_LABEL);
    input.push(index);
    input.extend_from_slice(value);
    let digest = sha256(&input);
    let mut out = [0u8; CHECK_LEN];
    out.copy_from_slice(&digest[..CHECK_LEN]);
    out
}

/// Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1, without branches or tables.
fn gf_mul(mut a: u8, mut b: u8) -> u8 {
    let mut product = 0u8;
    for _ in 0..8 {
        product ^= a & 0u8.wrapping_sub(b & 1);
        let carry = 0u8.wrapping_sub(a >> 7);
        a = (a << 1) ^ (0x1b & carry);
        b >>= 1;
    }
    product
}

/// The inverse a^254 (0 for 0), by a fixed square-and-multiply chain.
fn gf_inv(a: u8) -> u8 {
    let a2 = gf_mul(a, a);
    let a3 = gf_mul(a2, a);
    let a6 = gf_mul(a3, a3);
    let a12 = gf_mul(a6, a6);
    let a15 = gf_mul(a12, a3);
    let a30 = gf_mul(a15, a15);
    let a60 = gf_mul(a30, a30);
    let a63 = gf_mul(a60, a3);
    let a126 = gf_mul(a63, a63);
    let a127 = gf_mul(a126, a);
    gf_mul(a127, a127)
}

/// Splits `secret` into `scheme.shares` shares, any `scheme.threshold` of which rebuild it.
pub fn split_secret(
    secret: &[u8; SHAMIR_SECRET_LEN],
    scheme: ShareScheme,
) -> Result<Vec<Share>, CryptoError> {
    let scheme = ShareScheme::new(scheme.shares, scheme.threshold)?;
    let mut coefficients = Vec::with_capacity(usize::from(scheme.threshold) - 1);
    for _ in 1..scheme.threshold {
        let mut c = Zeroizing::new([0u8; SHAMIR_SECRET_LEN]);
        fill_random(c.as_mut_slice())?;
        coefficients.push(c);
    }
    Ok(evaluate(secret, &coefficients, scheme.shares))
}

/// Share `x` for x in 1..=count of the polynomials `secret + c1·x + c2·x² + …` (per byte).
fn evaluate(
    secret: &[u8; SHAMIR_SECRET_LEN],
    coefficients: &[Zeroizing<[u8; SHAMIR_SECRET_LEN]>],
    count: u8,
) -> Vec<Share> {
    (1..=count)
        .map(|x| {
            let mut value = Zeroizing::new([0u8; SHAMIR_SECRET_LEN]);
            for (byte, out) in value.iter_mut().enumerate() {
                // Horner's rule from the highest coefficient down to the secret.
                let mut y = 0u8;
                for c in coefficients.iter().rev() {
                    y = gf_mul(y, x) ^ c[byte];
                }
                *out = gf_mul(y, x) ^ secret[byte];
            }
            Share { index: x, value }
        })
        .collect()
}

/// Rebuilds the secret from shares by Lagrange interpolation at x = 0. Needs at least two
/// shares with distinct indexes; with fewer than the threshold, or with a wrong share, the
/// result is a wrong key (which only opening the sealed root key can tell).
pub fn combine_shares(shares: &[Share]) -> Result<SecretBytes, CryptoError> {
    if shares.len() < 2 {
        return Err(CryptoError::Share("at least two shares are needed"));
    }
    for (i, a) in shares.iter().enumerate() {
        if shares[i + 1..].iter().any(|b| b.index == a.index) {
            return Err(CryptoError::Share("two shares have the same index"));
        }
    }
    let mut secret = Zeroizing::new([0u8; SHAMIR_SECRET_LEN]);
    for (i, share) in shares.iter().enumerate() {
        // The Lagrange basis at 0: Π x_j / (x_j - x_i), where subtraction is XOR.
        let mut basis = 1u8;
        for (j, other) in shares.iter().enumerate() {
            if i != j {
                basis = gf_mul(
                    basis,
                    gf_mul(other.index, gf_inv(other.index ^ share.index)),
                );
            }
        }
        for (out, y) in secret.iter_mut().zip(share.value.iter()) {
            *out ^= gf_mul(*y, basis);
        }
    }
    Ok(SecretBytes::from_slice(secret.as_slice()))
}

#[cfg(test)]
#[path = "shamir_tests.rs"]
mod tests;
