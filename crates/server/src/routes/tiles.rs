//! Vector tiles (`/tiles/{layer}/{z}/{x}/{y}.mvt`) and their TileJSON (`/tiles/{layer}.json`).
//! The paths end in a file extension, which the router cannot put after a parameter, so the
//! routes are registered by hand ([`unlisted_routes`]) and documented through [`TileDoc`].
use super::{json_value, QueryPairs};
use crate::error::{invalid, ApiError, Problem};
use crate::etag::none_match;
use crate::openapi::schemas::TileJson;
use crate::query::only;
use crate::snapshot::Collection;
use crate::state::AppState;
use crate::tiles::{content_etag, render, TileId, TileLayer};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub const MVT: &str = "application/vnd.mapbox-vector-tile";

#[derive(OpenApi)]
#[openapi(paths(tile, tilejson))]
struct TileDoc;

/// Documentation of the tile routes (served by [`unlisted_routes`]).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(TileDoc::openapi())
}

/// The tile routes themselves.
pub fn unlisted_routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/tiles/{layer}/{z}/{x}/{y}", get(tile_route))
        .route("/tiles/{file}", get(tilejson_route))
}

fn layer_of(id: &str) -> Result<TileLayer, ApiError> {
    TileLayer::parse(id).ok_or_else(|| ApiError::NotFound {
        what: "tile layer".into(),
        id: id.into(),
    })
}

fn coord(name: &str, v: &str) -> Result<u32, ApiError> {
    v.parse::<u32>().map_err(|_| {
        invalid(
            name,
            format!("'{v}' is not a tile coordinate (a non-negative integer)"),
        )
    })
}

/// One Mapbox Vector Tile. Empty tiles are `200` with an empty body. Building tiles below zoom
/// 13 hold the `building_cells` layer (households, buildings and elderly summed per square
/// cell, 32 × 32 cells a tile) instead of the footprints.
#[utoipa::path(get, path = "/tiles/{layer}/{z}/{x}/{y}.mvt", tag = "Vector tiles", operation_id = "getTile",
    params(("layer" = String, Path, description = "buildings, grids, facilities, compounds, communities or basemap"),
           ("z" = u32, Path, description = "Zoom 0-22"), ("x" = u32, Path, description = "Column"), ("y" = u32, Path, description = "Row"),
           ("v" = Option<String>, Query, description = "Ignored by the server: a client changes it after an edit so that its HTTP cache (max-age 60 s) fetches the new tile")),
    responses(
        (status = 200, description = "The tile (possibly empty)", content_type = "application/vnd.mapbox-vector-tile", body = Vec<u8>,
            headers(("ETag" = String, description = "Content hash"), ("Cache-Control" = String, description = "Caching policy"))),
        (status = 304, description = "The client's copy (If-None-Match) is current"),
        (status = 400, description = "Malformed tile coordinates or parameters", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown layer, or a tile outside the zoom's grid", body = Problem, content_type = "application/problem+json"),
    ))]
async fn tile(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path((layer, z, x, y)): Path<(String, String, String, String)>,
    QueryPairs(q): QueryPairs,
) -> Result<Response, ApiError> {
    let source = layer_of(&layer)?;
    only(&q, &["v"])?;
    let y = y.strip_suffix(".mvt").ok_or_else(|| ApiError::NotFound {
        what: "tile".into(),
        id: format!("{layer}/{z}/{x}/{y}"),
    })?;
    let (zn, xn, yn) = (coord("z", &z)?, coord("x", &x)?, coord("y", y)?);
    let t = TileId::new(zn, xn, yn).ok_or_else(|| ApiError::NotFound {
        what: "tile".into(),
        id: format!("{layer}/{z}/{x}/{y}"),
    })?;
    // The basemap is public OpenStreetMap data: one copy for every caller.
    let basemap = source == TileLayer::Basemap;
    let snap = if basemap {
        st.data.get(st.store.as_ref()).await?
    } else {
        st.snapshot().await?
    };
    let version = match source {
        TileLayer::Collection(c) => snap.version(c),
        TileLayer::Basemap => snap.basemap_version(),
    };
    let key = (
        source,
        t,
        version,
        if basemap {
            String::new()
        } else {
            st.scope_key()
        },
    );
    let entry = if let Some(e) = st.tiles.get(&key) {
        e
    } else {
        let bytes = tokio::task::spawn_blocking(move || render(&snap, source, &t))
            .await
            .map_err(|e| {
                ApiError::Internal(format!("rendering tile {layer}/{z}/{x}/{y} panicked: {e}"))
            })?;
        let tag = content_etag(&bytes);
        let e = Arc::new((bytes, tag));
        st.tiles.insert(key.clone(), e.clone());
        e
    };
    // Layer tiles depend on who asks (a grid lead's are filtered): never in shared caches.
    let cache = [
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static(if basemap {
                "public, max-age=60"
            } else {
                "private, max-age=60"
            }),
        ),
        (
            header::VARY,
            HeaderValue::from_static("Cookie, Authorization"),
        ),
    ];
    if none_match(&headers, &entry.1) {
        return Ok((
            StatusCode::NOT_MODIFIED,
            cache,
            [(header::ETAG, entry.1.clone())],
        )
            .into_response());
    }
    Ok((
        cache,
        [(header::ETAG, entry.1.clone())],
        [(header::CONTENT_TYPE, MVT)],
        entry.0.clone(),
    )
        .into_response())
}

async fn tile_route(
    st: State<AppState>,
    headers: HeaderMap,
    p: Path<(String, String, String, String)>,
    q: QueryPairs,
) -> Result<Response, ApiError> {
    tile(st, headers, p, q).await
}

/// TileJSON 3.0 of a tile layer: its `vector_layers` (fields = `id` and the collection's scalar
/// properties, as in its GeoJSON features) with their zoom ranges.
#[utoipa::path(get, path = "/tiles/{layer}.json", tag = "Vector tiles", operation_id = "getTileJson",
    params(("layer" = String, Path, description = "buildings, grids, facilities, compounds, communities or basemap")),
    responses(
        (status = 200, description = "TileJSON", body = TileJson, content_type = "application/json"),
        (status = 400, description = "Unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown layer", body = Problem, content_type = "application/problem+json"),
    ))]
async fn tilejson(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(layer): Path<String>,
    QueryPairs(q): QueryPairs,
) -> Result<Response, ApiError> {
    let source = layer_of(&layer)?;
    only(&q, &[])?;
    let snap = st.snapshot().await?;
    let base = st.base_url(&headers);
    let extent = match source {
        TileLayer::Collection(c) => snap.layer(c).extent(),
        TileLayer::Basemap => snap.layer(Collection::Buildings).extent(),
    }
    .unwrap_or([-180.0, -85.0511, 180.0, 85.0511]);
    let center = [
        f64::midpoint(extent[0], extent[2]),
        f64::midpoint(extent[1], extent[3]),
        15.0,
    ];
    let vector_layers: Vec<_> = source
        .vector_layers()
        .into_iter()
        .map(|l| {
            let fields: serde_json::Map<String, serde_json::Value> = l
                .fields
                .into_iter()
                .map(|(k, t)| (k.to_owned(), json!(t)))
                .collect();
            json!({"id": l.id, "fields": fields, "minzoom": l.minzoom, "maxzoom": l.maxzoom})
        })
        .collect();
    Ok(json_value(
        "application/json",
        &json!({
            "tilejson": "3.0.0",
            "name": format!("gridmap {}", source.id()),
            "scheme": "xyz",
            "tiles": [format!("{base}/tiles/{}/{{z}}/{{x}}/{{y}}.mvt", source.id())],
            "minzoom": source.minzoom(),
            "maxzoom": source.maxzoom(),
            "bounds": extent,
            "center": center,
            "attribution": gridmap_model::OSM_ATTRIBUTION,
            "vector_layers": vector_layers,
        }),
    ))
}

async fn tilejson_route(
    st: State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
    q: QueryPairs,
) -> Result<Response, ApiError> {
    let layer = file
        .strip_suffix(".json")
        .ok_or_else(|| ApiError::NotFound {
            what: "path".into(),
            id: format!("/tiles/{file}"),
        })?;
    tilejson(st, headers, Path(layer.to_owned()), q).await
}
