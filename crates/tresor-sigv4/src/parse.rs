//! Step 1: everything that can be checked without the secret access key.

use std::fmt;

use subtle::ConstantTimeEq;
use tresor_types::Timestamp;

use crate::amz_date::{format_amz_date, parse_amz_date};
use crate::canonical::hex_sha256;
use crate::{AuthError, Request, ALGORITHM};

/// Allowed distance between `x-amz-date` and the server clock, both ways.
const MAX_SKEW_SECONDS: i64 = 5 * 60;

/// The scope terminator of SigV4.
const SCOPE_TERMINATOR: &str = "aws4_request";

/// The parsed Authorization header and the request values bound to it: what is needed to
/// look up the signing secret (the access key id, and the session token for temporary
/// credentials) and then to verify the signature.
#[derive(Clone, PartialEq, Eq)]
pub struct ParsedAuth {
    pub access_key_id: String,
    /// `YYYYMMDD` from the credential scope; equal to the day of `amz_date`.
    pub date: String,
    pub region: String,
    pub service: String,
    /// Lower-cased, in the order of the Authorization header.
    pub signed_headers: Vec<String>,
    /// The signature the client sent, as sent.
    pub signature: String,
    /// The `x-amz-date` value, well-formed and within the allowed skew.
    pub amz_date: String,
    /// The `x-amz-security-token` header, when sent (it is then known to be signed).
    pub session_token: Option<String>,
}

impl ParsedAuth {
    /// `<date>/<region>/<service>/aws4_request`.
    pub fn credential_scope(&self) -> String {
        format!(
            "{}/{}/{}/{SCOPE_TERMINATOR}",
            self.date, self.region, self.service
        )
    }

    /// Checks the scope against the region and service this server answers as. `parse` cannot,
    /// because it does not know them.
    pub fn check_scope(&self, region: &str, service: &str) -> Result<(), AuthError> {
        if self.service != service {
            return Err(AuthError::ScopeServiceInvalid {
                expected: service.to_owned(),
            });
        }
        if self.region != region {
            return Err(AuthError::ScopeRegionInvalid {
                region: self.region.clone(),
            });
        }
        Ok(())
    }
}

// Why by hand: the session token is a credential and the signature could replay the request
// within the skew window, so neither belongs in logs.
impl fmt::Debug for ParsedAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedAuth")
            .field("access_key_id", &self.access_key_id)
            .field("date", &self.date)
            .field("region", &self.region)
            .field("service", &self.service)
            .field("signed_headers", &self.signed_headers)
            .field("signature", &"[REDACTED]")
            .field("amz_date", &self.amz_date)
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "[REDACTED]"),
            )
            .finish()
    }
}

/// Parses the Authorization header and checks everything that needs no secret: the
/// algorithm, the shape of the credential scope, `x-amz-date` (present, well-formed, same day
/// as the scope, within ±5 minutes of `now`), that `host`, `x-amz-date`, `x-amz-target` (when
/// sent) and every other `x-amz-*` header sent are signed, and that a sent
/// `x-amz-content-sha256` is the hash of the body.
///
/// The caller then looks up the secret for `access_key_id` (and `session_token`) and calls
/// [`crate::verify`]. Header names in `req` must already be lower-case, and an HTTP/2
/// `:authority` must have been given as `host`.
pub fn parse(req: &Request<'_>, now: Timestamp) -> Result<ParsedAuth, AuthError> {
    let authorization = match single_header(req, "authorization")? {
        Some(value) if !value.trim().is_empty() => value.trim(),
        _ => return Err(AuthError::MissingAuthorization),
    };

    // "<algorithm> <param>=<value>, <param>=<value>, ..."
    let (algorithm, params) = authorization.split_once(' ').unwrap_or((authorization, ""));
    if algorithm != ALGORITHM {
        return Err(AuthError::UnsupportedAlgorithm {
            algorithm: algorithm.to_owned(),
        });
    }

    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for param in params.split(',') {
        // Why lenient about spaces: SDKs write ", " between parameters, hand-written
        // clients sometimes only ",".
        let Some((name, value)) = param.trim().split_once('=') else {
            continue;
        };
        match name.trim() {
            "Credential" => credential = Some(value.trim()),
            "SignedHeaders" => signed_headers = Some(value.trim()),
            "Signature" => signature = Some(value.trim()),
            _ => {}
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        let mut missing = Vec::new();
        if credential.is_none() {
            missing.push("Credential");
        }
        if signature.is_none() {
            missing.push("Signature");
        }
        if signed_headers.is_none() {
            missing.push("SignedHeaders");
        }
        return Err(AuthError::MissingAuthParameters {
            missing,
            authorization: authorization.to_owned(),
        });
    };

    // Credential=<akid>/<date>/<region>/<service>/aws4_request
    let parts: Vec<&str> = credential.split('/').collect();
    let [access_key_id, scope_date, region, service, terminator] = parts.as_slice() else {
        return Err(AuthError::MalformedCredential {
            credential: credential.to_owned(),
        });
    };
    if [access_key_id, scope_date, region, service]
        .iter()
        .any(|part| part.is_empty())
    {
        return Err(AuthError::MalformedCredential {
            credential: credential.to_owned(),
        });
    }
    if *terminator != SCOPE_TERMINATOR {
        return Err(AuthError::InvalidScopeTerminator {
            terminator: (*terminator).to_owned(),
        });
    }

    // SignedHeaders=<name>;<name>;...
    // Why lower-cased: header names are case-insensitive and the caller lower-cases the ones
    // received; the canonical request carries lower-case names.
    let signed: Vec<String> = signed_headers
        .split(';')
        .map(str::to_ascii_lowercase)
        .collect();
    if signed.iter().any(String::is_empty) {
        return Err(AuthError::MalformedSignedHeaders {
            signed_headers: signed_headers.to_owned(),
        });
    }

    // x-amz-date: present, well-formed, same day as the scope, within the skew window.
    // Why no `Date` fallback: every SDK sends x-amz-date, and the HTTP-date form would need a
    // second timestamp grammar for no client we serve.
    let amz_date = single_header(req, "x-amz-date")?
        .ok_or(AuthError::MissingDate)?
        .trim();
    let request_seconds = parse_amz_date(amz_date).ok_or_else(|| AuthError::MalformedDate {
        value: amz_date.to_owned(),
    })?;
    if amz_date.get(..8) != Some(*scope_date) {
        return Err(AuthError::ScopeDateMismatch {
            scope_date: (*scope_date).to_owned(),
            amz_date: amz_date.to_owned(),
        });
    }
    check_skew(amz_date, request_seconds, now)?;

    // Headers that must be covered by the signature.
    let is_signed = |name: &str| signed.iter().any(|s| s == name);
    for required in ["host", "x-amz-date"] {
        if !is_signed(required) {
            return Err(AuthError::UnsignedHeader {
                name: required.to_owned(),
            });
        }
    }
    // Why every x-amz-* header: they carry the operation (x-amz-target), the session token
    // and the payload hash; an unsigned one could be swapped by anyone on the path.
    // (`x-amzn-*`, e.g. the X-Ray trace id, is not in this family and proxies may rewrite it.)
    for (name, _) in req.headers {
        if name.starts_with("x-amz-") && !is_signed(name) {
            return Err(AuthError::UnsignedHeader { name: name.clone() });
        }
    }

    // x-amz-content-sha256, when sent, must be the hash of the body we hold.
    if let Some(claimed) = single_header(req, "x-amz-content-sha256")? {
        let actual = hex_sha256(req.body);
        let claimed = claimed.trim().to_ascii_lowercase();
        if !bool::from(claimed.as_bytes().ct_eq(actual.as_bytes())) {
            return Err(AuthError::ContentSha256Mismatch);
        }
    }

    let session_token =
        single_header(req, "x-amz-security-token")?.map(|token| token.trim().to_owned());

    Ok(ParsedAuth {
        access_key_id: (*access_key_id).to_owned(),
        date: (*scope_date).to_owned(),
        region: (*region).to_owned(),
        service: (*service).to_owned(),
        signed_headers: signed,
        signature: signature.to_owned(),
        amz_date: amz_date.to_owned(),
        session_token,
    })
}

/// The one value of a header that must not repeat.
fn single_header<'r>(
    req: &'r Request<'_>,
    name: &'static str,
) -> Result<Option<&'r str>, AuthError> {
    let mut values = req
        .headers
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str());
    let first = values.next();
    if values.next().is_some() {
        return Err(AuthError::DuplicateHeader { name });
    }
    Ok(first)
}

fn check_skew(amz_date: &str, request_seconds: i64, now: Timestamp) -> Result<(), AuthError> {
    let now_millis = now.millis();
    let request_millis = request_seconds.saturating_mul(1000);
    let window_millis = MAX_SKEW_SECONDS * 1000;
    let now_seconds = now_millis.div_euclid(1000);
    if request_millis < now_millis.saturating_sub(window_millis) {
        return Err(AuthError::SignatureExpired {
            amz_date: amz_date.to_owned(),
            earliest: format_amz_date(now_seconds - MAX_SKEW_SECONDS),
            now: format_amz_date(now_seconds),
        });
    }
    if request_millis > now_millis.saturating_add(window_millis) {
        return Err(AuthError::SignatureNotYetCurrent {
            amz_date: amz_date.to_owned(),
            latest: format_amz_date(now_seconds + MAX_SKEW_SECONDS),
            now: format_amz_date(now_seconds),
        });
    }
    Ok(())
}
