//! Domain model of gridmap: the nouns every other crate speaks.
//!
//! street (街道) → community (社区) → compound (小区) → building (楼栋) → households (户);
//! grids (网格) are sets of buildings inside one community; facilities (党群服务站, 幸福食堂,
//! 城市书房, 暖"新"驿站) are points; the walking network is kept as raw ways.
//!
//! This crate does no IO. Coordinates are WGS84 lon/lat (EPSG:4326) everywhere; see
//! [`crs`] for the conversions to and from the Chinese web-map systems.
#![forbid(unsafe_code)]

pub mod crs;
mod domain;
pub mod events;
pub mod households;
mod ids;
mod kinds;
mod progress;
mod shared_vec;
mod users;

pub use domain::*;
pub use ids::*;
pub use kinds::*;
pub use progress::Progress;
pub use shared_vec::SharedVec;
pub use users::*;

/// Attribution that must accompany any OpenStreetMap-derived data gridmap shows or exports.
pub const OSM_ATTRIBUTION: &str = "© OpenStreetMap contributors (ODbL 1.0)";
