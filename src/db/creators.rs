//! `creators`: one row per creator a job found, unique per (job, platform, external id).

use super::{new_id, now_ms, Db};
use crate::providers::Creator;
use crate::shared::{CreatorPage, CreatorSort, CreatorView, Platform, CREATORS_PER_PAGE};
use sqlx::AnyConnection;
use std::sync::LazyLock;

#[derive(sqlx::FromRow)]
struct CreatorRow {
    platform: String,
    external_id: String,
    handle: String,
    name: String,
    followers: i64,
    bio: String,
    emails: String,
    avatar_url: String,
    verified: i64,
    profile_url: String,
    post_url: String,
    views: i64,
    likes: i64,
    comments: i64,
    shares: i64,
    matched_keyword: String,
    country: String,
    category: String,
    business_email: String,
}

impl From<CreatorRow> for CreatorView {
    fn from(r: CreatorRow) -> Self {
        CreatorView {
            platform: Platform::parse(&r.platform).unwrap_or_default(),
            external_id: r.external_id,
            handle: r.handle,
            name: r.name,
            followers: r.followers,
            bio: r.bio,
            emails: r.emails.split(' ').filter(|e| !e.is_empty()).map(str::to_string).collect(),
            avatar_url: r.avatar_url,
            verified: r.verified != 0,
            profile_url: r.profile_url,
            post_url: r.post_url,
            views: r.views,
            likes: r.likes,
            comments: r.comments,
            shares: r.shares,
            matched_keyword: r.matched_keyword,
            country: r.country,
            category: r.category,
            business_email: r.business_email,
        }
    }
}

const COLUMNS: &str = "platform, external_id, handle, name, followers, bio, emails, avatar_url, verified, profile_url, post_url, views, \
    likes, comments, shares, matched_keyword, country, category, business_email";

/// Inserts unless this job already has the creator; returns whether a row was added.
pub async fn insert(conn: &mut AnyConnection, job_id: &str, campaign_id: &str, position: i64, c: &Creator) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO creators (id, job_id, campaign_id, platform, external_id, position, handle, name, followers, bio, emails,
            avatar_url, verified, profile_url, post_url, views, likes, hashtags, matched_keyword, raw, created_at,
            comments, shares, country, category, business_email, profile_fetched_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
            $22, $23, $24, $25, $26, $27)
         ON CONFLICT (job_id, platform, external_id) DO NOTHING",
    )
    .bind(new_id())
    .bind(job_id)
    .bind(campaign_id)
    .bind(c.platform.as_str())
    .bind(&c.external_id)
    .bind(position)
    .bind(&c.handle)
    .bind(&c.name)
    .bind(c.followers)
    .bind(&c.bio)
    .bind(c.emails.join(" "))
    .bind(&c.avatar_url)
    .bind(c.verified as i64)
    .bind(&c.profile_url)
    .bind(&c.post_url)
    .bind(c.views)
    .bind(c.likes)
    .bind(serde_json::to_string(&c.hashtags).unwrap_or_else(|_| "[]".into()))
    .bind(&c.matched_keyword)
    .bind(c.raw.to_string())
    .bind(now_ms())
    .bind(c.comments)
    .bind(c.shares)
    .bind(&c.country)
    .bind(&c.category)
    .bind(&c.business_email)
    .bind(c.profile_fetched_at.unwrap_or(0))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The hashtags of a job's creators (JSON lists), for keyword expansion.
pub async fn hashtags_for_job(conn: &mut AnyConnection, job_id: &str) -> sqlx::Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT hashtags FROM creators WHERE job_id = $1").bind(job_id).fetch_all(&mut *conn).await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

pub async fn count_for_job(conn: &mut AnyConnection, job_id: &str) -> sqlx::Result<i64> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM creators WHERE job_id = $1").bind(job_id).fetch_one(&mut *conn).await?;
    Ok(n)
}

/// Which of `external_ids` this job already saved (so their profiles are not fetched again).
pub async fn known_ids(db: &Db, job_id: &str, platform: Platform, external_ids: &[String]) -> sqlx::Result<Vec<String>> {
    if external_ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (0..external_ids.len()).map(|i| format!("${}", i + 3)).collect();
    let sql =
        format!("SELECT external_id FROM creators WHERE job_id = $1 AND platform = $2 AND external_id IN ({})", placeholders.join(", "));
    let mut query = sqlx::query_as::<_, (String,)>(&sql).bind(job_id).bind(platform.as_str());
    for id in external_ids {
        query = query.bind(id);
    }
    Ok(query.fetch_all(db).await?.into_iter().map(|r| r.0).collect())
}

/// A profile some run bought recently, as stored on its creator row.
#[derive(sqlx::FromRow)]
pub struct CachedProfile {
    pub external_id: String,
    pub bio: String,
    pub emails: String,
    pub followers: i64,
    pub verified: i64,
    pub country: String,
    pub category: String,
    pub business_email: String,
    pub profile_fetched_at: i64,
}

impl CachedProfile {
    /// Fills `creator` in as the profile lookup did for the run that bought it.
    pub fn apply_to(self, creator: &mut Creator) {
        creator.bio = self.bio;
        creator.emails = self.emails.split(' ').filter(|e| !e.is_empty()).map(str::to_string).collect();
        if self.followers > 0 {
            creator.followers = self.followers;
        }
        creator.verified = creator.verified || self.verified != 0;
        creator.country = self.country;
        creator.category = self.category;
        creator.business_email = self.business_email;
        creator.profile_fetched_at = Some(self.profile_fetched_at);
    }
}

/// The newest profile of each of `external_ids` on `platform` bought at or after `since` (unix ms)
/// by any run.
pub async fn cached_profiles(db: &Db, platform: Platform, external_ids: &[String], since: i64) -> sqlx::Result<Vec<CachedProfile>> {
    if external_ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (0..external_ids.len()).map(|i| format!("${}", i + 3)).collect();
    let sql = format!(
        "SELECT external_id, bio, emails, followers, verified, country, category, business_email, profile_fetched_at
         FROM creators WHERE platform = $1 AND profile_fetched_at >= $2 AND profile_fetched_at > 0 AND external_id IN ({})
         ORDER BY profile_fetched_at DESC",
        placeholders.join(", ")
    );
    let mut query = sqlx::query_as::<_, CachedProfile>(&sql).bind(platform.as_str()).bind(since);
    for id in external_ids {
        query = query.bind(id);
    }
    let mut newest: Vec<CachedProfile> = Vec::new();
    for row in query.fetch_all(db).await? {
        if !newest.iter().any(|p| p.external_id == row.external_id) {
            newest.push(row);
        }
    }
    Ok(newest)
}

pub struct PageQuery {
    pub page: u32,
    pub sort: CreatorSort,
    pub has_email: bool,
}

/// One page of a job's creators; none unless the job is in `workspace` (`None`: any, for an admin's
/// reads). The workspace is part of the query, so a caller that forgot to check it first leaks nothing.
pub async fn page_for_job(db: &Db, workspace: Option<&str>, job_id: &str, q: &PageQuery) -> sqlx::Result<CreatorPage> {
    let filter = if q.has_email { " AND emails <> ''" } else { "" };
    let owned = " AND job_id IN (SELECT id FROM scraping_jobs WHERE id = $1 AND workspace_id = COALESCE($2, workspace_id))";
    let order = match q.sort {
        CreatorSort::FollowersDesc => "followers DESC, position",
        CreatorSort::FollowersAsc => "followers ASC, position",
        CreatorSort::ViewsDesc => "views DESC, position",
        CreatorSort::ViewsAsc => "views ASC, position",
    };
    let (total,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM creators WHERE job_id = $1{owned}{filter}"))
        .bind(job_id)
        .bind(workspace)
        .fetch_one(db)
        .await?;
    let page = q.page.max(1);
    // In i64: a page number near u32::MAX must not overflow (it simply reads an empty page).
    let offset = (i64::from(page) - 1) * i64::from(CREATORS_PER_PAGE);
    let rows: Vec<CreatorRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM creators WHERE job_id = $1{owned}{filter} ORDER BY {order} LIMIT $3 OFFSET $4"))
            .bind(job_id)
            .bind(workspace)
            .bind(CREATORS_PER_PAGE as i64)
            .bind(offset)
            .fetch_all(db)
            .await?;
    Ok(CreatorPage { creators: rows.into_iter().map(Into::into).collect(), total: total as u32, page, per_page: CREATORS_PER_PAGE })
}

/// The creators of a campaign in `workspace` (`None`: any, for an admin), or of one of its jobs, in
/// discovery order, as a stream: an export of any size is written as it is read, never held whole.
/// The same creator may come once per run; `export` keeps the first.
pub fn for_export<'a>(
    db: &'a Db,
    workspace: Option<&'a str>,
    campaign_id: &'a str,
    job_id: Option<&'a str>,
) -> futures::stream::BoxStream<'a, sqlx::Result<CreatorView>> {
    use futures::StreamExt;
    static ALL: LazyLock<String> = LazyLock::new(|| format!("SELECT {COLUMNS} FROM creators WHERE {OWNED} ORDER BY created_at, position, id"));
    static ONE_JOB: LazyLock<String> =
        LazyLock::new(|| format!("SELECT {COLUMNS} FROM creators WHERE {OWNED} AND job_id = $3 ORDER BY position, id"));
    let query = match job_id {
        Some(job_id) => sqlx::query_as::<_, CreatorRow>(ONE_JOB.as_str()).bind(campaign_id).bind(workspace).bind(job_id),
        None => sqlx::query_as::<_, CreatorRow>(ALL.as_str()).bind(campaign_id).bind(workspace),
    };
    query.fetch(db).map(|row| row.map(CreatorView::from)).boxed()
}

const OWNED: &str = "campaign_id IN (SELECT id FROM campaigns WHERE id = $1 AND workspace_id = COALESCE($2, workspace_id))";
