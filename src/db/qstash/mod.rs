//! Tables of the embedded QStash-compatible server: messages (with a delivery lease), deduplication
//! ids, delivery events (`events`), the dead-letter queue (`dlq`), queues (`queues`), URL groups
//! (`url_groups`), schedules (`schedules`) and flow control keys (`flow_control`).

pub mod dlq;
pub mod events;
pub mod filter;
pub mod flow_control;
pub mod identity;
pub mod keys;
pub mod queues;
pub mod schedules;
pub mod url_groups;

use super::{new_id, now_ms, Db};
use filter::{bound, Bind, Columns, Filter, Sql};
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MessageRow {
    pub id: String,
    pub destination: String,
    pub method: String,
    /// Base64 of the exact bytes published: the signature hashes them, so they are never re-encoded.
    pub body: String,
    /// JSON object of headers to send with every delivery.
    pub headers: String,
    pub state: String,
    pub retries: i64,
    pub retried: i64,
    pub not_before: i64,
    pub callback: Option<String>,
    pub failure_callback: Option<String>,
    pub dedup_id: Option<String>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    /// The publisher's address (`callerIP`).
    pub caller_ip: Option<String>,
    /// `Upstash-Retry-Delay`, checked at publish.
    pub retry_delay: Option<String>,
    /// `Upstash-Timeout` of each delivery, in milliseconds.
    pub timeout_ms: Option<i64>,
    pub label: Option<String>,
    /// JSON `publish::CallbackOptions` of the callback and of the failure callback.
    pub callback_options: Option<String>,
    pub failure_callback_options: Option<String>,
    /// The queue it was enqueued to, if any.
    pub queue_name: Option<String>,
    /// The URL group it was published to, and the endpoint's name there.
    pub topic_name: Option<String>,
    pub endpoint_name: Option<String>,
    /// The schedule that made it.
    pub schedule_id: Option<String>,
    /// `Upstash-Flow-Control-Key`.
    pub flow_key: Option<String>,
}

pub(super) const COLUMNS: &str = "id, destination, method, body, headers, state, retries, retried, not_before, callback, \
    failure_callback, dedup_id, last_status, last_error, created_at, caller_ip, retry_delay, timeout_ms, label, \
    callback_options, failure_callback_options, queue_name, topic_name, endpoint_name, schedule_id, flow_key";

#[derive(Default)]
pub struct NewMessage<'a> {
    pub destination: &'a str,
    pub method: &'a str,
    pub body_base64: &'a str,
    pub headers_json: &'a str,
    pub retries: i64,
    pub not_before: i64,
    pub callback: Option<&'a str>,
    pub failure_callback: Option<&'a str>,
    pub dedup_id: Option<&'a str>,
    pub caller_ip: Option<&'a str>,
    pub retry_delay: Option<&'a str>,
    pub timeout_ms: Option<i64>,
    pub label: Option<&'a str>,
    pub callback_options: Option<&'a str>,
    pub failure_callback_options: Option<&'a str>,
    /// Enqueued to this queue (created with parallelism 1 if it does not exist).
    pub queue_name: Option<&'a str>,
    pub topic_name: Option<&'a str>,
    pub endpoint_name: Option<&'a str>,
    pub schedule_id: Option<&'a str>,
    /// `Upstash-Flow-Control-Key`, and the limits its `-Value` sets for the key (none: keep them).
    pub flow_key: Option<&'a str>,
    pub flow_limits: Option<&'a flow_control::FlowLimits>,
}

pub enum Published {
    Created(String),
    Deduplicated(String),
}

/// Stores messages (a batch) in one transaction: all of them or, on an error, none.
pub async fn publish_all(db: &Db, msgs: &[NewMessage<'_>], dedup_window_ms: i64) -> sqlx::Result<Vec<Published>> {
    let mut tx = db.begin().await?;
    prepare(&mut tx, msgs).await?;
    let mut published = Vec::with_capacity(msgs.len());
    for msg in msgs {
        published.push(publish_in(&mut tx, msg, dedup_window_ms).await?);
    }
    tx.commit().await?;
    Ok(published)
}

/// What messages about to be published need: their queues (created if missing) and their flow keys'
/// limits, taken in name order (as leasing takes them) so concurrent transactions never wait on each
/// other in a circle.
pub(super) async fn prepare(conn: &mut sqlx::AnyConnection, msgs: &[NewMessage<'_>]) -> sqlx::Result<()> {
    let now = now_ms();
    let queues: std::collections::BTreeSet<&str> = msgs.iter().filter_map(|m| m.queue_name).collect();
    for queue in queues {
        queues::ensure(conn, queue, now).await?;
    }
    let mut flows: Vec<(&str, &flow_control::FlowLimits)> = msgs.iter().filter_map(|m| Some((m.flow_key?, m.flow_limits?))).collect();
    flows.sort_by_key(|(key, _)| *key);
    for (key, limits) in flows {
        flow_control::upsert(conn, key, limits, now).await?;
    }
    Ok(())
}

/// Stores one message of a publish (after `prepare`), or answers the earlier one its deduplication
/// id names.
pub(super) async fn publish_in(conn: &mut sqlx::AnyConnection, msg: &NewMessage<'_>, dedup_window_ms: i64) -> sqlx::Result<Published> {
    let now = now_ms();
    let id = format!("msg_{}", new_id());
    if let Some(dedup_id) = msg.dedup_id {
        let claimed = sqlx::query(
            "INSERT INTO qstash_dedup (dedup_id, message_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (dedup_id) DO NOTHING",
        )
        .bind(dedup_id)
        .bind(&id)
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected()
            == 1;
        if !claimed {
            // An expired id may be taken over; a live one means this publish is a duplicate.
            let renewed = sqlx::query("UPDATE qstash_dedup SET message_id = $1, created_at = $2 WHERE dedup_id = $3 AND created_at < $4")
                .bind(&id)
                .bind(now)
                .bind(dedup_id)
                .bind(now - dedup_window_ms)
                .execute(&mut *conn)
                .await?
                .rows_affected()
                == 1;
            if !renewed {
                let (existing,): (String,) =
                    sqlx::query_as("SELECT message_id FROM qstash_dedup WHERE dedup_id = $1").bind(dedup_id).fetch_one(&mut *conn).await?;
                return Ok(Published::Deduplicated(existing));
            }
        }
    }
    insert_message(conn, &id, msg, now).await?;
    insert_event(conn, &id, "CREATED", None).await?;
    Ok(Published::Created(id))
}

/// Stores the message (in its queue's order when it has a queue, which must exist).
pub(super) async fn insert_message(conn: &mut sqlx::AnyConnection, id: &str, msg: &NewMessage<'_>, now: i64) -> sqlx::Result<()> {
    let queue_order = match msg.queue_name {
        // Zero-padded, so the text sorts as the number.
        Some(queue) => Some(format!("{:020}", queues::next_seq(conn, queue).await?)),
        None => None,
    };
    sqlx::query(
        "INSERT INTO qstash_messages (id, destination, method, body, headers, state, retries, retried, not_before, locked_until,
            callback, failure_callback, dedup_id, created_at, updated_at, caller_ip, retry_delay, timeout_ms, label,
            callback_options, failure_callback_options, queue_name, queue_order, topic_name, endpoint_name, schedule_id, flow_key)
         VALUES ($1, $2, $3, $4, $5, 'pending', $6, 0, $7, 0, $8, $9, $10, $11, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)",
    )
    .bind(id)
    .bind(msg.destination)
    .bind(msg.method)
    .bind(msg.body_base64)
    .bind(msg.headers_json)
    .bind(msg.retries)
    .bind(msg.not_before)
    .bind(msg.callback)
    .bind(msg.failure_callback)
    .bind(msg.dedup_id)
    .bind(now)
    .bind(msg.caller_ip)
    .bind(msg.retry_delay)
    .bind(msg.timeout_ms)
    .bind(msg.label)
    .bind(msg.callback_options)
    .bind(msg.failure_callback_options)
    .bind(msg.queue_name)
    .bind(queue_order)
    .bind(msg.topic_name)
    .bind(msg.endpoint_name)
    .bind(msg.schedule_id)
    .bind(msg.flow_key)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn find(db: &Db, id: &str) -> sqlx::Result<Option<MessageRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM qstash_messages WHERE id = $1")).bind(id).fetch_optional(db).await
}

/// When the next plain pending message (in no queue, under no flow control key) becomes due, to
/// sleep exactly that long. Queued and flow-controlled messages wait for a delivery to end (which
/// wakes the loop) or the next pass (at most 200 ms apart).
pub async fn next_due_at(db: &Db) -> sqlx::Result<Option<i64>> {
    let row: (Option<i64>,) = sqlx::query_as(
        "SELECT MIN(CASE WHEN locked_until > not_before THEN locked_until ELSE not_before END)
         FROM qstash_messages WHERE state = 'pending' AND queue_name IS NULL AND flow_key IS NULL",
    )
    .fetch_one(db)
    .await?;
    Ok(row.0)
}

/// Takes the delivery lease (until `until`) of up to `limit` messages that are due and not leased,
/// and records them `ACTIVE`, in one transaction; returns them as leased: plain messages oldest due
/// first and, when `queues_and_flows` (the loop asks every 100 ms, and at once when such a message was
/// published or finished), what queues let through and flow-controlled ones as their keys allow. The conditions are checked again on the rows themselves, so
/// two instances racing for the same rows (PostgreSQL re-checks a row another transaction just
/// updated) never both get one.
pub async fn lease_due(db: &Db, now: i64, until: i64, limit: i64, queues_and_flows: bool) -> sqlx::Result<Vec<MessageRow>> {
    let mut tx = db.begin().await?;
    let mut leased = if queues_and_flows {
        // A write first, even one that changes nothing: it takes SQLite's write lock, where a read
        // first could find its snapshot made stale by a publish and fail to write ("busy").
        sqlx::query("UPDATE qstash_queues SET next_seq = next_seq WHERE 1 = 0").execute(&mut *tx).await?;
        // Queued and flow-controlled messages first, a quarter of the room each, so a backlog of
        // plain ones cannot starve them; plain ones take the rest.
        let share = (limit + 3) / 4;
        let mut leased = queues::lease_heads(&mut tx, now, until, share).await?;
        leased.extend(flow_control::lease_due(&mut tx, now, until, share.min(limit - leased.len() as i64)).await?);
        let room = limit - leased.len() as i64;
        leased.extend(lease_plain(&mut tx, now, until, room).await?);
        leased
    } else {
        lease_plain(&mut tx, now, until, limit).await?
    };
    leased.sort_by_key(|m| m.not_before);
    for msg in &leased {
        insert_event(&mut tx, &msg.id, "ACTIVE", None).await?;
    }
    tx.commit().await?;
    Ok(leased)
}

/// Leases up to `limit` due messages in no queue and under no flow control key, oldest due first.
async fn lease_plain(conn: &mut sqlx::AnyConnection, now: i64, until: i64, limit: i64) -> sqlx::Result<Vec<MessageRow>> {
    if limit <= 0 {
        return Ok(Vec::new());
    }
    sqlx::query_as(&format!(
        "UPDATE qstash_messages SET locked_until = $1
         WHERE id IN (SELECT id FROM qstash_messages WHERE state = 'pending' AND not_before <= $2 AND locked_until <= $2
                      AND queue_name IS NULL AND flow_key IS NULL ORDER BY not_before LIMIT $3)
           AND state = 'pending' AND not_before <= $2 AND locked_until <= $2
         RETURNING {COLUMNS}"
    ))
    .bind(until)
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
}

/// How many deliveries of a message have started (its `ACTIVE` events): more than one means it was
/// delivered again (a lapsed or handed-back lease, or a retry).
pub async fn deliveries_started(db: &Db, id: &str) -> sqlx::Result<i64> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM qstash_events WHERE message_id = $1 AND state = 'ACTIVE'").bind(id).fetch_one(db).await?;
    Ok(n)
}

/// Where a message's delivery stands: its state, when it is due, and until when it is leased.
pub async fn delivery_of(db: &Db, id: &str) -> sqlx::Result<Option<(String, i64, i64)>> {
    sqlx::query_as("SELECT state, not_before, locked_until FROM qstash_messages WHERE id = $1").bind(id).fetch_optional(db).await
}

/// Extends a delivery's lease from `lease` to `until` while it runs. False when the lease is no
/// longer held (it lapsed and another delivery took the message, or it was handed back): the delivery
/// may then record nothing.
pub async fn renew(db: &Db, id: &str, lease: i64, until: i64) -> sqlx::Result<bool> {
    let renewed = sqlx::query("UPDATE qstash_messages SET locked_until = $1 WHERE id = $2 AND state = 'pending' AND locked_until = $3")
        .bind(until)
        .bind(id)
        .bind(lease)
        .execute(db)
        .await?
        .rows_affected();
    Ok(renewed == 1)
}

/// Hands back a lease (a shutdown that cannot wait for its delivery): the message is due again now,
/// at no retry's cost, and the delivery still running under the old lease records nothing. False
/// when the lease was no longer held.
pub async fn release(db: &Db, id: &str, lease: i64) -> sqlx::Result<bool> {
    let released = sqlx::query("UPDATE qstash_messages SET locked_until = 0 WHERE id = $1 AND state = 'pending' AND locked_until = $2")
        .bind(id)
        .bind(lease)
        .execute(db)
        .await?
        .rows_affected();
    Ok(released == 1)
}

/// One delivery attempt's outcome.
pub struct Attempt<'a> {
    state: &'static str,
    status: i64,
    error: Option<&'a str>,
    /// When retrying: the next attempt's time.
    not_before: Option<i64>,
    /// When QStash gives up: the dead-letter entry.
    dlq: Option<dlq::NewDlqEntry<'a>>,
}

impl<'a> Attempt<'a> {
    pub fn delivered(status: u16) -> Self {
        Attempt { state: "delivered", status: status.into(), error: None, not_before: None, dlq: None }
    }

    pub fn failed(status: Option<u16>, error: &'a str, dlq: dlq::NewDlqEntry<'a>) -> Self {
        Attempt { state: "failed", status: status.map(i64::from).unwrap_or(0), error: Some(error), not_before: None, dlq: Some(dlq) }
    }

    pub fn retry(status: Option<u16>, error: &'a str, not_before: i64) -> Self {
        Attempt {
            state: "pending",
            status: status.map(i64::from).unwrap_or(0),
            error: Some(error),
            not_before: Some(not_before),
            dlq: None,
        }
    }
}

/// One attempt to record: the message, the lease it was delivered under, its outcome, and the
/// messages it triggers (callbacks).
pub struct AttemptRecord<'a> {
    pub id: &'a str,
    pub lease: i64,
    pub attempt: Attempt<'a>,
    pub follow_ups: Vec<NewMessage<'a>>,
}

/// Records attempts' outcomes with the messages they trigger, all in one transaction (deliveries
/// finish together; one commit for all of them is what lets SQLite keep up). Each is recorded only
/// while its lease (`locked_until`) still holds: per record, false (and nothing of it written) when
/// the lease was lost to another delivery.
pub async fn record_attempts(db: &Db, records: &[AttemptRecord<'_>]) -> sqlx::Result<Vec<bool>> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    let mut recorded = Vec::with_capacity(records.len());
    for record in records {
        let attempt = &record.attempt;
        let retried = if attempt.not_before.is_some() { 1 } else { 0 };
        let updated = sqlx::query(
            "UPDATE qstash_messages SET state = $1, last_status = $2, last_error = $3, retried = retried + $4,
                not_before = COALESCE($5, not_before), locked_until = 0, updated_at = $6
             WHERE id = $7 AND state = 'pending' AND locked_until = $8",
        )
        .bind(attempt.state)
        .bind(attempt.status)
        .bind(attempt.error)
        .bind(retried)
        .bind(attempt.not_before)
        .bind(now)
        .bind(record.id)
        .bind(record.lease)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        recorded.push(updated);
        if !updated {
            continue;
        }
        let id = record.id;
        let status = Some(attempt.status).filter(|s| *s > 0);
        match (&attempt.dlq, attempt.not_before) {
            (Some(entry), _) => {
                insert_event_with(&mut tx, id, "ERROR", attempt.error, status, None).await?;
                insert_event_with(&mut tx, id, "FAILED", attempt.error, status, None).await?;
                dlq::insert(&mut tx, id, entry).await?;
            }
            (None, Some(next)) => {
                insert_event_with(&mut tx, id, "ERROR", attempt.error, status, None).await?;
                insert_event_with(&mut tx, id, "RETRY", attempt.error, status, Some(next)).await?;
            }
            (None, None) => insert_event_with(&mut tx, id, "DELIVERED", None, status, None).await?,
        }
        for msg in &record.follow_ups {
            let follow_up = format!("msg_{}", new_id());
            insert_message(&mut tx, &follow_up, msg, now).await?;
            insert_event(&mut tx, &follow_up, "CREATED", None).await?;
        }
    }
    tx.commit().await?;
    Ok(recorded)
}

/// Cancels a message not yet delivered (a delivery in flight then records nothing); false when it is
/// unknown or already done.
pub async fn cancel(db: &Db, id: &str) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    let cancelled = cancel_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(cancelled)
}

pub(super) async fn cancel_in(conn: &mut sqlx::AnyConnection, id: &str) -> sqlx::Result<bool> {
    let cancelled = sqlx::query(
        "UPDATE qstash_messages SET state = 'cancelled', locked_until = 0, updated_at = $1 WHERE id = $2 AND state = 'pending'",
    )
    .bind(now_ms())
    .bind(id)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if cancelled {
        insert_event(conn, id, "CANCEL_REQUESTED", None).await?;
        insert_event(conn, id, "CANCELED", None).await?;
    }
    Ok(cancelled)
}

/// The filter's columns on `qstash_messages` alone.
pub(super) const MESSAGE_COLUMNS: Columns = Columns {
    message_id: "id",
    url: "destination",
    label: "label",
    caller_ip: "caller_ip",
    queue_name: "queue_name",
    topic_name: "topic_name",
    endpoint_name: "endpoint_name",
    schedule_id: "schedule_id",
    flow_key: "flow_key",
    time: "created_at",
    dlq_id: None,
    state: None,
    response_status: None,
};

/// Pending messages matching `filter` (at most `limit`, oldest first), cancelled one by one as
/// `cancel` does; how many were.
pub async fn cancel_matching(db: &Db, filter: &Filter, limit: i64) -> sqlx::Result<u64> {
    let mut sql = Sql::new("SELECT id FROM qstash_messages WHERE state = 'pending'");
    sql.filter(filter, &MESSAGE_COLUMNS).push(" ORDER BY created_at, id LIMIT ").bind(Bind::Int(limit));
    let ids: Vec<(String,)> = bound!(sqlx::query_as::<_, (String,)>(&sql.text), &sql.binds).fetch_all(db).await?;
    let mut cancelled = 0;
    for (id,) in ids {
        cancelled += cancel(db, &id).await? as u64;
    }
    Ok(cancelled)
}

/// Deletes what is older than `before` (unix ms) and done with: messages delivered, failed or
/// cancelled (with their events and dead-letter entries), and expired deduplication ids.
pub async fn prune(db: &Db, before: i64, dedup_before: i64) -> sqlx::Result<u64> {
    let mut tx = db.begin().await?;
    let old = "SELECT id FROM qstash_messages WHERE state <> 'pending' AND updated_at < $1";
    let mut pruned = 0;
    pruned += sqlx::query(&format!("DELETE FROM qstash_events WHERE message_id IN ({old})"))
        .bind(before)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    pruned +=
        sqlx::query(&format!("DELETE FROM qstash_dlq WHERE message_id IN ({old})")).bind(before).execute(&mut *tx).await?.rows_affected();
    pruned += sqlx::query("DELETE FROM qstash_messages WHERE state <> 'pending' AND updated_at < $1")
        .bind(before)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    pruned += sqlx::query("DELETE FROM qstash_dedup WHERE created_at < $1").bind(dedup_before).execute(&mut *tx).await?.rows_affected();
    pruned += flow_control::prune(&mut tx, before).await?;
    tx.commit().await?;
    Ok(pruned)
}

/// Ids that sort by time, then by a per-process sequence: events of one millisecond keep their order.
fn ordered_id() -> String {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed) % 1_000_000;
    format!("{:013}{seq:06}{}", now_ms(), &new_id()[..8])
}

async fn insert_event(conn: &mut sqlx::AnyConnection, message_id: &str, state: &str, detail: Option<&str>) -> sqlx::Result<()> {
    insert_event_with(conn, message_id, state, detail, None, None).await
}

async fn insert_event_with(
    conn: &mut sqlx::AnyConnection,
    message_id: &str,
    state: &str,
    detail: Option<&str>,
    response_status: Option<i64>,
    next_delivery: Option<i64>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO qstash_events (id, message_id, state, detail, created_at, response_status, next_delivery)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(ordered_id())
    .bind(message_id)
    .bind(state)
    .bind(detail)
    .bind(now_ms())
    .bind(response_status)
    .bind(next_delivery)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
