//! The partition on the peer kit's real inputs (Monaco by default, any city through
//! `GRIDMAP_ORACLE_DIR`): the bar of `shared/checks/partition.sh` — ≥ 95 % of grids in 255..345
//! (when no single building is above the band), no out-of-band grid the input does not force,
//! all contiguous, no grid across communities, every building in exactly one grid.
#[path = "partition_fixture.rs"]
mod fixture;

use gridmap_algo::partition::{partition, Band, PartitionInput, PartitionParams};
use std::collections::{HashMap, HashSet};

#[test]
fn monaco_grids_are_banded_contiguous_and_never_cross_communities() {
    let dir = fixture::oracle_dir();
    let Some(buildings) = fixture::oracle_buildings(&dir) else {
        return;
    };
    let params = PartitionParams {
        outlines: false,
        ..PartitionParams::default()
    };
    let r = partition(
        &PartitionInput {
            buildings: &buildings,
            ..Default::default()
        },
        &params,
    )
    .expect("partition");
    let rep = &r.report;
    eprintln!(
        "{}: {}",
        dir.display(),
        serde_json::to_string(rep).unwrap_or_default()
    );

    let mut seen = HashSet::new();
    let community: HashMap<_, _> = buildings.iter().map(|b| (&b.id, &b.community)).collect();
    for g in &r.grids {
        let comms: HashSet<_> = g.buildings.iter().map(|b| community[b]).collect();
        assert_eq!(
            comms.len(),
            1,
            "grid {} spans communities {comms:?}",
            g.code
        );
        for b in &g.buildings {
            assert!(seen.insert(b.clone()), "building {b} in two grids");
        }
    }
    assert_eq!(seen.len(), buildings.len(), "every building in a grid");
    // Out-of-band grids the input forces: one per building above the band, and every grid of
    // a community whose total no number of banded grids adds up to.
    let band = Band::new(params.target, params.tolerance);
    let oversize = buildings
        .iter()
        .filter(|b| f64::from(b.households) > band.hi)
        .count();
    let mut totals: HashMap<_, u64> = HashMap::new();
    for b in &buildings {
        *totals.entry(&b.community).or_default() += u64::from(b.households);
    }
    let unbandable = r
        .grids
        .iter()
        .filter(|g| band.feasible_counts(totals[&g.community]).is_none())
        .count();
    let out = r.grids.iter().filter(|g| !g.in_band).count();
    assert!(
        out <= oversize + unbandable,
        "{out} grids out of band, only {} forced",
        oversize + unbandable
    );
    if oversize == 0 {
        assert!(
            rep.within_band_pct >= 95.0,
            "only {}% of grids in band",
            rep.within_band_pct
        );
    }
    assert_eq!(rep.contiguous_pct, 100.0);
    assert!(r.grids.iter().all(|g| g.contiguous));
}
