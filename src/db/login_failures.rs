//! Sign-in attempts that failed (or are being checked), by account and by client address.

use super::{new_id, Db};

/// How many rows `key` has since `since`, and when the oldest of them happened.
pub async fn recent(db: &Db, key: &str, since: i64) -> sqlx::Result<(i64, Option<i64>)> {
    sqlx::query_as("SELECT COUNT(*), MIN(at) FROM login_failures WHERE key = $1 AND at > $2").bind(key).bind(since).fetch_one(db).await
}

/// Records one attempt for `key` at `at`; returns its id.
pub async fn record(db: &Db, key: &str, at: i64) -> sqlx::Result<String> {
    let id = new_id();
    sqlx::query("INSERT INTO login_failures (id, key, at) VALUES ($1, $2, $3)").bind(&id).bind(key).bind(at).execute(db).await?;
    Ok(id)
}

pub async fn forget(db: &Db, ids: &[String]) -> sqlx::Result<()> {
    for id in ids {
        sqlx::query("DELETE FROM login_failures WHERE id = $1").bind(id).execute(db).await?;
    }
    Ok(())
}

pub async fn clear(db: &Db, key: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE key = $1").bind(key).execute(db).await?;
    Ok(())
}

/// Forgets attempts older than the window, so the table stays small.
pub async fn prune(db: &Db, before: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE at <= $1").bind(before).execute(db).await?;
    Ok(())
}
