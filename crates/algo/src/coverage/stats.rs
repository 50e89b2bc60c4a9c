//! Covered households at several thresholds, overall and per group (community, grid, compound…).
use super::{CoverageEngine, KindCoverage};
use crate::AlgoError;
use serde::Serialize;
use std::collections::BTreeMap;

/// Counts at one threshold.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Tally {
    pub minutes: f64,
    pub covered_households: u64,
    pub total_households: u64,
    pub covered_buildings: usize,
    pub total_buildings: usize,
    /// Residents 65+ in covered buildings (buildings with a known count only).
    pub covered_elderly: u64,
    pub total_elderly: u64,
    /// Buildings with a known elderly count.
    pub buildings_with_elderly: usize,
    /// Buildings that could not be placed on the network (never covered).
    pub unplaced_buildings: usize,
    /// 100 × covered / total households (0 when there are no households).
    pub pct_households: f64,
}

/// Statistics of one coverage: overall and per group key, one [`Tally`] per threshold.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CoverageStats<K: Ord> {
    pub kind: String,
    pub speed_kmh: f64,
    pub overall: Vec<Tally>,
    pub groups: BTreeMap<K, Vec<Tally>>,
    pub note: Option<String>,
}

impl CoverageEngine {
    /// Tallies at each of `thresholds` (minutes, each ≤ the coverage's bound). `group_of(i)` gives
    /// the group key of building `i` (input order), e.g. `|i| buildings[i].community.clone()`;
    /// buildings without a key count in `overall` only.
    pub fn statistics<K: Ord + Clone>(
        &self,
        cov: &KindCoverage,
        thresholds: &[f64],
        group_of: impl Fn(usize) -> Option<K>,
    ) -> Result<CoverageStats<K>, AlgoError> {
        let limits: Vec<f64> = thresholds
            .iter()
            .map(|m| self.threshold_m(cov, *m))
            .collect::<Result<_, _>>()?;
        let blank: Vec<Tally> = thresholds
            .iter()
            .map(|m| Tally {
                minutes: *m,
                ..Tally::default()
            })
            .collect();
        let mut overall = blank.clone();
        let mut groups: BTreeMap<K, Vec<Tally>> = BTreeMap::new();
        for (i, b) in self.buildings.iter().enumerate() {
            let key = group_of(i);
            let add = |tallies: &mut Vec<Tally>| {
                for (t, limit) in tallies.iter_mut().zip(&limits) {
                    let hh = u64::from(b.households);
                    let covered = Self::covered(cov, i, *limit);
                    t.total_households += hh;
                    t.total_buildings += 1;
                    if let Some(e) = b.elderly {
                        t.total_elderly += u64::from(e);
                        t.buildings_with_elderly += 1;
                        if covered {
                            t.covered_elderly += u64::from(e);
                        }
                    }
                    if b.placement.is_err() {
                        t.unplaced_buildings += 1;
                    }
                    if covered {
                        t.covered_households += hh;
                        t.covered_buildings += 1;
                    }
                }
            };
            add(&mut overall);
            if let Some(k) = key {
                add(groups.entry(k).or_insert_with(|| blank.clone()));
            }
        }
        let pct = |ts: &mut Vec<Tally>| {
            for t in ts {
                t.pct_households = if t.total_households > 0 {
                    100.0 * t.covered_households as f64 / t.total_households as f64
                } else {
                    0.0
                };
            }
        };
        pct(&mut overall);
        groups.values_mut().for_each(pct);
        Ok(CoverageStats {
            kind: cov
                .kind
                .as_ref()
                .map_or("all".to_owned(), |k| k.as_str().to_owned()),
            speed_kmh: cov.profile.speed_kmh,
            overall,
            groups,
            note: cov.note.clone(),
        })
    }
}
