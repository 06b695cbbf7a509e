use crate::{error::ApiError, startup::AppState};
use axum::{extract::State, routing::get, Json, Router};
use serde_json::{json, Value};

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

/// Up when the database answers.
async fn healthz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    sqlx::query("SELECT 1").execute(&state.db).await.map_err(|e| {
        tracing::error!(error = %e, "health check: database unavailable");
        ApiError::Unavailable("database unavailable".into())
    })?;
    Ok(Json(json!({ "status": "ok", "demoData": state.demo_data() })))
}
