//! Requests must name this server in `Host`: the listening address, the public URL's host, or one
//! of `SCOUT_ALLOWED_HOSTS`. Anything else gets 421, so a page on another site that points its own
//! domain at this machine (DNS rebinding) cannot read or drive Scout through a visitor's browser.

use super::refuse;
use crate::startup::AppState;
use axum::{
    extract::{Request, State},
    http::{header, StatusCode},
    middleware::Next,
    response::Response,
};
use std::net::SocketAddr;

#[derive(Clone, Debug, Default)]
pub struct AllowedHosts {
    /// `host:port`, lowercase.
    exact: Vec<String>,
    /// Hosts accepted on any port (`SCOUT_ALLOWED_HOSTS` entries without one).
    any_port: Vec<String>,
}

impl AllowedHosts {
    pub fn new(bound: SocketAddr, public_url: &str, extra: &[String]) -> Self {
        let port = bound.port();
        let mut exact = vec![format!("localhost:{port}"), format!("127.0.0.1:{port}"), format!("[::1]:{port}")];
        if !bound.ip().is_unspecified() {
            exact.push(bound.to_string().to_ascii_lowercase());
        }
        if let Ok(url) = reqwest::Url::parse(public_url) {
            if let Some(host) = url.host_str() {
                let host = host.to_ascii_lowercase();
                match url.port() {
                    Some(p) => exact.push(format!("{host}:{p}")),
                    None => {
                        exact.push(format!("{host}:{}", url.port_or_known_default().unwrap_or(80)));
                        exact.push(host);
                    }
                }
            }
        }
        let mut any_port = Vec::new();
        for entry in extra {
            let has_port = entry.rsplit_once(':').is_some_and(|(h, p)| !h.is_empty() && p.chars().all(|c| c.is_ascii_digit()) && !h.ends_with(':'))
                && !(entry.starts_with('[') && entry.ends_with(']'));
            if has_port {
                exact.push(entry.clone());
            } else {
                any_port.push(entry.trim_start_matches('[').trim_end_matches(']').to_string());
            }
        }
        AllowedHosts { exact, any_port }
    }

    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        let host = host.strip_suffix('.').unwrap_or(&host);
        if self.exact.iter().any(|h| h == host) {
            return true;
        }
        let name = match host.rsplit_once(':') {
            Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) && !name.is_empty() => name,
            _ => host,
        };
        let name = name.trim_start_matches('[').trim_end_matches(']').trim_end_matches('.');
        self.any_port.iter().any(|h| h == name)
    }
}

/// The host a request names: its `Host` header, or the authority of an HTTP/2 request.
pub fn request_host(req: &Request) -> Option<String> {
    req.headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()))
}

/// Health routes answer whatever host they are asked by: a load balancer checks each instance by its
/// own address, and they tell nothing a rebinding page could use.
const ANY_HOST: [&str; 2] = ["/healthz", "/readyz"];

pub async fn check(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if ANY_HOST.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    match request_host(&req) {
        Some(host) if state.allowed_hosts.allows(&host) => next.run(req).await,
        host => {
            tracing::warn!(host = host.as_deref().unwrap_or("(none)"), "refused a request for another host");
            refuse(
                StatusCode::MISDIRECTED_REQUEST,
                "This server does not answer to that host name. Use its public address, or add the name to SCOUT_ALLOWED_HOSTS.",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_public_and_listed_hosts_pass() {
        let hosts = AllowedHosts::new("127.0.0.1:3000".parse().unwrap(), "https://scout.example.com", &["lb.internal".into(), "10.0.0.5:3000".into()]);
        for ok in ["127.0.0.1:3000", "localhost:3000", "scout.example.com", "scout.example.com:443", "SCOUT.example.com.", "lb.internal:8080", "10.0.0.5:3000"] {
            assert!(hosts.allows(ok), "{ok}");
        }
        for bad in ["evil.example", "127.0.0.1:3001", "scout.example.com:8443", "10.0.0.5:80", "", "localhost"] {
            assert!(!hosts.allows(bad), "{bad}");
        }
    }
}
