//! Siting on the interchange inputs of a city, without the store: loads
//! `$GRIDMAP_ORACLE_DIR` (default /tmp/monaco-inputs), samples candidates and runs one model.
//!
//! `cargo run --release -p gridmap-algo --example siting_bench -- KIND ADD CANDIDATES [SECONDS] [heuristic]`
#[path = "../tests/coverage_support/mod.rs"]
mod coverage_support;

use gridmap_algo::coverage::{CoverageEngine, CoverageOptions, WalkProfile};
use gridmap_algo::network::WalkingNetwork;
use gridmap_algo::siting::{site, CandidateSet, Control, Model, SitingParams, SolverChoice};
use gridmap_model::FacilityKind;
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let kind = FacilityKind::parse(a.get(1).map_or("reading_room", String::as_str)).expect("kind");
    let add: usize = a.get(2).and_then(|s| s.parse().ok()).unwrap_or(10);
    let n: usize = a.get(3).and_then(|s| s.parse().ok()).unwrap_or(2000);
    let secs: f64 = a.get(4).and_then(|s| s.parse().ok()).unwrap_or(30.0);
    let heuristic = a.get(5).is_some_and(|s| s == "heuristic");
    let dir = std::env::var_os("GRIDMAP_ORACLE_DIR")
        .map_or_else(|| "/tmp/monaco-inputs".into(), std::path::PathBuf::from);
    let t0 = Instant::now();
    let buildings = coverage_support::load_buildings(&dir.join("buildings.geojson"));
    let facilities = coverage_support::load_facilities(&dir.join("facilities.geojson"));
    let ways = coverage_support::load_network(&dir.join("network.geojson"));
    let engine = CoverageEngine::new(
        Arc::new(WalkingNetwork::build(&ways)),
        &buildings,
        &facilities,
        CoverageOptions::default(),
    );
    let cov = engine
        .coverage(Some(&kind), WalkProfile::standard(), 15.0)
        .expect("coverage");
    let existing: Vec<(String, _)> = engine
        .facilities()
        .iter()
        .filter(|f| f.kind == kind)
        .filter_map(|f| f.placement.as_ref().ok().map(|s| (f.id.to_string(), *s)))
        .collect();
    let set = CandidateSet::sample_nodes(engine.network(), n, 0, &existing);
    eprintln!("loaded in {:.2} s", t0.elapsed().as_secs_f64());
    let params = SitingParams {
        model: Model::Mclp,
        add,
        time_limit_s: secs,
        solver: if heuristic {
            SolverChoice::Heuristic
        } else {
            SolverChoice::Exact
        },
        ..SitingParams::default()
    };
    let t1 = Instant::now();
    let progress = move |p: gridmap_algo::siting::Progress| {
        if p.stage == "solving" {
            eprintln!(
                "  {:.2} s: {} nodes, incumbent {:?}, bound {:?}",
                t1.elapsed().as_secs_f64(),
                p.done,
                p.incumbent,
                p.bound
            );
        }
    };
    let r = site(
        &engine,
        &cov,
        &set,
        &params,
        &Control {
            progress: &progress,
            cancel: None,
        },
    )
    .expect("site");
    println!(
        "{} +{add} of {} candidates: {:.3}% -> {:.3}%, solver {} optimal {} bound {:?} gap {:?} gap_points {:?} nodes {} cover {:.2} s solve {:.2} s (groups {}, entries {})",
        kind.as_str(),
        r.candidates_placed,
        r.pct_before,
        r.pct_after,
        r.solver.name,
        r.solver.optimal,
        r.solver.bound,
        r.solver.gap,
        r.solver.gap_points,
        r.solver.nodes,
        r.seconds_cover,
        r.seconds_solve,
        r.groups,
        r.cover_entries
    );
}
