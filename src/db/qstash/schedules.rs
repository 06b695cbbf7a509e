//! QStash schedules: what each tick publishes (options and body, kept as given), and when the next
//! tick is. A tick is claimed and its messages stored in one transaction, so with several instances
//! (or a crash between the two) a tick is published exactly once.

use super::{now_ms, prepare, publish_in, Db, NewMessage};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ScheduleRow {
    pub schedule_id: String,
    pub cron: String,
    pub destination: String,
    pub queue_name: Option<String>,
    pub options: String,
    pub body: String,
    pub summary: String,
    pub paused: i64,
    pub next_run: Option<i64>,
    pub last_run: Option<i64>,
    pub last_messages: Option<String>,
    pub error: Option<String>,
    pub caller_ip: Option<String>,
    pub created_at: i64,
}

const COLUMNS: &str = "schedule_id, cron, destination, queue_name, options, body, summary, paused, next_run, last_run, \
    last_messages, error, caller_ip, created_at";

pub struct NewSchedule<'a> {
    pub schedule_id: &'a str,
    pub cron: &'a str,
    pub destination: &'a str,
    pub queue_name: Option<&'a str>,
    pub options: &'a str,
    pub body: &'a str,
    pub summary: &'a str,
    pub next_run: Option<i64>,
    pub caller_ip: Option<&'a str>,
}

/// Creates the schedule, or replaces the one with its id (which keeps its creation time and whether
/// it is paused, and starts over from the new cron).
pub async fn upsert(db: &Db, s: &NewSchedule<'_>) -> sqlx::Result<()> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO qstash_schedules (schedule_id, cron, destination, queue_name, options, body, summary, paused, next_run,
            caller_ip, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10, $10)
         ON CONFLICT (schedule_id) DO UPDATE SET cron = excluded.cron, destination = excluded.destination,
            queue_name = excluded.queue_name, options = excluded.options, body = excluded.body, summary = excluded.summary,
            next_run = excluded.next_run, caller_ip = excluded.caller_ip, error = NULL, updated_at = excluded.updated_at",
    )
    .bind(s.schedule_id)
    .bind(s.cron)
    .bind(s.destination)
    .bind(s.queue_name)
    .bind(s.options)
    .bind(s.body)
    .bind(s.summary)
    .bind(s.next_run)
    .bind(s.caller_ip)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Whether the schedule exists or one more may be made (at most `max`).
pub async fn exists_or_room(db: &Db, id: &str, max: i64) -> sqlx::Result<bool> {
    let (exists, count): (i64, i64) =
        sqlx::query_as("SELECT (SELECT COUNT(*) FROM qstash_schedules WHERE schedule_id = $1), (SELECT COUNT(*) FROM qstash_schedules)")
            .bind(id)
            .fetch_one(db)
            .await?;
    Ok(exists > 0 || count < max)
}

pub async fn find(db: &Db, id: &str) -> sqlx::Result<Option<ScheduleRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM qstash_schedules WHERE schedule_id = $1")).bind(id).fetch_optional(db).await
}

pub async fn list(db: &Db) -> sqlx::Result<Vec<ScheduleRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM qstash_schedules ORDER BY created_at, schedule_id")).fetch_all(db).await
}

/// Schedules not paused whose next tick is due at `now`.
pub async fn due(db: &Db, now: i64, limit: i64) -> sqlx::Result<Vec<ScheduleRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM qstash_schedules WHERE paused = 0 AND next_run <= $1 ORDER BY next_run LIMIT $2"))
        .bind(now)
        .bind(limit)
        .fetch_all(db)
        .await
}

/// Publishes the tick due at `due_at` (unless another instance did, or the schedule changed since)
/// and moves the schedule on to `next_run`; whether this call published it.
pub async fn fire(
    db: &Db,
    id: &str,
    due_at: i64,
    next_run: Option<i64>,
    messages: &[NewMessage<'_>],
    dedup_window_ms: i64,
) -> sqlx::Result<bool> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    let claimed = sqlx::query(
        "UPDATE qstash_schedules SET next_run = $1, last_run = $2, error = NULL, updated_at = $2
         WHERE schedule_id = $3 AND next_run = $4 AND paused = 0",
    )
    .bind(next_run)
    .bind(now)
    .bind(id)
    .bind(due_at)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !claimed {
        tx.rollback().await?;
        return Ok(false);
    }
    prepare(&mut tx, messages).await?;
    let mut ids = Vec::with_capacity(messages.len());
    for msg in messages {
        if let super::Published::Created(id) = publish_in(&mut tx, msg, dedup_window_ms).await? {
            ids.push(id);
        }
    }
    sqlx::query("UPDATE qstash_schedules SET last_messages = $1 WHERE schedule_id = $2")
        .bind(serde_json::to_string(&ids).unwrap_or_default())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// A tick that could not be published (its URL group is gone): the error is kept, the schedule moves on.
pub async fn skip(db: &Db, id: &str, due_at: i64, next_run: Option<i64>, error: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE qstash_schedules SET next_run = $1, last_run = $2, error = $3, updated_at = $2 WHERE schedule_id = $4 AND next_run = $5",
    )
    .bind(next_run)
    .bind(now_ms())
    .bind(error)
    .bind(id)
    .bind(due_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Pauses, or resumes from `next_run` (the next tick after now: ticks missed while paused are not
/// made up); false when there is no such schedule.
pub async fn set_paused(db: &Db, id: &str, paused: bool, next_run: Option<i64>) -> sqlx::Result<bool> {
    let updated = sqlx::query(
        "UPDATE qstash_schedules SET paused = $1, next_run = CASE WHEN $1 = 0 THEN $2 ELSE next_run END, updated_at = $3
         WHERE schedule_id = $4",
    )
    .bind(paused as i64)
    .bind(next_run)
    .bind(now_ms())
    .bind(id)
    .execute(db)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

pub async fn delete(db: &Db, id: &str) -> sqlx::Result<bool> {
    Ok(sqlx::query("DELETE FROM qstash_schedules WHERE schedule_id = $1").bind(id).execute(db).await?.rows_affected() == 1)
}

/// The states of the messages the last tick made, as QStash reports them (`IN_PROGRESS`, `SUCCESS`,
/// `FAIL`), by message id; messages pruned since are left out.
pub async fn message_states(db: &Db, ids: &[String]) -> sqlx::Result<Vec<(String, String)>> {
    let mut sql = super::filter::Sql::new("SELECT id, state FROM qstash_messages WHERE 1 = 1");
    let filter = super::filter::Filter { message_ids: ids.to_vec(), matches_nothing: ids.is_empty(), ..Default::default() };
    sql.filter(&filter, &super::MESSAGE_COLUMNS);
    let rows: Vec<(String, String)> =
        super::filter::bound!(sqlx::query_as::<_, (String, String)>(&sql.text), &sql.binds).fetch_all(db).await?;
    Ok(rows
        .into_iter()
        .map(|(id, state)| {
            let state = match state.as_str() {
                "delivered" => "SUCCESS",
                "pending" => "IN_PROGRESS",
                _ => "FAIL",
            };
            (id, state.to_string())
        })
        .collect())
}
