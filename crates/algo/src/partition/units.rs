//! From buildings to partition units: buildings projected to local metres, grouped by community,
//! and merged into units (a whole compound when it fits the band, else single buildings).
use super::{Band, PartitionError, PartitionInput};
use crate::geometry::LocalProjection;
use gridmap_model::{Building, CommunityId, CompoundId};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Buildings of one community (or of no community), as indices into the input slice.
#[derive(Clone, Debug)]
pub(crate) struct Group {
    pub community: Option<CommunityId>,
    pub buildings: Vec<usize>,
}

/// The input after projection and grouping.
pub(crate) struct Prepared<'a> {
    pub buildings: &'a [Building],
    pub proj: LocalProjection,
    /// Centroid of each building in local metres.
    pub pts: Vec<(f64, f64)>,
    /// Community of each building (own, else its compound's).
    pub community: Vec<Option<CommunityId>>,
    /// Groups ordered by community id, the no-community group last.
    pub groups: Vec<Group>,
}

impl<'a> Prepared<'a> {
    pub(crate) fn new(input: &PartitionInput<'a>) -> Result<Self, PartitionError> {
        let buildings = input.buildings;
        let mut seen = HashSet::with_capacity(buildings.len());
        let mut ll = Vec::with_capacity(buildings.len());
        for b in buildings {
            if !seen.insert(&b.id) {
                return Err(PartitionError::DuplicateBuilding(b.id.clone()));
            }
            let c = b
                .centroid()
                .filter(|c| c.x().is_finite() && c.y().is_finite())
                .ok_or_else(|| PartitionError::BuildingWithoutGeometry(b.id.clone()))?;
            ll.push((c.x(), c.y()));
        }
        let n = ll.len().max(1) as f64;
        let (lon0, lat0) = ll
            .iter()
            .fold((0.0, 0.0), |a, p| (a.0 + p.0 / n, a.1 + p.1 / n));
        let proj = LocalProjection::new(lon0, lat0);
        let pts = ll.iter().map(|&(x, y)| proj.project(x, y)).collect();
        let compound_community: HashMap<&CompoundId, &CommunityId> = input
            .compounds
            .iter()
            .filter_map(|c| c.community.as_ref().map(|m| (&c.id, m)))
            .collect();
        let community: Vec<Option<CommunityId>> = buildings
            .iter()
            .map(|b| {
                b.community.clone().or_else(|| {
                    b.compound
                        .as_ref()
                        .and_then(|c| compound_community.get(c).map(|m| (*m).clone()))
                })
            })
            .collect();
        let mut by: BTreeMap<Option<&CommunityId>, Vec<usize>> = BTreeMap::new();
        for (i, c) in community.iter().enumerate() {
            by.entry(c.as_ref()).or_default().push(i);
        }
        let mut groups: Vec<Group> = by
            .into_iter()
            .map(|(c, buildings)| Group {
                community: c.cloned(),
                buildings,
            })
            .collect();
        // BTreeMap puts None first; the no-community group reads better last.
        if groups.first().is_some_and(|g| g.community.is_none()) {
            groups.rotate_left(1);
        }
        Ok(Self {
            buildings,
            proj,
            pts,
            community,
            groups,
        })
    }
}

/// A node of the partition graph: one or more buildings that always stay together.
#[derive(Clone, Debug)]
pub(crate) struct Unit {
    pub members: Vec<usize>,
    pub households: u64,
    pub x: f64,
    pub y: f64,
}

/// Units of a set of buildings (indices into `prep.buildings`), in a deterministic order: a
/// compound that fits under the band's upper bound is one unit, other buildings are single units.
pub(crate) fn make_units(prep: &Prepared<'_>, members: &[usize], band: &Band) -> Vec<Unit> {
    let mut compounds: BTreeMap<&CompoundId, Vec<usize>> = BTreeMap::new();
    let mut singles = Vec::new();
    for &i in members {
        match &prep.buildings[i].compound {
            Some(c) => compounds.entry(c).or_default().push(i),
            None => singles.push(i),
        }
    }
    let mut units = Vec::with_capacity(members.len());
    for (_, list) in compounds {
        let hh: u64 = list
            .iter()
            .map(|&i| u64::from(prep.buildings[i].households))
            .sum();
        if hh as f64 <= band.hi {
            units.push(unit_of(prep, list));
        } else {
            singles.extend(list);
        }
    }
    singles.sort_unstable();
    units.extend(singles.into_iter().map(|i| unit_of(prep, vec![i])));
    units
}

pub(crate) fn unit_of(prep: &Prepared<'_>, members: Vec<usize>) -> Unit {
    let n = members.len().max(1) as f64;
    let (x, y) = members.iter().fold((0.0, 0.0), |a, &i| {
        (a.0 + prep.pts[i].0 / n, a.1 + prep.pts[i].1 / n)
    });
    let households = members
        .iter()
        .map(|&i| u64::from(prep.buildings[i].households))
        .sum();
    Unit {
        members,
        households,
        x,
        y,
    }
}
