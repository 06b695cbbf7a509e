//! The embedded QStash-compatible server: `POST /v2/publish/{destination}` stores the message in the
//! app's database, and a delivery loop calls the destination with QStash's headers and signature,
//! retrying with QStash's backoff and publishing the failure callback when retries run out.
//! Messages survive restarts; a lease on each delivery lets several instances share the table.

use super::{retry_backoff as backoff, signing::sign};
use crate::config::DevQstashConfig;
use crate::db::{self, qstash::MessageRow, Db};
use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::{json, Map, Value};
use std::{sync::Arc, time::Duration};
use tokio::sync::{Notify, Semaphore};

const MAX_BODY_BYTES: usize = 1024 * 1024;
const DEFAULT_RETRIES: i64 = 3;

#[derive(Clone)]
pub struct DevServer(Arc<Inner>);

struct Inner {
    db: Db,
    /// URL prefixes messages may be delivered to: the app itself. An embedded server that relayed to
    /// any URL would let anyone who knows the (public) dev token make this host call anything.
    allowed_destinations: Vec<String>,
    config: DevQstashConfig,
    token: String,
    current_key: String,
    next_key: String,
    http: reqwest::Client,
    wake: Notify,
    in_flight: Arc<Semaphore>,
}

impl DevServer {
    pub fn new(db: Db, config: DevQstashConfig, token: &str, current_key: &str, next_key: &str, allowed_destinations: Vec<String>) -> Self {
        let http = reqwest::Client::builder().timeout(config.delivery_timeout).build().expect("HTTP client");
        Self(Arc::new(Inner {
            db,
            allowed_destinations,
            config,
            token: token.into(),
            current_key: current_key.into(),
            next_key: next_key.into(),
            http,
            wake: Notify::new(),
            in_flight: Arc::new(Semaphore::new(16)),
        }))
    }

    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        Router::new()
            .route("/v2/publish/{*destination}", post(publish))
            .route("/v2/keys", get(keys))
            .route("/v2/messages/{id}", get(message))
            .with_state(self.clone())
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|token| token.trim() == self.0.token)
    }

    /// Delivers due messages until the process ends.
    pub async fn run_delivery_loop(self) {
        let lease = self.0.config.delivery_timeout + Duration::from_secs(5);
        loop {
            let now = db::now_ms();
            match db::qstash::due(&self.0.db, now, 32).await {
                Ok(messages) => {
                    for msg in messages {
                        // Wait for a delivery slot before taking the lease, so the lease only runs
                        // while the delivery does.
                        let permit = self.0.in_flight.clone().acquire_owned().await;
                        let now = db::now_ms();
                        let lease_until = now + lease.as_millis() as i64;
                        match db::qstash::lease(&self.0.db, &msg.id, now, lease_until).await {
                            Ok(true) => {
                                let server = self.clone();
                                tokio::spawn(async move {
                                    let _permit = permit;
                                    server.deliver(msg, lease_until).await;
                                });
                            }
                            Ok(false) => {}
                            Err(e) => tracing::error!(error = %e, "qstash-dev: failed to lease a message"),
                        }
                    }
                }
                Err(e) => tracing::error!(error = %e, "qstash-dev: failed to read due messages"),
            }
            let wait = match db::qstash::next_due_at(&self.0.db).await {
                Ok(Some(at)) => Duration::from_millis((at - db::now_ms()).clamp(5, self.0.config.poll_interval.as_millis() as i64) as u64),
                _ => self.0.config.poll_interval,
            };
            tokio::select! {
                _ = self.0.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    #[tracing::instrument(skip_all, fields(message_id = %msg.id, retried = msg.retried))]
    async fn deliver(&self, msg: MessageRow, lease: i64) {
        let body = STANDARD.decode(&msg.body).unwrap_or_default();
        let headers: Map<String, Value> = serde_json::from_str(&msg.headers).unwrap_or_default();
        let token = sign(&self.0.current_key, &msg.destination, &body, chrono::Utc::now().timestamp(), &db::new_id());
        let method = reqwest::Method::from_bytes(msg.method.as_bytes()).unwrap_or(reqwest::Method::POST);
        let mut request = self
            .0
            .http
            .request(method, &msg.destination)
            .header("User-Agent", "Upstash-QStash")
            .header("Upstash-Signature", token)
            .header("Upstash-Message-Id", &msg.id)
            .header("Upstash-Retried", msg.retried.to_string())
            .body(body);
        for (name, value) in &headers {
            if let Some(value) = value.as_str() {
                request = request.header(name.as_str(), value);
            }
        }
        let outcome = request.send().await;
        let result = match outcome {
            Ok(response) => {
                let status = response.status().as_u16();
                let non_retryable = response.headers().get("upstash-nonretryable-error").and_then(|v| v.to_str().ok()) == Some("true");
                let retry_after = crate::retry_after::retry_after(response.headers());
                let response_body = response.bytes().await.unwrap_or_default();
                if (200..300).contains(&status) {
                    self.finish_delivered(&msg, lease, status, &response_body).await
                } else if status == 489 && non_retryable {
                    self.finish_failed(&msg, lease, Some(status), &response_body, "non-retryable error").await
                } else {
                    self.retry_or_fail(&msg, lease, Some(status), &response_body, retry_after).await
                }
            }
            Err(e) => self.retry_or_fail(&msg, lease, None, e.to_string().as_bytes(), None).await,
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "qstash-dev: failed to record a delivery outcome");
        }
    }

    async fn finish_delivered(&self, msg: &MessageRow, lease: i64, status: u16, response_body: &[u8]) -> anyhow::Result<()> {
        if !db::qstash::mark_delivered(&self.0.db, &msg.id, lease, status as i64).await? {
            lost_lease(msg);
            return Ok(());
        }
        if let Some(callback) = &msg.callback {
            self.enqueue_callback(callback, callback_body(msg, Some(status), response_body)).await?;
        }
        Ok(())
    }

    async fn retry_or_fail(
        &self,
        msg: &MessageRow,
        lease: i64,
        status: Option<u16>,
        response_body: &[u8],
        retry_after: Option<Duration>,
    ) -> anyhow::Result<()> {
        let error = summarize(status, response_body);
        if msg.retried >= msg.retries {
            return self.finish_failed(msg, lease, status, response_body, &error).await;
        }
        let delay = retry_after.unwrap_or_else(|| backoff(msg.retried + 1, self.0.config.backoff_scale));
        tracing::info!(status = ?status, delay_ms = delay.as_millis() as u64, "qstash-dev: delivery failed, will retry");
        let not_before = db::now_ms() + delay.as_millis() as i64;
        if !db::qstash::schedule_retry(&self.0.db, &msg.id, lease, status.map(i64::from), &error, not_before).await? {
            lost_lease(msg);
        }
        Ok(())
    }

    async fn finish_failed(
        &self,
        msg: &MessageRow,
        lease: i64,
        status: Option<u16>,
        response_body: &[u8],
        error: &str,
    ) -> anyhow::Result<()> {
        tracing::warn!(error, "qstash-dev: delivery failed for good");
        if !db::qstash::mark_failed(&self.0.db, &msg.id, lease, status.map(i64::from), error).await? {
            lost_lease(msg);
            return Ok(());
        }
        if let Some(callback) = &msg.failure_callback {
            self.enqueue_callback(callback, callback_body(msg, status, response_body)).await?;
        }
        Ok(())
    }

    /// Callbacks are ordinary messages, as in QStash: signed, retried, persisted.
    async fn enqueue_callback(&self, url: &str, body: Value) -> anyhow::Result<()> {
        let body = STANDARD.encode(body.to_string());
        let headers = json!({"Content-Type": "application/json"}).to_string();
        db::qstash::publish(
            &self.0.db,
            db::qstash::NewMessage {
                destination: url,
                method: "POST",
                body_base64: &body,
                headers_json: &headers,
                retries: DEFAULT_RETRIES,
                not_before: db::now_ms(),
                callback: None,
                failure_callback: None,
                dedup_id: None,
            },
            0,
        )
        .await?;
        self.0.wake.notify_one();
        Ok(())
    }
}

/// The delivery outlived its lease and another one took over: its outcome is that one's to record.
fn lost_lease(msg: &MessageRow) {
    tracing::warn!(message_id = %msg.id, "qstash-dev: delivery finished after its lease expired; outcome ignored");
}

fn summarize(status: Option<u16>, body: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(body).chars().take(200).collect();
    match status {
        Some(status) => format!("HTTP {status}: {text}"),
        None => text,
    }
}

/// The body QStash sends to callbacks and failure callbacks.
fn callback_body(msg: &MessageRow, status: Option<u16>, response_body: &[u8]) -> Value {
    json!({
        "status": status.unwrap_or(0),
        "header": {},
        "body": STANDARD.encode(response_body),
        "retried": msg.retried,
        "maxRetries": msg.retries,
        "sourceMessageId": msg.id,
        "url": msg.destination,
        "method": msg.method,
        "sourceHeader": serde_json::from_str::<Value>(&msg.headers).unwrap_or_default(),
        "sourceBody": msg.body,
        "notBefore": msg.created_at,
        "createdAt": msg.created_at,
        "callerIP": "127.0.0.1",
    })
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// `Upstash-Delay`: "10s", "5m", "2h", "1d" (or bare seconds).
fn parse_delay(raw: &str) -> Option<Duration> {
    let raw = raw.trim();
    let (number, unit) = raw.split_at(raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len()));
    let n: u64 = number.parse().ok()?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

async fn publish(State(server): State<DevServer>, Path(destination): Path<String>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    if !server.authorized(&headers) {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    if body.len() > MAX_BODY_BYTES {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "message body exceeds 1 MB");
    }
    let mut destination = destination;
    if let Some(query) = uri.query() {
        destination = format!("{destination}?{query}");
    }
    if !(destination.starts_with("http://") || destination.starts_with("https://")) {
        return error(StatusCode::BAD_REQUEST, "destination must be an http(s) URL");
    }
    let allowed = |url: &str| server.0.allowed_destinations.iter().any(|prefix| url.starts_with(prefix.as_str()));
    if !allowed(&destination) {
        return error(StatusCode::BAD_REQUEST, "the embedded QStash server only delivers to this app");
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    // Callbacks are deliveries too: the same rule, or anyone with the public dev token could make
    // this server POST to any host.
    for name in ["upstash-callback", "upstash-failure-callback"] {
        if header(name).is_some_and(|url| !allowed(url.trim())) {
            return error(StatusCode::BAD_REQUEST, "the embedded QStash server only calls back to this app");
        }
    }
    let mut not_before = db::now_ms();
    if let Some(raw) = header("upstash-delay") {
        match parse_delay(&raw).and_then(|delay| i64::try_from(delay.as_millis()).ok()).and_then(|ms| not_before.checked_add(ms)) {
            Some(at) => not_before = at,
            None => return error(StatusCode::BAD_REQUEST, "invalid Upstash-Delay"),
        }
    }
    if let Some(raw) = header("upstash-not-before") {
        match raw.trim().parse::<i64>().ok().and_then(|secs| secs.checked_mul(1000)) {
            Some(at) => not_before = not_before.max(at),
            None => return error(StatusCode::BAD_REQUEST, "invalid Upstash-Not-Before"),
        }
    }
    let retries = match header("upstash-retries").map(|r| r.trim().parse::<i64>()) {
        None => DEFAULT_RETRIES,
        Some(Ok(n)) if (0..=100).contains(&n) => n,
        Some(_) => return error(StatusCode::BAD_REQUEST, "invalid Upstash-Retries"),
    };
    let method = header("upstash-method").unwrap_or_else(|| "POST".into()).to_uppercase();
    let mut forwarded = Map::new();
    for (name, value) in &headers {
        let Ok(value) = value.to_str() else { continue };
        if let Some(stripped) = name.as_str().strip_prefix("upstash-forward-") {
            forwarded.insert(stripped.to_string(), json!(value));
        }
    }
    if let Some(content_type) = header("content-type") {
        forwarded.insert("content-type".into(), json!(content_type));
    }
    let body_base64 = STANDARD.encode(&body);
    let headers_json = Value::Object(forwarded).to_string();
    let dedup_id = header("upstash-deduplication-id");
    let callback = header("upstash-callback");
    let failure_callback = header("upstash-failure-callback");
    let published = db::qstash::publish(
        &server.0.db,
        db::qstash::NewMessage {
            destination: &destination,
            method: &method,
            body_base64: &body_base64,
            headers_json: &headers_json,
            retries,
            not_before,
            callback: callback.as_deref(),
            failure_callback: failure_callback.as_deref(),
            dedup_id: dedup_id.as_deref(),
        },
        server.0.config.dedup_window.as_millis() as i64,
    )
    .await;
    match published {
        Ok(db::qstash::Published::Created(id)) => {
            server.0.wake.notify_one();
            (StatusCode::CREATED, Json(json!({ "messageId": id }))).into_response()
        }
        Ok(db::qstash::Published::Deduplicated(id)) => {
            (StatusCode::CREATED, Json(json!({ "messageId": id, "deduplicated": true }))).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "qstash-dev: failed to store a message");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

async fn keys(State(server): State<DevServer>, headers: HeaderMap) -> Response {
    if !server.authorized(&headers) {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    Json(json!({ "current": server.0.current_key, "next": server.0.next_key })).into_response()
}

async fn message(State(server): State<DevServer>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if !server.authorized(&headers) {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    match db::qstash::find(&server.0.db, &id).await {
        Ok(Some(m)) => Json(json!({
            "messageId": m.id,
            "url": m.destination,
            "method": m.method,
            "body": String::from_utf8(STANDARD.decode(&m.body).unwrap_or_default()).unwrap_or_default(),
            "state": m.state,
            "retried": m.retried,
            "maxRetries": m.retries,
            "notBefore": m.not_before,
            "createdAt": m.created_at,
            "lastStatus": m.last_status,
            "lastError": m.last_error,
        }))
        .into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, "message not found"),
        Err(e) => {
            tracing::error!(error = %e, "qstash-dev: failed to read a message");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_follows_qstash() {
        assert_eq!(backoff(1, 1.0).as_secs(), 12);
        assert_eq!(backoff(2, 1.0).as_secs(), 148);
        assert_eq!(backoff(3, 1.0).as_secs(), 1808);
        assert_eq!(backoff(10, 1.0).as_secs(), 86_400);
        assert_eq!(backoff(1, 0.001).as_millis(), 12);
    }

    #[test]
    fn delays_parse_like_upstash() {
        assert_eq!(parse_delay("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_delay("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_delay("1d"), Some(Duration::from_secs(86_400)));
        assert_eq!(parse_delay("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_delay("soon"), None);
        assert_eq!(parse_delay("5w"), None);
    }
}
