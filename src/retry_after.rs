//! How long a server asks us to wait before calling again, read as QStash reads it: `Retry-After`,
//! then `X-RateLimit-Reset`, `X-RateLimit-Reset-Requests` and `X-RateLimit-Reset-Tokens`, each as
//! seconds, an HTTP date or a Go duration such as `6m5s`. A number too large to be a wait in seconds
//! (GitHub-style `X-RateLimit-Reset`) is the unix time the window resets. Used for the scraping
//! providers and for the embedded QStash server's deliveries alike.

use chrono::{DateTime, Utc};
use std::time::Duration;

/// Capped at a day, as QStash caps it: a hostile or broken header cannot park a job for years or
/// overflow the arithmetic that schedules the retry.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(86_400);

/// The headers read, in this order: the first readable one wins.
const WAIT_HEADERS: [&str; 4] = ["retry-after", "x-ratelimit-reset", "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"];

/// Numbers above this are unix times (seconds), not a wait (about 3 years of seconds below it).
const UNIX_TIME_FLOOR: u64 = 100_000_000;

pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    retry_after_at(headers, Utc::now())
}

/// `retry_after` as of `now` (HTTP dates and unix times are relative to it).
pub fn retry_after_at(headers: &reqwest::header::HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
    let wait = WAIT_HEADERS.iter().find_map(|name| value(name).and_then(|raw| parse_wait(raw, now)))?;
    Some(wait.min(MAX_RETRY_AFTER))
}

/// One header's value: seconds (or a unix time), an HTTP date, or a Go duration.
fn parse_wait(raw: &str, now: DateTime<Utc>) -> Option<Duration> {
    wait_from_number(raw, now).or_else(|| wait_until_date(raw, now)).or_else(|| crate::duration::parse(raw))
}

/// Whole seconds to wait, or a unix time to wait until.
fn wait_from_number(raw: &str, now: DateTime<Utc>) -> Option<Duration> {
    if !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = match raw.parse::<u64>() {
        Ok(n) => n,
        // More digits than u64 holds: as long a wait as there is.
        Err(_) => return Some(MAX_RETRY_AFTER),
    };
    if n < UNIX_TIME_FLOOR {
        return Some(Duration::from_secs(n));
    }
    let at = i64::try_from(n).ok().and_then(|secs| DateTime::<Utc>::from_timestamp(secs, 0));
    Some(match at {
        Some(at) => (at - now).to_std().unwrap_or(Duration::ZERO),
        None => MAX_RETRY_AFTER,
    })
}

/// `Retry-After: Wed, 21 Oct 2015 07:28:00 GMT`: the time left until then (none if it has passed).
fn wait_until_date(raw: &str, now: DateTime<Utc>) -> Option<Duration> {
    let at = DateTime::parse_from_rfc2822(raw).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> reqwest::header::HeaderMap {
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, value.parse().unwrap());
        }
        headers
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2015-10-21T07:27:00Z").unwrap().with_timezone(&Utc)
    }

    #[test]
    fn reads_delay_seconds() {
        assert_eq!(retry_after(&headers(&[])), None);
        assert_eq!(retry_after(&headers(&[("retry-after", " 7 ")])), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(&headers(&[("retry-after", "18446744073709551615")])), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after(&headers(&[("retry-after", "999999999999999999999999")])), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")])), None);
    }

    #[test]
    fn reads_http_dates() {
        let at = |raw| retry_after_at(&headers(&[("retry-after", raw)]), now());
        assert_eq!(at("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::from_secs(60)));
        assert_eq!(at("Wed, 21 Oct 2015 07:00:00 GMT"), Some(Duration::ZERO), "a date in the past: at once");
        assert_eq!(at("Wed, 21 Oct 2099 07:28:00 GMT"), Some(MAX_RETRY_AFTER), "capped at a day");
    }

    #[test]
    fn reads_rate_limit_reset_headers() {
        let at = |pairs: &[(&'static str, &str)]| retry_after_at(&headers(pairs), now());
        assert_eq!(at(&[("x-ratelimit-reset", "12")]), Some(Duration::from_secs(12)));
        assert_eq!(at(&[("x-ratelimit-reset-requests", "6m5s")]), Some(Duration::from_secs(365)));
        assert_eq!(at(&[("x-ratelimit-reset-tokens", "250ms")]), Some(Duration::from_millis(250)));
        // A unix time is the moment the window resets.
        let reset = (now().timestamp() + 90).to_string();
        assert_eq!(at(&[("x-ratelimit-reset", &reset)]), Some(Duration::from_secs(90)));
        // Retry-After wins over the reset headers.
        assert_eq!(at(&[("retry-after", "3"), ("x-ratelimit-reset", "60")]), Some(Duration::from_secs(3)));
        assert_eq!(at(&[("x-ratelimit-reset", "garbage")]), None);
        // Every header takes every form.
        assert_eq!(at(&[("retry-after", "1m30s")]), Some(Duration::from_secs(90)));
        assert_eq!(at(&[("x-ratelimit-reset-tokens", "Wed, 21 Oct 2015 07:27:30 GMT")]), Some(Duration::from_secs(30)));
        // An unreadable Retry-After gives way to a readable reset header.
        assert_eq!(at(&[("retry-after", "soon"), ("x-ratelimit-reset", "4")]), Some(Duration::from_secs(4)));
    }
}
