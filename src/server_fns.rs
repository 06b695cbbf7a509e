//! Leptos server functions used by the pages. Each is a thin shell over the same code the JSON API
//! uses, so validation and behaviour are identical.

use crate::shared::{CampaignDetail, CampaignView, CreatorPage, JobView, Platform, SearchKind};
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

/// The user the page acts for; the same `Owner` the JSON API uses.
#[cfg(feature = "ssr")]
fn owner() -> crate::usecases::Owner {
    crate::usecases::Owner::local()
}

/// Turns a use-case error into what the page shows: user errors as they are, internal ones generic
/// (and logged here).
#[cfg(feature = "ssr")]
fn user_error(e: crate::usecases::UseCaseError) -> ServerFnError {
    let e = crate::error::ApiError::from(e);
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
    crate::usecases::campaigns::list(&state()?, &owner()).await.map_err(user_error)
}

#[server]
pub async fn create_campaign(name: String, description: String) -> Result<CampaignView, ServerFnError> {
    crate::usecases::campaigns::create(&state()?, &owner(), &name, Some(&description)).await.map_err(user_error)
}

#[server]
pub async fn get_campaign(id: String) -> Result<CampaignDetail, ServerFnError> {
    crate::usecases::campaigns::detail(&state()?, &owner(), &id).await.map_err(user_error)
}

/// Starts a search on `platform`: by keywords (`keywords` is the text of the keyword box,
/// comma-separated) or similar to the account in `target_username`.
#[server]
pub async fn start_search(
    campaign_id: String,
    platform: Platform,
    kind: SearchKind,
    keywords: String,
    target_username: String,
    target_results: u32,
    expand_keywords: bool,
) -> Result<String, ServerFnError> {
    use crate::{
        domain::Keywords,
        usecases::searches::{self, StartRequest},
    };
    let state = state()?;
    let request = StartRequest {
        campaign_id: Some(campaign_id),
        keywords: (kind == SearchKind::Keywords).then(|| Keywords::split_input(&keywords)),
        target_username: (kind == SearchKind::Similar).then_some(target_username),
        target_results: Some(target_results.into()),
        expand_keywords: Some(expand_keywords),
    };
    let search = searches::parse(platform, Some(kind), request).map_err(user_error)?;
    Ok(searches::start(&state, &owner(), search).await.map_err(user_error)?.job_id)
}

#[server]
pub async fn job_status(job_id: String) -> Result<JobView, ServerFnError> {
    crate::usecases::searches::status(&state()?, &owner(), &job_id).await.map_err(user_error)
}

#[server]
pub async fn cancel_search(job_id: String) -> Result<JobView, ServerFnError> {
    crate::usecases::searches::cancel(&state()?, &owner(), &job_id).await.map_err(user_error)
}

#[server]
pub async fn list_creators(job_id: String, page: u32, sort: String, has_email: bool) -> Result<CreatorPage, ServerFnError> {
    use crate::usecases::creators;
    let state = state()?;
    let query = creators::parse_page_query(Some(&page.to_string()), Some(&sort), Some(&has_email.to_string())).map_err(user_error)?;
    creators::page(&state, &owner(), &job_id, &query).await.map_err(user_error)
}

/// The message to show for a failed server function.
pub fn error_text(e: &ServerFnError) -> String {
    match e {
        ServerFnError::ServerError(message) => message.clone(),
        _ => "Scout could not reach the server. Check your connection and try again.".to_string(),
    }
}
