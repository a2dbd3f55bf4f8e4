//! Which headers cross the gateway. Everything passes both ways (every `anthropic-*` header,
//! `openai-organization`/`openai-project`, rate-limit headers, `retry-after`,
//! `x-should-retry`), except:
//! - the caller's credential (`authorization`, `x-api-key`), replaced by the provider key;
//! - hop-by-hop headers, which belong to one connection;
//! - `host` and `content-length`, which the client recomputes for the upstream;
//! - `accept-encoding`: the gateway meters usage from the response, so it asks for it
//!   uncompressed (the provider's own compression is a transport detail).

use http::{HeaderMap, HeaderName, HeaderValue};
use tresor_types::SecretBytes;

use crate::wire::Provider;

/// Headers that never cross a proxy (RFC 9110 §7.6.1), and ones the gateway sets itself.
const DROPPED_REQUEST: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "expect",
    "host",
    "content-length",
    "accept-encoding",
    "authorization",
    "x-api-key",
];

const DROPPED_RESPONSE: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The gateway key the caller presented: `Authorization: Bearer tgk_…` (OpenAI SDKs,
/// `ANTHROPIC_AUTH_TOKEN`, and newer Anthropic SDKs with an API key) or `x-api-key: tgk_…`
/// (older Anthropic SDKs).
pub fn presented_key(headers: &HeaderMap) -> Option<&[u8]> {
    if let Some(v) = headers.get(http::header::AUTHORIZATION) {
        let v = v.as_bytes();
        let scheme = v.get(..7)?;
        if scheme.eq_ignore_ascii_case(b"bearer ") {
            return Some(v[7..].trim_ascii());
        }
    }
    headers.get("x-api-key").map(|v| v.as_bytes().trim_ascii())
}

/// The headers to send upstream: the caller's, filtered, with the provider key.
pub fn upstream_request(
    from_client: &HeaderMap,
    provider: Provider,
    key: &SecretBytes,
) -> Result<HeaderMap, http::header::InvalidHeaderValue> {
    let mut out = HeaderMap::with_capacity(from_client.len() + 2);
    for (name, value) in from_client {
        if !DROPPED_REQUEST.contains(&name.as_str()) {
            out.append(name.clone(), value.clone());
        }
    }
    let (name, value) = match provider {
        Provider::OpenAi => {
            let mut v = Vec::with_capacity(7 + key.len());
            v.extend_from_slice(b"Bearer ");
            v.extend_from_slice(key.expose());
            let value = HeaderValue::from_bytes(&v);
            zeroize::Zeroize::zeroize(&mut v);
            (http::header::AUTHORIZATION, value?)
        }
        Provider::Anthropic => (
            HeaderName::from_static("x-api-key"),
            HeaderValue::from_bytes(key.expose())?,
        ),
    };
    let mut value = value;
    value.set_sensitive(true);
    out.insert(name, value);
    out.insert(
        http::header::ACCEPT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    Ok(out)
}

/// The upstream's response headers to pass back. `content-length` goes too when the body
/// may change on the way (a stream whose added usage chunk is removed).
pub fn client_response(from_upstream: &HeaderMap, body_changes: bool) -> HeaderMap {
    let mut out = HeaderMap::with_capacity(from_upstream.len());
    for (name, value) in from_upstream {
        let dropped = DROPPED_RESPONSE.contains(&name.as_str())
            || (body_changes && name == http::header::CONTENT_LENGTH);
        if !dropped {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_gateway_key_comes_from_bearer_or_x_api_key() {
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_static("Bearer tgk_abc"));
        assert_eq!(presented_key(&h), Some(&b"tgk_abc"[..]));
        let mut h = HeaderMap::new();
        h.insert("x-api-key", HeaderValue::from_static("tgk_xyz"));
        assert_eq!(presented_key(&h), Some(&b"tgk_xyz"[..]));
        assert_eq!(presented_key(&HeaderMap::new()), None);
    }

    #[test]
    fn credentials_are_replaced_and_everything_else_passes() {
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_static("Bearer tgk_abc"));
        h.insert("x-api-key", HeaderValue::from_static("tgk_abc"));
        h.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
        h.insert("anthropic-beta", HeaderValue::from_static("prompt-caching"));
        h.insert("openai-organization", HeaderValue::from_static("org-1"));
        h.insert("connection", HeaderValue::from_static("keep-alive"));
        h.insert("accept-encoding", HeaderValue::from_static("gzip"));
        let key = SecretBytes::from_slice(b"sk-upstream");
        let out = upstream_request(&h, Provider::Anthropic, &key).unwrap();
        assert_eq!(out.get("x-api-key").unwrap(), "sk-upstream");
        assert!(out.get("authorization").is_none());
        assert_eq!(out.get("anthropic-version").unwrap(), "2023-06-01");
        assert_eq!(out.get("anthropic-beta").unwrap(), "prompt-caching");
        assert!(out.get("connection").is_none());
        assert_eq!(out.get("accept-encoding").unwrap(), "identity");
        let out = upstream_request(&h, Provider::OpenAi, &key).unwrap();
        assert_eq!(out.get("authorization").unwrap(), "Bearer sk-upstream");
        assert!(out.get("x-api-key").is_none());
        assert_eq!(out.get("openai-organization").unwrap(), "org-1");
        assert!(!format!("{out:?}").contains("sk-upstream"));
    }
}
