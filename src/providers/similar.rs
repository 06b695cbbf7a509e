//! The seeds of a "similar to @creator" search. Instagram lists related profiles, so its search walks
//! them; TikTok and YouTube do not, so their searches derive keywords from how the account describes
//! itself (bio hashtags and words, channel tags) and search those, leaving the account itself out.

/// Keywords derived per similar search.
pub const MAX_DERIVED_KEYWORDS: usize = 5;

/// Filler that says nothing about what an account is about.
const STOPWORDS: &[&str] = &[
    "about",
    "actually",
    "also",
    "below",
    "best",
    "business",
    "collab",
    "contact",
    "content",
    "creator",
    "daily",
    "dm",
    "email",
    "every",
    "follow",
    "from",
    "have",
    "here",
    "inquiries",
    "instagram",
    "journey",
    "just",
    "like",
    "link",
    "more",
    "mon",
    "my",
    "new",
    "official",
    "page",
    "really",
    "sharing",
    "that",
    "the",
    "their",
    "them",
    "they",
    "this",
    "tiktok",
    "tips",
    "videos",
    "what",
    "when",
    "with",
    "work",
    "your",
    "youtube",
    "subscribe",
    "channel",
    "welcome",
    "wed",
    "fri",
    "coach",
    "nerd",
    "inspo",
];

/// Up to `MAX_DERIVED_KEYWORDS` search terms for accounts like this one: its hashtags and tags first
/// (in order), then the words its bio uses most (at least four letters, no filler, no emails or links).
pub fn derive_keywords(bio: &str, tags: &[String], handle: &str) -> Vec<String> {
    let mut keywords: Vec<String> = Vec::new();
    let push = |keyword: String, keywords: &mut Vec<String>| {
        let keyword = keyword.trim().to_lowercase();
        if keyword.chars().count() >= 3 && !keyword.eq_ignore_ascii_case(handle) && !keywords.contains(&keyword) {
            keywords.push(keyword);
        }
    };
    for word in bio.split_whitespace() {
        if let Some(tag) = word.strip_prefix('#') {
            let tag: String = tag.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            push(tag, &mut keywords);
        }
    }
    for tag in tags {
        push(tag.clone(), &mut keywords);
    }
    let mut counts: Vec<(String, usize, usize)> = Vec::new();
    for (position, raw) in bio.split_whitespace().enumerate() {
        // Sentence punctuation is not part of a word; an inner dot, @ or / marks a link or an email.
        let raw = raw.trim_matches(|c: char| !c.is_alphanumeric() && c != '#');
        if raw.starts_with('#') || raw.contains(['@', '/', '.']) {
            continue;
        }
        let word: String = raw.chars().filter(|c| c.is_alphabetic()).flat_map(char::to_lowercase).collect();
        if word.chars().count() < 4 || STOPWORDS.contains(&word.as_str()) {
            continue;
        }
        match counts.iter_mut().find(|(w, ..)| *w == word) {
            Some(entry) => entry.1 += 1,
            None => counts.push((word, 1, position)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
    for (word, ..) in counts {
        push(word, &mut keywords);
    }
    keywords.truncate(MAX_DERIVED_KEYWORDS);
    keywords
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashtags_and_tags_come_first_then_telling_words() {
        let bio = "Pilates coach 🧘 #reformer #PilatesLife | pilates & barre tips every day 📩 maya@studio.co https://linktr.ee/maya";
        let keywords = derive_keywords(bio, &["core workout".into()], "maya.pilates");
        assert_eq!(keywords, vec!["reformer", "pilateslife", "core workout", "pilates", "barre"]);
    }

    #[test]
    fn sentence_punctuation_does_not_hide_a_word() {
        assert_eq!(derive_keywords("Pilates instructor.", &[], "x"), vec!["pilates", "instructor"]);
        assert!(derive_keywords("studio.co hello@x.io", &[], "x").is_empty());
    }

    #[test]
    fn an_empty_profile_yields_nothing_to_search() {
        assert!(derive_keywords("", &[], "x").is_empty());
        assert!(derive_keywords("just tips ✨", &[], "x").is_empty());
        assert_eq!(derive_keywords("#maya", &[], "maya"), Vec::<String>::new(), "the account's own name is not a topic");
    }
}
