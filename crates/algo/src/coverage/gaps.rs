//! Gap areas: uncovered buildings clustered by single linkage (two buildings are in the same gap
//! when a chain of uncovered buildings links them with steps ≤ `link_m`), ranked by households.
//!
//! Each gap gets a display polygon: the union of its footprints and of the single-linkage links
//! that joined them (a spanning forest), buffered by `margin_m` (raster, enclosed areas up to
//! 25 ha filled, simplified) — one connected shape that hugs the buildings and never spans
//! covered blocks the way a convex hull would. Buildings that could not be snapped to the network (farther than
//! the snap limit) are uncovered too and belong to gaps; buildings without geometry cannot.
use super::{CoverageEngine, KindCoverage};
use crate::isochrone::raster::{unproject, Raster};
use crate::AlgoError;
use geo_types::MultiPolygon;
use gridmap_model::{Building, BuildingId};
use rstar::primitives::GeomWithData;
use rstar::RTree;
use serde::Serialize;

/// Gap clustering and drawing parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct GapOptions {
    /// Single-linkage distance between building access points, metres (default 150).
    pub link_m: f64,
    /// Buffer around footprints for the polygon, metres (default 20).
    pub margin_m: f64,
    /// Raster cell for the polygon, metres (default 4).
    pub cell_m: f64,
    /// Gaps with fewer households are left out (default 0: keep all).
    pub min_households: u64,
}

impl Default for GapOptions {
    fn default() -> Self {
        Self {
            link_m: 150.0,
            margin_m: 20.0,
            cell_m: 4.0,
            min_households: 0,
        }
    }
}

/// One gap area.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GapArea {
    /// 1 = most households.
    pub rank: usize,
    pub households: u64,
    /// Residents 65+ where known.
    pub elderly: u64,
    pub buildings: Vec<BuildingId>,
    /// Members that could not be placed on the network at all.
    pub unplaced_buildings: usize,
    pub area_m2: f64,
    /// Household-weighted centre, lon/lat.
    pub centre: [f64; 2],
    pub polygon: MultiPolygon<f64>,
}

fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        parent[x as usize] = parent[parent[x as usize] as usize];
        x = parent[x as usize];
    }
    x
}

impl CoverageEngine {
    /// Gap areas of buildings not covered within `minutes`, largest (by households) first.
    /// `buildings` are the ones the engine was built from (same order): their footprints shape
    /// the gap outlines (the engine keeps only access points); an empty slice outlines points.
    pub fn gaps(
        &self,
        cov: &KindCoverage,
        minutes: f64,
        opts: &GapOptions,
        buildings: &[Building],
    ) -> Result<Vec<GapArea>, AlgoError> {
        self.gaps_within_groups(cov, minutes, opts, buildings, |_| Some(()))
    }

    /// Like [`CoverageEngine::gaps`], but a gap never joins buildings of different groups
    /// (`group_of(i)`, e.g. the community): in a dense city single linkage at 150 m can chain
    /// most uncovered buildings into one area; per-community gaps are what a street office acts on.
    pub fn gaps_within_groups<K: PartialEq>(
        &self,
        cov: &KindCoverage,
        minutes: f64,
        opts: &GapOptions,
        buildings: &[Building],
        group_of: impl Fn(usize) -> Option<K>,
    ) -> Result<Vec<GapArea>, AlgoError> {
        let limit = self.threshold_m(cov, minutes)?;
        for (name, v) in [
            ("link_m", opts.link_m),
            ("margin_m", opts.margin_m),
            ("cell_m", opts.cell_m),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(AlgoError::InvalidParameter {
                    name,
                    value: v.to_string(),
                    expected: "finite metres > 0",
                });
            }
        }
        let proj = *self.network().projection();
        let proj = if self.network().is_empty() {
            // no network: project around the buildings instead
            match self.buildings.iter().find_map(|b| b.location) {
                Some(p) => crate::geometry::LocalProjection::new(p[0], p[1]),
                None => proj,
            }
        } else {
            proj
        };
        let members: Vec<usize> = (0..self.buildings.len())
            .filter(|&i| self.buildings[i].location.is_some() && !Self::covered(cov, i, limit))
            .collect();
        let xy: Vec<[f64; 2]> = members
            .iter()
            .map(|&i| {
                let p = self.buildings[i].location.unwrap_or([0.0, 0.0]);
                let (x, y) = proj.project(p[0], p[1]);
                [x, y]
            })
            .collect();
        let groups: Vec<Option<K>> = members.iter().map(|&i| group_of(i)).collect();
        let tree: RTree<GeomWithData<[f64; 2], u32>> = RTree::bulk_load(
            xy.iter()
                .enumerate()
                .map(|(k, p)| GeomWithData::new(*p, k as u32))
                .collect(),
        );
        let mut parent: Vec<u32> = (0..members.len() as u32).collect();
        let link2 = opts.link_m * opts.link_m;
        // the links that joined two groups form a spanning forest: drawn as corridors
        let mut links: Vec<(usize, usize)> = Vec::new();
        for (k, p) in xy.iter().enumerate() {
            for other in tree.locate_within_distance(*p, link2) {
                if groups[k] != groups[other.data as usize] {
                    continue;
                }
                let (a, b) = (find(&mut parent, k as u32), find(&mut parent, other.data));
                if a != b {
                    parent[a.max(b) as usize] = a.min(b);
                    links.push((k, other.data as usize));
                }
            }
        }
        let mut links_of: std::collections::HashMap<u32, Vec<(usize, usize)>> =
            std::collections::HashMap::new();
        for (a, b) in links {
            let root = find(&mut parent, a as u32);
            links_of.entry(root).or_default().push((a, b));
        }
        let mut clusters: std::collections::BTreeMap<u32, Vec<usize>> =
            std::collections::BTreeMap::new();
        for k in 0..members.len() {
            let root = find(&mut parent, k as u32);
            clusters.entry(root).or_default().push(k);
        }
        let mut gaps: Vec<GapArea> = Vec::new();
        for (root, ks) in clusters {
            let households: u64 = ks
                .iter()
                .map(|&k| u64::from(self.buildings[members[k]].households))
                .sum();
            if households < opts.min_households {
                continue;
            }
            let elderly: u64 = ks
                .iter()
                .filter_map(|&k| self.buildings[members[k]].elderly)
                .map(u64::from)
                .sum();
            let weight: f64 = ks
                .iter()
                .map(|&k| f64::from(self.buildings[members[k]].households.max(1)))
                .sum();
            let (mut cx, mut cy) = (0.0, 0.0);
            for &k in &ks {
                let w = f64::from(self.buildings[members[k]].households.max(1)) / weight;
                cx += xy[k][0] * w;
                cy += xy[k][1] * w;
            }
            let (clon, clat) = proj.unproject(cx, cy);
            let links = links_of.get(&root).map_or(&[][..], Vec::as_slice);
            let (polys, area) = self.gap_polygon(&ks, links, &members, &xy, &proj, opts, buildings);
            gaps.push(GapArea {
                rank: 0,
                households,
                elderly,
                buildings: ks
                    .iter()
                    .map(|&k| self.buildings[members[k]].id.clone())
                    .collect(),
                unplaced_buildings: ks
                    .iter()
                    .filter(|&&k| self.buildings[members[k]].placement.is_err())
                    .count(),
                area_m2: area,
                centre: [clon, clat],
                polygon: unproject(polys, &proj),
            });
        }
        gaps.sort_by(|a, b| {
            b.households
                .cmp(&a.households)
                .then(b.buildings.len().cmp(&a.buildings.len()))
        });
        for (r, g) in gaps.iter_mut().enumerate() {
            g.rank = r + 1;
        }
        Ok(gaps)
    }

    #[allow(clippy::too_many_arguments)] // one call site; the inputs are the clustering's own arrays
    fn gap_polygon(
        &self,
        ks: &[usize],
        links: &[(usize, usize)],
        members: &[usize],
        xy: &[[f64; 2]],
        proj: &crate::geometry::LocalProjection,
        opts: &GapOptions,
        buildings: &[Building],
    ) -> (Vec<geo_types::Polygon<f64>>, f64) {
        let mut segs: Vec<([f64; 2], [f64; 2])> =
            links.iter().map(|&(a, b)| (xy[a], xy[b])).collect();
        for &k in ks {
            segs.push((xy[k], xy[k]));
            let site = &self.buildings[members[k]];
            let Some(b) = buildings.get(members[k]).filter(|b| b.id == site.id) else {
                continue;
            };
            for poly in &b.footprint.0 {
                for c in poly.exterior().0.windows(2) {
                    let (ax, ay) = proj.project(c[0].x, c[0].y);
                    let (bx, by) = proj.project(c[1].x, c[1].y);
                    segs.push(([ax, ay], [bx, by]));
                }
            }
        }
        let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
        for (a, b) in &segs {
            for p in [a, b] {
                lo = [lo[0].min(p[0]), lo[1].min(p[1])];
                hi = [hi[0].max(p[0]), hi[1].max(p[1])];
            }
        }
        let mut r = Raster::covering(lo, hi, opts.margin_m, opts.cell_m);
        for (a, b) in segs {
            r.burn_segment(a, b, opts.margin_m, |_, _| 0.0);
        }
        // courtyards and the insides of large footprints are part of the area
        let mask = r.mask(0.0, 250_000.0);
        r.polygons(&mask, r.cell_m())
    }
}
