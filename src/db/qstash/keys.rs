//! The embedded server's signing keys, kept in the database so a rotation survives restarts and
//! reaches every instance.

use crate::config::{DEV_CURRENT_SIGNING_KEY, DEV_NEXT_SIGNING_KEY};
use crate::db::{now_ms, Db};
use crate::qstash::signing::{new_key, KeyPair};
use sha2::{Digest, Sha256};

const NAME: &str = "signing";

/// Which configured keys stored keys grew from (a hash, not the keys).
fn seed_of(current: &str, next: &str) -> String {
    Sha256::digest(format!("{current}\n{next}").as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

type Row = (String, String, Option<String>, String);

async fn read(conn: &mut sqlx::AnyConnection) -> sqlx::Result<Option<Row>> {
    sqlx::query_as("SELECT current_key, next_key, previous_key, seeded_from FROM qstash_keys WHERE name = $1")
        .bind(NAME)
        .fetch_optional(&mut *conn)
        .await
}

/// The keys in use: the stored ones when they grew from the configured `current` and `next`, else
/// the configured ones (stored, so a later rotation starts from them). Upstash's public dev keys as
/// a default (`chosen` false: nobody configured them) never replace stored keys: an instance on
/// loopback starting beside an exposed one (same database) would otherwise put keys anyone knows
/// under every instance's signatures. Configured on purpose, they do.
pub async fn load_or_seed(db: &Db, current: &str, next: &str, chosen: bool) -> sqlx::Result<KeyPair> {
    let seed = seed_of(current, next);
    let public = !chosen && current == DEV_CURRENT_SIGNING_KEY && next == DEV_NEXT_SIGNING_KEY;
    let mut tx = db.begin().await?;
    if let Some((c, n, p, seeded_from)) = read(&mut tx).await? {
        if seeded_from == seed || public {
            tx.commit().await?;
            return Ok(KeyPair { current: c, next: n, previous: p });
        }
    }
    sqlx::query("DELETE FROM qstash_keys WHERE name = $1").bind(NAME).execute(&mut *tx).await?;
    sqlx::query(
        "INSERT INTO qstash_keys (name, current_key, next_key, previous_key, seeded_from, updated_at) VALUES ($1, $2, $3, NULL, $4, $5)",
    )
    .bind(NAME)
    .bind(current)
    .bind(next)
    .bind(&seed)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(KeyPair { current: current.into(), next: next.into(), previous: None })
}

/// The stored keys (another instance may have rotated them).
pub async fn load(db: &Db) -> sqlx::Result<Option<KeyPair>> {
    let mut conn = db.acquire().await?;
    Ok(read(&mut conn).await?.map(|(current, next, previous, _)| KeyPair { current, next, previous }))
}

/// QStash's rotation: the next key becomes current, a new next key is made; the old current is kept
/// as `previous` for deliveries signed just before. One statement, so two rotations at once (or a
/// writer between a read and the update, which SQLite answers with "busy") cannot interleave.
pub async fn rotate(db: &Db) -> sqlx::Result<Option<KeyPair>> {
    let mut conn = db.acquire().await?;
    let row: Option<(String, String, Option<String>)> = sqlx::query_as(
        "UPDATE qstash_keys SET previous_key = current_key, current_key = next_key, next_key = $1, updated_at = $2
         WHERE name = $3 RETURNING current_key, next_key, previous_key",
    )
    .bind(new_key())
    .bind(now_ms())
    .bind(NAME)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(current, next, previous)| KeyPair { current, next, previous }))
}
