//! AWS Signature Version 4 *verification* (Authorization header form) for the Tresor server.
//!
//! Data path: the server shell receives a request, lower-cases the header names and hands the
//! method, raw path, raw query, headers and the (size-bounded) body to [`parse`] as a
//! [`Request`]. `parse` checks everything that needs no secret — algorithm, credential scope
//! shape, `x-amz-date` and the ±5 minute clock skew, which headers must be signed, the payload
//! hash — and returns a [`ParsedAuth`]. The server checks the scope against its own region and
//! service ([`ParsedAuth::check_scope`]), looks up the secret access key (and session) by
//! `access_key_id`, and calls [`verify`], which recomputes the signature with a cached signing
//! key ([`SigningKeyCache`]) and compares in constant time. Every failure is an [`AuthError`]
//! whose [`AuthError::aws_code`] and [`AuthError::message`] are what the client sees.
//!
//! This crate only verifies; it never signs. Tests use the independent `aws-sigv4` crate as
//! the signer and AWS's published test suite as the reference. No I/O, no logging.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod amz_date;
mod cache;
mod canonical;
mod error;
mod parse;
mod verify;

pub use cache::SigningKeyCache;
pub use canonical::{
    canonical_header_value, canonical_query_string, canonical_request, canonical_uri, hex_sha256,
    string_to_sign,
};
pub use error::{AuthError, AuthFailure};
pub use parse::{parse, ParsedAuth};
pub use verify::verify;

/// The only algorithm accepted.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// A request as received, before any parsing of the body.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// As sent, e.g. `POST`.
    pub method: &'a str,
    /// The raw path as on the wire (still percent-encoded as sent), e.g. `/`.
    pub path: &'a str,
    /// The raw query string without `?`; `""` when there is none.
    pub query: &'a str,
    /// Header names lower-cased by the caller, values as received; a repeated header appears
    /// as repeated entries, in the order received.
    pub headers: &'a [(String, String)],
    /// The whole body (the server bounds its size before calling).
    pub body: &'a [u8],
}
