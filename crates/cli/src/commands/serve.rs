//! `gridmap serve`: the HTTP server on a store, until Ctrl-C / SIGTERM.
use crate::config::{Global, ServeArgs};
use crate::error::Result;
use std::sync::Arc;
use std::time::Duration;

pub fn server_config(a: &ServeArgs) -> Result<gridmap_server::ServerConfig> {
    let event_categories = match &a.event_categories {
        None => None,
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| crate::error::CliError::Read {
                path: p.clone(),
                detail: e.to_string(),
            })?;
            let c = gridmap_model::events::EventCategories::from_toml_str(
                &text,
                &p.display().to_string(),
            )
            .map_err(|e| crate::error::CliError::usage("--event-categories", e))?;
            Some(Arc::new(c))
        }
    };
    Ok(gridmap_server::ServerConfig {
        bind: a.bind,
        cors_origins: a.cors.clone(),
        body_limit_bytes: a.body_limit,
        request_timeout: Duration::from_secs(a.timeout_s),
        public_url: a.public_url.clone(),
        anonymous: anonymous_access(a),
        session_ttl: Duration::from_secs(a.session_hours * 3600),
        event_categories,
    })
}

/// `--anonymous`: `auto` reads on loopback binds (a local demo, a workstation) and is closed
/// on any other address, so a deployment never exposes household data by default.
fn anonymous_access(a: &ServeArgs) -> gridmap_server::auth::Anonymous {
    use gridmap_server::auth::Anonymous;
    match a.anonymous.as_str() {
        "read" => Anonymous::Read,
        "none" => Anonymous::None,
        _ if a.bind.ip().is_loopback() => Anonymous::Read,
        _ => Anonymous::None,
    }
}

pub async fn run(g: &Global, a: ServeArgs) -> Result<()> {
    let store = super::open_store(g).await?;
    serve_store(store, &a).await
}

pub async fn serve_store(store: Arc<dyn gridmap_store::Store>, a: &ServeArgs) -> Result<()> {
    let anon = match anonymous_access(a) {
        gridmap_server::auth::Anonymous::Read => {
            "anonymous callers may read (--anonymous none to require a login)"
        }
        gridmap_server::auth::Anonymous::None => "a login or API token is required to read data",
    };
    eprintln!(
        "gridmap serving {} data on http://{}/ (Ctrl-C to stop); {anon}",
        store.backend(),
        a.bind
    );
    tracing::info!(bind = %a.bind, backend = store.backend(), "serving");
    gridmap_server::serve(store, server_config(a)?, shutdown_signal()).await?;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM, for a graceful shutdown.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutdown requested");
}
