//! Facility kinds as data: which profile assigned a dataset's kinds (and the label its figures
//! must carry when it is a proxy), and each kind's labels, colour and default walking minutes.
//! Read from the facility tag file on import (`gridmap-import`), kept in the store's metadata,
//! served as `/api/kinds`.
use crate::FacilityKind;
use serde::{Deserialize, Serialize};

/// The metadata key the store keeps a dataset's [`KindCatalog`] under.
pub const FACILITY_PROFILE_META: &str = "facility_profile";

/// Which profile a dataset's facility kinds came from, and what its figures must say.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacilityProfile {
    /// `strict`, `proxy`, `file` (kinds given by an imported GeoJSON), or the name a user tag
    /// file gives itself (its file name when it gives none).
    pub name: String,
    /// Shown with every figure made with this profile (`proxy: restaurants counted as canteens`);
    /// `None` for a profile that counts only real facilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Each stand-in the profile makes, in words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub substitutions: Vec<String>,
}

impl FacilityProfile {
    /// The one-line label for a figure: the label, then the substitutions in brackets.
    pub fn display_label(&self) -> Option<String> {
        let label = self.label.as_deref()?;
        if self.substitutions.is_empty() {
            Some(label.to_owned())
        } else {
            Some(format!("{label} ({})", self.substitutions.join("; ")))
        }
    }
}

/// One kind as data: how it is labelled, coloured and measured by default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindDef {
    pub code: FacilityKind,
    pub zh: String,
    pub en: String,
    /// CSS colour (`#rrggbb`).
    pub colour: String,
    /// Default walking threshold in minutes.
    pub minutes: f64,
}

/// A dataset's profile and kinds, as the store keeps them and `/api/kinds` serves them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KindCatalog {
    pub profile: FacilityProfile,
    /// [`FacilityProfile::display_label`], for clients that show one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub kinds: Vec<KindDef>,
}

impl KindCatalog {
    pub fn new(profile: FacilityProfile, kinds: Vec<KindDef>) -> Self {
        Self {
            label: profile.display_label(),
            profile,
            kinds,
        }
    }
    /// The kind's definition, if declared.
    pub fn kind(&self, code: &FacilityKind) -> Option<&KindDef> {
        self.kinds.iter().find(|k| &k.code == code)
    }
}

impl KindCatalog {
    /// The catalogue of a dataset whose profile was never recorded (imported before profiles
    /// were kept): profile `unrecorded`, no label, the core kinds as the strict default file
    /// declares them (tested against `data/facility_tags.toml` in `gridmap-import`).
    pub fn unrecorded() -> Self {
        let k = |code: FacilityKind, zh: &str, en: &str, colour: &str| KindDef {
            zh: zh.to_owned(),
            code,
            en: en.to_owned(),
            colour: colour.to_owned(),
            minutes: 15.0,
        };
        Self::new(
            FacilityProfile {
                name: "unrecorded".to_owned(),
                label: None,
                substitutions: Vec::new(),
            },
            vec![
                k(
                    FacilityKind::ServiceStation,
                    "党群服务站",
                    "Party-mass service station",
                    "#d7301f",
                ),
                k(
                    FacilityKind::Canteen,
                    "幸福食堂",
                    "Canteen / day care",
                    "#ec7014",
                ),
                k(
                    FacilityKind::ReadingRoom,
                    "城市书房",
                    "Reading room",
                    "#2b8cbe",
                ),
                k(
                    FacilityKind::OutreachPoint,
                    "暖“新”驿站",
                    "Outreach point",
                    "#6a51a3",
                ),
                k(
                    FacilityKind::Other("other".to_owned()),
                    "其他",
                    "Other",
                    "#636363",
                ),
            ],
        )
    }

    /// Adds a plain entry (grey, 15 minutes, the code as label) for every kind in `present`
    /// that the catalogue does not declare, so free-form kinds still show in legends.
    pub fn with_present<'a>(mut self, present: impl IntoIterator<Item = &'a FacilityKind>) -> Self {
        for code in present {
            if self.kind(code).is_none() {
                self.kinds.push(KindDef {
                    code: code.clone(),
                    zh: code.as_str().to_owned(),
                    en: code.as_str().to_owned(),
                    colour: "#636363".to_owned(),
                    minutes: 15.0,
                });
            }
        }
        self
    }
}
