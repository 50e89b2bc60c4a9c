//! Routing of events (issue 15.2): which grid answers for a reported problem (属地管理).
//!
//! 1. the event names a building (or its point lies in a building's footprint) that is a
//!    member of a grid → that grid (`routed_by: building`);
//! 2. else the point lies inside a grid's outline → that grid (`outline`);
//! 3. else the nearest grid of the point's community — the community whose boundary contains
//!    the point, else the community of the nearest building — measured to the grid's member
//!    buildings (`nearest`, with the distance, so triage sees the guess).
//!
//! An [`EventRouter`] is built once per dataset snapshot (R-trees of buildings and grid
//! outlines) and answers one event in O(log n). Distances are metres on a local projection.
use crate::geometry::{haversine_m, LocalProjection};
use geo::{BoundingRect, Centroid, Contains};
use geo_types::Point;
use gridmap_model::events::RoutedBy;
use gridmap_model::{BuildingId, CommunityId, Dataset, GridId};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};
use std::collections::HashMap;

/// Where an event goes.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    pub grid: Option<GridId>,
    pub community: Option<CommunityId>,
    pub routed_by: Option<RoutedBy>,
    /// For `nearest`: metres from the point to the nearest member building's centroid.
    pub distance_m: Option<f64>,
}

impl Route {
    fn none(community: Option<CommunityId>) -> Self {
        Route {
            grid: None,
            community,
            routed_by: None,
            distance_m: None,
        }
    }
}

/// Why an event cannot be routed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RouteError {
    #[error("building: unknown building '{0}'")]
    UnknownBuilding(String),
    #[error("location: ({0}, {1}) is not a WGS84 lon/lat")]
    BadPoint(f64, f64),
    #[error("location: an event needs a location point or a building")]
    NothingToRoute,
}

type Rect = GeomWithData<Rectangle<[f64; 2]>, usize>;
type Pt = GeomWithData<[f64; 2], usize>;

/// Indexes of one dataset for routing events.
pub struct EventRouter {
    /// A copy-on-write clone: shares the layers, copies nothing.
    ds: Dataset,
    proj: LocalProjection,
    building_index: HashMap<String, usize>,
    /// building index → grid index
    building_grid: HashMap<usize, usize>,
    /// footprints' envelopes (projected metres) → building index
    footprints: RTree<Rect>,
    /// grid outlines' envelopes → grid index
    outlines: RTree<Rect>,
    /// member buildings' centroids (projected) → building index (only buildings in a grid)
    members: RTree<Pt>,
    /// every building's centroid → building index (for the community of a point)
    centroids: RTree<Pt>,
}

fn rect(p: &LocalProjection, r: geo_types::Rect<f64>) -> Rectangle<[f64; 2]> {
    let (x0, y0) = p.project(r.min().x, r.min().y);
    let (x1, y1) = p.project(r.max().x, r.max().y);
    Rectangle::from_corners([x0, y0], [x1, y1])
}

impl EventRouter {
    pub fn new(ds: &Dataset) -> Self {
        let ds = ds.clone();
        let (mut sx, mut sy, mut n) = (0.0, 0.0, 0.0);
        for b in ds.buildings.iter().take(1000) {
            if let Some(c) = b.centroid() {
                sx += c.x();
                sy += c.y();
                n += 1.0;
            }
        }
        let proj = if n > 0.0 {
            LocalProjection::new(sx / n, sy / n)
        } else {
            LocalProjection::new(0.0, 0.0)
        };
        let building_index: HashMap<String, usize> = ds
            .buildings
            .iter()
            .enumerate()
            .map(|(i, b)| (b.id.as_str().to_owned(), i))
            .collect();
        let mut building_grid = HashMap::new();
        for (gi, g) in ds.grids.iter().enumerate() {
            for b in &g.buildings {
                if let Some(&bi) = building_index.get(b.as_str()) {
                    building_grid.insert(bi, gi);
                }
            }
        }
        let mut fps = Vec::new();
        let mut mem = Vec::new();
        let mut cen = Vec::new();
        for (i, b) in ds.buildings.iter().enumerate() {
            if let Some(r) = b.footprint.bounding_rect() {
                fps.push(Rect::new(rect(&proj, r), i));
            }
            if let Some(c) = b.footprint.centroid() {
                let (x, y) = proj.project(c.x(), c.y());
                cen.push(Pt::new([x, y], i));
                if building_grid.contains_key(&i) {
                    mem.push(Pt::new([x, y], i));
                }
            }
        }
        let outlines = ds
            .grids
            .iter()
            .enumerate()
            .filter_map(|(i, g)| {
                let r = g.boundary.as_ref()?.bounding_rect()?;
                Some(Rect::new(rect(&proj, r), i))
            })
            .collect();
        EventRouter {
            ds,
            proj,
            building_index,
            building_grid,
            footprints: RTree::bulk_load(fps),
            outlines: RTree::bulk_load(outlines),
            members: RTree::bulk_load(mem),
            centroids: RTree::bulk_load(cen),
        }
    }

    fn grid_route(&self, gi: usize, by: RoutedBy, d: Option<f64>) -> Route {
        let g = &self.ds.grids[gi];
        Route {
            grid: Some(g.id.clone()),
            community: g.community.clone(),
            routed_by: Some(by),
            distance_m: d,
        }
    }

    /// Routes an event at `point` and/or concerning `building`.
    pub fn route(
        &self,
        point: Option<Point<f64>>,
        building: Option<&BuildingId>,
    ) -> Result<Route, RouteError> {
        if let Some(p) = point {
            if !(p.x().is_finite()
                && p.y().is_finite()
                && (-180.0..=180.0).contains(&p.x())
                && (-90.0..=90.0).contains(&p.y()))
            {
                return Err(RouteError::BadPoint(p.x(), p.y()));
            }
        }
        // 1. the building's grid
        let mut bi = match building {
            Some(b) => Some(
                *self
                    .building_index
                    .get(b.as_str())
                    .ok_or_else(|| RouteError::UnknownBuilding(b.to_string()))?,
            ),
            None => None,
        };
        let point = match (point, bi) {
            (Some(p), _) => p,
            (None, Some(i)) => self.ds.buildings[i]
                .access_point()
                .ok_or(RouteError::NothingToRoute)?,
            (None, None) => return Err(RouteError::NothingToRoute),
        };
        let (x, y) = self.proj.project(point.x(), point.y());
        if bi.is_none() {
            bi = self
                .footprints
                .locate_all_at_point(&[x, y])
                .map(|r| r.data)
                .find(|&i| self.ds.buildings[i].footprint.contains(&point));
        }
        if let Some(&gi) = bi.and_then(|i| self.building_grid.get(&i)) {
            return Ok(self.grid_route(gi, RoutedBy::Building, None));
        }
        // 2. a grid outline containing the point (the smallest, should outlines overlap)
        let mut inside: Vec<usize> = self
            .outlines
            .locate_all_at_point(&[x, y])
            .map(|r| r.data)
            .filter(|&gi| {
                self.ds.grids[gi]
                    .boundary
                    .as_ref()
                    .is_some_and(|b| b.contains(&point))
            })
            .collect();
        inside.sort_by(|a, b| self.ds.grids[*a].id.cmp(&self.ds.grids[*b].id));
        if let Some(&gi) = inside.first() {
            return Ok(self.grid_route(gi, RoutedBy::Outline, None));
        }
        // 3. the nearest grid of the point's community
        let community = bi
            .and_then(|i| self.ds.buildings[i].community.clone())
            .or_else(|| {
                self.ds
                    .communities
                    .iter()
                    .find(|c| c.boundary.as_ref().is_some_and(|b| b.contains(&point)))
                    .map(|c| c.id.clone())
            })
            .or_else(|| {
                self.centroids
                    .nearest_neighbor_iter(&[x, y])
                    .find_map(|p| self.ds.buildings[p.data].community.clone())
            });
        let nearest = self.members.nearest_neighbor_iter(&[x, y]).find(|p| {
            community.is_none() || self.ds.grids[self.building_grid[&p.data]].community == community
        });
        let Some(m) = nearest else {
            return Ok(Route::none(community));
        };
        let c = self.ds.buildings[m.data]
            .centroid()
            .map(|c| haversine_m((point.x(), point.y()), (c.x(), c.y())));
        Ok(self.grid_route(self.building_grid[&m.data], RoutedBy::Nearest, c))
    }

    /// Every grid whose outline's envelope meets `bbox` (lon/lat), for tests and tools.
    pub fn grids_near(&self, bbox: [f64; 4]) -> Vec<GridId> {
        let (x0, y0) = self.proj.project(bbox[0], bbox[1]);
        let (x1, y1) = self.proj.project(bbox[2], bbox[3]);
        let mut v: Vec<GridId> = self
            .outlines
            .locate_in_envelope_intersecting(&AABB::from_corners([x0, y0], [x1, y1]))
            .map(|r| self.ds.grids[r.data].id.clone())
            .collect();
        v.sort();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{polygon, MultiPolygon};
    use gridmap_model::{Building, Community, Grid, HouseholdSource};

    fn square(x: f64, y: f64, d: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon![
            (x: x, y: y), (x: x + d, y: y), (x: x + d, y: y + d), (x: x, y: y + d), (x: x, y: y)
        ]])
    }

    fn building(id: &str, x: f64, y: f64, c: &str) -> Building {
        Building {
            id: BuildingId::new(id),
            name: None,
            building_type: None,
            address: None,
            footprint: square(x, y, 0.0001),
            entrance: None,
            levels: None,
            households: 10,
            households_source: HouseholdSource::Estimated,
            elderly: None,
            steward: None,
            compound: None,
            community: Some(CommunityId::new(c)),
        }
    }

    fn grid(id: &str, c: &str, bs: &[&str], outline: Option<MultiPolygon<f64>>) -> Grid {
        Grid {
            id: GridId::new(id),
            code: id.into(),
            name: None,
            community: Some(CommunityId::new(c)),
            buildings: bs.iter().map(|b| BuildingId::new(*b)).collect(),
            leads: vec![],
            boundary: outline,
            version: 1,
        }
    }

    fn ds() -> Dataset {
        Dataset {
            buildings: vec![
                building("b1", 7.4000, 43.7000, "c1"),
                building("b2", 7.4100, 43.7000, "c1"),
                building("b3", 7.4300, 43.7000, "c2"),
                building("b4", 7.4050, 43.7050, "c1"),
            ]
            .into(),
            communities: vec![Community {
                id: CommunityId::new("c1"),
                name: "c1".into(),
                street: None,
                boundary: Some(square(7.399, 43.699, 0.025)),
            }]
            .into(),
            grids: vec![
                grid("g1", "c1", &["b1"], Some(square(7.3995, 43.6995, 0.002))),
                grid("g2", "c1", &["b2"], None),
                grid("g3", "c2", &["b3"], None),
            ]
            .into(),
            ..Dataset::default()
        }
    }

    #[test]
    fn building_then_outline_then_nearest_of_the_community() {
        let ds = ds();
        let r = EventRouter::new(&ds);
        let by_b = r.route(None, Some(&BuildingId::new("b2"))).unwrap();
        assert_eq!(
            (by_b.grid.unwrap().0, by_b.routed_by),
            ("g2".into(), Some(RoutedBy::Building))
        );
        // a point in b2's footprint is b2's
        let p = r.route(Some(Point::new(7.41005, 43.70005)), None).unwrap();
        assert_eq!(p.routed_by, Some(RoutedBy::Building));
        // in g1's outline, not in a building
        let o = r.route(Some(Point::new(7.4012, 43.7012)), None).unwrap();
        assert_eq!(
            (o.grid.unwrap().0, o.routed_by),
            ("g1".into(), Some(RoutedBy::Outline))
        );
        // b4 is in no grid; near b2 -> g2, not g3 (other community, though b3 is not nearer anyway)
        let n = r.route(None, Some(&BuildingId::new("b4"))).unwrap();
        assert_eq!(
            (n.grid.clone().unwrap().0, n.routed_by),
            ("g2".into(), Some(RoutedBy::Nearest))
        );
        assert!(n.distance_m.unwrap() > 500.0 && n.distance_m.unwrap() < 1000.0);
        // a point nearest to b3 (community c2) but inside c1's boundary goes to a c1 grid
        let q = r.route(Some(Point::new(7.4230, 43.7001)), None).unwrap();
        assert_eq!(q.community.unwrap().0, "c1");
        assert_eq!(q.grid.unwrap().0, "g2");
        assert_eq!(
            r.route(None, Some(&BuildingId::new("nope"))).unwrap_err(),
            RouteError::UnknownBuilding("nope".into())
        );
        assert_eq!(r.route(None, None).unwrap_err(), RouteError::NothingToRoute);
        assert!(matches!(
            r.route(Some(Point::new(f64::NAN, 1.0)), None),
            Err(RouteError::BadPoint(..))
        ));
    }
}
