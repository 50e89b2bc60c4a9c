//! Read queries of the API: filters, paging and the page they return.
use crate::error::StoreError;
use gridmap_model::{CommunityId, GridId};

/// A read over one layer. Every filter is optional; all given filters must hold.
///
/// Which filters a layer understands:
///
/// | layer        | bbox (geometry)  | community | grid | kind            | ids |
/// |--------------|------------------|-----------|------|-----------------|-----|
/// | buildings    | footprint        | yes       | yes  | `building_type` | yes |
/// | facilities   | location         | –         | –    | facility kind   | yes |
/// | grids        | boundary         | yes       | –    | –               | yes |
/// | compounds    | boundary         | yes       | –    | compound kind   | yes |
/// | communities  | boundary         | –         | –    | –               | yes |
///
/// A filter a layer does not understand is an error ([`StoreError::InvalidQuery`]), never
/// silently ignored. `bbox` is `[minx, miny, maxx, maxy]` in WGS84 lon/lat and matches records
/// whose geometry *intersects* the box (touching counts); records without a geometry (a grid
/// with no boundary) never match a bbox. Results are ordered by id (byte order), then
/// `offset`/`limit` cut the page; `matched` counts every record that passed the filters.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub bbox: Option<[f64; 4]>,
    pub community: Option<CommunityId>,
    pub grid: Option<GridId>,
    pub kind: Option<String>,
    pub ids: Option<Vec<String>>,
    pub offset: u64,
    /// Maximum number of items; `0` returns no item but still counts `matched`.
    pub limit: u64,
}

impl Default for Query {
    /// No filter, no limit.
    fn default() -> Self {
        Query {
            bbox: None,
            community: None,
            grid: None,
            kind: None,
            ids: None,
            offset: 0,
            limit: u64::MAX,
        }
    }
}

impl Query {
    /// Every record of the layer.
    pub fn all() -> Self {
        Self::default()
    }
    /// Records intersecting `[minx, miny, maxx, maxy]`.
    pub fn bbox(bbox: [f64; 4]) -> Self {
        Query {
            bbox: Some(bbox),
            ..Self::default()
        }
    }
    /// Same query, one page of it.
    pub fn page(mut self, offset: u64, limit: u64) -> Self {
        self.offset = offset;
        self.limit = limit;
        self
    }

    /// Checks the query against what `layer` understands (see the table above).
    pub(crate) fn check(&self, layer: &'static str) -> Result<(), StoreError> {
        let (community, grid, kind) = match layer {
            "buildings" => (true, true, true),
            "facilities" => (false, false, true),
            "grids" => (true, false, false),
            "compounds" => (true, false, true),
            _ => (false, false, false),
        };
        let bad = |reason: String| Err(StoreError::InvalidQuery { layer, reason });
        if self.community.is_some() && !community {
            return bad("filter 'community' does not apply (use 'ids' for communities)".into());
        }
        if self.grid.is_some() && !grid {
            return bad("filter 'grid' applies to buildings only".into());
        }
        if self.kind.is_some() && !kind {
            return bad("filter 'kind' applies to buildings, facilities and compounds only".into());
        }
        if let Some(b) = self.bbox {
            if b.iter().any(|v| !v.is_finite()) || b[0] > b[2] || b[1] > b[3] {
                return bad(format!(
                    "bbox {b:?} is not [minx, miny, maxx, maxy] with finite min <= max"
                ));
            }
        }
        Ok(())
    }

    /// The `offset..offset+limit` window of `n` sorted matches, clamped.
    pub(crate) fn window(&self, n: usize) -> std::ops::Range<usize> {
        let start = usize::try_from(self.offset).unwrap_or(usize::MAX).min(n);
        let len = usize::try_from(self.limit).unwrap_or(usize::MAX);
        start..start.saturating_add(len).min(n)
    }
}

/// One page of a query's result.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// How many records matched the filters, over all pages.
    pub matched: u64,
}
