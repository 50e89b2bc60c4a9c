//! Partition benchmarks: Monaco (the peer kit's buildings.geojson, when present; env
//! `GRIDMAP_ORACLE_DIR`, default /tmp/monaco-inputs) and a synthetic 100k-building city.
//!
//! `cargo bench -p gridmap-algo --bench partition`
use criterion::{criterion_group, criterion_main, Criterion};
use gridmap_algo::partition::{partition, DrawnGrid, PartitionInput, PartitionParams, Validator};
use std::time::{Duration, Instant};

#[path = "../tests/partition_fixture.rs"]
mod fixture;

fn no_outlines() -> PartitionParams {
    PartitionParams {
        outlines: false,
        ..PartitionParams::default()
    }
}

fn bench_monaco(c: &mut Criterion) {
    let dir = fixture::oracle_dir();
    let Some(buildings) = fixture::oracle_buildings(&dir) else {
        return;
    };
    let input = PartitionInput {
        buildings: &buildings,
        ..Default::default()
    };
    let r = partition(&input, &no_outlines()).expect("partition");
    eprintln!(
        "{} report: {}",
        dir.display(),
        serde_json::to_string(&r.report).unwrap_or_default()
    );
    let mut g = c.benchmark_group("oracle");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.bench_function("partition_23k_buildings", |b| {
        b.iter(|| partition(&input, &no_outlines()).expect("partition"));
    });
    g.bench_function("partition_with_outlines", |b| {
        b.iter(|| partition(&input, &PartitionParams::default()).expect("partition"));
    });
    // Validation of one community's drawing: the largest community with outlines as drawn grids.
    let with = partition(&input, &PartitionParams::default()).expect("partition");
    let biggest = with
        .grids
        .iter()
        .filter_map(|g| g.community.clone())
        .max_by_key(|c| {
            with.grids
                .iter()
                .filter(|g| g.community.as_ref() == Some(c))
                .count()
        });
    let community: Vec<_> = buildings
        .iter()
        .filter(|b| b.community == biggest)
        .cloned()
        .collect();
    let drawn: Vec<DrawnGrid> = with
        .grids
        .iter()
        .filter(|g| g.community == biggest)
        .map(|g| DrawnGrid {
            id: g.code.clone(),
            boundary: g
                .outline
                .clone()
                .unwrap_or_else(|| geo_types::MultiPolygon(Vec::new())),
        })
        .collect();
    let cinput = PartitionInput {
        buildings: &community,
        ..Default::default()
    };
    let t = Instant::now();
    let v = Validator::new(&cinput, &PartitionParams::default()).expect("validator");
    eprintln!(
        "validator for {:?}: {} buildings, {} grids, built in {:.1} ms",
        biggest,
        community.len(),
        drawn.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    g.bench_function("validate_one_community", |b| b.iter(|| v.validate(&drawn)));
    g.finish();
}

fn bench_synthetic(c: &mut Criterion) {
    // 320 × 320 = 102 400 buildings of 1..6 households in 16 communities of 80 × 80.
    let buildings = fixture::lattice_city(
        320,
        320,
        |i, j| 1 + ((i * 7 + j * 13) % 6) as u32,
        |i, j| Some(format!("S{}-{}", i / 80, j / 80)),
    );
    let input = PartitionInput {
        buildings: &buildings,
        ..Default::default()
    };
    let r = partition(&input, &no_outlines()).expect("partition");
    eprintln!(
        "synthetic 100k report: {}",
        serde_json::to_string(&r.report).unwrap_or_default()
    );
    let mut g = c.benchmark_group("synthetic");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("partition_102k_buildings", |b| {
        b.iter(|| partition(&input, &no_outlines()).expect("partition"));
    });
    // The same city as one community: the top-level cuts work on 102k units at once.
    let one: Vec<_> = buildings
        .iter()
        .cloned()
        .map(|mut b| {
            b.community = None;
            b
        })
        .collect();
    let input = PartitionInput {
        buildings: &one,
        ..Default::default()
    };
    let r = partition(&input, &no_outlines()).expect("partition");
    eprintln!(
        "synthetic 100k one community: {}",
        serde_json::to_string(&r.report).unwrap_or_default()
    );
    g.bench_function("partition_102k_one_community", |b| {
        b.iter(|| partition(&input, &no_outlines()).expect("partition"));
    });
    g.finish();
}

criterion_group!(benches, bench_monaco, bench_synthetic);
criterion_main!(benches);
