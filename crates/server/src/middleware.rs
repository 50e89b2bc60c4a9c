//! Middleware around every route: request logs, CORS, compression, body limit, timeout, and
//! turning the framework's own bare error responses (404 route, 405 method) into problem+json.
use crate::error::{problem_response, ApiError, Problem, PROBLEM_JSON, REQUEST_PATH};
use crate::state::AppState;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tower_http::LatencyUnit;
use tracing::Level;

/// Wraps the application router with the middleware stack, configured from `state.config`.
pub fn wrap(router: Router, state: &AppState) -> Router {
    let cfg = &state.config;
    let mut r = router
        .layer(from_fn(problem_for_bare_errors))
        .layer(from_fn_with_state(cfg.request_timeout, scope_and_timeout))
        .layer(DefaultBodyLimit::max(cfg.body_limit_bytes))
        .layer(CompressionLayer::new().gzip(true).br(true))
        // A handler panic answers a 500 problem document instead of closing the connection.
        .layer(CatchPanicLayer::custom(panic_problem));
    if let Some(cors) = cors(&cfg.cors_origins) {
        r = r.layer(cors);
    }
    r.layer(
        TraceLayer::new_for_http()
            .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
            .on_response(
                DefaultOnResponse::new()
                    .level(Level::INFO)
                    .latency_unit(LatencyUnit::Micros),
            ),
    )
}

/// CORS for the configured origins (`*` = any); `None` when none are configured.
fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let layer = CorsLayer::new()
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            header::ACCEPT,
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            "content-crs".parse().unwrap_or(header::ETAG),
        ]);
    Some(if origins.iter().any(|o| o == "*") {
        layer.allow_origin(Any)
    } else {
        let list: Vec<HeaderValue> = origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        layer.allow_origin(AllowOrigin::list(list))
    })
}

/// The 500 problem answered for a handler panic (the panic message goes to the log only).
fn panic_problem(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let msg = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = msg, "handler panicked");
    ApiError::Internal(format!("handler panicked: {msg}")).into_response()
}

/// Runs the request with its path as problem `instance` and, for reads, under the configured
/// timeout. A request that may write (any method but GET, HEAD and OPTIONS) runs to completion:
/// answering 503 after its write committed would tell the client the opposite of what happened
/// (issue 12). Edits are O(change); the heavy analysis routes bound their own work.
async fn scope_and_timeout(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let read = matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    REQUEST_PATH
        .scope(path, async move {
            if !read {
                return next.run(req).await;
            }
            match tokio::time::timeout(limit, next.run(req)).await {
                Ok(r) => r,
                Err(_) => ApiError::Timeout(limit).into_response(),
            }
        })
        .await
}

/// Error responses produced by the framework (unknown route, wrong method, bad path segment)
/// come without a problem document; give them one, keeping their headers (e.g. `Allow`).
async fn problem_for_bare_errors(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let ctype = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ctype.starts_with(PROBLEM_JSON) {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let detail = match status.as_u16() {
        404 => "no such resource; the landing page / lists the API's resources".to_owned(),
        405 => format!(
            "method not allowed here; allowed: {}",
            parts
                .headers
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("(none)")
        ),
        413 => "request body too large".to_owned(),
        _ if !text.is_empty() => text,
        _ => status.canonical_reason().unwrap_or("error").to_owned(),
    };
    let problem = Problem {
        kind: format!("urn:gridmap:problem:http-{}", status.as_u16()),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail,
        instance: REQUEST_PATH.try_with(Clone::clone).ok(),
    };
    let mut out = problem_response(&problem);
    for (k, v) in &parts.headers {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
            out.headers_mut().insert(k.clone(), v.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    #[tokio::test]
    #[allow(clippy::assertions_on_constants, clippy::nonminimal_bool)] // the handler must panic
    async fn a_handler_panic_is_a_500_problem_document() {
        let r = Router::new()
            .route(
                "/boom",
                axum::routing::get(|| async {
                    assert!(!true, "boom");
                }),
            )
            .layer(CatchPanicLayer::custom(panic_problem));
        let resp = r
            .oneshot(
                Request::builder()
                    .uri("/boom")
                    .body(axum::body::Body::empty())
                    .expect("request"),
            )
            .await
            .expect("infallible");
        assert_eq!(resp.status(), 500);
        assert!(resp.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap_or("")
            .starts_with(PROBLEM_JSON));
    }
}
