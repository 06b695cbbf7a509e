//! Pages need an account: while none exists every page leads to `/setup`; a signed-out visitor is
//! sent to `/login?next=…` and back after signing in. JSON routes answer 401 themselves; assets,
//! health, the webhooks, the embedded QStash API and the simulator are not pages.

use crate::{auth::principal, startup::AppState, usecases::accounts};
use axum::{
    extract::{Request, State},
    http::Method,
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};

pub async fn require_sign_in(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if !matches!(*req.method(), Method::GET | Method::HEAD) || !is_page(&path) {
        return next.run(req).await;
    }
    let set_up = match accounts::is_set_up(&state).await {
        Ok(done) => done,
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    let signed_in = match principal::resolve(&state.db, req.headers(), state.config.auth.secure_cookies).await {
        Ok(found) => found,
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    match (path.as_str(), set_up, signed_in) {
        ("/setup", false, _) => next.run(req).await,
        (_, false, _) => Redirect::to("/setup").into_response(),
        ("/setup", true, _) => Redirect::to("/login").into_response(),
        ("/login" | "/signup", true, None) => next.run(req).await,
        ("/login" | "/signup", true, Some(_)) => Redirect::to("/").into_response(),
        (_, true, Some(principal)) => {
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        (_, true, None) => {
            let target = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
            Redirect::to(&format!("/login?next={}", encode(target))).into_response()
        }
    }
}

/// Routes Leptos renders as pages (files such as `/favicon.svg` have an extension).
fn is_page(path: &str) -> bool {
    const NOT_PAGES: [&str; 6] = ["api", "pkg", "v2", "simulator", "healthz", "readyz"];
    let first = path.trim_start_matches('/').split('/').next().unwrap_or_default();
    !NOT_PAGES.contains(&first) && !path.rsplit('/').next().unwrap_or_default().contains('.')
}

/// Percent-encodes a path for a query value.
fn encode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Where to go after signing in: only a path on this site (`/…`, not `//host` or a URL), so the
/// login page cannot be used to send people elsewhere. Browsers drop tabs and newlines from URLs and
/// read `\` as `/`, so any control character or backslash is refused outright.
pub fn safe_next(next: Option<&str>) -> String {
    match next.map(str::trim) {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.chars().any(|c| c.is_control() || c == '\\') && n.len() <= 2048 => {
            n.to_string()
        }
        _ => "/".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_next_targets() {
        assert!(is_page("/") && is_page("/campaigns/abc") && is_page("/admin/users"));
        assert!(!is_page("/api/campaigns") && !is_page("/pkg/scout.js") && !is_page("/favicon.svg") && !is_page("/healthz") && !is_page("/readyz"));
        assert!(!is_page("/v2") && !is_page("/api"));
        assert_eq!(encode("/campaigns/1?x=a b&y"), "/campaigns/1%3Fx%3Da%20b%26y");
        assert_eq!(safe_next(Some("/campaigns/1")), "/campaigns/1");
        for bad in ["//evil.example", "https://evil.example", "/\\evil", "", "/\t/evil.example", "/\t\\evil.example", "/a\\b"] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
    }
}
