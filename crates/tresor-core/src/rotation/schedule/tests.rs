//! Tests of rotation schedules: each rule of `RotationRules` at its boundaries, with AWS's
//! messages, and the windows across month, year and leap-day ends.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::*;

fn at(s: &str) -> Timestamp {
    let t = OffsetDateTime::parse(s, &Rfc3339).unwrap();
    Timestamp(i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap())
}

fn rules(days: Option<i64>, expression: Option<&str>, duration: Option<&str>) -> RotationRulesType {
    RotationRulesType {
        automatically_after_days: days,
        duration: duration.map(str::to_owned),
        schedule_expression: expression.map(str::to_owned),
    }
}

fn expr(expression: &str) -> Result<Schedule, CoreError> {
    Schedule::parse(&rules(None, Some(expression), None))
}

fn expr_with(expression: &str, duration: &str) -> Result<Schedule, CoreError> {
    Schedule::parse(&rules(None, Some(expression), Some(duration)))
}

fn after_days(days: i64) -> Result<Schedule, CoreError> {
    Schedule::parse(&rules(Some(days), None, None))
}

/// The InvalidParameterException message, or a panic if it parsed or failed otherwise.
fn refused(result: Result<Schedule, CoreError>) -> String {
    match result {
        Err(CoreError::InvalidParameter(message)) => message,
        other => panic!("expected InvalidParameterException, got {other:?}"),
    }
}

fn window(schedule: &Schedule, last: &str) -> (Timestamp, Timestamp) {
    let w = schedule.next_window(at(last));
    (w.start, w.end)
}

fn span(start: &str, end: &str) -> (Timestamp, Timestamp) {
    (at(start), at(end))
}

// ---- AutomaticallyAfterDays, and the choice between the two fields ----

#[test]
fn automatically_after_days_accepts_1_to_1000() {
    assert!(after_days(1).is_ok());
    assert!(after_days(1000).is_ok());
    assert_eq!(refused(after_days(0)), AFTER_DAYS_RANGE);
    assert_eq!(refused(after_days(1001)), AFTER_DAYS_RANGE);
    assert_eq!(refused(after_days(-1)), AFTER_DAYS_RANGE);
    assert_eq!(refused(after_days(i64::MAX)), AFTER_DAYS_RANGE);
}

#[test]
fn both_fields_answer_aws_message() {
    let both = rules(Some(30), Some("rate(10 days)"), None);
    assert_eq!(
        refused(Schedule::parse(&both)),
        "You cannot specify both rotation frequency and schedule expression together."
    );
}

#[test]
fn neither_field_is_refused_even_with_a_duration() {
    assert_eq!(refused(Schedule::parse(&rules(None, None, None))), NEITHER);
    assert_eq!(
        refused(Schedule::parse(&rules(None, None, Some("2h")))),
        NEITHER
    );
}

#[test]
fn only_automatically_after_days_counts_manual_changes() {
    assert!(after_days(30).unwrap().counts_manual_changes());
    assert!(!expr("rate(30 days)").unwrap().counts_manual_changes());
    assert!(!expr("cron(0 10 * * ? *)").unwrap().counts_manual_changes());
}

// ---- rate() ----

#[test]
fn rate_in_hours_is_4_to_23() {
    assert!(expr("rate(4 hours)").is_ok());
    assert!(expr("rate(23 hours)").is_ok());
    assert_eq!(refused(expr("rate(3 hours)")), RATE_HOURS);
    assert_eq!(refused(expr("rate(1 hour)")), RATE_HOURS);
    assert_eq!(refused(expr("rate(24 hours)")), RATE_HOURS);
    assert_eq!(refused(expr("rate(0 hours)")), RATE_HOURS);
    assert_eq!(
        refused(expr("rate(99999999999999999999 hours)")),
        RATE_HOURS
    );
}

#[test]
fn rate_in_days_is_1_to_999() {
    assert!(expr("rate(1 day)").is_ok());
    assert!(expr("rate(1 days)").is_ok());
    assert!(expr("rate(999 days)").is_ok());
    assert_eq!(refused(expr("rate(0 days)")), RATE_DAYS);
    assert_eq!(refused(expr("rate(1000 days)")), RATE_DAYS);
}

#[test]
fn malformed_rates_are_invalid_expressions() {
    for bad in [
        "rate(4 minutes)",
        "rate(1 week)",
        "rate(4hours)",
        "rate(-4 hours)",
        "rate(+4 hours)",
        "rate(4.5 hours)",
        "rate(hours)",
        "rate(4 hours",
        "rate 4 hours)",
        "RATE(4 hours)",
        "rate(4 HOURS)",
        "rate()",
        "",
        "every 4 hours",
    ] {
        assert_eq!(refused(expr(bad)), INVALID_EXPRESSION, "{bad}");
    }
}

#[test]
fn expressions_are_at_most_256_characters() {
    let pad = |n: usize| {
        let core = "cron(0 10 * * ? *";
        format!("{core}{})", " ".repeat(n - core.len() - 1))
    };
    assert_eq!(pad(256).chars().count(), 256);
    assert!(expr(&pad(256)).is_ok());
    assert_eq!(refused(expr(&pad(257))), TOO_LONG);
}

// ---- Duration ----

#[test]
fn duration_is_1h_to_24h() {
    assert!(expr_with("rate(1 day)", "1h").is_ok());
    assert!(expr_with("rate(1 day)", "24h").is_ok());
    assert!(expr_with("rate(1 day)", "03h").is_ok());
    assert_eq!(refused(expr_with("rate(1 day)", "0h")), DURATION_RANGE);
    assert_eq!(refused(expr_with("rate(1 day)", "25h")), DURATION_RANGE);
    assert_eq!(refused(expr_with("rate(1 day)", "100h")), DURATION_RANGE);
    for bad in ["3", "h", "3H", "3hh", "h3", "", "3 h", "-3h", "1.5h"] {
        assert_eq!(
            refused(expr_with("rate(1 day)", bad)),
            DURATION_FORMAT,
            "{bad}"
        );
    }
}

#[test]
fn duration_with_automatically_after_days_may_fill_the_day() {
    assert!(Schedule::parse(&rules(Some(7), None, Some("24h"))).is_ok());
}

#[test]
fn duration_may_not_exceed_an_hourly_rate() {
    assert!(expr_with("rate(4 hours)", "4h").is_ok());
    assert_eq!(
        refused(expr_with("rate(4 hours)", "5h")),
        DURATION_OVER_RATE
    );
}

#[test]
fn a_cron_window_may_not_run_into_the_next_day() {
    assert!(expr_with("cron(0 22 * * ? *)", "2h").is_ok());
    assert_eq!(
        refused(expr_with("cron(0 22 * * ? *)", "3h")),
        "Starting hour and duration must be within a day."
    );
    assert!(expr_with("cron(0 0 * * ? *)", "24h").is_ok());
    // The latest hour of the day decides.
    assert!(expr_with("cron(0 4/12 * * ? *)", "8h").is_ok());
    assert_eq!(refused(expr_with("cron(0 4/12 * * ? *)", "9h")), WITHIN_DAY);
}

#[test]
fn a_cron_window_may_not_run_into_the_next_window() {
    assert!(expr_with("cron(0 0,6 * * ? *)", "6h").is_ok());
    assert_eq!(
        refused(expr_with("cron(0 0,6 * * ? *)", "7h")),
        INTO_NEXT_WINDOW
    );
}

// ---- cron() ----

#[test]
fn aws_documented_cron_examples_parse() {
    for ok in [
        "cron(0 10 * * ? *)",
        "cron(0 18 ? * SAT *)",
        "cron(0 8 1 * ? *)",
        "cron(0 1 * 1/3 SUN *)",
        "cron(0 17 L * ? *)",
        "cron(0 8 ? * MON-FRI *)",
        "cron(0 16 1,15 * ? *)",
        "cron(0 0 ? * SUN#1 *)",
        "cron(0 4/12 * * ? *)",
        "cron(0 10 ? FEB,MAY,AUG,NOV TUE#2 *)",
        "cron(0 8/8 * * ? *)",
        "cron(0 2/10 * * ? *)",
        "cron(0 8 1/7 * ? *)",
    ] {
        assert!(expr(ok).is_ok(), "{ok}");
    }
}

#[test]
fn cron_accepts_aws_wildcards_and_names() {
    for ok in [
        "cron(0 10 ? * 6L *)",
        "cron(0 10 ? * FRIL *)",
        "cron(0 10 ? * L *)",
        "cron(0 10 15W * ? *)",
        "cron(0 10 LW * ? *)",
        "cron(0 10 1-15 * ? *)",
        "cron(0 10 */2 * ? *)",
        "cron(0 10 ? jan-mar mon *)",
        "cron(0 10 ? * FRI-MON *)",
        "cron(0 10 ? * 2,4,6 *)",
        "cron(0 10 ? * MON#5,FRI#1 *)",
        "cron(0 10 L,15 * ? *)",
        "cron( 0 10 * * ? * )",
        "cron(00 10 * * ? *)",
    ] {
        assert!(expr(ok).is_ok(), "{ok}");
    }
}

#[test]
fn cron_needs_six_fields_minutes_0_and_year_star() {
    for bad in [
        "cron(0 10 * * ?)",
        "cron(0 10 * * ? * *)",
        "cron(30 10 * * ? *)",
        "cron(* 10 * * ? *)",
        "cron(0 10 * * ? 2025)",
        "cron(0 10 * * ? 2025-2030)",
        "cron(0 10 * * ? *",
        "CRON(0 10 * * ? *)",
        "cron()",
    ] {
        assert_eq!(refused(expr(bad)), INVALID_EXPRESSION, "{bad}");
    }
}

#[test]
fn cron_restricts_day_of_month_or_day_of_week_not_both() {
    assert_eq!(refused(expr("cron(0 10 ? * ? *)")), INVALID_EXPRESSION);
    assert_eq!(refused(expr("cron(0 10 1 * MON *)")), INVALID_EXPRESSION);
    assert_eq!(refused(expr("cron(0 10 L * 6L *)")), INVALID_EXPRESSION);
    assert!(expr("cron(0 10 * * * *)").is_ok());
}

#[test]
fn cron_values_outside_their_fields_are_invalid() {
    for bad in [
        "cron(0 24 * * ? *)",
        "cron(0 10 0 * ? *)",
        "cron(0 10 32 * ? *)",
        "cron(0 10 * 0 ? *)",
        "cron(0 10 * 13 ? *)",
        "cron(0 10 * JANUARY ? *)",
        "cron(0 10 ? * 0 *)",
        "cron(0 10 ? * 8 *)",
        "cron(0 10 ? * MON#0 *)",
        "cron(0 10 ? * MON#6 *)",
        "cron(0 10 ? * #2 *)",
        "cron(0 10 32W * ? *)",
        "cron(0 10 W * ? *)",
        "cron(0 10 L-2 * ? *)",
        "cron(0 10 1/0 * ? *)",
        "cron(0 10 1,,2 * ? *)",
        "cron(0 10 1- * ? *)",
        "cron(0 10 ? * MON/ *)",
        "cron(0 10 ? * 15W *)",
        "cron(0 10 ? * LW *)",
        "cron(0 10 1#2 * ? *)",
        "cron(0 MON * * ? *)",
    ] {
        assert_eq!(refused(expr(bad)), INVALID_EXPRESSION, "{bad}");
    }
}

#[test]
fn cron_may_fire_no_more_often_than_every_four_hours_in_a_day() {
    assert!(expr("cron(0 0/4 * * ? *)").is_ok());
    assert!(expr("cron(0 1,5 * * ? *)").is_ok());
    // Increments reset each day: 20:00 then 00:00 is allowed (AWS's own 4/12 example).
    assert!(expr("cron(0 0/5 * * ? *)").is_ok());
    for bad in [
        "cron(0 * * * ? *)",
        "cron(0 0/3 * * ? *)",
        "cron(0 1,4 * * ? *)",
        "cron(0 9-17 ? * MON-FRI *)",
        "cron(0 22-2/2 * * ? *)",
    ] {
        assert_eq!(refused(expr(bad)), INVALID_EXPRESSION, "{bad}");
    }
}

#[test]
fn cron_that_never_fires_is_refused() {
    for never in [
        "cron(0 10 30 2 ? *)",
        "cron(0 10 31 4,6,9,11 ? *)",
        "cron(0 10 30,31 FEB ? *)",
    ] {
        assert_eq!(refused(expr(never)), INVALID_EXPRESSION, "{never}");
    }
    // Rare is not never.
    assert!(expr("cron(0 0 29 2 ? *)").is_ok());
    assert!(expr("cron(0 0 ? 2 MON#5 *)").is_ok());
}

// ---- Windows: days ----

#[test]
fn days_window_is_the_whole_utc_day_last_plus_n() {
    let s = after_days(1).unwrap();
    assert_eq!(
        window(&s, "2024-03-10T10:30:00Z"),
        span("2024-03-11T00:00:00Z", "2024-03-12T00:00:00Z")
    );
    // Just before midnight still counts from its own date.
    assert_eq!(
        window(&s, "2024-03-10T23:59:59.999Z"),
        span("2024-03-11T00:00:00Z", "2024-03-12T00:00:00Z")
    );
}

#[test]
fn next_rotation_date_matches_what_aws_answered() {
    // Recorded from DescribeSecret: AutomaticallyAfterDays 30, last rotation (or manual change)
    // → NextRotationDate at 23:59:59 UTC thirty days later.
    let s = after_days(30).unwrap();
    let w = s.next_window(at("2026-01-22T06:42:22.340Z"));
    assert_eq!(w.next_rotation_date(), at("2026-02-21T23:59:59Z"));
    let w = s.next_window(at("2026-02-03T17:42:24.335Z"));
    assert_eq!(w.next_rotation_date(), at("2026-03-05T23:59:59Z"));
}

#[test]
fn days_windows_cross_month_year_and_leap_days() {
    let one = after_days(1).unwrap();
    assert_eq!(
        window(&one, "2024-01-31T12:00:00Z").0,
        at("2024-02-01T00:00:00Z")
    );
    assert_eq!(
        window(&one, "2024-02-28T12:00:00Z").0,
        at("2024-02-29T00:00:00Z")
    );
    assert_eq!(
        window(&one, "2023-02-28T12:00:00Z").0,
        at("2023-03-01T00:00:00Z")
    );
    assert_eq!(
        window(&one, "2024-12-31T23:00:00Z"),
        span("2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z")
    );
    let thousand = after_days(1000).unwrap();
    assert_eq!(
        window(&thousand, "2024-01-01T08:00:00Z").0,
        at("2026-09-27T00:00:00Z")
    );
    let rate = expr("rate(365 days)").unwrap();
    assert_eq!(
        window(&rate, "2024-01-01T08:00:00Z").0,
        at("2024-12-31T00:00:00Z")
    );
}

#[test]
fn duration_shortens_a_days_window_from_midnight() {
    let s = expr_with("rate(10 days)", "3h").unwrap();
    assert_eq!(
        window(&s, "2024-02-25T15:00:00Z"),
        span("2024-03-06T00:00:00Z", "2024-03-06T03:00:00Z")
    );
    let w = s.next_window(at("2024-02-25T15:00:00Z"));
    assert_eq!(w.next_rotation_date(), at("2024-03-06T02:59:59Z"));
}

// ---- Windows: hours ----

#[test]
fn hours_window_opens_on_the_hour_n_hours_later_for_one_hour() {
    let s = expr("rate(4 hours)").unwrap();
    assert_eq!(
        window(&s, "2024-05-01T10:37:00Z"),
        span("2024-05-01T14:00:00Z", "2024-05-01T15:00:00Z")
    );
    // Rotated at the start of each window: the phase is kept.
    assert_eq!(
        window(&s, "2024-05-01T14:00:00Z").0,
        at("2024-05-01T18:00:00Z")
    );
    let s = expr_with("rate(6 hours)", "6h").unwrap();
    assert_eq!(
        window(&s, "2024-12-31T22:15:00Z"),
        span("2025-01-01T04:00:00Z", "2025-01-01T10:00:00Z")
    );
}

// ---- Windows: cron ----

#[test]
fn daily_cron_window_opens_at_its_hour_and_lasts_the_day() {
    let s = expr("cron(0 10 * * ? *)").unwrap();
    assert_eq!(
        window(&s, "2024-02-28T09:00:00Z"),
        span("2024-02-28T10:00:00Z", "2024-02-29T00:00:00Z")
    );
    // Strictly after `last`.
    assert_eq!(
        window(&s, "2024-02-28T10:00:00Z").0,
        at("2024-02-29T10:00:00Z")
    );
    assert_eq!(
        window(&s, "2024-12-31T10:30:00Z").0,
        at("2025-01-01T10:00:00Z")
    );
    let s = expr_with("cron(0 10 * * ? *)", "2h").unwrap();
    assert_eq!(
        window(&s, "2024-02-28T09:00:00Z"),
        span("2024-02-28T10:00:00Z", "2024-02-28T12:00:00Z")
    );
}

#[test]
fn hourly_cron_windows_last_one_hour_and_reset_each_day() {
    let s = expr("cron(0 4/12 * * ? *)").unwrap();
    assert_eq!(
        window(&s, "2024-05-01T05:00:00Z"),
        span("2024-05-01T16:00:00Z", "2024-05-01T17:00:00Z")
    );
    assert_eq!(
        window(&s, "2024-05-01T17:00:00Z").0,
        at("2024-05-02T04:00:00Z")
    );
}

#[test]
fn cron_last_day_of_month() {
    let s = expr("cron(0 17 L * ? *)").unwrap();
    assert_eq!(
        window(&s, "2024-02-10T00:00:00Z").0,
        at("2024-02-29T17:00:00Z")
    );
    assert_eq!(
        window(&s, "2023-02-10T00:00:00Z").0,
        at("2023-02-28T17:00:00Z")
    );
    assert_eq!(
        window(&s, "2024-02-29T18:00:00Z").0,
        at("2024-03-31T17:00:00Z")
    );
    assert_eq!(
        window(&s, "2024-12-31T18:00:00Z").0,
        at("2025-01-31T17:00:00Z")
    );
}

#[test]
fn cron_nth_and_last_weekday_of_month() {
    let first_sunday = expr("cron(0 0 ? * SUN#1 *)").unwrap();
    assert_eq!(
        window(&first_sunday, "2024-01-15T00:00:00Z").0,
        at("2024-02-04T00:00:00Z")
    );
    let third_tuesday = expr("cron(0 9 ? * TUE#3 *)").unwrap();
    assert_eq!(
        window(&third_tuesday, "2024-11-01T00:00:00Z").0,
        at("2024-11-19T09:00:00Z")
    );
    let last_friday = expr("cron(0 0 ? * 6L *)").unwrap();
    assert_eq!(
        window(&last_friday, "2024-01-01T00:00:00Z").0,
        at("2024-01-26T00:00:00Z")
    );
    // March 2024 starts and ends on a Friday.
    assert_eq!(
        window(&last_friday, "2024-03-01T12:00:00Z").0,
        at("2024-03-29T00:00:00Z")
    );
    // 2024-10-31 is a Thursday: the last Friday is six days before the month's end.
    assert_eq!(
        window(&last_friday, "2024-10-01T00:00:00Z").0,
        at("2024-10-25T00:00:00Z")
    );
    let saturdays = expr("cron(0 0 ? * L *)").unwrap();
    assert_eq!(
        window(&saturdays, "2024-06-01T12:00:00Z").0,
        at("2024-06-08T00:00:00Z")
    );
}

#[test]
fn cron_nearest_weekday() {
    let fifteenth = expr("cron(0 0 15W * ? *)").unwrap();
    // 2024-06-15 is a Saturday: Friday the 14th.
    assert_eq!(
        window(&fifteenth, "2024-06-01T00:00:00Z").0,
        at("2024-06-14T00:00:00Z")
    );
    // 2024-09-15 is a Sunday: Monday the 16th.
    assert_eq!(
        window(&fifteenth, "2024-09-01T00:00:00Z").0,
        at("2024-09-16T00:00:00Z")
    );
    // 2024-06-01 is a Saturday: not back into May, but Monday the 3rd.
    let first = expr("cron(0 0 1W * ? *)").unwrap();
    assert_eq!(
        window(&first, "2024-05-20T00:00:00Z").0,
        at("2024-06-03T00:00:00Z")
    );
    // 2024-08-31 is a Saturday: the last weekday is Friday the 30th.
    let last_weekday = expr("cron(0 0 LW * ? *)").unwrap();
    assert_eq!(
        window(&last_weekday, "2024-08-01T00:00:00Z").0,
        at("2024-08-30T00:00:00Z")
    );
    // 2025-03-31 is a Monday, 2025-03-01 a Saturday.
    let thirty_first = expr("cron(0 0 31W * ? *)").unwrap();
    assert_eq!(
        window(&thirty_first, "2025-03-02T00:00:00Z").0,
        at("2025-03-31T00:00:00Z")
    );
}

#[test]
fn cron_ranges_steps_and_wrapping() {
    let weekdays = expr("cron(0 8 ? * MON-FRI *)").unwrap();
    // Friday 2024-03-01 09:00 → Monday.
    assert_eq!(
        window(&weekdays, "2024-03-01T09:00:00Z").0,
        at("2024-03-04T08:00:00Z")
    );
    let long_weekend = expr("cron(0 8 ? * FRI-MON *)").unwrap();
    // Monday 2024-03-04 09:00 → Friday.
    assert_eq!(
        window(&long_weekend, "2024-03-04T09:00:00Z").0,
        at("2024-03-08T08:00:00Z")
    );
    // Sundays in January, April, July and October (AWS's example).
    let quarterly = expr("cron(0 1 * 1/3 SUN *)").unwrap();
    assert_eq!(
        window(&quarterly, "2024-02-01T00:00:00Z").0,
        at("2024-04-07T01:00:00Z")
    );
    let every_other_day = expr("cron(0 8 1/2 * ? *)").unwrap();
    // Day 31, then day 1 of the next month.
    assert_eq!(
        window(&every_other_day, "2024-01-30T00:00:00Z").0,
        at("2024-01-31T08:00:00Z")
    );
    assert_eq!(
        window(&every_other_day, "2024-01-31T09:00:00Z").0,
        at("2024-02-01T08:00:00Z")
    );
    let night = expr("cron(0 22-2/4 * * ? *)").unwrap();
    assert_eq!(
        window(&night, "2024-01-01T23:00:00Z").0,
        at("2024-01-02T02:00:00Z")
    );
    assert_eq!(
        window(&night, "2024-01-02T03:00:00Z").0,
        at("2024-01-02T22:00:00Z")
    );
}

#[test]
fn rare_cron_is_found_years_ahead() {
    let leap_day = expr("cron(0 0 29 2 ? *)").unwrap();
    assert_eq!(
        window(&leap_day, "2024-03-01T00:00:00Z").0,
        at("2028-02-29T00:00:00Z")
    );
    // 2100 is not a leap year.
    assert_eq!(
        window(&leap_day, "2096-03-01T00:00:00Z").0,
        at("2104-02-29T00:00:00Z")
    );
    // A fifth Monday in February: February 2016 and 2044 start on a Monday.
    let fifth_monday = expr("cron(0 0 ? 2 MON#5 *)").unwrap();
    assert_eq!(
        window(&fifth_monday, "2016-03-01T00:00:00Z").0,
        at("2044-02-29T00:00:00Z")
    );
}

#[test]
fn cron_matches_a_plain_reference_matcher_hour_by_hour() {
    // A second, naive implementation: step one hour at a time with the `time` crate.
    struct Plain {
        hours: &'static [u8],
        days_of_month: Option<&'static [u8]>,
        months: &'static [u8],
        weekdays: Option<&'static [u8]>,
    }
    let cases = [
        (
            "cron(0 6,18 ? * MON,WED,FRI *)",
            Plain {
                hours: &[6, 18],
                days_of_month: None,
                months: &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
                weekdays: Some(&[1, 3, 5]),
            },
        ),
        (
            "cron(0 3 5-9,28 FEB-APR ? *)",
            Plain {
                hours: &[3],
                days_of_month: Some(&[5, 6, 7, 8, 9, 28]),
                months: &[2, 3, 4],
                weekdays: None,
            },
        ),
    ];
    for (expression, plain) in cases {
        let s = expr(expression).unwrap();
        let mut last = at("2023-12-30T07:00:00Z");
        for _ in 0..40 {
            let got = s.next_window(last).start;
            let hour_floor = last.0.div_euclid(3_600_000) * 3600;
            let mut t = OffsetDateTime::from_unix_timestamp(hour_floor).unwrap();
            let expected = loop {
                t += time::Duration::hours(1);
                let day_ok = plain.days_of_month.is_none_or(|d| d.contains(&t.day()))
                    && plain
                        .weekdays
                        .is_none_or(|w| w.contains(&t.weekday().number_days_from_sunday()));
                if plain.hours.contains(&t.hour())
                    && plain.months.contains(&u8::from(t.month()))
                    && day_ok
                {
                    break Timestamp(t.unix_timestamp() * 1000);
                }
            };
            assert_eq!(got, expected, "{expression} after {last:?}");
            last = Timestamp(got.0 + 90 * 60 * 1000);
        }
    }
}

// ---- Due, containment, limits ----

#[test]
fn due_from_the_window_start() {
    let s = after_days(7).unwrap();
    let last = at("2024-04-01T12:00:00Z");
    assert!(!s.is_due(last, at("2024-04-07T23:59:59.999Z")));
    assert!(s.is_due(last, at("2024-04-08T00:00:00Z")));
    // Still due once the window has passed (a missed window is not skipped).
    assert!(s.is_due(last, at("2024-05-01T00:00:00Z")));
    let w = s.next_window(last);
    assert!(w.contains(at("2024-04-08T00:00:00Z")));
    assert!(w.contains(at("2024-04-08T23:59:59.999Z")));
    assert!(!w.contains(at("2024-04-09T00:00:00Z")));
    assert!(!w.contains(at("2024-04-07T23:59:59.999Z")));
}

#[test]
fn absurd_timestamps_give_a_window_that_never_opens() {
    for schedule in [
        after_days(1000).unwrap(),
        expr("rate(23 hours)").unwrap(),
        expr("cron(0 10 * * ? *)").unwrap(),
    ] {
        assert_eq!(schedule.next_window(Timestamp(i64::MAX)), Window::NEVER);
        assert!(!schedule.is_due(Timestamp(i64::MAX), Timestamp(i64::MAX - 1)));
    }
    assert_eq!(
        expr("cron(0 10 * * ? *)")
            .unwrap()
            .next_window(Timestamp(i64::MIN)),
        Window::NEVER
    );
}

#[test]
fn before_1970_works_too() {
    let s = expr("cron(0 12 L * ? *)").unwrap();
    assert_eq!(
        window(&s, "1969-12-15T00:00:00Z").0,
        at("1969-12-31T12:00:00Z")
    );
    assert_eq!(
        window(&after_days(1).unwrap(), "1969-12-31T18:00:00Z").0,
        at("1970-01-01T00:00:00Z")
    );
}
