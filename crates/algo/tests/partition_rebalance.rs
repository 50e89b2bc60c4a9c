//! Rebalancing existing grids after household counts change.
#[path = "partition_fixture.rs"]
mod fixture;

use fixture::lattice_city;
use gridmap_algo::partition::{
    partition, rebalance, Band, PartitionError, PartitionInput, PartitionParams,
};
use gridmap_model::{Building, BuildingId, CommunityId, Grid, GridId};
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};

fn params() -> PartitionParams {
    PartitionParams {
        outlines: false,
        ..PartitionParams::default()
    }
}

/// A city and its automatic grids, as stored grids.
fn city() -> (Vec<Building>, Vec<Grid>) {
    let buildings = lattice_city(
        36,
        30,
        |i, j| 2 + ((i * 5 + j * 3) % 3) as u32,
        |_, _| Some("R".into()),
    );
    let r = partition(
        &PartitionInput {
            buildings: &buildings,
            ..Default::default()
        },
        &params(),
    )
    .expect("partition");
    let grids = r
        .grids
        .iter()
        .map(|g| Grid {
            id: GridId::new(format!("id-{}", g.code)),
            code: g.code.clone(),
            name: None,
            community: g.community.clone(),
            buildings: g.buildings.clone(),
            leads: Vec::new(),
            boundary: None,
            version: 3,
        })
        .collect();
    (buildings, grids)
}

fn households(buildings: &[Building], g: &Grid) -> u64 {
    let hh: HashMap<&BuildingId, u32> = buildings.iter().map(|b| (&b.id, b.households)).collect();
    g.buildings.iter().map(|b| u64::from(hh[b])).sum()
}

fn bump(buildings: &mut [Building], grid: &Grid, extra: u32) {
    let ids: HashSet<&BuildingId> = grid.buildings.iter().collect();
    let mut left = extra;
    for b in buildings.iter_mut().filter(|b| ids.contains(&b.id)) {
        if left == 0 {
            break;
        }
        b.households += 1;
        left -= 1;
    }
}

#[test]
fn rebalancing_grids_that_are_all_in_band_moves_nothing() {
    let (buildings, grids) = city();
    let r = rebalance(
        &PartitionInput {
            buildings: &buildings,
            ..Default::default()
        },
        &grids,
        &params(),
    )
    .expect("rebalance");
    assert!(r.moves.is_empty(), "{:?}", r.moves);
    assert_eq!(r.grids.len(), grids.len());
    assert!(r
        .grids
        .iter()
        .zip(&grids)
        .all(|(a, b)| a.id == b.id && a.version == b.version));
    assert_eq!(r.report.out_of_band_before, 0);
}

#[test]
fn an_over_full_grid_sheds_boundary_buildings_and_other_grids_keep_theirs() {
    let (mut buildings, grids) = city();
    let band = Band::new(300.0, 0.15);
    let victim = grids
        .iter()
        .find(|g| households(&buildings, g) < 320)
        .expect("a grid");
    let need = 360 - households(&buildings, victim) as u32;
    bump(&mut buildings, victim, need);
    assert!(!band.contains(households(&buildings, victim)));
    let r = rebalance(
        &PartitionInput {
            buildings: &buildings,
            ..Default::default()
        },
        &grids,
        &params(),
    )
    .expect("rebalance");
    assert_eq!(r.report.out_of_band_before, 1);
    assert_eq!(r.report.out_of_band_after, 0, "{:?}", r.report);
    assert!(!r.moves.is_empty());
    for m in &r.moves {
        assert_eq!(
            m.from.as_ref(),
            Some(&victim.id),
            "{m:?} moved a building of an in-band grid"
        );
    }
    assert!(
        r.report.moved_households <= 60,
        "moved {} households to fix 15",
        r.report.moved_households
    );
    assert!(r.report.created.is_empty() && r.report.removed.is_empty());
    let ids: Vec<_> = r.grids.iter().map(|g| &g.id).collect();
    assert_eq!(
        ids,
        grids.iter().map(|g| &g.id).collect::<Vec<_>>(),
        "ids stable"
    );
    let changed = r
        .grids
        .iter()
        .find(|g| g.id == victim.id)
        .expect("victim kept");
    assert_eq!(changed.version, victim.version + 1);
}

#[test]
fn a_grid_that_doubled_is_split_and_the_new_piece_gets_the_next_code() {
    let (mut buildings, grids) = city();
    let victim = grids[3].clone();
    let ids: HashSet<&BuildingId> = victim.buildings.iter().collect();
    for b in buildings.iter_mut().filter(|b| ids.contains(&b.id)) {
        b.households *= 2;
    }
    // With outlines: changed and new grids get a fresh outline.
    let r = rebalance(
        &PartitionInput {
            buildings: &buildings,
            ..Default::default()
        },
        &grids,
        &PartitionParams::default(),
    )
    .expect("rebalance");
    assert_eq!(r.report.created.len(), 1, "{:?}", r.report);
    let new = r
        .grids
        .iter()
        .find(|g| g.id == r.report.created[0])
        .expect("new grid");
    assert!(
        new.boundary.as_ref().is_some_and(|b| !b.0.is_empty()),
        "new grid has an outline"
    );
    assert!(r
        .grids
        .iter()
        .find(|g| g.id == victim.id)
        .and_then(|g| g.boundary.as_ref())
        .is_some());
    let max_code = grids.iter().map(|g| g.code.clone()).max().expect("codes");
    assert!(new.code > max_code, "{} after {max_code}", new.code);
    assert_eq!(new.community, Some(CommunityId::new("R")));
    assert_eq!(r.report.out_of_band_after, 0, "{:?}", r.report);
    let codes: HashSet<_> = r.grids.iter().map(|g| &g.code).collect();
    assert_eq!(codes.len(), r.grids.len());
}

#[test]
fn an_emptied_grid_merges_into_a_neighbour_and_new_buildings_join_a_grid() {
    let (mut buildings, mut grids) = city();
    let victim = grids[5].clone();
    let ids: HashSet<&BuildingId> = victim.buildings.iter().collect();
    for b in buildings.iter_mut().filter(|b| ids.contains(&b.id)) {
        b.households = 0;
    }
    let mut new_building =
        fixture::square("new-1", fixture::LON0 - 0.0003, fixture::LAT0, 0.0001, 2);
    new_building.community = Some(CommunityId::new("R"));
    buildings.push(new_building);
    let r = rebalance(
        &PartitionInput {
            buildings: &buildings,
            ..Default::default()
        },
        &grids,
        &params(),
    )
    .expect("rebalance");
    assert!(r
        .moves
        .iter()
        .any(|m| m.building.as_str() == "new-1" && m.from.is_none()));
    assert_eq!(r.report.out_of_band_after, 0, "{:?}", r.report);
    assert_eq!(
        r.report.removed.len() + usize::from(r.grids.iter().any(|g| g.id == victim.id)),
        1
    );
    // A grid naming a building that does not exist is an error naming both.
    grids[0].buildings.push(BuildingId::new("ghost"));
    let e = rebalance(
        &PartitionInput {
            buildings: &buildings,
            ..Default::default()
        },
        &grids,
        &params(),
    )
    .expect_err("ghost");
    assert!(
        matches!(&e, PartitionError::UnknownBuilding { building, .. } if building.as_str() == "ghost"),
        "{e}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn rebalance_moves_only_buildings_of_the_grid_that_left_the_band(which in 0usize..10, extra in 46u32..80) {
        let (mut buildings, grids) = city();
        let victim = grids[which % grids.len()].clone();
        let now = households(&buildings, &victim) as u32;
        bump(&mut buildings, &victim, (345 - now.min(345)) + extra.min(100));
        let r = rebalance(&PartitionInput { buildings: &buildings, ..Default::default() }, &grids, &params()).expect("rebalance");
        prop_assert!(r.report.out_of_band_after == 0, "{:?}", r.report);
        for m in &r.moves {
            prop_assert!(m.from.as_ref() == Some(&victim.id) || m.to == victim.id, "{:?} touched an in-band grid", m);
        }
        let mut seen = HashSet::new();
        for g in &r.grids {
            for b in &g.buildings {
                prop_assert!(seen.insert(b.clone()));
            }
        }
        prop_assert_eq!(seen.len(), buildings.len());
    }
}
