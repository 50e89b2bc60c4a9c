//! p-median: open `p` new sites minimising the demand-weighted walking distance to the nearest
//! open site (existing sites included). Searches are bounded, so distances are capped at the
//! walking limit: demand beyond it from every open site counts as the limit ("capped p-median";
//! the mean is over every placed household). Greedy on the largest saving, then Teitz–Bart
//! vertex substitution with nearest/second-nearest bookkeeping (each pass costs one sweep of the
//! covering lists). A heuristic: no bound is claimed.
//!
//! ```
//! use gridmap_algo::siting::pmedian::{p_median, Lists};
//! // two demand points (weights 1 and 3) at most 100 m from anything; existing: none
//! let lists = Lists { limit_m: 100.0, weight: vec![1, 3], base_m: vec![100.0, 100.0],
//!     cand: vec![vec![(0, 10.0)], vec![(1, 5.0)], vec![(0, 50.0), (1, 50.0)]] };
//! let r = p_median(&lists, 1, &gridmap_algo::siting::mclp::Limits::none());
//! assert_eq!(r.sites, vec![1]); // saves 3 × 95
//! assert!((r.cost - (100.0 + 15.0)).abs() < 1e-9);
//! ```
use super::mclp::Limits;

/// The p-median instance: per candidate (demand point, metres ≤ limit), and per demand point
/// its weight and distance to the existing sites (capped at the limit).
#[derive(Clone, Debug)]
pub struct Lists {
    pub limit_m: f64,
    pub weight: Vec<u64>,
    pub base_m: Vec<f64>,
    pub cand: Vec<Vec<(u32, f32)>>,
}

/// Sites and the weighted cost (Σ weight × capped metres).
#[derive(Clone, Debug)]
pub struct PMedian {
    pub sites: Vec<u32>,
    pub cost: f64,
    pub swaps: usize,
}

/// Σ w × min(base, nearest chosen) for `sites`.
pub fn cost_of(l: &Lists, sites: &[u32]) -> f64 {
    let mut best = l.base_m.clone();
    for &c in sites {
        for &(d, m) in &l.cand[c as usize] {
            let m = f64::from(m);
            if m < best[d as usize] {
                best[d as usize] = m;
            }
        }
    }
    best.iter().zip(&l.weight).map(|(b, &w)| b * w as f64).sum()
}

pub fn p_median(l: &Lists, p: usize, limits: &Limits) -> PMedian {
    let nd = l.weight.len();
    let nc = l.cand.len();
    let mut cur = l.base_m.clone();
    let mut open = vec![false; nc];
    let mut sites: Vec<u32> = Vec::new();
    // greedy
    for _ in 0..p.min(nc) {
        let mut best = (0.0, u32::MAX);
        for (c, _) in open.iter().enumerate().filter(|(_, o)| !**o) {
            let s: f64 = l.cand[c]
                .iter()
                .map(|&(d, m)| {
                    l.weight[d as usize] as f64 * (cur[d as usize] - f64::from(m)).max(0.0)
                })
                .sum();
            if s > best.0 + 1e-9 {
                best = (s, c as u32);
            }
        }
        if best.1 == u32::MAX {
            break;
        }
        let c = best.1 as usize;
        open[c] = true;
        sites.push(c as u32);
        for &(d, m) in &l.cand[c] {
            cur[d as usize] = cur[d as usize].min(f64::from(m));
        }
    }
    // transpose: demand -> (candidate, metres)
    let mut by_dem: Vec<Vec<(u32, f32)>> = vec![Vec::new(); nd];
    for (c, list) in l.cand.iter().enumerate() {
        for &(d, m) in list {
            by_dem[d as usize].push((c as u32, m));
        }
    }
    let mut swaps = 0;
    const BASE: u32 = u32::MAX;
    let mut saving = vec![0.0f64; nc];
    let mut corr = vec![0.0f64; nc];
    let mut touched: Vec<u32> = Vec::new();
    loop {
        if limits.stop() || sites.is_empty() {
            break;
        }
        // nearest and second nearest open site (BASE = existing/cap)
        let mut d1 = l.base_m.clone();
        let mut w1 = vec![BASE; nd];
        let mut d2 = l.base_m.clone();
        for (k, &c) in sites.iter().enumerate() {
            for &(d, m) in &l.cand[c as usize] {
                let (i, m) = (d as usize, f64::from(m));
                if m < d1[i] {
                    d2[i] = d1[i];
                    d1[i] = m;
                    w1[i] = k as u32;
                } else if m < d2[i] {
                    d2[i] = m;
                }
            }
        }
        for c in 0..nc {
            saving[c] = if open[c] {
                0.0
            } else {
                l.cand[c]
                    .iter()
                    .map(|&(d, m)| {
                        l.weight[d as usize] as f64 * (d1[d as usize] - f64::from(m)).max(0.0)
                    })
                    .sum()
            };
        }
        let mut best = (1e-6, usize::MAX, 0u32);
        for (k, _) in sites.iter().enumerate() {
            let mut loss = 0.0;
            for i in 0..nd {
                if w1[i] == k as u32 {
                    let w = l.weight[i] as f64;
                    loss += w * (d2[i] - d1[i]);
                    for &(c, m) in &by_dem[i] {
                        let m = f64::from(m);
                        let extra = w * ((d2[i] - m).max(0.0) - (d1[i] - m).max(0.0));
                        if extra != 0.0 {
                            if corr[c as usize] == 0.0 {
                                touched.push(c);
                            }
                            corr[c as usize] += extra;
                        }
                    }
                }
            }
            for c in 0..nc {
                if open[c] {
                    continue;
                }
                let gain = saving[c] + corr[c] - loss;
                if gain > best.0 {
                    best = (gain, k, c as u32);
                }
            }
            for &c in &touched {
                corr[c as usize] = 0.0;
            }
            touched.clear();
        }
        if best.1 == usize::MAX {
            break;
        }
        open[sites[best.1] as usize] = false;
        sites[best.1] = best.2;
        open[best.2 as usize] = true;
        swaps += 1;
    }
    let cost = cost_of(l, &sites);
    PMedian { sites, cost, swaps }
}
