//! The embedded QStash-compatible server: the QStash HTTP API (`/v2/*`) over the app's database, and
//! a delivery loop that calls destinations as QStash does (signed, retried with its backoff, callbacks
//! after every attempt, the failure callback when retries run out). Messages survive restarts; a
//! lease on each delivery lets several instances share the table.
//!
//! `publish` turns a request into a stored message, `delivery` delivers it, `messages` reads and
//! cancels it, `queues`, `url_groups` and `schedules` manage those (the delivery loop fires due
//! schedules). Everything it calls is checked against `Destinations`: it never relays to other hosts.

mod delivery;
mod dlq;
mod events;
mod messages;
mod publish;
mod query;
mod queues;
mod schedules;
mod shutdown;
mod url_groups;

use super::signing::SigningKeys;
use crate::config::{is_loopback_host, DevQstashConfig};
use crate::db::Db;
use axum::{
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::{any, delete, get, post},
    Json, Router,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tokio::sync::{mpsc, Notify, Semaphore};

#[derive(Clone)]
pub struct DevServer(Arc<Inner>);

struct Inner {
    db: Db,
    /// Lease renewals and hand-backs only (`db::connect_for_leases`), so they never wait for a
    /// connection of the main pool (on SQLite they still take turns for the one write lock).
    lease_db: Db,
    destinations: Destinations,
    config: DevQstashConfig,
    token: String,
    /// Shared with the app's webhook receiver, so a rotation takes effect for both.
    keys: SigningKeys,
    http: reqwest::Client,
    wake: Notify,
    in_flight: Arc<Semaphore>,
    /// Where deliveries send their outcomes; the recorder (started with the delivery loop) takes the
    /// receiving end.
    outcomes: mpsc::Sender<delivery::Outcome>,
    recorder: std::sync::Mutex<Option<mpsc::Receiver<delivery::Outcome>>>,
    /// A queued or flow-controlled message was published or finished: the next pass looks at queues
    /// and flow keys (otherwise it does every 100 ms).
    queues_and_flows_changed: std::sync::atomic::AtomicBool,
    /// Set by `shut_down`: the delivery loop leases nothing more.
    stopping: std::sync::atomic::AtomicBool,
    /// The deliveries in flight and their leases, to hand back those a shutdown cannot wait for.
    leased: std::sync::Mutex<std::collections::HashMap<String, i64>>,
    /// Deliveries this process has started since it began (with several instances, each one's share).
    started: std::sync::atomic::AtomicU64,
}

/// What this server may call. Embedded in the app: the app's own origins (scheme, host, port) only;
/// an embedded server that called any URL would let anyone who knows the (public) dev token make this
/// host call anything. Standalone (`scout qstash-dev`, for other local apps): any http(s) URL.
/// Never this server's own `/v2/*` API (a message whose callback publishes messages would let one
/// publish multiply without bound), nor in the app the simulator (its hooks are for tests).
#[derive(Clone, Debug)]
pub struct Destinations {
    /// None: any destination (standalone).
    only: Option<Vec<reqwest::Url>>,
    /// Where this server itself answers.
    own: Vec<reqwest::Url>,
}

impl Destinations {
    /// Embedded: `bases` are the app's own base URLs (public and internal).
    pub fn new(bases: &[String]) -> Self {
        let urls: Vec<reqwest::Url> = bases.iter().filter_map(|b| reqwest::Url::parse(b).ok()).collect();
        Self { only: Some(urls.clone()), own: urls }
    }

    /// Standalone, answering at `own` (its listening and public base URLs).
    pub fn any(own: &[String]) -> Self {
        Self { only: None, own: own.iter().filter_map(|b| reqwest::Url::parse(b).ok()).collect() }
    }

    pub fn allows(&self, url: &str) -> bool {
        let Ok(url) = reqwest::Url::parse(url.trim()) else { return false };
        if !matches!(url.scheme(), "http" | "https") || !url.username().is_empty() || url.password().is_some() {
            return false;
        }
        // The parsed path has its dot segments (also `%2e%2e`) resolved.
        let path = url.path().to_ascii_lowercase();
        let under = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
        match &self.only {
            Some(origins) => !under("/v2") && !under("/simulator") && origins.iter().any(|base| base.origin() == url.origin()),
            None => !(under("/v2") && self.is_own(&url)),
        }
    }

    /// Whether `url` may reach this very server: its own origin, or any loopback name on its port.
    /// (A name that merely resolves to this machine is caught at the API instead: a request that
    /// carries this server's own signature is refused, see `DevServer::check`.)
    fn is_own(&self, url: &reqwest::Url) -> bool {
        let loopback = url.host_str().is_some_and(is_loopback_host);
        self.own
            .iter()
            .any(|base| base.origin() == url.origin() || (loopback && base.port_or_known_default() == url.port_or_known_default()))
    }

    /// Whether a request's `Host` names this server (so a page that rebinds its own DNS name to this
    /// machine cannot use the API from a browser): one of its own hosts, or a loopback name on its port.
    fn is_own_host(&self, host: &str) -> bool {
        let Ok(url) = reqwest::Url::parse(&format!("http://{host}/")) else { return false };
        // `Host` has no scheme: without a port it means the scheme's default one.
        let explicit = url.port();
        self.own.iter().any(|base| {
            let same_port = match explicit {
                Some(port) => base.port_or_known_default() == Some(port),
                None => base.port().is_none(),
            };
            same_port && (base.host_str() == url.host_str() || url.host_str().is_some_and(is_loopback_host))
        })
    }
}

impl DevServer {
    /// Wakes the delivery loop; `special` when queued or flow-controlled messages may now be due.
    fn wake_loop(&self, special: bool) {
        if special {
            self.0.queues_and_flows_changed.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        self.0.wake.notify_one();
    }

    /// `keys` come from `db::qstash::keys::load_or_seed`; `lease_db` is a second pool on `db`'s
    /// database (`db::connect_for_leases`).
    pub fn new(db: Db, lease_db: Db, config: DevQstashConfig, token: &str, keys: SigningKeys, destinations: Destinations) -> Self {
        // No redirects: a destination that answers 3xx must not bounce a signed delivery (and its
        // answer, which callbacks and `lastError` carry back) to another host.
        let http = reqwest::Client::builder()
            .timeout(config.delivery_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client");
        let slots = config.delivery_slots;
        let (outcomes, recorder) = mpsc::channel(slots);
        Self(Arc::new(Inner {
            db,
            lease_db,
            destinations,
            config,
            token: token.into(),
            keys,
            http,
            wake: Notify::new(),
            in_flight: Arc::new(Semaphore::new(slots)),
            outcomes,
            recorder: std::sync::Mutex::new(Some(recorder)),
            stopping: Default::default(),
            queues_and_flows_changed: Default::default(),
            leased: Default::default(),
            started: Default::default(),
        }))
    }

    /// How many deliveries this process has started (attempts, not messages), as `/healthz` reports.
    pub fn deliveries_started(&self) -> u64 {
        self.0.started.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        Router::new()
            // A wrong method answers in JSON too.
            .route("/v2/publish/{*destination}", post(publish::publish).fallback(method_not_allowed))
            .route("/v2/enqueue/{*queue_and_destination}", post(publish::enqueue).fallback(method_not_allowed))
            .route("/v2/batch", post(publish::batch).fallback(method_not_allowed))
            .route("/v2/queues", get(queues::list).post(queues::upsert).fallback(method_not_allowed))
            .route("/v2/queues/", get(queues::list).post(queues::upsert).fallback(method_not_allowed))
            .route("/v2/queues/{name}", get(queues::get).delete(queues::delete).fallback(method_not_allowed))
            .route("/v2/queues/{name}/pause", post(queues::pause).fallback(method_not_allowed))
            .route("/v2/queues/{name}/resume", post(queues::resume).fallback(method_not_allowed))
            .route("/v2/schedules", get(schedules::list).fallback(method_not_allowed))
            .route(
                "/v2/schedules/{*rest}",
                post(schedules::create).get(schedules::get).delete(schedules::delete).patch(schedules::patch).fallback(method_not_allowed),
            )
            .route("/v2/topics", get(url_groups::list).fallback(method_not_allowed))
            .route("/v2/topics/{name}", get(url_groups::get).delete(url_groups::delete).fallback(method_not_allowed))
            .route(
                "/v2/topics/{name}/endpoints",
                post(url_groups::add_endpoints).delete(url_groups::remove_endpoints).fallback(method_not_allowed),
            )
            .route("/v2/keys", get(keys).fallback(method_not_allowed))
            .route("/v2/keys/rotate", post(rotate_keys).fallback(method_not_allowed))
            .route("/v2/messages/{id}", get(messages::get).delete(messages::cancel).fallback(method_not_allowed))
            .route("/v2/messages", delete(messages::cancel_many).fallback(method_not_allowed))
            .route("/v2/dlq", get(dlq::list).delete(dlq::delete_many).fallback(method_not_allowed))
            .route("/v2/dlq/retry", post(dlq::retry_many).fallback(method_not_allowed))
            .route("/v2/dlq/retry/{id}", post(dlq::retry).fallback(method_not_allowed))
            .route("/v2/dlq/{id}", get(dlq::get).delete(dlq::delete).fallback(method_not_allowed))
            .route("/v2/events", get(events::list).fallback(method_not_allowed))
            .route("/v2/logs", get(events::list).fallback(method_not_allowed))
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

    /// What every API handler checks first:
    /// - no browser: the SDKs send neither `Origin` nor a cross-site `Sec-Fetch-Site`, while a page
    ///   could otherwise post to a server on the visitor's machine with the public dev token;
    /// - a `Host` of this server's own (DNS rebinding);
    /// - not a delivery of this very server (a message whose destination or callback reaches this
    ///   API, under any name, would let one publish multiply without bound);
    /// - the token.
    fn check(&self, headers: &HeaderMap, uri: &Uri) -> Result<(), Response> {
        let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        if headers.contains_key("origin") || value("sec-fetch-site").is_some_and(|site| site != "none") {
            return Err(error(StatusCode::FORBIDDEN, "The QStash API cannot be called from a web page."));
        }
        if value("host").is_some_and(|host| !self.0.destinations.is_own_host(host)) {
            return Err(error(StatusCode::MISDIRECTED_REQUEST, "This host is not served here."));
        }
        if value("upstash-signature").is_some_and(|token| self.signed_here(token)) {
            return Err(error(StatusCode::FORBIDDEN, "A delivery of this server cannot call its own API."));
        }
        if self.authorized(headers, uri) {
            Ok(())
        } else {
            Err(error(StatusCode::UNAUTHORIZED, "Unauthorized"))
        }
    }

    /// Whether `token` is a signature this server made (with either of its keys).
    fn signed_here(&self, token: &str) -> bool {
        let keys = self.0.keys.get();
        let signed = [Some(&keys.current), Some(&keys.next), keys.previous.as_ref()]
            .into_iter()
            .flatten()
            .any(|key| super::signing::issued_with(token, key));
        signed
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

/// A database failure: logged with what was being done, a plain 500 for the caller.
fn internal(e: sqlx::Error, doing: &str) -> Response {
    tracing::error!(error = %e, "qstash-dev: failed to {doing}");
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
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
    let keys = server.0.keys.get();
    Json(json!({ "current": keys.current, "next": keys.next })).into_response()
}

/// `POST /v2/keys/rotate`: the next key becomes current and a new next key is made, for every
/// instance (stored) and for the app's receiver (shared).
async fn rotate_keys(axum::extract::State(server): axum::extract::State<DevServer>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(denied) = server.check(&headers, &uri) {
        return denied;
    }
    match crate::db::qstash::keys::rotate(&server.0.db).await {
        Ok(Some(keys)) => {
            tracing::info!("qstash-dev: signing keys rotated");
            server.0.keys.set(keys.clone());
            Json(json!({ "current": keys.current, "next": keys.next })).into_response()
        }
        Ok(None) => error(StatusCode::CONFLICT, "no stored keys to rotate; restart the server"),
        Err(e) => internal(e, "rotate the signing keys"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_apps_own_origins_are_destinations() {
        let d = Destinations::new(&["http://127.0.0.1:3000/".into(), "https://scout.example.com/".into()]);
        assert!(d.allows("http://127.0.0.1:3000/api/qstash/process-scraping"));
        assert!(d.allows("https://scout.example.com/api/qstash/failed?x=1"));
        assert!(d.allows("http://127.0.0.1:3000/v2x"), "only the API itself is refused");
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
            "http://127.0.0.1:3000/v2/publish/http://127.0.0.1:3000/x",
            "http://127.0.0.1:3000/V2/dlq",
            "http://127.0.0.1:3000/x/%2e%2e/v2/publish/y",
            "http://127.0.0.1:3000/x/../v2",
            "http://127.0.0.1:3000/simulator/scrapecreators/_faults",
            "http://127.0.0.1:3000./api",
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
    fn standalone_calls_anything_but_itself() {
        let d = Destinations::any(&["http://127.0.0.1:8080".into()]);
        assert!(d.allows("http://localhost:3000/api/webhook"));
        assert!(d.allows("https://example.com/hook"));
        assert!(d.allows("http://127.0.0.1:8080/not-the-api"));
        for own in [
            "http://127.0.0.1:8080/v2/publish/x",
            "http://localhost:8080/v2/batch",
            "http://localhost.:8080/v2/batch",
            "http://app.localhost:8080/v2/batch",
            "http://[::1]:8080/v2",
            "http://[::ffff:127.0.0.1]:8080/v2/publish/x",
            "http://127.1:8080/v2/publish/x",
            "http://0:8080/v2/publish/x",
            "http://0.0.0.0:8080/x/../v2/dlq",
        ] {
            assert!(!d.allows(own), "{own}");
        }
        assert!(!d.allows("ftp://example.com/"));
        assert!(!d.allows("http://user:pw@example.com/"));
    }

    #[test]
    fn only_its_own_host_names_reach_the_api() {
        let d = Destinations::new(&["https://scout.example.com".into(), "http://127.0.0.1:3000".into()]);
        for own in ["scout.example.com", "scout.example.com:443", "127.0.0.1:3000", "localhost:3000", "[::1]:3000"] {
            assert!(d.is_own_host(own), "{own}");
        }
        for other in ["evil.example", "scout.example.com:8443", "127.0.0.1:3001", "rebind.attacker.example:3000", "a b"] {
            assert!(!d.is_own_host(other), "{other}");
        }
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
