//! A run's creators, page by page, and a campaign's (or one run's) creators as CSV.

use super::{campaigns, searches, Owner, UseCaseError};
use crate::{
    db::{self, creators::PageQuery},
    export::CsvWriter,
    shared::{CreatorPage, CreatorSort},
    startup::AppState,
};
use anyhow::Context;

/// Reads the table's query parameters as both the API and the page send them (text).
pub fn parse_page_query(page: Option<&str>, sort: Option<&str>, has_email: Option<&str>) -> Result<PageQuery, UseCaseError> {
    let page = match page.map(str::trim).filter(|p| !p.is_empty()) {
        None => 1,
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| UseCaseError::Invalid("page must be a positive whole number.".into()))?,
    };
    let sort = match sort.map(str::trim).filter(|s| !s.is_empty()) {
        None => CreatorSort::default(),
        Some(raw) => CreatorSort::parse(raw)
            .ok_or_else(|| UseCaseError::Invalid("sort must be one of followers_desc, followers_asc, views_desc, views_asc.".into()))?,
    };
    let has_email = match has_email.map(str::trim) {
        None | Some("") | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(_) => return Err(UseCaseError::Invalid("hasEmail must be true or false.".into())),
    };
    Ok(PageQuery { page, sort, has_email })
}

/// One page of a run's creators; 404 for a run that is not the owner's.
pub async fn page(state: &AppState, owner: &Owner, job_id: &str, query: &PageQuery) -> Result<CreatorPage, UseCaseError> {
    searches::find(state, owner, job_id).await?;
    Ok(db::creators::page_for_job(&state.db, owner.read_scope(), job_id, query).await?)
}

pub struct CsvExport {
    pub filename: String,
    /// The file in chunks, written while the database is read (a failure mid-way ends the stream
    /// with an error, so the download is visibly incomplete rather than silently short).
    pub body: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
}

/// Rows per chunk of a streamed export.
const ROWS_PER_CHUNK: usize = 500;

/// Every creator of a campaign once per platform (or only those of one of its runs), as CSV.
pub async fn export(state: &AppState, owner: &Owner, campaign_id: &str, job_id: Option<&str>) -> Result<CsvExport, UseCaseError> {
    let campaign = campaigns::find(state, owner, campaign_id).await?;
    let job_id = job_id.map(str::trim).filter(|j| !j.is_empty()).map(str::to_string);
    if let Some(job_id) = &job_id {
        match db::jobs::find_owned(&state.db, owner.read_scope(), job_id).await? {
            Some(job) if job.campaign_id == campaign_id => {}
            _ => return Err(UseCaseError::NotFound("Run not found in this campaign.")),
        }
    }
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let (db, workspace, campaign_id) = (state.db.clone(), owner.read_scope().map(str::to_string), campaign_id.to_string());
    tokio::spawn(async move {
        if let Err(e) = stream_csv(&db, workspace.as_deref(), &campaign_id, job_id.as_deref(), &tx).await {
            tracing::error!(error = ?e, campaign_id, "CSV export failed part-way");
            let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
        }
    });
    Ok(CsvExport { filename: format!("scout-{}.csv", slug(&campaign.name)), body: rx })
}

/// Writes the export into `tx` chunk by chunk; each creator once per platform (its first run).
async fn stream_csv(
    db: &db::Db,
    workspace: Option<&str>,
    campaign_id: &str,
    job_id: Option<&str>,
    tx: &tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>,
) -> anyhow::Result<()> {
    use futures::TryStreamExt;
    let mut csv = CsvWriter::new()?;
    let mut seen = std::collections::HashSet::new();
    let mut rows = db::creators::for_export(db, workspace, campaign_id, job_id);
    let mut in_chunk = 0;
    while let Some(creator) = rows.try_next().await.context("Failed to read the creators")? {
        if !seen.insert((creator.platform, creator.external_id.clone())) {
            continue;
        }
        csv.push(&creator)?;
        in_chunk += 1;
        if in_chunk == ROWS_PER_CHUNK {
            in_chunk = 0;
            if tx.send(Ok(csv.take()?)).await.is_err() {
                return Ok(()); // the client went away
            }
        }
    }
    let _ = tx.send(Ok(csv.take()?)).await;
    Ok(())
}

fn slug(name: &str) -> String {
    let s: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    let s = s.split('-').filter(|p| !p.is_empty()).collect::<Vec<_>>().join("-");
    if s.is_empty() {
        "campaign".into()
    } else {
        s.chars().take(60).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_slugs() {
        assert_eq!(slug("Spring Launch — 2026!"), "spring-launch-2026");
        assert_eq!(slug("✨"), "campaign");
    }

    #[test]
    fn page_queries_are_validated() {
        assert!(parse_page_query(Some("0"), None, None).is_err());
        assert!(parse_page_query(None, Some("name"), None).is_err());
        assert!(parse_page_query(None, None, Some("maybe")).is_err());
        let q = parse_page_query(Some("2"), Some("views_asc"), Some("true")).unwrap();
        assert_eq!((q.page, q.sort, q.has_email), (2, CreatorSort::ViewsAsc, true));
    }
}
