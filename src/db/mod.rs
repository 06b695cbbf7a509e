//! The connection pool, migrations and one repository file per table group. One binary serves SQLite
//! and PostgreSQL through `sqlx::Any`; ids are TEXT, timestamps BIGINT unix ms, JSON TEXT.

pub mod api_tokens;
pub mod campaigns;
pub mod creators;
pub mod jobs;
pub mod login_failures;
pub mod qstash;
pub mod sessions;
pub mod users;
pub mod webhook_tokens;

use anyhow::Context;
use sqlx::any::AnyPoolOptions;

pub type Db = sqlx::AnyPool;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of(url: &str) -> Self {
        if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        }
    }
}

/// Opens the pool for `url` (creating a SQLite file and its folder when missing) and migrates it.
pub async fn connect(url: &str) -> anyhow::Result<Db> {
    let pool = open(
        url,
        match Backend::of(url) {
            Backend::Sqlite => 8,
            Backend::Postgres => 16,
        },
    )
    .await?;
    match Backend::of(url) {
        Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&pool).await,
        Backend::Postgres => sqlx::migrate!("migrations/postgres").run(&pool).await,
    }
    .context("Failed to run database migrations")?;
    Ok(pool)
}

/// A second, small pool on the database `connect` opened, for the embedded QStash server's lease
/// renewals: a delivery keeps its lease even while every connection of the app's pool is busy (a
/// lapsed lease would have the step run twice).
pub async fn connect_for_leases(url: &str) -> anyhow::Result<Db> {
    open(url, 2).await
}

async fn open(url: &str, max_connections: u32) -> anyhow::Result<Db> {
    sqlx::any::install_default_drivers();
    let backend = Backend::of(url);
    let url = match backend {
        Backend::Sqlite => sqlite_url(url).context("Failed to prepare the SQLite database path")?,
        Backend::Postgres => url.to_string(),
    };
    let pool = AnyPoolOptions::new()
        .max_connections(max_connections)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    // WAL lets readers (the progress poll, the results table) run beside the writer;
                    // the busy timeout makes concurrent writers wait instead of failing.
                    sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                    sqlx::query("PRAGMA busy_timeout = 15000").execute(&mut *conn).await?;
                    sqlx::query("PRAGMA synchronous = NORMAL").execute(&mut *conn).await?;
                    sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await?;
                }
                Ok(())
            })
        })
        .connect(&url)
        .await
        .with_context(|| format!("Failed to connect to the database ({})", redact(&url)))?;
    Ok(pool)
}

fn sqlite_url(url: &str) -> anyhow::Result<String> {
    let rest = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = rest.split('?').next().unwrap_or_default();
    if !path.is_empty() && path != ":memory:" {
        if let Some(parent) = std::path::Path::new(path).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).with_context(|| format!("Failed to create {}", parent.display()))?;
            }
        }
    }
    Ok(if rest.contains("mode=") {
        url.to_string()
    } else if rest.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    })
}

/// A database URL safe to log: the password is replaced.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme + 3], &creds[..colon], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_logged() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }

    #[test]
    fn sqlite_files_are_created_on_demand() {
        assert_eq!(sqlite_url("sqlite::memory:").unwrap(), "sqlite::memory:?mode=rwc");
    }
}
