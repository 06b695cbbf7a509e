//! The session cookie: `HttpOnly` (scripts cannot read it), `SameSite=Lax` (not sent on cross-site
//! posts), for the whole site. Over https it is `Secure` and named `__Host-scout_session`: browsers
//! accept that name only from this exact host, so a sibling subdomain cannot plant a session of its
//! own ("cookie tossing").

use std::time::Duration;

pub fn name(secure: bool) -> &'static str {
    if secure {
        "__Host-scout_session"
    } else {
        "scout_session"
    }
}

pub fn set(secret: &str, ttl: Duration, secure: bool) -> String {
    format!("{}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}", name(secure), ttl.as_secs(), if secure { "; Secure" } else { "" })
}

pub fn clear(secure: bool) -> String {
    format!("{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}", name(secure), if secure { "; Secure" } else { "" })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn https_cookies_are_host_only() {
        let cookie = super::set("s", Duration::from_secs(60), true);
        assert!(cookie.starts_with("__Host-scout_session=s;") && cookie.contains("; Secure") && cookie.contains("Path=/"));
        assert!(!cookie.contains("Domain"));
        assert!(super::set("s", Duration::from_secs(60), false).starts_with("scout_session=s;"));
    }
}
