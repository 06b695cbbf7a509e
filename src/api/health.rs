use crate::{error::ApiError, startup::AppState};
use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde_json::json;

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

/// Whether this instance should get new work: 503 once a shutdown (SIGTERM) has begun, while it
/// finishes what it has, or when its database does not answer; `/healthz` says whether it works.
async fn readyz(State(state): State<AppState>) -> Result<Response, ApiError> {
    if state.stopping.load(std::sync::atomic::Ordering::SeqCst) {
        return Ok((StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "stopping" }))).into_response());
    }
    sqlx::query("SELECT 1").execute(&state.db).await.map_err(|e| {
        tracing::error!(error = %e, "readiness check: database unavailable");
        ApiError::Unavailable("database unavailable".into())
    })?;
    Ok(Json(json!({ "status": "ready" })).into_response())
}

/// Up when the database answers and every background task runs (none panicked in the last
/// minute); otherwise 503 with what is wrong. Also how many deliveries this instance has started.
async fn healthz(State(state): State<AppState>) -> Result<Response, ApiError> {
    sqlx::query("SELECT 1").execute(&state.db).await.map_err(|e| {
        tracing::error!(error = %e, "health check: database unavailable");
        ApiError::Unavailable("database unavailable".into())
    })?;
    let healthy = state.tasks.healthy(crate::db::now_ms());
    let mut body =
        json!({ "status": if healthy { "ok" } else { "degraded" }, "demoData": state.demo_data(), "tasks": state.tasks.snapshot() });
    // With several instances on one database, each one's share of the embedded server's work.
    if let Some(server) = &state.dev_qstash {
        body["qstashDeliveriesStarted"] = json!(server.deliveries_started());
    }
    Ok(match healthy {
        true => Json(body).into_response(),
        false => (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response(),
    })
}
