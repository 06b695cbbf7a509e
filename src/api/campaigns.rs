use crate::{
    error::{ApiError, ApiJson},
    shared::{CampaignDetail, CampaignView},
    startup::AppState,
    usecases::{campaigns, Owner},
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

async fn create(
    State(state): State<AppState>,
    owner: Owner,
    ApiJson(body): ApiJson<NewCampaign>,
) -> Result<(StatusCode, Json<CampaignView>), ApiError> {
    let campaign = campaigns::create(&state, &owner, body.name.as_deref().unwrap_or(""), body.description.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(campaign)))
}

async fn list(State(state): State<AppState>, owner: Owner) -> Result<Json<Vec<CampaignView>>, ApiError> {
    Ok(Json(campaigns::list(&state, &owner).await?))
}

async fn show(State(state): State<AppState>, owner: Owner, Path(id): Path<String>) -> Result<Json<CampaignDetail>, ApiError> {
    Ok(Json(campaigns::detail(&state, &owner, &id).await?))
}
