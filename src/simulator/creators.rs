//! Deterministic synthetic creators: the same query and position always give the same creator, and a
//! handle always gives the same profile, so jobs are reproducible and restarts comparable.

const FIRST_NAMES: &[&str] = &[
    "maya", "liam", "zoe", "noah", "ava", "leo", "mia", "kai", "ella", "theo", "ivy", "omar", "luna", "finn", "nora", "jade", "eli",
    "rosa", "milo", "aria", "sam", "tara", "jon", "lena",
];
const LAST_NAMES: &[&str] = &["Rivera", "Chen", "Okafor", "Novak", "Haddad", "Silva", "Kim", "Moreau", "Singh", "Berg", "Costa", "Ito"];
const DOMAINS: &[&str] = &["gmail.com", "Gmail.com", "outlook.com", "creatorhub.io", "talent.agency", "studio.co"];
const COUNTRIES: &[&str] = &["United States", "United Kingdom", "Canada", "Australia", "Germany", "Brazil", "India", "France"];
const CATEGORIES: &[&str] = &["Digital creator", "Coach", "Artist", "Personal blog", "Public figure", "Entrepreneur"];
const RELATED_TAGS: &[&str] = &["tips", "life", "daily", "community", "goals"];
const BIOS: &[&str] = &[
    "{topic} every day ✨ new videos Mon/Wed/Fri",
    "Sharing my {topic} journey 🌱 | she/her",
    "{topic} tips that actually work. Coach & creator.",
    "Just a {topic} nerd 🤓 | LA → NYC",
    "Daily {topic} inspo 💫 Link below ⬇️",
    "{topic} | travel | coffee ☕",
];

pub fn seed(parts: &[&str]) -> u64 {
    // FNV-1a: stable across runs and platforms (std's hasher is randomly keyed).
    let mut hash: u64 = 0xcbf29ce484222325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0xff)) {
            hash ^= byte as u64;
            hash = hash.wrapping_mul(0x100000001b3);
        }
    }
    hash
}

pub struct SyntheticCreator {
    pub handle: String,
    pub uid: String,
    pub nickname: String,
    pub followers: i64,
    pub verified: bool,
    pub bio: String,
    pub bio_link: Option<String>,
    /// The id of the post (video, reel) that found the creator.
    pub post_id: String,
    pub caption: String,
    pub hashtags: Vec<String>,
    pub views: i64,
    pub likes: i64,
    pub create_time: i64,
    pub country: &'static str,
    pub category: &'static str,
    /// What the creator posts about (from the handle, `name.topic12`).
    pub topic: String,
}

fn slug(query: &str) -> String {
    let s: String = query.chars().filter(|c| c.is_ascii_alphanumeric()).take(14).collect::<String>().to_lowercase();
    if s.is_empty() {
        "creator".into()
    } else {
        s
    }
}

impl SyntheticCreator {
    /// The author of the `index`-th post for `query` on `platform`. Every tenth post is by an author
    /// already seen a few results earlier, as on the real platforms, so deduplication is exercised.
    pub fn for_result(platform: &str, query: &str, index: usize) -> Self {
        // TikTok keeps the seeds it had before other platforms existed, so its people stay the same.
        let keyed = if platform == "tiktok" { query.to_string() } else { format!("{platform}:{query}") };
        let query_key = keyed.as_str();
        let author_index = if index % 10 == 9 { index - 3 } else { index };
        let first = FIRST_NAMES[(seed(&[query_key, "first", &author_index.to_string()]) % FIRST_NAMES.len() as u64) as usize];
        let handle = format!("{first}.{}{author_index}", slug(query));
        let mut creator = Self::for_handle(&handle);
        let video = seed(&[query_key, "video", &index.to_string()]);
        creator.post_id = format!("7{:018}", video % 1_000_000_000_000_000_000);
        creator.views = 500 + (video % 2_000_000) as i64 * ((video >> 40) % 5 + 1) as i64;
        creator.likes = creator.views / (8 + (video >> 20) as i64 % 20);
        // Real posts carry the topic, a generic tag, and one of a few related tags: what keyword
        // expansion feeds on.
        let topic = slug(query);
        let related = RELATED_TAGS[((video >> 12) % RELATED_TAGS.len() as u64) as usize];
        creator.hashtags = vec![topic.clone(), "fyp".into(), format!("{topic}tok"), format!("{topic}{related}")];
        creator.caption =
            format!("{query} — what nobody tells you {}", creator.hashtags.iter().map(|t| format!("#{t}")).collect::<Vec<_>>().join(" "));
        creator.create_time = 1_700_000_000 + (video % 30_000_000) as i64;
        creator
    }

    /// The profile behind a handle.
    pub fn for_handle(handle: &str) -> Self {
        let h = seed(&[handle]);
        let first = handle.split('.').next().unwrap_or(handle);
        let topic = handle.split('.').nth(1).map(|t| t.trim_end_matches(|c: char| c.is_ascii_digit())).unwrap_or("lifestyle");
        let mut first_cap = first.to_string();
        if let Some(c) = first_cap.get_mut(0..1) {
            c.make_ascii_uppercase();
        }
        let last = LAST_NAMES[(h % LAST_NAMES.len() as u64) as usize];
        let mut nickname = format!("{first_cap} {last}");
        // Log-uniform between 1k and ~5M followers, like real search results.
        let followers = (1_000.0 * 5_000f64.powf(((h >> 8) % 10_000) as f64 / 10_000.0)) as i64;
        let domain = DOMAINS[((h >> 24) % DOMAINS.len() as u64) as usize];
        let mut bio = BIOS[((h >> 32) % BIOS.len() as u64) as usize].replace("{topic}", topic);
        let email_roll = (h >> 40) % 100;
        if email_roll < 35 {
            bio.push_str(&format!(" 📩 {first}.{topic}@{domain}"));
        }
        let bio_link = match (h >> 48) % 100 {
            0..=11 => Some(format!("mailto:booking.{first}@{}", domain.to_lowercase())),
            12..=59 => Some(format!("https://linktr.ee/{handle}")),
            _ => None,
        };
        // A few creators carry hostile text, as scraped data can: it must stay inert on the page and
        // in spreadsheets.
        if h % 61 == 7 {
            nickname = "=HYPERLINK(\"http://evil.example\",\"Click me\")".into();
            bio = format!("<script>alert('xss')</script><img src=x onerror=alert(1)> {topic} +tips @{first}");
        }
        Self {
            handle: handle.to_string(),
            uid: format!("{}", 6_000_000_000_000_000_000u64 + h % 1_000_000_000_000_000_000),
            nickname,
            followers,
            verified: h.is_multiple_of(23),
            bio,
            bio_link,
            post_id: String::new(),
            caption: String::new(),
            hashtags: Vec::new(),
            views: 0,
            likes: 0,
            create_time: 1_700_000_000,
            country: COUNTRIES[((h >> 52) % COUNTRIES.len() as u64) as usize],
            category: CATEGORIES[((h >> 56) % CATEGORIES.len() as u64) as usize],
            topic: topic.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creators_are_deterministic_and_repeat_like_real_search() {
        let a = SyntheticCreator::for_result("tiktok", "fitness", 12);
        let b = SyntheticCreator::for_result("tiktok", "fitness", 12);
        assert_eq!((a.handle.as_str(), a.followers, a.views), (b.handle.as_str(), b.followers, b.views));
        assert_eq!(
            SyntheticCreator::for_result("tiktok", "fitness", 19).handle,
            SyntheticCreator::for_result("tiktok", "fitness", 16).handle
        );
        assert_ne!(SyntheticCreator::for_result("tiktok", "fitness", 1).handle, SyntheticCreator::for_result("tiktok", "yoga", 1).handle);
        assert_eq!(SyntheticCreator::for_handle(&a.handle).bio, a.bio);
    }

    #[test]
    fn about_a_third_of_bios_hold_an_email() {
        let with_email = (0..1000)
            .filter(|i| {
                let c = SyntheticCreator::for_result("tiktok", "food", *i);
                c.bio.contains('@') && c.bio.contains('.')
            })
            .count();
        assert!((250..=450).contains(&with_email), "{with_email}");
    }
}
