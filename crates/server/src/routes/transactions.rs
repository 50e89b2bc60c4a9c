//! OGC API - Features Part 4 on the editable collections (grids, facilities): create (POST,
//! 201 + Location), replace (PUT), update (PATCH, JSON merge of properties, geometry replaced),
//! delete (DELETE). Edits need `If-Match` with the item's ETag: 428 without it, 412 when stale
//! (and then nothing changes). Responses carry the new `ETag`.
use super::ogc::{fresh_item, item, item_response, items};
use super::QueryPairs;
use crate::auth;
use crate::backend::Edit;
use crate::crs::ApiCrs;
use crate::edit::{self, Audit};
use crate::error::{ApiError, Problem};
use crate::etag::IfMatch;
use crate::geojson::read_geometry;
use crate::openapi::schemas::{
    FacilityInput, FacilityPatch, Feature, FeatureCollection, GridInput, GridPatch,
};
use crate::snapshot::{Collection, Snapshot};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use geo_types::{Geometry, MultiPolygon};
use gridmap_model::{CommunityId, Facility, FacilityId, FacilityKind, Grid, GridId, UserId};
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use utoipa_axum::{router::OpenApiRouter, routes};

const TAG: &str = "OGC API - Features (transactions)";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(grids_items, grids_create))
        .routes(routes!(
            grids_item,
            grids_replace,
            grids_update,
            grids_delete
        ))
        .routes(routes!(facilities_items, facilities_create))
        .routes(routes!(
            facilities_item,
            facilities_replace,
            facilities_update,
            facilities_delete
        ))
}

/// Geometry and properties of a grid feature, as the API renders it.
pub fn grid_feature(snap: &Snapshot, g: &Grid) -> (Option<Geometry<f64>>, Map<String, Value>) {
    snap.grid_feature(g)
}

// ------------------------------------------------------------------ request bodies

/// The body of an edit as JSON, checked for size, media type and shape.
fn body_json(
    body: Result<Bytes, BytesRejection>,
    headers: &HeaderMap,
    limit: usize,
    patch: bool,
) -> Result<Value, ApiError> {
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mt = ctype
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let ok = matches!(mt.as_str(), "application/json" | "application/geo+json")
        || (patch && mt == "application/merge-patch+json");
    if !ok {
        return Err(ApiError::UnsupportedMediaType(ctype.to_owned()));
    }
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge { limit }
        } else {
            ApiError::InvalidBody(e.body_text())
        }
    })?;
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::InvalidBody(format!("not JSON: {e}")))?;
    if !v.is_object() {
        return Err(ApiError::InvalidBody(
            "expected a GeoJSON Feature object".into(),
        ));
    }
    Ok(v)
}

/// CRS of the geometry in a request body (`Content-Crs`, default CRS84).
fn body_crs(headers: &HeaderMap) -> Result<ApiCrs, ApiError> {
    match headers.get("content-crs").and_then(|v| v.to_str().ok()) {
        Some(v) => ApiCrs::parse("Content-Crs", v),
        None => Ok(ApiCrs::DEFAULT),
    }
}

/// A checked Feature: its optional id, geometry member (if present) and properties.
struct FeatureBody {
    id: Option<String>,
    geometry: Option<Value>,
    properties: Map<String, Value>,
}

fn feature_body(v: Value, require_all: bool) -> Result<FeatureBody, ApiError> {
    let Value::Object(mut o) = v else {
        return Err(ApiError::InvalidBody("expected an object".into()));
    };
    for k in o.keys() {
        if !matches!(
            k.as_str(),
            "type" | "id" | "geometry" | "properties" | "links" | "bbox"
        ) {
            return Err(ApiError::InvalidBody(format!(
                "unknown member '{k}' (a Feature has type, id, geometry, properties)"
            )));
        }
    }
    if o.get("bbox")
        .is_some_and(|v| !v.as_array().is_some_and(|a| a.iter().all(Value::is_number)))
    {
        return Err(ApiError::InvalidBody(
            "\"bbox\" must be an array of numbers".into(),
        ));
    }
    let link_ok = |l: &Value| {
        l.get("href").is_some_and(Value::is_string)
            && l.as_object().is_some_and(|o| {
                ["rel", "type", "title"]
                    .iter()
                    .all(|k| o.get(*k).is_none_or(Value::is_string))
            })
    };
    if o.get("links")
        .is_some_and(|v| !v.as_array().is_some_and(|a| a.iter().all(link_ok)))
    {
        return Err(ApiError::InvalidBody(
            "\"links\" must be an array of link objects with an href".into(),
        ));
    }
    match o.get("type") {
        Some(Value::String(t)) if t == "Feature" => {}
        None if !require_all => {}
        _ => return Err(ApiError::InvalidBody("\"type\" must be \"Feature\"".into())),
    }
    let id = match o.remove("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if crate::openapi::nonblank(&s) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => {
            return Err(ApiError::InvalidBody(
                "\"id\" must be a non-empty string or a number".into(),
            ))
        }
    };
    let properties = match o.remove("properties") {
        Some(Value::Object(m)) => m,
        None | Some(Value::Null) if !require_all => Map::new(),
        _ => {
            return Err(ApiError::InvalidBody(
                "\"properties\" must be an object".into(),
            ))
        }
    };
    if require_all && !o.contains_key("geometry") {
        return Err(ApiError::InvalidBody(
            "a Feature needs a \"geometry\" member (null is allowed for grids)".into(),
        ));
    }
    Ok(FeatureBody {
        id,
        geometry: o.remove("geometry"),
        properties,
    })
}

fn opt_string(k: &str, v: &Value) -> Result<Option<String>, ApiError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(ApiError::InvalidBody(format!(
            "properties.{k} must be a string or null"
        ))),
    }
}

fn string_list(k: &str, v: &Value) -> Result<Vec<String>, ApiError> {
    let a = v.as_array().ok_or_else(|| {
        ApiError::InvalidBody(format!("properties.{k} must be an array of strings"))
    })?;
    let list = a
        .iter()
        .map(|x| {
            x.as_str().map(str::to_owned).ok_or_else(|| {
                ApiError::InvalidBody(format!("properties.{k} must hold strings only"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut seen = std::collections::HashSet::new();
    if let Some(d) = list.iter().find(|s| !seen.insert(s.as_str())) {
        return Err(ApiError::InvalidBody(format!(
            "properties.{k} lists '{d}' twice"
        )));
    }
    Ok(list)
}

/// Read-only properties the API writes; accepted in bodies (round trips) and ignored.
const GRID_READ_ONLY: [&str; 5] = [
    "building_count",
    "households",
    "elderly",
    "version",
    "geometry_source",
];

/// Applies grid properties/geometry from a body onto `g` (all of them for PUT/POST).
fn apply_grid(g: &mut Grid, fb: &FeatureBody, crs: &ApiCrs, full: bool) -> Result<(), ApiError> {
    if full && !fb.properties.get("code").is_some_and(Value::is_string) {
        return Err(ApiError::InvalidBody(
            "properties.code (the grid's stable code, e.g. MC-03) is required".into(),
        ));
    }
    for (k, v) in &fb.properties {
        match k.as_str() {
            "code" => {
                g.code = v
                    .as_str()
                    .filter(|s| crate::openapi::nonblank(s))
                    .ok_or_else(|| {
                        ApiError::InvalidBody("properties.code must be a non-empty string".into())
                    })?
                    .to_owned();
            }
            "name" => g.name = opt_string(k, v)?,
            "community" => g.community = opt_string(k, v)?.map(CommunityId::new),
            "buildings" => g.buildings = string_list(k, v)?.into_iter().map(Into::into).collect(),
            "leads" => g.leads = string_list(k, v)?.into_iter().map(UserId::new).collect(),
            k if GRID_READ_ONLY.contains(&k) => {}
            other => {
                return Err(ApiError::InvalidBody(format!(
                    "unknown grid property '{other}'"
                )))
            }
        }
    }
    if full {
        for k in ["name", "community"] {
            if !fb.properties.contains_key(k) {
                match k {
                    "name" => g.name = None,
                    _ => g.community = None,
                }
            }
        }
        if !fb.properties.contains_key("buildings") {
            g.buildings.clear();
        }
        if !fb.properties.contains_key("leads") {
            g.leads.clear();
        }
    }
    // A geometry derived from member footprints is not a drawn boundary: do not store it.
    let derived = fb
        .properties
        .get("geometry_source")
        .and_then(Value::as_str)
        .is_some_and(|s| s != "boundary");
    match &fb.geometry {
        Some(gv) if !derived => {
            g.boundary = match read_geometry(gv, crs)? {
                None => None,
                Some(Geometry::Polygon(p)) => Some(MultiPolygon(vec![p])),
                Some(Geometry::MultiPolygon(mp)) => Some(mp),
                Some(_) => {
                    return Err(ApiError::Unprocessable(
                        "a grid's geometry must be a Polygon or MultiPolygon".into(),
                    ))
                }
            }
        }
        None if full => g.boundary = None,
        Some(_) | None => {}
    }
    Ok(())
}

/// Checks a grid against the current data: its buildings exist and lie in its community.
fn check_grid(snap: &Snapshot, g: &Grid) -> Result<(), ApiError> {
    if let Some(c) = &g.community {
        if snap
            .layer(Collection::Communities)
            .get(c.as_str())
            .is_none()
        {
            return Err(ApiError::Conflict(format!(
                "grid '{}': unknown community '{c}'",
                g.id
            )));
        }
    }
    for b in &g.buildings {
        let Some(bd) = snap.building(b.as_str()) else {
            return Err(ApiError::Conflict(format!(
                "grid '{}': unknown building '{b}'",
                g.id
            )));
        };
        if let (Some(gc), Some(bc)) = (&g.community, &bd.community) {
            if gc != bc {
                return Err(ApiError::Conflict(format!(
                    "grid '{}' is in community '{gc}' but building '{b}' is in '{bc}': a grid never spans two communities",
                    g.id
                )));
            }
        }
    }
    Ok(())
}

const FACILITY_READ_ONLY: [&str; 1] = ["kind_label"];

fn apply_facility(
    f: &mut Facility,
    fb: &FeatureBody,
    crs: &ApiCrs,
    full: bool,
) -> Result<(), ApiError> {
    if full && !fb.properties.get("kind").is_some_and(Value::is_string) {
        return Err(ApiError::InvalidBody("properties.kind (service_station, canteen, reading_room, outreach_point or another kind) is required".into()));
    }
    if full {
        f.name = None;
        f.capacity = None;
        f.opening_hours = None;
    }
    for (k, v) in &fb.properties {
        match k.as_str() {
            "kind" => {
                let s = v.as_str().filter(|s| crate::openapi::nonblank(s)).ok_or_else(|| ApiError::InvalidBody("properties.kind must be a non-blank string".into()))?;
                f.kind = FacilityKind::parse(s).map_err(|e| ApiError::InvalidBody(format!("properties.kind: {e}")))?;
            }
            "name" => f.name = opt_string(k, v)?,
            "opening_hours" => f.opening_hours = opt_string(k, v)?,
            "capacity" => {
                f.capacity = match v {
                    Value::Null => None,
                    v => Some(whole_number(v).and_then(|n| u32::try_from(n).ok()).ok_or_else(|| {
                        ApiError::InvalidBody("properties.capacity must be a non-negative integer below 2^32 or null".into())
                    })?),
                }
            }
            k if FACILITY_READ_ONLY.contains(&k) => {}
            other => return Err(ApiError::InvalidBody(format!("unknown facility property '{other}'"))),
        }
    }
    match &fb.geometry {
        Some(gv) => match read_geometry(gv, crs)? {
            Some(Geometry::Point(p)) => f.location = p,
            None => {
                return Err(ApiError::Unprocessable(
                    "a facility needs a Point geometry, not null".into(),
                ))
            }
            Some(_) => {
                return Err(ApiError::Unprocessable(
                    "a facility's geometry must be a Point".into(),
                ))
            }
        },
        None if full => {
            return Err(ApiError::InvalidBody(
                "a facility needs a Point geometry".into(),
            ))
        }
        None => {}
    }
    Ok(())
}

/// A JSON number with no fractional part (`12` or `12.0`) as an integer.
fn whole_number(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= u64::MAX as f64)
            .map(|f| f as u64)
    })
}

/// A fresh id for a created feature that came without one.
fn new_id(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    format!(
        "{prefix}-{nanos:x}-{:x}",
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The path names the feature being edited; an `id` in the body is informative only (a
/// feature copied from another one keeps its old id) and is logged when it differs.
fn check_body_id(fb: &FeatureBody, fid: &str) {
    if let Some(id) = fb.id.as_deref().filter(|id| *id != fid) {
        tracing::debug!(
            path_id = fid,
            body_id = id,
            "body id differs from the path; the path wins"
        );
    }
}

// ------------------------------------------------------------------ the edit operations

/// A grid as the audit log keeps it: a Feature whose geometry is the drawn boundary (null when
/// the grid has none) and whose properties are the editable ones, so `before` can be PUT back.
pub fn grid_record(g: &Grid) -> Value {
    let geom = g.boundary.clone().map(Geometry::MultiPolygon);
    let props = serde_json::json!({"code": g.code, "name": g.name, "community": g.community, "buildings": g.buildings, "leads": g.leads, "version": g.version});
    feature_value(g.id.as_str(), geom.as_ref(), props)
}

/// A facility as the audit log keeps it (Feature with its properties and version).
fn facility_record(f: &Facility, version: i64) -> Value {
    let mut props = crate::snapshot::facility_properties(f);
    props.insert("version".into(), version.into());
    feature_value(
        f.id.as_str(),
        Some(&Geometry::Point(f.location)),
        Value::Object(props),
    )
}

fn feature_value(id: &str, geom: Option<&Geometry<f64>>, props: Value) -> Value {
    let Value::Object(props) = props else {
        return Value::Null;
    };
    let mut s = String::new();
    crate::geojson::write_feature(&mut s, id, geom, &props, &crate::geojson::identity);
    serde_json::from_str(&s).unwrap_or(Value::Null)
}

async fn respond_fresh(
    st: &AppState,
    c: Collection,
    id: &str,
    headers: &HeaderMap,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let base = st.base_url(headers);
    let (body, version) = fresh_item(st, c, id, &ApiCrs::DEFAULT, &base)
        .await?
        // Deleted by a concurrent request between this edit's commit and its answer.
        .ok_or_else(|| ApiError::NotFound {
            what: format!("feature of {}", c.id()),
            id: id.to_owned(),
        })?;
    let mut resp = item_response(body, &ApiCrs::DEFAULT, Some(version), status);
    if status == StatusCode::CREATED {
        let loc = format!(
            "{base}/collections/{}/items/{}",
            c.id(),
            crate::query::encode(id)
        );
        if let Ok(v) = HeaderValue::from_str(&loc) {
            resp.headers_mut().insert(header::LOCATION, v);
        }
    }
    Ok(resp)
}

/// The stored version of an editable item, or 404.
async fn current_version(st: &AppState, c: Collection, fid: &str) -> Result<i64, ApiError> {
    let nf = || ApiError::NotFound {
        what: format!("feature of {}", c.id()),
        id: fid.to_owned(),
    };
    match c {
        Collection::Grids => st
            .store
            .grid(&GridId::new(fid))
            .await?
            .map(|g| g.version)
            .ok_or_else(nf),
        _ => st
            .store
            .facility(&FacilityId::new(fid))
            .await?
            .map(|(_, v)| v)
            .ok_or_else(nf),
    }
}

/// Checks `If-Match` against the stored version: 404 / 428 / 412, else the expected version.
async fn precondition(
    st: &AppState,
    c: Collection,
    fid: &str,
    headers: &HeaderMap,
) -> Result<i64, ApiError> {
    let current = current_version(st, c, fid).await?;
    let m = IfMatch::from_headers(headers)?.ok_or(ApiError::PreconditionRequired)?;
    m.check(&format!("feature of {}", c.id()), fid, current)
}

async fn create(
    st: AppState,
    c: Collection,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let v = body_json(body, &headers, st.config.body_limit_bytes, false)?;
    let crs = body_crs(&headers)?;
    let fb = feature_body(v, true)?;
    let snap = st.snapshot().await?;
    // OGC API Part 4: the server assigns the id of a created feature (a body id is ignored).
    let id = new_id(if c == Collection::Grids {
        "grid"
    } else {
        "facility"
    });
    let exists = |what: &str| ApiError::Conflict(format!("{what} '{id}' already exists"));
    if c == Collection::Grids {
        let mut g = Grid {
            id: GridId::new(&id),
            code: String::new(),
            name: None,
            community: None,
            buildings: vec![],
            leads: vec![],
            boundary: None,
            version: 0,
        };
        apply_grid(&mut g, &fb, &crs, true)?;
        auth::current().check_community(g.community.as_ref())?;
        check_grid(&snap, &g)?;
        let after = grid_record(&Grid {
            version: 1,
            ..g.clone()
        });
        let audit = Audit {
            action: "grid.create",
            target: format!("grid:{id}"),
            before: None,
            after: Some(after),
        };
        match edit::commit(
            &st,
            Edit::PutGrid {
                grid: g,
                expected: None,
            },
            audit,
        )
        .await
        {
            Err(ApiError::Store(crate::backend::StoreError::VersionConflict { .. })) => {
                return Err(exists("grid"))
            }
            r => r?,
        };
    } else {
        let mut f = Facility {
            id: FacilityId::new(&id),
            kind: FacilityKind::Other("other".into()),
            name: None,
            location: geo_types::Point::new(0.0, 0.0),
            capacity: None,
            opening_hours: None,
        };
        apply_facility(&mut f, &fb, &crs, true)?;
        let audit = Audit {
            action: "facility.create",
            target: format!("facility:{id}"),
            before: None,
            after: Some(facility_record(&f, 1)),
        };
        match edit::commit(
            &st,
            Edit::PutFacility {
                facility: f,
                expected: None,
            },
            audit,
        )
        .await
        {
            Err(ApiError::Store(crate::backend::StoreError::VersionConflict { .. })) => {
                return Err(exists("facility"))
            }
            r => r?,
        };
    }
    respond_fresh(&st, c, &id, &headers, StatusCode::CREATED).await
}

async fn replace_or_update(
    st: AppState,
    c: Collection,
    fid: String,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    full: bool,
) -> Result<Response, ApiError> {
    // The body is checked before the precondition, so a malformed edit is a 400 whatever its ETag.
    let v = body_json(body, &headers, st.config.body_limit_bytes, !full)?;
    let crs = body_crs(&headers)?;
    let fb = feature_body(v, full)?;
    check_body_id(&fb, &fid);
    let expected = precondition(&st, c, &fid, &headers).await?;
    if c == Collection::Grids {
        let nf = || ApiError::NotFound {
            what: "feature of grids".into(),
            id: fid.clone(),
        };
        let mut g = st.store.grid(&GridId::new(&fid)).await?.ok_or_else(nf)?;
        let before = g.clone();
        auth::current().check_community(before.community.as_ref())?;
        apply_grid(&mut g, &fb, &crs, full)?;
        auth::current().check_community(g.community.as_ref())?;
        check_grid(&*st.snapshot().await?, &g)?;
        let action = if full { "grid.replace" } else { "grid.update" };
        let after = grid_record(&Grid {
            version: expected + 1,
            ..g.clone()
        });
        let audit = Audit {
            action,
            target: format!("grid:{fid}"),
            before: Some(grid_record(&before)),
            after: Some(after),
        };
        edit::commit(
            &st,
            Edit::PutGrid {
                grid: g,
                expected: Some(expected),
            },
            audit,
        )
        .await?;
    } else {
        let nf = || ApiError::NotFound {
            what: "feature of facilities".into(),
            id: fid.clone(),
        };
        let (mut f, v0) = st
            .store
            .facility(&FacilityId::new(&fid))
            .await?
            .ok_or_else(nf)?;
        let before = facility_record(&f, v0);
        apply_facility(&mut f, &fb, &crs, full)?;
        let action = if full {
            "facility.replace"
        } else {
            "facility.update"
        };
        let audit = Audit {
            action,
            target: format!("facility:{fid}"),
            before: Some(before),
            after: Some(facility_record(&f, expected + 1)),
        };
        edit::commit(
            &st,
            Edit::PutFacility {
                facility: f,
                expected: Some(expected),
            },
            audit,
        )
        .await?;
    }
    respond_fresh(&st, c, &fid, &headers, StatusCode::OK).await
}

async fn delete(
    st: AppState,
    c: Collection,
    fid: String,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let expected = precondition(&st, c, &fid, &headers).await?;
    if c == Collection::Grids {
        let before = st.store.grid(&GridId::new(&fid)).await?;
        auth::current().check_community(before.as_ref().and_then(|g| g.community.as_ref()))?;
        let audit = Audit {
            action: "grid.delete",
            target: format!("grid:{fid}"),
            before: before.as_ref().map(grid_record),
            after: None,
        };
        edit::commit(
            &st,
            Edit::DeleteGrid {
                id: GridId::new(&fid),
                expected: Some(expected),
            },
            audit,
        )
        .await?;
    } else {
        let before = st.store.facility(&FacilityId::new(&fid)).await?;
        let audit = Audit {
            action: "facility.delete",
            target: format!("facility:{fid}"),
            before: before.map(|(f, v)| facility_record(&f, v)),
            after: None,
        };
        edit::commit(
            &st,
            Edit::DeleteFacility {
                id: FacilityId::new(&fid),
                expected: Some(expected),
            },
            audit,
        )
        .await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ------------------------------------------------------------------ documented handlers

/// Documents and implements the six operations of one editable collection.
macro_rules! editable_collection {
    ($coll:expr, $name:literal, $input:ty, $patch:ty, [$($filter:tt)*],
     $list:ident, $post:ident, $get:ident, $put:ident, $patch_fn:ident, $del:ident) => {
        /// Features of the collection (same as the generic items operation).
        #[utoipa::path(get, path = concat!("/collections/", $name, "/items"), tag = TAG,
            operation_id = concat!("get_", $name),
            params(
                ("limit" = Option<u64>, Query, description = "Page size, 1 to 10000 (larger values are clamped); default 10"),
                ("offset" = Option<u64>, Query, description = "Index of the first feature of the page"),
                ("bbox" = Option<String>, Query, description = "minx,miny,maxx,maxy in bbox-crs"),
                ("bbox-crs" = Option<String>, Query, description = "CRS of bbox (default CRS84)"),
                ("crs" = Option<String>, Query, description = "CRS of the output geometries"),
                ("f" = Option<String>, Query, description = "Output format: `json`/`geojson` (a page), or the selection as one file — `fgb` (FlatGeobuf), `gpkg` (GeoPackage), `shp` (a zip of the shapefile, UTF-8), `csv` (geometry as WKT), `xlsx`; a file holds every matching feature unless `limit` is given, in lon/lat order whatever `crs`"),
                $($filter)*
            ),
            responses(
                (status = 200, description = "A page of features, or the selection as a file (`f`)", content(
                    (FeatureCollection = "application/geo+json"), (Vec<u8> = "application/flatgeobuf"),
                    (Vec<u8> = "application/geopackage+sqlite3"), (Vec<u8> = "application/zip"),
                    (String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")),
                    headers(("Content-Crs" = String, description = "CRS of the geometries, as <URI>"))),
                (status = 422, description = "The selection cannot be written in this format (a shapefile of mixed geometry)", body = Problem, content_type = "application/problem+json"),
                (status = 400, description = "Invalid or unknown parameter", body = Problem, content_type = "application/problem+json"),
            ))]
        async fn $list(st: State<AppState>, headers: HeaderMap, q: QueryPairs) -> Result<Response, ApiError> {
            items(st, headers, Path($name.to_owned()), q).await
        }

        /// Creates a feature (201 with `Location` and `ETag`); the server assigns its id.
        #[utoipa::path(post, path = concat!("/collections/", $name, "/items"), tag = TAG,
            operation_id = concat!("create_", $name),
            request_body(content = $input, content_type = "application/geo+json", description = "A GeoJSON Feature"),
            responses(
                (status = 201, description = "Created", body = Feature, content_type = "application/geo+json",
                    headers(("Location" = String, description = "URL of the new feature"), ("ETag" = String, description = "Its version"))),
                (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
                (status = 409, description = "Id taken, or the feature conflicts with the data (unknown building/community, building in another grid)", body = Problem, content_type = "application/problem+json"),
                (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
                (status = 415, description = "Not a JSON body", body = Problem, content_type = "application/problem+json"),
                (status = 422, description = "Impossible geometry", body = Problem, content_type = "application/problem+json"),
            ))]
        async fn $post(State(st): State<AppState>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
            create(st, $coll, headers, body).await
        }

        /// One feature with its `ETag`.
        #[utoipa::path(get, path = concat!("/collections/", $name, "/items/{featureId}"), tag = TAG,
            operation_id = concat!("get_", $name, "_item"),
            params(("featureId" = String, Path, description = "Feature id"),
                   ("crs" = Option<String>, Query, description = "CRS of the output geometry"),
                   ("f" = Option<String>, Query, description = "Output format (`json`, `geojson`)")),
            responses(
                (status = 200, description = "The feature", body = Feature, content_type = "application/geo+json",
                    headers(("ETag" = String, description = "Version, for If-Match"), ("Content-Crs" = String, description = "CRS of the geometry"))),
                (status = 304, description = "The client's copy (If-None-Match) is current"),
                (status = 400, description = "Invalid or unknown parameter", body = Problem, content_type = "application/problem+json"),
                (status = 404, description = "No such feature", body = Problem, content_type = "application/problem+json"),
            ))]
        async fn $get(st: State<AppState>, headers: HeaderMap, Path(fid): Path<String>, q: QueryPairs) -> Result<Response, ApiError> {
            item(st, headers, Path(($name.to_owned(), fid)), q).await
        }

        /// Replaces a feature. Needs `If-Match` with its current ETag.
        #[utoipa::path(put, path = concat!("/collections/", $name, "/items/{featureId}"), tag = TAG,
            operation_id = concat!("replace_", $name, "_item"),
            params(("featureId" = String, Path, description = "Feature id"),
                   ("If-Match" = String, Header, description = "ETag of the version being replaced, or `*` (428 without it, 412 when stale)")),
            request_body(content = $input, content_type = "application/geo+json", description = "The whole new Feature"),
            responses(
                (status = 200, description = "Replaced", body = Feature, content_type = "application/geo+json",
                    headers(("ETag" = String, description = "The new version"))),
                (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
                (status = 404, description = "No such feature", body = Problem, content_type = "application/problem+json"),
                (status = 409, description = "Conflicts with the data", body = Problem, content_type = "application/problem+json"),
                (status = 412, description = "If-Match names another version; nothing changed", body = Problem, content_type = "application/problem+json"),
                (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
                (status = 415, description = "Not a JSON body", body = Problem, content_type = "application/problem+json"),
                (status = 422, description = "Impossible geometry", body = Problem, content_type = "application/problem+json"),
                (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
            ))]
        async fn $put(State(st): State<AppState>, headers: HeaderMap, Path(fid): Path<String>, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
            replace_or_update(st, $coll, fid, headers, body, true).await
        }

        /// Updates some properties (JSON merge) and/or the geometry. Needs `If-Match`.
        #[utoipa::path(patch, path = concat!("/collections/", $name, "/items/{featureId}"), tag = TAG,
            operation_id = concat!("update_", $name, "_item"),
            params(("featureId" = String, Path, description = "Feature id"),
                   ("If-Match" = String, Header, description = "ETag of the version being updated, or `*` (428 without it, 412 when stale)")),
            request_body(content = $patch, content_type = "application/merge-patch+json", description = "Partial Feature: properties to change, optional geometry"),
            responses(
                (status = 200, description = "Updated", body = Feature, content_type = "application/geo+json",
                    headers(("ETag" = String, description = "The new version"))),
                (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
                (status = 404, description = "No such feature", body = Problem, content_type = "application/problem+json"),
                (status = 409, description = "Conflicts with the data", body = Problem, content_type = "application/problem+json"),
                (status = 412, description = "If-Match names another version; nothing changed", body = Problem, content_type = "application/problem+json"),
                (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
                (status = 415, description = "Not a JSON body", body = Problem, content_type = "application/problem+json"),
                (status = 422, description = "Impossible geometry", body = Problem, content_type = "application/problem+json"),
                (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
            ))]
        async fn $patch_fn(State(st): State<AppState>, headers: HeaderMap, Path(fid): Path<String>, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
            replace_or_update(st, $coll, fid, headers, body, false).await
        }

        /// Deletes a feature. Needs `If-Match`.
        #[utoipa::path(delete, path = concat!("/collections/", $name, "/items/{featureId}"), tag = TAG,
            operation_id = concat!("delete_", $name, "_item"),
            params(("featureId" = String, Path, description = "Feature id"),
                   ("If-Match" = String, Header, description = "ETag of the version being deleted, or `*` (428 without it, 412 when stale)")),
            responses(
                (status = 204, description = "Deleted"),
                (status = 400, description = "Malformed If-Match", body = Problem, content_type = "application/problem+json"),
                (status = 404, description = "No such feature", body = Problem, content_type = "application/problem+json"),
                (status = 412, description = "If-Match names another version; nothing changed", body = Problem, content_type = "application/problem+json"),
                (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
            ))]
        async fn $del(State(st): State<AppState>, headers: HeaderMap, Path(fid): Path<String>) -> Result<Response, ApiError> {
            delete(st, $coll, fid, headers).await
        }
    };
}

editable_collection!(Collection::Grids, "grids", GridInput, GridPatch,
    [("community" = Option<String>, Query, description = "Only grids of this community"),],
    grids_items, grids_create, grids_item, grids_replace, grids_update, grids_delete);
editable_collection!(Collection::Facilities, "facilities", FacilityInput, FacilityPatch,
    [("kind" = Option<String>, Query, description = "Only facilities of this kind"),],
    facilities_items, facilities_create, facilities_item, facilities_replace, facilities_update, facilities_delete);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feature_body_with_foreign_members_is_rejected() {
        let v =
            serde_json::json!({"type": "Feature", "geometry": null, "properties": {}, "extra": 1});
        assert!(matches!(
            feature_body(v, true),
            Err(ApiError::InvalidBody(_))
        ));
    }

    #[test]
    fn grid_read_only_properties_are_ignored_and_code_is_required() {
        let mut g = Grid {
            id: GridId::new("g1"),
            code: "A".into(),
            name: Some("n".into()),
            community: None,
            buildings: vec![],
            leads: vec![],
            boundary: None,
            version: 3,
        };
        let fb = feature_body(serde_json::json!({"type":"Feature","geometry":null,"properties":{"code":"B","households":5,"version":9}}), true).unwrap();
        apply_grid(&mut g, &fb, &ApiCrs::DEFAULT, true).unwrap();
        assert_eq!(
            (g.code.as_str(), g.name.as_deref(), g.version),
            ("B", None, 3)
        );
        let fb = feature_body(
            serde_json::json!({"type":"Feature","geometry":null,"properties":{"name":"x"}}),
            true,
        )
        .unwrap();
        assert!(apply_grid(&mut g, &fb, &ApiCrs::DEFAULT, true).is_err());
    }
}
