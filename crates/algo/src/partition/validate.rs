//! Validation of hand-drawn grid polygons against the buildings of a community.
//!
//! Build a [`Validator`] once per community (it indexes the footprints in an R-tree, projects them
//! to metres and triangulates the building centroids), then call [`Validator::validate`] after
//! every edit of the drawing. A building belongs to the grid holding the majority of its
//! footprint area; without a majority, to the grid containing its centroid; else it is
//! unassigned.
use super::barriers::{BarrierIndex, BarrierRules};
use super::graph::Graph;
use super::outline::project_mp;
use super::units::Prepared;
use super::{Band, PartitionError, PartitionInput, PartitionParams};
use crate::geometry::LocalProjection;
use geo::{Area, BooleanOps, BoundingRect, Intersects};
use geo_types::MultiPolygon;
use gridmap_model::{BuildingId, CommunityId};
use rstar::RTreeObject;
use rstar::{primitives::GeomWithData, RTree, AABB};
use serde::Serialize;
use std::time::Instant;

/// A grid as drawn by hand: an id (or code) and its polygon in WGS84.
#[derive(Clone, Debug, PartialEq)]
pub struct DrawnGrid {
    pub id: String,
    pub boundary: MultiPolygon<f64>,
}

/// What one drawn grid gets.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GridCheck {
    pub id: String,
    pub buildings: Vec<BuildingId>,
    pub households: u64,
    pub in_band: bool,
    /// Pieces of the grid in the building adjacency graph (1 = contiguous; 0 = no buildings).
    pub components: usize,
    pub contiguous: bool,
    /// Communities of its buildings (more than one = crosses a community border).
    pub communities: Vec<Option<CommunityId>>,
    pub crosses_community: bool,
    /// Drawn area in m².
    pub area_m2: f64,
}

/// Area shared by two drawn grids.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GridOverlap {
    pub a: String,
    pub b: String,
    pub area_m2: f64,
}

/// The structured answer of [`Validator::validate`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ValidationReport {
    pub grids: Vec<GridCheck>,
    pub overlaps: Vec<GridOverlap>,
    pub unassigned: Vec<BuildingId>,
    pub unassigned_households: u64,
    pub out_of_band: Vec<String>,
    pub non_contiguous: Vec<String>,
    pub crossing_communities: Vec<String>,
    pub within_band_pct: f64,
    /// True when nothing above needs attention.
    pub ok: bool,
    pub seconds: f64,
}

/// Most (drawn grid, candidate building) pairs one validation examines.
pub const MAX_VALIDATION_PAIRS: usize = 300_000;
/// Most polygon vertices × candidate buildings one validation examines.
pub const MAX_VALIDATION_EDGE_WORK: usize = 30_000_000;
/// Most pairs of drawn grids with overlapping boxes one validation intersects.
pub const MAX_VALIDATION_OVERLAP_PAIRS: usize = 20_000;

type Indexed = GeomWithData<rstar::primitives::Rectangle<[f64; 2]>, usize>;

/// Prebuilt indexes over the buildings of one community (or any set of buildings).
pub struct Validator<'a> {
    prep: Prepared<'a>,
    band: Band,
    tree: RTree<Indexed>,
    footprints: Vec<MultiPolygon<f64>>,
    areas: Vec<f64>,
    graph: Graph,
}

impl<'a> Validator<'a> {
    /// Indexes `input.buildings` (communities, compounds and ways are not needed).
    pub fn new(
        input: &PartitionInput<'a>,
        params: &PartitionParams,
    ) -> Result<Self, PartitionError> {
        let band = params.band()?;
        let prep = Prepared::new(input)?;
        let footprints: Vec<MultiPolygon<f64>> = prep
            .buildings
            .iter()
            .map(|b| project_mp(&b.footprint, &prep.proj))
            .collect();
        let areas = footprints.iter().map(Area::unsigned_area).collect();
        let tree = RTree::bulk_load(
            footprints
                .iter()
                .enumerate()
                .filter_map(|(i, f)| {
                    let r = f.bounding_rect()?;
                    Some(Indexed::new(
                        rstar::primitives::Rectangle::from_corners(
                            [r.min().x, r.min().y],
                            [r.max().x, r.max().y],
                        ),
                        i,
                    ))
                })
                .collect(),
        );
        let none = BarrierIndex::new(
            &[],
            &BarrierRules::default(),
            &LocalProjection::new(0.0, 0.0),
        );
        let graph = Graph::delaunay(&prep.pts, &none);
        Ok(Self {
            prep,
            band,
            tree,
            footprints,
            areas,
            graph,
        })
    }

    /// Refuses a check whose work is out of proportion to an editing session (issue 13: a
    /// 5.6 KB body of large overlapping polygons cost seconds of CPU): at most
    /// [`MAX_VALIDATION_PAIRS`] (drawn grid, candidate building) pairs, [`MAX_VALIDATION_EDGE_WORK`]
    /// polygon vertices × candidate buildings, and [`MAX_VALIDATION_OVERLAP_PAIRS`] pairs of
    /// drawn grids whose boxes meet. Counting is cheap (R-tree envelope counts).
    pub fn check_work(&self, grids: &[DrawnGrid]) -> Result<(), PartitionError> {
        let polys: Vec<MultiPolygon<f64>> = grids
            .iter()
            .map(|g| project_mp(&g.boundary, &self.prep.proj))
            .collect();
        let (mut pairs, mut edge_work) = (0usize, 0usize);
        let mut rects = Vec::with_capacity(polys.len());
        for p in &polys {
            let Some(r) = p.bounding_rect() else { continue };
            rects.push(r);
            let env = AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
            let n = self.tree.locate_in_envelope_intersecting(&env).count();
            let verts: usize = p
                .0
                .iter()
                .map(|q| {
                    q.exterior().0.len() + q.interiors().iter().map(|i| i.0.len()).sum::<usize>()
                })
                .sum();
            pairs += n;
            edge_work = edge_work.saturating_add(n.saturating_mul(verts));
        }
        let too = |what, value, limit| {
            if value > limit {
                Err(PartitionError::ValidationTooLarge { what, value, limit })
            } else {
                Ok(())
            }
        };
        too(
            "the number of (drawn grid, nearby building) pairs",
            pairs,
            MAX_VALIDATION_PAIRS,
        )?;
        too(
            "polygon vertices × nearby buildings",
            edge_work,
            MAX_VALIDATION_EDGE_WORK,
        )?;
        let mut overlapping = 0usize;
        for a in 0..rects.len() {
            for b in a + 1..rects.len() {
                if rects[a].intersects(&rects[b]) {
                    overlapping += 1;
                }
            }
        }
        too(
            "the number of drawn grid pairs whose boxes overlap",
            overlapping,
            MAX_VALIDATION_OVERLAP_PAIRS,
        )
    }

    /// Checks drawn grids: membership, overlaps, unassigned buildings, band, contiguity and
    /// community borders.
    ///
    /// ```
    /// use geo_types::{LineString, MultiPolygon, Polygon};
    /// use gridmap_algo::partition::{DrawnGrid, PartitionInput, PartitionParams, Validator};
    /// use gridmap_model::{Building, BuildingId, CommunityId, HouseholdSource};
    /// let rect = |x0: f64, x1: f64, y0: f64, y1: f64| MultiPolygon(vec![Polygon::new(
    ///     LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]), vec![])]);
    /// let buildings: Vec<Building> = (0..12).map(|i| Building {
    ///     id: BuildingId::new(format!("b{i}")), name: None, building_type: None, address: None,
    ///     footprint: rect(116.3 + f64::from(i) * 0.0005, 116.3003 + f64::from(i) * 0.0005, 39.9, 39.9003),
    ///     entrance: None, levels: None, households: 50, households_source: HouseholdSource::Imported,
    ///     elderly: None, steward: None, compound: None, community: Some(CommunityId::new("c1")),
    /// }).collect();
    /// let input = PartitionInput { buildings: &buildings, ..PartitionInput::default() };
    /// let v = Validator::new(&input, &PartitionParams::default()).unwrap();
    /// // a planner draws one grid around the western six buildings
    /// let west = DrawnGrid { id: "west".into(), boundary: rect(116.2999, 116.3028, 39.8999, 39.9004) };
    /// let r = v.validate(&[west]);
    /// assert_eq!(r.grids[0].households, 300);
    /// assert!(r.grids[0].in_band && r.grids[0].contiguous && !r.grids[0].crosses_community);
    /// assert_eq!(r.unassigned.len(), 6); // the eastern six are in no grid yet
    /// assert!(!r.ok);
    /// ```
    pub fn validate(&self, grids: &[DrawnGrid]) -> ValidationReport {
        let t0 = Instant::now();
        let n = self.prep.buildings.len();
        let polys: Vec<MultiPolygon<f64>> = grids
            .iter()
            .map(|g| project_mp(&g.boundary, &self.prep.proj))
            .collect();
        let prepared: Vec<EdgeIndex> = polys.iter().map(EdgeIndex::new).collect();
        // Best (fraction, grid) per building, and the grid holding its centroid.
        let mut best: Vec<(f64, u32)> = vec![(0.0, u32::MAX); n];
        let mut by_centroid: Vec<u32> = vec![u32::MAX; n];
        for (gi, poly) in polys.iter().enumerate() {
            let Some(r) = poly.bounding_rect() else {
                continue;
            };
            let env = AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
            for cand in self.tree.locate_in_envelope_intersecting(&env) {
                let i = cand.data;
                let (cx, cy) = self.prep.pts[i];
                let edges = &prepared[gi];
                if by_centroid[i] == u32::MAX && edges.contains(cx, cy) {
                    by_centroid[i] = gi as u32;
                }
                let frac = self.inside_fraction(i, poly, edges, cand.geom());
                if frac > best[i].0 {
                    best[i] = (frac, gi as u32);
                }
            }
        }
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); grids.len()];
        let mut unassigned = Vec::new();
        for i in 0..n {
            let g = if best[i].0 > 0.5 {
                best[i].1
            } else {
                by_centroid[i]
            };
            if g == u32::MAX {
                unassigned.push(i);
            } else {
                members[g as usize].push(i);
            }
        }
        let mut in_part = vec![false; n];
        let mut seen = vec![false; n];
        let mut checks = Vec::with_capacity(grids.len());
        for (gi, g) in grids.iter().enumerate() {
            let m = &members[gi];
            let nodes: Vec<u32> = m.iter().map(|&i| i as u32).collect();
            for &i in m {
                in_part[i] = true;
            }
            let components =
                self.graph
                    .count_components(&nodes, &|v| in_part[v], &|_| true, &mut seen);
            for &i in m {
                in_part[i] = false;
            }
            let households: u64 = m
                .iter()
                .map(|&i| u64::from(self.prep.buildings[i].households))
                .sum();
            let mut communities: Vec<Option<CommunityId>> =
                m.iter().map(|&i| self.prep.community[i].clone()).collect();
            communities.sort();
            communities.dedup();
            checks.push(GridCheck {
                id: g.id.clone(),
                buildings: m
                    .iter()
                    .map(|&i| self.prep.buildings[i].id.clone())
                    .collect(),
                households,
                in_band: self.band.contains(households),
                components,
                contiguous: components == 1,
                crosses_community: communities.len() > 1,
                communities,
                area_m2: polys[gi].unsigned_area(),
            });
        }
        let mut overlaps = Vec::new();
        for a in 0..polys.len() {
            for b in a + 1..polys.len() {
                let (Some(ra), Some(rb)) = (polys[a].bounding_rect(), polys[b].bounding_rect())
                else {
                    continue;
                };
                if !ra.intersects(&rb) {
                    continue;
                }
                let area = polys[a].intersection(&polys[b]).unsigned_area();
                if area > 0.01 {
                    overlaps.push(GridOverlap {
                        a: grids[a].id.clone(),
                        b: grids[b].id.clone(),
                        area_m2: (area * 100.0).round() / 100.0,
                    });
                }
            }
        }
        let pick = |f: &dyn Fn(&GridCheck) -> bool| {
            checks
                .iter()
                .filter(|c| f(c))
                .map(|c| c.id.clone())
                .collect::<Vec<_>>()
        };
        let out_of_band = pick(&|c| !c.in_band);
        let non_contiguous = pick(&|c| !c.contiguous);
        let crossing_communities = pick(&|c| c.crosses_community);
        let in_band = checks.iter().filter(|c| c.in_band).count();
        let within_band_pct = if checks.is_empty() {
            100.0
        } else {
            (10_000.0 * in_band as f64 / checks.len() as f64).round() / 100.0
        };
        let ok = overlaps.is_empty()
            && unassigned.is_empty()
            && out_of_band.is_empty()
            && non_contiguous.is_empty()
            && crossing_communities.is_empty();
        ValidationReport {
            unassigned_households: unassigned
                .iter()
                .map(|&i| u64::from(self.prep.buildings[i].households))
                .sum(),
            unassigned: unassigned
                .iter()
                .map(|&i| self.prep.buildings[i].id.clone())
                .collect(),
            grids: checks,
            overlaps,
            out_of_band,
            non_contiguous,
            crossing_communities,
            within_band_pct,
            ok,
            seconds: t0.elapsed().as_secs_f64(),
        }
    }

    /// Share of building `i`'s footprint inside `poly` (metres): when no edge of the grid
    /// passes the footprint's bounding box, all or nothing (one point-in-polygon test); else the
    /// exact intersection area.
    fn inside_fraction(
        &self,
        i: usize,
        poly: &MultiPolygon<f64>,
        edges: &EdgeIndex,
        bbox: &rstar::primitives::Rectangle<[f64; 2]>,
    ) -> f64 {
        if self.areas[i] <= 0.0 {
            return 0.0;
        }
        let env = bbox.envelope();
        if !edges.touches(&env) {
            let Some(c) = self.footprints[i]
                .0
                .first()
                .and_then(|p| p.exterior().0.first())
            else {
                return 0.0;
            };
            return if edges.contains(c.x, c.y) { 1.0 } else { 0.0 };
        }
        (self.footprints[i].intersection(poly).unsigned_area() / self.areas[i]).clamp(0.0, 1.0)
    }
}

type EdgeSeg = GeomWithData<rstar::primitives::Line<[f64; 2]>, ()>;

/// The edges of a drawn polygon in an R-tree: point-in-polygon by counting crossings of a ray
/// (only the edges the ray's envelope meets), and "does an edge pass this box" in O(log n).
struct EdgeIndex {
    tree: RTree<EdgeSeg>,
    max_x: f64,
}

impl EdgeIndex {
    fn new(poly: &MultiPolygon<f64>) -> Self {
        let mut segs = Vec::new();
        let mut max_x = f64::MIN;
        for p in &poly.0 {
            for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                for l in ring.lines() {
                    max_x = max_x.max(l.start.x).max(l.end.x);
                    segs.push(EdgeSeg::new(
                        rstar::primitives::Line::new([l.start.x, l.start.y], [l.end.x, l.end.y]),
                        (),
                    ));
                }
            }
        }
        Self {
            tree: RTree::bulk_load(segs),
            max_x,
        }
    }

    fn touches(&self, env: &AABB<[f64; 2]>) -> bool {
        self.tree
            .locate_in_envelope_intersecting(env)
            .next()
            .is_some()
    }

    /// Even-odd rule with a ray towards +x (half-open in y, so vertices count once).
    fn contains(&self, x: f64, y: f64) -> bool {
        if x > self.max_x {
            return false;
        }
        let ray = AABB::from_corners([x, y], [self.max_x + 1.0, y]);
        let mut inside = false;
        for s in self.tree.locate_in_envelope_intersecting(&ray) {
            let (a, b) = (s.geom().from, s.geom().to);
            if (a[1] > y) != (b[1] > y) {
                let xi = a[0] + (y - a[1]) * (b[0] - a[0]) / (b[1] - a[1]);
                if xi > x {
                    inside = !inside;
                }
            }
        }
        inside
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Contains;
    use geo_types::{polygon, Point};

    #[test]
    fn ray_casting_agrees_with_geo_on_a_polygon_with_a_hole() {
        let outer = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 5.0, y: 6.0), (x: 0.0, y: 10.0)],
            interiors: [[(x: 2.0, y: 2.0), (x: 4.0, y: 2.0), (x: 4.0, y: 4.0), (x: 2.0, y: 4.0)]],
        );
        let mp = MultiPolygon(vec![outer]);
        let idx = EdgeIndex::new(&mp);
        for i in 0..60 {
            for j in 0..60 {
                let (x, y) = (
                    -1.0 + f64::from(i) * 0.2 + 0.013,
                    -1.0 + f64::from(j) * 0.2 + 0.007,
                );
                assert_eq!(
                    idx.contains(x, y),
                    mp.contains(&Point::new(x, y)),
                    "({x}, {y})"
                );
            }
        }
    }
}
