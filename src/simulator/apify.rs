//! Apify's run lifecycle for the TikTok actor: `POST /v2/acts/{actor}/runs` starts a run whose items
//! appear over time (`SIMULATOR_APIFY_ITEMS_PER_SEC`), `GET /v2/actor-runs/{id}` reports READY /
//! RUNNING / SUCCEEDED (or ABORTED after `…/abort`), and `GET /v2/datasets/{id}/items` pages what has
//! arrived, in the shape of the common `authorMeta` actors. A run id encodes its query, start time
//! and size, so runs survive a restart of the simulator (only aborts are kept in memory).

use super::{creators::SyntheticCreator, Kind, Simulator};
use axum::{
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde::Deserialize;
use serde_json::{json, Value};

struct RunSpec {
    query: String,
    started_ms: i64,
    max_items: usize,
}

fn encode(spec: &RunSpec) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}\u{1f}{}\u{1f}{}", spec.started_ms, spec.max_items, spec.query))
}

fn decode(id: &str) -> Option<RunSpec> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(id).ok()?).ok()?;
    let mut parts = text.splitn(3, '\u{1f}');
    let started_ms = parts.next()?.parse().ok()?;
    let max_items = parts.next()?.parse().ok()?;
    Some(RunSpec { query: parts.next()?.to_string(), started_ms, max_items })
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn apify_error(status: StatusCode, kind: &str, message: &str) -> Response {
    (status, Json(json!({"error": {"type": kind, "message": message}}))).into_response()
}

impl Simulator {
    fn check_apify_token(&self, headers: &HeaderMap) -> Option<Response> {
        let token = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        (token != Some(self.0.apify_token.as_str()))
            .then(|| apify_error(StatusCode::UNAUTHORIZED, "token-not-valid", "Authentication token is not valid."))
    }

    /// Items of the run collected so far, and whether it has finished.
    fn progress_of(&self, id: &str, spec: &RunSpec) -> (usize, &'static str) {
        let total = spec.max_items.min(self.config().results_per_query);
        if let Some(frozen) = self.0.aborted.lock().unwrap().get(id) {
            return (*frozen, "ABORTED");
        }
        let elapsed = (now_ms() - spec.started_ms).max(0) as u64;
        let produced = ((elapsed * self.config().apify_items_per_sec / 1000) as usize).min(total);
        (produced, if produced >= total { "SUCCEEDED" } else { "RUNNING" })
    }

    fn run_body(&self, id: &str, status: &str, produced: usize) -> Value {
        let mut run = self.templates().apify_run.clone();
        let data = &mut run["data"];
        data["id"] = json!(id);
        data["defaultDatasetId"] = json!(id);
        data["status"] = json!(status);
        data["statusMessage"] = json!(format!("Crawled {produced} items"));
        data["finishedAt"] = if status == "RUNNING" { Value::Null } else { json!("2026-11-23T10:05:00.000Z") };
        run
    }
}

pub(super) async fn start_run(State(sim): State<Simulator>, Path(_actor): Path<String>, headers: HeaderMap, body: String) -> Response {
    if let Some(denied) = sim.check_apify_token(&headers) {
        return denied;
    }
    let input: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let query = input["searchQueries"][0].as_str().map(str::to_string).unwrap_or_default();
    let _call = match sim.begin_authorized("apify/runs", Kind::Search, &query).await {
        Ok(call) => call,
        Err(refused) => return refused,
    };
    if query.trim().is_empty() {
        return apify_error(StatusCode::BAD_REQUEST, "invalid-input", "searchQueries is required");
    }
    sim.count("apify/runs");
    let max_items = input["maxItems"].as_u64().unwrap_or(1000).clamp(1, 100_000) as usize;
    let id = encode(&RunSpec { query, started_ms: now_ms(), max_items });
    let mut body = sim.run_body(&id, "READY", 0);
    body["data"]["status"] = json!("READY");
    (StatusCode::CREATED, Json(body)).into_response()
}

pub(super) async fn run(State(sim): State<Simulator>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if let Some(denied) = sim.check_apify_token(&headers) {
        return denied;
    }
    let Some(spec) = decode(&id) else {
        return apify_error(StatusCode::NOT_FOUND, "record-not-found", "Actor run was not found");
    };
    let _call = match sim.begin_authorized("apify/run", Kind::Search, &spec.query).await {
        Ok(call) => call,
        Err(refused) => return refused,
    };
    sim.count("apify/run");
    let (produced, mut status) = sim.progress_of(&id, &spec);
    // A scripted end (FAILED …) sticks to the run, as it would at Apify.
    if let Some(scripted) = sim.take_run_status(&spec.query) {
        sim.0.ended.lock().unwrap().insert(id.clone(), scripted);
    }
    if let Some(ended) = sim.0.ended.lock().unwrap().get(&id) {
        status = ended;
    }
    Json(sim.run_body(&id, status, produced)).into_response()
}

pub(super) async fn abort(State(sim): State<Simulator>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if let Some(denied) = sim.check_apify_token(&headers) {
        return denied;
    }
    let Some(spec) = decode(&id) else {
        return apify_error(StatusCode::NOT_FOUND, "record-not-found", "Actor run was not found");
    };
    let (produced, _) = sim.progress_of(&id, &spec);
    sim.0.aborted.lock().unwrap().entry(id.clone()).or_insert(produced);
    sim.count("apify/abort");
    Json(sim.run_body(&id, "ABORTED", produced)).into_response()
}

#[derive(Deserialize)]
pub(super) struct ItemsQuery {
    offset: Option<usize>,
    limit: Option<usize>,
}

pub(super) async fn items(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(q): Query<ItemsQuery>,
) -> Response {
    if let Some(denied) = sim.check_apify_token(&headers) {
        return denied;
    }
    let Some(spec) = decode(&id) else {
        return apify_error(StatusCode::NOT_FOUND, "record-not-found", "Dataset was not found");
    };
    let _call = match sim.begin_authorized("apify/items", Kind::Search, &spec.query).await {
        Ok(call) => call,
        Err(refused) => return refused,
    };
    sim.count("apify/items");
    let (produced, _) = sim.progress_of(&id, &spec);
    let offset = q.offset.unwrap_or(0).min(produced);
    let end = (offset + q.limit.unwrap_or(100).clamp(1, 1000)).min(produced);
    let items: Vec<Value> =
        (offset..end).map(|i| item(&sim, &SyntheticCreator::for_result("tiktok", &spec.query, i), &spec.query)).collect();
    let mut response = Json(Value::Array(items)).into_response();
    let headers = response.headers_mut();
    for (name, value) in
        [("x-apify-pagination-offset", offset), ("x-apify-pagination-count", end - offset), ("x-apify-pagination-total", produced)]
    {
        headers.insert(name, value.into());
    }
    response
}

fn item(sim: &Simulator, creator: &SyntheticCreator, query: &str) -> Value {
    let mut item = sim.templates().apify_item.clone();
    item["id"] = json!(creator.post_id);
    item["text"] = json!(creator.caption);
    item["webVideoUrl"] = json!(format!("https://www.tiktok.com/@{}/video/{}", creator.handle, creator.post_id));
    item["playCount"] = json!(creator.views);
    item["diggCount"] = json!(creator.likes);
    item["commentCount"] = json!(creator.likes / 40);
    item["shareCount"] = json!(creator.likes / 90);
    item["hashtags"] = json!(creator.hashtags.iter().map(|t| json!({"name": t})).collect::<Vec<_>>());
    item["searchQuery"] = json!(query);
    let author = &mut item["authorMeta"];
    author["id"] = json!(creator.uid);
    author["name"] = json!(creator.handle);
    author["nickName"] = json!(creator.nickname);
    author["verified"] = json!(creator.verified);
    author["signature"] = json!(creator.bio);
    author["bioLink"] = json!(creator.bio_link);
    author["avatar"] = json!(sim.avatar_url(&creator.handle));
    author["fans"] = json!(creator.followers);
    item
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_carry_their_run() {
        let id = encode(&RunSpec { query: "home workout".into(), started_ms: 42, max_items: 500 });
        let spec = decode(&id).unwrap();
        assert_eq!((spec.query.as_str(), spec.started_ms, spec.max_items), ("home workout", 42, 500));
        assert!(decode("nope!").is_none());
    }
}
