//! The read-mostly cache the API answers from: every layer of the store as features with
//! pre-serialized CRS84 GeoJSON, an R-tree of their envelopes and the filter keys, rebuilt
//! lazily when the data generation changes (any edit through the API bumps it).
use crate::backend::Store;
use crate::error::ApiError;
use crate::geojson::{identity, write_feature};
use geo::{BoundingRect, ConvexHull, Intersects};
use geo_types::{Geometry, MultiPoint, MultiPolygon, Point, Rect};
use gridmap_model::{Dataset, FacilityKind};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

/// The collections the API serves, in listing order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Collection {
    Buildings,
    Compounds,
    Communities,
    Grids,
    Facilities,
}

impl Collection {
    pub const ALL: [Collection; 5] =
        [Self::Buildings, Self::Compounds, Self::Communities, Self::Grids, Self::Facilities];

    pub fn id(self) -> &'static str {
        match self {
            Self::Buildings => "buildings",
            Self::Compounds => "compounds",
            Self::Communities => "communities",
            Self::Grids => "grids",
            Self::Facilities => "facilities",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.id() == s)
    }
    pub fn title(self) -> &'static str {
        match self {
            Self::Buildings => "Buildings (楼栋)",
            Self::Compounds => "Residential compounds (小区)",
            Self::Communities => "Communities (社区)",
            Self::Grids => "Grids (网格)",
            Self::Facilities => "Service facilities",
        }
    }
    pub fn description(self) -> &'static str {
        match self {
            Self::Buildings => "Building footprints with households (and where the count came from), elderly residents, steward, compound, community and grid.",
            Self::Compounds => "Residential compounds with their kind, community and household totals.",
            Self::Communities => "Communities, the units grids are cut in, with household totals.",
            Self::Grids => "Grids of about 300 households: code, leads, member buildings and statistics. Editable (OGC API Part 4) with ETag/If-Match.",
            Self::Facilities => "Service stations, canteens, reading rooms, outreach points and other facilities. Editable (OGC API Part 4) with ETag/If-Match.",
        }
    }
    /// Whether the collection accepts OGC API Part 4 edits.
    pub fn editable(self) -> bool {
        matches!(self, Self::Grids | Self::Facilities)
    }
    /// Property filters its items accept (query parameter = property name).
    pub fn filters(self) -> &'static [Filter] {
        match self {
            Self::Buildings => &[Filter::Community, Filter::Grid, Filter::Compound],
            Self::Compounds => &[Filter::Community, Filter::Kind],
            Self::Communities => &[Filter::Street],
            Self::Grids => &[Filter::Community],
            Self::Facilities => &[Filter::Kind],
        }
    }
    /// OGC geometry type name for queryables and the collection document.
    pub fn geometry_type(self) -> &'static str {
        match self {
            Self::Facilities => "Point",
            _ => "MultiPolygon",
        }
    }
}

/// A property filter of the items endpoints (exact match on the property value).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Filter {
    Community,
    Grid,
    Compound,
    Kind,
    Street,
}

impl Filter {
    pub fn name(self) -> &'static str {
        match self {
            Self::Community => "community",
            Self::Grid => "grid",
            Self::Compound => "compound",
            Self::Kind => "kind",
            Self::Street => "street",
        }
    }
    fn slot(self) -> usize {
        self as usize
    }
}

/// One feature of a layer, ready to serve.
#[derive(Debug)]
pub struct Row {
    pub id: String,
    pub geometry: Option<Geometry<f64>>,
    pub properties: Map<String, Value>,
    /// The whole Feature as CRS84 GeoJSON, serialized once per data generation.
    pub json: String,
    filters: [Option<String>; 5],
}

impl Row {
    fn new(id: String, geometry: Option<Geometry<f64>>, mut properties: Map<String, Value>, filters: &[(Filter, Option<String>)]) -> Self {
        // Unknown values are left out rather than sent as null: a third less to send per page.
        properties.retain(|_, v| !v.is_null());
        let mut json = String::with_capacity(256);
        write_feature(&mut json, &id, geometry.as_ref(), &properties, &identity);
        let mut f: [Option<String>; 5] = Default::default();
        for (k, v) in filters {
            f[k.slot()] = v.clone();
        }
        Row { id, geometry, properties, json, filters: f }
    }
    pub fn filter_value(&self, f: Filter) -> Option<&str> {
        self.filters[f.slot()].as_deref()
    }
}

type Entry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// One layer: rows sorted by id, an envelope R-tree and an id index.
#[derive(Debug)]
pub struct LayerIndex {
    pub rows: Vec<Row>,
    tree: RTree<Entry>,
    by_id: HashMap<String, u32>,
    /// [minx, miny, maxx, maxy] of all geometries, when there are any.
    pub extent: Option<[f64; 4]>,
}

impl LayerIndex {
    fn new(mut rows: Vec<Row>) -> Self {
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        let mut extent: Option<[f64; 4]> = None;
        let mut entries = Vec::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            if let Some(rect) = r.geometry.as_ref().and_then(|g| g.bounding_rect()) {
                let (a, b) = (rect.min(), rect.max());
                entries.push(GeomWithData::new(Rectangle::from_corners([a.x, a.y], [b.x, b.y]), i as u32));
                extent = Some(match extent {
                    None => [a.x, a.y, b.x, b.y],
                    Some(e) => [e[0].min(a.x), e[1].min(a.y), e[2].max(b.x), e[3].max(b.y)],
                });
            }
        }
        let by_id = rows.iter().enumerate().map(|(i, r)| (r.id.clone(), i as u32)).collect();
        LayerIndex { rows, tree: RTree::bulk_load(entries), by_id, extent }
    }

    pub fn get(&self, id: &str) -> Option<&Row> {
        self.by_id.get(id).map(|&i| &self.rows[i as usize])
    }

    /// Indices (in id order) of rows whose geometry intersects any of `boxes` (WGS84) and
    /// whose filter values equal the given ones.
    pub fn select(&self, boxes: Option<&[[f64; 4]]>, filters: &[(Filter, String)]) -> Vec<u32> {
        let pass = |r: &Row| filters.iter().all(|(f, v)| r.filter_value(*f) == Some(v.as_str()));
        let mut out: Vec<u32> = match boxes {
            None => (0..self.rows.len() as u32).filter(|&i| pass(&self.rows[i as usize])).collect(),
            Some(boxes) => {
                let mut v = Vec::new();
                for b in boxes {
                    let rect = Rect::new((b[0], b[1]), (b[2], b[3]));
                    let env = AABB::from_corners([b[0], b[1]], [b[2], b[3]]);
                    for e in self.tree.locate_in_envelope_intersecting(&env) {
                        let r = &self.rows[e.data as usize];
                        // Exact test: clients (GDAL) filter on the true geometry, not the envelope.
                        if pass(r) && r.geometry.as_ref().is_some_and(|g| g.intersects(&rect)) {
                            v.push(e.data);
                        }
                    }
                }
                v
            }
        };
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Indices of rows whose envelope intersects a box (for tiles; exact clipping follows).
    pub fn candidates(&self, b: [f64; 4]) -> Vec<u32> {
        let env = AABB::from_corners([b[0], b[1]], [b[2], b[3]]);
        let mut v: Vec<u32> = self.tree.locate_in_envelope_intersecting(&env).map(|e| e.data).collect();
        v.sort_unstable();
        v
    }
}

/// All layers at one data generation.
#[derive(Debug)]
pub struct Snapshot {
    pub generation: u64,
    /// When this snapshot was read from the store.
    pub loaded_at: SystemTime,
    pub dataset: Arc<Dataset>,
    layers: HashMap<Collection, LayerIndex>,
    /// Position of each building (by id) in `dataset.buildings`.
    pub building_pos: HashMap<String, usize>,
}

impl Snapshot {
    /// A stored building by id.
    pub fn building(&self, id: &str) -> Option<&gridmap_model::Building> {
        self.building_pos.get(id).map(|&i| &self.dataset.buildings[i])
    }

    /// Geometry and properties of a grid feature (its statistics from this snapshot's buildings).
    pub fn grid_feature(&self, g: &gridmap_model::Grid) -> (Option<Geometry<f64>>, Map<String, Value>) {
        grid_feature_parts(&self.dataset, &self.building_pos, g)
    }

    pub fn layer(&self, c: Collection) -> &LayerIndex {
        // Every collection is built in `build`; an empty index is never missing.
        &self.layers[&c]
    }

    /// Builds every layer of a dataset.
    pub fn build(generation: u64, ds: Arc<Dataset>) -> Self {
        let mut grid_of: HashMap<&str, &str> = HashMap::new();
        for g in &ds.grids {
            for b in &g.buildings {
                grid_of.insert(b.as_str(), g.id.as_str());
            }
        }
        let mut layers = HashMap::new();
        let hh_by = |key: fn(&gridmap_model::Building) -> Option<&str>| {
            let mut m: HashMap<String, (u64, u64, u64, Vec<Point<f64>>)> = HashMap::new();
            for b in &ds.buildings {
                if let Some(k) = key(b) {
                    let e = m.entry(k.to_owned()).or_default();
                    e.0 += 1;
                    e.1 += u64::from(b.households);
                    e.2 += u64::from(b.elderly.unwrap_or(0));
                    e.3.extend(b.footprint.0.iter().flat_map(|p| p.exterior().points()));
                }
            }
            m
        };
        let by_compound = hh_by(|b| b.compound.as_ref().map(|c| c.as_str()));
        let by_community = hh_by(|b| b.community.as_ref().map(|c| c.as_str()));
        let hull = |pts: Option<&Vec<Point<f64>>>| -> Option<Geometry<f64>> {
            let pts = pts.filter(|p| p.len() >= 3)?;
            let h = MultiPoint(pts.clone()).convex_hull();
            Some(Geometry::MultiPolygon(MultiPolygon(vec![h])))
        };

        let buildings = ds
            .buildings
            .iter()
            .map(|b| {
                let grid = grid_of.get(b.id.as_str()).map(|s| (*s).to_owned());
                let p = json!({
                    "name": b.name, "building_type": b.building_type, "address": b.address,
                    "levels": b.levels, "households": b.households,
                    "households_source": b.households_source.as_str(), "elderly": b.elderly,
                    "steward": b.steward, "compound": b.compound, "community": b.community,
                    "grid": grid, "area_m2": (b.area_m2() * 10.0).round() / 10.0,
                });
                Row::new(
                    b.id.to_string(),
                    Some(Geometry::MultiPolygon(b.footprint.clone())),
                    obj(p),
                    &[
                        (Filter::Community, b.community.as_ref().map(ToString::to_string)),
                        (Filter::Grid, grid),
                        (Filter::Compound, b.compound.as_ref().map(ToString::to_string)),
                    ],
                )
            })
            .collect();
        layers.insert(Collection::Buildings, LayerIndex::new(buildings));

        let compounds = ds
            .compounds
            .iter()
            .map(|c| {
                let s = by_compound.get(c.id.as_str());
                let (geometry, source) = match &c.boundary {
                    Some(b) => (Some(Geometry::MultiPolygon(b.clone())), "boundary"),
                    None => (hull(s.map(|s| &s.3)), "buildings_hull"),
                };
                let p = json!({
                    "name": c.name, "kind": c.kind.as_str(), "community": c.community,
                    "buildings": s.map_or(0, |s| s.0), "households": s.map_or(0, |s| s.1),
                    "elderly": s.map_or(0, |s| s.2), "geometry_source": source,
                });
                Row::new(c.id.to_string(), geometry, obj(p), &[
                    (Filter::Community, c.community.as_ref().map(ToString::to_string)),
                    (Filter::Kind, Some(c.kind.as_str().to_owned())),
                ])
            })
            .collect();
        layers.insert(Collection::Compounds, LayerIndex::new(compounds));

        let grids_per_community = ds.grids.iter().fold(HashMap::<&str, u64>::new(), |mut m, g| {
            if let Some(c) = &g.community {
                *m.entry(c.as_str()).or_default() += 1;
            }
            m
        });
        let communities = ds
            .communities
            .iter()
            .map(|c| {
                let s = by_community.get(c.id.as_str());
                let (geometry, source) = match &c.boundary {
                    Some(b) => (Some(Geometry::MultiPolygon(b.clone())), "boundary"),
                    None => (hull(s.map(|s| &s.3)), "buildings_hull"),
                };
                let p = json!({
                    "name": c.name, "street": c.street,
                    "buildings": s.map_or(0, |s| s.0), "households": s.map_or(0, |s| s.1),
                    "elderly": s.map_or(0, |s| s.2),
                    "grids": grids_per_community.get(c.id.as_str()).copied().unwrap_or(0),
                    "geometry_source": source,
                });
                Row::new(c.id.to_string(), geometry, obj(p), &[(Filter::Street, c.street.as_ref().map(ToString::to_string))])
            })
            .collect();
        layers.insert(Collection::Communities, LayerIndex::new(communities));

        let building_pos: HashMap<String, usize> =
            ds.buildings.iter().enumerate().map(|(i, b)| (b.id.to_string(), i)).collect();
        let grids = ds
            .grids
            .iter()
            .map(|g| {
                let (geometry, props) = grid_feature_parts(&ds, &building_pos, g);
                Row::new(g.id.to_string(), geometry, props, &[(Filter::Community, g.community.as_ref().map(ToString::to_string))])
            })
            .collect();
        layers.insert(Collection::Grids, LayerIndex::new(grids));

        let facilities = ds
            .facilities
            .iter()
            .map(|f| {
                Row::new(f.id.to_string(), Some(Geometry::Point(f.location)), facility_properties(f), &[(
                    Filter::Kind,
                    Some(f.kind.as_str().to_owned()),
                )])
            })
            .collect();
        layers.insert(Collection::Facilities, LayerIndex::new(facilities));

        Snapshot { generation, loaded_at: SystemTime::now(), dataset: ds, layers, building_pos }
    }
}

/// The part of a dataset a grid lead may see: the grids in `grids`, their member buildings, the
/// compounds, communities and streets those reference, the facilities within
/// [`crate::auth::FACILITY_REACH_M`] of the buildings, and the whole walking network (public
/// OpenStreetMap ways, needed to compute walking times).
pub fn scoped_dataset(ds: &Dataset, grids: &std::collections::BTreeSet<String>) -> Dataset {
    use std::collections::HashSet;
    let kept: Vec<gridmap_model::Grid> = ds.grids.iter().filter(|g| grids.contains(g.id.as_str())).cloned().collect();
    let members: HashSet<&str> = kept.iter().flat_map(|g| g.buildings.iter().map(|b| b.as_str())).collect();
    let buildings: Vec<gridmap_model::Building> = ds.buildings.iter().filter(|b| members.contains(b.id.as_str())).cloned().collect();
    let communities: HashSet<&str> = kept
        .iter()
        .filter_map(|g| g.community.as_ref())
        .chain(buildings.iter().filter_map(|b| b.community.as_ref()))
        .map(|c| c.as_str())
        .collect();
    let compounds: HashSet<&str> = buildings.iter().filter_map(|b| b.compound.as_ref()).map(|c| c.as_str()).collect();
    let communities_v: Vec<gridmap_model::Community> = ds.communities.iter().filter(|c| communities.contains(c.id.as_str())).cloned().collect();
    let streets: HashSet<&str> = communities_v.iter().filter_map(|c| c.street.as_ref()).map(|s| s.as_str()).collect();
    // Facilities near the buildings: a box test in degrees, then the true distance.
    let mut rects: Vec<Rect<f64>> = buildings.iter().filter_map(|b| b.footprint.bounding_rect()).collect();
    rects.sort_by(|a, b| a.min().x.total_cmp(&b.min().x));
    let reach = crate::auth::FACILITY_REACH_M;
    let facilities = ds
        .facilities
        .iter()
        .filter(|f| {
            let p = f.location;
            rects.iter().any(|r| {
                // Distance to the nearest point of the building's box.
                let nearest = (p.x().clamp(r.min().x, r.max().x), p.y().clamp(r.min().y, r.max().y));
                gridmap_algo::geometry::haversine_m(p.x_y(), nearest) <= reach
            })
        })
        .cloned()
        .collect();
    Dataset {
        streets: ds.streets.iter().filter(|s| streets.contains(s.id.as_str())).cloned().collect(),
        communities: communities_v.into(),
        compounds: ds.compounds.iter().filter(|c| compounds.contains(c.id.as_str())).cloned().collect(),
        buildings: buildings.into(),
        facilities,
        grids: kept.into(),
        ways: ds.ways.clone(),
    }
}

/// Properties of a facility feature.
pub fn facility_properties(f: &gridmap_model::Facility) -> Map<String, Value> {
    let label = match &f.kind {
        FacilityKind::Other(_) => None,
        k => Some(k.label_zh().to_owned()),
    };
    obj(json!({
        "kind": f.kind.as_str(), "kind_label": label, "name": f.name,
        "capacity": f.capacity, "opening_hours": f.opening_hours,
    }))
}

fn grid_feature_parts(ds: &Dataset, pos: &HashMap<String, usize>, g: &gridmap_model::Grid) -> (Option<Geometry<f64>>, Map<String, Value>) {
    let members: Vec<&gridmap_model::Building> =
        g.buildings.iter().filter_map(|b| pos.get(b.as_str()).map(|&i| &ds.buildings[i])).collect();
    let (geometry, source) = grid_geometry(g, &members);
    let p = json!({
        "code": g.code, "name": g.name, "community": g.community,
        "buildings": g.buildings, "leads": g.leads,
        "building_count": g.buildings.len(),
        "households": members.iter().map(|b| u64::from(b.households)).sum::<u64>(),
        "elderly": members.iter().map(|b| u64::from(b.elderly.unwrap_or(0))).sum::<u64>(),
        "version": g.version, "geometry_source": source,
    });
    (geometry, obj(p))
}

/// A grid's geometry: its drawn boundary, else the footprints of its member buildings.
pub fn grid_geometry(g: &gridmap_model::Grid, members: &[&gridmap_model::Building]) -> (Option<Geometry<f64>>, &'static str) {
    match &g.boundary {
        Some(b) => (Some(Geometry::MultiPolygon(b.clone())), "boundary"),
        None if members.is_empty() => (None, "none"),
        None => (
            Some(Geometry::MultiPolygon(MultiPolygon(members.iter().flat_map(|b| b.footprint.0.iter().cloned()).collect()))),
            "buildings",
        ),
    }
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Holds the current snapshot and the data generation; rebuilds on demand.
pub struct DataCache {
    generation: AtomicU64,
    current: RwLock<Option<Arc<Snapshot>>>,
    loading: tokio::sync::Mutex<()>,
    /// Scoped views (grid leads) of the current generation, by scope key.
    scoped: std::sync::Mutex<HashMap<String, Arc<Snapshot>>>,
}

impl Default for DataCache {
    fn default() -> Self {
        Self { generation: AtomicU64::new(1), current: RwLock::new(None), loading: tokio::sync::Mutex::new(()), scoped: Default::default() }
    }
}

impl DataCache {
    /// Current data generation (part of every cache key and weak tile ETag).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Marks all cached data stale (call after any write to the store).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn fresh(&self) -> Option<Arc<Snapshot>> {
        let g = self.generation();
        let cur = self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        cur.as_ref().filter(|s| s.generation == g).cloned()
    }

    /// The snapshot as `scope` may see it: the whole one, or a filtered copy built once per
    /// generation and scope.
    pub async fn get_scoped(&self, store: &dyn Store, scope: &crate::auth::Scope) -> Result<Arc<Snapshot>, ApiError> {
        let full = self.get(store).await?;
        let crate::auth::Scope::Grids { key, grids } = scope else { return Ok(full) };
        {
            let mut m = self.scoped.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            m.retain(|_, s| s.generation == full.generation);
            if let Some(s) = m.get(&**key) {
                return Ok(s.clone());
            }
        }
        let grids = grids.clone();
        let src = full.clone();
        let snap = tokio::task::spawn_blocking(move || Snapshot::build(src.generation, Arc::new(scoped_dataset(&src.dataset, &grids))))
            .await
            .map_err(|e| ApiError::Internal(format!("building a scoped layer cache panicked: {e}")))?;
        let snap = Arc::new(snap);
        let mut m = self.scoped.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if m.len() >= 256 {
            m.clear();
        }
        m.insert(key.to_string(), snap.clone());
        Ok(snap)
    }

    /// The snapshot of the current generation, loading it from the store when stale.
    pub async fn get(&self, store: &dyn Store) -> Result<Arc<Snapshot>, ApiError> {
        if let Some(s) = self.fresh() {
            return Ok(s);
        }
        let _guard = self.loading.lock().await;
        if let Some(s) = self.fresh() {
            return Ok(s);
        }
        let generation = self.generation();
        let t0 = std::time::Instant::now();
        let ds = Arc::new(store.load().await?);
        let snap = tokio::task::spawn_blocking(move || Snapshot::build(generation, ds))
            .await
            .map_err(|e| ApiError::Internal(format!("building the layer cache panicked: {e}")))?;
        tracing::info!(generation, ms = t0.elapsed().as_millis() as u64, buildings = snap.dataset.buildings.len(), "layer cache rebuilt");
        let snap = Arc::new(snap);
        *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(snap.clone());
        Ok(snap)
    }
}
