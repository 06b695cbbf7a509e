//! One job step per QStash delivery: one provider page for up to three keyword lanes, profile
//! enrichment of the new creators, then ONE transaction that claims the step (guarded by its number),
//! inserts the creators (ON CONFLICT DO NOTHING) and advances the job. Only then is the next step
//! published. A duplicate or late delivery finds the step already claimed and changes nothing.

use super::{step_dedup_id, StepMessage};
use crate::{
    db::{self, jobs::JobRow, jobs::LaneRow, jobs::StepOutcome},
    providers::{tiktok, Creator, ProviderError},
    qstash::{client::PublishOptions, retry_backoff},
    shared::{expected_runs, progress_percent, JobStatus},
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

/// Keyword lanes paged per step. Bounds a step's duration (and so the webhook's) whatever the number
/// of keywords: with 10 keywords, lanes take turns.
pub const MAX_LANES_PER_STEP: usize = 3;

/// Profile lookups that must fail in one step (and be the majority) before the provider counts as down.
const MIN_FAILURES_FOR_OUTAGE: usize = 3;

/// Runs the step `msg` names. `retried` is QStash's `Upstash-Retried` for this delivery.
#[tracing::instrument(skip(state), fields(job_id = %msg.job_id, step = msg.step))]
pub async fn run(state: &AppState, msg: &StepMessage, retried: u32) -> Result<StepResult, StepError> {
    let Some(job) = db::jobs::find(&state.db, &msg.job_id).await.context("Failed to load the job")? else {
        return Ok(StepResult::Ignored("unknown job"));
    };
    if job.status().is_terminal() {
        return Ok(StepResult::Ignored("job already finished"));
    }
    if job.step == msg.step + 1 {
        // This step is done; its successor may not have been published if we crashed in between.
        republish_current(state, &job).await?;
        return Ok(StepResult::Ignored("step already done"));
    }
    if job.step != msg.step {
        return Ok(StepResult::Ignored("stale step"));
    }
    if db::now_ms() > job.timeout_at {
        super::end_job(state, &job.id, &job.campaign_id, JobStatus::Timeout, "The search took too long and was stopped.").await?;
        return Ok(StepResult::Failed("timeout".into()));
    }
    let lanes: Vec<LaneRow> = db::jobs::lanes(&state.db, &job.id).await.context("Failed to load the job's lanes")?;
    let (pages, candidates) = match fetch_pages(state, &lanes).await {
        Ok(fetched) => fetched,
        Err(error) => return handle_provider_error(state, &job, msg.step, retried, error).await,
    };
    let fresh = new_creators(state, &job, candidates).await?;
    let mut enrichment = tiktok::enrich(&state.scrapecreators, fresh, state.config.jobs.enrich_concurrency).await;

    if let Some(index) = enrichment.failures.iter().position(|(_, e)| e.is_terminal()) {
        let (_, error) = enrichment.failures.swap_remove(index);
        return handle_provider_error(state, &job, msg.step, retried, error).await;
    }
    // The longest pause any lookup was asked for (lookups skipped after the first 429 carry none).
    let rate_limited = enrichment
        .failures
        .iter()
        .filter_map(|(_, e)| match e {
            ProviderError::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        })
        .reduce(|a, b| a.max(b))
        .map(|after| after.unwrap_or(state.config.jobs.rate_limit_delay));
    if let Some(after) = rate_limited {
        if enrichment.creators.is_empty() {
            return handle_provider_error(state, &job, msg.step, retried, ProviderError::RateLimited { retry_after: Some(after) }).await;
        }
        // Keep the creators already enriched and leave the lanes as they were (no pages recorded, so
        // no cursor moves and no run is counted): after the pause the same pages are looked at again
        // and the saved creators skipped.
        tracing::info!(after_ms = after.as_millis() as u64, kept = enrichment.creators.len(), "profiles rate limited; partial step saved");
        return save(state, &job, msg.step, &lanes, Fetched { pages: Vec::new(), creators: enrichment.creators }, Some(after)).await;
    }
    if !enrichment.failures.is_empty() {
        // Most of a real sample failing means the provider is down; one stubborn profile among one or
        // two lookups (near the target) does not.
        let failed = enrichment.failures.len();
        if failed >= MIN_FAILURES_FOR_OUTAGE && failed * 2 > enrichment.lookups {
            // Most lookups fail: the provider is down, so let QStash retry the whole step later.
            let (_, error) = enrichment.failures.swap_remove(0);
            return handle_provider_error(state, &job, msg.step, retried, error).await;
        }
        // A few profiles keep failing: keep those creators as the search found them rather than
        // lose them or fail a healthy job.
        tracing::warn!(failed = enrichment.failures.len(), lookups = enrichment.lookups, "some profiles could not be enriched");
        enrichment.creators.extend(enrichment.failures.drain(..).map(|(creator, _)| creator));
    }
    save(state, &job, msg.step, &lanes, Fetched { pages, creators: enrichment.creators }, None).await
}

struct LanePage {
    lane: i64,
    next_cursor: Option<String>,
    exhausted: bool,
}

struct Fetched {
    pages: Vec<LanePage>,
    creators: Vec<Creator>,
}

/// One page for each of the (at most `MAX_LANES_PER_STEP`) least-paged live lanes, in parallel; the
/// creators of all pages, each once.
async fn fetch_pages(state: &AppState, lanes: &[LaneRow]) -> Result<(Vec<LanePage>, Vec<Creator>), ProviderError> {
    let mut live: Vec<&LaneRow> = lanes.iter().filter(|l| l.exhausted == 0).collect();
    live.sort_by_key(|l| (l.runs, l.lane));
    live.truncate(MAX_LANES_PER_STEP);
    let results =
        futures::future::join_all(live.iter().map(|lane| state.scrapecreators.tiktok_keyword_page(&lane.keyword, lane.cursor.as_deref())))
            .await;
    let mut pages = Vec::new();
    let mut candidates: Vec<Creator> = Vec::new();
    let mut seen = HashSet::new();
    let mut first_error: Option<ProviderError> = None;
    for (lane, result) in live.iter().zip(results) {
        match result {
            Ok(page) => {
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
            Err(e) => first_error = Some(worse(first_error, e)),
        }
    }
    match first_error {
        Some(error) => Err(error),
        None => Ok((pages, candidates)),
    }
}

/// The candidates this job does not have yet, no more of them than it still needs, so no profile
/// credits are spent on repeats or on creators past the target.
async fn new_creators(state: &AppState, job: &JobRow, candidates: Vec<Creator>) -> Result<Vec<Creator>, StepError> {
    let ids: Vec<String> = candidates.iter().map(|c| c.external_id.clone()).collect();
    let known: HashSet<String> = db::creators::known_ids(&state.db, &job.id, tiktok::PLATFORM, &ids)
        .await
        .context("Failed to look up known creators")?
        .into_iter()
        .collect();
    let needed = (job.target_results - job.processed_results).max(0) as usize;
    Ok(candidates.into_iter().filter(|c| !known.contains(&c.external_id)).take(needed).collect())
}

/// When several lanes fail at once, act on the most decisive error.
fn worse(current: Option<ProviderError>, new: ProviderError) -> ProviderError {
    let rank = |e: &ProviderError| match e {
        ProviderError::Unauthorized(_) | ProviderError::OutOfCredits => 3,
        ProviderError::RateLimited { .. } => 2,
        _ => 1,
    };
    match current {
        Some(current) if rank(&current) >= rank(&new) => current,
        _ => new,
    }
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
        // Another delivery did this step; make sure its successor is queued in case that delivery
        // died before publishing.
        if let Some(job) = db::jobs::find(&state.db, &job.id).await.context("Failed to reload the job")? {
            if !job.status().is_terminal() {
                republish_current(state, &job).await?;
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
        expected_runs(job.target_results as u32),
        results as u32,
        job.target_results as u32,
        status == JobStatus::Completed,
    );
    db::jobs::save_step(
        &mut tx,
        &job.id,
        StepOutcome {
            resume_at: delay.map(|d| db::now_ms() + d.as_millis() as i64).unwrap_or(0),
            runs_added: fetched.pages.len() as i64,
            results,
            progress: progress as i64,
            status,
            note: note.as_deref(),
        },
    )
    .await
    .context("Failed to advance the job")?;
    tx.commit().await.context("Failed to commit the step")?;

    if status == JobStatus::Completed {
        db::campaigns::touch(&state.db, &job.campaign_id, "completed").await.context("Failed to update the campaign")?;
        tracing::info!(results, dry, "job completed");
        return Ok(StepResult::Completed { results });
    }
    publish_step(state, &job.id, step + 1, delay).await?;
    Ok(match delay {
        Some(after) => StepResult::Rescheduled { after },
        None => StepResult::Advanced { results },
    })
}

async fn handle_provider_error(
    state: &AppState,
    job: &JobRow,
    step: i64,
    retried: u32,
    error: ProviderError,
) -> Result<StepResult, StepError> {
    match error {
        ProviderError::RateLimited { retry_after } => {
            let after = retry_after.unwrap_or(state.config.jobs.rate_limit_delay);
            let resume_at = db::now_ms() + after.as_millis() as i64;
            let attempt = db::jobs::note_rate_limited(&state.db, &job.id, step, "The provider asked us to slow down.", resume_at)
                .await
                .context("Failed to record the rate limit")?;
            let Some(attempt) = attempt else {
                return Ok(StepResult::Ignored("step already done"));
            };
            tracing::info!(after_ms = after.as_millis() as u64, attempt, "rate limited; step re-queued");
            publish(state, &job.id, step, Some(after), format!("{}-rl-{attempt}", step_dedup_id(&job.id, step))).await?;
            Ok(StepResult::Rescheduled { after })
        }
        e if e.is_terminal() => {
            tracing::warn!(error = %e, "provider refused; job ends");
            let message = e.user_message();
            super::end_job(state, &job.id, &job.campaign_id, JobStatus::Error, &message).await?;
            Ok(StepResult::Failed(message))
        }
        e => {
            tracing::warn!(error = %e, "provider failed; QStash will retry the step");
            // QStash retries after its backoff; the sweeper must not re-publish before then.
            // On the last attempt no retry is coming (the failure callback is): nothing to wait for.
            let resume_at = if retried >= state.config.qstash.retries {
                0
            } else {
                let scale = if state.config.dev_qstash.enabled { state.config.dev_qstash.backoff_scale } else { 1.0 };
                db::now_ms() + retry_backoff(retried as i64 + 1, scale).as_millis() as i64
            };
            db::jobs::record_error(&state.db, &job.id, step, &e.user_message(), resume_at).await.context("Failed to record the error")?;
            Err(StepError::Retryable(e.to_string()))
        }
    }
}

/// Re-publishes the job's current step (deduplicated if it was published), keeping any planned pause.
async fn republish_current(state: &AppState, job: &JobRow) -> Result<(), StepError> {
    let wait = job.resume_at - db::now_ms();
    let delay = (wait > 0).then(|| Duration::from_millis(wait as u64));
    publish_step(state, &job.id, job.step, delay).await
}

/// Publishes `step` of `job_id` with its deduplication id.
pub async fn publish_step(state: &AppState, job_id: &str, step: i64, delay: Option<Duration>) -> Result<(), StepError> {
    publish(state, job_id, step, delay, step_dedup_id(job_id, step)).await
}

async fn publish(state: &AppState, job_id: &str, step: i64, delay: Option<Duration>, dedup_id: String) -> Result<(), StepError> {
    let body = serde_json::to_value(StepMessage { job_id: job_id.to_string(), step }).expect("serializable");
    let options = PublishOptions {
        delay,
        retries: Some(state.config.qstash.retries),
        deduplication_id: Some(dedup_id),
        failure_callback: Some(state.urls.failure_callback()),
    };
    let published = state
        .qstash
        .publish_json(&state.urls.webhook(), &body, &options)
        .await
        .map_err(|e| StepError::Retryable(format!("could not publish step {step}: {e}")))?;
    if !published.deduplicated {
        db::jobs::set_message_id(&state.db, job_id, &published.message_id).await.context("Failed to store the message id")?;
    }
    Ok(())
}
