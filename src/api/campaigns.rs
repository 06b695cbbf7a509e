use crate::{
    error::{ApiError, ApiJson, ApiQuery},
    shared::{CampaignDetail, CampaignView},
    startup::AppState,
    usecases::{campaigns, Owner},
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
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

#[derive(Deserialize)]
struct ListQuery {
    page: Option<String>,
}

/// A page of campaigns (`?page=`, from 1; 100 per page), newest first; `X-Total-Count` says how many
/// there are and `Link: <…>; rel="next"` points at the next page.
async fn list(State(state): State<AppState>, owner: Owner, ApiQuery(q): ApiQuery<ListQuery>) -> Result<Response, ApiError> {
    let page = match q.page.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => 1,
        Some(raw) => raw.parse::<u32>().ok().filter(|p| *p >= 1).ok_or_else(|| ApiError::BadRequest("page must be a positive whole number.".into()))?,
    };
    let (list, total) = campaigns::list(&state, &owner, page).await?;
    let mut response = Json(list).into_response();
    response.headers_mut().insert("x-total-count", total.into());
    if u64::from(page) * u64::from(campaigns::CAMPAIGNS_PER_PAGE) < total {
        if let Ok(link) = format!("</api/campaigns?page={}>; rel=\"next\"", page + 1).parse() {
            response.headers_mut().insert(axum::http::header::LINK, link);
        }
    }
    Ok(response)
}

async fn show(State(state): State<AppState>, owner: Owner, Path(id): Path<String>) -> Result<Json<CampaignDetail>, ApiError> {
    Ok(Json(campaigns::detail(&state, &owner, &id).await?))
}
