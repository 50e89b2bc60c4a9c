//! Validation of hand-drawn grids.
#[path = "partition_fixture.rs"]
mod fixture;

use fixture::{lattice_city, LAT0, LON0, STEP};
use geo_types::{polygon, MultiPolygon};
use gridmap_algo::partition::{partition, DrawnGrid, PartitionInput, PartitionParams, Validator};
use std::collections::HashMap;

/// A rectangle over lattice columns `i0..i1` and rows `j0..j1` (cell edges half a step out).
fn rect(i0: f64, i1: f64, j0: f64, j1: f64) -> MultiPolygon<f64> {
    let (x0, x1) = (LON0 + (i0 - 0.25) * STEP, LON0 + (i1 - 0.25) * STEP);
    let (y0, y1) = (LAT0 + (j0 - 0.25) * STEP, LAT0 + (j1 - 0.25) * STEP);
    MultiPolygon(vec![
        polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1)],
    ])
}

#[test]
fn outlines_of_automatic_grids_validate_back_to_the_same_grids() {
    let buildings = lattice_city(
        30,
        30,
        |i, j| 2 + ((i + 2 * j) % 3) as u32,
        |_, _| Some("V".into()),
    );
    let input = PartitionInput {
        buildings: &buildings,
        ..Default::default()
    };
    let r = partition(&input, &PartitionParams::default()).expect("partition");
    let drawn: Vec<DrawnGrid> = r
        .grids
        .iter()
        .map(|g| DrawnGrid {
            id: g.code.clone(),
            boundary: g.outline.clone().expect("outline"),
        })
        .collect();
    let v = Validator::new(&input, &PartitionParams::default()).expect("validator");
    let rep = v.validate(&drawn);
    assert!(
        rep.ok,
        "{:?}",
        (
            &rep.overlaps,
            &rep.unassigned,
            &rep.out_of_band,
            &rep.non_contiguous
        )
    );
    for (check, grid) in rep.grids.iter().zip(&r.grids) {
        let mut a = check.buildings.clone();
        let mut b = grid.buildings.clone();
        a.sort();
        b.sort();
        assert_eq!(a, b, "grid {}", grid.code);
        assert_eq!(check.households, grid.households);
    }
}

#[test]
fn overlaps_gaps_split_grids_and_community_crossings_are_reported() {
    // 20 × 10 lattice of 3-household buildings; West = columns 0..10, East = 10..20.
    let buildings = lattice_city(
        20,
        10,
        |_, _| 3,
        |i, _| Some(if i < 10 { "West" } else { "East" }.into()),
    );
    let input = PartitionInput {
        buildings: &buildings,
        ..Default::default()
    };
    let v = Validator::new(&input, &PartitionParams::default()).expect("validator");
    let mut split = rect(0.0, 4.0, 0.0, 10.0);
    split.0.extend(rect(6.0, 8.0, 0.0, 10.0).0);
    let drawn = vec![
        DrawnGrid {
            id: "A".into(),
            boundary: split,
        }, // two pieces, 60 buildings
        DrawnGrid {
            id: "B".into(),
            boundary: rect(3.0, 6.0, 0.0, 10.0),
        }, // overlaps A on column 3
        DrawnGrid {
            id: "C".into(),
            boundary: rect(8.0, 12.0, 0.0, 10.0),
        }, // crosses West/East
    ];
    let rep = v.validate(&drawn);
    let by: HashMap<&str, _> = rep.grids.iter().map(|g| (g.id.as_str(), g)).collect();
    assert_eq!(rep.overlaps.len(), 1);
    assert_eq!(
        (rep.overlaps[0].a.as_str(), rep.overlaps[0].b.as_str()),
        ("A", "B")
    );
    // One lattice column: STEP (≈ 25.6 m at 39.95° N) × 10 STEP (≈ 33.4 m each).
    let expected = (STEP * 85_300.0) * (10.0 * STEP * 111_200.0);
    assert!(
        (rep.overlaps[0].area_m2 - expected).abs() / expected < 0.03,
        "{} vs {expected}",
        rep.overlaps[0].area_m2
    );
    assert_eq!(by["A"].components, 2);
    assert_eq!(rep.non_contiguous, vec!["A".to_owned()]);
    assert_eq!(rep.crossing_communities, vec!["C".to_owned()]);
    assert!(by["C"].crosses_community && by["C"].communities.len() == 2);
    // Columns 12..20 are in no grid.
    assert_eq!(rep.unassigned.len(), 8 * 10);
    assert_eq!(rep.unassigned_households, 240);
    // Each building counted once: column 3 buildings went to one of A or B.
    let counted: usize = rep.grids.iter().map(|g| g.buildings.len()).sum();
    assert_eq!(counted + rep.unassigned.len(), buildings.len());
    assert!(!rep.ok);
    assert_eq!(rep.out_of_band.len(), 3 - usize::from(by["C"].in_band));
}

#[test]
fn a_building_cut_by_a_grid_edge_goes_to_the_grid_with_most_of_its_footprint() {
    let buildings = vec![fixture::square("straddle", LON0, LAT0, 0.0010, 40)];
    let input = PartitionInput {
        buildings: &buildings,
        ..Default::default()
    };
    let v = Validator::new(&input, &PartitionParams::default()).expect("validator");
    let cut = |x0: f64, x1: f64| {
        MultiPolygon(vec![
            polygon![(x: x0, y: LAT0 - 0.001), (x: x1, y: LAT0 - 0.001), (x: x1, y: LAT0 + 0.002), (x: x0, y: LAT0 + 0.002)],
        ])
    };
    // "small" holds 30 % of the footprint but the centroid; "big" holds 70 %.
    let drawn = vec![
        DrawnGrid {
            id: "small".into(),
            boundary: cut(LON0 - 0.001, LON0 + 0.0003),
        },
        DrawnGrid {
            id: "big".into(),
            boundary: cut(LON0 + 0.0003, LON0 + 0.002),
        },
    ];
    let rep = v.validate(&drawn);
    assert_eq!(rep.grids[1].buildings.len(), 1, "{:?}", rep.grids);
    assert!(rep.grids[0].buildings.is_empty());
    assert_eq!(rep.grids[0].components, 0);
}

#[test]
fn a_small_drawing_of_many_large_overlapping_grids_is_refused_before_the_work() {
    // 120 × 120 buildings; 30 copies of a rectangle over all of them: a few kilobytes of JSON,
    // 432,000 (grid, building) pairs and 435 overlapping pairs to intersect.
    let buildings = lattice_city(120, 120, |_, _| 3, |_, _| Some("V".into()));
    let input = PartitionInput {
        buildings: &buildings,
        ..Default::default()
    };
    let v = Validator::new(&input, &PartitionParams::default()).expect("validator");
    let drawn: Vec<DrawnGrid> = (0..30)
        .map(|k| DrawnGrid {
            id: format!("g{k}"),
            boundary: rect(0.0, 120.0, 0.0, 120.0),
        })
        .collect();
    let e = v.check_work(&drawn).expect_err("too much work").to_string();
    assert!(e.contains("pairs") && e.contains("300000"), "{e}");
    // An ordinary drawing passes.
    let ok: Vec<DrawnGrid> = (0..12)
        .map(|k| DrawnGrid {
            id: format!("g{k}"),
            boundary: rect(f64::from(k) * 10.0, f64::from(k + 1) * 10.0, 0.0, 120.0),
        })
        .collect();
    assert!(v.check_work(&ok).is_ok());
}
