//! Who a request acts for: an API token (`Authorization: Bearer …`) or a session cookie, each
//! looked up by its hash. Both the JSON API's extractor and the server functions resolve it here.

use super::secret;
use crate::{
    db::{self, users::UserRow, Db},
    usecases::{Owner, Role},
};
use axum::http::{header, HeaderMap};

#[derive(Clone, Debug)]
pub struct Principal {
    pub owner: Owner,
    pub email: String,
}

impl Principal {
    pub fn from_user(user: UserRow) -> Self {
        Principal {
            owner: Owner::new(user.id, user.workspace_id, Role::parse(&user.role)),
            email: user.email,
        }
    }
}

/// The bearer token of a request, if it has one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// The session cookie's value, if the request has one (`secure`: Scout is served over https, and
/// only the host-only cookie name counts).
pub fn session_cookie(headers: &HeaderMap, secure: bool) -> Option<&str> {
    let wanted = super::cookie::name(secure);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
}

/// The signed-in principal, or `None` (no credential, or one that is unknown, expired, revoked or
/// of a disabled account). A bearer token, when present, decides alone: a wrong token is not
/// rescued by a cookie.
pub async fn resolve(db: &Db, headers: &HeaderMap, secure: bool) -> sqlx::Result<Option<Principal>> {
    if let Some(token) = bearer(headers) {
        let user = db::api_tokens::user_for_token(db, &secret::hash(token)).await?;
        return Ok(user.map(|u| Principal::from_user(u)));
    }
    match session_cookie(headers, secure) {
        Some(cookie) => {
            let user = db::sessions::user_for_session(db, &secret::hash(cookie)).await?;
            Ok(user.map(|u| Principal::from_user(u)))
        }
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_read_from_headers() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "Bearer  scout_abc ".parse().unwrap());
        h.append(header::COOKIE, "a=1; scout_session=xyz; b=2".parse().unwrap());
        assert_eq!(bearer(&h), Some("scout_abc"));
        assert_eq!(session_cookie(&h, false), Some("xyz"));
        assert_eq!(session_cookie(&h, true), None, "over https only the __Host- cookie counts");
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&h), None);
    }
}
