//! Why a request failed authentication, and how AWS words it on the wire.

/// A SigV4 authentication failure.
///
/// Variants are named by condition; [`AuthError::aws_code`] and [`AuthError::message`] map them
/// to the AWS wire shape in this one place. No variant holds secret material: the secret access
/// key, derived keys and the signature we computed never enter an `AuthError`, so neither
/// `Debug` nor [`AuthError::message`] can leak them.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization` header at all (or an empty one).
    #[error("missing Authorization header")]
    MissingAuthorization,

    /// A header that must appear at most once (`authorization`, `x-amz-date`,
    /// `x-amz-security-token`, `x-amz-content-sha256`) appeared more than once.
    #[error("header {name} appears more than once")]
    DuplicateHeader { name: &'static str },

    /// The algorithm before the first space is not `AWS4-HMAC-SHA256`.
    #[error("unsupported algorithm")]
    UnsupportedAlgorithm { algorithm: String },

    /// One or more of `Credential`, `SignedHeaders`, `Signature` is absent.
    #[error("Authorization header is missing parameters: {missing:?}")]
    MissingAuthParameters {
        missing: Vec<&'static str>,
        /// The Authorization header as sent (AWS echoes it); it holds the client's own
        /// signature at most, never ours.
        authorization: String,
    },

    /// `Credential` does not have the five elements `<akid>/<date>/<region>/<service>/<term>`,
    /// or one of them is empty.
    #[error("malformed Credential")]
    MalformedCredential { credential: String },

    /// The scope does not end in `aws4_request`.
    #[error("invalid credential scope terminator")]
    InvalidScopeTerminator { terminator: String },

    /// `SignedHeaders` holds an empty name (`host;;x-amz-date`).
    #[error("malformed SignedHeaders")]
    MalformedSignedHeaders { signed_headers: String },

    /// Neither `x-amz-date` is present (the `Date` header fallback is not supported).
    #[error("missing x-amz-date header")]
    MissingDate,

    /// `x-amz-date` is not `YYYYMMDD'T'HHMMSS'Z'` or names no real instant.
    #[error("malformed x-amz-date")]
    MalformedDate { value: String },

    /// The scope date differs from the day of `x-amz-date`.
    #[error("credential scope date does not match x-amz-date")]
    ScopeDateMismatch {
        scope_date: String,
        amz_date: String,
    },

    /// The scope names a region this server does not serve (see `ParsedAuth::check_scope`).
    #[error("credential scoped to an invalid region")]
    ScopeRegionInvalid { region: String },

    /// The scope names another service (see `ParsedAuth::check_scope`).
    #[error("credential scoped to the wrong service")]
    ScopeServiceInvalid { expected: String },

    /// A header that must be signed was sent but is not in `SignedHeaders`.
    #[error("header {name} must be signed")]
    UnsignedHeader { name: String },

    /// `x-amz-date` is more than five minutes before `now`. All three are ISO-8601 basic.
    #[error("signature expired")]
    SignatureExpired {
        amz_date: String,
        earliest: String,
        now: String,
    },

    /// `x-amz-date` is more than five minutes after `now`.
    #[error("signature not yet current")]
    SignatureNotYetCurrent {
        amz_date: String,
        latest: String,
        now: String,
    },

    /// `x-amz-content-sha256` is present and is not the SHA-256 of the body.
    #[error("x-amz-content-sha256 does not match the body")]
    ContentSha256Mismatch,

    /// The recomputed signature differs from the one provided.
    #[error("signature mismatch")]
    SignatureMismatch,
}

/// The kind of an authentication failure, as AWS tells them apart: what a client sees (its
/// error code) depends on this and on the protocol, never on more detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthFailure {
    /// No credentials at all.
    MissingToken,
    /// The `Authorization` header or a header it needs is malformed.
    IncompleteSignature,
    /// The signature, its scope or its time does not hold.
    InvalidSignature,
    /// The access key (or its session token) is unknown, inactive or deleted.
    UnrecognizedClient,
    /// The session behind a temporary key has expired.
    ExpiredToken,
}

impl AuthFailure {
    /// The code of the awsJson services (Secrets Manager, CloudTrail, KMS).
    pub fn json_code(self) -> &'static str {
        match self {
            Self::MissingToken => "MissingAuthenticationTokenException",
            Self::IncompleteSignature => "IncompleteSignatureException",
            Self::InvalidSignature => "InvalidSignatureException",
            Self::UnrecognizedClient => "UnrecognizedClientException",
            Self::ExpiredToken => "ExpiredTokenException",
        }
    }

    /// The code of the awsQuery services (IAM, STS).
    pub fn query_code(self) -> &'static str {
        match self {
            Self::MissingToken => "MissingAuthenticationToken",
            Self::IncompleteSignature => "IncompleteSignature",
            Self::InvalidSignature => "SignatureDoesNotMatch",
            Self::UnrecognizedClient => "InvalidClientTokenId",
            Self::ExpiredToken => "ExpiredToken",
        }
    }
}

impl AuthError {
    /// The AWS error code (the `__type` of an awsJson error).
    pub fn aws_code(&self) -> &'static str {
        self.failure().json_code()
    }

    /// The kind of failure this is.
    pub fn failure(&self) -> AuthFailure {
        match self {
            AuthError::MissingAuthorization => AuthFailure::MissingToken,
            AuthError::DuplicateHeader { .. }
            | AuthError::UnsupportedAlgorithm { .. }
            | AuthError::MissingAuthParameters { .. }
            | AuthError::MalformedCredential { .. }
            | AuthError::InvalidScopeTerminator { .. }
            | AuthError::MalformedSignedHeaders { .. }
            | AuthError::MissingDate
            | AuthError::MalformedDate { .. } => AuthFailure::IncompleteSignature,
            AuthError::ScopeDateMismatch { .. }
            | AuthError::ScopeRegionInvalid { .. }
            | AuthError::ScopeServiceInvalid { .. }
            | AuthError::UnsignedHeader { .. }
            | AuthError::SignatureExpired { .. }
            | AuthError::SignatureNotYetCurrent { .. }
            | AuthError::ContentSha256Mismatch
            | AuthError::SignatureMismatch => AuthFailure::InvalidSignature,
        }
    }

    /// The message AWS would send for this condition. Never holds secret material or the
    /// signature we expected.
    pub fn message(&self) -> String {
        match self {
            AuthError::MissingAuthorization => "Missing Authentication Token".to_owned(),
            AuthError::DuplicateHeader { name } => {
                format!("Only one '{name}' header is allowed in a signed request.")
            }
            AuthError::UnsupportedAlgorithm { algorithm } => {
                format!("Unsupported AWS 'algorithm': '{algorithm}'.")
            }
            AuthError::MissingAuthParameters {
                missing,
                authorization,
            } => {
                let mut out = String::new();
                for name in missing {
                    out.push_str("Authorization header requires '");
                    out.push_str(name);
                    out.push_str("' parameter. ");
                }
                out.push_str("Authorization=");
                out.push_str(authorization);
                out
            }
            AuthError::MalformedCredential { credential } => format!(
                "Credential must have exactly 5 slash-delimited elements, e.g. \
                 keyid/date/region/service/term, got '{credential}'"
            ),
            AuthError::InvalidScopeTerminator { terminator } => format!(
                "Credential should be scoped with a valid terminator: 'aws4_request', not \
                 '{terminator}'."
            ),
            AuthError::MalformedSignedHeaders { signed_headers } => {
                format!("'SignedHeaders' contains an empty header name: '{signed_headers}'.")
            }
            AuthError::MissingDate => "Authorization header requires existence of either a \
                 'X-Amz-Date' or a 'Date' header."
                .to_owned(),
            AuthError::MalformedDate { value } => format!(
                "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\", got \
                 '{value}'."
            ),
            AuthError::ScopeDateMismatch {
                scope_date,
                amz_date,
            } => {
                let amz_day = amz_date.get(..8).unwrap_or(amz_date);
                format!(
                    "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of \
                     date from HTTP: '{scope_date}' != '{amz_day}', from '{amz_date}'."
                )
            }
            AuthError::ScopeRegionInvalid { region } => {
                format!("Credential should be scoped to a valid region, not '{region}'.")
            }
            AuthError::ScopeServiceInvalid { expected } => {
                format!("Credential should be scoped to correct service: '{expected}'.")
            }
            AuthError::UnsignedHeader { name } => {
                if name == "host" {
                    "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
                        .to_owned()
                } else {
                    format!("'{name}' must be a 'SignedHeader' in the AWS Authorization.")
                }
            }
            AuthError::SignatureExpired {
                amz_date,
                earliest,
                now,
            } => format!(
                "Signature expired: {amz_date} is now earlier than {earliest} ({now} - 5 min.)"
            ),
            AuthError::SignatureNotYetCurrent {
                amz_date,
                latest,
                now,
            } => format!(
                "Signature not yet current: {amz_date} is still later than {latest} ({now} + 5 \
                 min.)"
            ),
            AuthError::ContentSha256Mismatch => {
                "The provided 'x-amz-content-sha256' header does not match what was computed."
                    .to_owned()
            }
            AuthError::SignatureMismatch => "The request signature we calculated does not match \
                 the signature you provided. Check your AWS Secret Access Key and signing method. \
                 Consult the service documentation for details."
                .to_owned(),
        }
    }
}
