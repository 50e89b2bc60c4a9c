//! Property tests of siting: the exact MCLP against brute force, greedy ≤ exact, set cover
//! reaches its target with the fewest sites, p-center against brute force, and on random
//! networks: the reported coverage after siting equals the engine's own what-if chain (so
//! "covered" means what `gridmap coverage` counts) and adding a site never lowers coverage.
use geo_types::{polygon, LineString, MultiPolygon, Point};
use gridmap_algo::coverage::{Change, CoverageEngine, CoverageOptions, WalkProfile};
use gridmap_algo::network::{SnapMode, SnapOptions, WalkingNetwork};
use gridmap_algo::siting::cover::CoverMatrix;
use gridmap_algo::siting::mclp::{branch_and_bound, greedy, heuristic, Limits};
use gridmap_algo::siting::pcenter::{p_center, Radii};
use gridmap_algo::siting::setcover::min_sites;
use gridmap_algo::siting::{site, Candidate, CandidateSet, Control, Model, SitingParams};
use gridmap_model::{
    Building, BuildingId, Facility, FacilityId, FacilityKind, HouseholdSource, NetworkWay, WayId,
};
use proptest::prelude::*;
use std::sync::Arc;

fn subsets(n: usize, k: usize) -> Vec<Vec<u32>> {
    let mut out = Vec::new();
    for mask in 0u32..(1 << n) {
        if mask.count_ones() as usize == k.min(n) {
            out.push((0..n as u32).filter(|i| mask & (1 << i) != 0).collect());
        }
    }
    out
}

fn instance() -> impl Strategy<Value = (Vec<u64>, Vec<Vec<u32>>)> {
    (1usize..14, 1usize..10).prop_flat_map(|(ng, nc)| {
        (
            prop::collection::vec(1u64..50, ng),
            prop::collection::vec(prop::collection::vec(0..ng as u32, 0..6), nc),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn exact_mclp_equals_brute_force_and_beats_greedy((w, lists) in instance(), p in 1usize..5) {
        let m = CoverMatrix::from_lists(w, &lists);
        let brute = subsets(m.n_cand, p).iter().map(|s| m.value(s)).max().unwrap_or(0);
        let g = greedy(&m, p, &[]);
        let h = heuristic(&m, p, &Limits::none());
        let ex = branch_and_bound(&m, p, h.clone(), None, &Limits::none());
        prop_assert!(ex.optimal);
        prop_assert_eq!(ex.value, brute);
        prop_assert_eq!(m.value(&ex.sites), ex.value);
        prop_assert!(ex.sites.len() <= p);
        prop_assert!(m.value(&g) <= ex.value && m.value(&h) <= ex.value && m.value(&g) <= m.value(&h));
        // an exact answer with one more site is never worse
        let ex2 = branch_and_bound(&m, p + 1, heuristic(&m, p + 1, &Limits::none()), None, &Limits::none());
        prop_assert!(ex2.value >= ex.value);
    }

    #[test]
    fn set_cover_reaches_its_target_with_the_fewest_sites((w, lists) in instance(), frac in 0.05f64..1.0) {
        let m = CoverMatrix::from_lists(w, &lists);
        let need = (m.reachable() as f64 * frac).ceil() as u64;
        let r = min_sites(&m, need, &Limits::none());
        prop_assert!(r.feasible);
        prop_assert!(m.value(&r.sites) >= need, "{} < {need}", m.value(&r.sites));
        prop_assert!(r.optimal);
        let fewest = (0..=m.n_cand).find(|&k| subsets(m.n_cand, k).iter().any(|s| m.value(s) >= need)).unwrap();
        prop_assert_eq!(r.sites.len(), fewest);
        // an unreachable target is reported infeasible, never "reached"
        let r2 = min_sites(&m, m.reachable() + 1, &Limits::none());
        prop_assert!(!r2.feasible);
    }

    #[test]
    fn p_center_equals_brute_force(nd in 1usize..8, nc in 1usize..7, p in 1usize..3, seed in 0u64..10_000) {
        let mut x = seed;
        let mut next = || { x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); (x >> 33) as f64 / (1u64 << 31) as f64 };
        let cand: Vec<Vec<(u32, f32)>> = (0..nc).map(|_| (0..nd as u32).filter_map(|d| {
            let v = next();
            (v < 0.7).then(|| (d, (v * 1000.0).round() as f32))
        }).collect()).collect();
        let base_m: Vec<f64> = (0..nd).map(|_| { let v = next(); if v < 0.3 { (v * 2000.0).round() } else { f64::INFINITY } }).collect();
        let inst = Radii { weight: vec![1; nd], base_m: base_m.clone(), cand: cand.clone() };
        let got = p_center(&inst, p, &Limits::none());
        // brute force over the demand some site reaches
        let reach = |d: usize| base_m[d].is_finite() || cand.iter().any(|l| l.iter().any(|e| e.0 as usize == d));
        let worst = |s: &[u32]| -> f64 {
            (0..nd).filter(|&d| reach(d)).map(|d| {
                let mut b = base_m[d];
                for &c in s { for &(dd, m) in &cand[c as usize] { if dd as usize == d { b = b.min(f64::from(m)); } } }
                b
            }).fold(0.0, f64::max)
        };
        let best = subsets(nc, p).iter().map(|s| worst(s)).fold(f64::INFINITY, f64::min);
        match got {
            Some(r) => {
                prop_assert!(r.optimal);
                prop_assert_eq!(worst(&r.sites), r.radius_m);
                prop_assert_eq!(r.radius_m, best);
            }
            None => prop_assert!(!best.is_finite() || (0..nd).all(|d| !reach(d))),
        }
    }
}

// ---- on random networks, through the engine

const LON0: f64 = 116.30;
const LAT0: f64 = 39.98;
const M: f64 = 1.0 / 111_195.0;

fn node_pos(i: usize) -> (f64, f64) {
    let (x, y) = ((i % 6) as f64, (i / 6) as f64);
    (
        LON0 + (x * 80.0 + (i as f64 * 7.0) % 13.0) * M * 1.3,
        LAT0 + (y * 80.0 + (i as f64 * 5.0) % 11.0) * M,
    )
}

fn building(i: usize, lon: f64, lat: f64, households: u32) -> Building {
    let d = 5.0 * M;
    Building {
        id: BuildingId::new(format!("b{i}")),
        name: None,
        building_type: None,
        address: None,
        footprint: MultiPolygon(vec![polygon![
            (x: lon - d, y: lat - d), (x: lon + d, y: lat - d), (x: lon + d, y: lat + d), (x: lon - d, y: lat + d), (x: lon - d, y: lat - d)
        ]]),
        entrance: None,
        levels: None,
        households,
        households_source: HouseholdSource::Estimated,
        elderly: None,
        steward: None,
        compound: None,
        community: None,
    }
}

fn points(max: usize) -> impl Strategy<Value = Vec<(f64, f64)>> {
    prop::collection::vec((-60.0f64..540.0, -60.0f64..380.0), 0..max).prop_map(|v| {
        v.into_iter()
            .map(|(x, y)| (LON0 + x * M * 1.3, LAT0 + y * M))
            .collect()
    })
}

fn graph() -> impl Strategy<Value = (usize, Vec<(usize, usize, f64)>)> {
    (3usize..24).prop_flat_map(|n| {
        (
            Just(n),
            prop::collection::vec((0..n, 0..n, 1.0f64..400.0), 1..(n * 3)),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn siting_coverage_is_the_engines_coverage((_, edges) in graph(), bs in points(25), fs in points(3), cs in points(12),
                                              add in 1usize..4, minutes in 1.0f64..10.0, edge_mode in any::<bool>(), legs in any::<bool>()) {
        let ways: Vec<NetworkWay> = edges.iter().enumerate().map(|(i, &(a, b, w))| NetworkWay {
            id: WayId::new(format!("e{i}")), geometry: LineString::from(vec![node_pos(a), node_pos(b)]), tags: Default::default(), length_m: Some(w),
        }).collect();
        let buildings: Vec<Building> = bs.iter().enumerate().map(|(i, p)| building(i, p.0, p.1, 1 + (i as u32 * 37) % 90)).collect();
        let facilities: Vec<Facility> = fs.iter().enumerate().map(|(i, p)| Facility {
            id: FacilityId::new(format!("f{i}")), kind: FacilityKind::Canteen, name: None, location: Point::new(p.0, p.1), capacity: None, opening_hours: None,
        }).collect();
        let mode = if edge_mode { SnapMode::Edge } else { SnapMode::Node };
        let opts = CoverageOptions { snap: SnapOptions { mode, max_distance_m: 120.0, ..SnapOptions::default() }, access_legs: legs };
        let engine = CoverageEngine::new(Arc::new(WalkingNetwork::build(&ways)), &buildings, &facilities, opts);
        let cov = engine.coverage(Some(&FacilityKind::Canteen), WalkProfile::standard(), minutes).unwrap();
        let existing: Vec<(String, _)> = engine.facilities().iter().filter_map(|f| f.placement.as_ref().ok().map(|s| (f.id.to_string(), *s))).collect();
        let pts: Vec<Candidate> = cs.iter().enumerate().map(|(i, p)| Candidate::new(format!("c{i}"), p.0, p.1)).collect();
        let set = CandidateSet::from_points(engine.network(), &pts, &opts.snap, &existing);
        let params = SitingParams { model: Model::Mclp, add, minutes, ..SitingParams::default() };
        let r = match site(&engine, &cov, &set, &params, &Control::none()) {
            Ok(r) => r,
            Err(e) => {
                prop_assert!(set.placed.is_empty(), "{e}");
                return Ok(());
            }
        };
        prop_assert!(r.solver.optimal);
        prop_assert!(r.covered_after >= r.covered_before);
        // replay the chosen sites through the engine's what-if: the same figures
        let mut cur = (*cov).clone();
        let mut covered = None;
        let mut last = r.covered_before;
        for s in &r.sites {
            let w = engine.what_if(&cur, &Change::Add { id: FacilityId::new(format!("new-{}", s.candidate_id)), lon: s.lon, lat: s.lat }, minutes).unwrap();
            if covered.is_none() {
                prop_assert_eq!(w.covered_households_before, r.covered_before);
            }
            prop_assert!(w.covered_households_after >= last, "adding a site lowered coverage");
            prop_assert_eq!(w.covered_households_after - w.covered_households_before, s.marginal);
            let mut newly: Vec<String> = w.newly_covered.iter().map(std::string::ToString::to_string).collect();
            newly.sort();
            let mut ours: Vec<String> = s.newly_covered.iter().map(std::string::ToString::to_string).collect();
            ours.sort();
            prop_assert_eq!(newly, ours);
            last = w.covered_households_after;
            covered = Some(w.covered_households_after);
            cur = w.after;
        }
        prop_assert_eq!(covered.unwrap_or(r.covered_before), r.covered_after);
    }
}
