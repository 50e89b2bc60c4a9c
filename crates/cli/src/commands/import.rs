//! `gridmap import FILE`: read a file into a Dataset, then write it in one transaction.
use crate::config::{Global, ImportArgs, LayerArg};
use crate::error::{CliError, Result};
use crate::output::emit;
use crate::progress::Bar;
use gridmap_import::{FacilityTagConfig, ImportOptions, ImportReport};
use gridmap_model::{FacilityProfile, KindCatalog, Layer, FACILITY_PROFILE_META};
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
    if is_csv(&a) {
        if a.dry_run {
            return Err(CliError::usage(
                "--dry-run",
                "household CSV imports have no dry run",
            ));
        }
        let store = super::open_store(g).await?;
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
    opts.facility_tags = FacilityTagConfig::from_arg(&a.facility_tags)?;
    let catalog = opts.facility_tags.catalog();
    let bar = Bar::new(g.quiet, "import");
    let path = a.file.clone();
    let (dataset, mut report) =
        tokio::task::spawn_blocking(move || gridmap_import::import_file(&path, &opts, &bar))
            .await
            .map_err(|e| CliError::algo(format!("import task failed: {e}")))??;
    if a.dry_run {
        report.seconds = started.elapsed().as_secs_f64();
        emit_report(
            g,
            &format!("dry run of {} (nothing written)", a.file.display()),
            &report,
            serde_json::json!({"dry_run": true, "buildings": dataset.buildings.len()}),
        );
        return Ok(());
    }
    let store = super::open_store(g).await?;
    // An import adds to what the store holds: facilities kept from an import with another
    // profile stay, so the recorded profile must then name both (and keep a proxy's label).
    let before = super::analysis::kind_catalog(&*store).await?;
    let had_facilities = store
        .counts()
        .await?
        .get("facilities")
        .copied()
        .unwrap_or(0)
        > 0;
    let bar = Bar::new(g.quiet, "store");
    bar.message(&format!(
        "writing {} buildings in one transaction",
        dataset.buildings.len()
    ));
    let counts = store.import(&dataset).await?;
    // Which profile assigned the facility kinds: an OSM import used the tag map; a GeoJSON
    // file with facilities brought its own kinds (the default kinds' labels and colours apply).
    let catalog = match (&report.facility_tags, dataset.facilities.is_empty()) {
        (Some(_), _) => Some(catalog),
        (None, false) => Some(KindCatalog::new(
            FacilityProfile {
                name: "file".into(),
                label: None,
                substitutions: Vec::new(),
            },
            catalog.kinds,
        )),
        (None, true) => None,
    };
    let catalog = catalog.map(|c| {
        if had_facilities && before.profile.name != "unrecorded" {
            merge_profiles(before, c)
        } else {
            c
        }
    });
    if let Some(c) = &catalog {
        store
            .put_meta(
                FACILITY_PROFILE_META,
                &serde_json::to_value(c).unwrap_or_default(),
            )
            .await?;
    }
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
    emit_report(
        g,
        &format!("imported {}", a.file.display()),
        &report,
        serde_json::json!({
            "stored": serde_json::to_value(counts).unwrap_or_default(),
            "buildings": imported_buildings,
            "database": redact(&g.db),
        }),
    );
    Ok(())
}

/// Prints the import report with `extra` fields; for people, the facility part as its own text.
fn emit_report(g: &Global, title: &str, report: &ImportReport, extra: serde_json::Value) {
    let mut out = serde_json::to_value(report).unwrap_or_default();
    if let (Some(o), serde_json::Value::Object(x)) = (out.as_object_mut(), extra) {
        o.extend(x);
        if !g.json {
            o.remove("facility_tags");
        }
    }
    emit(g.json, title, &out);
    if let (false, Some(f)) = (g.json, &report.facility_tags) {
        print!("{}", f.to_text());
    }
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

/// The profile of a store holding facilities of two imports: `old` unless the same, else both
/// names, both labels and every substitution (a proxy's label is never lost); the new kinds,
/// plus the old ones it does not declare.
fn merge_profiles(old: KindCatalog, new: KindCatalog) -> KindCatalog {
    let mut names: Vec<String> = old.profile.name.split(" + ").map(str::to_owned).collect();
    if !names.contains(&new.profile.name) {
        names.push(new.profile.name.clone());
    }
    if names.len() == 1 {
        return new;
    }
    let name = names.join(" + ");
    let mut label = old.profile.label.clone();
    if let Some(l) = &new.profile.label {
        label = match label {
            Some(o) if o.contains(l.as_str()) => Some(o),
            Some(o) => Some(format!("{o}; {l}")),
            None => Some(l.clone()),
        };
    }
    let mut substitutions = old.profile.substitutions.clone();
    for s in &new.profile.substitutions {
        if !substitutions.contains(s) {
            substitutions.push(s.clone());
        }
    }
    tracing::warn!(profile = %name, "the database now holds facilities of two facility profiles");
    let mut kinds = new.kinds;
    for k in old.kinds {
        if !kinds.iter().any(|n| n.code == k.code) {
            kinds.push(k);
        }
    }
    KindCatalog::new(
        FacilityProfile {
            name,
            label,
            substitutions,
        },
        kinds,
    )
}
