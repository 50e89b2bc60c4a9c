//! `gridmap serve`: the HTTP server on a store, until Ctrl-C / SIGTERM.
use crate::config::{Global, ServeArgs};
use crate::error::Result;
use std::sync::Arc;
use std::time::Duration;

pub fn server_config(a: &ServeArgs) -> gridmap_server::ServerConfig {
    gridmap_server::ServerConfig {
        bind: a.bind,
        cors_origins: a.cors.clone(),
        body_limit_bytes: a.body_limit,
        request_timeout: Duration::from_secs(a.timeout_s),
        public_url: None,
    }
}

pub async fn run(g: &Global, a: ServeArgs) -> Result<()> {
    let store = super::open_store(g).await?;
    serve_store(store, &a).await
}

pub async fn serve_store(store: Arc<dyn gridmap_store::Store>, a: &ServeArgs) -> Result<()> {
    eprintln!("gridmap serving {} data on http://{}/ (Ctrl-C to stop)", store.backend(), a.bind);
    tracing::info!(bind = %a.bind, backend = store.backend(), "serving");
    gridmap_server::serve(store, server_config(a), shutdown_signal()).await?;
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
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown requested");
}
