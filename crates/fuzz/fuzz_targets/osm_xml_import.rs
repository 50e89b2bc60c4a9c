//! OSM XML importer (`gridmap import x.osm`). Invariant: every layer of a successful import
//! survives export → import unchanged.
#![no_main]
mod common;

use gridmap_import::{read_osm_xml_bytes, ImportOptions, NoProgress};
use gridmap_model::Layer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match read_osm_xml_bytes(data, "fuzz.osm", &ImportOptions::default(), &NoProgress) {
        Ok((ds, _report)) => common::assert_geojson_round_trip(&ds, &Layer::ALL),
        Err(e) => common::render(&e),
    }
});
