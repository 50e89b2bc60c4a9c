//! `synth`: an N×N tiling of a dataset for scale tests. Copy (i, j) is the base shifted east by
//! i × (width + gap) and north by j × (height + gap) metres (a local equirectangular projection
//! around the base's centre, so shapes keep their size), with every id suffixed `~i_j` (copy
//! (0, 0) keeps the original ids). Network copies are stitched at every seam by
//! [`SEAM_CONNECTORS_PER_SEAM`] short footways (`highway=footway`, `synth=seam`) between the
//! walkable vertices nearest to evenly spaced points along the facing edges, so the tiled
//! network stays connected. The extent is that of buildings, facilities and ways.
use geo::{BoundingRect, MapCoords};
use geo_types::{coord, Coord, LineString, Rect};
use gridmap_model::{
    BuildingId, Community, CommunityId, Compound, CompoundId, Dataset, FacilityId, GridId,
    NetworkWay, Street, StreetId, WayId,
};
use std::collections::{BTreeMap, BTreeSet};

/// Gap between copies, metres.
pub const SYNTH_GAP_M: f64 = 30.0;
/// Connector footways per seam between two neighbouring copies.
pub const SEAM_CONNECTORS_PER_SEAM: usize = 20;

const EARTH_RADIUS_M: f64 = 6_371_008.8;
const WALKABLE: [&str; 12] = [
    "footway",
    "path",
    "pedestrian",
    "steps",
    "living_street",
    "residential",
    "service",
    "unclassified",
    "tertiary",
    "secondary",
    "primary",
    "track",
];

fn suffix(id: &str, i: u32, j: u32) -> String {
    if i == 0 && j == 0 {
        id.to_owned()
    } else {
        format!("{id}~{i}_{j}")
    }
}

fn extent(ds: &Dataset) -> Option<Rect<f64>> {
    let rects = ds
        .buildings
        .iter()
        .filter_map(|b| b.footprint.bounding_rect())
        .chain(ds.ways.iter().filter_map(|w| w.geometry.bounding_rect()))
        .chain(ds.facilities.iter().map(|f| f.location.bounding_rect()));
    rects.reduce(|a, b| {
        Rect::new(
            coord! { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
            coord! { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
        )
    })
}

/// Shift in degrees of copy (i, j).
struct Tiling {
    step_lon: f64,
    step_lat: f64,
}

impl Tiling {
    fn shift(&self, c: Coord<f64>, i: u32, j: u32) -> Coord<f64> {
        if i == 0 && j == 0 {
            return c;
        }
        coord! { x: c.x + f64::from(i) * self.step_lon, y: c.y + f64::from(j) * self.step_lat }
    }
}

/// Tiles `base` n×n times (n = 0 gives an empty dataset, 1 a copy).
pub fn synth(base: &Dataset, n: u32) -> Dataset {
    if n <= 1 {
        return if n == 1 {
            base.clone()
        } else {
            Dataset::default()
        };
    }
    let Some(bb) = extent(base) else {
        return base.clone();
    };
    let lat0 = f64::midpoint(bb.min().y, bb.max().y);
    let ky = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;
    let kx = ky * lat0.to_radians().cos();
    let (w_m, h_m) = (bb.width() * kx, bb.height() * ky);
    let t = Tiling {
        step_lon: (w_m + SYNTH_GAP_M) / kx,
        step_lat: (h_m + SYNTH_GAP_M) / ky,
    };
    let mut out = Dataset::default();
    let cap = (n * n) as usize;
    out.buildings.reserve(base.buildings.len() * cap);
    out.ways.reserve(base.ways.len() * cap);
    for j in 0..n {
        for i in 0..n {
            copy_into(&mut out, base, &t, i, j);
        }
    }
    let (east, north) = seam_pairs(base, bb, kx, ky);
    let seam_tags: BTreeMap<String, String> = [("highway", "footway"), ("synth", "seam")]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    for j in 0..n {
        for i in 0..n {
            let mut connect = |pairs: &[(Coord<f64>, Coord<f64>)], di: u32, dj: u32, dir: &str| {
                for (k, (a, b)) in pairs.iter().enumerate() {
                    out.ways.push(NetworkWay {
                        id: WayId::new(format!("seam~{dir}~{i}_{j}~{k}")),
                        geometry: LineString::new(vec![
                            t.shift(*a, i, j),
                            t.shift(*b, i + di, j + dj),
                        ]),
                        tags: seam_tags.clone(),
                        length_m: None,
                    });
                }
            };
            if i + 1 < n {
                connect(&east, 1, 0, "e");
            }
            if j + 1 < n {
                connect(&north, 0, 1, "n");
            }
        }
    }
    out
}

fn copy_into(out: &mut Dataset, base: &Dataset, t: &Tiling, i: u32, j: u32) {
    let mv = |c: Coord<f64>| t.shift(c, i, j);
    let s = |id: &str| suffix(id, i, j);
    for x in &base.streets {
        out.streets.push(Street {
            id: StreetId::new(s(x.id.as_str())),
            name: x.name.clone(),
            boundary: x.boundary.as_ref().map(|b| b.map_coords(mv)),
        });
    }
    for x in &base.communities {
        out.communities.push(Community {
            id: CommunityId::new(s(x.id.as_str())),
            name: x.name.clone(),
            street: x.street.as_ref().map(|v| StreetId::new(s(v.as_str()))),
            boundary: x.boundary.as_ref().map(|b| b.map_coords(mv)),
        });
    }
    for x in &base.compounds {
        out.compounds.push(Compound {
            id: CompoundId::new(s(x.id.as_str())),
            name: x.name.clone(),
            kind: x.kind,
            community: x
                .community
                .as_ref()
                .map(|v| CommunityId::new(s(v.as_str()))),
            boundary: x.boundary.as_ref().map(|b| b.map_coords(mv)),
        });
    }
    for b in &base.buildings {
        let mut c = b.clone();
        c.id = BuildingId::new(s(b.id.as_str()));
        c.footprint = b.footprint.map_coords(mv);
        c.entrance = b.entrance.map(|e| e.map_coords(mv));
        c.compound = b.compound.as_ref().map(|v| CompoundId::new(s(v.as_str())));
        c.community = b
            .community
            .as_ref()
            .map(|v| CommunityId::new(s(v.as_str())));
        out.buildings.push(c);
    }
    for f in &base.facilities {
        let mut c = f.clone();
        c.id = FacilityId::new(s(f.id.as_str()));
        c.location = f.location.map_coords(mv);
        out.facilities.push(c);
    }
    for g in &base.grids {
        let mut c = g.clone();
        c.id = GridId::new(s(g.id.as_str()));
        c.code = s(&g.code);
        c.community = g
            .community
            .as_ref()
            .map(|v| CommunityId::new(s(v.as_str())));
        c.buildings = g
            .buildings
            .iter()
            .map(|b| BuildingId::new(s(b.as_str())))
            .collect();
        c.boundary = g.boundary.as_ref().map(|b| b.map_coords(mv));
        out.grids.push(c);
    }
    for w in &base.ways {
        out.ways.push(NetworkWay {
            id: WayId::new(s(w.id.as_str())),
            geometry: w.geometry.map_coords(mv),
            tags: w.tags.clone(),
            length_m: w.length_m,
        });
    }
}

/// Base-dataset vertex pairs to connect across an east seam (right edge of a copy → left edge
/// of the next) and a north seam (top edge → bottom edge of the copy above).
#[allow(clippy::type_complexity)]
fn seam_pairs(
    base: &Dataset,
    bb: Rect<f64>,
    kx: f64,
    ky: f64,
) -> (Vec<(Coord<f64>, Coord<f64>)>, Vec<(Coord<f64>, Coord<f64>)>) {
    let walkable = |w: &&NetworkWay| {
        w.tags
            .get("highway")
            .is_some_and(|h| WALKABLE.contains(&h.as_str()))
    };
    let mut verts: Vec<Coord<f64>> = base
        .ways
        .iter()
        .filter(walkable)
        .flat_map(|w| w.geometry.0.iter().copied())
        .collect();
    if verts.is_empty() {
        verts = base
            .ways
            .iter()
            .filter(|w| w.tags.contains_key("highway"))
            .flat_map(|w| w.geometry.0.iter().copied())
            .collect();
    }
    if verts.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let nearest = |target: Coord<f64>| -> Coord<f64> {
        let d2 = |c: &Coord<f64>| ((c.x - target.x) * kx).powi(2) + ((c.y - target.y) * ky).powi(2);
        verts
            .iter()
            .copied()
            .min_by(|a, b| d2(a).total_cmp(&d2(b)))
            .unwrap_or(target)
    };
    let k = SEAM_CONNECTORS_PER_SEAM;
    let mut east = BTreeSet::new();
    let mut north = BTreeSet::new();
    let key =
        |a: Coord<f64>, b: Coord<f64>| (a.x.to_bits(), a.y.to_bits(), b.x.to_bits(), b.y.to_bits());
    let mut east_v = Vec::new();
    let mut north_v = Vec::new();
    for s in 0..k {
        let f = (s as f64 + 0.5) / k as f64;
        let y = bb.min().y + f * bb.height();
        let (a, b) = (
            nearest(coord! { x: bb.max().x, y: y }),
            nearest(coord! { x: bb.min().x, y: y }),
        );
        if east.insert(key(a, b)) {
            east_v.push((a, b));
        }
        let x = bb.min().x + f * bb.width();
        let (a, b) = (
            nearest(coord! { x: x, y: bb.max().y }),
            nearest(coord! { x: x, y: bb.min().y }),
        );
        if north.insert(key(a, b)) {
            north_v.push((a, b));
        }
    }
    (east_v, north_v)
}
