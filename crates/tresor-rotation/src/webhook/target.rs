//! A webhook's URL: which ones Tresor posts to, and keeping it out of error summaries (a URL
//! can carry a secret in its path or query, and summaries reach the audit trail).

use http::Uri;

/// Why a webhook URL is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("the webhook URL is not a valid absolute URL")]
    Invalid,
    #[error("the webhook URL must use https (plain http only to a loopback address)")]
    NotHttps,
}

/// Check a webhook URL: `https://…`, or `http://` to a loopback host (a receiver on the same
/// machine), since the request may carry the role's credentials. The rotator's registration
/// checks it up front; [`super::call`] checks it again before posting.
pub fn check_url(url: &str) -> Result<(), UrlError> {
    parse(url).map(|_| ())
}

pub(super) fn parse(url: &str) -> Result<Uri, UrlError> {
    let uri: Uri = url.parse().map_err(|_| UrlError::Invalid)?;
    let host = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or(UrlError::Invalid)?;
    match uri.scheme_str() {
        Some("https") => Ok(uri),
        Some("http") if tresor_core::net::is_loopback_host(host) => Ok(uri),
        Some("http") => Err(UrlError::NotHttps),
        _ => Err(UrlError::Invalid),
    }
}

/// The longest reason a summary carries.
const MAX_REASON: usize = 160;

/// A short reason for a failed request: the messages of the error's causes, with every part
/// of the URL (host, authority, path, query) taken out, cut to a line.
pub(super) fn reason(error: &(dyn std::error::Error + 'static), url: &str, uri: &Uri) -> String {
    let mut messages: Vec<String> = Vec::new();
    let mut cause = Some(error);
    while let Some(e) = cause {
        let message = e.to_string();
        if messages.last() != Some(&message) {
            messages.push(message);
        }
        cause = e.source();
    }
    // The outermost message ("client error (Connect)") says little once a cause is known.
    if messages.len() > 1 {
        messages.remove(0);
    }
    let mut text = messages.join(": ");
    let mut parts: Vec<&str> = vec![url];
    parts.extend(uri.authority().map(|a| a.as_str()));
    parts.extend(uri.host());
    parts.extend(
        uri.path_and_query()
            .map(|p| p.as_str())
            .filter(|p| *p != "/"),
    );
    parts.extend(uri.query());
    parts.retain(|p| !p.is_empty());
    // Longest first, so that the whole URL goes before its pieces.
    parts.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for part in parts {
        text = text.replace(part, "<url>");
    }
    if text.len() > MAX_REASON {
        let mut end = MAX_REASON;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn https_anywhere_http_only_on_loopback() {
        assert_eq!(check_url("https://hooks.example.com/rotate?k=1"), Ok(()));
        assert_eq!(check_url("http://127.0.0.1:8080/rotate"), Ok(()));
        assert_eq!(check_url("http://localhost/rotate"), Ok(()));
        assert_eq!(check_url("http://[::1]:9/rotate"), Ok(()));
        assert_eq!(
            check_url("http://hooks.example.com/rotate"),
            Err(UrlError::NotHttps)
        );
        assert_eq!(check_url("http://10.0.0.1/"), Err(UrlError::NotHttps));
        assert_eq!(check_url("ftp://example.com/x"), Err(UrlError::Invalid));
        assert_eq!(check_url("/relative"), Err(UrlError::Invalid));
        assert_eq!(check_url("not a url"), Err(UrlError::Invalid));
    }

    #[derive(Debug)]
    struct Leaky(String, Option<Box<Leaky>>);
    impl std::fmt::Display for Leaky {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }
    impl std::error::Error for Leaky {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    #[test]
    fn reasons_lose_every_part_of_the_url() {
        let url = "https://user:pw@hooks.example.com:8443/t/s3cr3t?token=hunter2";
        let uri: Uri = url.parse().unwrap();
        let inner = Leaky(
            format!("error sending to {url}; host hooks.example.com, query token=hunter2"),
            None,
        );
        let outer = Leaky("client error (Connect)".into(), Some(Box::new(inner)));
        let r = reason(&outer, url, &uri);
        for part in ["hunter2", "s3cr3t", "hooks.example.com", "pw@"] {
            assert!(!r.contains(part), "{r}");
        }
        assert!(r.starts_with("error sending to <url>"), "{r}");
    }

    #[test]
    fn reasons_are_short() {
        let uri: Uri = "https://h.example/".parse().unwrap();
        let long = Leaky("é".repeat(500), None);
        let r = reason(&long, "https://h.example/", &uri);
        assert!(r.len() <= MAX_REASON + '…'.len_utf8());
    }
}
