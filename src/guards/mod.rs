//! What every request passes before it reaches a route: the `Host` check (DNS rebinding), the
//! same-origin check for state-changing requests made with the session cookie (CSRF), the sign-in
//! redirect of pages, and the security headers of every response.

mod headers;
mod hosts;
mod origin;
mod pages;

pub use headers::page_csp;
pub use hosts::AllowedHosts;
pub use pages::safe_next;

use crate::startup::AppState;
use axum::{middleware, Router};

/// Wraps the whole app. Layers run outside-in: hosts, then origin, then pages; headers are added on
/// the way out of all of them (421 and 403 answers get them too).
pub fn apply(router: Router, state: AppState) -> Router {
    router
        .layer(middleware::from_fn_with_state(state.clone(), pages::require_sign_in))
        .layer(middleware::from_fn_with_state(state.clone(), origin::same_origin))
        .layer(middleware::from_fn_with_state(state, hosts::check))
        .layer(middleware::from_fn(headers::security_headers))
}

/// A JSON error with its status, as the API's errors look.
fn refuse(status: axum::http::StatusCode, message: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
}
