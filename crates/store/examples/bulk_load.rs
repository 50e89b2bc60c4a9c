//! Bulk-load benchmark: `cargo run -p gridmap-store --example bulk_load --release -- N [ways]`.
//!
//! Generates N synthetic buildings (plus ways, facilities and grids) and reports, for SQLite
//! (a temp file) and PostgreSQL/PostGIS (a temp database on `GRIDMAP_TEST_PG`, default
//! `postgres://postgres@127.0.0.1:5432/test`; skipped with `GRIDMAP_SKIP_PG=1`): import time,
//! re-import (upsert) time, full `load()` time, and latency of bbox reads of ~1,000 buildings.
use geo_types::{LineString, MultiPolygon, Point, Polygon};
use gridmap_model::{
    Building, BuildingId, CommunityId, CompoundId, Dataset, Facility, FacilityId, FacilityKind,
    Grid, GridId, HouseholdSource, NetworkWay, WayId,
};
use gridmap_store::{Query, Store};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Instant;

fn synth(n: usize, ways: usize) -> Dataset {
    let mut rng = fastrand::Rng::with_seed(7);
    let side = (n as f64).sqrt().ceil() as usize;
    let step = 0.0004;
    let sq = |x: f64, y: f64, d: f64| {
        LineString::from(vec![(x, y), (x + d, y), (x + d, y + d), (x, y + d), (x, y)])
    };
    let buildings: Vec<Building> = (0..n)
        .map(|i| {
            let (x, y) = (
                116.2 + (i % side) as f64 * step + rng.f64() * 5e-5,
                39.9 + (i / side) as f64 * step + rng.f64() * 5e-5,
            );
            Building {
                id: BuildingId(format!("w{i}")),
                name: (i % 3 == 0).then(|| format!("{i}号楼")),
                building_type: Some("apartments".into()),
                address: Some(format!("测试路{i}号")),
                footprint: MultiPolygon(vec![Polygon::new(sq(x, y, 2e-4), vec![])]),
                entrance: (i % 4 == 0).then(|| Point::new(x, y)),
                levels: Some(6.0),
                households: (i % 120) as u32,
                households_source: HouseholdSource::Estimated,
                elderly: None,
                steward: None,
                compound: Some(CompoundId(format!("cp{}", i / 500))),
                community: Some(CommunityId(format!("c{}", i / 5000))),
            }
        })
        .collect();
    let grids: Vec<Grid> = buildings
        .chunks(40)
        .enumerate()
        .map(|(k, c)| Grid {
            id: GridId(format!("g{k}")),
            code: format!("G-{k}"),
            name: None,
            community: c[0].community.clone(),
            buildings: c.iter().map(|b| b.id.clone()).collect(),
            leads: vec![],
            boundary: None,
            version: 1,
        })
        .collect();
    let ways: Vec<NetworkWay> = (0..ways)
        .map(|i| {
            let (x, y) = (
                116.2 + rng.f64() * side as f64 * step,
                39.9 + rng.f64() * side as f64 * step,
            );
            NetworkWay {
                id: WayId(format!("r{i}")),
                geometry: LineString::from(vec![(x, y), (x + 3e-4, y + 1e-4), (x + 6e-4, y)]),
                tags: BTreeMap::from([("highway".into(), "footway".into())]),
                length_m: None,
            }
        })
        .collect();
    let facilities: Vec<Facility> = (0..n / 100)
        .map(|i| Facility {
            id: FacilityId(format!("f{i}")),
            kind: FacilityKind::Canteen,
            name: None,
            location: Point::new(
                116.2 + rng.f64() * side as f64 * step,
                39.9 + rng.f64() * side as f64 * step,
            ),
            capacity: None,
            opening_hours: None,
        })
        .collect();
    Dataset {
        buildings: buildings.into(),
        grids: grids.into(),
        ways: ways.into(),
        facilities: facilities.into(),
        ..Default::default()
    }
}

async fn bench(store: &dyn Store, ds: &Dataset) -> Result<(), gridmap_store::StoreError> {
    let n = ds.buildings.len();
    let t = Instant::now();
    store.import(ds).await?;
    let import = t.elapsed().as_secs_f64();
    let t = Instant::now();
    store.import(ds).await?;
    let reimport = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let loaded = store.load().await?;
    let load = t.elapsed().as_secs_f64();
    assert_eq!(loaded.buildings.len(), n);
    // bbox windows holding ~1,000 buildings (≈ 32 × 32 cells of 0.0004°).
    let side = (n as f64).sqrt().ceil();
    let w = 32.0 * 0.0004;
    let mut rng = fastrand::Rng::with_seed(3);
    let mut lat = Vec::new();
    let mut got = 0;
    let first = Instant::now();
    store
        .buildings(&Query::bbox([116.2, 39.9, 116.2 + w, 39.9 + w]))
        .await?; // builds the index on SQLite
    let cold = first.elapsed().as_secs_f64() * 1e3;
    for _ in 0..200 {
        let span = (side * 0.0004 - w).max(0.0);
        let (x, y) = (116.2 + rng.f64() * span, 39.9 + rng.f64() * span);
        let t = Instant::now();
        let page = store
            .buildings(&Query::bbox([x, y, x + w, y + w]).page(0, 5000))
            .await?;
        lat.push(t.elapsed().as_secs_f64() * 1e3);
        got += page.items.len();
    }
    lat.sort_by(f64::total_cmp);
    // A household edit, then the next bbox read (SQLite patches its index in place).
    let mut after_edit = Vec::new();
    for i in 0..20 {
        let id = BuildingId(format!("w{}", i * 97 % n));
        let Some(mut b) = store.building(&id).await? else {
            continue;
        };
        let v = store.building_version(&id).await?.unwrap_or(1);
        b.households += 1;
        store.update_building(&b, Some(v)).await?;
        let t = Instant::now();
        store
            .buildings(&Query::bbox([116.2, 39.9, 116.2 + w, 39.9 + w]))
            .await?;
        after_edit.push(t.elapsed().as_secs_f64() * 1e3);
    }
    after_edit.sort_by(f64::total_cmp);
    if let (Some(mid), Some(max)) = (after_edit.get(after_edit.len() / 2), after_edit.last()) {
        println!(
            "{:<8} read after an edit: p50 {mid:.2} ms, max {max:.2} ms",
            store.backend()
        );
    }
    println!(
        "{:<8} {n:>8} buildings {:>6} ways: import {import:.2} s, re-import {reimport:.2} s, load {load:.2} s, \
         bbox (~{} bldgs) first {cold:.1} ms, p50 {:.2} ms, p99 {:.2} ms",
        store.backend(),
        ds.ways.len(),
        got / lat.len(),
        lat[lat.len() / 2],
        lat[lat.len() * 99 / 100]
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(100_000);
    let ways: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(n / 4);
    let ds = synth(n, ways);

    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let s = gridmap_store::open(&url).await?;
    bench(&*s, &ds).await?;
    s.close().await;

    if std::env::var("GRIDMAP_SKIP_PG").is_ok_and(|v| v == "1") {
        return Ok(());
    }
    let admin_url = std::env::var("GRIDMAP_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let admin = PgConnectOptions::from_str(&admin_url)?;
    let mut conn = admin.connect().await?;
    let db = format!("gridmap_bench_{:08x}", fastrand::u32(..));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{db}\"")))
        .execute(&mut conn)
        .await?;
    let url = admin.clone().database(&db).to_url_lossy().to_string();
    let result = async {
        let s = gridmap_store::open(&url).await?;
        let r = bench(&*s, &ds).await;
        s.close().await;
        r
    }
    .await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await?;
    conn.close().await?;
    result?;
    Ok(())
}
