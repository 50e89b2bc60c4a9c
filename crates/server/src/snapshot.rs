//! The state the API answers from: the dataset (one copy of every feature, in copy-on-write
//! layers sorted by id) with the indexes derived from it — R-trees of envelopes per layer and of
//! the basemap's ways, which grid each building is in, per-compound/community totals and hulls.
//! Features are rendered on demand ([`Row`]); pages and tiles are cached per collection version.
//! A [`Snapshot`] is immutable; the next one is derived from it by the change that happened
//! (`with_facilities`, `with_grids`, `with_buildings`), rebuilding only what depends on the
//! changed layer. [`crate::live`] decides which; grid leads get small scoped copies that share
//! the network ways.
use crate::backend::Store;
use crate::error::ApiError;
use crate::geojson::{identity, write_feature};
use geo::{BoundingRect, ConvexHull, Intersects};
use geo_types::{Geometry, MultiPoint, MultiPolygon, Point, Rect};
use gridmap_model::{Building, Dataset, FacilityKind};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
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
    pub const ALL: [Collection; 5] = [
        Self::Buildings,
        Self::Compounds,
        Self::Communities,
        Self::Grids,
        Self::Facilities,
    ];

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
}

/// One feature of a layer, rendered on demand from the model (no pre-serialized copy is kept:
/// the dataset is the one copy of every feature; pages and tiles are cached instead).
#[derive(Debug)]
pub struct Row {
    pub id: String,
    pub geometry: Option<Geometry<f64>>,
    pub properties: Map<String, Value>,
}

impl Row {
    fn new(
        c: Collection,
        id: String,
        geometry: Option<Geometry<f64>>,
        mut properties: Map<String, Value>,
    ) -> Self {
        // Every declared property on every feature, `null` where unknown: clients (QGIS, GDAL)
        // build their field list from the features they read (issue 20).
        c.complete(&mut properties);
        Row {
            id,
            geometry,
            properties,
        }
    }
    /// The Feature as CRS84 GeoJSON.
    pub fn write_json(&self, out: &mut String) {
        write_feature(
            out,
            &self.id,
            self.geometry.as_ref(),
            &self.properties,
            &identity,
        );
    }
}

type Entry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// The spatial index of one layer: an R-tree of envelopes over the positions of the layer's
/// vector in the dataset (every layer is kept sorted by id, so position order is id order).
#[derive(Debug, Default)]
pub struct SpatialIndex {
    tree: RTree<Entry>,
    /// [minx, miny, maxx, maxy] of all geometries, when there are any.
    pub extent: Option<[f64; 4]>,
}

impl SpatialIndex {
    fn new(rects: impl Iterator<Item = (u32, Option<[f64; 4]>)>) -> Self {
        let mut extent: Option<[f64; 4]> = None;
        let mut entries = Vec::new();
        for (i, r) in rects {
            let Some([x0, y0, x1, y1]) = r else { continue };
            entries.push(GeomWithData::new(
                Rectangle::from_corners([x0, y0], [x1, y1]),
                i,
            ));
            extent = Some(match extent {
                None => [x0, y0, x1, y1],
                Some(e) => [e[0].min(x0), e[1].min(y0), e[2].max(x1), e[3].max(y1)],
            });
        }
        SpatialIndex {
            tree: RTree::bulk_load(entries),
            extent,
        }
    }
    fn locate(&self, b: [f64; 4]) -> impl Iterator<Item = u32> + '_ {
        let env = AABB::from_corners([b[0], b[1]], [b[2], b[3]]);
        self.tree
            .locate_in_envelope_intersecting(&env)
            .map(|e| e.data)
    }
}

fn rect_of<G: BoundingRect<f64>>(g: &G) -> Option<[f64; 4]>
where
    G::Output: Into<Option<Rect<f64>>>,
{
    g.bounding_rect()
        .into()
        .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
}

fn union_rect(a: Option<[f64; 4]>, b: Option<[f64; 4]>) -> Option<[f64; 4]> {
    match (a, b) {
        (Some(a), Some(b)) => Some([
            a[0].min(b[0]),
            a[1].min(b[1]),
            a[2].max(b[2]),
            a[3].max(b[3]),
        ]),
        (a, None) => a,
        (None, b) => b,
    }
}

/// Totals of the buildings of one compound or community.
#[derive(Debug, Default, Clone)]
struct Agg {
    buildings: u64,
    households: u64,
    elderly: u64,
}

/// What is derived from buildings alone (changes only when buildings change): envelopes, the
/// spatial index, per-compound/community totals and the hulls of areas drawn without a boundary.
#[derive(Debug, Default)]
pub struct BuildingDerived {
    /// Envelope of each building (by position).
    rects: Arc<Vec<Option<[f64; 4]>>>,
    index: Arc<SpatialIndex>,
    by_compound: HashMap<String, Agg>,
    by_community: HashMap<String, Agg>,
    /// Convex hulls of the buildings of each compound / community (for those without a boundary).
    compound_hulls: Arc<HashMap<String, Geometry<f64>>>,
    community_hulls: Arc<HashMap<String, Geometry<f64>>>,
}

impl BuildingDerived {
    fn build(ds: &Dataset) -> Self {
        let rects: Vec<Option<[f64; 4]>> =
            ds.buildings.iter().map(|b| rect_of(&b.footprint)).collect();
        let index = SpatialIndex::new(rects.iter().enumerate().map(|(i, r)| (i as u32, *r)));
        let with_boundary =
            |ids: &mut dyn Iterator<Item = (&str, bool)>| -> std::collections::HashSet<String> {
                ids.filter(|(_, has)| !has)
                    .map(|(id, _)| id.to_owned())
                    .collect()
            };
        let compounds_no_boundary = with_boundary(
            &mut ds
                .compounds
                .iter()
                .map(|c| (c.id.as_str(), c.boundary.is_some())),
        );
        let communities_no_boundary = with_boundary(
            &mut ds
                .communities
                .iter()
                .map(|c| (c.id.as_str(), c.boundary.is_some())),
        );
        let mut by_compound: HashMap<String, Agg> = HashMap::new();
        let mut by_community: HashMap<String, Agg> = HashMap::new();
        let mut pts_compound: HashMap<&str, Vec<Point<f64>>> = HashMap::new();
        let mut pts_community: HashMap<&str, Vec<Point<f64>>> = HashMap::new();
        for b in &ds.buildings {
            let add = |m: &mut HashMap<String, Agg>, k: &str| {
                let e = m.entry(k.to_owned()).or_default();
                e.buildings += 1;
                e.households += u64::from(b.households);
                e.elderly += u64::from(b.elderly.unwrap_or(0));
            };
            if let Some(c) = &b.compound {
                add(&mut by_compound, c.as_str());
                if compounds_no_boundary.contains(c.as_str()) {
                    pts_compound
                        .entry(c.as_str())
                        .or_default()
                        .extend(b.footprint.0.iter().flat_map(|p| p.exterior().points()));
                }
            }
            if let Some(c) = &b.community {
                add(&mut by_community, c.as_str());
                if communities_no_boundary.contains(c.as_str()) {
                    pts_community
                        .entry(c.as_str())
                        .or_default()
                        .extend(b.footprint.0.iter().flat_map(|p| p.exterior().points()));
                }
            }
        }
        let hulls = |m: HashMap<&str, Vec<Point<f64>>>| -> HashMap<String, Geometry<f64>> {
            m.into_iter()
                .filter(|(_, p)| p.len() >= 3)
                .map(|(k, p)| {
                    (
                        k.to_owned(),
                        Geometry::MultiPolygon(MultiPolygon(vec![MultiPoint(p).convex_hull()])),
                    )
                })
                .collect()
        };
        BuildingDerived {
            rects: Arc::new(rects),
            index: Arc::new(index),
            by_compound,
            by_community,
            compound_hulls: Arc::new(hulls(pts_compound)),
            community_hulls: Arc::new(hulls(pts_community)),
        }
    }

    /// The same derivation after changes that touched only counts (households, elderly) of
    /// buildings whose geometry, compound and community stayed: envelopes, index and hulls are
    /// shared, the compound and community totals move by the differences. O(changes).
    fn with_counts(&self, changes: &[(&Building, &Building)]) -> Self {
        let mut by_compound = self.by_compound.clone();
        let mut by_community = self.by_community.clone();
        for (old, new) in changes {
            let adjust = |m: &mut HashMap<String, Agg>, k: &str| {
                let e = m.entry(k.to_owned()).or_default();
                e.households = (e.households + u64::from(new.households))
                    .saturating_sub(u64::from(old.households));
                e.elderly = (e.elderly + u64::from(new.elderly.unwrap_or(0)))
                    .saturating_sub(u64::from(old.elderly.unwrap_or(0)));
            };
            if let Some(c) = &new.compound {
                adjust(&mut by_compound, c.as_str());
            }
            if let Some(c) = &new.community {
                adjust(&mut by_community, c.as_str());
            }
        }
        BuildingDerived {
            rects: self.rects.clone(),
            index: self.index.clone(),
            by_compound,
            by_community,
            compound_hulls: self.compound_hulls.clone(),
            community_hulls: self.community_hulls.clone(),
        }
    }
}

/// Whether `new` differs from `old` only in what no derived structure depends on (counts,
/// names, address, type, levels, steward): same id, footprint, entrance, compound, community.
fn same_shape(old: &Building, new: &Building) -> bool {
    old.id == new.id
        && old.footprint == new.footprint
        && old.entrance == new.entrance
        && old.compound == new.compound
        && old.community == new.community
}

/// What is derived from grids and buildings: which grid each building is in, envelopes of the
/// grids, and grid counts per community. Rebuilt when grids change: O(grids + their members),
/// no geometry is copied.
#[derive(Debug, Default)]
pub struct GridDerived {
    /// Grid position of each building position (`u32::MAX`: in no grid).
    grid_of: Vec<u32>,
    /// Envelope of each grid (by position).
    rects: Vec<Option<[f64; 4]>>,
    index: SpatialIndex,
    per_community: HashMap<String, u64>,
}

const NO_GRID: u32 = u32::MAX;

impl GridDerived {
    fn build(ds: &Dataset, bd: &BuildingDerived) -> Self {
        let mut grid_of = vec![NO_GRID; ds.buildings.len()];
        let mut rects = Vec::with_capacity(ds.grids.len());
        let mut per_community: HashMap<String, u64> = HashMap::new();
        for (gi, g) in ds.grids.iter().enumerate() {
            let mut r = g.boundary.as_ref().and_then(rect_of);
            for b in &g.buildings {
                if let Some(p) = building_position(ds, b.as_str()) {
                    grid_of[p] = gi as u32;
                    if g.boundary.is_none() {
                        r = union_rect(r, bd.rects[p]);
                    }
                }
            }
            rects.push(r);
            if let Some(c) = &g.community {
                *per_community.entry(c.to_string()).or_default() += 1;
            }
        }
        let index = SpatialIndex::new(rects.iter().enumerate().map(|(i, r)| (i as u32, *r)));
        GridDerived {
            grid_of,
            rects,
            index,
            per_community,
        }
    }

    /// The derived grid state after the grids named in `changed` were put or deleted (`old` →
    /// `new`, same buildings): positions of the other grids are remapped with integer work only,
    /// and only the changed grids' members are looked up — O(buildings) integer copies plus
    /// O(changed members · log buildings), instead of a lookup per member of every grid.
    fn updated(
        &self,
        old: &Dataset,
        new: &Dataset,
        bd: &BuildingDerived,
        changed: &std::collections::BTreeSet<String>,
    ) -> Self {
        let pos_in =
            |ds: &Dataset, id: &str| ds.grids.binary_search_by(|g| g.id.as_str().cmp(id)).ok();
        let map: Vec<u32> = old
            .grids
            .iter()
            .map(|g| pos_in(new, g.id.as_str()).map_or(NO_GRID, |p| p as u32))
            .collect();
        let mut grid_of: Vec<u32> = self
            .grid_of
            .iter()
            .map(|&g| {
                if g == NO_GRID {
                    NO_GRID
                } else {
                    map[g as usize]
                }
            })
            .collect();
        let mut rects = vec![None; new.grids.len()];
        for (o, &n) in map.iter().enumerate() {
            if n != NO_GRID {
                rects[n as usize] = self.rects[o];
            }
        }
        // Clear the changed grids' old members, then set their new ones (a building may move
        // between two changed grids).
        for id in changed {
            if let Some(o) = pos_in(old, id) {
                let now = map[o];
                for b in &old.grids[o].buildings {
                    if let Some(p) = building_position(new, b.as_str()) {
                        if grid_of[p] == now || grid_of[p] == NO_GRID {
                            grid_of[p] = NO_GRID;
                        }
                    }
                }
            }
        }
        for id in changed {
            let Some(n) = pos_in(new, id) else { continue };
            let g = &new.grids[n];
            let mut r = g.boundary.as_ref().and_then(rect_of);
            for b in &g.buildings {
                if let Some(p) = building_position(new, b.as_str()) {
                    grid_of[p] = n as u32;
                    if g.boundary.is_none() {
                        r = union_rect(r, bd.rects[p]);
                    }
                }
            }
            rects[n] = r;
        }
        let mut per_community: HashMap<String, u64> = HashMap::new();
        for g in &new.grids {
            if let Some(c) = &g.community {
                *per_community.entry(c.to_string()).or_default() += 1;
            }
        }
        let index = SpatialIndex::new(rects.iter().enumerate().map(|(i, r)| (i as u32, *r)));
        GridDerived {
            grid_of,
            rects,
            index,
            per_community,
        }
    }
}

/// Position of a building by id (the buildings layer is sorted by id).
fn building_position(ds: &Dataset, id: &str) -> Option<usize> {
    ds.buildings
        .binary_search_by(|b| b.id.as_str().cmp(id))
        .ok()
}

/// Envelope index over the network ways the basemap draws (changes only on import).
#[derive(Debug, Default)]
pub struct WayIndex {
    index: SpatialIndex,
}

/// One collection of a snapshot, as handlers see it.
pub struct LayerView<'a> {
    snap: &'a Snapshot,
    c: Collection,
}

impl LayerView<'_> {
    pub fn len(&self) -> usize {
        self.snap.len(self.c)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// [minx, miny, maxx, maxy] of the layer's geometries.
    pub fn extent(&self) -> Option<[f64; 4]> {
        self.snap.index(self.c).extent
    }
    /// Position of a feature by id.
    pub fn position(&self, id: &str) -> Option<u32> {
        self.snap.position(self.c, id)
    }
    pub fn contains(&self, id: &str) -> bool {
        self.position(id).is_some()
    }
    /// A feature by id, rendered.
    pub fn get(&self, id: &str) -> Option<Row> {
        self.position(id).map(|i| self.row(i))
    }
    /// The feature at a position, rendered.
    pub fn row(&self, i: u32) -> Row {
        self.snap.row(self.c, i as usize)
    }
    /// Positions (in id order) of features whose geometry intersects any of `boxes` (WGS84)
    /// and whose filter values equal the given ones.
    pub fn select(&self, boxes: Option<&[[f64; 4]]>, filters: &[(Filter, String)]) -> Vec<u32> {
        let s = self.snap;
        let pass = |i: u32| {
            filters
                .iter()
                .all(|(f, v)| s.filter_value(self.c, i as usize, *f).as_deref() == Some(v.as_str()))
        };
        let mut out: Vec<u32> = match boxes {
            None => (0..self.len() as u32).filter(|&i| pass(i)).collect(),
            Some(boxes) => {
                let mut v = Vec::new();
                for b in boxes {
                    let rect = Rect::new((b[0], b[1]), (b[2], b[3]));
                    for i in s.index(self.c).locate(*b) {
                        // Exact test: clients (GDAL) filter on the true geometry, not the envelope.
                        if pass(i) && s.intersects(self.c, i as usize, &rect) {
                            v.push(i);
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
    /// Positions of features whose envelope intersects a box (for tiles; exact clipping follows).
    pub fn candidates(&self, b: [f64; 4]) -> Vec<u32> {
        let mut v: Vec<u32> = self.snap.index(self.c).locate(b).collect();
        v.sort_unstable();
        v
    }
}

/// All layers at one state of the change log. Cheap to derive from the previous one: the
/// dataset's layers are shared copy-on-write, and each derived part is rebuilt only when the
/// layers it depends on changed (see [`Snapshot::with_facilities`], [`Snapshot::with_grids`]).
#[derive(Debug)]
pub struct Snapshot {
    /// Store change sequence this snapshot reflects (0 before any change was logged).
    pub generation: u64,
    /// When this snapshot was derived.
    pub loaded_at: SystemTime,
    pub dataset: Arc<Dataset>,
    /// Per-collection version: bumped when what that collection serves changed (page and tile
    /// cache keys), in [`Collection::ALL`] order.
    versions: [u64; 5],
    buildings: Arc<BuildingDerived>,
    grids: Arc<GridDerived>,
    facilities: Arc<SpatialIndex>,
    compounds: Arc<SpatialIndex>,
    communities: Arc<SpatialIndex>,
    ways: Arc<WayIndex>,
    /// Change sequence of the last full load (the basemap's network ways change only then).
    ways_version: u64,
}

fn slot(c: Collection) -> usize {
    match c {
        Collection::Buildings => 0,
        Collection::Compounds => 1,
        Collection::Communities => 2,
        Collection::Grids => 3,
        Collection::Facilities => 4,
    }
}

fn sort_layers(ds: &mut Dataset) {
    fn sorted<T: Clone>(v: &mut gridmap_model::SharedVec<T>, key: impl Fn(&T) -> &str) {
        if !v.windows(2).all(|w| key(&w[0]) <= key(&w[1])) {
            v.sort_by(|a, b| key(a).cmp(key(b)));
        }
    }
    sorted(&mut ds.buildings, |b| b.id.as_str());
    sorted(&mut ds.compounds, |c| c.id.as_str());
    sorted(&mut ds.communities, |c| c.id.as_str());
    sorted(&mut ds.grids, |g| g.id.as_str());
    sorted(&mut ds.facilities, |f| f.id.as_str());
}

impl Snapshot {
    /// Derives every index of a dataset (a full load).
    pub fn build(generation: u64, mut ds: Dataset) -> Self {
        sort_layers(&mut ds);
        let buildings = Arc::new(BuildingDerived::build(&ds));
        let grids = Arc::new(GridDerived::build(&ds, &buildings));
        let ways = Arc::new(WayIndex {
            index: SpatialIndex::new(ds.ways.iter().enumerate().map(|(i, w)| {
                (
                    i as u32,
                    crate::tiles::way_class(&w.tags).and_then(|_| rect_of(&w.geometry)),
                )
            })),
        });
        Self::assemble(
            generation,
            ds,
            [generation; 5],
            buildings,
            grids,
            ways,
            generation,
        )
    }

    /// Derives the indexes of a scoped dataset (a grid lead's view: a few hundred features)
    /// sharing the full snapshot's way index (`ds.ways` must be the full snapshot's ways).
    pub fn build_scoped(full: &Snapshot, mut ds: Dataset) -> Self {
        sort_layers(&mut ds);
        let buildings = Arc::new(BuildingDerived::build(&ds));
        let grids = Arc::new(GridDerived::build(&ds, &buildings));
        Self::assemble(
            full.generation,
            ds,
            full.versions,
            buildings,
            grids,
            full.ways.clone(),
            full.ways_version,
        )
    }

    fn assemble(
        generation: u64,
        ds: Dataset,
        versions: [u64; 5],
        buildings: Arc<BuildingDerived>,
        grids: Arc<GridDerived>,
        ways: Arc<WayIndex>,
        ways_version: u64,
    ) -> Self {
        let facilities = Arc::new(SpatialIndex::new(
            ds.facilities
                .iter()
                .enumerate()
                .map(|(i, f)| (i as u32, rect_of(&f.location))),
        ));
        let area = |b: Option<&MultiPolygon<f64>>, hull: Option<&Geometry<f64>>| {
            b.and_then(rect_of).or_else(|| hull.and_then(rect_of))
        };
        let compounds = Arc::new(SpatialIndex::new(ds.compounds.iter().enumerate().map(
            |(i, c)| {
                (
                    i as u32,
                    area(
                        c.boundary.as_ref(),
                        buildings.compound_hulls.get(c.id.as_str()),
                    ),
                )
            },
        )));
        let communities = Arc::new(SpatialIndex::new(ds.communities.iter().enumerate().map(
            |(i, c)| {
                (
                    i as u32,
                    area(
                        c.boundary.as_ref(),
                        buildings.community_hulls.get(c.id.as_str()),
                    ),
                )
            },
        )));
        Snapshot {
            generation,
            loaded_at: SystemTime::now(),
            dataset: Arc::new(ds),
            versions,
            buildings,
            grids,
            facilities,
            compounds,
            communities,
            ways,
            ways_version,
        }
    }

    /// This snapshot with another facilities layer: O(facilities), nothing else is rebuilt.
    pub fn with_facilities(
        &self,
        generation: u64,
        facilities: gridmap_model::SharedVec<gridmap_model::Facility>,
    ) -> Self {
        let mut ds = (*self.dataset).clone();
        ds.facilities = facilities;
        sort_layers(&mut ds);
        let mut versions = self.versions;
        versions[slot(Collection::Facilities)] = generation;
        let mut s = Self::assemble(
            generation,
            ds,
            versions,
            self.buildings.clone(),
            self.grids.clone(),
            self.ways.clone(),
            self.ways_version,
        );
        // Compounds and communities indexes do not depend on facilities: keep them.
        s.compounds = self.compounds.clone();
        s.communities = self.communities.clone();
        s
    }

    /// This snapshot with another grids layer: O(grids + their member buildings); building
    /// geometry, envelopes and the buildings R-tree are shared.
    /// `changed` names the grids put or deleted since `self` (an empty set rebuilds all).
    pub fn with_grids(
        &self,
        generation: u64,
        grids: gridmap_model::SharedVec<gridmap_model::Grid>,
        changed: &std::collections::BTreeSet<String>,
    ) -> Self {
        let mut ds = (*self.dataset).clone();
        ds.grids = grids;
        sort_layers(&mut ds);
        let gd = if changed.is_empty() || !ds.buildings.shares_with(&self.dataset.buildings) {
            GridDerived::build(&ds, &self.buildings)
        } else {
            self.grids
                .updated(&self.dataset, &ds, &self.buildings, changed)
        };
        let gd = Arc::new(gd);
        let mut versions = self.versions;
        for c in [
            Collection::Grids,
            Collection::Buildings,
            Collection::Communities,
        ] {
            versions[slot(c)] = generation;
        }
        Snapshot {
            generation,
            loaded_at: SystemTime::now(),
            dataset: Arc::new(ds),
            versions,
            buildings: self.buildings.clone(),
            grids: gd,
            facilities: self.facilities.clone(),
            compounds: self.compounds.clone(),
            communities: self.communities.clone(),
            ways: self.ways.clone(),
            ways_version: self.ways_version,
        }
    }

    /// This snapshot with other buildings (household corrections, footprints): rebuilds what
    /// depends on buildings; facilities and the basemap way index are shared. When every
    /// building named in `changed` kept its place, geometry, compound and community (a count
    /// correction), the envelopes, spatial index, hulls and grid membership are shared and only
    /// the totals move: O(changes) instead of O(city).
    pub fn with_buildings(
        &self,
        generation: u64,
        buildings: gridmap_model::SharedVec<gridmap_model::Building>,
        changed: &std::collections::BTreeSet<String>,
    ) -> Self {
        let mut ds = (*self.dataset).clone();
        ds.buildings = buildings;
        sort_layers(&mut ds);
        let old = &self.dataset;
        let counts_only: Option<Vec<(&Building, &Building)>> = (!changed.is_empty()
            && ds.buildings.len() == old.buildings.len())
        .then(|| {
            changed
                .iter()
                .map(|id| {
                    let o = building_position(old, id)?;
                    let n = building_position(&ds, id)?;
                    (o == n && same_shape(&old.buildings[o], &ds.buildings[n]))
                        .then(|| (&old.buildings[o], &ds.buildings[n]))
                })
                .collect()
        })
        .flatten();
        let (bd, gd) = if let Some(pairs) = counts_only {
            (
                Arc::new(self.buildings.with_counts(&pairs)),
                self.grids.clone(),
            )
        } else {
            let bd = Arc::new(BuildingDerived::build(&ds));
            let gd = Arc::new(GridDerived::build(&ds, &bd));
            (bd, gd)
        };
        let mut versions = [generation; 5];
        versions[slot(Collection::Facilities)] = self.versions[slot(Collection::Facilities)];
        Self::assemble(
            generation,
            ds,
            versions,
            bd,
            gd,
            self.ways.clone(),
            self.ways_version,
        )
    }

    /// The same data under a later change sequence (a change that did not touch the layers).
    pub fn at(&self, generation: u64) -> Self {
        Snapshot {
            generation,
            loaded_at: self.loaded_at,
            dataset: self.dataset.clone(),
            versions: self.versions,
            buildings: self.buildings.clone(),
            grids: self.grids.clone(),
            facilities: self.facilities.clone(),
            compounds: self.compounds.clone(),
            communities: self.communities.clone(),
            ways: self.ways.clone(),
            ways_version: self.ways_version,
        }
    }

    /// Version of what collection `c` serves (part of page and tile cache keys).
    pub fn version(&self, c: Collection) -> u64 {
        self.versions[slot(c)]
    }

    /// Version of the basemap (the network ways: they change only on import).
    pub fn basemap_version(&self) -> u64 {
        self.ways_version
    }

    /// A stored building by id.
    pub fn building(&self, id: &str) -> Option<&gridmap_model::Building> {
        building_position(&self.dataset, id).map(|i| &self.dataset.buildings[i])
    }

    /// Centre of the envelope of the building at a position (its tile cell, below z13).
    pub fn building_centre(&self, building: usize) -> Option<(f64, f64)> {
        let r = (*self.buildings.rects.get(building)?)?;
        Some((f64::midpoint(r[0], r[2]), f64::midpoint(r[1], r[3])))
    }

    /// Id of the grid a building (by position) is in.
    pub fn grid_of(&self, building: usize) -> Option<&str> {
        let g = *self.grids.grid_of.get(building)?;
        (g != NO_GRID).then(|| self.dataset.grids[g as usize].id.as_str())
    }

    /// Geometry and properties of a grid feature (its statistics from this snapshot's buildings).
    pub fn grid_feature(
        &self,
        g: &gridmap_model::Grid,
    ) -> (Option<Geometry<f64>>, Map<String, Value>) {
        let members: Vec<&gridmap_model::Building> = g
            .buildings
            .iter()
            .filter_map(|b| self.building(b.as_str()))
            .collect();
        let (geometry, source) = grid_geometry(g, &members);
        let p = json!({
            "code": g.code, "name": g.name, "community": g.community,
            "buildings": g.buildings, "leads": g.leads,
            "building_count": g.buildings.len(),
            "households": members.iter().map(|b| u64::from(b.households)).sum::<u64>(),
            "elderly": members.iter().map(|b| u64::from(b.elderly.unwrap_or(0))).sum::<u64>(),
            "version": g.version, "geometry_source": source,
        });
        let mut p = obj(p);
        Collection::Grids.complete(&mut p);
        (geometry, p)
    }

    pub fn layer(&self, c: Collection) -> LayerView<'_> {
        LayerView { snap: self, c }
    }

    fn index(&self, c: Collection) -> &SpatialIndex {
        match c {
            Collection::Buildings => &self.buildings.index,
            Collection::Grids => &self.grids.index,
            Collection::Facilities => &self.facilities,
            Collection::Compounds => &self.compounds,
            Collection::Communities => &self.communities,
        }
    }

    fn len(&self, c: Collection) -> usize {
        let ds = &self.dataset;
        match c {
            Collection::Buildings => ds.buildings.len(),
            Collection::Grids => ds.grids.len(),
            Collection::Facilities => ds.facilities.len(),
            Collection::Compounds => ds.compounds.len(),
            Collection::Communities => ds.communities.len(),
        }
    }

    fn position(&self, c: Collection, id: &str) -> Option<u32> {
        let ds = &self.dataset;
        let r = match c {
            Collection::Buildings => ds.buildings.binary_search_by(|x| x.id.as_str().cmp(id)),
            Collection::Grids => ds.grids.binary_search_by(|x| x.id.as_str().cmp(id)),
            Collection::Facilities => ds.facilities.binary_search_by(|x| x.id.as_str().cmp(id)),
            Collection::Compounds => ds.compounds.binary_search_by(|x| x.id.as_str().cmp(id)),
            Collection::Communities => ds.communities.binary_search_by(|x| x.id.as_str().cmp(id)),
        };
        r.ok().map(|i| i as u32)
    }

    fn filter_value(&self, c: Collection, i: usize, f: Filter) -> Option<String> {
        let ds = &self.dataset;
        match (c, f) {
            (Collection::Buildings, Filter::Community) => {
                ds.buildings[i].community.as_ref().map(ToString::to_string)
            }
            (Collection::Buildings, Filter::Compound) => {
                ds.buildings[i].compound.as_ref().map(ToString::to_string)
            }
            (Collection::Buildings, Filter::Grid) => self.grid_of(i).map(str::to_owned),
            (Collection::Compounds, Filter::Community) => {
                ds.compounds[i].community.as_ref().map(ToString::to_string)
            }
            (Collection::Compounds, Filter::Kind) => Some(ds.compounds[i].kind.as_str().to_owned()),
            (Collection::Communities, Filter::Street) => {
                ds.communities[i].street.as_ref().map(ToString::to_string)
            }
            (Collection::Grids, Filter::Community) => {
                ds.grids[i].community.as_ref().map(ToString::to_string)
            }
            (Collection::Facilities, Filter::Kind) => {
                Some(ds.facilities[i].kind.as_str().to_owned())
            }
            _ => None,
        }
    }

    fn intersects(&self, c: Collection, i: usize, rect: &Rect<f64>) -> bool {
        let ds = &self.dataset;
        match c {
            Collection::Buildings => ds.buildings[i].footprint.intersects(rect),
            Collection::Facilities => ds.facilities[i].location.intersects(rect),
            _ => self
                .row(c, i)
                .geometry
                .as_ref()
                .is_some_and(|g| g.intersects(rect)),
        }
    }

    /// Renders the feature at position `i` of collection `c`.
    pub fn row(&self, c: Collection, i: usize) -> Row {
        let ds = &self.dataset;
        match c {
            Collection::Buildings => {
                let b = &ds.buildings[i];
                let p = json!({
                    "name": b.name, "building_type": b.building_type, "address": b.address,
                    "levels": b.levels, "households": b.households,
                    "households_source": b.households_source.as_str(), "elderly": b.elderly,
                    "steward": b.steward, "compound": b.compound, "community": b.community,
                    "grid": self.grid_of(i), "area_m2": (b.area_m2() * 10.0).round() / 10.0,
                });
                Row::new(
                    Collection::Buildings,
                    b.id.to_string(),
                    Some(Geometry::MultiPolygon(b.footprint.clone())),
                    obj(p),
                )
            }
            Collection::Compounds => {
                let c = &ds.compounds[i];
                let s = self.buildings.by_compound.get(c.id.as_str());
                let (geometry, source) = match &c.boundary {
                    Some(b) => (Some(Geometry::MultiPolygon(b.clone())), "boundary"),
                    None => (
                        self.buildings.compound_hulls.get(c.id.as_str()).cloned(),
                        "buildings_hull",
                    ),
                };
                let p = json!({
                    "name": c.name, "kind": c.kind.as_str(), "community": c.community,
                    "buildings": s.map_or(0, |s| s.buildings), "households": s.map_or(0, |s| s.households),
                    "elderly": s.map_or(0, |s| s.elderly), "geometry_source": source,
                });
                Row::new(Collection::Compounds, c.id.to_string(), geometry, obj(p))
            }
            Collection::Communities => {
                let c = &ds.communities[i];
                let s = self.buildings.by_community.get(c.id.as_str());
                let (geometry, source) = match &c.boundary {
                    Some(b) => (Some(Geometry::MultiPolygon(b.clone())), "boundary"),
                    None => (
                        self.buildings.community_hulls.get(c.id.as_str()).cloned(),
                        "buildings_hull",
                    ),
                };
                let p = json!({
                    "name": c.name, "street": c.street,
                    "buildings": s.map_or(0, |s| s.buildings), "households": s.map_or(0, |s| s.households),
                    "elderly": s.map_or(0, |s| s.elderly),
                    "grids": self.grids.per_community.get(c.id.as_str()).copied().unwrap_or(0),
                    "geometry_source": source,
                });
                Row::new(Collection::Communities, c.id.to_string(), geometry, obj(p))
            }
            Collection::Grids => {
                let g = &ds.grids[i];
                let (geometry, props) = self.grid_feature(g);
                Row::new(Collection::Grids, g.id.to_string(), geometry, props)
            }
            Collection::Facilities => {
                let f = &ds.facilities[i];
                Row::new(
                    Collection::Facilities,
                    f.id.to_string(),
                    Some(Geometry::Point(f.location)),
                    facility_properties(f),
                )
            }
        }
    }

    /// Positions of the basemap's network ways whose envelope meets a box.
    pub fn ways_in(&self, b: [f64; 4]) -> Vec<u32> {
        let mut v: Vec<u32> = self.ways.index.locate(b).collect();
        v.sort_unstable();
        v
    }
}

/// The part of a dataset a grid lead may see: the grids in `grids`, their member buildings, the
/// compounds, communities and streets those reference, the facilities within
/// [`crate::auth::FACILITY_REACH_M`] of the buildings, and the whole walking network (public
/// OpenStreetMap ways, needed to compute walking times).
pub fn scoped_dataset(ds: &Dataset, grids: &std::collections::BTreeSet<String>) -> Dataset {
    use std::collections::HashSet;
    let kept: Vec<gridmap_model::Grid> = ds
        .grids
        .iter()
        .filter(|g| grids.contains(g.id.as_str()))
        .cloned()
        .collect();
    let members: HashSet<&str> = kept
        .iter()
        .flat_map(|g| g.buildings.iter().map(gridmap_model::BuildingId::as_str))
        .collect();
    let buildings: Vec<gridmap_model::Building> = ds
        .buildings
        .iter()
        .filter(|b| members.contains(b.id.as_str()))
        .cloned()
        .collect();
    let communities: HashSet<&str> = kept
        .iter()
        .filter_map(|g| g.community.as_ref())
        .chain(buildings.iter().filter_map(|b| b.community.as_ref()))
        .map(gridmap_model::CommunityId::as_str)
        .collect();
    let compounds: HashSet<&str> = buildings
        .iter()
        .filter_map(|b| b.compound.as_ref())
        .map(gridmap_model::CompoundId::as_str)
        .collect();
    let communities_v: Vec<gridmap_model::Community> = ds
        .communities
        .iter()
        .filter(|c| communities.contains(c.id.as_str()))
        .cloned()
        .collect();
    let streets: HashSet<&str> = communities_v
        .iter()
        .filter_map(|c| c.street.as_ref())
        .map(gridmap_model::StreetId::as_str)
        .collect();
    // Facilities near the buildings: a box test in degrees, then the true distance.
    let mut rects: Vec<Rect<f64>> = buildings
        .iter()
        .filter_map(|b| b.footprint.bounding_rect())
        .collect();
    rects.sort_by(|a, b| a.min().x.total_cmp(&b.min().x));
    let reach = crate::auth::FACILITY_REACH_M;
    let facilities = ds
        .facilities
        .iter()
        .filter(|f| {
            let p = f.location;
            rects.iter().any(|r| {
                // Distance to the nearest point of the building's box.
                let nearest = (
                    p.x().clamp(r.min().x, r.max().x),
                    p.y().clamp(r.min().y, r.max().y),
                );
                gridmap_algo::geometry::haversine_m(p.x_y(), nearest) <= reach
            })
        })
        .cloned()
        .collect();
    Dataset {
        streets: ds
            .streets
            .iter()
            .filter(|s| streets.contains(s.id.as_str()))
            .cloned()
            .collect(),
        communities: communities_v.into(),
        compounds: ds
            .compounds
            .iter()
            .filter(|c| compounds.contains(c.id.as_str()))
            .cloned()
            .collect(),
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
    let mut p = obj(json!({
        "kind": f.kind.as_str(), "kind_label": label, "name": f.name,
        "capacity": f.capacity, "opening_hours": f.opening_hours,
    }));
    Collection::Facilities.complete(&mut p);
    p
}

/// A grid's geometry: its drawn boundary, else the footprints of its member buildings.
pub fn grid_geometry(
    g: &gridmap_model::Grid,
    members: &[&gridmap_model::Building],
) -> (Option<Geometry<f64>>, &'static str) {
    match &g.boundary {
        Some(b) => (Some(Geometry::MultiPolygon(b.clone())), "boundary"),
        None if members.is_empty() => (None, "none"),
        None => (
            Some(Geometry::MultiPolygon(MultiPolygon(
                members
                    .iter()
                    .flat_map(|b| b.footprint.0.iter().cloned())
                    .collect(),
            ))),
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

/// The live state: the newest snapshot, advanced change by change ([`crate::live`]), and the
/// grid leads' scoped views of it.
pub struct DataCache {
    current: RwLock<Option<Arc<Snapshot>>>,
    /// Serializes loads and catch-ups (one writer of `current`).
    pub(crate) advancing: tokio::sync::Mutex<()>,
    /// Scoped views (grid leads) of the current snapshot, by scope key.
    scoped: std::sync::Mutex<HashMap<String, Arc<Snapshot>>>,
}

impl Default for DataCache {
    fn default() -> Self {
        Self {
            current: RwLock::new(None),
            advancing: tokio::sync::Mutex::new(()),
            scoped: Default::default(),
        }
    }
}

impl DataCache {
    /// Change sequence of the current snapshot (0 before the first load).
    pub fn generation(&self) -> u64 {
        self.peek().map_or(0, |s| s.generation)
    }

    /// The current snapshot, if one was loaded.
    pub fn peek(&self) -> Option<Arc<Snapshot>> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Installs a newer snapshot (callers hold `advancing`).
    pub(crate) fn install(&self, snap: Arc<Snapshot>) {
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(snap);
    }

    /// Forgets the current snapshot: the next read loads the store again.
    pub fn invalidate(&self) {
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    /// The snapshot as `scope` may see it: the whole one, or a filtered copy of the few
    /// features a grid lead may see, built once per snapshot and scope (it shares the dataset's
    /// network ways and the basemap index).
    pub async fn get_scoped(
        &self,
        store: &dyn Store,
        scope: &crate::auth::Scope,
    ) -> Result<Arc<Snapshot>, ApiError> {
        let full = self.get(store).await?;
        let crate::auth::Scope::Grids { key, grids } = scope else {
            return Ok(full);
        };
        {
            let mut m = self
                .scoped
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            m.retain(|_, s| s.generation == full.generation);
            if let Some(s) = m.get(&**key) {
                return Ok(s.clone());
            }
        }
        let grids = grids.clone();
        let src = full.clone();
        let snap = tokio::task::spawn_blocking(move || {
            Snapshot::build_scoped(&src, scoped_dataset(&src.dataset, &grids))
        })
        .await
        .map_err(|e| ApiError::Internal(format!("building a scoped layer cache panicked: {e}")))?;
        let snap = Arc::new(snap);
        let mut m = self
            .scoped
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if m.len() >= 256 {
            m.clear();
        }
        m.insert(key.to_string(), snap.clone());
        Ok(snap)
    }

    /// The current snapshot, loading the store on first use (or after [`Self::invalidate`]).
    pub async fn get(&self, store: &dyn Store) -> Result<Arc<Snapshot>, ApiError> {
        if let Some(s) = self.peek() {
            return Ok(s);
        }
        let _guard = self.advancing.lock().await;
        if let Some(s) = self.peek() {
            return Ok(s);
        }
        let snap = Arc::new(crate::live::load(store).await?);
        self.install(snap.clone());
        Ok(snap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{LineString, Polygon};
    use gridmap_model::{BuildingId, CommunityId, HouseholdSource};
    use std::collections::BTreeSet;

    fn city() -> Dataset {
        let sq = |x: f64| {
            MultiPolygon(vec![Polygon::new(
                LineString::from(vec![
                    (x, 0.0),
                    (x + 0.001, 0.0),
                    (x + 0.001, 0.001),
                    (x, 0.0),
                ]),
                vec![],
            )])
        };
        Dataset {
            buildings: (0..4u32)
                .map(|i| Building {
                    id: BuildingId::new(format!("b{i}")),
                    name: None,
                    building_type: None,
                    address: None,
                    footprint: sq(f64::from(i) * 0.002),
                    entrance: None,
                    levels: None,
                    households: 10,
                    households_source: HouseholdSource::Imported,
                    elderly: Some(1),
                    steward: None,
                    compound: None,
                    community: Some(CommunityId::new("c1")),
                })
                .collect::<Vec<_>>()
                .into(),
            ..Dataset::default()
        }
    }

    fn community_totals(s: &Snapshot) -> (u64, u64) {
        let a = &s.buildings.by_community["c1"];
        (a.households, a.elderly)
    }

    #[test]
    fn a_count_correction_shares_the_index_and_moves_only_the_totals() {
        let s = Snapshot::build(1, city());
        let mut v = s.dataset.buildings.clone();
        v[2].households = 40;
        v[2].elderly = None;
        let changed: BTreeSet<String> = ["b2".to_owned()].into();
        let t = s.with_buildings(2, v.clone(), &changed);
        assert!(Arc::ptr_eq(&s.buildings.index, &t.buildings.index));
        assert!(Arc::ptr_eq(&s.grids, &t.grids));
        assert_eq!(community_totals(&t), (70, 3));
        // the same as deriving everything again
        let fresh = Snapshot::build(2, t.dataset.as_ref().clone());
        assert_eq!(community_totals(&fresh), community_totals(&t));
        // a moved footprint rebuilds
        let mut w = v;
        w[1].footprint = w[3].footprint.clone();
        let u = t.with_buildings(3, w, &["b1".to_owned()].into());
        assert!(!Arc::ptr_eq(&t.buildings.index, &u.buildings.index));
    }
}
