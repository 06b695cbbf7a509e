//! The embedded QStash-compatible server: the QStash HTTP API (`/v2/*`) over the app's database, and
//! a delivery loop that calls destinations as QStash does (signed, retried with its backoff, callbacks
//! after every attempt, the failure callback when retries run out). Messages survive restarts; a
//! lease on each delivery lets several instances share the table.
//!
//! `publish` turns a request into a stored message, `delivery` delivers it, `messages` reads and
//! cancels it. Everything it calls is checked against `Destinations`: it never relays to other hosts.

mod delivery;
mod messages;
mod publish;

use crate::config::DevQstashConfig;
use crate::db::Db;
use axum::{
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::{any, get, post},
    Json, Router,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tokio::sync::{Notify, Semaphore};

/// Deliveries in flight at once per process.
const DELIVERY_SLOTS: usize = 16;

#[derive(Clone)]
pub struct DevServer(Arc<Inner>);

struct Inner {
    db: Db,
    destinations: Destinations,
    config: DevQstashConfig,
    token: String,
    current_key: String,
    next_key: String,
    http: reqwest::Client,
    wake: Notify,
    in_flight: Arc<Semaphore>,
}

/// The origins (scheme, host, port) this server may call: the app itself. An embedded server that
/// called any URL would let anyone who knows the (public) dev token make this host call anything.
#[derive(Clone, Debug)]
pub struct Destinations(Vec<reqwest::Url>);

impl Destinations {
    /// `bases` are the app's own base URLs (public and internal).
    pub fn new(bases: &[String]) -> Self {
        Self(bases.iter().filter_map(|b| reqwest::Url::parse(b).ok()).collect())
    }

    /// Whether `url` is an http(s) URL on one of the app's own origins.
    pub fn allows(&self, url: &str) -> bool {
        let Ok(url) = reqwest::Url::parse(url.trim()) else { return false };
        matches!(url.scheme(), "http" | "https")
            && url.username().is_empty()
            && url.password().is_none()
            && self.0.iter().any(|base| base.origin() == url.origin())
    }
}

impl DevServer {
    pub fn new(db: Db, config: DevQstashConfig, token: &str, current_key: &str, next_key: &str, destinations: Destinations) -> Self {
        // No redirects: a destination that answers 3xx must not bounce a signed delivery (and its
        // answer, which callbacks and `lastError` carry back) to another host.
        let http = reqwest::Client::builder()
            .timeout(config.delivery_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client");
        Self(Arc::new(Inner {
            db,
            destinations,
            config,
            token: token.into(),
            current_key: current_key.into(),
            next_key: next_key.into(),
            http,
            wake: Notify::new(),
            in_flight: Arc::new(Semaphore::new(DELIVERY_SLOTS)),
        }))
    }

    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        Router::new()
            // A wrong method answers in JSON too.
            .route("/v2/publish/{*destination}", post(publish::publish).fallback(method_not_allowed))
            .route("/v2/keys", get(keys).fallback(method_not_allowed))
            .route("/v2/messages/{id}", get(messages::get).delete(messages::cancel).fallback(method_not_allowed))
            // Any other QStash path answers as QStash does, in JSON, not with the app's HTML page.
            .route("/v2", any(not_found))
            .route("/v2/{*rest}", any(not_found))
            .with_state(self.clone())
    }

    /// `Authorization: Bearer <token>` or `?qstash_token=<token>`, compared in constant time.
    fn authorized(&self, headers: &HeaderMap, uri: &Uri) -> bool {
        let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()).map(|v| {
            let v = v.trim();
            match v.get(..7) {
                Some(scheme) if scheme.eq_ignore_ascii_case("bearer ") => v[7..].trim(),
                _ => v,
            }
        });
        let query = uri.query().and_then(query_token);
        let bearer_ok = bearer.is_some_and(|given| same_secret(given, &self.0.token));
        bearer_ok || query.is_some_and(|given| same_secret(&given, &self.0.token))
    }

    /// The token check every API handler starts with.
    fn check(&self, headers: &HeaderMap, uri: &Uri) -> Result<(), Response> {
        if self.authorized(headers, uri) {
            Ok(())
        } else {
            Err(error(StatusCode::UNAUTHORIZED, "Unauthorized"))
        }
    }
}

/// The `qstash_token` query parameter, percent-decoded.
fn query_token(query: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        (name == "qstash_token").then(|| percent_decode(value))
    })
}

pub(crate) fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| raw.get(i + 1..i + 3))
            .flatten()
            .filter(|hex| hex.bytes().all(|c| c.is_ascii_hexdigit()))
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (escaped, bytes[i]) {
            (Some(b), _) => {
                out.push(b);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, b) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Equal secrets, in time that does not depend on where they differ (both are hashed first, so
/// their lengths do not show either).
fn same_secret(given: &str, expected: &str) -> bool {
    let (a, b) = (Sha256::digest(given.as_bytes()), Sha256::digest(expected.as_bytes()));
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not found")
}

async fn method_not_allowed() -> Response {
    error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
}

/// Header names as Go (and so QStash) writes them: `content-type` → `Content-Type`.
fn canonical_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() });
        upper = c == '-';
    }
    out
}

/// Stored `{name: value}` headers as QStash reports them (`{Name: [value]}`).
fn listed_headers(stored: &str) -> serde_json::Map<String, serde_json::Value> {
    let stored: serde_json::Map<String, serde_json::Value> = serde_json::from_str(stored).unwrap_or_default();
    stored.into_iter().filter_map(|(name, value)| Some((canonical_name(&name), json!([value.as_str()?])))).collect()
}

async fn keys(axum::extract::State(server): axum::extract::State<DevServer>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(denied) = server.check(&headers, &uri) {
        return denied;
    }
    Json(json!({ "current": server.0.current_key, "next": server.0.next_key })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_apps_own_origins_are_destinations() {
        let d = Destinations::new(&["http://127.0.0.1:3000/".into(), "https://scout.example.com/".into()]);
        assert!(d.allows("http://127.0.0.1:3000/api/qstash/process-scraping"));
        assert!(d.allows("https://scout.example.com/api/qstash/failed?x=1"));
        for foreign in [
            "http://127.0.0.1:3001/api",
            "http://127.0.0.1:3000@evil.example/",
            "http://user@127.0.0.1:3000/",
            "https://127.0.0.1:3000/",
            "http://scout.example.com/",
            "https://scout.example.com.evil.example/",
            "http://169.254.169.254/latest/meta-data",
            "file:///etc/passwd",
            "not a url",
        ] {
            assert!(!d.allows(foreign), "{foreign}");
        }
    }

    #[test]
    fn header_names_are_canonical() {
        assert_eq!(canonical_name("content-type"), "Content-Type");
        assert_eq!(canonical_name("x-RATELIMIT-reset"), "X-Ratelimit-Reset");
        assert_eq!(
            serde_json::Value::Object(listed_headers(r#"{"content-type":"application/json"}"#)),
            json!({"Content-Type": ["application/json"]})
        );
    }

    #[test]
    fn tokens_come_from_the_header_or_the_query() {
        assert_eq!(query_token("a=1&qstash_token=abc%3D%3D"), Some("abc==".into()));
        assert_eq!(query_token("qstash_tokenx=1"), None);
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("", "abc"));
    }
}
