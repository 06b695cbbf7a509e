//! Leptos server functions used by the pages. Each is a thin shell over the same code the JSON API
//! uses, so validation and behaviour are identical.

use crate::shared::{AccountView, CampaignDetail, CampaignView, CreatedToken, CreatorPage, JobView, Platform, SearchKind, TokenView};
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

/// The signed-in account the page acts for (session cookie or API token), as the JSON API finds it.
#[cfg(feature = "ssr")]
async fn principal() -> Result<crate::auth::Principal, ServerFnError> {
    match signed_in_account().await {
        Ok(Some(principal)) => Ok(principal),
        Ok(None) => {
            // As the JSON API answers: 401.
            set_api_status(axum::http::StatusCode::UNAUTHORIZED);
            Err(ServerFnError::new("Your session has ended. Sign in again."))
        }
        Err(e) => Err(e),
    }
}

/// The signed-in account, if any, without answering 401 (the header asks while rendering the
/// sign-in page itself).
#[cfg(feature = "ssr")]
async fn signed_in_account() -> Result<Option<crate::auth::Principal>, ServerFnError> {
    let state = state()?;
    let parts = request_parts()?;
    // A page render already resolved it (`guards::pages`).
    if let Some(principal) = parts.extensions.get::<crate::auth::Principal>() {
        return Ok(Some(principal.clone()));
    }
    crate::auth::principal::resolve(&state.db, &parts.headers, state.config.auth.secure_cookies).await.map_err(|e| user_error(e.into()))
}

/// The request the server function answers, as Leptos provides it.
#[cfg(feature = "ssr")]
fn request_parts() -> Result<axum::http::request::Parts, ServerFnError> {
    use_context::<axum::http::request::Parts>().ok_or_else(|| ServerFnError::new("Request is missing."))
}

#[cfg(feature = "ssr")]
fn peer() -> Option<std::net::IpAddr> {
    request_parts().ok()?.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip())
}

#[cfg(feature = "ssr")]
fn from_network() -> Result<bool, ServerFnError> {
    Ok(crate::auth::client_ip::from_network(&request_parts()?.headers, peer()))
}

#[cfg(feature = "ssr")]
async fn owner() -> Result<crate::usecases::Owner, ServerFnError> {
    Ok(principal().await?.owner)
}

/// Sets (or clears) the session cookie on the server function's response.
#[cfg(feature = "ssr")]
fn set_cookie(value: String) {
    if let (Some(options), Ok(value)) = (use_context::<leptos_axum::ResponseOptions>(), axum::http::HeaderValue::from_str(&value)) {
        options.append_header(axum::http::header::SET_COOKIE, value);
    }
}

#[cfg(feature = "ssr")]
fn signed_in(state: &crate::startup::AppState, done: crate::usecases::accounts::SignedIn) {
    set_cookie(crate::auth::cookie::set(&done.session_secret, state.config.auth.session_ttl, state.config.auth.secure_cookies));
}

/// The signed-in account shown in the header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignedInAccount {
    pub email: String,
    pub is_admin: bool,
}

/// What the setup and sign-in pages need to know.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SetupState {
    pub set_up: bool,
    pub setup_code_required: bool,
    pub open_signup: bool,
}

/// Answers a server function call with `status`, as the JSON API would. Not a plain form post (sent
/// before the page's script runs: Leptos answers it with a redirect back to the page, which a status
/// would replace), and not a page being rendered (its resources call server functions directly; the
/// page's own status is the router's).
#[cfg(feature = "ssr")]
fn set_api_status(status: axum::http::StatusCode) {
    let Ok(parts) = request_parts() else { return };
    let accepts_html = parts.headers.get(axum::http::header::ACCEPT).and_then(|a| a.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    if accepts_html || parts.method != axum::http::Method::POST {
        return;
    }
    if let Some(options) = use_context::<leptos_axum::ResponseOptions>() {
        options.set_status(status);
    }
}

/// Turns a use-case error into what the page shows: user errors as they are, internal ones generic
/// (and logged here).
#[cfg(feature = "ssr")]
fn user_error(e: crate::usecases::UseCaseError) -> ServerFnError {
    let e = crate::error::ApiError::from(e);
    if let crate::error::ApiError::Unexpected(inner) = &e {
        tracing::error!(error = ?inner, "server function failed");
    }
    // The JSON API's status: a wrong password is a 401, not a 500.
    set_api_status(e.status());
    ServerFnError::new(e.public_message())
}

#[server(endpoint = "site_info")]
pub async fn site_info() -> Result<AppInfo, ServerFnError> {
    Ok(AppInfo { demo_data: state()?.demo_data() })
}

#[server(endpoint = "setup_info")]
pub async fn setup_info() -> Result<SetupState, ServerFnError> {
    let state = state()?;
    let set_up = crate::usecases::accounts::is_set_up(&state).await.map_err(user_error)?;
    let code = !set_up && crate::usecases::accounts::setup_code_required(&state, from_network()?);
    Ok(SetupState { set_up, setup_code_required: code, open_signup: state.config.auth.open_signup })
}

/// The signed-in account, or `None`.
#[server(endpoint = "current_account")]
pub async fn current_account() -> Result<Option<SignedInAccount>, ServerFnError> {
    Ok(signed_in_account().await?.map(|p| SignedInAccount { email: p.email, is_admin: p.owner.is_admin() }))
}

/// Creates the first account and signs it in; returns where to go next.
#[server(endpoint = "setup_account")]
pub async fn setup_account(email: String, password: String, setup_code: String) -> Result<String, ServerFnError> {
    let state = state()?;
    let code = Some(setup_code.as_str()).filter(|c| !c.trim().is_empty());
    let done = crate::usecases::accounts::setup(&state, &email, &password, code, from_network()?).await.map_err(user_error)?;
    signed_in(&state, done);
    Ok("/".into())
}

/// Signs in; returns where to go next (only ever a path on this site).
#[server(endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String, next: String) -> Result<String, ServerFnError> {
    let state = state()?;
    let client = crate::auth::client_ip::client_ip(&request_parts()?.headers, peer(), &state.config.auth.trusted_proxies);
    let done = crate::usecases::accounts::login(&state, &email, &password, client).await.map_err(user_error)?;
    let old = crate::auth::principal::session_cookie(&request_parts()?.headers, state.config.auth.secure_cookies).map(str::to_string);
    crate::usecases::accounts::logout(&state, old.as_deref()).await.map_err(user_error)?;
    signed_in(&state, done);
    Ok(crate::guards::safe_next(Some(&next)))
}

#[server(endpoint = "sign_up")]
pub async fn sign_up(email: String, password: String) -> Result<String, ServerFnError> {
    let state = state()?;
    let done = crate::usecases::accounts::signup(&state, &email, &password).await.map_err(user_error)?;
    signed_in(&state, done);
    Ok("/".into())
}

#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), ServerFnError> {
    let state = state()?;
    let parts = request_parts()?;
    crate::usecases::accounts::logout(&state, crate::auth::principal::session_cookie(&parts.headers, state.config.auth.secure_cookies)).await.map_err(user_error)?;
    set_cookie(crate::auth::cookie::clear(state.config.auth.secure_cookies));
    Ok(())
}

#[server(endpoint = "list_tokens")]
pub async fn list_tokens() -> Result<Vec<TokenView>, ServerFnError> {
    crate::usecases::accounts::list_tokens(&state()?, &owner().await?).await.map_err(user_error)
}

#[server(endpoint = "create_token")]
pub async fn create_token(name: String) -> Result<CreatedToken, ServerFnError> {
    let owner = owner().await?;
    crate::usecases::accounts::create_token(&state()?.db, owner.user_id(), &name).await.map_err(user_error)
}

#[server(endpoint = "revoke_token")]
pub async fn revoke_token(id: String) -> Result<(), ServerFnError> {
    crate::usecases::accounts::revoke_token(&state()?, &owner().await?, &id).await.map_err(user_error)
}

#[server(endpoint = "list_accounts")]
pub async fn list_accounts() -> Result<Vec<AccountView>, ServerFnError> {
    crate::usecases::accounts::list_accounts(&state()?, &owner().await?).await.map_err(user_error)
}

#[server(endpoint = "add_account")]
pub async fn add_account(email: String, password: String, role: String) -> Result<AccountView, ServerFnError> {
    crate::usecases::accounts::add_member(&state()?, &owner().await?, &email, &password, &role).await.map_err(user_error)
}

#[server(endpoint = "reset_account_password")]
pub async fn reset_account_password(user_id: String, password: String) -> Result<AccountView, ServerFnError> {
    crate::usecases::accounts::reset_password(&state()?, &owner().await?, &user_id, &password).await.map_err(user_error)
}

#[server(endpoint = "set_account_disabled")]
pub async fn set_account_disabled(user_id: String, disabled: bool) -> Result<AccountView, ServerFnError> {
    crate::usecases::accounts::set_disabled(&state()?, &owner().await?, &user_id, disabled).await.map_err(user_error)
}

/// For admins: the embedded QStash server's token and keys; `None` for members or with real QStash.
#[server(endpoint = "qstash_identity")]
pub async fn qstash_identity() -> Result<Option<crate::shared::QstashIdentityView>, ServerFnError> {
    Ok(crate::usecases::accounts::qstash_identity(&state()?, &owner().await?).await.ok())
}

#[server(endpoint = "all_runs")]
pub async fn all_runs() -> Result<Vec<crate::shared::AdminRunView>, ServerFnError> {
    crate::usecases::accounts::all_runs(&state()?, &owner().await?).await.map_err(user_error)
}

/// Sets a member's own limits from the users page (each box: empty = default, 0 = none).
#[server(endpoint = "set_account_limits")]
pub async fn set_account_limits(user_id: String, runs_in_flight: String, searches_per_day: String, credits_per_month: String) -> Result<AccountView, ServerFnError> {
    use crate::usecases::accounts::{parse_limit, set_limits};
    let limits = crate::shared::AccountLimits {
        runs_in_flight: parse_limit(&runs_in_flight).map_err(user_error)?,
        searches_per_day: parse_limit(&searches_per_day).map_err(user_error)?,
        credits_per_month: parse_limit(&credits_per_month).map_err(user_error)?,
    };
    set_limits(&state()?, &owner().await?, &user_id, &limits).await.map_err(user_error)
}

#[server(endpoint = "my_limits")]
pub async fn my_limits() -> Result<crate::shared::LimitsView, ServerFnError> {
    crate::usecases::limits::view(&state()?, &owner().await?).await.map_err(user_error)
}

#[server(endpoint = "list_campaigns")]
pub async fn list_campaigns() -> Result<Vec<CampaignView>, ServerFnError> {
    Ok(crate::usecases::campaigns::list(&state()?, &owner().await?, 1).await.map_err(user_error)?.0)
}

#[server(endpoint = "create_campaign")]
pub async fn create_campaign(name: String, description: String) -> Result<CampaignView, ServerFnError> {
    crate::usecases::campaigns::create(&state()?, &owner().await?, &name, Some(&description)).await.map_err(user_error)
}

#[server(endpoint = "get_campaign")]
pub async fn get_campaign(id: String) -> Result<CampaignDetail, ServerFnError> {
    crate::usecases::campaigns::detail(&state()?, &owner().await?, &id).await.map_err(user_error)
}

/// Starts a search on `platform`: by keywords (`keywords` is the text of the keyword box,
/// comma-separated) or similar to the account in `target_username`.
#[server(endpoint = "start_search")]
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
    Ok(searches::start(&state, &owner().await?, search).await.map_err(user_error)?.job_id)
}

#[server(endpoint = "job_status")]
pub async fn job_status(job_id: String) -> Result<JobView, ServerFnError> {
    crate::usecases::searches::status(&state()?, &owner().await?, &job_id).await.map_err(user_error)
}

#[server(endpoint = "cancel_search")]
pub async fn cancel_search(job_id: String) -> Result<JobView, ServerFnError> {
    crate::usecases::searches::cancel(&state()?, &owner().await?, &job_id).await.map_err(user_error)
}

#[server(endpoint = "list_creators")]
pub async fn list_creators(job_id: String, page: u32, sort: String, has_email: bool) -> Result<CreatorPage, ServerFnError> {
    use crate::usecases::creators;
    let state = state()?;
    let query = creators::parse_page_query(Some(&page.to_string()), Some(&sort), Some(&has_email.to_string())).map_err(user_error)?;
    creators::page(&state, &owner().await?, &job_id, &query).await.map_err(user_error)
}

/// The message to show for a failed server function.
pub fn error_text(e: &ServerFnError) -> String {
    match e {
        ServerFnError::ServerError(message) => message.clone(),
        _ => "Scout could not reach the server. Check your connection and try again.".to_string(),
    }
}
