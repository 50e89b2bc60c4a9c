//! Property tests of the walking engine on small random networks: the bounded Dijkstra against
//! Floyd–Warshall, monotonicity of coverage, unreachable buildings, and what-if == recompute.
use geo_types::{polygon, LineString, MultiPolygon, Point};
use gridmap_algo::coverage::{Change, CoverageEngine, CoverageOptions, WalkProfile};
use gridmap_algo::network::{bounded_dijkstra, Seed, SnapMode, SnapOptions, WalkingNetwork};
use gridmap_model::{
    Building, BuildingId, Facility, FacilityId, FacilityKind, HouseholdSource, NetworkWay, WayId,
};
use proptest::prelude::*;
use std::sync::Arc;

const LON0: f64 = 116.30;
const LAT0: f64 = 39.98;
/// ~1 m in degrees of latitude.
const M: f64 = 1.0 / 111_195.0;

fn node_pos(i: usize) -> (f64, f64) {
    // nodes on a 6-wide lattice, 80 m apart, with a deterministic wobble
    let (x, y) = ((i % 6) as f64, (i / 6) as f64);
    (
        LON0 + (x * 80.0 + (i as f64 * 7.0) % 13.0) * M * 1.3,
        LAT0 + (y * 80.0 + (i as f64 * 5.0) % 11.0) * M,
    )
}

fn way(i: usize, a: usize, b: usize, len: f64) -> NetworkWay {
    let (pa, pb) = (node_pos(a), node_pos(b));
    NetworkWay {
        id: WayId::new(format!("e{i}")),
        geometry: LineString::from(vec![pa, pb]),
        tags: Default::default(),
        length_m: Some(len),
    }
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

fn facility(i: usize, lon: f64, lat: f64) -> Facility {
    Facility {
        id: FacilityId::new(format!("f{i}")),
        kind: FacilityKind::Canteen,
        name: None,
        location: Point::new(lon, lat),
        capacity: None,
        opening_hours: None,
    }
}

/// A random graph: (node count, edges (a, b, metres)).
fn graph() -> impl Strategy<Value = (usize, Vec<(usize, usize, f64)>)> {
    (3usize..24).prop_flat_map(|n| {
        let edge = (0..n, 0..n, 1.0f64..400.0);
        (Just(n), prop::collection::vec(edge, 1..(n * 3)))
    })
}

fn floyd_warshall(n: usize, edges: &[(usize, usize, f64)]) -> Vec<Vec<f64>> {
    let mut d = vec![vec![f64::INFINITY; n]; n];
    for (i, row) in d.iter_mut().enumerate() {
        row[i] = 0.0;
    }
    for &(a, b, w) in edges {
        if a != b && w < d[a][b] {
            d[a][b] = w;
            d[b][a] = w;
        }
    }
    for k in 0..n {
        for i in 0..n {
            for j in 0..n {
                if d[i][k] + d[k][j] < d[i][j] {
                    d[i][j] = d[i][k] + d[k][j];
                }
            }
        }
    }
    d
}

fn points() -> impl Strategy<Value = Vec<(f64, f64)>> {
    prop::collection::vec((-60.0f64..540.0, -60.0f64..380.0), 1..25).prop_map(|v| {
        v.into_iter()
            .map(|(x, y)| (LON0 + x * M * 1.3, LAT0 + y * M))
            .collect()
    })
}

fn engine(
    edges: &[(usize, usize, f64)],
    bs: &[(f64, f64)],
    fs: &[(f64, f64)],
    opts: CoverageOptions,
) -> CoverageEngine {
    let ways: Vec<NetworkWay> = edges
        .iter()
        .enumerate()
        .map(|(i, &(a, b, w))| way(i, a, b, w))
        .collect();
    let buildings: Vec<Building> = bs
        .iter()
        .enumerate()
        .map(|(i, p)| building(i, p.0, p.1, 1 + (i as u32 * 37) % 90))
        .collect();
    let facilities: Vec<Facility> = fs
        .iter()
        .enumerate()
        .map(|(i, p)| facility(i, p.0, p.1))
        .collect();
    CoverageEngine::new(
        Arc::new(WalkingNetwork::build(&ways)),
        &buildings,
        &facilities,
        opts,
    )
}

fn option_sets() -> Vec<CoverageOptions> {
    let mut v = Vec::new();
    for mode in [SnapMode::Node, SnapMode::Edge] {
        for legs in [false, true] {
            v.push(CoverageOptions {
                snap: SnapOptions {
                    mode,
                    max_distance_m: 120.0,
                    ..SnapOptions::default()
                },
                access_legs: legs,
            });
        }
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn bounded_dijkstra_equals_floyd_warshall((n, edges) in graph(), sources in prop::collection::vec(0usize..24, 1..4), limit in 50.0f64..1500.0) {
        let ways: Vec<NetworkWay> = edges.iter().enumerate().map(|(i, &(a, b, w))| way(i, a, b, w)).collect();
        let net = WalkingNetwork::build(&ways);
        let fw = floyd_warshall(n, &edges);
        // map lattice nodes to graph vertices by coordinate
        let vertex = |i: usize| (0..net.node_count() as u32).find(|&v| {
            let p = net.node_lonlat(v);
            (p[0], p[1]) == node_pos(i)
        });
        let srcs: Vec<usize> = sources.into_iter().filter(|s| *s < n && vertex(*s).is_some()).collect();
        prop_assume!(!srcs.is_empty());
        let seeds: Vec<Seed> = srcs.iter().enumerate().map(|(k, &s)| Seed { node: vertex(s).unwrap(), dist_m: 0.0, source: k as u32 }).collect();
        let t = bounded_dijkstra(&net, &seeds, limit);
        #[allow(clippy::needless_range_loop)] // i indexes the oracle matrix and names the node
        for i in 0..n {
            let Some(v) = vertex(i) else { continue };
            let want = srcs.iter().map(|&s| fw[s][i]).fold(f64::INFINITY, f64::min);
            let got = t.dist[v as usize];
            if want <= limit - 1e-6 {
                prop_assert!((got - want).abs() < 1e-6, "node {i}: got {got}, want {want}");
                let k = t.source[v as usize] as usize;
                prop_assert!((fw[srcs[k]][i] - want).abs() < 1e-6, "label {k} is not a nearest source of {i}");
            } else if want > limit + 1e-6 {
                prop_assert!(got.is_infinite(), "node {i} beyond the bound got {got}");
            }
        }
    }

    #[test]
    fn adding_a_facility_never_lowers_coverage((_, edges) in graph(), bs in points(), fs in points(), extra in points()) {
        for opts in option_sets() {
            let e1 = engine(&edges, &bs, &fs, opts);
            let mut more = fs.clone();
            more.push(extra[0]);
            let e2 = engine(&edges, &bs, &more, opts);
            let (c1, c2) = (
                e1.coverage(Some(&FacilityKind::Canteen), WalkProfile::standard(), 15.0).unwrap(),
                e2.coverage(Some(&FacilityKind::Canteen), WalkProfile::standard(), 15.0).unwrap(),
            );
            for i in 0..bs.len() {
                prop_assert!(c2.building_m[i] <= c1.building_m[i] + 1e-9, "building {i}: {} then {}", c1.building_m[i], c2.building_m[i]);
            }
            let s1 = e1.statistics(&c1, &[5.0, 15.0], |_| None::<String>).unwrap();
            let s2 = e2.statistics(&c2, &[5.0, 15.0], |_| None::<String>).unwrap();
            for (a, b) in s1.overall.iter().zip(&s2.overall) {
                prop_assert!(b.covered_households >= a.covered_households);
            }
        }
    }

    #[test]
    fn unplaced_or_disconnected_buildings_are_never_covered((_, edges) in graph(), bs in points(), fs in points()) {
        for opts in option_sets() {
            let e = engine(&edges, &bs, &fs, opts);
            let cov = e.coverage(Some(&FacilityKind::Canteen), WalkProfile::standard(), 15.0).unwrap();
            let fac_components: Vec<u32> = e.facilities().iter().filter_map(|f| f.placement.as_ref().ok())
                .map(|s| e.network().component(e.network().edge(s.edge).u)).collect();
            for (i, b) in e.buildings().iter().enumerate() {
                match &b.placement {
                    Err(_) => prop_assert!(cov.building_m[i].is_infinite()),
                    Ok(s) => {
                        let c = e.network().component(e.network().edge(s.edge).u);
                        if !fac_components.contains(&c) {
                            prop_assert!(cov.building_m[i].is_infinite(), "building {i} covered from another component");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn what_if_equals_a_full_recompute((_, edges) in graph(), bs in points(), fs in points(), site in points(), which in 0usize..25) {
        for opts in option_sets() {
            let base = engine(&edges, &bs, &fs, opts);
            let cov = base.coverage(Some(&FacilityKind::Canteen), WalkProfile::standard(), 15.0).unwrap();
            let k = which % fs.len();
            let changes = [
                (Change::Add { id: FacilityId::new("new"), lon: site[0].0, lat: site[0].1 }, { let mut v = fs.clone(); v.push(site[0]); v }),
                (Change::Remove { id: FacilityId::new(format!("f{k}")) }, { let mut v = fs.clone(); v.remove(k); v }),
                (Change::Move { id: FacilityId::new(format!("f{k}")), lon: site[0].0, lat: site[0].1 }, { let mut v = fs.clone(); v[k] = site[0]; v }),
            ];
            for (change, after_sites) in changes {
                let r = base.what_if(&cov, &change, 15.0).unwrap();
                let full_engine = engine(&edges, &bs, &after_sites, opts);
                let full = full_engine.coverage(Some(&FacilityKind::Canteen), WalkProfile::standard(), 15.0).unwrap();
                for i in 0..bs.len() {
                    let (a, b) = (r.after.building_m[i], full.building_m[i]);
                    prop_assert!(a == b || (a - b).abs() < 1e-6, "{change:?} building {i}: what-if {a}, recompute {b}");
                }
                let stats = full_engine.statistics(&full, &[15.0], |_| None::<String>).unwrap();
                // households near the exact threshold could flip on float noise; none do here
                prop_assert_eq!(r.covered_households_after, stats.overall[0].covered_households);
                prop_assert_eq!(r.delta_households, r.covered_households_after as i64 - r.covered_households_before as i64);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A building's distance = min over facilities of (walk from the facility's snap point to an
    /// end of its edge + shortest path + walk from an end of the building's edge), or the direct
    /// walk along a shared edge; plus both access legs when asked — all via Floyd–Warshall.
    #[test]
    fn building_distances_equal_brute_force_over_snap_points((_, edges) in graph(), bs in points(), fs in points()) {
        for opts in option_sets() {
            let e = engine(&edges, &bs, &fs, opts);
            let net = e.network();
            let n = net.node_count();
            let mut d = vec![vec![f64::INFINITY; n]; n];
            for (x, row) in d.iter_mut().enumerate() {
                row[x] = 0.0;
                for (y, w) in net.neighbours(x as u32) {
                    row[y as usize] = row[y as usize].min(w);
                }
            }
            for k in 0..n { for i in 0..n { for j in 0..n {
                if d[i][k] + d[k][j] < d[i][j] { d[i][j] = d[i][k] + d[k][j]; }
            } } }
            let cov = e.coverage(Some(&FacilityKind::Canteen), WalkProfile::standard(), 15.0).unwrap();
            let legs = |s: &gridmap_algo::network::Snap| if opts.access_legs { s.distance_m } else { 0.0 };
            for (i, b) in e.buildings().iter().enumerate() {
                let Ok(sb) = &b.placement else { continue };
                let eb = net.edge(sb.edge);
                let b_ends = [(eb.u, sb.offset_m), (eb.v, eb.length_m - sb.offset_m)];
                let mut want = f64::INFINITY;
                for f in e.facilities() {
                    let Ok(sf) = &f.placement else { continue };
                    let ef = net.edge(sf.edge);
                    let f_ends = [(ef.u, sf.offset_m), (ef.v, ef.length_m - sf.offset_m)];
                    let mut best = f64::INFINITY;
                    if sf.edge == sb.edge { best = (sf.offset_m - sb.offset_m).abs(); }
                    for (fu, fw) in f_ends { for (bu, bw) in b_ends {
                        best = best.min(fw + d[fu as usize][bu as usize] + bw);
                    } }
                    want = want.min(best + legs(sf));
                }
                want += legs(sb);
                let limit = WalkProfile::standard().limit_m(15.0);
                let got = cov.building_m[i];
                if want <= limit - 1e-6 {
                    prop_assert!((got - want).abs() < 1e-6, "{opts:?} building {i}: got {got}, want {want}");
                } else if want > limit + 1e-6 {
                    prop_assert!(got.is_infinite());
                }
            }
        }
    }
}
