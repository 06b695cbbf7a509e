//! `GET /v2/messages/{id}` (the message as the SDKs read it) and `DELETE /v2/messages/{id}` (cancel).

use super::{error, listed_headers, DevServer};
use crate::db;
use axum::{
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
    match db::qstash::find(&server.0.db, &id).await {
        Ok(Some(m)) => Json(view(&m)).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, "message not found"),
        Err(e) => {
            tracing::error!(error = %e, "qstash-dev: failed to read a message");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

pub(super) async fn cancel(State(server): State<DevServer>, Path(id): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(denied) = server.check(&headers, &uri) {
        return denied;
    }
    match db::qstash::cancel(&server.0.db, &id).await {
        // The JS SDK reads this answer as JSON.
        Ok(true) => Json(json!({ "cancelled": 1 })).into_response(),
        Ok(false) => error(StatusCode::NOT_FOUND, "message not found or already delivered"),
        Err(e) => {
            tracing::error!(error = %e, "qstash-dev: failed to cancel a message");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

/// QStash's message shape (the Python SDK requires `messageId`, `url`, `method`, `maxRetries`,
/// `notBefore`, `createdAt`), plus this server's `state`, `retried`, `lastStatus` and `lastError`.
fn view(m: &db::qstash::MessageRow) -> Value {
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
        out["timeout"] = json!((ms + 999) / 1000);
    }
    out
}
