//! `gridmap import FILE`: read a file into a Dataset, then write it in one transaction.
use crate::config::{Global, ImportArgs, LayerArg};
use crate::error::{CliError, Result};
use crate::output::emit;
use crate::progress::Bar;
use gridmap_import::{FacilityTagConfig, ImportOptions};
use gridmap_model::Layer;
use std::time::Instant;

pub fn layer_of(l: LayerArg) -> Option<Layer> {
    Some(match l {
        LayerArg::Buildings => Layer::Buildings,
        LayerArg::Facilities => Layer::Facilities,
        LayerArg::Network => Layer::Network,
        LayerArg::Compounds => Layer::Compounds,
        LayerArg::Communities => Layer::Communities,
        LayerArg::Streets => Layer::Streets,
        LayerArg::Grids => Layer::Grids,
        LayerArg::Households => return None,
    })
}

fn is_csv(a: &ImportArgs) -> bool {
    a.layer == Some(LayerArg::Households)
        || a.file
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

pub async fn run(g: &Global, a: ImportArgs) -> Result<()> {
    if !a.file.exists() {
        return Err(CliError::Read {
            path: a.file.clone(),
            detail: "no such file".into(),
        });
    }
    let started = Instant::now();
    let store = super::open_store(g).await?;
    if is_csv(&a) {
        let bar = Bar::new(g.quiet, "households");
        let updates = gridmap_import::read_household_csv(&a.file, &bar)?;
        bar.message("writing");
        let applied = store.apply_household_updates(&updates).await?;
        bar.finish();
        let out = serde_json::json!({
            "file": a.file.display().to_string(), "format": "csv",
            "rows": updates.len(), "buildings_updated": applied,
            "seconds": started.elapsed().as_secs_f64(),
        });
        emit(g.json, "household counts imported", &out);
        return Ok(());
    }
    let mut opts = ImportOptions {
        crs: super::parse_crs(&a.crs)?,
        layer: a.layer.and_then(layer_of),
        ..Default::default()
    };
    opts.household_rule.dwelling_m2 = a.dwelling_m2;
    if let Some(p) = &a.facility_tags {
        opts.facility_tags = FacilityTagConfig::from_file(p)?;
    }
    let bar = Bar::new(g.quiet, "import");
    let path = a.file.clone();
    let (dataset, mut report) =
        tokio::task::spawn_blocking(move || gridmap_import::import_file(&path, &opts, &bar))
            .await
            .map_err(|e| CliError::algo(format!("import task failed: {e}")))??;
    let bar = Bar::new(g.quiet, "store");
    bar.message(&format!(
        "writing {} buildings in one transaction",
        dataset.buildings.len()
    ));
    let counts = store.import(&dataset).await?;
    // Read it all back once: checks the round trip and lets the store keep its layer snapshots;
    // then the walking network and the building snaps are built once and kept, so the analysis
    // commands that follow (and a server) start from them.
    bar.message("verifying");
    let imported_buildings = dataset.buildings.len();
    drop(dataset);
    let versions = store.layer_versions().await?;
    let stored = store.load().await?;
    tracing::info!(buildings = stored.buildings.len(), "read back after import");
    if !stored.buildings.is_empty() {
        bar.message("preparing the walking network and building snaps");
        drop(super::analysis::session_from(&store, &versions, stored).await?);
    }
    bar.finish();
    report.seconds = started.elapsed().as_secs_f64();
    tracing::info!(file = %a.file.display(), buildings = imported_buildings, seconds = report.seconds, "import done");
    let mut out = serde_json::to_value(&report).unwrap_or_default();
    if let Some(o) = out.as_object_mut() {
        o.insert(
            "stored".into(),
            serde_json::to_value(&counts).unwrap_or_default(),
        );
        o.insert("buildings".into(), serde_json::json!(imported_buildings));
        o.insert("database".into(), serde_json::json!(redact(&g.db)));
    }
    emit(g.json, &format!("imported {}", a.file.display()), &out);
    Ok(())
}

/// The database URL without a password, for reports.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
