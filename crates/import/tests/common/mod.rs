//! Test helpers: where the shared OSM data lives (env GRIDMAP_SHARED, else ../shared beside
//! the repository), skipping with a note when it is absent.
#![allow(dead_code)]
use std::path::PathBuf;

pub fn shared_file(name: &str) -> Option<PathBuf> {
    let root = std::env::var_os("GRIDMAP_SHARED").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")),
        PathBuf::from,
    );
    let p = root.join("data").join(name);
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "note: {} not found; skipping this test (set GRIDMAP_SHARED)",
            p.display()
        );
        None
    }
}
