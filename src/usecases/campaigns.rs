//! Campaigns: create, list, and one campaign with its runs.

use super::{Owner, UseCaseError};
use crate::{
    db,
    domain::{CampaignName, Description},
    shared::{CampaignDetail, CampaignView},
    startup::AppState,
};

pub async fn create(state: &AppState, owner: &Owner, name: &str, description: Option<&str>) -> Result<CampaignView, UseCaseError> {
    let name = CampaignName::parse(name).map_err(UseCaseError::Invalid)?;
    let description = Description::parse(description).map_err(UseCaseError::Invalid)?;
    Ok(db::campaigns::insert(&state.db, owner.user_id(), &name, &description).await?)
}

/// Newest first.
pub async fn list(state: &AppState, owner: &Owner) -> Result<Vec<CampaignView>, UseCaseError> {
    Ok(db::campaigns::list(&state.db, owner.user_id()).await?)
}

/// The campaign with its runs of every platform and kind, newest first.
pub async fn detail(state: &AppState, owner: &Owner, id: &str) -> Result<CampaignDetail, UseCaseError> {
    let campaign = find(state, owner, id).await?;
    let jobs = db::jobs::list_for_campaign(&state.db, owner.user_id(), id).await?.iter().map(|j| j.view()).collect();
    Ok(CampaignDetail { campaign, jobs })
}

pub(super) async fn find(state: &AppState, owner: &Owner, id: &str) -> Result<CampaignView, UseCaseError> {
    db::campaigns::find(&state.db, owner.user_id(), id).await?.ok_or(UseCaseError::NotFound("Campaign not found."))
}
