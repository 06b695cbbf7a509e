//! `scraping_jobs` and `job_lanes`. Every state change is guarded (by status, and by step number where
//! a webhook delivery drives it) so duplicate or late deliveries change nothing.

use super::{now_ms, Db};
use crate::shared::{JobStatus, JobView, Platform, SearchKind, Stage, WaitingReason};
use sqlx::AnyConnection;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct JobRow {
    pub id: String,
    pub user_id: String,
    pub workspace_id: String,
    pub campaign_id: String,
    pub platform: String,
    pub search_type: String,
    pub keywords: String,
    pub target_username: Option<String>,
    /// The platform's id of a similar search's account, once read.
    pub target_external_id: Option<String>,
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
    /// Pages read in a row that added no new creator.
    pub idle_pages: i64,
    /// Until when the job waits on purpose (provider Retry-After, QStash backoff); 0 when it does not.
    pub resume_at: i64,
    /// Why the job waits until `resume_at` (`WaitingReason`), when it does.
    pub waiting_reason: Option<String>,
    /// What the run has cost so far.
    pub credits_used: i64,
    /// What reusing recently bought profiles saved it.
    pub credits_saved: i64,
    /// Whether the run may add keywords from its hashtags when its own run out (0/1).
    pub expand_keywords: i64,
    /// The keywords it added (JSON list), once it has.
    pub added_keywords: Option<String>,
    /// The step in which a similar search found all it needs and looks up the last creators.
    pub processing_step: Option<i64>,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl JobRow {
    pub fn status(&self) -> JobStatus {
        JobStatus::parse(&self.status).unwrap_or(JobStatus::Error)
    }

    /// Where a similar search is, from what it has done so far.
    fn stage(&self) -> Option<Stage> {
        if self.kind() != SearchKind::Similar {
            return None;
        }
        Some(match self.status() {
            JobStatus::Pending => Stage::Initializing,
            JobStatus::Completed => Stage::Completed,
            status if status.is_terminal() => return None,
            _ if self.processing_step == Some(self.step) => Stage::Processing,
            _ if self.processed_runs == 0 => Stage::FetchingProfile,
            _ if self.processed_results == 0 => Stage::Analyzing,
            _ => Stage::Searching,
        })
    }

    /// Seconds left at the pace so far; only once a few pages have been read, so it is not a guess.
    fn eta_seconds(&self, now: i64) -> Option<u64> {
        let started = self.started_at?;
        let (done, target) = (self.processed_results, self.target_results);
        if self.processed_runs < 3 || done <= 0 || done >= target || now <= started {
            return None;
        }
        let per_creator_ms = (now - started) as f64 / done as f64;
        Some(((target - done) as f64 * per_creator_ms / 1000.0).ceil() as u64)
    }

    pub fn platform(&self) -> Platform {
        Platform::parse(&self.platform).unwrap_or_default()
    }

    pub fn kind(&self) -> SearchKind {
        SearchKind::parse(&self.search_type).unwrap_or_default()
    }

    pub fn keyword_list(&self) -> Vec<String> {
        serde_json::from_str(&self.keywords).unwrap_or_default()
    }

    /// What the status endpoint shows, as of now.
    pub fn view(&self) -> JobView {
        let now = now_ms();
        let live = !self.status().is_terminal();
        let waiting = live && self.resume_at > now;
        JobView {
            credits_used: self.credits_used.max(0) as u64,
            credits_saved: self.credits_saved.max(0) as u64,
            stage: self.stage(),
            eta_seconds: live.then(|| self.eta_seconds(now)).flatten(),
            waiting_reason: self.waiting_reason.as_deref().and_then(WaitingReason::parse).filter(|_| waiting),
            waiting_until: waiting.then_some(self.resume_at),
            id: self.id.clone(),
            campaign_id: self.campaign_id.clone(),
            platform: self.platform(),
            kind: self.kind(),
            keywords: self.keyword_list(),
            target_username: self.target_username.clone(),
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
    /// Which of the platform's search sources this lane pages ('' when it has one).
    pub source: String,
    pub cursor: Option<String>,
    pub runs: i64,
    pub exhausted: i64,
}

const COLUMNS: &str = "id, user_id, workspace_id, campaign_id, platform, search_type, keywords, target_username, target_external_id, target_results, status, step, \
    processed_runs, processed_results, progress, qstash_message_id, last_error, note, retry_count, timeout_at, \
    resume_at, waiting_reason, credits_used, credits_saved, expand_keywords, added_keywords, processing_step, started_at, completed_at, created_at, updated_at, idle_pages";

pub struct NewJob<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub workspace_id: &'a str,
    pub campaign_id: &'a str,
    pub platform: Platform,
    pub kind: SearchKind,
    /// One lane per keyword and source.
    pub keywords: &'a [String],
    pub sources: &'a [&'a str],
    pub target_username: Option<&'a str>,
    pub target_results: u32,
    pub timeout_at: i64,
    pub expand_keywords: bool,
}

/// Inserts a `pending` job and one lane per keyword and source.
pub async fn insert(conn: &mut AnyConnection, job: NewJob<'_>) -> sqlx::Result<()> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO scraping_jobs (id, user_id, campaign_id, platform, search_type, keywords, target_username, target_results,
            status, timeout_at, created_at, updated_at, expand_keywords, workspace_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $10, $10, $11, $12)",
    )
    .bind(job.id)
    .bind(job.user_id)
    .bind(job.campaign_id)
    .bind(job.platform.as_str())
    .bind(job.kind.as_str())
    // A similar search has no keywords of its own (its one lane is the account).
    .bind(serde_json::to_string(if job.kind == SearchKind::Similar { &[][..] } else { job.keywords }).unwrap_or_default())
    .bind(job.target_username)
    .bind(job.target_results as i64)
    .bind(job.timeout_at)
    .bind(now)
    .bind(job.expand_keywords as i64)
    .bind(job.workspace_id)
    .execute(&mut *conn)
    .await?;
    let lanes: Vec<(String, String)> =
        job.keywords.iter().flat_map(|keyword| job.sources.iter().map(|source| (keyword.clone(), source.to_string()))).collect();
    add_lanes(conn, job.id, 0, &lanes).await
}

/// Adds one lane per (keyword, source), numbered from `first`.
pub async fn add_lanes(conn: &mut AnyConnection, job_id: &str, first: i64, lanes: &[(String, String)]) -> sqlx::Result<()> {
    for (offset, (keyword, source)) in lanes.iter().enumerate() {
        sqlx::query("INSERT INTO job_lanes (job_id, lane, keyword, source, cursor, runs, exhausted) VALUES ($1, $2, $3, $4, NULL, 0, 0)")
            .bind(job_id)
            .bind(first + offset as i64)
            .bind(keyword)
            .bind(source)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Any job, for the job engine (QStash deliveries carry no user).
pub async fn find(db: &Db, id: &str) -> sqlx::Result<Option<JobRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM scraping_jobs WHERE id = $1")).bind(id).fetch_optional(db).await
}

/// Whether a job has ended (or no longer exists): a running step stops spending.
pub async fn is_finished(db: &Db, id: &str) -> sqlx::Result<bool> {
    let row: Option<(String,)> = sqlx::query_as("SELECT status FROM scraping_jobs WHERE id = $1").bind(id).fetch_optional(db).await?;
    Ok(row.is_none_or(|(status,)| JobStatus::parse(&status).is_none_or(JobStatus::is_terminal)))
}

/// A job in `workspace` (`None`: any, for an admin's reads); another workspace's job is as good as missing.
pub async fn find_owned(db: &Db, workspace: Option<&str>, id: &str) -> sqlx::Result<Option<JobRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM scraping_jobs WHERE id = $1 AND workspace_id = COALESCE($2, workspace_id)"))
        .bind(id)
        .bind(workspace)
        .fetch_optional(db)
        .await
}

/// A campaign's newest `limit` jobs in `workspace` (`None`: any), newest first.
pub async fn list_for_campaign(db: &Db, workspace: Option<&str>, campaign_id: &str, limit: u32) -> sqlx::Result<Vec<JobRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM scraping_jobs WHERE campaign_id = $1 AND workspace_id = COALESCE($2, workspace_id) ORDER BY created_at DESC, id LIMIT $3"
    ))
        .bind(campaign_id)
        .bind(workspace)
        .bind(i64::from(limit))
        .fetch_all(db)
        .await
}

pub async fn lanes(db: &Db, job_id: &str) -> sqlx::Result<Vec<LaneRow>> {
    sqlx::query_as("SELECT job_id, lane, keyword, source, cursor, runs, exhausted FROM job_lanes WHERE job_id = $1 ORDER BY lane")
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

/// Moves a job that is not yet terminal (and, with `at_step`, still at that step) to a terminal
/// status. Returns false if it already was (or had moved on). Only `jobs::lifecycle` calls this, so
/// the campaign is always updated with it.
pub async fn finish(conn: &mut AnyConnection, id: &str, status: JobStatus, error: Option<&str>, at_step: Option<i64>) -> sqlx::Result<bool> {
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE scraping_jobs SET status = $1, last_error = COALESCE($2, last_error), completed_at = $3, updated_at = $3
         WHERE id = $4 AND status IN ('pending', 'processing') AND step = COALESCE($5, step)",
    )
    .bind(status.as_str())
    .bind(error)
    .bind(now)
    .bind(id)
    .bind(at_step)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a retryable failure of `step` (shown if retries run out) without changing the job's state;
/// the step is expected to be retried by `resume_at`, so the stall sweeper waits until then. A stale
/// delivery (the job moved on, or ended) changes nothing.
pub async fn record_error(db: &Db, id: &str, step: i64, error: &str, resume_at: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE scraping_jobs SET last_error = $1, retry_count = retry_count + 1, resume_at = $2, waiting_reason = $3
         WHERE id = $4 AND step = $5 AND status IN ('pending', 'processing')",
    )
    .bind(error)
    .bind(resume_at)
    .bind((resume_at > 0).then_some(WaitingReason::RetryBackoff.as_str()))
    .bind(id)
    .bind(step)
    .execute(db)
    .await?;
    Ok(())
}

/// Counts credits the provider charged for calls whose results the job did not keep (a failed or
/// paused step, a duplicate delivery): they were spent all the same.
pub async fn add_credits(db: &Db, id: &str, credits: u32) -> sqlx::Result<()> {
    if credits == 0 {
        return Ok(());
    }
    sqlx::query("UPDATE scraping_jobs SET credits_used = credits_used + $1 WHERE id = $2")
        .bind(credits as i64)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Counts a rate-limit pause for `step` until `resume_at`; returns the attempt number, or None if
/// the step moved on.
pub async fn note_rate_limited(db: &Db, id: &str, step: i64, error: &str, resume_at: i64) -> sqlx::Result<Option<i64>> {
    let row: Option<(i64,)> = sqlx::query_as(
        "UPDATE scraping_jobs SET retry_count = retry_count + 1, last_error = $1, updated_at = $2, resume_at = $3,
            waiting_reason = $6
         WHERE id = $4 AND step = $5 AND status IN ('pending', 'processing') RETURNING retry_count",
    )
    .bind(error)
    .bind(now_ms())
    .bind(resume_at)
    .bind(id)
    .bind(step)
    .bind(WaitingReason::ProviderRateLimit.as_str())
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

/// Moves a lane past `pages` pages read in a step.
pub async fn save_lane(
    conn: &mut AnyConnection,
    job_id: &str,
    lane: i64,
    cursor: Option<&str>,
    exhausted: bool,
    pages: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE job_lanes SET cursor = $1, exhausted = $2, runs = runs + $5 WHERE job_id = $3 AND lane = $4")
        .bind(cursor)
        .bind(exhausted as i64)
        .bind(job_id)
        .bind(lane)
        .bind(pages)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Remembers a similar search's account id.
pub async fn set_target_id(conn: &mut AnyConnection, id: &str, target_id: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE scraping_jobs SET target_external_id = $1 WHERE id = $2").bind(target_id).bind(id).execute(&mut *conn).await?;
    Ok(())
}

/// Remembers the keywords a run added to itself.
pub async fn set_added_keywords(conn: &mut AnyConnection, id: &str, added: &[String]) -> sqlx::Result<()> {
    sqlx::query("UPDATE scraping_jobs SET added_keywords = $1 WHERE id = $2")
        .bind(serde_json::to_string(added).unwrap_or_else(|_| "[]".into()))
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub struct StepOutcome<'a> {
    /// When the next step is published with a delay, the sweeper waits until then.
    pub resume_at: i64,
    /// Why the next step is delayed.
    pub waiting_reason: Option<WaitingReason>,
    pub credits_added: u32,
    pub credits_saved: u32,
    pub runs_added: i64,
    pub results: i64,
    pub progress: i64,
    pub status: JobStatus,
    pub note: Option<&'a str>,
    /// Why the job ended, when the step ends it as `error`.
    pub error: Option<&'a str>,
    /// Pages in a row that added no new creator, after this step.
    pub idle_pages: i64,
}

pub async fn save_step(conn: &mut AnyConnection, id: &str, outcome: StepOutcome<'_>) -> sqlx::Result<()> {
    let now = now_ms();
    let completed_at = outcome.status.is_terminal().then_some(now);
    sqlx::query(
        // Progress never goes back while the job runs (a step's `processing` report may have moved it
        // past what a partial commit computes); the end of a job sets it as computed.
        "UPDATE scraping_jobs SET processed_runs = processed_runs + $1, processed_results = $2,
            progress = CASE WHEN $4 <> 'processing' OR $3 > progress THEN $3 ELSE progress END, status = $4,
            note = $5, completed_at = $6, last_error = $12, updated_at = $7, resume_at = $8, waiting_reason = $10,
            credits_used = credits_used + $11, credits_saved = credits_saved + $13, idle_pages = $14
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
    .bind(outcome.waiting_reason.map(WaitingReason::as_str))
    .bind(outcome.credits_added as i64)
    .bind(outcome.error)
    .bind(outcome.credits_saved as i64)
    .bind(outcome.idle_pages)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A similar search's step has found every creator the job needs and is looking up the last of them:
/// the bar shows `processing` with `progress` (never lower than before). Guarded by the step, so a
/// late or lost step changes nothing; the step's commit moves the job on.
pub async fn report_processing(db: &Db, id: &str, step: i64, progress: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE scraping_jobs SET processing_step = $2, progress = CASE WHEN progress < $3 THEN $3 ELSE progress END
         WHERE id = $1 AND step = $2 AND status = 'processing'",
    )
    .bind(id)
    .bind(step)
    .bind(progress)
    .execute(db)
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

/// Live jobs past their deadline: candidates for `lifecycle::time_out`.
pub async fn overdue(db: &Db, now: i64) -> sqlx::Result<Vec<JobRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM scraping_jobs WHERE status IN ('pending', 'processing') AND timeout_at < $1 ORDER BY timeout_at LIMIT 100"
    ))
    .bind(now)
    .fetch_all(db)
    .await
}

/// What a user's runs count against their limits.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    /// Runs still pending or processing.
    pub in_flight: u64,
    /// Runs started since `day_start`.
    pub searches_today: u64,
    /// Provider credits of the runs started since `month_start`.
    pub credits_this_month: u64,
}

pub async fn usage(conn: &mut AnyConnection, user_id: &str, day_start: i64, month_start: i64) -> sqlx::Result<Usage> {
    let (in_flight, today, credits): (i64, i64, i64) = sqlx::query_as(
        "SELECT
            (SELECT COUNT(*) FROM scraping_jobs WHERE user_id = $1 AND status IN ('pending', 'processing')),
            (SELECT COUNT(*) FROM scraping_jobs WHERE user_id = $1 AND created_at >= $2),
            (SELECT CAST(COALESCE(SUM(credits_used), 0) AS BIGINT) FROM scraping_jobs WHERE user_id = $1 AND created_at >= $3)",
    )
    .bind(user_id)
    .bind(day_start)
    .bind(month_start)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Usage { in_flight: in_flight.max(0) as u64, searches_today: today.max(0) as u64, credits_this_month: credits.max(0) as u64 })
}

/// A run with its campaign's name and its owner's email, for the admins' overview.
#[derive(sqlx::FromRow)]
pub struct RunEverywhere {
    #[sqlx(flatten)]
    pub job: JobRow,
    pub campaign_name: String,
    pub owner_email: String,
}

/// The newest runs of every workspace, in one query.
pub async fn recent_everywhere(db: &Db, limit: u32) -> sqlx::Result<Vec<RunEverywhere>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS},
            COALESCE((SELECT name FROM campaigns WHERE campaigns.id = scraping_jobs.campaign_id), '') AS campaign_name,
            COALESCE((SELECT email FROM users WHERE users.id = scraping_jobs.user_id), '') AS owner_email
         FROM scraping_jobs ORDER BY created_at DESC, id LIMIT $1"
    ))
    .bind(i64::from(limit))
    .fetch_all(db)
    .await
}
