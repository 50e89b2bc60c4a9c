//! The raw OSM objects both readers (PBF and XML) produce, before any geometry is built.
//! Coordinates are kept as fixed-point 1e-7 degrees (OSM's own precision), so the PBF and the
//! XML of the same data give bit-identical `f64` coordinates.
use geo_types::{coord, Coord};
use std::collections::{HashMap, HashSet};

pub(crate) type Tags = Vec<(String, String)>;

/// Fixed-point 1e-7 degree (lon, lat).
pub(crate) type FixedLonLat = (i32, i32);

pub(crate) fn to_coord((lon, lat): FixedLonLat) -> Coord<f64> {
    coord! { x: f64::from(lon) / 1e7, y: f64::from(lat) / 1e7 }
}

/// Converts decimal degrees to fixed point; `None` when out of range or not finite.
pub(crate) fn to_fixed(deg: f64, limit: f64) -> Option<i32> {
    if !deg.is_finite() || deg.abs() > limit {
        return None;
    }
    // |deg| <= 180 so the product fits an i32 (max 1.8e9 < 2.147e9).
    Some((deg * 1e7).round() as i32)
}

pub(crate) struct TaggedNode {
    pub id: i64,
    pub at: FixedLonLat,
    pub tags: Tags,
}

pub(crate) struct RawWay {
    pub id: i64,
    pub refs: Vec<i64>,
    pub tags: Tags,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MemberType {
    Node,
    Way,
    Relation,
}

pub(crate) struct RawMember {
    pub kind: MemberType,
    pub id: i64,
    pub role: String,
}

pub(crate) struct RawRelation {
    pub id: i64,
    pub members: Vec<RawMember>,
    pub tags: Tags,
}

/// Everything read from one OSM file.
#[derive(Default)]
pub(crate) struct OsmRaw {
    /// Location of every node.
    pub coords: HashMap<i64, FixedLonLat>,
    /// Nodes with at least one tag, in file order.
    pub tagged_nodes: Vec<TaggedNode>,
    pub ways: Vec<RawWay>,
    pub relations: Vec<RawRelation>,
}

impl OsmRaw {
    /// The first tagged node, way or relation whose id occurs twice ("node n5", "way w7", …).
    /// Each becomes a feature with that id, so a file holding one object twice (overlapping
    /// extracts concatenated) cannot be imported; untagged nodes only give locations.
    pub(crate) fn first_duplicate(&self) -> Option<String> {
        fn dup(ids: impl Iterator<Item = i64>) -> Option<i64> {
            let mut seen = HashSet::new();
            ids.into_iter().find(|id| !seen.insert(*id))
        }
        dup(self.tagged_nodes.iter().map(|n| n.id))
            .map(|id| format!("node n{id}"))
            .or_else(|| dup(self.ways.iter().map(|w| w.id)).map(|id| format!("way w{id}")))
            .or_else(|| {
                dup(self.relations.iter().map(|r| r.id)).map(|id| format!("relation r{id}"))
            })
    }
}

pub(crate) fn tag<'a>(tags: &'a Tags, key: &str) -> Option<&'a str> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}
