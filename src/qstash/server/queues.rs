//! Queues as the SDKs manage them: `POST /v2/queues` (upsert `{queueName, parallelism, paused}`),
//! `GET /v2/queues`, `GET/DELETE /v2/queues/{name}`, `POST /v2/queues/{name}/pause|resume`.
//! Messages get into a queue with `POST /v2/enqueue/{queue}/{destination}` or a batch's `queue`.

use super::{error, internal, publish::check_queue_name, DevServer};
use crate::db::{self, qstash::queues::QueueRow};
use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};

/// Deliveries of one queue at once, at most.
const MAX_PARALLELISM: i64 = 1000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Upsert {
    queue_name: String,
    parallelism: Option<i64>,
    paused: Option<bool>,
}

pub(super) async fn upsert(State(server): State<DevServer>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    if let Err(denied) = server.check(&headers, &uri) {
        return denied;
    }
    let upsert: Upsert = match serde_json::from_slice(&body) {
        Ok(upsert) => upsert,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("expected {{\"queueName\", \"parallelism\", \"paused\"}}: {e}")),
    };
    if let Err(message) = check_queue_name(&upsert.queue_name) {
        return error(StatusCode::BAD_REQUEST, &message);
    }
    let parallelism = upsert.parallelism.unwrap_or(db::qstash::queues::DEFAULT_PARALLELISM);
    if !(1..=MAX_PARALLELISM).contains(&parallelism) {
        return error(StatusCode::BAD_REQUEST, &format!("parallelism must be 1 to {MAX_PARALLELISM}"));
    }
    match db::qstash::queues::upsert(&server.0.db, &upsert.queue_name, parallelism, upsert.paused.unwrap_or(false)).await {
        Ok(()) => {
            // A higher parallelism or a resume may let messages through now.
            server.wake_loop(true);
            StatusCode::OK.into_response()
        }
        Err(e) => internal(e, "store a queue"),
    }
}

pub(super) async fn list(State(server): State<DevServer>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(denied) = server.check(&headers, &uri) {
        return denied;
    }
    match db::qstash::queues::list(&server.0.db).await {
        Ok(queues) => Json(queues.iter().map(view).collect::<Vec<_>>()).into_response(),
        Err(e) => internal(e, "list queues"),
    }
}

pub(super) async fn get(State(server): State<DevServer>, Path(name): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(denied) = server.check(&headers, &uri) {
        return denied;
    }
    match db::qstash::queues::find(&server.0.db, &name).await {
        Ok(Some(queue)) => Json(view(&queue)).into_response(),
        Ok(None) => not_found(&name),
        Err(e) => internal(e, "read a queue"),
    }
}

/// Deletes the queue and cancels the messages waiting in it.
pub(super) async fn delete(State(server): State<DevServer>, Path(name): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(denied) = server.check(&headers, &uri) {
        return denied;
    }
    match db::qstash::queues::delete(&server.0.db, &name).await {
        Ok(true) => StatusCode::OK.into_response(),
        Ok(false) => not_found(&name),
        Err(e) => internal(e, "delete a queue"),
    }
}

pub(super) async fn pause(state: State<DevServer>, name: Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    set_paused(state, name, headers, uri, true).await
}

pub(super) async fn resume(state: State<DevServer>, name: Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    set_paused(state, name, headers, uri, false).await
}

async fn set_paused(State(server): State<DevServer>, Path(name): Path<String>, headers: HeaderMap, uri: Uri, paused: bool) -> Response {
    if let Err(denied) = server.check(&headers, &uri) {
        return denied;
    }
    match db::qstash::queues::set_paused(&server.0.db, &name, paused).await {
        Ok(true) => {
            server.wake_loop(true);
            StatusCode::OK.into_response()
        }
        Ok(false) => not_found(&name),
        Err(e) => internal(e, "pause or resume a queue"),
    }
}

fn not_found(name: &str) -> Response {
    error(StatusCode::NOT_FOUND, &format!("queue {name} not found"))
}

/// The fields both SDKs read (the Python one requires every one of them).
fn view(q: &QueueRow) -> Value {
    json!({
        "name": q.name,
        "parallelism": q.parallelism,
        "createdAt": q.created_at,
        "updatedAt": q.updated_at,
        "lag": q.lag,
        "paused": q.paused != 0,
    })
}
