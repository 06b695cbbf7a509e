//! The built-in scraping-API simulator: speaks ScrapeCreators' wire format for the TikTok endpoints
//! Scout uses, with deterministic synthetic creators (seeded by query and cursor), items as heavy as
//! the real ones (built from the documented sample response), and injectable faults for tests and
//! demos. Mounted under `/simulator/scrapecreators` when no real provider is configured.

mod creators;

use crate::config::SimulatorConfig;
use axum::{
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use creators::SyntheticCreator;
use serde::Deserialize;
use serde_json::{json, Value};
use std::{
    collections::VecDeque,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
};

pub const MOUNT: &str = "/simulator/scrapecreators";
const KEYWORD_SAMPLE: &str = include_str!("../../tests/fixtures/v1_tiktok_search_keyword.json");
const PROFILE_SAMPLE: &str = include_str!("../../tests/fixtures/v1_tiktok_profile.json");

#[derive(Clone)]
pub struct Simulator(Arc<Inner>);

struct Inner {
    config: SimulatorConfig,
    api_key: String,
    /// Absolute base of this server, for avatar URLs.
    public_base: String,
    item_template: Value,
    profile_template: Value,
    faults: Mutex<VecDeque<Fault>>,
    search_calls: AtomicU64,
    profile_calls: AtomicU64,
}

/// A scripted failure: the next `count` matching requests answer `status`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    pub status: u16,
    #[serde(default = "one")]
    pub count: u32,
    /// Seconds for the `Retry-After` header of a 429.
    pub retry_after: Option<u64>,
    /// "search", "profile", or absent for any endpoint.
    pub endpoint: Option<String>,
    /// Only requests for this handle (profile) or query (search).
    pub target: Option<String>,
}

fn one() -> u32 {
    1
}

impl Simulator {
    pub fn new(config: SimulatorConfig, api_key: &str, public_base: &str) -> Self {
        let sample: Value = serde_json::from_str(KEYWORD_SAMPLE).expect("bundled keyword sample is JSON");
        let item_template = sample["search_item_list"][0].clone();
        let profile_template = serde_json::from_str(PROFILE_SAMPLE).expect("bundled profile sample is JSON");
        Self(Arc::new(Inner {
            config,
            api_key: api_key.to_string(),
            public_base: public_base.trim_end_matches('/').to_string(),
            item_template,
            profile_template,
            faults: Mutex::new(VecDeque::new()),
            search_calls: AtomicU64::new(0),
            profile_calls: AtomicU64::new(0),
        }))
    }

    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        Router::new()
            .route(&format!("{MOUNT}/v1/tiktok/search/keyword"), get(keyword_search))
            .route(&format!("{MOUNT}/v1/tiktok/profile"), get(profile))
            .route(&format!("{MOUNT}/_faults"), post(add_fault).delete(clear_faults))
            .route(&format!("{MOUNT}/_stats"), get(stats))
            .route("/simulator/avatar/{name}", get(avatar))
            .with_state(self.clone())
    }

    /// Answers the scripted fault for `endpoint` and `target` (query or handle), if one is queued.
    fn take_fault(&self, endpoint: &str, target: &str) -> Option<Response> {
        let mut faults = self.0.faults.lock().unwrap();
        let index = faults
            .iter()
            .position(|f| f.endpoint.as_deref().is_none_or(|e| e == endpoint) && f.target.as_deref().is_none_or(|t| t == target))?;
        let fault = faults[index].clone();
        if fault.count <= 1 {
            faults.remove(index);
        } else {
            faults[index].count -= 1;
        }
        drop(faults);
        let message = match fault.status {
            402 => "Not enough credits. Top up at https://app.scrapecreators.com",
            429 => "Rate limit exceeded",
            401 => "Invalid API key",
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
        Some(response)
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

    fn search_item(&self, creator: &SyntheticCreator) -> Value {
        let mut item = self.0.item_template.clone();
        let info = &mut item["aweme_info"];
        let video_url = format!("https://www.tiktok.com/@{}/video/{}", creator.handle, creator.aweme_id);
        info["aweme_id"] = json!(creator.aweme_id);
        info["desc"] = json!(creator.caption);
        info["share_url"] = json!(format!("{video_url}?_r=1&source=h5_m"));
        info["url"] = json!(video_url);
        info["create_time"] = json!(creator.create_time);
        let stats = &mut info["statistics"];
        stats["aweme_id"] = json!(creator.aweme_id);
        stats["play_count"] = json!(creator.views);
        stats["digg_count"] = json!(creator.likes);
        stats["comment_count"] = json!(creator.likes / 40);
        stats["share_count"] = json!(creator.likes / 90);
        let tag_template = info["text_extra"][0].clone();
        info["text_extra"] = Value::Array(
            creator
                .hashtags
                .iter()
                .map(|tag| {
                    let mut t = tag_template.clone();
                    t["hashtag_name"] = json!(tag);
                    t
                })
                .collect(),
        );
        let avatar = self.avatar_url(&creator.handle);
        let author = &mut info["author"];
        author["uid"] = json!(creator.uid);
        author["unique_id"] = json!(creator.handle);
        author["nickname"] = json!(creator.nickname);
        author["search_user_name"] = json!(creator.nickname);
        author["search_user_desc"] = json!(creator.handle);
        author["follower_count"] = json!(creator.followers);
        author["verification_type"] = json!(if creator.verified { 1 } else { 0 });
        for key in ["avatar_medium", "avatar_thumb", "avatar_larger", "avatar_168x168", "avatar_300x300"] {
            if author.get(key).is_some() {
                author[key]["url_list"] = json!([avatar]);
            }
        }
        if let Some(author_id) = info.get_mut("author_user_id") {
            *author_id = json!(creator.uid.parse::<u64>().unwrap_or_default());
        }
        item
    }

    fn profile_body(&self, creator: &SyntheticCreator) -> Value {
        let mut body = self.0.profile_template.clone();
        let avatar = self.avatar_url(&creator.handle);
        let user = &mut body["user"];
        user["id"] = json!(creator.uid);
        user["uniqueId"] = json!(creator.handle);
        user["nickname"] = json!(creator.nickname);
        user["signature"] = json!(creator.bio);
        user["verified"] = json!(creator.verified);
        user["bioLink"] = match &creator.bio_link {
            Some(link) => json!({"link": link, "risk": 0}),
            None => Value::Null,
        };
        for key in ["avatarLarger", "avatarMedium", "avatarThumb"] {
            user[key] = json!(avatar);
        }
        body["stats"]["followerCount"] = json!(creator.followers);
        body["stats"]["videoCount"] = json!(creator.likes % 900 + 12);
        body
    }
}

#[derive(Deserialize)]
struct KeywordQuery {
    query: Option<String>,
    cursor: Option<String>,
}

async fn keyword_search(State(sim): State<Simulator>, headers: HeaderMap, Query(q): Query<KeywordQuery>) -> Response {
    tokio::time::sleep(sim.0.config.latency).await;
    if let Some(denied) = sim.check_key(&headers) {
        return denied;
    }
    if let Some(fault) = sim.take_fault("search", q.query.as_deref().unwrap_or_default()) {
        return fault;
    }
    let Some(query) = q.query.filter(|q| !q.trim().is_empty()) else {
        return (StatusCode::BAD_REQUEST, Json(json!({"success": false, "message": "query is required"}))).into_response();
    };
    let Ok(start) = q.cursor.as_deref().unwrap_or("0").parse::<usize>() else {
        return (StatusCode::BAD_REQUEST, Json(json!({"success": false, "message": "cursor must be a number"}))).into_response();
    };
    sim.0.search_calls.fetch_add(1, Ordering::Relaxed);
    let total = sim.0.config.results_per_query;
    let end = (start + sim.0.config.page_size).min(total);
    let items: Vec<Value> = (start.min(end)..end).map(|i| sim.search_item(&SyntheticCreator::for_result(&query, i))).collect();
    let more = end < total;
    // Real responses send has_more as 0/1 for some queries and as a bool for others.
    let has_more = if creators::seed(&[&query]).is_multiple_of(2) { json!(more as u8) } else { json!(more) };
    let body = json!({
        "success": true,
        "credits_remaining": 1_000_000u64.saturating_sub(sim.0.search_calls.load(Ordering::Relaxed)),
        "credits_charged": 1,
        "cursor": end,
        "has_more": has_more,
        "search_item_list": items,
    });
    Json(body).into_response()
}

#[derive(Deserialize)]
struct ProfileQuery {
    handle: Option<String>,
}

async fn profile(State(sim): State<Simulator>, headers: HeaderMap, Query(q): Query<ProfileQuery>) -> Response {
    tokio::time::sleep(sim.0.config.latency).await;
    if let Some(denied) = sim.check_key(&headers) {
        return denied;
    }
    if let Some(fault) = sim.take_fault("profile", q.handle.as_deref().unwrap_or_default()) {
        return fault;
    }
    let Some(handle) = q.handle.filter(|h| !h.trim().is_empty()) else {
        return (StatusCode::BAD_REQUEST, Json(json!({"success": false, "message": "handle is required"}))).into_response();
    };
    sim.0.profile_calls.fetch_add(1, Ordering::Relaxed);
    Json(sim.profile_body(&SyntheticCreator::for_handle(handle.trim_start_matches('@')))).into_response()
}

// The fault hooks want the simulator's API key, like its data endpoints.

async fn add_fault(State(sim): State<Simulator>, headers: HeaderMap, Json(fault): Json<Fault>) -> Response {
    if let Some(denied) = sim.check_key(&headers) {
        return denied;
    }
    sim.0.faults.lock().unwrap().push_back(fault);
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
    Json(json!({
        "searchCalls": sim.0.search_calls.load(Ordering::Relaxed),
        "profileCalls": sim.0.profile_calls.load(Ordering::Relaxed),
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
