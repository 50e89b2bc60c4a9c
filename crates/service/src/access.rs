//! Accessibility scores (2SFCA / E2SFCA, issue 14): how much of a kind's capacity each building
//! can draw on within the walking limit, per building and household-weighted per grid and
//! community. Built on the session's coverage engine like [`Analysis::site`].
use crate::{facility_kind, Analysis, Result};
use gridmap_algo::coverage::WalkProfile;
use gridmap_algo::siting::access::Decay;
use gridmap_algo::siting::{self, AccessSite, Control, DemandWeight, Model, SitingParams};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

/// One accessibility question.
#[derive(Clone, Debug)]
pub struct AccessRequest {
    /// Facility kind name (`all` = every kind).
    pub kind: String,
    pub minutes: f64,
    pub profile: WalkProfile,
    pub decay: Decay,
    pub demand: DemandWeight,
}

/// One building's score.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BuildingAccess {
    pub id: String,
    pub households: u64,
    /// Per 1 000 households; `None` when the building is not on the walking network.
    pub score: Option<f64>,
}

/// A group's household-weighted score.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupAccess {
    pub id: String,
    pub name: String,
    pub households: u64,
    /// Household-weighted mean score per 1 000 households.
    pub score: f64,
    /// Households whose score is 0 (no site within the limit, or off the network).
    pub households_without: u64,
    pub buildings: usize,
}

/// The answer to an [`AccessRequest`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AccessSummary {
    pub kind: String,
    pub minutes: f64,
    pub speed_kmh: f64,
    pub decay: Decay,
    pub demand: DemandWeight,
    /// What one unit of supply is: `capacity` (households) when every site has one, `site` when
    /// none has, `mixed` otherwise (sites without a capacity count 1; see `notes`).
    pub supply_unit: &'static str,
    pub sites: Vec<AccessSite>,
    pub households: u64,
    /// Household-weighted mean score over all buildings.
    pub mean_score: f64,
    pub households_without: u64,
    pub by_community: Vec<GroupAccess>,
    pub by_grid: Vec<GroupAccess>,
    pub buildings: Vec<BuildingAccess>,
    pub notes: Vec<String>,
    pub seconds: f64,
}

#[derive(Default)]
struct Acc {
    hh: u64,
    sum: f64,
    without: u64,
    n: usize,
}

impl Acc {
    fn add(&mut self, hh: u64, score: Option<f64>) {
        self.hh += hh;
        self.n += 1;
        match score {
            Some(s) if s > 0.0 => self.sum += s * hh as f64,
            _ => self.without += hh,
        }
    }
    fn mean(&self) -> f64 {
        if self.hh == 0 {
            0.0
        } else {
            (self.sum / self.hh as f64 * 1000.0).round() / 1000.0
        }
    }
}

impl Analysis {
    /// 2SFCA / E2SFCA scores of the kind's existing sites (supply = `capacity`, else 1 per site).
    pub fn access(&self, req: &AccessRequest) -> Result<AccessSummary> {
        let t0 = Instant::now();
        crate::check_minutes(&[req.minutes])?;
        let kind = facility_kind(&req.kind)?;
        let engine = self.engine();
        let ds = self.dataset();
        let cov = engine.coverage(kind.as_ref(), req.profile, req.minutes)?;
        let supply: HashMap<String, f64> = ds
            .facilities
            .iter()
            .filter(|f| kind.as_ref().is_none_or(|k| &f.kind == k))
            .filter_map(|f| f.capacity.map(|c| (f.id.to_string(), f64::from(c))))
            .collect();
        let params = SitingParams {
            model: Model::Mclp,
            minutes: req.minutes,
            demand: req.demand,
            ..SitingParams::default()
        };
        let r = siting::access_scores(engine, &cov, &params, &supply, req.decay, &Control::none())?;
        let weight = |i: usize| -> u64 {
            let b = &ds.buildings[i];
            match req.demand {
                DemandWeight::Households => u64::from(b.households),
                DemandWeight::Elderly => u64::from(b.elderly.unwrap_or(0)),
            }
        };
        let mut all = Acc::default();
        let mut by_c: BTreeMap<String, Acc> = BTreeMap::new();
        let mut by_g: BTreeMap<usize, Acc> = BTreeMap::new();
        let mut buildings = Vec::with_capacity(ds.buildings.len());
        for (i, b) in ds.buildings.iter().enumerate() {
            let hh = weight(i);
            let score = r.building.get(i).copied().flatten();
            all.add(hh, score);
            if let Some(c) = &b.community {
                by_c.entry(c.to_string()).or_default().add(hh, score);
            }
            if let Some(g) = self.grid_index(i) {
                by_g.entry(g).or_default().add(hh, score);
            }
            buildings.push(BuildingAccess {
                id: b.id.to_string(),
                households: hh,
                score: score.map(|s| (s * 1000.0).round() / 1000.0),
            });
        }
        let group = |id: String, name: String, a: &Acc| GroupAccess {
            id,
            name,
            households: a.hh,
            score: a.mean(),
            households_without: a.without,
            buildings: a.n,
        };
        let by_community = by_c
            .iter()
            .map(|(id, a)| group(id.clone(), self.community_name(id), a))
            .collect();
        let by_grid = by_g
            .iter()
            .map(|(&g, a)| group(ds.grids[g].id.to_string(), ds.grids[g].code.clone(), a))
            .collect();
        let mut notes = r.notes;
        notes.push(format!(
            "scores are {} per 1 000 households within {} min ({:?} decay); a region's household-weighted mean is its share of supply",
            if r.unit_supply_sites == 0 { "places" } else { "supply units" },
            req.minutes,
            req.decay
        ));
        tracing::info!(kind = %req.kind, sites = r.sites.len(), decay = ?req.decay, "access done");
        Ok(AccessSummary {
            kind: req.kind.clone(),
            minutes: req.minutes,
            speed_kmh: req.profile.speed_kmh,
            decay: req.decay,
            demand: req.demand,
            supply_unit: if r.unit_supply_sites == 0 && !r.sites.is_empty() {
                "capacity"
            } else if r.unit_supply_sites == r.sites.len() {
                "site"
            } else {
                "mixed"
            },
            sites: r.sites,
            households: all.hh,
            mean_score: all.mean(),
            households_without: all.without,
            by_community,
            by_grid,
            buildings,
            notes,
            seconds: t0.elapsed().as_secs_f64(),
        })
    }
}
