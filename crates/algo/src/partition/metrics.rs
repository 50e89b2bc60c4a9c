//! Shape and structure figures of a grid: Polsby–Popper compactness of the convex hull,
//! contiguity and barrier crossing in the adjacency graph.
use super::graph::Graph;
use crate::geometry::LocalProjection;
use geo::{Area, ConvexHull, Euclidean, Length, MultiPoint, Point};
use gridmap_model::Building;

/// Polsby–Popper score `4πA/P²` of the convex hull of the footprints, in local metres
/// (1 for a disc, about 0.785 for a square; 0 for a degenerate hull).
pub(crate) fn hull_polsby_popper<'b>(
    buildings: impl Iterator<Item = &'b Building>,
    proj: &LocalProjection,
) -> f64 {
    let pts: Vec<Point<f64>> = buildings
        .flat_map(|b| b.footprint.0.iter().flat_map(|p| p.exterior().0.iter()))
        .map(|c| proj.project(c.x, c.y).into())
        .collect();
    if pts.len() < 3 {
        return 0.0;
    }
    let hull = MultiPoint::from(pts).convex_hull();
    let area = hull.unsigned_area();
    let perimeter = Euclidean.length(hull.exterior());
    if perimeter <= 0.0 {
        return 0.0;
    }
    (4.0 * std::f64::consts::PI * area / (perimeter * perimeter)).clamp(0.0, 1.0)
}

/// `(components, components without barrier edges)` of a set of graph nodes.
pub(crate) fn connectivity(
    g: &Graph,
    nodes: &[u32],
    in_part: &[bool],
    seen: &mut [bool],
) -> (usize, usize) {
    let inside = |v: usize| in_part[v];
    let all = g.count_components(nodes, &inside, &|_| true, seen);
    let free = g.count_components(nodes, &inside, &|e| !e.barrier, seen);
    (all, free)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{polygon, MultiPolygon};
    use gridmap_model::{BuildingId, HouseholdSource};

    fn square(x: f64, y: f64, d: f64) -> Building {
        Building {
            id: BuildingId::new("b"),
            name: None,
            building_type: None,
            address: None,
            footprint: MultiPolygon(vec![
                polygon![(x: x, y: y), (x: x + d, y: y), (x: x + d, y: y + d), (x: x, y: y + d)],
            ]),
            entrance: None,
            levels: None,
            households: 1,
            households_source: HouseholdSource::Estimated,
            elderly: None,
            steward: None,
            compound: None,
            community: None,
        }
    }

    #[test]
    fn a_square_scores_pi_over_four_and_a_strip_scores_low() {
        let p = LocalProjection::new(0.0, 0.0);
        let sq = hull_polsby_popper([square(0.0, 0.0, 0.001)].iter(), &p);
        assert!((sq - std::f64::consts::FRAC_PI_4).abs() < 0.01, "{sq}");
        let strip: Vec<_> = (0..20)
            .map(|i| square(f64::from(i) * 0.001, 0.0, 0.0005))
            .collect();
        assert!(hull_polsby_popper(strip.iter(), &p) < 0.2);
    }
}
