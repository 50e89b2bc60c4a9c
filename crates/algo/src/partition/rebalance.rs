//! Rebalancing existing grids after household counts changed: bring grids back into the band
//! while moving as few households as possible and keeping grid ids and codes stable.
//!
//! Per community, in this order (each step only touches grids still out of band):
//! 1. buildings in no grid join the adjacent grid with the fewest households;
//! 2. out-of-band grids give or take single boundary units to or from neighbours, only while
//!    that brings the pair closer to the band (a unit leaves a grid only if the grid stays
//!    connected); a building of an in-band grid moves only to rescue a neighbour;
//! 3. a grid still over the band is split; the largest piece keeps the id and code, the others
//!    get new ones (`<prefix><next number>`) — a grid holding two full grids (≥ 2·lo) is split
//!    before step 2 rather than spread over its neighbours;
//! 4. a grid still under the band merges into its smallest neighbour when the sum fits (a grid
//!    under half the lower band does so first, before borrowing: that moves fewer households);
//! 5. the full local search (with pair and neighbourhood re-cuts) handles what is left.
//!
//! Units are a compound's buildings that share a grid, so compounds that were whole stay whole.
use super::barriers::BarrierIndex;
use super::graph::Graph;
use super::outline::outlines;
use super::refine::Refiner;
use super::split::Splitter;
use super::units::{unit_of, Prepared, Unit};
use super::{Infeasible, PartitionError, PartitionInput, PartitionParams};
use gridmap_model::{BuildingId, CommunityId, CompoundId, Grid, GridId};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

/// One building that changed grid.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BuildingMove {
    pub building: BuildingId,
    /// `None` for a building that was in no grid.
    pub from: Option<GridId>,
    pub to: GridId,
    pub households: u32,
}

/// Summary of a rebalancing.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RebalanceReport {
    pub grids: usize,
    pub out_of_band_before: usize,
    pub out_of_band_after: usize,
    pub within_band_pct: f64,
    pub moved_buildings: usize,
    pub moved_households: u64,
    pub created: Vec<GridId>,
    pub removed: Vec<GridId>,
    pub infeasible: Vec<Infeasible>,
    pub seconds: f64,
}

/// Updated grids (ids and codes kept; `version` bumped and outline recomputed for changed ones),
/// the moves and the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RebalanceResult {
    pub grids: Vec<Grid>,
    pub moves: Vec<BuildingMove>,
    pub report: RebalanceReport,
}

/// Fixes grids out of band after household counts changed (see the module docs).
///
/// Two grids of six buildings of 50 households; a correction gives the westmost building 70
/// households more, so the west grid (370) leaves the band of 300 ± 20 %, and its eastmost
/// building moves to the east grid (320 and 350):
///
/// ```
/// use geo_types::{LineString, MultiPolygon, Polygon};
/// use gridmap_algo::partition::{rebalance, PartitionInput, PartitionParams};
/// use gridmap_model::{Building, BuildingId, CommunityId, Grid, GridId, HouseholdSource};
/// let square = |x: f64| MultiPolygon(vec![Polygon::new(LineString::from(vec![
///     (x, 39.9), (x + 0.0003, 39.9), (x + 0.0003, 39.9003), (x, 39.9003), (x, 39.9)]), vec![])]);
/// let mut buildings: Vec<Building> = (0..12).map(|i| Building {
///     id: BuildingId::new(format!("b{i}")), name: None, building_type: None, address: None,
///     footprint: square(116.3 + f64::from(i) * 0.0005), entrance: None, levels: None,
///     households: 50, households_source: HouseholdSource::Imported, elderly: None,
///     steward: None, compound: None, community: Some(CommunityId::new("c1")),
/// }).collect();
/// let grid = |id: &str, range: std::ops::Range<usize>| Grid {
///     id: GridId::new(id), code: id.to_uppercase(), name: None, community: Some(CommunityId::new("c1")),
///     buildings: range.map(|i| BuildingId::new(format!("b{i}"))).collect(),
///     leads: vec![], boundary: None, version: 1,
/// };
/// let grids = [grid("west", 0..6), grid("east", 6..12)];
/// buildings[0].households = 120;
/// let input = PartitionInput { buildings: &buildings, ..PartitionInput::default() };
/// let r = rebalance(&input, &grids, &PartitionParams::new(300.0, 0.2)).unwrap();
/// assert_eq!((r.report.out_of_band_before, r.report.out_of_band_after), (1, 0));
/// assert_eq!(r.moves.len(), 1);
/// assert_eq!((r.moves[0].building.as_str(), r.moves[0].to.as_str()), ("b5", "east"));
/// // every building is still in exactly one grid
/// let mut all: Vec<&BuildingId> = r.grids.iter().flat_map(|g| &g.buildings).collect();
/// all.sort();
/// all.dedup();
/// assert_eq!(all.len(), 12);
/// ```
pub fn rebalance(
    input: &PartitionInput<'_>,
    grids: &[Grid],
    params: &PartitionParams,
) -> Result<RebalanceResult, PartitionError> {
    let t0 = Instant::now();
    let band = params.band()?;
    let prep = Prepared::new(input)?;
    let barriers = BarrierIndex::new(input.ways, &params.barriers, &prep.proj);
    let index: HashMap<&BuildingId, usize> = prep
        .buildings
        .iter()
        .enumerate()
        .map(|(i, b)| (&b.id, i))
        .collect();
    let mut grid_of: Vec<Option<usize>> = vec![None; prep.buildings.len()];
    for (gi, g) in grids.iter().enumerate() {
        for id in &g.buildings {
            let &i = index
                .get(id)
                .ok_or_else(|| PartitionError::UnknownBuilding {
                    grid: g.code.clone(),
                    building: id.clone(),
                })?;
            if let Some(other) = grid_of[i] {
                return Err(PartitionError::BuildingInTwoGrids {
                    building: id.clone(),
                    first: grids[other].code.clone(),
                    second: g.code.clone(),
                });
            }
            grid_of[i] = Some(gi);
        }
    }
    let households_of = |m: &[usize]| -> u64 {
        m.iter()
            .map(|&i| u64::from(prep.buildings[i].households))
            .sum()
    };
    let mut before: Vec<Vec<usize>> = vec![Vec::new(); grids.len()];
    for (i, g) in grid_of.iter().enumerate() {
        if let Some(g) = g {
            before[*g].push(i);
        }
    }
    let out_of_band_before = before
        .iter()
        .filter(|m| !m.is_empty() && !band.contains(households_of(m)))
        .count();

    let mut codes: HashSet<String> = grids.iter().map(|g| g.code.clone()).collect();
    let mut ids: HashSet<GridId> = grids.iter().map(|g| g.id.clone()).collect();
    let mut owner_taken = vec![false; grids.len()];
    // Final grids: (template grid index or None, community, members, code to number after).
    let mut result: Vec<Pending> = Vec::new();
    let mut infeasible = Vec::new();
    for (gi, group) in prep.groups.iter().enumerate() {
        // Units: a compound's buildings in one grid stay together.
        let mut keyed: BTreeMap<(Option<usize>, Option<&CompoundId>), Vec<usize>> = BTreeMap::new();
        let mut singles = Vec::new();
        for &i in &group.buildings {
            match &prep.buildings[i].compound {
                Some(c) => keyed.entry((grid_of[i], Some(c))).or_default().push(i),
                None => singles.push(i),
            }
        }
        let mut units: Vec<Unit> = keyed.into_values().map(|m| unit_of(&prep, m)).collect();
        units.extend(singles.into_iter().map(|i| unit_of(&prep, vec![i])));
        let pts: Vec<(f64, f64)> = units.iter().map(|u| (u.x, u.y)).collect();
        let w: Vec<u64> = units.iter().map(|u| u.households).collect();
        let g = Graph::delaunay(&pts, &barriers);

        // Slots: the grids present in this community, in input order.
        let mut slot_grid: Vec<usize> =
            units.iter().filter_map(|u| grid_of[u.members[0]]).collect();
        slot_grid.sort_unstable();
        slot_grid.dedup();
        let slot_of: HashMap<usize, usize> =
            slot_grid.iter().enumerate().map(|(s, &g)| (g, s)).collect();
        let mut parts: Vec<Vec<u32>> = vec![Vec::new(); slot_grid.len()];
        let mut assigned: Vec<Option<usize>> = vec![None; units.len()];
        for (u, unit) in units.iter().enumerate() {
            if let Some(s) = grid_of[unit.members[0]].and_then(|g| slot_of.get(&g).copied()) {
                parts[s].push(u as u32);
                assigned[u] = Some(s);
            }
        }
        let mut splitter = Splitter::new(
            &g,
            &w,
            &pts,
            band,
            params.barrier_penalty_m,
            params.tries,
            params.seed ^ gi as u64,
        );
        if parts.is_empty() {
            // No grid yet in this community: cut it from scratch.
            let total: u64 = w.iter().sum();
            parts = splitter.partition((0..units.len() as u32).collect(), band.grid_count(total));
        } else {
            attach_unassigned(&g, &w, &mut parts, &mut assigned);
        }
        let n_slots = slot_grid.len();
        let mut refiner = Refiner::new(&g, &w, &pts, band, &mut splitter, parts);
        // A grid under half the lower band moves fewer households by merging than by borrowing.
        merge_under(&mut refiner, band.lo / 2.0, band.hi);
        // A grid that holds two full grids is split rather than spread over its neighbours
        // (which would push them all to the upper edge of the band).
        split_over(&mut refiner, 2.0 * band.lo, &band);
        refiner.search(64, false);
        split_over(&mut refiner, band.hi, &band);
        merge_under(&mut refiner, band.lo, band.hi);
        refiner.search(64, true);
        let slots = refiner.into_parts();
        let mut out_now = 0;
        for (s, members) in slots.into_iter().enumerate() {
            let buildings: Vec<usize> = members
                .iter()
                .flat_map(|&u| units[u as usize].members.iter().copied())
                .collect();
            let template = slot_grid.get(s).copied().filter(|_| s < n_slots);
            let template = match template {
                Some(t) if !owner_taken[t] => {
                    owner_taken[t] = true;
                    Some(t)
                }
                // A grid present in two communities: the second piece becomes a new grid.
                Some(t) => {
                    result.push((
                        None,
                        group.community.clone(),
                        buildings.clone(),
                        Some(grids[t].code.clone()),
                    ));
                    out_now += usize::from(
                        !buildings.is_empty() && !band.contains(households_of(&buildings)),
                    );
                    continue;
                }
                None => None,
            };
            if buildings.is_empty() && template.is_none() {
                continue;
            }
            out_now +=
                usize::from(!buildings.is_empty() && !band.contains(households_of(&buildings)));
            let base = template
                .or_else(|| slot_grid.first().copied())
                .map(|t| grids[t].code.clone());
            result.push((template, group.community.clone(), buildings, base));
        }
        if out_now > 0 {
            infeasible.push(Infeasible {
                community: group.community.clone(),
                reason: format!("{out_now} grid(s) remain out of band after rebalancing"),
            });
        }
    }

    // Grids, moves, outlines.
    let mut new_grid_of: Vec<Option<GridId>> = vec![None; prep.buildings.len()];
    let mut out_grids = Vec::new();
    let mut created = Vec::new();
    let mut removed = Vec::new();
    let boundaries: HashMap<&CommunityId, &geo_types::MultiPolygon<f64>> = input
        .communities
        .iter()
        .filter_map(|c| c.boundary.as_ref().map(|b| (&c.id, b)))
        .collect();
    for (template, community, mut members, base) in result {
        members.sort_unstable();
        let grid = match template {
            Some(t) if members.is_empty() => {
                removed.push(grids[t].id.clone());
                continue;
            }
            Some(t) => {
                let mut g = grids[t].clone();
                let mut old = before[t].clone();
                old.sort_unstable();
                if old != members {
                    g.version += 1;
                    g.boundary = None;
                }
                g.buildings = members
                    .iter()
                    .map(|&i| prep.buildings[i].id.clone())
                    .collect();
                g
            }
            None => {
                let prefix_from = base.unwrap_or_else(|| {
                    community
                        .as_ref()
                        .map_or("NC-01".to_owned(), |c| format!("{c}-01"))
                });
                let code = next_code(&prefix_from, &codes);
                codes.insert(code.clone());
                let mut id = GridId::new(code.clone());
                let mut n = 2;
                while ids.contains(&id) {
                    id = GridId::new(format!("{code}#{n}"));
                    n += 1;
                }
                ids.insert(id.clone());
                created.push(id.clone());
                Grid {
                    id,
                    code,
                    name: None,
                    community: community.clone(),
                    buildings: members
                        .iter()
                        .map(|&i| prep.buildings[i].id.clone())
                        .collect(),
                    leads: Vec::new(),
                    boundary: None,
                    version: 1,
                }
            }
        };
        for &i in &members {
            new_grid_of[i] = Some(grid.id.clone());
        }
        out_grids.push((members, grid));
    }
    if params.outlines {
        // One Voronoi diagram per community with changed grids.
        for group in &prep.groups {
            let todo: Vec<usize> = (0..out_grids.len())
                .filter(|&k| {
                    out_grids[k].1.boundary.is_none() && out_grids[k].1.community == group.community
                })
                .collect();
            if todo.is_empty() {
                continue;
            }
            let members: Vec<Vec<usize>> = todo.iter().map(|&k| out_grids[k].0.clone()).collect();
            let boundary = group
                .community
                .as_ref()
                .and_then(|c| boundaries.get(c).copied());
            for (k, o) in
                todo.into_iter()
                    .zip(outlines(&prep, &group.buildings, &members, boundary))
            {
                out_grids[k].1.boundary = Some(o);
            }
        }
    }
    let moves: Vec<BuildingMove> = (0..prep.buildings.len())
        .filter_map(|i| {
            let from = grid_of[i].map(|g| grids[g].id.clone());
            let to = new_grid_of[i].clone()?;
            (from.as_ref() != Some(&to)).then(|| BuildingMove {
                building: prep.buildings[i].id.clone(),
                from,
                to,
                households: prep.buildings[i].households,
            })
        })
        .collect();
    let n = out_grids.len();
    let in_band = out_grids
        .iter()
        .filter(|(m, _)| band.contains(households_of(m)))
        .count();
    let report = RebalanceReport {
        grids: n,
        out_of_band_before,
        out_of_band_after: n - in_band,
        within_band_pct: if n == 0 {
            100.0
        } else {
            (10_000.0 * in_band as f64 / n as f64).round() / 100.0
        },
        moved_buildings: moves.len(),
        moved_households: moves.iter().map(|m| u64::from(m.households)).sum(),
        created,
        removed,
        infeasible,
        seconds: t0.elapsed().as_secs_f64(),
    };
    Ok(RebalanceResult {
        grids: out_grids.into_iter().map(|(_, g)| g).collect(),
        moves,
        report,
    })
}

/// A grid of the result before ids are settled: the input grid it continues (if any), its
/// community, its buildings and the code a new grid is numbered after.
type Pending = (
    Option<usize>,
    Option<CommunityId>,
    Vec<usize>,
    Option<String>,
);

/// Splits every slot above `above` households into the count its households call for.
fn split_over(refiner: &mut Refiner<'_, '_>, above: f64, band: &super::Band) {
    for p in 0..refiner.weights().len() {
        let hh = refiner.weights()[p];
        if hh as f64 > above && hh as f64 > band.hi {
            let k = band.grid_count(hh);
            if k >= 2 {
                refiner.split(p, k);
            }
        }
    }
}

/// Merges every non-empty slot under `below` households into its smallest neighbour when the
/// sum stays within `hi`; the grid with more households keeps its id.
fn merge_under(refiner: &mut Refiner<'_, '_>, below: f64, hi: f64) {
    for p in 0..refiner.weights().len() {
        let hh = refiner.weights()[p];
        if refiner.is_empty(p) || hh as f64 >= below {
            continue;
        }
        let mut nbrs = refiner.neighbours_of(p);
        nbrs.sort_by_key(|&q| (refiner.weights()[q], q));
        if let Some(&q) = nbrs
            .iter()
            .find(|&&q| (refiner.weights()[q] + hh) as f64 <= hi)
        {
            let (keep, gone) = if refiner.weights()[q] >= hh {
                (q, p)
            } else {
                (p, q)
            };
            refiner.merge(keep, gone);
        }
    }
}

/// Buildings in no grid join the adjacent grid with the fewest households, wave by wave.
pub(crate) fn attach_unassigned(
    g: &Graph,
    w: &[u64],
    parts: &mut [Vec<u32>],
    assigned: &mut [Option<usize>],
) {
    let mut pw: Vec<u64> = parts
        .iter()
        .map(|p| p.iter().map(|&u| w[u as usize]).sum())
        .collect();
    loop {
        let mut changed = false;
        for u in 0..assigned.len() {
            if assigned[u].is_some() {
                continue;
            }
            let best = g
                .neighbours(u)
                .iter()
                .filter_map(|&(v, _)| assigned[v as usize])
                .min_by_key(|&s| (pw[s], s));
            if let Some(s) = best {
                assigned[u] = Some(s);
                parts[s].push(u as u32);
                pw[s] += w[u];
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}

/// The next free code after `base`'s pattern: `MC-03` → `MC-<max+1>` (same width), else
/// `base-2`, `base-3`, ….
#[allow(clippy::maybe_infinite_iter)] // `taken` is finite: some suffix is free
fn next_code(base: &str, taken: &HashSet<String>) -> String {
    let digits = base.chars().rev().take_while(char::is_ascii_digit).count();
    if digits > 0 {
        let prefix = &base[..base.len() - digits];
        let max = taken
            .iter()
            .filter_map(|c| c.strip_prefix(prefix))
            .filter(|rest| !rest.is_empty() && rest.chars().all(|ch| ch.is_ascii_digit()))
            .filter_map(|rest| rest.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        let mut n = max + 1;
        loop {
            let code = format!("{prefix}{n:0digits$}");
            if !taken.contains(&code) {
                return code;
            }
            n += 1;
        }
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|c| !taken.contains(c))
        .unwrap_or_else(|| format!("{base}-new"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_codes_continue_the_numbering_of_the_community() {
        let taken: HashSet<String> = ["MC-01", "MC-02", "MC-07", "X"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(next_code("MC-02", &taken), "MC-08");
        assert_eq!(next_code("X", &taken), "X-2");
        assert_eq!(next_code("G9", &HashSet::from(["G9".to_owned()])), "G10");
    }
}
