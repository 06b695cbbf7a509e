//! The delivery loop: takes due messages under a lease, calls their destinations as QStash does, and
//! records each attempt's outcome together with the callbacks it triggers (one transaction, so a
//! crash loses neither). Retries wait for the destination's `Retry-After` (or its reset headers),
//! else the message's `Upstash-Retry-Delay`, else QStash's backoff.

use super::{publish::CallbackOptions, publish::DEFAULT_RETRIES, DevServer};
use crate::{
    db::{
        self,
        qstash::{
            dlq::{new_dlq_id, NewDlqEntry},
            Attempt, AttemptRecord, MessageRow, NewMessage,
        },
    },
    qstash::{retry_backoff as backoff, retry_delay::RetryDelay, signing::sign},
};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::{json, Map, Value};
use std::{sync::Arc, time::Duration};
use tokio::sync::{mpsc, oneshot};

/// The part of a destination's answer kept (for callbacks, the DLQ and `lastError`).
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// Messages leased per transaction at most.
const LEASE_BATCH: usize = 64;

/// How often the signing keys are read again (another instance may have rotated them).
const KEYS_RELOAD_EVERY: Duration = Duration::from_secs(2);

/// How often queues and flow control keys are looked at when nothing said they changed.
const QUEUES_AND_FLOWS_EVERY: Duration = Duration::from_millis(100);

/// How often due schedules are looked for (a tick is published at most this late, plus the poll).
const SCHEDULES_EVERY: Duration = Duration::from_millis(200);

/// How often old messages are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// What the destination answered (or why there was no answer).
struct Answer {
    status: Option<u16>,
    headers: Map<String, Value>,
    body: Vec<u8>,
    retry_after: Option<Duration>,
    /// No further attempt: `489` with `Upstash-NonRetryable-Error: true`, or a destination this
    /// server will not call.
    final_attempt: bool,
}

impl DevServer {
    /// Delivers due messages until the process ends (and, once an hour, prunes what is past its
    /// retention).
    pub async fn run_delivery_loop(self) {
        let lease = self.0.config.lease;
        let mut pruned_at: Option<std::time::Instant> = None;
        let mut keys_read_at = std::time::Instant::now();
        let mut schedules_at: Option<std::time::Instant> = None;
        let mut queues_and_flows_at: Option<std::time::Instant> = None;
        match self.0.recorder.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(outcomes) => {
                tokio::spawn(self.clone().supervise_recorder(outcomes));
            }
            None => tracing::error!("qstash-dev: the delivery loop was started twice"),
        }
        loop {
            if self.0.stopping.load(std::sync::atomic::Ordering::SeqCst) {
                tracing::info!("qstash-dev: shutting down; no new deliveries");
                return;
            }
            if pruned_at.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                pruned_at = Some(std::time::Instant::now());
                self.prune().await;
            }
            if schedules_at.is_none_or(|at| at.elapsed() >= SCHEDULES_EVERY) {
                schedules_at = Some(std::time::Instant::now());
                self.fire_due_schedules().await;
            }
            if keys_read_at.elapsed() >= KEYS_RELOAD_EVERY {
                keys_read_at = std::time::Instant::now();
                self.reload_keys().await;
            }
            // As many due messages as there are free delivery slots, leased in one transaction, so
            // a lease only runs while its delivery does.
            let permits: Vec<_> = std::iter::from_fn(|| self.0.in_flight.clone().try_acquire_owned().ok()).take(LEASE_BATCH).collect();
            // Every slot busy: a delivery that ends wakes the loop.
            let mut wait_for_a_slot = permits.is_empty();
            if !permits.is_empty() {
                let now = db::now_ms();
                let lease_until = now + lease.as_millis() as i64;
                let changed = self.0.queues_and_flows_changed.swap(false, std::sync::atomic::Ordering::SeqCst);
                let special = changed || queues_and_flows_at.is_none_or(|at| at.elapsed() >= QUEUES_AND_FLOWS_EVERY);
                if special {
                    queues_and_flows_at = Some(std::time::Instant::now());
                }
                match db::qstash::lease_due(&self.0.db, now, lease_until, permits.len() as i64, special).await {
                    Ok(messages) if self.0.stopping.load(std::sync::atomic::Ordering::SeqCst) => {
                        // Leased while a shutdown began: handed back at once, not started.
                        for msg in messages {
                            if let Err(e) = db::qstash::release(&self.0.lease_db, &msg.id, lease_until).await {
                                tracing::error!(error = %e, message_id = %msg.id, "qstash-dev: failed to hand back a delivery; it waits out its lease");
                            }
                        }
                        return;
                    }
                    Ok(messages) => {
                        let more = messages.len() == permits.len();
                        for (msg, permit) in messages.into_iter().zip(permits) {
                            let server = self.clone();
                            server.0.leased.lock().unwrap_or_else(|p| p.into_inner()).insert(msg.id.clone(), lease_until);
                            tokio::spawn(async move {
                                let id = msg.id.clone();
                                // Its end may let the next of its queue or flow key through.
                                let special = msg.queue_name.is_some() || msg.flow_key.is_some();
                                let last_lease = server.deliver(msg, lease_until).await;
                                let mut leased = server.0.leased.lock().unwrap_or_else(|p| p.into_inner());
                                // Only this delivery's entry: the message may have been leased again since.
                                if leased.get(&id) == Some(&last_lease) {
                                    leased.remove(&id);
                                }
                                drop(leased);
                                drop(permit);
                                // A free slot: the loop may lease the next due message.
                                server.wake_loop(special);
                            });
                        }
                        if more {
                            // More may be due right now.
                            continue;
                        }
                    }
                    Err(e) => {
                        // Not again at once: the database may be down or read-only for a while.
                        tracing::error!(error = %e, "qstash-dev: failed to lease due messages");
                        wait_for_a_slot = true;
                    }
                }
            }
            // Never past the next look at the schedules.
            let poll = (self.0.config.poll_interval.as_millis().max(5) as i64).min(SCHEDULES_EVERY.as_millis() as i64);
            let wait = match wait_for_a_slot {
                true => Duration::from_millis(poll as u64),
                false => match db::qstash::next_due_at(&self.0.db).await {
                    Ok(Some(at)) => Duration::from_millis((at - db::now_ms()).clamp(5, poll) as u64),
                    _ => Duration::from_millis(poll as u64),
                },
            };
            tokio::select! {
                _ = self.0.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Another instance may have rotated the keys.
    async fn reload_keys(&self) {
        match db::qstash::keys::load(&self.0.db).await {
            Ok(Some(keys)) if keys != self.0.keys.get() => self.0.keys.set(keys),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "qstash-dev: failed to reload the signing keys"),
        }
    }

    async fn prune(&self) {
        let now = db::now_ms();
        let before = now - self.0.config.retention.as_millis() as i64;
        let dedup_before = now - self.0.config.dedup_window.as_millis() as i64;
        match db::qstash::prune(&self.0.db, before, dedup_before).await {
            Ok(0) => {}
            Ok(rows) => tracing::info!(rows, "qstash-dev: pruned messages past their retention"),
            Err(e) => tracing::error!(error = %e, "qstash-dev: failed to prune old messages"),
        }
    }

    /// Delivers one leased message and records its outcome; returns the lease it held last
    /// (renewals change it).
    #[tracing::instrument(skip_all, fields(message_id = %msg.id, retried = msg.retried))]
    async fn deliver(&self, msg: MessageRow, lease: i64) -> i64 {
        self.0.started.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (answer, lease) = if self.0.destinations.allows(&msg.destination) {
            self.call_renewing(&msg, lease).await
        } else {
            // Stored before the rule existed, or by a bug: never called, failed at once.
            (Some(Answer { final_attempt: true, ..Answer::no_answer("the embedded QStash server only delivers to this app") }), lease)
        };
        let Some(answer) = answer else { return lease };
        if let Err(e) = self.record(&msg, lease, answer).await {
            tracing::error!(error = %e, "qstash-dev: failed to record a delivery outcome");
        }
        lease
    }

    /// Calls the destination while renewing the lease every third of its length, so the lease stays
    /// short (another instance takes a dead one's message over soon) however long the call takes.
    /// Returns the answer, `None` when the lease was lost meanwhile (another delivery has the
    /// message; this one may record nothing), with the lease it held last.
    async fn call_renewing(&self, msg: &MessageRow, mut lease: i64) -> (Option<Answer>, i64) {
        let length = self.0.config.lease;
        let call = self.call(msg);
        tokio::pin!(call);
        loop {
            tokio::select! {
                answer = &mut call => return (Some(answer), lease),
                _ = tokio::time::sleep(length / 3) => {
                    if self.0.in_flight.is_closed() {
                        // Shutting down: the lease is being handed back; renewing would race it.
                        continue;
                    }
                    // Awaited whole (not raced with the call), so `lease` always says what the
                    // database holds.
                    let until = db::now_ms() + length.as_millis() as i64;
                    match db::qstash::renew(&self.0.lease_db, &msg.id, lease, until).await {
                        Ok(true) => {
                            let mut leased = self.0.leased.lock().unwrap_or_else(|p| p.into_inner());
                            if leased.get(&msg.id) == Some(&lease) {
                                leased.insert(msg.id.clone(), until);
                            }
                            lease = until;
                        }
                        Ok(false) => {
                            tracing::warn!("qstash-dev: a delivery lost its lease; another delivery has the message");
                            return (None, lease);
                        }
                        // Tried again at the next third; the lease still has two thirds left.
                        Err(e) => tracing::warn!(error = %e, "qstash-dev: failed to renew a delivery's lease"),
                    }
                }
            }
        }
    }

    async fn call(&self, msg: &MessageRow) -> Answer {
        let body = STANDARD.decode(&msg.body).unwrap_or_default();
        let forward: Map<String, Value> = serde_json::from_str(&msg.headers).unwrap_or_default();
        // A fresh signature per attempt, for the exact URL and bytes delivered.
        let token = sign(&self.0.keys.get().current, &msg.destination, &body, chrono::Utc::now().timestamp(), &db::new_id());
        let method = reqwest::Method::from_bytes(msg.method.as_bytes()).unwrap_or(reqwest::Method::POST);
        let mut request = self
            .0
            .http
            .request(method, &msg.destination)
            .timeout(delivery_timeout(msg.timeout_ms, self.0.config.delivery_timeout))
            .header("User-Agent", "Upstash-QStash")
            .header("Upstash-Signature", token)
            .header("Upstash-Message-Id", &msg.id)
            .header("Upstash-Retried", msg.retried.to_string())
            .body(body);
        if let Some(ip) = &msg.caller_ip {
            request = request.header("Upstash-Caller-Ip", ip);
        }
        const OWN: [&str; 5] = ["user-agent", "upstash-signature", "upstash-message-id", "upstash-retried", "upstash-caller-ip"];
        for (name, value) in &forward {
            // Forwarded headers never duplicate or override QStash's own.
            if let Some(value) = value.as_str().filter(|_| !OWN.contains(&name.to_ascii_lowercase().as_str())) {
                request = request.header(name.as_str(), value);
            }
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let non_retryable = response.headers().get("upstash-nonretryable-error").and_then(|v| v.to_str().ok()) == Some("true");
                let retry_after = crate::retry_after::retry_after(response.headers());
                let headers = header_map(response.headers());
                let body = read_capped(response, MAX_RESPONSE_BYTES).await;
                Answer { status: Some(status), headers, body, retry_after, final_attempt: status == 489 && non_retryable }
            }
            Err(e) => Answer::no_answer(&e.to_string()),
        }
    }

    /// Records the attempt (delivered, retry later, or failed for good) with its callbacks, through
    /// the recorder (which commits attempts that finish together in one transaction).
    async fn record(&self, msg: &MessageRow, lease: i64, answer: Answer) -> anyhow::Result<()> {
        let delivered = answer.status.is_some_and(|s| (200..300).contains(&s));
        // (`lastError` only when it failed: a delivered answer's body is not read as text.)
        let error = if delivered { String::new() } else { summarize(answer.status, &answer.body) };
        let gives_up = !delivered && (msg.retried >= msg.retries || answer.final_attempt);
        let kind = if delivered {
            OutcomeKind::Delivered
        } else if gives_up {
            tracing::warn!(error, "qstash-dev: delivery failed for good");
            // A message given up on goes to the dead-letter queue with the destination's last answer.
            OutcomeKind::Failed {
                error,
                dlq_id: new_dlq_id(),
                response_headers: Value::Object(answer.headers.clone()).to_string(),
                response_body: STANDARD.encode(&answer.body),
            }
        } else {
            let delay = answer.retry_after.unwrap_or_else(|| self.next_attempt_delay(msg));
            tracing::info!(status = ?answer.status, delay_ms = delay.as_millis() as u64, "qstash-dev: delivery failed, will retry");
            OutcomeKind::Retry { error, not_before: db::now_ms().saturating_add(delay.as_millis() as i64) }
        };
        // QStash calls the callback after every attempt, and the failure callback once it gives up.
        let mut follow_ups: Vec<Callback> = Vec::new();
        if let Some(url) = &msg.callback {
            follow_ups.push(self.callback_message(url, msg.callback_options.as_deref(), callback_body(msg, &answer)));
        }
        if let (Some(url), OutcomeKind::Failed { dlq_id, .. }) = (&msg.failure_callback, &kind) {
            let mut body = callback_body(msg, &answer);
            body["dlqId"] = json!(dlq_id);
            follow_ups.push(self.callback_message(url, msg.failure_callback_options.as_deref(), body));
        }
        let (reply, recorded) = oneshot::channel();
        let outcome = Outcome { id: msg.id.clone(), lease, status: answer.status, kind, follow_ups, reply };
        self.0.outcomes.send(outcome).await.map_err(|_| anyhow::anyhow!("the outcome recorder has stopped"))?;
        if !recorded.await.unwrap_or(false) {
            tracing::warn!(message_id = %msg.id, "qstash-dev: outcome not recorded (lease lost or database error); the message will be delivered again");
        }
        Ok(())
    }

    /// Runs the recorder, and runs it again should it ever stop by a panic: without it no outcome
    /// would be recorded and every message would be delivered over and over.
    async fn supervise_recorder(self, outcomes: mpsc::Receiver<Outcome>) {
        let outcomes = Arc::new(tokio::sync::Mutex::new(outcomes));
        loop {
            let run = tokio::spawn(self.clone().run_recorder(outcomes.clone()));
            match run.await {
                Ok(()) => return,
                Err(e) => tracing::error!(error = %e, "qstash-dev: the outcome recorder stopped; starting it again"),
            }
        }
    }

    /// Commits the outcomes that arrive together (up to `RECORD_BATCH`) in one transaction, and
    /// tells each delivery whether its outcome was recorded.
    async fn run_recorder(self, outcomes: Arc<tokio::sync::Mutex<mpsc::Receiver<Outcome>>>) {
        let mut outcomes = outcomes.lock().await;
        while let Some(first) = outcomes.recv().await {
            let mut batch = vec![first];
            while batch.len() < RECORD_BATCH {
                match outcomes.try_recv() {
                    Ok(outcome) => batch.push(outcome),
                    Err(_) => break,
                }
            }
            let records: Vec<AttemptRecord<'_>> = batch.iter().map(Outcome::record).collect();
            let recorded = match db::qstash::record_attempts(&self.0.db, &records).await {
                Ok(recorded) => recorded,
                Err(e) if records.len() > 1 => {
                    // Nothing of the batch was written; one bad outcome must not cost the others:
                    // record them one by one.
                    tracing::warn!(error = %e, outcomes = records.len(), "qstash-dev: a batch of outcomes failed; recording them one by one");
                    let mut one_by_one = Vec::with_capacity(records.len());
                    for record in &records {
                        one_by_one.push(match db::qstash::record_attempts(&self.0.db, std::slice::from_ref(record)).await {
                            Ok(done) => done.first().copied().unwrap_or(false),
                            Err(e) => {
                                tracing::error!(error = %e, message_id = record.id, "qstash-dev: failed to record a delivery outcome; it will be delivered again");
                                false
                            }
                        });
                    }
                    one_by_one
                }
                Err(e) => {
                    // Not written: the message is delivered again once its lease runs out.
                    tracing::error!(error = %e, "qstash-dev: failed to record a delivery outcome; it will be delivered again");
                    vec![false]
                }
            };
            drop(records);
            let triggered = batch.iter().zip(&recorded).any(|(o, ok)| *ok && !o.follow_ups.is_empty());
            for (outcome, ok) in batch.into_iter().zip(recorded) {
                let _ = outcome.reply.send(ok);
            }
            if triggered {
                self.0.wake.notify_one();
            }
        }
    }

    /// The wait before the next attempt: the message's `Upstash-Retry-Delay`, else QStash's backoff
    /// (both compressed by `QSTASH_DEV_BACKOFF_SCALE` in tests).
    fn next_attempt_delay(&self, msg: &MessageRow) -> Duration {
        let scale = self.0.config.backoff_scale;
        match msg.retry_delay.as_deref().and_then(|expr| RetryDelay::parse(expr).ok()) {
            Some(expr) => expr.delay(msg.retried).mul_f64(scale.max(0.0)),
            None => backoff(msg.retried + 1, scale),
        }
    }

    /// A callback is an ordinary message, as in QStash: signed, retried, persisted, with its own
    /// options from `Upstash-Callback-*`.
    fn callback_message(&self, url: &str, options: Option<&str>, body: Value) -> Callback {
        let options: CallbackOptions = options.and_then(|o| serde_json::from_str(o).ok()).unwrap_or_default();
        let mut headers = options.forward.clone();
        headers.insert("content-type".into(), json!("application/json"));
        Callback {
            destination: url.to_string(),
            method: options.method.unwrap_or_else(|| "POST".into()),
            body_base64: STANDARD.encode(body.to_string()),
            headers_json: Value::Object(headers).to_string(),
            retries: options.retries.unwrap_or(DEFAULT_RETRIES),
            not_before: db::now_ms().saturating_add(options.delay_ms.unwrap_or(0)),
            timeout_ms: options.timeout_ms,
        }
    }
}

impl Answer {
    /// No HTTP answer: a network error, a timeout, or a destination this server will not call.
    fn no_answer(why: &str) -> Self {
        Answer { status: None, headers: Map::new(), body: why.as_bytes().to_vec(), retry_after: None, final_attempt: false }
    }
}

/// Outcomes committed in one transaction at most.
const RECORD_BATCH: usize = 64;

/// An attempt's outcome on its way to the recorder.
pub(super) struct Outcome {
    id: String,
    lease: i64,
    status: Option<u16>,
    kind: OutcomeKind,
    follow_ups: Vec<Callback>,
    /// Whether it was recorded (false: the lease was lost, or the database failed).
    reply: oneshot::Sender<bool>,
}

enum OutcomeKind {
    Delivered,
    Retry { error: String, not_before: i64 },
    Failed { error: String, dlq_id: String, response_headers: String, response_body: String },
}

impl Outcome {
    fn record(&self) -> AttemptRecord<'_> {
        let attempt = match &self.kind {
            OutcomeKind::Delivered => Attempt::delivered(self.status.unwrap_or(200)),
            OutcomeKind::Retry { error, not_before } => Attempt::retry(self.status, error, *not_before),
            OutcomeKind::Failed { error, dlq_id, response_headers, response_body } => Attempt::failed(
                self.status,
                error,
                NewDlqEntry { dlq_id, response_status: self.status.map(i64::from).unwrap_or(0), response_headers, response_body },
            ),
        };
        AttemptRecord { id: &self.id, lease: self.lease, attempt, follow_ups: self.follow_ups.iter().map(Callback::as_new).collect() }
    }
}

/// A callback message before it is stored.
struct Callback {
    destination: String,
    method: String,
    body_base64: String,
    headers_json: String,
    retries: i64,
    not_before: i64,
    timeout_ms: Option<i64>,
}

impl Callback {
    fn as_new(&self) -> NewMessage<'_> {
        NewMessage {
            destination: &self.destination,
            method: &self.method,
            body_base64: &self.body_base64,
            headers_json: &self.headers_json,
            retries: self.retries,
            not_before: self.not_before,
            timeout_ms: self.timeout_ms,
            ..NewMessage::default()
        }
    }
}

/// The first `max` bytes of a response body (the rest is never buffered).
async fn read_capped(mut response: reqwest::Response, max: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = max - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= max {
            break;
        }
    }
    body
}

/// `lastError`: the status and the start of the answer, as text (without NULs, which PostgreSQL's
/// TEXT refuses and which would otherwise make the attempt impossible to record).
fn summarize(status: Option<u16>, body: &[u8]) -> String {
    // The first 200 characters are at most 800 bytes: only those are converted.
    let text: String = String::from_utf8_lossy(&body[..body.len().min(800)]).chars().filter(|c| *c != '\0').take(200).collect();
    match status {
        Some(status) => format!("HTTP {status}: {text}"),
        None => text,
    }
}

/// A delivery's own timeout (`Upstash-Timeout`), never longer than the server's: the lease that
/// fences deliveries is built on the server's.
fn delivery_timeout(timeout_ms: Option<i64>, server_max: Duration) -> Duration {
    match timeout_ms.and_then(|ms| u64::try_from(ms).ok()) {
        Some(ms) => Duration::from_millis(ms).min(server_max),
        None => server_max,
    }
}

/// Response headers as QStash reports them: canonical name → list of values.
fn header_map(headers: &reqwest::header::HeaderMap) -> Map<String, Value> {
    let mut map = Map::new();
    for (name, value) in headers {
        let Ok(value) = value.to_str() else { continue };
        let entry = map.entry(super::canonical_name(name.as_str())).or_insert_with(|| json!([]));
        if let Value::Array(values) = entry {
            values.push(json!(value));
        }
    }
    map
}

/// The body QStash sends to callbacks and failure callbacks.
fn callback_body(msg: &MessageRow, answer: &Answer) -> Value {
    let mut body = json!({
        "status": answer.status.unwrap_or(0),
        "header": answer.headers,
        "body": STANDARD.encode(&answer.body),
        "retried": msg.retried,
        "maxRetries": msg.retries,
        "sourceMessageId": msg.id,
        "url": msg.destination,
        "method": msg.method,
        "sourceHeader": super::listed_headers(&msg.headers),
        "sourceBody": msg.body,
        "notBefore": msg.not_before,
        "createdAt": msg.created_at,
    });
    if let Some(ip) = &msg.caller_ip {
        body["callerIP"] = json!(ip);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_never_pass_the_servers() {
        let max = Duration::from_secs(120);
        assert_eq!(delivery_timeout(None, max), max);
        assert_eq!(delivery_timeout(Some(5_000), max), Duration::from_secs(5));
        assert_eq!(delivery_timeout(Some(i64::MAX), max), max);
    }

    #[test]
    fn response_headers_are_canonical_with_lists_of_values() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.append("set-cookie", "a=1".parse().unwrap());
        headers.append("set-cookie", "b=2".parse().unwrap());
        assert_eq!(Value::Object(header_map(&headers)), json!({"Set-Cookie": ["a=1", "b=2"]}));
    }
}
