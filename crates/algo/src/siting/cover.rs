//! Sparse covering sets: one bounded Dijkstra per candidate (in parallel), never a dense
//! demand × site matrix.
//!
//! **Demand points** are the placed buildings with demand > 0, merged when they sit on the same
//! network point (their walking distances are identical). Each keeps its distance to the nearest
//! *existing* site of the kind (from the engine's [`KindCoverage`], so "covered" is exactly what
//! `gridmap coverage` counts). A candidate's search is the same walk as the engine's: it starts
//! at both ends of the candidate's edge, reaches a demand point through either end of the demand
//! point's edge or straight along a shared edge, with access legs only when the engine walks them.
//!
//! [`SiteCover::matrix`] then keeps the demand not already covered by the existing (fixed-open)
//! sites within a radius and merges demand points whose candidate sets are identical (the
//! standard MCLP row reduction) into weighted groups.
use crate::coverage::{CoverageEngine, KindCoverage};
use crate::siting::candidates::PlacedCandidate;
use rayon::prelude::*;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// What a demand point weighs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DemandWeight {
    /// Households per building (the default, like coverage's headline).
    #[default]
    Households,
    /// Elderly people per building (buildings without a count weigh 0).
    Elderly,
}

/// Buildings on one network point.
#[derive(Clone, Debug)]
pub struct DemandPoint {
    pub weight: u64,
    /// Building indices (into the engine's buildings).
    pub buildings: Vec<u32>,
    /// Metres to the nearest existing site of the kind (`INFINITY` beyond the bound or none).
    pub existing_m: f64,
}

/// Per-candidate covering sets within `limit_m`, with distances.
#[derive(Clone, Debug)]
pub struct SiteCover {
    pub limit_m: f64,
    pub demand: Vec<DemandPoint>,
    /// Weight of every building, placed or not (the denominator of percentages).
    pub total_weight: u64,
    /// Weight of buildings that could not be placed on the network.
    pub unplaced_weight: u64,
    /// CSR: demand points within `limit_m` of candidate `c` are
    /// `dem[off[c]..off[c+1]]` (ascending), at `dist[..]` metres.
    off: Vec<usize>,
    dem: Vec<u32>,
    dist: Vec<f32>,
}

/// Groups of demand (identical candidate sets) and the candidates covering them: the reduced
/// MCLP instance. Weights are integers, so objective values are exact.
#[derive(Clone, Debug, Default)]
pub struct CoverMatrix {
    pub n_cand: usize,
    pub weight: Vec<u64>,
    /// Demand points of each group (into [`SiteCover::demand`]).
    pub members: Vec<Vec<u32>>,
    pub(crate) g_off: Vec<usize>,
    pub(crate) g_cand: Vec<u32>,
    pub(crate) c_off: Vec<usize>,
    pub(crate) c_grp: Vec<u32>,
}

impl CoverMatrix {
    /// Builds a matrix from explicit covering lists (candidate → groups) and group weights.
    pub fn from_lists(weight: Vec<u64>, cand_groups: &[Vec<u32>]) -> Self {
        let n_cand = cand_groups.len();
        let mut c_off = vec![0usize; n_cand + 1];
        let mut c_grp = Vec::new();
        for (c, gs) in cand_groups.iter().enumerate() {
            let mut gs = gs.clone();
            gs.sort_unstable();
            gs.dedup();
            c_grp.extend(gs);
            c_off[c + 1] = c_grp.len();
        }
        let ng = weight.len();
        let mut count = vec![0usize; ng + 1];
        for &g in &c_grp {
            count[g as usize + 1] += 1;
        }
        for g in 0..ng {
            count[g + 1] += count[g];
        }
        let g_off = count.clone();
        let mut fill = count;
        let mut g_cand = vec![0u32; c_grp.len()];
        for c in 0..n_cand {
            for &g in &c_grp[c_off[c]..c_off[c + 1]] {
                g_cand[fill[g as usize]] = c as u32;
                fill[g as usize] += 1;
            }
        }
        let members = (0..ng as u32).map(|g| vec![g]).collect();
        Self {
            n_cand,
            weight,
            members,
            g_off,
            g_cand,
            c_off,
            c_grp,
        }
    }
    pub fn groups_of(&self, c: usize) -> &[u32] {
        &self.c_grp[self.c_off[c]..self.c_off[c + 1]]
    }
    pub fn cands_of(&self, g: usize) -> &[u32] {
        &self.g_cand[self.g_off[g]..self.g_off[g + 1]]
    }
    pub fn n_groups(&self) -> usize {
        self.weight.len()
    }
    pub fn nnz(&self) -> usize {
        self.c_grp.len()
    }
    /// Total weight of groups covered by `sites`.
    pub fn value(&self, sites: &[u32]) -> u64 {
        let mut hit = vec![false; self.n_groups()];
        let mut v = 0;
        for &c in sites {
            for &g in self.groups_of(c as usize) {
                if !hit[g as usize] {
                    hit[g as usize] = true;
                    v += self.weight[g as usize];
                }
            }
        }
        v
    }
    /// Weight of the groups some candidate covers (all of them for [`SiteCover::matrix`]).
    pub fn reachable(&self) -> u64 {
        (0..self.n_groups())
            .filter(|&g| self.g_off[g + 1] > self.g_off[g])
            .map(|g| self.weight[g])
            .sum()
    }
}

struct Scratch {
    dist: Vec<f64>,
    touched: Vec<u32>,
    best: Vec<f64>,
    best_touched: Vec<u32>,
    heap: BinaryHeap<Reverse<(u64, u32)>>,
}

impl SiteCover {
    /// One bounded Dijkstra per candidate within `limit_m`; `progress(done, total)` is called
    /// every few hundred candidates, `cancel()` is polled as often (returns `None` when cancelled).
    pub fn build(
        engine: &CoverageEngine,
        existing: &KindCoverage,
        candidates: &[PlacedCandidate],
        limit_m: f64,
        weight: DemandWeight,
        progress: &(dyn Fn(u64, u64) + Sync),
        cancel: &(dyn Fn() -> bool + Sync),
    ) -> Option<Self> {
        let net = engine.network();
        let legs = engine.options().access_legs;
        let buildings = engine.buildings();
        let w_of = |i: usize| -> u64 {
            match weight {
                DemandWeight::Households => u64::from(buildings[i].households),
                DemandWeight::Elderly => u64::from(buildings[i].elderly.unwrap_or(0)),
            }
        };
        // 1. demand points
        let mut total_weight = 0u64;
        let mut unplaced_weight = 0u64;
        let mut index: HashMap<(u32, u64, u64), u32> = HashMap::new();
        let mut demand: Vec<DemandPoint> = Vec::new();
        let mut place: Vec<(u32, f64, f64)> = Vec::new(); // edge, offset, leg
        for (i, b) in buildings.iter().enumerate() {
            let w = w_of(i);
            total_weight += w;
            let Ok(s) = &b.placement else {
                unplaced_weight += w;
                continue;
            };
            if w == 0 {
                continue;
            }
            let leg = if legs { s.distance_m } else { 0.0 };
            let k = (s.edge, s.offset_m.to_bits(), leg.to_bits());
            let ex = existing.building_m.get(i).copied().unwrap_or(f64::INFINITY);
            let d = *index.entry(k).or_insert_with(|| {
                demand.push(DemandPoint {
                    weight: 0,
                    buildings: Vec::new(),
                    existing_m: f64::INFINITY,
                });
                place.push((s.edge, s.offset_m, leg));
                (demand.len() - 1) as u32
            });
            let dp = &mut demand[d as usize];
            dp.weight += w;
            dp.buildings.push(i as u32);
            dp.existing_m = dp.existing_m.min(ex);
        }
        // 2. demand attached to nodes (through either end of its edge) and to edges (same-edge walk)
        let n = net.node_count();
        let mut at_node: Vec<Vec<(u32, f64)>> = vec![Vec::new(); n];
        let mut on_edge: HashMap<u32, Vec<(u32, f64, f64)>> = HashMap::new();
        for (d, &(e, off, leg)) in place.iter().enumerate() {
            let ed = net.edge(e);
            at_node[ed.u as usize].push((d as u32, off + leg));
            at_node[ed.v as usize].push((d as u32, (ed.length_m - off).max(0.0) + leg));
            on_edge.entry(e).or_default().push((d as u32, off, leg));
        }
        let (offsets, targets, weights) = net.csr();
        let nd = demand.len();
        let done = std::sync::atomic::AtomicU64::new(0);
        let total = candidates.len() as u64;
        let cancelled = std::sync::atomic::AtomicBool::new(false);
        let lists: Vec<Vec<(u32, f32)>> = candidates
            .par_iter()
            .map_init(
                || Scratch {
                    dist: vec![f64::INFINITY; n],
                    touched: Vec::new(),
                    best: vec![f64::INFINITY; nd],
                    best_touched: Vec::new(),
                    heap: BinaryHeap::new(),
                },
                |sc, c| {
                    if cancelled.load(std::sync::atomic::Ordering::Relaxed) {
                        return Vec::new();
                    }
                    let s = &c.snap;
                    let ed = net.edge(s.edge);
                    let leg = if legs { s.distance_m } else { 0.0 };
                    let offer = |sc: &mut Scratch, d: u32, m: f64| {
                        if m <= limit_m && m < sc.best[d as usize] {
                            if sc.best[d as usize] == f64::INFINITY {
                                sc.best_touched.push(d);
                            }
                            sc.best[d as usize] = m;
                        }
                    };
                    for (node, d0) in [
                        (ed.u, leg + s.offset_m),
                        (ed.v, leg + (ed.length_m - s.offset_m).max(0.0)),
                    ] {
                        let i = node as usize;
                        if d0 <= limit_m && d0 < sc.dist[i] {
                            if sc.dist[i] == f64::INFINITY {
                                sc.touched.push(node);
                            }
                            sc.dist[i] = d0;
                            sc.heap.push(Reverse((d0.to_bits(), node)));
                        }
                    }
                    while let Some(Reverse((bits, x))) = sc.heap.pop() {
                        let d = f64::from_bits(bits);
                        let xi = x as usize;
                        if d > sc.dist[xi] {
                            continue;
                        }
                        for &(dp, extra) in &at_node[xi] {
                            offer(sc, dp, d + extra);
                        }
                        for k in offsets[xi] as usize..offsets[xi + 1] as usize {
                            let y = targets[k] as usize;
                            let nd = d + weights[k];
                            if nd <= limit_m && nd < sc.dist[y] {
                                if sc.dist[y] == f64::INFINITY {
                                    sc.touched.push(y as u32);
                                }
                                sc.dist[y] = nd;
                                sc.heap.push(Reverse((nd.to_bits(), y as u32)));
                            }
                        }
                    }
                    if let Some(list) = on_edge.get(&s.edge) {
                        for &(dp, off, bleg) in list {
                            offer(sc, dp, leg + (off - s.offset_m).abs() + bleg);
                        }
                    }
                    for &x in &sc.touched {
                        sc.dist[x as usize] = f64::INFINITY;
                    }
                    sc.touched.clear();
                    let mut out: Vec<(u32, f32)> = sc
                        .best_touched
                        .iter()
                        .map(|&d| (d, sc.best[d as usize] as f32))
                        .collect();
                    for &d in &sc.best_touched {
                        sc.best[d as usize] = f64::INFINITY;
                    }
                    sc.best_touched.clear();
                    out.sort_unstable_by_key(|p| p.0);
                    let k = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                    if k.is_multiple_of(256) || k == total {
                        progress(k, total);
                        if cancel() {
                            cancelled.store(true, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                    out
                },
            )
            .collect();
        if cancelled.load(std::sync::atomic::Ordering::Relaxed) {
            return None;
        }
        let mut off = Vec::with_capacity(lists.len() + 1);
        off.push(0);
        let nnz: usize = lists.iter().map(Vec::len).sum();
        let (mut dem, mut dist) = (Vec::with_capacity(nnz), Vec::with_capacity(nnz));
        for l in lists {
            for (d, m) in l {
                dem.push(d);
                dist.push(m);
            }
            off.push(dem.len());
        }
        Some(Self {
            limit_m,
            demand,
            total_weight,
            unplaced_weight,
            off,
            dem,
            dist,
        })
    }

    pub fn n_cand(&self) -> usize {
        self.off.len() - 1
    }
    /// Demand points within the limit of candidate `c`, with metres.
    pub fn of(&self, c: usize) -> (&[u32], &[f32]) {
        let r = self.off[c]..self.off[c + 1];
        (&self.dem[r.clone()], &self.dist[r])
    }
    pub fn nnz(&self) -> usize {
        self.dem.len()
    }
    /// Weight covered by the existing sites within `radius_m`.
    pub fn covered_before(&self, radius_m: f64) -> u64 {
        self.demand
            .iter()
            .filter(|d| d.existing_m <= radius_m)
            .map(|d| d.weight)
            .sum()
    }

    /// The reduced MCLP instance at `radius_m` (≤ the limit): demand not covered by the existing
    /// sites within the radius, covered by at least one candidate, grouped by candidate set.
    pub fn matrix(&self, radius_m: f64) -> CoverMatrix {
        let nd = self.demand.len();
        let nc = self.n_cand();
        let open: Vec<bool> = self
            .demand
            .iter()
            .map(|d| {
                d.existing_m
                    .partial_cmp(&radius_m)
                    .is_none_or(|o| o == std::cmp::Ordering::Greater)
            })
            .collect();
        // transpose: demand -> candidates
        let mut cnt = vec![0usize; nd + 1];
        for c in 0..nc {
            let (ds, ms) = self.of(c);
            for (d, m) in ds.iter().zip(ms) {
                if open[*d as usize] && f64::from(*m) <= radius_m {
                    cnt[*d as usize + 1] += 1;
                }
            }
        }
        for d in 0..nd {
            cnt[d + 1] += cnt[d];
        }
        let mut fill = cnt.clone();
        let mut dc = vec![0u32; cnt[nd]];
        for c in 0..nc {
            let (ds, ms) = self.of(c);
            for (d, m) in ds.iter().zip(ms) {
                if open[*d as usize] && f64::from(*m) <= radius_m {
                    dc[fill[*d as usize]] = c as u32;
                    fill[*d as usize] += 1;
                }
            }
        }
        // group identical candidate lists (lists are ascending by construction)
        let mut group_of: HashMap<&[u32], u32> = HashMap::new();
        let mut weight = Vec::new();
        let mut members: Vec<Vec<u32>> = Vec::new();
        let mut g_lists: Vec<&[u32]> = Vec::new();
        for d in 0..nd {
            let list = &dc[cnt[d]..cnt[d + 1]];
            if list.is_empty() {
                continue;
            }
            let g = *group_of.entry(list).or_insert_with(|| {
                weight.push(0);
                members.push(Vec::new());
                g_lists.push(list);
                (weight.len() - 1) as u32
            });
            weight[g as usize] += self.demand[d].weight;
            members[g as usize].push(d as u32);
        }
        let ng = weight.len();
        let mut g_off = vec![0usize; ng + 1];
        let mut g_cand = Vec::new();
        for (g, l) in g_lists.iter().enumerate() {
            g_cand.extend_from_slice(l);
            g_off[g + 1] = g_cand.len();
        }
        let mut c_cnt = vec![0usize; nc + 1];
        for &c in &g_cand {
            c_cnt[c as usize + 1] += 1;
        }
        for c in 0..nc {
            c_cnt[c + 1] += c_cnt[c];
        }
        let c_off = c_cnt.clone();
        let mut fill = c_cnt;
        let mut c_grp = vec![0u32; g_cand.len()];
        for g in 0..ng {
            for &c in &g_cand[g_off[g]..g_off[g + 1]] {
                c_grp[fill[c as usize]] = g as u32;
                fill[c as usize] += 1;
            }
        }
        CoverMatrix {
            n_cand: nc,
            weight,
            members,
            g_off,
            g_cand,
            c_off,
            c_grp,
        }
    }
}
