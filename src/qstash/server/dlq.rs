//! The dead-letter queue API: `GET /v2/dlq` (filters, `cursor`, `count`, `order`), `GET` and `DELETE
//! /v2/dlq/{dlqId}`, bulk `DELETE /v2/dlq`, and retries (`POST /v2/dlq/retry/{dlqId}`, bulk
//! `POST /v2/dlq/retry`), in the shapes the official SDKs read.

use super::{error, internal, messages, query, DevServer};
use crate::db::{self, qstash::dlq::DlqRow};
use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
    Json,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::{json, Value};

/// QStash's page size for the DLQ, and its maximum.
const PAGE: i64 = 100;

pub(super) async fn list(State(server): State<DevServer>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(denied) = server.check(&headers, &uri) {
        return denied;
    }
    let pairs = query::pairs(uri.query());
    let (filter, page) = match (query::filter(&pairs, query::DLQ_PARAMS), query::page(&pairs, PAGE, PAGE)) {
        (Ok(filter), Ok(page)) => (filter, page),
        (Err(message), _) | (_, Err(message)) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let newest_first = query::first(&pairs, "order") == Some("latestFirst");
    match db::qstash::dlq::list(&server.0.db, &filter, newest_first, page.offset, page.count).await {
        Ok((rows, more)) => {
            let mut out = json!({ "messages": rows.iter().map(view).collect::<Vec<_>>() });
            // No cursor at the end: the Python SDK pages until it is absent.
            if more {
                out["cursor"] = json!((page.offset + page.count).to_string());
            }
            Json(out).into_response()
        }
        Err(e) => internal(e, "read the DLQ"),
    }
}

pub(super) async fn get(State(server): State<DevServer>, Path(id): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(denied) = server.check(&headers, &uri) {
        return denied;
    }
    match db::qstash::dlq::find(&server.0.db, &id).await {
        Ok(Some(row)) => Json(view(&row)).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, "dlq message not found"),
        Err(e) => internal(e, "read a DLQ message"),
    }
}

pub(super) async fn delete(State(server): State<DevServer>, Path(id): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(denied) = server.check(&headers, &uri) {
        return denied;
    }
    match db::qstash::dlq::delete(&server.0.db, &[id]).await {
        Ok(0) => error(StatusCode::NOT_FOUND, "dlq message not found"),
        Ok(deleted) => Json(json!({ "deleted": deleted })).into_response(),
        Err(e) => internal(e, "delete a DLQ message"),
    }
}

/// The entries a bulk call names: `dlqIds` in the query or the JSON body, else the filter's first
/// `count` (everything, a page at a time, when there is no filter); and, while more remain, the
/// cursor to go on with. The cursor is the moment the first call began: entries that arrive later
/// (a retried message failing again) are not taken, so a retry of "all" ends.
async fn selected(server: &DevServer, uri: &Uri, body: &[u8]) -> Result<(Vec<String>, Option<i64>), Response> {
    let pairs = query::pairs(uri.query());
    let mut filter = query::filter(&pairs, query::DLQ_PARAMS).map_err(|m| error(StatusCode::BAD_REQUEST, &m))?;
    let count = query::page(&pairs, PAGE, PAGE).map_err(|m| error(StatusCode::BAD_REQUEST, &m))?.count;
    query::bulk_body(body).map_err(|m| error(StatusCode::BAD_REQUEST, &m))?.apply(&mut filter, true);
    if !filter.dlq_ids.is_empty() && !filter.matches_nothing {
        return Ok((filter.dlq_ids, None));
    }
    let began = match query::first(&pairs, "cursor") {
        Some(raw) => raw.parse::<i64>().map_err(|_| error(StatusCode::BAD_REQUEST, "invalid cursor"))?,
        None => db::now_ms(),
    };
    filter.to_ms = Some(filter.to_ms.map_or(began, |to| to.min(began)));
    // What this call handles leaves the queue, so every call starts from the front.
    let (rows, more) = db::qstash::dlq::list(&server.0.db, &filter, false, 0, count).await.map_err(|e| internal(e, "read the DLQ"))?;
    Ok((rows.into_iter().map(|r| r.dlq_id).collect(), more.then_some(began)))
}

pub(super) async fn delete_many(State(server): State<DevServer>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    if let Err(denied) = server.check(&headers, &uri) {
        return denied;
    }
    let (ids, more) = match selected(&server, &uri, &body).await {
        Ok(selected) => selected,
        Err(response) => return response,
    };
    match db::qstash::dlq::delete(&server.0.db, &ids).await {
        Ok(deleted) => Json(with_cursor(json!({ "deleted": deleted }), more)).into_response(),
        Err(e) => internal(e, "delete DLQ messages"),
    }
}

pub(super) async fn retry(State(server): State<DevServer>, Path(id): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(denied) = server.check(&headers, &uri) {
        return denied;
    }
    match retry_one(&server, &id, &headers).await {
        Ok(Some(message_id)) => Json(json!({ "messageId": message_id, "deduplicated": false })).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, "dlq message not found"),
        Err(response) => response,
    }
}

pub(super) async fn retry_many(State(server): State<DevServer>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    if let Err(denied) = server.check(&headers, &uri) {
        return denied;
    }
    let (ids, more) = match selected(&server, &uri, &body).await {
        Ok(selected) => selected,
        Err(response) => return response,
    };
    let mut responses = Vec::new();
    for id in ids {
        match retry_one(&server, &id, &headers).await {
            Ok(Some(message_id)) => responses.push(json!({ "messageId": message_id, "deduplicated": false })),
            Ok(None) => {}
            Err(response) => return response,
        }
    }
    Json(with_cursor(json!({ "responses": responses }), more)).into_response()
}

/// Publishes the entry's message again; `Upstash-Retries` on the retry request overrides its own.
async fn retry_one(server: &DevServer, id: &str, headers: &HeaderMap) -> Result<Option<String>, Response> {
    let retries = headers
        .get("upstash-retries")
        .and_then(|v| v.to_str().ok())
        .map(|raw| super::publish::parse_retries(raw, "Upstash-Retries"))
        .transpose()
        .map_err(|message| error(StatusCode::BAD_REQUEST, &message))?;
    let retried = db::qstash::dlq::retry(&server.0.db, id, retries).await.map_err(|e| internal(e, "retry a DLQ message"))?;
    if retried.is_some() {
        server.0.wake.notify_one();
    }
    Ok(retried)
}

fn with_cursor(mut out: Value, cursor: Option<i64>) -> Value {
    if let Some(cursor) = cursor {
        out["cursor"] = json!(cursor.to_string());
    }
    out
}

/// A DLQ message: the message as `GET /v2/messages` shows it, with the destination's last answer.
fn view(row: &DlqRow) -> Value {
    let mut out = messages::view(&row.message);
    out["dlqId"] = json!(row.dlq_id);
    out["responseStatus"] = json!(row.response_status);
    out["responseHeader"] = serde_json::from_str(&row.response_headers).unwrap_or_else(|_| json!({}));
    let body = STANDARD.decode(&row.response_body).unwrap_or_default();
    match String::from_utf8(body) {
        Ok(text) => out["responseBody"] = json!(text),
        Err(_) => out["responseBodyBase64"] = json!(row.response_body),
    }
    out
}
