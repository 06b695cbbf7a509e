//! Everything that stores messages: `POST /v2/publish/{destination}`, `POST
//! /v2/enqueue/{queue}/{destination}` and `POST /v2/batch` (schedules reuse `read_messages` for each
//! tick). A publish is read as the official SDKs send it (the destination raw in the path, a URL or a
//! URL group's name; options in `Upstash-*` headers or their lower-case query forms, flow control
//! included), every URL it will ever call is checked, and the messages are stored together. 200 with
//! the id (one per endpoint for a group), or 202 with the earlier id when it is a duplicate (by
//! `Upstash-Deduplication-Id`, or by content with `Upstash-Content-Based-Deduplication`).

use super::{error, internal, DevServer};
use crate::{
    db::{
        self,
        qstash::{flow_control::FlowLimits, NewMessage},
    },
    qstash::retry_delay::RetryDelay,
};
use axum::{
    body::Bytes,
    extract::{ConnectInfo, Request, State},
    http::{request::Parts, HeaderMap, HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;

pub(super) const MAX_BODY_BYTES: usize = 1024 * 1024;
/// QStash's default when `Upstash-Retries` is absent.
pub(super) const DEFAULT_RETRIES: i64 = 3;
const MAX_RETRIES: i64 = 100;
/// Forwarded headers at most per message (and per callback).
const MAX_FORWARDED: usize = 64;
/// Headers that would change where or how a delivery travels (a `Host` a proxy routes by, framing),
/// or carry a credential: never forwarded.
const NOT_FORWARDED: [&str; 10] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "te",
    "upgrade",
    "keep-alive",
    "authorization",
    "forwarded",
    "proxy-authorization",
];
const PUBLISH_PREFIX: &str = "/v2/publish/";
const ENQUEUE_PREFIX: &str = "/v2/enqueue/";
/// A delay (or not-before time) at most this far ahead.
const MAX_DELAY_MS: i64 = 366 * 86_400_000;
/// Messages one request may store (a batch, a publish to a URL group), and their bodies' bytes.
const MAX_MESSAGES_PER_REQUEST: usize = 1000;
const MAX_BYTES_PER_REQUEST: usize = 64 * 1024 * 1024;
/// Queues at most (one is made by enqueueing to a new name).
pub(super) const MAX_QUEUES: i64 = 1000;
/// A batch: messages and bytes at most.
const MAX_BATCH: usize = 1000;
const MAX_BATCH_BYTES: usize = 10 * 1024 * 1024;
/// Flow control limits, at most.
const MAX_FLOW_PARALLELISM: i64 = 1000;
const MAX_FLOW_RATE: i64 = 100_000;
/// Queue names, at most.
const MAX_NAME_LEN: usize = 200;

/// How a callback (or failure callback) is itself delivered: `Upstash-Callback-Retries`, `-Delay`,
/// `-Method`, `-Timeout` and `-Forward-*` (and the same after `Upstash-Failure-Callback-`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CallbackOptions {
    pub retries: Option<i64>,
    /// Milliseconds before the callback is delivered.
    pub delay_ms: Option<i64>,
    pub method: Option<String>,
    pub timeout_ms: Option<i64>,
    #[serde(default)]
    pub forward: Map<String, Value>,
}

/// `POST /v2/publish/{destination}`.
pub(super) async fn publish(State(server): State<DevServer>, request: Request) -> Response {
    let (parts, body) = match read_request(&server, request, MAX_BODY_BYTES).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let (destination, query) = raw_destination(parts.uri.path().strip_prefix(PUBLISH_PREFIX).unwrap_or_default(), parts.uri.query());
    let options = Options { headers: &parts.headers, query };
    store_one(&server, &parts, &destination, None, &options, &body).await
}

/// `POST /v2/enqueue/{queue}/{destination}`: a publish into a queue (created if it does not exist).
pub(super) async fn enqueue(State(server): State<DevServer>, request: Request) -> Response {
    let (parts, body) = match read_request(&server, request, MAX_BODY_BYTES).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let rest = parts.uri.path().strip_prefix(ENQUEUE_PREFIX).unwrap_or_default();
    let (queue, destination) = rest.split_once('/').unwrap_or((rest, ""));
    let queue = super::percent_decode(queue);
    if let Err(message) = check_queue_name(&queue) {
        return error(StatusCode::BAD_REQUEST, &message);
    }
    let (destination, query) = raw_destination(destination, parts.uri.query());
    let options = Options { headers: &parts.headers, query };
    store_one(&server, &parts, &destination, Some(queue), &options, &body).await
}

/// One message of `POST /v2/batch`, as the SDKs send it (the Python SDK sends `null` for what it
/// does not set).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchEntry {
    destination: Option<String>,
    #[serde(default)]
    headers: Option<Map<String, Value>>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    queue: Option<String>,
}

/// `POST /v2/batch`: several publishes (or enqueues) in one request, each with its own `Upstash-*`
/// headers; all are checked before any is stored, and all are stored together or none is.
pub(super) async fn batch(State(server): State<DevServer>, request: Request) -> Response {
    let (parts, body) = match read_request(&server, request, MAX_BATCH_BYTES).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let entries: Vec<BatchEntry> = match serde_json::from_slice(&body) {
        Ok(entries) => entries,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("the batch must be a JSON array of messages: {e}")),
    };
    if entries.is_empty() || entries.len() > MAX_BATCH {
        return error(StatusCode::BAD_REQUEST, &format!("a batch holds 1 to {MAX_BATCH} messages"));
    }
    // Each entry's messages (one, or one per endpoint of a URL group) and whether it went to a group.
    let mut entries_read: Vec<(Vec<Publish>, bool)> = Vec::with_capacity(entries.len());
    let mut size = RequestSize::default();
    for (i, entry) in entries.into_iter().enumerate() {
        let read = async {
            let headers = header_map(entry.headers.unwrap_or_default()).map_err(bad_request)?;
            let body = entry.body.unwrap_or_default().into_bytes();
            if body.len() > MAX_BODY_BYTES {
                return Err(bad_request("message body exceeds 1 MB".into()));
            }
            let queue = entry.queue.filter(|q| !q.is_empty());
            if let Some(queue) = &queue {
                check_queue_name(queue).map_err(bad_request)?;
            }
            let options = Options { headers: &headers, query: Vec::new() };
            read_messages(&server, entry.destination.as_deref().unwrap_or_default(), queue, &options, &body).await
        };
        match read.await {
            Ok(read) => {
                // Refused as soon as it is too much, not once all of it is built.
                if let Err(message) = size.add(&read.0) {
                    return error(StatusCode::BAD_REQUEST, &message);
                }
                entries_read.push(read);
            }
            Err(Rejected(status, message)) => return error(status, &format!("message {i}: {message}")),
        }
    }
    let caller_ip = caller_ip(&parts);
    let new: Vec<NewMessage<'_>> =
        entries_read.iter().flat_map(|(messages, _)| messages.iter().map(|m| m.new_message(caller_ip.as_deref()))).collect();
    match db::qstash::publish_all(&server.0.db, &new, server.0.config.dedup_window.as_millis() as i64).await {
        Ok(published) => {
            server.wake_loop(new.iter().any(|m| m.queue_name.is_some() || m.flow_key.is_some()));
            let mut published = published.into_iter();
            let answers: Vec<Value> = entries_read
                .iter()
                .map(|(messages, to_group)| {
                    let answers: Vec<Value> = messages.iter().zip(published.by_ref()).map(|(m, p)| answer(&p, m).1).collect();
                    if *to_group {
                        Value::Array(answers)
                    } else {
                        answers.into_iter().next().unwrap_or(Value::Null)
                    }
                })
                .collect();
            Json(Value::Array(answers)).into_response()
        }
        Err(e) => internal(e, "store a batch"),
    }
}

/// What one request stores so far: a URL group multiplies a message, a batch multiplies that.
#[derive(Default)]
struct RequestSize {
    count: usize,
    bytes: usize,
}

impl RequestSize {
    /// Counts `messages` in; an error once the request would store too much.
    fn add(&mut self, messages: &[Publish]) -> Result<(), String> {
        self.count += messages.len();
        self.bytes += messages.iter().map(|m| m.body_base64.len()).sum::<usize>();
        if self.count > MAX_MESSAGES_PER_REQUEST || self.bytes > MAX_BYTES_PER_REQUEST {
            return Err(format!(
                "this would store {} messages ({} MB); one request stores at most {MAX_MESSAGES_PER_REQUEST} and {} MB",
                self.count,
                self.bytes / (1024 * 1024),
                MAX_BYTES_PER_REQUEST / (1024 * 1024)
            ));
        }
        Ok(())
    }
}

/// Why a publish is refused: its status and a sentence.
pub(super) struct Rejected(pub StatusCode, pub String);

fn bad_request(message: String) -> Rejected {
    Rejected(StatusCode::BAD_REQUEST, message)
}

/// Logged; the caller only learns that it failed (and a schedule's tick is tried again).
fn database_error(e: sqlx::Error) -> Rejected {
    tracing::error!(error = %e, "qstash-dev: a database read failed while reading a publish");
    Rejected(StatusCode::INTERNAL_SERVER_ERROR, "internal error".into())
}

/// The messages a publish makes: one for a URL, one per endpoint for a URL group (each keeps the
/// group and the endpoint's name; a deduplication id applies per endpoint). The bool says whether
/// it went to a group.
pub(super) async fn read_messages(
    server: &DevServer,
    destination: &str,
    queue: Option<String>,
    options: &Options<'_>,
    body: &[u8],
) -> Result<(Vec<Publish>, bool), Rejected> {
    if let Some(queue) = &queue {
        match db::qstash::queues::exists_or_room(&server.0.db, queue, MAX_QUEUES).await {
            Ok(true) => {}
            Ok(false) => return Err(bad_request(format!("at most {MAX_QUEUES} queues; delete one first"))),
            Err(e) => return Err(database_error(e)),
        }
    }
    if is_url(destination) {
        let message = read_publish(server, destination.to_string(), queue, options, body).map_err(bad_request)?;
        return Ok((vec![message], false));
    }
    if check_name("URL group", destination).is_err() {
        return Err(bad_request("destination must be an http(s) URL or the name of a URL group".into()));
    }
    let group = match db::qstash::url_groups::find(&server.0.db, destination).await {
        Ok(Some(group)) => group,
        Ok(None) => return Err(Rejected(StatusCode::NOT_FOUND, format!("URL group {destination} not found"))),
        Err(e) => return Err(database_error(e)),
    };
    // Bounded before anything is built: each endpoint gets its own copy of the body.
    let fanned_bytes = group.endpoints.len().saturating_mul(body.len().div_ceil(3) * 4);
    if group.endpoints.len() > MAX_MESSAGES_PER_REQUEST || fanned_bytes > MAX_BYTES_PER_REQUEST {
        return Err(bad_request(format!(
            "this would store {} copies of a {} KB body; one request stores at most {} MB",
            group.endpoints.len(),
            body.len() / 1024,
            MAX_BYTES_PER_REQUEST / (1024 * 1024)
        )));
    }
    let mut messages = Vec::with_capacity(group.endpoints.len());
    for endpoint in group.endpoints {
        let mut message = read_publish(server, endpoint.url.clone(), queue.clone(), options, body).map_err(bad_request)?;
        message.dedup_id = message.dedup_id.map(|id| format!("{id}\n{}", endpoint.url));
        message.topic_name = Some(group.name.clone());
        message.endpoint_name = endpoint.endpoint_name;
        messages.push(message);
    }
    Ok((messages, true))
}

/// The request's parts and body (at most `max` bytes), once the caller is let in.
pub(super) async fn read_request(server: &DevServer, request: Request, max: usize) -> Result<(Parts, Bytes), Response> {
    let (parts, body) = request.into_parts();
    server.check(&parts.headers, &parts.uri)?;
    match axum::body::to_bytes(body, max).await {
        Ok(body) => Ok((parts, body)),
        Err(_) => Err(error(StatusCode::PAYLOAD_TOO_LARGE, &format!("the body exceeds {} MB", max / (1024 * 1024)))),
    }
}

pub(super) fn caller_ip(parts: &Parts) -> Option<String> {
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip().to_string())
}

/// Reads, checks and stores one publish or enqueue: 200 with its id, 202 with the earlier id when
/// it is a duplicate; to a URL group, 200 with one answer per endpoint (202 when all are duplicates).
async fn store_one(
    server: &DevServer,
    parts: &Parts,
    destination: &str,
    queue: Option<String>,
    options: &Options<'_>,
    body: &[u8],
) -> Response {
    let (messages, to_group) = match read_messages(server, destination, queue, options, body).await {
        Ok(read) => read,
        Err(Rejected(status, message)) => return error(status, &message),
    };
    if let Err(message) = RequestSize::default().add(&messages) {
        return error(StatusCode::BAD_REQUEST, &message);
    }
    let caller_ip = caller_ip(parts);
    let new: Vec<NewMessage<'_>> = messages.iter().map(|m| m.new_message(caller_ip.as_deref())).collect();
    let published = db::qstash::publish_all(&server.0.db, &new, server.0.config.dedup_window.as_millis() as i64).await;
    match published {
        Ok(published) => {
            if published.iter().any(|p| matches!(p, db::qstash::Published::Created(_))) {
                server.wake_loop(new.iter().any(|m| m.queue_name.is_some() || m.flow_key.is_some()));
            }
            let answers: Vec<(StatusCode, Value)> = published.iter().zip(&messages).map(|(p, m)| answer(p, m)).collect();
            let all_duplicates = answers.iter().all(|(status, _)| *status == StatusCode::ACCEPTED);
            let status = if all_duplicates { StatusCode::ACCEPTED } else { StatusCode::OK };
            let mut bodies: Vec<Value> = answers.into_iter().map(|(_, body)| body).collect();
            if to_group {
                (status, Json(Value::Array(bodies))).into_response()
            } else {
                (status, Json(bodies.remove(0))).into_response()
            }
        }
        Err(e) => internal(e, "store a message"),
    }
}

/// What QStash answers for a stored message: its id and URL, and `deduplicated` (202) when an
/// earlier one stands for it.
fn answer(published: &db::qstash::Published, message: &Publish) -> (StatusCode, Value) {
    match published {
        db::qstash::Published::Created(id) => (StatusCode::OK, json!({ "messageId": id, "url": message.destination })),
        db::qstash::Published::Deduplicated(id) => {
            (StatusCode::ACCEPTED, json!({ "messageId": id, "url": message.destination, "deduplicated": true }))
        }
    }
}

/// A batch message's `headers` object as a header map (values may be strings, numbers or booleans,
/// as a JSON encoder writes them).
pub(super) fn header_map(headers: Map<String, Value>) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let value = match value {
            Value::String(text) => text,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => continue,
            _ => return Err(format!("header {name} must be a string")),
        };
        let name = HeaderName::try_from(name.as_str()).map_err(|_| format!("invalid header name {name}"))?;
        let value = HeaderValue::try_from(value).map_err(|_| format!("invalid value of header {name}"))?;
        map.append(name, value);
    }
    Ok(map)
}

/// QStash's rule for queue names: letters, digits, `-`, `_` and `.`.
pub(super) fn check_queue_name(name: &str) -> Result<(), String> {
    check_name("queue", name)
}

/// The rule for names of queues and URL groups (and schedule ids): letters, digits, `-`, `_`, `.`.
pub(super) fn check_name(kind: &str, name: &str) -> Result<(), String> {
    let valid =
        !name.is_empty() && name.len() <= MAX_NAME_LEN && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err(format!("a {kind} name is 1 to {MAX_NAME_LEN} letters, digits, '-', '_' or '.'"))
    }
}

/// A publish, read and checked.
#[derive(Debug, PartialEq)]
pub(super) struct Publish {
    pub destination: String,
    pub method: String,
    pub retries: i64,
    pub not_before: i64,
    pub retry_delay: Option<String>,
    pub timeout_ms: Option<i64>,
    pub callback: Option<String>,
    pub failure_callback: Option<String>,
    pub dedup_id: Option<String>,
    pub label: Option<String>,
    pub queue: Option<String>,
    pub topic_name: Option<String>,
    pub endpoint_name: Option<String>,
    pub flow_key: Option<String>,
    pub flow_limits: Option<FlowLimits>,
    /// What is stored: the body's bytes in base64, the headers sent with every delivery
    /// (`Upstash-Forward-*` without the prefix, and the content type) and the callbacks' options, as JSON.
    pub body_base64: String,
    pub headers_json: String,
    pub callback_options_json: Option<String>,
    pub failure_callback_options_json: Option<String>,
}

impl Publish {
    pub(super) fn new_message<'a>(&'a self, caller_ip: Option<&'a str>) -> NewMessage<'a> {
        NewMessage {
            destination: &self.destination,
            method: &self.method,
            body_base64: &self.body_base64,
            headers_json: &self.headers_json,
            retries: self.retries,
            not_before: self.not_before,
            callback: self.callback.as_deref(),
            failure_callback: self.failure_callback.as_deref(),
            dedup_id: self.dedup_id.as_deref(),
            caller_ip,
            retry_delay: self.retry_delay.as_deref(),
            timeout_ms: self.timeout_ms,
            label: self.label.as_deref(),
            callback_options: self.callback_options_json.as_deref(),
            failure_callback_options: self.failure_callback_options_json.as_deref(),
            queue_name: self.queue.as_deref(),
            topic_name: self.topic_name.as_deref(),
            endpoint_name: self.endpoint_name.as_deref(),
            schedule_id: None,
            flow_key: self.flow_key.as_deref(),
            flow_limits: self.flow_limits.as_ref(),
        }
    }
}

/// An `Upstash-*` option from its header or, as QStash also accepts, its lower-case query form
/// (`?upstash-delay=10s`).
pub(super) struct Options<'a> {
    pub headers: &'a HeaderMap,
    pub query: Vec<(String, String)>,
}

impl Options<'_> {
    /// Every option given, by lower-case name (a header wins over the query form of its name).
    pub fn all(&self) -> Vec<(String, String)> {
        let headers = self.headers.iter().filter_map(|(name, value)| Some((name.as_str().to_string(), value.to_str().ok()?.to_string())));
        let query = self.query.iter().map(|(name, value)| (name.to_ascii_lowercase(), value.clone()));
        let mut seen = std::collections::HashSet::new();
        headers.chain(query).filter(|(name, _)| seen.insert(name.clone())).collect()
    }

    pub fn get(&self, name: &str) -> Option<String> {
        let from_header = self.headers.get(name).and_then(|v| v.to_str().ok()).map(|v| v.trim().to_string());
        from_header
            .or_else(|| self.query.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_string()))
            .filter(|v| !v.is_empty())
    }

    /// Every option whose name starts with `prefix` (lower case), as (rest of the name, value), each
    /// name once (the header's value wins over the query's).
    fn with_prefix(&self, prefix: &str) -> Vec<(String, String)> {
        let headers = self.headers.iter().filter_map(|(name, value)| {
            let rest = name.as_str().strip_prefix(prefix)?;
            Some((rest.to_string(), value.to_str().ok()?.to_string()))
        });
        let query = self.query.iter().filter_map(|(name, value)| {
            let lower = name.to_ascii_lowercase();
            let rest = lower.strip_prefix(prefix)?;
            Some((rest.to_string(), value.clone()))
        });
        let mut seen = std::collections::HashSet::new();
        headers.chain(query).filter(|(name, _)| seen.insert(name.to_ascii_lowercase())).collect()
    }
}

fn read_publish(
    server: &DevServer,
    destination: String,
    queue: Option<String>,
    options: &Options<'_>,
    body: &[u8],
) -> Result<Publish, String> {
    if !server.0.destinations.allows(&destination) {
        return Err("the embedded QStash server only delivers to this app".into());
    }
    let now = db::now_ms();
    // `Upstash-Not-Before` (unix seconds) wins over `Upstash-Delay`.
    let not_before = match (options.get("upstash-not-before"), options.get("upstash-delay")) {
        (Some(raw), _) => {
            raw.parse::<i64>().ok().filter(|s| *s >= 0).and_then(|secs| secs.checked_mul(1000)).ok_or("invalid Upstash-Not-Before")?
        }
        (None, Some(raw)) => duration_ms(&raw).and_then(|ms| now.checked_add(ms)).ok_or("invalid Upstash-Delay")?,
        (None, None) => now,
    };
    // A message due more than a year ahead is a mistake, and one that retention could never prune.
    if not_before > now.saturating_add(MAX_DELAY_MS) {
        return Err("a message can be delayed by a year at most".into());
    }
    let retries = options.get("upstash-retries").map(|raw| parse_retries(&raw, "Upstash-Retries")).transpose()?.unwrap_or(DEFAULT_RETRIES);
    let retry_delay = options.get("upstash-retry-delay");
    if let Some(expr) = &retry_delay {
        RetryDelay::parse(expr)?;
    }
    // Never longer than the server's own delivery timeout, which the delivery lease is built on.
    let server_max = server.0.config.delivery_timeout.as_millis() as i64;
    let timeout_ms = options
        .get("upstash-timeout")
        .map(|raw| duration_ms(&raw).filter(|ms| *ms > 0).map(|ms| ms.min(server_max)).ok_or("invalid Upstash-Timeout"))
        .transpose()?;
    let method = method(options.get("upstash-method"))?;
    let mut forward = forwarded(options.with_prefix("upstash-forward-"))?;
    if let Some(content_type) = options.get("content-type") {
        forward.insert("content-type".into(), json!(content_type));
    }
    // Callbacks are deliveries too: the same rule, or anyone with the public dev token could make
    // this server POST to any host.
    let callback = options.get("upstash-callback");
    let failure_callback = options.get("upstash-failure-callback");
    for url in [&callback, &failure_callback].into_iter().flatten() {
        if !server.0.destinations.allows(url) {
            return Err("the embedded QStash server only calls back to this app".into());
        }
    }
    let callback_options = callback.as_ref().map(|_| read_callback_options(options, "upstash-callback-")).transpose()?;
    let failure_callback_options =
        failure_callback.as_ref().map(|_| read_callback_options(options, "upstash-failure-callback-")).transpose()?;
    let content_based = options.get("upstash-content-based-deduplication").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let dedup_id = match options.get("upstash-deduplication-id") {
        Some(id) => Some(id),
        None if content_based => Some(content_hash(&destination, &method, &forward, body)),
        None => None,
    };
    let label = options.get("upstash-label");
    let (flow_key, flow_limits) = flow_control(options.get("upstash-flow-control-key"), options.get("upstash-flow-control-value"))?.unzip();
    let json_of = |o: &Option<CallbackOptions>| o.as_ref().map(|o| serde_json::to_string(o).unwrap_or_default());
    Ok(Publish {
        body_base64: STANDARD.encode(body),
        headers_json: Value::Object(forward).to_string(),
        callback_options_json: json_of(&callback_options),
        failure_callback_options_json: json_of(&failure_callback_options),
        queue,
        topic_name: None,
        endpoint_name: None,
        flow_key,
        flow_limits,
        destination,
        method,
        retries,
        not_before,
        retry_delay,
        timeout_ms,
        callback,
        failure_callback,
        dedup_id,
        label,
    })
}

/// The destination as the SDKs send it: raw after `/v2/publish/` (`rest`, a URL or a URL group's
/// name), with the request's query (less `qstash_token` and the `upstash-*` options) as its own.
/// Also returns the query's option pairs.
pub(super) fn raw_destination(rest: &str, query: Option<&str>) -> (String, Vec<(String, String)>) {
    let mut pairs = Vec::new();
    let mut own = Vec::new();
    for pair in query.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let lower = name.to_ascii_lowercase();
        if lower == "qstash_token" {
            continue;
        }
        if lower.starts_with("upstash-") {
            pairs.push((lower, super::percent_decode(value)));
        } else {
            own.push(pair);
        }
    }
    let mut destination = rest.to_string();
    if !own.is_empty() {
        destination = format!("{destination}?{}", own.join("&"));
    }
    (destination, pairs)
}

/// An http(s) URL, with no control characters (PostgreSQL's TEXT refuses a NUL, which would make
/// the message impossible to store).
pub(super) fn is_url(destination: &str) -> bool {
    (destination.starts_with("http://") || destination.starts_with("https://"))
        && !destination.chars().any(char::is_control)
        && reqwest::Url::parse(destination).is_ok()
}

/// A retry count (`Upstash-Retries`, a callback's, a DLQ retry's): 0–100.
pub(super) fn parse_retries(raw: &str, name: &str) -> Result<i64, String> {
    raw.trim().parse::<i64>().ok().filter(|n| (0..=MAX_RETRIES).contains(n)).ok_or(format!("invalid {name}"))
}

/// A Go-style duration (`10s`, `1h30m`, `2d`) in milliseconds, within i64.
fn duration_ms(raw: &str) -> Option<i64> {
    crate::duration::parse(raw).and_then(|d| i64::try_from(d.as_millis()).ok())
}

fn method(raw: Option<String>) -> Result<String, String> {
    let method = raw.unwrap_or_else(|| "POST".into()).to_ascii_uppercase();
    match method.as_str() {
        "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS" => Ok(method),
        _ => Err("invalid Upstash-Method".into()),
    }
}

fn read_callback_options(options: &Options<'_>, prefix: &str) -> Result<CallbackOptions, String> {
    let get = |name: &str| options.get(&format!("{prefix}{name}"));
    let retries = get("retries").map(|raw| parse_retries(&raw, &format!("{prefix}retries"))).transpose()?;
    let delay_ms = get("delay").map(|raw| duration_ms(&raw).ok_or(format!("invalid {prefix}delay"))).transpose()?;
    let timeout_ms =
        get("timeout").map(|raw| duration_ms(&raw).filter(|ms| *ms > 0).ok_or(format!("invalid {prefix}timeout"))).transpose()?;
    // A callback is delivered when it is due, like any message; a delay past a year is a mistake.
    if delay_ms.is_some_and(|ms| ms > 365 * 86_400_000) {
        return Err(format!("invalid {prefix}delay"));
    }
    let method = get("method").map(|m| method(Some(m))).transpose()?;
    let forward = forwarded(options.with_prefix(&format!("{prefix}forward-")))?;
    Ok(CallbackOptions { retries, delay_ms, method, timeout_ms, forward })
}

/// `Upstash-Flow-Control-Key` with its `-Value` (`parallelism=3, rate=5, period=1m`; a period in
/// whole seconds or as a duration, at most a week, 1 s if not given).
fn flow_control(key: Option<String>, value: Option<String>) -> Result<Option<(String, FlowLimits)>, String> {
    let (key, value) = match (key, value) {
        (None, None) => return Ok(None),
        (Some(key), Some(value)) => (key, value),
        _ => return Err("Upstash-Flow-Control-Key and Upstash-Flow-Control-Value go together".into()),
    };
    if key.len() > MAX_NAME_LEN || key.chars().any(char::is_control) {
        return Err("invalid Upstash-Flow-Control-Key".into());
    }
    let mut limits = FlowLimits { parallelism: None, rate: None, period_ms: 1000 };
    let invalid = || "invalid Upstash-Flow-Control-Value: expected parallelism=N, rate=N, period=D".to_string();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, raw) = part.split_once('=').ok_or_else(invalid)?;
        let number = |max: i64| raw.trim().parse::<i64>().ok().filter(|n| (1..=max).contains(n)).ok_or_else(invalid);
        match name.trim().to_ascii_lowercase().as_str() {
            "parallelism" => limits.parallelism = Some(number(MAX_FLOW_PARALLELISM)?),
            "rate" => limits.rate = Some(number(MAX_FLOW_RATE)?),
            "period" => {
                let raw = raw.trim();
                let ms = match raw.parse::<i64>() {
                    Ok(secs) => secs.checked_mul(1000),
                    Err(_) => duration_ms(raw),
                };
                limits.period_ms = ms.filter(|ms| (1..=7 * 86_400_000).contains(ms)).ok_or_else(invalid)?;
            }
            _ => return Err(invalid()),
        }
    }
    if limits.parallelism.is_none() && limits.rate.is_none() {
        return Err("Upstash-Flow-Control-Value needs a parallelism or a rate".into());
    }
    Ok(Some((key, limits)))
}

/// The headers a delivery forwards, checked.
fn forwarded(pairs: Vec<(String, String)>) -> Result<Map<String, Value>, String> {
    if pairs.len() > MAX_FORWARDED {
        return Err(format!("at most {MAX_FORWARDED} headers can be forwarded"));
    }
    let mut forward = Map::new();
    for (name, value) in pairs {
        let lower = name.to_ascii_lowercase();
        if NOT_FORWARDED.contains(&lower.as_str()) || lower.starts_with("x-forwarded-") || lower.starts_with("proxy-") {
            return Err(format!("the {name} header cannot be forwarded"));
        }
        forward.insert(lower, json!(value));
    }
    Ok(forward)
}

/// QStash's content-based deduplication id: the same destination, method, headers and body.
fn content_hash(destination: &str, method: &str, forward: &Map<String, Value>, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    for part in [destination.as_bytes(), method.as_bytes(), Value::Object(forward.clone()).to_string().as_bytes(), body] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    let digest = hasher.finalize();
    format!("content:{}", digest.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_destination_is_the_raw_rest_of_the_path_with_its_query() {
        let (d, q) = raw_destination("https://example.com/a%20b", Some("x=1&qstash_token=t&upstash-delay=10s&y=2"));
        assert_eq!(d, "https://example.com/a%20b?x=1&y=2");
        assert_eq!(q, vec![("upstash-delay".to_string(), "10s".to_string())]);
        assert_eq!(raw_destination("http://localhost:3000//x", None).0, "http://localhost:3000//x");
        assert!(is_url("http://localhost:3000//x") && !is_url("my-url-group") && !is_url("http://"));
    }

    #[test]
    fn content_hashes_differ_by_content() {
        let none = Map::new();
        let a = content_hash("https://a/x", "POST", &none, b"1");
        assert_eq!(a, content_hash("https://a/x", "POST", &none, b"1"));
        assert_ne!(a, content_hash("https://a/x", "POST", &none, b"2"));
        assert_ne!(a, content_hash("https://a/x", "PUT", &none, b"1"));
        assert_ne!(content_hash("ab", "", &none, b""), content_hash("a", "b", &none, b""));
    }

    #[test]
    fn flow_control_reads_the_sdks_value() {
        let read = |value: &str| flow_control(Some("k".into()), Some(value.into())).map(|f| f.unwrap().1);
        assert_eq!(
            read("parallelism=3, rate=5, period=1m").unwrap(),
            FlowLimits { parallelism: Some(3), rate: Some(5), period_ms: 60_000 }
        );
        assert_eq!(read("rate=2,period=10").unwrap(), FlowLimits { parallelism: None, rate: Some(2), period_ms: 10_000 });
        assert_eq!(read("parallelism=1").unwrap().period_ms, 1000);
        for bad in ["", "period=1s", "parallelism=0", "rate=x", "speed=3", "period=8d, rate=1", "parallelism"] {
            assert!(read(bad).is_err(), "{bad}");
        }
        assert!(flow_control(Some("k".into()), None).is_err());
        assert!(flow_control(None, None).unwrap().is_none());
    }

    #[test]
    fn methods_are_checked() {
        assert_eq!(method(None).unwrap(), "POST");
        assert_eq!(method(Some("put".into())).unwrap(), "PUT");
        assert!(method(Some("BREW".into())).is_err());
    }
}
