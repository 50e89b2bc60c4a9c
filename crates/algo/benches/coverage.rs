//! Coverage engine on real inputs (`GRIDMAP_ORACLE_DIR`, default /tmp/monaco-inputs, made by
//! `shared/checks/make_inputs.sh`): graph build + snap, full coverage of every kind, one
//! isochrone, one what-if move; plus a what-if on 100k buildings (Monaco's, replicated with small
//! offsets). Skips with a note when the inputs are absent.
#[path = "../tests/coverage_support/mod.rs"]
mod coverage_support;

use criterion::{criterion_group, criterion_main, Criterion};
use gridmap_algo::coverage::{Change, CoverageEngine, CoverageOptions, WalkProfile};
use gridmap_algo::isochrone::IsochroneOptions;
use gridmap_algo::network::WalkingNetwork;
use std::hint::black_box;
use std::sync::Arc;

fn bench(c: &mut Criterion) {
    let dir = std::env::var_os("GRIDMAP_ORACLE_DIR")
        .map_or_else(|| "/tmp/monaco-inputs".into(), std::path::PathBuf::from);
    if !dir.join("network.geojson").is_file() {
        eprintln!(
            "NOTE: no inputs in {} — coverage bench skipped",
            dir.display()
        );
        return;
    }
    let buildings = coverage_support::load_buildings(&dir.join("buildings.geojson"));
    let facilities = coverage_support::load_facilities(&dir.join("facilities.geojson"));
    let ways = coverage_support::load_network(&dir.join("network.geojson"));
    let kinds = coverage_support::kinds(&facilities);
    let opts = CoverageOptions::default();
    let mut g = c.benchmark_group("coverage");
    g.sample_size(10);
    g.bench_function("graph_build_and_snap", |b| {
        b.iter(|| {
            let net = Arc::new(WalkingNetwork::build(black_box(&ways)));
            black_box(CoverageEngine::new(net, &buildings, &facilities, opts))
        });
    });
    let net = Arc::new(WalkingNetwork::build(&ways));
    let engine = CoverageEngine::new(net.clone(), &buildings, &facilities, opts);
    g.bench_function("full_coverage_all_kinds", |b| {
        b.iter(|| {
            engine.clear_cache();
            for k in &kinds {
                black_box(
                    engine
                        .coverage(Some(k), WalkProfile::standard(), 15.0)
                        .unwrap(),
                );
            }
        });
    });
    let kind = kinds
        .iter()
        .max_by_key(|k| facilities.iter().filter(|f| &f.kind == *k).count())
        .unwrap()
        .clone();
    let cov = engine
        .coverage(Some(&kind), WalkProfile::standard(), 15.0)
        .unwrap();
    let f = facilities.iter().find(|f| f.kind == kind).unwrap();
    g.bench_function("isochrone_one_facility_5_10_15", |b| {
        b.iter(|| {
            black_box(
                engine
                    .isochrone_for_facility(
                        &f.id,
                        WalkProfile::standard(),
                        &IsochroneOptions::default(),
                    )
                    .unwrap(),
            )
        });
    });
    g.bench_function(format!("isochrone_kind_union_{}", kind.as_str()), |b| {
        b.iter(|| {
            black_box(
                engine
                    .isochrone_for_kind(&cov, &IsochroneOptions::default())
                    .unwrap(),
            )
        });
    });
    let mv = Change::Move {
        id: f.id.clone(),
        lon: f.location.x() + 0.003,
        lat: f.location.y() + 0.002,
    };
    g.bench_function("what_if_move", |b| {
        b.iter(|| black_box(engine.what_if(&cov, &mv, 15.0).unwrap()));
    });
    g.bench_function("what_if_add", |b| {
        let add = Change::Add {
            id: "new".into(),
            lon: f.location.x() - 0.002,
            lat: f.location.y(),
        };
        b.iter(|| black_box(engine.what_if(&cov, &add, 15.0).unwrap()));
    });
    // ~100k buildings: Monaco's, replicated with offsets of a few metres
    let mut big = Vec::with_capacity(buildings.len() * 5);
    for r in 0..5 {
        for bld in &buildings {
            let mut b2 = bld.clone();
            b2.id = format!("{}-{r}", bld.id).into();
            let d = f64::from(r) * 0.00003;
            b2.footprint.0.iter_mut().for_each(|p| {
                use geo::MapCoordsInPlace;
                p.map_coords_in_place(|c| geo_types::Coord {
                    x: c.x + d,
                    y: c.y + d,
                });
            });
            big.push(b2);
        }
    }
    let big_engine = CoverageEngine::new(net, &big, &facilities, opts);
    let big_cov = big_engine
        .coverage(Some(&kind), WalkProfile::standard(), 15.0)
        .unwrap();
    g.bench_function(
        format!("what_if_move_{}k_buildings", big.len() / 1000),
        |b| b.iter(|| black_box(big_engine.what_if(&big_cov, &mv, 15.0).unwrap())),
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
