//! Candidate sites: points given by the caller (a GeoJSON file parsed upstream, drawn points) or
//! graph nodes sampled with a seed, snapped onto the walking network like facilities.
//!
//! A candidate farther from the network than the snap limit is *skipped with its reason*, never
//! snapped kilometres away; so is one with an invalid coordinate, one landing on the same network
//! point as an earlier candidate (it would cover exactly the same buildings) and one landing on an
//! existing site of the kind (it adds nothing; the peer kit drops those too).
//!
//! ```
//! use geo_types::line_string;
//! use gridmap_algo::network::{SnapOptions, WalkingNetwork};
//! use gridmap_algo::siting::{Candidate, CandidateSet};
//! use gridmap_model::NetworkWay;
//!
//! let way = NetworkWay {
//!     id: "w".into(),
//!     geometry: line_string![(x: 0.0, y: 0.0), (x: 0.001, y: 0.0), (x: 0.002, y: 0.0)],
//!     tags: [("highway".to_string(), "footway".to_string())].into(),
//!     length_m: None,
//! };
//! let net = WalkingNetwork::build(&[way]);
//! let pts = vec![
//!     Candidate::new("a", 0.001, 0.00001),
//!     Candidate::new("far", 0.001, 0.05), // ~5.5 km north: skipped, not snapped
//!     Candidate::new("a2", 0.001, 0.0),   // the same network point as "a"
//! ];
//! let set = CandidateSet::from_points(&net, &pts, &SnapOptions::default(), &[]);
//! assert_eq!(set.placed.len(), 1);
//! assert_eq!(set.skipped.len(), 2);
//! let sampled = CandidateSet::sample_nodes(&net, 2, 7, &[]);
//! assert_eq!(sampled.placed.len(), 2);
//! assert_eq!(sampled.placed, CandidateSet::sample_nodes(&net, 2, 7, &[]).placed); // deterministic
//! ```
use crate::network::{Snap, SnapOptions, Unplaced, WalkingNetwork};
use serde::Serialize;
use std::collections::HashMap;

/// A candidate site as given: an id and a WGS84 location.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Candidate {
    pub id: String,
    pub lon: f64,
    pub lat: f64,
}

impl Candidate {
    pub fn new(id: impl Into<String>, lon: f64, lat: f64) -> Self {
        Self {
            id: id.into(),
            lon,
            lat,
        }
    }
}

/// A candidate on the network.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlacedCandidate {
    pub id: String,
    /// The location as given (what a chosen site reports).
    pub lon: f64,
    pub lat: f64,
    pub snap: Snap,
}

/// Why a candidate takes no part.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum SkipReason {
    /// Not placed on the network (too far, invalid coordinate, empty network).
    OffNetwork { detail: String },
    /// Lands on the same network point as an earlier candidate.
    Duplicate { of: String },
    /// Lands on the network point of an existing site of the kind.
    AtExistingSite { facility: String },
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::OffNetwork { detail } => f.write_str(detail),
            Self::Duplicate { of } => write!(f, "same network point as candidate {of}"),
            Self::AtExistingSite { facility } => {
                write!(f, "same network point as existing site {facility}")
            }
        }
    }
}

/// A candidate that takes no part, with its reason.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SkippedCandidate {
    pub id: String,
    pub lon: f64,
    pub lat: f64,
    pub reason: SkipReason,
}

/// The candidates of one siting run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CandidateSet {
    pub placed: Vec<PlacedCandidate>,
    pub skipped: Vec<SkippedCandidate>,
}

fn key(p: [f64; 2]) -> (u64, u64) {
    (p[0].to_bits(), p[1].to_bits())
}

impl CandidateSet {
    /// Snaps `points` with `snap` (the engine's facility snapping). `existing` are the snapped
    /// existing sites of the kind (id, snap): candidates landing on one of them are skipped.
    pub fn from_points(
        net: &WalkingNetwork,
        points: &[Candidate],
        snap: &SnapOptions,
        existing: &[(String, Snap)],
    ) -> Self {
        let mut seen: HashMap<(u64, u64), String> = HashMap::new();
        let at_existing: HashMap<(u64, u64), &str> = existing
            .iter()
            .map(|(id, s)| (key(s.lonlat), id.as_str()))
            .collect();
        let mut out = CandidateSet::default();
        for c in points {
            let skip = |reason| SkippedCandidate {
                id: c.id.clone(),
                lon: c.lon,
                lat: c.lat,
                reason,
            };
            let s = match net.snap(c.lon, c.lat, snap) {
                Ok(s) => s,
                Err(u) => {
                    out.skipped.push(skip(SkipReason::OffNetwork {
                        detail: off_network(&u),
                    }));
                    continue;
                }
            };
            let k = key(s.lonlat);
            if let Some(f) = at_existing.get(&k) {
                out.skipped.push(skip(SkipReason::AtExistingSite {
                    facility: (*f).to_owned(),
                }));
            } else if let Some(of) = seen.get(&k) {
                out.skipped
                    .push(skip(SkipReason::Duplicate { of: of.clone() }));
            } else {
                seen.insert(k, c.id.clone());
                out.placed.push(PlacedCandidate {
                    id: c.id.clone(),
                    lon: c.lon,
                    lat: c.lat,
                    snap: s,
                });
            }
        }
        out
    }

    /// `n` distinct graph nodes drawn with `seed` (SplitMix64, partial Fisher–Yates over the node
    /// ids: the same seed gives the same nodes on every platform); `n` ≥ the node count takes
    /// every node. Ids are `node-<index>`.
    pub fn sample_nodes(
        net: &WalkingNetwork,
        n: usize,
        seed: u64,
        existing: &[(String, Snap)],
    ) -> Self {
        Self::sample_nodes_within(net, n, seed, existing, &|_| true)
    }

    /// [`Self::sample_nodes`] among the nodes whose lon/lat `within` accepts (a drawn area);
    /// with every node accepted the same seed draws the same nodes.
    pub fn sample_nodes_within(
        net: &WalkingNetwork,
        n: usize,
        seed: u64,
        existing: &[(String, Snap)],
        within: &dyn Fn([f64; 2]) -> bool,
    ) -> Self {
        let mut ids: Vec<u32> = (0..net.node_count() as u32)
            .filter(|&x| within(net.node_lonlat(x)))
            .collect();
        let count = ids.len();
        let take = n.min(count);
        let mut rng = crate::partition::rng::Rng::new(seed);
        for i in 0..take {
            let j = i + (rng.next_u64() % (count - i) as u64) as usize;
            ids.swap(i, j);
        }
        let opts = SnapOptions {
            max_distance_m: 1.0,
            ..SnapOptions::default()
        };
        let points: Vec<Candidate> = ids[..take]
            .iter()
            .map(|&x| {
                let [lon, lat] = net.node_lonlat(x);
                Candidate::new(format!("node-{x}"), lon, lat)
            })
            .collect();
        Self::from_points(
            net,
            &points,
            &SnapOptions {
                avoid_tunnels_and_bridges: false,
                ..opts
            },
            existing,
        )
    }
}

fn off_network(u: &Unplaced) -> String {
    match u {
        Unplaced::TooFar { max_distance_m } => {
            format!("off the network: farther than {max_distance_m} m from any walkable way")
        }
        other => format!("off the network: {other}"),
    }
}
