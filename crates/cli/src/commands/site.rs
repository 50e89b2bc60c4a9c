//! `gridmap site`: facility siting from the store. Reads the candidates file (GeoJSON points),
//! loads the dataset, runs [`gridmap_service::Analysis::site`] off the async threads with a
//! progress bar, and prints a table or one JSON line; `--out` writes one CSV row per new site.
use super::analysis::{kind_catalog, label_answer, label_line, service, session};
use crate::config::{Global, SiteArgs};
use crate::error::{CliError, Result};
use crate::progress::Bar;
use gridmap_algo::siting::{Candidate, DemandWeight, Model, SolverChoice};
use gridmap_service::{
    siting_geojson, walk_profile, CandidateSource, SitingRequest, SitingSummary,
};
use std::path::Path;
use std::time::Instant;

/// Candidate points of a GeoJSON file: Point features (Polygon / MultiPolygon by centroid), ids
/// from the feature id, else `properties.id`, else `#<index>`. Errors name the file and feature.
pub fn read_candidates(path: &Path) -> Result<Vec<Candidate>> {
    use geo::Centroid;
    let read = |detail: String| CliError::Read {
        path: path.to_owned(),
        detail,
    };
    let text = std::fs::read_to_string(path).map_err(|e| read(e.to_string()))?;
    let gj: geojson::GeoJson = text
        .parse()
        .map_err(|e| read(format!("not GeoJSON: {e}")))?;
    let features = match gj {
        geojson::GeoJson::FeatureCollection(fc) => fc.features,
        geojson::GeoJson::Feature(f) => vec![f],
        geojson::GeoJson::Geometry(_) => {
            return Err(read(
                "expected a FeatureCollection of points, found a bare geometry".into(),
            ))
        }
    };
    let mut out = Vec::with_capacity(features.len());
    for (i, f) in features.iter().enumerate() {
        let id = match &f.id {
            Some(geojson::feature::Id::String(s)) => s.clone(),
            Some(geojson::feature::Id::Number(n)) => n.to_string(),
            None => match f.property("id") {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Number(n)) => n.to_string(),
                _ => format!("#{i}"),
            },
        };
        let at = |what: &str| read(format!("feature {i} (id {id}): {what}"));
        let Some(g) = &f.geometry else {
            return Err(at("no geometry"));
        };
        let geom: geo_types::Geometry<f64> = g
            .clone()
            .try_into()
            .map_err(|e| at(&format!("unusable geometry: {e}")))?;
        let p = match geom {
            geo_types::Geometry::Point(p) => Some(p),
            geo_types::Geometry::Polygon(p) => p.centroid(),
            geo_types::Geometry::MultiPolygon(p) => p.centroid(),
            other => {
                return Err(at(&format!(
                    "expected a Point (or Polygon), found {}",
                    geometry_name(&other)
                )))
            }
        };
        let Some(p) = p else {
            return Err(at("empty geometry"));
        };
        if !(p.x().is_finite()
            && p.y().is_finite()
            && (-180.0..=180.0).contains(&p.x())
            && (-90.0..=90.0).contains(&p.y()))
        {
            return Err(at(&format!(
                "coordinates ({}, {}) are not WGS84 lon/lat",
                p.x(),
                p.y()
            )));
        }
        out.push(Candidate::new(id, p.x(), p.y()));
    }
    Ok(out)
}

fn geometry_name(g: &geo_types::Geometry<f64>) -> &'static str {
    match g {
        geo_types::Geometry::LineString(_) => "a LineString",
        geo_types::Geometry::MultiLineString(_) => "a MultiLineString",
        geo_types::Geometry::MultiPoint(_) => "a MultiPoint",
        geo_types::Geometry::GeometryCollection(_) => "a GeometryCollection",
        _ => "another geometry type",
    }
}

pub async fn run(g: &Global, a: SiteArgs) -> Result<()> {
    let t0 = Instant::now();
    let profile = walk_profile(Some(&a.walk.profile), a.walk.speed_kmh).map_err(service)?;
    gridmap_service::facility_kind(&a.walk.kind).map_err(service)?;
    gridmap_service::check_minutes(&[a.minutes]).map_err(service)?;
    let model = Model::parse(&a.model).map_err(|e| CliError::usage("--model", e))?;
    if model == Model::SetCover && a.target_pct.is_none() {
        return Err(CliError::usage(
            "--target-pct",
            "the setcover model needs --target-pct X (share of households to reach)",
        ));
    }
    if !(a.time_limit.is_finite() && a.time_limit >= 0.0) {
        return Err(CliError::usage(
            "--time-limit",
            format!("must be seconds ≥ 0, got {}", a.time_limit),
        ));
    }
    let candidates = match (&a.candidates_file, a.candidates) {
        _ if model == Model::Closure => CandidateSource::None,
        _ if a.candidates_buildings.is_some() => {
            CandidateSource::Buildings(a.candidates_buildings.clone().unwrap_or_default())
        }
        _ if a.candidates_facilities.is_some() => {
            CandidateSource::Facilities(a.candidates_facilities.clone().unwrap_or_default())
        }
        (Some(f), _) => {
            let c = read_candidates(f)?;
            if c.is_empty() {
                return Err(CliError::Read {
                    path: f.clone(),
                    detail: "no candidate features".into(),
                });
            }
            CandidateSource::Points(c)
        }
        (None, Some(0)) => return Err(CliError::usage("--candidates", "sample at least one node")),
        (None, Some(n)) => CandidateSource::SampleNodes { n, seed: a.seed },
        (None, None) => {
            return Err(CliError::usage(
                "--candidates-file/--candidates",
                "give a candidates file, --candidates N [--seed S], --candidates-buildings TYPES or --candidates-facilities KINDS",
            ))
        }
    };
    let t_read = t0.elapsed().as_secs_f64();
    let (store, analysis) = session(g).await?;
    let catalog = kind_catalog(&*store).await?;
    let t_load = t0.elapsed().as_secs_f64();
    let req = SitingRequest {
        kind: a.walk.kind.clone(),
        model,
        add: a.add,
        minutes: a.minutes,
        profile,
        candidates,
        target_pct: a.target_pct,
        time_limit_s: a.time_limit,
        solver: if a.heuristic {
            SolverChoice::Heuristic
        } else {
            SolverChoice::Exact
        },
        demand: if a.demand == "elderly" {
            DemandWeight::Elderly
        } else {
            DemandWeight::Households
        },
        capacity: a.capacity,
    };
    let quiet = g.quiet;
    let summary = tokio::task::spawn_blocking(move || {
        let bar = Bar::new(quiet, "site");
        bar.message("walking from every candidate");
        let progress = |p: gridmap_algo::siting::Progress| match p.stage {
            "covering" | "covering existing sites" => bar.position(p.done, p.total),
            _ => bar.message(&format!(
                "exact search: {} nodes, best {} , bound {:.0}",
                p.done,
                p.incumbent.unwrap_or(0),
                p.bound.unwrap_or(f64::NAN)
            )),
        };
        let r = analysis.site(&req, &progress, None);
        bar.finish();
        r
    })
    .await
    .map_err(|e| CliError::algo(format!("siting task failed: {e}")))?
    .map_err(service)?;
    if let Some(path) = &a.out {
        write_csv(path, &summary)?;
    }
    if let Some(path) = &a.geojson {
        std::fs::write(path, siting_geojson(&summary).to_string()).map_err(|e| {
            CliError::Write {
                path: path.clone(),
                source: e,
            }
        })?;
    }
    let total = t0.elapsed().as_secs_f64();
    tracing::info!(
        read_s = t_read,
        load_s = t_load - t_read,
        site_s = summary.seconds,
        total_s = total,
        "site done"
    );
    let mut out = serde_json::to_value(&summary).unwrap_or_default();
    if let Some(o) = out.as_object_mut() {
        o.insert("seconds_load".into(), (t_load - t_read).into());
        o.insert("seconds".into(), total.into());
    }
    label_answer(&mut out, &catalog);
    if g.json {
        println!("{}", serde_json::to_string(&out).unwrap_or_default());
    } else {
        print!(
            "{}{}",
            label_line(&catalog),
            table(&summary, t_load - t_read, total)
        );
    }
    Ok(())
}

/// `gridmap access`: 2SFCA / E2SFCA scores of a kind's sites.
pub async fn access(g: &Global, a: crate::config::AccessArgs) -> Result<()> {
    let t0 = Instant::now();
    let profile = walk_profile(Some(&a.walk.profile), a.walk.speed_kmh).map_err(service)?;
    gridmap_service::facility_kind(&a.walk.kind).map_err(service)?;
    gridmap_service::check_minutes(&[a.minutes]).map_err(service)?;
    let decay = gridmap_algo::siting::access::Decay::parse(&a.decay)
        .map_err(|e| CliError::usage("--decay", e))?;
    let (_, analysis) = session(g).await?;
    let req = gridmap_service::AccessRequest {
        kind: a.walk.kind.clone(),
        minutes: a.minutes,
        profile,
        decay,
        demand: if a.demand == "elderly" {
            DemandWeight::Elderly
        } else {
            DemandWeight::Households
        },
    };
    let s = tokio::task::spawn_blocking(move || analysis.access(&req))
        .await
        .map_err(|e| CliError::algo(format!("access task failed: {e}")))?
        .map_err(service)?;
    if let Some(path) = &a.out {
        let werr = |e: csv::Error| CliError::Write {
            path: path.clone(),
            source: std::io::Error::other(e),
        };
        let mut w = csv::Writer::from_path(path).map_err(werr)?;
        w.write_record(["id", "households", "score"])
            .map_err(werr)?;
        for b in &s.buildings {
            w.write_record([
                b.id.clone(),
                b.households.to_string(),
                b.score.map_or_else(String::new, |v| v.to_string()),
            ])
            .map_err(werr)?;
        }
        w.flush().map_err(|e| CliError::Write {
            path: path.clone(),
            source: e,
        })?;
    }
    if g.json {
        let mut v = serde_json::to_value(&s).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.remove("buildings");
            o.insert("seconds".into(), t0.elapsed().as_secs_f64().into());
        }
        println!("{}", serde_json::to_string(&v).unwrap_or_default());
        return Ok(());
    }
    use std::fmt::Write as _;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "access to {} within {} min at {} km/h ({:?} decay, supply = {}): {} sites",
        s.kind,
        s.minutes,
        s.speed_kmh,
        s.decay,
        s.supply_unit,
        s.sites.len()
    );
    let _ = writeln!(
        o,
        "mean score {:.3} per 1 000 households; {} of {} households have none within reach",
        s.mean_score, s.households_without, s.households
    );
    let _ = writeln!(
        o,
        "{:<28} | {:>10} | {:>10} | {:>9}",
        "community", "households", "score", "without"
    );
    for c in &s.by_community {
        let _ = writeln!(
            o,
            "{:<28} | {:>10} | {:>10.3} | {:>9}",
            c.name, c.households, c.score, c.households_without
        );
    }
    let mut grids: Vec<_> = s.by_grid.iter().collect();
    grids.sort_by(|a, b| a.score.total_cmp(&b.score));
    if !grids.is_empty() {
        let _ = writeln!(o, "lowest grids:");
        for gr in grids.iter().take(10) {
            let _ = writeln!(
                o,
                "  {:<12} {:>6} households, score {:.3}, {} without",
                gr.name, gr.households, gr.score, gr.households_without
            );
        }
    }
    for n in &s.notes {
        let _ = writeln!(o, "note: {n}");
    }
    let _ = writeln!(o, "{:.2} s", t0.elapsed().as_secs_f64());
    print!("{o}");
    Ok(())
}

fn write_csv(path: &Path, s: &SitingSummary) -> Result<()> {
    let werr = |e: csv::Error| CliError::Write {
        path: path.to_owned(),
        source: std::io::Error::other(e),
    };
    let mut w = csv::Writer::from_path(path).map_err(werr)?;
    w.write_record([
        "rank",
        "candidate_id",
        "lon",
        "lat",
        "marginal_households",
        "newly_covered_buildings",
        "snapped_lon",
        "snapped_lat",
    ])
    .map_err(werr)?;
    for x in &s.sites {
        w.write_record([
            x.rank.to_string(),
            x.candidate_id.clone(),
            x.lon.to_string(),
            x.lat.to_string(),
            x.marginal_households.to_string(),
            x.newly_covered.len().to_string(),
            x.snapped_lon.to_string(),
            x.snapped_lat.to_string(),
        ])
        .map_err(werr)?;
    }
    w.flush().map_err(|e| CliError::Write {
        path: path.to_owned(),
        source: e,
    })
}

fn table(s: &SitingSummary, load_s: f64, total_s: f64) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let what = if s.demand == DemandWeight::Elderly {
        "elderly"
    } else {
        "households"
    };
    let _ = writeln!(
        o,
        "siting {} ({:?}) within {} min at {} km/h: {} existing sites, {} of {} candidates on the network",
        s.kind, s.model, s.minutes, s.speed_kmh, s.existing_sites, s.candidates_placed, s.candidates_given
    );
    let _ = writeln!(
        o,
        "{} {what}: {} of {} ({:.2}%) before, {} ({:.2}%) after, {:+}",
        if s.model == Model::Capacitated {
            "served"
        } else {
            "covered"
        },
        s.households_before,
        s.total_households,
        s.pct_before,
        s.households_after,
        s.pct_after,
        s.households_after as i64 - s.households_before as i64
    );
    let _ = writeln!(
        o,
        "{:>4} | {:<24} | {:>11} | {:>11} | {:>9} | {:>9}",
        "rank", "candidate", "lon", "lat", "+covered", "buildings"
    );
    for x in &s.sites {
        let _ = write!(
            o,
            "{:>4} | {:<24} | {:>11.6} | {:>11.6} | {:>9} | {:>9}",
            x.rank,
            x.candidate_id,
            x.lon,
            x.lat,
            x.marginal_households,
            x.newly_covered.len()
        );
        if let (Some(c), Some(v)) = (x.capacity, x.served) {
            let _ = write!(o, " | serves {v} of {c}");
        }
        let _ = writeln!(o);
    }
    if !s.closed.is_empty() {
        let _ = writeln!(
            o,
            "close, least loss first:\n{:>4} | {:<24} | {:>11} | {:>11} | {:>9} | {:>10} | {:>9}",
            "rank", "facility", "lon", "lat", "-covered", "only-here", "reach"
        );
        for x in &s.closed {
            let _ = writeln!(
                o,
                "{:>4} | {:<24} | {:>11.6} | {:>11.6} | {:>9} | {:>10} | {:>9}",
                x.rank, x.facility_id, x.lon, x.lat, x.loss, x.loss_alone, x.reach
            );
        }
    }
    if s.model == Model::Capacitated && !s.existing.is_empty() {
        let _ = writeln!(o, "existing sites (served before → after / capacity):");
        for e in &s.existing {
            let _ = writeln!(
                o,
                "  {:<24} {} → {} / {}",
                e.facility_id,
                e.served_before.unwrap_or(0),
                e.served_after.unwrap_or(0),
                e.capacity.map_or("unlimited".to_owned(), |c| c.to_string())
            );
        }
    }
    let bound = s.bound.map_or("-".to_owned(), |b| format!("{b:.1}"));
    let gap = s
        .gap
        .map_or("-".to_owned(), |g| format!("{:.4}%", 100.0 * g));
    let _ = writeln!(
        o,
        "solver {}: {}, objective {:.1}, bound {bound}, gap {gap}, {} nodes{}",
        s.solver,
        if s.optimal {
            "optimal"
        } else {
            "not proven optimal"
        },
        s.objective,
        s.nodes,
        if s.time_limit_hit {
            " (time limit hit)"
        } else {
            ""
        }
    );
    if let (Some(b), Some(a)) = (s.mean_minutes_before, s.mean_minutes_after) {
        let _ = writeln!(
            o,
            "mean walk (capped at {} min): {b:.2} → {a:.2} min",
            s.minutes
        );
    }
    if let (Some(b), Some(a)) = (s.max_minutes_before, s.max_minutes_after) {
        let _ = writeln!(o, "worst walk over reachable demand: {b:.2} → {a:.2} min");
    }
    if let (Some(t), Some(r)) = (s.target_pct, s.target_reached) {
        let _ = writeln!(
            o,
            "target {t}%: {}",
            if r { "reached" } else { "not reachable" }
        );
    }
    for n in &s.notes {
        let _ = writeln!(o, "note: {n}");
    }
    if !s.unplaced_candidates.is_empty() {
        let _ = writeln!(
            o,
            "{} candidates took no part:",
            s.unplaced_candidates.len()
        );
        for u in s.unplaced_candidates.iter().take(10) {
            let _ = writeln!(o, "  {} ({:.6}, {:.6}): {}", u.id, u.lon, u.lat, u.reason);
        }
        if s.unplaced_candidates.len() > 10 {
            let _ = writeln!(
                o,
                "  … {} more (see --json)",
                s.unplaced_candidates.len() - 10
            );
        }
    }
    let _ = writeln!(
        o,
        "{total_s:.2} s (load {load_s:.2} s, covering sets {:.2} s, solve {:.2} s)",
        s.seconds_cover, s.seconds_solve
    );
    o
}

#[cfg(test)]
mod tests {
    use super::read_candidates;

    fn file(text: &str) -> tempfile_path::Tmp {
        tempfile_path::Tmp::new(text)
    }

    mod tempfile_path {
        /// A file under the system temp dir, removed on drop.
        pub struct Tmp(pub std::path::PathBuf);
        impl Tmp {
            pub fn new(text: &str) -> Self {
                use std::sync::atomic::{AtomicU32, Ordering};
                static N: AtomicU32 = AtomicU32::new(0);
                let p = std::env::temp_dir().join(format!(
                    "gridmap-cand-{}-{}.geojson",
                    std::process::id(),
                    N.fetch_add(1, Ordering::Relaxed)
                ));
                std::fs::write(&p, text).unwrap();
                Self(p)
            }
        }
        impl Drop for Tmp {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.0);
            }
        }
    }

    #[test]
    fn ids_come_from_the_feature_id_then_properties_then_the_index() {
        let f = file(
            r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","id":"a","geometry":{"type":"Point","coordinates":[7.4,43.7]},"properties":{}},
            {"type":"Feature","id":7,"geometry":{"type":"Point","coordinates":[7.41,43.71]},"properties":null},
            {"type":"Feature","geometry":{"type":"Point","coordinates":[7.42,43.72]},"properties":{"id":"p"}},
            {"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[7.0,43.0],[7.002,43.0],[7.002,43.002],[7.0,43.002],[7.0,43.0]]]},"properties":{}}]}"#,
        );
        let c = read_candidates(&f.0).unwrap();
        let ids: Vec<&str> = c.iter().map(|x| x.id.as_str()).collect();
        assert_eq!(ids, ["a", "7", "p", "#3"]);
        assert!(
            (c[3].lon - 7.001).abs() < 1e-9 && (c[3].lat - 43.001).abs() < 1e-9,
            "polygon centroid"
        );
    }

    #[test]
    fn bad_features_name_the_file_the_index_and_the_id() {
        let f = file(
            r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","id":"ok","geometry":{"type":"Point","coordinates":[7.4,43.7]},"properties":{}},
            {"type":"Feature","id":"road","geometry":{"type":"LineString","coordinates":[[7.4,43.7],[7.5,43.8]]},"properties":{}}]}"#,
        );
        let e = read_candidates(&f.0).unwrap_err().to_string();
        assert!(
            e.contains(&f.0.display().to_string())
                && e.contains("feature 1 (id road)")
                && e.contains("LineString"),
            "{e}"
        );
        let f = file(
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","id":"x","geometry":{"type":"Point","coordinates":[700.0,43.7]},"properties":{}}]}"#,
        );
        let e = read_candidates(&f.0).unwrap_err().to_string();
        assert!(
            e.contains("feature 0 (id x)") && e.contains("not WGS84"),
            "{e}"
        );
        let f = file(
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","id":"n","geometry":null,"properties":{}}]}"#,
        );
        assert!(read_candidates(&f.0)
            .unwrap_err()
            .to_string()
            .contains("no geometry"));
        let f = file("not json");
        assert!(read_candidates(&f.0)
            .unwrap_err()
            .to_string()
            .contains("not GeoJSON"));
        let missing = std::path::Path::new("/nonexistent/cands.geojson");
        assert!(read_candidates(missing)
            .unwrap_err()
            .to_string()
            .contains("/nonexistent/cands.geojson"));
    }
}
