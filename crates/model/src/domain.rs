//! The domain types. Plain data: invariants that need more than one record (a grid never spans
//! two communities, every building in at most one grid) are checked by `algo` and `store`.
use crate::ids::{
    BuildingId, CommunityId, CompoundId, FacilityId, GridId, StreetId, UserId, WayId,
};
use crate::SharedVec;
use geo::{Area, Centroid, GeodesicArea};
use geo_types::{LineString, MultiPolygon, Point};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Errors of the model: values that do not parse into a domain type.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ModelError {
    #[error("unknown {what} '{value}' (expected one of: {expected})")]
    UnknownValue {
        what: &'static str,
        value: String,
        expected: &'static str,
    },
}

/// Street office area (街道).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Street {
    pub id: StreetId,
    pub name: String,
    pub boundary: Option<MultiPolygon<f64>>,
}

/// Community (社区): the unit grids are cut in. Grids never cross its boundary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Community {
    pub id: CommunityId,
    pub name: String,
    pub street: Option<StreetId>,
    pub boundary: Option<MultiPolygon<f64>>,
}

/// Kind of residential compound (小区).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CompoundKind {
    /// 商品房小区
    Commercial,
    /// 安置房小区
    Resettlement,
    /// 移交小区
    HandedOver,
    /// 老旧小区
    Old,
    /// 单位家属院
    WorkUnit,
    /// 村 / 城中村
    Village,
    Mixed,
    #[default]
    Unknown,
}

impl CompoundKind {
    pub const ALL: [CompoundKind; 8] = [
        Self::Commercial,
        Self::Resettlement,
        Self::HandedOver,
        Self::Old,
        Self::WorkUnit,
        Self::Village,
        Self::Mixed,
        Self::Unknown,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Commercial => "commercial",
            Self::Resettlement => "resettlement",
            Self::HandedOver => "handed_over",
            Self::Old => "old",
            Self::WorkUnit => "work_unit",
            Self::Village => "village",
            Self::Mixed => "mixed",
            Self::Unknown => "unknown",
        }
    }
}

impl FromStr for CompoundKind {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| ModelError::UnknownValue {
            what: "compound kind",
            value: s.to_owned(),
            expected: "commercial, resettlement, handed_over, old, work_unit, village, mixed, unknown",
        })
    }
}

/// Residential compound (小区).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Compound {
    pub id: CompoundId,
    pub name: Option<String>,
    pub kind: CompoundKind,
    pub community: Option<CommunityId>,
    pub boundary: Option<MultiPolygon<f64>>,
}

/// The most households, or residents aged 65+, a correction may give one building: the largest
/// residential towers hold a few thousand households, so a larger figure is a typing error.
pub const MAX_COUNT_PER_BUILDING: u32 = 20_000;

/// Where a building's household count came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum HouseholdSource {
    /// Footprint × levels ÷ dwelling size (see [`crate::households`]).
    #[default]
    Estimated,
    /// From an imported file (GeoJSON property or CSV).
    Imported,
    /// Edited by a user.
    Edited,
}

impl HouseholdSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Estimated => "estimated",
            Self::Imported => "imported",
            Self::Edited => "edited",
        }
    }
}

impl FromStr for HouseholdSource {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "estimated" => Ok(Self::Estimated),
            "imported" => Ok(Self::Imported),
            "edited" => Ok(Self::Edited),
            _ => Err(ModelError::UnknownValue {
                what: "household source",
                value: s.to_owned(),
                expected: "estimated, imported, edited",
            }),
        }
    }
}

/// Building (楼栋).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Building {
    pub id: BuildingId,
    pub name: Option<String>,
    /// OSM `building=*` value (`yes`, `apartments`, `house`, …) or the type given on import.
    pub building_type: Option<String>,
    pub address: Option<String>,
    /// Footprint in WGS84 lon/lat.
    pub footprint: MultiPolygon<f64>,
    /// Mapped entrance, when known; walking analysis uses it instead of the centroid.
    pub entrance: Option<Point<f64>>,
    pub levels: Option<f64>,
    pub households: u32,
    pub households_source: HouseholdSource,
    /// Residents aged 65 and over, when known.
    pub elderly: Option<u32>,
    /// Building steward (楼长) contact.
    pub steward: Option<String>,
    pub compound: Option<CompoundId>,
    pub community: Option<CommunityId>,
}

impl Building {
    /// Planar centroid of the footprint in lon/lat degrees (the peer kit's definition).
    pub fn centroid(&self) -> Option<Point<f64>> {
        self.footprint.centroid()
    }
    /// Where a walk to or from this building starts: the entrance when mapped, else the centroid.
    pub fn access_point(&self) -> Option<Point<f64>> {
        self.entrance.or_else(|| self.centroid())
    }
    /// Geodesic footprint area in m² (WGS84 ellipsoid).
    pub fn area_m2(&self) -> f64 {
        self.footprint.geodesic_area_unsigned()
    }
    /// Planar area in square degrees; zero means a degenerate footprint.
    pub fn planar_area(&self) -> f64 {
        self.footprint.unsigned_area()
    }
}

/// Kind of service facility. Serialized as its snake_case name; any other string is
/// kept as free-form [`FacilityKind::Other`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FacilityKind {
    /// 党群服务站
    ServiceStation,
    /// 幸福食堂 / 日间照料中心
    Canteen,
    /// 城市书房
    ReadingRoom,
    /// 暖"新"驿站
    OutreachPoint,
    /// Anything else; the string is the free-form kind (`other` when unspecified).
    Other(String),
}

impl FacilityKind {
    pub const CORE: [FacilityKind; 4] = [
        Self::ServiceStation,
        Self::Canteen,
        Self::ReadingRoom,
        Self::OutreachPoint,
    ];

    pub fn as_str(&self) -> &str {
        match self {
            Self::ServiceStation => "service_station",
            Self::Canteen => "canteen",
            Self::ReadingRoom => "reading_room",
            Self::OutreachPoint => "outreach_point",
            Self::Other(s) => s,
        }
    }
    /// Chinese label for display.
    pub fn label_zh(&self) -> &str {
        match self {
            Self::ServiceStation => "党群服务站",
            Self::Canteen => "幸福食堂",
            Self::ReadingRoom => "城市书房",
            Self::OutreachPoint => "暖\"新\"驿站",
            Self::Other(_) => "其他",
        }
    }
    /// Parses a kind; never fails for a non-empty string (unknown strings become `Other`).
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(ModelError::UnknownValue {
                what: "facility kind",
                value: s.to_owned(),
                expected: "service_station, canteen, reading_room, outreach_point, other, or a free-form kind",
            });
        }
        Ok(match t {
            "service_station" => Self::ServiceStation,
            "canteen" => Self::Canteen,
            "reading_room" => Self::ReadingRoom,
            "outreach_point" => Self::OutreachPoint,
            other => Self::Other(other.to_owned()),
        })
    }
}

impl FromStr for FacilityKind {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for FacilityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for FacilityKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FacilityKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Service facility (a point).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Facility {
    pub id: FacilityId,
    pub kind: FacilityKind,
    pub name: Option<String>,
    pub location: Point<f64>,
    pub capacity: Option<u32>,
    /// OSM `opening_hours` syntax, kept as text.
    pub opening_hours: Option<String>,
}

/// Grid (网格): a set of buildings inside one community, with a stable code.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    pub id: GridId,
    /// Stable human code, e.g. `MC-03`; kept across rebalancing.
    pub code: String,
    pub name: Option<String>,
    pub community: Option<CommunityId>,
    pub buildings: Vec<BuildingId>,
    /// Assigned grid leads (网格长).
    pub leads: Vec<UserId>,
    /// Drawn or derived outline, for display and validation.
    pub boundary: Option<MultiPolygon<f64>>,
    /// Optimistic-concurrency version, bumped on every change (ETag source).
    pub version: i64,
}

/// A raw way of the walking network or of a physical barrier (road, path, railway, river, wall),
/// kept as imported; `algo::network` decides what is walkable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkWay {
    pub id: WayId,
    pub geometry: LineString<f64>,
    /// OSM tags (`highway`, `foot`, `access`, `waterway`, `barrier`, …) or GeoJSON properties.
    pub tags: BTreeMap<String, String>,
    /// Length in metres when the source gives it (interchange files); else computed by haversine.
    pub length_m: Option<f64>,
}

/// Everything one import produces or one store holds. Each layer is a copy-on-write
/// [`SharedVec`], so cloning a dataset shares its features instead of copying them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    pub streets: SharedVec<Street>,
    pub communities: SharedVec<Community>,
    pub compounds: SharedVec<Compound>,
    pub buildings: SharedVec<Building>,
    pub facilities: SharedVec<Facility>,
    pub grids: SharedVec<Grid>,
    pub ways: SharedVec<NetworkWay>,
}

/// Layers of a dataset, as named on the command line and in the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    Streets,
    Communities,
    Compounds,
    Buildings,
    Facilities,
    Grids,
    Network,
}

impl Layer {
    pub const ALL: [Layer; 7] = [
        Self::Streets,
        Self::Communities,
        Self::Compounds,
        Self::Buildings,
        Self::Facilities,
        Self::Grids,
        Self::Network,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Streets => "streets",
            Self::Communities => "communities",
            Self::Compounds => "compounds",
            Self::Buildings => "buildings",
            Self::Facilities => "facilities",
            Self::Grids => "grids",
            Self::Network => "network",
        }
    }
}

impl FromStr for Layer {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| ModelError::UnknownValue {
                what: "layer",
                value: s.to_owned(),
                expected: "streets, communities, compounds, buildings, facilities, grids, network",
            })
    }
}

impl Dataset {
    pub fn is_empty(&self) -> bool {
        self.streets.is_empty()
            && self.communities.is_empty()
            && self.compounds.is_empty()
            && self.buildings.is_empty()
            && self.facilities.is_empty()
            && self.grids.is_empty()
            && self.ways.is_empty()
    }
    /// Total households of all buildings.
    pub fn households(&self) -> u64 {
        self.buildings.iter().map(|b| u64::from(b.households)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facility_kind_round_trips_and_keeps_free_form_kinds() {
        for k in FacilityKind::CORE {
            assert_eq!(FacilityKind::parse(k.as_str()).unwrap(), k);
        }
        assert_eq!(
            FacilityKind::parse("pharmacy").unwrap(),
            FacilityKind::Other("pharmacy".into())
        );
        assert!(FacilityKind::parse("  ").is_err());
        let json = serde_json::to_string(&FacilityKind::Canteen).unwrap();
        assert_eq!(json, "\"canteen\"");
    }

    #[test]
    fn unknown_layer_names_the_choices() {
        let e = "roads".parse::<Layer>().unwrap_err().to_string();
        assert!(e.contains("roads") && e.contains("buildings"), "{e}");
    }
}

/// How a household-count row names its building.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuildingKey {
    Id(BuildingId),
    Address(String),
}

/// One row of a household CSV: new counts for one building. `None` leaves a value as it is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HouseholdUpdate {
    pub key: BuildingKey,
    pub households: Option<u32>,
    pub elderly: Option<u32>,
    pub steward: Option<String>,
    /// Where the row came from, for error messages: `file.csv:17`.
    pub origin: String,
}
