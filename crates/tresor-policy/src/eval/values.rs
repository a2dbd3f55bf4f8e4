//! Typed values for the non-string condition operators: numbers, booleans, CIDR blocks and
//! base64 binaries. Each parser answers `None` for text that is not such a value.

use std::cmp::Ordering;
use std::net::IpAddr;

/// A `Numeric*` value. Integers compare exactly (no rounding through `f64`); anything else
/// compares as a finite `f64`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    Int(i128),
    Float(f64),
}

impl Number {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        if let Ok(int) = text.parse::<i128>() {
            return Some(Number::Int(int));
        }
        text.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Number::Float)
    }

    fn as_f64(self) -> f64 {
        match self {
            // Precision loss only for integers beyond 2^53 compared with a fraction.
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }

    pub(crate) fn compare(self, other: Number) -> Option<Ordering> {
        match (self, other) {
            (Number::Int(a), Number::Int(b)) => Some(a.cmp(&b)),
            (a, b) => a.as_f64().partial_cmp(&b.as_f64()),
        }
    }
}

/// A `Bool`/`Null` value: `true` or `false`, in any case.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// An `IpAddress` operand: an address with an optional prefix length (the full width when
/// absent). Host bits below the prefix are ignored, as AWS does (`203.0.113.7/24` is
/// `203.0.113.0/24`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let network = canonical(addr.parse::<IpAddr>().ok()?);
        let width = match network {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        let prefix = match prefix {
            None => width,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().ok().filter(|&p| p <= width)?
            }
            Some(_) => return None,
        };
        Some(Self { network, prefix })
    }

    /// Whether `addr` lies in this block; an IPv4 block never contains an IPv6 address (other
    /// than an IPv4-mapped one) and vice versa.
    pub(crate) fn contains(self, addr: IpAddr) -> bool {
        match (self.network, canonical(addr)) {
            (IpAddr::V4(net), IpAddr::V4(addr)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(addr) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(addr)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(addr) & mask
            }
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:203.0.113.7`) as the IPv4 address they carry.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

/// Standard base64 (`+/`), padding optional, no whitespace; `None` if malformed.
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let body = text.trim_end_matches('=');
    let padding = text.len() - body.len();
    if padding > 2 || (padding > 0 && text.len() % 4 != 0) || body.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0;
    for byte in body.bytes() {
        let sextet = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(sextet);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    // Leftover bits must be zero, or two encodings would decode to the same bytes.
    (buffer == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        let n = |s| Number::parse(s);
        assert_eq!(n("42"), Some(Number::Int(42)));
        assert_eq!(n("-1.5"), Some(Number::Float(-1.5)));
        assert_eq!(n("abc"), None);
        assert_eq!(n("NaN"), None);
        assert_eq!(n("inf"), None);
        let cmp = |a, b| n(a).and_then(|a| n(b).and_then(|b| a.compare(b)));
        assert_eq!(cmp("10", "9"), Some(Ordering::Greater));
        assert_eq!(cmp("1.0", "1"), Some(Ordering::Equal));
        assert_eq!(
            cmp("9007199254740993", "9007199254740992"),
            Some(Ordering::Greater)
        );
    }

    #[test]
    fn cidrs() {
        let block = |s| Cidr::parse(s).unwrap_or_else(|| panic!("{s}"));
        let ip = |s: &str| s.parse::<IpAddr>().unwrap_or_else(|e| panic!("{s}: {e}"));
        assert!(block("203.0.113.0/24").contains(ip("203.0.113.200")));
        assert!(block("203.0.113.7/24").contains(ip("203.0.113.1")));
        assert!(!block("203.0.113.0/24").contains(ip("203.0.114.1")));
        assert!(block("0.0.0.0/0").contains(ip("8.8.8.8")));
        assert!(!block("0.0.0.0/0").contains(ip("2001:db8::1")));
        assert!(block("203.0.113.7").contains(ip("203.0.113.7")));
        assert!(!block("203.0.113.7").contains(ip("203.0.113.8")));
        assert!(block("2001:db8::/32").contains(ip("2001:db8:ffff::1")));
        assert!(!block("2001:db8::/32").contains(ip("2001:db9::1")));
        assert!(block("::/0").contains(ip("::1")));
        assert!(block("203.0.113.0/24").contains(ip("::ffff:203.0.113.9")));
        for bad in [
            "",
            "203.0.113.0/33",
            "203.0.113.0/",
            "1.2.3",
            "x/8",
            "::/129",
        ] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn base64() {
        assert_eq!(decode_base64("aGVsbG8="), Some(b"hello".to_vec()));
        assert_eq!(decode_base64("aGVsbG8"), Some(b"hello".to_vec()));
        assert_eq!(decode_base64("AAEC/w=="), Some(vec![0, 1, 2, 255]));
        assert_eq!(decode_base64(""), Some(vec![]));
        for bad in ["a", "aGVsbG8===", "aGVs bG8=", "aGVsbG9=", "a=bc"] {
            assert_eq!(decode_base64(bad), None, "{bad}");
        }
    }

    #[test]
    fn bools() {
        assert_eq!(parse_bool("TRUE"), Some(true));
        assert_eq!(parse_bool("false"), Some(false));
        assert_eq!(parse_bool("yes"), None);
    }
}
