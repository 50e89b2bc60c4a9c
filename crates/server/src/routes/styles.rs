//! A MapLibre (Mapbox GL) style of every tile layer at `/styles/gridmap.json`: what a desktop
//! GIS loads as the default style of the vector tiles (QGIS: the `styleUrl` of a vector tile
//! connection, or Styles ▸ Load from a MapLibre style), and what MapLibre GL JS can open as a
//! whole map. It uses only layer types and expressions QGIS 3.22's converter understands
//! (fill, line, circle; constant colours, zoom interpolation) and no glyphs or sprites.
use super::{json_value, QueryPairs};
use crate::error::{ApiError, Problem};
use crate::openapi::schemas::MapStyle;
use crate::query::only;
use crate::state::AppState;
use crate::tiles::{TileLayer, BUILDINGS_MINZOOM, BUILDING_CELLS};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{json, Value};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(style))
}

/// The style document: one vector source per tile layer (its TileJSON) and the layers drawn
/// from them, bottom to top.
pub fn style_document(base: &str) -> Value {
    let sources: serde_json::Map<String, Value> = TileLayer::ALL
        .iter()
        .map(|l| {
            (
                l.id().to_owned(),
                json!({"type": "vector", "url": format!("{base}/tiles/{}.json", l.id())}),
            )
        })
        .collect();
    let width = |lo: f64, hi: f64| json!(["interpolate", ["linear"], ["zoom"], 10, lo, 18, hi]);
    let layers = json!([
        {"id": "water", "type": "line", "source": "basemap", "source-layer": "water",
         "paint": {"line-color": "#73b2d6", "line-width": width(0.8, 4.0)}},
        {"id": "roads", "type": "line", "source": "basemap", "source-layer": "roads",
         "paint": {"line-color": "#c8c2b8", "line-width": width(0.4, 3.0)}},
        {"id": "railways", "type": "line", "source": "basemap", "source-layer": "railways",
         "paint": {"line-color": "#8c8c8c", "line-width": 1.2, "line-dasharray": [3, 2]}},
        {"id": "communities", "type": "line", "source": "communities", "source-layer": "communities",
         "paint": {"line-color": "#54278f", "line-width": 2.0, "line-dasharray": [4, 2]}},
        {"id": "compounds", "type": "fill", "source": "compounds", "source-layer": "compounds",
         "paint": {"fill-color": "#bcbddc", "fill-opacity": 0.3}},
        {"id": BUILDING_CELLS, "type": "fill", "source": "buildings", "source-layer": BUILDING_CELLS,
         "maxzoom": BUILDINGS_MINZOOM,
         "paint": {"fill-color": "#3182bd", "fill-opacity": 0.6}},
        {"id": "buildings", "type": "fill", "source": "buildings", "source-layer": "buildings",
         "minzoom": BUILDINGS_MINZOOM,
         "paint": {"fill-color": "#6baed6", "fill-opacity": 0.85, "fill-outline-color": "#2c5f8a"}},
        {"id": "grids", "type": "line", "source": "grids", "source-layer": "grids",
         "paint": {"line-color": "#d94801", "line-width": width(1.0, 3.0)}},
        {"id": "facilities", "type": "circle", "source": "facilities", "source-layer": "facilities",
         "paint": {"circle-color": "#e7298a", "circle-radius": 5, "circle-stroke-color": "#ffffff", "circle-stroke-width": 1}},
    ]);
    json!({
        "version": 8,
        "name": "gridmap",
        "metadata": {"attribution": gridmap_model::OSM_ATTRIBUTION},
        "sources": sources,
        "layers": layers,
    })
}

/// The MapLibre style of the vector tiles (style specification version 8).
#[utoipa::path(get, path = "/styles/gridmap.json", tag = "Vector tiles", operation_id = "getStyle",
    responses(
        (status = 200, description = "A MapLibre style: one vector source per tile layer (its TileJSON) and the layers drawn from them", body = MapStyle, content_type = "application/json"),
        (status = 400, description = "Unknown parameter", body = Problem, content_type = "application/problem+json"),
    ))]
async fn style(
    State(st): State<AppState>,
    headers: HeaderMap,
    QueryPairs(q): QueryPairs,
) -> Result<Response, ApiError> {
    only(&q, &[])?;
    Ok(json_value(
        "application/json",
        &style_document(&st.base_url(&headers)),
    ))
}
