//! The scraping job state machine. `create` starts a job and queues its first step; `step` runs one
//! step per QStash delivery: `gather` does its provider calls, `decision` (pure) chooses what to keep; `publisher` is the
//! one way steps reach QStash; `lifecycle` is the one place job (and campaign) statuses change;
//! `sweeper` heals stalled jobs and times out old ones.

pub mod create;
pub mod decision;
pub mod expansion;
pub mod gather;
pub mod lifecycle;
pub mod publisher;
pub mod step;
pub mod sweeper;

use serde::{Deserialize, Serialize};

/// The body of every job-step message: which job, and which step the sender expects to run. The
/// original system's webhook body was `{"jobId"}` alone; without a step it means the job's current one.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StepMessage {
    pub job_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_message_without_a_step_is_accepted() {
        let message: StepMessage = serde_json::from_str(r#"{"jobId": "j1"}"#).unwrap();
        assert_eq!(message, StepMessage { job_id: "j1".into(), step: None });
        let message: StepMessage = serde_json::from_str(r#"{"jobId": "j1", "step": 4}"#).unwrap();
        assert_eq!(message.step, Some(4));
        assert_eq!(serde_json::to_string(&message).unwrap(), r#"{"jobId":"j1","step":4}"#);
    }
}
