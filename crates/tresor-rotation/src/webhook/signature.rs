//! The webhook signature: `v1=<hex HMAC-SHA-256(signing secret, "<timestamp>.<body>")>`, and
//! its check on the receiving side (in Rust; the module doc of [`crate::webhook`] has the same
//! check in Python).

use zeroize::Zeroizing;

/// The scheme's prefix in `X-Tresor-Signature`.
const SCHEME: &str = "v1=";

/// Why a delivery was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the timestamp header is not a number of seconds")]
    MalformedTimestamp,
    #[error("the signature header is not v1=<64 hex digits>")]
    MalformedSignature,
    #[error("the signature does not match the body")]
    BadSignature,
    #[error("the timestamp is outside the tolerated window")]
    StaleTimestamp,
}

/// The `X-Tresor-Signature` value of `body` sent at `timestamp` (unix seconds).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mac = mac(secret, timestamp.to_string().as_bytes(), body);
    format!("{SCHEME}{}", hex::encode(mac))
}

/// Check a delivery: the signature must be the MAC of `"<timestamp header>.<body>"` (compared
/// in constant time), and the timestamp within `tolerance_secs` of `now_unix` either way.
///
/// A receiver also remembers the `X-Tresor-Delivery` ids it accepted within the tolerance
/// window and ignores a repeated one: together with the timestamp, that stops replays.
pub fn verify(
    secret: &[u8],
    timestamp_header: &str,
    signature_header: &str,
    body: &[u8],
    now_unix: i64,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    let timestamp = timestamp_header.trim();
    if timestamp.is_empty() || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::MalformedTimestamp);
    }
    let sent_at: i64 = timestamp
        .parse()
        .map_err(|_| VerifyError::MalformedTimestamp)?;
    let given = signature_header
        .trim()
        .strip_prefix(SCHEME)
        .filter(|h| h.len() == 64)
        .and_then(|h| hex::decode(h).ok())
        .ok_or(VerifyError::MalformedSignature)?;
    let expected = mac(secret, timestamp.as_bytes(), body);
    if !tresor_crypto::ct_eq(&expected, &given) {
        return Err(VerifyError::BadSignature);
    }
    let skew = (i128::from(now_unix) - i128::from(sent_at)).abs();
    if skew > i128::from(tolerance_secs.max(0)) {
        return Err(VerifyError::StaleTimestamp);
    }
    Ok(())
}

fn mac(secret: &[u8], timestamp: &[u8], body: &[u8]) -> [u8; 32] {
    // The body holds the rotation token: the copy is wiped once signed.
    let mut message = Zeroizing::new(Vec::with_capacity(timestamp.len() + 1 + body.len()));
    message.extend_from_slice(timestamp);
    message.push(b'.');
    message.extend_from_slice(body);
    tresor_crypto::hmac_sha256(secret, &message)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec-test";
    const BODY: &[u8] = br#"{"Step":"createSecret"}"#;

    #[test]
    fn matches_a_value_computed_by_pythons_hmac() {
        // python3 -c 'import hmac,hashlib; print(hmac.new(b"whsec-test",
        //   b"1700000000." + b"{\"Step\":\"createSecret\"}", hashlib.sha256).hexdigest())'
        assert_eq!(
            sign(SECRET, 1_700_000_000, BODY),
            "v1=cbcc60b0fa904d4e6527c6297fbef91a68478edb3a3fe75ac79220e40d9fac06"
        );
    }

    #[test]
    fn accepts_its_own_signature_within_the_window() {
        let sig = sign(SECRET, 1_000, BODY);
        assert_eq!(verify(SECRET, "1000", &sig, BODY, 1_000, 300), Ok(()));
        assert_eq!(verify(SECRET, "1000", &sig, BODY, 1_300, 300), Ok(()));
        assert_eq!(verify(SECRET, "1000", &sig, BODY, 700, 300), Ok(()));
    }

    #[test]
    fn refuses_old_and_future_timestamps() {
        let sig = sign(SECRET, 1_000, BODY);
        let stale = Err(VerifyError::StaleTimestamp);
        assert_eq!(verify(SECRET, "1000", &sig, BODY, 1_301, 300), stale);
        assert_eq!(verify(SECRET, "1000", &sig, BODY, 699, 300), stale);
        assert_eq!(verify(SECRET, "1000", &sig, BODY, i64::MIN, 300), stale);
        assert_eq!(verify(SECRET, "1000", &sig, BODY, 1_001, -5), stale);
    }

    #[test]
    fn refuses_a_signature_of_something_else() {
        let sig = sign(SECRET, 1_000, BODY);
        let bad = Err(VerifyError::BadSignature);
        assert_eq!(verify(SECRET, "1000", &sig, b"{}", 1_000, 300), bad);
        assert_eq!(verify(b"other", "1000", &sig, BODY, 1_000, 300), bad);
        // The timestamp is signed: moving it forward breaks the signature.
        assert_eq!(verify(SECRET, "1001", &sig, BODY, 1_000, 300), bad);
        let last = if sig.ends_with('0') { "1" } else { "0" };
        let forged = format!("{}{last}", &sig[..sig.len() - 1]);
        assert_eq!(verify(SECRET, "1000", &forged, BODY, 1_000, 300), bad);
    }

    #[test]
    fn refuses_malformed_headers() {
        let sig = sign(SECRET, 1_000, BODY);
        let ts = Err(VerifyError::MalformedTimestamp);
        for t in ["", "-5", "1e3", "10 00", "99999999999999999999", "+1000"] {
            assert_eq!(verify(SECRET, t, &sig, BODY, 1_000, 300), ts, "{t:?}");
        }
        let sg = Err(VerifyError::MalformedSignature);
        let hex = &sig[3..];
        for s in [
            "",
            hex,
            &format!("v0={hex}"),
            &format!("v1={}", &hex[..62]),
            &format!("v1={hex}00"),
            &format!("v1={}zz", &hex[..62]),
        ] {
            assert_eq!(verify(SECRET, "1000", s, BODY, 1_000, 300), sg, "{s:?}");
        }
    }
}
