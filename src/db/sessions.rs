//! Sign-in sessions, looked up by the hash of the secret in the cookie.

use super::{now_ms, users, Db};

/// The account a live session or token belongs to (disabled accounts are not returned).
pub async fn user_for_session(db: &Db, secret_hash: &str) -> sqlx::Result<Option<users::UserRow>> {
    sqlx::query_as(&format!(
        "SELECT {} FROM users u WHERE u.disabled_at IS NULL AND u.password_hash IS NOT NULL AND u.id =
           (SELECT s.user_id FROM sessions s WHERE s.id_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2)",
        users::columns_of("u")
    ))
    .bind(secret_hash)
    .bind(now_ms())
    .fetch_optional(db)
    .await
}

pub async fn insert_session(db: &Db, secret_hash: &str, user_id: &str, expires_at: i64) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(secret_hash)
        .bind(user_id)
        .bind(now_ms())
        .bind(expires_at)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn revoke_session(db: &Db, secret_hash: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE id_hash = $1 AND revoked_at IS NULL")
        .bind(secret_hash)
        .bind(now_ms())
        .execute(db)
        .await?;
    Ok(())
}

/// Signs a user out everywhere (a password reset or a disabled account).
pub async fn revoke_all_sessions(db: &Db, user_id: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
        .bind(user_id)
        .bind(now_ms())
        .execute(db)
        .await?;
    Ok(())
}
