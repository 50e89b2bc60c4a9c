//! Physical barriers grids should follow: major roads, railways, waterways (and walls on request).
//! Barrier ways are cut into segments in local metres and indexed in an R-tree, so testing whether
//! an adjacency edge crosses a barrier costs one envelope query.
use crate::geometry::LocalProjection;
use geo::{Intersects, Line};
use gridmap_model::NetworkWay;
use rstar::{primitives::GeomWithData, RTree, AABB};
use serde::Serialize;

/// Which OSM-tagged ways are barriers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BarrierRules {
    /// `highway=*` values that are barriers (default: motorway, trunk, primary, secondary).
    pub highways: Vec<String>,
    /// `railway=*` values that are barriers (default: rail, light_rail, narrow_gauge, tram;
    /// never in a tunnel).
    pub railways: Vec<String>,
    /// `waterway=*` values that are barriers (default: river, canal).
    pub waterways: Vec<String>,
    /// `barrier=wall` / `barrier=fence` count too.
    pub walls: bool,
}

impl Default for BarrierRules {
    fn default() -> Self {
        let v = |xs: &[&str]| xs.iter().map(|s| (*s).to_owned()).collect();
        Self {
            highways: v(&["motorway", "trunk", "primary", "secondary"]),
            railways: v(&["rail", "light_rail", "narrow_gauge", "tram"]),
            waterways: v(&["river", "canal"]),
            walls: false,
        }
    }
}

impl BarrierRules {
    /// Whether a way with these tags separates neighbourhoods.
    pub fn is_barrier(&self, way: &NetworkWay) -> bool {
        let tag = |k: &str| way.tags.get(k).map(String::as_str);
        let underground = matches!(tag("tunnel"), Some(t) if t != "no")
            || tag("layer")
                .and_then(|l| l.parse::<i32>().ok())
                .is_some_and(|l| l < 0)
            || tag("location") == Some("underground");
        if underground {
            return false;
        }
        let has = |k: &str, list: &[String]| tag(k).is_some_and(|v| list.iter().any(|x| x == v));
        has("highway", &self.highways)
            || has("railway", &self.railways)
            || has("waterway", &self.waterways)
            || (self.walls && matches!(tag("barrier"), Some("wall" | "fence" | "city_wall")))
    }
}

type Seg = GeomWithData<rstar::primitives::Line<[f64; 2]>, ()>;

/// Barrier segments in local metres.
pub(crate) struct BarrierIndex {
    tree: RTree<Seg>,
}

impl BarrierIndex {
    pub(crate) fn new(ways: &[NetworkWay], rules: &BarrierRules, proj: &LocalProjection) -> Self {
        let mut segs = Vec::new();
        for w in ways.iter().filter(|w| rules.is_barrier(w)) {
            let pts: Vec<[f64; 2]> = w
                .geometry
                .0
                .iter()
                .filter(|c| c.x.is_finite() && c.y.is_finite())
                .map(|c| {
                    let (x, y) = proj.project(c.x, c.y);
                    [x, y]
                })
                .collect();
            for p in pts.windows(2) {
                if p[0] != p[1] {
                    segs.push(Seg::new(rstar::primitives::Line::new(p[0], p[1]), ()));
                }
            }
        }
        Self {
            tree: RTree::bulk_load(segs),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }

    /// Whether the straight segment a→b (metres) crosses a barrier segment.
    pub(crate) fn crosses(&self, a: (f64, f64), b: (f64, f64)) -> bool {
        if self.is_empty() {
            return false;
        }
        let env = AABB::from_corners([a.0.min(b.0), a.1.min(b.1)], [a.0.max(b.0), a.1.max(b.1)]);
        let edge = Line::new((a.0, a.1), (b.0, b.1));
        self.tree.locate_in_envelope_intersecting(&env).any(|s| {
            let l = s.geom();
            edge.intersects(&Line::new((l.from[0], l.from[1]), (l.to[0], l.to[1])))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridmap_model::WayId;
    use std::collections::BTreeMap;

    fn way(tags: &[(&str, &str)]) -> NetworkWay {
        NetworkWay {
            id: WayId::new("w1"),
            geometry: vec![(7.0, 43.0), (7.001, 43.0)].into(),
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            length_m: None,
        }
    }

    #[test]
    fn major_roads_rails_and_rivers_are_barriers_but_footways_and_tunnels_are_not() {
        let r = BarrierRules::default();
        assert!(r.is_barrier(&way(&[("highway", "primary")])));
        assert!(r.is_barrier(&way(&[("railway", "rail")])));
        assert!(r.is_barrier(&way(&[("waterway", "river")])));
        assert!(!r.is_barrier(&way(&[("highway", "footway")])));
        assert!(!r.is_barrier(&way(&[("highway", "primary"), ("tunnel", "yes")])));
        assert!(!r.is_barrier(&way(&[("barrier", "wall")])));
        assert!(BarrierRules { walls: true, ..r }.is_barrier(&way(&[("barrier", "wall")])));
    }

    #[test]
    fn an_edge_across_a_road_crosses_and_one_beside_it_does_not() {
        let p = LocalProjection::new(7.0, 43.0);
        let idx = BarrierIndex::new(
            &[way(&[("highway", "trunk")])],
            &BarrierRules::default(),
            &p,
        );
        let (x0, _) = p.project(7.0005, 43.0);
        assert!(idx.crosses((x0, -20.0), (x0, 20.0)));
        assert!(!idx.crosses((x0, 5.0), (x0, 40.0)));
    }
}
