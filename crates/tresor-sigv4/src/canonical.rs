//! The canonical request and the string to sign, written in the order of the specification
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>):
//!
//! ```text
//! CanonicalRequest =
//!   HTTPMethod + '\n' +
//!   CanonicalURI + '\n' +
//!   CanonicalQueryString + '\n' +
//!   CanonicalHeaders + '\n' +
//!   SignedHeaders + '\n' +
//!   HexEncode(Hash(RequestPayload))
//! ```
//!
//! Where the specification is ambiguous we do what the AWS SDKs do for non-S3 services (the
//! `aws-sigv4` crate is the reference we test against), because the SDKs are our clients.

use aws_lc_rs::digest;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::Request;

/// Everything but the RFC 3986 unreserved characters `A-Z a-z 0-9 - . _ ~` is encoded.
const ENCODE_ALL_BUT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The path keeps its `/` separators; everything else but the unreserved set is encoded.
const ENCODE_PATH: &AsciiSet = &ENCODE_ALL_BUT_UNRESERVED.remove(b'/');

/// The canonical request for `req` under the given `SignedHeaders` list (lower-case names, in
/// the order of the Authorization header).
///
/// Exposed so tests can compare it with AWS's published canonical requests; a server only
/// needs [`crate::verify`].
pub fn canonical_request(req: &Request<'_>, signed_headers: &[String]) -> String {
    let mut out = String::with_capacity(256 + req.path.len() + req.query.len());

    // <HTTPMethod>\n
    // Why as sent: the method is case-sensitive and SDKs send it upper-case; we do not fold it.
    out.push_str(req.method);
    out.push('\n');

    // <CanonicalURI>\n
    out.push_str(&canonical_uri(req.path));
    out.push('\n');

    // <CanonicalQueryString>\n
    out.push_str(&canonical_query_string(req.query));
    out.push('\n');

    // <CanonicalHeaders>\n  -- each entry is "name:value\n", so the block ends in a blank line.
    for name in signed_headers {
        out.push_str(name);
        out.push(':');
        out.push_str(&canonical_header_value(req.headers, name));
        out.push('\n');
    }
    out.push('\n');

    // <SignedHeaders>\n
    out.push_str(&signed_headers.join(";"));
    out.push('\n');

    // <HashedPayload>
    // Why the real hash even when x-amz-content-sha256 is sent: for non-S3 services the
    // payload line is always the hash of the body; `parse` has already required that a sent
    // x-amz-content-sha256 equals it.
    out.push_str(&hex_sha256(req.body));
    out
}

/// The string to sign:
///
/// ```text
/// AWS4-HMAC-SHA256\n<x-amz-date>\n<date>/<region>/<service>/aws4_request\n<hex(sha256(creq))>
/// ```
pub fn string_to_sign(amz_date: &str, credential_scope: &str, canonical_request: &str) -> String {
    let mut out = String::with_capacity(32 + amz_date.len() + credential_scope.len() + 64);
    // Algorithm\n
    out.push_str(crate::ALGORITHM);
    out.push('\n');
    // RequestDateTime\n
    out.push_str(amz_date);
    out.push('\n');
    // CredentialScope\n
    out.push_str(credential_scope);
    out.push('\n');
    // HashedCanonicalRequest
    out.push_str(&hex_sha256(canonical_request.as_bytes()));
    out
}

/// Lower-case hex of SHA-256.
pub fn hex_sha256(data: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, data))
}

/// CanonicalURI for a non-S3 service: the absolute path, normalized (RFC 3986 §5.2.4 dot
/// segments removed, empty segments dropped), then URI-encoded once more.
///
/// Why "once more": the path arrives already percent-encoded as sent on the wire, and non-S3
/// services sign the *double*-encoded form, so `%3D` on the wire becomes `%253D` here. Encoding
/// the wire form once is exactly that, and it also handles clients that send raw bytes such as
/// a space or UTF-8 (they get encoded once, as the AWS test suite expects).
/// Why normalize before encoding: the SDKs normalize the wire form, so `%2E%2E` is a name,
/// not a parent reference.
pub fn canonical_uri(raw_path: &str) -> String {
    let normalized = normalize_path(raw_path);
    utf8_percent_encode(&normalized, ENCODE_PATH).to_string()
}

fn normalize_path(raw_path: &str) -> String {
    // An empty absolute path is "/".
    if raw_path.is_empty() {
        return "/".to_owned();
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in raw_path.split('/') {
        match segment {
            // Empty segments ("//") and "." vanish.
            "" | "." => {}
            // ".." removes the previous segment; above the root it stays at the root.
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut out = String::with_capacity(raw_path.len() + 1);
    for segment in &segments {
        out.push('/');
        out.push_str(segment);
    }
    // A path that ends in a directory ("/a/", "/a/.", "/a/..") keeps its trailing slash, and
    // the root is "/".
    let ends_in_directory = ["/", "/.", "/..", "/./", "/../"]
        .iter()
        .any(|suffix| raw_path.ends_with(suffix))
        || raw_path == "."
        || raw_path == "..";
    if out.is_empty() || ends_in_directory {
        out.push('/');
    }
    out
}

/// CanonicalQueryString: each `&`-separated parameter split at its first `=` (a parameter with
/// no `=` has an empty value), name and value decoded then re-encoded with only the unreserved
/// characters left bare, pairs sorted by encoded name then encoded value, joined `name=value`
/// with `&`.
///
/// Why `+` decodes to a space: the SDKs parse the query as `application/x-www-form-urlencoded`
/// (they never send a bare `+`; they send `%2B` for a plus and `%20` for a space).
/// Why empty parameters (`a&&b`) are skipped: same form parsing.
/// Why invalid UTF-8 after decoding becomes U+FFFD: same form parsing (lossy).
pub fn canonical_query_string(raw_query: &str) -> String {
    let mut pairs: Vec<(String, String)> = raw_query
        .split('&')
        .filter(|param| !param.is_empty())
        .map(|param| {
            let (name, value) = param.split_once('=').unwrap_or((param, ""));
            (reencode_query_part(name), reencode_query_part(value))
        })
        .collect();
    pairs.sort();
    let mut out = String::with_capacity(raw_query.len() + 16);
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

fn reencode_query_part(raw: &str) -> String {
    let plus_as_space = raw.replace('+', " ");
    let decoded = percent_decode_str(&plus_as_space).decode_utf8_lossy();
    utf8_percent_encode(&decoded, ENCODE_ALL_BUT_UNRESERVED).to_string()
}

/// The canonical value of one signed header: every value sent under that (lower-case) name,
/// in the order received, each trimmed with runs of spaces collapsed to one, joined with `,`.
///
/// Why only spaces: the SDKs trim and collapse the space character alone, not tabs.
/// Why a signed header that was not sent yields "": the client signed what it sent, so an
/// absent header can only match a signature made over an empty value.
pub fn canonical_header_value(headers: &[(String, String)], name: &str) -> String {
    let mut out = String::new();
    let mut first = true;
    for (header_name, value) in headers {
        if header_name != name {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        push_trimmed_collapsed(&mut out, value);
    }
    out
}

fn push_trimmed_collapsed(out: &mut String, value: &str) {
    let mut previous_was_space = false;
    for c in value.trim_matches(' ').chars() {
        if c == ' ' {
            if previous_was_space {
                continue;
            }
            previous_was_space = true;
        } else {
            previous_was_space = false;
        }
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_normalization_matches_rfc3986_dot_removal() {
        let cases = [
            ("", "/"),
            ("/", "/"),
            ("//", "/"),
            ("/./", "/"),
            ("/example/..", "/"),
            ("/example1/example2/../..", "/"),
            ("/./example", "/example"),
            ("//example//", "/example/"),
            ("/a/b/.", "/a/b/"),
            ("/a/b/..", "/a/"),
            ("/../a", "/a"),
            ("a/b", "/a/b"),
            ("/a%2E%2E/b", "/a%2E%2E/b"),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_path(raw), want, "path {raw:?}");
        }
    }

    #[test]
    fn uri_is_encoded_once_more() {
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(
            canonical_uri("/test/@connections/JBDvjfGEIAMCERw%3D"),
            "/test/%40connections/JBDvjfGEIAMCERw%253D"
        );
        assert_eq!(canonical_uri("/example space/"), "/example%20space/");
        assert_eq!(canonical_uri("/\u{1234}"), "/%E1%88%B4");
    }

    #[test]
    fn query_is_decoded_reencoded_and_sorted() {
        assert_eq!(canonical_query_string(""), "");
        assert_eq!(canonical_query_string("b=2&a=1"), "a=1&b=2");
        assert_eq!(canonical_query_string("a"), "a=");
        assert_eq!(canonical_query_string("a=2&a=1"), "a=1&a=2");
        assert_eq!(canonical_query_string("a=x%2Fy"), "a=x%2Fy");
        assert_eq!(canonical_query_string("a=x/y"), "a=x%2Fy");
        assert_eq!(canonical_query_string("a=b+c"), "a=b%20c");
        assert_eq!(canonical_query_string("a=%7e"), "a=~");
        assert_eq!(canonical_query_string("a&&b=1"), "a=&b=1");
        assert_eq!(
            canonical_query_string("Param-3=Value3&Param=Value2&%E1%88%B4=Value1"),
            "%E1%88%B4=Value1&Param=Value2&Param-3=Value3"
        );
    }

    #[test]
    fn header_values_are_trimmed_collapsed_and_joined() {
        let headers = vec![
            ("my-header1".to_owned(), "  a   b  c  ".to_owned()),
            ("other".to_owned(), "x".to_owned()),
            ("my-header1".to_owned(), "d".to_owned()),
        ];
        assert_eq!(canonical_header_value(&headers, "my-header1"), "a b c,d");
        assert_eq!(canonical_header_value(&headers, "absent"), "");
        let tabs = vec![("t".to_owned(), "a\t\tb".to_owned())];
        assert_eq!(canonical_header_value(&tabs, "t"), "a\t\tb");
    }
}
