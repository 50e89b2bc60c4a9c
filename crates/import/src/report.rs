//! What an import did: counts per layer, households, repairs and skipped objects.
use gridmap_model::Dataset;
use serde::Serialize;
use std::collections::BTreeMap;

/// At most this many skipped objects are listed one by one; `skipped_total` counts them all.
pub const SKIPPED_LIST_CAP: usize = 200;

/// One object the importer left out, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// `w123`, `r45`, `n6`, or `feature #3 (id 'b1')`.
    pub object: String,
    pub reason: String,
}

/// Summary of one import, printed by the CLI (as JSON with `--json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ImportReport {
    pub file: String,
    /// `osm.pbf`, `osm.xml`, `geojson`.
    pub format: String,
    /// Objects per layer: `buildings`, `facilities`, `compounds`, `communities`, `streets`,
    /// `grids`, `network_ways`; OSM imports add `partial_areas` (multipolygons built from the
    /// complete part of a relation with missing members).
    pub counts: BTreeMap<String, u64>,
    pub households: u64,
    /// Buildings whose household count was estimated from footprint and levels.
    pub households_estimated: u64,
    pub repaired_geometries: u64,
    /// The first [`SKIPPED_LIST_CAP`] skipped objects.
    pub skipped: Vec<Skipped>,
    pub skipped_total: u64,
    pub seconds: f64,
    /// OSM imports: which facility profile assigned the kinds, what matched, what did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facility_tags: Option<FacilityTagsReport>,
}

/// What the facility tag map did in one OSM import.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FacilityTagsReport {
    pub profile: gridmap_model::FacilityProfile,
    /// kind → rule (`#3 amenity=library`) → features it matched.
    pub matched: BTreeMap<String, BTreeMap<String, u64>>,
    /// The most common `amenity`/`office`/`social_facility` values of objects no rule matched,
    /// within [`FacilityTagsReport::near_m`] of a building with households; most frequent first.
    pub unmatched_near_homes: Vec<TagCount>,
    pub near_m: f64,
}

/// A `key=value` and how many objects carry it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TagCount {
    pub tag: String,
    pub count: u64,
}

impl FacilityTagsReport {
    /// Features matched per kind.
    pub fn kind_totals(&self) -> BTreeMap<String, u64> {
        self.matched
            .iter()
            .map(|(k, rules)| (k.clone(), rules.values().sum()))
            .collect()
    }

    /// The report as text for people.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(out, "facility tag profile: {}", self.profile.name);
        if let Some(l) = self.profile.display_label() {
            let _ = writeln!(out, "  {l}");
        }
        if self.matched.is_empty() {
            let _ = writeln!(out, "matched: none");
        }
        for (kind, rules) in &self.matched {
            let _ = writeln!(out, "{kind}: {}", rules.values().sum::<u64>());
            for (rule, n) in rules {
                let _ = writeln!(out, "  {n:>6}  {rule}");
            }
        }
        let _ = writeln!(
            out,
            "unmatched amenity/office/social_facility values within {} m of homes (top {}):",
            self.near_m,
            self.unmatched_near_homes.len()
        );
        for t in &self.unmatched_near_homes {
            let _ = writeln!(out, "  {:>6}  {}", t.count, t.tag);
        }
        out
    }
}

impl ImportReport {
    pub(crate) fn new(file: String, format: &str) -> Self {
        Self {
            file,
            format: format.to_owned(),
            counts: BTreeMap::new(),
            households: 0,
            households_estimated: 0,
            repaired_geometries: 0,
            skipped: Vec::new(),
            skipped_total: 0,
            seconds: 0.0,
            facility_tags: None,
        }
    }

    /// Records one skipped object (listed while under the cap, always counted).
    pub(crate) fn skip(&mut self, object: impl Into<String>, reason: impl Into<String>) {
        self.skipped_total += 1;
        if self.skipped.len() < SKIPPED_LIST_CAP {
            self.skipped.push(Skipped {
                object: object.into(),
                reason: reason.into(),
            });
        }
    }

    /// Fills the per-layer counts and household totals from the finished dataset.
    pub(crate) fn count(&mut self, ds: &Dataset) {
        let n = |v: usize| v as u64;
        self.counts
            .insert("buildings".into(), n(ds.buildings.len()));
        self.counts
            .insert("facilities".into(), n(ds.facilities.len()));
        self.counts
            .insert("compounds".into(), n(ds.compounds.len()));
        self.counts
            .insert("communities".into(), n(ds.communities.len()));
        self.counts.insert("streets".into(), n(ds.streets.len()));
        self.counts.insert("grids".into(), n(ds.grids.len()));
        self.counts.insert("network_ways".into(), n(ds.ways.len()));
        self.households = ds.households();
        self.households_estimated = n(ds
            .buildings
            .iter()
            .filter(|b| b.households_source == gridmap_model::HouseholdSource::Estimated)
            .count());
    }
}
