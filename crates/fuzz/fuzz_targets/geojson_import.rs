//! GeoJSON importer (`gridmap import x.geojson [--layer L] [--crs C]`). The first byte picks the
//! options (`' '` = inferred layer, WGS84), the rest is the file. Invariant: a successful import
//! in WGS84/CGCS2000 survives export → import unchanged.
#![no_main]
mod common;

use gridmap_import::{read_geojson_bytes, ImportOptions, NoProgress};
use gridmap_model::crs::Crs;
use gridmap_model::Layer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, doc)) = data.split_first() else {
        return;
    };
    let layer = match sel % 8 {
        0 => None,
        k => Some(Layer::ALL[usize::from(k - 1)]),
    };
    let crs = [Crs::Wgs84, Crs::Cgcs2000, Crs::Gcj02, Crs::Bd09][usize::from(sel / 8 % 4)];
    let opts = ImportOptions {
        layer,
        crs,
        ..ImportOptions::default()
    };
    match read_geojson_bytes(doc, "fuzz.geojson", &opts, &NoProgress) {
        Ok((ds, _report)) => {
            if crs.is_wgs84_equivalent() {
                common::assert_geojson_round_trip(&ds, &Layer::ALL);
            }
        }
        Err(e) => common::render(&e),
    }
});
