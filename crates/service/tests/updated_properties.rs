//! `Analysis::updated` after random facility adds/moves/removes, household corrections and grid
//! changes gives the same coverage per kind (minutes per building, statistics) as a fresh
//! `Analysis::new` of the final dataset.
use geo_types::Point;
use gridmap_algo::coverage::WalkProfile;
use gridmap_model::*;
use gridmap_service::{Analysis, AnalysisChanges, CoverageQuery};
use proptest::prelude::*;
use std::sync::Arc;

const KINDS: [FacilityKind; 2] = [FacilityKind::Canteen, FacilityKind::ReadingRoom];

mod common;
use common::{building, lattice, pos};

/// A 6×6 lattice of streets 90 m apart, 30 buildings, 4 facilities, 2 grids.
fn base() -> Dataset {
    let ways = lattice(6, 90.0);
    let buildings: Vec<Building> = (0..30u32)
        .map(|i| Building {
            community: Some(CommunityId::new(if i < 15 { "c1" } else { "c2" })),
            ..building(
                format!("b{i}"),
                20.0 + f64::from(i % 6) * 83.0,
                35.0 + f64::from(i / 6) * 88.0,
                10 + i,
                i % 4,
            )
        })
        .collect();
    let facilities = (0..4)
        .map(|i| facility(i, KINDS[i % 2].clone(), 100.0 * i as f64, 60.0 * i as f64))
        .collect();
    let grids = (0..2)
        .map(|g| Grid {
            id: GridId::new(format!("g{g}")),
            code: format!("G-{g}"),
            name: None,
            community: None,
            buildings: (0..30)
                .filter(|i| i % 2 == g)
                .map(|i| BuildingId::new(format!("b{i}")))
                .collect(),
            leads: Vec::new(),
            boundary: None,
            version: 1,
        })
        .collect();
    Dataset {
        buildings: buildings.into(),
        facilities: SharedVec::new(facilities),
        grids: SharedVec::new(grids),
        ways: ways.into(),
        ..Dataset::default()
    }
}

fn facility(i: usize, kind: FacilityKind, x: f64, y: f64) -> Facility {
    let (lon, lat) = pos(x, y);
    Facility {
        id: FacilityId::new(format!("f{i}")),
        kind,
        name: None,
        location: Point::new(lon, lat),
        capacity: None,
        opening_hours: None,
    }
}

#[derive(Clone, Debug)]
enum Edit {
    Put {
        id: usize,
        kind: usize,
        x: f64,
        y: f64,
    },
    Delete {
        id: usize,
    },
    Households {
        b: usize,
        households: u32,
    },
    Regrid {
        b: usize,
        to: usize,
    },
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0usize..8, 0usize..2, -20.0f64..480.0, -20.0f64..480.0)
            .prop_map(|(id, kind, x, y)| Edit::Put { id, kind, x, y }),
        (0usize..8).prop_map(|id| Edit::Delete { id }),
        (0usize..30, 0u32..50).prop_map(|(b, households)| Edit::Households { b, households }),
        (0usize..30, 0usize..2).prop_map(|(b, to)| Edit::Regrid { b, to }),
    ]
}

fn apply(ds: &mut Dataset, e: &Edit) -> AnalysisChanges {
    let mut ch = AnalysisChanges::default();
    match e {
        Edit::Put { id, kind, x, y } => {
            let f = facility(*id, KINDS[*kind].clone(), *x, *y);
            ch.facilities.push(f.id.clone());
            match ds.facilities.iter().position(|g| g.id == f.id) {
                Some(p) => ds.facilities[p] = f,
                None => ds.facilities.push(f),
            }
        }
        Edit::Delete { id } => {
            let fid = FacilityId::new(format!("f{id}"));
            ds.facilities.retain(|f| f.id != fid);
            ch.facilities.push(fid);
        }
        Edit::Households { b, households } => {
            ds.buildings[*b].households = *households;
            ch.buildings.push(ds.buildings[*b].id.clone());
        }
        Edit::Regrid { b, to } => {
            let bid = BuildingId::new(format!("b{b}"));
            for g in &mut ds.grids {
                g.buildings.retain(|x| x != &bid);
            }
            ds.grids[*to].buildings.push(bid);
            ch.grids_changed = true;
        }
    }
    ch
}

fn minutes(a: &Analysis, kind: &str) -> Vec<Option<f64>> {
    a.building_times(kind, 15.0, WalkProfile::standard())
        .unwrap()
        .into_iter()
        .map(|t| t.minutes)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn updated_equals_a_fresh_session(edits in prop::collection::vec(edit(), 1..12)) {
        let mut ds = base();
        let mut session = Analysis::new(Arc::new(ds.clone()));
        for kind in ["canteen", "reading_room", "all"] {
            session.kind_coverage(kind, WalkProfile::standard(), 15.0).unwrap();
        }
        for e in &edits {
            let ch = apply(&mut ds, e);
            session = session.updated(Arc::new(ds.clone()), &ch);
        }
        let fresh = Analysis::new(Arc::new(ds.clone()));
        for kind in ["canteen", "reading_room", "all"] {
            let (got, want) = (minutes(&session, kind), minutes(&fresh, kind));
            for (g, w) in got.iter().zip(&want) {
                if let (Some(g), Some(w)) = (g, w) { prop_assert!((g - w).abs() < 1e-9, "{kind}: {g} vs {w}") } else { prop_assert_eq!(g, w, "{}", kind) }
            }
            let q = CoverageQuery { kind: kind.into(), minutes: vec![15.0, 5.0], profile: WalkProfile::standard() };
            let (mut s, mut f) = (session.coverage(&q).unwrap(), fresh.coverage(&q).unwrap());
            s.seconds = 0.0;
            f.seconds = 0.0;
            s.unplaced_facilities.sort();
            f.unplaced_facilities.sort();
            prop_assert_eq!(s, f);
        }
    }
}
