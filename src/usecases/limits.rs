//! Per-member limits: searches running at once, searches started per day, provider credits used per
//! month (as the runs report them). The instance's defaults come from the environment; an admin
//! can set a member's own (`NULL` in the database = the default, 0 = no limit). A start over a
//! limit answers 429 with a sentence the marketer understands.

use super::{Owner, UseCaseError};
use crate::{
    config::LimitsConfig,
    db::{self, jobs::Usage, users::UserRow},
    duration::human_wait,
    shared::{LimitUse, LimitsView},
    startup::AppState,
};
use chrono::{Datelike, TimeZone, Utc};

#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    pub runs_in_flight: Option<u64>,
    pub searches_per_day: Option<u64>,
    pub credits_per_month: Option<u64>,
}

/// The day and month a search started at `now` counts in, as [start, end) in unix ms.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Windows {
    pub day: (i64, i64),
    pub month: (i64, i64),
}

pub fn windows(now_ms: i64, config: &LimitsConfig) -> Windows {
    let aligned = |len_ms: i64| {
        let start = now_ms - now_ms.rem_euclid(len_ms);
        (start, start + len_ms)
    };
    let day = aligned(config.day.as_millis() as i64);
    let month = match config.month {
        Some(len) => aligned(len.as_millis() as i64),
        None => calendar_month(now_ms),
    };
    Windows { day, month }
}

fn calendar_month(now_ms: i64) -> (i64, i64) {
    let now = Utc.timestamp_millis_opt(now_ms).single().unwrap_or_else(Utc::now);
    let start = Utc.with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0).single();
    let (year, month) = if now.month() == 12 { (now.year() + 1, 1) } else { (now.year(), now.month() + 1) };
    let end = Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0).single();
    match (start, end) {
        (Some(s), Some(e)) => (s.timestamp_millis(), e.timestamp_millis()),
        _ => (now_ms, now_ms + 30 * 86_400_000),
    }
}

/// A member's limits: their own where an admin set one, else the instance's.
pub fn for_user(user: &UserRow, defaults: &LimitsConfig) -> Limits {
    let pick = |own: Option<i64>, default: Option<u64>| match own {
        Some(n) if n <= 0 => None,
        Some(n) => Some(n as u64),
        None => default,
    };
    Limits {
        runs_in_flight: pick(user.max_runs_in_flight, defaults.runs_in_flight),
        searches_per_day: pick(user.max_searches_per_day, defaults.searches_per_day),
        credits_per_month: pick(user.max_credits_per_month, defaults.credits_per_month),
    }
}

/// Why a new search may not start now, and how long until it could (for `Retry-After`).
#[derive(Clone, Debug, PartialEq)]
pub struct OverLimit {
    pub message: String,
    pub retry_after_secs: Option<u64>,
}

/// Whether one more search fits `limits` given `usage` at `now`.
pub fn admit(limits: &Limits, usage: &Usage, windows: &Windows, now_ms: i64) -> Result<(), OverLimit> {
    let wait = |until: i64| ((until - now_ms).max(0) as u64).div_ceil(1000).max(1);
    if let Some(max) = limits.runs_in_flight {
        if usage.in_flight >= max {
            return Err(OverLimit {
                message: format!(
                    "You already have {} running, the most you can run at once. Wait for one to finish, or cancel one.",
                    plural(usage.in_flight, "search", "searches")
                ),
                retry_after_secs: None,
            });
        }
    }
    if let Some(max) = limits.searches_per_day {
        if usage.searches_today >= max {
            let secs = wait(windows.day.1);
            return Err(OverLimit {
                message: format!(
                    "You have started {} today, your daily limit. You can start more in {}.",
                    plural(max, "search", "searches"),
                    human_wait(secs)
                ),
                retry_after_secs: Some(secs),
            });
        }
    }
    if let Some(max) = limits.credits_per_month {
        if usage.credits_this_month >= max {
            let secs = wait(windows.month.1);
            return Err(OverLimit {
                message: format!(
                    "Your searches have used {} of your {} provider credits this month. Ask an admin to raise your limit, or wait {}.",
                    usage.credits_this_month,
                    max,
                    human_wait(secs)
                ),
                retry_after_secs: Some(secs),
            });
        }
    }
    Ok(())
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl From<OverLimit> for UseCaseError {
    fn from(e: OverLimit) -> Self {
        UseCaseError::TooManyRequests { message: e.message, retry_after_secs: e.retry_after_secs }
    }
}

/// The owner's limits and what is left, for the search form and `GET /api/limits`.
pub async fn view(state: &AppState, owner: &Owner) -> Result<LimitsView, UseCaseError> {
    let user = db::users::find(&state.db, owner.user_id()).await?.ok_or(UseCaseError::NotFound("Account not found."))?;
    let limits = for_user(&user, &state.config.limits);
    let now = db::now_ms();
    let windows = windows(now, &state.config.limits);
    let mut conn = state.db.acquire().await?;
    let usage = db::jobs::usage(&mut conn, owner.user_id(), windows.day.0, windows.month.0).await?;
    Ok(LimitsView {
        runs_in_flight: LimitUse { used: usage.in_flight, limit: limits.runs_in_flight, resets_at: None },
        searches_today: LimitUse { used: usage.searches_today, limit: limits.searches_per_day, resets_at: Some(windows.day.1) },
        credits_this_month: LimitUse { used: usage.credits_this_month, limit: limits.credits_per_month, resets_at: Some(windows.month.1) },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn config() -> LimitsConfig {
        LimitsConfig { runs_in_flight: Some(3), searches_per_day: Some(2), credits_per_month: Some(100), day: Duration::from_secs(86_400), month: None }
    }

    #[test]
    fn windows_are_utc_days_and_calendar_months() {
        // 2026-12-02 14:00 UTC
        let now = 1_796_220_000_000;
        let w = windows(now, &config());
        assert_eq!(w.day.0 % 86_400_000, 0);
        assert!(w.day.0 <= now && now < w.day.1);
        assert_eq!(calendar_month(now), (1_796_083_200_000, 1_798_761_600_000));
    }

    #[test]
    fn each_limit_refuses_with_a_sentence() {
        let limits = Limits { runs_in_flight: Some(3), searches_per_day: Some(2), credits_per_month: Some(100) };
        let w = windows(1_796_220_000_000, &config());
        let usage = |in_flight, searches_today, credits_this_month| Usage { in_flight, searches_today, credits_this_month };
        assert!(admit(&limits, &usage(2, 1, 99), &w, 1_796_220_000_000).is_ok());
        let runs = admit(&limits, &usage(3, 0, 0), &w, 1_796_220_000_000).unwrap_err();
        assert!(runs.message.contains("3 searches running") && runs.retry_after_secs.is_none());
        let day = admit(&limits, &usage(0, 2, 0), &w, 1_796_220_000_000).unwrap_err();
        assert!(day.message.contains("daily limit") && day.retry_after_secs == Some(36_000));
        assert!(admit(&limits, &usage(0, 0, 100), &w, 1_796_220_000_000).unwrap_err().message.contains("100 of your 100"));
        let none = Limits { runs_in_flight: None, searches_per_day: None, credits_per_month: None };
        assert!(admit(&none, &usage(99, 99, 99_999), &w, 1_796_220_000_000).is_ok());
    }
}
