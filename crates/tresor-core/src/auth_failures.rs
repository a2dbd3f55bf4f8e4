//! How many failed authentications each source may write to the audit trail.
//!
//! The trail is append-only and fail-closed: if anonymous traffic could add records without
//! bound, it could fill the disk and stop the service. A request that fails authentication is
//! therefore recorded by its metadata only (never its payload), and each source address gets
//! [`RECORDS_PER_WINDOW`] such records per [`WINDOW`]. Further failures from that source in
//! the same window are still answered (with the same error, so the budget is no oracle), but
//! only counted; the next failure that is recorded carries the count of those that were not
//! (`additionalEventData.unrecordedAuthFailures`), so the trail still says how many there
//! were. Sources are tracked in a table of at most [`MAX_SOURCES`] entries; when it is full,
//! every further source shares one overflow entry, so a spray of addresses is bounded too.
//! Authenticated requests are never limited here.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// The length of one budget window.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Failed authentications recorded per source and window.
pub const RECORDS_PER_WINDOW: u32 = 60;
/// Sources tracked at once before they share the overflow entry.
pub const MAX_SOURCES: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    recorded: u32,
    /// Failures not recorded since the last one that was.
    unrecorded: u64,
}

/// What to do with one failed authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Record it, noting this many earlier failures from the source that were not recorded.
    Record { unrecorded_before: u64 },
    /// Answer it without a record (it is counted).
    Skip,
}

#[derive(Debug, Default)]
pub struct AuthFailureBudget {
    sources: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    by_source: HashMap<IpAddr, Window>,
    overflow: Option<Window>,
}

impl AuthFailureBudget {
    pub fn new() -> Self {
        Self::default()
    }

    /// Account for one failed authentication from `source` at `now`.
    pub fn admit(&self, source: IpAddr, now: Instant) -> Verdict {
        let mut table = self.sources.lock();
        if !table.by_source.contains_key(&source) && table.by_source.len() >= MAX_SOURCES {
            table
                .by_source
                .retain(|_, w| now.duration_since(w.started) < WINDOW);
        }
        let fresh = Window {
            started: now,
            recorded: 0,
            unrecorded: 0,
        };
        let window = if table.by_source.len() < MAX_SOURCES || table.by_source.contains_key(&source)
        {
            table.by_source.entry(source).or_insert(fresh)
        } else {
            table.overflow.get_or_insert(fresh)
        };
        if now.duration_since(window.started) >= WINDOW {
            window.started = now;
            window.recorded = 0;
        }
        if window.recorded < RECORDS_PER_WINDOW {
            window.recorded += 1;
            let unrecorded_before = std::mem::take(&mut window.unrecorded);
            Verdict::Record { unrecorded_before }
        } else {
            window.unrecorded += 1;
            Verdict::Skip
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn each_source_records_a_bounded_number_per_window() {
        let budget = AuthFailureBudget::new();
        let t0 = Instant::now();
        for _ in 0..RECORDS_PER_WINDOW {
            assert!(matches!(
                budget.admit(ip("192.0.2.1"), t0),
                Verdict::Record { .. }
            ));
        }
        for _ in 0..500 {
            assert_eq!(budget.admit(ip("192.0.2.1"), t0), Verdict::Skip);
        }
        // Another source is not affected.
        assert_eq!(
            budget.admit(ip("192.0.2.2"), t0),
            Verdict::Record {
                unrecorded_before: 0
            }
        );
        // The next window records again, and says how many were not recorded.
        assert_eq!(
            budget.admit(ip("192.0.2.1"), t0 + WINDOW),
            Verdict::Record {
                unrecorded_before: 500
            }
        );
        assert_eq!(
            budget.admit(ip("192.0.2.1"), t0 + WINDOW),
            Verdict::Record {
                unrecorded_before: 0
            }
        );
    }

    #[test]
    fn a_spray_of_sources_shares_one_overflow_budget() {
        let budget = AuthFailureBudget::new();
        let t0 = Instant::now();
        let mut recorded = 0u32;
        for i in 0..(MAX_SOURCES as u32 + 5_000) {
            let source = IpAddr::from(std::net::Ipv6Addr::from(0x2001_0db8_u128 << 96 | i as u128));
            if matches!(budget.admit(source, t0), Verdict::Record { .. }) {
                recorded += 1;
            }
        }
        assert_eq!(recorded, MAX_SOURCES as u32 + RECORDS_PER_WINDOW);
        assert!(budget.sources.lock().by_source.len() <= MAX_SOURCES);
    }
}
