//! Durations as QStash writes them: Go's `time.ParseDuration` syntax (`10s`, `1h30m`, `1.5h`,
//! `300ms`) plus QStash's `d` for days, and bare numbers as seconds. Every step is checked, so no
//! input can overflow.

use std::time::Duration;

/// `10s`, `5m`, `1h30m`, `2d`, `1.5h`, `250ms` or `30` (seconds); None for anything else, for a
/// negative duration, and for one past `u64::MAX` nanoseconds' worth of seconds.
pub fn parse(raw: &str) -> Option<Duration> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    if raw.bytes().all(|b| b.is_ascii_digit()) {
        return raw.parse::<u64>().ok().map(Duration::from_secs);
    }
    let mut rest = raw.strip_prefix('+').unwrap_or(raw);
    if rest == "0" {
        return Some(Duration::ZERO);
    }
    let mut total_nanos: u128 = 0;
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_len);
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return None;
        }
        let unit_len = after.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60 * 1_000_000_000,
            "h" => 3_600 * 1_000_000_000,
            "d" => 86_400 * 1_000_000_000,
            _ => return None,
        };
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        let whole: u128 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
        let mut nanos = whole.checked_mul(unit_nanos)?;
        // The fraction, digit by digit (Go accepts `1.5h`); digits past nanosecond precision drop.
        let mut scale = unit_nanos;
        for digit in fraction.bytes() {
            scale /= 10;
            nanos = nanos.checked_add(u128::from(digit - b'0') * scale)?;
        }
        total_nanos = total_nanos.checked_add(nanos)?;
        rest = after;
    }
    let secs = u64::try_from(total_nanos / 1_000_000_000).ok()?;
    Some(Duration::new(secs, (total_nanos % 1_000_000_000) as u32))
}

/// A wait as a marketer reads it: "40 seconds", "1 minute", "15 minutes", "3 hours".
pub fn human_wait(secs: u64) -> String {
    let (n, unit) = match secs {
        0..=59 => (secs.max(1), "second"),
        60..=3599 => (secs.div_ceil(60), "minute"),
        _ => (secs.div_ceil(3600), "hour"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_naturally() {
        assert_eq!(human_wait(1), "1 second");
        assert_eq!(human_wait(61), "2 minutes");
        assert_eq!(human_wait(900), "15 minutes");
        assert_eq!(human_wait(7200), "2 hours");
    }

    #[test]
    fn reads_go_durations_and_days() {
        assert_eq!(parse("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse("6m5s"), Some(Duration::from_secs(365)));
        assert_eq!(parse("1d"), Some(Duration::from_secs(86_400)));
        assert_eq!(parse("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(parse("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse(" 30 "), Some(Duration::from_secs(30)));
        assert_eq!(parse("0"), Some(Duration::ZERO));
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        for bad in ["", "soon", "5w", "-5s", "1h-30m", "s", "1..5s", ".s", "10 s", "1e3s"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        // Huge values are refused, never wrapped.
        assert_eq!(parse("99999999999999999999999999999999999999d"), None);
        assert!(parse("18446744073709551615s").is_some());
        assert_eq!(parse("18446744073709551616s"), None);
    }
}
