//! Minimum facilities (partial set cover): the fewest new sites whose coverage, with the existing
//! sites, reaches a target weight. Solved as a sequence of MCLP questions: greedy gives an upper
//! count `k`; then "can `k − 1` sites reach the target?" is answered by the heuristic (yes) or by
//! the exact search in target mode (yes, or a proof of no). The first proven "no" makes `k`
//! optimal. When even every candidate together falls short, the target is infeasible and the
//! answer is the best reachable weight.
//!
//! ```
//! use gridmap_algo::siting::cover::CoverMatrix;
//! use gridmap_algo::siting::mclp::Limits;
//! use gridmap_algo::siting::setcover::min_sites;
//! let m = CoverMatrix::from_lists(vec![4, 4, 4], &[vec![0], vec![1], vec![2], vec![0, 1]]);
//! let r = min_sites(&m, 8, &Limits::none());
//! assert_eq!(r.sites.len(), 1); // candidate 3 covers 8 alone
//! assert!(r.feasible && r.optimal);
//! ```
use super::cover::CoverMatrix;
use super::mclp::{branch_and_bound, greedy, swap_improve, Limits};

/// The answer of [`min_sites`].
#[derive(Clone, Debug)]
pub struct MinSites {
    pub sites: Vec<u32>,
    pub value: u64,
    /// The target is reachable with all candidates.
    pub feasible: bool,
    /// No smaller count can reach the target (proven).
    pub optimal: bool,
    /// A proven lower bound on the count.
    pub lower_bound: usize,
    pub nodes: u64,
}

/// Fewest candidates covering at least `need` weight of `m` (or, if impossible, a greedy
/// selection reaching everything reachable).
pub fn min_sites(m: &CoverMatrix, need: u64, limits: &Limits) -> MinSites {
    if need == 0 {
        return MinSites {
            sites: Vec::new(),
            value: 0,
            feasible: true,
            optimal: true,
            lower_bound: 0,
            nodes: 0,
        };
    }
    let reach = m.reachable();
    let all = greedy(m, m.n_cand, &[]);
    if reach < need {
        let value = m.value(&all);
        return MinSites {
            sites: all,
            value,
            feasible: false,
            optimal: false,
            lower_bound: 0,
            nodes: 0,
        };
    }
    // the greedy prefix that reaches the target
    let mut k = 0;
    let mut acc = 0;
    let mut hit = vec![false; m.n_groups()];
    for &c in &all {
        k += 1;
        for &g in m.groups_of(c as usize) {
            if !hit[g as usize] {
                hit[g as usize] = true;
                acc += m.weight[g as usize];
            }
        }
        if acc >= need {
            break;
        }
    }
    let mut best = all[..k].to_vec();
    let mut nodes = 0;
    let mut lower = 1;
    let mut optimal = false;
    while best.len() > lower {
        let p = best.len() - 1;
        let mut s = greedy(m, p, &[]);
        swap_improve(m, &mut s, limits);
        if m.value(&s) >= need {
            best = s;
            continue;
        }
        let ex = branch_and_bound(m, p, s, Some(need), limits);
        nodes += ex.nodes;
        if ex.value >= need {
            best = ex.sites;
        } else if !ex.stopped {
            lower = p + 1; // proven: p sites cannot reach the target
            optimal = true;
            break;
        } else {
            break; // out of time: the count is not proven
        }
    }
    if best.len() <= lower {
        optimal = true;
        lower = best.len();
    }
    let value = m.value(&best);
    MinSites {
        sites: best,
        value,
        feasible: true,
        optimal,
        lower_bound: lower,
        nodes,
    }
}
