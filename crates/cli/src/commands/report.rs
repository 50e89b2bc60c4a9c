//! `gridmap report grids|coverage`: the grid atlas and the coverage report as PDF, from the store.
use super::analysis::{kind_catalog, service, session};
use crate::config::{Global, ReportArgs, ReportCommand};
use crate::error::{CliError, Result};
use crate::progress::Bar;
use gridmap_service::{
    walk_profile, AtlasOptions, CoverageQuery, CoverageReportOptions, Paper, PeopleView,
    ReportContext,
};
use std::io::Write;
use std::time::Instant;

fn context(
    g: &Global,
    a: &ReportArgs,
    catalog: gridmap_model::KindCatalog,
) -> Result<ReportContext> {
    let paper = Paper::parse(&a.paper).ok_or_else(|| {
        CliError::usage(
            "--paper",
            format!(
                "'{}': expected a4, a3, a4-landscape or a3-landscape",
                a.paper
            ),
        )
    })?;
    let dataset = a.title.clone().unwrap_or_else(|| {
        let db = super::import::redact(&g.db);
        let tail = db.rsplit(['/', ':']).next().unwrap_or(&db).to_owned();
        tail.trim_end_matches(".db")
            .trim_end_matches(".sqlite")
            .to_owned()
    });
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut ctx = ReportContext::new(dataset, gridmap_model::events::rfc3339_utc(now), catalog);
    ctx.paper = paper;
    ctx.people = match a.people.as_str() {
        "full" => PeopleView::Full,
        "masked" => PeopleView::Masked,
        _ => PeopleView::Hidden,
    };
    Ok(ctx)
}

fn write_pdf(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let err = |e: std::io::Error| CliError::Write {
        path: path.to_owned(),
        source: e,
    };
    if path.as_os_str() == "-" {
        std::io::stdout().lock().write_all(bytes).map_err(err)
    } else {
        // written beside and renamed: a failed run never leaves half a PDF under the name asked
        let tmp = path.with_extension("pdf.part");
        std::fs::write(&tmp, bytes).map_err(err)?;
        std::fs::rename(&tmp, path).map_err(err)
    }
}

pub async fn run(g: &Global, c: ReportCommand) -> Result<()> {
    let t0 = Instant::now();
    let (store, analysis) = session(g).await?;
    let catalog = kind_catalog(&*store).await?;
    let (args, what) = match &c {
        ReportCommand::Grids(a) => (a.report.clone(), "grid atlas"),
        ReportCommand::Coverage(a) => (a.report.clone(), "coverage report"),
    };
    let mut ctx = context(g, &args, catalog)?;
    if let ReportCommand::Grids(_) = &c {
        for u in store.users().await? {
            if let Some(n) = u.display_name {
                ctx.lead_names.insert(u.id.to_string(), n);
            }
        }
    }
    let bar = Bar::new(g.quiet, "report");
    bar.message(&format!("laying out the {what}"));
    let pdf = tokio::task::spawn_blocking(move || match c {
        ReportCommand::Grids(a) => analysis.grid_atlas(
            &ctx,
            &AtlasOptions {
                community: a.community,
                grids: a.grids,
                minutes: a.minutes,
                target: a.target,
                tolerance: a.tolerance,
            },
        ),
        ReportCommand::Coverage(a) => {
            let profile = walk_profile(Some(&a.walk.profile), a.walk.speed_kmh)?;
            let minutes = if a.minutes.is_empty() {
                vec![5.0, 10.0, 15.0]
            } else {
                a.minutes
            };
            analysis.coverage_report(
                &ctx,
                &CoverageQuery {
                    kind: a.walk.kind,
                    minutes,
                    profile,
                },
                &CoverageReportOptions {
                    gaps: a.gaps,
                    add_sites: a.add_sites,
                    candidates: a.candidates,
                    ..CoverageReportOptions::default()
                },
            )
        }
    })
    .await
    .map_err(|e| CliError::algo(format!("report task failed: {e}")))?
    .map_err(service)?;
    bar.finish();
    write_pdf(&args.out, &pdf)?;
    if !g.quiet && args.out.as_os_str() != "-" {
        eprintln!(
            "wrote {} ({} KB) in {:.1} s",
            args.out.display(),
            pdf.len() / 1024,
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
