//! Cross-site request forgery: a state-changing request (anything but GET, HEAD, OPTIONS) that
//! carries the session cookie must come from Scout's own pages. Browsers say where a request comes
//! from in `Origin` (or at least `Referer`); a foreign or missing origin gets 403. Requests with an
//! API token carry no ambient credential and pass; so do cookie-less ones (QStash's deliveries, scripts).

use super::refuse;
use crate::{auth::principal, startup::AppState};
use axum::{
    extract::{Request, State},
    http::{header, Method, StatusCode},
    middleware::Next,
    response::Response,
};

pub async fn same_origin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) || principal::bearer(req.headers()).is_some() {
        return next.run(req).await;
    }
    let has_cookie = principal::session_cookie(req.headers(), state.config.auth.secure_cookies).is_some();
    let source = req
        .headers()
        .get(header::ORIGIN)
        .or_else(|| req.headers().get(header::REFERER))
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let host = super::hosts::request_host(&req);
    let allowed = match &source {
        // No Origin: not a browser's cross-site request unless it carries the cookie.
        None => !has_cookie,
        Some(source) => same_site(source, host.as_deref(), &state.urls.public),
    };
    if allowed {
        next.run(req).await
    } else {
        tracing::warn!(origin = source.as_deref().unwrap_or("(none)"), path = %req.uri().path(), "refused a cross-origin request");
        refuse(StatusCode::FORBIDDEN, "This request did not come from Scout's own pages, so it was refused.")
    }
}

/// Whether `source` (an `Origin` or `Referer`) is this app: the host the request was sent to
/// (already checked against the allowed hosts) or the public URL's.
fn same_site(source: &str, host: Option<&str>, public_url: &str) -> bool {
    let Ok(source) = reqwest::Url::parse(source) else { return false };
    let Some(from) = authority(&source) else { return false };
    let public = reqwest::Url::parse(public_url).ok().and_then(|u| authority(&u));
    host.is_some_and(|h| with_port(h, &source) == from) || public.is_some_and(|p| p == from)
}

fn authority(url: &reqwest::Url) -> Option<String> {
    Some(format!("{}:{}", url.host_str()?.to_ascii_lowercase(), url.port_or_known_default()?))
}

/// A `Host` value with the scheme's default port made explicit, to compare with `authority`.
fn with_port(host: &str, scheme_of: &reqwest::Url) -> String {
    let host = host.to_ascii_lowercase();
    match reqwest::Url::parse(&format!("{}://{host}", scheme_of.scheme())) {
        Ok(url) => authority(&url).unwrap_or(host),
        Err(_) => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_site_is_same_origin() {
        assert!(same_site("http://127.0.0.1:3000", Some("127.0.0.1:3000"), "http://127.0.0.1:3000"));
        assert!(same_site("https://scout.example.com/campaigns/1", Some("10.0.0.2:3000"), "https://scout.example.com"));
        assert!(same_site("https://scout.example.com", Some("scout.example.com"), "https://other"));
        assert!(!same_site("http://evil.example", Some("127.0.0.1:3000"), "http://127.0.0.1:3000"));
        assert!(!same_site("http://127.0.0.1:3001", Some("127.0.0.1:3000"), "http://127.0.0.1:3000"));
        assert!(!same_site("null", Some("127.0.0.1:3000"), "http://127.0.0.1:3000"));
    }
}
