//! The session cookie: `HttpOnly` (scripts cannot read it), `SameSite=Lax` (not sent on cross-site
//! posts), `Secure` when Scout is served over https, for the whole site.

use super::SESSION_COOKIE;
use std::time::Duration;

pub fn set(secret: &str, ttl: Duration, secure: bool) -> String {
    format!("{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}", ttl.as_secs(), if secure { "; Secure" } else { "" })
}

pub fn clear(secure: bool) -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}", if secure { "; Secure" } else { "" })
}
