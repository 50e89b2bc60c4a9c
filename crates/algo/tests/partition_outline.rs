//! Grid outlines hug their buildings: scattered clusters give one part each, not a hull across
//! the empty land between them (issue 13, item 13).
#[path = "partition_fixture.rs"]
mod fixture;

use fixture::square;
use geo::{Area, ConvexHull, MultiPoint, Point};
use gridmap_algo::geometry::LocalProjection;
use gridmap_algo::partition::grid_outlines;
use gridmap_model::{Building, BuildingId};

fn area_m2(mp: &geo_types::MultiPolygon<f64>, proj: &LocalProjection) -> f64 {
    use geo::MapCoords;
    mp.map_coords(|c| {
        let (x, y) = proj.project(c.x, c.y);
        geo_types::Coord { x, y }
    })
    .unsigned_area()
}

/// 5 × 5 buildings of ~11 m at a spacing of ~22 m around (x, y) degrees.
fn cluster(tag: &str, x: f64, y: f64) -> Vec<Building> {
    (0..25)
        .map(|i| {
            square(
                &format!("{tag}{i}"),
                x + f64::from(i % 5) * 0.0002,
                y + f64::from(i / 5) * 0.0002,
                0.0001,
                3,
            )
        })
        .collect()
}

#[test]
fn a_grid_of_two_far_apart_clusters_gets_two_small_parts() {
    // Two clusters ~11 km apart, both in one grid (as in the "buildings without community" grid).
    let mut buildings = cluster("a", 9.50, 47.10);
    buildings.extend(cluster("b", 9.62, 47.17));
    let ids: Vec<BuildingId> = buildings.iter().map(|b| b.id.clone()).collect();
    let outlines = grid_outlines(&buildings, &[ids], None).expect("outlines");
    assert_eq!(outlines.len(), 1);
    let o = &outlines[0];
    assert_eq!(o.0.len(), 2, "one part per cluster, got {}", o.0.len());
    let proj = LocalProjection::new(9.56, 47.135);
    let pts: Vec<Point<f64>> = buildings
        .iter()
        .flat_map(|b| {
            b.footprint
                .0
                .iter()
                .flat_map(|p| p.exterior().0.iter().copied())
        })
        .map(Point::from)
        .collect();
    let hull = geo_types::MultiPolygon(vec![MultiPoint::from(pts).convex_hull()]);
    let (a, h) = (area_m2(o, &proj), area_m2(&hull, &proj));
    assert!(
        a > 0.0 && a < 0.05 * h,
        "outline {a:.0} m² vs convex hull {h:.0} m²"
    );
    // Every footprint centre lies inside the outline.
    use geo::Contains;
    for b in &buildings {
        let c = geo::Centroid::centroid(&b.footprint).expect("centroid");
        assert!(o.contains(&c), "{} outside its grid's outline", b.id);
    }
}

#[test]
fn outlines_of_neighbouring_grids_do_not_overlap() {
    use geo::BooleanOps;
    let buildings = cluster("a", 9.50, 47.10);
    // The two western columns are one grid, the other three another.
    let grids: Vec<Vec<BuildingId>> = [true, false]
        .iter()
        .map(|&west| {
            (0..25)
                .filter(|i| (i % 5 < 2) == west)
                .map(|i| buildings[i].id.clone())
                .collect()
        })
        .collect();
    let o = grid_outlines(&buildings, &grids, None).expect("outlines");
    let proj = LocalProjection::new(9.50, 47.10);
    let overlap = area_m2(&o[0].intersection(&o[1]), &proj);
    assert!(overlap < 1.0, "outlines overlap by {overlap} m²");
    assert!(area_m2(&o[0], &proj) > 0.0 && area_m2(&o[1], &proj) > 0.0);
}
