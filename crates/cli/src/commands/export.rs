//! `gridmap export --layer L`: a layer as GeoJSON in the chosen CRS, with the ODbL attribution.
use crate::config::{ExportArgs, Global};
use crate::error::{CliError, Result};
use std::io::Write;

pub async fn run(g: &Global, a: ExportArgs) -> Result<()> {
    let layer = super::import::layer_of(a.layer).ok_or_else(|| {
        CliError::usage(
            "--layer",
            "households are exported as part of the buildings layer",
        )
    })?;
    let crs = super::parse_crs(&a.crs)?;
    let store = super::open_store(g).await?;
    let ds = store.load().await?;
    let mut fc = gridmap_import::to_geojson(&ds, layer, crs);
    let mut members = serde_json::Map::new();
    members.insert("attribution".into(), gridmap_model::OSM_ATTRIBUTION.into());
    members.insert("crs_name".into(), crs.name().into());
    fc.foreign_members = Some(members);
    let text = fc.to_string();
    if a.out.as_os_str() == "-" {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{text}").map_err(|e| CliError::Write {
            path: a.out.clone(),
            source: e,
        })?;
    } else {
        std::fs::write(&a.out, text).map_err(|e| CliError::Write {
            path: a.out.clone(),
            source: e,
        })?;
        eprintln!(
            "wrote {} features to {}",
            fc.features.len(),
            a.out.display()
        );
    }
    Ok(())
}
