//! The spatial core of gridmap: one module per algorithm, no IO, no HTTP, no database.
//!
//! * [`network`] — the walking graph (CSR) built from raw ways, snapping of points onto it.
//! * [`coverage`] — multi-source bounded shortest paths per facility kind, statistics, gaps, what-if.
//! * [`isochrone`] — nested walking-time contours for display.
//! * [`partition`] — adjacency of buildings, automatic grids, rebalancing, validation, outlines.
//! * [`siting`] — facility siting: MCLP, minimum facilities, p-median, p-center over sparse
//!   covering sets, greedy + vertex substitution and an exact Lagrangian branch-and-bound.
//! * [`events`] — routing of reported events to the grid that answers for them.
#![forbid(unsafe_code)]

pub mod coverage;
pub mod error;
pub mod events;
pub mod geometry;
pub mod isochrone;
pub mod network;
pub mod partition;
pub mod siting;

pub use error::AlgoError;
