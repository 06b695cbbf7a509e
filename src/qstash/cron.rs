//! Cron expressions as QStash schedules take them: five fields (minute, hour, day of month, month,
//! day of week) in UTC, with `*`, lists, ranges, steps, month and day names, and the `@hourly`-style
//! shorthands. As an extension (for local tests that cannot wait minutes) a sixth, leading field of
//! seconds is accepted. Time zones (`CRON_TZ=`) other than UTC are refused rather than misread.

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};

#[derive(Clone, Debug, PartialEq)]
pub struct Cron {
    seconds: u64,
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// Both day fields restricted: either may match, as in every cron.
    day_or_weekday: bool,
}

const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
/// How far ahead a next time is looked for (`0 0 30 2 *` never comes).
const HORIZON_DAYS: i64 = 366 * 5;

impl Cron {
    pub fn parse(raw: &str) -> Result<Cron, String> {
        let mut text = raw.trim();
        if let Some(rest) = text.strip_prefix("CRON_TZ=").or_else(|| text.strip_prefix("TZ=")) {
            let (zone, rest) = rest.split_once(char::is_whitespace).ok_or("a cron expression follows CRON_TZ")?;
            if !matches!(zone, "UTC" | "Etc/UTC" | "GMT") {
                return Err(format!("time zone {zone} is not supported here: write the cron in UTC"));
            }
            text = rest.trim();
        }
        let expanded = match text {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other => other,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        let (seconds, rest) = match fields.len() {
            5 => ("0", &fields[..]),
            6 => (fields[0], &fields[1..]),
            _ => return Err(format!("invalid cron expression {raw:?}: expected 5 fields (minute hour day month weekday)")),
        };
        let field = |text: &str, min: u32, max: u32, names: &[&str], what: &str| {
            parse_field(text, min, max, names).ok_or(format!("invalid {what} field {text:?} in cron {raw:?}"))
        };
        let mut weekdays = field(rest[4], 0, 7, &WEEKDAYS, "day of week")?;
        // 7 is Sunday too.
        if weekdays & (1 << 7) != 0 {
            weekdays = (weekdays | 1) & !(1 << 7);
        }
        Ok(Cron {
            seconds: field(seconds, 0, 59, &[], "seconds")?,
            minutes: field(rest[0], 0, 59, &[], "minute")?,
            hours: field(rest[1], 0, 23, &[], "hour")?,
            days: field(rest[2], 1, 31, &[], "day of month")?,
            months: field(rest[3], 1, 12, &MONTHS, "month")?,
            weekdays,
            day_or_weekday: !rest[2].starts_with('*') && !rest[4].starts_with('*'),
        })
    }

    fn day_matches(&self, t: &DateTime<Utc>) -> bool {
        let day = self.days & (1 << t.day()) != 0;
        let weekday = self.weekdays & (1 << t.weekday().num_days_from_sunday()) != 0;
        if self.day_or_weekday {
            day || weekday
        } else {
            day && weekday
        }
    }

    /// The first time strictly after `after` (unix ms) the expression names, in unix ms; None when
    /// it names none in the next five years.
    pub fn next_after(&self, after_ms: i64) -> Option<i64> {
        let start = Utc.timestamp_millis_opt(after_ms).single()?;
        let mut t = start.with_nanosecond(0)? + Duration::seconds(1);
        let horizon = start + Duration::days(HORIZON_DAYS);
        while t < horizon {
            if self.months & (1 << t.month()) == 0 {
                let (year, month) = if t.month() == 12 { (t.year() + 1, 1) } else { (t.year(), t.month() + 1) };
                t = Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0).single()?;
            } else if !self.day_matches(&t) {
                t = (t + Duration::days(1)).with_hour(0)?.with_minute(0)?.with_second(0)?;
            } else if self.hours & (1 << t.hour()) == 0 {
                t = (t + Duration::hours(1)).with_minute(0)?.with_second(0)?;
            } else if self.minutes & (1 << t.minute()) == 0 {
                t = (t + Duration::minutes(1)).with_second(0)?;
            } else if self.seconds & (1 << t.second()) == 0 {
                t += Duration::seconds(1);
            } else {
                return Some(t.timestamp_millis());
            }
        }
        None
    }
}

/// One field as a bit set of the values it names.
fn parse_field(text: &str, min: u32, max: u32, names: &[&str]) -> Option<u64> {
    let value = |raw: &str| -> Option<u32> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(raw)) {
            // Months are named from 1, weekdays from 0.
            return Some(i as u32 + if names.len() == 12 { 1 } else { 0 });
        }
        raw.parse::<u32>().ok().filter(|v| (min..=max).contains(v))
    };
    let mut bits = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => (range, step.parse::<u32>().ok().filter(|s| *s > 0)?),
            None => (part, 1),
        };
        let (from, to) = match range {
            "*" => (min, max),
            _ => match range.split_once('-') {
                Some((a, b)) => (value(a)?, value(b)?),
                // `5/15`: from 5 to the end, every 15.
                None if part.contains('/') => (value(range)?, max),
                None => (value(range)?, value(range)?),
            },
        };
        if from > to {
            return None;
        }
        for v in (from..=to).step_by(step as usize) {
            bits |= 1 << v;
        }
    }
    Some(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    fn next(cron: &str, after: &str) -> String {
        let ms = Cron::parse(cron).unwrap().next_after(at(after)).unwrap();
        Utc.timestamp_millis_opt(ms).unwrap().to_rfc3339()
    }

    #[test]
    fn names_the_next_time() {
        assert_eq!(next("* * * * *", "2026-12-02T04:15:30Z"), "2026-12-02T04:16:00+00:00");
        assert_eq!(next("*/15 * * * *", "2026-12-02T04:15:00Z"), "2026-12-02T04:30:00+00:00");
        assert_eq!(next("0 9 * * MON-FRI", "2026-12-04T10:00:00Z"), "2026-12-07T09:00:00+00:00");
        assert_eq!(next("0 0 1 JAN *", "2026-12-02T00:00:00Z"), "2027-01-01T00:00:00+00:00");
        assert_eq!(next("@hourly", "2026-12-31T23:59:59Z"), "2027-01-01T00:00:00+00:00");
        assert_eq!(next("0 0 29 2 *", "2026-03-01T00:00:00Z"), "2028-02-29T00:00:00+00:00");
        assert_eq!(next("30 2 * * 7", "2026-12-02T00:00:00Z"), "2026-12-06T02:30:00+00:00", "7 is Sunday");
        // Both day fields restricted: either matches.
        assert_eq!(next("0 0 13 * FRI", "2026-12-02T00:00:00Z"), "2026-12-04T00:00:00+00:00");
        assert_eq!(next("5/20 * * * *", "2026-12-02T04:26:00Z"), "2026-12-02T04:45:00+00:00");
        assert_eq!(next("0,30 1-3 * * *", "2026-12-02T03:30:00Z"), "2026-12-03T01:00:00+00:00");
        assert_eq!(next("CRON_TZ=UTC 0 12 * * *", "2026-12-02T12:00:00Z"), "2026-12-03T12:00:00+00:00");
        // Seconds first: the local-testing extension.
        assert_eq!(next("*/2 * * * * *", "2026-12-02T04:15:31.500Z"), "2026-12-02T04:15:32+00:00");
        assert_eq!(Cron::parse("0 0 30 2 *").unwrap().next_after(at("2026-01-01T00:00:00Z")), None);
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        for bad in ["", "* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "*/0 * * * *", "5-1 * * * *", "a b c d e"] {
            assert!(Cron::parse(bad).is_err(), "{bad}");
        }
        assert!(Cron::parse("CRON_TZ=Europe/Paris 0 9 * * *").unwrap_err().contains("UTC"));
    }
}
