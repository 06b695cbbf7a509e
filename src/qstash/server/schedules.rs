//! Schedules as the SDKs manage them: `POST /v2/schedules/{destination}` with `Upstash-Cron` (and
//! optionally `Upstash-Schedule-Id`, `Upstash-Queue-Name` and any publish option) → `{"scheduleId"}`;
//! `GET /v2/schedules`, `GET/DELETE /v2/schedules/{id}`, `PATCH /v2/schedules/{id}/pause|resume`.
//! The delivery loop fires due ticks (`DevServer::fire_due_schedules`): each makes the messages a
//! publish with the schedule's options would, tagged with its `scheduleId`.

use super::{
    error, internal, listed_headers,
    publish::{check_name, check_queue_name, header_map, raw_destination, read_messages, read_request, Options, Rejected, MAX_BODY_BYTES},
    DevServer,
};
use crate::{
    db::{
        self,
        qstash::schedules::{NewSchedule, ScheduleRow},
    },
    qstash::cron::Cron,
};
use axum::{
    extract::{Path, Request, State},
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
    Json,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::{json, Map, Value};

const PREFIX: &str = "/v2/schedules/";
/// Ticks fired per pass of the delivery loop, at most.
const FIRE_BATCH: i64 = 100;
/// Schedules at most.
const MAX_SCHEDULES: i64 = 1000;
/// Options that belong to the schedule itself, or make no sense once per tick (a fixed time, an id
/// that would deduplicate every tick after the first): not kept for its messages.
const NOT_PER_TICK: [&str; 6] = [
    "upstash-cron",
    "upstash-schedule-id",
    "upstash-queue-name",
    "upstash-deduplication-id",
    "upstash-content-based-deduplication",
    "upstash-not-before",
];

pub(super) async fn create(State(server): State<DevServer>, request: Request) -> Response {
    let (parts, body) = match read_request(&server, request, MAX_BODY_BYTES).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let (destination, query) = raw_destination(parts.uri.path().strip_prefix(PREFIX).unwrap_or_default(), parts.uri.query());
    let options = Options { headers: &parts.headers, query };
    let cron_text = match options.get("upstash-cron") {
        Some(cron) => cron,
        None => return error(StatusCode::BAD_REQUEST, "Upstash-Cron is required"),
    };
    let cron = match Cron::parse(&cron_text) {
        Ok(cron) => cron,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let Some(next_run) = cron.next_after(db::now_ms()) else {
        return error(StatusCode::BAD_REQUEST, &format!("the cron {cron_text:?} names no time in the next five years"));
    };
    if options.get("upstash-not-before").is_some() {
        return error(StatusCode::BAD_REQUEST, "a schedule takes Upstash-Delay, not Upstash-Not-Before");
    }
    let schedule_id = options.get("upstash-schedule-id").unwrap_or_else(|| format!("scd_{}", db::new_id()));
    let queue = options.get("upstash-queue-name");
    let checked = check_name("schedule", &schedule_id).and_then(|()| queue.as_deref().map(check_queue_name).unwrap_or(Ok(())));
    if let Err(message) = checked {
        return error(StatusCode::BAD_REQUEST, &message);
    }
    match db::qstash::schedules::exists_or_room(&server.0.db, &schedule_id, MAX_SCHEDULES).await {
        Ok(true) => {}
        Ok(false) => return error(StatusCode::BAD_REQUEST, &format!("at most {MAX_SCHEDULES} schedules; delete one first")),
        Err(e) => return internal(e, "count schedules"),
    }
    // What each tick will keep of the request: its options, less what belongs to the schedule.
    let kept: Map<String, Value> = options
        .all()
        .into_iter()
        .filter(|(name, _)| (name.starts_with("upstash-") || name == "content-type") && !NOT_PER_TICK.contains(&name.as_str()))
        .map(|(name, value)| (name, Value::String(value)))
        .collect();
    let tick_headers = match header_map(kept.clone()) {
        Ok(headers) => headers,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let mut summary_flow = None;
    // A tick now, as a check: the destination, the options, the URL group.
    let tick = Options { headers: &tick_headers, query: Vec::new() };
    let first = match read_messages(&server, &destination, queue.clone(), &tick, &body).await {
        Ok((messages, _)) => messages.into_iter().next(),
        Err(Rejected(status, message)) => return error(status, &message),
    };
    if let Some(m) = &first {
        if let (Some(key), Some(limits)) = (&m.flow_key, &m.flow_limits) {
            summary_flow = Some(flow_view(key, limits));
        }
    }
    let mut summary = json!({});
    if let Some(flow) = summary_flow {
        merge(&mut summary, flow);
    }
    if let Some(m) = first {
        merge(&mut summary, json!({ "method": m.method, "retries": m.retries, "header": listed_headers(&m.headers_json) }));
        let optional = [
            ("callback", m.callback.as_deref()),
            ("failureCallback", m.failure_callback.as_deref()),
            ("retryDelayExpression", m.retry_delay.as_deref()),
            ("label", m.label.as_deref()),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                summary[name] = json!(value);
            }
        }
        if let Some(ms) = m.timeout_ms {
            summary["timeout"] = json!((ms.max(0) as u64).div_ceil(1000));
        }
        if let Some(delay) = tick.get("upstash-delay").and_then(|raw| crate::duration::parse(&raw)) {
            summary["delay"] = json!(delay.as_secs());
        }
    }
    let caller_ip = super::publish::caller_ip(&parts);
    let schedule = NewSchedule {
        schedule_id: &schedule_id,
        cron: &cron_text,
        destination: &destination,
        queue_name: queue.as_deref(),
        options: &Value::Object(kept).to_string(),
        body: &STANDARD.encode(&body),
        summary: &summary.to_string(),
        next_run: Some(next_run),
        caller_ip: caller_ip.as_deref(),
    };
    match db::qstash::schedules::upsert(&server.0.db, &schedule).await {
        Ok(()) => Json(json!({ "scheduleId": schedule_id })).into_response(),
        Err(e) => internal(e, "store a schedule"),
    }
}

pub(super) async fn list(State(server): State<DevServer>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(denied) = server.check(&headers, &uri) {
        return denied;
    }
    let rows = match db::qstash::schedules::list(&server.0.db).await {
        Ok(rows) => rows,
        Err(e) => return internal(e, "list schedules"),
    };
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        match view(&server, row).await {
            Ok(view) => out.push(view),
            Err(e) => return internal(e, "read a schedule's last messages"),
        }
    }
    Json(out).into_response()
}

/// `GET /v2/schedules/{id}`.
pub(super) async fn get(State(server): State<DevServer>, Path(id): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(denied) = server.check(&headers, &uri) {
        return denied;
    }
    if id.contains('/') {
        return super::not_found().await;
    }
    match db::qstash::schedules::find(&server.0.db, &id).await {
        Ok(Some(row)) => match view(&server, &row).await {
            Ok(view) => Json(view).into_response(),
            Err(e) => internal(e, "read a schedule's last messages"),
        },
        Ok(None) => not_found(&id),
        Err(e) => internal(e, "read a schedule"),
    }
}

/// `DELETE /v2/schedules/{id}`.
pub(super) async fn delete(State(server): State<DevServer>, Path(id): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(denied) = server.check(&headers, &uri) {
        return denied;
    }
    if id.contains('/') {
        return super::not_found().await;
    }
    match db::qstash::schedules::delete(&server.0.db, &id).await {
        Ok(true) => StatusCode::OK.into_response(),
        Ok(false) => not_found(&id),
        Err(e) => internal(e, "delete a schedule"),
    }
}

/// `PATCH /v2/schedules/{id}/pause` and `…/resume` (the route catches every path under
/// `/v2/schedules/`, since a new schedule's destination is a URL with slashes).
pub(super) async fn patch(state: State<DevServer>, Path(rest): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    match rest.split_once('/') {
        Some((id, "pause")) => set_paused(state, Path(id.to_string()), headers, uri, true).await,
        Some((id, "resume")) => set_paused(state, Path(id.to_string()), headers, uri, false).await,
        _ => super::not_found().await,
    }
}

async fn set_paused(State(server): State<DevServer>, Path(id): Path<String>, headers: HeaderMap, uri: Uri, paused: bool) -> Response {
    if let Err(denied) = server.check(&headers, &uri) {
        return denied;
    }
    let next_run = match db::qstash::schedules::find(&server.0.db, &id).await {
        Ok(Some(row)) => Cron::parse(&row.cron).ok().and_then(|cron| cron.next_after(db::now_ms())),
        Ok(None) => return not_found(&id),
        Err(e) => return internal(e, "read a schedule"),
    };
    match db::qstash::schedules::set_paused(&server.0.db, &id, paused, next_run).await {
        Ok(true) => StatusCode::OK.into_response(),
        Ok(false) => not_found(&id),
        Err(e) => internal(e, "pause or resume a schedule"),
    }
}

fn not_found(id: &str) -> Response {
    error(StatusCode::NOT_FOUND, &format!("schedule {id} not found"))
}

/// The fields both SDKs read (the Python one requires `scheduleId`, `destination`, `cron`,
/// `createdAt`, `method` and `retries`).
async fn view(server: &DevServer, row: &ScheduleRow) -> sqlx::Result<Value> {
    let mut out: Value = serde_json::from_str(&row.summary).unwrap_or_else(|_| json!({}));
    out["scheduleId"] = json!(row.schedule_id);
    out["cron"] = json!(row.cron);
    out["createdAt"] = json!(row.created_at);
    out["destination"] = json!(row.destination);
    out["isPaused"] = json!(row.paused != 0);
    if out.get("method").is_none() {
        out["method"] = json!("POST");
    }
    if out.get("retries").is_none() {
        out["retries"] = json!(super::publish::DEFAULT_RETRIES);
    }
    let bytes = STANDARD.decode(&row.body).unwrap_or_default();
    match String::from_utf8(bytes) {
        Ok(text) => out["body"] = json!(text),
        Err(_) => out["bodyBase64"] = json!(row.body),
    }
    let optional = [("queueName", row.queue_name.as_deref()), ("callerIP", row.caller_ip.as_deref()), ("error", row.error.as_deref())];
    for (name, value) in optional {
        if let Some(value) = value {
            out[name] = json!(value);
        }
    }
    if let Some(at) = row.last_run {
        out["lastScheduleTime"] = json!(at);
    }
    if let (Some(at), false) = (row.next_run, row.paused != 0) {
        out["nextScheduleTime"] = json!(at);
    }
    if let Some(ids) = row.last_messages.as_deref().and_then(|ids| serde_json::from_str::<Vec<String>>(ids).ok()) {
        let states = db::qstash::schedules::message_states(&server.0.db, &ids).await?;
        out["lastScheduleStates"] = Value::Object(states.into_iter().map(|(id, state)| (id, json!(state))).collect());
    }
    Ok(out)
}

impl DevServer {
    /// Publishes the ticks that are due, each once (a tick missed while the server was down is
    /// published once, then the schedule goes on from now).
    pub(super) async fn fire_due_schedules(&self) {
        let now = db::now_ms();
        let due = match db::qstash::schedules::due(&self.0.db, now, FIRE_BATCH).await {
            Ok(due) => due,
            Err(e) => return tracing::error!(error = %e, "qstash-dev: failed to read due schedules"),
        };
        let mut fired = false;
        for row in due {
            let Some(due_at) = row.next_run else { continue };
            let next_run = Cron::parse(&row.cron).ok().and_then(|cron| cron.next_after(now));
            let kept: Map<String, Value> = serde_json::from_str(&row.options).unwrap_or_default();
            let headers = match header_map(kept) {
                Ok(headers) => headers,
                Err(message) => {
                    // Never published with options it did not ask for.
                    let skipped = db::qstash::schedules::skip(&self.0.db, &row.schedule_id, due_at, next_run, &message).await;
                    if let Err(e) = skipped {
                        tracing::error!(error = %e, "qstash-dev: failed to record a schedule's error");
                    }
                    continue;
                }
            };
            let options = Options { headers: &headers, query: Vec::new() };
            let body = STANDARD.decode(&row.body).unwrap_or_default();
            let result = match read_messages(self, &row.destination, row.queue_name.clone(), &options, &body).await {
                Ok((messages, _)) => {
                    let new: Vec<_> = messages
                        .iter()
                        .map(|m| {
                            let mut new = m.new_message(row.caller_ip.as_deref());
                            new.schedule_id = Some(&row.schedule_id);
                            new
                        })
                        .collect();
                    let window = self.0.config.dedup_window.as_millis() as i64;
                    let published = db::qstash::schedules::fire(&self.0.db, &row.schedule_id, due_at, next_run, &new, window).await;
                    fired |= matches!(published, Ok(true));
                    published.map(|_| ())
                }
                // A database error: the tick stays due and is tried on the next pass.
                Err(Rejected(StatusCode::INTERNAL_SERVER_ERROR, _)) => Ok(()),
                Err(Rejected(_, message)) => {
                    tracing::warn!(schedule_id = %row.schedule_id, message, "qstash-dev: a schedule's tick could not be published");
                    db::qstash::schedules::skip(&self.0.db, &row.schedule_id, due_at, next_run, &message).await
                }
            };
            if let Err(e) = result {
                tracing::error!(error = %e, schedule_id = %row.schedule_id, "qstash-dev: failed to fire a schedule; it is tried again");
            }
        }
        if fired {
            self.wake_loop(true);
        }
    }
}

/// Flow control as the SDKs read it: `flowControlKey`, `parallelism`, `rate`, `period` (seconds).
pub(super) fn flow_view(key: &str, limits: &crate::db::qstash::flow_control::FlowLimits) -> Value {
    let mut out = json!({ "flowControlKey": key, "period": limits.period_ms / 1000 });
    if let Some(parallelism) = limits.parallelism {
        out["parallelism"] = json!(parallelism);
    }
    if let Some(rate) = limits.rate {
        out["rate"] = json!(rate);
    }
    out
}

fn merge(into: &mut Value, from: Value) {
    if let (Some(into), Value::Object(from)) = (into.as_object_mut(), from) {
        into.extend(from);
    }
}
