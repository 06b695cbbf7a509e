//! What happens when QStash calls us. Every delivery is verified against the raw body before
//! anything is parsed; a forged or tampered request changes nothing.

use crate::{
    db,
    error::ApiError,
    jobs::{
        lifecycle,
        step::{self, StepError, StepResult},
        StepMessage,
    },
    startup::AppState,
};
use axum::{
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Json, Router,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde::Deserialize;
use serde_json::json;

const MAX_WEBHOOK_BYTES: usize = 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/qstash/process-scraping", post(process_scraping)).route("/api/qstash/failed", post(failed))
}

/// Reads at most 1 MB of body (413 as JSON beyond) and checks the QStash signature for `url`.
async fn verified_body(state: &AppState, headers: &HeaderMap, body: Body, url: &str) -> Result<Bytes, ApiError> {
    let bytes = axum::body::to_bytes(body, MAX_WEBHOOK_BYTES).await.map_err(|_| ApiError::PayloadTooLarge(MAX_WEBHOOK_BYTES))?;
    let signature = headers.get("upstash-signature").and_then(|v| v.to_str().ok());
    let region = headers.get("upstash-region").and_then(|v| v.to_str().ok());
    let claims = state.receiver.verify_from(region, signature, &bytes, url).map_err(|e| {
        tracing::warn!(error = %e, url, "rejected a webhook delivery");
        ApiError::Unauthorized("Invalid or missing Upstash-Signature.".into())
    })?;
    // A valid token is accepted once: a captured delivery replayed within its lifetime would
    // otherwise re-run a failing step's paid calls. QStash's retries are signed afresh.
    if claims.jti.is_empty() {
        tracing::warn!(url, "refused a webhook delivery whose token has no id");
        return Err(ApiError::Unauthorized("The Upstash-Signature token has no id (jti).".into()));
    }
    if !db::webhook_tokens::remember(&state.db, &claims.jti, claims.exp.saturating_mul(1000)).await? {
        tracing::warn!(jti = %claims.jti, url, "refused a replayed webhook delivery");
        return Err(ApiError::Unauthorized("This delivery was already received (its signature cannot be used twice).".into()));
    }
    Ok(bytes)
}

async fn process_scraping(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Result<Response, ApiError> {
    let bytes = verified_body(&state, &headers, body, &state.urls.webhook()).await?;
    let message: StepMessage = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::BadRequest(format!("Body must be {{\"jobId\": string, \"step\": number}}: {e}")))?;
    let retried = headers.get("upstash-retried").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0);
    let resumed = retried > 0 || delivered_before(&state, &headers).await;
    // Its own task: if the caller goes away mid-step (the instance whose QStash delivery this is died
    // and the load balancer dropped the call), the step still finishes and saves what it paid for;
    // the message's next delivery then finds the step done.
    let step_message = message.clone();
    let run = tokio::spawn(tracing::Instrument::in_current_span(async move { step::run(&state, &step_message, retried, resumed).await }));
    let outcome = run.await.map_err(|e| ApiError::Unexpected(anyhow::anyhow!("the step task failed: {e}")))?;
    match outcome {
        Ok(result) => Ok(Json(describe(&result)).into_response()),
        Err(StepError::Retryable(reason)) => {
            // 5xx makes QStash retry with backoff; after the last retry it calls /api/qstash/failed.
            tracing::warn!(job_id = %message.job_id, step = ?message.step, reason, "step failed; QStash will retry");
            Ok((StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "error": "The provider is failing; the step will be retried." })))
                .into_response())
        }
        Err(StepError::Unexpected(e)) => Err(ApiError::Unexpected(e)),
    }
}

/// Whether the embedded QStash server started this message before (its instance died, or it was
/// handed back at a shutdown): the step is then resumed work. (Real QStash says so with
/// `Upstash-Retried` alone.) A failed look counts as a first delivery.
async fn delivered_before(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(id) = headers.get("upstash-message-id").and_then(|v| v.to_str().ok()).filter(|_| state.dev_qstash.is_some()) else {
        return false;
    };
    match db::qstash::deliveries_started(&state.db, id).await {
        Ok(n) => n > 1,
        Err(e) => {
            tracing::warn!(error = %e, "could not tell whether a step was delivered before");
            false
        }
    }
}

fn describe(result: &StepResult) -> serde_json::Value {
    match result {
        StepResult::Ignored(reason) => json!({ "status": "ignored", "reason": reason }),
        StepResult::Advanced { results } => json!({ "status": "advanced", "results": results }),
        StepResult::Completed { results } => json!({ "status": "completed", "results": results }),
        StepResult::Rescheduled { after } => json!({ "status": "rescheduled", "afterMs": after.as_millis() as u64 }),
        StepResult::Failed(message) => json!({ "status": "failed", "error": message }),
    }
}

/// The body QStash posts to a failure callback (fields Scout reads).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FailureCallback {
    source_body: Option<String>,
    status: Option<i64>,
}

async fn failed(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Result<Json<serde_json::Value>, ApiError> {
    let bytes = verified_body(&state, &headers, body, &state.urls.failure_callback()).await?;
    let callback: FailureCallback =
        serde_json::from_slice(&bytes).map_err(|e| ApiError::BadRequest(format!("Invalid failure callback: {e}")))?;
    let source = callback
        .source_body
        .as_deref()
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| serde_json::from_slice::<StepMessage>(&b).ok())
        .ok_or_else(|| ApiError::BadRequest("The failure callback carries no job step.".into()))?;
    tracing::warn!(job_id = %source.job_id, step = ?source.step, status = ?callback.status, "QStash gave up on a step");
    Ok(Json(match lifecycle::fail_after_retries(&state.db, &source).await? {
        Ok(()) => json!({ "status": "failed" }),
        Err(reason) => json!({ "status": "ignored", "reason": reason }),
    }))
}
