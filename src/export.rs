//! CSV export. Scraped text is untrusted: a cell a spreadsheet would run as a formula is neutralised.

use crate::shared::CreatorView;

/// The first eleven columns are those of the first release (scripts read them by position); newer
/// ones are appended. `followers` holds each platform's own audience (subscribers on YouTube), named
/// in `audience`.
pub const CSV_HEADER: [&str; 19] = [
    "handle",
    "name",
    "profile_url",
    "followers",
    "verified",
    "emails",
    "bio",
    "post_url",
    "views",
    "matched_keyword",
    "platform",
    "audience",
    "likes",
    "comments",
    "shares",
    "country",
    "category",
    "business_email",
    "avatar_url",
];

/// UTF-8 with a byte-order mark (so Excel reads accents and emoji), a header row, one row per creator.
pub fn creators_csv(creators: &[CreatorView]) -> anyhow::Result<Vec<u8>> {
    let mut csv = CsvWriter::new()?;
    for c in creators {
        csv.push(c)?;
    }
    csv.take()
}

/// Writes the export a row at a time; `take` hands over what is written so far, so a large export
/// streams out in chunks.
pub struct CsvWriter(csv::Writer<Vec<u8>>);

impl CsvWriter {
    /// Starts with the byte-order mark and the header row.
    pub fn new() -> anyhow::Result<Self> {
        let mut writer = csv::Writer::from_writer(Vec::from("\u{feff}".as_bytes()));
        writer.write_record(CSV_HEADER)?;
        Ok(Self(writer))
    }

    pub fn push(&mut self, c: &CreatorView) -> anyhow::Result<()> {
        self.0.write_record([
                neutralise(&c.handle),
                neutralise(&c.name),
                neutralise(&c.profile_url),
                c.followers.to_string(),
                c.verified.to_string(),
                neutralise(&c.emails.join("; ")),
                neutralise(&c.bio),
                neutralise(&c.post_url),
                c.views.to_string(),
                neutralise(&c.matched_keyword),
                c.platform.as_str().to_string(),
                c.platform.audience_label().to_string(),
                c.likes.to_string(),
                c.comments.to_string(),
                c.shares.to_string(),
                neutralise(&c.country),
                neutralise(&c.category),
                neutralise(&c.business_email),
                neutralise(&c.avatar_url),
            ])?;
        Ok(())
    }

    /// The bytes written since the last `take`.
    pub fn take(&mut self) -> anyhow::Result<Vec<u8>> {
        let done = std::mem::replace(&mut self.0, csv::Writer::from_writer(Vec::new()));
        done.into_inner().map_err(|e| anyhow::anyhow!("Failed to write the CSV: {}", e.error()))
    }
}

/// Cells starting with `= + - @` (or tab / carriage return) are read as formulas by spreadsheets;
/// a leading apostrophe makes them text (OWASP's CSV-injection advice).
pub fn neutralise(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(neutralise("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralise("+1 555"), "'+1 555");
        assert_eq!(neutralise("-2"), "'-2");
        assert_eq!(neutralise("@maya"), "'@maya");
        assert_eq!(neutralise("maya"), "maya");
        assert_eq!(neutralise(""), "");
    }

    #[test]
    fn csv_has_a_header_and_one_row_per_creator() {
        let creator = CreatorView {
            platform: crate::shared::Platform::Tiktok,
            external_id: "1".into(),
            handle: "maya".into(),
            name: "=cmd|' /C calc'!A0".into(),
            followers: 1200,
            bio: "Line one,\n\"quoted\" ✨".into(),
            emails: vec!["a@x.com".into(), "b@y.org".into()],
            avatar_url: String::new(),
            verified: true,
            profile_url: "https://www.tiktok.com/@maya".into(),
            post_url: String::new(),
            views: 10,
            likes: 2,
            comments: 1,
            shares: 0,
            matched_keyword: "fitness".into(),
            country: "=1+1".into(),
            category: String::new(),
            business_email: String::new(),
        };
        let bytes = creators_csv(&[creator.clone(), creator]).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with('\u{feff}'));
        let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), CSV_HEADER);
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(&rows[0][1], "'=cmd|' /C calc'!A0");
        assert_eq!(&rows[0][5], "a@x.com; b@y.org");
        assert_eq!(&rows[0][6], "Line one,\n\"quoted\" ✨");
        assert_eq!((&rows[0][10], &rows[0][11]), ("tiktok", "followers"));
        assert_eq!(&rows[0][15], "'=1+1", "every scraped cell is neutralised");
    }
}
