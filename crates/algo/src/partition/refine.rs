//! Local search that pulls out-of-band grids into the band while keeping every grid contiguous.
//!
//! Three moves, cheapest first, as in max-p / AZP local search and METIS refinement:
//! 1. **boundary moves** — an over-full grid gives a boundary unit to a neighbour, an under-full
//!    grid takes one; a unit leaves its grid only when the rest stays connected (it is not an
//!    articulation point, checked by BFS inside the grid);
//! 2. **pair re-split** — a grid and one neighbour are merged and cut again by spanning trees;
//! 3. **neighbourhood re-split** — a grid and its neighbours (one ring, then two) are re-cut into
//!    the count their households call for, which may merge or split one grid.
//!
//! A move is taken only when the summed cost `√(households outside the band)` strictly
//! decreases, so the search terminates.
use super::graph::Graph;
use super::split::Splitter;
use super::Band;

const NONE: u32 = u32::MAX;

pub(crate) struct Refiner<'a, 's> {
    g: &'a Graph,
    w: &'a [u64],
    pts: &'a [(f64, f64)],
    band: Band,
    splitter: &'s mut Splitter<'a>,
    part_of: Vec<u32>,
    members: Vec<Vec<u32>>,
    pw: Vec<u64>,
    mark: Vec<u32>,
    stamp: u32,
}

impl<'a, 's> Refiner<'a, 's> {
    /// `parts` must cover a subset of the graph's nodes; nodes outside it are never touched.
    pub(crate) fn new(
        g: &'a Graph,
        w: &'a [u64],
        pts: &'a [(f64, f64)],
        band: Band,
        splitter: &'s mut Splitter<'a>,
        parts: Vec<Vec<u32>>,
    ) -> Self {
        let mut part_of = vec![NONE; g.len()];
        for (p, m) in parts.iter().enumerate() {
            for &u in m {
                part_of[u as usize] = p as u32;
            }
        }
        let pw = parts
            .iter()
            .map(|m| m.iter().map(|&u| w[u as usize]).sum())
            .collect();
        Self {
            g,
            w,
            pts,
            band,
            splitter,
            part_of,
            members: parts,
            pw,
            mark: vec![0; g.len()],
            stamp: 0,
        }
    }

    /// Cost of a grid of `hh` households: the square root of its households outside the band.
    /// Concave, so between two out-of-band grids the search prefers to put the whole excess into
    /// one of them: an infeasible community ends with as few out-of-band grids as possible.
    fn viol(&self, hh: u64) -> f64 {
        self.band.violation(hh).sqrt()
    }

    /// Runs the search; `resplits` allows pair and neighbourhood re-cuts besides single moves.
    pub(crate) fn search(&mut self, max_rounds: usize, resplits: bool) {
        for _ in 0..max_rounds {
            let mut out: Vec<usize> = (0..self.members.len())
                .filter(|&p| !self.members[p].is_empty() && self.viol(self.pw[p]) > 0.0)
                .collect();
            if out.is_empty() {
                break;
            }
            out.sort_by(|&a, &b| {
                self.viol(self.pw[b])
                    .total_cmp(&self.viol(self.pw[a]))
                    .then(a.cmp(&b))
            });
            let mut progress = false;
            for p in out {
                if self.members[p].is_empty() || self.viol(self.pw[p]) == 0.0 {
                    continue;
                }
                let moved = self.boundary_moves(p);
                if (moved && self.viol(self.pw[p]) == 0.0) || !resplits {
                    progress |= moved;
                    continue;
                }
                let fixed = self.resplit_pair(p)
                    || self.resplit_neighbourhood(p, 1)
                    || self.resplit_neighbourhood(p, 2);
                progress |= moved || fixed;
            }
            if !progress {
                break;
            }
        }
    }

    /// Parts by slot: slot `i` is the `i`-th input part (possibly emptied by a merge); slots
    /// past the input count are parts created by splits.
    pub(crate) fn into_parts(self) -> Vec<Vec<u32>> {
        self.members
    }

    /// Whether slot `p` has no units (emptied by a merge or never used).
    pub(crate) fn is_empty(&self, p: usize) -> bool {
        self.members[p].is_empty()
    }

    /// Households of each slot.
    pub(crate) fn weights(&self) -> &[u64] {
        &self.pw
    }

    /// Replaces slot `p` by `new` parts: the first keeps the slot, the others get new slots.
    pub(crate) fn replace_one(&mut self, p: usize, new: Vec<Vec<u32>>) {
        self.replace(&[p], new);
    }

    /// Merges slot `q` into slot `p` (they must be adjacent); `q` is left empty.
    pub(crate) fn merge(&mut self, p: usize, q: usize) {
        let moved = std::mem::take(&mut self.members[q]);
        for &u in &moved {
            self.part_of[u as usize] = p as u32;
        }
        self.pw[p] += self.pw[q];
        self.pw[q] = 0;
        self.members[p].extend(moved);
    }

    /// Splits slot `p` with the splitter into `k` parts; the largest keeps the slot.
    pub(crate) fn split(&mut self, p: usize, k: usize) {
        let region = self.members[p].clone();
        let mut new = self.splitter.partition(region, k);
        new.sort_by_key(|m| std::cmp::Reverse(m.iter().map(|&u| self.w[u as usize]).sum::<u64>()));
        self.replace_one(p, new);
    }

    /// Neighbouring non-empty slots of `p`, public to rebalancing.
    pub(crate) fn neighbours_of(&self, p: usize) -> Vec<usize> {
        self.neighbour_parts(p)
    }

    /// Neighbouring parts of `p`.
    fn neighbour_parts(&self, p: usize) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        for &u in &self.members[p] {
            for &(v, _) in self.g.neighbours(u as usize) {
                let q = self.part_of[v as usize];
                if q != NONE && q as usize != p && !out.contains(&(q as usize)) {
                    out.push(q as usize);
                }
            }
        }
        out.sort_unstable();
        out
    }

    fn centroid(&self, p: usize) -> (f64, f64) {
        let n = self.members[p].len().max(1) as f64;
        self.members[p].iter().fold((0.0, 0.0), |a, &u| {
            (
                a.0 + self.pts[u as usize].0 / n,
                a.1 + self.pts[u as usize].1 / n,
            )
        })
    }

    /// Whether part `p` stays connected (and non-empty) without unit `u`.
    fn connected_without(&mut self, p: usize, u: u32) -> bool {
        let size = self.members[p].len();
        if size <= 1 {
            return false;
        }
        self.stamp += 1;
        let st = self.stamp;
        let Some(&start) = self
            .g
            .neighbours(u as usize)
            .iter()
            .map(|(v, _)| v)
            .find(|&&v| self.part_of[v as usize] == p as u32)
        else {
            return false;
        };
        self.mark[u as usize] = st;
        self.mark[start as usize] = st;
        let mut stack = vec![start];
        let mut reached = 1;
        while let Some(x) = stack.pop() {
            for &(v, _) in self.g.neighbours(x as usize) {
                if self.mark[v as usize] != st && self.part_of[v as usize] == p as u32 {
                    self.mark[v as usize] = st;
                    reached += 1;
                    stack.push(v);
                }
            }
        }
        reached == size - 1
    }

    fn move_unit(&mut self, u: u32, from: usize, to: usize) {
        let w = self.w[u as usize];
        if let Some(i) = self.members[from].iter().position(|&x| x == u) {
            self.members[from].swap_remove(i);
        }
        self.members[to].push(u);
        self.part_of[u as usize] = to as u32;
        self.pw[from] -= w;
        self.pw[to] += w;
    }

    /// Single-unit moves into or out of `p` while they reduce the total violation.
    fn boundary_moves(&mut self, p: usize) -> bool {
        let mut any = false;
        loop {
            if self.viol(self.pw[p]) == 0.0 {
                return any;
            }
            let over = self.pw[p] as f64 > self.band.hi;
            // (gain, distance, unit, from, to)
            let mut cands: Vec<(f64, f64, u32, usize, usize)> = Vec::new();
            let nbrs = self.neighbour_parts(p);
            let cents: Vec<(usize, (f64, f64))> = nbrs
                .iter()
                .map(|&q| (q, self.centroid(q)))
                .chain(std::iter::once((p, self.centroid(p))))
                .collect();
            let cent = |q: usize| cents.iter().find(|c| c.0 == q).map_or((0.0, 0.0), |c| c.1);
            for &u in &self.members[p] {
                for &(v, _) in self.g.neighbours(u as usize) {
                    let q = self.part_of[v as usize];
                    if q == NONE || q as usize == p {
                        continue;
                    }
                    let q = q as usize;
                    let (from, to, unit) = if over { (p, q, u) } else { (q, p, v) };
                    let wu = self.w[unit as usize];
                    let before = self.viol(self.pw[from]) + self.viol(self.pw[to]);
                    let after = self.viol(self.pw[from] - wu) + self.viol(self.pw[to] + wu);
                    let gain = before - after;
                    if gain > 1e-9 {
                        let c = cent(to);
                        let pt = self.pts[unit as usize];
                        let d = (pt.0 - c.0).hypot(pt.1 - c.1);
                        cands.push((gain, d, unit, from, to));
                    }
                }
            }
            cands.sort_by(|a, b| {
                b.0.total_cmp(&a.0)
                    .then(a.1.total_cmp(&b.1))
                    .then(a.2.cmp(&b.2))
            });
            cands.dedup_by_key(|c| (c.2, c.4));
            let mut done = false;
            for &(_, _, unit, from, to) in cands.iter().take(64) {
                if self.connected_without(from, unit) {
                    self.move_unit(unit, from, to);
                    done = true;
                    break;
                }
            }
            if !done {
                return any;
            }
            any = true;
        }
    }

    fn total_viol(&self, parts: &[usize]) -> f64 {
        parts.iter().map(|&q| self.viol(self.pw[q])).sum()
    }

    /// Replaces parts `old` by `new` (same or ±1 count); empty leftovers stay as empty slots.
    fn replace(&mut self, old: &[usize], new: Vec<Vec<u32>>) {
        let mut slots: Vec<usize> = old.to_vec();
        for q in old {
            self.members[*q].clear();
            self.pw[*q] = 0;
        }
        for (i, m) in new.into_iter().enumerate() {
            let slot = if i < slots.len() {
                slots[i]
            } else {
                self.members.push(Vec::new());
                self.pw.push(0);
                slots.push(self.members.len() - 1);
                self.members.len() - 1
            };
            for &u in &m {
                self.part_of[u as usize] = slot as u32;
            }
            self.pw[slot] = m.iter().map(|&u| self.w[u as usize]).sum();
            self.members[slot] = m;
        }
    }

    /// Re-cuts `old` parts into `k` parts; keeps the result when the violation decreases.
    fn try_recut(&mut self, old: &[usize], k: usize) -> bool {
        let region: Vec<u32> = old
            .iter()
            .flat_map(|&q| self.members[q].iter().copied())
            .collect();
        let before = self.total_viol(old);
        let new = self.splitter.partition(region, k);
        let after: f64 = new
            .iter()
            .map(|m| self.viol(m.iter().map(|&u| self.w[u as usize]).sum()))
            .sum();
        if after + 1e-9 < before {
            self.replace(old, new);
            true
        } else {
            false
        }
    }

    /// Grid count for the union of `parts` (units above the band count as grids of their own).
    fn count_for(&self, parts: &[usize]) -> usize {
        self.band.grid_count_for_units(
            parts
                .iter()
                .flat_map(|&q| self.members[q].iter().map(|&u| self.w[u as usize])),
        )
    }

    fn resplit_pair(&mut self, p: usize) -> bool {
        let mut nbrs = self.neighbour_parts(p);
        // Neighbours whose combined households best fit two grids first.
        let mid = self.band.target * 2.0;
        nbrs.sort_by(|&a, &b| {
            let da = ((self.pw[p] + self.pw[a]) as f64 - mid).abs();
            let db = ((self.pw[p] + self.pw[b]) as f64 - mid).abs();
            da.total_cmp(&db).then(a.cmp(&b))
        });
        for q in nbrs.into_iter().take(6) {
            let k = self.count_for(&[p, q]);
            if k <= 2 && self.try_recut(&[p, q], k) {
                return true;
            }
        }
        false
    }

    fn resplit_neighbourhood(&mut self, p: usize, rings: usize) -> bool {
        let mut set = vec![p];
        let mut frontier = vec![p];
        for _ in 0..rings {
            let mut next = Vec::new();
            for &q in &frontier {
                for r in self.neighbour_parts(q) {
                    if !set.contains(&r) {
                        set.push(r);
                        next.push(r);
                    }
                }
            }
            frontier = next;
        }
        if set.len() < 2 || set.len() > 24 {
            return false;
        }
        set.sort_unstable();
        let k = self.count_for(&set);
        self.try_recut(&set, k)
    }
}
