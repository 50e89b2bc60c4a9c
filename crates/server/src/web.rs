//! The web map (web/dist, built by Vite and committed) embedded into the binary: `index.html`
//! at `/` for browsers, hashed assets under `/assets/` (immutable, cached for a year), bundled
//! fonts under `/fonts/`. ES modules (`.js`, `.mjs`, including MapLibre's worker) are served as
//! `text/javascript`, which browsers require for module scripts.
use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use include_dir::{include_dir, Dir};

static DIST: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../web/dist");

/// HTML for `GET /` when the client prefers HTML: the web app's `index.html`.
pub fn web_index() -> Response {
    match DIST.get_file("index.html").and_then(|f| f.contents_utf8()) {
        Some(html) => {
            let mut r = Html(html).into_response();
            r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            r
        }
        None => Html(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>gridmap</title></head>\
             <body><h1>gridmap</h1><p>The web map was not built into this binary (web/dist is missing).</p>\
             <ul><li><a href=\"/?f=json\">OGC API - Features landing page</a></li><li><a href=\"/docs\">API documentation</a></li></ul>\
             <p><small>{}</small></p></body></html>",
            gridmap_model::OSM_ATTRIBUTION
        ))
        .into_response(),
    }
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        "json" => "application/json",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "pbf" => "application/x-protobuf",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn serve(dir: &str, path: &str, headers: &HeaderMap, immutable: bool) -> Response {
    if path.split('/').any(|seg| seg == ".." || seg.is_empty()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let Some(file) = DIST.get_file(format!("{dir}/{path}")) else {
        return crate::error::ApiError::NotFound {
            what: "file".into(),
            id: format!("/{dir}/{path}"),
        }
        .into_response();
    };
    let body = file.contents();
    let etag = format!("\"{:x}-{}\"", fxhash(body), body.len());
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let cache = if immutable {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=3600"
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(path)),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            (
                header::ETAG,
                HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"0\"")),
            ),
        ],
        body,
    )
        .into_response()
}

/// FNV-1a over the file, for ETags (stable across builds with the same content).
fn fxhash(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| {
        (h ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3)
    })
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve("assets", &path, &headers, true)
}

async fn font(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve("fonts", &path, &headers, false)
}

/// Routes of the embedded web app's files (not part of the OpenAPI document).
pub fn routes<S: Clone + Send + Sync + 'static>() -> axum::Router<S> {
    axum::Router::new()
        .route("/assets/{*path}", axum::routing::get(asset))
        .route("/fonts/{*path}", axum::routing::get(font))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_scripts_are_served_as_javascript() {
        assert!(content_type("assets/maplibre-gl-worker-x.mjs").starts_with("text/javascript"));
        assert!(content_type("a.js").starts_with("text/javascript"));
        assert_eq!(content_type("f.woff2"), "font/woff2");
    }

    #[test]
    fn the_built_web_app_is_embedded() {
        assert!(
            DIST.get_file("index.html").is_some(),
            "web/dist/index.html missing: run `npm run build` in web/"
        );
        let html = DIST
            .get_file("index.html")
            .and_then(|f| f.contents_utf8())
            .unwrap_or("");
        for src in html.split("src=\"/assets/").skip(1) {
            let name = src.split('"').next().unwrap_or("");
            assert!(
                DIST.get_file(format!("assets/{name}")).is_some(),
                "index.html names a missing asset {name}"
            );
        }
    }
}
