//! Walking coverage: for every building, the network distance to the nearest facility of a kind,
//! and from it statistics, gap areas, isochrones and what-if changes.
//!
//! ```text
//! CoverageEngine::new(network, &buildings, &facilities, options)   snap everything once
//!   .coverage(Some(&kind), WalkProfile::standard(), 15.0)  -> Arc<KindCoverage> (cached)
//!   .building_times(&cov, 15.0) / .statistics(&cov, &[5., 10., 15.], |i| key) / .gaps(..)
//!   .what_if(&cov, Change::Add { .. }, 15.0) / .isochrone_for_kind(&cov, &opts)
//! ```
//!
//! **Distance of a building** = shortest walk from the nearest facility of the kind: one
//! multi-source Dijkstra ([`crate::network::paths`]) per (kind, profile), bounded at the largest
//! threshold asked. Facilities and buildings are snapped onto the graph ([`SnapOptions`]); a point
//! snapped inside an edge reaches both of its ends (offset and remainder are walked), and a
//! building on the same edge as a facility may walk straight along it. With `access_legs` the
//! straight-line snap distances of building and facility are walked too.
//!
//! # Defaults and agreement with the scipy oracle
//!
//! The peer kit's oracle (`coverage_scipy.py`) snaps to the nearest *node* of any component and
//! adds *no* access legs. Every combination was measured on the interchange inputs made by
//! `shared/checks/make_inputs.sh` (the `--all-nodes` network; median edge 12.7 m on Monaco), 15 min
//! at 4.5 km/h, as the share of buildings within 1 minute of the oracle or beyond 15 min on both
//! sides (test `agreement_of_every_snapping_combination`), per kind:
//!
//! | snap, legs, components | Monaco (23 298 buildings) ss / canteen / reading / outreach | Haidian (225) canteen / reading / outreach / other |
//! |---|---|---|
//! | node, no, any (**default**) | 100 / 100 / 100 / 100 (same minutes) | 100 / 100 / 100 / 100 |
//! | node, no, largest | 91.21 / 99.50 / 99.94 / 99.50 | 91.11 / 95.56 / 92.89 / 96.00 |
//! | node, yes, any | 97.34 / 96.51 / 99.64 / 95.61 | 54.67 / 62.22 / 71.11 / 87.11 |
//! | edge, no, any | 94.85 / 98.00 / 99.63 / 93.49 | 66.67 / 84.44 / 87.11 / 88.89 |
//! | edge, yes, any | 96.12 / 94.80 / 99.33 / 92.09 | 47.11 / 57.78 / 74.67 / 89.33 |
//! | edge, yes, largest | 87.71 / 94.39 / 99.30 / 91.67 | 46.22 / 54.67 / 69.33 / 87.11 |
//!
//! **Default: nearest node, any component, no access legs, 300 m maximum snap**
//! ([`CoverageOptions::default`]); [`CoverageOptions::oracle`] drops the maximum and reproduces
//! scipy minute for minute. Why the issue's edge snapping with access legs is *not* the default:
//!
//! * **Access legs** are straight lines from the building *centroid* (nearest-node legs: median
//!   21 m, p90 53 m, p99 147 m on Monaco). The centroid is not the door: for Monaco's large blocks
//!   and Haidian's sparse network (buildings far from mapped paths) the leg crosses the footprint
//!   and courtyards, adding minutes nobody walks; it moves 2.7–4.4 % of Monaco's and up to 45 % of
//!   Haidian's buildings by more than a minute, always *longer*. With mapped entrances the legs
//!   shrink to what is really walked: turn them on (`access_legs: true`) where entrances exist.
//! * **Edge snapping** lands in the middle of long segments that are often not where people walk:
//!   in Monaco the nearest segment to many buildings is a tunnel or viaduct passing under or over
//!   them (the interchange network carries no `tunnel`/`layer` tags to exclude them), and in
//!   Haidian a long road bordering a compound rather than its inner path. On the `--all-nodes`
//!   network nodes are ~13 m apart, so the nearest node is already within a few metres of the
//!   nearest point of a real path. Of Monaco's 1 516 edge-snap disagreements for outreach points,
//!   1 070 were *shorter* than the oracle, 475 on edges longer than 60 m.
//! * **Largest component only** moves points across barriers: a Monaco town hall beside a 6-node
//!   island would walk from the main network, which neither the oracle nor the ground does.
//!   Islands stay reachable from inside; buildings snapped to an island with no facility are
//!   simply not covered — the honest answer for a network with a mapping gap.
//!
//! With OSM-imported networks, snapping also prefers edges that are not tunnels or bridges
//! ([`SnapOptions::avoid_tunnels_and_bridges`]); interchange files carry no such tags.
//!
//! # Speed (Monaco, release, `cargo bench --bench coverage`, 2-core machine under load avg ~8)
//!
//! graph build + snapping of 23 298 buildings and 116 facilities ~97 ms; coverage of all 4 kinds
//! ~6 ms; isochrone 5/10/15 min of one facility ~6 ms, union over 77 canteens ~37 ms; what-if
//! move ~0.8 ms (5.7 ms with 116 490 buildings). The scipy oracle process takes 2–5 s per kind on
//! the same machine (≈2–3 s of it loading GeoJSON with pandas/shapely; its Dijkstra is 2–7 ms).
use crate::network::paths::{improve, NodeTimes, Seed, NO_SOURCE};
use crate::network::{Snap, SnapMode, SnapOptions, Unplaced, WalkingNetwork};
use crate::AlgoError;
use gridmap_model::{Building, BuildingId, Facility, FacilityId, FacilityKind};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

pub mod gaps;
pub mod prepared;
pub mod stats;
pub mod update;
pub mod whatif;

pub use gaps::{GapArea, GapOptions};
pub use prepared::PreparedSites;
pub use stats::{CoverageStats, Tally};
pub use update::EngineChanges;
pub use whatif::{Change, WhatIfResult};

/// Walking speed of a profile.
///
/// * **Standard, 4.5 km/h (1.25 m/s)**: the peer kit's and most 15-minute-city studies' planning
///   figure; healthy adults' *comfortable* gait speed is 1.2–1.4 m/s in gait-speed surveys
///   (e.g. Bohannon 1997, *Age and Ageing* 26:15–19). GB 50180-2018 equates the 15-minute circle
///   with 800–1 000 m, i.e. an implied 3.2–4 km/h once crossings and waiting are included: our
///   network distance without waiting is therefore on the generous side.
/// * **Elderly, 3.0 km/h (0.83 m/s)**: slower than the US MUTCD (2009, §4E.06) pedestrian-signal
///   design speed of 3.5 ft/s (1.07 m/s ≈ 3.8 km/h), and below its 3.0 ft/s (0.91 m/s ≈ 3.3 km/h)
///   allowance for slower walkers; gait-speed studies of people over 65 report means around
///   0.9–1.1 m/s with a wide spread, frail elders under 0.8 m/s. 3.0 km/h is a deliberately
///   cautious round number, not a measured Chinese figure: pass your own speed when you have one.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct WalkProfile {
    pub speed_kmh: f64,
}

impl WalkProfile {
    pub const STANDARD_KMH: f64 = 4.5;
    pub const ELDERLY_KMH: f64 = 3.0;
    pub fn standard() -> Self {
        Self {
            speed_kmh: Self::STANDARD_KMH,
        }
    }
    pub fn elderly() -> Self {
        Self {
            speed_kmh: Self::ELDERLY_KMH,
        }
    }
    /// A custom speed; must be finite and > 0.
    pub fn new(speed_kmh: f64) -> Result<Self, AlgoError> {
        if speed_kmh.is_finite() && speed_kmh > 0.0 {
            Ok(Self { speed_kmh })
        } else {
            Err(AlgoError::InvalidParameter {
                name: "speed_kmh",
                value: speed_kmh.to_string(),
                expected: "a finite speed > 0 km/h",
            })
        }
    }
    /// Metres walked in `minutes` (the oracle's `minutes × speed × 1000 / 60`).
    pub fn limit_m(&self, minutes: f64) -> f64 {
        minutes * self.speed_kmh * 1000.0 / 60.0
    }
    /// Minutes needed for `metres`.
    pub fn minutes(&self, metres: f64) -> f64 {
        metres / (self.speed_kmh * 1000.0 / 60.0)
    }
}

/// How buildings and facilities are put on the graph and what counts as walking.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct CoverageOptions {
    pub snap: SnapOptions,
    /// Walk the straight-line snap distances of buildings and facilities too.
    pub access_legs: bool,
}

impl Default for CoverageOptions {
    /// Nearest node, any component, 300 m maximum snap, no access legs (see the module docs).
    fn default() -> Self {
        Self {
            snap: SnapOptions::default(),
            access_legs: false,
        }
    }
}

impl CoverageOptions {
    /// The scipy oracle's semantics: nearest node of any component, no access legs, no maximum.
    pub fn oracle() -> Self {
        Self {
            snap: SnapOptions {
                mode: SnapMode::Node,
                max_distance_m: f64::INFINITY,
                ..SnapOptions::default()
            },
            access_legs: false,
        }
    }
}

/// A building as the engine sees it.
#[derive(Clone, Debug)]
pub struct BuildingSite {
    pub id: BuildingId,
    pub households: u32,
    pub elderly: Option<u32>,
    /// Entrance or centroid, lon/lat; `None` without geometry.
    pub location: Option<[f64; 2]>,
    pub placement: Result<Snap, Unplaced>,
}

/// A facility as the engine sees it.
#[derive(Clone, Debug)]
pub struct FacilitySite {
    pub id: FacilityId,
    pub kind: FacilityKind,
    pub location: [f64; 2],
    pub placement: Result<Snap, Unplaced>,
}

/// Distances of every building to the nearest facility of one kind, for one walking profile,
/// up to `max_minutes`. Source labels index [`KindCoverage::source_ids`].
#[derive(Clone, Debug)]
pub struct KindCoverage {
    /// `None`: every facility regardless of kind.
    pub kind: Option<FacilityKind>,
    pub profile: WalkProfile,
    pub max_minutes: f64,
    pub bound_m: f64,
    /// Facilities taking part (placed on the graph), by source label.
    pub source_ids: Vec<FacilityId>,
    /// Facilities of the kind that could not be placed, with the reason.
    pub unplaced_facilities: Vec<(FacilityId, Unplaced)>,
    /// Per building: metres to the nearest facility, `INFINITY` beyond the bound or unreachable.
    pub building_m: Vec<f64>,
    /// Per building: source label of the nearest facility, [`NO_SOURCE`] if none.
    pub building_source: Vec<u32>,
    /// Why the result is empty or partial (no facilities of the kind, empty network, …).
    pub note: Option<String>,
    pub(crate) nodes: NodeTimes,
    /// Per source label: where it is on the graph (`None` once removed by a what-if).
    pub(crate) source_snaps: Vec<Option<Snap>>,
}

impl KindCoverage {
    /// The nearest facility of building `i`, if one is within the bound.
    pub fn nearest(&self, i: usize) -> Option<&FacilityId> {
        let s = self.building_source[i];
        (s != NO_SOURCE).then(|| &self.source_ids[s as usize])
    }
    /// Node distances (metres) and source labels, for isochrones.
    pub fn node_times(&self) -> &NodeTimes {
        &self.nodes
    }
    /// Sources still on the graph: (label, snap).
    pub fn placed_sources(&self) -> impl Iterator<Item = (u32, &Snap)> {
        self.source_snaps
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| (i as u32, s)))
    }
}

/// One building's answer, for tables and `--per-building` CSV files.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BuildingTime {
    pub building_id: BuildingId,
    /// `None` when beyond the threshold, unreachable or unplaced.
    pub distance_m: Option<f64>,
    pub minutes: Option<f64>,
    pub facility_id: Option<FacilityId>,
    /// Set when the building could not be placed on the network.
    pub unplaced: Option<String>,
}

type CacheKey = (Option<FacilityKind>, u64, u64);

/// Snapped buildings and facilities over one walking network, with cached per-kind results.
/// Cheap to share between threads (`Arc<CoverageEngine>`); queries take `&self`.
///
/// ```
/// use geo_types::{line_string, polygon, MultiPolygon, Point};
/// use gridmap_algo::coverage::{CoverageEngine, CoverageOptions, WalkProfile};
/// use gridmap_algo::network::WalkingNetwork;
/// use gridmap_model::*;
/// use std::sync::Arc;
///
/// // a 1.1 km footpath along the equator, a canteen at its west end, a block at its east end
/// let path = NetworkWay {
///     id: "p".into(),
///     geometry: line_string![(x: 0.0, y: 0.0), (x: 0.005, y: 0.0), (x: 0.01, y: 0.0)],
///     tags: [("highway".to_string(), "footway".to_string())].into(),
///     length_m: None,
/// };
/// let block = Building {
///     id: "b1".into(), name: None, building_type: None, address: None,
///     footprint: MultiPolygon(vec![polygon![(x: 0.0099, y: 0.0001), (x: 0.0101, y: 0.0001),
///         (x: 0.0101, y: 0.0003), (x: 0.0099, y: 0.0003), (x: 0.0099, y: 0.0001)]]),
///     entrance: None, levels: None, households: 120, households_source: HouseholdSource::Imported,
///     elderly: Some(30), steward: None, compound: None, community: Some("c1".into()),
/// };
/// let canteen = Facility {
///     id: "f1".into(), kind: FacilityKind::Canteen, name: None, location: Point::new(0.0, 0.0001),
///     capacity: None, opening_hours: None,
/// };
/// let net = Arc::new(WalkingNetwork::build(&[path]));
/// let engine = CoverageEngine::new(net, &[block], &[canteen], CoverageOptions::default());
/// let cov = engine.coverage(Some(&FacilityKind::Canteen), WalkProfile::standard(), 15.0)?;
/// let t = &engine.building_times(&cov, 15.0)?[0];
/// assert!((t.minutes.unwrap() - 1111.95 / 75.0).abs() < 0.01); // 1 112 m at 75 m/min
/// let elderly = engine.coverage(Some(&FacilityKind::Canteen), WalkProfile::elderly(), 15.0)?;
/// assert_eq!(engine.statistics(&elderly, &[15.0], |_| None::<String>)?.overall[0].covered_households, 0);
/// # Ok::<(), gridmap_algo::AlgoError>(())
/// ```
#[derive(Debug)]
pub struct CoverageEngine {
    network: Arc<WalkingNetwork>,
    options: CoverageOptions,
    /// Shared with the engines [`CoverageEngine::updated`] derives while no building changes.
    buildings: Arc<Vec<BuildingSite>>,
    facilities: Vec<FacilitySite>,
    cache: Mutex<HashMap<CacheKey, Arc<KindCoverage>>>,
}

impl CoverageEngine {
    /// Snaps every building (entrance, else centroid) and facility onto `network`.
    pub fn new(
        network: Arc<WalkingNetwork>,
        buildings: &[Building],
        facilities: &[Facility],
        options: CoverageOptions,
    ) -> Self {
        let buildings = buildings
            .iter()
            .map(|b| Self::site_of(&network, &options, b))
            .collect::<Vec<_>>();
        let facilities = facilities
            .iter()
            .map(|f| Self::facility_site(&network, &options, f))
            .collect();
        Self {
            network,
            options,
            buildings: Arc::new(buildings),
            facilities,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// An engine over already snapped buildings (from [`CoverageEngine::buildings`] of an engine
    /// on the same network, or deserialized from a prepared cache); facilities are snapped here.
    pub fn with_buildings(
        network: Arc<WalkingNetwork>,
        buildings: Vec<BuildingSite>,
        facilities: &[Facility],
        options: CoverageOptions,
    ) -> Self {
        let facilities = facilities
            .iter()
            .map(|f| Self::facility_site(&network, &options, f))
            .collect();
        Self {
            network,
            options,
            buildings: Arc::new(buildings),
            facilities,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn site_of(network: &WalkingNetwork, options: &CoverageOptions, b: &Building) -> BuildingSite {
        let location = b.access_point().map(|p| [p.x(), p.y()]);
        let placement = match location {
            None => Err(Unplaced::NoGeometry),
            Some(p) => network.snap(p[0], p[1], &options.snap),
        };
        BuildingSite {
            id: b.id.clone(),
            households: b.households,
            elderly: b.elderly,
            location,
            placement,
        }
    }

    fn facility_site(
        network: &WalkingNetwork,
        options: &CoverageOptions,
        f: &Facility,
    ) -> FacilitySite {
        let location = [f.location.x(), f.location.y()];
        FacilitySite {
            id: f.id.clone(),
            kind: f.kind.clone(),
            location,
            placement: network.snap(location[0], location[1], &options.snap),
        }
    }

    pub fn network(&self) -> &WalkingNetwork {
        &self.network
    }
    /// The shared network, to build another engine over it.
    pub fn shared_network(&self) -> &Arc<WalkingNetwork> {
        &self.network
    }
    pub fn options(&self) -> &CoverageOptions {
        &self.options
    }
    pub fn buildings(&self) -> &[BuildingSite] {
        &self.buildings
    }
    pub fn facilities(&self) -> &[FacilitySite] {
        &self.facilities
    }

    /// Distances to the nearest facility of `kind` (`None` = any kind) for `profile`, bounded at
    /// `max_minutes`. Computed once per (kind, speed, bound) and kept; a cached run with a larger
    /// bound for the same kind and speed is reused.
    ///
    /// A canteen at the west end of a 1.1 km footpath; one building 110 m along it, one 1 km:
    ///
    /// ```
    /// use gridmap_algo::coverage::{CoverageEngine, CoverageOptions, WalkProfile};
    /// use gridmap_algo::network::WalkingNetwork;
    /// use gridmap_model::*;
    /// use geo_types::{polygon, MultiPolygon, Point};
    /// use std::sync::Arc;
    /// let path = NetworkWay { id: "w1".into(), tags: [("highway".to_string(), "footway".to_string())].into(),
    ///     geometry: (0..=10).map(|i| (f64::from(i) * 0.001, 0.0)).collect(), length_m: None };
    /// let home = |id: &str, x: f64| Building {
    ///     id: id.into(), name: None, building_type: None, address: None,
    ///     footprint: MultiPolygon(vec![polygon![(x: x, y: 0.0001), (x: x + 0.0002, y: 0.0001),
    ///         (x: x + 0.0002, y: 0.0003), (x: x, y: 0.0003), (x: x, y: 0.0001)]]),
    ///     entrance: None, levels: None, households: 10, households_source: HouseholdSource::Imported,
    ///     elderly: None, steward: None, compound: None, community: None,
    /// };
    /// let canteen = Facility { id: "f1".into(), kind: FacilityKind::Canteen, name: None,
    ///     location: Point::new(0.0, 0.0001), capacity: None, opening_hours: None };
    /// let net = Arc::new(WalkingNetwork::build(&[path]));
    /// let engine = CoverageEngine::new(net, &[home("near", 0.0009), home("far", 0.0089)], &[canteen],
    ///     CoverageOptions::default());
    /// let cov = engine.coverage(Some(&FacilityKind::Canteen), WalkProfile::standard(), 10.0).unwrap();
    /// assert!((100.0..160.0).contains(&cov.building_m[0]), "{}", cov.building_m[0]); // ~110 m along the path
    /// assert_eq!(cov.nearest(0).map(|f| f.as_str()), Some("f1"));
    /// assert!(cov.building_m[1].is_infinite());                 // 1 km: beyond 10 minutes
    /// let all = engine.coverage(None, WalkProfile::standard(), 20.0).unwrap();
    /// assert!(all.building_m[1] > 900.0 && all.building_m[1].is_finite());
    /// ```
    pub fn coverage(
        &self,
        kind: Option<&FacilityKind>,
        profile: WalkProfile,
        max_minutes: f64,
    ) -> Result<Arc<KindCoverage>, AlgoError> {
        let profile = WalkProfile::new(profile.speed_kmh)?;
        check_minutes("max_minutes", max_minutes)?;
        let key: CacheKey = (
            kind.cloned(),
            profile.speed_kmh.to_bits(),
            max_minutes.to_bits(),
        );
        {
            let cache = self
                .cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(c) = cache.get(&key) {
                return Ok(c.clone());
            }
            if let Some(c) = cache.iter().find_map(|((k, s, m), c)| {
                (k.as_ref() == kind && *s == key.1 && f64::from_bits(*m) >= max_minutes)
                    .then_some(c)
            }) {
                return Ok(c.clone());
            }
        }
        let cov = Arc::new(self.compute(kind, profile, max_minutes));
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key, cov.clone());
        Ok(cov)
    }

    /// Forgets cached results (after facilities or the network changed, build a new engine instead).
    pub fn clear_cache(&self) {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    fn compute(
        &self,
        kind: Option<&FacilityKind>,
        profile: WalkProfile,
        max_minutes: f64,
    ) -> KindCoverage {
        let bound_m = profile.limit_m(max_minutes);
        let mut source_ids = Vec::new();
        let mut source_snaps = Vec::new();
        let mut unplaced_facilities = Vec::new();
        for f in self
            .facilities
            .iter()
            .filter(|f| kind.is_none_or(|k| &f.kind == k))
        {
            match &f.placement {
                Ok(s) => {
                    source_ids.push(f.id.clone());
                    source_snaps.push(Some(*s));
                }
                Err(u) => unplaced_facilities.push((f.id.clone(), u.clone())),
            }
        }
        let note = self.note_for(kind, source_ids.len(), unplaced_facilities.len());
        let mut cov = KindCoverage {
            kind: kind.cloned(),
            profile,
            max_minutes,
            bound_m,
            source_ids,
            unplaced_facilities,
            building_m: Vec::new(),
            building_source: Vec::new(),
            note,
            nodes: NodeTimes::unreached(self.network.node_count()),
            source_snaps,
        };
        let seeds: Vec<Seed> = cov
            .placed_sources()
            .flat_map(|(label, s)| self.seeds_of(label, s))
            .collect();
        improve(&self.network, &mut cov.nodes, &seeds, bound_m, |_| true);
        self.assign_buildings(&mut cov);
        cov
    }

    /// Why a coverage with `placed` and `unplaced` facilities of `kind` is empty or partial.
    pub(crate) fn note_for(
        &self,
        kind: Option<&FacilityKind>,
        placed: usize,
        unplaced: usize,
    ) -> Option<String> {
        let kind_name = kind.map_or("any kind".to_owned(), |k| k.as_str().to_owned());
        if self.network.is_empty() {
            Some("the walking network is empty: no building can be reached".to_owned())
        } else if placed == 0 && unplaced == 0 {
            Some(format!("no facilities of kind {kind_name}"))
        } else if placed == 0 {
            Some(format!("none of the {unplaced} facilities of kind {kind_name} could be placed on the walking network"))
        } else if unplaced > 0 {
            Some(format!(
                "{unplaced} of {} facilities of kind {kind_name} could not be placed on the walking network",
                unplaced + placed
            ))
        } else {
            None
        }
    }

    /// The graph starts of a source snapped at `s`: both ends of its edge.
    pub(crate) fn seeds_of(&self, label: u32, s: &Snap) -> [Seed; 2] {
        let e = self.network.edge(s.edge);
        let leg = if self.options.access_legs {
            s.distance_m
        } else {
            0.0
        };
        [
            Seed {
                node: e.u,
                dist_m: leg + s.offset_m,
                source: label,
            },
            Seed {
                node: e.v,
                dist_m: leg + (e.length_m - s.offset_m).max(0.0),
                source: label,
            },
        ]
    }

    /// Fills `building_m` / `building_source` from the node distances and same-edge walks.
    pub(crate) fn assign_buildings(&self, cov: &mut KindCoverage) {
        let legs = self.options.access_legs;
        let mut on_edge: HashMap<u32, Vec<(f64, f64, u32)>> = HashMap::new();
        for (label, s) in cov.placed_sources() {
            let leg = if legs { s.distance_m } else { 0.0 };
            on_edge
                .entry(s.edge)
                .or_default()
                .push((s.offset_m, leg, label));
        }
        let n = self.buildings.len();
        cov.building_m = vec![f64::INFINITY; n];
        cov.building_source = vec![NO_SOURCE; n];
        for (i, b) in self.buildings.iter().enumerate() {
            let Ok(s) = &b.placement else { continue };
            let e = self.network.edge(s.edge);
            let (du, dv) = (cov.nodes.dist[e.u as usize], cov.nodes.dist[e.v as usize]);
            let mut best = (f64::INFINITY, NO_SOURCE);
            let via_u = du + s.offset_m;
            if via_u < best.0 {
                best = (via_u, cov.nodes.source[e.u as usize]);
            }
            let via_v = dv + (e.length_m - s.offset_m).max(0.0);
            if via_v < best.0 {
                best = (via_v, cov.nodes.source[e.v as usize]);
            }
            if let Some(list) = on_edge.get(&s.edge) {
                for &(t, leg, label) in list {
                    let d = leg + (s.offset_m - t).abs();
                    if d < best.0 {
                        best = (d, label);
                    }
                }
            }
            let d = best.0 + if legs { s.distance_m } else { 0.0 };
            if d <= cov.bound_m {
                cov.building_m[i] = d;
                cov.building_source[i] = best.1;
            }
        }
    }

    /// Per-building minutes at `minutes` (≤ the coverage's bound): one row per building, in input order.
    pub fn building_times(
        &self,
        cov: &KindCoverage,
        minutes: f64,
    ) -> Result<Vec<BuildingTime>, AlgoError> {
        let limit = self.threshold_m(cov, minutes)?;
        Ok(self
            .buildings
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let d = cov.building_m[i];
                let ok = d <= limit;
                BuildingTime {
                    building_id: b.id.clone(),
                    distance_m: ok.then_some(d),
                    minutes: ok.then(|| cov.profile.minutes(d)),
                    facility_id: if ok { cov.nearest(i).cloned() } else { None },
                    unplaced: b.placement.as_ref().err().map(ToString::to_string),
                }
            })
            .collect())
    }

    /// Whether building `i` is within `minutes` (no check of the bound: callers validated it).
    pub(crate) fn covered(cov: &KindCoverage, i: usize, limit_m: f64) -> bool {
        cov.building_m[i] <= limit_m
    }

    /// Metres of a threshold in minutes, checked against the coverage's bound.
    pub(crate) fn threshold_m(&self, cov: &KindCoverage, minutes: f64) -> Result<f64, AlgoError> {
        check_minutes("minutes", minutes)?;
        if minutes > cov.max_minutes {
            return Err(AlgoError::InvalidParameter {
                name: "minutes",
                value: minutes.to_string(),
                expected: "at most the bound the coverage was computed with (ask coverage() with a larger max_minutes)",
            });
        }
        Ok(cov.profile.limit_m(minutes))
    }

    /// Unplaced buildings by reason (for reports).
    pub fn unplaced_buildings(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for b in self.buildings.iter() {
            if let Err(u) = &b.placement {
                *m.entry(u.to_string()).or_default() += 1;
            }
        }
        m
    }
}

fn check_minutes(name: &'static str, minutes: f64) -> Result<(), AlgoError> {
    if minutes.is_finite() && minutes >= 0.0 {
        Ok(())
    } else {
        Err(AlgoError::InvalidParameter {
            name,
            value: minutes.to_string(),
            expected: "finite minutes ≥ 0",
        })
    }
}
