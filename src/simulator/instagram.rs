//! `/v1/instagram/search/profiles` (bios inline, string cursor), `/v2/instagram/reels/search`
//! (`page` 1–11) and `/v1/instagram/profile` (with related profiles), built on the documented samples.
//! Like Instagram, both searches stop after 11 pages, so one keyword yields a few hundred creators.

use super::{bad_request, creators::SyntheticCreator, Kind, Simulator};
use axum::{
    extract::{Query, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};

const MAX_PAGES: usize = 11;
const REEL_OFFSET: usize = 50_000;
/// Related profiles listed per profile (Instagram shows a dozen or so).
const RELATED: usize = 12;

#[derive(Deserialize)]
pub(super) struct SearchQuery {
    query: Option<String>,
    cursor: Option<String>,
    page: Option<String>,
}

/// The 1-based page a request asks for, and the range of result indexes it covers.
fn page_range(sim: &Simulator, raw_page: Option<&str>) -> Result<(usize, std::ops::Range<usize>), Response> {
    let page = match raw_page.filter(|p| !p.is_empty()) {
        None => 1,
        Some(raw) => raw.parse::<usize>().ok().filter(|p| (1..=MAX_PAGES).contains(p)).ok_or_else(|| bad_request("page must be 1–11"))?,
    };
    let size = sim.config().page_size;
    let total = sim.config().results_per_query.min(MAX_PAGES * size);
    let start = ((page - 1) * size).min(total);
    Ok((page, start..(start + size).min(total)))
}

fn user_id(creator: &SyntheticCreator) -> String {
    (super::seed(&[&creator.handle, "ig"]) % 90_000_000_000 + 1_000_000_000).to_string()
}

fn instagram_handle(creator: &SyntheticCreator) -> String {
    // Instagram handles allow dots and underscores; keep the simulator's, which are valid.
    creator.handle.clone()
}

pub(super) async fn search_profiles(State(sim): State<Simulator>, headers: HeaderMap, Query(q): Query<SearchQuery>) -> Response {
    let _call = match sim.begin("instagram/search", Kind::Search, &headers, q.query.as_deref().unwrap_or_default()).await {
        Ok(call) => call,
        Err(refused) => return refused,
    };
    let Some(query) = q.query.filter(|q| !q.trim().is_empty()) else {
        return bad_request("query is required");
    };
    let (page, range) = match page_range(&sim, q.cursor.as_deref()) {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    sim.count("instagram/search");
    let more = page < MAX_PAGES && range.end < sim.config().results_per_query && !range.is_empty();
    let profiles: Vec<Value> = range
        .map(|i| {
            let creator = SyntheticCreator::for_result("instagram", &query, i);
            let mut item = sim.templates().instagram_search_profile.clone();
            let handle = instagram_handle(&creator);
            item["id"] = json!(user_id(&creator));
            item["username"] = json!(handle);
            item["full_name"] = json!(creator.nickname);
            item["biography"] = json!(creator.bio);
            item["bio_links"] =
                json!(creator.bio_link.iter().map(|l| json!({"title": "", "url": l, "link_type": "external"})).collect::<Vec<_>>());
            item["external_url"] = json!(creator.bio_link.clone().unwrap_or_default());
            item["is_verified"] = json!(creator.verified);
            item["category_name"] = json!(creator.category);
            item["profile_pic_url"] = json!(sim.avatar_url(&creator.handle));
            item["follower_count"] = json!(creator.followers);
            item["url"] = json!(format!("https://www.instagram.com/{handle}/"));
            item
        })
        .collect();
    let mut body = sim.envelope(1);
    body.insert("query".into(), json!(query));
    body.insert("profiles".into(), Value::Array(profiles));
    if more {
        body.insert("cursor".into(), json!((page + 1).to_string()));
    }
    Json(body).into_response()
}

pub(super) async fn search_reels(State(sim): State<Simulator>, headers: HeaderMap, Query(q): Query<SearchQuery>) -> Response {
    let _call = match sim.begin("instagram/reels", Kind::Search, &headers, q.query.as_deref().unwrap_or_default()).await {
        Ok(call) => call,
        Err(refused) => return refused,
    };
    let Some(query) = q.query.filter(|q| !q.trim().is_empty()) else {
        return bad_request("query is required");
    };
    let (_, range) = match page_range(&sim, q.page.as_deref()) {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    sim.count("instagram/reels");
    let reels: Vec<Value> = range
        .map(|i| {
            // Reel owners are other people than the profile search's (indexes far apart).
            let creator = SyntheticCreator::for_result("instagram-reels", &query, REEL_OFFSET + i);
            let mut item = sim.templates().instagram_reel.clone();
            let shortcode: String = creator.post_id.chars().rev().take(11).collect();
            item["id"] = json!(creator.post_id);
            item["shortcode"] = json!(shortcode);
            item["url"] = json!(format!("https://www.instagram.com/reel/{shortcode}/"));
            item["caption"] = json!(creator.caption);
            item["like_count"] = json!(creator.likes);
            item["comment_count"] = json!(creator.likes / 40);
            item["owner"] = json!({
                "id": user_id(&creator),
                "username": instagram_handle(&creator),
                "is_verified": creator.verified,
                "profile_pic_url": sim.avatar_url(&creator.handle),
                "full_name": creator.nickname,
                "is_private": false,
                "follower_count": creator.followers,
                "post_count": creator.likes % 900 + 12,
            });
            item
        })
        .collect();
    let mut body = sim.envelope(1);
    body.insert("reels".into(), Value::Array(reels));
    Json(body).into_response()
}

#[derive(Deserialize)]
pub(super) struct ProfileQuery {
    handle: Option<String>,
}

pub(super) async fn profile(State(sim): State<Simulator>, headers: HeaderMap, Query(q): Query<ProfileQuery>) -> Response {
    let _call = match sim.begin("instagram/profile", Kind::Profile, &headers, q.handle.as_deref().unwrap_or_default()).await {
        Ok(call) => call,
        Err(refused) => return refused,
    };
    let Some(handle) = q.handle.map(|h| h.trim().trim_start_matches('@').to_string()).filter(|h| !h.is_empty()) else {
        return bad_request("handle is required");
    };
    sim.count("instagram/profile");
    let creator = SyntheticCreator::for_handle(&handle);
    let mut body = sim.templates().instagram_profile.clone();
    let user = &mut body["data"]["user"];
    user["id"] = json!(user_id(&creator));
    user["username"] = json!(handle);
    user["full_name"] = json!(creator.nickname);
    user["biography"] = json!(creator.bio);
    user["biography_with_entities"]["raw_text"] = json!(creator.bio);
    user["bio_links"] = json!(creator.bio_link.iter().map(|l| json!({"title": "", "url": l, "link_type": "external"})).collect::<Vec<_>>());
    user["external_url"] = json!(creator.bio_link.clone().unwrap_or_default());
    user["edge_followed_by"]["count"] = json!(creator.followers);
    user["is_verified"] = json!(creator.verified);
    user["category_name"] = json!(creator.category);
    // One business account in five lists a contact email apart from its bio.
    user["business_email"] = if super::seed(&[&handle, "business"]) % 5 == 0 {
        json!(format!("partnerships@{}.example", handle.replace('.', "")))
    } else {
        Value::Null
    };
    user["profile_pic_url"] = json!(sim.avatar_url(&handle));
    user["profile_pic_url_hd"] = json!(sim.avatar_url(&handle));
    user["edge_related_profiles"] = json!({ "edges": related(&handle, (sim.config().results_per_query as u64 / 8).clamp(1, 400)).into_iter().map(|r| {
        let c = SyntheticCreator::for_handle(&r);
        json!({"node": {"id": user_id(&c), "full_name": c.nickname, "is_private": false, "is_verified": c.verified,
                        "profile_pic_url": sim.avatar_url(&r), "username": r}})
    }).collect::<Vec<_>>() });
    Json(body).into_response()
}

/// The accounts Instagram lists as similar to `handle`: a deterministic neighbourhood of the same
/// topic, so a breadth-first walk keeps finding new people until the graph is exhausted. The graph
/// holds 8 × `size` accounts per topic (`size` follows `SIMULATOR_RESULTS_PER_QUERY`, so tests can
/// make it small enough to run out).
pub fn related(handle: &str, size: u64) -> Vec<String> {
    let topic: String = handle.split('.').nth(1).map(|t| t.trim_end_matches(|c: char| c.is_ascii_digit()).to_string()).unwrap_or_default();
    let topic = if topic.is_empty() { "lifestyle".to_string() } else { topic };
    let base = super::seed(&[handle, "related"]);
    (0..RELATED as u64)
        .map(|k| {
            let n = (base.wrapping_add(k * 7919)) % size.max(1);
            let name = ["maya", "liam", "zoe", "noah", "ava", "leo", "mia", "kai"][((base >> 8).wrapping_add(k) % 8) as usize];
            format!("{name}.{topic}{n}")
        })
        .filter(|r| r != handle)
        .collect()
}
