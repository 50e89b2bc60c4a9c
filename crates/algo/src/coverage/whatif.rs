//! What-if: add, move or remove one facility and see which buildings gain or lose coverage,
//! without recomputing the whole kind.
//!
//! * **Add**: a bounded search from the new site that only continues where it beats the current
//!   distance (strict improvement), so it touches just the area the new site wins.
//! * **Remove**: only nodes whose nearest source was the removed site can change. They are reset
//!   and re-reached by a search restricted to them, seeded from their settled neighbours outside
//!   the region and from the other sources snapped inside it.
//! * **Move** = remove, then add under the same id.
//!
//! The result is exactly what a full recompute gives (tested as a property), and is itself a
//! [`KindCoverage`], so changes can be chained.
use super::{CoverageEngine, KindCoverage};
use crate::network::paths::{improve, NO_SOURCE};
use crate::network::{Snap, Unplaced};
use crate::AlgoError;
use gridmap_model::{BuildingId, FacilityId};
use serde::Serialize;

/// One facility change.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum Change {
    Add { id: FacilityId, lon: f64, lat: f64 },
    Remove { id: FacilityId },
    Move { id: FacilityId, lon: f64, lat: f64 },
}

/// What a change does at one threshold.
#[derive(Clone, Debug)]
pub struct WhatIfResult {
    pub minutes: f64,
    pub covered_households_before: u64,
    pub covered_households_after: u64,
    pub delta_households: i64,
    pub covered_buildings_before: usize,
    pub covered_buildings_after: usize,
    pub newly_covered: Vec<BuildingId>,
    pub newly_uncovered: Vec<BuildingId>,
    /// Where an added or moved site landed on the network (or why it could not).
    pub new_site: Option<Result<Snap, Unplaced>>,
    /// The coverage after the change (chain further changes on it).
    pub after: KindCoverage,
}

impl CoverageEngine {
    /// Applies `change` to `cov` and compares coverage at `minutes` (≤ the coverage's bound).
    pub fn what_if(
        &self,
        cov: &KindCoverage,
        change: &Change,
        minutes: f64,
    ) -> Result<WhatIfResult, AlgoError> {
        let limit = self.threshold_m(cov, minutes)?;
        let mut after = cov.clone();
        let mut new_site = None;
        match change {
            Change::Add { id, lon, lat } => {
                new_site = Some(self.add_source(&mut after, id, *lon, *lat)?);
            }
            Change::Remove { id } => self.remove_source(&mut after, id)?,
            Change::Move { id, lon, lat } => {
                check_location(id, *lon, *lat)?;
                self.remove_source(&mut after, id)?;
                new_site = Some(self.add_source(&mut after, id, *lon, *lat)?);
            }
        }
        self.assign_buildings(&mut after);
        let mut r = WhatIfResult {
            minutes,
            covered_households_before: 0,
            covered_households_after: 0,
            delta_households: 0,
            covered_buildings_before: 0,
            covered_buildings_after: 0,
            newly_covered: Vec::new(),
            newly_uncovered: Vec::new(),
            new_site,
            after,
        };
        for (i, b) in self.buildings.iter().enumerate() {
            let (was, is) = (
                Self::covered(cov, i, limit),
                Self::covered(&r.after, i, limit),
            );
            let hh = u64::from(b.households);
            if was {
                r.covered_households_before += hh;
                r.covered_buildings_before += 1;
            }
            if is {
                r.covered_households_after += hh;
                r.covered_buildings_after += 1;
            }
            if is && !was {
                r.newly_covered.push(b.id.clone());
            } else if was && !is {
                r.newly_uncovered.push(b.id.clone());
            }
        }
        r.delta_households = r.covered_households_after as i64 - r.covered_households_before as i64;
        Ok(r)
    }

    fn add_source(
        &self,
        cov: &mut KindCoverage,
        id: &FacilityId,
        lon: f64,
        lat: f64,
    ) -> Result<Result<Snap, Unplaced>, AlgoError> {
        check_location(id, lon, lat)?;
        let placement = self.network.snap(lon, lat, &self.options.snap);
        if let Ok(s) = &placement {
            self.add_snapped(cov, id, s);
            if cov.source_snaps.iter().flatten().count() == 1 {
                cov.note = None;
            }
        }
        Ok(placement)
    }

    /// Adds a source already snapped at `s`: a bounded search that only continues where it beats
    /// the current distance.
    pub(crate) fn add_snapped(&self, cov: &mut KindCoverage, id: &FacilityId, s: &Snap) {
        let label = cov.source_ids.len() as u32;
        cov.source_ids.push(id.clone());
        cov.source_snaps.push(Some(*s));
        let seeds = self.seeds_of(label, s);
        improve(&self.network, &mut cov.nodes, &seeds, cov.bound_m, |_| true);
    }

    pub(crate) fn remove_source(
        &self,
        cov: &mut KindCoverage,
        id: &FacilityId,
    ) -> Result<(), AlgoError> {
        let Some(r) = (0..cov.source_ids.len())
            .find(|&l| &cov.source_ids[l] == id && cov.source_snaps[l].is_some())
            .map(|l| l as u32)
        else {
            // an unplaced facility of the kind: removing it changes nothing
            if let Some(p) = cov.unplaced_facilities.iter().position(|(f, _)| f == id) {
                cov.unplaced_facilities.remove(p);
                return Ok(());
            }
            return Err(AlgoError::UnknownFacility(id.to_string()));
        };
        cov.source_snaps[r as usize] = None;
        let n = self.network.node_count();
        let mut in_region = vec![false; n];
        let mut region = Vec::new();
        for (x, s) in cov.nodes.source.iter().enumerate() {
            if *s == r {
                in_region[x] = true;
                region.push(x as u32);
            }
        }
        for &x in &region {
            cov.nodes.dist[x as usize] = f64::INFINITY;
            cov.nodes.source[x as usize] = NO_SOURCE;
        }
        let mut seeds = Vec::new();
        for &x in &region {
            for (y, w) in self.network.neighbours(x) {
                let yi = y as usize;
                if !in_region[yi] && cov.nodes.dist[yi].is_finite() {
                    seeds.push(crate::network::Seed {
                        node: x,
                        dist_m: cov.nodes.dist[yi] + w,
                        source: cov.nodes.source[yi],
                    });
                }
            }
        }
        for (label, s) in cov.placed_sources() {
            seeds.extend(
                self.seeds_of(label, s)
                    .into_iter()
                    .filter(|sd| in_region[sd.node as usize]),
            );
        }
        improve(&self.network, &mut cov.nodes, &seeds, cov.bound_m, |x| {
            in_region[x as usize]
        });
        Ok(())
    }
}

fn check_location(id: &FacilityId, lon: f64, lat: f64) -> Result<(), AlgoError> {
    if lon.is_finite()
        && lat.is_finite()
        && (-180.0..=180.0).contains(&lon)
        && (-90.0..=90.0).contains(&lat)
    {
        Ok(())
    } else {
        Err(AlgoError::InvalidLocation {
            id: id.to_string(),
            lon,
            lat,
        })
    }
}
