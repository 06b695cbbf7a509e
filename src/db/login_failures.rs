//! Failed sign-ins, by account and by client address, for throttling.

use super::{now_ms, Db};

/// How many failures `key` has since `since`, and when the oldest of them happened.
pub async fn recent(db: &Db, key: &str, since: i64) -> sqlx::Result<(i64, Option<i64>)> {
    sqlx::query_as("SELECT COUNT(*), MIN(at) FROM login_failures WHERE key = $1 AND at > $2").bind(key).bind(since).fetch_one(db).await
}

pub async fn record(db: &Db, keys: &[&str]) -> sqlx::Result<()> {
    let now = now_ms();
    for key in keys {
        sqlx::query("INSERT INTO login_failures (key, at) VALUES ($1, $2)").bind(*key).bind(now).execute(db).await?;
    }
    Ok(())
}

pub async fn clear(db: &Db, key: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE key = $1").bind(key).execute(db).await?;
    Ok(())
}

/// Forgets failures older than the window (called now and then so the table stays small).
pub async fn prune(db: &Db, before: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE at <= $1").bind(before).execute(db).await?;
    Ok(())
}
