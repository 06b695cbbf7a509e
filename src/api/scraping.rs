//! `POST /api/scraping/{platform}` starts a search (keywords, or `targetUsername` for a similar
//! search; `{platform}-similar` is the original system's alias for the latter); `GET` reports a
//! run's progress, as does `GET /api/jobs/{id}/progress`.

use crate::{
    error::{ApiError, ApiJson, ApiQuery},
    shared::{JobView, Platform, SearchKind},
    startup::AppState,
    usecases::{
        searches::{self, StartRequest},
        Owner,
    },
};
use axum::{
    extract::{Path, State},
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/scraping/{platform}", get(status).post(start))
        .route("/api/jobs/{id}/progress", get(progress))
        .route("/api/jobs/{id}/cancel", post(cancel))
}

/// `tiktok`, `instagram`, `youtube`, each optionally with `-similar`.
fn route_platform(raw: &str) -> Result<(Platform, Option<SearchKind>), ApiError> {
    let (name, kind) = match raw.strip_suffix("-similar") {
        Some(name) => (name, Some(SearchKind::Similar)),
        None => (raw, None),
    };
    let platform = Platform::parse(name)
        .ok_or_else(|| ApiError::NotFound(format!("Unknown platform \"{name}\": use tiktok, instagram or youtube.")))?;
    Ok((platform, kind))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartBody {
    campaign_id: Option<String>,
    keywords: Option<Vec<String>>,
    target_username: Option<String>,
    target_results: Option<Value>,
    expand_keywords: Option<bool>,
}

async fn start(
    State(state): State<AppState>,
    owner: Owner,
    Path(platform): Path<String>,
    ApiJson(body): ApiJson<StartBody>,
) -> Result<Json<Value>, ApiError> {
    let (platform, kind) = route_platform(&platform)?;
    let request = StartRequest {
        campaign_id: body.campaign_id,
        keywords: body.keywords,
        target_username: body.target_username,
        target_results: body.target_results,
        expand_keywords: body.expand_keywords,
    };
    let search = searches::parse(platform, kind, request)?;
    let started = searches::start(&state, &owner, search).await?;
    Ok(Json(json!({
        "message": "Search started",
        "jobId": started.job_id,
        "qstashMessageId": started.qstash_message_id,
    })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusQuery {
    job_id: Option<String>,
}

async fn status(
    State(state): State<AppState>,
    owner: Owner,
    Path(platform): Path<String>,
    ApiQuery(q): ApiQuery<StatusQuery>,
) -> Result<Json<JobView>, ApiError> {
    let (platform, _) = route_platform(&platform)?;
    let job_id = q.job_id.filter(|j| !j.trim().is_empty()).ok_or_else(|| ApiError::BadRequest("jobId is required.".into()))?;
    let job = searches::status(&state, &owner, &job_id).await?;
    if job.platform != platform {
        return Err(ApiError::NotFound(format!("No {} search with this jobId.", platform.label())));
    }
    Ok(Json(job))
}

async fn cancel(State(state): State<AppState>, owner: Owner, Path(id): Path<String>) -> Result<Json<JobView>, ApiError> {
    Ok(Json(searches::cancel(&state, &owner, &id).await?))
}

async fn progress(State(state): State<AppState>, owner: Owner, Path(id): Path<String>) -> Result<Json<JobView>, ApiError> {
    Ok(Json(searches::status(&state, &owner, &id).await?))
}
