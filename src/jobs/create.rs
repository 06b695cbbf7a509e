//! Starting a validated search: store the job (and its lanes), publish step 0. If QStash cannot be
//! reached the job is ended at once with a message, so no run is left pending forever.

use super::{
    lifecycle,
    publisher::{self, Publish},
};
use crate::{
    db::{self, jobs::NewJob},
    domain::SearchSpec,
    providers::TARGET_SOURCE,
    startup::AppState,
    usecases::{searches::NewSearch, Owner},
};

#[derive(Debug, thiserror::Error)]
pub enum CreateJobError {
    #[error("{}", .0.message)]
    OverLimit(crate::usecases::limits::OverLimit),
    #[error("the job queue is unavailable")]
    QueueUnavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

#[derive(Debug, Clone)]
pub struct StartedJob {
    pub job_id: String,
    pub qstash_message_id: String,
}

pub async fn start(state: &AppState, owner: &Owner, search: &NewSearch, admission: &lifecycle::Admission) -> Result<StartedJob, CreateJobError> {
    let job_id = db::new_id();
    let timeout_at = db::now_ms() + state.config.jobs.timeout.as_millis() as i64;
    // A similar search starts with one lane: the account's own profile, which points to the rest.
    let target_lane: Vec<String>;
    let (keywords, sources, target_username): (&[String], &[&str], Option<&str>) = match &search.spec {
        SearchSpec::Keywords(keywords) => (keywords.as_slice(), state.providers.sources(search.platform), None),
        SearchSpec::Similar(username) => {
            target_lane = vec![username.as_str().to_string()];
            (&target_lane, &[TARGET_SOURCE], Some(username.as_str()))
        }
    };
    lifecycle::open(
        &state.db,
        NewJob {
            id: &job_id,
            user_id: owner.user_id(),
            workspace_id: owner.workspace_id(),
            campaign_id: &search.campaign_id,
            platform: search.platform,
            kind: search.spec.kind(),
            keywords,
            sources,
            target_username,
            target_results: search.target.get(),
            timeout_at,
            expand_keywords: search.expand_keywords,
        },
        Some(admission),
    )
    .await?
    .map_err(CreateJobError::OverLimit)?;
    let message_id = match publisher::publish_step(state, &job_id, 0, None, Publish::Step).await {
        Ok(message_id) => message_id,
        Err(e) => {
            if let Err(end) =
                lifecycle::fail(&state.db, &job_id, &search.campaign_id, "Scout could not queue this search. Please try again.").await
            {
                tracing::error!(error = ?end, job_id, "could not end a job that was never queued");
            }
            return Err(CreateJobError::QueueUnavailable(anyhow::Error::new(e)));
        }
    };
    tracing::info!(job_id, campaign_id = %search.campaign_id, platform = search.platform.as_str(), target = search.target.get(), spec = ?search.spec, "search started");
    Ok(StartedJob { job_id, qstash_message_id: message_id })
}
