//! Liveness and readiness: `GET /health`.
use super::json_value;
use crate::error::{ApiError, Problem};
use crate::openapi::schemas::Health;
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use serde_json::json;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health))
}

/// Server status, storage backend and record counts.
#[utoipa::path(get, path = "/health", tag = "Service", operation_id = "health",
    responses(
        (status = 200, description = "The server and its store answer", body = Health, content_type = "application/json"),
        (status = 500, description = "The store does not answer", body = Problem, content_type = "application/problem+json"),
    ))]
async fn health(State(st): State<AppState>) -> Result<Response, ApiError> {
    let counts = st.store.counts().await?;
    Ok(json_value(
        "application/json",
        &json!({"status": "ok", "backend": st.store.backend(), "counts": counts}),
    ))
}
