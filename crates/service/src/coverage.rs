//! Coverage questions of departments: who is within N minutes of a kind of facility, where the
//! gaps are, what the walking-time contours look like, and what a facility change would do.
use crate::{check_minutes, facility_kind, Analysis, Result, ServiceError};
use gridmap_algo::coverage::{
    BuildingTime, Change, GapArea, GapOptions, KindCoverage, Tally, WalkProfile,
};
use gridmap_algo::isochrone::{IsochroneBand, IsochroneOptions};
use gridmap_model::FacilityId;
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;

/// One coverage question.
#[derive(Clone, Debug)]
pub struct CoverageQuery {
    /// Facility kind name, or `all`.
    pub kind: String,
    /// Thresholds in minutes; the first is the headline figure.
    pub minutes: Vec<f64>,
    pub profile: WalkProfile,
}

/// Coverage of one group (community, grid or compound) at the headline threshold.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupCoverage {
    pub id: String,
    pub name: String,
    pub covered_households: u64,
    pub total_households: u64,
    pub pct: f64,
    pub covered_elderly: u64,
    pub total_elderly: u64,
    pub buildings: usize,
}

/// The answer to a [`CoverageQuery`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CoverageSummary {
    pub kind: String,
    pub minutes: f64,
    pub speed_kmh: f64,
    pub facilities: usize,
    pub covered_households: u64,
    pub total_households: u64,
    pub pct: f64,
    pub covered_buildings: usize,
    pub total_buildings: usize,
    pub covered_elderly: u64,
    pub total_elderly: u64,
    /// Buildings that could not be put on the walking network (no geometry, too far from it).
    pub unreachable_buildings: usize,
    /// One tally per threshold asked.
    pub thresholds: Vec<Tally>,
    pub by_community: Vec<GroupCoverage>,
    pub by_grid: Vec<GroupCoverage>,
    pub by_compound: Vec<GroupCoverage>,
    pub unplaced_facilities: Vec<String>,
    /// Why a figure is 0 or partial (no facilities of the kind, empty network, …).
    pub note: Option<String>,
    pub seconds: f64,
}

/// Totals before and after a what-if change, at one threshold.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CoverageFigure {
    pub covered_households: u64,
    pub pct: f64,
}

/// The answer to a what-if change.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WhatIfSummary {
    pub kind: String,
    pub minutes: f64,
    pub speed_kmh: f64,
    pub change: Change,
    pub before: CoverageFigure,
    pub after: CoverageFigure,
    pub delta_households: i64,
    pub newly_covered: Vec<String>,
    pub newly_uncovered: Vec<String>,
    /// Why the new site could not be placed on the network, when it could not.
    pub unplaced: Option<String>,
    pub seconds: f64,
}

fn pct(covered: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        (100_000.0 * covered as f64 / total as f64).round() / 1000.0
    }
}

impl Analysis {
    /// The cached per-building result for a kind and profile, bounded at `max_minutes`.
    pub fn kind_coverage(
        &self,
        kind: &str,
        profile: WalkProfile,
        max_minutes: f64,
    ) -> Result<Arc<KindCoverage>> {
        let k = facility_kind(kind)?;
        Ok(self.engine().coverage(k.as_ref(), profile, max_minutes)?)
    }

    fn bound(minutes: &[f64]) -> f64 {
        minutes.iter().copied().fold(0.0, f64::max)
    }

    /// Covered households at each threshold, overall, per community and per grid.
    pub fn coverage(&self, q: &CoverageQuery) -> Result<CoverageSummary> {
        let t0 = Instant::now();
        check_minutes(&q.minutes)?;
        let cov = self.kind_coverage(&q.kind, q.profile, Self::bound(&q.minutes))?;
        let engine = self.engine();
        let ds = self.dataset();
        let headline = q.minutes[0];
        let overall = engine.statistics(&cov, &q.minutes, |_| None::<()>)?;
        let by_c = engine.statistics(&cov, &[headline], |i| {
            ds.buildings[i]
                .community
                .as_ref()
                .map(std::string::ToString::to_string)
        })?;
        let by_g = engine.statistics(&cov, &[headline], |i| self.grid_index(i))?;
        let by_k = engine.statistics(&cov, &[headline], |i| {
            ds.buildings[i]
                .compound
                .as_ref()
                .map(std::string::ToString::to_string)
        })?;
        let group = |id: String, name: String, t: &Tally| GroupCoverage {
            id,
            name,
            covered_households: t.covered_households,
            total_households: t.total_households,
            pct: pct(t.covered_households, t.total_households),
            covered_elderly: t.covered_elderly,
            total_elderly: t.total_elderly,
            buildings: t.total_buildings,
        };
        let by_community = by_c
            .groups
            .iter()
            .filter_map(|(id, ts)| {
                ts.first()
                    .map(|t| group(id.clone(), self.community_name(id), t))
            })
            .collect();
        let by_grid = by_g
            .groups
            .iter()
            .filter_map(|(g, ts)| {
                let grid = &ds.grids[*g];
                ts.first()
                    .map(|t| group(grid.id.to_string(), grid.code.clone(), t))
            })
            .collect();
        let compound_names: std::collections::HashMap<String, &str> = ds
            .compounds
            .iter()
            .filter_map(|c| c.name.as_deref().map(|n| (c.id.to_string(), n)))
            .collect();
        let by_compound = by_k
            .groups
            .iter()
            .filter_map(|(id, ts)| {
                let name = compound_names
                    .get(id)
                    .map_or_else(|| id.clone(), |n| (*n).to_owned());
                ts.first().map(|t| group(id.clone(), name, t))
            })
            .collect();
        let head = overall.overall.first().cloned().unwrap_or_default();
        Ok(CoverageSummary {
            kind: q.kind.clone(),
            minutes: headline,
            speed_kmh: q.profile.speed_kmh,
            facilities: cov.source_ids.len() + cov.unplaced_facilities.len(),
            covered_households: head.covered_households,
            total_households: head.total_households,
            pct: pct(head.covered_households, head.total_households),
            covered_buildings: head.covered_buildings,
            total_buildings: head.total_buildings,
            covered_elderly: head.covered_elderly,
            total_elderly: head.total_elderly,
            unreachable_buildings: head.unplaced_buildings,
            thresholds: overall.overall,
            by_community,
            by_grid,
            by_compound,
            unplaced_facilities: cov
                .unplaced_facilities
                .iter()
                .map(|(id, why)| format!("{id}: {why}"))
                .collect(),
            note: cov.note.clone(),
            seconds: t0.elapsed().as_secs_f64(),
        })
    }

    /// Grid index of building `i`, if it is in a grid.
    pub fn grid_index(&self, i: usize) -> Option<usize> {
        self.grid_of.get(i).copied().flatten()
    }

    /// Minutes and nearest facility of every building (input order) at `minutes`.
    pub fn building_times(
        &self,
        kind: &str,
        minutes: f64,
        profile: WalkProfile,
    ) -> Result<Vec<BuildingTime>> {
        check_minutes(&[minutes])?;
        let cov = self.kind_coverage(kind, profile, minutes)?;
        Ok(self.engine().building_times(&cov, minutes)?)
    }

    /// Uncovered buildings clustered into gap areas, largest first. A gap never joins buildings of
    /// two communities (in a dense city single linkage would otherwise chain most uncovered
    /// buildings into one area; a community is what acts on a gap).
    pub fn gaps(
        &self,
        kind: &str,
        minutes: f64,
        profile: WalkProfile,
        opts: &GapOptions,
    ) -> Result<Vec<GapArea>> {
        check_minutes(&[minutes])?;
        let cov = self.kind_coverage(kind, profile, minutes)?;
        let ds = self.dataset();
        Ok(self
            .engine()
            .gaps_within_groups(&cov, minutes, opts, &ds.buildings, |i| {
                ds.buildings[i].community.as_ref()
            })?)
    }

    /// Walking-time contours around one facility.
    pub fn isochrone_for_facility(
        &self,
        id: &str,
        minutes: &[f64],
        profile: WalkProfile,
    ) -> Result<Vec<IsochroneBand>> {
        check_minutes(minutes)?;
        let fid = FacilityId::new(id);
        if !self.dataset().facilities.iter().any(|f| f.id == fid) {
            return Err(ServiceError::NotFound {
                what: "facility",
                id: id.to_owned(),
            });
        }
        let opts = IsochroneOptions {
            levels_min: minutes.to_vec(),
            ..IsochroneOptions::default()
        };
        Ok(self.engine().isochrone_for_facility(&fid, profile, &opts)?)
    }

    /// Walking-time contours of the union over all facilities of a kind.
    pub fn isochrone_for_kind(
        &self,
        kind: &str,
        minutes: &[f64],
        profile: WalkProfile,
    ) -> Result<Vec<IsochroneBand>> {
        check_minutes(minutes)?;
        let cov = self.kind_coverage(kind, profile, Self::bound(minutes))?;
        let opts = IsochroneOptions {
            levels_min: minutes.to_vec(),
            ..IsochroneOptions::default()
        };
        Ok(self.engine().isochrone_for_kind(&cov, &opts)?)
    }

    /// What adding, moving or removing one facility does to coverage at `minutes`.
    pub fn what_if(
        &self,
        kind: &str,
        minutes: f64,
        profile: WalkProfile,
        change: Change,
    ) -> Result<WhatIfSummary> {
        let t0 = Instant::now();
        check_minutes(&[minutes])?;
        let cov = self.kind_coverage(kind, profile, minutes)?;
        let r = self.engine().what_if(&cov, &change, minutes)?;
        let total: u64 = self
            .dataset()
            .buildings
            .iter()
            .map(|b| u64::from(b.households))
            .sum();
        Ok(WhatIfSummary {
            kind: kind.to_owned(),
            minutes,
            speed_kmh: profile.speed_kmh,
            before: CoverageFigure {
                covered_households: r.covered_households_before,
                pct: pct(r.covered_households_before, total),
            },
            after: CoverageFigure {
                covered_households: r.covered_households_after,
                pct: pct(r.covered_households_after, total),
            },
            delta_households: r.delta_households,
            newly_covered: r.newly_covered.iter().map(ToString::to_string).collect(),
            newly_uncovered: r.newly_uncovered.iter().map(ToString::to_string).collect(),
            unplaced: r
                .new_site
                .as_ref()
                .and_then(|s| s.as_ref().err().map(ToString::to_string)),
            change,
            seconds: t0.elapsed().as_secs_f64(),
        })
    }
}

/// Gap areas as a GeoJSON FeatureCollection (rank, households, elderly, buildings, area).
pub fn gaps_geojson(gaps: &[GapArea]) -> geojson::FeatureCollection {
    let features = gaps
        .iter()
        .map(|g| {
            let mut p = serde_json::Map::new();
            p.insert("id".into(), format!("gap-{}", g.rank).into());
            p.insert("rank".into(), g.rank.into());
            p.insert("households".into(), g.households.into());
            p.insert("elderly".into(), g.elderly.into());
            p.insert("buildings".into(), g.buildings.len().into());
            p.insert(
                "building_ids".into(),
                g.buildings
                    .iter()
                    .map(std::string::ToString::to_string)
                    .collect::<Vec<_>>()
                    .into(),
            );
            p.insert("area_m2".into(), (g.area_m2.round()).into());
            p.insert("centre".into(), vec![g.centre[0], g.centre[1]].into());
            feature(geojson::Geometry::from(&g.polygon), p)
        })
        .collect();
    collection(features)
}

/// Isochrone bands as a GeoJSON FeatureCollection, largest first (so smaller draw on top).
pub fn isochrones_geojson(bands: &[IsochroneBand]) -> geojson::FeatureCollection {
    let mut sorted: Vec<&IsochroneBand> = bands.iter().collect();
    sorted.sort_by(|a, b| b.minutes.total_cmp(&a.minutes));
    collection(
        sorted
            .into_iter()
            .map(|b| {
                let mut p = serde_json::Map::new();
                p.insert("minutes".into(), b.minutes.into());
                p.insert("area_m2".into(), b.area_m2.round().into());
                feature(geojson::Geometry::from(&b.polygon), p)
            })
            .collect(),
    )
}

pub(crate) fn feature(
    geometry: geojson::Geometry,
    properties: serde_json::Map<String, serde_json::Value>,
) -> geojson::Feature {
    geojson::Feature {
        bbox: None,
        geometry: Some(geometry),
        id: None,
        properties: Some(properties),
        foreign_members: None,
    }
}

pub(crate) fn collection(features: Vec<geojson::Feature>) -> geojson::FeatureCollection {
    let mut members = serde_json::Map::new();
    members.insert("attribution".into(), gridmap_model::OSM_ATTRIBUTION.into());
    geojson::FeatureCollection {
        bbox: None,
        features,
        foreign_members: Some(members),
    }
}
