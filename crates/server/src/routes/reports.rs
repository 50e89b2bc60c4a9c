//! Printable reports over HTTP: `GET /api/reports/grids.pdf` (the grid atlas) and
//! `GET /api/reports/coverage.pdf` (the coverage report of a kind). Both are read routes, so a
//! grid lead's atlas holds their grids only (the analysis session is the caller's scoped one);
//! building stewards are shown by role (admins and grid leads in full, planners masked to the
//! first character, departments and anonymous readers not at all).
use super::analysis::{blocking, parse_walk, service, session};
use super::QueryPairs;
use crate::auth::{self, Principal};
use crate::error::invalid;
use crate::error::{ApiError, Problem};
use crate::query::{last as get, only, parse_count, parse_number};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use gridmap_model::Role;
use gridmap_service::{
    AtlasOptions, CoverageQuery, CoverageReportOptions, Paper, PeopleView, ReportContext,
};
use utoipa_axum::{router::OpenApiRouter, routes};

const TAG: &str = "Reports";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(grid_atlas))
        .routes(routes!(coverage_report))
}

async fn context(st: &AppState, q: &[(String, String)]) -> Result<ReportContext, ApiError> {
    let paper = match get(q, "paper") {
        None => Paper::default(),
        Some(p) => Paper::parse(p).ok_or_else(|| {
            invalid(
                "paper",
                format!("'{p}': expected a4, a3, a4-landscape or a3-landscape"),
            )
        })?,
    };
    let catalog = st.kind_catalog().await?;
    let dataset = st
        .config
        .public_url
        .clone()
        .unwrap_or_else(|| "gridmap".to_owned());
    let mut ctx = ReportContext::new(
        get(q, "title").map_or(dataset, str::to_owned),
        crate::time::rfc3339(std::time::SystemTime::now()),
        catalog,
    );
    ctx.paper = paper;
    ctx.people = match &auth::current().principal {
        Principal::User(u) => match u.role {
            Role::Admin | Role::GridLead => PeopleView::Full,
            Role::Planner => PeopleView::Masked,
            Role::Department => PeopleView::Hidden,
        },
        Principal::Anonymous => PeopleView::Hidden,
    };
    if let Ok(users) = st.store.users().await {
        for u in users {
            if let Some(n) = u.display_name {
                ctx.lead_names.insert(u.id.to_string(), n);
            }
        }
    }
    Ok(ctx)
}

fn pdf(bytes: Vec<u8>, name: &str) -> Response {
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    // a report holds the caller's scope: never shared by a cache
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

/// The grid atlas as PDF: a cover with the map and table of the grids, then a page per grid
/// (map with basemap and facilities, counts, leads, the facilities within `minutes`, the
/// building roster). Scoped to what the caller may see.
#[utoipa::path(get, path = "/api/reports/grids.pdf", tag = TAG, operation_id = "api_report_grids",
    params(
        ("community" = Option<String>, Query, description = "One community by id or name (default: every grid the caller may see)"),
        ("grids" = Option<String>, Query, description = "Only these grids: ids or codes, comma-separated (one outside the caller's scope is unknown: 404)"),
        ("minutes" = Option<f64>, Query, minimum = 1, maximum = 60, description = "Facilities within this walk on each grid page (default 15)"),
        ("paper" = Option<String>, Query, description = "a4 (default), a3, a4-landscape, a3-landscape"),
        ("title" = Option<String>, Query, description = "Dataset title on the cover and in the footers"),
    ),
    responses(
        (status = 200, description = "The atlas", content_type = "application/pdf", body = Vec<u8>),
        (status = 400, description = "Invalid or unknown parameter, or no grids to print", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown community", body = Problem, content_type = "application/problem+json"),
    ))]
async fn grid_atlas(
    State(st): State<AppState>,
    QueryPairs(q): QueryPairs,
) -> Result<Response, ApiError> {
    only(&q, &["community", "grids", "minutes", "paper", "title"])?;
    let minutes = match get(&q, "minutes") {
        None => 15.0,
        Some(m) => parse_number("minutes", m, 1.0, 60.0)?,
    };
    let ctx = context(&st, &q).await?;
    let (_, a) = session(&st).await?;
    let opts = AtlasOptions {
        community: get(&q, "community").map(str::to_owned),
        grids: get(&q, "grids")
            .map(|g| {
                g.split(',')
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        minutes,
        ..AtlasOptions::default()
    };
    let bytes = blocking(move || a.grid_atlas(&ctx, &opts).map_err(service)).await?;
    Ok(pdf(bytes, "grid-atlas.pdf"))
}

/// The coverage report of a kind as PDF: headline figures, a map of buildings by walking
/// minutes with the isochrones, per-community and per-grid tables and bars, the ranked gaps.
#[utoipa::path(get, path = "/api/reports/coverage.pdf", tag = TAG, operation_id = "api_report_coverage",
    params(
        ("kind" = String, Query, description = "Facility kind or `all`"),
        ("minutes" = Option<String>, Query, description = "Thresholds in minutes, comma-separated (default 5,10,15); the largest is the headline"),
        ("profile" = Option<String>, Query, description = "adult (default) or elderly"),
        ("speed_kmh" = Option<f64>, Query, description = "Walking speed, overrides the profile"),
        ("gaps" = Option<u32>, Query, minimum = 0, maximum = 500, description = "How many of the largest gaps to list (default 20)"),
        ("add_sites" = Option<u32>, Query, minimum = 0, maximum = 50, description = "Also propose this many new sites of the kind (maximal covering, existing sites kept): where they go and what they add (default 0)"),
        ("candidates" = Option<u32>, Query, minimum = 10, maximum = 20000, description = "Street corners drawn (seed 1) as candidates for add_sites (default 1000)"),
        ("paper" = Option<String>, Query, description = "a4 (default), a3, a4-landscape, a3-landscape"),
        ("title" = Option<String>, Query, description = "Dataset title in the header and footers"),
    ),
    responses(
        (status = 200, description = "The coverage report", content_type = "application/pdf", body = Vec<u8>),
        (status = 400, description = "Invalid or unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The data cannot answer the question", body = Problem, content_type = "application/problem+json"),
    ))]
async fn coverage_report(
    State(st): State<AppState>,
    QueryPairs(q): QueryPairs,
) -> Result<Response, ApiError> {
    let walk_keys: Vec<(String, String)> = q
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "gaps" | "add_sites" | "candidates" | "paper" | "title"
            )
        })
        .cloned()
        .collect();
    only(
        &q,
        &[
            "kind",
            "minutes",
            "profile",
            "speed_kmh",
            "gaps",
            "add_sites",
            "candidates",
            "paper",
            "title",
        ],
    )?;
    let w = parse_walk(
        &walk_keys,
        &["kind", "minutes", "profile", "speed_kmh"],
        &[5.0, 10.0, 15.0],
        true,
    )?;
    let kind = super::analysis::need_kind(&w)?;
    let count = |name: &str, default: usize, lo: usize, hi: usize| -> Result<usize, ApiError> {
        match get(&q, name) {
            None => Ok(default),
            Some(v) => match parse_count(name, v, lo as u64)? {
                n if n <= hi as u64 => Ok(usize::try_from(n).unwrap_or(default)),
                n => Err(invalid(name, format!("must be at most {hi}, got {n}"))),
            },
        }
    };
    let opts = CoverageReportOptions {
        gaps: count("gaps", 20, 0, CoverageReportOptions::MAX_GAPS)?,
        add_sites: count("add_sites", 0, 0, CoverageReportOptions::MAX_ADD_SITES)?,
        candidates: count(
            "candidates",
            1000,
            *CoverageReportOptions::CANDIDATES.start(),
            *CoverageReportOptions::CANDIDATES.end(),
        )?,
        ..CoverageReportOptions::default()
    };
    let ctx = context(&st, &q).await?;
    let (_, a) = session(&st).await?;
    let query = CoverageQuery {
        kind,
        minutes: w.minutes,
        profile: w.profile,
    };
    let bytes = blocking(move || a.coverage_report(&ctx, &query, &opts).map_err(service)).await?;
    Ok(pdf(bytes, "coverage-report.pdf"))
}
