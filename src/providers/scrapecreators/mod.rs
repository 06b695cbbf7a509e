//! The ScrapeCreators HTTP client (`x-api-key`). Turns HTTP outcomes into `ProviderError`s; one
//! module per platform turns its bodies into creators.

pub mod instagram;
pub mod tiktok;
pub mod youtube;

use super::ProviderError;
use std::time::Duration;

#[derive(Clone)]
pub struct ScrapeCreatorsClient {
    http: reqwest::Client,
    base_url: String,
    api_key: String,
}

impl ScrapeCreatorsClient {
    pub fn new(http: reqwest::Client, base_url: &str, api_key: &str) -> Self {
        Self { http, base_url: base_url.trim_end_matches('/').to_string(), api_key: api_key.to_string() }
    }

    /// GETs `path` with the API key; a non-2xx answer becomes the `ProviderError` it means.
    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<axum::body::Bytes, ProviderError> {
        let response = self
            .http
            .get(format!("{}{path}", self.base_url))
            .header("x-api-key", &self.api_key)
            .query(query)
            .send()
            .await
            .map_err(|e| ProviderError::Unavailable(format!("GET {path}: {e}")))?;
        let status = response.status().as_u16();
        let retry_after = crate::retry_after::retry_after(response.headers());
        let body = response.bytes().await.map_err(|e| ProviderError::Unavailable(format!("GET {path}: reading body: {e}")))?;
        classify(status, retry_after, &body).map(|()| body)
    }
}

/// Maps a provider HTTP status to what the job must do about it.
pub fn classify(status: u16, retry_after: Option<Duration>, body: &[u8]) -> Result<(), ProviderError> {
    let text = || String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
    match status {
        200..=299 => Ok(()),
        401 | 403 => Err(ProviderError::Unauthorized(text())),
        402 => Err(ProviderError::OutOfCredits),
        404 => Err(ProviderError::NotFound),
        429 => Err(ProviderError::RateLimited { retry_after }),
        500 if text().to_lowercase().contains("apikey is required") => Err(ProviderError::Unauthorized(text())),
        500..=599 => Err(ProviderError::Unavailable(format!("HTTP {status}: {}", text()))),
        _ => Err(ProviderError::BadResponse(format!("HTTP {status}: {}", text()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_what_the_job_must_do() {
        assert!(classify(200, None, b"").is_ok());
        assert!(matches!(classify(401, None, b""), Err(ProviderError::Unauthorized(_))));
        assert!(matches!(classify(402, None, b""), Err(ProviderError::OutOfCredits)));
        assert!(matches!(
            classify(429, Some(Duration::from_secs(7)), b""),
            Err(ProviderError::RateLimited { retry_after: Some(d) }) if d.as_secs() == 7
        ));
        assert!(matches!(classify(500, None, br#"{"error":"apiKey is required"}"#), Err(ProviderError::Unauthorized(_))));
        assert!(matches!(classify(503, None, b"down"), Err(ProviderError::Unavailable(_))));
        assert!(matches!(classify(400, None, b"bad"), Err(ProviderError::BadResponse(_))));
    }
}
