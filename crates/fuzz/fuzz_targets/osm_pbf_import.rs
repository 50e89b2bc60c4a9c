//! OSM PBF importer (`gridmap import x.osm.pbf`). Invariant: every layer of a successful import
//! survives export → import unchanged.
//!
//! The importer turns panics of the osmpbf decoder (a third-party crate that unwraps some
//! malformed values) into errors; libfuzzer-sys's panic hook would abort on them before they are
//! caught, so panics raised inside osmpbf/protobuf are let through to the importer here, and
//! every other panic still aborts (a crash).
#![no_main]
mod common;

use gridmap_import::{read_osm_pbf_from, ImportOptions, NoProgress};
use gridmap_model::Layer;
use libfuzzer_sys::fuzz_target;

fn let_decoder_panics_unwind() {
    let aborting = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_decoder = info
            .location()
            .is_some_and(|l| l.file().contains("/osmpbf-") || l.file().contains("/protobuf-"));
        if !in_decoder {
            aborting(info);
        }
    }));
}

fuzz_target!(init: let_decoder_panics_unwind(), |data: &[u8]| {
    match read_osm_pbf_from(data, "fuzz.osm.pbf", &ImportOptions::default(), &NoProgress) {
        Ok((ds, _report)) => common::assert_geojson_round_trip(&ds, &Layer::ALL),
        Err(e) => common::render(&e),
    }
});
