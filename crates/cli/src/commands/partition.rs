//! `gridmap partition`, `rebalance`, `validate`: grids of about N households.
use crate::config::{Global, PartitionArgs, RebalanceArgs, ValidateArgs};
use crate::error::{CliError, Result};
use crate::output::emit;
use crate::progress::Bar;
pub use gridmap_algo::partition::PartitionParams;
use gridmap_algo::partition::{DrawnGrid, PartitionResult};
use gridmap_model::{CommunityId, Dataset};
use gridmap_service::{
    into_proposal_grids, proposal_grids, propose_grids, rebalance_grids, resolve_community,
    validate_grids,
};
use std::sync::Arc;
use std::time::Instant;

fn params(target: f64, tolerance: f64, seed: u64) -> Result<PartitionParams> {
    let p = PartitionParams {
        seed,
        ..PartitionParams::new(target, tolerance)
    };
    p.band()
        .map_err(|e| CliError::usage("--target/--tolerance", e))?;
    Ok(p)
}

fn service(e: gridmap_service::ServiceError) -> CliError {
    CliError::algo(e)
}

/// Proposes grids for everything in `ds` and stores them (replacing existing grids); returns
/// how many were stored. Used by `gridmap demo`.
pub async fn partition_and_store(
    store: &dyn gridmap_store::Store,
    ds: &Dataset,
    params: &PartitionParams,
) -> Result<usize> {
    let result = propose_grids(ds, None, params).map_err(service)?;
    let grids = proposal_grids(&result);
    store.replace_grids(None, &grids).await?;
    Ok(grids.len())
}

fn report_json(r: &PartitionResult, seconds: f64, stored: bool) -> serde_json::Value {
    let rep = &r.report;
    serde_json::json!({
        "grids": rep.grids, "within_band_pct": rep.within_band_pct,
        "min_households": rep.min_households, "max_households": rep.max_households,
        "contiguous_pct": rep.contiguous_pct, "compounds_split": rep.compounds_split,
        "barrier_crossing_grids": rep.barrier_crossing_grids, "mean_compactness": rep.mean_compactness,
        "buildings": rep.buildings, "households": rep.households, "infeasible": rep.infeasible,
        "seconds_algorithm": rep.seconds, "seconds": seconds, "stored": stored,
    })
}

pub async fn partition(g: &Global, a: PartitionArgs) -> Result<()> {
    let t0 = Instant::now();
    let mut params = params(a.target, a.tolerance, a.seed)?;
    params.code_width = a.code_width;
    params.code_pattern = a.code_pattern.clone();
    params
        .band()
        .map_err(|e| CliError::usage("--code-width/--code-pattern", e))?;
    let store = super::open_store(g).await?;
    // What a partition reads: not the grids it replaces, nor the facilities.
    use gridmap_model::Layer;
    let ds = Arc::new(
        store
            .load_layers(&[
                Layer::Streets,
                Layer::Communities,
                Layer::Compounds,
                Layer::Buildings,
                Layer::Network,
            ])
            .await?,
    );
    if ds.buildings.is_empty() {
        return Err(CliError::usage(
            "--db",
            format!(
                "{} holds no buildings: run `gridmap import` first",
                super::import::redact(&g.db)
            ),
        ));
    }
    let community: Option<CommunityId> =
        resolve_community(&ds, a.community.as_deref()).map_err(service)?;
    let bar = Bar::new(g.quiet, "partition");
    bar.message(&format!("{} buildings", ds.buildings.len()));
    let (d, c, p) = (ds.clone(), community.clone(), params.clone());
    let result = tokio::task::spawn_blocking(move || propose_grids(&d, c.as_ref(), &p))
        .await
        .map_err(|e| CliError::algo(format!("partition task failed: {e}")))?
        .map_err(service)?;
    bar.finish();
    // The dataset is no longer needed: free it before the grids are written.
    drop(ds);
    if let Some(path) = &a.out {
        let werr = |e: csv::Error| CliError::Write {
            path: path.clone(),
            source: std::io::Error::other(e),
        };
        let mut w = csv::Writer::from_path(path).map_err(werr)?;
        w.write_record(["building_id", "grid_id"]).map_err(werr)?;
        for (b, grid) in result.assignment() {
            w.write_record([b.as_str(), grid]).map_err(werr)?;
        }
        w.flush().map_err(|e| CliError::Write {
            path: path.clone(),
            source: e,
        })?;
    }
    let out = report_json(&result, 0.0, !a.dry_run);
    let count = result.report.grids;
    if !a.dry_run {
        // Moved, not copied: building lists and outlines are the bulk of a city's grids.
        store
            .replace_grids(community.as_ref(), &into_proposal_grids(result))
            .await?;
    }
    let mut out = out;
    out["seconds"] = t0.elapsed().as_secs_f64().into();
    emit(
        g.json,
        &format!(
            "{count} grids proposed{}",
            if a.dry_run {
                " (dry run: not stored)"
            } else {
                " and stored"
            }
        ),
        &out,
    );
    Ok(())
}

pub async fn rebalance(g: &Global, a: RebalanceArgs) -> Result<()> {
    let params = params(a.target, a.tolerance, 0)?;
    let store = super::open_store(g).await?;
    let ds = store.load().await?;
    if ds.grids.is_empty() {
        return Err(CliError::usage(
            "--db",
            "there are no grids to rebalance: run `gridmap partition` first",
        ));
    }
    let result = tokio::task::spawn_blocking(move || rebalance_grids(&ds, &params))
        .await
        .map_err(|e| CliError::algo(format!("rebalance task failed: {e}")))?
        .map_err(service)?;
    if !a.dry_run && !result.moves.is_empty() {
        store.replace_grids(None, &result.grids).await?;
    }
    let out =
        serde_json::json!({ "report": result.report, "moves": result.moves, "stored": !a.dry_run });
    emit(g.json, "rebalance", &out);
    Ok(())
}

pub async fn validate(g: &Global, a: ValidateArgs) -> Result<()> {
    let params = params(a.target, a.tolerance, 0)?;
    let crs = super::parse_crs(&a.crs)?;
    let opts = gridmap_import::ImportOptions {
        crs,
        layer: Some(gridmap_model::Layer::Grids),
        ..Default::default()
    };
    let (drawn_ds, _) = gridmap_import::import_file(&a.grids, &opts, &gridmap_import::NoProgress)?;
    let drawn: Vec<DrawnGrid> = drawn_ds
        .grids
        .iter()
        .filter_map(|g| {
            g.boundary.clone().map(|b| DrawnGrid {
                id: g.id.to_string(),
                boundary: b,
            })
        })
        .collect();
    if drawn.is_empty() {
        return Err(CliError::Read {
            path: a.grids.clone(),
            detail: "no grid polygons in the file".into(),
        });
    }
    let store = super::open_store(g).await?;
    let ds = store.load().await?;
    let report = tokio::task::spawn_blocking(move || validate_grids(&ds, &drawn, &params))
        .await
        .map_err(|e| CliError::algo(format!("validation task failed: {e}")))?
        .map_err(service)?;
    emit(g.json, "grid validation", &report);
    Ok(())
}
