//! QStash URL groups ("topics" in its API): a name and its endpoints (a URL, optionally named).

use super::{now_ms, Db};

#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct EndpointRow {
    pub url: String,
    pub endpoint_name: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct UrlGroupRow {
    pub name: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub endpoints: Vec<EndpointRow>,
}

/// What `add_endpoints` did.
#[derive(Debug, PartialEq)]
pub enum Added {
    Done,
    /// Nothing: the group would have more than `max_endpoints`, or it is new and there are
    /// `max_groups` already.
    TooMany,
}

/// Adds endpoints to the group (creating it): an endpoint whose URL is there already gets the new
/// name; a name another URL of the group had moves to this one (names are unique in a group).
pub async fn add_endpoints(db: &Db, group: &str, endpoints: &[EndpointRow], max_endpoints: i64, max_groups: i64) -> sqlx::Result<Added> {
    let now = now_ms();
    // Writes first, checks after (a read first could leave SQLite unable to write: "busy").
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO qstash_url_groups (name, created_at, updated_at) VALUES ($1, $2, $2)
         ON CONFLICT (name) DO UPDATE SET updated_at = excluded.updated_at",
    )
    .bind(group)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    for endpoint in endpoints {
        if let Some(name) = &endpoint.endpoint_name {
            sqlx::query("DELETE FROM qstash_url_group_endpoints WHERE group_name = $1 AND endpoint_name = $2 AND url <> $3")
                .bind(group)
                .bind(name)
                .bind(&endpoint.url)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO qstash_url_group_endpoints (group_name, url, endpoint_name, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (group_name, url) DO UPDATE SET endpoint_name = excluded.endpoint_name",
        )
        .bind(group)
        .bind(&endpoint.url)
        .bind(&endpoint.endpoint_name)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    let (count, groups): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM qstash_url_group_endpoints WHERE group_name = $1), (SELECT COUNT(*) FROM qstash_url_groups)",
    )
    .bind(group)
    .fetch_one(&mut *tx)
    .await?;
    if count > max_endpoints || groups > max_groups {
        tx.rollback().await?;
        return Ok(Added::TooMany);
    }
    tx.commit().await?;
    Ok(Added::Done)
}

/// Removes the endpoints matching each (url, name) given (either may be left out); a group left
/// without endpoints is deleted, as QStash does. False when there is no such group.
pub async fn remove_endpoints(db: &Db, group: &str, endpoints: &[(Option<String>, Option<String>)]) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    // The group's row first: a write, which takes SQLite's write lock before anything is read.
    let exists = sqlx::query("UPDATE qstash_url_groups SET updated_at = $1 WHERE name = $2")
        .bind(now_ms())
        .bind(group)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if !exists {
        tx.rollback().await?;
        return Ok(false);
    }
    for (url, name) in endpoints {
        sqlx::query(
            "DELETE FROM qstash_url_group_endpoints WHERE group_name = $1
               AND ($2 IS NULL OR url = $2) AND ($3 IS NULL OR endpoint_name = $3)",
        )
        .bind(group)
        .bind(url)
        .bind(name)
        .execute(&mut *tx)
        .await?;
    }
    let (left,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM qstash_url_group_endpoints WHERE group_name = $1").bind(group).fetch_one(&mut *tx).await?;
    if left == 0 {
        sqlx::query("DELETE FROM qstash_url_groups WHERE name = $1").bind(group).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(true)
}

pub async fn find(db: &Db, name: &str) -> sqlx::Result<Option<UrlGroupRow>> {
    let group: Option<(String, i64, i64)> =
        sqlx::query_as("SELECT name, created_at, updated_at FROM qstash_url_groups WHERE name = $1").bind(name).fetch_optional(db).await?;
    let Some((name, created_at, updated_at)) = group else { return Ok(None) };
    let endpoints = endpoints_of(db, &name).await?;
    Ok(Some(UrlGroupRow { name, created_at, updated_at, endpoints }))
}

pub async fn list(db: &Db) -> sqlx::Result<Vec<UrlGroupRow>> {
    let groups: Vec<(String, i64, i64)> =
        sqlx::query_as("SELECT name, created_at, updated_at FROM qstash_url_groups ORDER BY name").fetch_all(db).await?;
    let mut out = Vec::with_capacity(groups.len());
    for (name, created_at, updated_at) in groups {
        let endpoints = endpoints_of(db, &name).await?;
        out.push(UrlGroupRow { name, created_at, updated_at, endpoints });
    }
    Ok(out)
}

async fn endpoints_of(db: &Db, group: &str) -> sqlx::Result<Vec<EndpointRow>> {
    sqlx::query_as("SELECT url, endpoint_name FROM qstash_url_group_endpoints WHERE group_name = $1 ORDER BY created_at, url")
        .bind(group)
        .fetch_all(db)
        .await
}

/// Deletes the group and its endpoints (messages already published to it stay); false when there
/// is no such group.
pub async fn delete(db: &Db, name: &str) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM qstash_url_group_endpoints WHERE group_name = $1").bind(name).execute(&mut *tx).await?;
    let deleted = sqlx::query("DELETE FROM qstash_url_groups WHERE name = $1").bind(name).execute(&mut *tx).await?.rows_affected() == 1;
    tx.commit().await?;
    Ok(deleted)
}
