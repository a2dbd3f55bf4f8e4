//! The `cron()` expressions of rotation schedules: AWS's six fields
//! `cron(Minutes Hours Day-of-month Month Day-of-week Year)` in UTC, parsed into bit sets and
//! matched a month at a time.
//!
//! What Secrets Manager accepts (user guide, "Schedule expressions in Secrets Manager
//! rotation"): minutes must be `0` (windows open on the hour); hours 0–23; day-of-month 1–31
//! with `, - * ? / L` (and EventBridge's `W`, `LW`); month 1–12 or `JAN`–`DEC` with `, - * /`;
//! day-of-week 1–7 or `SUN`–`SAT` with `# , - * ? / L`; year must be `*` ("Secrets Manager
//! does not support rotation schedules that are more than a year apart"). A value in one of
//! day-of-month and day-of-week needs `?` in the other; AWS's own example
//! `cron(0 1 * 1/3 SUN *)` uses `*` there, so `*` is taken as "no restriction" too, and only two
//! restricted fields (or two `?`) are refused. Hour increments reset each day
//! (`cron(0 4/12 * * ? *)` is 04:00 and 16:00), so the four-hour minimum is checked between the
//! hours of one day. Ranges may wrap (`FRI-MON`, `22-2`).
//!
//! An expression that can never fire (`cron(0 10 30 2 ? *)`) is refused when parsed: whether a
//! month has a matching day depends only on the month, its length and the weekday it starts
//! on, and every such combination occurs in the Gregorian calendar, so checking them all
//! decides it. The calendar repeats every 400 years, so a search for the next firing that
//! looks at 400 years of months always ends, and finds one for any expression that parsed.

use time::{Date, Month};

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;
/// The Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;
/// 1970-01-01 was a Thursday (0 = Sunday).
const UNIX_EPOCH_WEEKDAY: i64 = 4;
/// One Gregorian cycle of months, and the month the search starts in.
const SEARCH_MONTHS: u32 = 400 * 12 + 1;
/// "You can rotate a secret as often as every four hours."
const MIN_HOURS_APART: u32 = 4;
const SATURDAY: u8 = 6;

/// A checked cron expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Cron {
    /// Bit h: hour h (0–23).
    hours: u32,
    /// Bit m: month m (1–12).
    months: u16,
    days: Days,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Days {
    Every,
    OfMonth(MonthDays),
    OfWeek(WeekDays),
}

/// The day-of-month field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct MonthDays {
    /// Bit d: day d (1–31).
    days: u32,
    /// `L`: the month's last day.
    last: bool,
    /// `LW`: the month's last weekday (Monday–Friday).
    last_weekday: bool,
    /// Bit d (`dW`): the weekday nearest day d, within the month.
    nearest_weekday: u32,
}

/// The day-of-week field, weekdays counted from 0 = Sunday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct WeekDays {
    /// Bit w: every weekday w.
    days: u8,
    /// Bit k of `nth[w]` (`w#k`): the k-th weekday w of the month (k 1–5).
    nth: [u8; 7],
    /// Bit w (`wL`): the last weekday w of the month.
    last: u8,
}

impl Cron {
    /// The expression between `cron(` and `)`; `None` if AWS would call it invalid.
    pub(super) fn parse(body: &str) -> Option<Cron> {
        let fields: Vec<&str> = body.split_whitespace().collect();
        let [minutes, hours, dom, month, dow, year] = fields.as_slice() else {
            return None;
        };
        if value(minutes, 0, 59, &[])? != 0 || *year != "*" {
            return None;
        }
        let cron = Cron {
            hours: u32::try_from(parse_list(hours, 0, 23, &[])?).ok()?,
            months: u16::try_from(parse_list(month, 1, 12, &MONTHS)?).ok()?,
            days: parse_days(dom, dow)?,
        };
        let often_enough = cron
            .shortest_gap_hours()
            .is_none_or(|gap| gap >= MIN_HOURS_APART);
        (often_enough && cron.ever_fires()).then_some(cron)
    }

    /// The hours of the day it fires at, in order.
    fn hours(&self) -> impl Iterator<Item = u32> + '_ {
        (0..24).filter(|h| self.hours & (1 << h) != 0)
    }

    /// The last hour of the day it fires at.
    pub(super) fn latest_hour(&self) -> u32 {
        self.hours().last().unwrap_or(0)
    }

    /// The shortest time between two firings on one day, if it fires more than once a day.
    pub(super) fn shortest_gap_hours(&self) -> Option<u32> {
        let hours: Vec<u32> = self.hours().collect();
        hours.windows(2).map(|w| w[1] - w[0]).min()
    }

    /// The first firing strictly after `t` (epoch milliseconds), or `None` past the calendar's
    /// range (years beyond ±9999).
    pub(super) fn next_after(&self, t: i64) -> Option<i64> {
        let today = t.div_euclid(DAY_MS);
        let time_of_day = t.rem_euclid(DAY_MS);
        let julian = i32::try_from(today.checked_add(UNIX_EPOCH_JULIAN_DAY)?).ok()?;
        let date = Date::from_julian_day(julian).ok()?;
        let (mut year, mut month) = (date.year(), date.month());
        let mut first = today - i64::from(date.day() - 1);
        let mut from = date.day();
        for _ in 0..SEARCH_MONTHS {
            let len = month.length(year);
            let matching = self.days_in_month(month, len, weekday_of(first));
            for day in (from..=len).filter(|d| matching & (1 << d) != 0) {
                let epoch_day = first + i64::from(day - 1);
                let after = (epoch_day == today).then_some(time_of_day);
                if let Some(hour) = self.first_hour_after(after) {
                    return epoch_day
                        .checked_mul(DAY_MS)?
                        .checked_add(i64::from(hour) * HOUR_MS);
                }
            }
            first += i64::from(len);
            if month == Month::December {
                year = year.checked_add(1)?;
            }
            month = month.next();
            from = 1;
        }
        None
    }

    /// The first hour it fires at, after `time_of_day` (milliseconds) if given.
    fn first_hour_after(&self, time_of_day: Option<i64>) -> Option<u32> {
        self.hours()
            .find(|&h| time_of_day.is_none_or(|t| i64::from(h) * HOUR_MS > t))
    }

    /// Whether some month of the calendar has a matching day.
    fn ever_fires(&self) -> bool {
        (1..=12u8)
            .filter_map(|m| Month::try_from(m).ok())
            .any(|month| {
                let lengths: &[u8] = match month {
                    Month::February => &[28, 29],
                    Month::April | Month::June | Month::September | Month::November => &[30],
                    _ => &[31],
                };
                lengths
                    .iter()
                    .any(|&len| (0..7).any(|w| self.days_in_month(month, len, w) != 0))
            })
    }

    /// Bit d: day d of a month of `len` days whose first day is weekday `first_weekday`.
    fn days_in_month(&self, month: Month, len: u8, first_weekday: u8) -> u32 {
        if self.months & (1 << u8::from(month)) == 0 {
            return 0;
        }
        let in_month = (u32::MAX >> (31 - len)) & !1;
        match &self.days {
            Days::Every => in_month,
            Days::OfMonth(days) => days.in_month(len, first_weekday) & in_month,
            Days::OfWeek(days) => days.in_month(len, first_weekday),
        }
    }
}

impl MonthDays {
    fn in_month(&self, len: u8, first_weekday: u8) -> u32 {
        let weekday = |d: u8| (first_weekday + d - 1) % 7;
        let mut bits = self.days;
        if self.last {
            bits |= 1 << len;
        }
        if self.last_weekday {
            if let Some(d) = (1..=len).rev().find(|&d| (1..=5).contains(&weekday(d))) {
                bits |= 1 << d;
            }
        }
        for n in (1..=len).filter(|n| self.nearest_weekday & (1 << n) != 0) {
            let d = match weekday(n) {
                SATURDAY if n == 1 => n + 2,
                SATURDAY => n - 1,
                0 if n == len => n - 2,
                0 => n + 1,
                _ => n,
            };
            bits |= 1 << d;
        }
        bits
    }
}

impl WeekDays {
    fn in_month(&self, len: u8, first_weekday: u8) -> u32 {
        let mut bits = 0;
        for d in 1..=len {
            let w = usize::from((first_weekday + d - 1) % 7);
            let nth = (d - 1) / 7 + 1;
            if self.days & (1 << w) != 0
                || self.nth[w] & (1 << nth) != 0
                || (self.last & (1 << w) != 0 && d + 7 > len)
            {
                bits |= 1 << d;
            }
        }
        bits
    }
}

/// The weekday (0 = Sunday) of a day counted from 1970-01-01.
fn weekday_of(epoch_day: i64) -> u8 {
    u8::try_from((epoch_day + UNIX_EPOCH_WEEKDAY).rem_euclid(7)).unwrap_or(0)
}

/// Day-of-month and day-of-week together: at most one of them may restrict the days.
fn parse_days(dom: &str, dow: &str) -> Option<Days> {
    let unrestricted = |f: &str| f == "*" || f == "?";
    match (dom, dow) {
        ("?", "?") => None,
        _ if unrestricted(dom) && unrestricted(dow) => Some(Days::Every),
        (_, "?" | "*") => parse_month_days(dom).map(Days::OfMonth),
        ("?" | "*", _) => parse_week_days(dow).map(Days::OfWeek),
        _ => None,
    }
}

fn parse_month_days(field: &str) -> Option<MonthDays> {
    let mut days = MonthDays::default();
    for item in field.split(',') {
        match item {
            "L" => days.last = true,
            "LW" => days.last_weekday = true,
            _ => match item.strip_suffix('W') {
                Some(n) => days.nearest_weekday |= 1 << value(n, 1, 31, &[])?,
                None => days.days |= u32::try_from(parse_item(item, 1, 31, &[])?).ok()?,
            },
        }
    }
    Some(days)
}

fn parse_week_days(field: &str) -> Option<WeekDays> {
    let mut days = WeekDays::default();
    for item in field.split(',') {
        if item == "L" {
            days.days |= 1 << SATURDAY;
        } else if let Some((w, k)) = item.split_once('#') {
            let w = usize::try_from(value(w, 1, 7, &WEEKDAYS)? - 1).ok()?;
            days.nth[w] |= 1 << value(k, 1, 5, &[])?;
        } else if let Some(w) = item.strip_suffix('L') {
            days.last |= 1 << (value(w, 1, 7, &WEEKDAYS)? - 1);
        } else {
            days.days |= u8::try_from(parse_item(item, 1, 7, &WEEKDAYS)? >> 1).ok()?;
        }
    }
    Some(days)
}

/// A comma-separated list of items: bit v for each value v.
fn parse_list(field: &str, min: u32, max: u32, names: &[&str]) -> Option<u64> {
    field.split(',').try_fold(0, |bits, item| {
        Some(bits | parse_item(item, min, max, names)?)
    })
}

/// `*`, `v`, `a-b` (wrapping when a > b), each optionally with `/step`; `v/step` runs to the
/// field's end.
fn parse_item(item: &str, min: u32, max: u32, names: &[&str]) -> Option<u64> {
    let (range, step) = match item.split_once('/') {
        Some((range, step)) => (range, Some(value(step, 1, max.max(1), &[])?)),
        None => (item, None),
    };
    let (from, to) = match range.split_once('-') {
        _ if range == "*" => (min, max),
        Some((a, b)) => (value(a, min, max, names)?, value(b, min, max, names)?),
        None => {
            let a = value(range, min, max, names)?;
            (a, if step.is_some() { max } else { a })
        }
    };
    let span = max - min + 1;
    let distance = (to + span - from) % span;
    let mut bits = 0;
    let mut k = 0;
    while k <= distance {
        bits |= 1 << (min + (from - min + k) % span);
        k += step.unwrap_or(1);
    }
    Some(bits)
}

/// A number in `min..=max`, or a name (case-insensitive) standing for `min + its index`.
fn value(s: &str, min: u32, max: u32, names: &[&str]) -> Option<u32> {
    let v = if !s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()?
    } else {
        let i = names.iter().position(|n| n.eq_ignore_ascii_case(s))?;
        min + u32::try_from(i).ok()?
    };
    (min..=max).contains(&v).then_some(v)
}
