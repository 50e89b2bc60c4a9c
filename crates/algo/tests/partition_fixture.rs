//! Shared by the partition tests and bench (included with `#[path]`): reading the peer kit's
//! `buildings.geojson` and making synthetic cities.
#![allow(dead_code)]
use geo_types::{polygon, LineString, MultiPolygon};
use gridmap_model::{
    Building, BuildingId, CommunityId, CompoundId, HouseholdSource, NetworkWay, WayId,
};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where the oracle inputs live: `GRIDMAP_ORACLE_DIR`, else `/tmp/monaco-inputs`.
pub fn oracle_dir() -> PathBuf {
    std::env::var_os("GRIDMAP_ORACLE_DIR")
        .map_or_else(|| PathBuf::from("/tmp/monaco-inputs"), PathBuf::from)
}

/// Buildings of `dir/buildings.geojson`, or `None` (with a loud note) when the file is absent;
/// panics when absent and `GRIDMAP_REQUIRE_ORACLE=1`.
pub fn oracle_buildings(dir: &std::path::Path) -> Option<Vec<Building>> {
    let path = dir.join("buildings.geojson");
    if !path.exists() {
        assert!(
            std::env::var("GRIDMAP_REQUIRE_ORACLE").as_deref() != Ok("1"),
            "GRIDMAP_REQUIRE_ORACLE=1 but {} is missing (run shared/checks/make_inputs.sh)",
            path.display()
        );
        eprintln!("\n*** NOTE: {} not found: oracle partition test SKIPPED (set GRIDMAP_ORACLE_DIR) ***\n", path.display());
        return None;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let fc: geojson::FeatureCollection = text
        .parse()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::with_capacity(fc.features.len());
    for (n, f) in fc.features.into_iter().enumerate() {
        let prop = |k: &str| f.properties.as_ref().and_then(|p| p.get(k)).cloned();
        let id = prop("id")
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| panic!("feature {n}: no id"));
        let households = prop("households")
            .and_then(|v| v.as_u64())
            .unwrap_or_else(|| panic!("{id}: no households"));
        let geom: geo_types::Geometry<f64> = f
            .geometry
            .clone()
            .unwrap_or_else(|| panic!("{id}: no geometry"))
            .try_into()
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        let footprint = match geom {
            geo_types::Geometry::Polygon(p) => MultiPolygon(vec![p]),
            geo_types::Geometry::MultiPolygon(m) => m,
            other => panic!("{id}: unexpected geometry {other:?}"),
        };
        let s = |k: &str| {
            prop(k)
                .and_then(|v| v.as_str().map(str::to_owned))
                .filter(|s| !s.is_empty())
        };
        out.push(Building {
            id: BuildingId::new(id),
            name: None,
            building_type: None,
            address: None,
            footprint,
            entrance: None,
            levels: None,
            households: households as u32,
            households_source: HouseholdSource::Imported,
            elderly: None,
            steward: None,
            compound: s("compound").map(CompoundId::new),
            community: s("community").map(CommunityId::new),
        });
    }
    Some(out)
}

/// A square footprint of side `d` degrees at (x, y).
pub fn square(id: &str, x: f64, y: f64, d: f64, households: u32) -> Building {
    Building {
        id: BuildingId::new(id),
        name: None,
        building_type: None,
        address: None,
        footprint: MultiPolygon(vec![
            polygon![(x: x, y: y), (x: x + d, y: y), (x: x + d, y: y + d), (x: x, y: y + d)],
        ]),
        entrance: None,
        levels: None,
        households,
        households_source: HouseholdSource::Imported,
        elderly: None,
        steward: None,
        compound: None,
        community: None,
    }
}

/// Degrees of one lattice step (about 33 m at this latitude).
pub const STEP: f64 = 0.0003;
pub const LON0: f64 = 116.3;
pub const LAT0: f64 = 39.95;

/// A lattice city of `nx × ny` buildings of `hh(i, j)` households, with community `community(i, j)`.
pub fn lattice_city(
    nx: usize,
    ny: usize,
    hh: impl Fn(usize, usize) -> u32,
    community: impl Fn(usize, usize) -> Option<String>,
) -> Vec<Building> {
    let mut out = Vec::with_capacity(nx * ny);
    for j in 0..ny {
        for i in 0..nx {
            let mut b = square(
                &format!("b{i}_{j}"),
                LON0 + i as f64 * STEP,
                LAT0 + j as f64 * STEP,
                STEP * 0.5,
                hh(i, j),
            );
            b.community = community(i, j).map(CommunityId::new);
            out.push(b);
        }
    }
    out
}

/// A major road (`highway=primary`) along the lattice line between columns `i` and `i+1`.
pub fn road_between_columns(i: usize, ny: usize) -> NetworkWay {
    let x = LON0 + (i as f64 + 0.75) * STEP;
    road(
        &format!("road-x{i}"),
        vec![(x, LAT0 - STEP), (x, LAT0 + (ny as f64 + 1.0) * STEP)],
    )
}

/// A major road between rows `j` and `j+1`.
pub fn road_between_rows(j: usize, nx: usize) -> NetworkWay {
    let y = LAT0 + (j as f64 + 0.75) * STEP;
    road(
        &format!("road-y{j}"),
        vec![(LON0 - STEP, y), (LON0 + (nx as f64 + 1.0) * STEP, y)],
    )
}

pub fn road(id: &str, pts: Vec<(f64, f64)>) -> NetworkWay {
    NetworkWay {
        id: WayId::new(id),
        geometry: LineString::from(pts),
        tags: BTreeMap::from([("highway".to_owned(), "primary".to_owned())]),
        length_m: None,
    }
}
