//! One job step per QStash delivery: one provider page for up to three keyword lanes, profile
//! enrichment of the new creators, then ONE transaction that claims the step (guarded by its number),
//! inserts the creators (ON CONFLICT DO NOTHING) and advances the job. Only then is the next step
//! published. A duplicate or late delivery finds the step already claimed and changes nothing.
//! What to do with the provider's answers is `decision::decide`; this file does the I/O around it.

use super::{
    decision::{decide, Decision, StepFacts},
    lifecycle,
    publisher::{self, Publish, PublishStepError},
    StepMessage,
};
use crate::{
    db::{self, jobs::JobRow, jobs::LaneRow, jobs::StepOutcome},
    providers::{enrich::enrich, Creator, ProviderError},
    qstash::retry_backoff,
    shared::{expected_runs, progress_percent, JobStatus, WaitingReason},
    startup::AppState,
};
use anyhow::Context;
use std::{collections::HashSet, time::Duration};

/// What a delivery did; the webhook answers 2xx for all of these.
#[derive(Debug, PartialEq)]
pub enum StepResult {
    /// Unknown job, finished job, or a step already done: nothing to do.
    Ignored(&'static str),
    /// The step ran and the next one was published.
    Advanced {
        results: i64,
    },
    Completed {
        results: i64,
    },
    /// The provider rate-limited us: the same step is queued again after a pause.
    Rescheduled {
        after: Duration,
    },
    /// The job ended in `error` or `timeout`.
    Failed(String),
}

#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// Worth retrying: the webhook answers 5xx so QStash retries with backoff.
    #[error("{0}")]
    Retryable(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<PublishStepError> for StepError {
    fn from(e: PublishStepError) -> Self {
        StepError::Retryable(format!("could not publish the next step: {e}"))
    }
}

/// Keyword lanes paged per step. Bounds a step's duration (and so the webhook's) whatever the number
/// of keywords: with 10 keywords, lanes take turns.
pub const MAX_LANES_PER_STEP: usize = 3;

/// Runs the step `msg` names. `retried` is QStash's `Upstash-Retried` for this delivery.
#[tracing::instrument(skip(state), fields(job_id = %msg.job_id, step = ?msg.step))]
pub async fn run(state: &AppState, msg: &StepMessage, retried: u32) -> Result<StepResult, StepError> {
    let Some(job) = db::jobs::find(&state.db, &msg.job_id).await.context("Failed to load the job")? else {
        return Ok(StepResult::Ignored("unknown job"));
    };
    if job.status().is_terminal() {
        return Ok(StepResult::Ignored("job already finished"));
    }
    let step = msg.step.unwrap_or(job.step);
    if job.step == step + 1 {
        // This step is done; its successor may not have been published if we crashed in between.
        publisher::republish_current(state, &job).await?;
        return Ok(StepResult::Ignored("step already done"));
    }
    if job.step != step {
        return Ok(StepResult::Ignored("stale step"));
    }
    if db::now_ms() > job.timeout_at {
        lifecycle::time_out(&state.db, &job.id, &job.campaign_id).await?;
        return Ok(StepResult::Failed("timeout".into()));
    }
    let lanes: Vec<LaneRow> = db::jobs::lanes(&state.db, &job.id).await.context("Failed to load the job's lanes")?;
    let (fetched, page_credits) = fetch_pages(state, &job, &lanes).await;
    // `spent` is what the provider charged during this step, whatever is kept of it.
    let (facts, pages, spent) = match fetched {
        Ok((pages, candidates)) => {
            let fresh = new_creators(state, &job, candidates).await?;
            let enrichment = enrich(&state.providers, fresh, state.config.jobs.enrich_concurrency).await;
            let spent = page_credits + enrichment.credits;
            (StepFacts::Enriched(enrichment), pages, spent)
        }
        Err(error) => (StepFacts::PagesFailed(error), Vec::new(), page_credits),
    };
    match decide(facts, state.config.jobs.rate_limit_delay) {
        Decision::Save { creators } => save(state, &job, step, &lanes, Fetched { pages, creators, spent }, None).await,
        Decision::SavePartialAndPause { creators, after } => {
            // No pages recorded, so no cursor moves and no run is counted: after the pause the same
            // pages are looked at again and the saved creators skipped.
            tracing::info!(after_ms = after.as_millis() as u64, kept = creators.len(), "profiles rate limited; partial step saved");
            save(state, &job, step, &lanes, Fetched { pages: Vec::new(), creators, spent }, Some(after)).await
        }
        Decision::Pause { after } => {
            db::jobs::add_credits(&state.db, &job.id, spent).await.context("Failed to count credits")?;
            pause(state, &job, step, after).await
        }
        Decision::Retry(error) => {
            db::jobs::add_credits(&state.db, &job.id, spent).await.context("Failed to count credits")?;
            retry_later(state, &job, step, retried, error).await
        }
        Decision::Fail(error) => {
            tracing::warn!(error = %error, "provider refused; job ends");
            db::jobs::add_credits(&state.db, &job.id, spent).await.context("Failed to count credits")?;
            let message = error.user_message();
            lifecycle::fail(&state.db, &job.id, &job.campaign_id, &message).await?;
            Ok(StepResult::Failed(message))
        }
    }
}

struct LanePage {
    lane: i64,
    next_cursor: Option<String>,
    exhausted: bool,
}

struct Fetched {
    pages: Vec<LanePage>,
    creators: Vec<Creator>,
    /// Credits the step's provider calls cost.
    spent: u32,
}

/// One page for each of the (at most `MAX_LANES_PER_STEP`) least-paged live lanes, in parallel; the
/// creators of all pages, each once. When several lanes fail, the most decisive error wins. Also
/// returns what the pages that did arrive cost.
async fn fetch_pages(state: &AppState, job: &JobRow, lanes: &[LaneRow]) -> (Result<(Vec<LanePage>, Vec<Creator>), ProviderError>, u32) {
    let mut live: Vec<&LaneRow> = lanes.iter().filter(|l| l.exhausted == 0).collect();
    live.sort_by_key(|l| (l.runs, l.lane));
    live.truncate(MAX_LANES_PER_STEP);
    let platform = job.platform();
    let results = futures::future::join_all(
        live.iter().map(|lane| state.providers.search_page(platform, &lane.source, &lane.keyword, lane.cursor.as_deref())),
    )
    .await;
    let mut pages = Vec::new();
    let mut candidates: Vec<Creator> = Vec::new();
    let mut seen = HashSet::new();
    let mut worst: Option<ProviderError> = None;
    let mut credits = 0;
    for (lane, result) in live.iter().zip(results) {
        match result {
            Ok(page) => {
                credits += page.credits;
                // A cursor that does not move would page forever: treat it as the end. A page whose
                // items are all unusable (ads, user cards) is not the end.
                let stuck = page.next_cursor.is_none() || page.next_cursor == lane.cursor;
                let exhausted = !page.has_more || page.item_count == 0 || stuck;
                pages.push(LanePage { lane: lane.lane, exhausted, next_cursor: page.next_cursor });
                for creator in page.creators {
                    if seen.insert(creator.external_id.clone()) {
                        candidates.push(creator);
                    }
                }
            }
            Err(e) => {
                worst = Some(match worst {
                    Some(current) if current.severity() >= e.severity() => current,
                    _ => e,
                })
            }
        }
    }
    let fetched = match worst {
        Some(error) => Err(error),
        None => Ok((pages, candidates)),
    };
    (fetched, credits)
}

/// The candidates this job does not have yet, no more of them than it still needs, so no profile
/// credits are spent on repeats or on creators past the target.
async fn new_creators(state: &AppState, job: &JobRow, candidates: Vec<Creator>) -> Result<Vec<Creator>, StepError> {
    let ids: Vec<String> = candidates.iter().map(|c| c.external_id.clone()).collect();
    let known: HashSet<String> = db::creators::known_ids(&state.db, &job.id, job.platform(), &ids)
        .await
        .context("Failed to look up known creators")?
        .into_iter()
        .collect();
    let needed = (job.target_results - job.processed_results).max(0) as usize;
    Ok(candidates.into_iter().filter(|c| !known.contains(&c.external_id)).take(needed).collect())
}

/// Commits the step and publishes the next one (after `delay`, when the provider asked for a pause).
async fn save(
    state: &AppState,
    job: &JobRow,
    step: i64,
    lanes: &[LaneRow],
    fetched: Fetched,
    delay: Option<Duration>,
) -> Result<StepResult, StepError> {
    let mut tx = state.db.begin().await.context("Failed to begin the step transaction")?;
    if !db::jobs::claim_step(&mut tx, &job.id, step).await.context("Failed to claim the step")? {
        tx.rollback().await.context("Failed to roll back")?;
        db::jobs::add_credits(&state.db, &job.id, fetched.spent).await.context("Failed to count credits")?;
        // Another delivery did this step; make sure its successor is queued in case that delivery
        // died before publishing.
        if let Some(job) = db::jobs::find(&state.db, &job.id).await.context("Failed to reload the job")? {
            if !job.status().is_terminal() {
                publisher::republish_current(state, &job).await?;
            }
        }
        return Ok(StepResult::Ignored("step already done"));
    }
    let mut results = db::creators::count_for_job(&mut tx, &job.id).await.context("Failed to count creators")?;
    for creator in &fetched.creators {
        if results >= job.target_results {
            break;
        }
        if db::creators::insert(&mut tx, &job.id, &job.campaign_id, results, creator).await.context("Failed to insert a creator")? {
            results += 1;
        }
    }
    for page in &fetched.pages {
        db::jobs::save_lane(&mut tx, &job.id, page.lane, page.next_cursor.as_deref(), page.exhausted)
            .await
            .context("Failed to save a lane")?;
    }
    let lanes_left = lanes.iter().filter(|l| l.exhausted == 0 && !fetched.pages.iter().any(|p| p.lane == l.lane && p.exhausted)).count();
    let reached = results >= job.target_results;
    let dry = !reached && lanes_left == 0;
    let status = if reached || dry { JobStatus::Completed } else { JobStatus::Processing };
    let note = dry.then(|| format!("the source ran out of creators for these keywords after {results} of {}.", job.target_results));
    let runs = job.processed_runs + fetched.pages.len() as i64;
    let progress = progress_percent(
        runs as u32,
        expected_runs(job.platform(), job.target_results as u32),
        results as u32,
        job.target_results as u32,
        status == JobStatus::Completed,
    );
    let outcome = StepOutcome {
        resume_at: delay.map(|d| db::now_ms() + d.as_millis() as i64).unwrap_or(0),
        waiting_reason: delay.map(|_| WaitingReason::ProviderRateLimit),
        credits_added: fetched.spent,
        runs_added: fetched.pages.len() as i64,
        results,
        progress: progress as i64,
        status,
        note: note.as_deref(),
    };
    lifecycle::record_step(&mut tx, &job.id, &job.campaign_id, outcome).await?;
    tx.commit().await.context("Failed to commit the step")?;

    if status == JobStatus::Completed {
        tracing::info!(results, dry, "job completed");
        return Ok(StepResult::Completed { results });
    }
    publisher::publish_step(state, &job.id, step + 1, delay, Publish::Step).await?;
    Ok(match delay {
        Some(after) => StepResult::Rescheduled { after },
        None => StepResult::Advanced { results },
    })
}

/// The provider asked us to slow down: the same step runs again after `after`, as a new message.
async fn pause(state: &AppState, job: &JobRow, step: i64, after: Duration) -> Result<StepResult, StepError> {
    let resume_at = db::now_ms() + after.as_millis() as i64;
    let attempt = db::jobs::note_rate_limited(&state.db, &job.id, step, "The provider asked us to slow down.", resume_at)
        .await
        .context("Failed to record the rate limit")?;
    let Some(attempt) = attempt else {
        return Ok(StepResult::Ignored("step already done"));
    };
    tracing::info!(after_ms = after.as_millis() as u64, attempt, "rate limited; step re-queued");
    publisher::publish_step(state, &job.id, step, Some(after), Publish::RateLimitRetry(attempt)).await?;
    Ok(StepResult::Rescheduled { after })
}

/// The provider is failing: record why (shown if retries run out) and let QStash retry the step.
async fn retry_later(state: &AppState, job: &JobRow, step: i64, retried: u32, error: ProviderError) -> Result<StepResult, StepError> {
    tracing::warn!(error = %error, "provider failed; QStash will retry the step");
    // QStash retries after its backoff; the sweeper must not re-publish before then.
    // On the last attempt no retry is coming (the failure callback is): nothing to wait for.
    let resume_at = if retried >= state.config.qstash.retries {
        0
    } else {
        let scale = if state.config.dev_qstash.enabled { state.config.dev_qstash.backoff_scale } else { 1.0 };
        db::now_ms() + retry_backoff(retried as i64 + 1, scale).as_millis() as i64
    };
    db::jobs::record_error(&state.db, &job.id, step, &error.user_message(), resume_at).await.context("Failed to record the error")?;
    Err(StepError::Retryable(error.to_string()))
}
