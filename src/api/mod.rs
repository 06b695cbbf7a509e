//! Plain axum routes: the JSON API, the QStash webhooks, CSV export and health. One file per
//! resource; each exposes `router()`.

mod campaigns;
mod creators;
mod health;
mod scraping;
mod webhooks;

pub use campaigns::load_detail as load_campaign_detail;
pub use creators::parse_page_query as parse_creator_page_query;
pub use scraping::job_view as load_job_view;

use crate::startup::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(campaigns::router())
        .merge(scraping::router())
        .merge(creators::router())
        .merge(webhooks::router())
        .merge(health::router())
}
