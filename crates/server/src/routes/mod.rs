//! HTTP routes, grouped by API. Every route is registered through `utoipa-axum`, so the
//! OpenAPI document lists exactly what the router serves.
pub mod account;
pub mod analysis;
pub mod buildings;
pub mod docs;
pub mod events;
pub mod health;
pub mod jobs;
pub mod ogc;
pub mod reports;
pub mod rest;
pub mod styles;
pub mod tiles;
pub mod transactions;

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;

/// The query string as ordered `(name, value)` pairs, decoded; rejects undecodable strings
/// with a problem document.
pub struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri) {
            Ok(q) => Ok(QueryPairs(q.0)),
            Err(e) => Err(ApiError::InvalidParameter {
                name: "(query string)".into(),
                reason: e.body_text(),
            }),
        }
    }
}

/// Refuses a request body not declared `application/json` (or `application/…+json`) with 415,
/// before it is parsed: a cross-site "simple" form POST (`text/plain`, form encodings) never
/// reaches a JSON route.
pub fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
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
    let ok = mt == "application/json" || (mt.starts_with("application/") && mt.ends_with("+json"));
    if ok {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(if ctype.is_empty() {
            "(no Content-Type; send application/json)".into()
        } else {
            ctype.to_owned()
        }))
    }
}

/// A JSON body response with an explicit media type.
pub fn json_response(ctype: &'static str, body: Vec<u8>) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(ctype))],
        body,
    )
        .into_response()
}

/// Serializes a value as a JSON body with the given media type.
pub fn json_value(ctype: &'static str, v: &serde_json::Value) -> Response {
    json_response(ctype, serde_json::to_vec(v).unwrap_or_default())
}

/// Whether the client prefers HTML over JSON (browsers), from `Accept` q-values.
pub fn prefers_html(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let (mut html, mut json) = (-1.0f32, -1.0f32);
    for item in accept.split(',') {
        let mut it = item.split(';');
        let mt = it.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = it
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match mt.as_str() {
            "text/html" | "application/xhtml+xml" => html = html.max(q),
            m if m.ends_with("json") => json = json.max(q),
            _ => {}
        }
    }
    html > 0.0 && html > json
}

/// All routes with the generated OpenAPI document (also served at `/openapi.json`).
pub fn api_router(state: AppState) -> (axum::Router, serde_json::Value) {
    let r = OpenApiRouter::with_openapi(crate::openapi::base())
        .merge(health::routes())
        .merge(ogc::routes())
        .merge(transactions::routes())
        .merge(rest::routes())
        .merge(tiles::routes())
        .merge(styles::routes())
        .merge(analysis::routes())
        .merge(jobs::routes())
        .merge(events::routes())
        .merge(buildings::routes())
        .merge(reports::routes())
        .merge(account::routes())
        .merge(docs::routes());
    let (router, doc) = r.split_for_parts();
    let doc = crate::openapi::finish(&doc);
    let router = router
        .route(
            "/collections/{collectionId}/items",
            axum::routing::get(ogc::items),
        )
        .merge(tiles::unlisted_routes())
        .merge(crate::web::routes())
        .merge(docs::serve_document(&doc))
        // Every routed request is identified, classified and permitted here (crate::auth).
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::authorize,
        ))
        .fallback(|uri: axum::http::Uri| async move {
            ApiError::NotFound {
                what: "path".into(),
                id: uri.path().to_owned(),
            }
        })
        .with_state(state);
    (router, doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_get_html_and_tools_get_json() {
        let mut h = HeaderMap::new();
        assert!(!prefers_html(&h));
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static(
                "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            ),
        );
        assert!(prefers_html(&h));
        h.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        assert!(!prefers_html(&h));
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json, text/html;q=0.5"),
        );
        assert!(!prefers_html(&h));
    }
}
