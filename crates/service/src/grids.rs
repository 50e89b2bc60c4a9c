//! Grid questions of planners: propose grids, rebalance them, check hand-drawn ones.
use crate::coverage::{collection, feature};
use crate::{Result, ServiceError};
use gridmap_algo::partition::{
    self, DrawnGrid, PartitionInput, PartitionParams, PartitionResult, RebalanceResult, ValidationReport, Validator,
};
use gridmap_model::{Building, CommunityId, Dataset, Grid, GridId};
use std::collections::HashSet;

/// Which community a command works on: by id or by name; `None` = all.
pub fn resolve_community(ds: &Dataset, community: Option<&str>) -> Result<Option<CommunityId>> {
    let Some(c) = community else { return Ok(None) };
    if let Some(found) = ds.communities.iter().find(|x| x.id.as_str() == c || x.name == c) {
        return Ok(Some(found.id.clone()));
    }
    // Communities may be known only as building attributes (interchange files).
    if ds.buildings.iter().any(|b| b.community.as_ref().is_some_and(|x| x.as_str() == c)) {
        return Ok(Some(CommunityId::new(c)));
    }
    Err(ServiceError::NotFound { what: "community", id: c.to_owned() })
}

/// Buildings of one community (all when `None`).
fn buildings_of(ds: &Dataset, community: Option<&CommunityId>) -> Vec<Building> {
    ds.buildings.iter().filter(|b| community.is_none() || b.community.as_ref() == community).cloned().collect()
}

/// Proposes grids for one community (or all), without storing anything.
pub fn propose_grids(ds: &Dataset, community: Option<&CommunityId>, params: &PartitionParams) -> Result<PartitionResult> {
        let buildings = buildings_of(ds, community);
        if community.is_some() && buildings.is_empty() {
            return Err(ServiceError::NotFound {
                what: "community with buildings",
                id: community.map(ToString::to_string).unwrap_or_default(),
            });
        }
        let input = PartitionInput { buildings: &buildings, compounds: &ds.compounds, communities: &ds.communities, ways: &ds.ways };
        Ok(partition::partition(&input, params)?)
    }

/// Fixes the stored grids whose households left the band.
pub fn rebalance_grids(ds: &Dataset, params: &PartitionParams) -> Result<RebalanceResult> {
        let input = PartitionInput { buildings: &ds.buildings, compounds: &ds.compounds, communities: &ds.communities, ways: &ds.ways };
        Ok(partition::rebalance(&input, &ds.grids, params)?)
    }

/// Checks hand-drawn grid polygons against the buildings. Only buildings near the drawn
/// polygons take part (their bounding box grown by `margin_m`, default 300 m), so a check of one
/// community's grids stays fast in a whole city; unassigned buildings are reported within that
/// neighbourhood.
pub fn validate_grids(ds: &Dataset, drawn: &[DrawnGrid], params: &PartitionParams) -> Result<ValidationReport> {
    use geo::BoundingRect;
    let margin_m = 300.0;
    let mut bbox: Option<[f64; 4]> = None;
    for g in drawn {
        if let Some(r) = g.boundary.bounding_rect() {
            let b = bbox.get_or_insert([f64::MAX, f64::MAX, f64::MIN, f64::MIN]);
            b[0] = b[0].min(r.min().x);
            b[1] = b[1].min(r.min().y);
            b[2] = b[2].max(r.max().x);
            b[3] = b[3].max(r.max().y);
        }
    }
    let near: Vec<Building> = match bbox {
        None => Vec::new(),
        Some(b) => {
            let dlat = margin_m / 111_000.0;
            let dlon = margin_m / (111_000.0 * ((b[1] + b[3]) / 2.0).to_radians().cos().max(0.05));
            let grown = [b[0] - dlon, b[1] - dlat, b[2] + dlon, b[3] + dlat];
            ds.buildings
                .iter()
                .filter(|x| {
                    x.footprint.bounding_rect().is_some_and(|r| {
                        r.max().x >= grown[0] && r.min().x <= grown[2] && r.max().y >= grown[1] && r.min().y <= grown[3]
                    })
                })
                .cloned()
                .collect()
        }
    };
    let input = PartitionInput { buildings: &near, compounds: &ds.compounds, communities: &ds.communities, ways: &ds.ways };
    let v = Validator::new(&input, params)?;
    Ok(v.validate(drawn))
}

/// Turns a proposal into grids to store: id = code, version 1 (the store bumps on writes).
pub fn proposal_grids(result: &PartitionResult) -> Vec<Grid> {
    result
        .grids
        .iter()
        .map(|g| Grid {
            id: GridId::new(g.code.clone()),
            code: g.code.clone(),
            name: None,
            community: g.community.clone(),
            buildings: g.buildings.clone(),
            leads: Vec::new(),
            boundary: g.outline.clone(),
            version: 0,
        })
        .collect()
}

/// Communities a proposal covers (to replace only their grids).
pub fn proposal_communities(result: &PartitionResult) -> Vec<Option<CommunityId>> {
    let mut seen = HashSet::new();
    result.grids.iter().filter_map(|g| seen.insert(g.community.clone()).then(|| g.community.clone())).collect()
}

/// A proposal as GeoJSON (outlines with code, households, community, compactness, in_band).
pub fn proposal_geojson(result: &PartitionResult) -> geojson::FeatureCollection {
    collection(
        result
            .grids
            .iter()
            .filter_map(|g| {
                let outline = g.outline.as_ref()?;
                let mut p = serde_json::Map::new();
                p.insert("id".into(), g.code.clone().into());
                p.insert("code".into(), g.code.clone().into());
                p.insert("households".into(), g.households.into());
                p.insert("buildings".into(), g.buildings.len().into());
                p.insert("community".into(), g.community.as_ref().map(ToString::to_string).into());
                p.insert("compactness".into(), ((g.compactness * 1000.0).round() / 1000.0).into());
                p.insert("in_band".into(), g.in_band.into());
                p.insert("contiguous".into(), g.contiguous.into());
                p.insert("crosses_barrier".into(), g.crosses_barrier.into());
                Some(feature(geojson::Geometry::from(outline), p))
            })
            .collect(),
    )
}
