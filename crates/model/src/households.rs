//! The household estimate for residential buildings without a count.
//!
//! `households = max(1, round(area_m2 × levels ÷ dwelling_m2))` for residential building types,
//! 0 for other types. `levels` is the first number in `building:levels` (at least 1), else the
//! per-type default (apartments 3, anything else 1), `dwelling_m2` defaults to 90 m². These
//! defaults are the peer kit's (shared/peers/osm_to_inputs.py), so the figures compare; both
//! are configurable. Every value produced here is marked [`crate::HouseholdSource::Estimated`].
//!
//! ```
//! use gridmap_model::households::HouseholdRule;
//! let rule = HouseholdRule::default();
//! assert_eq!(rule.estimate(900.0, Some(6.0), Some("apartments")), 60);
//! assert_eq!(rule.estimate(30.0, None, Some("house")), 1);
//! assert_eq!(rule.estimate(500.0, None, Some("school")), 0);
//! ```
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Building types counted as residential (OSM `building=*`).
pub const RESIDENTIAL_TYPES: [&str; 7] = [
    "yes",
    "residential",
    "apartments",
    "house",
    "detached",
    "terrace",
    "dormitory",
];

/// Parameters of the household estimate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HouseholdRule {
    /// Average dwelling size in m² of gross floor area.
    pub dwelling_m2: f64,
    /// Levels assumed when `building:levels` is missing, per building type.
    pub default_levels: BTreeMap<String, f64>,
    /// Levels for residential types not in `default_levels`.
    pub fallback_levels: f64,
    /// Types that hold households.
    pub residential_types: Vec<String>,
}

impl Default for HouseholdRule {
    fn default() -> Self {
        Self {
            dwelling_m2: 90.0,
            default_levels: BTreeMap::from([("apartments".to_owned(), 3.0)]),
            fallback_levels: 1.0,
            residential_types: RESIDENTIAL_TYPES.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

impl HouseholdRule {
    pub fn is_residential(&self, building_type: Option<&str>) -> bool {
        let t = building_type.unwrap_or("yes");
        self.residential_types.iter().any(|r| r == t)
    }

    /// Levels to use: the given levels (at least 1) or the type default.
    pub fn levels(&self, levels: Option<f64>, building_type: Option<&str>) -> f64 {
        match levels {
            Some(l) if l.is_finite() && l > 0.0 => l.max(1.0),
            _ => building_type
                .and_then(|t| self.default_levels.get(t).copied())
                .unwrap_or(self.fallback_levels),
        }
    }

    /// Estimated households of one building.
    pub fn estimate(&self, area_m2: f64, levels: Option<f64>, building_type: Option<&str>) -> u32 {
        if !self.is_residential(building_type) || !area_m2.is_finite() || self.dwelling_m2 <= 0.0 {
            return 0;
        }
        let hh = (area_m2 * self.levels(levels, building_type) / self.dwelling_m2 + 0.5).floor();
        hh.clamp(1.0, f64::from(u32::MAX)) as u32
    }
}

/// Parses an OSM `building:levels` value: the first number in it (`"5"`, `"3;4"`, `"12.5"`).
pub fn parse_levels(s: &str) -> Option<f64> {
    let start = s.find(|c: char| c.is_ascii_digit())?;
    let rest = &s[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    rest[..end].trim_end_matches('.').parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_like_the_peer_kit() {
        assert_eq!(parse_levels("5"), Some(5.0));
        assert_eq!(parse_levels("3;4"), Some(3.0));
        assert_eq!(parse_levels("about 12.5 floors"), Some(12.5));
        assert_eq!(parse_levels("many"), None);
    }

    #[test]
    fn the_estimate_rounds_half_up_and_never_gives_zero_to_a_home() {
        let r = HouseholdRule::default();
        assert_eq!(r.estimate(134.9, None, Some("yes")), 1);
        assert_eq!(r.estimate(135.0, None, Some("yes")), 2);
        assert_eq!(r.estimate(1.0, None, Some("yes")), 1);
        assert_eq!(r.estimate(900.0, Some(0.0), Some("apartments")), 30);
        assert_eq!(r.estimate(900.0, None, Some("office")), 0);
    }
}
