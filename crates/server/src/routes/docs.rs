//! `/openapi.json` (the generated OpenAPI 3.1 document) and `/docs`, a self-contained page that
//! lists the operations (no CDN, no external requests).
use crate::state::AppState;
use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;

pub const OPENAPI_TYPE: &str = "application/vnd.oai.openapi+json;version=3.1";

#[derive(utoipa::OpenApi)]
#[openapi(paths(openapi_json, docs))]
struct DocsDoc;

/// Documentation of `/openapi.json` and `/docs`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(<DocsDoc as utoipa::OpenApi>::openapi())
}

/// The OpenAPI document of this server.
#[utoipa::path(get, path = "/openapi.json", tag = "Service", operation_id = "getOpenApi",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/vnd.oai.openapi+json;version=3.1", body = Object)))]
#[allow(dead_code)]
async fn openapi_json() {}

/// Human-readable API documentation.
#[utoipa::path(get, path = "/docs", tag = "Service", operation_id = "getDocs",
    responses((status = 200, description = "HTML page listing every operation", content_type = "text/html", body = String)))]
#[allow(dead_code)]
async fn docs() {}

/// Serves the finished document (serialized once) and the docs page.
pub fn serve_document(doc: &serde_json::Value) -> axum::Router<AppState> {
    let bytes: Arc<Vec<u8>> = Arc::new(serde_json::to_vec(doc).unwrap_or_default());
    axum::Router::new()
        .route(
            "/openapi.json",
            get(move || {
                let b = bytes.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, HeaderValue::from_static(OPENAPI_TYPE))],
                        b.as_ref().clone(),
                    )
                        .into_response()
                }
            }),
        )
        .route("/docs", get(|| async { Html(DOCS_HTML) }))
}

const DOCS_HTML: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gridmap API</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;color:#222}
h2{border-bottom:1px solid #ccc;margin-top:2rem}
.op{margin:.4rem 0;padding:.4rem .6rem;border-left:4px solid #888;background:#f7f7f7}
.m{display:inline-block;width:4.5rem;font-weight:bold;text-transform:uppercase}
.get{border-color:#2a7ae2}.post{border-color:#2a9d4b}.put{border-color:#d98b00}.patch{border-color:#8e44ad}.delete{border-color:#c0392b}
code{font-size:.95em}.d{color:#555;font-size:.9em;margin:.2rem 0 0 4.5rem}.s{color:#777;font-size:.85em;margin-left:4.5rem}
</style></head><body>
<h1 id="title">gridmap API</h1><p id="desc"></p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
<div id="ops">Loading…</div>
<script>
fetch('/openapi.json').then(r => r.json()).then(doc => {
  document.getElementById('title').textContent = doc.info.title + ' ' + doc.info.version;
  document.getElementById('desc').textContent = doc.info.description || '';
  const byTag = {};
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const [method, op] of Object.entries(item)) {
      if (!['get','post','put','patch','delete'].includes(method)) continue;
      const tag = (op.tags && op.tags[0]) || 'Other';
      (byTag[tag] = byTag[tag] || []).push({path, method, op});
    }
  }
  const root = document.getElementById('ops'); root.textContent = '';
  for (const [tag, ops] of Object.entries(byTag)) {
    const h = document.createElement('h2'); h.textContent = tag; root.appendChild(h);
    for (const {path, method, op} of ops) {
      const div = document.createElement('div'); div.className = 'op ' + method;
      const m = document.createElement('span'); m.className = 'm'; m.textContent = method;
      const c = document.createElement('code'); c.textContent = path;
      div.append(m, c);
      const d = document.createElement('div'); d.className = 'd';
      d.textContent = (op.summary || '') + (op.description ? ' ' + op.description : ''); div.appendChild(d);
      const params = (op.parameters || []).map(p => p.name + ' (' + p.in + ')').join(', ');
      const s = document.createElement('div'); s.className = 's';
      s.textContent = (params ? 'parameters: ' + params + ' · ' : '') + 'responses: ' + Object.keys(op.responses || {}).join(', ');
      div.appendChild(s); root.appendChild(div);
    }
  }
}).catch(e => { document.getElementById('ops').textContent = 'Could not load /openapi.json: ' + e; });
</script></body></html>"#;
