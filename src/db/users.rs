//! Accounts and their personal workspaces. The built-in `local` user (no password) is the row the
//! first admin claims at setup.

use super::{new_id, now_ms, Db};

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub password_hash: Option<String>,
    pub role: String,
    pub workspace_id: String,
    pub disabled_at: Option<i64>,
    pub created_at: i64,
    pub max_runs_in_flight: Option<i64>,
    pub max_searches_per_day: Option<i64>,
    pub max_credits_per_month: Option<i64>,
}

impl UserRow {
    /// Whether this is a real account (the unclaimed built-in user is not).
    pub fn is_account(&self) -> bool {
        self.password_hash.is_some()
    }
}

pub(crate) const COLUMNS: &str =
    "id, email, password_hash, role, workspace_id, disabled_at, created_at, max_runs_in_flight, max_searches_per_day, max_credits_per_month";

/// `COLUMNS` prefixed with a table alias, for joins.
pub(crate) fn columns_of(alias: &str) -> String {
    COLUMNS.split(", ").map(|c| format!("{alias}.{c}")).collect::<Vec<_>>().join(", ")
}

/// Whether the first admin has claimed the built-in user (setup is done). Accounts made before
/// that (a member from the CLI) do not close setup.
pub async fn setup_done(db: &Db) -> sqlx::Result<bool> {
    let found: Option<(String,)> =
        sqlx::query_as("SELECT id FROM users WHERE id = 'local' AND password_hash IS NOT NULL").fetch_optional(db).await?;
    Ok(found.is_some())
}

/// A stored setup code older than this is replaced when an instance starts, so a code from an old
/// log (or a backup) stops working at the next start, while instances started together share one.
pub const SETUP_CODE_LIFETIME_MS: i64 = 3_600_000;

/// The setup code of this deployment: the stored one if it is younger than
/// `SETUP_CODE_LIFETIME_MS`, else `fresh`, stored as it (the first instance to start wins a race; the
/// others read what it stored).
pub async fn setup_code(db: &Db, fresh: &str) -> sqlx::Result<String> {
    let now = now_ms();
    sqlx::query("DELETE FROM setup_code WHERE name = 'setup' AND created_at < $1").bind(now - SETUP_CODE_LIFETIME_MS).execute(db).await?;
    sqlx::query("INSERT INTO setup_code (name, code, created_at) VALUES ('setup', $1, $2) ON CONFLICT (name) DO NOTHING")
        .bind(fresh)
        .bind(now)
        .execute(db)
        .await?;
    let (code,): (String,) = sqlx::query_as("SELECT code FROM setup_code WHERE name = 'setup'").fetch_one(db).await?;
    Ok(code)
}

/// The setup code setup accepts now (another instance may have replaced the one this one printed).
pub async fn current_setup_code(db: &Db) -> sqlx::Result<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as("SELECT code FROM setup_code WHERE name = 'setup'").fetch_optional(db).await?;
    Ok(row.map(|(code,)| code))
}

/// Setup is done: the code is of no more use.
pub async fn forget_setup_code(db: &Db) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM setup_code WHERE name = 'setup'").execute(db).await?;
    Ok(())
}

pub async fn find(db: &Db, id: &str) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1")).bind(id).fetch_optional(db).await
}

pub async fn find_by_email(db: &Db, email: &str) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE email = $1 AND password_hash IS NOT NULL"))
        .bind(email)
        .fetch_optional(db)
        .await
}

/// Accounts, oldest first.
pub async fn list(db: &Db) -> sqlx::Result<Vec<UserRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE password_hash IS NOT NULL ORDER BY created_at, id")).fetch_all(db).await
}

/// Makes the built-in user the first admin; false when an account already claimed it. One UPDATE,
/// so of two setups at once exactly one wins (on both databases).
pub async fn claim_first_admin(db: &Db, email: &str, password_hash: &str) -> sqlx::Result<bool> {
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE users SET email = $1, password_hash = $2, role = 'admin', created_at = $3, updated_at = $3
         WHERE id = 'local' AND password_hash IS NULL",
    )
    .bind(email)
    .bind(password_hash)
    .bind(now)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub enum Inserted {
    Created(UserRow),
    EmailTaken,
}

/// A new account with its own personal workspace.
pub async fn insert(db: &Db, email: &str, password_hash: &str, role: &str) -> sqlx::Result<Inserted> {
    let now = now_ms();
    let (id, workspace_id) = (new_id(), new_id());
    let mut tx = db.begin().await?;
    sqlx::query("INSERT INTO workspaces (id, name, created_at) VALUES ($1, 'Personal', $2)")
        .bind(&workspace_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    let inserted = sqlx::query(
        "INSERT INTO users (id, email, password_hash, role, workspace_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (email) DO NOTHING",
    )
    .bind(&id)
    .bind(email)
    .bind(password_hash)
    .bind(role)
    .bind(&workspace_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(Inserted::EmailTaken);
    }
    tx.commit().await?;
    Ok(match find(db, &id).await? {
        Some(user) => Inserted::Created(user),
        None => Inserted::EmailTaken,
    })
}

pub async fn set_password(db: &Db, id: &str, password_hash: &str) -> sqlx::Result<bool> {
    let done = sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1 AND password_hash IS NOT NULL")
        .bind(id)
        .bind(password_hash)
        .bind(now_ms())
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_disabled(db: &Db, id: &str, disabled: bool) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE users SET disabled_at = CASE WHEN $2 = 1 THEN COALESCE(disabled_at, $3) ELSE NULL END, updated_at = $3
         WHERE id = $1 AND password_hash IS NOT NULL",
    )
    .bind(id)
    .bind(disabled as i64)
    .bind(now_ms())
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Admin-set limits; `None` means the instance default.
pub async fn set_limits(db: &Db, id: &str, runs: Option<i64>, per_day: Option<i64>, credits: Option<i64>) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE users SET max_runs_in_flight = $2, max_searches_per_day = $3, max_credits_per_month = $4, updated_at = $5
         WHERE id = $1 AND password_hash IS NOT NULL",
    )
    .bind(id)
    .bind(runs)
    .bind(per_day)
    .bind(credits)
    .bind(now_ms())
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes the user's row lock inside `conn`'s transaction (a write, so SQLite takes its write lock
/// too): a user's concurrent starts are counted against their limits one at a time.
pub async fn lock(conn: &mut sqlx::AnyConnection, id: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET updated_at = updated_at WHERE id = $1").bind(id).execute(&mut *conn).await?;
    Ok(())
}
