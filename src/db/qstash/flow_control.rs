//! QStash flow control: messages published with the same `Upstash-Flow-Control-Key` share a limit of
//! deliveries at once (`parallelism`) and started per period (`rate` per `period`). Leasing them
//! takes the key's row lock first, so instances leasing at the same time see each other's leases.

use super::{MessageRow, COLUMNS, QUEUE_LETS_THROUGH};

/// A key's limits, as the latest publish with it set them.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowLimits {
    pub parallelism: Option<i64>,
    pub rate: Option<i64>,
    pub period_ms: i64,
}

pub(super) async fn upsert(conn: &mut sqlx::AnyConnection, key: &str, limits: &FlowLimits, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO qstash_flow_keys (flow_key, parallelism, rate, period_ms, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (flow_key) DO UPDATE SET parallelism = excluded.parallelism, rate = excluded.rate,
            period_ms = excluded.period_ms, updated_at = excluded.updated_at",
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

/// Leases (until `until`) up to `limit` due flow-controlled messages, as many per key as its limits
/// allow now, and logs their starts for the rate window.
pub(super) async fn lease_due(conn: &mut sqlx::AnyConnection, now: i64, until: i64, limit: i64) -> sqlx::Result<Vec<MessageRow>> {
    let keys: Vec<(String,)> = sqlx::query_as(&format!(
        "SELECT DISTINCT m.flow_key FROM qstash_messages m
         WHERE m.flow_key IS NOT NULL AND m.state = 'pending' AND m.not_before <= $1 AND m.locked_until <= $1 AND {QUEUE_LETS_THROUGH}"
    ))
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    let mut leased = Vec::new();
    for (key,) in keys {
        let room = limit - leased.len() as i64;
        if room <= 0 {
            break;
        }
        // Taking the key's row first makes another instance leasing the same key wait for this one.
        let limits: Option<(Option<i64>, Option<i64>, i64)> = sqlx::query_as(
            "UPDATE qstash_flow_keys SET updated_at = updated_at WHERE flow_key = $1 RETURNING parallelism, rate, period_ms",
        )
        .bind(&key)
        .fetch_optional(&mut *conn)
        .await?;
        let Some((parallelism, rate, period_ms)) = limits else { continue };
        let mut allowed = room;
        if let Some(parallelism) = parallelism {
            let (in_flight,): (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM qstash_messages WHERE flow_key = $1 AND state = 'pending' AND locked_until > $2")
                    .bind(&key)
                    .bind(now)
                    .fetch_one(&mut *conn)
                    .await?;
            allowed = allowed.min(parallelism - in_flight);
        }
        if let Some(rate) = rate {
            let window_start = now - period_ms;
            sqlx::query("DELETE FROM qstash_flow_starts WHERE flow_key = $1 AND started_at <= $2")
                .bind(&key)
                .bind(window_start)
                .execute(&mut *conn)
                .await?;
            let (started,): (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM qstash_flow_starts WHERE flow_key = $1").bind(&key).fetch_one(&mut *conn).await?;
            allowed = allowed.min(rate - started);
        }
        if allowed <= 0 {
            continue;
        }
        let rows: Vec<MessageRow> = sqlx::query_as(&format!(
            "UPDATE qstash_messages SET locked_until = $1
             WHERE id IN (SELECT m.id FROM qstash_messages m WHERE m.flow_key = $2 AND m.state = 'pending' AND m.not_before <= $3
                          AND m.locked_until <= $3 AND {QUEUE_LETS_THROUGH} ORDER BY m.not_before LIMIT $4)
               AND state = 'pending' AND not_before <= $3 AND locked_until <= $3
             RETURNING {COLUMNS}"
        ))
        .bind(until)
        .bind(&key)
        .bind(now)
        .bind(allowed)
        .fetch_all(&mut *conn)
        .await?;
        if rate.is_some() {
            for _ in &rows {
                sqlx::query("INSERT INTO qstash_flow_starts (flow_key, started_at) VALUES ($1, $2)")
                    .bind(&key)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
            }
        }
        leased.extend(rows);
    }
    Ok(leased)
}
