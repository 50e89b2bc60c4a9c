//! Grids (网格) of about 300 households: automatic partition, rebalancing, validation of
//! hand-drawn grids and display outlines.
//!
//! # Model
//!
//! Households are weights on an adjacency graph of **units**: a whole compound (小区) when its
//! households fit under the upper band, otherwise the single buildings of that compound; buildings
//! outside any compound are units of their own. Every community (社区) is partitioned on its own
//! graph, so a grid can never contain buildings of two communities; buildings without a community
//! form one extra group. The graph is the Delaunay triangulation of unit centroids (always
//! connected, as in the peer kit's pymetis run); an edge whose straight segment crosses a major
//! road, railway or waterway is a *barrier crossing* and costs a large penalty, so grids follow
//! barriers where the band allows and cross them only when contiguity or balance needs it.
//!
//! # Algorithm (see [`split`] and [`refine`])
//!
//! 1. **Grid count.** A unit above the band (one huge building) is a grid of its own. With band
//!    `[T(1−τ), T(1+τ)]` and the remaining total `W`, every grid can be in band only when
//!    `k ∈ [⌈W/hi⌉, ⌊W/lo⌋]`; we take the `k` of that range nearest to `W/T` (`round(W/T)` when
//!    the range is empty, and report the community as infeasible).
//! 2. **Recursive spanning-tree bisection**, the construction used by GerryChain's
//!    `recursive_tree_part` and the ReCom Markov chain (DeFord, Duchin & Solomon, *Recombination:
//!    A family of Markov chains for redistricting*, HDSR 2021), and by SKATER (Assunção et al.
//!    2006) for contiguous regionalisation: build a minimum spanning tree on edge cost (metres +
//!    barrier penalty), compute subtree weights in one pass and cut the tree edge whose two sides
//!    can hold `k₁` and `k₂ = k − k₁` grids in band, preferring `k₁ ≈ k/2` (logarithmic depth),
//!    sides closest to `k₁·W/k`, compact sides (second moment of the side's unit positions,
//!    accumulated over the tree in the same pass) and cuts on barriers. Both sides of a tree cut are connected, so
//!    every grid is contiguous by construction. When no tree offers a feasible cut, several trees
//!    with randomly perturbed costs are tried (seeded, deterministic), as GerryChain does.
//! 3. **Local search** (region growing / boundary moves as in max-p heuristics and METIS's
//!    refinement): out-of-band grids give or take boundary units to or from neighbours while the
//!    donor stays connected (articulation test by a bounded BFS), then pairs and neighbourhoods of
//!    grids are re-split together; the grid count moves by one (merge or split) only when that
//!    brings grids into band.
//!
//! METIS's multilevel coarsening (Karypis & Kumar 1998) is the speed reference; the tree
//! bisection is O(n log n) per level and runs in tens of milliseconds on Monaco's 23 k buildings.
//!
//! # Grid codes and names
//!
//! A code is the community's code + a 2–3 digit sequence in reading order (CJ/T 349-2010 style):
//! numeric community codes get the digits appended (`110108001001` → `11010800100103`), short
//! ids a dash (`LT-03`); a community known only by an OSM id (`r1155945`) gets a short code from
//! its name (`Triesen` → `TRI-03`, `Monte Carlo` → `MC-03`), unique within the input;
//! [`PartitionParams::code_width`] and [`PartitionParams::code_pattern`] configure it. A name is
//! the community's name + the number: `Triesen 03`.
//!
//! Compactness is reported as the Polsby–Popper score `4πA/P²` of each grid's convex hull in
//! metres (1 for a disc).
#![forbid(unsafe_code)]

mod barriers;
mod codes;
mod graph;
mod metrics;
mod outline;
mod rebalance;
mod refine;
pub(crate) mod rng;
mod run;
mod split;
mod units;
mod validate;

pub use barriers::BarrierRules;
pub use outline::grid_outlines;
pub use rebalance::{rebalance, BuildingMove, RebalanceReport, RebalanceResult};
pub use run::{partition, partition_with_progress};
pub use validate::{DrawnGrid, GridCheck, GridOverlap, ValidationReport, Validator};

use gridmap_model::{Building, BuildingId, Community, CommunityId, Compound, NetworkWay};
use serde::Serialize;

/// Errors of the partition module: parameters or inputs that cannot be worked with.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PartitionError {
    #[error("the drawn grids are too much work to check at once: {what} is {value}, at most {limit} (check fewer or smaller grids at a time)")]
    ValidationTooLarge {
        what: &'static str,
        value: usize,
        limit: usize,
    },
    #[error("target households per grid must be a positive number, got {0}")]
    InvalidTarget(f64),
    #[error("tolerance must be in [0, 1), got {0}")]
    InvalidTolerance(f64),
    #[error("grid code width must be 1..=6 digits, got {0}")]
    InvalidCodeWidth(usize),
    #[error("grid code pattern '{0}' must contain {{seq}} (the grid's sequence number)")]
    InvalidCodePattern(String),
    #[error("building '{0}' has an empty or degenerate footprint (no centroid)")]
    BuildingWithoutGeometry(BuildingId),
    #[error("building '{0}' appears more than once in the input")]
    DuplicateBuilding(BuildingId),
    #[error("grid '{grid}' lists building '{building}', which is not in the input buildings")]
    UnknownBuilding { grid: String, building: BuildingId },
    #[error("building '{building}' is listed by grids '{first}' and '{second}'")]
    BuildingInTwoGrids {
        building: BuildingId,
        first: String,
        second: String,
    },
    /// The caller cancelled the run through its [`gridmap_model::Progress`] handle.
    #[error("the partition was cancelled")]
    Cancelled,
}

/// Everything the partition reads, as borrowed model values.
#[derive(Clone, Copy, Debug, Default)]
pub struct PartitionInput<'a> {
    pub buildings: &'a [Building],
    /// Compounds give a community to buildings that lack one; boundaries are not needed.
    pub compounds: &'a [Compound],
    /// Community boundaries clip the grid outlines when known.
    pub communities: &'a [Community],
    /// Raw ways; those matching [`BarrierRules`] are barriers.
    pub ways: &'a [NetworkWay],
}

/// Parameters of partition, rebalancing and validation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PartitionParams {
    /// Target households per grid (T, default 300).
    pub target: f64,
    /// Relative tolerance τ (default 0.15): the band is `[T(1−τ), T(1+τ)]`.
    pub tolerance: f64,
    /// Seed of the perturbed spanning trees; the result is deterministic for a seed.
    pub seed: u64,
    /// Which ways are barriers.
    pub barriers: BarrierRules,
    /// Extra cost in metres of an adjacency edge that crosses a barrier.
    pub barrier_penalty_m: f64,
    /// Spanning trees tried per split before accepting the least-bad cut.
    pub tries: usize,
    /// Compute display outlines (Voronoi cells dissolved per grid).
    pub outlines: bool,
    /// Digits of the grid sequence in codes; `None` = 2, or 3 when a community has 100 or more
    /// grids.
    pub code_width: Option<usize>,
    /// Layout of grid codes with `{community}` and `{seq}`; `None` = `{community}{seq}` for
    /// numeric community codes, `{community}-{seq}` otherwise.
    pub code_pattern: Option<String>,
}

impl Default for PartitionParams {
    fn default() -> Self {
        Self {
            target: 300.0,
            tolerance: 0.15,
            seed: 0,
            barriers: BarrierRules::default(),
            barrier_penalty_m: 5_000.0,
            tries: 24,
            outlines: true,
            code_width: None,
            code_pattern: None,
        }
    }
}

impl PartitionParams {
    /// Parameters with a target and tolerance, everything else default.
    pub fn new(target: f64, tolerance: f64) -> Self {
        Self {
            target,
            tolerance,
            ..Self::default()
        }
    }
    /// Checks target and tolerance and returns the household band.
    pub fn band(&self) -> Result<Band, PartitionError> {
        if !self.target.is_finite() || self.target <= 0.0 {
            return Err(PartitionError::InvalidTarget(self.target));
        }
        if !self.tolerance.is_finite() || !(0.0..1.0).contains(&self.tolerance) {
            return Err(PartitionError::InvalidTolerance(self.tolerance));
        }
        if let Some(w) = self.code_width.filter(|w| !(1..=6).contains(w)) {
            return Err(PartitionError::InvalidCodeWidth(w));
        }
        if let Some(p) = self.code_pattern.as_ref().filter(|p| !p.contains("{seq}")) {
            return Err(PartitionError::InvalidCodePattern(p.clone()));
        }
        Ok(Band::new(self.target, self.tolerance))
    }
}

/// The household band `[lo, hi]` a grid should fall in (inclusive, like the peer kit).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Band {
    pub target: f64,
    pub lo: f64,
    pub hi: f64,
}

impl Band {
    pub fn new(target: f64, tolerance: f64) -> Self {
        Self {
            target,
            lo: target * (1.0 - tolerance),
            hi: target * (1.0 + tolerance),
        }
    }
    /// Whether a grid of `households` is within the band.
    pub fn contains(&self, households: u64) -> bool {
        let h = households as f64;
        h >= self.lo && h <= self.hi
    }
    /// Households outside the band (0 inside).
    pub fn violation(&self, households: u64) -> f64 {
        let h = households as f64;
        (self.lo - h).max(h - self.hi).max(0.0)
    }
    /// The grid counts for which `total` households can all be in band: `[⌈W/hi⌉, ⌊W/lo⌋]`.
    pub fn feasible_counts(&self, total: u64) -> Option<(usize, usize)> {
        let w = total as f64;
        let kmin = ((w / self.hi).ceil() as usize).max(1);
        let kmax = if self.lo > 0.0 {
            (w / self.lo + 1e-9).floor() as usize
        } else {
            usize::MAX
        };
        (kmin <= kmax).then_some((kmin, kmax))
    }
    /// The grid count for units of these households: each unit above the band is a grid of its
    /// own, the rest get [`Band::grid_count`] (none extra when the rest is below the band and
    /// can join an oversize grid).
    pub fn grid_count_for_units(&self, units: impl IntoIterator<Item = u64>) -> usize {
        let (mut over, mut rest) = (0usize, 0u64);
        for w in units {
            if w as f64 > self.hi {
                over += 1;
            } else {
                rest += w;
            }
        }
        if over > 0 && (rest as f64) < self.lo {
            over
        } else {
            over + self.grid_count(rest)
        }
    }
    /// The grid count used for `total` households: the feasible count nearest `W/T`, else
    /// `round(W/T)` (at least 1).
    pub fn grid_count(&self, total: u64) -> usize {
        let ideal = total as f64 / self.target;
        match self.feasible_counts(total) {
            Some((a, b)) => (ideal.round() as usize).clamp(a, b),
            None => (ideal.round() as usize).max(1),
        }
    }
}

/// One grid proposed by [`partition`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProposedGrid {
    /// Human code: community code + sequence, numbered north-west to south-east (see
    /// *Grid codes and names* in the module docs).
    pub code: String,
    /// Readable name: community name + the same number, `Triesen 03`.
    pub name: String,
    pub community: Option<CommunityId>,
    pub buildings: Vec<BuildingId>,
    pub households: u64,
    pub in_band: bool,
    /// Connected in the adjacency graph (always true for automatic grids; checked, not assumed).
    pub contiguous: bool,
    /// Polsby–Popper score of the convex hull in metres (0..1).
    pub compactness: f64,
    /// The grid's units are only connected through an edge that crosses a barrier.
    pub crosses_barrier: bool,
    /// Display outline (WGS84), when requested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outline: Option<geo_types::MultiPolygon<f64>>,
}

/// A community (or the group of buildings without community) where the band cannot be met.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Infeasible {
    pub community: Option<CommunityId>,
    pub reason: String,
}

/// Summary figures of a partition.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PartitionReport {
    pub grids: usize,
    pub buildings: usize,
    pub households: u64,
    pub within_band_pct: f64,
    pub min_households: u64,
    pub max_households: u64,
    pub contiguous_pct: f64,
    /// Compounds whose buildings are in more than one grid.
    pub compounds_split: usize,
    pub barrier_crossing_grids: usize,
    pub mean_compactness: f64,
    pub infeasible: Vec<Infeasible>,
    /// Wall time of the algorithm (no IO).
    pub seconds: f64,
}

/// Grids and report of [`partition`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PartitionResult {
    pub grids: Vec<ProposedGrid>,
    pub report: PartitionReport,
}

impl PartitionResult {
    /// `(building, grid code)` for every building, grid by grid.
    pub fn assignment(&self) -> impl Iterator<Item = (&BuildingId, &str)> {
        self.grids
            .iter()
            .flat_map(|g| g.buildings.iter().map(move |b| (b, g.code.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_counts_cover_every_total_that_can_be_banded() {
        let b = Band::new(300.0, 0.15);
        assert_eq!(b.feasible_counts(600), Some((2, 2)));
        assert_eq!(
            b.feasible_counts(400),
            None,
            "400 is too much for one grid, too little for two"
        );
        assert_eq!(b.feasible_counts(100), None);
        assert_eq!(b.grid_count(100), 1);
        assert_eq!(b.grid_count(38_561), 129);
        let (a, z) = b.feasible_counts(3_000).unwrap();
        assert!(a <= 10 && 10 <= z);
        // Haidian: a 548-household building is a grid of its own; 3 425 others make 11.
        let units = std::iter::once(548).chain(std::iter::repeat_n(5, 685));
        assert_eq!(b.grid_count_for_units(units), 12);
        assert_eq!(b.grid_count_for_units([548, 20, 30]), 1);
    }

    #[test]
    fn target_zero_or_negative_and_bad_tolerance_are_errors() {
        assert_eq!(
            PartitionParams::new(0.0, 0.15).band(),
            Err(PartitionError::InvalidTarget(0.0))
        );
        assert_eq!(
            PartitionParams::new(-3.0, 0.15).band(),
            Err(PartitionError::InvalidTarget(-3.0))
        );
        assert_eq!(
            PartitionParams::new(300.0, 1.0).band(),
            Err(PartitionError::InvalidTolerance(1.0))
        );
        assert_eq!(
            PartitionParams::new(300.0, -0.1).band(),
            Err(PartitionError::InvalidTolerance(-0.1))
        );
        assert!(PartitionParams::new(300.0, 0.0).band().is_ok());
    }
}
