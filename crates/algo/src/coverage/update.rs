//! A new engine for changed data over the same walking network, reusing what the old one built.
//!
//! * **Buildings**: only the buildings listed as changed are re-read; one is re-snapped only when
//!   its access point (entrance, else centroid) moved, so a households/elderly correction costs no
//!   snapping. Unchanged engines share the building sites (`Arc`).
//! * **Facilities**: compared by id, kind and location with the old ones; only added or moved ones
//!   are snapped.
//! * **Cached coverages** are updated with the what-if machinery instead of recomputed: a removed
//!   or moved facility's region is re-searched, an added or moved one runs a bounded search that
//!   only continues where it improves. Then labels are compacted and buildings re-assigned, so the
//!   result equals a fresh [`CoverageEngine::coverage`] (tested as a property in the service).
use super::{BuildingSite, CoverageEngine, FacilitySite, KindCoverage};
use crate::network::paths::NO_SOURCE;
use gridmap_model::{Building, Facility, FacilityId};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// What changed since the engine was built (same network, same buildings in the same order).
#[derive(Clone, Debug, Default)]
pub struct EngineChanges<'a> {
    /// The new buildings (same ids, same order) and the indexes of those that changed; `None`:
    /// no building changed.
    pub buildings: Option<(&'a [Building], Vec<usize>)>,
    /// The new facility layer (all of it: facilities are compared with the old ones by id).
    pub facilities: &'a [Facility],
}

impl CoverageEngine {
    /// The engine for the changed data, sharing the network (and the building sites when no
    /// building changed) and carrying every cached coverage over, updated incrementally.
    pub fn updated(&self, changes: &EngineChanges<'_>) -> CoverageEngine {
        let mut buildings = self.buildings.clone();
        let mut moved_buildings = false;
        if let Some((new, changed)) = &changes.buildings {
            if !changed.is_empty() {
                let sites = Arc::make_mut(&mut buildings);
                for &i in changed {
                    let (Some(b), Some(old)) = (new.get(i), sites.get(i)) else {
                        continue;
                    };
                    let location = b.access_point().map(|p| [p.x(), p.y()]);
                    if location == old.location {
                        let placement = old.placement.clone();
                        sites[i] = BuildingSite {
                            id: b.id.clone(),
                            households: b.households,
                            elderly: b.elderly,
                            location,
                            placement,
                        };
                    } else {
                        sites[i] = Self::site_of(&self.network, &self.options, b);
                        moved_buildings = true;
                    }
                }
            }
        }
        // facilities: reuse the snap of every one whose kind and location did not change
        let old_by_id: HashMap<&FacilityId, &FacilitySite> =
            self.facilities.iter().map(|f| (&f.id, f)).collect();
        let mut facilities = Vec::with_capacity(changes.facilities.len());
        let mut changed: HashSet<FacilityId> = HashSet::new();
        for f in changes.facilities {
            let location = [f.location.x(), f.location.y()];
            match old_by_id.get(&f.id) {
                Some(o) if o.kind == f.kind && o.location == location => {
                    facilities.push((*o).clone());
                }
                _ => {
                    changed.insert(f.id.clone());
                    facilities.push(Self::facility_site(&self.network, &self.options, f));
                }
            }
        }
        let new_ids: HashSet<&FacilityId> = facilities.iter().map(|f| &f.id).collect();
        for f in &self.facilities {
            if !new_ids.contains(&f.id) {
                changed.insert(f.id.clone());
            }
        }
        let engine = CoverageEngine {
            network: self.network.clone(),
            options: self.options,
            buildings,
            facilities,
            cache: Mutex::new(HashMap::new()),
        };
        let old_cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let mut cache = HashMap::with_capacity(old_cache.len());
        for (key, cov) in old_cache {
            let cov = if changed.is_empty() && !moved_buildings {
                cov
            } else {
                Arc::new(engine.carry_over(self, &cov, &changed, moved_buildings))
            };
            cache.insert(key, cov);
        }
        *engine
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = cache;
        engine
    }

    /// `cov` (computed by `old`) updated for the changed facilities of this engine.
    fn carry_over(
        &self,
        old: &CoverageEngine,
        cov: &KindCoverage,
        changed: &HashSet<FacilityId>,
        moved_buildings: bool,
    ) -> KindCoverage {
        let of_kind = |k: &gridmap_model::FacilityKind| cov.kind.as_ref().is_none_or(|c| c == k);
        let mut c = cov.clone();
        let mut touched = false;
        // 1. removals (and the old place of moved ones) first: each re-searches its region
        for f in old
            .facilities
            .iter()
            .filter(|f| changed.contains(&f.id) && of_kind(&f.kind))
        {
            touched = true;
            if f.placement.is_ok() {
                let _ = self.remove_source(&mut c, &f.id);
            } else if let Some(p) = c.unplaced_facilities.iter().position(|(id, _)| id == &f.id) {
                c.unplaced_facilities.remove(p);
            }
        }
        // 2. additions (and the new place of moved ones)
        for f in self
            .facilities
            .iter()
            .filter(|f| changed.contains(&f.id) && of_kind(&f.kind))
        {
            touched = true;
            match &f.placement {
                Ok(s) => self.add_snapped(&mut c, &f.id, s),
                Err(u) => c.unplaced_facilities.push((f.id.clone(), u.clone())),
            }
        }
        if touched {
            compact_labels(&mut c);
            c.note = self.note_for(
                c.kind.as_ref(),
                c.source_ids.len(),
                c.unplaced_facilities.len(),
            );
        }
        if touched || moved_buildings {
            self.assign_buildings(&mut c);
        }
        c
    }
}

/// Drops the labels of removed sources and renumbers the rest (node labels follow).
fn compact_labels(c: &mut KindCoverage) {
    if c.source_snaps.iter().all(Option::is_some) {
        return;
    }
    let mut map = vec![NO_SOURCE; c.source_snaps.len()];
    let (mut ids, mut snaps) = (Vec::new(), Vec::new());
    for (l, s) in c.source_snaps.iter().enumerate() {
        if let Some(s) = s {
            map[l] = ids.len() as u32;
            ids.push(c.source_ids[l].clone());
            snaps.push(Some(*s));
        }
    }
    for s in c
        .nodes
        .source
        .iter_mut()
        .chain(c.building_source.iter_mut())
    {
        if *s != NO_SOURCE {
            *s = map.get(*s as usize).copied().unwrap_or(NO_SOURCE);
        }
    }
    c.source_ids = ids;
    c.source_snaps = snaps;
}
