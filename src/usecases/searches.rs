//! Searches (runs): start one on a platform, by keywords or similar to an account; read its status.

use super::{campaigns, limits, Owner, UseCaseError};
use crate::{
    db::{self, jobs::JobRow},
    domain::{Keywords, SearchSpec, TargetResults, TargetUsername},
    jobs::{
        create::{self, StartedJob},
        lifecycle,
    },
    shared::{JobStatus, JobView, Platform, SearchKind, WaitingReason},
    startup::AppState,
};

/// A start request as the API receives it (the original system's shape): `keywords` for a keyword
/// search or `targetUsername` for a similar search, never both.
#[derive(Debug, Default)]
pub struct StartRequest {
    pub campaign_id: Option<String>,
    pub keywords: Option<Vec<String>>,
    pub target_username: Option<String>,
    pub target_results: Option<serde_json::Value>,
    /// Whether a keyword search may add hashtags it finds when its keywords run out (default yes).
    pub expand_keywords: Option<bool>,
}

/// A validated start request.
#[derive(Debug)]
pub struct NewSearch {
    pub campaign_id: String,
    pub platform: Platform,
    pub spec: SearchSpec,
    pub target: TargetResults,
    pub expand_keywords: bool,
}

/// Validates a request to search `platform`; `kind` is set when the route itself names the kind
/// (`/api/scraping/{platform}-similar`).
pub fn parse(platform: Platform, kind: Option<SearchKind>, request: StartRequest) -> Result<NewSearch, UseCaseError> {
    let invalid = |m: &str| UseCaseError::Invalid(m.to_string());
    let campaign_id = request.campaign_id.filter(|c| !c.trim().is_empty()).ok_or_else(|| invalid("campaignId is required."))?;
    let spec = match (request.keywords, request.target_username, kind) {
        (Some(_), Some(_), _) => return Err(invalid("Give either keywords or a targetUsername, not both.")),
        (Some(_), None, Some(SearchKind::Similar)) | (None, None, Some(SearchKind::Similar)) => {
            return Err(invalid("A similar search needs a targetUsername."))
        }
        (Some(keywords), None, _) => SearchSpec::Keywords(Keywords::parse(&keywords).map_err(UseCaseError::Invalid)?),
        (None, Some(username), _) => SearchSpec::Similar(TargetUsername::parse(&username, platform).map_err(UseCaseError::Invalid)?),
        (None, None, _) => return Err(invalid("Give keywords (a keyword search) or a targetUsername (a similar search).")),
    };
    let target = match request.target_results {
        Some(serde_json::Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .ok_or_else(|| invalid("targetResults must be a whole number."))?,
        // A numeric string is accepted because the original API accepted it.
        Some(serde_json::Value::String(s)) => s.trim().parse::<i64>().map_err(|_| invalid("targetResults must be a number."))?,
        None | Some(serde_json::Value::Null) => return Err(invalid("targetResults is required.")),
        Some(_) => return Err(invalid("targetResults must be a number.")),
    };
    let target = TargetResults::parse(target, spec.kind()).map_err(UseCaseError::Invalid)?;
    Ok(NewSearch { campaign_id, platform, spec, target, expand_keywords: request.expand_keywords.unwrap_or(true) })
}

/// Starts a validated search in one of the owner's campaigns.
pub async fn start(state: &AppState, owner: &Owner, search: NewSearch) -> Result<StartedJob, UseCaseError> {
    campaigns::find_writable(state, owner, &search.campaign_id).await?;
    let user = db::users::find(&state.db, owner.user_id()).await?.ok_or(UseCaseError::NotFound("Account not found."))?;
    let admission = lifecycle::Admission {
        limits: limits::for_user(&user, &state.config.limits),
        windows: limits::windows(db::now_ms(), &state.config.limits),
    };
    create::start(state, owner, &search, &admission).await.map_err(|e| match e {
        create::CreateJobError::OverLimit(over) => over.into(),
        create::CreateJobError::QueueUnavailable(e) => UseCaseError::QueueUnavailable(e),
        create::CreateJobError::Unexpected(e) => UseCaseError::Unexpected(e),
    })
}

/// A run's status, as the progress bar and `GET /api/scraping/{platform}?jobId=` show it.
pub async fn status(state: &AppState, owner: &Owner, job_id: &str) -> Result<JobView, UseCaseError> {
    let job = find(state, owner, job_id).await?;
    let mut view = job.view();
    // With the embedded QStash server the step's delivery shows whether an instance is running it.
    if let (None, false, true, Some(message_id)) =
        (view.waiting_reason, view.status.is_terminal(), state.config.dev_qstash.enabled, job.qstash_message_id.as_deref())
    {
        if let Some((message_state, not_before, locked_until)) = db::qstash::delivery_of(&state.db, message_id).await? {
            let lease_ms = state.config.dev_qstash.lease.as_millis() as i64;
            if let Some(until) = recovery_wait(db::now_ms(), lease_ms, &message_state, not_before, locked_until) {
                view.waiting_reason = Some(WaitingReason::Recovery);
                view.waiting_until = until;
            }
        }
    }
    Ok(view)
}

/// Whether a step's delivery waits for an instance to take it over, and until when its lease holds:
/// a lease that nobody renewed for half its length (a running delivery renews it every third), or a
/// message due for a whole lease that no instance has taken.
fn recovery_wait(now: i64, lease_ms: i64, state: &str, not_before: i64, locked_until: i64) -> Option<Option<i64>> {
    if state != "pending" {
        return None;
    }
    if locked_until > now {
        return (locked_until - now < lease_ms / 2).then_some(Some(locked_until));
    }
    (not_before <= now - lease_ms).then_some(None)
}

/// Stops one of the owner's live runs: no further step runs and what it found is kept. Cancelling
/// a cancelled run again is fine; a run that already ended otherwise cannot be cancelled.
pub async fn cancel(state: &AppState, owner: &Owner, job_id: &str) -> Result<JobView, UseCaseError> {
    let job = find(state, owner, job_id).await?;
    if job.workspace_id != owner.workspace_id() {
        return Err(UseCaseError::Forbidden(campaigns::READ_ONLY));
    }
    if !lifecycle::cancel(&state.db, &job.id, &job.campaign_id).await? {
        let job = find(state, owner, job_id).await?;
        if job.status() != JobStatus::Cancelled {
            return Err(UseCaseError::Conflict("This search has already finished."));
        }
    }
    // Anything still running at the provider for this search (an Apify run) is stopped too.
    for lane in db::jobs::lanes(&state.db, &job.id).await? {
        if let Some(cursor) = lane.cursor.as_deref() {
            if let Err(e) = state.providers.abort(&lane.source, cursor).await {
                tracing::warn!(job_id, error = %e, "could not stop a provider run of a cancelled search");
            }
        }
    }
    tracing::info!(job_id, "search cancelled");
    status(state, owner, job_id).await
}

pub(super) async fn find(state: &AppState, owner: &Owner, job_id: &str) -> Result<JobRow, UseCaseError> {
    db::jobs::find_owned(&state.db, owner.read_scope(), job_id).await?.ok_or(UseCaseError::NotFound("Job not found."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_step_waits_for_recovery_only_when_nobody_runs_it() {
        let (now, lease) = (100_000, 10_000);
        assert_eq!(recovery_wait(now, lease, "pending", 0, now + 9_000), None, "renewed lately: running");
        assert_eq!(recovery_wait(now, lease, "pending", 0, now + 4_000), Some(Some(now + 4_000)), "not renewed: its instance stopped");
        assert_eq!(recovery_wait(now, lease, "pending", now - 20_000, 0), Some(None), "due long ago, taken by nobody");
        assert_eq!(recovery_wait(now, lease, "pending", now - 500, 0), None, "just due: about to be taken");
        assert_eq!(recovery_wait(now, lease, "pending", now + 5_000, 0), None, "a planned wait");
        assert_eq!(recovery_wait(now, lease, "delivered", 0, 0), None);
    }

    fn request(keywords: Option<&[&str]>, username: Option<&str>, target: serde_json::Value) -> StartRequest {
        StartRequest {
            campaign_id: Some("c".into()),
            keywords: keywords.map(|k| k.iter().map(|s| s.to_string()).collect()),
            target_username: username.map(str::to_string),
            target_results: Some(target),
            expand_keywords: None,
        }
    }

    fn error(result: Result<NewSearch, UseCaseError>) -> String {
        result.expect_err("invalid").to_string()
    }

    #[test]
    fn exactly_one_of_keywords_and_target_username() {
        assert!(error(parse(Platform::Tiktok, None, request(Some(&["a"]), Some("maya"), json!(1000)))).contains("not both"));
        assert!(error(parse(Platform::Tiktok, None, request(None, None, json!(1000)))).contains("targetUsername"));
        assert!(
            error(parse(Platform::Tiktok, Some(SearchKind::Similar), request(Some(&["a"]), None, json!(100)))).contains("targetUsername")
        );
        let search = parse(Platform::Tiktok, None, request(Some(&["a"]), None, json!("2000"))).unwrap();
        assert_eq!((search.spec.kind(), search.target.get()), (SearchKind::Keywords, 2000));
    }

    #[test]
    fn targets_follow_the_kind() {
        assert!(error(parse(Platform::Tiktok, None, request(Some(&["a"]), None, json!(100)))).contains("between 1000 and 5000"));
        assert!(error(parse(Platform::Tiktok, None, request(Some(&["a"]), None, json!(1500.5)))).contains("whole number"));
        assert!(error(parse(Platform::Tiktok, None, request(None, Some("@maya"), json!(5000)))).contains("between 100 and 1000"));
    }
}
