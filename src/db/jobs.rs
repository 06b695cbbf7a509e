//! `scraping_jobs` and `job_lanes`. Every state change is guarded (by status, and by step number where
//! a webhook delivery drives it) so duplicate or late deliveries change nothing.

use super::{now_ms, Db};
use crate::shared::{JobStatus, JobView};
use sqlx::AnyConnection;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct JobRow {
    pub id: String,
    pub user_id: String,
    pub campaign_id: String,
    pub platform: String,
    pub search_type: String,
    pub keywords: String,
    pub target_results: i64,
    pub status: String,
    pub step: i64,
    pub processed_runs: i64,
    pub processed_results: i64,
    pub progress: i64,
    pub qstash_message_id: Option<String>,
    pub last_error: Option<String>,
    pub note: Option<String>,
    pub retry_count: i64,
    pub timeout_at: i64,
    /// Until when the job waits on purpose (provider Retry-After, QStash backoff); 0 when it does not.
    pub resume_at: i64,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl JobRow {
    pub fn status(&self) -> JobStatus {
        JobStatus::parse(&self.status).unwrap_or(JobStatus::Error)
    }

    pub fn keyword_list(&self) -> Vec<String> {
        serde_json::from_str(&self.keywords).unwrap_or_default()
    }

    pub fn view(&self) -> JobView {
        JobView {
            id: self.id.clone(),
            campaign_id: self.campaign_id.clone(),
            platform: self.platform.clone(),
            keywords: self.keyword_list(),
            status: self.status(),
            progress: self.progress.clamp(0, 100) as u32,
            processed_runs: self.processed_runs.max(0) as u32,
            processed_results: self.processed_results.max(0) as u32,
            target_results: self.target_results.max(0) as u32,
            error: self.last_error.clone().filter(|_| self.status().is_terminal() && self.status() != JobStatus::Completed),
            note: self.note.clone(),
            created_at: self.created_at,
        }
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct LaneRow {
    pub job_id: String,
    pub lane: i64,
    pub keyword: String,
    pub cursor: Option<String>,
    pub runs: i64,
    pub exhausted: i64,
}

const COLUMNS: &str = "id, user_id, campaign_id, platform, search_type, keywords, target_results, status, step, \
    processed_runs, processed_results, progress, qstash_message_id, last_error, note, retry_count, timeout_at, \
    resume_at, started_at, completed_at, created_at, updated_at";

pub struct NewJob<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub campaign_id: &'a str,
    pub platform: &'a str,
    pub keywords: &'a [String],
    pub target_results: u32,
    pub timeout_at: i64,
}

/// Inserts a `pending` job and one lane per keyword.
pub async fn insert(db: &Db, job: NewJob<'_>) -> sqlx::Result<()> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO scraping_jobs (id, user_id, campaign_id, platform, search_type, keywords, target_results, status,
            timeout_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'keyword', $5, $6, 'pending', $7, $8, $8)",
    )
    .bind(job.id)
    .bind(job.user_id)
    .bind(job.campaign_id)
    .bind(job.platform)
    .bind(serde_json::to_string(job.keywords).unwrap_or_default())
    .bind(job.target_results as i64)
    .bind(job.timeout_at)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    for (lane, keyword) in job.keywords.iter().enumerate() {
        sqlx::query("INSERT INTO job_lanes (job_id, lane, keyword, cursor, runs, exhausted) VALUES ($1, $2, $3, NULL, 0, 0)")
            .bind(job.id)
            .bind(lane as i64)
            .bind(keyword)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

pub async fn find(db: &Db, id: &str) -> sqlx::Result<Option<JobRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM scraping_jobs WHERE id = $1")).bind(id).fetch_optional(db).await
}

/// Newest first.
pub async fn list_for_campaign(db: &Db, campaign_id: &str) -> sqlx::Result<Vec<JobRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM scraping_jobs WHERE campaign_id = $1 ORDER BY created_at DESC, id"))
        .bind(campaign_id)
        .fetch_all(db)
        .await
}

pub async fn lanes(db: &Db, job_id: &str) -> sqlx::Result<Vec<LaneRow>> {
    sqlx::query_as("SELECT job_id, lane, keyword, cursor, runs, exhausted FROM job_lanes WHERE job_id = $1 ORDER BY lane")
        .bind(job_id)
        .fetch_all(db)
        .await
}

pub async fn set_message_id(db: &Db, id: &str, message_id: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE scraping_jobs SET qstash_message_id = $1, updated_at = $2 WHERE id = $3")
        .bind(message_id)
        .bind(now_ms())
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Moves a job that is not yet terminal to a terminal status. Returns false if it already was.
pub async fn finish(db: &Db, id: &str, status: JobStatus, error: Option<&str>) -> sqlx::Result<bool> {
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE scraping_jobs SET status = $1, last_error = COALESCE($2, last_error), completed_at = $3, updated_at = $3
         WHERE id = $4 AND status IN ('pending', 'processing')",
    )
    .bind(status.as_str())
    .bind(error)
    .bind(now)
    .bind(id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a retryable failure of `step` (shown if retries run out) without changing the job's state;
/// the step is expected to be retried by `resume_at`, so the stall sweeper waits until then. A stale
/// delivery (the job moved on, or ended) changes nothing.
pub async fn record_error(db: &Db, id: &str, step: i64, error: &str, resume_at: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE scraping_jobs SET last_error = $1, retry_count = retry_count + 1, resume_at = $2
         WHERE id = $3 AND step = $4 AND status IN ('pending', 'processing')",
    )
    .bind(error)
    .bind(resume_at)
    .bind(id)
    .bind(step)
    .execute(db)
    .await?;
    Ok(())
}

/// Counts a rate-limit pause for `step` until `resume_at`; returns the attempt number, or None if
/// the step moved on.
pub async fn note_rate_limited(db: &Db, id: &str, step: i64, error: &str, resume_at: i64) -> sqlx::Result<Option<i64>> {
    let row: Option<(i64,)> = sqlx::query_as(
        "UPDATE scraping_jobs SET retry_count = retry_count + 1, last_error = $1, updated_at = $2, resume_at = $3
         WHERE id = $4 AND step = $5 AND status IN ('pending', 'processing') RETURNING retry_count",
    )
    .bind(error)
    .bind(now_ms())
    .bind(resume_at)
    .bind(id)
    .bind(step)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| r.0))
}

/// Claims `step` of a live job inside the step's transaction: the one guard that makes a duplicate
/// or stale delivery a no-op. Returns false when another delivery already did this step.
pub async fn claim_step(conn: &mut AnyConnection, id: &str, step: i64) -> sqlx::Result<bool> {
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE scraping_jobs SET step = step + 1, status = 'processing', started_at = COALESCE(started_at, $1), updated_at = $1
         WHERE id = $2 AND step = $3 AND status IN ('pending', 'processing')",
    )
    .bind(now)
    .bind(id)
    .bind(step)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn save_lane(conn: &mut AnyConnection, job_id: &str, lane: i64, cursor: Option<&str>, exhausted: bool) -> sqlx::Result<()> {
    sqlx::query("UPDATE job_lanes SET cursor = $1, exhausted = $2, runs = runs + 1 WHERE job_id = $3 AND lane = $4")
        .bind(cursor)
        .bind(exhausted as i64)
        .bind(job_id)
        .bind(lane)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub struct StepOutcome<'a> {
    /// When the next step is published with a delay, the sweeper waits until then.
    pub resume_at: i64,
    pub runs_added: i64,
    pub results: i64,
    pub progress: i64,
    pub status: JobStatus,
    pub note: Option<&'a str>,
}

pub async fn save_step(conn: &mut AnyConnection, id: &str, outcome: StepOutcome<'_>) -> sqlx::Result<()> {
    let now = now_ms();
    let completed_at = outcome.status.is_terminal().then_some(now);
    sqlx::query(
        "UPDATE scraping_jobs SET processed_runs = processed_runs + $1, processed_results = $2, progress = $3, status = $4,
            note = $5, completed_at = $6, last_error = NULL, updated_at = $7, resume_at = $8
         WHERE id = $9",
    )
    .bind(outcome.runs_added)
    .bind(outcome.results)
    .bind(outcome.progress)
    .bind(outcome.status.as_str())
    .bind(outcome.note)
    .bind(completed_at)
    .bind(now)
    .bind(outcome.resume_at)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Live jobs with no progress since `before` whose planned wait (if any) also ended before then:
/// candidates for the stall sweeper. A job whose wait just ended gets its scheduled delivery first.
pub async fn stalled(db: &Db, before: i64) -> sqlx::Result<Vec<JobRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM scraping_jobs
         WHERE status IN ('pending', 'processing') AND updated_at < $1 AND resume_at < $1
         ORDER BY updated_at LIMIT 100"
    ))
    .bind(before)
    .fetch_all(db)
    .await
}

/// Marks the sweeper's re-publish so the job is not swept again at once.
pub async fn touch(db: &Db, id: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE scraping_jobs SET updated_at = $1 WHERE id = $2").bind(now_ms()).bind(id).execute(db).await?;
    Ok(())
}

/// Live jobs past their deadline become `timeout`; returns how many.
pub async fn expire(db: &Db, now: i64) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "UPDATE scraping_jobs SET status = 'timeout', completed_at = $1, updated_at = $1
         WHERE status IN ('pending', 'processing') AND timeout_at < $1",
    )
    .bind(now)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
