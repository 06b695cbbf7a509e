//! The delivery log QStash calls events (and logs): one row per state a message went through, newest
//! first, with the states QStash names (`CREATED`, `ACTIVE`, `RETRY`, `ERROR`, `DELIVERED`, `FAILED`,
//! `CANCEL_REQUESTED`, `CANCELED`).

use super::filter::{bound, Bind, Columns, Filter, Sql};
use crate::db::Db;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct EventRow {
    pub message_id: String,
    pub state: String,
    pub detail: Option<String>,
    pub created_at: i64,
    pub response_status: Option<i64>,
    pub next_delivery: Option<i64>,
    pub url: Option<String>,
    pub method: Option<String>,
    pub label: Option<String>,
    pub caller_ip: Option<String>,
    pub retries: Option<i64>,
    pub callback: Option<String>,
    pub failure_callback: Option<String>,
    pub retry_delay: Option<String>,
    pub queue_name: Option<String>,
    pub topic_name: Option<String>,
    pub endpoint_name: Option<String>,
    pub schedule_id: Option<String>,
    pub flow_key: Option<String>,
}

const EVENT_COLUMNS: Columns = Columns {
    message_id: "e.message_id",
    url: "m.destination",
    label: "m.label",
    caller_ip: "m.caller_ip",
    queue_name: "m.queue_name",
    topic_name: "m.topic_name",
    endpoint_name: "m.endpoint_name",
    schedule_id: "m.schedule_id",
    flow_key: "m.flow_key",
    time: "e.created_at",
    dlq_id: None,
    state: Some("e.state"),
    response_status: Some("e.response_status"),
};

/// A page of events, newest first (`limit` from `offset`); the bool says whether more follow.
pub async fn list(db: &Db, filter: &Filter, offset: i64, limit: i64) -> sqlx::Result<(Vec<EventRow>, bool)> {
    let mut sql = Sql::new(
        "SELECT e.message_id, e.state, e.detail, e.created_at, e.response_status, e.next_delivery, m.destination AS url,
            m.method, m.label, m.caller_ip, m.retries, m.callback, m.failure_callback, m.retry_delay, m.queue_name,
            m.topic_name, m.endpoint_name, m.schedule_id, m.flow_key
         FROM qstash_events e LEFT JOIN qstash_messages m ON m.id = e.message_id WHERE 1 = 1",
    );
    sql.filter(filter, &EVENT_COLUMNS);
    // Event ids grow with time within a process, so they order events of the same millisecond.
    sql.push(" ORDER BY e.created_at DESC, e.id DESC LIMIT ").bind(Bind::Int(limit + 1)).push(" OFFSET ").bind(Bind::Int(offset));
    let mut rows: Vec<EventRow> = bound!(sqlx::query_as::<_, EventRow>(&sql.text), &sql.binds).fetch_all(db).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    Ok((rows, more))
}
