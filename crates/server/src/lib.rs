//! gridmap's HTTP server: OGC API - Features (Part 1 core/GeoJSON, Part 2 CRS, Part 3
//! queryables, Part 4 create/replace/update/delete with ETag/If-Match, Part 5 schemas), a REST
//! GeoJSON API under `/api/`, Mapbox vector tiles under `/tiles/` with a MapLibre style at
//! `/styles/gridmap.json`, and an OpenAPI 3.1 document generated from the handlers
//! (`/openapi.json`, browsable at `/docs`). What a feature carries is declared once, in
//! [`properties`].
//!
//! Layers are answered from an in-memory [`snapshot`] of the store, rebuilt when an edit bumps
//! the data generation; vector tiles are cached per generation.
#![forbid(unsafe_code)]

pub mod auth;
pub mod backend;
pub mod crs;
pub mod edit;
pub mod error;
pub mod etag;
pub mod geojson;
pub mod jobs;
pub mod live;
mod middleware;
mod openapi;
pub mod properties;
pub mod query;
pub mod routes;
pub mod snapshot;
mod state;
pub mod tiles;
mod time;
pub mod web;

pub use error::{ApiError, Problem};
pub use state::AppState;

use backend::Store;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// How the server runs (the CLI fills it from flags).
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub bind: SocketAddr,
    /// Origins allowed by CORS; empty = no CORS headers; `*` = any origin.
    pub cors_origins: Vec<String>,
    /// Largest accepted request body (413 above).
    pub body_limit_bytes: usize,
    /// Longest time a request may take (503 problem after it).
    pub request_timeout: Duration,
    /// Base URL for absolute links (e.g. `https://maps.example.org/gridmap`); else from `Host`.
    pub public_url: Option<String>,
    /// What callers without credentials may do.
    pub anonymous: auth::Anonymous,
    /// Lifetime of a login session.
    pub session_ttl: Duration,
    /// Event categories (`--event-categories FILE`); `None`: the embedded
    /// `data/event_categories.toml`.
    pub event_categories: Option<std::sync::Arc<gridmap_model::events::EventCategories>>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            cors_origins: vec![],
            body_limit_bytes: 2 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            public_url: None,
            anonymous: auth::Anonymous::Read,
            session_ttl: Duration::from_hours(12),
            event_categories: None,
        }
    }
}

/// Failures of [`serve`].
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server stopped with an error: {0}")]
    Serve(std::io::Error),
}

/// The whole application: every route with its middleware.
pub fn router(state: AppState) -> axum::Router {
    let (api, _doc) = routes::api_router(state.clone());
    middleware::wrap(api, &state)
}

/// Serves `store` until `shutdown` resolves, then drains open requests.
pub async fn serve(
    store: Arc<dyn Store>,
    cfg: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let listener = tokio::net::TcpListener::bind(cfg.bind)
        .await
        .map_err(|source| ServerError::Bind {
            addr: cfg.bind,
            source,
        })?;
    let addr = listener.local_addr().unwrap_or(cfg.bind);
    let state = AppState::new(store, cfg);
    // Load the layers so the first user does not pay for it, then follow the store's change
    // log (edits of other replicas and of the CLI) for as long as the server runs.
    let warm = state.clone();
    let follower = tokio::spawn(async move {
        if let Err(e) = warm.data.get(warm.store.as_ref()).await {
            tracing::warn!(error = %e, "could not preload layers");
        }
        live::follow(warm).await;
    });
    tracing::info!(%addr, "gridmap server listening");
    // No Nagle delay: the last partial segment of a large page must not wait for an ACK.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    // With the peer address (ConnectInfo), which the login limit counts failures by.
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(ServerError::Serve);
    follower.abort();
    served?;
    tracing::info!("gridmap server stopped");
    Ok(())
}
