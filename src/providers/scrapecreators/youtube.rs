//! ScrapeCreators' YouTube: a search page (`/v1/youtube/search`, videos and shorts, paged by
//! `continuationToken`) yields the channels behind the videos; `/v1/youtube/channel` adds the
//! description, subscribers, email, links and country. Quirk: a channel without a handle carries
//! `handle: "channel/UC…"`, so the channel id is the stable key and the handle only when real.

use super::ScrapeCreatorsClient;
use crate::{
    providers::{credits_charged, similar::derive_keywords, Creator, Lead, Profile, ProviderError, SearchPage},
    shared::Platform,
};
use serde::Deserialize;
use serde_json::json;

pub async fn search_page(client: &ScrapeCreatorsClient, keyword: &str, cursor: Option<&str>) -> Result<SearchPage, ProviderError> {
    let mut query = vec![("query", keyword)];
    if let Some(token) = cursor {
        query.push(("continuationToken", token));
    }
    let body = client.get("/v1/youtube/search", &query).await?;
    parse_search_page(&body, keyword).map_err(ProviderError::BadResponse)
}

/// A similar search's channel (a `UC…` id or a handle): keywords derived from its tags and
/// description become the search.
pub async fn target(client: &ScrapeCreatorsClient, channel: &str) -> Result<SearchPage, ProviderError> {
    let by = if channel.len() == 24 && channel.starts_with("UC") { "channelId" } else { "handle" };
    let body = client.get("/v1/youtube/channel", &[(by, channel)]).await?;
    let response: ChannelResponse =
        serde_json::from_slice(&body).map_err(|e| ProviderError::BadResponse(format!("YouTube channel: {e}")))?;
    let tags: Vec<String> = match &response.tags {
        Some(serde_json::Value::String(text)) => text.split(',').map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect(),
        Some(serde_json::Value::Array(items)) => items.iter().filter_map(|t| t.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    };
    let keywords = derive_keywords(response.description.as_deref().unwrap_or(""), &tags, channel);
    let mut page = SearchPage::leading_to(
        keywords.into_iter().map(|keyword| Lead { keyword, source: "" }).collect(),
        credits_charged(response.credits_charged.as_ref()),
    );
    page.resolved_id = response.channel_id.filter(|id| !id.is_empty());
    Ok(page)
}

pub async fn channel(client: &ScrapeCreatorsClient, channel_id: &str) -> Result<Profile, ProviderError> {
    let body = client.get("/v1/youtube/channel", &[("channelId", channel_id)]).await?;
    parse_channel(&body).map_err(ProviderError::BadResponse)
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SearchResponse {
    videos: Option<Vec<Video>>,
    shorts: Option<Vec<Video>>,
    continuation_token: Option<String>,
    #[serde(rename = "credits_charged")]
    credits_charged: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Video {
    id: Option<String>,
    url: Option<String>,
    title: Option<String>,
    channel: Option<Channel>,
    view_count_int: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Channel {
    id: Option<String>,
    title: Option<String>,
    handle: Option<String>,
    thumbnail: Option<String>,
}

/// Videos first, then shorts; items without a channel id (shelf entries, ads) are skipped and a
/// channel is kept once per page, with its first video.
pub fn parse_search_page(body: &[u8], keyword: &str) -> Result<SearchPage, String> {
    let response: SearchResponse = serde_json::from_slice(body).map_err(|e| format!("YouTube search page is not valid JSON: {e}"))?;
    let items: Vec<Video> = response.videos.unwrap_or_default().into_iter().chain(response.shorts.unwrap_or_default()).collect();
    let item_count = items.len();
    let mut creators: Vec<Creator> = Vec::new();
    for video in items {
        let Some(creator) = creator_from_video(video, keyword) else { continue };
        if !creators.iter().any(|c| c.external_id == creator.external_id) {
            creators.push(creator);
        }
    }
    let next_cursor = response.continuation_token.filter(|t| !t.trim().is_empty());
    Ok(SearchPage {
        item_count,
        has_more: next_cursor.is_some() && item_count > 0,
        creators,
        next_cursor,
        credits: credits_charged(response.credits_charged.as_ref()),
        leads: Vec::new(),
        resolved_id: None,
        wait: None,
    })
}

/// A real handle, or None for the `channel/UC…` placeholder.
fn real_handle(raw: Option<String>) -> Option<String> {
    let handle = raw?.trim().trim_start_matches('@').to_string();
    (!handle.is_empty() && !handle.starts_with("channel/")).then_some(handle)
}

fn creator_from_video(video: Video, keyword: &str) -> Option<Creator> {
    let channel = video.channel?;
    let id = channel.id.filter(|id| !id.trim().is_empty())?;
    let handle = real_handle(channel.handle);
    let profile_url = match &handle {
        Some(handle) => format!("https://www.youtube.com/@{handle}"),
        None => format!("https://www.youtube.com/channel/{id}"),
    };
    let title = video.title.unwrap_or_default();
    let hashtags = title
        .split_whitespace()
        .filter_map(|w| w.strip_prefix('#'))
        .map(|t| t.trim_matches(|c: char| !c.is_alphanumeric() && c != '_').to_string())
        .filter(|t| !t.is_empty())
        .fold(Vec::new(), |mut acc: Vec<String>, tag| {
            if !acc.contains(&tag) {
                acc.push(tag);
            }
            acc
        });
    let post_url = video
        .url
        .filter(|u| !u.is_empty())
        .or_else(|| video.id.as_ref().map(|v| format!("https://www.youtube.com/watch?v={v}")))
        .unwrap_or_default();
    Some(Creator {
        platform: Platform::Youtube,
        raw: json!({ "video_id": video.id, "title": title, "channel": { "id": id, "title": channel.title, "handle": handle } }),
        handle: handle.unwrap_or_else(|| id.clone()),
        external_id: id,
        name: channel.title.unwrap_or_default(),
        followers: 0,
        bio: String::new(),
        bio_link: String::new(),
        emails: Vec::new(),
        avatar_url: channel.thumbnail.unwrap_or_default(),
        verified: false,
        profile_url,
        post_url,
        views: video.view_count_int.unwrap_or(0).max(0),
        likes: 0,
        comments: 0,
        shares: 0,
        hashtags,
        matched_keyword: keyword.to_string(),
        country: String::new(),
        category: String::new(),
        business_email: String::new(),
        profile_fetched_at: None,
    })
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ChannelResponse {
    description: Option<String>,
    subscriber_count: Option<serde_json::Value>,
    email: Option<String>,
    links: Option<Vec<String>>,
    country: Option<String>,
    /// Comma-separated text, or a list.
    tags: Option<serde_json::Value>,
    channel_id: Option<String>,
    #[serde(rename = "credits_charged")]
    credits_charged: Option<serde_json::Value>,
}

pub fn parse_channel(body: &[u8]) -> Result<Profile, String> {
    let response: ChannelResponse = serde_json::from_slice(body).map_err(|e| format!("YouTube channel is not valid JSON: {e}"))?;
    let email = response.email.filter(|e| !e.trim().is_empty());
    let links = response.links.unwrap_or_default();
    Ok(Profile {
        bio: response.description.unwrap_or_default(),
        // Emails hide in links as often as in the description (mailto:, contact pages).
        bio_link: links.join(" "),
        followers: response.subscriber_count.as_ref().and_then(as_count),
        verified: None,
        emails: email.clone().into_iter().collect(),
        business_email: email,
        country: response.country.filter(|c| !c.trim().is_empty()),
        category: None,
        credits: credits_charged(response.credits_charged.as_ref()),
    })
}

/// A count sent as a number or as text ("2750000").
fn as_count(value: &serde_json::Value) -> Option<i64> {
    match value {
        serde_json::Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        serde_json::Value::String(s) => s.replace([',', ' '], "").parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEARCH: &str = include_str!("../../../tests/fixtures/v1_youtube_search.json");
    const CHANNEL: &str = include_str!("../../../tests/fixtures/v1_youtube_channel.json");

    #[test]
    fn parses_the_documented_search_page() {
        let page = parse_search_page(SEARCH.as_bytes(), "running").unwrap();
        assert_eq!(page.item_count, 12, "11 videos and 1 short; the shelf's entries carry no channel");
        assert!(page.has_more);
        assert!(page.next_cursor.as_deref().unwrap().starts_with("Eo"));
        let first = &page.creators[0];
        assert_eq!(first.external_id, "UCoRR6OLuIZ2-5VxtnQIaN2w");
        // The handle quirk: `channel/UC…` is no handle; the channel id stands in, the link uses it.
        assert_eq!(first.handle, "UCoRR6OLuIZ2-5VxtnQIaN2w");
        assert_eq!(first.profile_url, "https://www.youtube.com/channel/UCoRR6OLuIZ2-5VxtnQIaN2w");
        assert_eq!(first.views, 14_860_541);
        assert_eq!(first.post_url, "https://www.youtube.com/watch?v=BzSzwqb-OEE");
        let jeff = page.creators.iter().find(|c| c.handle == "JeffPelletier").unwrap();
        assert_eq!(jeff.profile_url, "https://www.youtube.com/@JeffPelletier");
        assert_eq!(jeff.name, "Jeff Pelletier");
        let short = page.creators.iter().find(|c| c.handle == "abbyandryan").unwrap();
        assert_eq!(short.hashtags, vec!["run", "runvlog", "runner", "shorts", "morning"]);
        let ids: std::collections::HashSet<_> = page.creators.iter().map(|c| &c.external_id).collect();
        assert_eq!(ids.len(), page.creators.len(), "each channel once");
    }

    #[test]
    fn tolerates_odd_search_pages() {
        let page = parse_search_page(
            br#"{"videos": [{"id": "x", "channel": {"title": "no id"}}, {"channel": null}], "continuationToken": ""}"#,
            "k",
        )
        .unwrap();
        assert!(page.creators.is_empty());
        assert!(!page.has_more, "an empty token is the end");
        assert!(parse_search_page(b"{}", "k").unwrap().creators.is_empty());
        assert!(parse_search_page(b"[", "k").is_err());
    }

    #[test]
    fn the_channel_adds_subscribers_description_and_country() {
        let profile = parse_channel(CHANNEL.as_bytes()).unwrap();
        assert_eq!(profile.followers, Some(2_750_000));
        assert_eq!(profile.country.as_deref(), Some("United States"));
        assert!(profile.bio_link.contains("https://store.patmcafeeshow.com"));
        assert!(profile.emails.is_empty(), "email is null");
        let profile = parse_channel(br#"{"subscriberCount": "1,200", "email": "Biz@Channel.COM", "description": "hi"}"#).unwrap();
        assert_eq!(profile.followers, Some(1200));
        assert_eq!(profile.business_email.as_deref(), Some("Biz@Channel.COM"));
        let mut creator = parse_search_page(SEARCH.as_bytes(), "k").unwrap().creators.remove(0);
        creator.apply_profile(profile);
        assert_eq!(creator.business_email, "Biz@channel.com", "the domain is lowercased");
        assert_eq!(creator.emails, vec!["Biz@channel.com"]);
        assert_eq!(parse_channel(b"{}").unwrap().followers, None);
    }
}
