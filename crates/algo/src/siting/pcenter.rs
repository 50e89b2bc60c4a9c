//! p-center: open `p` new sites minimising the *worst* walking distance of any demand point to
//! its nearest open site (existing included), over the demand that some site can reach within
//! the walking limit (the rest is reported as unreachable). Binary search over the sorted
//! distinct distances; each step asks "can `p` sites cover every such demand point within r?"
//! — greedy first (a yes), then the exact MCLP search in target mode (a yes, or a proof of no).
//! The smallest feasible r is optimal when every step was decided; a step cut by the time limit
//! counts as "no" and the answer is marked unproven.
//!
//! ```
//! use gridmap_algo::siting::pcenter::{p_center, Radii};
//! // demand 0 and 1; candidate 0 is 10 m from 0 and 90 m from 1; candidate 1 is 40 m from both
//! let inst = Radii { weight: vec![1, 1], base_m: vec![f64::INFINITY; 2],
//!     cand: vec![vec![(0, 10.0), (1, 90.0)], vec![(0, 40.0), (1, 40.0)]] };
//! let r = p_center(&inst, 1, &gridmap_algo::siting::mclp::Limits::none()).unwrap();
//! assert_eq!((r.sites.clone(), r.radius_m), (vec![1], 40.0));
//! assert!(r.optimal);
//! ```
use super::cover::CoverMatrix;
use super::mclp::{branch_and_bound, greedy, swap_improve, Limits};

/// Per candidate (demand point, metres within the limit); per demand point weight and metres to
/// the nearest existing site (`INFINITY` if none within the limit).
#[derive(Clone, Debug)]
pub struct Radii {
    pub weight: Vec<u64>,
    pub base_m: Vec<f64>,
    pub cand: Vec<Vec<(u32, f32)>>,
}

#[derive(Clone, Debug)]
pub struct PCenter {
    pub sites: Vec<u32>,
    /// Worst metres to the nearest open site over the reachable demand.
    pub radius_m: f64,
    /// The largest radius proven infeasible (a lower bound on the optimum), 0 if none.
    pub lower_m: f64,
    pub optimal: bool,
    /// Demand points no site reaches within the limit (left out of the objective).
    pub unreachable: Vec<u32>,
    pub nodes: u64,
}

impl Radii {
    fn matrix(&self, r: f64, considered: &[bool]) -> (CoverMatrix, u64) {
        let nd = self.weight.len();
        let open: Vec<bool> = (0..nd)
            .map(|i| {
                considered[i]
                    && self.base_m[i]
                        .partial_cmp(&r)
                        .is_none_or(|o| o == std::cmp::Ordering::Greater)
            })
            .collect();
        let need: u64 = (0..nd).filter(|&i| open[i]).map(|i| self.weight[i]).sum();
        let lists: Vec<Vec<u32>> = self
            .cand
            .iter()
            .map(|l| {
                l.iter()
                    .filter(|&&(d, m)| open[d as usize] && f64::from(m) <= r)
                    .map(|&(d, _)| d)
                    .collect()
            })
            .collect();
        let w: Vec<u64> = (0..nd)
            .map(|i| if open[i] { self.weight[i] } else { 0 })
            .collect();
        (CoverMatrix::from_lists(w, &lists), need)
    }
}

/// `None` when there is no demand to serve.
pub fn p_center(inst: &Radii, p: usize, limits: &Limits) -> Option<PCenter> {
    let nd = inst.weight.len();
    let mut nearest = inst.base_m.clone();
    for l in &inst.cand {
        for &(d, m) in l {
            nearest[d as usize] = nearest[d as usize].min(f64::from(m));
        }
    }
    let considered: Vec<bool> = (0..nd)
        .map(|i| inst.weight[i] > 0 && nearest[i].is_finite())
        .collect();
    let unreachable: Vec<u32> = (0..nd as u32)
        .filter(|&i| inst.weight[i as usize] > 0 && !considered[i as usize])
        .collect();
    if !considered.iter().any(|&c| c) {
        return None;
    }
    let lo_need = (0..nd)
        .filter(|&i| considered[i])
        .map(|i| nearest[i])
        .fold(0.0, f64::max);
    let mut radii: Vec<f64> = inst
        .base_m
        .iter()
        .copied()
        .filter(|m| m.is_finite())
        .collect();
    for l in &inst.cand {
        radii.extend(l.iter().map(|&(_, m)| f64::from(m)));
    }
    radii.retain(|&r| r >= lo_need);
    radii.sort_by(f64::total_cmp);
    radii.dedup();
    let mut nodes = 0;
    let mut proven = true;
    let feasible = |r: f64, nodes: &mut u64, proven: &mut bool| -> Option<Vec<u32>> {
        let (m, need) = inst.matrix(r, &considered);
        if need == 0 {
            return Some(Vec::new());
        }
        if m.reachable() < need {
            return None;
        }
        let mut s = greedy(&m, p, &[]);
        if m.value(&s) >= need {
            return Some(s);
        }
        swap_improve(&m, &mut s, limits);
        if m.value(&s) >= need {
            return Some(s);
        }
        let ex = branch_and_bound(&m, p, s, Some(need), limits);
        *nodes += ex.nodes;
        if ex.value >= need {
            return Some(ex.sites);
        }
        if ex.stopped {
            *proven = false;
        }
        None
    };
    // the largest radius: is it feasible at all?
    let hi = radii.len().checked_sub(1)?;
    let mut best = feasible(radii[hi], &mut nodes, &mut proven).map(|s| (hi, s));
    best.as_ref()?;
    let (mut lo, mut hi) = (0usize, hi); // answer in [lo, hi]
    let mut lower_m = 0.0;
    while lo < hi {
        let mid = usize::midpoint(lo, hi);
        if let Some(s) = feasible(radii[mid], &mut nodes, &mut proven) {
            hi = mid;
            best = Some((mid, s));
        } else {
            lower_m = radii[mid];
            lo = mid + 1;
        }
    }
    let (k, sites) = best?;
    let radius_m = radii[k];
    Some(PCenter {
        sites,
        radius_m,
        lower_m,
        optimal: proven,
        unreachable,
        nodes,
    })
}
