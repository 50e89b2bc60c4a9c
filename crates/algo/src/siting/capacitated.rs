//! Capacitated coverage: every site serves at most its capacity, demand goes to the nearest site
//! with room.
//!
//! **Assignment rule** ([`assign`]): all (site, demand point) pairs within the walking limit are
//! taken in order of distance (ties by site, then demand point); each pair moves
//! `min(demand left, room left)` from the demand point to the site. A site without a capacity has
//! unlimited room. This is "nearest site with room" made deterministic: a household is never
//! served by a farther site while a nearer one within the limit has room when its turn comes,
//! and no capacity is ever exceeded. Households may split across sites (capacities count
//! households, not buildings).
//!
//! **Siting** ([`greedy`]): opens up to `p` new sites one at a time. Each step scores every
//! candidate by an estimate of its gain (`min(room, unserved demand in reach)`; a new site can
//! also gain by relieving a full existing one, which the estimate does not see), evaluates the
//! best [`SHORTLIST`] exactly by re-running the assignment (merged with the existing sites' pairs,
//! sorted once), and opens the best; it stops early when none serves anyone more. The bound reported beside it
//! ([`upper_bound`]) is what no choice of `p` sites can beat: neither the uncapacitated maximal
//! cover nor the reachable room of the existing sites plus `p × capacity`.
//!
//! ```
//! use gridmap_algo::siting::capacitated::{assign, SiteReach};
//! // two demand points of 10 and 5 households; site 0 (room 8) reaches both, site 1 (no limit) the second
//! let sites = [
//!     SiteReach { demand: &[0, 1], dist: &[100.0, 300.0], capacity: Some(8) },
//!     SiteReach { demand: &[1], dist: &[200.0], capacity: None },
//! ];
//! let a = assign(&[10, 5], &sites);
//! assert_eq!(a.site_served, vec![8, 5]); // point 0 fills site 0; point 1 goes to the nearer site 1
//! assert_eq!(a.total, 13);
//! ```
use super::mclp::Limits;

/// How many candidates each greedy step evaluates exactly.
pub const SHORTLIST: usize = 8;

/// One site's reach: demand points within the limit (ascending) with metres, and its room.
#[derive(Clone, Copy, Debug)]
pub struct SiteReach<'a> {
    pub demand: &'a [u32],
    pub dist: &'a [f32],
    /// `None`: unlimited.
    pub capacity: Option<u64>,
}

/// The outcome of [`assign`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// Households served by each site, in the order given.
    pub site_served: Vec<u64>,
    /// Households served at each demand point.
    pub demand_served: Vec<u64>,
    pub total: u64,
    /// (site, demand point, households) moved, in assignment order; only from [`assign_flows`]
    /// and [`Capacitated::flows`].
    pub flows: Vec<(u32, u32, u64)>,
}

/// A pair in assignment order: distance bits (non-negative f32 order as integers), site, demand.
type Pair = (u32, u32, u32);

fn pairs_of(site: u32, r: &SiteReach) -> Vec<Pair> {
    r.demand
        .iter()
        .zip(r.dist)
        .map(|(&d, &m)| (m.max(0.0).to_bits(), site, d))
        .collect()
}

fn sorted_pairs(sites: &[SiteReach], first: u32) -> Vec<Pair> {
    let mut p: Vec<Pair> = sites
        .iter()
        .enumerate()
        .flat_map(|(i, r)| pairs_of(first + i as u32, r))
        .collect();
    p.sort_unstable();
    p
}

/// Nearest-first assignment of `weight` (per demand point) to `sites`.
pub fn assign(weight: &[u64], sites: &[SiteReach]) -> Assignment {
    let caps: Vec<Option<u64>> = sites.iter().map(|s| s.capacity).collect();
    run(weight, &caps, &sorted_pairs(sites, 0), &[], false)
}

/// [`assign`] that also records every flow.
pub fn assign_flows(weight: &[u64], sites: &[SiteReach]) -> Assignment {
    let caps: Vec<Option<u64>> = sites.iter().map(|s| s.capacity).collect();
    run(weight, &caps, &sorted_pairs(sites, 0), &[], true)
}

/// The assignment over two sorted pair lists merged (existing sites' pairs sorted once).
fn run(weight: &[u64], caps: &[Option<u64>], a: &[Pair], b: &[Pair], record: bool) -> Assignment {
    let mut left: Vec<u64> = weight.to_vec();
    let mut room: Vec<u64> = caps.iter().map(|c| c.unwrap_or(u64::MAX)).collect();
    let mut site_served = vec![0u64; caps.len()];
    let mut flows = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let p = if j >= b.len() || (i < a.len() && a[i] <= b[j]) {
            i += 1;
            a[i - 1]
        } else {
            j += 1;
            b[j - 1]
        };
        let (s, d) = (p.1 as usize, p.2 as usize);
        let x = left[d].min(room[s]);
        if x > 0 {
            left[d] -= x;
            room[s] -= x;
            site_served[s] += x;
            if record {
                flows.push((p.1, p.2, x));
            }
        }
    }
    let demand_served: Vec<u64> = weight.iter().zip(&left).map(|(w, l)| w - l).collect();
    let total = site_served.iter().sum();
    Assignment {
        site_served,
        demand_served,
        total,
        flows,
    }
}

/// The answer of [`greedy`].
#[derive(Clone, Debug)]
pub struct Capacitated {
    /// Candidate indices in the order opened.
    pub chosen: Vec<u32>,
    /// Total served after each opening.
    pub served_after: Vec<u64>,
    /// With the existing sites only.
    pub before: Assignment,
    /// With the existing and the chosen sites (sites: existing first, then `chosen` in order),
    /// flows recorded.
    pub after: Assignment,
    /// Stopped early: no candidate served anyone more.
    pub saturated: bool,
    pub evaluations: u64,
}

/// Opens up to `p` candidates of room `capacity` beside `existing` (see the module docs).
pub fn greedy(
    weight: &[u64],
    existing: &[SiteReach],
    candidates: &[SiteReach],
    p: usize,
    limits: &Limits,
) -> Capacitated {
    let ne = existing.len() as u32;
    let base = sorted_pairs(existing, 0);
    let mut caps: Vec<Option<u64>> = existing.iter().map(|s| s.capacity).collect();
    let before = run(weight, &caps, &base, &[], false);
    let mut cur = before.clone();
    let mut chosen: Vec<u32> = Vec::new();
    let mut chosen_pairs: Vec<Pair> = Vec::new();
    let mut served_after = Vec::new();
    let mut open = vec![false; candidates.len()];
    let mut saturated = false;
    let mut evaluations = 0u64;
    for _ in 0..p.min(candidates.len()) {
        if limits.stop() && !chosen.is_empty() {
            break;
        }
        // upper estimates of each candidate's gain given the current assignment
        let mut est: Vec<(u64, u32)> = candidates
            .iter()
            .enumerate()
            .filter(|(c, _)| !open[*c])
            .map(|(c, r)| {
                let unserved: u64 = r
                    .demand
                    .iter()
                    .map(|&d| weight[d as usize] - cur.demand_served[d as usize])
                    .sum();
                (unserved.min(r.capacity.unwrap_or(u64::MAX)), c as u32)
            })
            .filter(|(e, _)| *e > 0)
            .collect();
        est.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let site_no = ne + chosen.len() as u32;
        let mut best: Option<(u64, u32, Assignment, Vec<Pair>)> = None;
        for &(_, c) in est.iter().take(SHORTLIST) {
            let mut pairs = chosen_pairs.clone();
            pairs.extend(pairs_of(site_no, &candidates[c as usize]));
            pairs.sort_unstable();
            caps.push(candidates[c as usize].capacity);
            let a = run(weight, &caps, &base, &pairs, false);
            caps.pop();
            evaluations += 1;
            if best.as_ref().is_none_or(|b| a.total > b.0) {
                best = Some((a.total, c, a, pairs));
            }
        }
        match best {
            Some((total, c, a, pairs)) if total > cur.total => {
                open[c as usize] = true;
                caps.push(candidates[c as usize].capacity);
                chosen.push(c);
                chosen_pairs = pairs;
                served_after.push(total);
                cur = a;
            }
            _ => {
                saturated = true;
                break;
            }
        }
    }
    let after = run(weight, &caps, &base, &chosen_pairs, true);
    debug_assert_eq!(after.total, cur.total);
    Capacitated {
        chosen,
        served_after,
        before,
        after,
        saturated,
        evaluations,
    }
}

/// An upper bound on the households served once `p` new sites of room `capacity` open: the
/// smaller of `uncapacitated` (a bound on the maximal cover with `p` new sites, which serves at
/// least as many) and what the existing sites can serve plus `p × capacity`; the existing sites
/// serve at most their reachable room and at most `existing_union`, the demand any of them
/// reaches.
pub fn upper_bound(
    weight: &[u64],
    existing: &[SiteReach],
    existing_union: u64,
    capacity: u64,
    p: usize,
    uncapacitated: f64,
) -> f64 {
    let room: u64 = existing
        .iter()
        .map(|s| {
            let reach: u64 = s.demand.iter().map(|&d| weight[d as usize]).sum();
            s.capacity.map_or(reach, |c| c.min(reach))
        })
        .sum::<u64>()
        .min(existing_union);
    uncapacitated.min(room.saturating_add(capacity.saturating_mul(p as u64)) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reach<'a>(d: &'a [u32], m: &'a [f32], c: Option<u64>) -> SiteReach<'a> {
        SiteReach {
            demand: d,
            dist: m,
            capacity: c,
        }
    }

    #[test]
    fn nearest_site_with_room_serves_first() {
        // point 0 (6 hh) is 100 m from A (room 4) and 200 m from B (room 10)
        let s = [
            reach(&[0], &[100.0], Some(4)),
            reach(&[0, 1], &[200.0, 50.0], Some(10)),
        ];
        let a = assign(&[6, 3], &s);
        assert_eq!(a.site_served, vec![4, 5]);
        assert_eq!(a.demand_served, vec![6, 3]);
    }

    #[test]
    fn greedy_prefers_room_where_demand_is_unserved() {
        // existing site full; candidate 0 reaches only served demand, candidate 1 the unserved
        let w = [10, 10];
        let ex = [reach(&[0], &[10.0], Some(10))];
        let c = [
            reach(&[0], &[5.0], Some(10)),
            reach(&[1], &[50.0], Some(10)),
        ];
        let r = greedy(&w, &ex, &c, 2, &Limits::none());
        assert_eq!(r.before.total, 10);
        assert_eq!(r.chosen, vec![1]);
        assert_eq!(r.after.total, 20);
        assert!(r.saturated);
        let ub = upper_bound(&w, &ex, 10, 10, 2, 20.0);
        assert_eq!(ub, 20.0);
    }

    use proptest::prelude::*;

    proptest! {
        /// No site over capacity, no demand over-served, and nearest-first: whatever a site
        /// serves, every nearer site of that demand point is full; whatever is unserved, every
        /// site reaching it is full.
        #[test]
        fn assignment_respects_room_and_order(
            weight in prop::collection::vec(0u64..20, 1..8),
            raw in prop::collection::vec(
                (prop::collection::vec((0u32..8, 1u32..50), 0..6), prop::option::of(0u64..30)),
                1..6),
        ) {
            let nd = weight.len() as u32;
            let lists: Vec<(Vec<u32>, Vec<f32>, Option<u64>)> = raw
                .iter()
                .map(|(pairs, cap)| {
                    let mut m: std::collections::BTreeMap<u32, f32> = Default::default();
                    for &(d, dist) in pairs {
                        m.entry(d % nd).or_insert(dist as f32 * 10.0);
                    }
                    (m.keys().copied().collect(), m.values().copied().collect(), *cap)
                })
                .collect();
            let sites: Vec<SiteReach> = lists
                .iter()
                .map(|(d, m, c)| SiteReach { demand: d, dist: m, capacity: *c })
                .collect();
            let a = assign_flows(&weight, &sites);
            let full = |s: usize| sites[s].capacity.is_some_and(|c| a.site_served[s] >= c);
            for (s, r) in sites.iter().enumerate() {
                if let Some(c) = r.capacity {
                    prop_assert!(a.site_served[s] <= c);
                }
            }
            for (d, w) in weight.iter().enumerate() {
                prop_assert!(a.demand_served[d] <= *w);
            }
            let dist = |s: usize, d: u32| sites[s].demand.iter().position(|&x| x == d).map(|k| sites[s].dist[k]);
            for &(s, d, _) in &a.flows {
                let here = dist(s as usize, d).unwrap_or(f32::INFINITY);
                for t in 0..sites.len() {
                    if let Some(m) = dist(t, d) {
                        if m < here {
                            prop_assert!(full(t), "site {t} nearer to {d} than {s} has room");
                        }
                    }
                }
            }
            for (d, w) in weight.iter().enumerate() {
                if a.demand_served[d] < *w {
                    for t in 0..sites.len() {
                        if dist(t, d as u32).is_some() {
                            prop_assert!(full(t), "point {d} unserved while site {t} has room");
                        }
                    }
                }
            }
            prop_assert_eq!(a.total, a.flows.iter().map(|f| f.2).sum::<u64>());
        }
    }
}
