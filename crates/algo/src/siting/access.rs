//! Accessibility scores that count capacity: the two-step floating catchment area (2SFCA, Luo &
//! Wang 2003) and its enhanced, distance-decayed form (E2SFCA, Luo & Qi 2009), as in PySAL
//! `access`.
//!
//! With supply `S_j` at site `j` (its capacity, or 1 per site), demand `P_i` at point `i`
//! (households) and a decay `f` of the walking distance `d_ij ≤ d₀` (the limit):
//!
//! ```text
//! step 1  R_j = S_j / Σ_{i: d_ij ≤ d₀} P_i · f(d_ij)      supply per demand in the site's catchment
//! step 2  A_i = Σ_{j: d_ij ≤ d₀} R_j · f(d_ij)             what point i can draw on
//! ```
//!
//! Scores are reported per 1 000 households (`A_i × 1000`): with capacities in households, 1 000
//! means every household in reach has a place; with one unit per site, sites per 1 000
//! households. Supply is conserved: `Σ_i P_i A_i = Σ_j S_j` over the sites that reach any demand
//! (property-tested below), so a region's household-weighted mean score is its share of supply.
//!
//! ```
//! use gridmap_algo::siting::access::{two_step, Decay, SupplySite};
//! // one site of 50 places reaching 100 households at 200 m: 0.5 places per household
//! let sites = [SupplySite { demand: &[0], dist: &[200.0], supply: 50.0 }];
//! let a = two_step(&[100], &sites, 1200.0, Decay::Uniform);
//! assert_eq!(a.score[0], 0.5);
//! assert_eq!(a.ratio[0], 0.5);
//! ```
use crate::AlgoError;
use serde::Serialize;

/// How weight falls off with walking distance inside the catchment.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Decay {
    /// Classic 2SFCA: 1 within the limit.
    Uniform,
    /// E2SFCA: three equal distance bands weighted 1, 0.68, 0.22 (Luo & Qi 2009).
    #[default]
    E2sfca,
    /// Gaussian, normalised to 1 at the site and 0 at the limit (Dai 2010; PySAL `access`).
    Gaussian,
    /// 1 − d/d₀.
    Linear,
}

impl Decay {
    pub fn parse(s: &str) -> Result<Self, AlgoError> {
        Ok(match s {
            "uniform" | "2sfca" | "none" => Self::Uniform,
            "e2sfca" | "bands" | "step" => Self::E2sfca,
            "gaussian" => Self::Gaussian,
            "linear" => Self::Linear,
            other => {
                return Err(AlgoError::InvalidParameter {
                    name: "decay",
                    value: other.to_owned(),
                    expected: "one of uniform (2sfca), e2sfca, gaussian, linear",
                })
            }
        })
    }

    /// The weight at `d` metres of a `limit` metre catchment (0 beyond it).
    pub fn weight(self, d: f64, limit: f64) -> f64 {
        if d.is_nan() || d > limit || limit <= 0.0 {
            return 0.0;
        }
        let x = (d / limit).max(0.0);
        match self {
            Self::Uniform => 1.0,
            Self::E2sfca => {
                if x <= 1.0 / 3.0 {
                    1.0
                } else if x <= 2.0 / 3.0 {
                    0.68
                } else {
                    0.22
                }
            }
            Self::Gaussian => {
                let e = (-0.5f64).exp();
                ((-0.5 * x * x).exp() - e) / (1.0 - e)
            }
            Self::Linear => 1.0 - x,
        }
    }
}

/// One supply site: demand points within the limit (with metres) and its supply.
#[derive(Clone, Copy, Debug)]
pub struct SupplySite<'a> {
    pub demand: &'a [u32],
    pub dist: &'a [f32],
    pub supply: f64,
}

/// The answer of [`two_step`].
#[derive(Clone, Debug, PartialEq)]
pub struct Access {
    /// Per site: supply per (decayed) household in its catchment; 0 if it reaches no demand.
    pub ratio: Vec<f64>,
    /// Per demand point: `A_i` (multiply by 1 000 for the per-1 000-households score).
    pub score: Vec<f64>,
}

/// 2SFCA / E2SFCA over sparse catchments (see the module docs).
pub fn two_step(weight: &[u64], sites: &[SupplySite], limit_m: f64, decay: Decay) -> Access {
    let ratio: Vec<f64> = sites
        .iter()
        .map(|s| {
            let demand: f64 = s
                .demand
                .iter()
                .zip(s.dist)
                .map(|(&d, &m)| weight[d as usize] as f64 * decay.weight(f64::from(m), limit_m))
                .sum();
            if demand > 0.0 {
                s.supply / demand
            } else {
                0.0
            }
        })
        .collect();
    let mut score = vec![0.0; weight.len()];
    for (s, r) in sites.iter().zip(&ratio) {
        if *r == 0.0 {
            continue;
        }
        for (&d, &m) in s.demand.iter().zip(s.dist) {
            score[d as usize] += r * decay.weight(f64::from(m), limit_m);
        }
    }
    Access { ratio, score }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The textbook form over a dense matrix (`None` = beyond reach).
    fn dense(
        weight: &[u64],
        d: &[Vec<Option<f64>>],
        supply: &[f64],
        limit: f64,
        f: Decay,
    ) -> Vec<f64> {
        let r: Vec<f64> = (0..supply.len())
            .map(|j| {
                let s: f64 = (0..weight.len())
                    .filter_map(|i| d[j][i].map(|m| weight[i] as f64 * f.weight(m, limit)))
                    .sum();
                if s > 0.0 {
                    supply[j] / s
                } else {
                    0.0
                }
            })
            .collect();
        (0..weight.len())
            .map(|i| {
                (0..supply.len())
                    .filter_map(|j| d[j][i].map(|m| r[j] * f.weight(m, limit)))
                    .sum()
            })
            .collect()
    }

    #[test]
    fn decays_are_one_at_the_site_and_fall_to_the_limit() {
        for f in [
            Decay::Uniform,
            Decay::E2sfca,
            Decay::Gaussian,
            Decay::Linear,
        ] {
            assert_eq!(f.weight(0.0, 900.0), 1.0, "{f:?}");
            assert_eq!(f.weight(901.0, 900.0), 0.0, "{f:?}");
            assert!(f.weight(600.0, 900.0) <= f.weight(300.0, 900.0), "{f:?}");
        }
        assert_eq!(Decay::E2sfca.weight(500.0, 900.0), 0.68);
        assert_eq!(Decay::E2sfca.weight(900.0, 900.0), 0.22);
        assert!(Decay::Gaussian.weight(900.0, 900.0).abs() < 1e-12);
        assert!(Decay::parse("cosine").is_err());
    }

    proptest! {
        /// Sparse equals the dense textbook form, and supply is conserved.
        #[test]
        fn sparse_equals_dense_and_conserves_supply(
            weight in prop::collection::vec(0u64..50, 1..8),
            raw in prop::collection::vec(
                (prop::collection::btree_map(0u32..8, 0u32..1000, 0..6), 1u32..100), 1..6),
            decay in prop::sample::select(vec![Decay::Uniform, Decay::E2sfca, Decay::Gaussian, Decay::Linear]),
        ) {
            let nd = weight.len();
            let limit = 900.0;
            let mut lists = Vec::new();
            let mut d = vec![vec![None; nd]; raw.len()];
            for (j, (m, _)) in raw.iter().enumerate() {
                let mut ds = Vec::new();
                let mut ms = Vec::new();
                for (&i, &dist) in m {
                    let i = i as usize % nd;
                    if d[j][i].is_some() || f64::from(dist) > limit { continue; }
                    d[j][i] = Some(f64::from(dist as f32));
                    ds.push(i as u32);
                    ms.push(dist as f32);
                }
                lists.push((ds, ms));
            }
            let supply: Vec<f64> = raw.iter().map(|(_, s)| f64::from(*s)).collect();
            let sites: Vec<SupplySite> = lists
                .iter()
                .zip(&supply)
                .map(|((ds, ms), &s)| SupplySite { demand: ds, dist: ms, supply: s })
                .collect();
            let a = two_step(&weight, &sites, limit, decay);
            let want = dense(&weight, &d, &supply, limit, decay);
            for (x, y) in a.score.iter().zip(&want) {
                prop_assert!((x - y).abs() <= 1e-9 * (1.0 + y.abs()), "{x} vs {y}");
            }
            let drawn: f64 = a.score.iter().zip(&weight).map(|(s, &w)| s * w as f64).sum();
            let offered: f64 = sites.iter().zip(&a.ratio).filter(|(_, r)| **r > 0.0).map(|(s, _)| s.supply).sum();
            prop_assert!((drawn - offered).abs() <= 1e-6 * (1.0 + offered));
        }
    }
}
