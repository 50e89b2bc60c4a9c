//! Which raw ways are walkable.
//!
//! The rules follow the peer kit's `osm_to_graph.py` so that a network imported from OSM gives
//! the same graph as the oracle's, with two additions for lines that do not come from OSM:
//!
//! * `highway` ∈ [`WALKABLE_HIGHWAYS`] is walkable; `highway=cycleway` only with
//!   `foot` ∈ yes/designated/permissive. Every other `highway` value is not: motorway, trunk
//!   and their `*_link`s, `corridor` (indoor passages: rarely connected to the street network
//!   and without a public-access guarantee), `elevator`, `construction`, `proposed`, `bus_guideway`,
//!   `raceway`, … `footway=crossing` / `footway=sidewalk` are footways and therefore walkable;
//!   `highway=crossing` is a node tag and never reaches this function.
//! * `foot=no` is never walkable; `access` ∈ private/no is not walkable unless `foot` ∈
//!   yes/designated/permissive.
//! * A line **without** a `highway` tag is an interchange line (a GeoJSON network feature with
//!   `length_m`) and walkable as given — unless it carries a barrier key ([`BARRIER_KEYS`]:
//!   waterway, railway, barrier, natural, …). Barriers never become edges: they matter only
//!   through what is *not* connected.
use gridmap_model::NetworkWay;
use serde::Serialize;

/// `highway` values a pedestrian may use (the peer kit's list).
pub const WALKABLE_HIGHWAYS: &[&str] = &[
    "footway",
    "path",
    "pedestrian",
    "steps",
    "living_street",
    "residential",
    "service",
    "unclassified",
    "tertiary",
    "secondary",
    "primary",
    "track",
];

/// Keys that mark a line as a physical barrier or a non-path feature when it has no `highway`.
pub const BARRIER_KEYS: &[&str] = &[
    "waterway", "railway", "barrier", "natural", "building", "landuse", "power", "aeroway",
    "man_made",
];

const FOOT_ALLOWED: &[&str] = &["yes", "designated", "permissive"];

/// Why a way is not part of the walking graph.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason", content = "detail")]
pub enum SkipReason {
    /// `highway=<value>` is not walkable (motorway, trunk, corridor, …).
    HighwayNotWalkable(String),
    /// `highway=cycleway` without `foot=yes|designated|permissive`.
    CyclewayWithoutFoot,
    /// `foot=no`.
    FootNo,
    /// `access=private|no` without a foot exception.
    AccessRestricted,
    /// No `highway`, but a barrier key such as `waterway` or `railway`.
    Barrier(String),
    /// Fewer than two distinct points.
    Degenerate,
    /// A coordinate is NaN or infinite.
    InvalidCoordinate,
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::HighwayNotWalkable(h) => write!(f, "highway={h} is not walkable"),
            Self::CyclewayWithoutFoot => {
                f.write_str("cycleway without foot=yes/designated/permissive")
            }
            Self::FootNo => f.write_str("foot=no"),
            Self::AccessRestricted => f.write_str("access=private/no without a foot exception"),
            Self::Barrier(k) => write!(f, "barrier ({k}=*), not a path"),
            Self::Degenerate => f.write_str("fewer than two distinct points"),
            Self::InvalidCoordinate => f.write_str("non-finite coordinate"),
        }
    }
}

/// Decides whether a way's tags make it walkable (geometry is checked by the graph builder).
pub fn classify(way: &NetworkWay) -> Result<(), SkipReason> {
    let tag = |k: &str| way.tags.get(k).map(|v| v.trim());
    let foot = tag("foot");
    let foot_ok = foot.is_some_and(|f| FOOT_ALLOWED.contains(&f));
    if foot == Some("no") {
        return Err(SkipReason::FootNo);
    }
    if matches!(tag("access"), Some("private" | "no")) && !foot_ok {
        return Err(SkipReason::AccessRestricted);
    }
    match tag("highway") {
        Some(h) if WALKABLE_HIGHWAYS.contains(&h) => Ok(()),
        Some("cycleway") if foot_ok => Ok(()),
        Some("cycleway") => Err(SkipReason::CyclewayWithoutFoot),
        Some(h) => Err(SkipReason::HighwayNotWalkable(h.to_owned())),
        None => match BARRIER_KEYS.iter().find(|k| way.tags.contains_key(**k)) {
            Some(k) => Err(SkipReason::Barrier((*k).to_owned())),
            None => Ok(()),
        },
    }
}

/// A way in a tunnel or on a bridge (`tunnel`/`bridge` present and not `no`; a
/// `tunnel=building_passage` is a passage at street level and does not count).
pub fn is_tunnel_or_bridge(way: &NetworkWay) -> bool {
    let on = |k: &str| {
        way.tags
            .get(k)
            .is_some_and(|v| !matches!(v.trim(), "no" | "building_passage"))
    };
    on("tunnel") || on("bridge")
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::line_string;
    use gridmap_model::WayId;

    fn way(tags: &[(&str, &str)]) -> NetworkWay {
        NetworkWay {
            id: WayId::new("w1"),
            geometry: line_string![(x: 0.0, y: 0.0), (x: 0.001, y: 0.0)],
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            length_m: None,
        }
    }

    #[test]
    fn footways_and_residential_streets_are_walkable_motorways_are_not() {
        assert_eq!(classify(&way(&[("highway", "footway")])), Ok(()));
        assert_eq!(classify(&way(&[("highway", "residential")])), Ok(()));
        assert_eq!(
            classify(&way(&[("highway", "motorway")])),
            Err(SkipReason::HighwayNotWalkable("motorway".into()))
        );
        assert!(classify(&way(&[("highway", "trunk"), ("foot", "yes")])).is_err());
    }

    #[test]
    fn foot_tags_override_access_and_cycleways() {
        assert_eq!(
            classify(&way(&[("highway", "service"), ("access", "private")])),
            Err(SkipReason::AccessRestricted)
        );
        assert_eq!(
            classify(&way(&[
                ("highway", "service"),
                ("access", "private"),
                ("foot", "yes")
            ])),
            Ok(())
        );
        assert_eq!(
            classify(&way(&[("highway", "footway"), ("foot", "no")])),
            Err(SkipReason::FootNo)
        );
        assert_eq!(
            classify(&way(&[("highway", "cycleway")])),
            Err(SkipReason::CyclewayWithoutFoot)
        );
        assert_eq!(
            classify(&way(&[("highway", "cycleway"), ("foot", "designated")])),
            Ok(())
        );
    }

    #[test]
    fn tunnels_and_bridges_are_flagged_but_building_passages_are_not() {
        assert!(is_tunnel_or_bridge(&way(&[
            ("highway", "primary"),
            ("tunnel", "yes")
        ])));
        assert!(is_tunnel_or_bridge(&way(&[
            ("highway", "footway"),
            ("bridge", "viaduct")
        ])));
        assert!(!is_tunnel_or_bridge(&way(&[
            ("highway", "footway"),
            ("tunnel", "building_passage")
        ])));
        assert!(!is_tunnel_or_bridge(&way(&[
            ("highway", "footway"),
            ("bridge", "no")
        ])));
    }

    #[test]
    fn interchange_lines_are_walkable_but_rivers_and_railways_are_barriers() {
        assert_eq!(classify(&way(&[])), Ok(()));
        assert_eq!(
            classify(&way(&[("waterway", "river")])),
            Err(SkipReason::Barrier("waterway".into()))
        );
        assert_eq!(
            classify(&way(&[("railway", "rail")])),
            Err(SkipReason::Barrier("railway".into()))
        );
    }
}
