//! Property test against an independent signer: whatever `aws-sigv4` signs, we accept; after
//! any one meaningful change, we refuse.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{millis, sign_with_aws_sigv4, OwnedRequest, Spec};
use proptest::prelude::*;
use tresor_sigv4::{parse, verify, AuthError, SigningKeyCache};
use tresor_types::{SecretBytes, Timestamp};

/// 2015-01-01 .. 2035-01-01.
const EARLIEST: i64 = 1_420_070_400;
const LATEST: i64 = 2_051_222_400;

/// Characters an SDK leaves bare in a path (unreserved, sub-delims, ':' and '@').
const PATH_SAFE: &[u8] = b"abcXYZ019-._~!$&'()*+,;=:@";
/// Characters left bare in a query key or value ('+' means a space there).
const QUERY_SAFE: &[u8] = b"abcXYZ019-._~!$'()*+,;:@/?";

/// A piece of a path segment or query part, in its wire form.
fn wire_piece(safe: &'static [u8]) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(safe).prop_map(|b| char::from(b).to_string()),
        // Any byte, percent-encoded, in upper or lower case hex (also bytes that needed no
        // encoding, and bytes that are not UTF-8).
        1 => (any::<u8>(), any::<bool>()).prop_map(|(b, upper)| if upper {
            format!("%{b:02X}")
        } else {
            format!("%{b:02x}")
        }),
        // A non-ASCII character, encoded as UTF-8.
        1 => proptest::sample::select(vec!["%E1%88%B4", "%C3%A9", "%F0%9F%94%91"])
            .prop_map(str::to_owned),
    ]
}

fn wire_string(safe: &'static [u8], max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(wire_piece(safe), 0..max).prop_map(|p| p.concat())
}

fn path() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        6 => wire_string(PATH_SAFE, 6),
        1 => Just(".".to_owned()),
        1 => Just("..".to_owned()),
        1 => Just(String::new()),
    ];
    (proptest::collection::vec(segment, 0..5), any::<bool>()).prop_map(|(segments, trailing)| {
        let mut p = String::new();
        for s in &segments {
            p.push('/');
            p.push_str(s);
        }
        if trailing || p.is_empty() {
            p.push('/');
        }
        p
    })
}

fn query() -> impl Strategy<Value = String> {
    let param = (
        wire_string(QUERY_SAFE, 5),
        proptest::option::of(wire_string(QUERY_SAFE, 5)),
    )
        .prop_map(|(k, v)| match v {
            Some(v) => format!("{k}={v}"),
            None => k,
        });
    proptest::collection::vec(param, 0..4).prop_map(|params| params.join("&"))
}

fn header_value() -> impl Strategy<Value = String> {
    // Visible ASCII, runs of spaces, leading/trailing spaces and tabs inside.
    "[ -~]{0,10}( {1,3}[!-~\t]{1,4}){0,2} {0,2}"
}

fn extra_headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = proptest::sample::select(vec![
        "x-amz-meta-owner",
        "x-amz-meta-tag",
        "x-amz-user-agent",
        "x-custom",
        "content-type",
        "my-header",
        "user-agent",
        "x-amzn-trace-id",
    ]);
    proptest::collection::vec((name.prop_map(str::to_owned), header_value()), 0..5)
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        (
            proptest::sample::select(vec!["GET", "POST"]),
            path(),
            query(),
            extra_headers(),
            proptest::option::of("[A-Za-z]{3,12}\\.[A-Za-z]{3,16}"),
            proptest::collection::vec(any::<u8>(), 0..64),
        ),
        (
            "AKIA[A-Z0-9]{16}",
            "[A-Za-z0-9/+]{40}",
            proptest::option::of("[A-Za-z0-9/+=]{16,64}"),
            "[a-z]{2}-[a-z]{4,9}-[1-9]",
            "[a-z]{2,14}",
            EARLIEST..LATEST,
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (method, path, query, mut headers, target, body),
                (access_key_id, secret, session_token, region, service, time, content_sha256),
            )| {
                if let Some(target) = target {
                    headers.push(("x-amz-target".to_owned(), target));
                }
                let path_and_query = if query.is_empty() {
                    path
                } else {
                    format!("{path}?{query}")
                };
                Spec {
                    method: method.to_owned(),
                    path_and_query,
                    host: "tresor.example".to_owned(),
                    headers,
                    body,
                    access_key_id,
                    secret,
                    session_token,
                    region,
                    service,
                    time,
                    content_sha256,
                }
            },
        )
}

/// Exactly one change to a signed request.
#[derive(Debug, Clone)]
enum Mutation {
    FlipBodyByte(prop::sample::Index, u8),
    ChangeSignedHeaderByte(prop::sample::Index, prop::sample::Index),
    ShiftDate(bool),
    AppendPathSegment,
    ChangeQuery,
    ChangeSignatureDigit(prop::sample::Index),
    WrongSecret(prop::sample::Index),
    ChangeScopeRegion,
    ChangeScopeService,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<prop::sample::Index>(), 1u8..=255).prop_map(|(i, x)| Mutation::FlipBodyByte(i, x)),
        (any::<prop::sample::Index>(), any::<prop::sample::Index>())
            .prop_map(|(h, i)| Mutation::ChangeSignedHeaderByte(h, i)),
        any::<bool>().prop_map(Mutation::ShiftDate),
        Just(Mutation::AppendPathSegment),
        Just(Mutation::ChangeQuery),
        any::<prop::sample::Index>().prop_map(Mutation::ChangeSignatureDigit),
        any::<prop::sample::Index>().prop_map(Mutation::WrongSecret),
        Just(Mutation::ChangeScopeRegion),
        Just(Mutation::ChangeScopeService),
    ]
}

fn amz_date_of(seconds: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(seconds).unwrap();
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn set_header(req: &mut OwnedRequest, name: &str, value: String) {
    let slot = req.headers.iter_mut().find(|(n, _)| n == name).unwrap();
    slot.1 = value;
}

fn rewrite_authorization(req: &mut OwnedRequest, from: &str, to: &str) {
    let auth = req.header("authorization").unwrap().replace(from, to);
    set_header(req, "authorization", auth);
}

/// Parse + verify with a fresh or shared cache, as the server does.
fn check(
    req: &OwnedRequest,
    now: Timestamp,
    secret: &SecretBytes,
    cache: &SigningKeyCache,
) -> Result<(), AuthError> {
    let auth = parse(&req.as_request(), now)?;
    verify(&req.as_request(), &auth, secret, cache)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn accepts_what_aws_sigv4_signs_and_refuses_any_single_change(
        spec in spec(),
        // Within ±298 s so that a one-second date shift stays inside the ±300 s window.
        skew in -298i64..=298,
        now_fraction_ms in 0i64..1000,
        mutation in mutation(),
    ) {
        let (req, signature) = sign_with_aws_sigv4(&spec);
        let now = Timestamp::from_millis((spec.time - skew) * 1000 + now_fraction_ms);
        let secret = SecretBytes::from_slice(spec.secret.as_bytes());
        let cache = SigningKeyCache::new();

        // Accepted, with every parsed field as the signer meant it.
        let auth = parse(&req.as_request(), now)
            .map_err(|e| TestCaseError::fail(format!("parse: {} {req:?}", e.message())))?;
        prop_assert_eq!(&auth.access_key_id, &spec.access_key_id);
        prop_assert_eq!(&auth.region, &spec.region);
        prop_assert_eq!(&auth.service, &spec.service);
        prop_assert_eq!(&auth.amz_date, &amz_date_of(spec.time));
        prop_assert_eq!(&auth.session_token, &spec.session_token);
        prop_assert_eq!(&auth.signature, &signature);
        if let Err(e) = verify(&req.as_request(), &auth, &secret, &cache) {
            return Err(TestCaseError::fail(format!(
                "verify: {}\nours:\n{}\nrequest: {req:?}",
                e.message(),
                tresor_sigv4::canonical_request(&req.as_request(), &auth.signed_headers),
            )));
        }
        // And again through the warm cache.
        prop_assert!(check(&req, now, &secret, &cache).is_ok());

        // Exactly one change, then refusal.
        let mut changed = req.clone();
        let mut verify_secret = secret.clone();
        match &mutation {
            Mutation::FlipBodyByte(i, x) => {
                if changed.body.is_empty() {
                    changed.body.push(*x);
                } else {
                    let i = i.index(changed.body.len());
                    changed.body[i] ^= *x;
                }
            }
            Mutation::ChangeSignedHeaderByte(h, i) => {
                let name = auth.signed_headers[h.index(auth.signed_headers.len())].clone();
                let slot = changed.headers.iter_mut().find(|(n, _)| *n == name).unwrap();
                let mut bytes = slot.1.clone().into_bytes();
                if bytes.is_empty() {
                    bytes.push(b'x');
                } else {
                    // A different non-space character changes the trimmed, collapsed value.
                    let i = i.index(bytes.len());
                    bytes[i] = if bytes[i] == b'Q' { b'R' } else { b'Q' };
                }
                slot.1 = String::from_utf8(bytes).unwrap();
            }
            Mutation::ShiftDate(later) => {
                let shifted = if *later { spec.time + 1 } else { spec.time - 1 };
                // Still inside the skew window: the refusal must come from the signature
                // (or from the scope date, when the shift crosses midnight).
                prop_assert!(((shifted - skew) * 1000 + now_fraction_ms - now.millis()).abs() <= 300_000);
                set_header(&mut changed, "x-amz-date", amz_date_of(shifted));
            }
            Mutation::AppendPathSegment => changed.path.push_str("/zz"),
            Mutation::ChangeQuery => {
                if changed.query.is_empty() {
                    changed.query.push_str("q=1");
                } else {
                    changed.query.push_str("&zz=1");
                }
            }
            Mutation::ChangeSignatureDigit(i) => {
                let mut sig = signature.clone().into_bytes();
                let i = i.index(sig.len());
                sig[i] = if sig[i] == b'a' { b'b' } else { b'a' };
                let new = String::from_utf8(sig).unwrap();
                rewrite_authorization(&mut changed, &format!("Signature={signature}"), &format!("Signature={new}"));
            }
            Mutation::WrongSecret(i) => {
                let mut bytes = spec.secret.clone().into_bytes();
                let i = i.index(bytes.len());
                bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
                verify_secret = SecretBytes::new(bytes);
            }
            Mutation::ChangeScopeRegion => {
                let date = &auth.date;
                let region = &spec.region;
                rewrite_authorization(&mut changed, &format!("/{date}/{region}/"), &format!("/{date}/{region}x/"));
            }
            Mutation::ChangeScopeService => {
                let region = &spec.region;
                let service = &spec.service;
                rewrite_authorization(&mut changed, &format!("/{region}/{service}/"), &format!("/{region}/{service}x/"));
            }
        }
        let result = check(&changed, now, &verify_secret, &cache);
        let err = match result {
            Ok(()) => return Err(TestCaseError::fail(format!("accepted after {mutation:?}: {changed:?}"))),
            Err(e) => e,
        };
        match &mutation {
            Mutation::ShiftDate(_) => prop_assert!(
                matches!(err, AuthError::SignatureMismatch | AuthError::ScopeDateMismatch { .. }),
                "{:?}", err
            ),
            Mutation::AppendPathSegment
            | Mutation::ChangeQuery
            | Mutation::ChangeSignatureDigit(_)
            | Mutation::WrongSecret(_)
            | Mutation::ChangeScopeRegion
            | Mutation::ChangeScopeService => {
                prop_assert_eq!(&err, &AuthError::SignatureMismatch);
            }
            Mutation::FlipBodyByte(..) if spec.content_sha256 => {
                prop_assert_eq!(&err, &AuthError::ContentSha256Mismatch);
            }
            _ => {}
        }
        for shown in [err.message(), format!("{err:?}")] {
            prop_assert!(!shown.contains(&spec.secret));
            prop_assert!(!shown.contains(&signature));
        }
    }
}

/// Session tokens: signed by the SDK, returned by `parse`, and bound by the signature.
#[test]
fn session_token_round_trip() {
    let mut spec = Spec::simple(common::system_now_seconds());
    spec.session_token = Some("FwoGZXIvYXdzEXAMPLE//token==".to_owned());
    let (req, _) = sign_with_aws_sigv4(&spec);
    let auth = parse(&req.as_request(), Timestamp::now()).unwrap();
    assert_eq!(
        auth.session_token.as_deref(),
        Some("FwoGZXIvYXdzEXAMPLE//token==")
    );
    let secret = SecretBytes::from_slice(spec.secret.as_bytes());
    verify(&req.as_request(), &auth, &secret, &SigningKeyCache::new()).unwrap();

    // Removing the token from the request (but not from SignedHeaders) breaks the signature.
    let mut stripped = req.clone();
    stripped.remove_header("x-amz-security-token");
    let auth = parse(&stripped.as_request(), millis(spec.time)).unwrap();
    assert_eq!(auth.session_token, None);
    assert_eq!(
        verify(
            &stripped.as_request(),
            &auth,
            &secret,
            &SigningKeyCache::new()
        ),
        Err(AuthError::SignatureMismatch)
    );
}
