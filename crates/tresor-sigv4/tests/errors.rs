//! One test per `AuthError` branch: the condition, the AWS code and the AWS message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{millis, sign_with_aws_sigv4, OwnedRequest, Spec, SUITE_TIME};
use tresor_sigv4::{parse, verify, AuthError, ParsedAuth, SigningKeyCache};
use tresor_types::{SecretBytes, Timestamp};

fn signed(spec: &Spec) -> OwnedRequest {
    sign_with_aws_sigv4(spec).0
}

fn suite_request() -> (Spec, OwnedRequest) {
    let spec = Spec::simple(SUITE_TIME);
    let req = signed(&spec);
    (spec, req)
}

fn parse_at_suite_time(req: &OwnedRequest) -> Result<ParsedAuth, AuthError> {
    parse(&req.as_request(), millis(SUITE_TIME))
}

fn rewrite_authorization(req: &mut OwnedRequest, f: impl Fn(&str) -> String) {
    let auth = req.header("authorization").unwrap().to_owned();
    req.set_header("authorization", &f(&auth));
}

fn parse_err(req: &OwnedRequest) -> AuthError {
    parse_at_suite_time(req).unwrap_err()
}

#[test]
fn a_well_formed_request_is_accepted() {
    let (spec, req) = suite_request();
    let auth = parse_at_suite_time(&req).unwrap();
    assert_eq!(auth.access_key_id, spec.access_key_id);
    assert_eq!(auth.date, "20150830");
    assert_eq!(auth.region, "us-east-1");
    assert_eq!(auth.service, "secretsmanager");
    assert_eq!(auth.amz_date, "20150830T123600Z");
    assert_eq!(auth.session_token, None);
    assert_eq!(
        auth.signed_headers,
        ["content-type", "host", "x-amz-date", "x-amz-target"]
    );
    assert_eq!(
        auth.credential_scope(),
        "20150830/us-east-1/secretsmanager/aws4_request"
    );
    auth.check_scope("us-east-1", "secretsmanager").unwrap();
    let secret = SecretBytes::from_slice(spec.secret.as_bytes());
    verify(&req.as_request(), &auth, &secret, &SigningKeyCache::new()).unwrap();
}

#[test]
fn missing_authorization() {
    let (_, mut req) = suite_request();
    req.remove_header("authorization");
    let err = parse_err(&req);
    assert_eq!(err, AuthError::MissingAuthorization);
    assert_eq!(err.aws_code(), "MissingAuthenticationTokenException");
    assert_eq!(err.message(), "Missing Authentication Token");

    req.set_header("authorization", "   ");
    assert_eq!(parse_err(&req), AuthError::MissingAuthorization);
}

#[test]
fn duplicate_authorization() {
    let (_, mut req) = suite_request();
    let auth = req.header("authorization").unwrap().to_owned();
    req.headers.push(("authorization".to_owned(), auth));
    let err = parse_err(&req);
    assert_eq!(
        err,
        AuthError::DuplicateHeader {
            name: "authorization"
        }
    );
    assert_eq!(err.aws_code(), "IncompleteSignatureException");
}

#[test]
fn unsupported_algorithm() {
    let (_, mut req) = suite_request();
    rewrite_authorization(&mut req, |a| {
        a.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1")
    });
    let err = parse_err(&req);
    assert_eq!(err.aws_code(), "IncompleteSignatureException");
    assert_eq!(
        err.message(),
        "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA1'."
    );

    req.set_header("authorization", "Bearer abc");
    assert!(matches!(
        parse_err(&req),
        AuthError::UnsupportedAlgorithm { algorithm } if algorithm == "Bearer"
    ));
}

#[test]
fn missing_authorization_parameters() {
    let (_, mut req) = suite_request();
    req.set_header("authorization", "AWS4-HMAC-SHA256");
    let err = parse_err(&req);
    assert_eq!(err.aws_code(), "IncompleteSignatureException");
    assert_eq!(
        err.message(),
        "Authorization header requires 'Credential' parameter. Authorization header requires \
         'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. \
         Authorization=AWS4-HMAC-SHA256"
    );

    let (_, mut req) = suite_request();
    rewrite_authorization(&mut req, |a| {
        a.split(", Signature=").next().unwrap().to_owned()
    });
    let err = parse_err(&req);
    assert!(
        matches!(&err, AuthError::MissingAuthParameters { missing, .. } if missing == &["Signature"])
    );
    assert!(err
        .message()
        .starts_with("Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20150830/"));
}

#[test]
fn malformed_credential() {
    let (_, mut req) = suite_request();
    rewrite_authorization(&mut req, |a| a.replace("/us-east-1/", "/"));
    let err = parse_err(&req);
    assert_eq!(err.aws_code(), "IncompleteSignatureException");
    assert_eq!(
        err.message(),
        "Credential must have exactly 5 slash-delimited elements, e.g. \
         keyid/date/region/service/term, got \
         'AKIAIOSFODNN7EXAMPLE/20150830/secretsmanager/aws4_request'"
    );

    let (_, mut req) = suite_request();
    rewrite_authorization(&mut req, |a| a.replace("/us-east-1/", "//"));
    assert!(matches!(
        parse_err(&req),
        AuthError::MalformedCredential { .. }
    ));
}

#[test]
fn invalid_scope_terminator() {
    let (_, mut req) = suite_request();
    rewrite_authorization(&mut req, |a| a.replace("/aws4_request", "/aws4_reques"));
    let err = parse_err(&req);
    assert_eq!(err.aws_code(), "IncompleteSignatureException");
    assert_eq!(
        err.message(),
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4_reques'."
    );
}

#[test]
fn malformed_signed_headers() {
    let (_, mut req) = suite_request();
    rewrite_authorization(&mut req, |a| a.replace("host;", "host;;"));
    let err = parse_err(&req);
    assert!(matches!(err, AuthError::MalformedSignedHeaders { .. }));
    assert_eq!(err.aws_code(), "IncompleteSignatureException");
}

#[test]
fn missing_x_amz_date() {
    let (_, mut req) = suite_request();
    req.remove_header("x-amz-date");
    let err = parse_err(&req);
    assert_eq!(err, AuthError::MissingDate);
    assert_eq!(err.aws_code(), "IncompleteSignatureException");
    assert_eq!(
        err.message(),
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
    );
}

#[test]
fn malformed_x_amz_date() {
    for bad in [
        "2015-08-30T12:36:00Z",
        "20150830T123600",
        "20150830T253600Z",
    ] {
        let (_, mut req) = suite_request();
        req.set_header("x-amz-date", bad);
        let err = parse_err(&req);
        assert_eq!(
            err,
            AuthError::MalformedDate {
                value: bad.to_owned()
            }
        );
        assert_eq!(err.aws_code(), "IncompleteSignatureException");
    }
}

#[test]
fn duplicate_x_amz_date() {
    let (_, mut req) = suite_request();
    req.headers
        .push(("x-amz-date".to_owned(), "20150830T123600Z".to_owned()));
    assert_eq!(
        parse_err(&req),
        AuthError::DuplicateHeader { name: "x-amz-date" }
    );
}

#[test]
fn scope_date_differs_from_x_amz_date() {
    let (_, mut req) = suite_request();
    rewrite_authorization(&mut req, |a| a.replace("/20150830/", "/20150831/"));
    let err = parse_err(&req);
    assert_eq!(err.aws_code(), "InvalidSignatureException");
    assert_eq!(
        err.message(),
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from \
         HTTP: '20150831' != '20150830', from '20150830T123600Z'."
    );
}

#[test]
fn unsigned_host() {
    let (_, mut req) = suite_request();
    rewrite_authorization(&mut req, |a| a.replace(";host;", ";"));
    let err = parse_err(&req);
    assert_eq!(
        err,
        AuthError::UnsignedHeader {
            name: "host".to_owned()
        }
    );
    assert_eq!(err.aws_code(), "InvalidSignatureException");
    assert_eq!(
        err.message(),
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
    );
}

#[test]
fn unsigned_x_amz_date() {
    let (_, mut req) = suite_request();
    rewrite_authorization(&mut req, |a| a.replace(";x-amz-date;", ";"));
    let err = parse_err(&req);
    assert_eq!(
        err,
        AuthError::UnsignedHeader {
            name: "x-amz-date".to_owned()
        }
    );
    assert_eq!(
        err.message(),
        "'x-amz-date' must be a 'SignedHeader' in the AWS Authorization."
    );
}

/// The operation header is added after signing, so it is not covered by the signature.
#[test]
fn unsigned_x_amz_target() {
    let mut spec = Spec::simple(SUITE_TIME);
    spec.headers.retain(|(n, _)| n != "x-amz-target");
    let mut req = signed(&spec);
    req.set_header("x-amz-target", "secretsmanager.DeleteSecret");
    let err = parse_err(&req);
    assert_eq!(
        err,
        AuthError::UnsignedHeader {
            name: "x-amz-target".to_owned()
        }
    );
    assert_eq!(err.aws_code(), "InvalidSignatureException");
    assert_eq!(
        err.message(),
        "'x-amz-target' must be a 'SignedHeader' in the AWS Authorization."
    );
}

#[test]
fn unsigned_x_amz_security_token() {
    let (_, mut req) = suite_request();
    req.set_header("x-amz-security-token", "FQoGZXIvYXdzEXAMPLE");
    let err = parse_err(&req);
    assert_eq!(
        err,
        AuthError::UnsignedHeader {
            name: "x-amz-security-token".to_owned()
        }
    );
    assert!(!err.message().contains("FQoGZXIvYXdzEXAMPLE"));
}

#[test]
fn any_other_unsigned_x_amz_header() {
    let (_, mut req) = suite_request();
    req.set_header("x-amz-meta-owner", "mallory");
    assert_eq!(
        parse_err(&req),
        AuthError::UnsignedHeader {
            name: "x-amz-meta-owner".to_owned()
        }
    );
}

/// Headers outside the x-amz-* family may travel unsigned (proxies rewrite some of them).
#[test]
fn unsigned_non_amz_headers_are_allowed() {
    let (spec, mut req) = suite_request();
    req.set_header("user-agent", "aws-cli/2.15");
    req.set_header(
        "x-amzn-trace-id",
        "Root=1-5759e988-bd862e3fe1be46a994272793",
    );
    let auth = parse_at_suite_time(&req).unwrap();
    let secret = SecretBytes::from_slice(spec.secret.as_bytes());
    verify(&req.as_request(), &auth, &secret, &SigningKeyCache::new()).unwrap();
}

#[test]
fn signature_expired() {
    let (_, req) = suite_request();
    // 12:46:00 is ten minutes after 12:36:00.
    let err = parse(&req.as_request(), millis(SUITE_TIME + 600)).unwrap_err();
    assert_eq!(err.aws_code(), "InvalidSignatureException");
    assert_eq!(
        err.message(),
        "Signature expired: 20150830T123600Z is now earlier than 20150830T124100Z \
         (20150830T124600Z - 5 min.)"
    );
}

#[test]
fn signature_not_yet_current() {
    let (_, req) = suite_request();
    let err = parse(&req.as_request(), millis(SUITE_TIME - 900)).unwrap_err();
    assert_eq!(err.aws_code(), "InvalidSignatureException");
    assert_eq!(
        err.message(),
        "Signature not yet current: 20150830T123600Z is still later than 20150830T122600Z \
         (20150830T122100Z + 5 min.)"
    );
}

#[test]
fn skew_window_is_five_minutes_inclusive_both_ways() {
    let (_, req) = suite_request();
    let at = |ms: i64| {
        parse(
            &req.as_request(),
            Timestamp::from_millis(SUITE_TIME * 1000 + ms),
        )
    };
    assert!(at(300_000).is_ok());
    assert!(at(-300_000).is_ok());
    assert!(matches!(
        at(300_001),
        Err(AuthError::SignatureExpired { .. })
    ));
    assert!(matches!(
        at(-300_001),
        Err(AuthError::SignatureNotYetCurrent { .. })
    ));
}

#[test]
fn content_sha256_must_match_the_body() {
    let mut spec = Spec::simple(SUITE_TIME);
    spec.content_sha256 = true;
    let good = signed(&spec);
    assert!(good.header("x-amz-content-sha256").is_some());
    let auth = parse_at_suite_time(&good).unwrap();
    assert!(auth
        .signed_headers
        .contains(&"x-amz-content-sha256".to_owned()));
    let secret = SecretBytes::from_slice(spec.secret.as_bytes());
    verify(&good.as_request(), &auth, &secret, &SigningKeyCache::new()).unwrap();

    // The body changed but the (signed) hash header did not.
    let mut tampered = good.clone();
    tampered.body = br#"{"SecretId":"prod/other"}"#.to_vec();
    let err = parse_err(&tampered);
    assert_eq!(err, AuthError::ContentSha256Mismatch);
    assert_eq!(err.aws_code(), "InvalidSignatureException");
    assert_eq!(
        err.message(),
        "The provided 'x-amz-content-sha256' header does not match what was computed."
    );

    // Streaming / unsigned payload markers are not accepted by a JSON API.
    let mut unsigned = good;
    unsigned.set_header("x-amz-content-sha256", "UNSIGNED-PAYLOAD");
    assert_eq!(parse_err(&unsigned), AuthError::ContentSha256Mismatch);
}

#[test]
fn scope_must_name_this_service_and_region() {
    let (_, req) = suite_request();
    let auth = parse_at_suite_time(&req).unwrap();

    let err = auth.check_scope("us-east-1", "kms").unwrap_err();
    assert_eq!(err.aws_code(), "InvalidSignatureException");
    assert_eq!(
        err.message(),
        "Credential should be scoped to correct service: 'kms'."
    );

    let err = auth.check_scope("eu-west-1", "secretsmanager").unwrap_err();
    assert_eq!(err.aws_code(), "InvalidSignatureException");
    assert_eq!(
        err.message(),
        "Credential should be scoped to a valid region, not 'us-east-1'."
    );
}

#[test]
fn signature_mismatch() {
    let (_, req) = suite_request();
    let auth = parse_at_suite_time(&req).unwrap();
    let wrong = SecretBytes::from_slice(b"not-the-secret");
    let err = verify(&req.as_request(), &auth, &wrong, &SigningKeyCache::new()).unwrap_err();
    assert_eq!(err, AuthError::SignatureMismatch);
    assert_eq!(err.aws_code(), "InvalidSignatureException");
    assert_eq!(
        err.message(),
        "The request signature we calculated does not match the signature you provided. Check \
         your AWS Secret Access Key and signing method. Consult the service documentation for \
         details."
    );
}

#[test]
fn a_session_token_is_returned_for_lookup_but_never_printed() {
    let mut spec = Spec::simple(SUITE_TIME);
    spec.session_token = Some("IQoJb3JpZ2luX2VjEXAMPLETOKEN".to_owned());
    let (req, signature) = sign_with_aws_sigv4(&spec);
    let auth = parse_at_suite_time(&req).unwrap();
    assert_eq!(
        auth.session_token.as_deref(),
        Some("IQoJb3JpZ2luX2VjEXAMPLETOKEN")
    );
    assert!(auth
        .signed_headers
        .contains(&"x-amz-security-token".to_owned()));
    let secret = SecretBytes::from_slice(spec.secret.as_bytes());
    verify(&req.as_request(), &auth, &secret, &SigningKeyCache::new()).unwrap();

    let shown = format!("{auth:?}");
    assert!(!shown.contains("IQoJb3JpZ2luX2VjEXAMPLETOKEN"));
    assert!(!shown.contains(&signature));
    assert!(shown.contains("AKIAIOSFODNN7EXAMPLE"));

    // A different token under the same signature fails.
    let mut swapped = req.clone();
    swapped.set_header("x-amz-security-token", "IQoJb3JpZ2luX2VjOTHERTOKEN");
    let auth = parse_at_suite_time(&swapped).unwrap();
    assert_eq!(
        verify(
            &swapped.as_request(),
            &auth,
            &secret,
            &SigningKeyCache::new()
        ),
        Err(AuthError::SignatureMismatch)
    );
}

/// Neither `Debug` nor `message()` of any error ever shows the secret or the signature we
/// computed.
#[test]
fn errors_never_contain_the_secret_or_the_expected_signature() {
    let (spec, req) = suite_request();
    let secret_text = spec.secret.clone();
    let secret = SecretBytes::from_slice(secret_text.as_bytes());
    let cache = SigningKeyCache::new();
    let auth = parse_at_suite_time(&req).unwrap();
    let mut errors = Vec::new();

    // Mismatch: the expected signature is the one of the untampered request.
    let expected_signature = auth.signature.clone();
    let mut tampered = req.clone();
    tampered.body.push(b' ');
    errors.push(verify(&tampered.as_request(), &auth, &secret, &cache).unwrap_err());
    let mut wrong_sig = auth.clone();
    wrong_sig.signature = "0".repeat(64);
    errors.push(verify(&req.as_request(), &wrong_sig, &secret, &cache).unwrap_err());

    // Every parse-time branch.
    let mut r = req.clone();
    r.remove_header("authorization");
    errors.push(parse_err(&r));
    let mut r = req.clone();
    rewrite_authorization(&mut r, |a| a.replace("AWS4-HMAC-SHA256", "AWS4-X"));
    errors.push(parse_err(&r));
    let mut r = req.clone();
    rewrite_authorization(&mut r, |a| a.replace("/aws4_request", "/x"));
    errors.push(parse_err(&r));
    let mut r = req.clone();
    r.set_header("x-amz-date", "garbage");
    errors.push(parse_err(&r));
    let mut r = req.clone();
    r.set_header("x-amz-meta-x", "y");
    errors.push(parse_err(&r));
    errors.push(parse(&req.as_request(), millis(SUITE_TIME + 3600)).unwrap_err());
    errors.push(parse(&req.as_request(), millis(SUITE_TIME - 3600)).unwrap_err());
    errors.push(auth.check_scope("eu-west-1", "kms").unwrap_err());

    for err in &errors {
        for shown in [err.message(), format!("{err:?}"), err.to_string()] {
            assert!(!shown.contains(&secret_text), "{shown}");
            assert!(!shown.contains(&expected_signature), "{shown}");
        }
    }
}

/// The cache is shared by all request threads.
#[test]
fn verification_is_safe_across_threads() {
    let (spec, req) = suite_request();
    let auth = parse_at_suite_time(&req).unwrap();
    let secret = SecretBytes::from_slice(spec.secret.as_bytes());
    let cache = SigningKeyCache::new();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..50 {
                    verify(&req.as_request(), &auth, &secret, &cache).unwrap();
                }
            });
        }
    });
    assert_eq!(cache.len(), 1);
}
