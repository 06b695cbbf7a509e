//! The scraping job state machine. `create` starts a job and queues its first step; `step` runs one
//! step per QStash delivery; `sweeper` heals stalled jobs and times out old ones.

pub mod create;
pub mod step;
pub mod sweeper;

use crate::{db, shared::JobStatus, startup::AppState};
use anyhow::Context;
use serde::{Deserialize, Serialize};

/// The body of every job-step message: which job, and which step the sender expects to run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StepMessage {
    pub job_id: String,
    pub step: i64,
}

/// The deduplication id of a step message, so a re-publish of the same step is a no-op in QStash.
pub fn step_dedup_id(job_id: &str, step: i64) -> String {
    format!("job-{job_id}-step-{step}")
}

/// The user every campaign belongs to until accounts exist.
pub const LOCAL_USER: &str = "local";

/// Ends a live job as `error` or `timeout` with the sentence the marketer sees, and marks its campaign
/// the same way so the campaign list tells. Returns false if the job had already ended.
pub async fn end_job(state: &AppState, job_id: &str, campaign_id: &str, status: JobStatus, message: &str) -> anyhow::Result<bool> {
    let ended = db::jobs::finish(&state.db, job_id, status, Some(message)).await.context("Failed to end the job")?;
    if ended {
        db::campaigns::touch(&state.db, campaign_id, status.as_str()).await.context("Failed to update the campaign")?;
    }
    Ok(ended)
}
