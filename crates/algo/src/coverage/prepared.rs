//! Building snaps kept between processes. Snapping a million buildings onto the walking network
//! is most of what building a coverage engine costs; [`PreparedSites`] holds each building's
//! access point and where it landed, so the next CLI run or a cold server decodes them instead
//! (the caller stores the bytes, keyed by the network they were made on); a building whose
//! access point changed since is snapped again.
//!
//! ```
//! use gridmap_algo::coverage::{CoverageEngine, CoverageOptions};
//! use gridmap_algo::network::WalkingNetwork;
//! use gridmap_model::*;
//! use geo_types::{line_string, polygon, MultiPolygon};
//! use std::sync::Arc;
//! let way = NetworkWay { id: "w1".into(), geometry: line_string![(x: 0.0, y: 0.0), (x: 0.01, y: 0.0)],
//!     tags: [("highway".to_string(), "footway".to_string())].into(), length_m: None };
//! let b = Building {
//!     id: "b1".into(), name: None, building_type: None, address: None,
//!     footprint: MultiPolygon(vec![polygon![(x: 0.0049, y: 0.0001), (x: 0.0051, y: 0.0001),
//!         (x: 0.0051, y: 0.0003), (x: 0.0049, y: 0.0003), (x: 0.0049, y: 0.0001)]]),
//!     entrance: None, levels: None, households: 10, households_source: HouseholdSource::Imported,
//!     elderly: None, steward: None, compound: None, community: None,
//! };
//! let net = Arc::new(WalkingNetwork::build(&[way]));
//! let built = CoverageEngine::new(net.clone(), &[b.clone()], &[], CoverageOptions::default());
//! let kept = built.prepared_sites();
//! let (again, resnapped) = CoverageEngine::from_prepared(net.clone(), kept.clone(), &[b.clone()], &[], CoverageOptions::default());
//! assert_eq!((again.buildings()[0].placement.clone(), resnapped), (built.buildings()[0].placement.clone(), 0));
//! // a building whose access point moved is snapped again
//! let moved = Building { entrance: Some(geo_types::Point::new(0.009, 0.0001)), ..b };
//! let (again, resnapped) = CoverageEngine::from_prepared(net, kept, &[moved], &[], CoverageOptions::default());
//! assert_eq!(resnapped, 1);
//! assert!(again.buildings()[0].placement.as_ref().unwrap().lonlat[0] > 0.008);
//! ```
use super::{BuildingSite, CoverageEngine, CoverageOptions};
use crate::network::{Snap, Unplaced, WalkingNetwork};
use gridmap_model::{Building, Facility};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Every building's access point and placement, in the order of the buildings the engine was
/// built from. Serializes compactly (postcard: ~45 bytes a building).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PreparedSites {
    sites: Vec<(Option<[f64; 2]>, Placement)>,
}

/// [`Unplaced`] is internally tagged for JSON, which non-self-describing formats cannot read
/// back: the cache has its own plain enum.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Placement {
    Placed(Snap),
    NoGeometry,
    InvalidCoordinate,
    EmptyNetwork,
    TooFar(f64),
}

impl From<&Result<Snap, Unplaced>> for Placement {
    fn from(r: &Result<Snap, Unplaced>) -> Self {
        match r {
            Ok(s) => Placement::Placed(*s),
            Err(Unplaced::NoGeometry) => Placement::NoGeometry,
            Err(Unplaced::InvalidCoordinate) => Placement::InvalidCoordinate,
            Err(Unplaced::EmptyNetwork) => Placement::EmptyNetwork,
            Err(Unplaced::TooFar { max_distance_m }) => Placement::TooFar(*max_distance_m),
        }
    }
}

impl From<Placement> for Result<Snap, Unplaced> {
    fn from(p: Placement) -> Self {
        match p {
            Placement::Placed(s) => Ok(s),
            Placement::NoGeometry => Err(Unplaced::NoGeometry),
            Placement::InvalidCoordinate => Err(Unplaced::InvalidCoordinate),
            Placement::EmptyNetwork => Err(Unplaced::EmptyNetwork),
            Placement::TooFar(max_distance_m) => Err(Unplaced::TooFar { max_distance_m }),
        }
    }
}

impl PreparedSites {
    pub fn len(&self) -> usize {
        self.sites.len()
    }
    pub fn is_empty(&self) -> bool {
        self.sites.is_empty()
    }
}

impl CoverageEngine {
    /// The building snaps of this engine, to keep for [`CoverageEngine::from_prepared`].
    pub fn prepared_sites(&self) -> PreparedSites {
        PreparedSites {
            sites: self
                .buildings
                .iter()
                .map(|b| (b.location, Placement::from(&b.placement)))
                .collect(),
        }
    }

    /// An engine from kept snaps. A kept snap is used for the building at the same position
    /// when its access point is the one the building has now (a placement is a function of the
    /// network, the options and the access point alone, so this check is exact); every other
    /// building is snapped again. Ids and counts come from `buildings`; facilities are snapped
    /// here. Returns the engine and how many buildings were snapped again. The caller keys the
    /// kept snaps by the network and the snap options they were made with.
    pub fn from_prepared(
        network: Arc<WalkingNetwork>,
        prepared: PreparedSites,
        buildings: &[Building],
        facilities: &[Facility],
        options: CoverageOptions,
    ) -> (Self, usize) {
        let mut kept = prepared.sites.into_iter();
        let mut resnapped = 0;
        let sites = buildings
            .iter()
            .map(|b| {
                let location = b.access_point().map(|p| [p.x(), p.y()]);
                match kept.next() {
                    Some((l, placement)) if l == location => BuildingSite {
                        id: b.id.clone(),
                        households: b.households,
                        elderly: b.elderly,
                        location,
                        placement: placement.into(),
                    },
                    _ => {
                        resnapped += 1;
                        Self::site_of(&network, &options, b)
                    }
                }
            })
            .collect();
        (
            Self::with_buildings(network, sites, facilities, options),
            resnapped,
        )
    }
}
