//! Scraping APIs: one client per provider, each turning the provider's pages into `Creator`s.
//! Only ScrapeCreators' TikTok keyword search exists so far; other platforms add modules here.

pub mod email;
pub mod scrapecreators;
pub mod tiktok;

use std::time::Duration;

/// A creator as Scout stores it, whatever the platform.
#[derive(Clone, Debug, PartialEq)]
pub struct Creator {
    pub platform: String,
    /// The platform's stable id (TikTok `uid`), the dedup key within a job.
    pub external_id: String,
    pub handle: String,
    pub name: String,
    pub followers: i64,
    pub bio: String,
    pub bio_link: String,
    pub emails: Vec<String>,
    pub avatar_url: String,
    pub verified: bool,
    pub profile_url: String,
    pub post_url: String,
    pub views: i64,
    pub likes: i64,
    pub hashtags: Vec<String>,
    pub matched_keyword: String,
    /// The provider fields Scout read, kept for provenance (not the whole 60 KB item).
    pub raw: serde_json::Value,
}

/// What can go wrong calling a provider, sorted by what the job must do about it.
#[derive(Debug, thiserror::Error)]
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
                "The scraping provider rejected Scout's API key. Ask your admin to check SCRAPECREATORS_API_KEY, then start the search again.".into()
            }
            ProviderError::OutOfCredits => {
                "The scraping provider account is out of credits. Top up the ScrapeCreators account, then start the search again.".into()
            }
            ProviderError::RateLimited { .. } | ProviderError::Unavailable(_) => {
                "The scraping provider kept failing, so the search was stopped. Try again in a few minutes.".into()
            }
            ProviderError::NotFound | ProviderError::BadResponse(_) => {
                "The scraping provider sent a response Scout could not read, so the search was stopped.".into()
            }
        }
    }

    /// Errors that end the job at once instead of being retried.
    pub fn is_terminal(&self) -> bool {
        matches!(self, ProviderError::Unauthorized(_) | ProviderError::OutOfCredits)
    }
}
