//! Finds contact emails in untrusted profile text.

use std::sync::LazyLock;

static EMAIL: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}").unwrap());

/// Emails in a bio and its links (`mailto:` or plain), deduplicated case-insensitively, in order of
/// appearance, with the domain lowercased (the local part is kept: it can be case-sensitive).
pub fn extract_emails<'a>(texts: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for text in texts {
        let text = percent_decode_at(text);
        for m in EMAIL.find_iter(&text) {
            let raw = m.as_str().trim_matches(|c| c == '.' || c == '-');
            let Some((local, domain)) = raw.rsplit_once('@') else { continue };
            let local = local.trim_start_matches('.');
            if local.is_empty() {
                continue;
            }
            let email = format!("{local}@{}", domain.to_lowercase());
            if !found.iter().any(|e| e.eq_ignore_ascii_case(&email)) {
                found.push(email);
            }
        }
    }
    found
}

/// `mailto:` links often carry `%40` for `@`.
fn percent_decode_at(text: &str) -> String {
    text.replace("%40", "@").replace("%2E", ".").replace("%2e", ".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_emails_in_bios() {
        assert_eq!(extract_emails(["📩 Collabs: Maya.Fit@Gmail.COM | DM me"]), vec!["Maya.Fit@gmail.com"]);
        assert_eq!(extract_emails(["biz — hello@studio.co.uk."]), vec!["hello@studio.co.uk"]);
        assert!(extract_emails(["no contact here @handle"]).is_empty());
    }

    #[test]
    fn reads_mailto_links_and_dedupes_across_sources() {
        let emails = extract_emails(["Email me: team@brand.io", "mailto:TEAM@BRAND.IO", "mailto:press%40brand.io?subject=hi"]);
        assert_eq!(emails, vec!["team@brand.io", "press@brand.io"]);
    }

    #[test]
    fn ignores_handles_and_urls_without_addresses() {
        assert!(extract_emails(["follow @maya on https://linktr.ee/maya"]).is_empty());
    }

    #[test]
    fn finds_several_in_one_text() {
        assert_eq!(extract_emails(["a@x.com, b@y.org; a@X.com"]), vec!["a@x.com", "b@y.org"]);
    }
}
