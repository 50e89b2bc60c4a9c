//! Checks shared by both backends before anything is written, so SQLite and PostGIS accept
//! and refuse exactly the same input, with errors that name the record.
use crate::error::StoreError;
use geo_types::{LineString, MultiPolygon, Point};
use gridmap_model::{Dataset, Grid};
use std::collections::{HashMap, HashSet};

fn invalid(what: &'static str, id: &str, reason: impl Into<String>) -> StoreError {
    StoreError::Invalid {
        what,
        id: id.to_owned(),
        reason: reason.into(),
    }
}

/// Fails on the first id that appears twice.
pub(crate) fn unique_ids<'a>(
    what: &'static str,
    ids: impl Iterator<Item = &'a str>,
) -> Result<(), StoreError> {
    let mut seen = HashSet::new();
    for id in ids {
        if !seen.insert(id) {
            return Err(StoreError::DuplicateId {
                what,
                id: id.to_owned(),
            });
        }
    }
    Ok(())
}

fn ring_ok(ring: &LineString<f64>) -> Result<(), String> {
    if ring.0.len() < 4 {
        return Err(format!(
            "a ring has {} points; a closed ring needs at least 4",
            ring.0.len()
        ));
    }
    if ring.0.first() != ring.0.last() {
        return Err("a ring is not closed".into());
    }
    Ok(())
}

fn coords_finite<'a>(
    mut cs: impl Iterator<Item = &'a geo_types::Coord<f64>>,
) -> Result<(), String> {
    match cs.find(|c| !c.x.is_finite() || !c.y.is_finite()) {
        Some(c) => Err(format!("coordinate ({}, {}) is not finite", c.x, c.y)),
        None => Ok(()),
    }
}

/// A storable polygonal geometry: at least one polygon, closed rings of ≥ 4 finite points.
pub(crate) fn multipolygon(
    what: &'static str,
    id: &str,
    mp: &MultiPolygon<f64>,
) -> Result<(), StoreError> {
    if mp.0.is_empty() {
        return Err(invalid(what, id, "geometry has no polygon"));
    }
    for p in &mp.0 {
        for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
            ring_ok(ring)
                .and_then(|()| coords_finite(ring.0.iter()))
                .map_err(|r| invalid(what, id, r))?;
        }
    }
    Ok(())
}

pub(crate) fn point(what: &'static str, id: &str, p: &Point<f64>) -> Result<(), StoreError> {
    coords_finite(std::iter::once(&p.0)).map_err(|r| invalid(what, id, r))
}

pub(crate) fn linestring(
    what: &'static str,
    id: &str,
    ls: &LineString<f64>,
) -> Result<(), StoreError> {
    if ls.0.len() < 2 {
        return Err(invalid(
            what,
            id,
            format!("a line needs at least 2 points, has {}", ls.0.len()),
        ));
    }
    coords_finite(ls.0.iter()).map_err(|r| invalid(what, id, r))
}

/// Checks one grid on its own: non-empty code, no building listed twice, usable boundary.
pub(crate) fn grid(g: &Grid) -> Result<(), StoreError> {
    if g.id.as_str().is_empty() {
        return Err(invalid("grid", "", "empty id"));
    }
    if let Some(b) = &g.boundary {
        multipolygon("grid", g.id.as_str(), b)?;
    }
    let mut seen = HashSet::new();
    for b in &g.buildings {
        if !seen.insert(b) {
            return Err(invalid(
                "grid",
                g.id.as_str(),
                format!("lists building '{b}' twice"),
            ));
        }
    }
    Ok(())
}

/// Checks that no building is claimed by two of `grids`.
pub(crate) fn grids_disjoint(grids: &[Grid]) -> Result<(), StoreError> {
    unique_ids("grid", grids.iter().map(|g| g.id.as_str()))?;
    let mut owner: HashMap<&str, &str> = HashMap::new();
    for g in grids {
        grid(g)?;
        for b in &g.buildings {
            if let Some(other) = owner.insert(b.as_str(), g.id.as_str()) {
                return Err(StoreError::BuildingInOtherGrid {
                    building: b.to_string(),
                    grid: other.to_owned(),
                });
            }
        }
    }
    Ok(())
}

/// Everything that can be checked on a dataset without the database.
pub(crate) fn dataset(ds: &Dataset) -> Result<(), StoreError> {
    unique_ids("street", ds.streets.iter().map(|x| x.id.as_str()))?;
    unique_ids("community", ds.communities.iter().map(|x| x.id.as_str()))?;
    unique_ids("compound", ds.compounds.iter().map(|x| x.id.as_str()))?;
    unique_ids("building", ds.buildings.iter().map(|x| x.id.as_str()))?;
    unique_ids("facility", ds.facilities.iter().map(|x| x.id.as_str()))?;
    unique_ids("network way", ds.ways.iter().map(|x| x.id.as_str()))?;
    for s in &ds.streets {
        if let Some(b) = &s.boundary {
            multipolygon("street", s.id.as_str(), b)?;
        }
    }
    for c in &ds.communities {
        if let Some(b) = &c.boundary {
            multipolygon("community", c.id.as_str(), b)?;
        }
    }
    for c in &ds.compounds {
        if let Some(b) = &c.boundary {
            multipolygon("compound", c.id.as_str(), b)?;
        }
    }
    for b in &ds.buildings {
        building(b)?;
    }
    for f in &ds.facilities {
        point("facility", f.id.as_str(), &f.location)?;
    }
    for w in &ds.ways {
        linestring("network way", w.id.as_str(), &w.geometry)?;
    }
    grids_disjoint(&ds.grids)
}

pub(crate) fn building(b: &gridmap_model::Building) -> Result<(), StoreError> {
    multipolygon("building", b.id.as_str(), &b.footprint)?;
    if let Some(e) = &b.entrance {
        point("building", b.id.as_str(), e)?;
    }
    if let Some(l) = b.levels {
        if !l.is_finite() {
            return Err(invalid(
                "building",
                b.id.as_str(),
                format!("levels {l} is not finite"),
            ));
        }
    }
    Ok(())
}

/// `[minx, miny, maxx, maxy]` of a multipolygon (None when it has no coordinate).
pub(crate) fn envelope(mp: &MultiPolygon<f64>) -> Option<[f64; 4]> {
    envelope_of(mp.0.iter().flat_map(|p| p.exterior().0.iter()))
}

pub(crate) fn envelope_of<'a>(
    cs: impl Iterator<Item = &'a geo_types::Coord<f64>>,
) -> Option<[f64; 4]> {
    cs.fold(None, |acc, c| {
        Some(match acc {
            None => [c.x, c.y, c.x, c.y],
            Some([a, b, d, e]) => [
                f64::min(a, c.x),
                f64::min(b, c.y),
                f64::max(d, c.x),
                f64::max(e, c.y),
            ],
        })
    })
}
