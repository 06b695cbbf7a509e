//! Scraping APIs. `Providers` is the one interface the job step calls (a search page, a profile
//! lookup); it routes each call to the module of that provider and platform, which turns the
//! provider's pages into `Creator`s. `enrich` holds the lookup policy shared by every platform.

pub mod apify;
pub mod email;
pub mod enrich;
pub mod scrapecreators;
pub mod similar;

use crate::shared::Platform;
use apify::ApifyClient;
use email::extract_emails;
use scrapecreators::ScrapeCreatorsClient;
use std::time::Duration;

/// A creator as Scout stores it, whatever the platform.
#[derive(Clone, Debug, PartialEq)]
pub struct Creator {
    pub platform: Platform,
    /// The platform's stable id (TikTok `uid`, YouTube channel id …), the dedup key within a job.
    pub external_id: String,
    pub handle: String,
    pub name: String,
    /// Followers, or subscribers on YouTube.
    pub followers: i64,
    pub bio: String,
    pub bio_link: String,
    pub emails: Vec<String>,
    pub avatar_url: String,
    pub verified: bool,
    pub profile_url: String,
    pub post_url: String,
    /// Statistics of the post that found the creator.
    pub views: i64,
    pub likes: i64,
    pub comments: i64,
    pub shares: i64,
    pub hashtags: Vec<String>,
    pub matched_keyword: String,
    /// Fields marketers filter on later, kept now so nobody pays for them twice.
    pub country: String,
    pub category: String,
    pub business_email: String,
    /// When its profile was bought (unix ms), if it was: reused by later runs for a while.
    pub profile_fetched_at: Option<i64>,
    /// The provider fields Scout read, kept for provenance (not the whole 60 KB item).
    pub raw: serde_json::Value,
}

/// One page of a search, as every platform module returns it.
#[derive(Debug, Default)]
pub struct SearchPage {
    /// Items on the page, usable or not (ads and user cards carry no author).
    pub item_count: usize,
    /// The page's creators, each once.
    pub creators: Vec<Creator>,
    pub next_cursor: Option<String>,
    pub has_more: bool,
    /// What the provider charged for the page.
    pub credits: u32,
    /// Lanes this page points to: keywords derived from a similar search's account, or the related
    /// profiles Instagram lists.
    pub leads: Vec<Lead>,
    /// A similar search's account as the platform identifies it (its id), once read.
    pub resolved_id: Option<String>,
    /// Nothing new yet (an Apify run still collecting): ask again after this long.
    pub wait: Option<Duration>,
}

impl SearchPage {
    /// A page that is not a search result but points to the lanes to search (a similar search's
    /// account).
    pub fn leading_to(leads: Vec<Lead>, credits: u32) -> Self {
        Self { item_count: 1, credits, leads, ..Self::default() }
    }
}

/// A lane to add: a keyword on a search source ("" for the platform's keyword search), or a
/// profile to visit ("related").
#[derive(Clone, Debug, PartialEq)]
pub struct Lead {
    pub keyword: String,
    pub source: &'static str,
}

/// The lane source of a similar search's own account (its first step).
pub const TARGET_SOURCE: &str = "target";
/// The lane source of a profile an Instagram similar search visits.
pub const RELATED_SOURCE: &str = "related";

/// What a profile lookup adds to a creator found by a search.
#[derive(Debug, Default, PartialEq)]
pub struct Profile {
    pub bio: String,
    pub bio_link: String,
    pub followers: Option<i64>,
    pub verified: Option<bool>,
    /// Emails the platform lists apart from the bio (Instagram's business email, YouTube's email).
    pub emails: Vec<String>,
    pub business_email: Option<String>,
    pub country: Option<String>,
    pub category: Option<String>,
    /// What the provider charged for the lookup.
    pub credits: u32,
}

/// The credits a ScrapeCreators answer says it charged (`credits_charged`), one when it does not say.
pub fn credits_charged(value: Option<&serde_json::Value>) -> u32 {
    value.and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))).map(|n| n.min(1_000) as u32).unwrap_or(1)
}

impl Creator {
    /// Fills in what only the profile endpoint knows.
    pub fn apply_profile(&mut self, profile: Profile) {
        if !profile.bio.is_empty() {
            self.bio = profile.bio;
        }
        if !profile.bio_link.is_empty() {
            self.bio_link = profile.bio_link;
        }
        if let Some(followers) = profile.followers {
            self.followers = followers.max(0);
        }
        if let Some(verified) = profile.verified {
            self.verified = self.verified || verified;
        }
        if let Some(email) = profile.business_email.and_then(|e| extract_emails([e.as_str()]).into_iter().next()) {
            self.business_email = email;
        }
        if let Some(country) = profile.country.filter(|c| !c.is_empty()) {
            self.country = country;
        }
        if let Some(category) = profile.category.filter(|c| !c.is_empty()) {
            self.category = category;
        }
        let listed = profile.emails.join(" ");
        self.emails = extract_emails([self.bio.as_str(), self.bio_link.as_str(), listed.as_str(), self.business_email.as_str()]);
    }
}

/// What can go wrong calling a provider, sorted by what the job must do about it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ProviderError {
    /// 429: wait and do the same step again; not a failure.
    #[error("the provider is rate limiting us")]
    RateLimited { retry_after: Option<Duration> },
    /// 401, or a 500 saying the key is missing: the operator must fix the key.
    #[error("the provider rejected the API key: {0}")]
    Unauthorized(String),
    /// 402: the account has no credits left.
    #[error("the provider account is out of credits")]
    OutOfCredits,
    #[error("not found on the provider")]
    NotFound,
    /// The account a similar search starts from does not exist.
    #[error("the account of the similar search was not found")]
    TargetNotFound,
    /// An Apify actor run ended without success (FAILED, ABORTED, TIMED-OUT).
    #[error("the scraper run ended {0}")]
    RunFailed(String),
    /// 5xx, timeouts, connection failures: retried with backoff by QStash.
    #[error("the provider failed: {0}")]
    Unavailable(String),
    /// A 2xx body we could not read, or a 4xx we did not expect.
    #[error("unexpected provider response: {0}")]
    BadResponse(String),
}

impl ProviderError {
    /// The sentence a marketer sees when this error ends their search.
    pub fn user_message(&self) -> String {
        match self {
            ProviderError::Unauthorized(_) => {
                "The scraping provider rejected Scout's API key. Ask your admin to check SCRAPECREATORS_API_KEY (or APIFY_TOKEN), then start the search again.".into()
            }
            ProviderError::OutOfCredits => {
                "The scraping provider account is out of credits. Top up the ScrapeCreators (or Apify) account, then start the search again.".into()
            }
            ProviderError::RateLimited { .. } | ProviderError::Unavailable(_) => {
                "The scraping provider kept failing, so the search was stopped. Try again in a few minutes.".into()
            }
            ProviderError::RunFailed(status) => format!(
                "The Apify scraper run stopped ({}) before it found enough creators. Try again, or check the actor in Apify.",
                status.to_lowercase()
            ),
            ProviderError::TargetNotFound => {
                "Scout could not find that account on the platform. Check the handle, then start the search again.".into()
            }
            ProviderError::NotFound | ProviderError::BadResponse(_) => {
                "The scraping provider sent a response Scout could not read, so the search was stopped.".into()
            }
        }
    }

    /// Errors that end the job at once instead of being retried.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            ProviderError::Unauthorized(_) | ProviderError::OutOfCredits | ProviderError::TargetNotFound | ProviderError::RunFailed(_)
        )
    }

    /// Errors after which no further call of the step is sent: they would only be refused (and a
    /// rate limit billed against).
    pub fn halts_calls(&self) -> bool {
        self.is_terminal() || matches!(self, ProviderError::RateLimited { .. })
    }

    /// How decisive an error is when several calls fail at once: the job acts on the highest.
    pub fn severity(&self) -> u8 {
        match self {
            ProviderError::Unauthorized(_) | ProviderError::OutOfCredits | ProviderError::TargetNotFound | ProviderError::RunFailed(_) => 3,
            ProviderError::RateLimited { .. } => 2,
            _ => 1,
        }
    }
}

/// The scraping APIs Scout is configured with, behind the calls a job step makes.
#[derive(Clone)]
pub struct Providers {
    scrapecreators: ScrapeCreatorsClient,
    /// Set when TikTok keyword searches go through Apify (`SCOUT_TIKTOK_PROVIDER=apify`).
    apify: Option<ApifyClient>,
}

/// The lane source of a TikTok keyword searched through an Apify actor run.
pub const APIFY_SOURCE: &str = "apify";

impl Providers {
    pub fn new(scrapecreators: ScrapeCreatorsClient, apify: Option<ApifyClient>) -> Self {
        Self { scrapecreators, apify }
    }

    /// The search sources a keyword is paged on (one lane each): Instagram searches profiles and
    /// reels; TikTok searches ScrapeCreators or an Apify actor; YouTube has one search.
    pub fn sources(&self, platform: Platform) -> &'static [&'static str] {
        match platform {
            Platform::Instagram => &["profiles", "reels"],
            Platform::Tiktok if self.apify.is_some() => &[APIFY_SOURCE],
            Platform::Tiktok | Platform::Youtube => &[""],
        }
    }

    /// Stops what a cancelled lane left running at the provider (an Apify run).
    pub async fn abort(&self, source: &str, cursor: &str) -> Result<(), ProviderError> {
        match (&self.apify, source) {
            (Some(apify), APIFY_SOURCE) => match apify::tiktok::run_of(cursor) {
                Some(run) => apify.abort(&run).await,
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// One page of a keyword search on `platform`'s `source`; `want` is how many creators the job
    /// may still take (it sizes an Apify run).
    pub async fn search_page(
        &self,
        platform: Platform,
        source: &str,
        keyword: &str,
        cursor: Option<&str>,
        want: usize,
    ) -> Result<SearchPage, ProviderError> {
        if let (Some(apify), APIFY_SOURCE) = (&self.apify, source) {
            // Items repeat authors: ask for some more than the creators still needed.
            return apify::tiktok::page(apify, keyword, cursor, (want + want / 4).clamp(100, 10_000)).await;
        }
        let client = &self.scrapecreators;
        if source == TARGET_SOURCE {
            // A similar search's account: its profile, and where to look next.
            let found = match platform {
                Platform::Tiktok => scrapecreators::tiktok::target(client, keyword).await,
                Platform::Youtube => scrapecreators::youtube::target(client, keyword).await,
                Platform::Instagram => scrapecreators::instagram::target(client, keyword).await,
            };
            return found.map_err(|e| if e == ProviderError::NotFound { ProviderError::TargetNotFound } else { e });
        }
        match (platform, source) {
            (Platform::Instagram, RELATED_SOURCE) => scrapecreators::instagram::visit(client, keyword).await,
            (Platform::Tiktok, _) => scrapecreators::tiktok::keyword_page(client, keyword, cursor).await,
            (Platform::Youtube, _) => scrapecreators::youtube::search_page(client, keyword, cursor).await,
            (Platform::Instagram, "reels") => scrapecreators::instagram::reels_page(client, keyword, cursor).await,
            (Platform::Instagram, _) => scrapecreators::instagram::profiles_page(client, keyword, cursor).await,
        }
    }

    /// Whether `creator` still lacks what only a profile lookup gives (bio, audience).
    pub fn needs_profile(creator: &Creator) -> bool {
        if creator.profile_fetched_at.is_some() {
            return false;
        }
        match creator.platform {
            Platform::Tiktok | Platform::Youtube => creator.bio.is_empty(),
            Platform::Instagram => creator.bio.is_empty() || creator.followers == 0,
        }
    }

    /// The profile behind a creator found by a search.
    pub async fn profile(&self, creator: &Creator) -> Result<Profile, ProviderError> {
        match creator.platform {
            Platform::Tiktok => scrapecreators::tiktok::profile(&self.scrapecreators, &creator.handle).await,
            Platform::Youtube => scrapecreators::youtube::channel(&self.scrapecreators, &creator.external_id).await,
            Platform::Instagram => scrapecreators::instagram::profile(&self.scrapecreators, &creator.handle).await,
        }
    }
}
