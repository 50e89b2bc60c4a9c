//! Facility kinds from OSM tags and names: an ordered list of rules, first match wins, plus the
//! profile (its name and, for a proxy, the label every figure made with it carries) and the
//! kinds as data (code, labels, colour, default walking minutes).
//!
//! Two profiles are embedded: `strict` (`data/facility_tags.toml`, the default: only features
//! whose tags or names say they are the kind) and `proxy` (`data/facility_tags_proxy.toml`: the
//! peer kit's table, restaurants as canteens and so on). Users can load their own file.
//!
//! ```
//! use gridmap_import::FacilityTagConfig;
//! use gridmap_model::FacilityKind;
//! let strict = FacilityTagConfig::default();
//! assert_eq!(strict.kind_of([("amenity", "library")]), Some(FacilityKind::ReadingRoom));
//! assert_eq!(strict.kind_of([("amenity", "restaurant")]), None);
//! assert_eq!(
//!     strict.kind_of([("amenity", "restaurant"), ("name", "学院路街道幸福食堂")]),
//!     Some(FacilityKind::Canteen)
//! );
//! let proxy = FacilityTagConfig::profile("proxy").unwrap();
//! assert_eq!(proxy.kind_of([("amenity", "restaurant")]), Some(FacilityKind::Canteen));
//! assert!(FacilityTagConfig::profile("lenient").is_err());
//! ```
use crate::error::{file_name, io_error, ImportError};
use gridmap_model::{FacilityKind, FacilityProfile, KindCatalog, KindDef};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The embedded strict default rules (`data/facility_tags.toml`).
pub const DEFAULT_FACILITY_TAGS_TOML: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/facility_tags.toml"
));

/// The embedded proxy profile (`data/facility_tags_proxy.toml`): the peer kit's table.
pub const PROXY_FACILITY_TAGS_TOML: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/facility_tags_proxy.toml"
));

/// The embedded profiles by name.
pub const FACILITY_PROFILES: [(&str, &str, &str); 2] = [
    (
        "strict",
        "data/facility_tags.toml",
        DEFAULT_FACILITY_TAGS_TOML,
    ),
    (
        "proxy",
        "data/facility_tags_proxy.toml",
        PROXY_FACILITY_TAGS_TOML,
    ),
];

/// The tags a rule's `name` pattern is searched in.
pub const NAME_KEYS: [&str; 3] = ["name", "name:zh", "official_name"];

/// One mapping rule. All conditions given must hold: the tag `key` has one of `values` (any
/// value when empty), every entry of `tags` holds likewise, and `name` (a regular expression)
/// is found in one of [`NAME_KEYS`].
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacilityRule {
    pub kind: FacilityKind,
    /// How the import report names the rule; derived from the conditions when missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip)]
    name_re: Option<Regex>,
}

impl PartialEq for FacilityRule {
    fn eq(&self, o: &Self) -> bool {
        self.kind == o.kind
            && self.id == o.id
            && self.key == o.key
            && self.values == o.values
            && self.tags == o.tags
            && self.name == o.name
    }
}

/// `value` (possibly `a;b;c`) is one of `values`, or `values` is empty.
fn value_matches(values: &[String], value: &str) -> bool {
    values.is_empty()
        || value
            .split(';')
            .map(str::trim)
            .any(|part| values.iter().any(|v| v == part))
}

impl FacilityRule {
    /// A rule of one tag condition (the old `key = values` form).
    pub fn tag(kind: FacilityKind, key: &str, values: &[&str]) -> Self {
        Self {
            kind,
            id: None,
            key: Some(key.to_owned()),
            values: values.iter().map(|s| (*s).to_owned()).collect(),
            tags: BTreeMap::new(),
            name: None,
            name_re: None,
        }
    }

    /// How the report names this rule: its `id`, else its conditions.
    pub fn label(&self) -> String {
        if let Some(id) = &self.id {
            return id.clone();
        }
        let cond = |k: &str, vs: &[String]| {
            if vs.is_empty() {
                format!("{k}=*")
            } else {
                format!("{k}={}", vs.join("|"))
            }
        };
        let mut parts = Vec::new();
        if let Some(k) = &self.key {
            parts.push(cond(k, &self.values));
        }
        for (k, vs) in &self.tags {
            parts.push(cond(k, vs));
        }
        if let Some(n) = &self.name {
            parts.push(format!("name~/{n}/"));
        }
        parts.join(" + ")
    }

    fn matches<'a>(&self, tags: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> bool {
        let get = |key: &str| tags.clone().find(|(k, _)| *k == key).map(|(_, v)| v);
        if let Some(k) = &self.key {
            match get(k) {
                Some(v) if value_matches(&self.values, v) => {}
                _ => return false,
            }
        }
        for (k, vs) in &self.tags {
            match get(k) {
                Some(v) if value_matches(vs, v) => {}
                _ => return false,
            }
        }
        if let Some(re) = &self.name_re {
            if !NAME_KEYS
                .iter()
                .filter_map(|k| get(k))
                .any(|n| re.is_match(n))
            {
                return false;
            }
        }
        true
    }
}

/// Ordered facility rules; the first rule matching an object decides its kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FacilityTagConfig {
    pub profile: FacilityProfile,
    #[serde(rename = "rule", default)]
    pub rules: Vec<FacilityRule>,
    #[serde(rename = "kind", default)]
    pub kinds: Vec<KindDef>,
}

/// The file's shape (the profile table is optional there).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileShape {
    profile: Option<FacilityProfile>,
    #[serde(rename = "rule", default)]
    rules: Vec<FacilityRule>,
    #[serde(rename = "kind", default)]
    kinds: Vec<KindDef>,
}

impl Default for FacilityTagConfig {
    /// The strict default profile.
    #[allow(clippy::panic, reason = "the embedded file is parsed by a unit test")]
    fn default() -> Self {
        Self::from_toml_str(DEFAULT_FACILITY_TAGS_TOML, "data/facility_tags.toml")
            .unwrap_or_else(|e| panic!("the embedded data/facility_tags.toml is broken: {e}"))
    }
}

impl FacilityTagConfig {
    /// An embedded profile by name (`strict`, `proxy`); an unknown name is an error naming them.
    pub fn profile(name: &str) -> Result<Self, ImportError> {
        let (_, origin, text) = FACILITY_PROFILES
            .iter()
            .find(|(n, _, _)| *n == name)
            .ok_or_else(|| ImportError::FacilityTags {
                file: name.to_owned(),
                message: format!(
                    "unknown facility tag profile '{name}' (expected one of: {}, or a path to a TOML file)",
                    FACILITY_PROFILES.map(|p| p.0).join(", ")
                ),
            })?;
        Self::from_toml_str(text, origin)
    }

    /// A profile name (`strict`, `proxy`) or a path to a TOML file. A value that is neither a
    /// profile nor an existing file is an error naming the profiles.
    pub fn from_arg(arg: &str) -> Result<Self, ImportError> {
        if FACILITY_PROFILES.iter().any(|(n, _, _)| *n == arg) {
            return Self::profile(arg);
        }
        let path = Path::new(arg);
        if path.exists() {
            return Self::from_file(path);
        }
        let looks_like_path = arg.contains('/') || arg.contains('\\') || arg.contains('.');
        Err(ImportError::FacilityTags {
            file: arg.to_owned(),
            message: if looks_like_path {
                "no such file".to_owned()
            } else {
                format!(
                    "unknown facility tag profile '{arg}' (expected one of: {}, or a path to a TOML file)",
                    FACILITY_PROFILES.map(|p| p.0).join(", ")
                )
            },
        })
    }

    /// The proxy profile: the peer kit's table (shared/peers/osm_to_inputs.py), written out in
    /// code; the embedded proxy TOML must equal it (tested).
    pub fn peer_kit_rules() -> Vec<FacilityRule> {
        vec![
            FacilityRule::tag(
                FacilityKind::ServiceStation,
                "amenity",
                &["community_centre", "townhall"],
            ),
            FacilityRule::tag(
                FacilityKind::Canteen,
                "amenity",
                &["social_facility", "restaurant", "food_court"],
            ),
            FacilityRule::tag(FacilityKind::ReadingRoom, "amenity", &["library"]),
            FacilityRule::tag(
                FacilityKind::OutreachPoint,
                "amenity",
                &["police", "clinic", "post_office"],
            ),
            FacilityRule::tag(
                FacilityKind::Other("other".to_owned()),
                "amenity",
                &["social_centre"],
            ),
        ]
    }

    /// Parses a profile from TOML text; `origin` names the source in errors (and names the
    /// profile when the file has no `[profile]` table).
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, ImportError> {
        let err = |message: String| ImportError::FacilityTags {
            file: origin.to_owned(),
            message,
        };
        let shape: FileShape = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let profile = shape.profile.unwrap_or_else(|| FacilityProfile {
            name: origin.to_owned(),
            label: None,
            substitutions: Vec::new(),
        });
        if profile.name.trim().is_empty() {
            return Err(err("[profile]: field 'name' is empty".to_owned()));
        }
        let mut rules = shape.rules;
        for (i, r) in rules.iter_mut().enumerate() {
            let at = format!("rule #{} (kind '{}')", i + 1, r.kind);
            if r.key.as_deref().is_some_and(|k| k.trim().is_empty()) {
                return Err(err(format!("{at}: field 'key' is empty")));
            }
            if r.key.is_none() && !r.values.is_empty() {
                return Err(err(format!("{at}: field 'values' needs a 'key'")));
            }
            if let Some(k) = r.tags.keys().find(|k| k.trim().is_empty()) {
                return Err(err(format!("{at}: field 'tags' has an empty key '{k}'")));
            }
            if let Some(n) = &r.name {
                if n.is_empty() {
                    return Err(err(format!("{at}: field 'name' is an empty pattern")));
                }
                r.name_re = Some(
                    Regex::new(n)
                        .map_err(|e| err(format!("{at}: field 'name' is not a regex: {e}")))?,
                );
            }
            if r.key.is_none() && r.tags.is_empty() && r.name.is_none() {
                return Err(err(format!(
                    "{at}: no condition (give 'key', 'tags' or 'name')"
                )));
            }
        }
        let kinds = if shape.kinds.is_empty() {
            if text == DEFAULT_FACILITY_TAGS_TOML {
                return Err(err("the default profile declares no [[kind]]".to_owned()));
            }
            Self::default().kinds
        } else {
            shape.kinds
        };
        for (i, k) in kinds.iter().enumerate() {
            let at = format!("kind #{} ('{}')", i + 1, k.code);
            if !(k.minutes.is_finite() && k.minutes > 0.0) {
                return Err(err(format!(
                    "{at}: field 'minutes' must be a positive number, not {}",
                    k.minutes
                )));
            }
            let c = k.colour.strip_prefix('#').unwrap_or("");
            if !(c.len() == 6 && c.chars().all(|ch| ch.is_ascii_hexdigit())) {
                return Err(err(format!(
                    "{at}: field 'colour' must be #rrggbb, not '{}'",
                    k.colour
                )));
            }
            if kinds[..i].iter().any(|o| o.code == k.code) {
                return Err(err(format!("{at}: declared twice")));
            }
        }
        Ok(Self {
            profile,
            rules,
            kinds,
        })
    }

    /// The profile and kinds, as the store keeps them.
    pub fn catalog(&self) -> KindCatalog {
        KindCatalog::new(self.profile.clone(), self.kinds.clone())
    }

    /// Loads a profile from a TOML file.
    pub fn from_file(path: &Path) -> Result<Self, ImportError> {
        let text = std::fs::read_to_string(path).map_err(|e| io_error(path, e))?;
        Self::from_toml_str(&text, &file_name(path))
    }

    /// The index of the first rule matching an object with these tags.
    pub fn rule_of<'a, I>(&self, tags: I) -> Option<usize>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
        I::IntoIter: Clone,
    {
        let tags = tags.into_iter();
        self.rules.iter().position(|r| r.matches(tags.clone()))
    }

    /// The kind of an object with these tags, if any rule matches (rules in order, first wins).
    pub fn kind_of<'a, I>(&self, tags: I) -> Option<FacilityKind>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
        I::IntoIter: Clone,
    {
        self.rule_of(tags).map(|i| self.rules[i].kind.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_proxy_is_the_peer_kits_table() {
        let parsed = FacilityTagConfig::profile("proxy").unwrap();
        assert_eq!(parsed.rules, FacilityTagConfig::peer_kit_rules());
        assert_eq!(parsed.profile.name, "proxy");
        assert_eq!(
            parsed.profile.label.as_deref(),
            Some("proxy: restaurants counted as canteens")
        );
        assert_eq!(parsed.kinds, FacilityTagConfig::default().kinds);
    }

    #[test]
    fn the_default_is_strict_and_says_so() {
        let d = FacilityTagConfig::default();
        assert_eq!(d.profile.name, "strict");
        assert_eq!(d.profile.label, None);
        assert_eq!(d.profile.display_label(), None);
        let codes: Vec<&str> = d.kinds.iter().map(|k| k.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "service_station",
                "canteen",
                "reading_room",
                "outreach_point",
                "other"
            ]
        );
    }

    #[test]
    fn the_servers_fallback_kinds_are_the_default_files() {
        assert_eq!(
            FacilityTagConfig::default().kinds,
            KindCatalog::unrecorded().kinds
        );
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
        assert_eq!(cfg.profile.name, "t");
    }

    #[test]
    fn a_rule_can_need_a_tag_and_a_name() {
        let cfg = FacilityTagConfig::from_toml_str(
            "[[rule]]\nkind='service_station'\nkey='office'\nvalues=['government']\ntags={government=[]}\nname='居委会'\n",
            "t",
        )
        .unwrap();
        let gov = [("office", "government"), ("government", "local")];
        assert_eq!(cfg.kind_of(gov), None);
        assert_eq!(
            cfg.kind_of([
                ("office", "government"),
                ("government", "local"),
                ("official_name", "双榆树东里社区居委会")
            ]),
            Some(FacilityKind::ServiceStation)
        );
        assert_eq!(
            cfg.kind_of([("office", "government"), ("name", "居委会")]),
            None,
            "government=* is required"
        );
    }

    #[test]
    fn semicolon_lists_match_any_part() {
        let d = FacilityTagConfig::default();
        let t = [
            ("amenity", "social_facility"),
            ("social_facility", "day_care"),
            ("social_facility:for", "disabled;senior"),
        ];
        assert_eq!(d.kind_of(t), Some(FacilityKind::Canteen));
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
        let e = FacilityTagConfig::from_toml_str("[[rule]]\nkind='canteen'\nname='(食堂'\n", "m")
            .unwrap_err();
        assert!(
            e.to_string().contains("rule #1") && e.to_string().contains("regex"),
            "{e}"
        );
        let e = FacilityTagConfig::from_toml_str("[[rule]]\nkind='canteen'\n", "m").unwrap_err();
        assert!(e.to_string().contains("no condition"), "{e}");
        let e = FacilityTagConfig::from_toml_str(
            "[[kind]]\ncode='x'\nzh='x'\nen='x'\ncolour='red'\nminutes=15\n",
            "m",
        )
        .unwrap_err();
        assert!(e.to_string().contains("colour"), "{e}");
    }

    #[test]
    fn an_unknown_profile_is_a_clear_error() {
        let e = FacilityTagConfig::profile("lenient")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("lenient") && e.contains("strict") && e.contains("proxy"),
            "{e}"
        );
        let e = FacilityTagConfig::from_arg("lenient")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown facility tag profile 'lenient'"), "{e}");
        let e = FacilityTagConfig::from_arg("no/such.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no/such.toml") && e.contains("no such file"),
            "{e}"
        );
        assert_eq!(
            FacilityTagConfig::from_arg("proxy").unwrap().profile.name,
            "proxy"
        );
    }
}
