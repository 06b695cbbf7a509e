//! Starting a search: validate, store the job, publish step 0. Used by the JSON API and the page's
//! server function alike.

use super::{step_dedup_id, StepMessage, LOCAL_USER};
use crate::{
    db::{self, jobs::NewJob},
    domain::{Keywords, TargetResults},
    qstash::client::PublishOptions,
    startup::AppState,
};
use anyhow::Context;

#[derive(Debug, thiserror::Error)]
pub enum CreateJobError {
    #[error("{0}")]
    Invalid(String),
    #[error("Campaign not found.")]
    CampaignNotFound,
    #[error("The job queue is unavailable right now. Please try again in a minute.")]
    QueueUnavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

#[derive(Debug, Clone)]
pub struct StartedJob {
    pub job_id: String,
    pub qstash_message_id: String,
}

pub async fn start_tiktok_search(
    state: &AppState,
    campaign_id: &str,
    keywords: &Keywords,
    target: TargetResults,
) -> Result<StartedJob, CreateJobError> {
    let campaign = db::campaigns::find(&state.db, LOCAL_USER, campaign_id).await.context("Failed to load the campaign")?;
    if campaign.is_none() {
        return Err(CreateJobError::CampaignNotFound);
    }
    let job_id = db::new_id();
    let timeout_at = db::now_ms() + state.config.jobs.timeout.as_millis() as i64;
    db::jobs::insert(
        &state.db,
        NewJob {
            id: &job_id,
            user_id: LOCAL_USER,
            campaign_id,
            platform: "tiktok",
            keywords: keywords.as_slice(),
            target_results: target.get(),
            timeout_at,
        },
    )
    .await
    .context("Failed to store the job")?;
    let message = serde_json::to_value(StepMessage { job_id: job_id.clone(), step: 0 }).expect("serializable");
    let options = PublishOptions {
        retries: Some(state.config.qstash.retries),
        deduplication_id: Some(step_dedup_id(&job_id, 0)),
        failure_callback: Some(state.urls.failure_callback()),
        ..Default::default()
    };
    let published = match state.qstash.publish_json(&state.urls.webhook(), &message, &options).await {
        Ok(published) => published,
        Err(e) => {
            let _ = db::jobs::finish(
                &state.db,
                &job_id,
                crate::shared::JobStatus::Error,
                Some("Scout could not queue this search. Please try again."),
            )
            .await;
            return Err(CreateJobError::QueueUnavailable(anyhow::Error::new(e)));
        }
    };
    db::jobs::set_message_id(&state.db, &job_id, &published.message_id).await.context("Failed to store the message id")?;
    db::campaigns::touch(&state.db, campaign_id, "active").await.context("Failed to update the campaign")?;
    tracing::info!(job_id, campaign_id, target = target.get(), keywords = ?keywords.as_slice(), "search started");
    Ok(StartedJob { job_id, qstash_message_id: published.message_id })
}

/// Parses the raw request values into domain types (the same rules for API and UI).
pub fn parse_request(keywords: &[String], target: Option<&serde_json::Value>) -> Result<(Keywords, TargetResults), CreateJobError> {
    let keywords = Keywords::parse(keywords).map_err(CreateJobError::Invalid)?;
    let target = match target {
        Some(serde_json::Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .ok_or_else(|| CreateJobError::Invalid("targetResults must be a whole number.".into()))?,
        Some(serde_json::Value::String(s)) => {
            s.trim().parse::<i64>().map_err(|_| CreateJobError::Invalid("targetResults must be a number.".into()))?
        }
        None | Some(serde_json::Value::Null) => return Err(CreateJobError::Invalid("targetResults is required.".into())),
        Some(_) => return Err(CreateJobError::Invalid("targetResults must be a number.".into())),
    };
    let target = TargetResults::parse(target).map_err(CreateJobError::Invalid)?;
    Ok((keywords, target))
}
