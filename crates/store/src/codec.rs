//! Column-level conversions shared by both backends: WKB blobs, enums stored as text,
//! unsigned counts stored as 64-bit integers, JSON columns. Decoding failures become
//! [`StoreError::Corrupt`] naming the record and the column.
use crate::error::StoreError;
use crate::wkb;
use geo_types::{LineString, MultiPolygon, Point};
use gridmap_model::{CompoundKind, FacilityKind, HouseholdSource, UserId};
use std::collections::BTreeMap;

fn corrupt(what: &'static str, id: &str, reason: String) -> StoreError {
    StoreError::Corrupt {
        what,
        id: id.to_owned(),
        reason,
    }
}

pub(crate) fn multipolygon(
    what: &'static str,
    id: &str,
    col: &str,
    blob: &[u8],
) -> Result<MultiPolygon<f64>, StoreError> {
    wkb::multipolygon_from_wkb(blob).map_err(|e| corrupt(what, id, format!("column {col}: {e}")))
}

pub(crate) fn opt_multipolygon(
    what: &'static str,
    id: &str,
    col: &str,
    blob: Option<Vec<u8>>,
) -> Result<Option<MultiPolygon<f64>>, StoreError> {
    blob.map(|b| multipolygon(what, id, col, &b)).transpose()
}

pub(crate) fn point(
    what: &'static str,
    id: &str,
    col: &str,
    blob: &[u8],
) -> Result<Point<f64>, StoreError> {
    wkb::point_from_wkb(blob).map_err(|e| corrupt(what, id, format!("column {col}: {e}")))
}

pub(crate) fn linestring(
    what: &'static str,
    id: &str,
    col: &str,
    blob: &[u8],
) -> Result<LineString<f64>, StoreError> {
    wkb::linestring_from_wkb(blob).map_err(|e| corrupt(what, id, format!("column {col}: {e}")))
}

pub(crate) fn count(what: &'static str, id: &str, col: &str, v: i64) -> Result<u32, StoreError> {
    u32::try_from(v).map_err(|_| {
        corrupt(
            what,
            id,
            format!("column {col}: {v} is not a count (0..=4294967295)"),
        )
    })
}

pub(crate) fn opt_count(
    what: &'static str,
    id: &str,
    col: &str,
    v: Option<i64>,
) -> Result<Option<u32>, StoreError> {
    v.map(|v| count(what, id, col, v)).transpose()
}

pub(crate) fn household_source(id: &str, s: &str) -> Result<HouseholdSource, StoreError> {
    s.parse().map_err(|e: gridmap_model::ModelError| {
        corrupt("building", id, format!("column households_source: {e}"))
    })
}

pub(crate) fn compound_kind(id: &str, s: &str) -> Result<CompoundKind, StoreError> {
    s.parse().map_err(|e: gridmap_model::ModelError| {
        corrupt("compound", id, format!("column kind: {e}"))
    })
}

pub(crate) fn facility_kind(id: &str, s: &str) -> Result<FacilityKind, StoreError> {
    FacilityKind::parse(s).map_err(|e| corrupt("facility", id, format!("column kind: {e}")))
}

pub(crate) fn leads(id: &str, json: &str) -> Result<Vec<UserId>, StoreError> {
    serde_json::from_str(json).map_err(|e| corrupt("grid", id, format!("column leads: {e}")))
}

pub(crate) fn leads_json(leads: &[UserId]) -> String {
    // A Vec of plain strings always serializes.
    serde_json::to_string(leads).unwrap_or_else(|_| "[]".into())
}

pub(crate) fn tags(id: &str, json: &str) -> Result<BTreeMap<String, String>, StoreError> {
    serde_json::from_str(json).map_err(|e| corrupt("network way", id, format!("column tags: {e}")))
}

pub(crate) fn tags_json(tags: &BTreeMap<String, String>) -> String {
    serde_json::to_string(tags).unwrap_or_else(|_| "{}".into())
}

pub(crate) fn opt_wkb_mp(mp: &Option<MultiPolygon<f64>>) -> Option<Vec<u8>> {
    mp.as_ref().map(wkb::multipolygon_to_wkb)
}
