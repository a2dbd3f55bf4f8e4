//! Dates for `Date*` conditions and `aws:CurrentTime`, without a clock and without a date
//! library: ISO 8601 (the W3C profile IAM documents) and epoch seconds.

/// A point in time: seconds since the Unix epoch and the nanoseconds past that second.
/// Ordering the pair orders the instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Instant {
    secs: i64,
    nanos: u32,
}

/// Parses a date as IAM accepts it in `Date*` conditions:
///
/// - epoch seconds, optionally with a fraction: `1795878000`, `1795878000.5`;
/// - a calendar date, meaning its midnight UTC: `2026-11-28`;
/// - a date and time, with optional seconds and fraction and an optional zone (`Z` or
///   `±hh:mm`/`±hhmm`; none means UTC): `2026-11-28T15:00Z`, `2026-11-28T15:00:00.250+01:00`.
pub(crate) fn parse(s: &str) -> Option<Instant> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return parse_epoch(s);
    }
    parse_iso(s)
}

fn parse_epoch(s: &str) -> Option<Instant> {
    let (int, frac) = match s.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (s, None),
    };
    let secs = int.parse::<i64>().ok()?;
    let nanos = match frac {
        None => 0,
        Some(frac) => fraction_nanos(frac)?,
    };
    Some(Instant { secs, nanos })
}

/// `digits` after a decimal point, as nanoseconds (digits past the ninth are dropped).
fn fraction_nanos(digits: &str) -> Option<u32> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut nanos = 0u32;
    for i in 0..9 {
        let digit = digits.as_bytes().get(i).map_or(0, |b| u32::from(b - b'0'));
        nanos = nanos * 10 + digit;
    }
    Some(nanos)
}

fn parse_iso(s: &str) -> Option<Instant> {
    let (date, time) = match s.find(['T', 't']) {
        Some(at) => (&s[..at], Some(&s[at + 1..])),
        None => (s, None),
    };
    let [year, month, day] = fields::<3>(date, '-', &[4, 2, 2])?;
    let (year, month, day) = (i64::from(year), month, day);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let Some(time) = time else {
        return Some(Instant {
            secs: days * 86_400,
            nanos: 0,
        });
    };

    let (clock, offset_secs) = split_zone(time)?;
    let (hm_s, nanos) = match clock.split_once('.') {
        Some((hms, frac)) => (hms, fraction_nanos(frac)?),
        None => (clock, 0),
    };
    let (hour, minute, second) = match hm_s.len() {
        5 => {
            let [h, m] = fields::<2>(hm_s, ':', &[2, 2])?;
            if clock.contains('.') {
                return None;
            }
            (h, m, 0)
        }
        _ => {
            let [h, m, s] = fields::<3>(hm_s, ':', &[2, 2, 2])?;
            (h, m, s)
        }
    };
    // Second 60 is a leap second; it reads as the first second of the next minute.
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset_secs;
    Some(Instant { secs, nanos })
}

/// Splits `hh:mm[:ss[.f]]<zone>` into the clock and the zone offset in seconds east of UTC.
fn split_zone(time: &str) -> Option<(&str, i64)> {
    if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        return Some((clock, 0));
    }
    let Some(at) = time.rfind(['+', '-']) else {
        return Some((time, 0));
    };
    let (clock, zone) = (&time[..at], &time[at + 1..]);
    let [h, m] = if zone.len() == 4 && zone.bytes().all(|b| b.is_ascii_digit()) {
        fields::<2>(&format!("{}:{}", &zone[..2], &zone[2..]), ':', &[2, 2])?
    } else {
        fields::<2>(zone, ':', &[2, 2])?
    };
    if h > 23 || m > 59 {
        return None;
    }
    let offset = i64::from(h * 3600 + m * 60);
    Some((
        clock,
        if time.as_bytes()[at] == b'-' {
            -offset
        } else {
            offset
        },
    ))
}

/// `N` fields of exactly the given digit counts, separated by `sep`.
fn fields<const N: usize>(s: &str, sep: char, widths: &[usize; N]) -> Option<[u32; N]> {
    let mut out = [0u32; N];
    let mut parts = s.split(sep);
    for (slot, &width) in out.iter_mut().zip(widths) {
        let part = parts.next()?;
        if part.len() != width || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = part.parse().ok()?;
    }
    parts.next().is_none().then_some(out)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // The ranges are fixed by the arithmetic: day 1..=31, month 1..=12.
    (year, month as u32, day as u32)
}

/// Formats epoch seconds the way AWS presents `aws:CurrentTime`: `2026-11-28T15:00:00Z`.
pub(crate) fn format_iso(epoch_secs: i64) -> String {
    let days = epoch_secs.div_euclid(86_400);
    let secs = epoch_secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::{format_iso, parse, Instant};

    fn at(secs: i64, nanos: u32) -> Option<Instant> {
        Some(Instant { secs, nanos })
    }

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(parse("2026-11-28T15:00:00Z"), at(1_795_878_000, 0));
        assert_eq!(parse("2026-11-28T15:00Z"), at(1_795_878_000, 0));
        assert_eq!(parse("2026-11-28T15:00:00"), at(1_795_878_000, 0));
        assert_eq!(parse("2026-11-28T16:00:00+01:00"), at(1_795_878_000, 0));
        assert_eq!(parse("2026-11-28T14:30:00-0030"), at(1_795_878_000, 0));
        assert_eq!(
            parse("2026-11-28T15:00:00.25Z"),
            at(1_795_878_000, 250_000_000)
        );
        assert_eq!(parse("2026-11-28"), at(1_795_824_000, 0));
        assert_eq!(parse("1795878000"), at(1_795_878_000, 0));
        assert_eq!(parse("1795878000.5"), at(1_795_878_000, 500_000_000));
        assert_eq!(parse("1970-01-01T00:00:00Z"), at(0, 0));
        assert_eq!(parse("1969-12-31T23:59:59Z"), at(-1, 0));
        assert_eq!(parse("2024-02-29"), at(1_709_164_800, 0));
    }

    #[test]
    fn rejects_what_is_not_a_date() {
        for bad in [
            "",
            "tomorrow",
            "2026-13-01",
            "2026-02-30",
            "2025-02-29",
            "2026-11-28T24:00:00Z",
            "2026-11-28T15:60:00Z",
            "2026-11-28T15:00:00+25:00",
            "2026-11-28T15Z",
            "2026-11-28T15:00.5Z",
            "26-11-28",
            "2026-1-28",
            "2026-11-28T15:00:00.Z",
            "1795878000.",
            "1.2.3",
            "2026-11-28 15:00:00Z",
            "2026-11-28T15:00:00+1é1",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_current_time() {
        assert_eq!(format_iso(1_795_878_000), "2026-11-28T15:00:00Z");
        assert_eq!(format_iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_iso(-1), "1969-12-31T23:59:59Z");
        assert_eq!(format_iso(951_782_400), "2000-02-29T00:00:00Z");
        for secs in [0, 1, 86_399, 951_782_400, 1_795_878_000, 4_102_444_799] {
            assert_eq!(parse(&format_iso(secs)), at(secs, 0));
        }
    }
}
