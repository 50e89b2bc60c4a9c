//! The application layer between the spatial core and its two front doors (CLI and HTTP).
//!
//! An [`Analysis`] is built once from a [`Dataset`] snapshot (as loaded from the store): it owns
//! the walking network and the coverage engine (whose per-kind results are cached), and turns
//! the core's results into the summaries both the CLI and the server print. It does no IO:
//! callers load the dataset and store what comes back. Rebuild it when the data changes.
#![forbid(unsafe_code)]

mod coverage;
mod grids;

pub use coverage::*;
pub use grids::*;

use gridmap_algo::coverage::{CoverageEngine, CoverageOptions, WalkProfile};
use gridmap_algo::network::WalkingNetwork;
use gridmap_model::{Dataset, FacilityKind};
use std::collections::HashMap;
use std::sync::Arc;

/// Errors of the service: bad parameters, unknown ids, or a core error, each with its reason.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("invalid {name} '{value}': {reason}")]
    Invalid { name: &'static str, value: String, reason: String },
    #[error("unknown {what} '{id}'")]
    NotFound { what: &'static str, id: String },
    #[error(transparent)]
    Algo(#[from] gridmap_algo::AlgoError),
    #[error(transparent)]
    Partition(#[from] gridmap_algo::partition::PartitionError),
}

pub type Result<T> = std::result::Result<T, ServiceError>;

/// A walking speed profile by name, or an explicit speed.
pub fn walk_profile(profile: Option<&str>, speed_kmh: Option<f64>) -> Result<WalkProfile> {
    if let Some(s) = speed_kmh {
        return Ok(WalkProfile::new(s)?);
    }
    match profile.unwrap_or("adult") {
        "adult" | "standard" | "default" => Ok(WalkProfile::standard()),
        "elderly" | "senior" => Ok(WalkProfile::elderly()),
        other => Err(ServiceError::Invalid {
            name: "profile",
            value: other.to_owned(),
            reason: "expected adult or elderly (or give speed_kmh)".into(),
        }),
    }
}

/// A facility kind from its name; `all` (or `any`) means every kind.
pub fn facility_kind(kind: &str) -> Result<Option<FacilityKind>> {
    match kind.trim() {
        "all" | "any" | "*" => Ok(None),
        k => FacilityKind::parse(k).map(Some).map_err(|e| ServiceError::Invalid {
            name: "kind",
            value: kind.to_owned(),
            reason: e.to_string(),
        }),
    }
}

/// Checks a list of thresholds in minutes: finite, > 0, at most a day.
pub fn check_minutes(minutes: &[f64]) -> Result<()> {
    if minutes.is_empty() {
        return Err(ServiceError::Invalid { name: "minutes", value: String::new(), reason: "give at least one threshold".into() });
    }
    for m in minutes {
        if !(m.is_finite() && *m > 0.0 && *m <= 1440.0) {
            return Err(ServiceError::Invalid {
                name: "minutes",
                value: m.to_string(),
                reason: "thresholds must be between 0 (exclusive) and 1440 minutes".into(),
            });
        }
    }
    Ok(())
}

/// An analysis session over one dataset snapshot.
pub struct Analysis {
    dataset: Arc<Dataset>,
    engine: CoverageEngine,
    /// Building index → grid index (into `dataset.grids`), for per-grid statistics.
    grid_of: Vec<Option<usize>>,
    community_names: HashMap<String, String>,
}

impl Analysis {
    /// Builds the walking network and snaps every building and facility (once).
    pub fn new(dataset: Arc<Dataset>) -> Self {
        Self::with_options(dataset, CoverageOptions::default())
    }

    pub fn with_options(dataset: Arc<Dataset>, options: CoverageOptions) -> Self {
        let t0 = std::time::Instant::now();
        let network = Arc::new(WalkingNetwork::build(&dataset.ways));
        let engine = CoverageEngine::new(network, &dataset.buildings, &dataset.facilities, options);
        let index: HashMap<&str, usize> =
            dataset.buildings.iter().enumerate().map(|(i, b)| (b.id.as_str(), i)).collect();
        let mut grid_of = vec![None; dataset.buildings.len()];
        for (g, grid) in dataset.grids.iter().enumerate() {
            for b in &grid.buildings {
                if let Some(&i) = index.get(b.as_str()) {
                    grid_of[i] = Some(g);
                }
            }
        }
        let community_names =
            dataset.communities.iter().map(|c| (c.id.to_string(), c.name.clone())).collect();
        tracing::info!(
            buildings = dataset.buildings.len(),
            nodes = engine.network().node_count(),
            edges = engine.network().edge_count(),
            ms = t0.elapsed().as_millis() as u64,
            "analysis session built"
        );
        Self { dataset, engine, grid_of, community_names }
    }

    pub fn dataset(&self) -> &Arc<Dataset> {
        &self.dataset
    }
    pub fn engine(&self) -> &CoverageEngine {
        &self.engine
    }
    /// Display name of a community id (its name when known, else the id).
    pub fn community_name(&self, id: &str) -> String {
        self.community_names.get(id).cloned().unwrap_or_else(|| id.to_owned())
    }
}
