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
    Ok(db::campaigns::insert(&state.db, owner.user_id(), owner.workspace_id(), &name, &description).await?)
}

/// Campaigns per page of the list (`?page=` on the API; the page shows the newest page).
pub const CAMPAIGNS_PER_PAGE: u32 = 100;
/// Runs shown with a campaign, newest first.
pub const RUNS_SHOWN: u32 = 100;

/// One page (from 1) of the owner's campaigns, newest first, and how many there are in all.
pub async fn list(state: &AppState, owner: &Owner, page: u32) -> Result<(Vec<CampaignView>, u64), UseCaseError> {
    let offset = u64::from(page.max(1) - 1) * u64::from(CAMPAIGNS_PER_PAGE);
    Ok(db::campaigns::list(&state.db, owner.workspace_id(), CAMPAIGNS_PER_PAGE, offset).await?)
}

/// The campaign with its runs of every platform and kind, newest first. An admin may read anyone's
/// (then `read_only` is set: the page offers no search form).
pub async fn detail(state: &AppState, owner: &Owner, id: &str) -> Result<CampaignDetail, UseCaseError> {
    let campaign = find(state, owner, id).await?;
    let jobs = db::jobs::list_for_campaign(&state.db, owner.read_scope(), id, RUNS_SHOWN).await?.iter().map(|j| j.view()).collect();
    let read_only = db::campaigns::find(&state.db, Some(owner.workspace_id()), id).await?.is_none();
    Ok(CampaignDetail { campaign, jobs, read_only })
}

/// A campaign the owner may read.
pub(super) async fn find(state: &AppState, owner: &Owner, id: &str) -> Result<CampaignView, UseCaseError> {
    db::campaigns::find(&state.db, owner.read_scope(), id).await?.ok_or(NOT_FOUND)
}

/// A campaign the owner may change: its own. An admin who can see another's is told it is read-only.
pub(super) async fn find_writable(state: &AppState, owner: &Owner, id: &str) -> Result<CampaignView, UseCaseError> {
    match db::campaigns::find(&state.db, Some(owner.workspace_id()), id).await? {
        Some(campaign) => Ok(campaign),
        None => match find(state, owner, id).await {
            Ok(_) => Err(UseCaseError::Forbidden(READ_ONLY)),
            Err(e) => Err(e),
        },
    }
}

const NOT_FOUND: UseCaseError = UseCaseError::NotFound("Campaign not found.");
/// What an admin is told when changing another member's campaign or run.
pub(super) const READ_ONLY: &str = "This belongs to another member: admins can view it but not change it.";
