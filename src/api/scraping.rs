//! `POST /api/scraping/tiktok` starts a keyword search; `GET` reports its progress.

use crate::{
    db,
    error::{ApiError, ApiJson, ApiQuery},
    jobs::create::{parse_request, start_tiktok_search, CreateJobError},
    shared::JobView,
    startup::AppState,
};
use axum::{extract::State, routing::get, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/scraping/tiktok", get(status).post(start)).route("/api/jobs/{id}/progress", get(progress))
}

impl From<CreateJobError> for ApiError {
    fn from(e: CreateJobError) -> Self {
        match e {
            CreateJobError::Invalid(message) => ApiError::BadRequest(message),
            CreateJobError::CampaignNotFound => ApiError::NotFound("Campaign not found.".into()),
            CreateJobError::QueueUnavailable(source) => {
                tracing::error!(error = ?source, "could not publish a job");
                ApiError::Unavailable("The job queue is unavailable right now. Please try again in a minute.".into())
            }
            CreateJobError::Unexpected(e) => ApiError::Unexpected(e),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartSearch {
    campaign_id: Option<String>,
    #[serde(default)]
    keywords: Vec<String>,
    target_results: Option<Value>,
}

async fn start(State(state): State<AppState>, ApiJson(body): ApiJson<StartSearch>) -> Result<Json<Value>, ApiError> {
    let campaign_id =
        body.campaign_id.filter(|c| !c.trim().is_empty()).ok_or_else(|| ApiError::BadRequest("campaignId is required.".into()))?;
    let (keywords, target) = parse_request(&body.keywords, body.target_results.as_ref())?;
    let started = start_tiktok_search(&state, &campaign_id, &keywords, target).await?;
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

async fn status(State(state): State<AppState>, ApiQuery(q): ApiQuery<StatusQuery>) -> Result<Json<JobView>, ApiError> {
    let job_id = q.job_id.filter(|j| !j.trim().is_empty()).ok_or_else(|| ApiError::BadRequest("jobId is required.".into()))?;
    job_view(&state, &job_id).await.map(Json)
}

async fn progress(State(state): State<AppState>, axum::extract::Path(id): axum::extract::Path<String>) -> Result<Json<JobView>, ApiError> {
    job_view(&state, &id).await.map(Json)
}

pub async fn job_view(state: &AppState, job_id: &str) -> Result<JobView, ApiError> {
    Ok(db::jobs::find(&state.db, job_id).await?.ok_or_else(|| ApiError::NotFound("Job not found.".into()))?.view())
}
