//! Display outlines of grids from their member buildings, without overlaps between neighbours.
//!
//! Every building centroid gets its Voronoi cell (spade Delaunay → circumcentres around each
//! vertex; eight far-away guard sites keep every real cell bounded). Each cell is cut down to the
//! bounding box of its own footprint grown by [`GRID_MARGIN_M`] (both are convex, so this is an
//! exact Sutherland–Hodgman clip), and a grid's outline is the union of its buildings' cut cells,
//! clipped to the community boundary when it is known, else to the convex hull of the
//! community's footprints grown by [`HULL_MARGIN_M`], then simplified. The outline hugs the
//! buildings: a grid of scattered clusters gets one part per cluster (a MultiPolygon), not a hull
//! across the empty land between them. Cells tile the plane and every clip only removes area, so
//! outlines of different grids never overlap.
use super::units::Prepared;
use super::{PartitionError, PartitionInput};
use crate::geometry::LocalProjection;
use geo::BoundingRect;
use geo::{BooleanOps, Buffer, ConvexHull, MultiPoint, Point, Simplify};
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use gridmap_model::{Building, BuildingId};
use spade::{DelaunayTriangulation, Point2, Triangulation};
use std::collections::{HashMap, HashSet};

/// Margin around the buildings when no community boundary is known, in metres.
pub const HULL_MARGIN_M: f64 = 25.0;
/// How far a grid's outline may reach beyond the bounding box of each of its footprints, in
/// metres: keeps outlines of sparse grids from claiming empty land between their buildings.
pub const GRID_MARGIN_M: f64 = 40.0;
/// Douglas–Peucker tolerance of outlines, in metres.
pub const SIMPLIFY_M: f64 = 1.0;

/// Outlines (WGS84) of grids given as lists of building ids, clipped to `boundary` (WGS84) when
/// given. Buildings of `grids` must be in `buildings`; the result has one outline per grid.
pub fn grid_outlines(
    buildings: &[Building],
    grids: &[Vec<BuildingId>],
    boundary: Option<&MultiPolygon<f64>>,
) -> Result<Vec<MultiPolygon<f64>>, PartitionError> {
    let prep = Prepared::new(&PartitionInput {
        buildings,
        ..PartitionInput::default()
    })?;
    let index: HashMap<&BuildingId, usize> = buildings
        .iter()
        .enumerate()
        .map(|(i, b)| (&b.id, i))
        .collect();
    let mut members = Vec::with_capacity(grids.len());
    for (g, list) in grids.iter().enumerate() {
        let mut m = Vec::with_capacity(list.len());
        for id in list {
            let i = *index
                .get(id)
                .ok_or_else(|| PartitionError::UnknownBuilding {
                    grid: format!("#{}", g + 1),
                    building: id.clone(),
                })?;
            m.push(i);
        }
        members.push(m);
    }
    let all: Vec<usize> = (0..buildings.len()).collect();
    Ok(outlines(&prep, &all, &members, boundary))
}

/// Outlines of `members` (building indices per grid) among the sites `all` (building indices).
pub(crate) fn outlines(
    prep: &Prepared<'_>,
    all: &[usize],
    members: &[Vec<usize>],
    boundary: Option<&MultiPolygon<f64>>,
) -> Vec<MultiPolygon<f64>> {
    let proj = prep.proj;
    let cells = voronoi_cells(&prep.pts, all);
    let clip: MultiPolygon<f64> = if let Some(b) = boundary {
        project_mp(b, &proj)
    } else {
        let pts: Vec<Point<f64>> = all
            .iter()
            .flat_map(|&i| {
                prep.buildings[i]
                    .footprint
                    .0
                    .iter()
                    .flat_map(|p| p.exterior().0.iter())
            })
            .map(|c| proj.project(c.x, c.y).into())
            .collect();
        MultiPoint::from(pts).convex_hull().buffer(HULL_MARGIN_M)
    };
    members
        .iter()
        .map(|m| {
            let polys: Vec<Polygon<f64>> = m
                .iter()
                .filter_map(|&i| {
                    let cell = cells.get(&i)?;
                    // The local projection is monotone in each axis: project the lon/lat box corners.
                    let r = prep.buildings[i].footprint.bounding_rect()?;
                    let (a, b) = (
                        proj.project(r.min().x, r.min().y),
                        proj.project(r.max().x, r.max().y),
                    );
                    let (x, y) = prep.pts[i];
                    let g = GRID_MARGIN_M;
                    let rect = [
                        a.0.min(x) - g,
                        a.1.min(y) - g,
                        b.0.max(x) + g,
                        b.1.max(y) + g,
                    ];
                    clip_convex_to_rect(cell, rect)
                })
                .collect();
            if polys.is_empty() {
                return MultiPolygon(Vec::new());
            }
            let union = geo::unary_union(polys.iter());
            let clipped = union.intersection(&clip).simplify(SIMPLIFY_M);
            unproject_mp(&clipped, &proj)
        })
        .collect()
}

/// The convex polygon `poly` cut to the rectangle `[x0, y0, x1, y1]` (Sutherland–Hodgman);
/// `None` when nothing of an area is left.
pub(crate) fn clip_convex_to_rect(poly: &Polygon<f64>, rect: [f64; 4]) -> Option<Polygon<f64>> {
    let mut ring: Vec<Coord<f64>> = poly.exterior().0.clone();
    if ring.len() > 1 && ring.first() == ring.last() {
        ring.pop();
    }
    // (axis, bound, keep the side >= bound)
    for (axis, bound, keep_ge) in [
        (0, rect[0], true),
        (0, rect[2], false),
        (1, rect[1], true),
        (1, rect[3], false),
    ] {
        if ring.is_empty() {
            return None;
        }
        let val = |c: &Coord<f64>| if axis == 0 { c.x } else { c.y };
        let inside = |c: &Coord<f64>| {
            if keep_ge {
                val(c) >= bound
            } else {
                val(c) <= bound
            }
        };
        let mut out = Vec::with_capacity(ring.len() + 2);
        for k in 0..ring.len() {
            let (a, b) = (ring[k], ring[(k + 1) % ring.len()]);
            let (ia, ib) = (inside(&a), inside(&b));
            if ia {
                out.push(a);
            }
            if ia != ib {
                let t = (bound - val(&a)) / (val(&b) - val(&a));
                out.push(Coord {
                    x: a.x + t * (b.x - a.x),
                    y: a.y + t * (b.y - a.y),
                });
            }
        }
        ring = out;
    }
    (ring.len() >= 3).then(|| Polygon::new(LineString::from(ring), vec![]))
}

/// Voronoi cell (metres) of each building index in `sites`; coincident sites share the first cell.
fn voronoi_cells(pts: &[(f64, f64)], sites: &[usize]) -> HashMap<usize, Polygon<f64>> {
    // Distinct positions in first-occurrence order (coincident sites share the first cell).
    let mut seen: HashSet<(u64, u64)> = HashSet::with_capacity(sites.len());
    let mut reps: Vec<usize> = Vec::with_capacity(sites.len());
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for &i in sites {
        let (x, y) = pts[i];
        (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        if seen.insert(((x + 0.0).to_bits(), (y + 0.0).to_bits())) {
            reps.push(i);
        }
    }
    if reps.is_empty() {
        return HashMap::new();
    }
    let verts: Vec<Point2<f64>> = reps
        .iter()
        .map(|&i| Point2::new(pts[i].0, pts[i].1))
        .collect();
    let mut tri = match DelaunayTriangulation::<Point2<f64>>::bulk_load_stable(verts) {
        Ok(t) if t.num_vertices() == reps.len() => t,
        _ => return HashMap::new(),
    };
    let owner: HashMap<usize, usize> = reps.iter().enumerate().map(|(v, &i)| (v, i)).collect();
    let pad = ((x1 - x0).max(y1 - y0)).max(1_000.0);
    let (cx, cy) = (f64::midpoint(x0, x1), f64::midpoint(y0, y1));
    let r = pad * 2.0;
    for (dx, dy) in [
        (-1.0, -1.0),
        (0.0, -1.0),
        (1.0, -1.0),
        (1.0, 0.0),
        (1.0, 1.0),
        (0.0, 1.0),
        (-1.0, 1.0),
        (-1.0, 0.0),
    ] {
        let _ = tri.insert(Point2::new(cx + dx * r, cy + dy * r));
    }
    let mut cells = HashMap::with_capacity(owner.len());
    for v in tri.vertices() {
        let Some(&i) = owner.get(&v.fix().index()) else {
            continue;
        };
        let mut ring: Vec<Coord<f64>> = Vec::new();
        let mut bounded = true;
        for e in v.out_edges() {
            match e.face().as_inner() {
                Some(f) => {
                    let c = f.circumcenter();
                    ring.push(Coord { x: c.x, y: c.y });
                }
                None => bounded = false,
            }
        }
        if bounded && ring.len() >= 3 {
            cells.insert(i, Polygon::new(LineString::from(ring), vec![]));
        }
    }
    cells
}

pub(crate) fn project_mp(mp: &MultiPolygon<f64>, proj: &LocalProjection) -> MultiPolygon<f64> {
    use geo::MapCoords;
    mp.map_coords(|c| {
        let (x, y) = proj.project(c.x, c.y);
        Coord { x, y }
    })
}

fn unproject_mp(mp: &MultiPolygon<f64>, proj: &LocalProjection) -> MultiPolygon<f64> {
    use geo::MapCoords;
    mp.map_coords(|c| {
        let (x, y) = proj.unproject(c.x, c.y);
        Coord { x, y }
    })
}
