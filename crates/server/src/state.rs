//! Shared state of all handlers.
use crate::backend::Store;
use crate::error::ApiError;
use crate::snapshot::{DataCache, Snapshot};
use crate::tiles::TileCache;
use crate::ServerConfig;
use axum::http::HeaderMap;
use std::any::Any;
use std::sync::Arc;

/// Cached item pages: (head, tail) around the timestamp, weighted by their size in bytes. Keyed
/// by the collection's version ([`crate::snapshot::Snapshot::version`]): an edit of one
/// collection leaves the pages of the others valid.
pub type PageCache = quick_cache::sync::Cache<
    (u64, String),
    Arc<(axum::body::Bytes, axum::body::Bytes)>,
    PageWeight,
>;

/// Weighs a cached page by its byte size (the cache holds at most 128 MiB of pages).
#[derive(Clone)]
pub struct PageWeight;

impl quick_cache::Weighter<(u64, String), Arc<(axum::body::Bytes, axum::body::Bytes)>>
    for PageWeight
{
    fn weight(&self, k: &(u64, String), v: &Arc<(axum::body::Bytes, axum::body::Bytes)>) -> u64 {
        (k.1.len() + v.0.len() + v.1.len()) as u64 + 1
    }
}

/// What every handler sees. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<ServerConfig>,
    /// The live state: the newest snapshot, advanced by the change log ([`crate::live`]).
    pub data: Arc<DataCache>,
    /// Encoded vector tiles keyed by layer/z/x/y and the layer's version.
    pub tiles: Arc<TileCache>,
    /// Serialized item pages keyed by (data generation, collection + base URL + query).
    pub pages: Arc<PageCache>,
    /// Slot for the analysis engine (coverage, gaps, isochrones, what-if, partition,
    /// validation), wired by the CLI once `gridmap-algo` lands; see `routes::analysis`.
    pub analysis: Option<Arc<dyn Any + Send + Sync>>,
    /// Token hash → user lookups, reused for [`crate::auth::IDENTITY_TTL`].
    pub identities: Arc<crate::auth::IdentityCache>,
    /// The jobs this server runs or queues ([`crate::jobs`]).
    pub jobs: Arc<crate::jobs::JobRunner>,
    /// Event categories, the clock deadlines are counted on, the routing index.
    pub events: Arc<crate::routes::events::EventsState>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, config: ServerConfig) -> Self {
        let events = match &config.event_categories {
            Some(c) => crate::routes::events::EventsState::new(
                c.clone(),
                Arc::new(gridmap_model::events::SystemClock),
            ),
            None => crate::routes::events::EventsState::default(),
        };
        Self {
            store,
            config: Arc::new(config),
            data: Arc::new(DataCache::default()),
            tiles: Arc::new(TileCache::new(20_000)),
            pages: Arc::new(PageCache::with_weighter(
                1024,
                128 * 1024 * 1024,
                PageWeight,
            )),
            analysis: Some(Arc::new(crate::routes::analysis::AnalysisCache::default())),
            identities: Arc::new(crate::auth::IdentityCache::new(10_000)),
            jobs: Arc::new(crate::jobs::JobRunner::default()),
            events: Arc::new(events),
        }
    }

    /// The layer snapshot of the current data generation as the caller of the current request
    /// may see it (see [`crate::auth`]): every handler reads layers through this.
    /// The facility profile and kinds the dataset was imported with (store metadata written
    /// by `gridmap import`; [`gridmap_model::KindCatalog::unrecorded`] when none was kept).
    pub async fn kind_catalog(&self) -> Result<gridmap_model::KindCatalog, ApiError> {
        Ok(self
            .store
            .meta(gridmap_model::FACILITY_PROFILE_META)
            .await?
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_else(gridmap_model::KindCatalog::unrecorded))
    }

    pub async fn snapshot(&self) -> Result<Arc<Snapshot>, ApiError> {
        self.data
            .get_scoped(self.store.as_ref(), &crate::auth::current().scope)
            .await
    }

    /// Cache-key part naming the current caller's scope (empty for the whole dataset).
    pub fn scope_key(&self) -> String {
        crate::auth::current().scope.key().to_owned()
    }

    /// Forgets every cache: the next read loads the store again. Edits do not need it (they
    /// go through [`crate::edit::commit`] and the change log); tests and tools may.
    pub fn invalidate(&self) {
        self.data.invalidate();
        self.tiles.clear();
        self.pages.clear();
    }

    /// Base URL for absolute links: the configured public URL, else `http://{Host}`.
    pub fn base_url(&self, headers: &HeaderMap) -> String {
        if let Some(u) = &self.config.public_url {
            return u.trim_end_matches('/').to_owned();
        }
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
            .map_or_else(|| self.config.bind.to_string(), str::to_owned);
        format!("http://{host}")
    }
}
