//! Publishes messages to QStash: over HTTP to real Upstash QStash (or an embedded server elsewhere),
//! or, when the embedded server runs in this process, straight to its routes.

use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("could not reach QStash: {0}")]
    Unreachable(String),
    #[error("QStash refused the message (HTTP {status}): {body}")]
    Refused { status: u16, body: String },
}

#[derive(Clone, Debug, Default)]
pub struct PublishOptions {
    pub delay: Option<Duration>,
    pub retries: Option<u32>,
    pub deduplication_id: Option<String>,
    pub failure_callback: Option<String>,
    /// `Upstash-Retry-Delay`: the wait before each retry, an expression over `retried`.
    pub retry_delay: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Published {
    pub message_id: String,
    #[serde(default)]
    pub deduplicated: bool,
}

#[derive(Clone)]
pub struct QstashClient {
    http: reqwest::Client,
    base_url: String,
    token: String,
    /// The embedded QStash server's routes when it runs in this process: publishes are handed to
    /// them directly. Through the socket, a step still running while the instance shuts down could
    /// not publish its successor once the listener closed (its delivery then failed and waited out
    /// QStash's backoff), and every publish paid for a loopback HTTP round trip.
    in_process: Option<axum::Router>,
}

impl QstashClient {
    pub fn new(http: reqwest::Client, base_url: &str, token: &str) -> Self {
        Self { http, base_url: base_url.trim_end_matches('/').to_string(), token: token.to_string(), in_process: None }
    }

    /// Publishes through `router` (the embedded server's, `DevServer::router`) instead of over HTTP;
    /// the requests are the same, as is what the server checks and stores.
    pub fn in_process(mut self, router: axum::Router) -> Self {
        self.in_process = Some(router);
        self
    }

    /// `POST /v2/publish/{destination}` with the destination unencoded, as the official SDKs do.
    pub async fn publish_json(
        &self,
        destination: &str,
        body: &serde_json::Value,
        opts: &PublishOptions,
    ) -> Result<Published, PublishError> {
        let mut request = self
            .http
            .post(format!("{}/v2/publish/{destination}", self.base_url))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(delay) = opts.delay {
            request = request.header("Upstash-Delay", format!("{}s", delay.as_secs().max(1)));
        }
        if let Some(retries) = opts.retries {
            request = request.header("Upstash-Retries", retries.to_string());
        }
        if let Some(id) = &opts.deduplication_id {
            request = request.header("Upstash-Deduplication-Id", id);
        }
        if let Some(url) = &opts.failure_callback {
            request = request.header("Upstash-Failure-Callback", url);
        }
        if let Some(expression) = &opts.retry_delay {
            request = request.header("Upstash-Retry-Delay", expression);
        }
        let response = match &self.in_process {
            Some(router) => call_in_process(router.clone(), request).await?,
            None => send_with_retries(request).await?,
        };
        let status = response.status();
        let text = response.text().await.map_err(|e| PublishError::Unreachable(e.to_string()))?;
        if !status.is_success() {
            return Err(PublishError::Refused { status: status.as_u16(), body: text.chars().take(300).collect() });
        }
        serde_json::from_str(&text).map_err(|e| PublishError::Refused { status: status.as_u16(), body: format!("unreadable answer: {e}") })
    }
}

const IN_PROCESS_TIMEOUT: Duration = Duration::from_secs(30);

/// The request handed to the embedded server's routes, as if it came from loopback. It skips the app
/// router's guards (`guards::apply`: Host, origin, headers), which are for browsers; the server's own
/// checks (token, no delivery calling its API) still run.
async fn call_in_process(router: axum::Router, request: reqwest::RequestBuilder) -> Result<reqwest::Response, PublishError> {
    use tower::ServiceExt;
    let unreachable = |e: &dyn std::fmt::Display| PublishError::Unreachable(e.to_string());
    let request: axum::http::Request<reqwest::Body> = request.build().and_then(TryInto::try_into).map_err(|e| unreachable(&e))?;
    let (parts, body) = request.into_parts();
    // Publish bodies are built in memory; a streamed one would have no bytes to hand over.
    let bytes = body.as_bytes().ok_or_else(|| PublishError::Unreachable("a streamed body cannot be published in process".into()))?;
    let body = axum::body::Body::from(bytes.to_vec());
    let mut request = axum::http::Request::from_parts(parts, body);
    let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    request.extensions_mut().insert(axum::extract::ConnectInfo(loopback));
    // As bounded as a call over HTTP would be (a database stuck on a lock must not hold the step).
    let response = match tokio::time::timeout(IN_PROCESS_TIMEOUT, router.oneshot(request)).await {
        Ok(Ok(response)) => response,
        Ok(Err(never)) => match never {},
        Err(_) => return Err(PublishError::Unreachable("the embedded QStash server did not answer in time".into())),
    };
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.map_err(|e| unreachable(&e))?;
    Ok(reqwest::Response::from(axum::http::Response::from_parts(parts, body.to_vec())))
}

/// Network errors (no answer at all) are retried, as the official SDKs retry them: 5 more attempts,
/// `e^i · 50 ms` apart. An HTTP answer, even an error, is never retried here (a publish may have
/// been stored; the step's deduplication id makes a later re-publish safe).
const NETWORK_RETRIES: u32 = 5;

async fn send_with_retries(request: reqwest::RequestBuilder) -> Result<reqwest::Response, PublishError> {
    let mut attempt = 0;
    loop {
        let this = request.try_clone().ok_or_else(|| PublishError::Unreachable("request body cannot be retried".into()))?;
        match this.send().await {
            Ok(response) => return Ok(response),
            Err(e) if attempt >= NETWORK_RETRIES || !(e.is_connect() || e.is_timeout() || e.is_request()) => {
                return Err(PublishError::Unreachable(e.to_string()))
            }
            Err(e) => {
                let wait = Duration::from_millis(((attempt as f64).exp() * 50.0) as u64);
                tracing::warn!(error = %e, attempt, wait_ms = wait.as_millis() as u64, "QStash unreachable; retrying the publish");
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    };
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server that drops the first `drops` connections without answering, then answers a publish.
    async fn flaky_server(drops: usize) -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(AtomicUsize::new(0));
        let counter = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                if n < drops {
                    drop(socket);
                    continue;
                }
                let mut buf = vec![0u8; 64 * 1024];
                let _ = socket.read(&mut buf).await;
                let body = r#"{"messageId":"msg_1"}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        (url, seen)
    }

    #[tokio::test]
    async fn a_publish_that_got_no_answer_is_sent_again() {
        let (url, seen) = flaky_server(2).await;
        let client = QstashClient::new(reqwest::Client::new(), &url, "t");
        let published = client.publish_json("http://app/x", &serde_json::json!({}), &PublishOptions::default()).await.unwrap();
        assert_eq!(published.message_id, "msg_1");
        assert_eq!(seen.load(Ordering::SeqCst), 3, "two dropped connections, then the answer");
    }

    #[tokio::test]
    async fn a_qstash_that_never_answers_is_unreachable_after_the_retries() {
        let (url, seen) = flaky_server(usize::MAX).await;
        let client = QstashClient::new(reqwest::Client::new(), &url, "t");
        let result = client.publish_json("http://app/x", &serde_json::json!({}), &PublishOptions::default()).await;
        assert!(matches!(result, Err(PublishError::Unreachable(_))), "{result:?}");
        assert_eq!(seen.load(Ordering::SeqCst), 1 + NETWORK_RETRIES as usize);
    }
}
