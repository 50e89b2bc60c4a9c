//! Test support for the coverage tests: a tiny loader of the peer kit's interchange GeoJSON into
//! model types, the scipy oracle's per-building minutes, and the agreement rule of
//! `shared/checks/coverage.sh`.
#![allow(dead_code)]
use geo_types::{Geometry, MultiPolygon};
use gridmap_model::{
    Building, BuildingId, Facility, FacilityId, FacilityKind, HouseholdSource, NetworkWay, WayId,
};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

/// `shared/` beside the repository: `GRIDMAP_SHARED`, else `crates/algo/../../../shared`.
pub fn shared_dir() -> PathBuf {
    std::env::var_os("GRIDMAP_SHARED").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")),
        PathBuf::from,
    )
}

/// The oracle input directory (`GRIDMAP_ORACLE_DIR`, default /tmp/monaco-inputs), or `None` with a
/// loud note when absent — a failure instead when `GRIDMAP_REQUIRE_ORACLE=1`.
pub fn oracle_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("GRIDMAP_ORACLE_DIR")
        .map_or_else(|| PathBuf::from("/tmp/monaco-inputs"), PathBuf::from);
    let ok = ["buildings", "facilities", "network"]
        .iter()
        .all(|f| dir.join(format!("{f}.geojson")).is_file());
    if ok {
        return Some(dir);
    }
    let msg = format!(
        "oracle inputs not found in {} (need buildings/facilities/network.geojson from shared/checks/make_inputs.sh; set GRIDMAP_ORACLE_DIR)",
        dir.display()
    );
    assert!(
        std::env::var("GRIDMAP_REQUIRE_ORACLE").as_deref() != Ok("1"),
        "{msg}"
    );
    eprintln!("\n!!!!!!!! NOTE: {msg} — oracle test SKIPPED !!!!!!!!\n");
    None
}

fn features(path: &Path) -> Vec<geojson::Feature> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match text
        .parse::<geojson::GeoJson>()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    {
        geojson::GeoJson::FeatureCollection(fc) => fc.features,
        _ => panic!("{}: not a FeatureCollection", path.display()),
    }
}

fn prop_str(f: &geojson::Feature, k: &str) -> Option<String> {
    f.property(k).and_then(|v| {
        v.as_str()
            .map(str::to_owned)
            .or_else(|| v.as_i64().map(|i| i.to_string()))
    })
}

fn geometry(f: &geojson::Feature, path: &Path) -> Option<Geometry<f64>> {
    let g = f.geometry.as_ref()?;
    Some(
        Geometry::<f64>::try_from(g.value.clone())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
}

pub fn load_buildings(path: &Path) -> Vec<Building> {
    features(path)
        .iter()
        .map(|f| {
            let footprint = match geometry(f, path) {
                Some(Geometry::Polygon(p)) => MultiPolygon(vec![p]),
                Some(Geometry::MultiPolygon(m)) => m,
                _ => MultiPolygon(vec![]),
            };
            Building {
                id: BuildingId::new(prop_str(f, "id").expect("building id")),
                name: None,
                building_type: None,
                address: None,
                footprint,
                entrance: None,
                levels: f.property("levels").and_then(serde_json::Value::as_f64),
                households: f
                    .property("households")
                    .and_then(serde_json::Value::as_u64)
                    .unwrap_or(0) as u32,
                households_source: HouseholdSource::Imported,
                elderly: f
                    .property("elderly")
                    .and_then(serde_json::Value::as_u64)
                    .map(|e| e as u32),
                steward: None,
                compound: prop_str(f, "compound").map(Into::into),
                community: prop_str(f, "community").map(Into::into),
            }
        })
        .collect()
}

pub fn load_facilities(path: &Path) -> Vec<Facility> {
    features(path)
        .iter()
        .filter_map(|f| {
            let Some(Geometry::Point(p)) = geometry(f, path) else {
                return None;
            };
            Some(Facility {
                id: FacilityId::new(prop_str(f, "id").expect("facility id")),
                kind: FacilityKind::parse(&prop_str(f, "kind").unwrap_or_else(|| "other".into()))
                    .expect("kind"),
                name: None,
                location: p,
                capacity: None,
                opening_hours: None,
            })
        })
        .collect()
}

pub fn load_network(path: &Path) -> Vec<NetworkWay> {
    features(path)
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let Some(Geometry::LineString(ls)) = geometry(f, path) else {
                return None;
            };
            let mut tags = BTreeMap::new();
            for k in [
                "highway", "foot", "access", "waterway", "railway", "barrier",
            ] {
                if let Some(v) = prop_str(f, k) {
                    tags.insert(k.to_owned(), v);
                }
            }
            Some(NetworkWay {
                id: WayId::new(prop_str(f, "id").unwrap_or_else(|| format!("line{i}"))),
                geometry: ls,
                tags,
                length_m: f.property("length_m").and_then(serde_json::Value::as_f64),
            })
        })
        .collect()
}

/// Facility kinds present in the facilities file, sorted.
pub fn kinds(facilities: &[Facility]) -> Vec<FacilityKind> {
    let mut k: Vec<FacilityKind> = facilities.iter().map(|f| f.kind.clone()).collect();
    k.sort();
    k.dedup();
    k
}

/// Oracle per-building minutes (`inf` = not covered) for one kind, and scipy's own seconds.
/// Uses `<dir>/oracle-<kind>.csv` when present; otherwise runs `shared/peers/coverage_scipy.py`
/// on the graph rebuilt from network.geojson (as `shared/checks/coverage.sh` does).
pub fn oracle_minutes(
    dir: &Path,
    kind: &str,
    extra: &[&str],
) -> Option<(HashMap<String, f64>, Option<f64>)> {
    let cached = dir.join(format!("oracle-{kind}.csv"));
    if extra.is_empty() && cached.is_file() {
        return Some((read_minutes(&cached), None));
    }
    let py = shared_dir().join("peers/py");
    if !py.exists() {
        let msg = format!("no peer kit python at {} to run the oracle", py.display());
        assert!(
            std::env::var("GRIDMAP_REQUIRE_ORACLE").as_deref() != Ok("1"),
            "{msg}"
        );
        eprintln!("\n!!!!!!!! NOTE: {msg} — SKIPPED !!!!!!!!\n");
        return None;
    }
    // one work dir per input dir, graph CSVs rewritten once per test process
    static WRITTEN: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
    let work = std::env::temp_dir().join(format!(
        "gridmap-oracle{}",
        dir.display().to_string().replace(['/', '\\', ':'], "_")
    ));
    {
        let mut written = WRITTEN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !written.contains(&work) {
            std::fs::create_dir_all(&work).expect("temp dir");
            write_graph_csv(&dir.join("network.geojson"), &work);
            written.push(work.clone());
        }
    }
    let out = work.join(format!("o-{kind}{}.csv", extra.join("")));
    let o = Command::new(&py)
        .arg(shared_dir().join("peers/coverage_scipy.py"))
        .args([
            "--nodes",
            &work.join("nodes.csv").to_string_lossy(),
            "--edges",
            &work.join("edges.csv").to_string_lossy(),
        ])
        .args([
            "--buildings",
            &dir.join("buildings.geojson").to_string_lossy(),
        ])
        .args([
            "--facilities",
            &dir.join("facilities.geojson").to_string_lossy(),
        ])
        .args([
            "--kind",
            kind,
            "--minutes",
            "15",
            "--speed-kmh",
            "4.5",
            "--out",
            &out.to_string_lossy(),
        ])
        .args(extra)
        .output()
        .expect("run coverage_scipy.py");
    assert!(
        o.status.success(),
        "oracle failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).expect("oracle JSON line");
    let secs = ["seconds_load", "seconds_build", "seconds_query"]
        .iter()
        .filter_map(|k| summary[k].as_f64())
        .sum();
    Some((read_minutes(&out), Some(secs)))
}

fn read_minutes(path: &Path) -> HashMap<String, f64> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    r.records()
        .map(|rec| {
            let rec = rec.expect("csv row");
            (
                rec[0].to_owned(),
                rec[1].parse::<f64>().unwrap_or(f64::INFINITY),
            )
        })
        .collect()
}

/// nodes.csv / edges.csv from network.geojson, numbering coordinates in first-seen order.
fn write_graph_csv(network: &Path, work: &Path) {
    let mut ids: HashMap<(u64, u64), usize> = HashMap::new();
    let mut order: Vec<(f64, f64)> = Vec::new();
    let mut edges = String::from("u,v,length_m\n");
    for f in features(network) {
        let Some(Geometry::LineString(ls)) = geometry(&f, network) else {
            continue;
        };
        let (a, b) = (ls.0[0], ls.0[ls.0.len() - 1]);
        let mut id = |c: geo_types::Coord<f64>| {
            *ids.entry((c.x.to_bits(), c.y.to_bits()))
                .or_insert_with(|| {
                    order.push((c.x, c.y));
                    order.len() - 1
                })
        };
        let (ia, ib) = (id(a), id(b));
        let len = f
            .property("length_m")
            .map(ToString::to_string)
            .expect("length_m");
        edges.push_str(&format!("{ia},{ib},{len}\n"));
    }
    let mut nodes = String::from("id,lon,lat\n");
    for (i, (x, y)) in order.iter().enumerate() {
        nodes.push_str(&format!("{i},{x:?},{y:?}\n"));
    }
    std::fs::write(work.join("edges.csv"), edges).expect("write edges.csv");
    std::fs::write(work.join("nodes.csv"), nodes).expect("write nodes.csv");
}

/// Share (%) of oracle buildings that agree within 1 minute, or are beyond 15 min on both sides.
pub fn agreement(oracle: &HashMap<String, f64>, ours: &HashMap<String, f64>) -> f64 {
    let ok = oracle
        .iter()
        .filter(|(id, m)| {
            let q = ours.get(*id).copied().unwrap_or(f64::NAN);
            if **m > 15.0 {
                q.is_nan() || q > 15.0
            } else {
                (**m - q).abs() <= 1.0
            }
        })
        .count();
    100.0 * ok as f64 / oracle.len().max(1) as f64
}
