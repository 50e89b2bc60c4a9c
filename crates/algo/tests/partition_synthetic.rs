//! Automatic grids on synthetic cities: barriers, communities, compounds, bad input.
#[path = "partition_fixture.rs"]
mod fixture;

use fixture::{lattice_city, road_between_columns, road_between_rows};
use gridmap_algo::partition::{
    partition, Band, PartitionError, PartitionInput, PartitionParams, PartitionResult,
};
use gridmap_model::{Building, CompoundId};
use std::collections::{HashMap, HashSet};

fn run(buildings: &[Building], ways: &[gridmap_model::NetworkWay]) -> PartitionResult {
    let params = PartitionParams {
        outlines: false,
        ..PartitionParams::default()
    };
    partition(
        &PartitionInput {
            buildings,
            ways,
            ..Default::default()
        },
        &params,
    )
    .expect("partition")
}

fn assert_every_building_once(buildings: &[Building], r: &PartitionResult) {
    let mut seen = HashSet::new();
    for (b, _) in r.assignment() {
        assert!(seen.insert(b.clone()), "{b} in two grids");
    }
    assert_eq!(seen.len(), buildings.len());
}

#[test]
fn a_lattice_city_cut_by_primary_roads_gets_one_grid_per_block() {
    // 30 × 30 buildings of 3 households; roads every 10 columns and rows: nine blocks of 300.
    let buildings = lattice_city(30, 30, |_, _| 3, |_, _| Some("LT".into()));
    let ways = vec![
        road_between_columns(9, 30),
        road_between_columns(19, 30),
        road_between_rows(9, 30),
        road_between_rows(19, 30),
    ];
    let r = run(&buildings, &ways);
    assert_every_building_once(&buildings, &r);
    assert_eq!(r.report.grids, 9);
    assert_eq!(r.report.within_band_pct, 100.0);
    assert_eq!(
        r.report.barrier_crossing_grids,
        0,
        "{:?}",
        r.grids.iter().map(|g| g.households).collect::<Vec<_>>()
    );
    for g in &r.grids {
        let blocks: HashSet<(usize, usize)> = g
            .buildings
            .iter()
            .map(|id| {
                let (i, j) = id.as_str()[1..].split_once('_').expect("lattice id");
                (
                    i.parse::<usize>().expect("i") / 10,
                    j.parse::<usize>().expect("j") / 10,
                )
            })
            .collect();
        assert_eq!(blocks.len(), 1, "grid {} spans blocks {blocks:?}", g.code);
    }
    // Without the roads the same city still gets nine banded grids, just not along the blocks.
    let free = run(&buildings, &[]);
    assert_eq!(free.report.within_band_pct, 100.0);
}

#[test]
fn a_grid_never_spans_two_communities() {
    // Community borders cut through the middle of what would be natural grids.
    let buildings = lattice_city(
        40,
        25,
        |i, j| 2 + ((i * 7 + j * 3) % 5) as u32,
        |i, j| {
            Some(
                if i < 17 {
                    "West"
                } else if j < 11 {
                    "SouthEast"
                } else {
                    "NorthEast"
                }
                .into(),
            )
        },
    );
    let r = run(&buildings, &[]);
    assert_every_building_once(&buildings, &r);
    let community: HashMap<_, _> = buildings.iter().map(|b| (&b.id, &b.community)).collect();
    for g in &r.grids {
        let c: HashSet<_> = g.buildings.iter().map(|b| community[b]).collect();
        assert_eq!(c.len(), 1, "grid {} spans {c:?}", g.code);
        assert_eq!(&g.community, *c.iter().next().expect("one"));
        assert!(g
            .code
            .starts_with(g.community.as_ref().expect("community").as_str()));
    }
    assert_eq!(r.report.contiguous_pct, 100.0);
    assert_eq!(r.report.within_band_pct, 100.0, "{:?}", r.report);
}

#[test]
fn compounds_that_fit_stay_whole_and_a_compound_above_the_band_is_split() {
    // 2 × 2 building compounds of 4 × 15 = 60 households; one big compound of 36 buildings × 20.
    let mut buildings = lattice_city(24, 24, |_, _| 15, |_, _| Some("C".into()));
    for b in &mut buildings {
        let (i, j) = b.id.as_str()[1..].split_once('_').map_or((0, 0), |(i, j)| {
            (
                i.parse::<usize>().unwrap_or(0),
                j.parse::<usize>().unwrap_or(0),
            )
        });
        b.compound = Some(if i < 6 && j < 6 {
            b.households = 20;
            CompoundId::new("big")
        } else {
            CompoundId::new(format!("c{}_{}", i / 2, j / 2))
        });
    }
    let r = run(&buildings, &[]);
    assert_every_building_once(&buildings, &r);
    let compound: HashMap<_, _> = buildings
        .iter()
        .map(|b| (&b.id, b.compound.clone()))
        .collect();
    let mut grids_of: HashMap<CompoundId, HashSet<&str>> = HashMap::new();
    for (b, g) in r.assignment() {
        if let Some(c) = &compound[b] {
            grids_of.entry(c.clone()).or_default().insert(g);
        }
    }
    for (c, gs) in &grids_of {
        if c.as_str() != "big" {
            assert_eq!(gs.len(), 1, "compound {c} split over {gs:?}");
        }
    }
    assert!(
        grids_of[&CompoundId::new("big")].len() >= 2,
        "720 households cannot stay in one grid"
    );
    assert_eq!(r.report.compounds_split, 1);
    assert!(r.report.within_band_pct >= 90.0, "{:?}", r.report);
}

#[test]
fn a_community_below_the_lower_band_still_gets_one_grid_and_a_reason() {
    let buildings = lattice_city(5, 5, |_, _| 4, |_, _| Some("Tiny".into()));
    let r = run(&buildings, &[]);
    assert_eq!(r.report.grids, 1);
    assert_eq!(r.grids[0].households, 100);
    assert!(!r.grids[0].in_band);
    assert_eq!(r.report.infeasible.len(), 1);
    assert!(
        r.report.infeasible[0]
            .reason
            .contains("below the lower band"),
        "{:?}",
        r.report.infeasible
    );
}

#[test]
fn a_single_building_above_the_band_is_reported_by_id() {
    let mut buildings = lattice_city(20, 20, |_, _| 3, |_, _| Some("Tower".into()));
    buildings[210].households = 500;
    let r = run(&buildings, &[]);
    assert_every_building_once(&buildings, &r);
    let why: Vec<&str> = r
        .report
        .infeasible
        .iter()
        .map(|i| i.reason.as_str())
        .collect();
    assert!(
        why.iter()
            .any(|w| w.contains("b10_10") && w.contains("500")),
        "{why:?}"
    );
}

#[test]
fn zero_household_buildings_and_buildings_without_community_are_placed() {
    let buildings = lattice_city(
        30,
        20,
        |i, _| if i % 3 == 0 { 0 } else { 5 },
        |i, _| (i < 15).then(|| "Half".into()),
    );
    let r = run(&buildings, &[]);
    assert_every_building_once(&buildings, &r);
    assert!(r
        .grids
        .iter()
        .any(|g| g.community.is_none() && g.code.starts_with("NC-")));
    assert_eq!(r.report.contiguous_pct, 100.0);
}

#[test]
fn a_far_away_island_too_small_for_a_grid_is_reported() {
    let mut buildings = lattice_city(20, 20, |_, _| 3, |_, _| Some("Isle".into()));
    let mut far = fixture::square("island", fixture::LON0 + 0.05, fixture::LAT0, 0.0002, 20);
    far.community = buildings[0].community.clone();
    buildings.push(far);
    let r = run(&buildings, &[]);
    assert_every_building_once(&buildings, &r);
    assert!(
        r.report
            .infeasible
            .iter()
            .any(|i| i.reason.contains("island") && i.reason.contains("island")),
        "{:?}",
        r.report.infeasible
    );
}

#[test]
fn bad_parameters_and_broken_input_are_errors_not_panics() {
    let buildings = lattice_city(3, 3, |_, _| 1, |_, _| None);
    let input = PartitionInput {
        buildings: &buildings,
        ..Default::default()
    };
    for (t, tol) in [
        (0.0, 0.15),
        (-300.0, 0.15),
        (f64::NAN, 0.15),
        (300.0, 1.0),
        (300.0, -0.5),
    ] {
        assert!(
            partition(&input, &PartitionParams::new(t, tol)).is_err(),
            "target {t} tolerance {tol}"
        );
    }
    let mut dup = buildings.clone();
    dup.push(buildings[0].clone());
    assert_eq!(
        partition(
            &PartitionInput {
                buildings: &dup,
                ..Default::default()
            },
            &PartitionParams::default()
        ),
        Err(PartitionError::DuplicateBuilding(buildings[0].id.clone()))
    );
    let mut empty = buildings.clone();
    empty[4].footprint = geo_types::MultiPolygon(vec![]);
    let e = partition(
        &PartitionInput {
            buildings: &empty,
            ..Default::default()
        },
        &PartitionParams::default(),
    )
    .expect_err("no footprint");
    assert!(e.to_string().contains("b1_1"), "{e}");
    let none =
        partition(&PartitionInput::default(), &PartitionParams::default()).expect("empty input");
    assert_eq!((none.report.grids, none.grids.len()), (0, 0));
}

#[test]
fn the_same_seed_gives_the_same_grids() {
    let buildings = lattice_city(
        30,
        30,
        |i, j| 1 + ((i * 13 + j * 7) % 6) as u32,
        |_, _| Some("S".into()),
    );
    let a = run(&buildings, &[]);
    let b = run(&buildings, &[]);
    assert_eq!(a.grids, b.grids);
}

#[test]
fn grids_report_their_compactness_and_outlines_do_not_overlap() {
    use geo::{Area, BooleanOps};
    let buildings = lattice_city(30, 30, |_, _| 3, |_, _| Some("O".into()));
    let r = partition(
        &PartitionInput {
            buildings: &buildings,
            ..Default::default()
        },
        &PartitionParams::default(),
    )
    .expect("partition");
    assert!(
        r.report.mean_compactness > 0.5,
        "{}",
        r.report.mean_compactness
    );
    let outlines: Vec<_> = r
        .grids
        .iter()
        .map(|g| g.outline.clone().expect("outline"))
        .collect();
    let band = Band::new(300.0, 0.15);
    assert!(r.grids.iter().all(|g| band.contains(g.households)));
    for (i, a) in outlines.iter().enumerate() {
        assert!(a.unsigned_area() > 0.0);
        for b in &outlines[i + 1..] {
            // Degrees² → m² at 40° N is about 9.5e9; allow float slivers below 1 m².
            assert!(a.intersection(b).unsigned_area() * 9.5e9 < 1.0);
        }
    }
}

#[test]
fn a_block_too_small_for_a_grid_crosses_a_road_and_says_so() {
    // Columns 0..4 (4 × 20 × 3 = 240 households) are cut off by a primary road: too few for a
    // grid, so one grid must cross the road; the rest of the city follows it.
    let buildings = lattice_city(24, 20, |_, _| 3, |_, _| Some("Road".into()));
    let r = run(&buildings, &[road_between_columns(3, 20)]);
    assert_every_building_once(&buildings, &r);
    assert_eq!(r.report.contiguous_pct, 100.0);
    assert_eq!(r.report.within_band_pct, 100.0, "{:?}", r.report);
    let crossing: Vec<_> = r.grids.iter().filter(|g| g.crosses_barrier).collect();
    assert_eq!(crossing.len(), 1, "exactly one grid needs to cross");
    assert_eq!(r.report.barrier_crossing_grids, 1);
    let west: HashSet<_> = buildings
        .iter()
        .filter(|b| {
            b.id.as_str()[1..]
                .split('_')
                .next()
                .and_then(|i| i.parse::<usize>().ok())
                .is_some_and(|i| i < 4)
        })
        .map(|b| &b.id)
        .collect();
    assert!(
        west.iter().all(|b| crossing[0].buildings.contains(b)),
        "the cut-off block stays in one grid"
    );
}

#[test]
fn small_buildings_beside_two_towers_join_the_towers_and_stay_contiguous() {
    // Two 400-household towers at opposite ends, 60 households in between: two grids.
    let mut buildings = lattice_city(12, 1, |_, _| 6, |_, _| Some("Towers".into()));
    buildings[0].households = 400;
    buildings[11].households = 400;
    let r = run(&buildings, &[]);
    assert_every_building_once(&buildings, &r);
    assert_eq!(
        r.report.grids,
        2,
        "{:?}",
        r.grids.iter().map(|g| g.households).collect::<Vec<_>>()
    );
    assert_eq!(r.report.contiguous_pct, 100.0);
    assert_eq!(
        r.report
            .infeasible
            .iter()
            .filter(|i| i.reason.contains("above the upper band"))
            .count(),
        2
    );
}
