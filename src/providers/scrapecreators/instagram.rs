//! ScrapeCreators' Instagram. Two keyword sources: profile search (`/v1/instagram/search/profiles`,
//! bios and followers inline, string cursor, at most 11 pages per query) and reel search
//! (`/v2/instagram/reels/search`, the reels' owners, `page` 1–11). `/v1/instagram/profile` fills in
//! what a reel owner lacks (bio, business email, category) and lists related profiles.

use super::ScrapeCreatorsClient;
use crate::{
    providers::{credits_charged, Creator, Lead, Profile, ProviderError, SearchPage, RELATED_SOURCE},
    shared::Platform,
};
use serde::Deserialize;
use serde_json::{json, Value};

/// Instagram serves at most this many pages of a query, on both sources.
pub const MAX_PAGES: u32 = 11;

pub async fn profiles_page(client: &ScrapeCreatorsClient, keyword: &str, cursor: Option<&str>) -> Result<SearchPage, ProviderError> {
    let mut query = vec![("query", keyword)];
    if let Some(cursor) = cursor {
        query.push(("cursor", cursor));
    }
    let body = client.get("/v1/instagram/search/profiles", &query).await?;
    parse_profiles_page(&body, keyword).map_err(ProviderError::BadResponse)
}

pub async fn reels_page(client: &ScrapeCreatorsClient, keyword: &str, cursor: Option<&str>) -> Result<SearchPage, ProviderError> {
    let page = cursor.and_then(|c| c.parse::<u32>().ok()).unwrap_or(1).clamp(1, MAX_PAGES);
    let page_text = page.to_string();
    let body = client.get("/v2/instagram/reels/search", &[("query", keyword), ("page", page_text.as_str())]).await?;
    parse_reels_page(&body, keyword, page).map_err(ProviderError::BadResponse)
}

/// A similar search's account: the profiles Instagram lists as related are visited next.
pub async fn target(client: &ScrapeCreatorsClient, handle: &str) -> Result<SearchPage, ProviderError> {
    let body = client.get("/v1/instagram/profile", &[("handle", handle)]).await?;
    let (creator, related, credits) = parse_profile_creator(&body, handle).map_err(missing_or_bad)?;
    let mut page = SearchPage::leading_to(related.into_iter().map(|keyword| Lead { keyword, source: RELATED_SOURCE }).collect(), credits);
    page.resolved_id = Some(creator.external_id);
    Ok(page)
}

/// An answer without `data.user` is an account that does not exist (or is not public).
fn missing_or_bad(error: String) -> ProviderError {
    if error.contains("no data.user") {
        ProviderError::NotFound
    } else {
        ProviderError::BadResponse(error)
    }
}

/// One step of the walk through related profiles: the profile itself (a creator, fully described, no
/// lookup needed) and the profiles it lists as related.
pub async fn visit(client: &ScrapeCreatorsClient, handle: &str) -> Result<SearchPage, ProviderError> {
    let body = client.get("/v1/instagram/profile", &[("handle", handle)]).await?;
    let (creator, related, credits) = parse_profile_creator(&body, handle).map_err(missing_or_bad)?;
    Ok(SearchPage {
        item_count: 1,
        creators: vec![creator],
        next_cursor: None,
        has_more: false,
        credits,
        leads: related.into_iter().map(|keyword| Lead { keyword, source: RELATED_SOURCE }).collect(),
        resolved_id: None,
        wait: None,
    })
}

/// A profile as a creator (found by visiting it), with its related profiles.
pub fn parse_profile_creator(body: &[u8], handle: &str) -> Result<(Creator, Vec<String>, u32), String> {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Identity {
        data: Option<IdentityData>,
    }
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct IdentityData {
        user: Option<IdentityUser>,
    }
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct IdentityUser {
        id: Option<Value>,
        username: Option<String>,
        full_name: Option<String>,
        profile_pic_url: Option<String>,
    }
    let (profile, related) = parse_profile(body)?;
    let identity = serde_json::from_slice::<Identity>(body).ok().and_then(|i| i.data).and_then(|d| d.user).unwrap_or_default();
    let handle = identity.username.filter(|u| !u.trim().is_empty()).unwrap_or_else(|| handle.to_string());
    let mut creator = base(&handle, id_text(identity.id.as_ref()), "");
    creator.name = identity.full_name.unwrap_or_default();
    creator.avatar_url = identity.profile_pic_url.unwrap_or_default();
    creator.raw = json!({ "source": "related", "id": creator.external_id, "username": handle });
    let credits = profile.credits;
    creator.apply_profile(profile);
    creator.profile_fetched_at = Some(chrono::Utc::now().timestamp_millis());
    Ok((creator, related, credits))
}

pub async fn profile(client: &ScrapeCreatorsClient, handle: &str) -> Result<Profile, ProviderError> {
    let body = client.get("/v1/instagram/profile", &[("handle", handle)]).await?;
    parse_profile(&body).map(|(profile, _)| profile).map_err(ProviderError::BadResponse)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ProfilesResponse {
    profiles: Option<Vec<SearchProfile>>,
    cursor: Option<Value>,
    credits_charged: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SearchProfile {
    id: Option<Value>,
    username: Option<String>,
    full_name: Option<String>,
    biography: Option<String>,
    bio_links: Option<Vec<BioLink>>,
    external_url: Option<String>,
    is_verified: Option<bool>,
    category_name: Option<String>,
    profile_pic_url: Option<String>,
    follower_count: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct BioLink {
    url: Option<String>,
}

pub fn parse_profiles_page(body: &[u8], keyword: &str) -> Result<SearchPage, String> {
    let response: ProfilesResponse =
        serde_json::from_slice(body).map_err(|e| format!("Instagram profile search is not valid JSON: {e}"))?;
    let profiles = response.profiles.unwrap_or_default();
    let item_count = profiles.len();
    let mut creators: Vec<Creator> = Vec::new();
    for p in profiles {
        let Some(handle) = p.username.filter(|h| !h.trim().is_empty()) else { continue };
        let links: Vec<String> = p.bio_links.unwrap_or_default().into_iter().filter_map(|l| l.url).chain(p.external_url).collect();
        let mut creator = base(&handle, id_text(p.id.as_ref()), keyword);
        creator.name = p.full_name.unwrap_or_default();
        creator.bio = p.biography.unwrap_or_default();
        creator.bio_link = links.join(" ");
        creator.followers = p.follower_count.unwrap_or(0).max(0);
        creator.verified = p.is_verified.unwrap_or(false);
        creator.category = p.category_name.filter(|c| c != "None").unwrap_or_default();
        creator.avatar_url = p.profile_pic_url.unwrap_or_default();
        creator.emails = crate::providers::email::extract_emails([creator.bio.as_str(), creator.bio_link.as_str()]);
        creator.raw = json!({ "source": "profiles", "id": creator.external_id, "username": handle });
        if !creators.iter().any(|c| c.external_id == creator.external_id) {
            creators.push(creator);
        }
    }
    let next_cursor = response.cursor.as_ref().and_then(id_text_value).filter(|c| !c.is_empty());
    // The cursor is the next page's number; Instagram stops after page 11.
    let beyond_limit = next_cursor.as_deref().and_then(|c| c.parse::<u32>().ok()).is_some_and(|page| page > MAX_PAGES);
    Ok(SearchPage {
        item_count,
        has_more: next_cursor.is_some() && item_count > 0 && !beyond_limit,
        creators,
        next_cursor,
        credits: credits_charged(response.credits_charged.as_ref()),
        leads: Vec::new(),
        resolved_id: None,
        wait: None,
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ReelsResponse {
    reels: Option<Vec<Reel>>,
    credits_charged: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Reel {
    id: Option<Value>,
    shortcode: Option<String>,
    url: Option<String>,
    caption: Option<String>,
    owner: Option<Owner>,
    like_count: Option<i64>,
    comment_count: Option<i64>,
    play_count: Option<i64>,
    video_view_count: Option<i64>,
    is_ad: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Owner {
    id: Option<Value>,
    username: Option<String>,
    full_name: Option<String>,
    is_verified: Option<bool>,
    profile_pic_url: Option<String>,
    follower_count: Option<i64>,
}

pub fn parse_reels_page(body: &[u8], keyword: &str, page: u32) -> Result<SearchPage, String> {
    let response: ReelsResponse = serde_json::from_slice(body).map_err(|e| format!("Instagram reel search is not valid JSON: {e}"))?;
    let reels = response.reels.unwrap_or_default();
    let item_count = reels.len();
    let mut creators: Vec<Creator> = Vec::new();
    for reel in reels {
        if reel.is_ad == Some(true) {
            continue;
        }
        let Some(owner) = reel.owner else { continue };
        let Some(handle) = owner.username.filter(|h| !h.trim().is_empty()) else { continue };
        let mut creator = base(&handle, id_text(owner.id.as_ref()), keyword);
        creator.name = owner.full_name.unwrap_or_default();
        creator.verified = owner.is_verified.unwrap_or(false);
        creator.avatar_url = owner.profile_pic_url.unwrap_or_default();
        creator.followers = owner.follower_count.unwrap_or(0).max(0);
        creator.post_url = reel
            .url
            .filter(|u| !u.is_empty())
            .or_else(|| reel.shortcode.map(|s| format!("https://www.instagram.com/reel/{s}/")))
            .unwrap_or_default();
        creator.views = reel.play_count.or(reel.video_view_count).unwrap_or(0).max(0);
        creator.likes = reel.like_count.unwrap_or(0).max(0);
        creator.comments = reel.comment_count.unwrap_or(0).max(0);
        creator.hashtags = hashtags(reel.caption.as_deref().unwrap_or(""));
        creator.raw =
            json!({ "source": "reels", "reel_id": id_text(reel.id.as_ref()), "owner": { "id": creator.external_id, "username": handle } });
        if !creators.iter().any(|c| c.external_id == creator.external_id) {
            creators.push(creator);
        }
    }
    let has_more = item_count > 0 && page < MAX_PAGES;
    Ok(SearchPage {
        item_count,
        has_more,
        creators,
        next_cursor: has_more.then(|| (page + 1).to_string()),
        credits: credits_charged(response.credits_charged.as_ref()),
        leads: Vec::new(),
        resolved_id: None,
        wait: None,
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ProfileResponse {
    data: Option<ProfileData>,
    credits_charged: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ProfileData {
    user: Option<ProfileUser>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ProfileUser {
    biography: Option<String>,
    bio_links: Option<Vec<BioLink>>,
    external_url: Option<String>,
    business_email: Option<String>,
    edge_followed_by: Option<Count>,
    is_verified: Option<bool>,
    category_name: Option<String>,
    edge_related_profiles: Option<Edges>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Count {
    count: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Edges {
    edges: Option<Vec<Edge>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Edge {
    node: Option<RelatedNode>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RelatedNode {
    username: Option<String>,
}

/// The profile and the usernames of its related profiles (Instagram's "similar accounts").
pub fn parse_profile(body: &[u8]) -> Result<(Profile, Vec<String>), String> {
    let response: ProfileResponse = serde_json::from_slice(body).map_err(|e| format!("Instagram profile is not valid JSON: {e}"))?;
    let credits = credits_charged(response.credits_charged.as_ref());
    let user = response.data.and_then(|d| d.user).ok_or("Instagram profile has no data.user")?;
    let links: Vec<String> = user.bio_links.unwrap_or_default().into_iter().filter_map(|l| l.url).chain(user.external_url).collect();
    let related = user
        .edge_related_profiles
        .and_then(|e| e.edges)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|e| e.node.and_then(|n| n.username))
        .filter(|u| !u.trim().is_empty())
        .collect();
    let business_email = user.business_email.filter(|e| !e.trim().is_empty());
    Ok((
        Profile {
            bio: user.biography.unwrap_or_default(),
            bio_link: links.join(" "),
            followers: user.edge_followed_by.and_then(|c| c.count),
            verified: user.is_verified,
            emails: business_email.clone().into_iter().collect(),
            business_email,
            country: None,
            category: user.category_name.filter(|c| !c.is_empty() && c != "None"),
            credits,
        },
        related,
    ))
}

fn base(handle: &str, id: Option<String>, keyword: &str) -> Creator {
    Creator {
        platform: Platform::Instagram,
        external_id: id.filter(|i| !i.is_empty()).unwrap_or_else(|| handle.to_string()),
        handle: handle.to_string(),
        name: String::new(),
        followers: 0,
        bio: String::new(),
        bio_link: String::new(),
        emails: Vec::new(),
        avatar_url: String::new(),
        verified: false,
        profile_url: format!("https://www.instagram.com/{handle}/"),
        post_url: String::new(),
        views: 0,
        likes: 0,
        comments: 0,
        shares: 0,
        hashtags: Vec::new(),
        matched_keyword: keyword.to_string(),
        country: String::new(),
        category: String::new(),
        business_email: String::new(),
        profile_fetched_at: None,
        raw: Value::Null,
    }
}

/// Ids arrive as strings or numbers.
fn id_text(value: Option<&Value>) -> Option<String> {
    value.and_then(id_text_value)
}

fn id_text_value(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub fn hashtags(text: &str) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for word in text.split(|c: char| c.is_whitespace()) {
        for part in word.split('#').skip(1) {
            let tag: String = part.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !tag.is_empty() && !tags.contains(&tag) {
                tags.push(tag);
            }
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROFILES: &str = include_str!("../../../tests/fixtures/v1_instagram_search_profiles.json");
    const REELS: &str = include_str!("../../../tests/fixtures/v2_instagram_reels_search.json");
    const PROFILE: &str = include_str!("../../../tests/fixtures/v1_instagram_profile.json");

    #[test]
    fn profile_search_carries_bios_inline() {
        let page = parse_profiles_page(PROFILES.as_bytes(), "fitness coach").unwrap();
        assert_eq!(page.creators.len(), 2);
        assert_eq!(page.next_cursor.as_deref(), Some("2"), "cursors are strings");
        assert!(page.has_more);
        let lucy = &page.creators[1];
        assert_eq!(lucy.handle, "lovelucyfit_");
        assert_eq!(lucy.external_id, "32813649737");
        assert_eq!(lucy.followers, 55_350);
        assert_eq!(lucy.category, "Fitness Trainer");
        assert_eq!(lucy.emails, vec!["lhchewins@gmail.com"]);
        assert_eq!(lucy.profile_url, "https://www.instagram.com/lovelucyfit_/");
        assert!(!crate::providers::Providers::needs_profile(lucy), "no lookup needed");
    }

    #[test]
    fn profile_search_stops_after_eleven_pages() {
        let page = parse_profiles_page(br#"{"profiles": [{"username": "a", "id": 1}], "cursor": "12"}"#, "k").unwrap();
        assert!(!page.has_more);
        let page = parse_profiles_page(br#"{"profiles": [{"username": "a", "id": 1}], "cursor": 3}"#, "k").unwrap();
        assert_eq!((page.has_more, page.creators[0].external_id.as_str()), (true, "1"));
        assert!(parse_profiles_page(b"{}", "k").unwrap().creators.is_empty());
        assert!(parse_profiles_page(b"nope", "k").is_err());
    }

    #[test]
    fn reel_search_yields_owners_to_enrich() {
        let page = parse_reels_page(REELS.as_bytes(), "dogs", 1).unwrap();
        assert_eq!(page.creators.len(), 3);
        assert_eq!(page.next_cursor.as_deref(), Some("2"));
        let owner = &page.creators[0];
        assert_eq!(owner.handle, "fetchmycamera_");
        assert_eq!(owner.followers, 188_406);
        assert_eq!((owner.likes, owner.comments), (3487, 90));
        assert_eq!(owner.post_url, "https://www.instagram.com/reel/DOq6eV6iIgD/");
        assert!(owner.bio.is_empty());
        assert!(crate::providers::Providers::needs_profile(owner));
        let last = parse_reels_page(REELS.as_bytes(), "dogs", MAX_PAGES).unwrap();
        assert!(!last.has_more, "page 11 is the last");
        let odd = parse_reels_page(
            br#"{"reels": [{"owner": {}}, {"is_ad": true, "owner": {"username": "ad"}}, {"owner": {"username": "x", "id": 7}}]}"#,
            "k",
            1,
        )
        .unwrap();
        assert_eq!(odd.creators.len(), 1);
        assert_eq!(odd.creators[0].external_id, "7");
    }

    #[test]
    fn the_profile_adds_bio_business_email_and_related_profiles() {
        let (profile, related) = parse_profile(PROFILE.as_bytes()).unwrap();
        assert_eq!(profile.bio, "Scraping the web");
        assert_eq!(profile.followers, Some(25_116));
        assert_eq!(profile.category.as_deref(), Some("Entrepreneur"));
        assert!(profile.bio_link.contains("https://scrapecreators.com"));
        assert_eq!(related, vec!["itsallykrinsky"]);
        let (profile, _) = parse_profile(br#"{"data": {"user": {"business_email": "Shop@Brand.IO", "category_name": "None"}}}"#).unwrap();
        assert_eq!(profile.emails, vec!["Shop@Brand.IO"]);
        assert_eq!(profile.category, None);
        assert!(parse_profile(b"{}").is_err());
    }

    #[test]
    fn hashtags_are_read_from_captions() {
        assert_eq!(hashtags("Dogs #rescue #dogsofig!\n#rescue and #chihuahua_love"), vec!["rescue", "dogsofig", "chihuahua_love"]);
    }
}
