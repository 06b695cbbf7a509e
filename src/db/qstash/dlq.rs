//! The dead-letter queue: a message QStash gave up on gets an entry (written with the attempt that
//! gave up), with the destination's last answer. Entries are listed, deleted, or retried as new
//! messages.

use super::{
    filter::{bound, Bind, Columns, Filter, Sql},
    insert_event, insert_message, MessageRow, NewMessage, COLUMNS,
};
use crate::db::{new_id, now_ms, Db};

/// The destination's last answer, kept with the entry.
pub struct NewDlqEntry<'a> {
    pub dlq_id: &'a str,
    pub response_status: i64,
    /// JSON `{Name: [values]}`.
    pub response_headers: &'a str,
    /// Base64 of the response body.
    pub response_body: &'a str,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DlqRow {
    pub dlq_id: String,
    pub response_status: i64,
    pub response_headers: String,
    pub response_body: String,
    pub dlq_created_at: i64,
    #[sqlx(flatten)]
    pub message: MessageRow,
}

/// A QStash-style id: the time and a random part (`1725323658779-3f2a…`).
pub fn new_dlq_id() -> String {
    format!("{}-{}", now_ms(), &new_id()[..12])
}

pub(super) async fn insert(conn: &mut sqlx::AnyConnection, message_id: &str, entry: &NewDlqEntry<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO qstash_dlq (dlq_id, message_id, response_status, response_headers, response_body, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(entry.dlq_id)
    .bind(message_id)
    .bind(entry.response_status)
    .bind(entry.response_headers)
    .bind(entry.response_body)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

const DLQ_COLUMNS: Columns = Columns {
    message_id: "m.id",
    url: "m.destination",
    label: "m.label",
    caller_ip: "m.caller_ip",
    queue_name: "m.queue_name",
    topic_name: "m.topic_name",
    endpoint_name: "m.endpoint_name",
    schedule_id: "m.schedule_id",
    flow_key: "m.flow_key",
    time: "d.created_at",
    dlq_id: Some("d.dlq_id"),
    state: None,
    response_status: Some("d.response_status"),
};

fn select(filter: &Filter) -> Sql {
    let columns: Vec<String> = COLUMNS.split(", ").map(|c| format!("m.{}", c.trim())).collect();
    let mut sql = Sql::new(&format!(
        "SELECT d.dlq_id, d.response_status, d.response_headers, d.response_body, d.created_at AS dlq_created_at, {}
         FROM qstash_dlq d JOIN qstash_messages m ON m.id = d.message_id WHERE 1 = 1",
        columns.join(", ")
    ));
    sql.filter(filter, &DLQ_COLUMNS);
    sql
}

/// A page of entries (`limit` from `offset`, oldest first unless `newest_first`); the bool says
/// whether more follow.
pub async fn list(db: &Db, filter: &Filter, newest_first: bool, offset: i64, limit: i64) -> sqlx::Result<(Vec<DlqRow>, bool)> {
    let mut sql = select(filter);
    sql.push(if newest_first { " ORDER BY d.created_at DESC, d.dlq_id DESC" } else { " ORDER BY d.created_at, d.dlq_id" });
    sql.push(" LIMIT ").bind(Bind::Int(limit + 1)).push(" OFFSET ").bind(Bind::Int(offset));
    let mut rows: Vec<DlqRow> = bound!(sqlx::query_as::<_, DlqRow>(&sql.text), &sql.binds).fetch_all(db).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    Ok((rows, more))
}

pub async fn find(db: &Db, dlq_id: &str) -> sqlx::Result<Option<DlqRow>> {
    let filter = Filter { dlq_ids: vec![dlq_id.to_string()], ..Default::default() };
    let sql = select(&filter);
    bound!(sqlx::query_as::<_, DlqRow>(&sql.text), &sql.binds).fetch_optional(db).await
}

/// Deletes the entries; how many there were.
pub async fn delete(db: &Db, dlq_ids: &[String]) -> sqlx::Result<u64> {
    let mut deleted = 0;
    for id in dlq_ids {
        deleted += sqlx::query("DELETE FROM qstash_dlq WHERE dlq_id = $1").bind(id).execute(db).await?.rows_affected();
    }
    Ok(deleted)
}

/// Publishes the entry's message again as a new message (its options kept, `retries` overridden
/// when given) and removes the entry, in one transaction; the new message's id, or None when the
/// entry is gone (deleted, or retried by someone else first).
pub async fn retry(db: &Db, dlq_id: &str, retries: Option<i64>) -> sqlx::Result<Option<String>> {
    let Some(entry) = find(db, dlq_id).await? else { return Ok(None) };
    let m = &entry.message;
    let mut tx = db.begin().await?;
    let removed = sqlx::query("DELETE FROM qstash_dlq WHERE dlq_id = $1").bind(dlq_id).execute(&mut *tx).await?.rows_affected() == 1;
    if !removed {
        tx.rollback().await?;
        return Ok(None);
    }
    let now = now_ms();
    let id = format!("msg_{}", new_id());
    let message = NewMessage {
        destination: &m.destination,
        method: &m.method,
        body_base64: &m.body,
        headers_json: &m.headers,
        retries: retries.unwrap_or(m.retries),
        not_before: now,
        callback: m.callback.as_deref(),
        failure_callback: m.failure_callback.as_deref(),
        dedup_id: None,
        caller_ip: m.caller_ip.as_deref(),
        retry_delay: m.retry_delay.as_deref(),
        timeout_ms: m.timeout_ms,
        label: m.label.as_deref(),
        callback_options: m.callback_options.as_deref(),
        failure_callback_options: m.failure_callback_options.as_deref(),
        // Back into its queue (at the end), which may have been deleted since.
        queue_name: m.queue_name.as_deref(),
        topic_name: m.topic_name.as_deref(),
        endpoint_name: m.endpoint_name.as_deref(),
        schedule_id: m.schedule_id.as_deref(),
        // Under its key's current limits.
        flow_key: m.flow_key.as_deref(),
        flow_limits: None,
    };
    if let Some(queue) = message.queue_name {
        super::queues::ensure(&mut tx, queue, now).await?;
    }
    insert_message(&mut tx, &id, &message, now).await?;
    insert_event(&mut tx, &id, "CREATED", None).await?;
    tx.commit().await?;
    Ok(Some(id))
}
