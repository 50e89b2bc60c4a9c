//! Routing events on real grids: Monaco imported from shared/data, partitioned, then points
//! inside several grids and one between grids (skipped with a note when the extract is absent).
use geo::{Centroid, Contains};
use gridmap_algo::events::EventRouter;
use gridmap_algo::partition::PartitionParams;
use gridmap_import::{import_file, ImportOptions, NoProgress};
use gridmap_model::events::RoutedBy;
use gridmap_model::{Dataset, GridId};
use gridmap_service::{into_proposal_grids, propose_grids};
use std::path::PathBuf;

fn monaco() -> Option<Dataset> {
    let root = std::env::var_os("GRIDMAP_SHARED").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")),
        PathBuf::from,
    );
    let p = root.join("data/monaco.osm.pbf");
    if !p.exists() {
        eprintln!(
            "note: {} not found; skipping (set GRIDMAP_SHARED)",
            p.display()
        );
        return None;
    }
    let (mut ds, _) = import_file(&p, &ImportOptions::default(), &NoProgress).ok()?;
    let result = propose_grids(&ds, None, &PartitionParams::default()).ok()?;
    ds.grids = into_proposal_grids(result).into();
    Some(ds)
}

#[test]
fn events_on_monaco_go_to_the_grid_they_are_in_else_the_nearest_of_their_community() {
    let Some(ds) = monaco() else { return };
    assert!(ds.grids.len() > 20, "{} grids", ds.grids.len());
    let t = std::time::Instant::now();
    let router = EventRouter::new(&ds);
    eprintln!(
        "router over {} buildings, {} grids: {:?}",
        ds.buildings.len(),
        ds.grids.len(),
        t.elapsed()
    );

    // A member building's own centroid (inside its footprint) in each of 10 grids.
    let mut checked = 0;
    for g in ds
        .grids
        .iter()
        .step_by((ds.grids.len() / 10).max(1))
        .take(10)
    {
        let b = g
            .buildings
            .iter()
            .filter_map(|id| ds.buildings.iter().find(|b| &b.id == id))
            .find(|b| b.centroid().is_some_and(|c| b.footprint.contains(&c)))
            .expect("a grid with a convex-enough building");
        let c = b.centroid().unwrap();
        let r = router.route(Some(c), None).unwrap();
        assert_eq!(
            r.grid.as_ref(),
            Some(&g.id),
            "point in {} routed to {:?}",
            b.id,
            r.grid
        );
        assert_eq!(r.routed_by, Some(RoutedBy::Building));
        assert_eq!(r.community, g.community);
        // by building id, no point
        let r = router.route(None, Some(&b.id)).unwrap();
        assert_eq!(
            (r.grid.as_ref(), r.routed_by),
            (Some(&g.id), Some(RoutedBy::Building))
        );
        checked += 1;
    }
    assert_eq!(checked, 10);

    // A point inside an outline but in no building: try points around grid outlines' centroids.
    let mut outline_hits = 0;
    for g in &ds.grids {
        let Some(o) = &g.boundary else { continue };
        let Some(c) = o.centroid() else { continue };
        if !o.contains(&c) || ds.buildings.iter().any(|b| b.footprint.contains(&c)) {
            continue;
        }
        let r = router.route(Some(c), None).unwrap();
        assert_eq!(r.routed_by, Some(RoutedBy::Outline), "{}", g.id);
        // outlines may overlap slightly; the answer is a grid whose outline holds the point
        let gid: &GridId = r.grid.as_ref().unwrap();
        let chosen = ds.grids.iter().find(|x| &x.id == gid).unwrap();
        assert!(chosen.boundary.as_ref().unwrap().contains(&c));
        outline_hits += 1;
        if outline_hits == 5 {
            break;
        }
    }
    assert!(outline_hits >= 1, "no outline centroid outside buildings");

    // Between grids: a point in no building and no outline (the sea off Monaco's harbour,
    // 7.4250, 43.7350, is a few hundred metres from the quays) goes to the nearest grid.
    let p = geo_types::Point::new(7.4265, 43.7370);
    assert!(ds
        .grids
        .iter()
        .all(|g| !g.boundary.as_ref().is_some_and(|b| b.contains(&p))));
    let r = router.route(Some(p), None).unwrap();
    assert_eq!(r.routed_by, Some(RoutedBy::Nearest));
    let g = ds
        .grids
        .iter()
        .find(|g| Some(&g.id) == r.grid.as_ref())
        .unwrap();
    assert_eq!(
        r.community, g.community,
        "the nearest grid is one of the point's community"
    );
    let d = r.distance_m.unwrap();
    // brute force: no member building of a grid of that community is nearer
    let best = ds
        .grids
        .iter()
        .filter(|x| x.community == r.community)
        .flat_map(|x| x.buildings.iter())
        .filter_map(|id| ds.buildings.iter().find(|b| &b.id == id)?.centroid())
        .map(|c| gridmap_algo::geometry::haversine_m((p.x(), p.y()), (c.x(), c.y())))
        .fold(f64::INFINITY, f64::min);
    assert!((d - best).abs() < 1.0, "router {d} m, brute force {best} m");
    eprintln!(
        "between grids: {:?} at {d:.0} m ({:?})",
        r.grid, r.community
    );
}
