//! OpenStreetMap input: `.osm.pbf` ([`pbf`]) and `.osm` XML ([`xml`]) readers produce the same
//! raw objects ([`raw`]), which [`build`] turns into a dataset — so both formats of the same
//! data give identical datasets.
pub(crate) mod build;
pub(crate) mod pbf;
pub(crate) mod raw;
pub(crate) mod rings;
pub(crate) mod xml;
