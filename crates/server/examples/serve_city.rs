//! Serves a city for the black-box checks before the CLI's `serve` exists:
//! `cargo run -p gridmap-server --example serve_city -- sqlite:///tmp/city.db 127.0.0.1:8088 [city.osm.pbf]`.
//! With a file, imports it first and (fixture only, not the partition algorithm) groups each
//! community's buildings, in id order, into grids of 40 so the grids collection has content.
use gridmap_model::{Grid, GridId};
use std::collections::BTreeMap;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(url), Some(bind)) = (args.first(), args.get(1)) else {
        return Err("usage: serve_city DB_URL BIND_ADDR [OSM_FILE]".into());
    };
    let store = gridmap_store::open(url).await?;
    if let Some(file) = args.get(2) {
        let (mut ds, _) = gridmap_import::import_file(
            std::path::Path::new(file),
            &Default::default(),
            &gridmap_import::NoProgress,
        )?;
        let mut by_comm: BTreeMap<Option<String>, Vec<_>> = BTreeMap::new();
        for b in &ds.buildings {
            by_comm
                .entry(b.community.as_ref().map(std::string::ToString::to_string))
                .or_default()
                .push(b.id.clone());
        }
        for (comm, ids) in by_comm {
            for (i, chunk) in ids.chunks(40).enumerate() {
                let n = ds.grids.len();
                ds.grids.push(Grid {
                    id: GridId::new(format!("g{n:04}")),
                    code: format!("{}-{:02}", comm.as_deref().unwrap_or("X"), i + 1),
                    name: None,
                    community: comm.clone().map(Into::into),
                    buildings: chunk.to_vec(),
                    leads: vec![],
                    boundary: None,
                    version: 1,
                });
            }
        }
        let counts = store.import(&ds).await?;
        eprintln!("imported {counts:?}");
    }
    let cfg = gridmap_server::ServerConfig {
        bind: bind.parse()?,
        ..Default::default()
    };
    gridmap_server::serve(Arc::clone(&store), cfg, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
