//! One job step per QStash delivery: a batch of pages of up to three keyword lanes with the profile
//! lookups of their new creators, overlapped (`gather`), then ONE transaction that claims the step
//! (guarded by its number), inserts the creators (ON CONFLICT DO NOTHING) and advances the job. Only
//! then is the next step published. A duplicate or late delivery finds the step already claimed and
//! changes nothing. What to do with the provider's answers is `decision::decide`; this file does the
//! I/O around it.

use super::{
    decision::{self, decide, Decision, StepFacts},
    expansion,
    gather::{gather, Budget, PageRead, ProcessingReport, MAX_LANES_PER_STEP},
    lifecycle,
    publisher::{self, Publish, PublishStepError},
    StepMessage,
};
use crate::{
    db::{self, jobs::JobRow, jobs::LaneRow, jobs::StepOutcome},
    providers::{Creator, ProviderError, RELATED_SOURCE},
    shared::{expected_runs, progress_percent, similar_progress, JobStatus, SearchKind, WaitingReason},
    startup::AppState,
};
use anyhow::Context;
use std::{collections::HashSet, time::Duration};

/// Lanes a search keeps waiting at most: a walk through related profiles finds a dozen per visit; this
/// only bounds a pathological graph (a 1,000-creator walk keeps a few thousand).
const MAX_WAITING_LANES: usize = 5_000;

/// A resumed step takes a quarter of the usual batch: the search has shown no progress since the
/// first delivery of this step began (a restart, a takeover, a failure), so it saves again within
/// seconds rather than after a whole step; the steps after it are full size again.
fn batch_size(configured: usize, resumed: bool) -> usize {
    match resumed {
        true => (configured / 4).max(1),
        false => configured,
    }
}

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

/// Runs the step `msg` names. `retried` is QStash's `Upstash-Retried` for this delivery; `resumed`
/// says the step was delivered before (a retry, or a delivery whose instance died or shut down).
#[tracing::instrument(skip(state), fields(job_id = %msg.job_id, step = ?msg.step))]
pub async fn run(state: &AppState, msg: &StepMessage, retried: u32, resumed: bool) -> Result<StepResult, StepError> {
    let Some(job) = db::jobs::find(&state.db, &msg.job_id).await.context("Failed to load the job")? else {
        return Ok(StepResult::Ignored("unknown job"));
    };
    if job.status().is_terminal() {
        return Ok(StepResult::Ignored("job already finished"));
    }
    let step = msg.step.unwrap_or(job.step);
    // Checked: the step comes from the delivery's body, and i64::MAX + 1 must not panic.
    if step.checked_add(1) == Some(job.step) {
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
    let needed = (job.target_results - job.processed_results).max(0) as usize;
    let budget = Budget {
        concurrency: state.config.jobs.provider_concurrency,
        batch: batch_size(state.config.jobs.step_creators, resumed),
        paging: state.config.jobs.step_paging,
        hard_stop: state.config.jobs.step_budget * 2,
        cached_since: state.config.jobs.profile_cache.map(|keep| db::now_ms() - keep.as_millis() as i64),
        // A walk through related profiles visits many lanes of one page each.
        lanes: if lanes.iter().any(|l| l.source == RELATED_SOURCE) {
            state.config.jobs.provider_concurrency * 2
        } else {
            MAX_LANES_PER_STEP
        },
        stopping: state.stopping.clone(),
        // Half the grace: the step still saves and publishes its successor before the grace ends.
        shutdown_within: state.config.dev_qstash.shutdown_grace / 2,
    };
    let exclude: Vec<&str> = job.target_username.iter().chain(job.target_external_id.iter()).map(String::as_str).collect();
    let processing = (job.kind() == SearchKind::Similar).then_some(ProcessingReport {
        step,
        saved: job.processed_results.max(0) as usize,
        target: job.target_results.max(0) as usize,
    });
    let gathered = gather(&state.db, &state.providers, &job.id, job.platform(), &lanes, needed, &exclude, budget, processing).await?;
    let target_id = gathered.target_id.clone();
    let clean = gathered.clean_pages();
    let facts = StepFacts {
        page_error: gathered.page_error.as_ref(),
        ready: gathered.creators.len(),
        failures: gathered.failures.iter().map(|(_, _, e)| e).collect(),
        lookups: gathered.lookups,
        unsent: gathered.unsent.len(),
        clean_pages: clean.iter().map(|(_, pages)| pages.len()).sum(),
    };
    let decision = decide(&facts, state.config.jobs.rate_limit_delay);
    let spent = gathered.credits;
    // Lanes waiting on the provider (an Apify run collecting) and nothing else to read: the next
    // step comes back after the wait instead of polling at once (what was read is saved now).
    let come_back = gathered.come_back_after.map(|d| (d, WaitingReason::ProviderWorking));
    let saved = gathered.cache_hits;
    match decision {
        Decision::SaveAll => {
            let pages = gathered.all_pages();
            let mut creators: Vec<Creator> = gathered.creators.into_iter().map(|(c, _)| c).collect();
            // The few whose lookup kept failing are kept as the search found them.
            creators.extend(gathered.failures.into_iter().map(|(c, _, _)| c));
            save(state, &job, step, &lanes, Fetched { pages, creators, spent, saved, target_id }, come_back, None).await
        }
        Decision::SaveProgress { pause } => {
            // Creators not kept are dropped and their pages left unread, so a later step looks at
            // them again (the saved creators are then skipped): no paid lookup is thrown away.
            tracing::info!(kept = gathered.creators.len(), dropped = gathered.failures.len() + gathered.unsent.len(), pause_ms = ?pause.map(|a| a.as_millis()), "partial step saved");
            let creators = gathered.creators.into_iter().map(|(c, _)| c).collect();
            let pause = pause.map(|d| (d, WaitingReason::ProviderRateLimit));
            save(state, &job, step, &lanes, Fetched { pages: clean, creators, spent, saved, target_id }, pause, None).await
        }
        Decision::Pause { after } => {
            db::jobs::add_credits(&state.db, &job.id, spent).await.context("Failed to count credits")?;
            pause(state, &job, step, after).await
        }
        Decision::Retry(error) => {
            db::jobs::add_credits(&state.db, &job.id, spent).await.context("Failed to count credits")?;
            retry_later(state, &job, step, retried, error).await
        }
        Decision::Fail { error, save_progress } => {
            tracing::warn!(error = %error, save_progress, "provider refused; job ends");
            let message = error.user_message();
            if save_progress {
                // What the step already paid for is kept, and the job ends in the same transaction.
                let creators = gathered.creators.into_iter().map(|(c, _)| c).collect();
                return save(state, &job, step, &lanes, Fetched { pages: clean, creators, spent, saved, target_id }, None, Some(&message))
                    .await;
            }
            db::jobs::add_credits(&state.db, &job.id, spent).await.context("Failed to count credits")?;
            lifecycle::fail(&state.db, &job.id, &job.campaign_id, &message).await?;
            Ok(StepResult::Failed(message))
        }
    }
}

struct Fetched {
    /// Per lane, the pages to commit, in order.
    pages: Vec<(i64, Vec<PageRead>)>,
    creators: Vec<Creator>,
    /// Credits the step's provider calls cost.
    spent: u32,
    /// Credits saved by reusing recently bought profiles.
    saved: u32,
    /// A similar search's account id, read in this step.
    target_id: Option<String>,
}

/// Commits the step and publishes the next one (after `delay`, when the provider asked for a pause),
/// or, with `ending`, commits it and ends the job as `error` with that message.
async fn save(
    state: &AppState,
    job: &JobRow,
    step: i64,
    lanes: &[LaneRow],
    fetched: Fetched,
    delay: Option<(Duration, WaitingReason)>,
    ending: Option<&str>,
) -> Result<StepResult, StepError> {
    let mut tx = state.db.begin().await.context("Failed to begin the step transaction")?;
    if !lifecycle::claim_step(&mut tx, &job.id, step).await? {
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
    if let Some(id) = &fetched.target_id {
        db::jobs::set_target_id(&mut tx, &job.id, id).await.context("Failed to record the account's id")?;
    }
    let mut results = db::creators::count_for_job(&mut tx, &job.id).await.context("Failed to count creators")?;
    let results_before = results;
    for creator in &fetched.creators {
        if results >= job.target_results {
            break;
        }
        if db::creators::insert(&mut tx, &job.id, &job.campaign_id, results, creator).await.context("Failed to insert a creator")? {
            results += 1;
        }
    }
    let mut pages_read = 0;
    let mut exhausted_now: Vec<i64> = Vec::new();
    for (lane, pages) in &fetched.pages {
        let Some(last) = pages.last() else { continue };
        db::jobs::save_lane(&mut tx, &job.id, *lane, last.next_cursor.as_deref(), last.exhausted, pages.len() as i64)
            .await
            .context("Failed to save a lane")?;
        pages_read += pages.len() as i64;
        if last.exhausted {
            exhausted_now.push(*lane);
        }
    }
    let mut lanes_left = lanes.iter().filter(|l| l.exhausted == 0 && !exhausted_now.contains(&l.lane)).count();
    // The lanes the committed pages point to (a similar search's keywords, related profiles), each
    // once, and no more waiting than a walk needs.
    let mut seen: HashSet<(String, String)> = lanes.iter().map(|l| (l.keyword.to_lowercase(), l.source.clone())).collect();
    if let Some(target) = &job.target_username {
        seen.insert((target.to_lowercase(), RELATED_SOURCE.to_string()));
    }
    let room = MAX_WAITING_LANES.saturating_sub(lanes_left);
    let leads: Vec<(String, String)> = fetched
        .pages
        .iter()
        .flat_map(|(_, pages)| pages.iter().flat_map(|p| p.leads.iter()))
        .filter(|lead| seen.insert((lead.keyword.to_lowercase(), lead.source.to_string())))
        .take(room)
        .map(|lead| (lead.keyword.clone(), lead.source.to_string()))
        .collect();
    let mut next_lane = lanes.iter().map(|l| l.lane).max().unwrap_or(-1) + 1;
    if !leads.is_empty() {
        db::jobs::add_lanes(&mut tx, &job.id, next_lane, &leads).await.context("Failed to add lanes")?;
        next_lane += leads.len() as i64;
        lanes_left += leads.len();
    }
    let reached = results >= job.target_results;
    let mut added: Vec<String> = job.added_keywords.as_deref().and_then(|a| serde_json::from_str(a).ok()).unwrap_or_default();
    let mut dry = !reached && lanes_left == 0;
    if ending.is_none() && dry && job.kind() == SearchKind::Keywords && job.expand_keywords != 0 && job.added_keywords.is_none() {
        // Every lane ran dry below target: add lanes from the hashtags found so far, once.
        let tags = db::creators::hashtags_for_job(&mut tx, &job.id).await.context("Failed to read hashtags")?;
        let searched: Vec<String> = lanes.iter().map(|l| l.keyword.clone()).collect();
        added = expansion::pick(&tags, &searched, expansion::MAX_ADDED_KEYWORDS);
        db::jobs::set_added_keywords(&mut tx, &job.id, &added).await.context("Failed to record added keywords")?;
        if !added.is_empty() {
            let new: Vec<(String, String)> = added
                .iter()
                .flat_map(|keyword| state.providers.sources(job.platform()).iter().map(|source| (keyword.clone(), source.to_string())))
                .collect();
            db::jobs::add_lanes(&mut tx, &job.id, next_lane, &new).await.context("Failed to add lanes")?;
            tracing::info!(added = ?added, "keywords ran out; added hashtags");
            dry = false;
        }
    }
    // Pages that keep finding only creators already saved cost credits and lead nowhere.
    let idle_pages = decision::idle_pages(job.idle_pages, pages_read, results - results_before);
    let idle = !reached && !dry && idle_pages >= i64::from(state.config.jobs.max_idle_pages);
    let status = match ending {
        Some(_) => JobStatus::Error,
        None if reached || dry || idle => JobStatus::Completed,
        None => JobStatus::Processing,
    };
    let runs = job.processed_runs + pages_read;
    let note = match (dry, added.is_empty()) {
        _ if idle => Some(format!(
            "stopped after {idle_pages} pages in a row found no new creators ({results} of {}).",
            job.target_results
        )),
        (true, true) if job.kind() == SearchKind::Similar && results == 0 && runs <= 1 => Some(format!(
            "{}'s profile gives nothing to search for (no topics or related accounts).",
            job.view().account_label().unwrap_or_default()
        )),
        (true, true) if job.kind() == SearchKind::Similar => {
            Some(format!("no more similar creators were found after {results} of {}.", job.target_results))
        }
        (true, true) => Some(format!("the source ran out of creators for these keywords after {results} of {}.", job.target_results)),
        (true, false) => Some(format!(
            "the source ran out of creators after {results} of {}, even after adding {}.",
            job.target_results,
            expansion::as_hashtags(&added)
        )),
        (false, false) => Some(format!("added {} to reach the target.", expansion::as_hashtags(&added))),
        (false, true) => None,
    };
    let progress = match job.kind() {
        SearchKind::Keywords => progress_percent(
            runs as u32,
            expected_runs(job.platform(), job.target_results as u32),
            results as u32,
            job.target_results as u32,
            status == JobStatus::Completed,
        ),
        SearchKind::Similar => similar_progress(runs as u32, results as u32, job.target_results as u32, status == JobStatus::Completed),
    };
    let outcome = StepOutcome {
        resume_at: delay.map(|(d, _)| db::now_ms() + d.as_millis() as i64).unwrap_or(0),
        waiting_reason: delay.map(|(_, reason)| reason),
        credits_added: fetched.spent,
        credits_saved: fetched.saved,
        runs_added: pages_read,
        results,
        progress: progress as i64,
        status,
        note: note.as_deref(),
        error: ending,
        idle_pages,
    };
    lifecycle::record_step(&mut tx, &job.id, &job.campaign_id, outcome).await?;
    tx.commit().await.context("Failed to commit the step")?;
    if let Some(message) = ending {
        return Ok(StepResult::Failed(message.to_string()));
    }

    if status == JobStatus::Completed {
        tracing::info!(results, dry, "job completed");
        return Ok(StepResult::Completed { results });
    }
    publisher::publish_step(state, &job.id, step + 1, delay.map(|(d, _)| d), Publish::Step).await?;
    Ok(StepResult::Advanced { results })
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
        let wait = Duration::try_from_secs_f64(publisher::step_retry_delay(retried as i64).as_secs_f64() * scale);
        db::now_ms() + wait.unwrap_or(Duration::from_secs(86_400)).as_millis().min(i64::MAX as u128 / 2) as i64
    };
    db::jobs::record_error(&state.db, &job.id, step, &error.user_message(), resume_at).await.context("Failed to record the error")?;
    Err(StepError::Retryable(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::batch_size;

    #[test]
    fn a_resumed_step_takes_a_quarter_batch() {
        assert_eq!(batch_size(160, false), 160);
        assert_eq!(batch_size(160, true), 40);
        assert_eq!(batch_size(2, true), 1, "never nothing");
    }
}
