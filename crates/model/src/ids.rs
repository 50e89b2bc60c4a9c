//! Typed identifiers. Ids are strings on the wire (`w123` for an OSM way, `r45` for a
//! relation, any unique string from GeoJSON/CSV); the newtypes stop a grid id being passed
//! where a building id is expected.
use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn new(s: impl Into<String>) -> Self { Self(s.into()) }
            pub fn as_str(&self) -> &str { &self.0 }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(&self.0) }
        }
        impl From<&str> for $name {
            fn from(s: &str) -> Self { Self(s.to_owned()) }
        }
        impl From<String> for $name {
            fn from(s: String) -> Self { Self(s) }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str { &self.0 }
        }
    };
}

string_id!(/// Id of a street office area (街道).
    StreetId);
string_id!(/// Id of a community (社区).
    CommunityId);
string_id!(/// Id of a residential compound (小区).
    CompoundId);
string_id!(/// Id of a building (楼栋).
    BuildingId);
string_id!(/// Id of a grid (网格).
    GridId);
string_id!(/// Id of a service facility.
    FacilityId);
string_id!(/// Id of a raw walking-network way or line.
    WayId);
string_id!(/// Login name of a user.
    UserId);
