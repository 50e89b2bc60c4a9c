//! Closure / weakest site: which existing sites can close losing the fewest covered households.
//!
//! A demand point stays covered while at least one open site reaches it within the limit. The
//! loss of closing site `s` is the weight of the points only `s` still reaches. [`weakest`]
//! closes `k` sites one at a time, each the one whose closure loses least given those already
//! closed. Losses only grow as sites close (a point's last site can only become "last" sooner),
//! so the search is lazy: stale losses are lower bounds, and a site whose refreshed loss is still
//! the smallest is closed without refreshing the others (the same argument as lazy greedy for
//! submodular maximisation, Minoux 1978). Ties go to the lower site index.
//!
//! ```
//! use gridmap_algo::siting::closure::weakest;
//! // site 0 reaches points {0, 1}, site 1 reaches {1}, site 2 reaches {2}
//! let reach: [&[u32]; 3] = [&[0, 1], &[1], &[2]];
//! let closed = weakest(&[5, 3, 4], &reach, 2);
//! assert_eq!(closed[0].site, 1); // point 1 stays covered by site 0: nothing lost
//! assert_eq!(closed[0].loss, 0);
//! assert_eq!(closed[1].site, 2); // then 4 households (site 2) rather than 8 (site 0)
//! assert_eq!(closed[1].loss, 4);
//! ```
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// One closed site, in closing order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Closed {
    /// Index into the sites given.
    pub site: u32,
    /// Weight no longer covered by any open site once this one closes (given the earlier ones).
    pub loss: u64,
    /// Weight only this site covers with every site open.
    pub loss_alone: u64,
    /// Weight this site reaches at all.
    pub reach: u64,
}

/// Closes `k` of the sites (`reach[s]`: demand points within the limit of site `s`), least loss
/// first. Returns at most `reach.len()` rows.
pub fn weakest(weight: &[u64], reach: &[&[u32]], k: usize) -> Vec<Closed> {
    weakest_among(weight, reach, &vec![true; reach.len()], k)
}

/// [`weakest`] where only the sites with `closable[s]` may close (the others stay open): orders a
/// set of closures found otherwise (e.g. by the exact search) by least loss.
pub fn weakest_among(weight: &[u64], reach: &[&[u32]], closable: &[bool], k: usize) -> Vec<Closed> {
    let mut count = vec![0u32; weight.len()];
    for r in reach {
        for &d in *r {
            count[d as usize] += 1;
        }
    }
    let loss_of = |count: &[u32], s: usize| -> u64 {
        reach[s]
            .iter()
            .filter(|&&d| count[d as usize] == 1)
            .map(|&d| weight[d as usize])
            .sum()
    };
    let alone: Vec<u64> = (0..reach.len()).map(|s| loss_of(&count, s)).collect();
    let mut heap: BinaryHeap<Reverse<(u64, u32)>> = alone
        .iter()
        .enumerate()
        .filter(|(s, _)| closable.get(*s).copied().unwrap_or(false))
        .map(|(s, &l)| Reverse((l, s as u32)))
        .collect();
    let mut out = Vec::new();
    while out.len() < k {
        let Some(Reverse((stale, s))) = heap.pop() else {
            break;
        };
        let fresh = loss_of(&count, s as usize);
        if fresh > stale {
            heap.push(Reverse((fresh, s)));
            continue;
        }
        for &d in reach[s as usize] {
            count[d as usize] -= 1;
        }
        out.push(Closed {
            site: s,
            loss: fresh,
            loss_alone: alone[s as usize],
            reach: reach[s as usize].iter().map(|&d| weight[d as usize]).sum(),
        });
    }
    out
}

/// The answer of [`exact`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExactClosure {
    /// The sites to close (ascending).
    pub sites: Vec<u32>,
    pub loss: u64,
    /// The search finished: `loss` is the least any `k` closures lose.
    pub optimal: bool,
    /// The least loss the unexplored part could still reach (= `loss` when optimal).
    pub lower_bound: u64,
    pub nodes: u64,
}

/// The `k` closures losing least, by depth-first branch-and-bound from the incumbent `start`
/// (e.g. [`weakest`]'s sites). Loss is supermodular (a point is lost when all its sites are
/// closed), so closing `T` beside `S` loses at least `loss(S) + Σ_{t∈T} marginal(t | S)`: a node
/// is pruned when its loss plus its `k − |S|` smallest marginals cannot beat the incumbent.
/// `stop()` is polled every node; on a stop the incumbent comes back with `optimal: false`.
pub fn exact(
    weight: &[u64],
    reach: &[&[u32]],
    k: usize,
    start: &[u32],
    stop: &dyn Fn() -> bool,
) -> ExactClosure {
    let n = reach.len();
    let k = k.min(n);
    let mut count = vec![0u32; weight.len()];
    for r in reach {
        for &d in *r {
            count[d as usize] += 1;
        }
    }
    let loss_of_set = |set: &[u32]| -> u64 {
        let mut c = count.clone();
        let mut l = 0;
        for &s in set {
            for &d in reach[s as usize] {
                c[d as usize] -= 1;
                if c[d as usize] == 0 {
                    l += weight[d as usize];
                }
            }
        }
        l
    };
    let mut best: Vec<u32> = start.to_vec();
    best.sort_unstable();
    let mut best_loss = loss_of_set(&best);
    // branch on sites in ascending loss-alone order
    let mut order: Vec<u32> = (0..n as u32).collect();
    let alone: Vec<u64> = (0..n)
        .map(|s| {
            reach[s]
                .iter()
                .filter(|&&d| count[d as usize] == 1)
                .map(|&d| weight[d as usize])
                .sum()
        })
        .collect();
    order.sort_by_key(|&s| (alone[s as usize], s));
    struct St<'a> {
        weight: &'a [u64],
        reach: &'a [&'a [u32]],
        order: Vec<u32>,
        count: Vec<u32>,
        chosen: Vec<u32>,
        k: usize,
        best: Vec<u32>,
        best_loss: u64,
        nodes: u64,
        stopped: bool,
        open_bound: u64,
    }
    impl St<'_> {
        fn marginal(&self, s: u32) -> u64 {
            self.reach[s as usize]
                .iter()
                .filter(|&&d| self.count[d as usize] == 1)
                .map(|&d| self.weight[d as usize])
                .sum()
        }
        fn dfs(&mut self, from: usize, loss: u64, pmin: u64, stop: &dyn Fn() -> bool) {
            self.nodes += 1;
            if self.chosen.len() == self.k {
                if loss < self.best_loss {
                    self.best_loss = loss;
                    self.best = self.chosen.clone();
                    self.best.sort_unstable();
                }
                return;
            }
            let need = self.k - self.chosen.len();
            if self.order.len() - from < need {
                return;
            }
            let mut m: Vec<(u64, usize)> = (from..self.order.len())
                .map(|i| (self.marginal(self.order[i]), i))
                .collect();
            m.sort_unstable();
            let lb = loss + m[..need].iter().map(|x| x.0).sum::<u64>();
            if lb >= self.best_loss {
                return;
            }
            if self.stopped || stop() {
                self.stopped = true;
                // every unexplored node lies under a node of this path: the least path bound holds
                self.open_bound = self.open_bound.min(lb.min(pmin));
                return;
            }
            for i in from..self.order.len() {
                if self.order.len() - i < need {
                    break;
                }
                let s = self.order[i];
                let mut l = loss;
                for &d in self.reach[s as usize] {
                    self.count[d as usize] -= 1;
                    if self.count[d as usize] == 0 {
                        l += self.weight[d as usize];
                    }
                }
                self.chosen.push(s);
                if l < self.best_loss {
                    self.dfs(i + 1, l, pmin.min(lb), stop);
                }
                self.chosen.pop();
                for &d in self.reach[s as usize] {
                    self.count[d as usize] += 1;
                }
                if self.stopped {
                    self.open_bound = self.open_bound.min(lb.min(pmin));
                    return;
                }
            }
        }
    }
    if best.len() != k {
        best = order[..k].to_vec();
        best.sort_unstable();
        best_loss = loss_of_set(&best);
    }
    let mut st = St {
        weight,
        reach,
        order,
        count,
        chosen: Vec::new(),
        k,
        best,
        best_loss,
        nodes: 0,
        stopped: false,
        open_bound: u64::MAX,
    };
    st.dfs(0, 0, u64::MAX, stop);
    let optimal = !st.stopped;
    ExactClosure {
        lower_bound: if optimal {
            st.best_loss
        } else {
            st.open_bound.min(st.best_loss)
        },
        sites: st.best,
        loss: st.best_loss,
        optimal,
        nodes: st.nodes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn covered(weight: &[u64], reach: &[&[u32]], open: &[bool]) -> u64 {
        let mut hit = vec![false; weight.len()];
        for (s, r) in reach.iter().enumerate() {
            if open[s] {
                for &d in *r {
                    hit[d as usize] = true;
                }
            }
        }
        hit.iter()
            .zip(weight)
            .filter(|(h, _)| **h)
            .map(|(_, w)| w)
            .sum()
    }

    proptest! {
        /// Each step's loss equals the brute-force drop in coverage and is the smallest drop any
        /// still-open site would cause at that step.
        #[test]
        fn each_step_is_the_least_loss(
            weight in prop::collection::vec(0u64..10, 1..10),
            raw in prop::collection::vec(prop::collection::btree_set(0u32..10, 0..5), 1..7),
            k in 1usize..7,
        ) {
            let nd = weight.len() as u32;
            let lists: Vec<Vec<u32>> = raw
                .iter()
                .map(|s| {
                    let mut v: Vec<u32> = s.iter().map(|d| d % nd).collect();
                    v.sort_unstable();
                    v.dedup();
                    v
                })
                .collect();
            let reach: Vec<&[u32]> = lists.iter().map(Vec::as_slice).collect();
            let closed = weakest(&weight, &reach, k);
            prop_assert_eq!(closed.len(), k.min(reach.len()));
            let mut open = vec![true; reach.len()];
            for c in &closed {
                let now = covered(&weight, &reach, &open);
                let best = (0..reach.len())
                    .filter(|&s| open[s])
                    .map(|s| {
                        let mut o = open.clone();
                        o[s] = false;
                        now - covered(&weight, &reach, &o)
                    })
                    .min()
                    .unwrap_or(0);
                open[c.site as usize] = false;
                prop_assert_eq!(c.loss, now - covered(&weight, &reach, &open));
                prop_assert_eq!(c.loss, best);
            }
            // the exact search: the least loss over every k-subset, by enumeration
            let n = reach.len();
            let kk = k.min(n);
            let all = covered(&weight, &reach, &vec![true; n]);
            let mut least = u64::MAX;
            for mask in 0u32..(1 << n) {
                if mask.count_ones() as usize != kk { continue; }
                let open: Vec<bool> = (0..n).map(|s| mask & (1 << s) == 0).collect();
                least = least.min(all - covered(&weight, &reach, &open));
            }
            let start: Vec<u32> = closed.iter().map(|c| c.site).collect();
            let ex = exact(&weight, &reach, k, &start, &|| false);
            prop_assert!(ex.optimal);
            prop_assert_eq!(ex.sites.len(), kk);
            prop_assert_eq!(ex.loss, least);
            prop_assert_eq!(ex.lower_bound, least);
        }
    }
}
