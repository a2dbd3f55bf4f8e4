//! AWS's published SigV4 test suite: for each request, our canonical request must equal the
//! published one, and `parse` + `verify` must accept the published Authorization header.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use tresor_sigv4::{
    canonical_request, parse, verify, AuthError, ParsedAuth, Request, SigningKeyCache,
};
use tresor_types::{SecretBytes, Timestamp};

const SUITE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SMITHY_TEST_SECRET: &str = "notrealrnrELgWzOk3IfjzDKtFBhDby";

/// What a vector is expected to do.
enum Expect {
    /// Canonical request equal, signature accepted.
    Accept,
    /// Only the first three canonical-request lines compared (stale file), signature accepted.
    AcceptUriOnly,
    /// Canonical request equal, but `parse` refuses the request.
    Reject(AuthError),
}

struct Vector {
    name: &'static str,
    secret: &'static str,
    expect: Expect,
}

fn vectors() -> Vec<Vector> {
    let accept = |name| Vector {
        name,
        secret: SUITE_SECRET,
        expect: Expect::Accept,
    };
    vec![
        accept("get-vanilla"),
        accept("get-vanilla-query"),
        accept("get-vanilla-query-order-key-case"),
        accept("get-vanilla-query-order-encoded"),
        accept("get-vanilla-query-unreserved"),
        accept("get-vanilla-utf8-query"),
        accept("get-vanilla-empty-query-key"),
        accept("get-header-value-trim"),
        accept("get-header-key-duplicate"),
        accept("get-header-value-order"),
        accept("get-relative-normalized"),
        accept("get-relative-relative-normalized"),
        accept("get-slash-normalized"),
        accept("get-slash-dot-slash-normalized"),
        accept("get-slash-pointless-dot-normalized"),
        accept("get-slashes-normalized"),
        accept("get-space-normalized"),
        accept("get-unreserved"),
        accept("get-utf8"),
        accept("get-vanilla-with-session-token"),
        accept("post-vanilla"),
        accept("post-vanilla-query"),
        accept("post-vanilla-empty-query-value"),
        accept("post-header-key-case"),
        accept("post-header-key-sort"),
        accept("post-header-value-case"),
        accept("post-sts-header-before"),
        accept("post-x-www-form-urlencoded"),
        accept("post-x-www-form-urlencoded-parameters"),
        // The session token was added after signing: a valid signature, but an unsigned
        // x-amz-* header, which Tresor refuses.
        Vector {
            name: "post-sts-header-after",
            secret: SUITE_SECRET,
            expect: Expect::Reject(AuthError::UnsignedHeader {
                name: "x-amz-security-token".to_owned(),
            }),
        },
        Vector {
            name: "double-encode-path",
            secret: SMITHY_TEST_SECRET,
            expect: Expect::AcceptUriOnly,
        },
        // Signed on another day, region and service (20210511, us-east-2, lambda).
        accept("double-url-encode"),
    ]
}

/// A request parsed from a `header-signed-request.txt` file, as an HTTP server would hand it
/// over: header names lower-cased, values stripped of surrounding whitespace (OWS).
struct OwnedRequest {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl OwnedRequest {
    fn as_request(&self) -> Request<'_> {
        Request {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &self.headers,
            body: &self.body,
        }
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap()
    }
}

fn vector_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name)
}

fn read(name: &str, file: &str) -> String {
    let path = vector_dir(name).join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse_http(text: &str) -> OwnedRequest {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let request_line = lines.next().unwrap();
    let (method, rest) = request_line.split_once(' ').unwrap();
    let target = rest.strip_suffix(" HTTP/1.1").unwrap_or(rest);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers = lines
        .filter(|line| !line.is_empty())
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (
                name.to_ascii_lowercase(),
                value.trim_matches([' ', '\t']).to_owned(),
            )
        })
        .collect();
    OwnedRequest {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: body.as_bytes().to_vec(),
    }
}

/// `SignedHeaders=` of the Authorization header, read independently of `parse`.
fn signed_headers_of(req: &OwnedRequest) -> Vec<String> {
    let auth = req.header("authorization");
    let start = auth.find("SignedHeaders=").unwrap() + "SignedHeaders=".len();
    let list = auth[start..].split(',').next().unwrap();
    list.split(';').map(str::to_owned).collect()
}

/// "now" a little after the request time: the skew window is honoured, not just equality.
fn now_for(req: &OwnedRequest) -> Timestamp {
    let amz = req.header("x-amz-date");
    let secs = time::PrimitiveDateTime::parse(
        amz,
        time::macros::format_description!("[year][month][day]T[hour][minute][second]Z"),
    )
    .unwrap()
    .assume_utc()
    .unix_timestamp();
    Timestamp::from_millis(secs * 1000 + 123_456)
}

fn check(vector: &Vector, cache: &SigningKeyCache) {
    let req = parse_http(&read(vector.name, "header-signed-request.txt"));
    let expected_creq = read(vector.name, "header-canonical-request.txt");
    let actual_creq = canonical_request(&req.as_request(), &signed_headers_of(&req));
    match vector.expect {
        Expect::AcceptUriOnly => {
            let first3 = |s: &str| s.lines().take(3).collect::<Vec<_>>().join("\n");
            assert_eq!(
                first3(&actual_creq),
                first3(&expected_creq),
                "{}",
                vector.name
            );
        }
        _ => assert_eq!(actual_creq, expected_creq, "{}", vector.name),
    }

    let secret = SecretBytes::from_slice(vector.secret.as_bytes());
    let result: Result<ParsedAuth, AuthError> = parse(&req.as_request(), now_for(&req));
    match &vector.expect {
        Expect::Accept | Expect::AcceptUriOnly => {
            let auth = result.unwrap_or_else(|e| panic!("{}: parse: {}", vector.name, e.message()));
            verify(&req.as_request(), &auth, &secret, cache)
                .unwrap_or_else(|e| panic!("{}: verify: {}", vector.name, e.message()));
            if vector.name.contains("session-token") || vector.name == "post-sts-header-before" {
                assert_eq!(
                    auth.session_token.as_deref(),
                    Some(req.header("x-amz-security-token"))
                );
            }
            // The same request under another secret must fail.
            let wrong = SecretBytes::from_slice(b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ");
            assert_eq!(
                verify(&req.as_request(), &auth, &wrong, cache),
                Err(AuthError::SignatureMismatch),
                "{}",
                vector.name
            );
        }
        Expect::Reject(want) => assert_eq!(result.as_ref().err(), Some(want), "{}", vector.name),
    }
}

#[test]
fn aws_signature_v4_test_suite() {
    let cache = SigningKeyCache::new();
    let all = vectors();
    assert!(all.len() >= 8);
    for vector in &all {
        check(vector, &cache);
    }
    // Warm cache: the second pass must agree with the first.
    for vector in &all {
        check(vector, &cache);
    }
}

#[test]
fn every_vector_directory_is_listed() {
    let listed: Vec<&str> = vectors().iter().map(|v| v.name).collect();
    for entry in std::fs::read_dir(vector_dir("")).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            let name = entry.file_name().into_string().unwrap();
            assert!(listed.contains(&name.as_str()), "unlisted vector {name}");
        }
    }
}

/// The published signature is recomputed, not just accepted: one flipped hex digit fails.
#[test]
fn a_flipped_signature_digit_fails_on_every_vector() {
    let cache = SigningKeyCache::new();
    for vector in vectors() {
        if !matches!(vector.expect, Expect::Accept | Expect::AcceptUriOnly) {
            continue;
        }
        let req = parse_http(&read(vector.name, "header-signed-request.txt"));
        let mut auth = parse(&req.as_request(), now_for(&req)).unwrap();
        let last = auth.signature.pop().unwrap();
        auth.signature.push(if last == '0' { '1' } else { '0' });
        let secret = SecretBytes::from_slice(vector.secret.as_bytes());
        assert_eq!(
            verify(&req.as_request(), &auth, &secret, &cache),
            Err(AuthError::SignatureMismatch),
            "{}",
            vector.name
        );
    }
}
