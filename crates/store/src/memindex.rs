//! In-memory copy of one spatial layer with an R-tree over its envelopes: how the SQLite
//! backend answers bbox/filter/paging reads without scanning the table. Built lazily from the
//! database, dropped when the layer's change counter moves (see `sqlite::cache`).
use crate::query::{Page, Query};
use geo::Intersects;
use geo_types::{coord, Rect};
use gridmap_model::{Building, Community, Compound, Facility, Grid};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// A record the in-memory index can hold.
pub(crate) trait Spatial: Clone + Send + Sync + 'static {
    fn id(&self) -> &str;
    /// `[minx, miny, maxx, maxy]`; None = not in the R-tree (never matches a bbox).
    fn envelope(&self) -> Option<[f64; 4]>;
    /// Exact test against the query box.
    fn intersects(&self, r: &Rect<f64>) -> bool;
}

impl Spatial for Building {
    fn id(&self) -> &str {
        self.id.as_str()
    }
    fn envelope(&self) -> Option<[f64; 4]> {
        crate::validate::envelope(&self.footprint)
    }
    fn intersects(&self, r: &Rect<f64>) -> bool {
        self.footprint.intersects(r)
    }
}

impl Spatial for Facility {
    fn id(&self) -> &str {
        self.id.as_str()
    }
    fn envelope(&self) -> Option<[f64; 4]> {
        Some([
            self.location.x(),
            self.location.y(),
            self.location.x(),
            self.location.y(),
        ])
    }
    fn intersects(&self, r: &Rect<f64>) -> bool {
        self.location.intersects(r)
    }
}

macro_rules! boundary_spatial {
    ($t:ty) => {
        impl Spatial for $t {
            fn id(&self) -> &str {
                self.id.as_str()
            }
            fn envelope(&self) -> Option<[f64; 4]> {
                self.boundary.as_ref().and_then(crate::validate::envelope)
            }
            fn intersects(&self, r: &Rect<f64>) -> bool {
                self.boundary.as_ref().is_some_and(|b| b.intersects(r))
            }
        }
    };
}
boundary_spatial!(Grid);
boundary_spatial!(Compound);
boundary_spatial!(Community);

/// All records of one layer, sorted by id, with their versions and an R-tree.
pub(crate) struct MemLayer<T> {
    items: Vec<Arc<T>>,
    versions: Vec<i64>,
    by_id: HashMap<String, usize>,
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
}

impl<T: Spatial> MemLayer<T> {
    /// Builds the layer from `(record, version)` pairs in any order.
    pub(crate) fn new(rows: Vec<(T, i64)>) -> Self {
        Self::from_shared(rows.into_iter().map(|(t, v)| (Arc::new(t), v)).collect())
    }

    fn from_shared(mut rows: Vec<(Arc<T>, i64)>) -> Self {
        rows.sort_by(|a, b| a.0.id().cmp(b.0.id()));
        let mut items = Vec::with_capacity(rows.len());
        let mut versions = Vec::with_capacity(rows.len());
        let mut entries = Vec::with_capacity(rows.len());
        let mut by_id = HashMap::with_capacity(rows.len());
        for (i, (item, version)) in rows.into_iter().enumerate() {
            if let Some([a, b, c, d]) = item.envelope() {
                entries.push(GeomWithData::new(
                    Rectangle::from_corners([a, b], [c, d]),
                    i,
                ));
            }
            by_id.insert(item.id().to_owned(), i);
            items.push(item);
            versions.push(version);
        }
        MemLayer {
            items,
            versions,
            by_id,
            tree: RTree::bulk_load(entries),
        }
    }

    pub(crate) fn get(&self, id: &str) -> Option<(&T, i64)> {
        self.by_id
            .get(id)
            .map(|&i| (&*self.items[i], self.versions[i]))
    }

    /// A copy with one record replaced, added (`Some`) or removed (`None`): what a single-row
    /// edit does to the layer, without re-reading the table (records are shared, not cloned).
    pub(crate) fn with_change(&self, id: &str, change: Option<(T, i64)>) -> Self {
        let mut rows: Vec<(Arc<T>, i64)> = self
            .items
            .iter()
            .zip(&self.versions)
            .filter(|(t, _)| t.id() != id)
            .map(|(t, v)| (t.clone(), *v))
            .collect();
        if let Some((t, v)) = change {
            rows.push((Arc::new(t), v));
        }
        Self::from_shared(rows)
    }

    /// Applies `q`'s bbox, ids and paging plus the layer-specific `keep` predicate
    /// (community/grid/kind filters); `q` has already been checked.
    pub(crate) fn query(&self, q: &Query, keep: impl Fn(&T) -> bool) -> Page<T> {
        let ids: Option<HashSet<&str>> = q
            .ids
            .as_ref()
            .map(|v| v.iter().map(String::as_str).collect());
        let pass = |i: usize| {
            let it = &self.items[i];
            ids.as_ref().is_none_or(|s| s.contains(it.id())) && keep(it)
        };
        let hits: Vec<usize> = match q.bbox {
            Some([a, b, c, d]) => {
                let rect = Rect::new(coord! { x: a, y: b }, coord! { x: c, y: d });
                let env = AABB::from_corners([a, b], [c, d]);
                let mut v: Vec<usize> = self
                    .tree
                    .locate_in_envelope_intersecting(&env)
                    .map(|e| e.data)
                    .filter(|&i| self.items[i].intersects(&rect) && pass(i))
                    .collect();
                v.sort_unstable();
                v
            }
            None => match &ids {
                // Few ids: look them up instead of scanning.
                Some(s) if s.len() < self.items.len() / 8 => {
                    let mut v: Vec<usize> = s
                        .iter()
                        .filter_map(|id| self.by_id.get(*id).copied())
                        .filter(|&i| pass(i))
                        .collect();
                    v.sort_unstable();
                    v
                }
                _ => (0..self.items.len()).filter(|&i| pass(i)).collect(),
            },
        };
        let window = q.window(hits.len());
        Page {
            matched: hits.len() as u64,
            items: hits[window]
                .iter()
                .map(|&i| (*self.items[i]).clone())
                .collect(),
        }
    }
}
