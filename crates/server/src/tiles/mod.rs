//! Mapbox Vector Tiles of the layers and of a basemap drawn from the stored network ways:
//! features are projected to Web Mercator tile space (extent 4096), clipped to the tile plus a
//! buffer, simplified to about one tile unit (so detail follows the zoom), and encoded with
//! `geozero`'s MVT protobuf types. Encoded tiles are cached per data generation.
mod clip;

use crate::snapshot::{Collection, Row, Snapshot};
use clip::{clip_line, clip_ring};
use geo::Simplify;
use geo_types::{Coord, Geometry, LineString, MultiLineString, MultiPolygon, Point, Polygon};
use geozero::mvt::{tile, Message, TagsBuilder, Tile, TileValue};
use geozero::ToMvt;
use serde_json::Value;
use std::f64::consts::PI;
use std::sync::Arc;

/// Tile extent (units per tile side).
pub const EXTENT: u32 = 4096;
/// Buffer around the tile kept when clipping, in tile units.
pub const BUFFER: f64 = 64.0;
/// Highest zoom served.
pub const MAX_ZOOM: u8 = 22;
/// Highest zoom advertised in TileJSON (clients overzoom past it).
pub const TILEJSON_MAXZOOM: u8 = 16;

/// A tile layer (source) the server renders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TileLayer {
    Collection(Collection),
    /// Public OpenStreetMap context: roads, railways, water and their labels.
    Basemap,
}

impl TileLayer {
    pub const ALL: [TileLayer; 6] = [
        Self::Collection(Collection::Buildings),
        Self::Collection(Collection::Grids),
        Self::Collection(Collection::Facilities),
        Self::Collection(Collection::Compounds),
        Self::Collection(Collection::Communities),
        Self::Basemap,
    ];
    pub fn id(self) -> &'static str {
        match self {
            Self::Collection(c) => c.id(),
            Self::Basemap => "basemap",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.id() == s)
    }
    /// Lowest zoom with content (the lowest of its layers').
    pub fn minzoom(self) -> u8 {
        self.vector_layers()
            .iter()
            .map(|l| l.minzoom)
            .min()
            .unwrap_or(0)
    }
    /// Highest zoom advertised (the highest of its layers'; clients overzoom past it).
    pub fn maxzoom(self) -> u8 {
        self.vector_layers()
            .iter()
            .map(|l| l.maxzoom)
            .max()
            .unwrap_or(TILEJSON_MAXZOOM)
    }
    /// MVT layers inside a tile of this source: names, property names and types, zoom range.
    /// A collection's layer carries `id` and the collection's scalar properties (the same as
    /// its GeoJSON features, from [`Collection::properties`]).
    pub fn vector_layers(self) -> Vec<VectorLayer> {
        match self {
            Self::Collection(c) => {
                let mut fields = vec![("id", "String")];
                fields.extend(c.tile_fields());
                let full = VectorLayer {
                    id: c.id(),
                    fields,
                    minzoom: 0,
                    maxzoom: TILEJSON_MAXZOOM,
                };
                if c != Collection::Buildings {
                    return vec![full];
                }
                vec![
                    VectorLayer {
                        id: BUILDING_CELLS,
                        fields: vec![
                            ("households", "Number"),
                            ("buildings", "Number"),
                            ("elderly", "Number"),
                        ],
                        minzoom: 0,
                        maxzoom: BUILDINGS_MINZOOM - 1,
                    },
                    VectorLayer {
                        minzoom: BUILDINGS_MINZOOM,
                        ..full
                    },
                ]
            }
            Self::Basemap => [
                ("water", vec![("class", "String"), ("name", "String")]),
                ("railways", vec![("class", "String")]),
                ("roads", vec![("class", "String"), ("name", "String")]),
                ("labels", vec![("name", "String"), ("class", "String")]),
            ]
            .into_iter()
            .map(|(id, fields)| VectorLayer {
                id,
                fields,
                minzoom: 0,
                maxzoom: TILEJSON_MAXZOOM,
            })
            .collect(),
        }
    }
}

/// One MVT layer of a tile source, as TileJSON `vector_layers` describes it.
#[derive(Clone, Debug)]
pub struct VectorLayer {
    pub id: &'static str,
    /// Property names and TileJSON types (`String`, `Number`).
    pub fields: Vec<(&'static str, &'static str)>,
    pub minzoom: u8,
    pub maxzoom: u8,
}

/// Lowest zoom at which building tiles hold the footprints; below it they hold
/// [`BUILDING_CELLS`].
pub const BUILDINGS_MINZOOM: u8 = 13;
/// Name of the MVT layer of aggregated buildings (zoom 0 to [`BUILDINGS_MINZOOM`] - 1): one
/// square cell per occupied [`CELL`] × [`CELL`] square of the tile with the households,
/// buildings and known elderly of the buildings whose centre lies in it.
pub const BUILDING_CELLS: &str = "building_cells";
/// Side of a building cell in tile units (32 × 32 cells per tile; 8 px on a 256 px tile).
pub const CELL: u32 = 128;

/// Tile coordinates, validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TileId {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

impl TileId {
    /// `None` when the zoom is above [`MAX_ZOOM`] or x/y are outside the zoom's grid.
    pub fn new(z: u32, x: u32, y: u32) -> Option<Self> {
        if z > u32::from(MAX_ZOOM) {
            return None;
        }
        let n = 1u64 << z;
        (u64::from(x) < n && u64::from(y) < n).then_some(TileId { z: z as u8, x, y })
    }

    /// WGS84 bounds [west, south, east, north] of the tile grown by `buffer` tile units.
    pub fn bounds(&self, buffer: f64) -> [f64; 4] {
        let n = f64::from(1u32 << self.z);
        let b = buffer / f64::from(EXTENT);
        let lon = |x: f64| x / n * 360.0 - 180.0;
        let lat = |y: f64| (PI * (1.0 - 2.0 * y / n)).sinh().atan().to_degrees();
        let (x0, y0) = (f64::from(self.x) - b, f64::from(self.y) - b);
        let (x1, y1) = (f64::from(self.x) + 1.0 + b, f64::from(self.y) + 1.0 + b);
        [
            lon(x0).max(-180.0),
            lat(y1).max(-85.06),
            lon(x1).min(180.0),
            lat(y0).min(85.06),
        ]
    }

    /// Projects WGS84 lon/lat to this tile's coordinate space (y down, 0..EXTENT inside).
    pub fn project(&self, lon: f64, lat: f64) -> Coord<f64> {
        let n = f64::from(1u32 << self.z);
        let lat = lat.clamp(-85.051_128_78, 85.051_128_78).to_radians();
        let wx = (lon + 180.0) / 360.0 * n;
        let wy = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / PI) / 2.0 * n;
        let e = f64::from(EXTENT);
        Coord {
            x: (wx - f64::from(self.x)) * e,
            y: (wy - f64::from(self.y)) * e,
        }
    }
}

/// Key of a cached tile: source, tile, data generation and the caller's scope key (empty for
/// the whole dataset and for the basemap, which holds only public OpenStreetMap features).
pub type TileKey = (TileLayer, TileId, u64, String);

/// Cached encoded tiles; value = (bytes, ETag).
pub struct TileCache {
    cache: quick_cache::sync::Cache<TileKey, Arc<(Vec<u8>, String)>, TileWeight>,
}

/// Weighs a cached tile by its bytes: tiles of older layer versions stay until evicted, so the
/// cache is bounded by memory, not by count.
#[derive(Clone)]
pub struct TileWeight;

impl quick_cache::Weighter<TileKey, Arc<(Vec<u8>, String)>> for TileWeight {
    fn weight(&self, _k: &TileKey, v: &Arc<(Vec<u8>, String)>) -> u64 {
        (v.0.len() + v.1.len() + 64) as u64
    }
}

/// Most bytes of encoded tiles kept.
pub const TILE_CACHE_BYTES: u64 = 96 * 1024 * 1024;

impl TileCache {
    /// A cache of about `capacity` tiles holding at most [`TILE_CACHE_BYTES`].
    pub fn new(capacity: usize) -> Self {
        Self {
            cache: quick_cache::sync::Cache::with_weighter(capacity, TILE_CACHE_BYTES, TileWeight),
        }
    }
    pub fn get(&self, key: &TileKey) -> Option<Arc<(Vec<u8>, String)>> {
        self.cache.get(key)
    }
    pub fn insert(&self, key: TileKey, v: Arc<(Vec<u8>, String)>) {
        self.cache.insert(key, v);
    }
    pub fn clear(&self) {
        self.cache.clear();
    }
}

/// Strong ETag of tile bytes (FNV-1a 64).
pub fn content_etag(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("\"{h:016x}-{}\"", bytes.len())
}

/// Projects, clips and simplifies a WGS84 geometry into tile space; `None` when nothing is left.
pub fn to_tile_geometry(g: &Geometry<f64>, t: &TileId) -> Option<Geometry<f64>> {
    let (lo, hi) = (-BUFFER, f64::from(EXTENT) + BUFFER);
    let proj_line =
        |l: &LineString<f64>| LineString(l.0.iter().map(|c| t.project(c.x, c.y)).collect());
    match g {
        Geometry::Point(p) => {
            let c = t.project(p.x(), p.y());
            (c.x >= lo && c.x <= hi && c.y >= lo && c.y <= hi)
                .then(|| Geometry::Point(Point(round(c))))
        }
        Geometry::LineString(l) => lines_out(clip_line(&proj_line(l), lo, hi)),
        Geometry::MultiLineString(ml) => lines_out(
            ml.0.iter()
                .flat_map(|l| clip_line(&proj_line(l), lo, hi))
                .collect(),
        ),
        Geometry::Polygon(p) => polygons_out(vec![p], &proj_line, lo, hi),
        Geometry::MultiPolygon(mp) => polygons_out(mp.0.iter().collect(), &proj_line, lo, hi),
        _ => None,
    }
}

fn round(c: Coord<f64>) -> Coord<f64> {
    Coord {
        x: c.x.round(),
        y: c.y.round(),
    }
}

/// Rounds to integers and drops repeated points.
fn snap(l: &LineString<f64>) -> LineString<f64> {
    let mut out: Vec<Coord<f64>> = Vec::with_capacity(l.0.len());
    for c in &l.0 {
        let r = round(*c);
        if out.last() != Some(&r) {
            out.push(r);
        }
    }
    LineString(out)
}

fn lines_out(parts: Vec<LineString<f64>>) -> Option<Geometry<f64>> {
    let parts: Vec<LineString<f64>> = parts
        .iter()
        .map(|l| snap(&l.simplify(0.5)))
        .filter(|l| l.0.len() >= 2)
        .collect();
    match parts.len() {
        0 => None,
        1 => parts.into_iter().next().map(Geometry::LineString),
        _ => Some(Geometry::MultiLineString(MultiLineString(parts))),
    }
}

/// Shoelace sum in tile space (positive = MVT exterior winding).
fn signed_area(l: &LineString<f64>) -> f64 {
    l.0.windows(2)
        .map(|w| w[0].x * w[1].y - w[1].x * w[0].y)
        .sum::<f64>()
        / 2.0
}

fn ring_out(l: &LineString<f64>, lo: f64, hi: f64, exterior: bool) -> Option<LineString<f64>> {
    let clipped = clip_ring(l, lo, hi);
    if clipped.0.len() < 4 {
        return None;
    }
    let mut r = snap(&clipped.simplify(0.5));
    if r.0.first() != r.0.last() {
        let f = r.0[0];
        r.0.push(f);
    }
    let a = signed_area(&r);
    if r.0.len() < 4 || a.abs() < 0.5 {
        return None; // collapsed below one tile unit at this zoom
    }
    if (a > 0.0) != exterior {
        r.0.reverse();
    }
    Some(r)
}

fn polygons_out(
    polys: Vec<&Polygon<f64>>,
    proj: &impl Fn(&LineString<f64>) -> LineString<f64>,
    lo: f64,
    hi: f64,
) -> Option<Geometry<f64>> {
    let out: Vec<Polygon<f64>> = polys
        .into_iter()
        .filter_map(|p| {
            let ext = ring_out(&proj(p.exterior()), lo, hi, true)?;
            let holes = p
                .interiors()
                .iter()
                .filter_map(|h| ring_out(&proj(h), lo, hi, false))
                .collect();
            Some(Polygon::new(ext, holes))
        })
        .collect();
    match out.len() {
        0 => None,
        1 => out.into_iter().next().map(Geometry::Polygon),
        _ => Some(Geometry::MultiPolygon(MultiPolygon(out))),
    }
}

/// One MVT layer being filled.
struct LayerBuilder {
    name: &'static str,
    tags: TagsBuilder,
    features: Vec<tile::Feature>,
}

impl LayerBuilder {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            tags: TagsBuilder::new(),
            features: vec![],
        }
    }

    fn add(&mut self, g: &Geometry<f64>, t: &TileId, props: &[(&str, TileValue)]) {
        let Some(tg) = to_tile_geometry(g, t) else {
            return;
        };
        let Ok(mut f) = tg.to_mvt_unscaled() else {
            return;
        };
        for (k, v) in props {
            let (ki, vi) = self.tags.insert_ref(k, v.clone());
            f.tags.push(ki);
            f.tags.push(vi);
        }
        self.features.push(f);
    }

    /// Adds a geometry already in this tile's coordinate space (integers, MVT winding).
    fn add_tile_space(&mut self, tg: &Geometry<f64>, props: &[(&str, TileValue)]) {
        let Ok(mut f) = tg.to_mvt_unscaled() else {
            return;
        };
        for (k, v) in props {
            let (ki, vi) = self.tags.insert_ref(k, v.clone());
            f.tags.push(ki);
            f.tags.push(vi);
        }
        self.features.push(f);
    }

    fn finish(self) -> Option<tile::Layer> {
        if self.features.is_empty() {
            return None;
        }
        let (keys, values) = self.tags.into_tags();
        Some(tile::Layer {
            version: 2,
            name: self.name.to_owned(),
            features: self.features,
            keys,
            values: values.into_iter().map(Into::into).collect(),
            extent: Some(EXTENT),
        })
    }
}

fn tile_value(v: &Value) -> Option<TileValue> {
    match v {
        Value::String(s) => Some(TileValue::Str(s.clone())),
        Value::Bool(b) => Some(TileValue::Bool(*b)),
        Value::Number(n) => n
            .as_i64()
            .map(TileValue::Sint)
            .or_else(|| n.as_f64().map(TileValue::Double)),
        _ => None,
    }
}

fn row_props<'a>(row: &'a Row, fields: &[(&'a str, &str)]) -> Vec<(&'a str, TileValue)> {
    fields
        .iter()
        .filter_map(|(k, _)| {
            if *k == "id" {
                return Some((*k, TileValue::Str(row.id.clone())));
            }
            row.properties.get(*k).and_then(tile_value).map(|v| (*k, v))
        })
        .collect()
}

/// Basemap classes of a way from its tags; `None` for ways the basemap does not draw.
pub(crate) fn way_class(
    tags: &std::collections::BTreeMap<String, String>,
) -> Option<(&'static str, &str)> {
    if let Some(h) = tags.get("highway") {
        return Some(("roads", h.as_str()));
    }
    if let Some(r) = tags.get("railway") {
        return Some(("railways", r.as_str()));
    }
    if let Some(w) = tags.get("waterway") {
        return Some(("water", w.as_str()));
    }
    if tags
        .get("natural")
        .is_some_and(|n| n == "water" || n == "coastline")
    {
        return Some(("water", tags.get("natural").map_or("water", String::as_str)));
    }
    None
}

/// Whether a road class is drawn at zoom `z` (minor roads appear from z12).
fn road_visible(class: &str, z: u8) -> bool {
    match class {
        "motorway" | "trunk" | "primary" | "motorway_link" | "trunk_link" => true,
        "secondary" | "tertiary" | "primary_link" | "secondary_link" => z >= 10,
        _ => z >= 12,
    }
}

/// Renders one tile of a source. Empty tiles encode to zero bytes.
pub fn render(snap: &Snapshot, source: TileLayer, t: &TileId) -> Vec<u8> {
    if t.z < source.minzoom() {
        return Vec::new();
    }
    let bounds = t.bounds(BUFFER);
    let mut layers = Vec::new();
    match source {
        TileLayer::Collection(Collection::Buildings) if t.z < BUILDINGS_MINZOOM => {
            layers.extend(building_cells(snap, t));
        }
        TileLayer::Collection(c) => {
            let fields = source
                .vector_layers()
                .into_iter()
                .find(|l| l.id == c.id())
                .map(|l| l.fields)
                .unwrap_or_default();
            let index = snap.layer(c);
            let mut lb = LayerBuilder::new(c.id());
            for i in index.candidates(bounds) {
                let row = index.row(i);
                if let Some(g) = &row.geometry {
                    lb.add(g, t, &row_props(&row, &fields));
                }
            }
            layers.extend(lb.finish());
        }
        TileLayer::Basemap => {
            // Public OpenStreetMap context only: roads, railways and water with their names.
            // No project feature (building ids or counts, facilities, compounds, grids) is ever
            // drawn here: the basemap is one cached copy for every caller, so it must hold
            // nothing a scoped caller may not see (issue 13). Buildings come from the scoped
            // buildings layer.
            let ds = &snap.dataset;
            let (mut water, mut rail, mut roads, mut labels) = (
                LayerBuilder::new("water"),
                LayerBuilder::new("railways"),
                LayerBuilder::new("roads"),
                LayerBuilder::new("labels"),
            );
            for i in snap.ways_in(bounds) {
                let w = &ds.ways[i as usize];
                let Some((layer, class)) = way_class(&w.tags) else {
                    continue;
                };
                let g = Geometry::LineString(w.geometry.clone());
                let mut props = vec![("class", TileValue::Str(class.to_owned()))];
                if let Some(n) = w.tags.get("name") {
                    props.push(("name", TileValue::Str(n.clone())));
                }
                match layer {
                    "roads" if road_visible(class, t.z) => roads.add(&g, t, &props),
                    "railways" => rail.add(&g, t, &props[..1]),
                    "water" => {
                        water.add(&g, t, &props);
                        if t.z >= 14 && props.len() > 1 {
                            if let Some(p) = geo::InteriorPoint::interior_point(&g) {
                                labels.add(
                                    &Geometry::Point(p),
                                    t,
                                    &[props[1].clone(), ("class", TileValue::Str("water".into()))],
                                );
                            }
                        }
                    }
                    _ => {}
                }
            }
            layers.extend(
                [water, rail, roads, labels]
                    .into_iter()
                    .filter_map(LayerBuilder::finish),
            );
        }
    }
    if layers.is_empty() {
        return Vec::new();
    }
    Tile { layers }.encode_to_vec()
}

/// The [`BUILDING_CELLS`] layer of a tile: the snapshot's buildings (a grid lead's snapshot
/// holds only theirs) summed per [`CELL`] square by the centre of their envelope. A building
/// is counted in exactly one tile of a zoom (its centre's), so cells never double-count.
fn building_cells(snap: &Snapshot, t: &TileId) -> Option<tile::Layer> {
    let index = snap.layer(Collection::Buildings);
    let e = f64::from(EXTENT);
    let mut cells: std::collections::BTreeMap<(u32, u32), (u64, u64, u64)> = Default::default();
    for i in index.candidates(t.bounds(0.0)) {
        let Some((lon, lat)) = snap.building_centre(i as usize) else {
            continue;
        };
        let c = t.project(lon, lat);
        if !(c.x >= 0.0 && c.x < e && c.y >= 0.0 && c.y < e) {
            continue;
        }
        let b = &snap.dataset.buildings[i as usize];
        let cell = cells
            .entry(((c.x as u32) / CELL, (c.y as u32) / CELL))
            .or_default();
        cell.0 += u64::from(b.households);
        cell.1 += 1;
        cell.2 += u64::from(b.elderly.unwrap_or(0));
    }
    let mut lb = LayerBuilder::new(BUILDING_CELLS);
    let n = |v: u64| TileValue::Sint(i64::try_from(v).unwrap_or(i64::MAX));
    for ((cx, cy), (households, buildings, elderly)) in cells {
        let (x0, y0) = (f64::from(cx * CELL), f64::from(cy * CELL));
        let (x1, y1) = (x0 + f64::from(CELL), y0 + f64::from(CELL));
        // Clockwise on screen (y down): an MVT exterior ring.
        let square = Polygon::new(
            LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]),
            vec![],
        );
        lb.add_tile_space(
            &Geometry::Polygon(square),
            &[
                ("households", n(households)),
                ("buildings", n(buildings)),
                ("elderly", n(elderly)),
            ],
        );
    }
    lb.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_puts_tile_corners_at_zero_and_extent() {
        let t = TileId::new(14, 8529, 5975).unwrap();
        let b = t.bounds(0.0);
        let nw = t.project(b[0], b[3]);
        let se = t.project(b[2], b[1]);
        assert!(nw.x.abs() < 1e-6 && nw.y.abs() < 1e-6, "{nw:?}");
        assert!(
            (se.x - 4096.0).abs() < 1e-6 && (se.y - 4096.0).abs() < 1e-6,
            "{se:?}"
        );
    }

    #[test]
    fn tiles_outside_the_zoom_grid_do_not_exist() {
        assert!(TileId::new(2, 4, 0).is_none());
        assert!(TileId::new(23, 0, 0).is_none());
        assert!(TileId::new(0, 0, 0).is_some());
    }

    #[test]
    fn exterior_rings_get_mvt_winding() {
        let t = TileId::new(0, 0, 0).unwrap();
        // counter-clockwise in lon/lat is clockwise on screen after the y flip: positive area.
        let p = Polygon::new(
            LineString::from(vec![
                (0.0, 0.0),
                (10.0, 0.0),
                (10.0, 10.0),
                (0.0, 10.0),
                (0.0, 0.0),
            ]),
            vec![],
        );
        let Some(Geometry::Polygon(out)) = to_tile_geometry(&Geometry::Polygon(p), &t) else {
            panic!("polygon lost")
        };
        assert!(signed_area(out.exterior()) > 0.0);
    }
}

#[cfg(test)]
mod point_tests {
    use super::*;

    #[test]
    fn a_point_inside_the_tile_is_encoded() {
        let t = TileId::new(16, 53939, 24826).unwrap();
        let b = t.bounds(0.0);
        let p = Geometry::Point(Point::new(
            f64::midpoint(b[0], b[2]),
            f64::midpoint(b[1], b[3]),
        ));
        let g = to_tile_geometry(&p, &t).expect("inside");
        let f = g.to_mvt_unscaled();
        assert!(f.is_ok(), "{f:?}");
        assert!(!f.unwrap().geometry.is_empty());
    }
}
