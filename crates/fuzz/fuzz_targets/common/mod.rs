//! Checks shared by the import targets.
#![allow(dead_code)]
use gridmap_import::{read_geojson_bytes, to_geojson, ImportError, ImportOptions, NoProgress};
use gridmap_model::crs::Crs;
use gridmap_model::{Dataset, Layer};

/// The rows of one layer of a dataset, as a dataset holding only that layer.
pub fn only(ds: &Dataset, layer: Layer) -> Dataset {
    let mut out = Dataset::default();
    match layer {
        Layer::Streets => out.streets.clone_from(&ds.streets),
        Layer::Communities => out.communities.clone_from(&ds.communities),
        Layer::Compounds => out.compounds.clone_from(&ds.compounds),
        Layer::Buildings => out.buildings.clone_from(&ds.buildings),
        Layer::Facilities => out.facilities.clone_from(&ds.facilities),
        Layer::Grids => out.grids.clone_from(&ds.grids),
        Layer::Network => out.ways.clone_from(&ds.ways),
    }
    out
}

/// Invariant of every successful import: each layer exports to WGS84 GeoJSON and that export
/// reads back to exactly the same rows (what `gridmap export` then `gridmap import` does).
pub fn assert_geojson_round_trip(ds: &Dataset, layers: &[Layer]) {
    for &layer in layers {
        let want = only(ds, layer);
        let text =
            serde_json::to_vec(&to_geojson(ds, layer, Crs::Wgs84)).expect("export serializes");
        let opts = ImportOptions {
            layer: Some(layer),
            ..ImportOptions::default()
        };
        match read_geojson_bytes(&text, "export.geojson", &opts, &NoProgress) {
            Ok((back, _)) => assert!(
                back == want,
                "layer {} changed through export → import\nexport: {}\nbefore: {want:?}\nafter:  {back:?}",
                layer.as_str(),
                String::from_utf8_lossy(&text)
            ),
            Err(e) => panic!("the export of layer {} does not import: {e}\nexport: {}", layer.as_str(), String::from_utf8_lossy(&text)),
        }
    }
}

/// Error messages are rendered for users: formatting one must not panic either.
pub fn render(e: &ImportError) {
    let s = e.to_string();
    assert!(!s.is_empty());
}
