//! A job's creators as JSON pages, and a campaign's creators as a CSV download.

use crate::{
    db::{self, creators::PageQuery},
    error::{ApiError, ApiQuery},
    export::creators_csv,
    jobs::LOCAL_USER,
    shared::{CreatorPage, CreatorSort},
    startup::AppState,
};
use axum::{
    extract::{Path, State},
    http::header,
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/jobs/{id}/creators", get(page)).route("/api/campaigns/{id}/export.csv", get(export))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreatorsQuery {
    page: Option<String>,
    sort: Option<String>,
    has_email: Option<String>,
}

pub fn parse_page_query(page: Option<&str>, sort: Option<&str>, has_email: Option<&str>) -> Result<PageQuery, ApiError> {
    let page = match page.map(str::trim).filter(|p| !p.is_empty()) {
        None => 1,
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| ApiError::BadRequest("page must be a positive whole number.".into()))?,
    };
    let sort = match sort.map(str::trim).filter(|s| !s.is_empty()) {
        None => CreatorSort::default(),
        Some(raw) => CreatorSort::parse(raw)
            .ok_or_else(|| ApiError::BadRequest("sort must be one of followers_desc, followers_asc, views_desc, views_asc.".into()))?,
    };
    let has_email = match has_email.map(str::trim) {
        None | Some("") | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(_) => return Err(ApiError::BadRequest("hasEmail must be true or false.".into())),
    };
    Ok(PageQuery { page, sort, has_email })
}

async fn page(
    State(state): State<AppState>,
    Path(job_id): Path<String>,
    ApiQuery(q): ApiQuery<CreatorsQuery>,
) -> Result<Json<CreatorPage>, ApiError> {
    let query = parse_page_query(q.page.as_deref(), q.sort.as_deref(), q.has_email.as_deref())?;
    db::jobs::find(&state.db, &job_id).await?.ok_or_else(|| ApiError::NotFound("Job not found.".into()))?;
    Ok(Json(db::creators::page_for_job(&state.db, &job_id, &query).await?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportQuery {
    job_id: Option<String>,
}

async fn export(
    State(state): State<AppState>,
    Path(campaign_id): Path<String>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let campaign =
        db::campaigns::find(&state.db, LOCAL_USER, &campaign_id).await?.ok_or_else(|| ApiError::NotFound("Campaign not found.".into()))?;
    let job_id = q.job_id.filter(|j| !j.trim().is_empty());
    if let Some(job_id) = &job_id {
        match db::jobs::find(&state.db, job_id).await? {
            Some(job) if job.campaign_id == campaign_id => {}
            _ => return Err(ApiError::NotFound("Job not found in this campaign.".into())),
        }
    }
    let creators = db::creators::for_export(&state.db, &campaign_id, job_id.as_deref()).await?;
    let body = creators_csv(&creators).map_err(|e| ApiError::Unexpected(e.context("Failed to write the CSV")))?;
    let filename = format!("scout-{}.csv", slug(&campaign.name));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        body,
    )
        .into_response())
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
