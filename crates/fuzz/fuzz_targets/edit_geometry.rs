//! Geometries of edit bodies (OGC API Part 4 POST/PUT/PATCH, REST edits): JSON → `read_geometry`
//! in the request CRS. The first byte picks the CRS (`' '` and `'\n'` = CRS84); the rest is a
//! geometry or a Feature holding one. Invariants: what is accepted is finite WGS84 (lon within
//! ±180, lat within ±90), and writing it back as GeoJSON reads back to the same geometry.
#![no_main]

use gridmap_server::crs::{ApiCrs, SUPPORTED};
use gridmap_server::geojson::{identity, read_geometry, write_geometry};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let crs = ApiCrs::parse("crs", SUPPORTED[usize::from(sel) % 32 % SUPPORTED.len()])
        .expect("supported CRS parses");
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return;
    };
    let v = match v.get("geometry") {
        Some(g) if v.get("type").and_then(|t| t.as_str()) == Some("Feature") => g.clone(),
        _ => v,
    };
    match read_geometry(&v, &crs) {
        Ok(Some(g)) => {
            for c in geo::CoordsIter::coords_iter(&g) {
                assert!(
                    c.x.is_finite() && c.y.is_finite(),
                    "non-finite position {c:?} from {v}"
                );
                assert!(
                    (-180.0..=180.0).contains(&c.x) && (-90.0..=90.0).contains(&c.y),
                    "position {c:?} outside WGS84 from {v}"
                );
            }
            let mut out = String::new();
            write_geometry(&mut out, Some(&g), &identity);
            let again: serde_json::Value = serde_json::from_str(&out)
                .unwrap_or_else(|e| panic!("written geometry is not JSON ({e}): {out}"));
            let back = read_geometry(&again, &ApiCrs::DEFAULT)
                .unwrap_or_else(|e| panic!("written geometry does not read back ({e}): {out}"));
            assert_eq!(back.as_ref(), Some(&g), "written: {out}");
        }
        Ok(None) => assert!(v.is_null()),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
