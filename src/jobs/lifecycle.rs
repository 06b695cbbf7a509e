//! The one place a job's status changes. Each change updates the job and its campaign in the same
//! transaction, so the campaign list always agrees with its runs (see `db::campaigns::refresh_status`).
//! Every change is guarded by the job still being live, so a late or duplicate caller changes nothing.

use super::StepMessage;
use crate::{
    db::{self, jobs::NewJob, jobs::StepOutcome, Db},
    shared::JobStatus,
    usecases::limits::{self, OverLimit},
};
use anyhow::Context;
use sqlx::AnyConnection;

pub const TIMEOUT_MESSAGE: &str = "The search took too long and was stopped.";
pub const CANCELLED_MESSAGE: &str = "You cancelled this search.";

/// Stores a new `pending` job (and its lanes); its campaign becomes `active`. With `admission`, the
/// user's runs are counted (under their row's lock, so two starts at once cannot both squeeze into
/// the last place) and the job is stored only if it fits.
pub async fn open(db: &Db, job: NewJob<'_>, admission: Option<&Admission>) -> anyhow::Result<Result<(), OverLimit>> {
    let mut tx = db.begin().await.context("Failed to begin")?;
    if let Some(admission) = admission {
        db::users::lock(&mut tx, job.user_id).await.context("Failed to lock the user")?;
        let (day_start, month_start) = (admission.windows.day.0, admission.windows.month.0);
        let usage = db::jobs::usage(&mut tx, job.user_id, day_start, month_start).await.context("Failed to count the user's runs")?;
        if let Err(over) = limits::admit(&admission.limits, &usage, &admission.windows, db::now_ms()) {
            return Ok(Err(over));
        }
    }
    let campaign_id = job.campaign_id.to_string();
    db::jobs::insert(&mut tx, job).await.context("Failed to store the job")?;
    db::campaigns::refresh_status(&mut tx, &campaign_id).await.context("Failed to update the campaign")?;
    tx.commit().await.context("Failed to commit the new job")?;
    Ok(Ok(()))
}

/// The limits a new job must fit, and the windows they count in.
pub struct Admission {
    pub limits: limits::Limits,
    pub windows: limits::Windows,
}

/// Records a step's outcome inside the step's transaction; when it completes the job, the campaign
/// follows in the same transaction.
pub async fn record_step(conn: &mut AnyConnection, job_id: &str, campaign_id: &str, outcome: StepOutcome<'_>) -> anyhow::Result<()> {
    let terminal = outcome.status.is_terminal();
    db::jobs::save_step(conn, job_id, outcome).await.context("Failed to advance the job")?;
    if terminal {
        db::campaigns::refresh_status(conn, campaign_id).await.context("Failed to update the campaign")?;
    }
    Ok(())
}

/// Claims `step` of a live job inside the step's transaction (it becomes `processing`): the one
/// guard that makes a duplicate or stale delivery a no-op. False when another delivery did this step
/// or the job ended (a cancelled job's running step commits nothing).
pub async fn claim_step(conn: &mut AnyConnection, job_id: &str, step: i64) -> anyhow::Result<bool> {
    db::jobs::claim_step(conn, job_id, step).await.context("Failed to claim the step")
}

/// QStash gave up on a step (its failure callback): the job fails with the last reason recorded,
/// unless the step is stale (the job got past it, e.g. a sweeper re-publish succeeded) or the job
/// already ended. `Err` says why nothing changed.
pub async fn fail_after_retries(db: &Db, message: &StepMessage) -> anyhow::Result<Result<(), &'static str>> {
    let Some(job) = db::jobs::find(db, &message.job_id).await.context("Failed to load the job")? else {
        return Ok(Err("unknown job"));
    };
    if message.step.is_some_and(|step| step != job.step) {
        return Ok(Err("stale step"));
    }
    let reason = job.last_error.as_deref().unwrap_or("The search kept failing and was stopped. Please try again later.");
    // Guarded by the step just read, in the same UPDATE that ends the job: if a healthy delivery
    // moved the job on meanwhile, this callback changes nothing.
    let ended = end_at(db, &job.id, &job.campaign_id, JobStatus::Error, reason, Some(job.step)).await?;
    Ok(if ended { Ok(()) } else { Err("job moved on or already finished") })
}

/// Ends a live job as `error` with the sentence the marketer sees. False if it had already ended.
pub async fn fail(db: &Db, job_id: &str, campaign_id: &str, message: &str) -> anyhow::Result<bool> {
    end(db, job_id, campaign_id, JobStatus::Error, message).await
}

/// Ends a live job that passed its deadline. False if it had already ended.
pub async fn time_out(db: &Db, job_id: &str, campaign_id: &str) -> anyhow::Result<bool> {
    end(db, job_id, campaign_id, JobStatus::Timeout, TIMEOUT_MESSAGE).await
}

/// Stops a live job at the marketer's request; what it found so far is kept. False if it had
/// already ended.
pub async fn cancel(db: &Db, job_id: &str, campaign_id: &str) -> anyhow::Result<bool> {
    end(db, job_id, campaign_id, JobStatus::Cancelled, CANCELLED_MESSAGE).await
}

async fn end(db: &Db, job_id: &str, campaign_id: &str, status: JobStatus, message: &str) -> anyhow::Result<bool> {
    end_at(db, job_id, campaign_id, status, message, None).await
}

/// As `end`, only while the job is still at `step` (when given).
async fn end_at(db: &Db, job_id: &str, campaign_id: &str, status: JobStatus, message: &str, step: Option<i64>) -> anyhow::Result<bool> {
    debug_assert!(status.is_terminal());
    let mut tx = db.begin().await.context("Failed to begin")?;
    let ended = db::jobs::finish(&mut tx, job_id, status, Some(message), step).await.context("Failed to end the job")?;
    if ended {
        db::campaigns::refresh_status(&mut tx, campaign_id).await.context("Failed to update the campaign")?;
    }
    tx.commit().await.context("Failed to commit the job's end")?;
    Ok(ended)
}
