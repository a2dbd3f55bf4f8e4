//! Rotation schedules: `RotationRules` checked with AWS's messages, and the windows in which a
//! secret is rotated.
//!
//! TO BUILD (helper): see the brief.

use tresor_types::Timestamp;

use crate::secretsmanager::dto::RotationRulesType;
use crate::CoreError;

/// A checked schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    // Helper: the representation is yours.
    _private: (),
}

/// One rotation window: a rotation is due from `start` and should be done by `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Schedule {
    /// Check `RotationRules` as AWS does (one of `AutomaticallyAfterDays` 1–1000 and
    /// `ScheduleExpression`; `rate()`/`cron()` in UTC, ≤ 256 chars, no more often than every 4
    /// hours; `Duration` like `3h`, the window neither running into the next UTC day nor into
    /// the next window), answering AWS's `InvalidParameterException` messages.
    pub fn parse(rules: &RotationRulesType) -> Result<Schedule, CoreError> {
        let _ = rules;
        todo!("helper")
    }

    /// The first window that opens after `last`, the last rotation (or the time rotation was
    /// configured): `NextRotationDate` is its start… (see the brief for AWS's rules).
    pub fn next_window(&self, last: Timestamp) -> Window {
        let _ = last;
        todo!("helper")
    }
}
