//! TikTok through an Apify actor: a keyword lane starts a run, then reads its dataset as it fills.
//! Items are mapped tolerantly from the common TikTok actors' shapes (`authorMeta{name, nickName,
//! signature, fans, avatar, verified}` and the like); an item without an author handle is skipped.
//! The author's bio and followers come with the item, so no profile lookup is needed.

use super::ApifyClient;
use crate::{
    providers::{email::extract_emails, Creator, ProviderError, SearchPage},
    shared::Platform,
};
use serde_json::{json, Value};
use std::time::Duration;

/// Dataset items read per page.
pub const PAGE_ITEMS: usize = 100;
/// How long a lane waits when its run has produced nothing new yet.
pub const POLL_AFTER: Duration = Duration::from_secs(3);

/// One page of a keyword lane; `max_items` bounds the run it starts.
pub async fn page(client: &ApifyClient, keyword: &str, cursor: Option<&str>, max_items: usize) -> Result<SearchPage, ProviderError> {
    let Some((run_id, dataset_id, offset)) = cursor.and_then(parse_cursor) else {
        let input = json!({
            "startUrls": [{ "url": format!("https://tiktok.com/search?q={}", urlencode(keyword)) }],
            "searchQueries": [keyword],
            "maxItems": max_items,
            "location": "US",
        });
        let run = client.start_run(&input).await?;
        // The run is started; its first items are read right away (or later, if none yet).
        return Ok(SearchPage {
            item_count: 1,
            next_cursor: Some(format!("{}|{}|0", run.id, run.default_dataset_id)),
            has_more: true,
            credits: 1,
            ..SearchPage::default()
        });
    };
    let items = client.items(&dataset_id, offset, PAGE_ITEMS).await?;
    if items.is_empty() {
        let run = client.run(&run_id).await?;
        return match run.status.as_str() {
            "SUCCEEDED" => Ok(SearchPage { item_count: 0, credits: 2, ..SearchPage::default() }),
            "READY" | "RUNNING" => {
                Ok(SearchPage { item_count: 1, has_more: true, credits: 2, wait: Some(POLL_AFTER), ..SearchPage::default() })
            }
            other => Err(ProviderError::RunFailed(other.to_string())),
        };
    }
    let creators = parse_items(&items, keyword);
    Ok(SearchPage {
        item_count: items.len(),
        creators,
        next_cursor: Some(format!("{run_id}|{dataset_id}|{}", offset + items.len())),
        has_more: true,
        credits: 1,
        ..SearchPage::default()
    })
}

/// The run a lane's cursor names, if it started one.
pub fn run_of(cursor: &str) -> Option<String> {
    parse_cursor(cursor).map(|(run, _, _)| run)
}

fn parse_cursor(cursor: &str) -> Option<(String, String, usize)> {
    let mut parts = cursor.split('|');
    let (run, dataset, offset) = (parts.next()?, parts.next()?, parts.next()?.parse().ok()?);
    (!run.is_empty() && !dataset.is_empty()).then(|| (run.to_string(), dataset.to_string(), offset))
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// Items to creators, each author once.
pub fn parse_items(items: &[Value], keyword: &str) -> Vec<Creator> {
    let mut creators: Vec<Creator> = Vec::new();
    for item in items {
        let Some(creator) = creator_from_item(item, keyword) else { continue };
        if !creators.iter().any(|c| c.external_id == creator.external_id) {
            creators.push(creator);
        }
    }
    creators
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn count(v: &Value) -> i64 {
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)).or_else(|| v.as_str().and_then(|s| s.parse().ok())).unwrap_or(0).max(0)
}

fn creator_from_item(item: &Value, keyword: &str) -> Option<Creator> {
    // `authorMeta` (apidojo, clockworks), `author` (others), or flat `authorName` fields.
    let author = [&item["authorMeta"], &item["author"]].into_iter().find(|a| a.is_object()).cloned().unwrap_or(Value::Null);
    let handle = text(&author["name"]).or_else(|| text(&author["uniqueId"])).or_else(|| text(&item["authorName"]))?;
    let handle = handle.trim_start_matches('@').to_string();
    let external_id = text(&author["id"]).unwrap_or_else(|| handle.clone());
    let bio = text(&author["signature"]).unwrap_or_default();
    let bio_link = text(&author["bioLink"]).unwrap_or_default();
    let hashtags: Vec<String> = item["hashtags"]
        .as_array()
        .map(|tags| tags.iter().filter_map(|t| text(&t["name"]).or_else(|| text(t))).collect())
        .unwrap_or_default();
    let video_id = text(&item["id"]);
    let post_url = text(&item["webVideoUrl"])
        .or_else(|| video_id.as_ref().map(|id| format!("https://www.tiktok.com/@{handle}/video/{id}")))
        .unwrap_or_default();
    Some(Creator {
        platform: Platform::Tiktok,
        emails: extract_emails([bio.as_str(), bio_link.as_str()]),
        profile_url: format!("https://www.tiktok.com/@{handle}"),
        name: text(&author["nickName"]).or_else(|| text(&author["nickname"])).unwrap_or_default(),
        followers: count(&author["fans"]).max(count(&author["followers"])),
        verified: author["verified"].as_bool().unwrap_or(false),
        avatar_url: text(&author["avatar"]).unwrap_or_default(),
        views: count(&item["playCount"]),
        likes: count(&item["diggCount"]),
        comments: count(&item["commentCount"]),
        shares: count(&item["shareCount"]),
        post_url,
        hashtags,
        matched_keyword: keyword.to_string(),
        raw: json!({ "source": "apify", "id": video_id, "author": { "id": external_id, "name": handle } }),
        bio,
        bio_link,
        country: String::new(),
        category: String::new(),
        business_email: String::new(),
        // The item carries the author's profile: nothing to look up.
        profile_fetched_at: Some(chrono::Utc::now().timestamp_millis()),
        external_id,
        handle,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_the_documented_item() {
        let item: Value = serde_json::from_str(include_str!("../../../tests/fixtures/apify_tiktok_item.json")).unwrap();
        let creators = parse_items(&[item.clone(), item], "home workout");
        assert_eq!(creators.len(), 1, "each author once");
        let c = &creators[0];
        assert_eq!((c.handle.as_str(), c.external_id.as_str()), ("stretchwithsam", "6774507247595815941"));
        assert_eq!(c.followers, 942_500);
        assert_eq!(c.emails, vec!["sam.mobility@example.com"]);
        assert_eq!((c.views, c.likes, c.comments, c.shares), (412_000, 18_200, 233, 640));
        assert_eq!(c.hashtags, vec!["homeworkout", "stretching", "fitnesstips"]);
        assert_eq!(c.post_url, "https://www.tiktok.com/@stretchwithsam/video/7412345678901234567");
        assert!(!crate::providers::Providers::needs_profile(c));
    }

    #[test]
    fn tolerates_other_actor_shapes() {
        let items = vec![
            json!({"author": {"uniqueId": "@maya", "followers": "1200"}, "id": 5}),
            json!({"authorName": "solo"}),
            json!({"text": "no author"}),
            json!("not an object"),
        ];
        let creators = parse_items(&items, "k");
        assert_eq!(creators.iter().map(|c| c.handle.as_str()).collect::<Vec<_>>(), vec!["maya", "solo"]);
        assert_eq!(creators[0].followers, 1200);
        assert_eq!(creators[0].post_url, "https://www.tiktok.com/@maya/video/5");
    }

    #[test]
    fn cursors_name_the_run() {
        assert_eq!(parse_cursor("r1|d1|40"), Some(("r1".into(), "d1".into(), 40)));
        assert_eq!(run_of("r1|d1|0").as_deref(), Some("r1"));
        assert_eq!(parse_cursor("garbage"), None);
        assert_eq!(urlencode("home workout"), "home%20workout");
    }
}
