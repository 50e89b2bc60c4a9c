//! Properties of the automatic partition on random lattice cities.
#[path = "partition_fixture.rs"]
mod fixture;

use gridmap_algo::partition::{partition, Band, PartitionInput, PartitionParams};
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn every_building_in_one_contiguous_grid_of_one_community_and_banded_where_feasible(
        nx in 4usize..40,
        ny in 4usize..40,
        salt in 0u32..1000,
        max_hh in 1u32..12,
        split_at in 0usize..40,
        seed in 0u64..4,
    ) {
        let buildings = fixture::lattice_city(
            nx,
            ny,
            |i, j| ((i as u32 * 31 + j as u32 * 17 + salt).wrapping_mul(2_654_435_761u32) >> 16) % (max_hh + 1),
            |i, _| Some(if i < split_at { "A" } else { "B" }.into()),
        );
        let params = PartitionParams { outlines: false, seed, ..PartitionParams::default() };
        let r = partition(&PartitionInput { buildings: &buildings, ..Default::default() }, &params).expect("partition");
        let mut seen = HashSet::new();
        for (b, _) in r.assignment() {
            prop_assert!(seen.insert(b.clone()), "{} twice", b);
        }
        prop_assert_eq!(seen.len(), buildings.len());
        prop_assert_eq!(r.report.contiguous_pct, 100.0);
        let community: HashMap<_, _> = buildings.iter().map(|b| (&b.id, &b.community)).collect();
        let band = Band::new(300.0, 0.15);
        let mut totals: HashMap<_, u64> = HashMap::new();
        for b in &buildings {
            *totals.entry(&b.community).or_default() += u64::from(b.households);
        }
        for g in &r.grids {
            let c: HashSet<_> = g.buildings.iter().map(|b| community[b]).collect();
            prop_assert_eq!(c.len(), 1);
            prop_assert!(g.contiguous);
            // Buildings hold at most 11 households, far below the band width of 90: when a
            // community's total can be banded at all, every one of its grids must be.
            let total = totals[&g.community];
            if band.feasible_counts(total).is_some() {
                prop_assert!(band.contains(g.households), "grid {} has {} of community total {}", g.code, g.households, total);
            }
        }
    }
}
