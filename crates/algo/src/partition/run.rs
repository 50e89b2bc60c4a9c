//! The automatic partition: per community, units → Delaunay graph → spanning-tree bisection →
//! local search → grids with figures.
use super::barriers::BarrierIndex;
use super::codes::CodeBook;
use super::graph::Graph;
use super::metrics::{connectivity, hull_polsby_popper};
use super::outline::outlines;
use super::rebalance::attach_unassigned;
use super::refine::Refiner;
use super::split::Splitter;
use super::units::{make_units, Group, Prepared, Unit};
use super::{
    Band, Infeasible, PartitionError, PartitionInput, PartitionParams, PartitionReport,
    PartitionResult, ProposedGrid,
};
use gridmap_model::{CommunityId, CompoundId, Progress};
use std::collections::HashMap;
use std::time::Instant;

/// Distance beyond which a cluster of buildings counts as a separate island, in metres.
pub const ISLAND_GAP_M: f64 = 1_000.0;

/// Cuts every community into contiguous grids of about `params.target` households.
///
/// Every building lands in exactly one grid; no grid holds buildings of two communities. A
/// community that cannot be banded still gets its best-effort grids and an [`Infeasible`] entry
/// saying why. Errors only on invalid parameters or unusable input (duplicate ids, buildings
/// without geometry).
///
/// Twelve buildings of 50 households in a row, one community, grids of about 300:
///
/// ```
/// use geo_types::{LineString, MultiPolygon, Polygon};
/// use gridmap_algo::partition::{partition, PartitionInput, PartitionParams};
/// use gridmap_model::{Building, BuildingId, CommunityId, HouseholdSource};
/// let square = |x: f64| MultiPolygon(vec![Polygon::new(LineString::from(vec![
///     (x, 39.9), (x + 0.0003, 39.9), (x + 0.0003, 39.9003), (x, 39.9003), (x, 39.9)]), vec![])]);
/// let buildings: Vec<Building> = (0..12).map(|i| Building {
///     id: BuildingId::new(format!("b{i}")), name: None, building_type: None, address: None,
///     footprint: square(116.3 + f64::from(i) * 0.0005), entrance: None, levels: None,
///     households: 50, households_source: HouseholdSource::Imported, elderly: None,
///     steward: None, compound: None, community: Some(CommunityId::new("c1")),
/// }).collect();
/// let input = PartitionInput { buildings: &buildings, ..PartitionInput::default() };
/// let r = partition(&input, &PartitionParams::default()).unwrap();
/// assert_eq!(r.grids.len(), 2);
/// assert!(r.grids.iter().all(|g| g.households == 300 && g.in_band && g.contiguous));
/// assert_eq!(r.assignment().count(), 12); // every building in exactly one grid
/// // a target of 0 households is refused, naming the parameter
/// assert!(partition(&input, &PartitionParams::new(0.0, 0.15)).is_err());
/// ```
pub fn partition(
    input: &PartitionInput<'_>,
    params: &PartitionParams,
) -> Result<PartitionResult, PartitionError> {
    partition_with_progress(input, params, &Progress::none())
}

/// [`partition`] reporting community groups done / total to `progress`, and stopping with
/// [`PartitionError::Cancelled`] before the next group once `progress` is cancelled.
///
/// ```
/// use gridmap_algo::partition::{partition_with_progress, PartitionError, PartitionInput, PartitionParams};
/// let p = gridmap_model::Progress::new();
/// partition_with_progress(&PartitionInput::default(), &PartitionParams::default(), &p).unwrap();
/// assert_eq!(p.fraction(), 1.0);
/// p.cancel();
/// let e = partition_with_progress(&PartitionInput::default(), &PartitionParams::default(), &p);
/// assert_eq!(e.unwrap_err(), PartitionError::Cancelled);
/// ```
pub fn partition_with_progress(
    input: &PartitionInput<'_>,
    params: &PartitionParams,
    progress: &Progress,
) -> Result<PartitionResult, PartitionError> {
    let t0 = Instant::now();
    if progress.is_cancelled() {
        return Err(PartitionError::Cancelled);
    }
    let band = params.band()?;
    let prep = Prepared::new(input)?;
    let barriers = BarrierIndex::new(input.ways, &params.barriers, &prep.proj);
    let boundaries: HashMap<&CommunityId, &geo_types::MultiPolygon<f64>> = input
        .communities
        .iter()
        .filter_map(|c| c.boundary.as_ref().map(|b| (&c.id, b)))
        .collect();
    let codes = CodeBook::new(
        input.communities,
        prep.groups.iter().filter_map(|g| g.community.as_ref()),
    );
    let total = prep.groups.len() as u64;
    let done = std::sync::atomic::AtomicU64::new(0);
    // Communities are cut independently (each with its own seed), in parallel; the results are
    // joined in community order, so the answer does not depend on the thread count.
    use rayon::prelude::*;
    let per_group: Vec<Result<GroupResult, PartitionError>> = prep
        .groups
        .par_iter()
        .enumerate()
        .map(|(gi, group)| {
            if progress.is_cancelled() {
                return Err(PartitionError::Cancelled);
            }
            let seed = params.seed ^ (gi as u64).wrapping_mul(0x2545_F491_4F6C_DD1D);
            let mut infeasible = Vec::new();
            let mut stats = Stats::default();
            let mut made = partition_group(
                &prep,
                group,
                &band,
                params,
                &barriers,
                &codes,
                seed,
                &mut infeasible,
                &mut stats,
            );
            if params.outlines {
                let members: Vec<Vec<usize>> = made.iter().map(|(m, _)| m.clone()).collect();
                let boundary = group
                    .community
                    .as_ref()
                    .and_then(|c| boundaries.get(c).copied());
                for ((_, g), o) in
                    made.iter_mut()
                        .zip(outlines(&prep, &group.buildings, &members, boundary))
                {
                    g.outline = Some(o);
                }
            }
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress.step(n, total);
            Ok((
                made.into_iter().map(|(_, g)| g).collect(),
                infeasible,
                stats,
            ))
        })
        .collect();
    let mut grids = Vec::new();
    let mut infeasible = Vec::new();
    let mut stats = Stats::default();
    for r in per_group {
        let (g, inf, st) = r?;
        grids.extend(g);
        infeasible.extend(inf);
        stats.contiguous += st.contiguous;
    }
    progress.step(total, total);
    let compounds_split = compounds_split(&prep, &grids);
    let report = report(
        &grids,
        prep.buildings.len(),
        compounds_split,
        infeasible,
        t0.elapsed().as_secs_f64(),
        &stats,
    );
    Ok(PartitionResult { grids, report })
}

/// One community's grids, its infeasibility notes and its statistics.
type GroupResult = (Vec<ProposedGrid>, Vec<Infeasible>, Stats);

#[derive(Default)]
struct Stats {
    contiguous: usize,
}

#[allow(clippy::too_many_arguments)]
fn partition_group(
    prep: &Prepared<'_>,
    group: &Group,
    band: &Band,
    params: &PartitionParams,
    barriers: &BarrierIndex,
    codes: &CodeBook,
    seed: u64,
    infeasible: &mut Vec<Infeasible>,
    stats: &mut Stats,
) -> Vec<(Vec<usize>, ProposedGrid)> {
    let units: Vec<Unit> = make_units(prep, &group.buildings, band);
    let pts: Vec<(f64, f64)> = units.iter().map(|u| (u.x, u.y)).collect();
    let w: Vec<u64> = units.iter().map(|u| u.households).collect();
    let g = Graph::delaunay(&pts, barriers);
    let total: u64 = w.iter().sum();
    let k = band.grid_count_for_units(w.iter().copied());
    let name = group.community.as_ref().map_or_else(
        || "buildings without community".to_owned(),
        |c| format!("community '{c}'"),
    );
    let mut note = |reason: String| {
        infeasible.push(Infeasible {
            community: group.community.clone(),
            reason,
        });
    };
    if (total as f64) < band.lo {
        note(format!(
            "{name} has {total} households, below the lower band {:.0}: one grid",
            band.lo
        ));
    } else if band.feasible_counts(total).is_none() {
        note(format!(
            "{name} has {total} households, which no number of grids of {:.0}..{:.0} adds up to: {k} grid(s)",
            band.lo, band.hi
        ));
    }
    let mut oversize = 0;
    for (u, unit) in units.iter().enumerate() {
        if unit.households as f64 > band.hi {
            oversize += 1;
            let b = &prep.buildings[unit.members[0]];
            note(format!(
                "building '{}' alone has {} households, above the upper band {:.0}",
                b.id, w[u], band.hi
            ));
        }
    }
    islands(&g, &w, band, &units, prep, &mut note);

    let mut splitter = Splitter::new(
        &g,
        &w,
        &pts,
        *band,
        params.barrier_penalty_m,
        params.tries,
        seed,
    );
    // A unit above the band is a grid of its own; the rest is cut into the remaining count.
    let (big, rest): (Vec<u32>, Vec<u32>) =
        (0..units.len() as u32).partition(|&u| w[u as usize] as f64 > band.hi);
    let mut parts: Vec<Vec<u32>> = big.iter().map(|&u| vec![u]).collect();
    if !rest.is_empty() {
        let k_rest = k.saturating_sub(big.len());
        if k_rest == 0 {
            // The rest is too small for a grid: it joins the adjacent oversize grids.
            let mut assigned: Vec<Option<usize>> = vec![None; units.len()];
            for (i, &u) in big.iter().enumerate() {
                assigned[u as usize] = Some(i);
            }
            attach_unassigned(&g, &w, &mut parts, &mut assigned);
        } else {
            parts.extend(splitter.partition(rest, k_rest));
        }
    }
    let mut refiner = Refiner::new(&g, &w, &pts, *band, &mut splitter, parts);
    refiner.search(4 * k + 16, true);
    let parts: Vec<Vec<u32>> = refiner
        .into_parts()
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect();
    let out_of_band = parts
        .iter()
        .filter(|p| !band.contains(p.iter().map(|&u| w[u as usize]).sum()))
        .count();
    if out_of_band > oversize && band.feasible_counts(total).is_some() && (total as f64) >= band.lo
    {
        note(format!(
            "{name}: {out_of_band} of {} grids stay out of band after local search",
            parts.len()
        ));
    }

    // Codes numbered in reading order: rows of ~400 m from north to south, west to east.
    let mut order: Vec<(i64, f64, usize)> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let n = p.len().max(1) as f64;
            let (x, y) = p.iter().fold((0.0, 0.0), |a, &u| {
                (a.0 + pts[u as usize].0 / n, a.1 + pts[u as usize].1 / n)
            });
            ((-y / 400.0).floor() as i64, x, i)
        })
        .collect();
    order.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut in_part = vec![false; units.len()];
    let mut seen = vec![false; units.len()];
    let mut out = Vec::with_capacity(parts.len());
    for (n, &(_, _, i)) in order.iter().enumerate() {
        let p = &parts[i];
        for &u in p {
            in_part[u as usize] = true;
        }
        let (comps, free) = connectivity(&g, p, &in_part, &mut seen);
        for &u in p {
            in_part[u as usize] = false;
        }
        let mut members: Vec<usize> = p
            .iter()
            .flat_map(|&u| units[u as usize].members.iter().copied())
            .collect();
        members.sort_unstable();
        let households = members
            .iter()
            .map(|&b| u64::from(prep.buildings[b].households))
            .sum();
        let compactness =
            hull_polsby_popper(members.iter().map(|&b| &prep.buildings[b]), &prep.proj);
        stats.contiguous += usize::from(comps == 1);
        let (code, grid_name) = codes.grid(group.community.as_ref(), n + 1, parts.len(), params);
        let grid = ProposedGrid {
            code,
            name: grid_name,
            community: group.community.clone(),
            buildings: members
                .iter()
                .map(|&b| prep.buildings[b].id.clone())
                .collect(),
            households,
            in_band: band.contains(households),
            contiguous: comps == 1,
            compactness,
            crosses_barrier: free > 1,
            outline: None,
        };
        out.push((members, grid));
    }
    out
}

/// Notes clusters farther than [`ISLAND_GAP_M`] from the rest that are too small for a grid.
fn islands(
    g: &Graph,
    w: &[u64],
    band: &Band,
    units: &[Unit],
    prep: &Prepared<'_>,
    note: &mut impl FnMut(String),
) {
    let n = g.len();
    let mut comp = vec![u32::MAX; n];
    let mut count = 0u32;
    for s in 0..n {
        if comp[s] != u32::MAX {
            continue;
        }
        let (mut stack, mut hh, mut size) = (vec![s], 0u64, 0usize);
        comp[s] = count;
        while let Some(u) = stack.pop() {
            hh += w[u];
            size += 1;
            for &(v, e) in g.neighbours(u) {
                if comp[v as usize] == u32::MAX && g.edges[e as usize].len_m <= ISLAND_GAP_M {
                    comp[v as usize] = count;
                    stack.push(v as usize);
                }
            }
        }
        count += 1;
        if (hh as f64) < band.lo && size < n {
            let b = &prep.buildings[units[s].members[0]];
            note(format!(
                "an island of {size} unit(s) with {hh} households around building '{}' lies more than {ISLAND_GAP_M:.0} m from the rest and is too small for a grid of its own: joined to a neighbouring grid",
                b.id
            ));
        }
    }
}

fn compounds_split(prep: &Prepared<'_>, grids: &[ProposedGrid]) -> usize {
    let index: HashMap<&gridmap_model::BuildingId, usize> = prep
        .buildings
        .iter()
        .enumerate()
        .map(|(i, b)| (&b.id, i))
        .collect();
    let mut first: HashMap<&CompoundId, usize> = HashMap::new();
    let mut split: HashMap<&CompoundId, bool> = HashMap::new();
    for (gi, g) in grids.iter().enumerate() {
        for id in &g.buildings {
            let Some(c) = index
                .get(id)
                .and_then(|&i| prep.buildings[i].compound.as_ref())
            else {
                continue;
            };
            let f = *first.entry(c).or_insert(gi);
            if f != gi {
                split.insert(c, true);
            }
        }
    }
    split.len()
}

fn report(
    grids: &[ProposedGrid],
    buildings: usize,
    compounds_split: usize,
    infeasible: Vec<Infeasible>,
    seconds: f64,
    stats: &Stats,
) -> PartitionReport {
    let n = grids.len();
    let pct = |x: usize| {
        if n == 0 {
            100.0
        } else {
            (10_000.0 * x as f64 / n as f64).round() / 100.0
        }
    };
    PartitionReport {
        grids: n,
        buildings,
        households: grids.iter().map(|g| g.households).sum(),
        within_band_pct: pct(grids.iter().filter(|g| g.in_band).count()),
        min_households: grids.iter().map(|g| g.households).min().unwrap_or(0),
        max_households: grids.iter().map(|g| g.households).max().unwrap_or(0),
        contiguous_pct: pct(stats.contiguous),
        compounds_split,
        barrier_crossing_grids: grids.iter().filter(|g| g.crosses_barrier).count(),
        mean_compactness: if n == 0 {
            0.0
        } else {
            grids.iter().map(|g| g.compactness).sum::<f64>() / n as f64
        },
        infeasible,
        seconds,
    }
}
