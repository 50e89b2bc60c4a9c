//! The models that look at the existing (fixed) sites one by one: capacitated coverage (their
//! loads) and closure (their losses). Both need each existing site's own covering list, built by
//! the same bounded search as a candidate's ([`SiteCover::build`]) so "within reach" means what
//! it means for candidates and for `gridmap coverage`. Closure is exact by a branch-and-bound
//! over the supermodular loss ([`closure::exact`]); capacitated coverage is a heuristic with a
//! bound ([`capacitated::upper_bound`]).
use super::{
    capacitated, closure, mclp, pct, report, ClosedSite, Control, CoverMatrix, ExistingSite, Model,
    NewSite, PlacedCandidate, SiteCover, SitingParams, SitingResult, SolverChoice,
};
use crate::coverage::{CoverageEngine, KindCoverage};
use crate::siting::candidates::CandidateSet;
use crate::AlgoError;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The existing sites of the kind as placed "candidates" and their covering lists (same demand
/// order as any other [`SiteCover`] of the engine, kind and weight).
fn existing_cover(
    engine: &CoverageEngine,
    existing: &KindCoverage,
    limit_m: f64,
    params: &SitingParams,
    ctl: &Control,
) -> Result<(Vec<PlacedCandidate>, SiteCover), AlgoError> {
    let loc: HashMap<&str, [f64; 2]> = engine
        .facilities()
        .iter()
        .map(|f| (f.id.as_str(), f.location))
        .collect();
    let sites: Vec<PlacedCandidate> = existing
        .placed_sources()
        .map(|(label, snap)| {
            let id = existing.source_ids[label as usize].to_string();
            let [lon, lat] = loc.get(id.as_str()).copied().unwrap_or(snap.lonlat);
            PlacedCandidate {
                id,
                lon,
                lat,
                snap: *snap,
            }
        })
        .collect();
    let progress = |done: u64, total: u64| {
        (ctl.progress)(super::Progress {
            stage: "covering existing sites",
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
        &sites,
        limit_m,
        params.demand,
        &progress,
        &cancel,
    )
    .ok_or(AlgoError::Cancelled)?;
    Ok((sites, cover))
}

fn buildings_of(
    engine: &CoverageEngine,
    cover: &SiteCover,
    points: &[u32],
) -> Vec<gridmap_model::BuildingId> {
    let bld = engine.buildings();
    let mut out: Vec<_> = points
        .iter()
        .flat_map(|&d| cover.demand[d as usize].buildings.iter())
        .map(|&b| bld[b as usize].id.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

fn empty_result(params: &SitingParams, limit_m: f64, cover: &SiteCover) -> SitingResult {
    SitingResult {
        model: params.model,
        demand: params.demand,
        minutes: params.minutes,
        limit_m,
        total: cover.total_weight,
        covered_before: 0,
        covered_after: 0,
        pct_before: 0.0,
        pct_after: 0.0,
        unplaced_weight: cover.unplaced_weight,
        sites: Vec::new(),
        existing: Vec::new(),
        closed: Vec::new(),
        solver: report("none", false, 0.0, None, 0, false, Instant::now()),
        target_pct: None,
        target_reached: None,
        best_reachable_pct: None,
        mean_minutes_before: None,
        mean_minutes_after: None,
        max_minutes_before: None,
        max_minutes_after: None,
        candidates_placed: 0,
        demand_points: cover.demand.len(),
        groups: 0,
        cover_entries: cover.nnz(),
        notes: Vec::new(),
        seconds_cover: 0.0,
        seconds_solve: 0.0,
    }
}

/// Closure / weakest site (see [`closure`]).
pub(super) fn closure_run(
    engine: &CoverageEngine,
    existing: &KindCoverage,
    params: &SitingParams,
    ctl: &Control,
) -> Result<SitingResult, AlgoError> {
    let t0 = Instant::now();
    let limit_m = existing.profile.limit_m(params.minutes);
    let (sites, cover) = existing_cover(engine, existing, limit_m, params, ctl)?;
    let n = sites.len();
    if n == 0 {
        return Err(AlgoError::InvalidParameter {
            name: "kind",
            value: "no existing site on the network".into(),
            expected: "a facility kind with existing sites to close",
        });
    }
    let mut notes: Vec<String> = existing.note.iter().cloned().collect();
    let k = params.add.min(n);
    if params.add > n {
        notes.push(format!(
            "--add {} is more than the {n} existing sites: all of them close",
            params.add
        ));
    }
    let seconds_cover = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let weight: Vec<u64> = cover.demand.iter().map(|d| d.weight).collect();
    let lists: Vec<Vec<u32>> = (0..n).map(|s| cover.of(s).0.to_vec()).collect();
    let reach: Vec<&[u32]> = lists.iter().map(Vec::as_slice).collect();
    let cm = CoverMatrix::from_lists(weight.clone(), &lists);
    let all: Vec<u32> = (0..n as u32).collect();
    let before = cm.value(&all);
    let engine_before = cover.covered_before(limit_m);
    if engine_before != before {
        notes.push(format!(
            "the per-site searches cover {before} where the coverage engine counts {engine_before}: figures here use the per-site searches"
        ));
    }
    let greedy = closure::weakest(&weight, &reach, k);
    let mut closable = vec![false; n];
    for c in &greedy {
        closable[c.site as usize] = true;
    }
    let keep_n = n - k;
    let greedy_loss: u64 = greedy.iter().map(|c| c.loss).sum();
    // one closure, all of them, or none losing anything: greedy is optimal
    let (mut optimal, mut bound, mut nodes, mut stopped) =
        (k <= 1 || keep_n == 0 || greedy_loss == 0, None, 0, false);
    let mut name = "lazy greedy removal";
    if params.solver == SolverChoice::Exact && !optimal {
        let deadline = t1 + Duration::from_secs_f64(params.time_limit_s.min(86_400.0));
        let start: Vec<u32> = greedy.iter().map(|c| c.site).collect();
        let stop = || ctl.cancelled() || Instant::now() >= deadline;
        let ex = closure::exact(&weight, &reach, k, &start, &stop);
        name = "branch-and-bound (supermodular loss) + lazy greedy order";
        optimal = ex.optimal;
        // the objective is covered demand after closing: an upper bound from the loss bound
        bound = Some((before - ex.lower_bound.min(before)) as f64);
        nodes = ex.nodes;
        stopped = !ex.optimal;
        if ex.loss < greedy_loss {
            closable = vec![false; n];
            for &s in &ex.sites {
                closable[s as usize] = true;
            }
        }
    }
    if ctl.cancelled() {
        return Err(AlgoError::Cancelled);
    }
    let ranked = closure::weakest_among(&weight, &reach, &closable, k);
    let mut count = vec![0u32; weight.len()];
    for r in &reach {
        for &d in *r {
            count[d as usize] += 1;
        }
    }
    let mut closed = Vec::with_capacity(ranked.len());
    for (i, c) in ranked.iter().enumerate() {
        let mut lost = Vec::new();
        for &d in reach[c.site as usize] {
            count[d as usize] -= 1;
            if count[d as usize] == 0 {
                lost.push(d);
            }
        }
        let s = &sites[c.site as usize];
        closed.push(ClosedSite {
            rank: i + 1,
            facility_id: s.id.clone(),
            lon: s.lon,
            lat: s.lat,
            loss: c.loss,
            loss_alone: c.loss_alone,
            reach: c.reach,
            uncovered: buildings_of(engine, &cover, &lost),
        });
    }
    let after = before - ranked.iter().map(|c| c.loss).sum::<u64>();
    if bound.is_none() && optimal {
        bound = Some(after as f64);
    }
    let rep = report(name, optimal, after as f64, bound, nodes, stopped, t1);
    if stopped {
        notes.push(format!("the time limit ({} s) stopped the exact search: the incumbent is returned with its gap", params.time_limit_s));
    }
    let mut r = empty_result(params, limit_m, &cover);
    r.covered_before = before;
    r.covered_after = after;
    r.pct_before = pct(before, cover.total_weight);
    r.pct_after = pct(after, cover.total_weight);
    r.existing = sites
        .iter()
        .zip(&reach)
        .map(|(s, l)| ExistingSite {
            facility_id: s.id.clone(),
            lon: s.lon,
            lat: s.lat,
            capacity: params.existing_capacity.get(&s.id).copied(),
            reach: l.iter().map(|&d| weight[d as usize]).sum(),
            served_before: None,
            served_after: None,
        })
        .collect();
    r.closed = closed;
    r.solver = rep;
    r.groups = cm.n_groups();
    r.notes = notes;
    r.seconds_cover = seconds_cover;
    r.seconds_solve = t1.elapsed().as_secs_f64();
    Ok(r)
}

/// What [`super::site`] has already built for the candidates.
pub(super) struct CapInput<'a, 'l> {
    pub cover: &'a SiteCover,
    pub m: &'a CoverMatrix,
    pub add: usize,
    pub limits: &'a mclp::Limits<'l>,
    pub notes: Vec<String>,
    pub seconds_cover: f64,
    pub t1: Instant,
}

/// Capacitated coverage (see [`capacitated`]).
pub(super) fn capacitated_run(
    engine: &CoverageEngine,
    existing: &KindCoverage,
    candidates: &CandidateSet,
    params: &SitingParams,
    ctl: &Control,
    input: CapInput,
) -> Result<SitingResult, AlgoError> {
    let CapInput {
        cover,
        m,
        add,
        limits,
        mut notes,
        seconds_cover,
        t1,
    } = input;
    let limit_m = cover.limit_m;
    let (ex_sites, ex_cover) = existing_cover(engine, existing, limit_m, params, ctl)?;
    if ex_cover.demand.len() != cover.demand.len() {
        return Err(AlgoError::Unsupported(
            "existing and candidate covers disagree on demand points".into(),
        ));
    }
    let ex_caps: Vec<Option<u64>> = ex_sites
        .iter()
        .map(|s| params.existing_capacity.get(&s.id).copied())
        .collect();
    let capacity = if let Some(c) = params.capacity {
        c
    } else {
        let mut known: Vec<u64> = ex_caps.iter().flatten().copied().collect();
        known.sort_unstable();
        let Some(&med) = known.get(known.len() / 2) else {
            return Err(AlgoError::InvalidParameter {
                name: "capacity",
                value: "none".into(),
                expected: "households per new site (--capacity N): no existing site of the kind has a capacity to take the median of",
            });
        };
        notes.push(format!(
            "each new site serves at most {med} households: the median capacity of the {} existing sites that have one",
            known.len()
        ));
        med
    };
    if capacity == 0 {
        return Err(AlgoError::InvalidParameter {
            name: "capacity",
            value: "0".into(),
            expected: "households per new site ≥ 1",
        });
    }
    let unlimited = ex_caps.iter().filter(|c| c.is_none()).count();
    if unlimited > 0 {
        notes.push(format!(
            "{unlimited} of {} existing sites have no capacity: counted as unlimited",
            ex_caps.len()
        ));
    }
    notes.push("demand is served by the nearest site with room within the limit; households within reach of full sites only count as unserved".into());
    let weight: Vec<u64> = cover.demand.iter().map(|d| d.weight).collect();
    let ex_reach: Vec<capacitated::SiteReach> = (0..ex_sites.len())
        .map(|s| {
            let (demand, dist) = ex_cover.of(s);
            capacitated::SiteReach {
                demand,
                dist,
                capacity: ex_caps[s],
            }
        })
        .collect();
    let cand_reach: Vec<capacitated::SiteReach> = (0..cover.n_cand())
        .map(|c| {
            let (demand, dist) = cover.of(c);
            capacitated::SiteReach {
                demand,
                dist,
                capacity: Some(capacity),
            }
        })
        .collect();
    let r = capacitated::greedy(&weight, &ex_reach, &cand_reach, add, limits);
    if ctl.cancelled() {
        return Err(AlgoError::Cancelled);
    }
    // what no choice of `add` sites can beat
    let covered_uncap = cover.covered_before(limit_m);
    let (unc, nodes) = if params.solver == SolverChoice::Exact {
        let h = mclp::heuristic(m, add, limits);
        let ex = mclp::branch_and_bound(m, add, h, None, limits);
        (
            covered_uncap as f64 + ex.bound.max(ex.value as f64),
            ex.nodes,
        )
    } else {
        ((covered_uncap + m.reachable()) as f64, 0)
    };
    let union = {
        let mut hit = vec![false; weight.len()];
        for r in &ex_reach {
            for &d in r.demand {
                hit[d as usize] = true;
            }
        }
        hit.iter()
            .zip(&weight)
            .filter(|(h, _)| **h)
            .map(|(_, w)| w)
            .sum()
    };
    let ub = capacitated::upper_bound(&weight, &ex_reach, union, capacity, add, unc);
    let served = r.after.total;
    let optimal = served as f64 >= ub;
    let mut rep = report(
        "capacitated greedy (nearest site with room, shortlist re-evaluation)",
        optimal,
        served as f64,
        Some(ub.max(served as f64)),
        nodes,
        limits.deadline.is_some_and(|d| Instant::now() >= d),
        t1,
    );
    rep.gap_points = Some(if cover.total_weight == 0 {
        0.0
    } else {
        100.0 * (ub - served as f64).max(0.0) / cover.total_weight as f64
    });
    let ne = ex_sites.len();
    let mut by_site: Vec<Vec<u32>> = vec![Vec::new(); ne + r.chosen.len()];
    for &(s, d, _) in &r.after.flows {
        by_site[s as usize].push(d);
    }
    let mut prev = r.before.total;
    let sites: Vec<NewSite> = r
        .chosen
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let pc = &candidates.placed[c as usize];
            let marginal = r.served_after[i] - prev;
            prev = r.served_after[i];
            NewSite {
                rank: i + 1,
                candidate_id: pc.id.clone(),
                lon: pc.lon,
                lat: pc.lat,
                snapped: pc.snap.lonlat,
                marginal,
                newly_covered: buildings_of(engine, cover, &by_site[ne + i]),
                capacity: Some(capacity),
                served: Some(r.after.site_served[ne + i]),
            }
        })
        .collect();
    if r.saturated && sites.len() < add {
        notes.push(format!(
            "only {} new sites serve anyone more: the rest would add nothing",
            sites.len()
        ));
    }
    notes.push(format!(
        "{covered_uncap} households are within the limit of an existing site without counting capacity"
    ));
    let mut out = empty_result(params, limit_m, cover);
    out.covered_before = r.before.total;
    out.covered_after = served;
    out.pct_before = pct(r.before.total, cover.total_weight);
    out.pct_after = pct(served, cover.total_weight);
    out.sites = sites;
    out.existing = ex_sites
        .iter()
        .enumerate()
        .map(|(s, x)| ExistingSite {
            facility_id: x.id.clone(),
            lon: x.lon,
            lat: x.lat,
            capacity: ex_caps[s],
            reach: ex_reach[s].demand.iter().map(|&d| weight[d as usize]).sum(),
            served_before: Some(r.before.site_served[s]),
            served_after: Some(r.after.site_served[s]),
        })
        .collect();
    out.solver = rep;
    out.candidates_placed = candidates.placed.len();
    out.groups = m.n_groups();
    out.notes = notes;
    out.seconds_cover = seconds_cover;
    out.seconds_solve = t1.elapsed().as_secs_f64();
    debug_assert_eq!(out.model, Model::Capacitated);
    Ok(out)
}

/// Per-building accessibility of one kind (see [`super::access`]).
#[derive(Clone, Debug, PartialEq)]
pub struct AccessScores {
    pub decay: super::access::Decay,
    pub limit_m: f64,
    /// Per engine building: score per 1 000 households; `None` when not placed on the network.
    pub building: Vec<Option<f64>>,
    /// Per existing site: id, location, supply, supply per household in its catchment, and the
    /// households it reaches.
    pub sites: Vec<AccessSite>,
    /// Sites without a capacity, counted as supply 1.
    pub unit_supply_sites: usize,
    pub notes: Vec<String>,
}

/// One supply site of [`AccessScores`].
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct AccessSite {
    pub facility_id: String,
    pub lon: f64,
    pub lat: f64,
    pub supply: f64,
    /// Supply per 1 000 (decayed) households in its catchment.
    pub ratio_per_1000: f64,
    pub reach: u64,
}

/// 2SFCA / E2SFCA scores of every building for the kind's existing sites within `minutes`;
/// `supply` by facility id (absent: 1 unit).
pub fn access_scores(
    engine: &CoverageEngine,
    existing: &KindCoverage,
    params: &SitingParams,
    supply: &HashMap<String, f64>,
    decay: super::access::Decay,
    ctl: &Control,
) -> Result<AccessScores, AlgoError> {
    let limit_m = existing.profile.limit_m(params.minutes);
    let (sites, cover) = existing_cover(engine, existing, limit_m, params, ctl)?;
    let weight: Vec<u64> = cover.demand.iter().map(|d| d.weight).collect();
    let mut unit = 0;
    let supply_of: Vec<f64> = sites
        .iter()
        .map(|s| {
            if let Some(&v) = supply.get(&s.id) {
                v
            } else {
                unit += 1;
                1.0
            }
        })
        .collect();
    let ss: Vec<super::access::SupplySite> = (0..sites.len())
        .map(|s| {
            let (demand, dist) = cover.of(s);
            super::access::SupplySite {
                demand,
                dist,
                supply: supply_of[s],
            }
        })
        .collect();
    let a = super::access::two_step(&weight, &ss, limit_m, decay);
    let mut building = vec![None; engine.buildings().len()];
    for (i, b) in engine.buildings().iter().enumerate() {
        if b.placement.is_ok() {
            building[i] = Some(0.0);
        }
    }
    for (d, p) in cover.demand.iter().enumerate() {
        for &b in &p.buildings {
            building[b as usize] = Some(a.score[d] * 1000.0);
        }
    }
    let mut notes: Vec<String> = existing.note.iter().cloned().collect();
    if unit > 0 {
        notes.push(format!(
            "{unit} of {} sites have no capacity: each counts as one unit of supply",
            sites.len()
        ));
    }
    let out_sites = sites
        .iter()
        .enumerate()
        .map(|(s, x)| AccessSite {
            facility_id: x.id.clone(),
            lon: x.lon,
            lat: x.lat,
            supply: supply_of[s],
            ratio_per_1000: a.ratio[s] * 1000.0,
            reach: ss[s].demand.iter().map(|&d| weight[d as usize]).sum(),
        })
        .collect();
    Ok(AccessScores {
        decay,
        limit_m,
        building,
        sites: out_sites,
        unit_supply_sites: unit,
        notes,
    })
}
