//! Recursive spanning-tree bisection (GerryChain `recursive_tree_part`, ReCom, SKATER).
//!
//! A region that must hold `k` grids is split by one edge of a spanning tree: every tree edge
//! separates the region into two connected sides, and one pass over the tree gives all side
//! weights. A cut is *feasible* when the sides can hold `k₁` and `k − k₁` grids in band
//! (`k₁·lo ≤ s ≤ k₁·hi` and likewise for the rest). The first tree is the minimum spanning tree on
//! metres plus barrier penalty (cuts then fall on barriers and long gaps); when it has no feasible
//! cut, trees on randomly perturbed costs are tried. Without any feasible cut the least-violating
//! cut is taken and [`super::refine`] repairs the result.
use super::graph::Graph;
use super::rng::Rng;
use super::Band;

const NONE: u32 = u32::MAX;

/// Splits connected regions of a graph into contiguous parts of balanced weight.
pub(crate) struct Splitter<'a> {
    g: &'a Graph,
    w: &'a [u64],
    pts: &'a [(f64, f64)],
    band: Band,
    penalty_m: f64,
    tries: usize,
    rng: Rng,
    local: Vec<u32>,
}

/// The cut chosen in one tree.
#[derive(Clone, Copy, Debug)]
struct Cut {
    node: usize,
    k1: usize,
    score: f64,
}

impl<'a> Splitter<'a> {
    /// `pts` are the node positions in metres (for the compactness of cuts).
    pub(crate) fn new(
        g: &'a Graph,
        w: &'a [u64],
        pts: &'a [(f64, f64)],
        band: Band,
        penalty_m: f64,
        tries: usize,
        seed: u64,
    ) -> Self {
        Self {
            g,
            w,
            pts,
            band,
            penalty_m,
            tries: tries.max(1),
            rng: Rng::new(seed),
            local: vec![NONE; g.len()],
        }
    }

    /// Splits `region` into (at most) `k` contiguous parts; fewer only when it has fewer nodes.
    pub(crate) fn partition(&mut self, region: Vec<u32>, k: usize) -> Vec<Vec<u32>> {
        let mut out = Vec::with_capacity(k);
        let mut stack = Vec::new();
        for (part, kk) in self.components(region, k) {
            stack.push((part, kk));
        }
        while let Some((region, k)) = stack.pop() {
            let k = k.min(region.len()).max(1);
            if k == 1 {
                out.push(region);
                continue;
            }
            let (a, k1, b) = self.bisect(&region, k);
            stack.push((b, k - k1));
            stack.push((a, k1));
        }
        out
    }

    /// Splits a region into its connected components and shares `k` among them by weight
    /// (largest remainder, at least one each).
    fn components(&mut self, region: Vec<u32>, k: usize) -> Vec<(Vec<u32>, usize)> {
        for (i, &u) in region.iter().enumerate() {
            self.local[u as usize] = i as u32;
        }
        let mut comp = vec![NONE; region.len()];
        let mut parts: Vec<Vec<u32>> = Vec::new();
        for s in 0..region.len() {
            if comp[s] != NONE {
                continue;
            }
            let c = parts.len() as u32;
            comp[s] = c;
            let mut members = vec![region[s]];
            let mut i = 0;
            while i < members.len() {
                let u = members[i] as usize;
                i += 1;
                for &(v, _) in self.g.neighbours(u) {
                    let lv = self.local[v as usize];
                    if lv != NONE && comp[lv as usize] == NONE {
                        comp[lv as usize] = c;
                        members.push(v);
                    }
                }
            }
            parts.push(members);
        }
        for &u in &region {
            self.local[u as usize] = NONE;
        }
        if parts.len() == 1 {
            return vec![(region, k)];
        }
        let total: u64 = parts.iter().map(|p| self.weight(p)).sum::<u64>().max(1);
        let mut ks: Vec<usize> = parts.iter().map(|_| 1).collect();
        let mut left = k.saturating_sub(parts.len());
        while left > 0 {
            // Give the next grid to the component with the most households per grid.
            let (best, _) = parts
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    (
                        i,
                        self.weight(p) as f64 / total as f64 * k as f64 - ks[i] as f64,
                    )
                })
                .fold((0, f64::MIN), |a, b| if b.1 > a.1 { b } else { a });
            ks[best] += 1;
            left -= 1;
        }
        parts.into_iter().zip(ks).collect()
    }

    pub(crate) fn weight(&self, region: &[u32]) -> u64 {
        region.iter().map(|&u| self.w[u as usize]).sum()
    }

    /// One cut: `(side A, grids for A, side B)`.
    fn bisect(&mut self, region: &[u32], k: usize) -> (Vec<u32>, usize, Vec<u32>) {
        let m = region.len();
        for (i, &u) in region.iter().enumerate() {
            self.local[u as usize] = i as u32;
        }
        let mut edges: Vec<(u32, u32, f64, bool)> = Vec::with_capacity(3 * m);
        for (i, &u) in region.iter().enumerate() {
            for &(v, e) in self.g.neighbours(u as usize) {
                let j = self.local[v as usize];
                if j != NONE && (i as u32) < j {
                    let ed = &self.g.edges[e as usize];
                    edges.push((i as u32, j, ed.len_m, ed.barrier));
                }
            }
        }
        let lw: Vec<u64> = region.iter().map(|&u| self.w[u as usize]).collect();
        let total: u64 = lw.iter().sum();
        let feasible_region = (total as f64) >= k as f64 * self.band.lo - 1e-9
            && (total as f64) <= k as f64 * self.band.hi + 1e-9;
        let tries = if feasible_region { self.tries } else { 1 };
        let mut best: Option<(Cut, Vec<bool>)> = None;
        let mut costs = vec![0.0f64; edges.len()];
        let lp: Vec<(f64, f64)> = region.iter().map(|&u| self.pts[u as usize]).collect();
        // Small regions get a few trees even when the first has a feasible cut: the best-shaped
        // cut among them wins. Large regions stop at the first feasible tree.
        let min_trees = if m <= MANY_TREES_BELOW { MIN_TREES } else { 1 };
        for t in 0..tries {
            // Jittered costs break the ties of regular layouts (a lattice MST is a comb of rows);
            // later tries perturb more, towards random spanning trees as in ReCom.
            let amp = 0.5 * (1 + t.min(6)) as f64;
            for (c, e) in costs.iter_mut().zip(&edges) {
                *c = e.2 * (1.0 + amp * self.rng.unit()) + if e.3 { self.penalty_m } else { 0.0 };
            }
            let tree = self.spanning_tree(m, &edges, &costs);
            let (cut, side) = self.best_cut(m, &tree, &lw, &lp, total, k);
            let better = best.as_ref().is_none_or(|(b, _)| cut.score < b.score);
            if better {
                best = Some((cut, side));
            }
            if t + 1 >= min_trees && best.as_ref().is_some_and(|(b, _)| b.score < FEASIBLE) {
                break;
            }
        }
        for &u in region {
            self.local[u as usize] = NONE;
        }
        let Some((cut, side)) = best else {
            // Unreachable for m ≥ 2: every spanning tree has an edge. Keep the region whole.
            return (region.to_vec(), k, Vec::new());
        };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for (i, &u) in region.iter().enumerate() {
            if side[i] {
                a.push(u);
            } else {
                b.push(u);
            }
        }
        let _ = cut.node;
        (a, cut.k1, b)
    }

    /// Kruskal on the region's edges; returns tree adjacency lists `(neighbour, barrier)`.
    fn spanning_tree(
        &self,
        m: usize,
        edges: &[(u32, u32, f64, bool)],
        costs: &[f64],
    ) -> Vec<Vec<(u32, bool)>> {
        let mut order: Vec<u32> = (0..edges.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| costs[a as usize].total_cmp(&costs[b as usize]));
        let mut dsu: Vec<u32> = (0..m as u32).collect();
        fn find(d: &mut [u32], mut x: u32) -> u32 {
            while d[x as usize] != x {
                d[x as usize] = d[d[x as usize] as usize];
                x = d[x as usize];
            }
            x
        }
        let mut tree = vec![Vec::new(); m];
        let mut added = 0;
        for &e in &order {
            let (u, v, _, bar) = edges[e as usize];
            let (ru, rv) = (find(&mut dsu, u), find(&mut dsu, v));
            if ru != rv {
                dsu[ru as usize] = rv;
                tree[u as usize].push((v, bar));
                tree[v as usize].push((u, bar));
                added += 1;
                if added + 1 == m {
                    break;
                }
            }
        }
        tree
    }

    /// Scores every tree edge and returns the best cut with its side-A membership.
    fn best_cut(
        &self,
        m: usize,
        tree: &[Vec<(u32, bool)>],
        lw: &[u64],
        lp: &[(f64, f64)],
        total: u64,
        k: usize,
    ) -> (Cut, Vec<bool>) {
        let mut parent = vec![NONE; m];
        let mut pbar = vec![false; m];
        let mut order = Vec::with_capacity(m);
        parent[0] = 0;
        order.push(0u32);
        let mut i = 0;
        while i < order.len() {
            let u = order[i] as usize;
            i += 1;
            for &(v, bar) in &tree[u] {
                if parent[v as usize] == NONE {
                    parent[v as usize] = u as u32;
                    pbar[v as usize] = bar;
                    order.push(v);
                }
            }
        }
        let mut sub: Vec<u64> = lw.to_vec();
        // Shape moments of every subtree: count, Σx, Σy, Σ(x²+y²) around the region's mean.
        let (mx, my) = lp.iter().fold((0.0, 0.0), |a, p| {
            (a.0 + p.0 / m as f64, a.1 + p.1 / m as f64)
        });
        let mut mom: Vec<[f64; 4]> = lp
            .iter()
            .map(|p| {
                let (x, y) = (p.0 - mx, p.1 - my);
                [1.0, x, y, x * x + y * y]
            })
            .collect();
        for &u in order.iter().skip(1).rev() {
            let p = parent[u as usize] as usize;
            sub[p] += sub[u as usize];
            let mu = mom[u as usize];
            for (a, b) in mom[p].iter_mut().zip(mu) {
                *a += b;
            }
        }
        let whole = mom[0];
        let spread = |q: [f64; 4]| {
            if q[0] > 0.0 {
                (q[3] - (q[1] * q[1] + q[2] * q[2]) / q[0]) / (q[0] * q[0])
            } else {
                0.0
            }
        };
        let base = spread(whole).max(1e-9);
        let mut best = Cut {
            node: usize::MAX,
            k1: k / 2,
            score: f64::INFINITY,
        };
        for &u in order.iter().skip(1) {
            let u = u as usize;
            if let Some((mut score, k1)) = self.score(sub[u], total, k, pbar[u]) {
                // Elongated sides spread more per unit² than the region they come from: a
                // scale-free second-moment compactness, cheap to get for every cut at once.
                let a = mom[u];
                let b = [
                    whole[0] - a[0],
                    whole[1] - a[1],
                    whole[2] - a[2],
                    whole[3] - a[3],
                ];
                let (ka, kb) = (k1 as f64 / k as f64, (k - k1) as f64 / k as f64);
                let shape = spread(a) * ka / base + spread(b) * kb / base;
                score += SHAPE_WEIGHT * shape;
                if score < best.score {
                    best = Cut { node: u, k1, score };
                }
            }
        }
        let mut side = vec![false; m];
        if best.node == usize::MAX {
            // A forest piece or a one-node region: peel nothing off but keep the shapes valid.
            side[0] = true;
            best.k1 = 1;
        } else {
            side[best.node] = true;
            for &u in &order {
                let u = u as usize;
                if u != best.node && parent[u] != NONE && u != 0 && side[parent[u] as usize] {
                    side[u] = true;
                }
            }
        }
        // Nodes never reached (the region was not connected) join side B.
        (best, side)
    }

    /// Score of a cut with side weight `s` (lower is better; feasible cuts score below
    /// [`FEASIBLE`]) and the grid count of that side.
    fn score(&self, s: u64, total: u64, k: usize, barrier: bool) -> Option<(f64, usize)> {
        let (lo, hi) = (self.band.lo, self.band.hi);
        let (s, r) = (s as f64, (total - s.min(total)) as f64);
        let ideal = total as f64 / k as f64;
        let k1_ideal = (s / ideal).round().clamp(1.0, (k - 1) as f64) as usize;
        let width = (hi - lo).max(1.0);
        let mut best: Option<(f64, usize)> = None;
        let lo_k = ((s / hi).ceil() as usize)
            .max(1)
            .max(k.saturating_sub((r / lo + 1e-9).floor() as usize));
        let hi_k = ((s / lo + 1e-9).floor() as usize)
            .min(k - 1)
            .min(k.saturating_sub(((r / hi).ceil() as usize).max(1)));
        if lo_k <= hi_k {
            // Halve the grid count whenever this cut allows it: logarithmic depth, and sides
            // with room to spare. Peeling one grid at a time is O(n·k) and leaves long remnants.
            let k1 = (k / 2).clamp(lo_k, hi_k);
            let k2 = k - k1;
            let dev = ((s / k1 as f64 - ideal).abs() + (r / k2 as f64 - ideal).abs()) / width;
            let balance = (2.0 * k1 as f64 - k as f64).abs() / k as f64;
            let score = dev + BALANCE_WEIGHT * balance - if barrier { 0.2 } else { 0.0 };
            best = Some((score, k1));
        } else {
            for k1 in [
                k1_ideal.saturating_sub(1).max(1),
                k1_ideal,
                (k1_ideal + 1).min(k - 1),
            ] {
                let k2 = k - k1;
                let viol = (k1 as f64 * lo - s).max(s - k1 as f64 * hi).max(0.0)
                    + (k2 as f64 * lo - r).max(r - k2 as f64 * hi).max(0.0);
                let dev = (s / k1 as f64 - ideal).abs() / width;
                let score = FEASIBLE + viol / width + 0.01 * dev;
                if best.is_none_or(|b| score < b.0) {
                    best = Some((score, k1));
                }
            }
        }
        best
    }
}

/// Scores at or above this are infeasible cuts.
const FEASIBLE: f64 = 1.0e3;
/// Weight of an unequal split of the grid count (`|2k₁ − k| / k`) in a cut's score.
const BALANCE_WEIGHT: f64 = 0.5;
/// Weight of the shape term in a cut's score (against balance in band widths).
const SHAPE_WEIGHT: f64 = 0.3;
/// Regions with at most this many units try [`MIN_TREES`] trees for a better-shaped cut.
const MANY_TREES_BELOW: usize = 4_000;
const MIN_TREES: usize = 3;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::LocalProjection;
    use crate::partition::barriers::BarrierIndex;

    fn lattice(w: usize, h: usize) -> Graph {
        let pts: Vec<_> = (0..w * h)
            .map(|i| ((i % w) as f64 * 20.0, (i / w) as f64 * 20.0))
            .collect();
        Graph::delaunay(
            &pts,
            &BarrierIndex::new(
                &[],
                &super::super::BarrierRules::default(),
                &LocalProjection::new(0.0, 0.0),
            ),
        )
    }

    #[test]
    fn a_lattice_of_ten_household_buildings_splits_into_banded_contiguous_parts() {
        let g = lattice(30, 30);
        let w = vec![10u64; 900];
        let band = Band::new(300.0, 0.15);
        let pts: Vec<_> = (0..900)
            .map(|i| (f64::from(i % 30) * 20.0, f64::from(i / 30) * 20.0))
            .collect();
        let mut s = Splitter::new(&g, &w, &pts, band, 5000.0, 8, 1);
        let parts = s.partition((0..900).collect(), 30);
        assert_eq!(parts.len(), 30);
        let mut seen = vec![false; 900];
        for p in &parts {
            let hh: u64 = p.iter().map(|&u| w[u as usize]).sum();
            assert!(band.contains(hh), "{hh}");
            let set: std::collections::HashSet<u32> = p.iter().copied().collect();
            assert_eq!(
                g.count_components(p, &|v| set.contains(&(v as u32)), &|_| true, &mut seen),
                1
            );
        }
        assert_eq!(parts.iter().map(Vec::len).sum::<usize>(), 900);
    }
}
