//! QStash flow control: messages published with the same `Upstash-Flow-Control-Key` share a limit of
//! deliveries at once (`parallelism`) and started per period (`rate` per `period`). Leasing them
//! takes the key's row lock first, so instances leasing at the same time see each other's leases.

use super::{Db, MessageRow, COLUMNS};

/// A key's limits, as the latest publish with it set them.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowLimits {
    pub parallelism: Option<i64>,
    pub rate: Option<i64>,
    pub period_ms: i64,
}

pub async fn limits(db: &Db, key: &str) -> sqlx::Result<Option<FlowLimits>> {
    let row: Option<(Option<i64>, Option<i64>, i64)> =
        sqlx::query_as("SELECT parallelism, rate, period_ms FROM qstash_flow_keys WHERE flow_key = $1")
            .bind(key)
            .fetch_optional(db)
            .await?;
    Ok(row.map(|(parallelism, rate, period_ms)| FlowLimits { parallelism, rate, period_ms }))
}

pub(super) async fn upsert(conn: &mut sqlx::AnyConnection, key: &str, limits: &FlowLimits, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO qstash_flow_keys (flow_key, parallelism, rate, period_ms, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (flow_key) DO UPDATE SET parallelism = excluded.parallelism, rate = excluded.rate,
            period_ms = excluded.period_ms, updated_at = excluded.updated_at, blocked_until = 0",
    )
    .bind(key)
    .bind(limits.parallelism)
    .bind(limits.rate)
    .bind(limits.period_ms)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Flow keys looked at per pass of the delivery loop, at most (those with messages waiting and not
/// held back by their rate).
const KEYS_PER_PASS: i64 = 256;

/// How many more deliveries under `key` may start now (at most `wanted`), with the key's row taken
/// first, so another instance leasing under the same key waits for this transaction. A key its rate
/// holds back is not looked at again until the oldest start in its window has aged out.
pub(super) async fn take(conn: &mut sqlx::AnyConnection, key: &str, now: i64, wanted: i64) -> sqlx::Result<i64> {
    let limits: Option<(Option<i64>, Option<i64>, i64)> =
        sqlx::query_as("UPDATE qstash_flow_keys SET blocked_until = 0 WHERE flow_key = $1 RETURNING parallelism, rate, period_ms")
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?;
    // A key without a row (a message from before its limits were kept) goes unlimited.
    let Some((parallelism, rate, period_ms)) = limits else { return Ok(wanted) };
    let mut allowed = wanted;
    if let Some(parallelism) = parallelism {
        let (in_flight,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM qstash_messages WHERE flow_key = $1 AND state = 'pending' AND locked_until > $2")
                .bind(key)
                .bind(now)
                .fetch_one(&mut *conn)
                .await?;
        allowed = allowed.min(parallelism - in_flight);
    }
    if let Some(rate) = rate {
        sqlx::query("DELETE FROM qstash_flow_starts WHERE flow_key = $1 AND started_at <= $2")
            .bind(key)
            .bind(now - period_ms)
            .execute(&mut *conn)
            .await?;
        let (started, oldest): (i64, Option<i64>) =
            sqlx::query_as("SELECT COUNT(*), MIN(started_at) FROM qstash_flow_starts WHERE flow_key = $1")
                .bind(key)
                .fetch_one(&mut *conn)
                .await?;
        if started >= rate {
            sqlx::query("UPDATE qstash_flow_keys SET blocked_until = $1 WHERE flow_key = $2")
                .bind(oldest.unwrap_or(now) + period_ms)
                .bind(key)
                .execute(&mut *conn)
                .await?;
        }
        allowed = allowed.min(rate - started);
    }
    Ok(allowed.max(0))
}

/// Logs `count` deliveries started under `key` now, for its rate window.
pub(super) async fn record_starts(conn: &mut sqlx::AnyConnection, key: &str, now: i64, count: usize) -> sqlx::Result<()> {
    for _ in 0..count {
        sqlx::query("INSERT INTO qstash_flow_starts (flow_key, started_at) VALUES ($1, $2)")
            .bind(key)
            .bind(now)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Leases (until `until`) up to `limit` due flow-controlled messages that are in no queue (queues
/// apply flow control to their own), as many per key as its limits allow now. Keys are taken in
/// name order, as publishes take them, so two transactions never wait on each other in a circle.
pub(super) async fn lease_due(conn: &mut sqlx::AnyConnection, now: i64, until: i64, limit: i64) -> sqlx::Result<Vec<MessageRow>> {
    // From the messages (a key whose row was pruned still gets its messages delivered, unlimited).
    let keys: Vec<(String,)> = sqlx::query_as(
        "SELECT DISTINCT m.flow_key FROM qstash_messages m LEFT JOIN qstash_flow_keys k ON k.flow_key = m.flow_key
         WHERE m.flow_key IS NOT NULL AND m.queue_name IS NULL AND m.state = 'pending' AND m.not_before <= $1
           AND m.locked_until <= $1 AND COALESCE(k.blocked_until, 0) <= $1
         ORDER BY m.flow_key LIMIT $2",
    )
    .bind(now)
    .bind(KEYS_PER_PASS)
    .fetch_all(&mut *conn)
    .await?;
    let mut leased = Vec::new();
    for (key,) in keys {
        let room = limit - leased.len() as i64;
        if room <= 0 {
            break;
        }
        let allowed = take(conn, &key, now, room).await?;
        if allowed <= 0 {
            continue;
        }
        let rows: Vec<MessageRow> = sqlx::query_as(&format!(
            "UPDATE qstash_messages SET locked_until = $1
             WHERE id IN (SELECT m.id FROM qstash_messages m WHERE m.flow_key = $2 AND m.queue_name IS NULL AND m.state = 'pending'
                          AND m.not_before <= $3 AND m.locked_until <= $3 ORDER BY m.not_before LIMIT $4)
               AND state = 'pending' AND not_before <= $3 AND locked_until <= $3
             RETURNING {COLUMNS}"
        ))
        .bind(until)
        .bind(&key)
        .bind(now)
        .bind(allowed)
        .fetch_all(&mut *conn)
        .await?;
        record_starts(conn, &key, now, rows.len()).await?;
        leased.extend(rows);
    }
    Ok(leased)
}

/// Keys no pending message uses, last set before `before`, with their logged starts.
pub(super) async fn prune(conn: &mut sqlx::AnyConnection, before: i64) -> sqlx::Result<u64> {
    let unused = "SELECT k.flow_key FROM qstash_flow_keys k WHERE k.updated_at < $1
        AND NOT EXISTS (SELECT 1 FROM qstash_messages m WHERE m.flow_key = k.flow_key AND m.state = 'pending')";
    let mut pruned = sqlx::query(&format!("DELETE FROM qstash_flow_starts WHERE flow_key IN ({unused})"))
        .bind(before)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    pruned += sqlx::query(&format!("DELETE FROM qstash_flow_keys WHERE flow_key IN ({unused})"))
        .bind(before)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(pruned)
}
