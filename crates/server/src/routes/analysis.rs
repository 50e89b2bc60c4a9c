//! Analysis endpoints (coverage, gaps, isochrones, what-if, partition, validation) live here.
//!
//! They are wired by the lead once `gridmap-algo` lands: add `#[utoipa::path]` handlers to this
//! module and list them in [`routes`] (they then appear in `/openapi.json` automatically); reach
//! the engine through [`crate::AppState::analysis`] (downcast the `Any` to the engine type) and
//! the layer data through [`crate::AppState::snapshot`]. After writing results or grids to the
//! store, call [`crate::AppState::invalidate`] so layers and tiles are rebuilt.
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;

/// Routes of the analysis API (none until the analysis engine is wired).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
