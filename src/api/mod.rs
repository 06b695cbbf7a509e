//! Plain axum routes: the JSON API, the QStash webhooks, CSV export and health. One file per
//! resource; each exposes `router()`. Handlers only translate HTTP to `usecases` and back.

mod campaigns;
mod creators;
mod health;
mod scraping;
mod webhooks;

use crate::{startup::AppState, usecases::Owner};
use axum::{extract::FromRequestParts, http::request::Parts, Router};
use std::convert::Infallible;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(campaigns::router())
        .merge(scraping::router())
        .merge(creators::router())
        .merge(webhooks::router())
        .merge(health::router())
}

/// The user a request acts for. Until accounts exist, always the built-in local user.
impl<S: Send + Sync> FromRequestParts<S> for Owner {
    type Rejection = Infallible;

    async fn from_request_parts(_parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Owner::local())
    }
}
