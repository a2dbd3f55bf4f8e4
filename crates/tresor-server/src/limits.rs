//! Connection limits: how many connections the listener holds, from one source and in all,
//! and how long it waits for each one's bytes.
//!
//! A connection holds a socket, a task and buffers before it has sent a single request, so an
//! attacker who opens connections and never finishes a request costs the server without ever
//! reaching authentication. Three bounds stop that: the total number of connections (the
//! listener stops accepting at the cap, so new clients wait in the kernel's backlog instead of
//! being refused), the number per source address (a connection past it is closed at once, so
//! one source cannot take every slot), and the deadlines in [`crate::deadlines`].

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

/// The listener's limits. [`Limits::default`] is what `tresor server` uses unless told
/// otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections held at once; the listener stops accepting at this many.
    pub max_connections: usize,
    /// Connections held at once from one source address; more are closed at once.
    pub max_connections_per_ip: usize,
    /// Time from a request's first byte (or a TLS handshake's) to its complete head.
    pub header_read_timeout: Duration,
    /// Time allowed for a request's body once its head has arrived.
    pub body_read_timeout: Duration,
    /// Time a connection may stay open with no request in flight and no bytes sent.
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 4096,
            max_connections_per_ip: 256,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// Most headers one request may carry (the SDKs send about ten).
pub const MAX_HEADERS: usize = 64;
/// Largest request head (request line and headers), in bytes.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Most concurrent HTTP/2 streams on one connection.
pub const MAX_H2_STREAMS: u32 = 128;

/// Connections open per source address.
#[derive(Debug, Default)]
pub struct PerSource {
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's place in [`PerSource`], given back when dropped.
#[derive(Debug)]
pub struct SourceSlot {
    table: Arc<PerSource>,
    source: IpAddr,
}

impl PerSource {
    /// A slot for one more connection from `source`, unless it already holds `max`.
    pub fn take(table: &Arc<Self>, source: IpAddr, max: usize) -> Option<SourceSlot> {
        let mut open = table.open.lock();
        let count = open.entry(source).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(SourceSlot {
            table: table.clone(),
            source,
        })
    }

    #[cfg(test)]
    fn held(&self, source: IpAddr) -> usize {
        self.open.lock().get(&source).copied().unwrap_or(0)
    }
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        let mut open = self.table.open.lock();
        if let Some(count) = open.get_mut(&self.source) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.source);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_per_source_are_bounded_and_given_back() {
        let table = Arc::new(PerSource::default());
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let held: Vec<_> = (0..3)
            .map(|_| PerSource::take(&table, a, 3).unwrap())
            .collect();
        assert!(PerSource::take(&table, a, 3).is_none());
        let other = PerSource::take(&table, b, 3);
        assert!(other.is_some());
        drop(held);
        assert_eq!(table.held(a), 0);
        assert!(
            table.open.lock().get(&a).is_none(),
            "empty entries are removed"
        );
        assert!(PerSource::take(&table, a, 3).is_some());
    }
}
