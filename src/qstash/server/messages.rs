//! `GET /v2/messages/{id}` (the message as the SDKs read it), `DELETE /v2/messages/{id}` (cancel) and
//! the bulk cancel `DELETE /v2/messages` (ids or a filter in the query, or the Python SDK's JSON body;
//! nothing at all cancels everything pending).

use super::{error, internal, listed_headers, query, DevServer};
use crate::db;
use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
    Json,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::{json, Value};

pub(super) async fn get(State(server): State<DevServer>, Path(id): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(denied) = server.check(&headers, &uri) {
        return denied;
    }
    let m = match db::qstash::find(&server.0.db, &id).await {
        Ok(Some(m)) => m,
        Ok(None) => return error(StatusCode::NOT_FOUND, "message not found"),
        Err(e) => return internal(e, "read a message"),
    };
    let mut out = view(&m);
    // The flow control key's limits, which both SDKs read with the key.
    if let Some(key) = &m.flow_key {
        match db::qstash::flow_control::limits(&server.0.db, key).await {
            Ok(Some(limits)) => {
                if let (Some(out), Value::Object(flow)) = (out.as_object_mut(), super::schedules::flow_view(key, &limits)) {
                    out.extend(flow);
                }
            }
            Ok(None) => {}
            Err(e) => return internal(e, "read a flow control key"),
        }
    }
    Json(out).into_response()
}

pub(super) async fn cancel(State(server): State<DevServer>, Path(id): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(denied) = server.check(&headers, &uri) {
        return denied;
    }
    match db::qstash::cancel(&server.0.db, &id).await {
        // The JS SDK reads this answer as JSON.
        Ok(true) => Json(json!({ "cancelled": 1 })).into_response(),
        Ok(false) => error(StatusCode::NOT_FOUND, "message not found or already delivered"),
        Err(e) => internal(e, "cancel a message"),
    }
}

/// Cancelled at most per bulk call when it names no `count` (the Python SDK's "cancel all").
const CANCEL_ALL_LIMIT: i64 = 100_000;

pub(super) async fn cancel_many(State(server): State<DevServer>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    if let Err(denied) = server.check(&headers, &uri) {
        return denied;
    }
    let pairs = query::pairs(uri.query());
    let mut filter = match query::filter(&pairs, query::CANCEL_PARAMS) {
        Ok(filter) => filter,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    match query::bulk_body(&body) {
        Ok(bulk) => bulk.apply(&mut filter, false),
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    }
    let limit = match query::page(&pairs, CANCEL_ALL_LIMIT, CANCEL_ALL_LIMIT) {
        Ok(page) => page.count,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    match db::qstash::cancel_matching(&server.0.db, &filter, limit).await {
        Ok(cancelled) => Json(json!({ "cancelled": cancelled })).into_response(),
        Err(e) => internal(e, "cancel messages"),
    }
}

/// QStash's message shape (the Python SDK requires `messageId`, `url`, `method`, `maxRetries`,
/// `notBefore`, `createdAt`), plus this server's `state`, `retried`, `lastStatus` and `lastError`.
pub(super) fn view(m: &db::qstash::MessageRow) -> Value {
    let bytes = STANDARD.decode(&m.body).unwrap_or_default();
    let mut out = json!({
        "messageId": m.id,
        "url": m.destination,
        "method": m.method,
        "header": listed_headers(&m.headers),
        "maxRetries": m.retries,
        "notBefore": m.not_before,
        "createdAt": m.created_at,
        "state": m.state,
        "retried": m.retried,
        "lastStatus": m.last_status,
        "lastError": m.last_error,
    });
    // Text bodies as `body`; anything that is not UTF-8 as `bodyBase64`, as QStash does.
    match String::from_utf8(bytes) {
        Ok(text) => out["body"] = json!(text),
        Err(_) => out["bodyBase64"] = json!(m.body),
    }
    let optional = [
        ("callback", m.callback.as_deref()),
        ("failureCallback", m.failure_callback.as_deref()),
        ("retryDelayExpression", m.retry_delay.as_deref()),
        ("callerIP", m.caller_ip.as_deref()),
        ("label", m.label.as_deref()),
        ("queueName", m.queue_name.as_deref()),
        ("topicName", m.topic_name.as_deref()),
        ("endpointName", m.endpoint_name.as_deref()),
        ("scheduleId", m.schedule_id.as_deref()),
        ("flowControlKey", m.flow_key.as_deref()),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            out[name] = json!(value);
        }
    }
    if let Some(label) = &m.label {
        out["labels"] = json!([label]);
    }
    if let Some(ms) = m.timeout_ms {
        // Whole seconds, as QStash reports it (a part-second timeout rounds up, never to 0).
        out["timeout"] = json!((ms.max(0) as u64).div_ceil(1000));
    }
    out
}
