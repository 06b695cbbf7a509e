//! Leptos server functions used by the pages. Each is a thin shell over the same code the JSON API
//! uses, so validation and behaviour are identical.

use crate::shared::{CampaignDetail, CampaignView, CreatorPage, JobView};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppInfo {
    /// Results come from the built-in simulator.
    pub demo_data: bool,
}

#[cfg(feature = "ssr")]
fn state() -> Result<crate::startup::AppState, ServerFnError> {
    use_context::<crate::startup::AppState>().ok_or_else(|| ServerFnError::new("Server state is missing."))
}

/// Turns an API error into what the page shows: user errors as they are, internal ones generic
/// (and logged by `public_message`'s caller).
#[cfg(feature = "ssr")]
fn user_error(e: crate::error::ApiError) -> ServerFnError {
    if let crate::error::ApiError::Unexpected(inner) = &e {
        tracing::error!(error = ?inner, "server function failed");
    }
    ServerFnError::new(e.public_message())
}

#[server]
pub async fn site_info() -> Result<AppInfo, ServerFnError> {
    Ok(AppInfo { demo_data: state()?.demo_data() })
}

#[server]
pub async fn list_campaigns() -> Result<Vec<CampaignView>, ServerFnError> {
    let state = state()?;
    crate::db::campaigns::list(&state.db, crate::jobs::LOCAL_USER).await.map_err(|e| user_error(e.into()))
}

#[server]
pub async fn create_campaign(name: String, description: String) -> Result<CampaignView, ServerFnError> {
    use crate::domain::{CampaignName, Description};
    let state = state()?;
    let name = CampaignName::parse(&name).map_err(ServerFnError::new)?;
    let description = Description::parse(Some(&description)).map_err(ServerFnError::new)?;
    crate::db::campaigns::insert(&state.db, crate::jobs::LOCAL_USER, &name, &description).await.map_err(|e| user_error(e.into()))
}

#[server]
pub async fn get_campaign(id: String) -> Result<CampaignDetail, ServerFnError> {
    let state = state()?;
    crate::api::load_campaign_detail(&state, &id).await.map_err(user_error)
}

/// Starts a TikTok keyword search; `keywords` is the text of the keyword box (comma-separated).
#[server]
pub async fn start_search(campaign_id: String, keywords: String, target_results: u32) -> Result<String, ServerFnError> {
    use crate::{domain::Keywords, jobs::create};
    let state = state()?;
    let target = serde_json::Value::from(target_results);
    let (keywords, target) = create::parse_request(&Keywords::split_input(&keywords), Some(&target)).map_err(|e| user_error(e.into()))?;
    let started = create::start_tiktok_search(&state, &campaign_id, &keywords, target).await.map_err(|e| user_error(e.into()))?;
    Ok(started.job_id)
}

#[server]
pub async fn job_status(job_id: String) -> Result<JobView, ServerFnError> {
    let state = state()?;
    crate::api::load_job_view(&state, &job_id).await.map_err(user_error)
}

#[server]
pub async fn list_creators(job_id: String, page: u32, sort: String, has_email: bool) -> Result<CreatorPage, ServerFnError> {
    let state = state()?;
    let page = page.to_string();
    let has_email = has_email.to_string();
    let query = crate::api::parse_creator_page_query(Some(&page), Some(&sort), Some(&has_email)).map_err(user_error)?;
    crate::db::creators::page_for_job(&state.db, &job_id, &query).await.map_err(|e| user_error(e.into()))
}

/// The message to show for a failed server function.
pub fn error_text(e: &ServerFnError) -> String {
    match e {
        ServerFnError::ServerError(message) => message.clone(),
        _ => "Scout could not reach the server. Check your connection and try again.".to_string(),
    }
}
