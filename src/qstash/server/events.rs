//! `GET /v2/events` (what both official SDKs call for logs) and `GET /v2/logs` (what the docs
//! describe): the delivery log, newest first, in one shape with both keys.

use super::{error, internal, query, DevServer};
use crate::db::{self, qstash::events::EventRow};
use axum::{
    extract::State,
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Value};

/// Page size and maximum, as QStash documents them.
const PAGE: i64 = 1000;

pub(super) async fn list(State(server): State<DevServer>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(denied) = server.check(&headers, &uri) {
        return denied;
    }
    let pairs = query::pairs(uri.query());
    let (filter, page) = match (query::filter(&pairs, query::EVENT_PARAMS), query::page(&pairs, PAGE, PAGE)) {
        (Ok(filter), Ok(page)) => (filter, page),
        (Err(message), _) | (_, Err(message)) => return error(StatusCode::BAD_REQUEST, &message),
    };
    match db::qstash::events::list(&server.0.db, &filter, page.offset, page.count).await {
        Ok((rows, more)) => {
            let events: Vec<Value> = rows.iter().map(view).collect();
            let mut out = json!({ "events": events, "logs": events });
            if more {
                out["cursor"] = json!((page.offset + page.count).to_string());
            }
            Json(out).into_response()
        }
        Err(e) => internal(e, "read events"),
    }
}

/// One event. `time`, `messageId`, `state` and `url` are always there (the Python SDK requires them).
fn view(e: &EventRow) -> Value {
    let mut out = json!({
        "time": e.created_at,
        "messageId": e.message_id,
        "state": e.state,
        "url": e.url.clone().unwrap_or_default(),
    });
    let text = [
        ("error", &e.detail),
        ("method", &e.method),
        ("label", &e.label),
        ("callerIP", &e.caller_ip),
        ("callback", &e.callback),
        ("failureCallback", &e.failure_callback),
        // The Python SDK reads the first name, the docs the second.
        ("retryDelayExpr", &e.retry_delay),
        ("retryDelayExpression", &e.retry_delay),
        ("queueName", &e.queue_name),
        ("topicName", &e.topic_name),
        ("endpointName", &e.endpoint_name),
        ("scheduleId", &e.schedule_id),
        ("flowControlKey", &e.flow_key),
    ];
    for (name, value) in text {
        if let Some(value) = value {
            out[name] = json!(value);
        }
    }
    if let Some(status) = e.response_status {
        out["responseStatus"] = json!(status);
    }
    if let Some(next) = e.next_delivery {
        out["nextDeliveryTime"] = json!(next);
    }
    if let Some(retries) = e.retries {
        out["maxRetries"] = json!(retries);
    }
    out
}
