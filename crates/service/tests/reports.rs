//! The coverage report end to end on the lattice city: its headline is what
//! `Analysis::coverage` counts, the proposal page holds exactly what `Analysis::site` answers
//! for the same question, the PDF renders; options out of range are refused naming the option
//! before any work is done.
use gridmap_algo::coverage::WalkProfile;
use gridmap_model::KindCatalog;
use gridmap_report::{Block, Report};
use gridmap_service::{
    Analysis, CandidateSource, CoverageQuery, CoverageReportOptions, ReportContext, ServiceError,
    SitingRequest,
};
use std::sync::Arc;

mod common;
use common::city;

fn query() -> CoverageQuery {
    CoverageQuery {
        kind: "canteen".into(),
        minutes: vec![3.0, 5.0],
        profile: WalkProfile::standard(),
    }
}

fn ctx() -> ReportContext {
    ReportContext::new("lattice", "2026-12-07T00:00:00Z", KindCatalog::unrecorded())
}

fn figures(r: &Report) -> Vec<(String, String)> {
    r.blocks
        .iter()
        .filter_map(|b| match b {
            Block::Figures(f) => Some(f.iter().map(|x| (x.label.clone(), x.value.clone()))),
            _ => None,
        })
        .flatten()
        .collect()
}

#[test]
fn the_proposal_page_is_the_siting_answer_and_the_headline_is_coverage() {
    let a = Analysis::new(Arc::new(city()));
    let opts = CoverageReportOptions {
        add_sites: 2,
        candidates: 60,
        ..CoverageReportOptions::default()
    };
    let report = a.coverage_report_doc(&ctx(), &query(), &opts).unwrap();
    let cov = a
        .coverage(&CoverageQuery {
            minutes: vec![5.0],
            ..query()
        })
        .unwrap();
    let mut req = SitingRequest::mclp(
        "canteen",
        2,
        CandidateSource::SampleNodes { n: 60, seed: 1 },
    );
    req.minutes = 5.0;
    req.time_limit_s = opts.time_limit_s;
    let site = a.site(&req, &|_| {}, None).unwrap();
    assert_eq!(site.sites.len(), 2);
    let figs = figures(&report);
    let value = |prefix: &str| {
        figs.iter()
            .find(|(l, _)| l.starts_with(prefix))
            .map_or_else(
                || panic!("no figure '{prefix}' in {figs:?}"),
                |(_, v)| v.clone(),
            )
    };
    // The widest circle (5 min, given second) is the headline.
    assert_eq!(value("覆盖率"), format!("{:.1} %", cov.pct), "{figs:?}");
    assert_eq!(value("现状"), format!("{:.1} %", site.pct_before));
    assert_eq!(value("新增后"), format!("{:.1} %", site.pct_after));
    assert!(site.pct_after > site.pct_before);
    let heading = "新增 2 处设施建议 Where 2 new sites help most";
    assert!(
        report
            .blocks
            .iter()
            .any(|b| matches!(b, Block::Heading(h) if *h == heading)),
        "no proposal heading"
    );
    let ranked = report
        .blocks
        .iter()
        .rev()
        .find_map(|b| match b {
            Block::Table(t) => Some(t),
            _ => None,
        })
        .unwrap();
    assert_eq!(ranked.rows.len(), 2);
    for (row, s) in ranked.rows.iter().zip(&site.sites) {
        assert_eq!(
            row[1], s.candidate_id,
            "the table ranks the sites as site() does"
        );
    }
    let pdf = a.coverage_report(&ctx(), &query(), &opts).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
}

#[test]
fn options_out_of_range_are_refused_naming_the_option() {
    let a = Analysis::new(Arc::new(city()));
    for (opts, name) in [
        (
            CoverageReportOptions {
                add_sites: CoverageReportOptions::MAX_ADD_SITES + 1,
                ..CoverageReportOptions::default()
            },
            "add_sites",
        ),
        (
            CoverageReportOptions {
                add_sites: 1,
                candidates: 5,
                ..CoverageReportOptions::default()
            },
            "candidates",
        ),
        (
            CoverageReportOptions {
                gaps: 501,
                ..CoverageReportOptions::default()
            },
            "gaps",
        ),
    ] {
        match a.coverage_report_doc(&ctx(), &query(), &opts) {
            Err(ServiceError::Invalid { name: n, .. }) => assert_eq!(n, name),
            other => panic!("{name}: {other:?}"),
        }
    }
    let none = CoverageQuery {
        minutes: vec![],
        ..query()
    };
    assert!(matches!(
        a.coverage_report_doc(&ctx(), &none, &CoverageReportOptions::default()),
        Err(ServiceError::Invalid {
            name: "minutes",
            ..
        })
    ));
}
