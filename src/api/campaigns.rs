use crate::{
    db,
    domain::{CampaignName, Description},
    error::{ApiError, ApiJson},
    jobs::LOCAL_USER,
    shared::{CampaignDetail, CampaignView},
    startup::AppState,
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    routing::get,
    Json, Router,
};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/campaigns", get(list).post(create)).route("/api/campaigns/{id}", get(show))
}

#[derive(Deserialize)]
struct NewCampaign {
    name: Option<String>,
    description: Option<String>,
}

async fn create(State(state): State<AppState>, ApiJson(body): ApiJson<NewCampaign>) -> Result<(StatusCode, Json<CampaignView>), ApiError> {
    let name = CampaignName::parse(body.name.as_deref().unwrap_or("")).map_err(ApiError::BadRequest)?;
    let description = Description::parse(body.description.as_deref()).map_err(ApiError::BadRequest)?;
    let campaign = db::campaigns::insert(&state.db, LOCAL_USER, &name, &description).await?;
    Ok((StatusCode::CREATED, Json(campaign)))
}

async fn list(State(state): State<AppState>) -> Result<Json<Vec<CampaignView>>, ApiError> {
    Ok(Json(db::campaigns::list(&state.db, LOCAL_USER).await?))
}

async fn show(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<CampaignDetail>, ApiError> {
    Ok(Json(load_detail(&state, &id).await?))
}

pub async fn load_detail(state: &AppState, id: &str) -> Result<CampaignDetail, ApiError> {
    let campaign = db::campaigns::find(&state.db, LOCAL_USER, id).await?.ok_or_else(|| ApiError::NotFound("Campaign not found.".into()))?;
    let jobs = db::jobs::list_for_campaign(&state.db, id).await?.iter().map(|j| j.view()).collect();
    Ok(CampaignDetail { campaign, jobs })
}
