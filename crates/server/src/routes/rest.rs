//! REST GeoJSON under `/api/`: layer lists with bbox/filters/paging (WGS84 only), a grid's
//! detail with its buildings and statistics, and dataset statistics.
use super::ogc::{feature_page, GEOJSON};
use super::{json_response, json_value, QueryPairs};
use crate::error::{ApiError, Problem};
use crate::openapi::schemas::{FeatureCollection, GridDetail, Kinds, Stats};
use crate::query::{only, ItemsQuery};
use crate::snapshot::Collection;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use gridmap_model::{GridId, HouseholdSource, OSM_ATTRIBUTION};
use serde_json::json;
use std::collections::BTreeMap;
use utoipa_axum::{router::OpenApiRouter, routes};

const TAG: &str = "REST GeoJSON";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_buildings))
        .routes(routes!(api_compounds))
        .routes(routes!(api_communities))
        .routes(routes!(api_grids))
        .routes(routes!(api_facilities))
        .routes(routes!(grid_detail))
        .routes(routes!(stats))
        .routes(routes!(kinds))
}

async fn list(
    st: AppState,
    headers: HeaderMap,
    c: Collection,
    q: Vec<(String, String)>,
) -> Result<Response, ApiError> {
    let q = ItemsQuery::parse(c, q, false)?;
    let snap = st.snapshot().await?;
    let url = format!("{}/api/{}", st.base_url(&headers), c.id());
    Ok(json_response(
        GEOJSON,
        feature_page(&snap, c, &q, &url, None),
    ))
}

macro_rules! api_list {
    ($fn_name:ident, $coll:expr, $name:literal, [$($filter:tt)*]) => {
        #[doc = concat!("All ", $name, " as a GeoJSON FeatureCollection with every property, filtered and paged.")]
        #[utoipa::path(get, path = concat!("/api/", $name), tag = TAG, operation_id = concat!("api_", $name),
            params(
                ("bbox" = Option<String>, Query, description = "minx,miny,maxx,maxy in WGS84 lon/lat"),
                ("limit" = Option<u64>, Query, description = "Page size, 1 to 10000 (larger values are clamped); default 10"),
                ("offset" = Option<u64>, Query, description = "Index of the first feature"),
                $($filter)*
            ),
            responses(
                (status = 200, description = "Features", body = FeatureCollection, content_type = "application/geo+json"),
                (status = 400, description = "Invalid or unknown parameter", body = Problem, content_type = "application/problem+json"),
            ))]
        async fn $fn_name(State(st): State<AppState>, headers: HeaderMap, QueryPairs(q): QueryPairs) -> Result<Response, ApiError> {
            list(st, headers, $coll, q).await
        }
    };
}

api_list!(api_buildings, Collection::Buildings, "buildings", [
    ("community" = Option<String>, Query, description = "Only buildings of this community"),
    ("grid" = Option<String>, Query, description = "Only buildings of this grid"),
    ("compound" = Option<String>, Query, description = "Only buildings of this compound"),
]);
api_list!(api_compounds, Collection::Compounds, "compounds", [
    ("community" = Option<String>, Query, description = "Only compounds of this community"),
    ("kind" = Option<String>, Query, description = "Only compounds of this kind"),
]);
api_list!(api_communities, Collection::Communities, "communities", [
    ("street" = Option<String>, Query, description = "Only communities of this street"),
]);
api_list!(api_grids, Collection::Grids, "grids", [
    ("community" = Option<String>, Query, description = "Only grids of this community"),
]);
api_list!(api_facilities, Collection::Facilities, "facilities", [
    ("kind" = Option<String>, Query, description = "Only facilities of this kind"),
]);

/// A grid with its buildings (all properties) and statistics.
#[utoipa::path(get, path = "/api/grids/{id}", tag = TAG, operation_id = "api_grid_detail",
    params(("id" = String, Path, description = "Grid id")),
    responses(
        (status = 200, description = "The grid, its buildings and statistics", body = GridDetail, content_type = "application/json"),
        (status = 400, description = "Unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such grid", body = Problem, content_type = "application/problem+json"),
    ))]
async fn grid_detail(
    State(st): State<AppState>,
    Path(id): Path<String>,
    QueryPairs(q): QueryPairs,
) -> Result<Response, ApiError> {
    only(&q, &[])?;
    let snap = st.snapshot().await?;
    let nf = || ApiError::NotFound {
        what: "grid".into(),
        id: id.clone(),
    };
    // Outside the caller's scope a grid does not exist.
    if !snap.layer(Collection::Grids).contains(&id) {
        return Err(nf());
    }
    let g = st.store.grid(&GridId::new(&id)).await?.ok_or_else(nf)?;
    let (geom, props) = snap.grid_feature(&g);
    let mut grid = String::new();
    crate::geojson::write_feature(
        &mut grid,
        &id,
        geom.as_ref(),
        &props,
        &crate::geojson::identity,
    );
    let layer = snap.layer(Collection::Buildings);
    let rows: Vec<String> = g
        .buildings
        .iter()
        .filter_map(|b| layer.get(b.as_str()))
        .map(|r| {
            let mut s = String::new();
            r.write_json(&mut s);
            s
        })
        .collect();
    let members: Vec<&gridmap_model::Building> = g
        .buildings
        .iter()
        .filter_map(|b| snap.building(b.as_str()))
        .collect();
    let mut by_source: BTreeMap<&str, u64> = BTreeMap::new();
    for b in &members {
        *by_source.entry(b.households_source.as_str()).or_default() += u64::from(b.households);
    }
    let compounds: std::collections::BTreeSet<&str> = members
        .iter()
        .filter_map(|b| b.compound.as_ref().map(gridmap_model::CompoundId::as_str))
        .collect();
    let stats = json!({
        "building_count": g.buildings.len(),
        "households": members.iter().map(|b| u64::from(b.households)).sum::<u64>(),
        "households_by_source": by_source,
        "elderly": members.iter().map(|b| u64::from(b.elderly.unwrap_or(0))).sum::<u64>(),
        "buildings_with_steward": members.iter().filter(|b| b.steward.is_some()).count(),
        "compounds": compounds,
        "missing_buildings": g.buildings.iter().filter(|b| snap.building(b.as_str()).is_none()).map(gridmap_model::BuildingId::as_str).collect::<Vec<_>>(),
    });
    let body = format!(
        "{{\"grid\":{grid},\"buildings\":{{\"type\":\"FeatureCollection\",\"numberMatched\":{n},\"numberReturned\":{n},\"features\":[{}]}},\"statistics\":{stats}}}",
        rows.join(","),
        n = rows.len()
    );
    Ok(json_response("application/json", body.into_bytes()))
}

/// Totals of the dataset: record counts, households by source, elderly, facilities by kind,
/// grid size statistics.
#[utoipa::path(get, path = "/api/stats", tag = TAG, operation_id = "api_stats",
    responses(
        (status = 200, description = "Statistics", body = Stats, content_type = "application/json"),
        (status = 400, description = "Unknown parameter", body = Problem, content_type = "application/problem+json"),
    ))]
async fn stats(
    State(st): State<AppState>,
    QueryPairs(q): QueryPairs,
) -> Result<Response, ApiError> {
    only(&q, &[])?;
    let snap = st.snapshot().await?;
    let ds = &snap.dataset;
    let mut by_source: BTreeMap<&str, u64> = [
        HouseholdSource::Estimated,
        HouseholdSource::Imported,
        HouseholdSource::Edited,
    ]
    .iter()
    .map(|s| (s.as_str(), 0))
    .collect();
    for b in &ds.buildings {
        *by_source.entry(b.households_source.as_str()).or_default() += u64::from(b.households);
    }
    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    for f in &ds.facilities {
        *kinds.entry(f.kind.as_str().to_owned()).or_default() += 1;
    }
    let grid_hh: Vec<u64> = ds
        .grids
        .iter()
        .map(|g| {
            g.buildings
                .iter()
                .filter_map(|b| snap.building(b.as_str()))
                .map(|b| u64::from(b.households))
                .sum()
        })
        .collect();
    let grids = if grid_hh.is_empty() {
        json!({"count": 0})
    } else {
        json!({"count": grid_hh.len(), "households_min": grid_hh.iter().min(), "households_max": grid_hh.iter().max(),
               "households_mean": grid_hh.iter().sum::<u64>() as f64 / grid_hh.len() as f64})
    };
    let assigned: usize = ds.grids.iter().map(|g| g.buildings.len()).sum();
    let catalog = st.kind_catalog().await?;
    Ok(json_value(
        "application/json",
        &json!({
            "counts": {"streets": ds.streets.len(), "communities": ds.communities.len(), "compounds": ds.compounds.len(),
                       "buildings": ds.buildings.len(), "buildings_in_grids": assigned, "facilities": ds.facilities.len(),
                       "grids": ds.grids.len(), "network_ways": ds.ways.len()},
            "households": {"total": ds.households(), "by_source": by_source},
            "elderly": ds.buildings.iter().map(|b| u64::from(b.elderly.unwrap_or(0))).sum::<u64>(),
            "facilities_by_kind": kinds,
            "facility_profile": catalog.profile.name,
            "facility_label": catalog.label,
            "grids": grids,
            "attribution": OSM_ATTRIBUTION,
        }),
    ))
}

/// The facility kinds as data: each kind's code, Chinese and English labels, colour, default
/// walking minutes and facility count, and the tag profile that assigned the kinds (`label`:
/// what a proxy profile counts as what, to be shown with every figure; null for strict).
#[utoipa::path(get, path = "/api/kinds", tag = TAG, operation_id = "api_kinds",
    responses(
        (status = 200, description = "Kinds and profile", body = Kinds, content_type = "application/json"),
        (status = 400, description = "Unknown parameter", body = Problem, content_type = "application/problem+json"),
    ))]
async fn kinds(
    State(st): State<AppState>,
    QueryPairs(q): QueryPairs,
) -> Result<Response, ApiError> {
    only(&q, &[])?;
    let snap = st.snapshot().await?;
    let catalog = st
        .kind_catalog()
        .await?
        .with_present(snap.dataset.facilities.iter().map(|f| &f.kind));
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for f in &snap.dataset.facilities {
        *counts.entry(f.kind.as_str()).or_default() += 1;
    }
    let kinds: Vec<serde_json::Value> = catalog
        .kinds
        .iter()
        .map(|k| {
            json!({"code": k.code, "zh": k.zh, "en": k.en, "colour": k.colour, "minutes": k.minutes,
                   "facilities": counts.get(k.code.as_str()).copied().unwrap_or(0)})
        })
        .collect();
    Ok(json_value(
        "application/json",
        &json!({"profile": catalog.profile, "label": catalog.label, "kinds": kinds}),
    ))
}
