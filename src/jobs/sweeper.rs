//! Runs in every instance: times out jobs past `timeout_at`, and re-publishes the current step of
//! jobs that stopped moving (e.g. a crash between the step's commit and the next publish). The
//! re-publish carries the step's deduplication id, and steps are guarded, so it is always safe.
//! It also forgets webhook token ids that have expired.

use super::{
    lifecycle,
    publisher::{self, Publish},
};
use crate::{db, startup::AppState};

pub async fn run(state: AppState) {
    let mut interval = tokio::time::interval(state.config.jobs.sweep_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if let Err(e) = sweep(&state).await {
            tracing::error!(error = ?e, "stall sweep failed");
        }
    }
}

pub async fn sweep(state: &AppState) -> anyhow::Result<()> {
    let now = db::now_ms();
    for job in db::jobs::overdue(&state.db, now).await? {
        if lifecycle::time_out(&state.db, &job.id, &job.campaign_id).await? {
            tracing::warn!(job_id = %job.id, "job timed out");
        }
    }
    let stalled = db::jobs::stalled(&state.db, now - state.config.jobs.stall_after.as_millis() as i64).await?;
    for job in stalled {
        tracing::warn!(job_id = %job.id, step = job.step, "job stalled; re-publishing its step");
        db::jobs::touch(&state.db, &job.id).await?;
        if let Err(e) = publisher::publish_step(state, &job.id, job.step, None, Publish::Step).await {
            tracing::error!(job_id = %job.id, error = %e, "could not re-publish a stalled job");
        }
    }
    db::webhook_tokens::prune(&state.db).await?;
    Ok(())
}
