//! Group commit for the single writer connection.
//!
//! Every write transaction ends with an fsync of the WAL (`synchronous=FULL`), and one writer
//! means one fsync at a time: about a thousand commits a second, whatever the work. So writes
//! that queue up behind each other share a transaction. The writer lock passes down a chain of
//! members: each runs its work in a savepoint of the open transaction (rolled back alone if
//! the work fails), then either hands the lock to the next thread already waiting for it, or,
//! when none waits (or the group is full), commits the transaction for everyone. A member that
//! handed off waits for that commit before it reports success, so nothing is acknowledged
//! before it is durable, and a failed commit fails every member of its group.
//!
//! The group's members see each other's uncommitted writes on the writer connection (they run
//! one after another), so a read-modify-write such as staging a new version stays serial.
//! Readers see a group's writes only once it commits.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use crate::StoreError;

/// Most members one transaction takes before it commits even with threads waiting: bounds
/// the latency of the first member.
pub(super) const MAX_MEMBERS: usize = 64;

/// How long a member waits for its group's commit before giving up (a commit takes
/// milliseconds; this only guards against a bug leaving a waiter forever).
const COMMIT_WAIT: Duration = Duration::from_secs(60);

/// How many commit outcomes are kept for members that have not read theirs yet.
const OUTCOMES_KEPT: u64 = 4096;

#[derive(Default)]
pub(super) struct GroupCommit {
    /// Threads waiting for the writer lock to make a write: the next members.
    queued: AtomicUsize,
    next_id: AtomicU64,
    outcomes: Mutex<BTreeMap<u64, Result<(), String>>>,
    committed: Condvar,
}

impl GroupCommit {
    /// Say that this thread is about to wait for the writer lock.
    pub(super) fn enqueue(&self) {
        self.queued.fetch_add(1, Ordering::SeqCst);
    }

    /// Say that this thread holds the writer lock now.
    pub(super) fn dequeue(&self) {
        self.queued.fetch_sub(1, Ordering::SeqCst);
    }

    /// Whether another thread waits to join the open transaction.
    pub(super) fn has_waiters(&self) -> bool {
        self.queued.load(Ordering::SeqCst) > 0
    }

    /// A fresh group id.
    pub(super) fn new_group(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Record how `group`'s commit went and wake its waiting members.
    pub(super) fn publish(&self, group: u64, outcome: Result<(), String>) {
        let mut outcomes = self.outcomes.lock().unwrap_or_else(PoisonError::into_inner);
        outcomes.insert(group, outcome);
        let oldest_kept = group.saturating_sub(OUTCOMES_KEPT);
        while outcomes
            .first_key_value()
            .is_some_and(|(id, _)| *id < oldest_kept)
        {
            outcomes.pop_first();
        }
        drop(outcomes);
        self.committed.notify_all();
    }

    /// Wait until `group` is committed (`Ok`) or failed to commit.
    pub(super) fn wait(&self, group: u64) -> Result<(), StoreError> {
        let mut outcomes = self.outcomes.lock().unwrap_or_else(PoisonError::into_inner);
        let deadline = std::time::Instant::now() + COMMIT_WAIT;
        loop {
            if let Some(outcome) = outcomes.get(&group) {
                return outcome.clone().map_err(StoreError::Backend);
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(StoreError::Backend(
                    "the outcome of a group commit did not arrive".to_owned(),
                ));
            }
            outcomes = self
                .committed
                .wait_timeout(outcomes, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}
