//! SigV4: the Authorization header parser, the canonical request and the verifier.
//!
//! Input: an HTTP/1.1 request in the text form of AWS's SigV4 test suite — a request line,
//! `Name:value` header lines, a blank line, the body — so the suite's signed requests are the
//! seeds. Header names are lower-cased and values trimmed as the server's HTTP layer does. The
//! clock is the suite's (`20150830T123600Z`) and the secret is the suite's.
//!
//! Properties:
//! - the canonical URI is absolute, normalized and fully encoded; the canonical query string
//!   is a fixed point of canonicalization; canonical header values are trimmed and collapsed;
//! - what `parse` accepts is self-consistent (scope date = `x-amz-date` day, `host` and
//!   `x-amz-date` signed) and survives re-rendering its Authorization header unchanged;
//! - `verify` accepts exactly the signature computed with an independent key derivation over
//!   the canonical request, and refuses that signature with one digit changed or upper-cased.

use aws_lc_rs::hmac;
use tresor_sigv4::{
    canonical_header_value, canonical_query_string, canonical_request, canonical_uri, parse,
    string_to_sign, verify, AuthError, ParsedAuth, Request, SigningKeyCache, ALGORITHM,
};
use tresor_types::{SecretBytes, Timestamp};

/// The test suite's secret access key.
const SECRET: &[u8] = b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// The test suite's signing time, `20150830T123600Z`.
const NOW_MILLIS: i64 = 1_440_938_160_000;

/// The harness of the `sigv4` target.
pub fn run(data: &[u8]) {
    let Some(received) = Received::from_text(data) else {
        return;
    };
    check_canonical_parts(&received);
    let req = received.request();
    let now = Timestamp::from_millis(NOW_MILLIS);
    match parse(&req, now) {
        Ok(auth) => {
            check_accepted(&received, &auth, now);
            check_verify(&req, &auth);
        }
        Err(e) => {
            // The client sees these; building them must not fail either.
            assert!(!e.aws_code().is_empty());
            let _ = e.message();
        }
    }
}

/// A request as the server's HTTP layer hands it over.
struct Received {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn from_text(data: &[u8]) -> Option<Self> {
        let split = data.windows(2).position(|w| w == b"\n\n");
        let (head, body) = match split {
            Some(at) => (&data[..at], &data[at + 2..]),
            None => (data, &[][..]),
        };
        let head = String::from_utf8_lossy(head);
        let mut lines = head.lines();
        let (method, rest) = lines.next()?.split_once(' ')?;
        let target = rest
            .rsplit_once(' ')
            .map_or(rest, |(target, _version)| target);
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| {
                (
                    name.to_ascii_lowercase(),
                    value.trim_matches([' ', '\t']).to_owned(),
                )
            })
            .collect();
        Some(Self {
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers,
            body: body.to_vec(),
        })
    }

    fn request(&self) -> Request<'_> {
        Request {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &self.headers,
            body: &self.body,
        }
    }
}

fn check_canonical_parts(received: &Received) {
    let uri = canonical_uri(&received.path);
    assert!(
        uri.starts_with('/'),
        "canonical URI {uri:?} is not absolute"
    );
    assert!(
        !uri.contains("//"),
        "canonical URI {uri:?} has an empty segment"
    );
    assert!(
        uri.split('/').all(|s| s != "." && s != ".."),
        "canonical URI {uri:?} keeps a dot segment"
    );
    assert_encoded(&uri, b"/", "canonical URI");

    let query = canonical_query_string(&received.query);
    assert_encoded(&query, b"&=", "canonical query string");
    let pairs: Vec<(&str, &str)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    assert!(
        pairs.windows(2).all(|w| w[0] <= w[1]),
        "canonical query string {query:?} is not sorted"
    );
    assert_eq!(
        canonical_query_string(&query),
        query,
        "the canonical query string is not a fixed point"
    );

    for (name, _) in &received.headers {
        let value = canonical_header_value(&received.headers, name);
        assert!(
            !value.starts_with(' ') && !value.ends_with(' ') && !value.contains("  "),
            "canonical value of {name:?} is not trimmed and collapsed: {value:?}"
        );
    }
}

/// Only unreserved characters, `extra`, and `%XX` escapes with upper-case hex.
fn assert_encoded(text: &str, extra: &[u8], what: &str) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let escape = bytes.get(i + 1..i + 3).unwrap_or_default();
            assert!(
                escape.len() == 2
                    && escape
                        .iter()
                        .all(|h| h.is_ascii_digit() || (b'A'..=b'F').contains(h)),
                "{what} {text:?} has a malformed escape at {i}"
            );
            i += 3;
            continue;
        }
        assert!(
            b.is_ascii_alphanumeric() || b"-._~".contains(&b) || extra.contains(&b),
            "{what} {text:?} has an unencoded {:?}",
            char::from(b)
        );
        i += 1;
    }
}

fn check_accepted(received: &Received, auth: &ParsedAuth, now: Timestamp) {
    assert_eq!(auth.amz_date.get(..8), Some(auth.date.as_str()));
    for required in ["host", "x-amz-date"] {
        assert!(auth.signed_headers.iter().any(|h| h == required));
    }
    assert!(auth
        .signed_headers
        .iter()
        .all(|h| !h.is_empty() && *h == h.to_ascii_lowercase()));
    for part in [&auth.access_key_id, &auth.date, &auth.region, &auth.service] {
        assert!(
            !part.is_empty() && !part.contains('/'),
            "scope part {part:?}"
        );
    }
    assert!(auth.check_scope(&auth.region, &auth.service).is_ok());

    // The header, written back from what was parsed, parses to the same thing.
    let rendered = format!(
        "{ALGORITHM} Credential={}/{}, SignedHeaders={}, Signature={}",
        auth.access_key_id,
        auth.credential_scope(),
        auth.signed_headers.join(";"),
        auth.signature
    );
    let mut headers = received.headers.clone();
    for (name, value) in &mut headers {
        if name == "authorization" {
            value.clone_from(&rendered);
        }
    }
    let again = Request {
        headers: &headers,
        ..received.request()
    };
    match parse(&again, now) {
        Ok(reparsed) => assert!(
            reparsed == *auth,
            "re-rendered {rendered:?} parses differently"
        ),
        Err(e) => panic!("re-rendered {rendered:?} is refused: {}", e.message()),
    }
}

fn check_verify(req: &Request<'_>, auth: &ParsedAuth) {
    let secret = SecretBytes::from_slice(SECRET);
    let cache = SigningKeyCache::new();
    let expected = expected_signature(req, auth);

    let as_sent = verify(req, auth, &secret, &cache);
    assert_eq!(as_sent.is_ok(), auth.signature == expected);
    // A second call takes the cached signing key and must agree.
    assert_eq!(verify(req, auth, &secret, &cache).is_ok(), as_sent.is_ok());

    let signed = ParsedAuth {
        signature: expected.clone(),
        ..auth.clone()
    };
    assert!(
        verify(req, &signed, &secret, &cache).is_ok(),
        "the correct signature is refused"
    );
    let mut wrong = expected.into_bytes();
    if let Some(last) = wrong.last_mut() {
        *last = if *last == b'0' { b'1' } else { b'0' };
    }
    let wrong = ParsedAuth {
        signature: String::from_utf8_lossy(&wrong).into_owned(),
        ..auth.clone()
    };
    assert!(matches!(
        verify(req, &wrong, &secret, &cache),
        Err(AuthError::SignatureMismatch)
    ));
    let upper = ParsedAuth {
        signature: signed.signature.to_ascii_uppercase(),
        ..auth.clone()
    };
    if upper.signature != signed.signature {
        assert!(verify(req, &upper, &secret, &cache).is_err());
    }
}

/// The signature computed here with the key derivation of the specification, written out
/// again rather than borrowed from the crate under test.
fn expected_signature(req: &Request<'_>, auth: &ParsedAuth) -> String {
    let creq = canonical_request(req, &auth.signed_headers);
    let sts = string_to_sign(&auth.amz_date, &auth.credential_scope(), &creq);
    let mac = |key: &[u8], data: &[u8]| {
        hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
            .as_ref()
            .to_vec()
    };
    let k_date = mac(&[b"AWS4", SECRET].concat(), auth.date.as_bytes());
    let k_region = mac(&k_date, auth.region.as_bytes());
    let k_service = mac(&k_region, auth.service.as_bytes());
    let k_signing = mac(&k_service, b"aws4_request");
    hex::encode(mac(&k_signing, sts.as_bytes()))
}
