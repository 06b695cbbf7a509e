//! A job's creators as JSON pages, and a campaign's creators as a CSV download.

use crate::{
    error::{ApiError, ApiQuery},
    shared::CreatorPage,
    startup::AppState,
    usecases::{creators, Owner},
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

async fn page(
    State(state): State<AppState>,
    owner: Owner,
    Path(job_id): Path<String>,
    ApiQuery(q): ApiQuery<CreatorsQuery>,
) -> Result<Json<CreatorPage>, ApiError> {
    let query = creators::parse_page_query(q.page.as_deref(), q.sort.as_deref(), q.has_email.as_deref())?;
    Ok(Json(creators::page(&state, &owner, &job_id, &query).await?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportQuery {
    job_id: Option<String>,
}

async fn export(
    State(state): State<AppState>,
    owner: Owner,
    Path(campaign_id): Path<String>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let csv = creators::export(&state, &owner, &campaign_id, q.job_id.as_deref()).await?;
    let chunks = futures::stream::unfold(csv.body, |mut rx| async move { rx.recv().await.map(|chunk| (chunk, rx)) });
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", csv.filename)),
        ],
        axum::body::Body::from_stream(chunks),
    )
        .into_response())
}
