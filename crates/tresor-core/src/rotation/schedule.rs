//! Rotation schedules: `RotationRules` checked as Secrets Manager checks them, and the windows
//! in which a secret is rotated. Pure: no clock, no I/O.
//!
//! What AWS does (API reference `RotationRulesType`; user guide "Rotation schedules" /
//! "Schedule expressions in Secrets Manager rotation"), and what this module does:
//!
//! - `AutomaticallyAfterDays` (1–1000) **or** `ScheduleExpression` (`rate()`/`cron()`, UTC,
//!   at most 256 characters), not both, not neither.
//! - `rate(N hours)` / `rate(N days)` (units `hour`, `hours`, `day`, `days`): "You can rotate a
//!   secret as often as every four hours", "The maximum rotation period is 999 days".
//! - `cron(…)`: see [`cron`](self::cron) for the fields.
//! - Windows "always start on the hour". A days schedule (`AutomaticallyAfterDays`,
//!   `rate(N days)`) opens at midnight UTC of the day `last + N days` ("Secrets Manager adds
//!   your rotation interval to the current UTC date", the date of the last rotation) and by
//!   default closes at the end of that day; `rate(N hours)` opens on the hour at `last + N
//!   hours` (rounded down to the hour, so that a schedule rotated at the start of each window
//!   keeps its phase) and by default lasts one hour; a cron window opens at each firing and by
//!   default lasts one hour if the expression fires several times a day, otherwise until the end
//!   of the day.
//! - `Duration` (`Nh`, 1–24) sets the window's length; it may not run into the next UTC day
//!   ("the start hour plus the window duration must be less than or equal to 24 hours") nor
//!   into the next window ("the rotation window is less than or equal to the number of hours
//!   between rotations").
//! - `NextRotationDate` ("on or before this date", "the latest date that rotation will occur")
//!   is the window's last second: real AWS answers `AutomaticallyAfterDays: 30` with
//!   `LastRotatedDate` 2026-01-22T06:42:22Z by `NextRotationDate` 2026-02-21T23:59:59Z (see
//!   [`Window::next_rotation_date`]).
//! - For `AutomaticallyAfterDays` "Manually updating the secret value by calling
//!   `PutSecretValue` or `UpdateSecret` is considered a valid rotation": the caller passes the
//!   later of the last rotation and the last manual change as `last`
//!   ([`Schedule::counts_manual_changes`]).
//!
//! Errors are `InvalidParameterException`. AWS's messages where they are known: "You cannot
//! specify both rotation frequency and schedule expression together." (recorded from AWS in
//! hashicorp/terraform-provider-aws#33329); "Invalid schedule expression.", "Rate in hour should
//! be least 4 and less than 24.", "Rate in day should be greater than 0 and less than 1000.",
//! "Duration must be at least 1 hour, at most 24 hour.", "Duration cannot be greater than Rate
//! in hour.", "Starting hour and duration must be within a day." (quoted as AWS's answers by a
//! CDK preflight rule set). The others are AWS-style sentences of our own.

mod cron;
#[cfg(test)]
mod tests;

use tresor_types::Timestamp;

use self::cron::Cron;
use crate::secretsmanager::dto::RotationRulesType;
use crate::CoreError;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;
/// The longest `ScheduleExpression`.
pub const MAX_EXPRESSION_CHARS: usize = 256;
const HOURS_PER_DAY: u32 = 24;

const BOTH: &str = "You cannot specify both rotation frequency and schedule expression together.";
const NEITHER: &str =
    "You must specify either AutomaticallyAfterDays or ScheduleExpression in RotationRules.";
const AFTER_DAYS_RANGE: &str = "AutomaticallyAfterDays must be between 1 and 1000.";
const TOO_LONG: &str = "ScheduleExpression must be no more than 256 characters long.";
const INVALID_EXPRESSION: &str = "Invalid schedule expression.";
const RATE_HOURS: &str = "Rate in hour should be least 4 and less than 24.";
const RATE_DAYS: &str = "Rate in day should be greater than 0 and less than 1000.";
const DURATION_FORMAT: &str = "Duration must be a whole number of hours followed by h, such as 3h.";
const DURATION_RANGE: &str = "Duration must be at least 1 hour, at most 24 hour.";
const DURATION_OVER_RATE: &str = "Duration cannot be greater than Rate in hour.";
const WITHIN_DAY: &str = "Starting hour and duration must be within a day.";
const INTO_NEXT_WINDOW: &str =
    "Duration cannot be greater than the time between the rotation windows.";

/// A checked schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    cadence: Cadence,
    /// `Duration` in hours; `None`: AWS's default for the cadence.
    duration_hours: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Cadence {
    /// `AutomaticallyAfterDays`.
    AfterDays(u32),
    /// `rate(N days)`.
    RateDays(u32),
    /// `rate(N hours)`.
    RateHours(u32),
    Cron(Cron),
}

/// One rotation window: a rotation is due from `start` and should be done by `end`
/// (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Window {
    /// The window that never opens: what [`Schedule::next_window`] answers for a `last` so far
    /// from today (beyond the years ±9999) that no calendar date can be computed for it.
    pub const NEVER: Window = Window {
        start: Timestamp(i64::MAX),
        end: Timestamp(i64::MAX),
    };

    pub fn contains(&self, t: Timestamp) -> bool {
        self.start <= t && t < self.end
    }

    /// `NextRotationDate` as DescribeSecret shows it: the window's last second (23:59:59 for a
    /// window that lasts until the end of the day, as AWS answers).
    pub fn next_rotation_date(&self) -> Timestamp {
        Timestamp(self.end.0.saturating_sub(1000))
    }
}

fn invalid(message: &str) -> CoreError {
    CoreError::InvalidParameter(message.to_owned())
}

impl Schedule {
    /// Check `RotationRules` as AWS does (one of `AutomaticallyAfterDays` 1–1000 and
    /// `ScheduleExpression`; `rate()`/`cron()` in UTC, ≤ 256 chars, no more often than every 4
    /// hours; `Duration` like `3h`, the window neither running into the next UTC day nor into
    /// the next window), answering AWS's `InvalidParameterException` messages.
    pub fn parse(rules: &RotationRulesType) -> Result<Schedule, CoreError> {
        let cadence = match (
            rules.automatically_after_days,
            rules.schedule_expression.as_deref(),
        ) {
            (Some(_), Some(_)) => return Err(invalid(BOTH)),
            (None, None) => return Err(invalid(NEITHER)),
            (Some(days), None) => match u32::try_from(days) {
                Ok(days @ 1..=1000) => Cadence::AfterDays(days),
                _ => return Err(invalid(AFTER_DAYS_RANGE)),
            },
            (None, Some(expression)) => parse_expression(expression)?,
        };
        let duration_hours = rules.duration.as_deref().map(parse_duration).transpose()?;
        if let Some(hours) = duration_hours {
            check_window(&cadence, hours)?;
        }
        Ok(Schedule {
            cadence,
            duration_hours,
        })
    }

    /// The first window that opens after `last`: the last rotation, or the time rotation was
    /// configured (for `AutomaticallyAfterDays`, or a manual change if later). The rotation is
    /// due at the window's `start`; DescribeSecret's `NextRotationDate` is
    /// [`Window::next_rotation_date`].
    pub fn next_window(&self, last: Timestamp) -> Window {
        let start = match &self.cadence {
            Cadence::AfterDays(days) | Cadence::RateDays(days) => last
                .0
                .div_euclid(DAY_MS)
                .checked_add(i64::from(*days))
                .and_then(|day| day.checked_mul(DAY_MS)),
            Cadence::RateHours(hours) => last
                .0
                .div_euclid(HOUR_MS)
                .checked_add(i64::from(*hours))
                .and_then(|hour| hour.checked_mul(HOUR_MS)),
            Cadence::Cron(cron) => cron.next_after(last.0),
        };
        let length = i64::from(self.window_hours()) * HOUR_MS;
        match start.and_then(|s| Some((s, s.checked_add(length)?))) {
            Some((start, end)) => Window {
                start: Timestamp(start),
                end: Timestamp(end),
            },
            None => Window::NEVER,
        }
    }

    /// Whether the rotation after the one at `last` is due at `now`.
    pub fn is_due(&self, last: Timestamp, now: Timestamp) -> bool {
        now >= self.next_window(last).start
    }

    /// Whether a manual `PutSecretValue`/`UpdateSecret` counts as a rotation: only for
    /// `AutomaticallyAfterDays`, as AWS documents it.
    pub fn counts_manual_changes(&self) -> bool {
        matches!(self.cadence, Cadence::AfterDays(_))
    }

    /// How long each window lasts: `Duration`, or AWS's default.
    fn window_hours(&self) -> u32 {
        self.duration_hours.unwrap_or(match &self.cadence {
            Cadence::AfterDays(_) | Cadence::RateDays(_) => HOURS_PER_DAY,
            Cadence::RateHours(_) => 1,
            Cadence::Cron(cron) if cron.shortest_gap_hours().is_some() => 1,
            Cadence::Cron(cron) => HOURS_PER_DAY - cron.latest_hour(),
        })
    }
}

/// `rate(N hours)`, `rate(N days)` or `cron(…)`.
fn parse_expression(expression: &str) -> Result<Cadence, CoreError> {
    if expression.chars().count() > MAX_EXPRESSION_CHARS {
        return Err(invalid(TOO_LONG));
    }
    let expression = expression.trim();
    if let Some(rate) = inside(expression, "rate(") {
        return parse_rate(rate);
    }
    inside(expression, "cron(")
        .and_then(Cron::parse)
        .map(Cadence::Cron)
        .ok_or_else(|| invalid(INVALID_EXPRESSION))
}

/// What is between `prefix` and the closing parenthesis.
fn inside<'a>(expression: &'a str, prefix: &str) -> Option<&'a str> {
    expression.strip_prefix(prefix)?.strip_suffix(')')
}

fn parse_rate(rate: &str) -> Result<Cadence, CoreError> {
    let (value, unit) = match rate.split_whitespace().collect::<Vec<_>>().as_slice() {
        [value, unit] if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
            // Too many digits for a u32 is out of range, not malformed.
            (value.parse::<u32>().unwrap_or(u32::MAX), *unit)
        }
        _ => return Err(invalid(INVALID_EXPRESSION)),
    };
    match unit {
        "hour" | "hours" if (4..HOURS_PER_DAY).contains(&value) => Ok(Cadence::RateHours(value)),
        "hour" | "hours" => Err(invalid(RATE_HOURS)),
        "day" | "days" if (1..1000).contains(&value) => Ok(Cadence::RateDays(value)),
        "day" | "days" => Err(invalid(RATE_DAYS)),
        _ => Err(invalid(INVALID_EXPRESSION)),
    }
}

/// `Nh`, 1–24.
fn parse_duration(duration: &str) -> Result<u32, CoreError> {
    match duration.strip_suffix('h') {
        Some(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            match n.parse::<u32>() {
                Ok(hours @ 1..=HOURS_PER_DAY) => Ok(hours),
                _ => Err(invalid(DURATION_RANGE)),
            }
        }
        _ => Err(invalid(DURATION_FORMAT)),
    }
}

/// A window of `hours` may not run into the next UTC day nor into the next window.
fn check_window(cadence: &Cadence, hours: u32) -> Result<(), CoreError> {
    match cadence {
        // Opens at midnight; Duration is at most 24 hours.
        Cadence::AfterDays(_) | Cadence::RateDays(_) => Ok(()),
        Cadence::RateHours(rate) if hours > *rate => Err(invalid(DURATION_OVER_RATE)),
        Cadence::RateHours(_) => Ok(()),
        Cadence::Cron(cron) if cron.latest_hour() + hours > HOURS_PER_DAY => {
            Err(invalid(WITHIN_DAY))
        }
        Cadence::Cron(cron) if cron.shortest_gap_hours().is_some_and(|gap| hours > gap) => {
            Err(invalid(INTO_NEXT_WINDOW))
        }
        Cadence::Cron(_) => Ok(()),
    }
}
