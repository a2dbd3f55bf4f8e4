//! Primitives shared by the rest of the crate: randomness, hashes, MACs, constant-time
//! comparison, HKDF, and a bounds-checked reader for the binary formats.

use aws_lc_rs::digest;
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::CryptoError;

/// Fill `out` from the operating system's CSPRNG (through aws-lc-rs).
pub(crate) fn fill_random(out: &mut [u8]) -> Result<(), CryptoError> {
    SystemRandom::new()
        .fill(out)
        .map_err(|_| CryptoError::Internal("the system random number generator failed"))
}

/// `n` bytes from the operating system's CSPRNG (through aws-lc-rs `SystemRandom`).
pub fn random_bytes(n: usize) -> Result<Vec<u8>, CryptoError> {
    let mut out = vec![0u8; n];
    fill_random(&mut out)?;
    Ok(out)
}

/// HMAC-SHA256 of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data);
    let mut out = [0u8; 32];
    // INVARIANT: an HMAC-SHA256 tag is exactly 32 bytes.
    out.copy_from_slice(tag.as_ref());
    out
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    // INVARIANT: a SHA-256 digest is exactly 32 bytes.
    out.copy_from_slice(d.as_ref());
    out
}

/// Constant-time equality for MACs, signatures and secrets. Lengths are not secret: slices of
/// different lengths compare unequal at once.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// HKDF-SHA256 (RFC 5869) with a 32-byte output.
///
/// Written as one extract and one expand block with aws-lc-rs HMAC rather than with
/// `aws_lc_rs::hkdf` because for L = HashLen the output is exactly T(1) = HMAC(PRK, info || 0x01),
/// which cannot fail, so [`crate::RootKey::subkey`] needs no error path. A test checks this
/// against `aws_lc_rs::hkdf`.
pub(crate) fn hkdf_sha256_32(salt: &[u8], ikm: &[u8], info: &[u8]) -> Zeroizing<[u8; 32]> {
    let prk = Zeroizing::new(hmac_sha256(salt, ikm));
    let key = hmac::Key::new(hmac::HMAC_SHA256, prk.as_slice());
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(info);
    ctx.update(&[0x01]);
    let tag = ctx.sign();
    let mut out = Zeroizing::new([0u8; 32]);
    // INVARIANT: an HMAC-SHA256 tag is exactly 32 bytes.
    out.copy_from_slice(tag.as_ref());
    out
}

/// Reads the binary formats without ever indexing out of bounds: every short read is `err`.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
    malformed: fn() -> CryptoError,
}

impl<'a> Reader<'a> {
    /// `malformed` builds the error for a short read (e.g. `|| CryptoError::MalformedEnvelope`).
    pub(crate) fn new(buf: &'a [u8], malformed: fn() -> CryptoError) -> Self {
        Self {
            rest: buf,
            malformed,
        }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], CryptoError> {
        match self.rest.split_at_checked(n) {
            Some((head, tail)) => {
                self.rest = tail;
                Ok(head)
            }
            None => Err((self.malformed)()),
        }
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], CryptoError> {
        let bytes = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, CryptoError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, CryptoError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, CryptoError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// Everything not read yet.
    pub(crate) fn rest(self) -> &'a [u8] {
        self.rest
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use aws_lc_rs::hkdf;

    #[test]
    fn hkdf_matches_aws_lc_rs() {
        struct Len32;
        impl hkdf::KeyType for Len32 {
            fn len(&self) -> usize {
                32
            }
        }
        for (salt, ikm, info) in [
            (&b""[..], &[7u8; 32][..], &b"tresor/access-key-seal/v1"[..]),
            (&b"salt"[..], &b"key file bytes"[..], &b""[..]),
        ] {
            let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm);
            let info_parts = [info];
            let okm = prk.expand(&info_parts, Len32).unwrap();
            let mut expected = [0u8; 32];
            okm.fill(&mut expected).unwrap();
            assert_eq!(*hkdf_sha256_32(salt, ikm, info), expected);
        }
    }

    #[test]
    fn rfc5869_test_case_1_first_block() {
        let ikm = [0x0bu8; 22];
        let salt = hex::decode("000102030405060708090a0b0c").unwrap();
        let info = hex::decode("f0f1f2f3f4f5f6f7f8f9").unwrap();
        assert_eq!(
            hex::encode(*hkdf_sha256_32(&salt, &ikm, &info)),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
        );
    }

    #[test]
    fn hashes_and_macs_match_known_answers() {
        assert_eq!(
            hex::encode(sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // RFC 4231 test case 2.
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn ct_eq_compares_content_and_length() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        assert!(ct_eq(b"", b""));
    }

    #[test]
    fn random_bytes_have_the_requested_length_and_differ() {
        let a = random_bytes(32).unwrap();
        let b = random_bytes(32).unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(random_bytes(0).unwrap().is_empty());
    }

    #[test]
    fn reader_never_reads_past_the_end() {
        let mut r = Reader::new(&[1, 0, 2], || CryptoError::MalformedEnvelope);
        assert_eq!(r.u8().unwrap(), 1);
        assert_eq!(r.u16().unwrap(), 2);
        assert!(matches!(r.u8(), Err(CryptoError::MalformedEnvelope)));
        let mut r = Reader::new(&[1, 2, 3], || CryptoError::MalformedSealedKey);
        assert!(matches!(r.u32(), Err(CryptoError::MalformedSealedKey)));
        assert!(matches!(
            r.take(usize::MAX),
            Err(CryptoError::MalformedSealedKey)
        ));
    }
}
