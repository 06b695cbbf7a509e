//! API tokens, looked up by the hash of the secret the script sends.

use super::{new_id, now_ms, users, Db};

/// Revokes every API token of a user (after a password reset).
pub async fn revoke_all_tokens(db: &Db, user_id: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
        .bind(user_id)
        .bind(now_ms())
        .execute(db)
        .await?;
    Ok(())
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

pub async fn user_for_token(db: &Db, secret_hash: &str) -> sqlx::Result<Option<users::UserRow>> {
    let user: Option<users::UserRow> = sqlx::query_as(&format!(
        "SELECT {} FROM users u WHERE u.disabled_at IS NULL AND u.password_hash IS NOT NULL AND u.id =
           (SELECT t.user_id FROM api_tokens t WHERE t.token_hash = $1 AND t.revoked_at IS NULL)",
        users::columns_of("u")
    ))
    .bind(secret_hash)
    .fetch_optional(db)
    .await?;
    if user.is_some() {
        // At most one write a minute per token, so a busy script does not turn reads into writes.
        let now = now_ms();
        sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE token_hash = $1 AND (last_used_at IS NULL OR last_used_at < $3)")
            .bind(secret_hash)
            .bind(now)
            .bind(now - 60_000)
            .execute(db)
            .await?;
    }
    Ok(user)
}

pub async fn insert_token(db: &Db, user_id: &str, name: &str, secret_hash: &str) -> sqlx::Result<TokenRow> {
    let (id, now) = (new_id(), now_ms());
    sqlx::query("INSERT INTO api_tokens (id, user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&id)
        .bind(user_id)
        .bind(name)
        .bind(secret_hash)
        .bind(now)
        .execute(db)
        .await?;
    Ok(TokenRow { id, name: name.to_string(), created_at: now, last_used_at: None })
}

/// A user's live tokens, newest first.
pub async fn list_tokens(db: &Db, user_id: &str) -> sqlx::Result<Vec<TokenRow>> {
    sqlx::query_as(
        "SELECT id, name, created_at, last_used_at FROM api_tokens WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC, id",
    )
    .bind(user_id)
    .fetch_all(db)
    .await
}

/// False when the token is not the user's (or already revoked).
pub async fn revoke_token(db: &Db, user_id: &str, id: &str) -> sqlx::Result<bool> {
    let done = sqlx::query("UPDATE api_tokens SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL")
        .bind(id)
        .bind(user_id)
        .bind(now_ms())
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}
