//! The ids (`jti`) of the QStash delivery tokens already accepted, kept until each token expires.

use super::{now_ms, Db};

/// Records `jti`; false when it was already there (the same delivery token, replayed).
pub async fn remember(db: &Db, jti: &str, expires_at_ms: i64) -> sqlx::Result<bool> {
    let done = sqlx::query("INSERT INTO webhook_tokens_seen (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING")
        .bind(jti)
        .bind(expires_at_ms)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Forgets tokens that can no longer be replayed (they have expired).
pub async fn prune(db: &Db) -> sqlx::Result<u64> {
    // A minute's margin beyond expiry covers the receiver's clock leeway.
    let done = sqlx::query("DELETE FROM webhook_tokens_seen WHERE expires_at < $1").bind(now_ms() - 60_000).execute(db).await?;
    Ok(done.rows_affected())
}
