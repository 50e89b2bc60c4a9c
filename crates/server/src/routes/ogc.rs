//! OGC API - Features: landing page, conformance, collections, items, single items and
//! queryables (Parts 1, 2 and 3), and each collection's schema (Part 5). Edits (Part 4) are in
//! [`super::transactions`]. What a feature carries is declared once, in
//! [`crate::properties`].
use super::{json_response, json_value, prefers_html, QueryPairs};
use crate::crs::{self, ApiCrs};
use crate::error::{ApiError, Problem};
use crate::etag;
use crate::geojson::write_feature;
use crate::openapi::schemas::{
    CollectionDoc, Collections, Conformance, Feature, FeatureCollection, FeatureSchema,
    LandingPage, Queryables,
};
use crate::query::{check_format, only, with_paging, ItemsQuery};
use crate::snapshot::{Collection, LayerView, Snapshot};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gridmap_model::OSM_ATTRIBUTION;
use serde_json::{json, Value};
use utoipa_axum::{router::OpenApiRouter, routes};

pub const GEOJSON: &str = "application/geo+json";
pub const JSON: &str = "application/json";
const TAG: &str = "OGC API - Features";

/// Conformance classes this server implements (and nothing more).
pub const CONFORMANCE: [&str; 11] = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/schemas",
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/core-roles-features",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
];

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(landing))
        .routes(routes!(conformance))
        .routes(routes!(collections))
        .routes(routes!(collection))
        .routes(routes!(buildings_items))
        .routes(routes!(compounds_items))
        .routes(routes!(communities_items))
        .routes(routes!(item))
        .routes(routes!(queryables))
        .routes(routes!(schema))
}

/// Finds a collection by its path segment.
pub fn collection_of(id: &str) -> Result<Collection, ApiError> {
    Collection::parse(id).ok_or_else(|| ApiError::NotFound {
        what: "collection".into(),
        id: id.into(),
    })
}

fn link(href: String, rel: &str, ctype: &str, title: &str) -> Value {
    json!({"href": href, "rel": rel, "type": ctype, "title": title})
}

/// Landing page: JSON for tools (`f=json`, `Accept: application/json`), the web app for browsers.
#[utoipa::path(get, path = "/", tag = TAG, operation_id = "getLandingPage",
    params(("f" = Option<String>, Query, description = "Output format: `json` or `html` (default: from Accept)")),
    responses(
        (status = 200, description = "The landing page", content(
            (LandingPage = "application/json"), (String = "text/html"))),
        (status = 400, description = "Unknown parameter or format", body = Problem, content_type = "application/problem+json"),
    ))]
async fn landing(
    State(st): State<AppState>,
    headers: HeaderMap,
    QueryPairs(q): QueryPairs,
) -> Result<Response, ApiError> {
    only(&q, &["f"])?;
    let f = q.iter().find(|(k, _)| k == "f").map(|(_, v)| v.as_str());
    if let Some(f) = f {
        check_format(f, &["json", "html"])?;
    }
    if f == Some("html") || (f.is_none() && prefers_html(&headers)) {
        return Ok(crate::web::web_index());
    }
    let base = st.base_url(&headers);
    let doc = json!({
        "title": "gridmap",
        "description": format!("Grid mapping (网格) and 15-minute coverage analysis for community planners. Map data {OSM_ATTRIBUTION}."),
        "attribution": OSM_ATTRIBUTION,
        "links": [
            link(format!("{base}/?f=json"), "self", JSON, "This document"),
            link(format!("{base}/?f=html"), "alternate", "text/html", "Web map"),
            link(format!("{base}/openapi.json"), "service-desc", "application/vnd.oai.openapi+json;version=3.1", "OpenAPI 3.1 definition"),
            link(format!("{base}/docs"), "service-doc", "text/html", "API documentation"),
            link(format!("{base}/conformance"), "conformance", JSON, "Conformance classes"),
            link(format!("{base}/collections"), "data", JSON, "Collections"),
            link("https://www.openstreetmap.org/copyright".into(), "license", "text/html", OSM_ATTRIBUTION),
        ],
    });
    Ok(json_value(JSON, &doc))
}

/// Conformance classes implemented.
#[utoipa::path(get, path = "/conformance", tag = TAG, operation_id = "getConformance",
    params(("f" = Option<String>, Query, description = "Output format (`json`)")),
    responses(
        (status = 200, description = "Conformance classes", body = Conformance, content_type = "application/json"),
        (status = 400, description = "Unknown parameter", body = Problem, content_type = "application/problem+json"),
    ))]
async fn conformance(QueryPairs(q): QueryPairs) -> Result<Response, ApiError> {
    json_only(&q)?;
    Ok(json_value(JSON, &json!({ "conformsTo": CONFORMANCE })))
}

fn json_only(q: &[(String, String)]) -> Result<(), ApiError> {
    only(q, &["f"])?;
    if let Some((_, f)) = q.iter().find(|(k, _)| k == "f") {
        check_format(f, &["json"])?;
    }
    Ok(())
}

/// The collection document of one layer.
pub fn collection_doc(base: &str, c: Collection, layer: &LayerView<'_>) -> Value {
    let id = c.id();
    let extent = layer.extent().unwrap_or([-180.0, -90.0, 180.0, 90.0]);
    let mut links = vec![
        link(
            format!("{base}/collections/{id}"),
            "self",
            JSON,
            "This collection",
        ),
        link(
            format!("{base}/collections/{id}/items"),
            "items",
            GEOJSON,
            "Items as GeoJSON",
        ),
        link(
            format!("{base}/collections/{id}/queryables"),
            "http://www.opengis.net/def/rel/ogc/1.0/queryables",
            "application/schema+json",
            "Queryables",
        ),
        link(
            format!("{base}/collections/{id}/schema"),
            "http://www.opengis.net/def/rel/ogc/1.0/schema",
            "application/schema+json",
            "Schema of the features (every property, with its type)",
        ),
        link(
            format!("{base}/tiles/{id}.json"),
            "describedby",
            JSON,
            "Vector tiles (TileJSON)",
        ),
        link(
            "https://www.openstreetmap.org/copyright".into(),
            "license",
            "text/html",
            OSM_ATTRIBUTION,
        ),
    ];
    if c.editable() {
        links.push(link(
            format!("{base}/collections/{id}/items"),
            "create-form",
            GEOJSON,
            "POST a Feature here to create one",
        ));
    }
    json!({
        "id": id,
        "title": c.title(),
        "description": c.description(),
        "itemType": "feature",
        "attribution": OSM_ATTRIBUTION,
        "links": links,
        "extent": { "spatial": { "bbox": [extent], "crs": crs::CRS84 } },
        "crs": crs::SUPPORTED,
        "storageCrs": crs::CRS84,
        "geometryType": c.geometry_type(),
    })
}

/// The collections (layers) served.
#[utoipa::path(get, path = "/collections", tag = TAG, operation_id = "getCollections",
    params(("f" = Option<String>, Query, description = "Output format (`json`)")),
    responses(
        (status = 200, description = "All collections", body = Collections, content_type = "application/json"),
        (status = 400, description = "Unknown parameter", body = Problem, content_type = "application/problem+json"),
    ))]
async fn collections(
    State(st): State<AppState>,
    headers: HeaderMap,
    QueryPairs(q): QueryPairs,
) -> Result<Response, ApiError> {
    json_only(&q)?;
    let snap = st.snapshot().await?;
    let base = st.base_url(&headers);
    let cols: Vec<Value> = Collection::ALL
        .iter()
        .map(|&c| collection_doc(&base, c, &snap.layer(c)))
        .collect();
    Ok(json_value(
        JSON,
        &json!({
            "links": [link(format!("{base}/collections"), "self", JSON, "This document")],
            "crs": crs::SUPPORTED,
            "attribution": OSM_ATTRIBUTION,
            "collections": cols,
        }),
    ))
}

/// One collection's description.
#[utoipa::path(get, path = "/collections/{collectionId}", tag = TAG, operation_id = "describeCollection",
    params(("collectionId" = String, Path, description = "Collection id"),
           ("f" = Option<String>, Query, description = "Output format (`json`)")),
    responses(
        (status = 200, description = "The collection", body = CollectionDoc, content_type = "application/json"),
        (status = 400, description = "Unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such collection", body = Problem, content_type = "application/problem+json"),
    ))]
async fn collection(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    QueryPairs(q): QueryPairs,
) -> Result<Response, ApiError> {
    let c = collection_of(&id)?;
    json_only(&q)?;
    let snap = st.snapshot().await?;
    Ok(json_value(
        JSON,
        &collection_doc(&st.base_url(&headers), c, &snap.layer(c)),
    ))
}

/// Builds a FeatureCollection page of `c` for a parsed query: shared by OGC items and `/api/`.
pub fn feature_page(
    snap: &Snapshot,
    c: Collection,
    q: &ItemsQuery,
    self_url: &str,
    coll_url: Option<&str>,
) -> Vec<u8> {
    let (head, tail) = feature_page_parts(snap, c, q, self_url, coll_url);
    let ts = crate::time::rfc3339(std::time::SystemTime::now());
    let mut out = Vec::with_capacity(head.len() + ts.len() + tail.len());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(ts.as_bytes());
    out.extend_from_slice(tail.as_bytes());
    out
}

/// A page split around its `timeStamp` value, so the (large) parts can be cached per data
/// generation and the response still carries the time it was generated.
pub fn feature_page_parts(
    snap: &Snapshot,
    c: Collection,
    q: &ItemsQuery,
    self_url: &str,
    coll_url: Option<&str>,
) -> (String, String) {
    let layer = snap.layer(c);
    let idx = layer.select(q.bbox.as_deref(), &q.filters);
    let matched = idx.len() as u64;
    let start = q.offset.min(matched) as usize;
    let end = (q.offset.saturating_add(q.limit)).min(matched) as usize;
    let page = &idx[start..end];
    let returned = page.len() as u64;

    let mut links = vec![link(
        format!("{self_url}?{}", with_paging(&q.raw, q.offset, q.limit)),
        "self",
        GEOJSON,
        "This page",
    )];
    if q.offset.saturating_add(q.limit) < matched {
        links.push(link(
            format!(
                "{self_url}?{}",
                with_paging(&q.raw, q.offset + q.limit, q.limit)
            ),
            "next",
            GEOJSON,
            "Next page",
        ));
    }
    if q.offset > 0 {
        let prev = q.offset.saturating_sub(q.limit);
        links.push(link(
            format!("{self_url}?{}", with_paging(&q.raw, prev, q.limit)),
            "prev",
            GEOJSON,
            "Previous page",
        ));
    }
    if let Some(cu) = coll_url {
        links.push(link(cu.to_owned(), "collection", JSON, "The collection"));
    }

    let mut out = String::with_capacity(page.len() * 512 + 1024);
    out.push_str("{\"type\":\"FeatureCollection\",\"numberMatched\":");
    out.push_str(&matched.to_string());
    out.push_str(",\"numberReturned\":");
    out.push_str(&returned.to_string());
    out.push_str(",\"timeStamp\":\"");
    let head = std::mem::take(&mut out);
    out.push_str("\",\"links\":");
    out.push_str(&Value::Array(links).to_string());
    out.push_str(",\"features\":[");
    let map = |x: f64, y: f64| q.crs.from_storage(x, y);
    for (n, &i) in page.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        let r = layer.row(i);
        if q.crs.is_storage() {
            r.write_json(&mut out);
        } else {
            write_feature(&mut out, &r.id, r.geometry.as_ref(), &r.properties, &map);
        }
    }
    out.push_str("]}");
    (head, out)
}

/// Features of a collection, filtered by bbox and properties, paged. Served for every
/// collection; documented per collection (each has its own filters) by [`read_only_items!`]
/// and the transaction routes, so this generic route only answers unknown collections (404).
pub async fn items(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    QueryPairs(q): QueryPairs,
) -> Result<Response, ApiError> {
    let c = collection_of(&id)?;
    let q = ItemsQuery::parse(c, q, true)?;
    let base = st.base_url(&headers);
    let snap = st.snapshot().await?;
    if let Some(format) = q.file {
        return items_file(&snap, c, q, format).await;
    }
    let key = (
        snap.version(c),
        format!(
            "{}\n{base}\n{}\n{}",
            c.id(),
            crate::query::with_paging(&q.raw, q.offset, q.limit),
            st.scope_key()
        ),
    );
    let parts = if let Some(p) = st.pages.get(&key) {
        p
    } else {
        let coll_url = format!("{base}/collections/{}", c.id());
        let (head, tail) =
            feature_page_parts(&snap, c, &q, &format!("{coll_url}/items"), Some(&coll_url));
        let p = std::sync::Arc::new((axum::body::Bytes::from(head), axum::body::Bytes::from(tail)));
        st.pages.insert(key, p.clone());
        p
    };
    // Zero-copy body: the cached parts around a fresh timestamp.
    let ts = axum::body::Bytes::from(crate::time::rfc3339(std::time::SystemTime::now()));
    let chunks = [parts.0.clone(), ts, parts.1.clone()].map(Ok::<_, std::convert::Infallible>);
    let mut resp = (
        [(header::CONTENT_TYPE, HeaderValue::from_static(GEOJSON))],
        axum::body::Body::from_stream(futures_util::stream::iter(chunks)),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&q.crs.header()) {
        resp.headers_mut().insert("content-crs", v);
    }
    Ok(resp)
}

/// The selection of an items request as one file: every matching feature unless `limit` was
/// given, coordinates in lon/lat whatever the CRS's axis order (as GIS files store them),
/// written by `gridmap-export` on a blocking thread.
async fn items_file(
    snap: &Snapshot,
    c: Collection,
    mut q: ItemsQuery,
    format: gridmap_export::Format,
) -> Result<Response, ApiError> {
    q.crs.lat_first = false;
    if !q.raw.iter().any(|(k, _)| k == "limit") {
        q.limit = u64::MAX;
    }
    let (head, tail) = feature_page_parts(snap, c, &q, "", None);
    let text = head + &tail;
    let name = c.id().to_owned();
    let crs = q.crs.crs;
    let bytes = tokio::task::spawn_blocking(move || {
        let fc = text
            .parse::<::geojson::GeoJson>()
            .ok()
            .and_then(|g| ::geojson::FeatureCollection::try_from(g).ok())
            .ok_or_else(|| ApiError::Internal("a page that is not GeoJSON".into()))?;
        let opts = gridmap_export::ExportOptions::new(name, crs);
        gridmap_export::to_bytes(&fc, format, &opts).map_err(ApiError::from)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    let ext = if format == gridmap_export::Format::Shapefile {
        "shp.zip"
    } else {
        format.extension()
    };
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.media_type()),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}.{ext}\"", c.id())) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&q.crs.header()) {
        h.insert("content-crs", v);
    }
    Ok(resp)
}

/// Documents the items operation of one read-only collection with its own filters.
macro_rules! read_only_items {
    ($fn_name:ident, $name:literal, [$($filter:tt)*]) => {
        #[doc = concat!("Features of ", $name, ", filtered by bbox and properties, paged.")]
        #[utoipa::path(get, path = concat!("/collections/", $name, "/items"), tag = TAG,
            operation_id = concat!("get_", $name),
            params(
                ("limit" = Option<u64>, Query, description = "Page size, 1 to 10000 (larger values are clamped to 10000); default 10"),
                ("offset" = Option<u64>, Query, description = "Index of the first feature of the page (paging links set it)"),
                ("bbox" = Option<String>, Query, description = "minx,miny,maxx,maxy in bbox-crs (EPSG:4326/4490: lat,lon order). A bbox whose south edge lies above its north edge selects nothing; minx > maxx crosses the antimeridian."),
                ("bbox-crs" = Option<String>, Query, description = "CRS of bbox (default CRS84)"),
                ("crs" = Option<String>, Query, description = "CRS of the output geometries (default CRS84); EPSG:4326 and EPSG:4490 are written lat,lon"),
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
        async fn $fn_name(st: State<AppState>, headers: HeaderMap, q: QueryPairs) -> Result<Response, ApiError> {
            items(st, headers, Path($name.to_owned()), q).await
        }
    };
}

read_only_items!(buildings_items, "buildings", [
    ("community" = Option<String>, Query, description = "Only buildings of this community"),
    ("grid" = Option<String>, Query, description = "Only buildings of this grid"),
    ("compound" = Option<String>, Query, description = "Only buildings of this compound"),
]);
read_only_items!(compounds_items, "compounds", [
    ("community" = Option<String>, Query, description = "Only compounds of this community"),
    ("kind" = Option<String>, Query, description = "Only compounds of this kind (commercial, old, ...)"),
]);
read_only_items!(communities_items, "communities", [
    ("street" = Option<String>, Query, description = "Only communities of this street"),
]);

/// Writes one feature in a CRS.
pub fn feature_json(
    id: &str,
    g: Option<&geo_types::Geometry<f64>>,
    props: &serde_json::Map<String, Value>,
    crs: &ApiCrs,
    links: Vec<Value>,
) -> Vec<u8> {
    let mut out = String::with_capacity(512);
    write_feature(&mut out, id, g, props, &|x, y| crs.from_storage(x, y));
    // Splice the links in before the closing brace.
    out.pop();
    out.push_str(",\"links\":");
    out.push_str(&Value::Array(links).to_string());
    out.push('}');
    out.into_bytes()
}

/// Parses the parameters of a single-item request (`crs`, `f`).
fn item_crs(q: &[(String, String)]) -> Result<ApiCrs, ApiError> {
    only(q, &["crs", "f"])?;
    let mut crs = ApiCrs::DEFAULT;
    for (k, v) in q {
        match k.as_str() {
            "crs" => crs = ApiCrs::parse("crs", v)?,
            _ => check_format(v, &["json", "geojson"])?,
        }
    }
    Ok(crs)
}

/// The response for one feature: body, `Content-Crs` and (for editable collections) `ETag`.
pub fn item_response(
    body: Vec<u8>,
    crs: &ApiCrs,
    version: Option<i64>,
    status: StatusCode,
) -> Response {
    let mut resp = json_response(GEOJSON, body);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&crs.header()) {
        h.insert("content-crs", v);
    }
    if let Some(v) = version.and_then(|v| HeaderValue::from_str(&etag::etag(v)).ok()) {
        h.insert(header::ETAG, v);
    }
    resp
}

/// The current state of one editable item from the store (fresh, with its version), rendered.
pub async fn fresh_item(
    st: &AppState,
    c: Collection,
    fid: &str,
    crs: &ApiCrs,
    base: &str,
) -> Result<Option<(Vec<u8>, i64)>, ApiError> {
    let links = |id: &str| {
        vec![
            link(
                format!(
                    "{base}/collections/{}/items/{}",
                    c.id(),
                    crate::query::encode(id)
                ),
                "self",
                GEOJSON,
                "This feature",
            ),
            link(
                format!("{base}/collections/{}", c.id()),
                "collection",
                JSON,
                "The collection",
            ),
        ]
    };
    let snap = st.snapshot().await?;
    // Outside the caller's scope an item does not exist (the store is read for its fresh version).
    if !snap.layer(c).contains(fid) && !crate::auth::current().scope.is_all() {
        return Ok(None);
    }
    match c {
        Collection::Grids => {
            let Some(g) = st.store.grid(&gridmap_model::GridId::new(fid)).await? else {
                return Ok(None);
            };
            let (geom, props) = crate::routes::transactions::grid_feature(&snap, &g);
            Ok(Some((
                feature_json(fid, geom.as_ref(), &props, crs, links(fid)),
                g.version,
            )))
        }
        Collection::Facilities => {
            let Some((f, v)) = st
                .store
                .facility(&gridmap_model::FacilityId::new(fid))
                .await?
            else {
                return Ok(None);
            };
            let props = crate::snapshot::facility_properties(&f);
            let g = geo_types::Geometry::Point(f.location);
            Ok(Some((
                feature_json(fid, Some(&g), &props, crs, links(fid)),
                v,
            )))
        }
        _ => Ok(None),
    }
}

/// One feature. Grids and facilities carry an `ETag` (their version) for Part 4 edits.
#[utoipa::path(get, path = "/collections/{collectionId}/items/{featureId}", tag = TAG, operation_id = "getFeature",
    params(("collectionId" = String, Path, description = "Collection id"),
           ("featureId" = String, Path, description = "Feature id"),
           ("crs" = Option<String>, Query, description = "CRS of the output geometry (default CRS84)"),
           ("f" = Option<String>, Query, description = "Output format (`json`, `geojson`)")),
    responses(
        (status = 200, description = "The feature", body = Feature, content_type = "application/geo+json",
            headers(("ETag" = String, description = "Version of an editable feature (grids, facilities)"),
                    ("Content-Crs" = String, description = "CRS of the geometry"))),
        (status = 304, description = "The client's copy (If-None-Match) is current"),
        (status = 400, description = "Invalid or unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such collection or feature", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn item(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path((cid, fid)): Path<(String, String)>,
    QueryPairs(q): QueryPairs,
) -> Result<Response, ApiError> {
    let c = collection_of(&cid)?;
    let crs = item_crs(&q)?;
    let base = st.base_url(&headers);
    let not_found = || ApiError::NotFound {
        what: format!("feature of {}", c.id()),
        id: fid.clone(),
    };
    if c.editable() {
        let (body, version) = fresh_item(&st, c, &fid, &crs, &base)
            .await?
            .ok_or_else(not_found)?;
        if etag::none_match(&headers, &etag::etag(version)) {
            return Ok((
                StatusCode::NOT_MODIFIED,
                [(header::ETAG, etag::etag(version))],
            )
                .into_response());
        }
        return Ok(item_response(body, &crs, Some(version), StatusCode::OK));
    }
    let snap = st.snapshot().await?;
    let row = snap.layer(c).get(&fid).ok_or_else(not_found)?;
    let links = vec![
        link(
            format!(
                "{base}/collections/{}/items/{}",
                c.id(),
                crate::query::encode(&fid)
            ),
            "self",
            GEOJSON,
            "This feature",
        ),
        link(
            format!("{base}/collections/{}", c.id()),
            "collection",
            JSON,
            "The collection",
        ),
    ];
    Ok(item_response(
        feature_json(&row.id, row.geometry.as_ref(), &row.properties, &crs, links),
        &crs,
        None,
        StatusCode::OK,
    ))
}

/// The properties items can be filtered by (Part 3 queryables).
#[utoipa::path(get, path = "/collections/{collectionId}/queryables", tag = TAG, operation_id = "getQueryables",
    params(("collectionId" = String, Path, description = "Collection id"),
           ("f" = Option<String>, Query, description = "Output format (`json`)")),
    responses(
        (status = 200, description = "JSON Schema of the queryable properties", body = Queryables, content_type = "application/schema+json"),
        (status = 400, description = "Unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such collection", body = Problem, content_type = "application/problem+json"),
    ))]
async fn queryables(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    QueryPairs(q): QueryPairs,
) -> Result<Response, ApiError> {
    let c = collection_of(&id)?;
    json_only(&q)?;
    let base = st.base_url(&headers);
    let mut props = serde_json::Map::new();
    props.insert("geometry".into(), json!({"x-ogc-role": "primary-geometry", "format": format!("geometry-{}", c.geometry_type().to_ascii_lowercase())}));
    // Each queryable is a query parameter of the items (exact match), typed from the property table.
    for f in c.filters() {
        let mut s = json!({"type": "string", "title": f.name()});
        if let Some(p) = c.property(f.name()) {
            s = p.ty.json_schema();
            s["title"] = json!(p.name);
            s["description"] = json!(p.description);
        }
        props.insert(f.name().into(), s);
    }
    let doc = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("{base}/collections/{}/queryables", c.id()),
        "type": "object",
        "title": c.title(),
        "properties": props,
        "additionalProperties": false,
    });
    Ok(json_value("application/schema+json", &doc))
}

/// The schema of a collection's features (OGC API - Features Part 5): every property with its
/// type and description, the id and the primary geometry.
#[utoipa::path(get, path = "/collections/{collectionId}/schema", tag = TAG, operation_id = "getSchema",
    params(("collectionId" = String, Path, description = "Collection id"),
           ("f" = Option<String>, Query, description = "Output format (`json`)")),
    responses(
        (status = 200, description = "JSON Schema (2020-12) of the features", body = FeatureSchema, content_type = "application/schema+json"),
        (status = 400, description = "Unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such collection", body = Problem, content_type = "application/problem+json"),
    ))]
async fn schema(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    QueryPairs(q): QueryPairs,
) -> Result<Response, ApiError> {
    let c = collection_of(&id)?;
    json_only(&q)?;
    let base = st.base_url(&headers);
    let doc = c.schema(&format!("{base}/collections/{}/schema", c.id()));
    Ok(json_value("application/schema+json", &doc))
}
