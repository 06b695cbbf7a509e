//! QStash queues: named, with a parallelism and a paused flag, numbering their messages in the order
//! enqueues commit; `lease_heads` takes the messages a queue lets through.

use super::{cancel_in, flow_control, now_ms, Db, MessageRow, COLUMNS};

/// Queues with messages waiting looked at per pass of the delivery loop, at most.
const QUEUES_PER_PASS: i64 = 256;

/// What a new queue (one created by enqueueing to it) starts with, as QStash does.
pub const DEFAULT_PARALLELISM: i64 = 1;

#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct QueueRow {
    pub name: String,
    pub parallelism: i64,
    pub paused: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// Messages of the queue not yet delivered (or given up on).
    pub lag: i64,
}

const SELECT: &str = "SELECT q.name, q.parallelism, q.paused, q.created_at, q.updated_at,
        (SELECT COUNT(*) FROM qstash_messages m WHERE m.queue_name = q.name AND m.state = 'pending') AS lag
     FROM qstash_queues q";

/// Creates the queue with QStash's defaults unless it exists; either way its row is locked to the
/// commit (`prepare` takes queues in name order, so concurrent publishes never deadlock).
pub(super) async fn ensure(conn: &mut sqlx::AnyConnection, name: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO qstash_queues (name, parallelism, paused, created_at, updated_at) VALUES ($1, $2, 0, $3, $3)
         ON CONFLICT (name) DO UPDATE SET next_seq = qstash_queues.next_seq",
    )
    .bind(name)
    .bind(DEFAULT_PARALLELISM)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The next number in the queue's order, taken under the queue row's lock (held to the commit, so
/// numbers follow the order enqueues commit in, also across instances).
pub(super) async fn next_seq(conn: &mut sqlx::AnyConnection, name: &str) -> sqlx::Result<i64> {
    let (seq,): (i64,) = sqlx::query_as("UPDATE qstash_queues SET next_seq = next_seq + 1 WHERE name = $1 RETURNING next_seq")
        .bind(name)
        .fetch_one(&mut *conn)
        .await?;
    Ok(seq)
}

/// Whether a queue named `name` exists or one more may be made (at most `max`).
pub async fn exists_or_room(db: &Db, name: &str, max: i64) -> sqlx::Result<bool> {
    let (exists, count): (i64, i64) =
        sqlx::query_as("SELECT (SELECT COUNT(*) FROM qstash_queues WHERE name = $1), (SELECT COUNT(*) FROM qstash_queues)")
            .bind(name)
            .fetch_one(db)
            .await?;
    Ok(exists > 0 || count < max)
}

/// Leases (until `until`) up to `limit` messages that queues let through: of each queue not paused,
/// its first `parallelism` messages in order, counting those in flight and those waiting for a
/// retry (so a queue delivers in order, a failing message holding the ones behind it, and never more
/// at once than its parallelism); a message still waiting out its initial delay holds nothing. The
/// ones among them that are due and not leased are taken, flow control permitting.
pub(super) async fn lease_heads(conn: &mut sqlx::AnyConnection, now: i64, until: i64, limit: i64) -> sqlx::Result<Vec<MessageRow>> {
    let queues: Vec<(String, i64)> = sqlx::query_as(
        "SELECT q.name, q.parallelism FROM qstash_queues q WHERE q.paused = 0 AND EXISTS (
             SELECT 1 FROM qstash_messages m WHERE m.queue_name = q.name AND m.state = 'pending'
               AND m.not_before <= $1 AND m.locked_until <= $1)
         ORDER BY q.name LIMIT $2",
    )
    .bind(now)
    .bind(QUEUES_PER_PASS)
    .fetch_all(&mut *conn)
    .await?;
    let mut leased = Vec::new();
    for (queue, parallelism) in queues {
        if leased.len() as i64 >= limit {
            break;
        }
        let heads: Vec<(String, i64, i64, Option<String>)> = sqlx::query_as(
            "SELECT id, not_before, locked_until, flow_key FROM qstash_messages
             WHERE queue_name = $1 AND state = 'pending' AND (not_before <= $2 OR retried > 0 OR locked_until > $2)
             ORDER BY queue_order LIMIT $3",
        )
        .bind(&queue)
        .bind(now)
        .bind(parallelism)
        .fetch_all(&mut *conn)
        .await?;
        for (id, not_before, locked_until, flow_key) in heads {
            if leased.len() as i64 >= limit || not_before > now || locked_until > now {
                continue;
            }
            if let Some(key) = &flow_key {
                if flow_control::take(conn, key, now, 1).await? < 1 {
                    continue;
                }
            }
            let row: Option<MessageRow> = sqlx::query_as(&format!(
                "UPDATE qstash_messages SET locked_until = $1 WHERE id = $2 AND state = 'pending' AND locked_until <= $3
                 RETURNING {COLUMNS}"
            ))
            .bind(until)
            .bind(&id)
            .bind(now)
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(row) = row {
                if let Some(key) = &flow_key {
                    flow_control::record_starts(conn, key, now, 1).await?;
                }
                leased.push(row);
            }
        }
    }
    Ok(leased)
}

/// Creates the queue or updates its parallelism and paused flag.
pub async fn upsert(db: &Db, name: &str, parallelism: i64, paused: bool) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO qstash_queues (name, parallelism, paused, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
         ON CONFLICT (name) DO UPDATE SET parallelism = excluded.parallelism, paused = excluded.paused, updated_at = excluded.updated_at",
    )
    .bind(name)
    .bind(parallelism)
    .bind(paused as i64)
    .bind(now_ms())
    .execute(db)
    .await?;
    Ok(())
}

pub async fn list(db: &Db) -> sqlx::Result<Vec<QueueRow>> {
    sqlx::query_as(&format!("{SELECT} ORDER BY q.name")).fetch_all(db).await
}

pub async fn find(db: &Db, name: &str) -> sqlx::Result<Option<QueueRow>> {
    sqlx::query_as(&format!("{SELECT} WHERE q.name = $1")).bind(name).fetch_optional(db).await
}

/// Pauses or resumes the queue; false when there is no such queue.
pub async fn set_paused(db: &Db, name: &str, paused: bool) -> sqlx::Result<bool> {
    let updated = sqlx::query("UPDATE qstash_queues SET paused = $1, updated_at = $2 WHERE name = $3")
        .bind(paused as i64)
        .bind(now_ms())
        .bind(name)
        .execute(db)
        .await?
        .rows_affected();
    Ok(updated == 1)
}

/// Deletes the queue and cancels the messages still waiting in it (a delivery in flight then
/// records nothing), together. False when there is no such queue.
pub async fn delete(db: &Db, name: &str) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    let deleted = sqlx::query("DELETE FROM qstash_queues WHERE name = $1").bind(name).execute(&mut *tx).await?.rows_affected() == 1;
    if deleted {
        let waiting: Vec<(String,)> = sqlx::query_as("SELECT id FROM qstash_messages WHERE queue_name = $1 AND state = 'pending'")
            .bind(name)
            .fetch_all(&mut *tx)
            .await?;
        for (id,) in waiting {
            cancel_in(&mut tx, &id).await?;
        }
    }
    tx.commit().await?;
    Ok(deleted)
}
