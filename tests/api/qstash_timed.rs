//! What the QStash feature tests share: a destination that takes 300 ms per call and records when
//! each began and ended (so overlapping deliveries show), and calls to the embedded server's API.

use crate::helpers::TestApp;
use axum::{
    extract::State,
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
    Router,
};
use scout::config::DEV_QSTASH_TOKEN;
use serde_json::Value;
use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

#[derive(Clone, Debug)]
pub struct Call {
    pub path: String,
    pub began: Instant,
    pub ended: Instant,
    pub headers: HeaderMap,
}

pub type Calls = Arc<Mutex<Vec<Call>>>;

/// A destination that takes 300 ms per call (so overlapping deliveries show; 5 s under `/slow/`),
/// fails the first call of a path under `/fail-once/`, and records every call once it ends.
pub async fn spawn_timed_destination() -> (String, Calls) {
    let calls: Calls = Arc::default();
    let router = Router::new().fallback(timed_answer).with_state(calls.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (address, calls)
}

async fn timed_answer(State(calls): State<Calls>, uri: Uri, headers: HeaderMap) -> Response {
    let began = Instant::now();
    let path = uri.path().to_string();
    // `/slow/` calls take 5 s: longer than the short leases the lease tests configure.
    let takes = if path.starts_with("/slow/") { Duration::from_secs(5) } else { Duration::from_millis(300) };
    tokio::time::sleep(takes).await;
    let mut calls = calls.lock().unwrap();
    let first = !calls.iter().any(|c| c.path == path);
    calls.push(Call { path: path.clone(), began, ended: Instant::now(), headers });
    if first && path.starts_with("/fail-once/") {
        (StatusCode::INTERNAL_SERVER_ERROR, "not yet").into_response()
    } else {
        "ok".into_response()
    }
}

pub fn calls_to(calls: &Calls, prefix: &str) -> Vec<Call> {
    let mut calls: Vec<Call> = calls.lock().unwrap().iter().filter(|c| c.path.starts_with(prefix)).cloned().collect();
    calls.sort_by_key(|c| c.began);
    calls
}

/// The most calls that were in flight at one time.
pub fn most_at_once(calls: &[Call]) -> usize {
    calls.iter().map(|c| calls.iter().filter(|o| o.began <= c.began && c.began < o.ended).count()).max().unwrap_or(0)
}

/// Queue order, for calls to `{prefix}{k}` of a queue of `parallelism`: message k begins only once
/// all but `parallelism - 1` of the messages ahead of it are done.
pub fn assert_in_queue_order(calls: &[Call], prefix: &str, parallelism: usize) {
    let index = |c: &Call| c.path.trim_start_matches(prefix).parse::<usize>().unwrap();
    for call in calls {
        let k = index(call);
        let done_ahead = calls.iter().filter(|c| index(c) < k && c.ended <= call.began).count();
        assert!(done_ahead + parallelism > k, "message {k} began with {done_ahead} ahead of it done: {calls:#?}");
    }
}

/// No more than `most` of `starts` (unix ms) within any `window_ms`.
pub fn assert_rate(starts: &[i64], most: usize, window_ms: i64) {
    for start in starts {
        let in_window = starts.iter().filter(|t| *t >= start && **t < start + window_ms).count();
        assert!(in_window <= most, "{in_window} deliveries began within {window_ms} ms: {starts:?}");
    }
}

impl TestApp {
    /// When the deliveries of flow-control key `key` began, as the server's `ACTIVE` events stamp them.
    pub async fn flow_starts(&self, key: &str) -> Vec<i64> {
        let active: Value = self
            .qstash(reqwest::Method::GET, &format!("/v2/events?flowControlKey={key}&state=ACTIVE"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        active["events"].as_array().unwrap().iter().map(|e| e["time"].as_i64().unwrap()).collect()
    }

    pub fn qstash(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path)).bearer_auth(DEV_QSTASH_TOKEN)
    }

    pub async fn enqueue(&self, queue: &str, destination: &str) -> String {
        let response = self.qstash(reqwest::Method::POST, &format!("/v2/enqueue/{queue}/{destination}")).body("{}").send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.unwrap()["messageId"].as_str().unwrap().to_string()
    }

    pub async fn queue(&self, name: &str) -> (StatusCode, Value) {
        let response = self.qstash(reqwest::Method::GET, &format!("/v2/queues/{name}")).send().await.unwrap();
        (response.status(), response.json().await.unwrap())
    }

    pub async fn upsert_queue(&self, body: Value) -> StatusCode {
        self.qstash(reqwest::Method::POST, "/v2/queues").json(&body).send().await.unwrap().status()
    }
}

pub async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl TestApp {
    pub async fn qstash_message_json(&self, id: &str) -> Value {
        self.qstash(reqwest::Method::GET, &format!("/v2/messages/{id}")).send().await.unwrap().json().await.unwrap()
    }
}

pub async fn wait_until_async<F: std::future::Future<Output = bool>>(what: &str, mut done: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
