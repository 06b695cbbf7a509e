//! The embedded server's generated identity (token and first signing keys), made once and shared.

use crate::db::{now_ms, Db};

#[derive(Clone)]
pub struct Identity {
    pub token: String,
    pub current_key: String,
    pub next_key: String,
}

/// The stored identity, or `fresh` stored as it (the first instance to start wins a race; the
/// others read what it stored).
pub async fn load_or_store(db: &Db, fresh: Identity) -> sqlx::Result<Identity> {
    sqlx::query(
        "INSERT INTO qstash_identity (name, token, current_key, next_key, created_at) VALUES ('embedded', $1, $2, $3, $4)
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(&fresh.token)
    .bind(&fresh.current_key)
    .bind(&fresh.next_key)
    .bind(now_ms())
    .execute(db)
    .await?;
    let (token, current_key, next_key): (String, String, String) =
        sqlx::query_as("SELECT token, current_key, next_key FROM qstash_identity WHERE name = 'embedded'").fetch_one(db).await?;
    Ok(Identity { token, current_key, next_key })
}

/// The stored identity, if an instance made one.
pub async fn load(db: &Db) -> sqlx::Result<Option<Identity>> {
    let row: Option<(String, String, String)> =
        sqlx::query_as("SELECT token, current_key, next_key FROM qstash_identity WHERE name = 'embedded'").fetch_optional(db).await?;
    Ok(row.map(|(token, current_key, next_key)| Identity { token, current_key, next_key }))
}
