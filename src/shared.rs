//! Types and rules shared by the server and the browser bundle: what the API returns, the platforms
//! and kinds of search, the progress formula, and the credit estimate shown next to the slider.

use serde::{Deserialize, Serialize};

pub const MAX_KEYWORDS: usize = 10;
pub const MAX_KEYWORD_CHARS: usize = 100;
pub const CREATORS_PER_PAGE: u32 = 50;
/// The shortest password an account may have.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// The social platforms Scout searches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    #[default]
    Tiktok,
    Instagram,
    Youtube,
}

impl Platform {
    pub const ALL: [Platform; 3] = [Platform::Tiktok, Platform::Instagram, Platform::Youtube];

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Tiktok => "tiktok",
            Platform::Instagram => "instagram",
            Platform::Youtube => "youtube",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Platform::ALL.into_iter().find(|p| p.as_str().eq_ignore_ascii_case(raw.trim()))
    }

    /// The name marketers know.
    pub fn label(self) -> &'static str {
        match self {
            Platform::Tiktok => "TikTok",
            Platform::Instagram => "Instagram",
            Platform::Youtube => "YouTube",
        }
    }

    /// What the platform calls a creator's audience.
    pub fn audience_label(self) -> &'static str {
        match self {
            Platform::Youtube => "subscribers",
            _ => "followers",
        }
    }

    /// New creators one search page yields on average; sizes the progress formula and credit estimate.
    pub fn expected_page_yield(self) -> u32 {
        match self {
            Platform::Tiktok => 20,
            Platform::Instagram => 12,
            Platform::Youtube => 15,
        }
    }
}

/// Keywords, or creators similar to one account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchKind {
    #[default]
    Keywords,
    Similar,
}

/// The slider of a kind of search: how many creators may be asked for, in which steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TargetRange {
    pub min: u32,
    pub max: u32,
    pub step: u32,
}

impl SearchKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SearchKind::Keywords => "keywords",
            SearchKind::Similar => "similar",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim() {
            "keywords" | "keyword" => Some(SearchKind::Keywords),
            "similar" => Some(SearchKind::Similar),
            _ => None,
        }
    }

    pub const fn target_range(self) -> TargetRange {
        match self {
            SearchKind::Keywords => TargetRange { min: 1_000, max: 5_000, step: 500 },
            SearchKind::Similar => TargetRange { min: 100, max: 1_000, step: 100 },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Pending,
    Processing,
    Completed,
    Error,
    Timeout,
    Cancelled,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Processing => "processing",
            JobStatus::Completed => "completed",
            JobStatus::Error => "error",
            JobStatus::Timeout => "timeout",
            JobStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "pending" => JobStatus::Pending,
            "processing" => JobStatus::Processing,
            "completed" => JobStatus::Completed,
            "error" => JobStatus::Error,
            "timeout" => JobStatus::Timeout,
            "cancelled" => JobStatus::Cancelled,
            _ => return None,
        })
    }

    pub fn is_terminal(self) -> bool {
        !matches!(self, JobStatus::Pending | JobStatus::Processing)
    }
}

/// Why a live run is waiting on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitingReason {
    /// The provider answered 429: the step runs again after its `Retry-After`.
    ProviderRateLimit,
    /// The provider failed: QStash retries the step after its backoff.
    RetryBackoff,
    /// The provider is still collecting results (an Apify run): checked again shortly.
    ProviderWorking,
    /// The instance running the step stopped (a crash or a deploy): another takes it over when its
    /// lease lapses (the embedded QStash server only).
    Recovery,
}

impl WaitingReason {
    pub fn as_str(self) -> &'static str {
        match self {
            WaitingReason::ProviderRateLimit => "provider_rate_limit",
            WaitingReason::RetryBackoff => "retry_backoff",
            WaitingReason::ProviderWorking => "provider_working",
            WaitingReason::Recovery => "recovery",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "provider_rate_limit" => Some(WaitingReason::ProviderRateLimit),
            "retry_backoff" => Some(WaitingReason::RetryBackoff),
            "provider_working" => Some(WaitingReason::ProviderWorking),
            "recovery" => Some(WaitingReason::Recovery),
            _ => None,
        }
    }
}

/// A job as the status endpoint and the progress bar see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    pub id: String,
    pub campaign_id: String,
    pub platform: Platform,
    pub kind: SearchKind,
    pub keywords: Vec<String>,
    /// The account a similar search starts from.
    pub target_username: Option<String>,
    pub status: JobStatus,
    pub progress: u32,
    pub processed_runs: u32,
    pub processed_results: u32,
    pub target_results: u32,
    pub error: Option<String>,
    /// Why a completed job stopped short of its target, e.g. the source ran dry.
    pub note: Option<String>,
    /// Provider credits the run has used so far.
    pub credits_used: u64,
    /// Credits it did not spend because a recent run had bought the same profiles.
    pub credits_saved: u64,
    /// Seconds left at the pace so far, once a few steps have run.
    pub eta_seconds: Option<u64>,
    /// A similar search's stage (none for keyword searches).
    pub stage: Option<Stage>,
    /// Set while the run waits on purpose, until `waiting_until` (unix ms).
    pub waiting_reason: Option<WaitingReason>,
    pub waiting_until: Option<i64>,
    pub created_at: i64,
}

impl JobView {
    /// The line under the progress bar.
    pub fn status_text(&self) -> String {
        let base = self.stage_text();
        match (self.waiting_reason, self.waiting_until, self.status.is_terminal()) {
            // A restart has no known end; every other wait says until when.
            (Some(reason), until, false) if until.is_some() || reason == WaitingReason::Recovery => {
                let at = until.map(format_clock).unwrap_or_default();
                let wait = match reason {
                    WaitingReason::ProviderRateLimit => format!("Waiting for the provider until {at} (rate limit)…"),
                    WaitingReason::RetryBackoff => format!("The provider is failing; trying again at {at}…"),
                    WaitingReason::ProviderWorking => format!("The provider's scraper is still collecting; checking again at {at}…"),
                    WaitingReason::Recovery => "Resuming after a restart…".to_string(),
                };
                match self.stage {
                    // A similar search says where it is, then why it waits.
                    Some(Stage::FetchingProfile | Stage::Analyzing | Stage::Searching | Stage::Processing) => format!("{base} {wait}"),
                    _ => wait,
                }
            }
            _ => base,
        }
    }

    /// A similar search's account as people read it: `@handle`, or `channel UC…` for a YouTube id.
    pub fn account_label(&self) -> Option<String> {
        let account = self.target_username.as_deref()?;
        Some(if account.len() == 24 && account.starts_with("UC") { format!("channel {account}") } else { format!("@{account}") })
    }

    /// What the run looks for, as the run list names it.
    pub fn title(&self) -> String {
        match (self.kind, self.account_label()) {
            (SearchKind::Similar, Some(account)) => format!("Similar to {account}"),
            _ => self.keywords.join(", "),
        }
    }

    fn stage_text(&self) -> String {
        if let (Some(stage), Some(account)) = (self.stage, self.account_label()) {
            match stage {
                Stage::FetchingProfile => return format!("Fetching {account}'s profile…"),
                Stage::Analyzing => return format!("Analyzing {account}'s profile… ({}%)", self.progress),
                Stage::Searching => return format!("Searching for creators similar to {account}… ({}%)", self.progress),
                Stage::Processing => return format!("Processing the last creators similar to {account}… ({}%)", self.progress),
                Stage::Initializing | Stage::Completed => {}
            }
        }
        match self.status {
            JobStatus::Pending => "Starting search…".to_string(),
            JobStatus::Processing if self.progress == 0 => "Starting search…".to_string(),
            JobStatus::Processing => format!("Processing your search… ({}%)", self.progress),
            JobStatus::Completed => match &self.note {
                Some(note) => format!("Completed: {note}"),
                None => "Completed".to_string(),
            },
            JobStatus::Error => self.error.clone().unwrap_or_else(|| "The search failed.".to_string()),
            JobStatus::Timeout => "The search took too long and was stopped.".to_string(),
            JobStatus::Cancelled => {
                format!("Cancelled; the {} creators found so far are kept.", format_count(self.processed_results as i64))
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CampaignView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub search_type: String,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CampaignDetail {
    #[serde(flatten)]
    pub campaign: CampaignView,
    /// Newest first.
    pub jobs: Vec<JobView>,
    /// Another member's campaign that an admin is viewing: it can be read, not changed.
    #[serde(default)]
    pub read_only: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatorView {
    pub platform: Platform,
    pub external_id: String,
    pub handle: String,
    pub name: String,
    pub followers: i64,
    pub bio: String,
    pub emails: Vec<String>,
    pub avatar_url: String,
    pub verified: bool,
    pub profile_url: String,
    pub post_url: String,
    pub views: i64,
    pub likes: i64,
    pub comments: i64,
    pub shares: i64,
    pub matched_keyword: String,
    pub country: String,
    pub category: String,
    pub business_email: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatorPage {
    pub creators: Vec<CreatorView>,
    pub total: u32,
    pub page: u32,
    pub per_page: u32,
}

impl CreatorPage {
    pub fn page_count(&self) -> u32 {
        self.total.div_ceil(self.per_page).max(1)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CreatorSort {
    #[default]
    FollowersDesc,
    FollowersAsc,
    ViewsDesc,
    ViewsAsc,
}

impl CreatorSort {
    pub fn as_str(self) -> &'static str {
        match self {
            CreatorSort::FollowersDesc => "followers_desc",
            CreatorSort::FollowersAsc => "followers_asc",
            CreatorSort::ViewsDesc => "views_desc",
            CreatorSort::ViewsAsc => "views_asc",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "followers_desc" | "followers" | "-followers" => CreatorSort::FollowersDesc,
            "followers_asc" | "+followers" => CreatorSort::FollowersAsc,
            "views_desc" | "views" | "-views" => CreatorSort::ViewsDesc,
            "views_asc" | "+views" => CreatorSort::ViewsAsc,
            _ => return None,
        })
    }
}

/// Provider pages a job is expected to need; the `max_runs` of the progress formula.
pub fn expected_runs(platform: Platform, target_results: u32) -> u32 {
    target_results.div_ceil(platform.expected_page_yield()).max(1)
}

/// The original design's progress: `min(100, runs/max_runs·30 + results/target·70)`, held at 99 until
/// the job is completed so the bar never claims "done" before the results are.
pub fn progress_percent(runs: u32, max_runs: u32, results: u32, target: u32, completed: bool) -> u32 {
    if completed {
        return 100;
    }
    let run_part = if max_runs == 0 { 0.0 } else { (runs as f64 / max_runs as f64).min(1.0) * 30.0 };
    let result_part = if target == 0 { 0.0 } else { (results as f64 / target as f64).min(1.0) * 70.0 };
    ((run_part + result_part).floor() as u32).min(99)
}

/// A similar search's progress by stage: fetching the account's profile (5), analyzing it (10), then
/// searching up to 99 as results arrive; 100 once completed.
pub fn similar_progress(runs: u32, results: u32, target: u32, completed: bool) -> u32 {
    if completed {
        return 100;
    }
    if runs == 0 && results == 0 {
        return 5;
    }
    let found = if target == 0 { 0.0 } else { (results as f64 / target as f64).min(1.0) };
    (10 + (found * 89.0).floor() as u32).min(99)
}

/// Where a similar search is (`JobView::stage`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Initializing,
    FetchingProfile,
    Analyzing,
    Searching,
    /// Every creator the search needs has been found; the last of them are being looked up and saved.
    Processing,
    Completed,
}

/// Provider calls (ScrapeCreators credits) a search of `target` creators is expected to cost: its
/// search pages plus the profile lookups the platform needs for bios and emails (TikTok and YouTube
/// search results carry none; Instagram profile search carries bios inline, its reels do not).
/// A similar search on Instagram visits one related profile per creator (no search pages); on TikTok
/// and YouTube it is a keyword search plus one call for the account.
pub fn estimate_credits(platform: Platform, kind: SearchKind, target: u32) -> u32 {
    if kind == SearchKind::Similar && platform == Platform::Instagram {
        return target + 1;
    }
    let lookups = match platform {
        Platform::Tiktok | Platform::Youtube => target,
        Platform::Instagram => target / 2,
    };
    expected_runs(platform, target) + lookups + (kind == SearchKind::Similar) as u32
}

/// Thousands separators for display: 12345 → "12,345".
pub fn format_count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avatars_are_https_or_initials() {
        assert_eq!(avatar_src("https://cdn.example/a.jpg"), Some("https://cdn.example/a.jpg"));
        assert_eq!(avatar_src("http://cdn.example/a.jpg"), None);
        assert_eq!(avatar_src("javascript:alert(1)"), None);
        assert_eq!(initials("Maya Pilates Studio", "maya"), "MP");
        assert_eq!(initials("  ", "maya.pilates7"), "M");
    }

    #[test]
    fn progress_follows_the_formula() {
        // 10 of 50 runs (6) + 400 of 1000 results (28) = 34
        assert_eq!(progress_percent(10, 50, 400, 1000, false), 34);
        assert_eq!(progress_percent(0, 50, 0, 1000, false), 0);
        // results count for 70, runs for 30
        assert_eq!(progress_percent(0, 50, 500, 1000, false), 35);
        assert_eq!(progress_percent(25, 50, 0, 1000, false), 15);
    }

    #[test]
    fn progress_is_held_at_99_until_completed() {
        assert_eq!(progress_percent(50, 50, 1000, 1000, false), 99);
        assert_eq!(progress_percent(500, 50, 9000, 1000, false), 99);
        assert_eq!(progress_percent(3, 50, 10, 1000, true), 100);
    }

    #[test]
    fn progress_survives_zero_denominators() {
        assert_eq!(progress_percent(5, 0, 5, 0, false), 0);
    }

    #[test]
    fn credit_estimate_counts_pages_and_profiles() {
        assert_eq!(estimate_credits(Platform::Tiktok, SearchKind::Keywords, 1000), 50 + 1000);
        assert_eq!(estimate_credits(Platform::Tiktok, SearchKind::Keywords, 2500), 125 + 2500);
        assert!(
            estimate_credits(Platform::Instagram, SearchKind::Keywords, 1000)
                < estimate_credits(Platform::Tiktok, SearchKind::Keywords, 1000)
        );
        assert_eq!(estimate_credits(Platform::Instagram, SearchKind::Similar, 300), 301);
        assert_eq!(estimate_credits(Platform::Tiktok, SearchKind::Similar, 100), 5 + 100 + 1);
    }

    #[test]
    fn platforms_and_kinds_parse_their_names() {
        for platform in Platform::ALL {
            assert_eq!(Platform::parse(platform.as_str()), Some(platform));
        }
        assert_eq!(Platform::parse("YouTube"), Some(Platform::Youtube));
        assert_eq!(Platform::parse("myspace"), None);
        assert_eq!(SearchKind::parse("keyword"), Some(SearchKind::Keywords));
        assert_eq!(SearchKind::Similar.target_range(), TargetRange { min: 100, max: 1_000, step: 100 });
        assert_eq!(serde_json::to_string(&Platform::Youtube).unwrap(), "\"youtube\"");
    }

    #[test]
    fn counts_are_grouped() {
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1000), "1,000");
        assert_eq!(format_count(4100000), "4,100,000");
        assert_eq!(format_count(-1234), "-1,234");
    }

    #[test]
    fn status_text_matches_the_states() {
        let mut job = JobView {
            id: "j".into(),
            campaign_id: "c".into(),
            platform: Platform::Tiktok,
            kind: SearchKind::Keywords,
            keywords: vec!["a".into()],
            target_username: None,
            status: JobStatus::Pending,
            progress: 0,
            processed_runs: 0,
            processed_results: 0,
            target_results: 1000,
            error: None,
            note: None,
            credits_used: 0,
            credits_saved: 0,
            eta_seconds: None,
            stage: None,
            waiting_reason: None,
            waiting_until: None,
            created_at: 0,
        };
        assert_eq!(job.status_text(), "Starting search…");
        job.status = JobStatus::Processing;
        job.progress = 42;
        assert_eq!(job.status_text(), "Processing your search… (42%)");
        job.waiting_reason = Some(WaitingReason::ProviderRateLimit);
        job.waiting_until = Some(1_795_392_300_000);
        assert_eq!(job.status_text(), "Waiting for the provider until 00:05 UTC (rate limit)…");
        job.stage = Some(Stage::Analyzing);
        job.target_username = Some("maya".into());
        job.progress = 10;
        assert_eq!(job.status_text(), "Analyzing @maya's profile… (10%) Waiting for the provider until 00:05 UTC (rate limit)…");
        job.waiting_reason = None;
        job.stage = Some(Stage::Searching);
        assert_eq!(job.status_text(), "Searching for creators similar to @maya… (10%)");
        job.stage = Some(Stage::Processing);
        job.progress = 95;
        assert_eq!(job.status_text(), "Processing the last creators similar to @maya… (95%)");
        job.stage = None;
        job.waiting_reason = Some(WaitingReason::Recovery);
        job.waiting_until = None;
        assert_eq!(job.status_text(), "Resuming after a restart…");
        job.waiting_reason = None;
        job.status = JobStatus::Completed;
        assert_eq!(job.status_text(), "Completed");
        job.status = JobStatus::Error;
        job.error = Some("out of credits".into());
        assert_eq!(job.status_text(), "out of credits");
    }
}

/// Only http(s) links from scraped data become links; anything else (`javascript:` …) is dropped.
pub fn safe_url(url: &str) -> Option<&str> {
    let trimmed = url.trim();
    let lower = trimmed.get(..8).unwrap_or(trimmed).to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then_some(trimmed)
}

/// An avatar the page may load: https only. An `http://` image would be mixed content on an https
/// page (and the CSP refuses it), so those creators show their initials instead; no image proxy,
/// which would let scraped URLs make the server fetch anything.
pub fn avatar_src(url: &str) -> Option<&str> {
    safe_url(url).filter(|u| u.get(..8).is_some_and(|p| p.eq_ignore_ascii_case("https://")))
}

/// Up to two initials for an avatar placeholder, from the name or else the handle.
pub fn initials(name: &str, handle: &str) -> String {
    let source = if name.trim().is_empty() { handle } else { name };
    let letters: String = source.split_whitespace().filter_map(|w| w.chars().find(|c| c.is_alphanumeric())).take(2).collect();
    letters.to_uppercase()
}

/// "14:05 UTC" from unix milliseconds.
pub fn format_clock(ms: i64) -> String {
    format_timestamp(ms).split_once(' ').map(|(_, clock)| clock.to_string()).unwrap_or_default()
}

/// "about 3 min", "under a minute", "about 2 h 10 min" for an ETA.
pub fn format_duration(secs: u64) -> String {
    match secs {
        0..=59 => "under a minute".to_string(),
        60..=3599 => format!("about {} min", secs.div_ceil(60)),
        _ => format!("about {} h {} min", secs / 3600, (secs % 3600) / 60),
    }
}

/// "2026-11-23 14:05 UTC" from unix milliseconds; the same on server and browser (no clock, no locale).
pub fn format_timestamp(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", rem / 3600, rem % 3600 / 60)
}

#[cfg(test)]
mod display_tests {
    use super::*;

    #[test]
    fn only_web_links_are_kept() {
        assert_eq!(safe_url(" https://x.com/a "), Some("https://x.com/a"));
        assert_eq!(safe_url("HTTP://x.com"), Some("HTTP://x.com"));
        assert_eq!(safe_url("javascript:alert(1)"), None);
        assert_eq!(safe_url(""), None);
    }

    #[test]
    fn durations_read_like_speech() {
        assert_eq!(format_duration(20), "under a minute");
        assert_eq!(format_duration(61), "about 2 min");
        assert_eq!(format_duration(7800), "about 2 h 10 min");
    }

    #[test]
    fn timestamps_are_formatted_in_utc() {
        assert_eq!(format_timestamp(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_timestamp(1_795_392_300_000), "2026-11-23 00:05 UTC");
        assert_eq!(format_timestamp(951_782_400_000), "2000-02-29 00:00 UTC");
    }
}

/// An account as the pages and `GET /api/users` show it (never its password hash).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    pub id: String,
    pub email: String,
    /// `admin` or `member`.
    pub role: String,
    pub disabled: bool,
    pub created_at: i64,
    /// The member's own limits as an admin set them: `None` = the instance default, 0 = no limit.
    pub limits: AccountLimits,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountLimits {
    pub runs_in_flight: Option<i64>,
    pub searches_per_day: Option<i64>,
    pub credits_per_month: Option<i64>,
}

/// An API token as listed (its secret is shown once, at creation, and never stored).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenView {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A token just created: the only time `token` is shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedToken {
    pub id: String,
    pub name: String,
    pub token: String,
}

/// How much of one limit is used; `limit: None` means there is none.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LimitUse {
    pub used: u64,
    pub limit: Option<u64>,
    /// When the window starts afresh (unix ms); none for runs in flight.
    pub resets_at: Option<i64>,
}

impl LimitUse {
    pub fn left(&self) -> Option<u64> {
        self.limit.map(|l| l.saturating_sub(self.used))
    }
}

/// A member's limits and what is left of them, as `GET /api/limits` and the search form show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LimitsView {
    pub runs_in_flight: LimitUse,
    pub searches_today: LimitUse,
    pub credits_this_month: LimitUse,
}

/// The embedded QStash server's connection details, for admins pointing other apps or SDKs at it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QstashIdentityView {
    pub url: String,
    pub token: String,
    pub current_signing_key: String,
    pub next_signing_key: String,
}

/// A run in the admins' overview of every member's searches (read-only).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminRunView {
    #[serde(flatten)]
    pub job: JobView,
    pub campaign_name: String,
    pub owner_email: String,
}
