//! Facility siting: where new sites of a kind help most, the existing sites fixed open.
//!
//! ```text
//! CandidateSet::from_points(net, &points, &snap, &existing) | CandidateSet::sample_nodes(net, n, seed, ..)
//! site(&engine, &existing_coverage, &candidates, &SitingParams { model, add, minutes, .. }, &control)
//!   1. SiteCover::build   one bounded Dijkstra per candidate (rayon), sparse lists   [cover]
//!   2. SiteCover::matrix  drop demand the existing sites cover, merge identical rows  [cover]
//!   3. the model: MCLP [mclp], minimum facilities [setcover], p-median [pmedian], p-center [pcenter]
//!   4. the chosen sites ranked by marginal weight, with the buildings each newly covers
//! ```
//!
//! "Covered" is exactly what `gridmap coverage` counts: the same snapping, the same walk
//! (both ends of an edge, same-edge walks, access legs when the engine walks them) and the same
//! inclusive limit `minutes × speed`. Demand is households (or elderly people) per building;
//! buildings on the same network point are one demand point.
//!
//! **Solvers.** Every model starts from a heuristic (greedy + Teitz–Bart vertex substitution).
//! MCLP, minimum facilities and p-center then run an exact Lagrangian branch-and-bound
//! ([`mclp::branch_and_bound`]) within the time limit and report its bound and gap; on a limit
//! the incumbent comes back with the gap still open. p-median is heuristic only (no bound).
//! Why not a MILP library: `highs-sys` compiles HiGHS's C++ with cmake and needs libclang for
//! bindgen — over 9 minutes on the 2-core build machine before it even failed for want of
//! libclang; the Lagrangian search proves the Monaco and Haidian instances optimal in
//! milliseconds and scales to 5 000 candidates over 280 000 buildings.
//!
//! **Capacitated coverage** ([`capacitated`]) serves each demand point from the nearest site
//! with room (existing sites with their `capacity`, none = unlimited; new sites with
//! `SitingParams::capacity`) and opens sites greedily with exact re-evaluation of a shortlist; it
//! reports the bound no choice can beat (uncapacitated MCLP bound, reachable room). **Closure**
//! ([`closure`]) asks which `add` existing sites can close losing the fewest covered households:
//! a branch-and-bound over the supermodular loss proves the least-loss set, ranked by lazy
//! greedy removal.
use crate::coverage::{CoverageEngine, KindCoverage};
use crate::AlgoError;
use gridmap_model::BuildingId;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub mod access;
pub mod candidates;
pub mod capacitated;
pub mod closure;
pub mod cover;
mod fixed;
pub mod mclp;
pub mod pcenter;
pub mod pmedian;
pub mod setcover;

pub use candidates::{Candidate, CandidateSet, PlacedCandidate, SkipReason, SkippedCandidate};
pub use cover::{CoverMatrix, DemandWeight, SiteCover};
pub use fixed::{access_scores, AccessScores, AccessSite};
use fixed::{capacitated_run, closure_run, CapInput};

/// Which question is asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    /// Maximal covering: add `add` sites covering the most demand.
    #[default]
    Mclp,
    /// Minimum facilities: the fewest new sites reaching `target_pct` of the demand.
    SetCover,
    /// Minimise the mean walking distance (capped at the limit) with `add` new sites.
    PMedian,
    /// Minimise the worst walking distance with `add` new sites.
    PCenter,
    /// Capacitated coverage: `add` new sites, each site serving at most its capacity.
    Capacitated,
    /// Closure / weakest site: which `add` existing sites lose the fewest covered households.
    Closure,
}

impl Model {
    pub fn parse(s: &str) -> Result<Self, AlgoError> {
        Ok(match s {
            "mclp" | "maxcover" => Self::Mclp,
            "setcover" | "lscp" | "min-facilities" => Self::SetCover,
            "pmedian" | "p-median" => Self::PMedian,
            "pcenter" | "p-center" => Self::PCenter,
            "capacitated" | "capacitated-mclp" => Self::Capacitated,
            "closure" | "weakest" => Self::Closure,
            other => {
                return Err(AlgoError::InvalidParameter {
                    name: "model",
                    value: other.to_owned(),
                    expected: "one of mclp, setcover, pmedian, pcenter, capacitated, closure",
                })
            }
        })
    }
}

/// Heuristic only, or heuristic then the exact search (default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SolverChoice {
    #[default]
    Exact,
    Heuristic,
}

/// Parameters of one run.
#[derive(Clone, Debug, Serialize)]
pub struct SitingParams {
    pub model: Model,
    /// New sites to open (all models but set cover).
    pub add: usize,
    pub minutes: f64,
    /// Set cover: the share of all demand to reach, in percent.
    pub target_pct: Option<f64>,
    /// Seconds for the exact search (the heuristic always finishes).
    pub time_limit_s: f64,
    pub solver: SolverChoice,
    pub demand: DemandWeight,
    /// Capacitated: households each new site can serve (`None`: the median of the existing
    /// sites' capacities; an error if none has one).
    pub capacity: Option<u64>,
    /// Capacitated: the existing sites' capacities by facility id (absent = unlimited).
    #[serde(skip)]
    pub existing_capacity: HashMap<String, u64>,
}

impl Default for SitingParams {
    fn default() -> Self {
        Self {
            model: Model::Mclp,
            add: 5,
            minutes: 15.0,
            target_pct: None,
            time_limit_s: 30.0,
            solver: SolverChoice::Exact,
            demand: DemandWeight::Households,
            capacity: None,
            existing_capacity: HashMap::new(),
        }
    }
}

/// A progress report: `stage` is `covering` (searches done / candidates) or `solving`
/// (nodes explored, incumbent and bound in demand weight).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Progress {
    pub stage: &'static str,
    pub done: u64,
    pub total: u64,
    pub incumbent: Option<u64>,
    pub bound: Option<f64>,
}

/// Progress callback and cancellation flag of a run.
pub struct Control<'a> {
    pub progress: &'a (dyn Fn(Progress) + Sync),
    pub cancel: Option<&'a AtomicBool>,
}

impl Control<'static> {
    /// No progress, no cancellation.
    pub fn none() -> Self {
        Control {
            progress: &|_| {},
            cancel: None,
        }
    }
}

impl Control<'_> {
    fn cancelled(&self) -> bool {
        self.cancel.is_some_and(|c| c.load(Ordering::Relaxed))
    }
}

/// Which solver produced the answer, with its bound and gap.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SolverReport {
    /// e.g. `lagrangian-bnb`, `greedy+swap`.
    pub name: String,
    pub optimal: bool,
    /// Objective of the answer (covered weight, site count, weighted metres or metres).
    pub objective: f64,
    /// Best bound on the objective (upper for MCLP, lower for the others); `None` if none.
    pub bound: Option<f64>,
    /// Relative gap |bound − objective| / |bound| (0 when proven optimal).
    pub gap: Option<f64>,
    /// MCLP: the gap in percentage points of all demand.
    pub gap_points: Option<f64>,
    pub nodes: u64,
    pub time_limit_hit: bool,
    pub seconds: f64,
}

/// One new site, in rank order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NewSite {
    pub rank: usize,
    pub candidate_id: String,
    /// As given.
    pub lon: f64,
    pub lat: f64,
    /// Where it was snapped.
    pub snapped: [f64; 2],
    /// Demand newly covered by this site given the higher-ranked ones and the existing sites.
    pub marginal: u64,
    pub newly_covered: Vec<BuildingId>,
    /// Capacitated: the site's room and the households it serves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub served: Option<u64>,
}

/// An existing (fixed) site: capacitated and closure models report each one.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExistingSite {
    pub facility_id: String,
    pub lon: f64,
    pub lat: f64,
    /// `None`: unlimited.
    pub capacity: Option<u64>,
    /// Demand within the limit of the site.
    pub reach: u64,
    /// Capacitated: households served before and after the new sites open.
    pub served_before: Option<u64>,
    pub served_after: Option<u64>,
}

/// An existing site to close, in closing order (closure model).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClosedSite {
    pub rank: usize,
    pub facility_id: String,
    pub lon: f64,
    pub lat: f64,
    /// Demand left uncovered by closing it after the higher-ranked closures.
    pub loss: u64,
    /// Demand only this site covers with every site open.
    pub loss_alone: u64,
    /// Demand within its reach.
    pub reach: u64,
    /// Buildings no open site reaches once it closes.
    pub uncovered: Vec<BuildingId>,
}

/// The answer of [`site`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SitingResult {
    pub model: Model,
    pub demand: DemandWeight,
    pub minutes: f64,
    pub limit_m: f64,
    pub total: u64,
    pub covered_before: u64,
    pub covered_after: u64,
    pub pct_before: f64,
    pub pct_after: f64,
    /// Weight of buildings that could not be placed on the network (never covered).
    pub unplaced_weight: u64,
    pub sites: Vec<NewSite>,
    /// Capacitated and closure: every existing site with its reach (and load).
    pub existing: Vec<ExistingSite>,
    /// Closure: the sites to close, least loss first.
    pub closed: Vec<ClosedSite>,
    pub solver: SolverReport,
    /// Set cover: the target, whether it is reachable, and the best reachable share.
    pub target_pct: Option<f64>,
    pub target_reached: Option<bool>,
    pub best_reachable_pct: Option<f64>,
    /// p-median / p-center: mean and worst minutes to the nearest open site before and after
    /// (capped at `minutes`; over the demand some site reaches within it for p-center).
    pub mean_minutes_before: Option<f64>,
    pub mean_minutes_after: Option<f64>,
    pub max_minutes_before: Option<f64>,
    pub max_minutes_after: Option<f64>,
    pub candidates_placed: usize,
    pub demand_points: usize,
    pub groups: usize,
    pub cover_entries: usize,
    pub notes: Vec<String>,
    pub seconds_cover: f64,
    pub seconds_solve: f64,
}

fn pct(c: u64, t: u64) -> f64 {
    if t == 0 {
        0.0
    } else {
        (100_000.0 * c as f64 / t as f64).round() / 1000.0
    }
}

/// Runs one siting question. `existing` is the engine's coverage of the kind for the walking
/// profile, bounded at ≥ `params.minutes` (its facilities are the fixed open sites).
pub fn site(
    engine: &CoverageEngine,
    existing: &KindCoverage,
    candidates: &CandidateSet,
    params: &SitingParams,
    ctl: &Control,
) -> Result<SitingResult, AlgoError> {
    if !(params.minutes.is_finite() && params.minutes > 0.0) {
        return Err(AlgoError::InvalidParameter {
            name: "minutes",
            value: params.minutes.to_string(),
            expected: "finite minutes > 0",
        });
    }
    if params.minutes > existing.max_minutes {
        return Err(AlgoError::InvalidParameter {
            name: "minutes",
            value: params.minutes.to_string(),
            expected: "at most the bound the existing coverage was computed with",
        });
    }
    if !(params.time_limit_s.is_finite() && params.time_limit_s >= 0.0) {
        return Err(AlgoError::InvalidParameter {
            name: "time_limit",
            value: params.time_limit_s.to_string(),
            expected: "finite seconds ≥ 0",
        });
    }
    if params.model == Model::SetCover {
        match params.target_pct {
            Some(t) if t.is_finite() && t > 0.0 && t <= 100.0 => {}
            other => {
                return Err(AlgoError::InvalidParameter {
                    name: "target_pct",
                    value: other.map_or_else(|| "none".into(), |t| t.to_string()),
                    expected: "a share of households in (0, 100] for the set-cover model",
                })
            }
        }
    } else if params.add == 0 {
        return Err(AlgoError::InvalidParameter {
            name: "add",
            value: "0".into(),
            expected: "at least one new site",
        });
    }
    if params.model == Model::Closure {
        return closure_run(engine, existing, params, ctl);
    }
    if candidates.placed.is_empty() {
        return Err(AlgoError::NoCandidates {
            given: candidates.skipped.len(),
            reasons: reason_counts(&candidates.skipped),
        });
    }
    let mut notes = Vec::new();
    if let Some(n) = &existing.note {
        notes.push(n.clone());
    }
    let t0 = Instant::now();
    let limit_m = existing.profile.limit_m(params.minutes);
    let progress_cover = |done: u64, total: u64| {
        (ctl.progress)(Progress {
            stage: "covering",
            done,
            total,
            incumbent: None,
            bound: None,
        });
    };
    let cancel = || ctl.cancelled();
    let cover = SiteCover::build(
        engine,
        existing,
        &candidates.placed,
        limit_m,
        params.demand,
        &progress_cover,
        &cancel,
    )
    .ok_or(AlgoError::Cancelled)?;
    let seconds_cover = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let deadline = t1 + Duration::from_secs_f64(params.time_limit_s.min(86_400.0));
    let progress_solve = |nodes: u64, inc: u64, bound: f64| {
        (ctl.progress)(Progress {
            stage: "solving",
            done: nodes,
            total: 0,
            incumbent: Some(inc),
            bound: Some(bound),
        });
    };
    let limits = mclp::Limits {
        deadline: Some(deadline),
        cancel: &cancel,
        progress: &progress_solve,
    };
    let m = cover.matrix(limit_m);
    let before = cover.covered_before(limit_m);
    let total = cover.total_weight;
    let exact = params.solver == SolverChoice::Exact;
    let nc = candidates.placed.len();
    let mut add = params.add;
    if params.model != Model::SetCover && add > nc {
        notes.push(format!("--add {add} is more than the {nc} candidates on the network: all of them were considered"));
        add = nc;
    }
    let mut target_reached = None;
    let mut best_reachable_pct = None;
    let (mut mean_b, mut mean_a, mut max_b, mut max_a) = (None, None, None, None);
    let speed_m_per_min = existing.profile.limit_m(1.0);
    if params.model == Model::Capacitated {
        return capacitated_run(
            engine,
            existing,
            candidates,
            params,
            ctl,
            CapInput {
                cover: &cover,
                m: &m,
                add,
                limits: &limits,
                notes,
                seconds_cover,
                t1,
            },
        );
    }
    let (sites, report) = match params.model {
        Model::Mclp | Model::Capacitated | Model::Closure => {
            let h = mclp::heuristic(&m, add, &limits);
            let hv = m.value(&h);
            if exact {
                let ex = mclp::branch_and_bound(&m, add, h, None, &limits);
                let bound = before as f64 + ex.bound.max(ex.value as f64);
                let mut r = report(
                    "lagrangian-bnb",
                    ex.optimal,
                    (before + ex.value) as f64,
                    Some(bound),
                    ex.nodes,
                    ex.stopped,
                    t1,
                );
                r.gap_points = Some(if total == 0 {
                    0.0
                } else {
                    100.0 * (bound - (before + ex.value) as f64).max(0.0) / total as f64
                });
                (ex.sites, r)
            } else {
                (
                    h,
                    report(
                        "greedy+swap",
                        false,
                        (before + hv) as f64,
                        None,
                        0,
                        false,
                        t1,
                    ),
                )
            }
        }
        Model::SetCover => {
            let target = params.target_pct.unwrap_or(100.0);
            let want = ((target / 100.0) * total as f64 - 1e-9).ceil().max(0.0) as u64;
            let need = want.saturating_sub(before);
            let reachable = before + m.reachable();
            best_reachable_pct = Some(pct(reachable, total));
            let r = if exact {
                setcover::min_sites(&m, need, &limits)
            } else {
                let mut r = setcover::min_sites(
                    &m,
                    need,
                    &mclp::Limits {
                        deadline: Some(Instant::now()),
                        ..limits
                    },
                );
                r.optimal = r.sites.len() <= 1 && r.feasible;
                r
            };
            target_reached = Some(r.feasible);
            if !r.feasible {
                notes.push(format!(
                    "the target {target}% cannot be reached: every candidate together covers {}% (existing sites included)",
                    pct(reachable, total)
                ));
            }
            let name = if exact {
                "lagrangian-bnb (set cover by MCLP feasibility)"
            } else {
                "greedy+swap"
            };
            let k = r.sites.len() as f64;
            let lb = if r.feasible {
                Some(r.lower_bound as f64)
            } else {
                None
            };
            let rep = report(
                name,
                r.optimal,
                k,
                lb,
                r.nodes,
                Instant::now() >= deadline,
                t1,
            );
            (r.sites, rep)
        }
        Model::PMedian => {
            let (lists, w) = pmedian_lists(&cover, limit_m);
            let base_cost: f64 = lists
                .base_m
                .iter()
                .zip(&lists.weight)
                .map(|(b, &w)| b * w as f64)
                .sum();
            let r = pmedian::p_median(&lists, add, &limits);
            if w > 0 {
                mean_b = Some(base_cost / w as f64 / speed_m_per_min);
                mean_a = Some(r.cost / w as f64 / speed_m_per_min);
            }
            notes.push("p-median distances are capped at the walking limit (demand beyond it counts as the limit)".into());
            (
                r.sites,
                report("greedy+teitz-bart", false, r.cost, None, 0, false, t1),
            )
        }
        Model::PCenter => {
            let inst = pcenter::Radii {
                weight: cover.demand.iter().map(|d| d.weight).collect(),
                base_m: cover.demand.iter().map(|d| d.existing_m).collect(),
                cand: (0..nc)
                    .map(|c| {
                        let (ds, ms) = cover.of(c);
                        ds.iter().copied().zip(ms.iter().copied()).collect()
                    })
                    .collect(),
            };
            if let Some(r) = pcenter::p_center(&inst, add, &limits) {
                let worst_before = inst
                    .base_m
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| inst.weight[*i] > 0 && !r.unreachable.contains(&(*i as u32)))
                    .map(|(_, m)| *m)
                    .fold(0.0, f64::max);
                max_b = Some(worst_before.min(limit_m) / speed_m_per_min);
                max_a = Some(r.radius_m / speed_m_per_min);
                if !r.unreachable.is_empty() {
                    let w: u64 = r.unreachable.iter().map(|&i| inst.weight[i as usize]).sum();
                    notes.push(format!("{w} households are beyond the limit from every site and candidate: left out of p-center"));
                }
                let name = if exact {
                    "binary search + lagrangian-bnb"
                } else {
                    "binary search + greedy"
                };
                let rep = report(
                    name,
                    r.optimal,
                    r.radius_m,
                    Some(r.lower_m),
                    r.nodes,
                    !r.optimal,
                    t1,
                );
                (r.sites, rep)
            } else {
                notes.push(format!("{add} new sites cannot bring every reachable household within the limit: answering with MCLP"));
                let h = mclp::heuristic(&m, add, &limits);
                (
                    h.clone(),
                    report(
                        "greedy+swap (p-center infeasible)",
                        false,
                        (before + m.value(&h)) as f64,
                        None,
                        0,
                        false,
                        t1,
                    ),
                )
            }
        }
    };
    if ctl.cancelled() {
        return Err(AlgoError::Cancelled);
    }
    // rank the chosen sites greedily by marginal coverage at the limit (sites adding nothing last)
    let mut ranked: Vec<u32> = {
        let sub_lists: Vec<Vec<u32>> = sites
            .iter()
            .map(|&c| m.groups_of(c as usize).to_vec())
            .collect();
        let sub = CoverMatrix::from_lists(m.weight.clone(), &sub_lists);
        mclp::greedy(&sub, sites.len(), &[])
            .into_iter()
            .map(|k| sites[k as usize])
            .collect()
    };
    for &c in &sites {
        if !ranked.contains(&c) {
            ranked.push(c);
        }
    }
    let bld = engine.buildings();
    let mut hit = vec![false; m.n_groups()];
    let mut new_sites = Vec::with_capacity(ranked.len());
    let mut added = 0u64;
    for (rank, &c) in ranked.iter().enumerate() {
        let pc = &candidates.placed[c as usize];
        let mut marginal = 0;
        let mut newly = Vec::new();
        for &g in m.groups_of(c as usize) {
            if !hit[g as usize] {
                hit[g as usize] = true;
                marginal += m.weight[g as usize];
                for &d in &m.members[g as usize] {
                    newly.extend(
                        cover.demand[d as usize]
                            .buildings
                            .iter()
                            .map(|&b| bld[b as usize].id.clone()),
                    );
                }
            }
        }
        added += marginal;
        newly.sort();
        new_sites.push(NewSite {
            rank: rank + 1,
            candidate_id: pc.id.clone(),
            lon: pc.lon,
            lat: pc.lat,
            snapped: pc.snap.lonlat,
            marginal,
            newly_covered: newly,
            capacity: None,
            served: None,
        });
    }
    let covered_after = before + added;
    let seconds_solve = t1.elapsed().as_secs_f64();
    if report.time_limit_hit {
        notes.push(format!("the time limit ({} s) stopped the exact search: the incumbent is returned with its gap", params.time_limit_s));
    }
    Ok(SitingResult {
        model: params.model,
        demand: params.demand,
        minutes: params.minutes,
        limit_m,
        total,
        covered_before: before,
        covered_after,
        pct_before: pct(before, total),
        pct_after: pct(covered_after, total),
        unplaced_weight: cover.unplaced_weight,
        sites: new_sites,
        existing: Vec::new(),
        closed: Vec::new(),
        solver: report,
        target_pct: params
            .target_pct
            .filter(|_| params.model == Model::SetCover),
        target_reached,
        best_reachable_pct,
        mean_minutes_before: mean_b,
        mean_minutes_after: mean_a,
        max_minutes_before: max_b,
        max_minutes_after: max_a,
        candidates_placed: nc,
        demand_points: cover.demand.len(),
        groups: m.n_groups(),
        cover_entries: cover.nnz(),
        notes,
        seconds_cover,
        seconds_solve,
    })
}

fn report(
    name: &str,
    optimal: bool,
    objective: f64,
    bound: Option<f64>,
    nodes: u64,
    time_limit_hit: bool,
    t: Instant,
) -> SolverReport {
    let gap = bound.map(|b| {
        if optimal || b == objective {
            0.0
        } else if b.abs() > 0.0 {
            ((b - objective).abs() / b.abs() * 1e6).round() / 1e6
        } else {
            1.0
        }
    });
    SolverReport {
        name: name.into(),
        optimal,
        objective,
        bound,
        gap,
        gap_points: None,
        nodes,
        time_limit_hit,
        seconds: t.elapsed().as_secs_f64(),
    }
}

fn pmedian_lists(cover: &SiteCover, limit_m: f64) -> (pmedian::Lists, u64) {
    let weight: Vec<u64> = cover.demand.iter().map(|d| d.weight).collect();
    let base_m = cover
        .demand
        .iter()
        .map(|d| d.existing_m.min(limit_m))
        .collect();
    let cand = (0..cover.n_cand())
        .map(|c| {
            let (ds, ms) = cover.of(c);
            ds.iter().copied().zip(ms.iter().copied()).collect()
        })
        .collect();
    let w = weight.iter().sum();
    (
        pmedian::Lists {
            limit_m,
            weight,
            base_m,
            cand,
        },
        w,
    )
}

fn reason_counts(skipped: &[SkippedCandidate]) -> String {
    let mut m: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for s in skipped {
        let key = match &s.reason {
            SkipReason::OffNetwork { detail } => detail.clone(),
            SkipReason::Duplicate { .. } => "duplicate network point".into(),
            SkipReason::AtExistingSite { .. } => "at an existing site".into(),
        };
        *m.entry(key).or_default() += 1;
    }
    m.into_iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join("; ")
}
