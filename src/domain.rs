//! Inputs that parse themselves: once a value exists it is valid, so handlers and server functions
//! never re-check. The messages are shown to marketers as they are.

use crate::shared::{MAX_KEYWORDS, MAX_KEYWORD_CHARS, MAX_TARGET, MIN_TARGET};

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
        let mut keywords: Vec<String> = Vec::new();
        for keyword in raw {
            let keyword = keyword.as_ref().split_whitespace().collect::<Vec<_>>().join(" ");
            if keyword.is_empty() {
                continue;
            }
            if keyword.chars().count() > MAX_KEYWORD_CHARS {
                return Err(format!("Keywords can be at most {MAX_KEYWORD_CHARS} characters."));
            }
            if !keywords.iter().any(|k| k.to_lowercase() == keyword.to_lowercase()) {
                keywords.push(keyword);
            }
        }
        if keywords.is_empty() {
            return Err("Add at least one keyword.".into());
        }
        if keywords.len() > MAX_KEYWORDS {
            return Err(format!("Use at most {MAX_KEYWORDS} keywords per search."));
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

/// How many creators a search should find: 1,000–5,000.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TargetResults(u32);

impl TargetResults {
    pub fn parse(raw: i64) -> Result<Self, String> {
        if raw < MIN_TARGET as i64 || raw > MAX_TARGET as i64 {
            return Err(format!("targetResults must be between {MIN_TARGET} and {MAX_TARGET}."));
        }
        Ok(Self(raw as u32))
    }
    pub fn get(self) -> u32 {
        self.0
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
    }

    #[test]
    fn keyword_box_splits_on_commas_and_lines() {
        assert_eq!(Keywords::split_input("a, b\nc,,"), vec!["a", "b", "c"]);
    }

    #[test]
    fn target_is_between_1000_and_5000() {
        assert!(TargetResults::parse(999).is_err());
        assert!(TargetResults::parse(5001).is_err());
        assert_eq!(TargetResults::parse(1000).unwrap().get(), 1000);
        assert_eq!(TargetResults::parse(5000).unwrap().get(), 5000);
    }

    #[test]
    fn campaign_name_is_required() {
        assert!(CampaignName::parse("  ").is_err());
        assert_eq!(CampaignName::parse(" Spring ").unwrap().as_str(), "Spring");
        assert!(CampaignName::parse(&"n".repeat(101)).is_err());
    }
}
