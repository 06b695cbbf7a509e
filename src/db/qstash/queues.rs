//! QStash queues: named, with a parallelism and a paused flag. Which of a queue's messages may be
//! delivered is decided where messages are leased (`QUEUE_LETS_THROUGH`); here they are kept.

use super::{cancel_in, now_ms, Db};

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

/// Creates the queue with QStash's defaults unless it exists.
pub(super) async fn ensure(conn: &mut sqlx::AnyConnection, name: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO qstash_queues (name, parallelism, paused, created_at, updated_at) VALUES ($1, $2, 0, $3, $3)
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(DEFAULT_PARALLELISM)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
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
