//! Where a URL that Tresor will send something to goes: the one check, for gateway routes,
//! webhook rotators and built-in rotators' providers, that plain HTTP stays on this machine.

/// The host of a plain `http://` URL (without port or IPv6 brackets); `None` for any other
/// scheme.
pub fn plain_http_host(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("http://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    Some(host.trim_start_matches('[').trim_end_matches(']'))
}

/// Whether `host` (a name or an address, IPv6 with or without brackets) is this machine's
/// loopback.
pub fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_hosts_and_loopback() {
        assert_eq!(
            plain_http_host("http://127.0.0.1:8080/v1"),
            Some("127.0.0.1")
        );
        assert_eq!(plain_http_host("http://[::1]:9/x"), Some("::1"));
        assert_eq!(
            plain_http_host("http://user@localhost/x"),
            Some("localhost")
        );
        assert_eq!(
            plain_http_host("http://api.example.com?x=1"),
            Some("api.example.com")
        );
        assert_eq!(plain_http_host("https://127.0.0.1/"), None);
        assert!(is_loopback_host("127.0.0.1") && is_loopback_host("[::1]"));
        assert!(is_loopback_host("LocalHost") && is_loopback_host("127.3.4.5"));
        assert!(!is_loopback_host("10.0.0.1") && !is_loopback_host("localhost.example.com"));
        // A host that only starts like a loopback address is not one.
        let tricky = plain_http_host("http://127.0.0.1.evil.example/").unwrap();
        assert!(!is_loopback_host(tricky));
    }
}
