//! The one publisher of job steps, used by create, step and sweeper: the message body, its
//! deduplication id, retries and failure callback are decided here and nowhere else.

use super::StepMessage;
use crate::{
    db::{self, jobs::JobRow},
    qstash::client::{PublishError, PublishOptions},
    startup::AppState,
};
use std::time::Duration;

/// Which publish of a step this is; it decides the deduplication id.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Publish {
    /// The step's one regular message: re-publishing it (after a crash, by the sweeper) is a no-op
    /// while QStash remembers the id.
    Step,
    /// The `n`-th rate-limit retry of the step: a new message that must not be deduplicated away.
    RateLimitRetry(i64),
}

#[derive(Debug, thiserror::Error)]
pub enum PublishStepError {
    #[error(transparent)]
    Queue(#[from] PublishError),
    #[error("could not store the message id: {0}")]
    Database(#[from] sqlx::Error),
}

/// `Upstash-Retry-Delay` of step messages, in ms: 2 s, 12 s, then 30 min (a day from the fourth on).
/// QStash's own backoff waits 12 s, 148 s, 30 min. A step's first failed attempt is often no failure
/// of the step at all but of the way to it: the load balancer answered 502 because the instance
/// serving the call died (a crash mid-step), and the step should resume at once on another instance.
/// A provider fault burst can outlast 2 s, so the second retry comes at 12 s, when QStash's first
/// would have; the third keeps QStash's long wait for a provider that is down, so the default 3
/// retries span about as long as QStash's (31 min against 33). As an expression (QStash's grammar
/// has no conditionals): `min(1, retried)` is 0 for the first retry, which takes the 2 s floor, and
/// `exp(1.25 · r · (r + 1))` s is e^2.5 = 12 s for r = 1 and e^7.5 = 1808 s for r = 2.
pub const STEP_RETRY_DELAY: &str = "max(2000, min(1, retried) * min(86400000, exp(1.25 * retried * (retried + 1)) * 1000))";

/// The wait before the retry that follows `retried` retries of a step (`STEP_RETRY_DELAY`).
pub fn step_retry_delay(retried: i64) -> Duration {
    crate::qstash::retry_delay::RetryDelay::parse(STEP_RETRY_DELAY).expect("a valid expression").delay(retried)
}

/// The deduplication id of a step message.
pub fn dedup_id(job_id: &str, step: i64, publish: Publish) -> String {
    match publish {
        Publish::Step => format!("job-{job_id}-step-{step}"),
        Publish::RateLimitRetry(attempt) => format!("job-{job_id}-step-{step}-rl-{attempt}"),
    }
}

/// Publishes `step` of `job_id` (after `delay`) and remembers the message id on the job. Returns the
/// message id (the first one's when QStash deduplicated the publish).
pub async fn publish_step(
    state: &AppState,
    job_id: &str,
    step: i64,
    delay: Option<Duration>,
    publish: Publish,
) -> Result<String, PublishStepError> {
    let body = serde_json::to_value(StepMessage { job_id: job_id.to_string(), step: Some(step) }).expect("serializable");
    let options = PublishOptions {
        delay,
        retries: Some(state.config.qstash.retries),
        deduplication_id: Some(dedup_id(job_id, step, publish)),
        failure_callback: Some(state.urls.failure_callback()),
        retry_delay: Some(STEP_RETRY_DELAY.into()),
    };
    let published = state.qstash.publish_json(&state.urls.webhook(), &body, &options).await?;
    // A deduplicated publish answers the step's first message, which is the one to remember.
    db::jobs::set_message_id(&state.db, job_id, &published.message_id).await?;
    Ok(published.message_id)
}

/// Re-publishes the job's current step (deduplicated if it was published), keeping any planned pause.
pub async fn republish_current(state: &AppState, job: &JobRow) -> Result<(), PublishStepError> {
    let wait = job.resume_at - db::now_ms();
    let delay = (wait > 0).then(|| Duration::from_millis(wait as u64));
    publish_step(state, &job.id, job.step, delay, Publish::Step).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_is_retried_after_2_s_then_12_s_then_30_min() {
        let secs: Vec<u64> = (0..4).map(|retried| step_retry_delay(retried).as_secs()).collect();
        assert_eq!(secs, vec![2, 12, 1808, 86_400]);
        assert_eq!(step_retry_delay(40).as_secs(), 86_400, "capped at a day, as QStash caps it");
    }

    #[test]
    fn each_publish_of_a_step_has_its_own_dedup_id() {
        assert_eq!(dedup_id("j", 3, Publish::Step), "job-j-step-3");
        assert_eq!(dedup_id("j", 3, Publish::RateLimitRetry(2)), "job-j-step-3-rl-2");
    }
}
