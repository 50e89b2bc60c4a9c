//! `gridmap stats`: what the database holds.
use crate::config::Global;
use crate::error::Result;
use crate::output::emit;

pub async fn run(g: &Global) -> Result<()> {
    let store = super::open_store(g).await?;
    let counts = store.counts().await?;
    let out = serde_json::json!({ "database": super::import::redact(&g.db), "backend": store.backend(), "counts": counts });
    emit(g.json, "gridmap database", &out);
    Ok(())
}
