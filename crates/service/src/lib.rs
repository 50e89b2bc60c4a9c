//! The application layer between the spatial core and its two front doors (CLI and HTTP).
//!
//! An [`Analysis`] is built once from a [`Dataset`] snapshot (as loaded from the store): it owns
//! the walking network and the coverage engine (whose per-kind results are cached), and turns
//! the core's results into the summaries both the CLI and the server print. It does no IO:
//! callers load the dataset and store what comes back. Rebuild it when the data changes.
#![forbid(unsafe_code)]

mod access;
mod coverage;
mod grids;
mod reports;
mod siting;

pub use access::*;
pub use coverage::*;
pub use gridmap_report::{Orientation, Paper, PaperSize};
pub use grids::*;
pub use reports::*;
pub use siting::*;

use gridmap_algo::coverage::{CoverageEngine, CoverageOptions, WalkProfile};
use gridmap_algo::network::WalkingNetwork;
use gridmap_model::{Dataset, FacilityKind};
use std::collections::HashMap;
use std::sync::Arc;

/// Errors of the service: bad parameters, unknown ids, or a core error, each with its reason.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("invalid {name} '{value}': {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
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
        k => FacilityKind::parse(k)
            .map(Some)
            .map_err(|e| ServiceError::Invalid {
                name: "kind",
                value: kind.to_owned(),
                reason: e.to_string(),
            }),
    }
}

/// Checks a list of thresholds in minutes: finite, > 0, at most a day.
pub fn check_minutes(minutes: &[f64]) -> Result<()> {
    if minutes.is_empty() {
        return Err(ServiceError::Invalid {
            name: "minutes",
            value: String::new(),
            reason: "give at least one threshold".into(),
        });
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
    grid_of: Arc<Vec<Option<usize>>>,
    community_names: Arc<HashMap<String, String>>,
}

/// What changed between the dataset an [`Analysis`] was built from and the one given to
/// [`Analysis::updated`]. Facility changes are also found by comparing ids, kinds and locations,
/// so the list is a hint; building changes are found by comparison when the layer is not shared.
#[derive(Default, Clone, Debug)]
pub struct AnalysisChanges {
    /// Facilities put or deleted.
    pub facilities: Vec<gridmap_model::FacilityId>,
    pub grids_changed: bool,
    /// Buildings whose counts or geometry changed.
    pub buildings: Vec<gridmap_model::BuildingId>,
    pub ways_changed: bool,
}

fn grid_index_of(dataset: &Dataset) -> Vec<Option<usize>> {
    let index: HashMap<&str, usize> = dataset
        .buildings
        .iter()
        .enumerate()
        .map(|(i, b)| (b.id.as_str(), i))
        .collect();
    let mut grid_of = vec![None; dataset.buildings.len()];
    for (g, grid) in dataset.grids.iter().enumerate() {
        for b in &grid.buildings {
            if let Some(&i) = index.get(b.as_str()) {
                grid_of[i] = Some(g);
            }
        }
    }
    grid_of
}

fn community_names_of(dataset: &Dataset) -> HashMap<String, String> {
    dataset
        .communities
        .iter()
        .map(|c| (c.id.to_string(), c.name.clone()))
        .collect()
}

/// Store keys ([`gridmap_store::Store::derived`]-style caches) of what an [`Analysis`] derives
/// from the data and can reuse across processes.
pub const NETWORK_CACHE_KEY: &str = "walking-network";
pub const SITES_CACHE_KEY: &str = "building-snaps";

/// Encoded derived parts: given to [`Analysis::from_parts`] when a cache holds them (with the
/// version tags of [`derived_versions`] matching), returned by it for what it had to build or
/// update (the snaps, when any building's access point changed).
#[derive(Default)]
pub struct DerivedParts {
    /// The walking network (postcard).
    pub network: Option<Vec<u8>>,
    /// The building snaps, [`gridmap_algo::coverage::PreparedSites`] (postcard).
    pub sites: Option<Vec<u8>>,
}

/// The version tags of the derived parts built from data at `versions` (the store's layer
/// versions, read BEFORE the dataset: data newer than its tag is only a cache miss later, data
/// older than its tag would be a wrong answer) with `options`.
pub fn derived_versions(
    versions: &std::collections::BTreeMap<gridmap_model::Layer, i64>,
    options: &CoverageOptions,
) -> (String, String) {
    use gridmap_model::Layer;
    let v = |l: Layer| versions.get(&l).copied().unwrap_or(0);
    let network = format!(
        "network={};format={}",
        v(Layer::Network),
        gridmap_algo::network::NETWORK_FORMAT
    );
    // Not keyed by the buildings' version: each kept snap is checked against its building's
    // access point (see `CoverageEngine::from_prepared`), so a household edit re-snaps nothing.
    let sites = format!("{network};snap={:?}", options.snap);
    (network, sites)
}

impl Analysis {
    /// A session from cached parts where they decode (a part that does not, or whose building
    /// count no longer matches, is built anew); returns the session and the parts it built,
    /// encoded, for the caller to keep.
    pub fn from_parts(
        dataset: Arc<Dataset>,
        options: CoverageOptions,
        cached: DerivedParts,
    ) -> (Self, DerivedParts) {
        let t0 = std::time::Instant::now();
        let mut built = DerivedParts::default();
        // The grid and community indexes are built beside the network and the snaps.
        let ds2 = dataset.clone();
        let indexes = std::thread::spawn(move || (grid_index_of(&ds2), community_names_of(&ds2)));
        let decoded = cached.network.as_deref().and_then(|d| match postcard::from_bytes::<WalkingNetwork>(d) {
            Ok(n) => Some(n),
            Err(e) => {
                tracing::warn!(error = %e, "the cached walking network does not decode; building it");
                None
            }
        });
        let network_cached = decoded.is_some();
        let network = Arc::new(decoded.unwrap_or_else(|| {
            let n = WalkingNetwork::build(&dataset.ways);
            built.network = postcard::to_allocvec(&n)
                .map_err(|e| tracing::warn!(error = %e, "cannot encode the walking network"))
                .ok();
            n
        }));
        let t_net = t0.elapsed();
        // Snaps belong to one network: cached snaps only over the cached network.
        let prepared = if network_cached { cached.sites.as_deref() } else { None }.and_then(|d| {
            postcard::from_bytes::<gridmap_algo::coverage::PreparedSites>(d).map_err(|e| tracing::warn!(error = %e, "the cached building snaps do not decode; snapping")).ok()
        });
        let (engine, resnapped) = match prepared {
            Some(p) => CoverageEngine::from_prepared(
                network.clone(),
                p,
                &dataset.buildings,
                &dataset.facilities,
                options,
            ),
            None => (
                CoverageEngine::new(
                    network.clone(),
                    &dataset.buildings,
                    &dataset.facilities,
                    options,
                ),
                dataset.buildings.len(),
            ),
        };
        if resnapped > 0 {
            built.sites = postcard::to_allocvec(&engine.prepared_sites())
                .map_err(|e| tracing::warn!(error = %e, "cannot encode the building snaps"))
                .ok();
        }
        let (grid_of, community_names) = indexes
            .join()
            .unwrap_or_else(|_| (grid_index_of(&dataset), community_names_of(&dataset)));
        let (grid_of, community_names) = (Arc::new(grid_of), Arc::new(community_names));
        tracing::info!(
            buildings = dataset.buildings.len(),
            nodes = engine.network().node_count(),
            network_cached,
            resnapped,
            network_ms = t_net.as_millis() as u64,
            ms = t0.elapsed().as_millis() as u64,
            "analysis session built"
        );
        (
            Self {
                dataset,
                engine,
                grid_of,
                community_names,
            },
            built,
        )
    }

    /// Builds the walking network and snaps every building and facility (once).
    pub fn new(dataset: Arc<Dataset>) -> Self {
        Self::with_options(dataset, CoverageOptions::default())
    }

    pub fn with_options(dataset: Arc<Dataset>, options: CoverageOptions) -> Self {
        let t0 = std::time::Instant::now();
        let network = Arc::new(WalkingNetwork::build(&dataset.ways));
        let engine = CoverageEngine::new(network, &dataset.buildings, &dataset.facilities, options);
        let grid_of = Arc::new(grid_index_of(&dataset));
        let community_names = Arc::new(community_names_of(&dataset));
        tracing::info!(
            buildings = dataset.buildings.len(),
            nodes = engine.network().node_count(),
            edges = engine.network().edge_count(),
            ms = t0.elapsed().as_millis() as u64,
            "analysis session built"
        );
        Self {
            dataset,
            engine,
            grid_of,
            community_names,
        }
    }

    /// A session for `dataset`, reusing what `self` built: the network when the ways are the same
    /// (shared layer, or equal ids and geometry), the building snaps when the buildings keep their
    /// ids and order (a changed building is re-read, and re-snapped only if its access point
    /// moved: a households/elderly correction snaps nothing), and every cached per-kind coverage
    /// updated incrementally for facility adds, moves and removes (what-if machinery). Grid
    /// statistics follow the new grids. Falls back to a full build when the ways changed, and to
    /// re-snapping every building when buildings were added, removed or reordered.
    pub fn updated(&self, dataset: Arc<Dataset>, changes: &AnalysisChanges) -> Analysis {
        let t0 = std::time::Instant::now();
        let old = &self.dataset;
        let same_ways = dataset.ways.shares_with(&old.ways)
            || (!changes.ways_changed
                && dataset.ways.len() == old.ways.len()
                && dataset.ways.iter().zip(old.ways.iter()).all(|(a, b)| {
                    a.id == b.id
                        && a.geometry == b.geometry
                        && a.tags == b.tags
                        && a.length_m == b.length_m
                }));
        if !same_ways {
            return Self::with_options(dataset, *self.engine.options());
        }
        let shared_buildings = dataset.buildings.shares_with(&old.buildings);
        let same_order = shared_buildings
            || (dataset.buildings.len() == old.buildings.len()
                && dataset
                    .buildings
                    .iter()
                    .zip(old.buildings.iter())
                    .all(|(a, b)| a.id == b.id));
        let engine = if same_order {
            let changed: Vec<usize> = if shared_buildings {
                Vec::new()
            } else {
                dataset
                    .buildings
                    .iter()
                    .zip(old.buildings.iter())
                    .enumerate()
                    .filter(|(_, (a, b))| {
                        a.households != b.households
                            || a.elderly != b.elderly
                            || a.entrance != b.entrance
                            || a.footprint != b.footprint
                    })
                    .map(|(i, _)| i)
                    .collect()
            };
            self.engine.updated(&gridmap_algo::coverage::EngineChanges {
                buildings: Some((&dataset.buildings, changed)),
                facilities: &dataset.facilities,
            })
        } else {
            CoverageEngine::new(
                self.engine.shared_network().clone(),
                &dataset.buildings,
                &dataset.facilities,
                *self.engine.options(),
            )
        };
        let grid_of =
            if same_order && !changes.grids_changed && dataset.grids.shares_with(&old.grids) {
                self.grid_of.clone()
            } else {
                Arc::new(grid_index_of(&dataset))
            };
        let community_names = if dataset.communities.shares_with(&old.communities) {
            self.community_names.clone()
        } else {
            Arc::new(community_names_of(&dataset))
        };
        tracing::debug!(
            us = t0.elapsed().as_micros() as u64,
            "analysis session updated"
        );
        Self {
            dataset,
            engine,
            grid_of,
            community_names,
        }
    }

    pub fn dataset(&self) -> &Arc<Dataset> {
        &self.dataset
    }
    pub fn engine(&self) -> &CoverageEngine {
        &self.engine
    }
    /// Display name of a community id (its name when known, else the id).
    pub fn community_name(&self, id: &str) -> String {
        self.community_names
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_owned())
    }
}
pub use gridmap_algo::events::{EventRouter, Route, RouteError};
