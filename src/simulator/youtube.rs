//! `/v1/youtube/search` (videos and one short per page, paged by an opaque `continuationToken`) and
//! `/v1/youtube/channel`, built on the documented samples. One channel in eight has no handle and
//! shows the real API's `channel/UC…` placeholder instead.

use super::{bad_request, creators::SyntheticCreator, not_found, Kind, Simulator};
use axum::{
    extract::{Query, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
    Json,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde::Deserialize;
use serde_json::{json, Value};

pub const PLATFORM: &str = "youtube";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SearchQuery {
    query: Option<String>,
    continuation_token: Option<String>,
}

fn token(offset: usize) -> String {
    format!("Eo{}", URL_SAFE_NO_PAD.encode(format!("sim:{offset}")))
}

fn offset(token: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(token.strip_prefix("Eo")?).ok()?;
    String::from_utf8(bytes).ok()?.strip_prefix("sim:")?.parse().ok()
}

/// The channel id of a synthetic creator: `UC` and 22 URL-safe characters, as on YouTube.
pub fn channel_id(creator: &SyntheticCreator) -> String {
    let a = super::seed(&[&creator.handle, "channel"]);
    let b = super::seed(&[&creator.handle, "channel", "2"]);
    let mut bytes = a.to_le_bytes().to_vec();
    bytes.extend_from_slice(&b.to_le_bytes());
    format!("UC{}", &URL_SAFE_NO_PAD.encode(bytes)[..22])
}

fn has_handle(creator: &SyntheticCreator) -> bool {
    super::seed(&[&creator.handle, "handle"]) % 8 != 0
}

pub(super) async fn search(State(sim): State<Simulator>, headers: HeaderMap, Query(q): Query<SearchQuery>) -> Response {
    let _call = match sim.begin("youtube/search", Kind::Search, &headers, q.query.as_deref().unwrap_or_default()).await {
        Ok(call) => call,
        Err(refused) => return refused,
    };
    let Some(query) = q.query.filter(|q| !q.trim().is_empty()) else {
        return bad_request("query is required");
    };
    let start = match q.continuation_token.as_deref().filter(|t| !t.is_empty()) {
        None => 0,
        Some(raw) => match offset(raw) {
            Some(start) => start,
            None => return bad_request("invalid continuationToken"),
        },
    };
    sim.count("youtube/search");
    let total = sim.config().results_per_query;
    let end = (start + sim.config().page_size).min(total);
    let mut videos = Vec::new();
    let mut shorts = Vec::new();
    for i in start.min(end)..end {
        let creator = SyntheticCreator::for_result(PLATFORM, &query, i);
        let item = video(&sim, &creator, i % 10 == 4);
        if i % 10 == 4 {
            shorts.push(item);
        } else {
            videos.push(item);
        }
    }
    let mut body = sim.envelope(1);
    body.insert("videos".into(), Value::Array(videos));
    body.insert("channels".into(), json!([]));
    body.insert("playlists".into(), json!([]));
    body.insert("shorts".into(), Value::Array(shorts));
    body.insert("shelves".into(), json!([]));
    body.insert("lives".into(), json!([]));
    body.insert("continuationToken".into(), if end < total { json!(token(end)) } else { Value::Null });
    Json(body).into_response()
}

fn video(sim: &Simulator, creator: &SyntheticCreator, short: bool) -> Value {
    let id = channel_id(creator);
    sim.0.channels.lock().unwrap().insert(id.clone(), creator.handle.clone());
    let mut item = sim.templates().youtube_video.clone();
    let video_id: String = creator.post_id.chars().rev().take(11).collect();
    item["type"] = json!(if short { "short" } else { "video" });
    item["id"] = json!(video_id);
    item["url"] = json!(format!("https://www.youtube.com/watch?v={video_id}"));
    item["title"] = json!(creator.caption);
    item["viewCountInt"] = json!(creator.views);
    item["viewCountText"] = json!(format!("{} views", crate::shared::format_count(creator.views)));
    item["channel"] = json!({
        "id": id,
        "title": creator.nickname,
        "handle": if has_handle(creator) { creator.handle.clone() } else { format!("channel/{id}") },
        "thumbnail": sim.avatar_url(&creator.handle),
    });
    item
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ChannelQuery {
    channel_id: Option<String>,
    handle: Option<String>,
}

pub(super) async fn channel(State(sim): State<Simulator>, headers: HeaderMap, Query(q): Query<ChannelQuery>) -> Response {
    let target = q.channel_id.clone().or(q.handle.clone()).unwrap_or_default();
    let _call = match sim.begin("youtube/channel", Kind::Profile, &headers, &target).await {
        Ok(call) => call,
        Err(refused) => return refused,
    };
    let handle = match (q.channel_id.filter(|c| !c.is_empty()), q.handle.filter(|h| !h.is_empty())) {
        (Some(id), _) => match sim.0.channels.lock().unwrap().get(&id) {
            Some(handle) => handle.clone(),
            None => return not_found("Channel not found"),
        },
        (None, Some(handle)) => handle.trim_start_matches('@').to_string(),
        (None, None) => return bad_request("channelId or handle is required"),
    };
    sim.count("youtube/channel");
    let creator = SyntheticCreator::for_handle(&handle);
    let id = channel_id(&creator);
    let mut body = sim.templates().youtube_channel.clone();
    body["channelId"] = json!(id);
    body["channel"] = json!(format!("http://www.youtube.com/@{}", creator.handle));
    body["name"] = json!(creator.nickname);
    body["description"] = json!(creator.bio);
    body["subscriberCount"] = json!(creator.followers);
    body["subscriberCountText"] = json!(format!("{} subscribers", crate::shared::format_count(creator.followers)));
    body["email"] = match &creator.bio_link {
        Some(link) if link.starts_with("mailto:") => json!(link.trim_start_matches("mailto:")),
        _ => Value::Null,
    };
    body["links"] = json!(creator.bio_link.iter().filter(|l| l.starts_with("http")).collect::<Vec<_>>());
    body["country"] = json!(creator.country);
    body["tags"] = json!(format!("{0}, {0} vlog, {0} for beginners", creator.topic));
    body["avatar"]["image"]["sources"][0]["url"] = json!(sim.avatar_url(&creator.handle));
    Json(body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_channel_ids_look_real() {
        assert_eq!(offset(&token(40)), Some(40));
        assert_eq!(offset("garbage"), None);
        let id = channel_id(&SyntheticCreator::for_handle("maya.run1"));
        assert_eq!(id.len(), 24);
        assert!(id.starts_with("UC"));
    }
}
