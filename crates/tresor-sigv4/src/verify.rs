//! Step 2: recompute the signature with the secret access key and compare in constant time.

use aws_lc_rs::hmac;
use subtle::ConstantTimeEq;
use tresor_types::SecretBytes;

use crate::canonical::{canonical_request, string_to_sign};
use crate::{AuthError, ParsedAuth, Request, SigningKeyCache};

/// Verifies the signature of `req`, whose Authorization header `parse` turned into `auth`.
///
/// `auth` must come from [`crate::parse`] on this same request: `verify` trusts the checks
/// made there (skew, scope shape, required signed headers, payload hash) and only recomputes
/// and compares the signature. The signature we compute is never returned or logged.
pub fn verify(
    req: &Request<'_>,
    auth: &ParsedAuth,
    secret_access_key: &SecretBytes,
    cache: &SigningKeyCache,
) -> Result<(), AuthError> {
    let creq = canonical_request(req, &auth.signed_headers);
    let sts = string_to_sign(&auth.amz_date, &auth.credential_scope(), &creq);
    let signing_key = cache.signing_key(
        &auth.access_key_id,
        &auth.date,
        &auth.region,
        &auth.service,
        secret_access_key,
    );
    // signature = HexEncode(HMAC(kSigning, StringToSign))
    let expected = hex::encode(hmac_sha256(signing_key.expose(), sts.as_bytes()).expose());
    // Why compare the hex strings: both sides are lower-case hex of 32 bytes when the client
    // is honest; a different length or case is simply a mismatch. `ct_eq` is constant-time in
    // the content (the length is public).
    if bool::from(expected.as_bytes().ct_eq(auth.signature.as_bytes())) {
        Ok(())
    } else {
        Err(AuthError::SignatureMismatch)
    }
}

/// The SigV4 key derivation:
///
/// ```text
/// kDate    = HMAC("AWS4" + kSecret, Date)
/// kRegion  = HMAC(kDate, Region)
/// kService = HMAC(kRegion, Service)
/// kSigning = HMAC(kService, "aws4_request")
/// ```
pub(crate) fn derive_signing_key(
    secret_access_key: &SecretBytes,
    date: &str,
    region: &str,
    service: &str,
) -> SecretBytes {
    let mut seed = Vec::with_capacity(4 + secret_access_key.len());
    seed.extend_from_slice(b"AWS4");
    seed.extend_from_slice(secret_access_key.expose());
    let seed = SecretBytes::new(seed);
    let k_date = hmac_sha256(seed.expose(), date.as_bytes());
    let k_region = hmac_sha256(k_date.expose(), region.as_bytes());
    let k_service = hmac_sha256(k_region.expose(), service.as_bytes());
    hmac_sha256(k_service.expose(), b"aws4_request")
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> SecretBytes {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    SecretBytes::from_slice(hmac::sign(&key, data).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of the AWS documentation ("Derive a signing key", IAM user guide).
    #[test]
    fn signing_key_matches_the_documented_example() {
        let secret = SecretBytes::from_slice(b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
        let key = derive_signing_key(&secret, "20120215", "us-east-1", "iam");
        assert_eq!(
            hex::encode(key.expose()),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }
}
