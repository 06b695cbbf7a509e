//! `/v1/tiktok/search/keyword` and `/v1/tiktok/profile`, built on the documented samples.

use super::{bad_request, creators::SyntheticCreator, Kind, Simulator};
use axum::{
    extract::{Query, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};

/// Seeds TikTok's synthetic people (each platform has its own).
pub const PLATFORM: &str = "tiktok";

#[derive(Deserialize)]
pub(super) struct KeywordQuery {
    query: Option<String>,
    cursor: Option<String>,
}

pub(super) async fn keyword_search(State(sim): State<Simulator>, headers: HeaderMap, Query(q): Query<KeywordQuery>) -> Response {
    let _call = match sim.begin("tiktok/search", Kind::Search, &headers, q.query.as_deref().unwrap_or_default()).await {
        Ok(call) => call,
        Err(refused) => return refused,
    };
    let Some(query) = q.query.filter(|q| !q.trim().is_empty()) else {
        return bad_request("query is required");
    };
    let Ok(start) = q.cursor.as_deref().unwrap_or("0").parse::<usize>() else {
        return bad_request("cursor must be a number");
    };
    sim.count("tiktok/search");
    let total = sim.config().results_per_query;
    let end = (start + sim.config().page_size).min(total);
    let items: Vec<Value> = (start.min(end)..end).map(|i| search_item(&sim, &SyntheticCreator::for_result(PLATFORM, &query, i))).collect();
    let more = end < total;
    // Real responses send has_more as 0/1 for some queries and as a bool for others.
    let has_more = if super::seed(&[&query]).is_multiple_of(2) { json!(more as u8) } else { json!(more) };
    let mut body = sim.envelope(1);
    body.insert("cursor".into(), json!(end));
    body.insert("has_more".into(), has_more);
    body.insert("search_item_list".into(), Value::Array(items));
    Json(body).into_response()
}

fn search_item(sim: &Simulator, creator: &SyntheticCreator) -> Value {
    let mut item = sim.templates().tiktok_item.clone();
    let info = &mut item["aweme_info"];
    let video_url = format!("https://www.tiktok.com/@{}/video/{}", creator.handle, creator.post_id);
    info["aweme_id"] = json!(creator.post_id);
    info["desc"] = json!(creator.caption);
    info["share_url"] = json!(format!("{video_url}?_r=1&source=h5_m"));
    info["url"] = json!(video_url);
    info["create_time"] = json!(creator.create_time);
    let stats = &mut info["statistics"];
    stats["aweme_id"] = json!(creator.post_id);
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
    let avatar = sim.avatar_url(&creator.handle);
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

#[derive(Deserialize)]
pub(super) struct ProfileQuery {
    handle: Option<String>,
}

pub(super) async fn profile(State(sim): State<Simulator>, headers: HeaderMap, Query(q): Query<ProfileQuery>) -> Response {
    let _call = match sim.begin("tiktok/profile", Kind::Profile, &headers, q.handle.as_deref().unwrap_or_default()).await {
        Ok(call) => call,
        Err(refused) => return refused,
    };
    let Some(handle) = q.handle.filter(|h| !h.trim().is_empty()) else {
        return bad_request("handle is required");
    };
    sim.count("tiktok/profile");
    let creator = SyntheticCreator::for_handle(handle.trim_start_matches('@'));
    let mut body = sim.templates().tiktok_profile.clone();
    let avatar = sim.avatar_url(&creator.handle);
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
    Json(body).into_response()
}
