//! ScrapeCreators' TikTok: a keyword page (`/v1/tiktok/search/keyword`) becomes `Creator`s, and a
//! profile (`/v1/tiktok/profile`) fills in the bio. Parsing is tolerant: real responses omit fields,
//! send `has_more` as 0/1 or a bool, and the cursor as a number or a string.

use super::ScrapeCreatorsClient;
use crate::{
    providers::{credits_charged, email::extract_emails, similar::derive_keywords, Creator, Lead, Profile, ProviderError, SearchPage},
    shared::Platform,
};
use serde::Deserialize;
use serde_json::{json, Value};

pub async fn keyword_page(client: &ScrapeCreatorsClient, keyword: &str, cursor: Option<&str>) -> Result<SearchPage, ProviderError> {
    let mut query = vec![("query", keyword)];
    if let Some(cursor) = cursor {
        query.push(("cursor", cursor));
    }
    let body = client.get("/v1/tiktok/search/keyword", &query).await?;
    parse_keyword_page(&body, keyword).map_err(ProviderError::BadResponse)
}

/// A similar search's account: keywords derived from its bio become the search.
pub async fn target(client: &ScrapeCreatorsClient, handle: &str) -> Result<SearchPage, ProviderError> {
    let body = client.get("/v1/tiktok/profile", &[("handle", handle)]).await?;
    let profile = parse_profile(&body).map_err(ProviderError::BadResponse)?;
    let id = serde_json::from_slice::<Value>(&body).ok().and_then(|v| v["user"]["id"].as_str().map(str::to_string));
    let mut page = SearchPage::leading_to(
        derive_keywords(&profile.bio, &[], handle).into_iter().map(|keyword| Lead { keyword, source: "" }).collect(),
        profile.credits,
    );
    page.resolved_id = id.filter(|i| !i.is_empty());
    Ok(page)
}

pub async fn profile(client: &ScrapeCreatorsClient, handle: &str) -> Result<Profile, ProviderError> {
    let body = client.get("/v1/tiktok/profile", &[("handle", handle)]).await?;
    parse_profile(&body).map_err(ProviderError::BadResponse)
}

#[derive(Deserialize)]
struct KeywordResponse {
    #[serde(default)]
    search_item_list: Option<Vec<SearchItem>>,
    #[serde(default)]
    cursor: Option<Value>,
    #[serde(default)]
    has_more: Option<Value>,
    #[serde(default)]
    credits_charged: Option<Value>,
}

#[derive(Deserialize)]
struct SearchItem {
    #[serde(default)]
    aweme_info: Option<AwemeInfo>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AwemeInfo {
    aweme_id: Option<String>,
    desc: Option<String>,
    share_url: Option<String>,
    url: Option<String>,
    statistics: Option<Statistics>,
    text_extra: Option<Vec<TextExtra>>,
    author: Option<Author>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Statistics {
    play_count: Option<i64>,
    digg_count: Option<i64>,
    comment_count: Option<i64>,
    share_count: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TextExtra {
    #[serde(rename = "type")]
    kind: Option<i64>,
    hashtag_name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Author {
    uid: Option<String>,
    unique_id: Option<String>,
    nickname: Option<String>,
    follower_count: Option<i64>,
    verification_type: Option<i64>,
    signature: Option<String>,
    avatar_medium: Option<UrlList>,
    avatar_thumb: Option<UrlList>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UrlList {
    url_list: Option<Vec<String>>,
}

/// Parses one keyword page; items without an author handle are skipped, the same author appearing
/// twice on a page is kept once.
pub fn parse_keyword_page(body: &[u8], keyword: &str) -> Result<SearchPage, String> {
    let response: KeywordResponse = serde_json::from_slice(body).map_err(|e| format!("keyword page is not valid JSON: {e}"))?;
    let items = response.search_item_list.unwrap_or_default();
    let item_count = items.len();
    let mut creators: Vec<Creator> = Vec::with_capacity(items.len());
    for item in items {
        let Some(info) = item.aweme_info else { continue };
        let Some(creator) = creator_from_item(info, keyword) else { continue };
        if !creators.iter().any(|c| c.external_id == creator.external_id) {
            creators.push(creator);
        }
    }
    let next_cursor = response.cursor.as_ref().and_then(value_to_string);
    let has_more = match response.has_more.as_ref() {
        Some(v) => truthy(v),
        // Older responses carry no `has_more`: a page with items and a cursor may have more.
        None => !creators.is_empty() && next_cursor.is_some(),
    };
    Ok(SearchPage {
        item_count,
        creators,
        next_cursor,
        has_more,
        credits: credits_charged(response.credits_charged.as_ref()),
        leads: Vec::new(),
        resolved_id: None,
        wait: None,
    })
}

fn creator_from_item(info: AwemeInfo, keyword: &str) -> Option<Creator> {
    let author = info.author.unwrap_or_default();
    let handle = author.unique_id.filter(|h| !h.trim().is_empty())?;
    let external_id = author.uid.filter(|u| !u.is_empty()).unwrap_or_else(|| handle.clone());
    let stats = info.statistics.unwrap_or_default();
    let hashtags: Vec<String> = info
        .text_extra
        .unwrap_or_default()
        .into_iter()
        .filter(|t| t.kind.unwrap_or(1) == 1)
        .filter_map(|t| t.hashtag_name)
        .filter(|t| !t.is_empty())
        .fold(Vec::new(), |mut acc, tag| {
            if !acc.contains(&tag) {
                acc.push(tag);
            }
            acc
        });
    let avatar_url = [author.avatar_medium, author.avatar_thumb]
        .into_iter()
        .flatten()
        .find_map(|u| u.url_list.and_then(|l| l.into_iter().next()))
        .unwrap_or_default();
    let post_url = match (&info.url, &info.aweme_id) {
        (Some(url), _) if !url.is_empty() => url.clone(),
        (_, Some(id)) => format!("https://www.tiktok.com/@{handle}/video/{id}"),
        _ => info.share_url.clone().unwrap_or_default(),
    };
    let bio = author.signature.unwrap_or_default();
    let raw = json!({
        "aweme_id": info.aweme_id,
        "desc": info.desc,
        "author": { "uid": external_id, "unique_id": handle, "nickname": author.nickname,
                    "follower_count": author.follower_count, "verification_type": author.verification_type },
        "statistics": { "play_count": stats.play_count, "digg_count": stats.digg_count,
                        "comment_count": stats.comment_count, "share_count": stats.share_count },
    });
    Some(Creator {
        platform: Platform::Tiktok,
        emails: extract_emails([bio.as_str()]),
        profile_url: format!("https://www.tiktok.com/@{handle}"),
        name: author.nickname.unwrap_or_default(),
        followers: author.follower_count.unwrap_or(0).max(0),
        verified: author.verification_type == Some(1),
        bio,
        bio_link: String::new(),
        avatar_url,
        post_url,
        views: stats.play_count.unwrap_or(0).max(0),
        likes: stats.digg_count.unwrap_or(0).max(0),
        comments: stats.comment_count.unwrap_or(0).max(0),
        shares: stats.share_count.unwrap_or(0).max(0),
        hashtags,
        matched_keyword: keyword.to_string(),
        country: String::new(),
        category: String::new(),
        business_email: String::new(),
        profile_fetched_at: None,
        external_id,
        handle,
        raw,
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ProfileResponse {
    user: Option<ProfileUser>,
    stats: Option<ProfileStats>,
    credits_charged: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ProfileUser {
    signature: Option<String>,
    bio_link: Option<BioLink>,
    verified: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct BioLink {
    link: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ProfileStats {
    follower_count: Option<i64>,
}

pub fn parse_profile(body: &[u8]) -> Result<Profile, String> {
    let response: ProfileResponse = serde_json::from_slice(body).map_err(|e| format!("profile is not valid JSON: {e}"))?;
    let user = response.user.unwrap_or_default();
    Ok(Profile {
        bio: user.signature.unwrap_or_default(),
        bio_link: user.bio_link.and_then(|b| b.link).unwrap_or_default(),
        followers: response.stats.and_then(|s| s.follower_count),
        verified: user.verified,
        credits: credits_charged(response.credits_charged.as_ref()),
        ..Profile::default()
    })
}

fn value_to_string(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().unwrap_or(0.0) != 0.0,
        Value::String(s) => matches!(s.as_str(), "1" | "true" | "True"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../../../tests/fixtures/v1_tiktok_search_keyword.json");
    const PROFILE: &str = include_str!("../../../tests/fixtures/v1_tiktok_profile.json");

    #[test]
    fn parses_the_documented_keyword_page() {
        let page = parse_keyword_page(FIXTURE.as_bytes(), "super bowl").unwrap();
        assert_eq!(page.creators.len(), 1);
        let c = &page.creators[0];
        assert_eq!(c.handle, "kansascitychiefsfan5");
        assert_eq!(c.external_id, "7334608148841972782");
        assert_eq!(c.name, "Peter Griffin, fan");
        assert_eq!(c.followers, 25);
        assert!(c.verified);
        assert_eq!(c.views, 31677);
        assert_eq!(c.likes, 355);
        assert_eq!(c.hashtags, vec!["superbowlhalftime", "superbowl", "traviskelce", "kansascitychiefs"]);
        assert_eq!(c.post_url, "https://www.tiktok.com/@branttakes/video/7545933721589910798");
        assert!(c.avatar_url.starts_with("https://"));
        assert_eq!(c.profile_url, "https://www.tiktok.com/@kansascitychiefsfan5");
        assert_eq!(c.matched_keyword, "super bowl");
        assert!(c.bio.is_empty(), "search results carry no bio");
        // The documented page has a cursor but no has_more: more may follow.
        assert_eq!(page.next_cursor.as_deref(), Some("12"));
        assert!(page.has_more);
    }

    #[test]
    fn has_more_may_be_a_number_or_a_bool() {
        for (raw, expected) in [("1", true), ("0", false), ("true", true), ("false", false), ("\"1\"", true)] {
            let body = format!(r#"{{"search_item_list": [], "cursor": 20, "has_more": {raw}}}"#);
            assert_eq!(parse_keyword_page(body.as_bytes(), "k").unwrap().has_more, expected, "{raw}");
        }
    }

    #[test]
    fn tolerates_missing_fields() {
        let body = br#"{"search_item_list": [
            {"aweme_info": {"author": {"unique_id": "bare"}}},
            {"aweme_info": {"aweme_id": "1", "author": {}}},
            {"search_aweme_info": {}},
            {"aweme_info": {"aweme_id": "2", "author": {"unique_id": "bare", "uid": null}}}
        ]}"#;
        let page = parse_keyword_page(body, "k").unwrap();
        assert_eq!(page.creators.len(), 1, "no handle = skipped, same author once");
        assert_eq!(page.item_count, 4, "unusable items still count as a page that had items");
        let c = &page.creators[0];
        assert_eq!((c.external_id.as_str(), c.followers, c.views, c.verified), ("bare", 0, 0, false));
        assert!(!page.has_more);
        assert_eq!(page.next_cursor, None);
        assert!(parse_keyword_page(b"{}", "k").unwrap().creators.is_empty());
        assert!(parse_keyword_page(b"<html>", "k").is_err());
    }

    #[test]
    fn profile_fills_bio_followers_and_emails() {
        let profile = parse_profile(PROFILE.as_bytes()).unwrap();
        assert_eq!(profile.bio, "El Presidente/Barstool Sports Founder.");
        assert_eq!(profile.bio_link, "https://www.barstoolsports.com/bios/Surviving-Barstool");
        assert_eq!(profile.followers, Some(4_100_000));
        let mut creator = parse_keyword_page(FIXTURE.as_bytes(), "k").unwrap().creators.remove(0);
        creator.apply_profile(Profile {
            bio: "Biz: Hello@Peter.TV".into(),
            bio_link: "mailto:booking@peter.tv".into(),
            followers: Some(99),
            verified: Some(false),
            ..Profile::default()
        });
        assert_eq!(creator.emails, vec!["Hello@peter.tv", "booking@peter.tv"]);
        assert_eq!(creator.followers, 99);
        assert!(creator.verified, "verified from search is kept");
        assert_eq!(parse_profile(b"{}").unwrap(), Profile { credits: 1, ..Profile::default() }, "one credit when the answer does not say");
    }
}
