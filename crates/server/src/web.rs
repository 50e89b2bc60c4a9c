//! The browser entry page served at `/` for `text/html` clients. The lead replaces
//! [`web_index`] with the web application's `index.html`.
use axum::response::Html;

/// HTML for `GET /` when the client prefers HTML.
pub fn web_index() -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>gridmap</title></head>\
         <body><h1>gridmap</h1><p>Grid mapping and 15-minute coverage analysis.</p>\
         <ul><li><a href=\"/?f=json\">OGC API - Features landing page (JSON)</a></li>\
         <li><a href=\"/collections?f=json\">Collections</a></li><li><a href=\"/docs\">API documentation</a></li>\
         <li><a href=\"/openapi.json\">OpenAPI document</a></li></ul><p><small>{}</small></p></body></html>",
        gridmap_model::OSM_ATTRIBUTION
    ))
}
