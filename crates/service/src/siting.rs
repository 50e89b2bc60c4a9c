//! Facility siting (issue 14): where new sites of a kind help most, the existing ones fixed open.
//! Builds on the session's coverage engine, so "covered" is what [`Analysis::coverage`] counts.
//! No IO and no HTTP types: the CLI and a server job call [`Analysis::site`] from a blocking
//! thread with a progress callback and a cancellation flag, and serialise the [`SitingSummary`].
use crate::{facility_kind, Analysis, Result, ServiceError};
use gridmap_algo::coverage::WalkProfile;
use gridmap_algo::siting::{
    self, Candidate, CandidateSet, ClosedSite, Control, DemandWeight, ExistingSite, Model,
    Progress, SitingParams, SolverChoice,
};
use serde::Serialize;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// Where the candidate sites come from.
#[derive(Clone, Debug)]
pub enum CandidateSource {
    /// Points given by the caller (a GeoJSON file, drawn points, buildings of some type, …).
    Points(Vec<Candidate>),
    /// `n` graph nodes drawn with `seed` ("any street corner").
    SampleNodes { n: usize, seed: u64 },
    /// `n` graph nodes inside `area` drawn with `seed` (a drawn area's street corners).
    SampleWithin {
        n: usize,
        seed: u64,
        area: geo_types::MultiPolygon<f64>,
    },
    /// Buildings of the given `building` types (`*` = every building), at their entrance or
    /// centroid; ids are the building ids.
    Buildings(Vec<String>),
    /// Existing facilities of other kinds (OSM amenities: a community centre that could host a
    /// canteen); ids are the facility ids.
    Facilities(Vec<String>),
    /// None: the closure model weighs the existing sites only.
    None,
}

/// The candidate points of a [`CandidateSource::Buildings`] or [`CandidateSource::Facilities`].
fn dataset_points(
    ds: &gridmap_model::Dataset,
    src: &CandidateSource,
    sited: Option<&gridmap_model::FacilityKind>,
) -> Result<Vec<Candidate>> {
    use geo::Centroid;
    match src {
        CandidateSource::Buildings(types) => {
            let any = types.iter().any(|t| t == "*");
            let want: Vec<String> = types.iter().map(|t| t.to_ascii_lowercase()).collect();
            Ok(ds
                .buildings
                .iter()
                .filter(|b| {
                    any || b
                        .building_type
                        .as_deref()
                        .is_some_and(|t| want.contains(&t.to_ascii_lowercase()))
                })
                .filter_map(|b| {
                    let p = b.entrance.or_else(|| b.footprint.centroid())?;
                    Some(Candidate::new(b.id.to_string(), p.x(), p.y()))
                })
                .collect())
        }
        CandidateSource::Facilities(kinds) => {
            let mut ks = Vec::new();
            for k in kinds {
                match facility_kind(k)? {
                    Some(k) => ks.push(k),
                    None => {
                        return Err(ServiceError::Invalid {
                            name: "candidates",
                            value: k.clone(),
                            reason: "name facility kinds whose sites could host the new one".into(),
                        })
                    }
                }
            }
            Ok(ds
                .facilities
                .iter()
                .filter(|f| ks.contains(&f.kind) && sited.is_none_or(|k| &f.kind != k))
                .map(|f| Candidate::new(f.id.to_string(), f.location.x(), f.location.y()))
                .collect())
        }
        _ => Ok(Vec::new()),
    }
}

/// One siting question.
#[derive(Clone, Debug)]
pub struct SitingRequest {
    /// Facility kind name (`all` = every kind).
    pub kind: String,
    pub model: Model,
    pub add: usize,
    pub minutes: f64,
    pub profile: WalkProfile,
    pub candidates: CandidateSource,
    pub target_pct: Option<f64>,
    pub time_limit_s: f64,
    pub solver: SolverChoice,
    pub demand: DemandWeight,
    /// Capacitated model: households each new site serves (`None`: median of the existing).
    pub capacity: Option<u64>,
}

impl SitingRequest {
    /// MCLP with `add` sites of `kind` at 15 minutes, standard walker, 30 s for the exact search.
    pub fn mclp(kind: &str, add: usize, candidates: CandidateSource) -> Self {
        Self {
            kind: kind.to_owned(),
            model: Model::Mclp,
            add,
            minutes: 15.0,
            profile: WalkProfile::standard(),
            candidates,
            target_pct: None,
            time_limit_s: 30.0,
            solver: SolverChoice::Exact,
            demand: DemandWeight::Households,
            capacity: None,
        }
    }
}

/// A new site, ranked by the demand it newly covers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SiteRow {
    pub rank: usize,
    pub candidate_id: String,
    pub lon: f64,
    pub lat: f64,
    pub snapped_lon: f64,
    pub snapped_lat: f64,
    /// Households (or elderly, per `demand`) newly covered given the higher-ranked sites.
    pub marginal_households: u64,
    pub newly_covered: Vec<String>,
    /// Capacitated: the site's room and the households it serves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub served: Option<u64>,
}

/// A candidate that took no part.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UnplacedCandidate {
    pub id: String,
    pub lon: f64,
    pub lat: f64,
    pub reason: String,
}

/// The answer to a [`SitingRequest`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SitingSummary {
    pub kind: String,
    pub model: Model,
    pub demand: DemandWeight,
    pub minutes: f64,
    pub speed_kmh: f64,
    pub add: usize,
    pub pct_before: f64,
    pub pct_after: f64,
    pub households_before: u64,
    pub households_after: u64,
    pub total_households: u64,
    pub existing_sites: usize,
    pub sites: Vec<SiteRow>,
    /// Capacitated and closure: each existing site with its reach (and load).
    pub existing: Vec<ExistingSite>,
    /// Closure: the existing sites to close, least loss first.
    pub closed: Vec<ClosedSite>,
    /// Which solver ran (`lagrangian-bnb`, `greedy+swap`, …), its objective, bound and gap.
    pub solver: String,
    pub optimal: bool,
    pub objective: f64,
    pub bound: Option<f64>,
    pub gap: Option<f64>,
    pub gap_points: Option<f64>,
    pub nodes: u64,
    pub time_limit_hit: bool,
    pub target_pct: Option<f64>,
    pub target_reached: Option<bool>,
    pub best_reachable_pct: Option<f64>,
    pub mean_minutes_before: Option<f64>,
    pub mean_minutes_after: Option<f64>,
    pub max_minutes_before: Option<f64>,
    pub max_minutes_after: Option<f64>,
    pub candidates_given: usize,
    pub candidates_placed: usize,
    pub unplaced_candidates: Vec<UnplacedCandidate>,
    pub demand_points: usize,
    pub groups: usize,
    pub cover_entries: usize,
    pub notes: Vec<String>,
    pub seconds_candidates: f64,
    pub seconds_cover: f64,
    pub seconds_solve: f64,
    pub seconds: f64,
}

impl Analysis {
    /// Runs a siting question. `progress` sees the covering searches and the exact search;
    /// setting `cancel` stops the run (an error) at the next check.
    pub fn site(
        &self,
        req: &SitingRequest,
        progress: &(dyn Fn(Progress) + Sync),
        cancel: Option<&AtomicBool>,
    ) -> Result<SitingSummary> {
        let t0 = Instant::now();
        crate::check_minutes(&[req.minutes])?;
        let kind = facility_kind(&req.kind)?;
        let engine = self.engine();
        let cov = engine.coverage(kind.as_ref(), req.profile, req.minutes)?;
        let existing: Vec<(String, gridmap_algo::network::Snap)> = engine
            .facilities()
            .iter()
            .filter(|f| kind.as_ref().is_none_or(|k| &f.kind == k))
            .filter_map(|f| f.placement.as_ref().ok().map(|s| (f.id.to_string(), *s)))
            .collect();
        let (set, given) = match &req.candidates {
            _ if req.model == Model::Closure => (
                CandidateSet {
                    placed: Vec::new(),
                    skipped: Vec::new(),
                },
                0,
            ),
            CandidateSource::None => {
                return Err(ServiceError::Invalid {
                    name: "candidates",
                    value: "none".into(),
                    reason: "this model needs candidate sites (points or a node sample)".into(),
                })
            }
            CandidateSource::Points(p) => (
                CandidateSet::from_points(engine.network(), p, &engine.options().snap, &existing),
                p.len(),
            ),
            CandidateSource::Buildings(_) | CandidateSource::Facilities(_) => {
                let p = dataset_points(self.dataset(), &req.candidates, kind.as_ref())?;
                if p.is_empty() {
                    return Err(ServiceError::Invalid {
                        name: "candidates",
                        value: format!("{:?}", req.candidates),
                        reason:
                            "no building of those types / facility of those kinds in the dataset"
                                .into(),
                    });
                }
                (
                    CandidateSet::from_points(
                        engine.network(),
                        &p,
                        &engine.options().snap,
                        &existing,
                    ),
                    p.len(),
                )
            }
            CandidateSource::SampleWithin { n, seed, area } => {
                use geo::{BoundingRect, Contains};
                let bbox = area.bounding_rect();
                let inside = |p: [f64; 2]| {
                    bbox.is_some_and(|b| {
                        p[0] >= b.min().x
                            && p[0] <= b.max().x
                            && p[1] >= b.min().y
                            && p[1] <= b.max().y
                    }) && area.contains(&geo_types::Point::new(p[0], p[1]))
                };
                let set = CandidateSet::sample_nodes_within(
                    engine.network(),
                    *n,
                    *seed,
                    &existing,
                    &inside,
                );
                if set.placed.is_empty() && set.skipped.is_empty() {
                    return Err(ServiceError::Invalid {
                        name: "candidates.within",
                        value: "the drawn area".into(),
                        reason: "no street corner of the walking network lies inside it".into(),
                    });
                }
                let given = set.placed.len() + set.skipped.len();
                (set, given)
            }
            CandidateSource::SampleNodes { n, seed } => {
                if *n == 0 {
                    return Err(ServiceError::Invalid {
                        name: "candidates",
                        value: "0".into(),
                        reason: "sample at least one node".into(),
                    });
                }
                (
                    CandidateSet::sample_nodes(engine.network(), *n, *seed, &existing),
                    *n,
                )
            }
        };
        let seconds_candidates = t0.elapsed().as_secs_f64();
        let params = SitingParams {
            model: req.model,
            add: req.add,
            minutes: req.minutes,
            target_pct: req.target_pct,
            time_limit_s: req.time_limit_s,
            solver: req.solver,
            demand: req.demand,
            capacity: req.capacity,
            existing_capacity: self
                .dataset()
                .facilities
                .iter()
                .filter(|f| kind.as_ref().is_none_or(|k| &f.kind == k))
                .filter_map(|f| f.capacity.map(|c| (f.id.to_string(), u64::from(c))))
                .collect(),
        };
        let ctl = Control { progress, cancel };
        let r = siting::site(engine, &cov, &set, &params, &ctl)?;
        tracing::info!(
            kind = %req.kind, model = ?req.model, add = req.add, candidates = set.placed.len(),
            demand_points = r.demand_points, groups = r.groups, cover_entries = r.cover_entries,
            solver = %r.solver.name, optimal = r.solver.optimal, gap = ?r.solver.gap,
            cover_ms = (r.seconds_cover * 1000.0) as u64, solve_ms = (r.seconds_solve * 1000.0) as u64,
            "siting done"
        );
        Ok(SitingSummary {
            kind: req.kind.clone(),
            model: r.model,
            demand: r.demand,
            minutes: r.minutes,
            speed_kmh: req.profile.speed_kmh,
            add: req.add,
            pct_before: r.pct_before,
            pct_after: r.pct_after,
            households_before: r.covered_before,
            households_after: r.covered_after,
            total_households: r.total,
            existing_sites: cov.source_ids.len(),
            sites: r
                .sites
                .iter()
                .map(|s| SiteRow {
                    rank: s.rank,
                    candidate_id: s.candidate_id.clone(),
                    lon: s.lon,
                    lat: s.lat,
                    snapped_lon: s.snapped[0],
                    snapped_lat: s.snapped[1],
                    marginal_households: s.marginal,
                    newly_covered: s.newly_covered.iter().map(ToString::to_string).collect(),
                    capacity: s.capacity,
                    served: s.served,
                })
                .collect(),
            existing: r.existing.clone(),
            closed: r.closed.clone(),
            solver: r.solver.name.clone(),
            optimal: r.solver.optimal,
            objective: r.solver.objective,
            bound: r.solver.bound,
            gap: r.solver.gap,
            gap_points: r.solver.gap_points,
            nodes: r.solver.nodes,
            time_limit_hit: r.solver.time_limit_hit,
            target_pct: r.target_pct,
            target_reached: r.target_reached,
            best_reachable_pct: r.best_reachable_pct,
            mean_minutes_before: r.mean_minutes_before,
            mean_minutes_after: r.mean_minutes_after,
            max_minutes_before: r.max_minutes_before,
            max_minutes_after: r.max_minutes_after,
            candidates_given: given,
            candidates_placed: set.placed.len(),
            unplaced_candidates: set
                .skipped
                .iter()
                .map(|s| UnplacedCandidate {
                    id: s.id.clone(),
                    lon: s.lon,
                    lat: s.lat,
                    reason: s.reason.to_string(),
                })
                .collect(),
            demand_points: r.demand_points,
            groups: r.groups,
            cover_entries: r.cover_entries,
            notes: r.notes,
            seconds_candidates,
            seconds_cover: r.seconds_cover,
            seconds_solve: r.seconds_solve,
            seconds: t0.elapsed().as_secs_f64(),
        })
    }
}

/// The new sites as a GeoJSON FeatureCollection of points (rank, candidate id, marginal
/// households, newly covered building ids, `action: open`), best first; for the closure model
/// the sites to close (`action: close`, loss, uncovered building ids).
pub fn siting_geojson(s: &SitingSummary) -> geojson::FeatureCollection {
    let features = s
        .sites
        .iter()
        .map(|x| {
            let mut p = serde_json::Map::new();
            p.insert("id".into(), x.candidate_id.clone().into());
            p.insert("rank".into(), x.rank.into());
            p.insert("kind".into(), s.kind.clone().into());
            p.insert("marginal_households".into(), x.marginal_households.into());
            p.insert("newly_covered".into(), x.newly_covered.clone().into());
            p.insert("action".into(), "open".into());
            if let Some(c) = x.capacity {
                p.insert("capacity".into(), c.into());
            }
            if let Some(v) = x.served {
                p.insert("served".into(), v.into());
            }
            crate::coverage::feature(
                geojson::Geometry::from(&geo_types::Point::new(x.lon, x.lat)),
                p,
            )
        })
        .chain(s.closed.iter().map(|x| {
            let mut p = serde_json::Map::new();
            p.insert("id".into(), x.facility_id.clone().into());
            p.insert("rank".into(), x.rank.into());
            p.insert("kind".into(), s.kind.clone().into());
            p.insert("action".into(), "close".into());
            p.insert("loss_households".into(), x.loss.into());
            p.insert("loss_alone".into(), x.loss_alone.into());
            p.insert(
                "uncovered".into(),
                x.uncovered
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .into(),
            );
            crate::coverage::feature(
                geojson::Geometry::from(&geo_types::Point::new(x.lon, x.lat)),
                p,
            )
        }))
        .collect();
    crate::coverage::collection(features)
}
