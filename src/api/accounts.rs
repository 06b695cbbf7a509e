//! Accounts over JSON: first-run setup, sign-in and out (`/api/auth/*`), members (`/api/users`,
//! admins only) and API tokens (`/api/tokens`).

use crate::{
    auth::{
        self,
        client_ip::{client_ip, from_network},
        Principal,
    },
    error::{ApiError, ApiJson},
    shared::{AccountLimits, AccountView, AdminRunView, CreatedToken, LimitsView, QstashIdentityView, TokenView},
    startup::AppState,
    usecases::{accounts, limits, Owner},
};
use axum::{
    extract::{ConnectInfo, Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{delete, get, patch, post},
    Json, Router,
};
use serde::Deserialize;
use serde_json::json;
use std::net::SocketAddr;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/status", get(status))
        .route("/api/auth/setup", post(setup))
        .route("/api/auth/login", post(login))
        .route("/api/auth/signup", post(signup))
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/me", get(me))
        .route("/api/users", get(list_users).post(add_user))
        .route("/api/users/{id}", patch(update_user))
        .route("/api/tokens", get(list_tokens).post(create_token))
        .route("/api/tokens/{id}", delete(revoke_token))
        .route("/api/limits", get(my_limits))
        .route("/api/admin/qstash", get(qstash_identity))
        .route("/api/admin/runs", get(all_runs))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    email: Option<String>,
    password: Option<String>,
    setup_code: Option<String>,
}

/// Whether the first account exists yet, and whether setup needs the code from the log.
async fn status(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap) -> Result<Json<serde_json::Value>, ApiError> {
    let set_up = accounts::is_set_up(&state).await?;
    let code = !set_up && accounts::setup_code_required(&state, from_network(&headers, Some(peer.ip())));
    Ok(Json(json!({ "setUp": set_up, "setupCodeRequired": code, "openSignup": state.config.auth.open_signup })))
}

fn me_json(principal: &Principal) -> serde_json::Value {
    json!({ "id": principal.owner.user_id(), "email": principal.email, "role": principal.owner.role().as_str() })
}

fn signed_in(state: &AppState, status: StatusCode, signed_in: accounts::SignedIn) -> Response {
    let cookie = auth::cookie::set(&signed_in.session_secret, state.config.auth.session_ttl, state.config.auth.secure_cookies);
    (status, [(header::SET_COOKIE, cookie)], Json(me_json(&signed_in.principal))).into_response()
}

async fn setup(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Credentials>,
) -> Result<Response, ApiError> {
    let done = accounts::setup(
        &state,
        body.email.as_deref().unwrap_or(""),
        body.password.as_deref().unwrap_or(""),
        body.setup_code.as_deref(),
        from_network(&headers, Some(peer.ip())),
    )
    .await?;
    Ok(signed_in(&state, StatusCode::CREATED, done))
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Credentials>,
) -> Result<Response, ApiError> {
    let client = client_ip(&headers, Some(peer.ip()), &state.config.auth.trusted_proxies);
    let done = accounts::login(&state, body.email.as_deref().unwrap_or(""), body.password.as_deref().unwrap_or(""), client).await?;
    // A fresh session replaces whatever the browser held (no fixation of a planted one).
    accounts::logout(&state, auth::principal::session_cookie(&headers, state.config.auth.secure_cookies)).await?;
    Ok(signed_in(&state, StatusCode::OK, done))
}

async fn signup(State(state): State<AppState>, ApiJson(body): ApiJson<Credentials>) -> Result<Response, ApiError> {
    let done = accounts::signup(&state, body.email.as_deref().unwrap_or(""), body.password.as_deref().unwrap_or("")).await?;
    Ok(signed_in(&state, StatusCode::CREATED, done))
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    accounts::logout(&state, auth::principal::session_cookie(&headers, state.config.auth.secure_cookies)).await?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, auth::cookie::clear(state.config.auth.secure_cookies))]).into_response())
}

async fn me(principal: Principal) -> Json<serde_json::Value> {
    Json(me_json(&principal))
}

#[derive(Deserialize)]
struct NewUser {
    email: Option<String>,
    password: Option<String>,
    role: Option<String>,
}

async fn add_user(State(state): State<AppState>, owner: Owner, ApiJson(body): ApiJson<NewUser>) -> Result<(StatusCode, Json<AccountView>), ApiError> {
    let user = accounts::add_member(
        &state,
        &owner,
        body.email.as_deref().unwrap_or(""),
        body.password.as_deref().unwrap_or(""),
        body.role.as_deref().unwrap_or("member"),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

async fn list_users(State(state): State<AppState>, owner: Owner) -> Result<Json<Vec<AccountView>>, ApiError> {
    Ok(Json(accounts::list_accounts(&state, &owner).await?))
}

#[derive(Deserialize)]
struct UserChange {
    password: Option<String>,
    disabled: Option<bool>,
    limits: Option<AccountLimits>,
}

/// `{password}` resets it (and signs the account out everywhere); `{disabled}` disables or enables;
/// `{limits: {runsInFlight, searchesPerDay, creditsPerMonth}}` sets the member's own (null = default).
async fn update_user(
    State(state): State<AppState>,
    owner: Owner,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UserChange>,
) -> Result<Json<AccountView>, ApiError> {
    let mut user = None;
    if let Some(password) = body.password.as_deref() {
        user = Some(accounts::reset_password(&state, &owner, &id, password).await?);
    }
    if let Some(disabled) = body.disabled {
        user = Some(accounts::set_disabled(&state, &owner, &id, disabled).await?);
    }
    if let Some(limits) = &body.limits {
        user = Some(accounts::set_limits(&state, &owner, &id, limits).await?);
    }
    user.map(Json).ok_or_else(|| ApiError::BadRequest("Send a new password, disabled: true/false, or limits.".into()))
}

/// Every member's newest runs (admins), read-only.
async fn all_runs(State(state): State<AppState>, owner: Owner) -> Result<Json<Vec<AdminRunView>>, ApiError> {
    Ok(Json(accounts::all_runs(&state, &owner).await?))
}

/// The embedded QStash server's token and keys (admins).
async fn qstash_identity(State(state): State<AppState>, owner: Owner) -> Result<Json<QstashIdentityView>, ApiError> {
    Ok(Json(accounts::qstash_identity(&state, &owner).await?))
}

/// The caller's limits and what is left of them.
async fn my_limits(State(state): State<AppState>, owner: Owner) -> Result<Json<LimitsView>, ApiError> {
    Ok(Json(limits::view(&state, &owner).await?))
}

#[derive(Deserialize)]
struct NewToken {
    name: Option<String>,
}

async fn create_token(
    State(state): State<AppState>,
    owner: Owner,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    Ok((StatusCode::CREATED, Json(accounts::create_token(&state.db, owner.user_id(), body.name.as_deref().unwrap_or("")).await?)))
}

async fn list_tokens(State(state): State<AppState>, owner: Owner) -> Result<Json<Vec<TokenView>>, ApiError> {
    Ok(Json(accounts::list_tokens(&state, &owner).await?))
}

async fn revoke_token(State(state): State<AppState>, owner: Owner, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    accounts::revoke_token(&state, &owner, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
