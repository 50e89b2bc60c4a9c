//! Grid questions of planners: propose grids, rebalance them, check hand-drawn ones.
use crate::coverage::{collection, feature};
use crate::{Result, ServiceError};
use gridmap_algo::partition::{
    self, DrawnGrid, PartitionInput, PartitionParams, PartitionResult, RebalanceResult,
    ValidationReport, Validator,
};
use gridmap_model::{Building, CommunityId, Dataset, Grid, GridId, Progress};
use std::collections::HashSet;

/// Which community a command works on: by id or by name; `None` = all.
pub fn resolve_community(ds: &Dataset, community: Option<&str>) -> Result<Option<CommunityId>> {
    let Some(c) = community else { return Ok(None) };
    if let Some(found) = ds
        .communities
        .iter()
        .find(|x| x.id.as_str() == c || x.name == c)
    {
        return Ok(Some(found.id.clone()));
    }
    // Communities may be known only as building attributes (interchange files).
    if ds
        .buildings
        .iter()
        .any(|b| b.community.as_ref().is_some_and(|x| x.as_str() == c))
    {
        return Ok(Some(CommunityId::new(c)));
    }
    Err(ServiceError::NotFound {
        what: "community",
        id: c.to_owned(),
    })
}

/// Proposes grids for one community (or all), without storing anything. The whole city is
/// partitioned in place (no copy of the buildings); one community's buildings are copied.
pub fn propose_grids(
    ds: &Dataset,
    community: Option<&CommunityId>,
    params: &PartitionParams,
) -> Result<PartitionResult> {
    propose_grids_with_progress(ds, community, params, &Progress::none())
}

/// [`propose_grids`] reporting progress (community groups done / total) to `progress` and
/// stopping with [`gridmap_algo::partition::PartitionError::Cancelled`] once it is cancelled.
pub fn propose_grids_with_progress(
    ds: &Dataset,
    community: Option<&CommunityId>,
    params: &PartitionParams,
    progress: &Progress,
) -> Result<PartitionResult> {
    let owned: Vec<Building>;
    let buildings: &[Building] = match community {
        None => &ds.buildings,
        Some(c) => {
            owned = ds
                .buildings
                .iter()
                .filter(|b| b.community.as_ref() == Some(c))
                .cloned()
                .collect();
            if owned.is_empty() {
                return Err(ServiceError::NotFound {
                    what: "community with buildings",
                    id: c.to_string(),
                });
            }
            &owned
        }
    };
    let input = PartitionInput {
        buildings,
        compounds: &ds.compounds,
        communities: &ds.communities,
        ways: &ds.ways,
    };
    Ok(partition::partition_with_progress(
        &input, params, progress,
    )?)
}

/// Fixes the stored grids whose households left the band.
pub fn rebalance_grids(ds: &Dataset, params: &PartitionParams) -> Result<RebalanceResult> {
    let input = PartitionInput {
        buildings: &ds.buildings,
        compounds: &ds.compounds,
        communities: &ds.communities,
        ways: &ds.ways,
    };
    Ok(partition::rebalance(&input, &ds.grids, params)?)
}

/// Checks hand-drawn grid polygons against the buildings. Only buildings near the drawn
/// polygons take part (their bounding box grown by `margin_m`, default 300 m), so a check of one
/// community's grids stays fast in a whole city; unassigned buildings are reported within that
/// neighbourhood.
pub fn validate_grids(
    ds: &Dataset,
    drawn: &[DrawnGrid],
    params: &PartitionParams,
) -> Result<ValidationReport> {
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
            let dlon =
                margin_m / (111_000.0 * f64::midpoint(b[1], b[3]).to_radians().cos().max(0.05));
            let grown = [b[0] - dlon, b[1] - dlat, b[2] + dlon, b[3] + dlat];
            ds.buildings
                .iter()
                .filter(|x| {
                    x.footprint.bounding_rect().is_some_and(|r| {
                        r.max().x >= grown[0]
                            && r.min().x <= grown[2]
                            && r.max().y >= grown[1]
                            && r.min().y <= grown[3]
                    })
                })
                .cloned()
                .collect()
        }
    };
    let input = PartitionInput {
        buildings: &near,
        compounds: &ds.compounds,
        communities: &ds.communities,
        ways: &ds.ways,
    };
    let v = Validator::new(&input, params)?;
    v.check_work(drawn)?;
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
            name: Some(g.name.clone()),
            community: g.community.clone(),
            buildings: g.buildings.clone(),
            leads: Vec::new(),
            boundary: g.outline.clone(),
            version: 0,
        })
        .collect()
}

/// [`proposal_grids`] taking the proposal by value: building lists and outlines are moved, not
/// copied (a whole-city proposal holds a million building ids).
pub fn into_proposal_grids(result: PartitionResult) -> Vec<Grid> {
    result
        .grids
        .into_iter()
        .map(|g| Grid {
            id: GridId::new(g.code.clone()),
            code: g.code,
            name: Some(g.name),
            community: g.community,
            buildings: g.buildings,
            leads: Vec::new(),
            boundary: g.outline,
            version: 0,
        })
        .collect()
}

/// Communities a proposal covers (to replace only their grids).
pub fn proposal_communities(result: &PartitionResult) -> Vec<Option<CommunityId>> {
    let mut seen = HashSet::new();
    result
        .grids
        .iter()
        .filter(|&g| seen.insert(g.community.clone()))
        .map(|g| g.community.clone())
        .collect()
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
                p.insert("name".into(), g.name.clone().into());
                p.insert("households".into(), g.households.into());
                p.insert("buildings".into(), g.buildings.len().into());
                p.insert(
                    "community".into(),
                    g.community.as_ref().map(ToString::to_string).into(),
                );
                p.insert(
                    "compactness".into(),
                    ((g.compactness * 1000.0).round() / 1000.0).into(),
                );
                p.insert("in_band".into(), g.in_band.into());
                p.insert("contiguous".into(), g.contiguous.into());
                p.insert("crosses_barrier".into(), g.crosses_barrier.into());
                Some(feature(geojson::Geometry::from(outline), p))
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridmap_model::{BuildingId, Community, HouseholdSource};

    fn building(i: usize, community: &str) -> Building {
        let (x, y) = (
            7.42 + (i % 10) as f64 * 0.0003,
            43.73 + (i / 10) as f64 * 0.0003,
        );
        Building {
            id: BuildingId::new(format!("w{i}")),
            name: None,
            building_type: None,
            address: None,
            footprint: geo_types::MultiPolygon(vec![geo_types::Polygon::new(
                vec![
                    (x, y),
                    (x + 0.0001, y),
                    (x + 0.0001, y + 0.0001),
                    (x, y + 0.0001),
                    (x, y),
                ]
                .into(),
                vec![],
            )]),
            entrance: None,
            levels: None,
            households: 10,
            households_source: HouseholdSource::Imported,
            elderly: None,
            steward: None,
            compound: None,
            community: Some(CommunityId::new(community)),
        }
    }

    #[test]
    fn proposed_grids_have_readable_codes_and_names_not_osm_ids() {
        let ds = Dataset {
            buildings: (0..60)
                .map(|i| building(i, "r1155945"))
                .collect::<Vec<_>>()
                .into(),
            communities: vec![Community {
                id: CommunityId::new("r1155945"),
                name: "Triesen".into(),
                street: None,
                boundary: None,
            }]
            .into(),
            ..Dataset::default()
        };
        let r = propose_grids(&ds, None, &PartitionParams::default()).expect("partition");
        let grids = proposal_grids(&r);
        assert_eq!(grids.len(), 2);
        let mut got: Vec<(String, Option<String>)> = grids
            .iter()
            .map(|g| (g.code.clone(), g.name.clone()))
            .collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                ("TRI-01".into(), Some("Triesen 01".into())),
                ("TRI-02".into(), Some("Triesen 02".into()))
            ]
        );
        assert!(grids
            .iter()
            .all(|g| g.boundary.as_ref().is_some_and(|b| !b.0.is_empty())));
        // One community alone is copied out and gets the same codes.
        let one = propose_grids(
            &ds,
            Some(&CommunityId::new("r1155945")),
            &PartitionParams::default(),
        )
        .expect("partition");
        assert_eq!(
            one.grids.iter().map(|g| &g.code).collect::<Vec<_>>(),
            r.grids.iter().map(|g| &g.code).collect::<Vec<_>>()
        );
    }
}
