//! Inputs that parse themselves: once a value exists it is valid, so handlers and server functions
//! never re-check. The messages are shown to marketers as they are.

use crate::shared::{Platform, SearchKind, MAX_KEYWORDS, MAX_KEYWORD_CHARS};

#[derive(Clone, Debug, PartialEq)]
pub struct CampaignName(String);

impl CampaignName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("Give the campaign a name.".into());
        }
        if name.chars().count() > 100 {
            return Err("The campaign name can be at most 100 characters.".into());
        }
        Ok(Self(name.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Description(String);

impl Description {
    pub fn parse(raw: Option<&str>) -> Result<Self, String> {
        let text = raw.unwrap_or("").trim();
        if text.chars().count() > 2000 {
            return Err("The description can be at most 2,000 characters.".into());
        }
        Ok(Self(text.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 1–10 distinct keywords of at most 100 characters each.
#[derive(Clone, Debug, PartialEq)]
pub struct Keywords(Vec<String>);

impl Keywords {
    pub fn parse<S: AsRef<str>>(raw: &[S]) -> Result<Self, String> {
        let too_many = || format!("Use at most {MAX_KEYWORDS} keywords per search.");
        // A list far past the limit is refused before any work is done on it.
        if raw.len() > MAX_KEYWORDS * 10 {
            return Err(too_many());
        }
        let mut keywords: Vec<String> = Vec::new();
        // Lowercased once each: duplicates are found against these, never by re-lowercasing the list.
        let mut seen: Vec<String> = Vec::new();
        for keyword in raw {
            let keyword = keyword.as_ref().split_whitespace().collect::<Vec<_>>().join(" ");
            if keyword.is_empty() {
                continue;
            }
            if keyword.chars().count() > MAX_KEYWORD_CHARS {
                return Err(format!("Keywords can be at most {MAX_KEYWORD_CHARS} characters."));
            }
            let folded = keyword.to_lowercase();
            if !seen.contains(&folded) {
                seen.push(folded);
                keywords.push(keyword);
                if keywords.len() > MAX_KEYWORDS {
                    return Err(too_many());
                }
            }
        }
        if keywords.is_empty() {
            return Err("Add at least one keyword.".into());
        }
        Ok(Self(keywords))
    }

    /// Splits what a marketer typed in one box ("fitness, yoga") into keywords.
    pub fn split_input(input: &str) -> Vec<String> {
        input.split([',', '\n']).map(|k| k.trim().to_string()).filter(|k| !k.is_empty()).collect()
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

/// How many creators a search should find, within its kind's range (1,000–5,000 by keywords,
/// 100–1,000 for similar creators).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TargetResults(u32);

impl TargetResults {
    pub fn parse(raw: i64, kind: SearchKind) -> Result<Self, String> {
        let range = kind.target_range();
        if raw < range.min as i64 || raw > range.max as i64 {
            return Err(format!("targetResults must be between {} and {}.", range.min, range.max));
        }
        Ok(Self(raw as u32))
    }
    pub fn get(self) -> u32 {
        self.0
    }
}

/// The account a similar search starts from, normalised from what a marketer pastes: `handle`,
/// `@handle`, or a profile URL (and on YouTube a `UC…` channel id).
#[derive(Clone, Debug, PartialEq)]
pub struct TargetUsername(String);

impl TargetUsername {
    pub fn parse(raw: &str, platform: Platform) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("Enter the creator's @handle or profile link (targetUsername).".into());
        }
        let handle = match raw.find("://").map(|i| &raw[i + 3..]).or_else(|| raw.strip_prefix("www.")).or_else(|| {
            // "tiktok.com/@x" without a scheme is a URL too.
            raw.contains('/').then_some(raw)
        }) {
            Some(rest) => Self::from_url(rest, platform)?,
            None => raw.trim_start_matches('@').to_string(),
        };
        let valid = match platform {
            Platform::Tiktok | Platform::Instagram => {
                (1..=30).contains(&handle.len()) && handle.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
            }
            Platform::Youtube => {
                (1..=100).contains(&handle.len()) && handle.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            }
        };
        if !valid {
            return Err(format!("\"{raw}\" is not a {} handle or profile link.", platform.label()));
        }
        Ok(Self(handle))
    }

    fn from_url(rest: &str, platform: Platform) -> Result<String, String> {
        let not_profile = || format!("That link is not a {} profile.", platform.label());
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = host.to_ascii_lowercase();
        let host = host.trim_start_matches("www.").trim_start_matches("m.");
        let expected = match platform {
            Platform::Tiktok => "tiktok.com",
            Platform::Instagram => "instagram.com",
            Platform::Youtube => "youtube.com",
        };
        if host != expected {
            return Err(not_profile());
        }
        let mut parts = path.split(['?', '#']).next().unwrap_or("").split('/').filter(|p| !p.is_empty());
        let first = parts.next().ok_or_else(not_profile)?;
        Ok(match platform {
            Platform::Tiktok => first.strip_prefix('@').ok_or_else(not_profile)?.to_string(),
            Platform::Instagram => first.to_string(),
            Platform::Youtube => match first {
                "channel" | "c" | "user" => parts.next().ok_or_else(not_profile)?.to_string(),
                handle => handle.strip_prefix('@').ok_or_else(not_profile)?.to_string(),
            },
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A YouTube channel id (`UC` + 22 characters) rather than a handle.
    pub fn is_youtube_channel_id(&self) -> bool {
        self.0.len() == 24 && self.0.starts_with("UC")
    }
}

/// What a search looks for: keywords, or creators similar to one account.
#[derive(Clone, Debug, PartialEq)]
pub enum SearchSpec {
    Keywords(Keywords),
    Similar(TargetUsername),
}

impl SearchSpec {
    pub fn kind(&self) -> SearchKind {
        match self {
            SearchSpec::Keywords(_) => SearchKind::Keywords,
            SearchSpec::Similar(_) => SearchKind::Similar,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_trimmed_deduplicated_and_bounded() {
        let k = Keywords::parse(&["  fitness  coach ", "Fitness Coach", "", "yoga"]).unwrap();
        assert_eq!(k.as_slice(), ["fitness coach", "yoga"]);
        assert!(Keywords::parse::<&str>(&[]).is_err());
        assert!(Keywords::parse(&["   "]).is_err());
        assert!(Keywords::parse(&["x".repeat(101)]).is_err());
        assert!(Keywords::parse(&["x".repeat(100)]).is_ok());
        let eleven: Vec<String> = (0..11).map(|i| format!("k{i}")).collect();
        assert!(Keywords::parse(&eleven).is_err());
        assert!(Keywords::parse(&eleven[..10]).is_ok());
        let flood: Vec<String> = (0..200_000).map(|i| i.to_string()).collect();
        assert!(Keywords::parse(&flood).unwrap_err().contains("at most 10"));
        // Repeats of the same keyword are merged, not counted.
        assert!(Keywords::parse(&vec!["a"; 50]).is_ok());
    }

    #[test]
    fn keyword_box_splits_on_commas_and_lines() {
        assert_eq!(Keywords::split_input("a, b\nc,,"), vec!["a", "b", "c"]);
    }

    #[test]
    fn target_is_within_the_kinds_range() {
        assert!(TargetResults::parse(999, SearchKind::Keywords).is_err());
        assert!(TargetResults::parse(5001, SearchKind::Keywords).is_err());
        assert_eq!(TargetResults::parse(1000, SearchKind::Keywords).unwrap().get(), 1000);
        assert_eq!(TargetResults::parse(5000, SearchKind::Keywords).unwrap().get(), 5000);
        assert!(TargetResults::parse(99, SearchKind::Similar).is_err());
        assert!(TargetResults::parse(1001, SearchKind::Similar).is_err());
        assert_eq!(TargetResults::parse(100, SearchKind::Similar).unwrap().get(), 100);
    }

    #[test]
    fn target_usernames_are_normalised() {
        let parse = |raw: &str, p: Platform| TargetUsername::parse(raw, p).map(|t| t.as_str().to_string());
        assert_eq!(parse("@maya.fit", Platform::Tiktok).unwrap(), "maya.fit");
        assert_eq!(parse(" maya_fit ", Platform::Instagram).unwrap(), "maya_fit");
        assert_eq!(parse("https://www.tiktok.com/@maya.fit?lang=en", Platform::Tiktok).unwrap(), "maya.fit");
        assert_eq!(parse("tiktok.com/@maya", Platform::Tiktok).unwrap(), "maya");
        assert_eq!(parse("https://instagram.com/maya_fit/", Platform::Instagram).unwrap(), "maya_fit");
        assert_eq!(parse("https://www.youtube.com/@MrBeast/videos", Platform::Youtube).unwrap(), "MrBeast");
        let id = "UCX6OQ3DkcsbYNE6H8uQQuVA";
        assert_eq!(parse(&format!("https://youtube.com/channel/{id}"), Platform::Youtube).unwrap(), id);
        assert!(TargetUsername::parse(id, Platform::Youtube).unwrap().is_youtube_channel_id());
        assert!(parse("", Platform::Tiktok).is_err());
        assert!(parse("https://evil.example/@maya", Platform::Tiktok).is_err());
        assert!(parse("https://www.tiktok.com/explore", Platform::Tiktok).is_err());
        assert!(parse("maya fit", Platform::Tiktok).is_err());
        assert!(parse("<script>", Platform::Instagram).is_err());
    }

    #[test]
    fn campaign_name_is_required() {
        assert!(CampaignName::parse("  ").is_err());
        assert_eq!(CampaignName::parse(" Spring ").unwrap().as_str(), "Spring");
        assert!(CampaignName::parse(&"n".repeat(101)).is_err());
    }
}
