//! Plain axum routes: the JSON API, the QStash webhooks, CSV export and health. One file per
//! resource; each exposes `router()`. Handlers only translate HTTP to `usecases` and back.

mod accounts;
mod campaigns;
mod creators;
mod health;
mod scraping;
mod webhooks;

use crate::{auth::Principal, error::ApiError, startup::AppState, usecases::Owner};
use axum::{extract::FromRequestParts, http::request::Parts, Router};

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(accounts::router())
        .merge(campaigns::router())
        .merge(scraping::router())
        .merge(creators::router())
        .merge(webhooks::router())
        .merge(health::router())
}

/// The signed-in account of a JSON request (an API token or the session cookie); 401 otherwise.
impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(principal) = parts.extensions.get::<Principal>() {
            return Ok(principal.clone());
        }
        let principal = crate::auth::principal::resolve(&state.db, &parts.headers, state.config.auth.secure_cookies)
            .await?
            .ok_or_else(|| ApiError::Unauthorized("Sign in first (or send an API token as Authorization: Bearer …).".into()))?;
        parts.extensions.insert(principal.clone());
        Ok(principal)
    }
}

/// The account a request acts for.
impl FromRequestParts<AppState> for Owner {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Principal::from_request_parts(parts, state).await?.owner)
    }
}
