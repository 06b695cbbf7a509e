//! URL groups as the SDKs manage them (QStash's API calls them topics): `POST` and `DELETE
//! /v2/topics/{name}/endpoints` with `{"endpoints": [{"name"?, "url"}]}`, `GET /v2/topics`,
//! `GET/DELETE /v2/topics/{name}`. Publishing to the group's name delivers to every endpoint.

use super::{error, internal, publish::check_name, DevServer};
use crate::db::{
    self,
    qstash::url_groups::{Added, EndpointRow, UrlGroupRow},
};
use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};

/// Endpoints in one group, and groups, at most (a publish to a group stores a message per endpoint).
const MAX_ENDPOINTS: usize = 100;
const MAX_GROUPS: i64 = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Endpoints {
    endpoints: Vec<Endpoint>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Endpoint {
    url: Option<String>,
    name: Option<String>,
}

fn read_endpoints(body: &[u8]) -> Result<Vec<Endpoint>, String> {
    let read: Endpoints = serde_json::from_slice(body).map_err(|e| format!("expected {{\"endpoints\": [{{\"name\", \"url\"}}]}}: {e}"))?;
    if read.endpoints.is_empty() || read.endpoints.len() > MAX_ENDPOINTS {
        return Err(format!("give 1 to {MAX_ENDPOINTS} endpoints"));
    }
    for endpoint in &read.endpoints {
        if let Some(name) = &endpoint.name {
            check_name("endpoint", name)?;
        }
    }
    Ok(read.endpoints)
}

/// Adds (or renames) endpoints, creating the group; every URL must be one this server delivers to.
pub(super) async fn add_endpoints(
    State(server): State<DevServer>,
    Path(name): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    if let Err(denied) = server.check(&headers, &uri) {
        return denied;
    }
    let endpoints = match check_name("URL group", &name).and_then(|()| read_endpoints(&body)) {
        Ok(endpoints) => endpoints,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let mut rows = Vec::with_capacity(endpoints.len());
    for endpoint in endpoints {
        let Some(url) = endpoint.url.filter(|u| super::publish::is_url(u)) else {
            return error(StatusCode::BAD_REQUEST, "every endpoint needs an http(s) url");
        };
        if !server.0.destinations.allows(&url) {
            return error(StatusCode::BAD_REQUEST, "the embedded QStash server only delivers to this app");
        }
        rows.push(EndpointRow { url, endpoint_name: endpoint.name });
    }
    match db::qstash::url_groups::add_endpoints(&server.0.db, &name, &rows, MAX_ENDPOINTS as i64, MAX_GROUPS).await {
        Ok(Added::Done) => StatusCode::OK.into_response(),
        Ok(Added::TooMany) => error(
            StatusCode::BAD_REQUEST,
            &format!("a URL group has at most {MAX_ENDPOINTS} endpoints, and there are at most {MAX_GROUPS} groups"),
        ),
        Err(e) => internal(e, "add endpoints to a URL group"),
    }
}

/// Removes endpoints by URL or name; a group left empty is deleted.
pub(super) async fn remove_endpoints(
    State(server): State<DevServer>,
    Path(name): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    if let Err(denied) = server.check(&headers, &uri) {
        return denied;
    }
    let endpoints = match read_endpoints(&body) {
        Ok(endpoints) => endpoints,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    if endpoints.iter().any(|e| e.url.is_none() && e.name.is_none()) {
        return error(StatusCode::BAD_REQUEST, "name each endpoint to remove by its url or its name");
    }
    let which: Vec<(Option<String>, Option<String>)> = endpoints.into_iter().map(|e| (e.url, e.name)).collect();
    match db::qstash::url_groups::remove_endpoints(&server.0.db, &name, &which).await {
        Ok(true) => StatusCode::OK.into_response(),
        Ok(false) => not_found(&name),
        Err(e) => internal(e, "remove endpoints from a URL group"),
    }
}

pub(super) async fn list(State(server): State<DevServer>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(denied) = server.check(&headers, &uri) {
        return denied;
    }
    match db::qstash::url_groups::list(&server.0.db).await {
        Ok(groups) => Json(groups.iter().map(view).collect::<Vec<_>>()).into_response(),
        Err(e) => internal(e, "list URL groups"),
    }
}

pub(super) async fn get(State(server): State<DevServer>, Path(name): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(denied) = server.check(&headers, &uri) {
        return denied;
    }
    match db::qstash::url_groups::find(&server.0.db, &name).await {
        Ok(Some(group)) => Json(view(&group)).into_response(),
        Ok(None) => not_found(&name),
        Err(e) => internal(e, "read a URL group"),
    }
}

pub(super) async fn delete(State(server): State<DevServer>, Path(name): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(denied) = server.check(&headers, &uri) {
        return denied;
    }
    match db::qstash::url_groups::delete(&server.0.db, &name).await {
        Ok(true) => StatusCode::OK.into_response(),
        Ok(false) => not_found(&name),
        Err(e) => internal(e, "delete a URL group"),
    }
}

fn not_found(name: &str) -> Response {
    error(StatusCode::NOT_FOUND, &format!("URL group {name} not found"))
}

/// The fields both SDKs read (`name` of an endpoint only when it has one).
fn view(group: &UrlGroupRow) -> Value {
    let endpoints: Vec<Value> = group
        .endpoints
        .iter()
        .map(|e| match &e.endpoint_name {
            Some(name) => json!({ "url": e.url, "name": name }),
            None => json!({ "url": e.url }),
        })
        .collect();
    json!({ "name": group.name, "createdAt": group.created_at, "updatedAt": group.updated_at, "endpoints": endpoints })
}
