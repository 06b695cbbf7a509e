//! The built-in scraping-API simulator: speaks ScrapeCreators' wire format for every endpoint Scout
//! uses (one module per platform), with deterministic synthetic creators (seeded by platform, query
//! and cursor), items as heavy as the real ones (built from the documented sample responses), and
//! injectable faults for tests and demos. Mounted under `/simulator/scrapecreators` when no real
//! provider is configured. It counts calls, and the most calls it ever had in flight at once, so
//! tests can hold Scout to its concurrency limit.

mod apify;
mod creators;
mod instagram;
mod tiktok;
mod youtube;

use crate::config::SimulatorConfig;
use axum::{
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};
use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

pub use creators::seed;

pub const MOUNT: &str = "/simulator/scrapecreators";
pub const APIFY_MOUNT: &str = "/simulator/apify";

#[derive(Clone)]
pub struct Simulator(Arc<Inner>);

struct Inner {
    config: SimulatorConfig,
    api_key: String,
    apify_token: String,
    /// Aborted Apify runs, with the items they had collected.
    aborted: Mutex<HashMap<String, usize>>,
    /// Apify runs a fault ended (FAILED, TIMED-OUT …), with that status.
    ended: Mutex<HashMap<String, &'static str>>,
    /// Absolute base of this server, for avatar URLs.
    public_base: String,
    templates: Templates,
    faults: Mutex<VecDeque<Fault>>,
    /// Successful calls per endpoint ("tiktok/search", "youtube/channel", …).
    calls: Mutex<BTreeMap<&'static str, u64>>,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    /// Profile lookups in flight, and search calls that started while one was: proof that a job
    /// pages while it looks creators up.
    profiles_in_flight: AtomicU64,
    searches_during_lookups: AtomicU64,
    /// YouTube channel ids served in search pages → the synthetic creator's handle, so the channel
    /// endpoint can answer for them (a channel id cannot be reversed into a handle).
    channels: Mutex<HashMap<String, String>>,
}

/// The documented sample responses the simulator's answers are built from.
struct Templates {
    tiktok_item: Value,
    tiktok_profile: Value,
    youtube_video: Value,
    youtube_channel: Value,
    instagram_search_profile: Value,
    instagram_reel: Value,
    instagram_profile: Value,
    apify_run: Value,
    apify_item: Value,
}

/// Whether an endpoint is a search or a profile lookup (faults can target either kind).
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Search,
    Profile,
}

/// A scripted failure: the next `count` matching requests answer `status` (after `delayMs`, when
/// set). Status 200 with a delay is a slow call that then answers normally.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    pub status: u16,
    #[serde(default = "one")]
    pub count: u32,
    /// Seconds for the `Retry-After` header of a 429.
    pub retry_after: Option<u64>,
    /// "search" or "profile" (any platform), an endpoint such as "youtube/channel", or absent for any.
    pub endpoint: Option<String>,
    /// Only requests for this handle, channel id (profile) or query (search).
    pub target: Option<String>,
    /// For `apify/run`: answer this run status (e.g. "FAILED") instead of an HTTP error.
    pub run_status: Option<String>,
    /// Milliseconds the call takes on top of the simulated latency (at most a minute).
    pub delay_ms: Option<u64>,
}

/// Faults queued at most, and calls one fault answers at most, so the test hook stays bounded.
const MAX_QUEUED_FAULTS: usize = 1_000;
const MAX_FAULT_COUNT: u32 = 10_000;

/// Longest scripted delay: a fault must not hold a connection past any client's timeout for long.
const MAX_FAULT_DELAY: Duration = Duration::from_secs(60);

fn one() -> u32 {
    1
}

/// Counts a call as in flight until dropped.
struct InFlight<'a>(&'a Inner, Kind);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        if self.1 == Kind::Profile {
            self.0.profiles_in_flight.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Simulator {
    pub fn new(config: SimulatorConfig, api_key: &str, apify_token: &str, public_base: &str) -> Self {
        Self(Arc::new(Inner {
            config,
            api_key: api_key.to_string(),
            apify_token: apify_token.to_string(),
            aborted: Mutex::new(HashMap::new()),
            ended: Mutex::new(HashMap::new()),
            public_base: public_base.trim_end_matches('/').to_string(),
            templates: Templates::load(),
            faults: Mutex::new(VecDeque::new()),
            calls: Mutex::new(BTreeMap::new()),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
            profiles_in_flight: AtomicU64::new(0),
            searches_during_lookups: AtomicU64::new(0),
            channels: Mutex::new(HashMap::new()),
        }))
    }

    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let router = Router::new()
            .route(&format!("{MOUNT}/v1/tiktok/search/keyword"), get(tiktok::keyword_search))
            .route(&format!("{MOUNT}/v1/tiktok/profile"), get(tiktok::profile))
            .route(&format!("{MOUNT}/v1/instagram/search/profiles"), get(instagram::search_profiles))
            .route(&format!("{MOUNT}/v2/instagram/reels/search"), get(instagram::search_reels))
            .route(&format!("{MOUNT}/v1/instagram/profile"), get(instagram::profile))
            .route(&format!("{MOUNT}/v1/youtube/search"), get(youtube::search))
            .route(&format!("{MOUNT}/v1/youtube/channel"), get(youtube::channel))
            .route(&format!("{APIFY_MOUNT}/v2/acts/{{actor}}/runs"), post(apify::start_run))
            .route(&format!("{APIFY_MOUNT}/v2/actor-runs/{{id}}"), get(apify::run))
            .route(&format!("{APIFY_MOUNT}/v2/actor-runs/{{id}}/abort"), post(apify::abort))
            .route(&format!("{APIFY_MOUNT}/v2/datasets/{{id}}/items"), get(apify::items))
            .route(&format!("{MOUNT}/_stats"), get(stats))
            .route("/simulator/avatar/{name}", get(avatar));
        // Scripted faults are a test hook: with the demo's public key, anyone could slow every search.
        let router =
            if self.0.config.faults { router.route(&format!("{MOUNT}/_faults"), post(add_fault).delete(clear_faults)) } else { router };
        router.with_state(self.clone())
    }

    fn config(&self) -> &SimulatorConfig {
        &self.0.config
    }

    fn templates(&self) -> &Templates {
        &self.0.templates
    }

    /// What every data endpoint does first, in the real API's order: take the time a call takes,
    /// check the key, then answer a scripted fault if one is queued for this endpoint and target.
    /// `Ok` carries the in-flight guard for the rest of the call.
    async fn begin(&self, endpoint: &'static str, kind: Kind, headers: &HeaderMap, target: &str) -> Result<InFlight<'_>, Response> {
        self.begin_checked(endpoint, kind, Some(headers), target).await
    }

    /// `begin` for endpoints that checked their own credentials (Apify's bearer token).
    async fn begin_authorized(&self, endpoint: &'static str, kind: Kind, target: &str) -> Result<InFlight<'_>, Response> {
        self.begin_checked(endpoint, kind, None, target).await
    }

    async fn begin_checked(
        &self,
        endpoint: &'static str,
        kind: Kind,
        headers: Option<&HeaderMap>,
        target: &str,
    ) -> Result<InFlight<'_>, Response> {
        let now = self.0.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.0.max_in_flight.fetch_max(now, Ordering::SeqCst);
        match kind {
            Kind::Profile => {
                self.0.profiles_in_flight.fetch_add(1, Ordering::SeqCst);
            }
            Kind::Search => {
                if self.0.profiles_in_flight.load(Ordering::SeqCst) > 0 {
                    self.0.searches_during_lookups.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
        let guard = InFlight(&self.0, kind);
        tokio::time::sleep(self.0.config.latency).await;
        if let Some(denied) = headers.and_then(|h| self.check_key(h)) {
            return Err(denied);
        }
        if let Some(fault) = self.take_fault(endpoint, kind, target) {
            if let Some(ms) = fault.delay_ms {
                tokio::time::sleep(Duration::from_millis(ms).min(MAX_FAULT_DELAY)).await;
            }
            if fault.status != 200 {
                return Err(fault_response(&fault));
            }
        }
        Ok(guard)
    }

    /// Counts a successful (billed) call.
    fn count(&self, endpoint: &'static str) {
        *self.0.calls.lock().unwrap().entry(endpoint).or_default() += 1;
    }

    /// Takes the scripted fault for `endpoint` and `target` (query or handle), if one is queued.
    fn take_fault(&self, endpoint: &str, kind: Kind, target: &str) -> Option<Fault> {
        let kind_name = match kind {
            Kind::Search => "search",
            Kind::Profile => "profile",
        };
        let mut faults = self.0.faults.lock().unwrap();
        let index = faults.iter().position(|f| {
            f.run_status.is_none()
                && f.endpoint.as_deref().is_none_or(|e| e == endpoint || e == kind_name)
                && f.target.as_deref().is_none_or(|t| t == target)
        })?;
        let fault = faults[index].clone();
        if fault.count <= 1 {
            faults.remove(index);
        } else {
            faults[index].count -= 1;
        }
        Some(fault)
    }

    /// A scripted run status for `apify/run` (and the query), if one is queued.
    fn take_run_status(&self, query: &str) -> Option<&'static str> {
        let mut faults = self.0.faults.lock().unwrap();
        let index = faults.iter().position(|f| f.run_status.is_some() && f.target.as_deref().is_none_or(|t| t == query))?;
        let fault = faults.remove(index)?;
        Some(match fault.run_status.as_deref() {
            Some("ABORTED") => "ABORTED",
            Some("TIMED-OUT") => "TIMED-OUT",
            _ => "FAILED",
        })
    }

    fn check_key(&self, headers: &HeaderMap) -> Option<Response> {
        match headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
            Some(key) if key == self.0.api_key => None,
            Some(_) => Some((StatusCode::UNAUTHORIZED, Json(json!({"success": false, "message": "Invalid API key"}))).into_response()),
            None => Some((StatusCode::UNAUTHORIZED, Json(json!({"success": false, "message": "apiKey is required"}))).into_response()),
        }
    }

    fn avatar_url(&self, handle: &str) -> String {
        format!("{}/simulator/avatar/{handle}.svg", self.0.public_base)
    }

    /// The envelope every ScrapeCreators answer carries.
    fn envelope(&self, credits_charged: u64) -> serde_json::Map<String, Value> {
        let used: u64 = self.0.calls.lock().unwrap().values().sum();
        let mut map = serde_json::Map::new();
        map.insert("success".into(), json!(true));
        map.insert("credits_remaining".into(), json!(1_000_000u64.saturating_sub(used)));
        map.insert("credits_charged".into(), json!(credits_charged));
        map
    }
}

/// The error answer of a scripted fault, as the vendor words it.
fn fault_response(fault: &Fault) -> Response {
    let message = match fault.status {
        402 => "Not enough credits. Top up at https://app.scrapecreators.com",
        429 => "Rate limit exceeded",
        401 => "Invalid API key",
        404 => "Not found",
        _ => "Internal Server Error",
    };
    let mut response = (
        StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Json(json!({"success": false, "message": message})),
    )
        .into_response();
    if let Some(secs) = fault.retry_after {
        response.headers_mut().insert("retry-after", HeaderValue::from(secs));
    }
    response
}

impl Templates {
    fn load() -> Self {
        let parse = |text: &str| -> Value { serde_json::from_str(text).expect("bundled sample is JSON") };
        let keyword = parse(include_str!("../../tests/fixtures/v1_tiktok_search_keyword.json"));
        let youtube_search = parse(include_str!("../../tests/fixtures/v1_youtube_search.json"));
        Self {
            tiktok_item: keyword["search_item_list"][0].clone(),
            tiktok_profile: parse(include_str!("../../tests/fixtures/v1_tiktok_profile.json")),
            youtube_video: youtube_search["videos"][1].clone(),
            youtube_channel: parse(include_str!("../../tests/fixtures/v1_youtube_channel.json")),
            instagram_search_profile: parse(include_str!("../../tests/fixtures/v1_instagram_search_profiles.json"))["profiles"][1].clone(),
            instagram_reel: parse(include_str!("../../tests/fixtures/v2_instagram_reels_search.json"))["reels"][0].clone(),
            instagram_profile: parse(include_str!("../../tests/fixtures/v1_instagram_profile.json")),
            apify_run: parse(include_str!("../../tests/fixtures/apify_run.json")),
            apify_item: parse(include_str!("../../tests/fixtures/apify_tiktok_item.json")),
        }
    }
}

fn bad_request(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"success": false, "message": message}))).into_response()
}

fn not_found(message: &str) -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"success": false, "message": message}))).into_response()
}

// The fault hooks want the simulator's API key, like its data endpoints.

async fn add_fault(State(sim): State<Simulator>, headers: HeaderMap, Json(fault): Json<Fault>) -> Response {
    if let Some(denied) = sim.check_key(&headers) {
        return denied;
    }
    if fault.count > MAX_FAULT_COUNT {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": format!("count is at most {MAX_FAULT_COUNT}.")}))).into_response();
    }
    let mut faults = sim.0.faults.lock().unwrap();
    if faults.len() >= MAX_QUEUED_FAULTS {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": format!("At most {MAX_QUEUED_FAULTS} faults can be queued.")})))
            .into_response();
    }
    faults.push_back(fault);
    StatusCode::NO_CONTENT.into_response()
}

async fn clear_faults(State(sim): State<Simulator>, headers: HeaderMap) -> Response {
    if let Some(denied) = sim.check_key(&headers) {
        return denied;
    }
    sim.0.faults.lock().unwrap().clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn stats(State(sim): State<Simulator>) -> Json<Value> {
    let calls = sim.0.calls.lock().unwrap().clone();
    let sum = |suffixes: &[&str]| -> u64 { calls.iter().filter(|(k, _)| suffixes.iter().any(|s| k.ends_with(s))).map(|(_, v)| v).sum() };
    Json(json!({
        "searchCalls": sum(&["/search", "/reels"]),
        "profileCalls": sum(&["/profile", "/channel"]),
        "calls": calls,
        "maxInFlight": sim.0.max_in_flight.load(Ordering::SeqCst),
        "searchesDuringLookups": sim.0.searches_during_lookups.load(Ordering::SeqCst),
        "pendingFaults": sim.0.faults.lock().unwrap().len(),
    }))
}

/// A round avatar with the creator's initials, so the demo table needs no network.
async fn avatar(Path(name): Path<String>) -> Response {
    let handle = name.trim_end_matches(".svg");
    let initials: String = handle.chars().filter(|c| c.is_ascii_alphanumeric()).take(2).collect::<String>().to_uppercase();
    let hue = creators::seed(&[handle]) % 360;
    let svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64"><circle cx="32" cy="32" r="32" fill="hsl({hue},55%,52%)"/><text x="32" y="40" font-family="sans-serif" font-size="24" font-weight="600" text-anchor="middle" fill="#fff">{initials}</text></svg>"##
    );
    ([("content-type", "image/svg+xml"), ("cache-control", "public, max-age=86400")], svg).into_response()
}
