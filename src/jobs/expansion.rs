//! Keyword expansion: when every lane of a keyword search runs dry below its target, the run adds up
//! to `MAX_ADDED_KEYWORDS` lanes from the hashtags seen most often among the creators it found, once.
//! No tool in the field does this offline; it is what lets a one-keyword Instagram search (11 pages per
//! query) reach 1,000 creators.

use std::collections::HashMap;

pub const MAX_ADDED_KEYWORDS: usize = 5;

/// Compares keywords and hashtags the way a marketer would: case, spaces and `#` do not matter.
fn normalise(text: &str) -> String {
    text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// The `max` hashtags seen most often in `hashtag_lists` (JSON lists, one per creator) that are not
/// already searched, most frequent first (ties alphabetically, so the choice is reproducible).
pub fn pick(hashtag_lists: &[String], searched: &[String], max: usize) -> Vec<String> {
    let searched: Vec<String> = searched.iter().map(|k| normalise(k)).collect();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for list in hashtag_lists {
        let tags: Vec<String> = serde_json::from_str(list).unwrap_or_default();
        for tag in tags {
            let tag = normalise(&tag);
            // One- and two-letter tags are noise; very long ones are sentences.
            if (3..=40).contains(&tag.chars().count()) && !searched.contains(&tag) {
                *counts.entry(tag).or_default() += 1;
            }
        }
    }
    let mut ranked: Vec<(String, usize)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.into_iter().take(max).map(|(tag, _)| tag).collect()
}

/// "#fyp, #pilatestips" for notes.
pub fn as_hashtags(keywords: &[String]) -> String {
    keywords.iter().map(|k| format!("#{k}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_common_unsearched_hashtags_are_picked() {
        let lists: Vec<String> = [
            r#"["Pilates", "fyp", "pilatestips"]"#,
            r#"["pilates", "FYP", "coreworkout"]"#,
            r#"["fyp", "pilatestips", "x"]"#,
            r#"not json"#,
            r#"["core workout"]"#,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let picked = pick(&lists, &["pilates".to_string()], 5);
        assert_eq!(picked, vec!["fyp", "coreworkout", "pilatestips"], "counts merge case and spaces; searched and tiny tags are left out");
        assert_eq!(pick(&lists, &["pilates".into(), "FYP".into()], 1), vec!["coreworkout"]);
        assert!(pick(&[], &[], 5).is_empty());
        assert_eq!(as_hashtags(&["a".into(), "b".into()]), "#a, #b");
    }
}
