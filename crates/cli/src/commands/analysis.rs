//! `gridmap coverage`, `gaps`, `isochrone`: walking coverage questions answered from the store.
use crate::config::{CoverageArgs, GapsArgs, Global, IsochroneArgs};
use crate::error::{CliError, Result};
use crate::output::emit;
use crate::progress::Bar;
use gridmap_algo::coverage::GapOptions;
use gridmap_service::{gaps_geojson, isochrones_geojson, walk_profile, Analysis, CoverageQuery};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

pub(super) fn service(e: gridmap_service::ServiceError) -> CliError {
    match e {
        gridmap_service::ServiceError::Invalid {
            name,
            value,
            reason,
        } => CliError::usage(
            format!("--{}", name.replace('_', "-")),
            format!("'{value}': {reason}"),
        ),
        other => CliError::algo(other),
    }
}

/// Loads the store and builds the analysis session (network + snapping) off the async threads.
/// The walking network and the building snaps come from the store's derived cache when they were
/// built from the same layer versions (by an earlier run, the import or a server), and are kept
/// there when this run had to build them.
pub(super) async fn session(g: &Global) -> Result<(Arc<dyn gridmap_store::Store>, Arc<Analysis>)> {
    let t0 = Instant::now();
    let store = super::open_store(g).await?;
    let bar = Bar::new(g.quiet, "load");
    bar.message("reading the database");
    let t1 = Instant::now();
    // Versions before the data: a part is never tagged newer than what it was built from.
    let versions = store.layer_versions().await?;
    let ds = store.load().await?;
    tracing::info!(
        open_ms = (t1 - t0).as_millis() as u64,
        load_ms = t1.elapsed().as_millis() as u64,
        "dataset loaded"
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
    bar.message("building the walking network");
    let analysis = session_from(&store, &versions, ds).await?;
    bar.finish();
    Ok((store, Arc::new(analysis)))
}

/// The analysis session of `ds`, read from `store` at layer `versions` (read before `ds`): the
/// network and the snaps from the store's derived cache where they match, else built here and
/// kept there for the next process.
pub(super) async fn session_from(
    store: &Arc<dyn gridmap_store::Store>,
    versions: &std::collections::BTreeMap<gridmap_model::Layer, i64>,
    ds: gridmap_model::Dataset,
) -> Result<Analysis> {
    use gridmap_service::{derived_versions, DerivedParts, NETWORK_CACHE_KEY, SITES_CACHE_KEY};
    let options = gridmap_algo::coverage::CoverageOptions::default();
    let (net_v, sites_v) = derived_versions(versions, &options);
    let cached = |key: &'static str, want: String| {
        let store = store.clone();
        async move {
            match store.derived(key).await {
                Ok(Some((v, d))) if v == want => Some(d),
                Ok(_) => None,
                Err(e) => {
                    tracing::warn!(key, error = %e, "derived cache not readable");
                    None
                }
            }
        }
    };
    let (network, sites) = tokio::join!(
        cached(NETWORK_CACHE_KEY, net_v.clone()),
        cached(SITES_CACHE_KEY, sites_v.clone())
    );
    let parts = DerivedParts { network, sites };
    let (analysis, built) =
        tokio::task::spawn_blocking(move || Analysis::from_parts(Arc::new(ds), options, parts))
            .await
            .map_err(|e| CliError::algo(format!("analysis task failed: {e}")))?;
    for (key, version, data) in [
        (NETWORK_CACHE_KEY, net_v, built.network),
        (SITES_CACHE_KEY, sites_v, built.sites),
    ] {
        let Some(data) = data else { continue };
        // A cache: a failure to keep it costs the next run a rebuild, not this run its answer.
        if let Err(e) = store.put_derived(key, &version, &data).await {
            tracing::warn!(key, error = %e, "derived data not kept");
        }
    }
    Ok(analysis)
}

/// The facility profile the dataset was imported with (as `gridmap import` recorded it).
pub(super) async fn kind_catalog(
    store: &dyn gridmap_store::Store,
) -> Result<gridmap_model::KindCatalog> {
    Ok(store
        .meta(gridmap_model::FACILITY_PROFILE_META)
        .await?
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_else(gridmap_model::KindCatalog::unrecorded))
}

/// Adds `facility_profile` (name) and `facility_label` (for a proxy: what stands in for what)
/// to a JSON answer, so every figure says which facilities it counted.
pub(super) fn label_answer(out: &mut serde_json::Value, c: &gridmap_model::KindCatalog) {
    if let Some(o) = out.as_object_mut() {
        o.insert("facility_profile".into(), c.profile.name.clone().into());
        o.insert(
            "facility_label".into(),
            c.label.clone().map_or(serde_json::Value::Null, Into::into),
        );
    }
}

/// The label line printed above figures for people ("" for a strict profile).
pub(super) fn label_line(c: &gridmap_model::KindCatalog) -> String {
    match &c.label {
        Some(l) => format!("facility kinds: {l}\n"),
        None => format!("facility kinds: profile {}\n", c.profile.name),
    }
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    if path.as_os_str() == "-" {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{text}").map_err(|e| CliError::Write {
            path: path.to_owned(),
            source: e,
        })
    } else {
        std::fs::write(path, text).map_err(|e| CliError::Write {
            path: path.to_owned(),
            source: e,
        })
    }
}

pub async fn coverage(g: &Global, mut a: CoverageArgs) -> Result<()> {
    let t0 = Instant::now();
    let profile = walk_profile(Some(&a.walk.profile), a.walk.speed_kmh).map_err(service)?;
    let kind = gridmap_service::facility_kind(&a.walk.kind).map_err(service)?;
    if !a.minutes.is_empty() {
        gridmap_service::check_minutes(&a.minutes).map_err(service)?;
    }
    let (store, analysis) = session(g).await?;
    if a.minutes.is_empty() {
        // The kind's default minutes, as the profile declares them ([[kind]] minutes).
        let catalog = kind_catalog(&*store).await?;
        let m = kind
            .as_ref()
            .and_then(|k| catalog.kind(k))
            .map_or(15.0, |k| k.minutes);
        a.minutes = vec![m];
    }
    let q = CoverageQuery {
        kind: a.walk.kind.clone(),
        minutes: a.minutes.clone(),
        profile,
    };
    let an = analysis.clone();
    let summary = tokio::task::spawn_blocking(move || an.coverage(&q))
        .await
        .map_err(|e| CliError::algo(format!("coverage task failed: {e}")))?
        .map_err(service)?;
    if let Some(path) = &a.per_building {
        let times = analysis
            .building_times(&a.walk.kind, a.minutes[0], profile)
            .map_err(service)?;
        let mut w = csv::Writer::from_path(path).map_err(|e| CliError::Write {
            path: path.clone(),
            source: e.into(),
        })?;
        let werr = |e: csv::Error| CliError::Write {
            path: path.clone(),
            source: std::io::Error::other(e),
        };
        w.write_record(["building_id", "minutes", "facility_id"])
            .map_err(werr)?;
        for t in &times {
            let minutes = t.minutes.map(|m| format!("{m:.4}")).unwrap_or_default();
            let facility = t
                .facility_id
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            w.write_record([t.building_id.as_str(), minutes.as_str(), facility.as_str()])
                .map_err(werr)?;
        }
        w.flush().map_err(|e| CliError::Write {
            path: path.clone(),
            source: e,
        })?;
    }
    let key = format!("coverage/{}/{}", a.walk.kind, profile.speed_kmh);
    let mut out = serde_json::to_value(&summary).unwrap_or_default();
    let catalog = kind_catalog(&*store).await?;
    label_answer(&mut out, &catalog);
    store.put_result(&key, &out).await?;
    if let Some(o) = out.as_object_mut() {
        o.insert("seconds".into(), t0.elapsed().as_secs_f64().into());
    }
    if g.json {
        emit(true, "", &out);
    } else {
        print!(
            "{}{}",
            label_line(&catalog),
            coverage_table(&summary, &a.by, t0.elapsed().as_secs_f64())
        );
    }
    Ok(())
}

/// The coverage answer for people: a row per threshold, then a table per group asked with `--by`.
fn coverage_table(s: &gridmap_service::CoverageSummary, by: &[String], seconds: f64) -> String {
    use std::fmt::Write as _;
    let pct = |c: u64, t: u64| {
        if t == 0 {
            0.0
        } else {
            100.0 * c as f64 / t as f64
        }
    };
    let mut o = String::new();
    let _ = writeln!(
        o,
        "coverage of {} at {} km/h: {} facilities, {} buildings ({} unreachable), {} households, {} elderly",
        s.kind, s.speed_kmh, s.facilities, s.total_buildings, s.unreachable_buildings, s.total_households, s.total_elderly
    );
    let _ = writeln!(
        o,
        "{:>8} | {:>19} | {:>6} | {:>15}",
        "minutes", "covered households", "%", "covered elderly"
    );
    for t in &s.thresholds {
        let _ = writeln!(
            o,
            "{:>8} | {:>19} | {:>6.1} | {:>15}",
            t.minutes,
            t.covered_households,
            pct(t.covered_households, t.total_households),
            t.covered_elderly
        );
    }
    for b in by {
        let (title, rows) = match b.as_str() {
            "community" => ("community", &s.by_community),
            "grid" => ("grid", &s.by_grid),
            _ => ("compound", &s.by_compound),
        };
        let _ = writeln!(o, "\nby {title}, within {} min:", s.minutes);
        let _ = writeln!(
            o,
            "{:<28} | {:>9} | {:>19} | {:>10} | {:>6} | {:>15}",
            title, "buildings", "covered households", "households", "%", "covered elderly"
        );
        for r in rows {
            let label = if r.name == r.id {
                r.id.clone()
            } else {
                format!("{} ({})", r.name, r.id)
            };
            let _ = writeln!(
                o,
                "{:<28} | {:>9} | {:>19} | {:>10} | {:>6.1} | {:>15}",
                label,
                r.buildings,
                r.covered_households,
                r.total_households,
                r.pct,
                r.covered_elderly
            );
        }
        if rows.is_empty() {
            let _ = writeln!(o, "(no buildings belong to a {title})");
        }
    }
    if let Some(n) = &s.note {
        let _ = writeln!(o, "note: {n}");
    }
    for u in &s.unplaced_facilities {
        let _ = writeln!(o, "unplaced facility {u}");
    }
    let _ = writeln!(o, "{seconds:.2} s");
    o
}

pub async fn gaps(g: &Global, a: GapsArgs) -> Result<()> {
    let profile = walk_profile(Some(&a.walk.profile), a.walk.speed_kmh).map_err(service)?;
    gridmap_service::facility_kind(&a.walk.kind).map_err(service)?;
    if !(a.cluster_m.is_finite() && a.cluster_m > 0.0) {
        return Err(CliError::usage(
            "--cluster-m",
            format!("must be a positive distance, got {}", a.cluster_m),
        ));
    }
    let (store, analysis) = session(g).await?;
    let opts = GapOptions {
        link_m: a.cluster_m,
        ..GapOptions::default()
    };
    let gaps = analysis
        .gaps(&a.walk.kind, a.minutes, profile, &opts)
        .map_err(service)?;
    let fc = gaps_geojson(&gaps);
    if let Some(p) = &a.geojson {
        write_file(p, &fc.to_string())?;
    }
    store
        .put_result(
            &format!("gaps/{}/{}/{}", a.walk.kind, a.minutes, profile.speed_kmh),
            &serde_json::to_value(&fc).unwrap_or_default(),
        )
        .await?;
    let rows: Vec<serde_json::Value> = gaps
        .iter()
        .map(|x| serde_json::json!({"rank": x.rank, "households": x.households, "elderly": x.elderly, "buildings": x.buildings.len(), "area_m2": x.area_m2.round(), "centre": x.centre}))
        .collect();
    let mut out = serde_json::json!({
        "kind": a.walk.kind, "minutes": a.minutes, "speed_kmh": profile.speed_kmh,
        "gap_areas": gaps.len(), "uncovered_households": gaps.iter().map(|x| x.households).sum::<u64>(),
        "uncovered_buildings": gaps.iter().map(|x| x.buildings.len()).sum::<usize>(), "gaps": rows,
    });
    let catalog = kind_catalog(&*store).await?;
    label_answer(&mut out, &catalog);
    if !g.json {
        print!("{}", label_line(&catalog));
    }
    emit(
        g.json,
        &format!("gaps beyond {} min of {}", a.minutes, a.walk.kind),
        &out,
    );
    Ok(())
}

pub async fn isochrone(g: &Global, a: IsochroneArgs) -> Result<()> {
    let profile = walk_profile(Some(&a.profile), a.speed_kmh).map_err(service)?;
    gridmap_service::check_minutes(&a.minutes).map_err(service)?;
    let (_, analysis) = session(g).await?;
    let t0 = Instant::now();
    let bands = match (&a.facility, &a.kind) {
        (Some(f), None) => analysis.isochrone_for_facility(f, &a.minutes, profile),
        (None, Some(k)) => analysis.isochrone_for_kind(k, &a.minutes, profile),
        _ => {
            return Err(CliError::usage(
                "--facility/--kind",
                "give exactly one of --facility ID or --kind KIND",
            ))
        }
    }
    .map_err(service)?;
    let fc = isochrones_geojson(&bands);
    write_file(&a.geojson, &fc.to_string())?;
    if a.geojson.as_os_str() != "-" {
        let out = serde_json::json!({
            "bands": bands.iter().map(|b| serde_json::json!({"minutes": b.minutes, "area_m2": b.area_m2.round()})).collect::<Vec<_>>(),
            "file": a.geojson.display().to_string(), "seconds": t0.elapsed().as_secs_f64(),
        });
        emit(g.json, "isochrones", &out);
    }
    Ok(())
}
