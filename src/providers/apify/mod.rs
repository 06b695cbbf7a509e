//! Apify (`Authorization: Bearer`), the alternative TikTok source. An actor run collects items into a
//! dataset that can be read while the run goes on: a lane's first page starts the run; later pages
//! read the dataset from where the lane got to, and when nothing new has arrived yet the step comes
//! back later. The cursor is `{runId}|{datasetId}|{offset}`.

pub mod tiktok;

use super::{scrapecreators::classify, ProviderError};
use serde::Deserialize;
use serde_json::Value;

#[derive(Clone)]
pub struct ApifyClient {
    http: reqwest::Client,
    base_url: String,
    token: String,
    /// The actor, as `user~name`.
    pub actor: String,
}

/// An actor run as Apify reports it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub id: String,
    pub status: String,
    pub default_dataset_id: String,
}

#[derive(Deserialize)]
struct RunEnvelope {
    data: Run,
}

impl ApifyClient {
    pub fn new(http: reqwest::Client, base_url: &str, token: &str, actor: &str) -> Self {
        Self { http, base_url: base_url.trim_end_matches('/').to_string(), token: token.to_string(), actor: actor.to_string() }
    }

    pub async fn start_run(&self, input: &Value) -> Result<Run, ProviderError> {
        let body = self.send(self.http.post(format!("{}/v2/acts/{}/runs", self.base_url, self.actor)).json(input)).await?;
        parse_run(&body)
    }

    pub async fn run(&self, run_id: &str) -> Result<Run, ProviderError> {
        let body = self.send(self.http.get(format!("{}/v2/actor-runs/{run_id}", self.base_url))).await?;
        parse_run(&body)
    }

    /// Stops a run (a cancelled search); a run that already ended is fine.
    pub async fn abort(&self, run_id: &str) -> Result<(), ProviderError> {
        self.send(self.http.post(format!("{}/v2/actor-runs/{run_id}/abort", self.base_url))).await.map(|_| ())
    }

    pub async fn items(&self, dataset_id: &str, offset: usize, limit: usize) -> Result<Vec<Value>, ProviderError> {
        let request = self.http.get(format!("{}/v2/datasets/{dataset_id}/items", self.base_url)).query(&[
            ("offset", offset.to_string()),
            ("limit", limit.to_string()),
            ("clean", "true".to_string()),
            ("format", "json".to_string()),
        ]);
        let body = self.send(request).await?;
        serde_json::from_slice(&body).map_err(|e| ProviderError::BadResponse(format!("Apify dataset items: {e}")))
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<axum::body::Bytes, ProviderError> {
        let response = request.bearer_auth(&self.token).send().await.map_err(|e| ProviderError::Unavailable(format!("Apify: {e}")))?;
        let status = response.status().as_u16();
        let retry_after = crate::retry_after::retry_after(response.headers());
        let body = response.bytes().await.map_err(|e| ProviderError::Unavailable(format!("Apify: reading body: {e}")))?;
        // Apify answers 402 and 403 when the account's plan or credit does not allow the run.
        if status == 403 {
            return Err(ProviderError::OutOfCredits);
        }
        classify(status, retry_after, &body).map(|()| body)
    }
}

fn parse_run(body: &[u8]) -> Result<Run, ProviderError> {
    serde_json::from_slice::<RunEnvelope>(body).map(|e| e.data).map_err(|e| ProviderError::BadResponse(format!("Apify run: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_run() {
        let run = parse_run(include_bytes!("../../../tests/fixtures/apify_run.json")).unwrap();
        assert_eq!(
            (run.id.as_str(), run.status.as_str(), run.default_dataset_id.as_str()),
            ("HG7ML7M8z78YcAPEB", "RUNNING", "wmKPijuyDnPZAPRMk")
        );
        assert!(parse_run(b"{}").is_err());
    }
}
