//! Facility kinds from OSM tags: an ordered list of `key=value` rules, first match wins.
//!
//! The defaults live in `data/facility_tags.toml` (embedded at build time) and reproduce the
//! peer kit's table, so facility counts compare one to one; users can load their own file.
//!
//! ```
//! use gridmap_import::FacilityTagConfig;
//! use gridmap_model::FacilityKind;
//! let cfg = FacilityTagConfig::default();
//! assert_eq!(cfg.kind_of([("amenity", "library")]), Some(FacilityKind::ReadingRoom));
//! assert_eq!(cfg.kind_of([("amenity", "bench")]), None);
//! ```
use crate::error::{file_name, io_error, ImportError};
use gridmap_model::FacilityKind;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The embedded default rules (`data/facility_tags.toml`).
pub const DEFAULT_FACILITY_TAGS_TOML: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/facility_tags.toml"
));

/// One mapping rule: an object whose tag `key` has one of `values` (any value when empty) is a
/// facility of `kind`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FacilityRule {
    pub kind: FacilityKind,
    pub key: String,
    #[serde(default)]
    pub values: Vec<String>,
}

impl FacilityRule {
    fn matches(&self, key: &str, value: &str) -> bool {
        key == self.key && (self.values.is_empty() || self.values.iter().any(|v| v == value))
    }
}

/// Ordered facility rules; the first rule matching any tag of an object decides its kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FacilityTagConfig {
    #[serde(rename = "rule", default)]
    pub rules: Vec<FacilityRule>,
}

impl Default for FacilityTagConfig {
    fn default() -> Self {
        Self::from_toml_str(DEFAULT_FACILITY_TAGS_TOML, "data/facility_tags.toml")
            .unwrap_or_else(|_| Self::peer_kit_rules())
    }
}

impl FacilityTagConfig {
    /// The peer kit's table (shared/peers/osm_to_inputs.py), written out in code; the embedded
    /// TOML must equal it (tested).
    pub fn peer_kit_rules() -> Self {
        let rule = |kind: FacilityKind, values: &[&str]| FacilityRule {
            kind,
            key: "amenity".to_owned(),
            values: values.iter().map(|s| (*s).to_owned()).collect(),
        };
        Self {
            rules: vec![
                rule(
                    FacilityKind::ServiceStation,
                    &["community_centre", "townhall"],
                ),
                rule(
                    FacilityKind::Canteen,
                    &["social_facility", "restaurant", "food_court"],
                ),
                rule(FacilityKind::ReadingRoom, &["library"]),
                rule(
                    FacilityKind::OutreachPoint,
                    &["police", "clinic", "post_office"],
                ),
                rule(FacilityKind::Other("other".to_owned()), &["social_centre"]),
            ],
        }
    }

    /// Parses rules from TOML text; `origin` names the source in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, ImportError> {
        let cfg: Self = toml::from_str(text).map_err(|e| ImportError::FacilityTags {
            file: origin.to_owned(),
            message: e.to_string(),
        })?;
        for (i, r) in cfg.rules.iter().enumerate() {
            if r.key.trim().is_empty() {
                return Err(ImportError::FacilityTags {
                    file: origin.to_owned(),
                    message: format!("rule #{} (kind '{}'): field 'key' is empty", i + 1, r.kind),
                });
            }
        }
        Ok(cfg)
    }

    /// Loads rules from a TOML file.
    pub fn from_file(path: &Path) -> Result<Self, ImportError> {
        let text = std::fs::read_to_string(path).map_err(|e| io_error(path, e))?;
        Self::from_toml_str(&text, &file_name(path))
    }

    /// The kind of an object with these tags, if any rule matches (rules in order, first wins).
    pub fn kind_of<'a, I>(&self, tags: I) -> Option<FacilityKind>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
        I::IntoIter: Clone,
    {
        let tags = tags.into_iter();
        self.rules
            .iter()
            .find(|r| tags.clone().any(|(k, v)| r.matches(k, v)))
            .map(|r| r.kind.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_defaults_are_the_peer_kits_table() {
        let parsed =
            FacilityTagConfig::from_toml_str(DEFAULT_FACILITY_TAGS_TOML, "embedded").unwrap();
        assert_eq!(parsed, FacilityTagConfig::peer_kit_rules());
    }

    #[test]
    fn the_first_matching_rule_wins() {
        let cfg = FacilityTagConfig::from_toml_str(
            "[[rule]]\nkind='canteen'\nkey='amenity'\nvalues=['townhall']\n[[rule]]\nkind='service_station'\nkey='amenity'\nvalues=['townhall']\n[[rule]]\nkind='pharmacy'\nkey='healthcare'\n",
            "t",
        )
        .unwrap();
        assert_eq!(
            cfg.kind_of([("amenity", "townhall")]),
            Some(FacilityKind::Canteen)
        );
        assert_eq!(
            cfg.kind_of([("healthcare", "anything")]),
            Some(FacilityKind::Other("pharmacy".into()))
        );
        assert_eq!(cfg.kind_of([("amenity", "bar")]), None);
    }

    #[test]
    fn a_broken_rules_file_names_the_problem() {
        let e = FacilityTagConfig::from_toml_str("[[rule]]\nkind='canteen'\nkey=''\n", "mine.toml")
            .unwrap_err();
        assert!(
            e.to_string().contains("mine.toml") && e.to_string().contains("key"),
            "{e}"
        );
        let e = FacilityTagConfig::from_toml_str("[[rule]]\nkind=3\n", "mine.toml").unwrap_err();
        assert!(e.to_string().contains("mine.toml"), "{e}");
    }
}
