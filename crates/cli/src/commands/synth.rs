//! `gridmap synth FILE -n N`: tile an extract N×N times into the database (benchmarks at 100k+).
use crate::config::{Global, SynthArgs};
use crate::error::{CliError, Result};
use crate::output::emit;
use crate::progress::Bar;
use gridmap_import::{FacilityTagConfig, ImportOptions};
use gridmap_model::FACILITY_PROFILE_META;
use std::time::Instant;

pub async fn run(g: &Global, a: SynthArgs) -> Result<()> {
    if a.n == 0 || a.n > 64 {
        return Err(CliError::usage(
            "-n",
            format!("must be between 1 and 64, got {}", a.n),
        ));
    }
    let t0 = Instant::now();
    let tags = FacilityTagConfig::from_arg(&a.facility_tags)?;
    let catalog = tags.catalog();
    let opts = ImportOptions {
        facility_tags: tags,
        ..ImportOptions::default()
    };
    let store = super::open_store(g).await?;
    let path = a.file.clone();
    let n = a.n;
    let bar = Bar::new(g.quiet, "synth");
    let ds = tokio::task::spawn_blocking(move || -> Result<_> {
        let (base, _) = gridmap_import::import_file(&path, &opts, &bar)?;
        bar.message(&format!("tiling {n}×{n}"));
        Ok(gridmap_import::synth(&base, n))
    })
    .await
    .map_err(|e| CliError::algo(format!("synth task failed: {e}")))??;
    let t1 = Instant::now();
    let counts = store.import(&ds).await?;
    store
        .put_meta(
            FACILITY_PROFILE_META,
            &serde_json::to_value(&catalog).unwrap_or_default(),
        )
        .await?;
    let mut out = serde_json::json!({
        "tiles": n * n, "buildings": ds.buildings.len(), "households": ds.households(),
        "facilities": ds.facilities.len(), "network_ways": ds.ways.len(), "stored": counts,
        "seconds_build": (t1 - t0).as_secs_f64(), "seconds_store": t1.elapsed().as_secs_f64(),
    });
    // As `import` does: layer snapshots, walking network and building snaps kept for what follows.
    drop(ds);
    let t2 = Instant::now();
    let versions = store.layer_versions().await?;
    let stored = store.load().await?;
    drop(super::analysis::session_from(&store, &versions, stored).await?);
    out["seconds_prepare"] = t2.elapsed().as_secs_f64().into();
    out["facility_profile"] = catalog.profile.name.clone().into();
    out["facility_label"] = catalog.label.clone().into();
    emit(g.json, "synthetic city", &out);
    Ok(())
}
