//! The scraping job state machine. `create` starts a job and queues its first step; `step` runs one
//! step per QStash delivery; `sweeper` heals stalled jobs and times out old ones.

pub mod create;
pub mod step;
pub mod sweeper;

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
