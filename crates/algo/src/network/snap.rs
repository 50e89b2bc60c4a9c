//! Snapping points (building entrances or centroids, facilities) onto the walking graph.
//!
//! Two modes ([`SnapMode`]): the nearest point on the nearest **edge** (the edge is split
//! virtually; the walk continues along it to both ends) or the nearest **node** — any polyline
//! point, which on the peer kit's `--all-nodes` network is exactly the oracle's nearest graph node.
//! Both search an R-tree in local metres; node mode re-ranks near-ties by great-circle distance as
//! the oracle does. [`SnapTo::Largest`] only accepts the largest connected component, so a point
//! next to a 6-node island walks from the main network instead. A point farther than
//! `max_distance_m` from every acceptable edge is [`Unplaced::TooFar`]: unreachable, never covered.
use super::{Edge, WalkingNetwork};
use crate::geometry::haversine_m;
use rstar::primitives::{GeomWithData, Line};
use rstar::RTree;
use serde::{Deserialize, Serialize};

/// Where on the graph a point may land.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SnapMode {
    /// Nearest point on the nearest edge segment.
    Edge,
    /// Nearest polyline point (vertex or shape point): the oracle's rule, and the default
    /// (see the `coverage` module docs for the measurements behind it).
    #[default]
    Node,
}

/// Which components may be snapped to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SnapTo {
    /// Any component, including small islands (the oracle's default).
    #[default]
    AnyComponent,
    /// Only the largest connected component.
    Largest,
}

/// Snapping parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SnapOptions {
    pub mode: SnapMode,
    pub to: SnapTo,
    /// Beyond this straight-line distance a point is unplaced (unreachable). Default 300 m.
    pub max_distance_m: f64,
    /// Prefer edges that are not in a tunnel or on a bridge (default true): a building above a
    /// road tunnel or below a viaduct is not entered from it. Falls back to any edge when no
    /// other is within `max_distance_m`. No effect on networks without such tags (interchange files).
    pub avoid_tunnels_and_bridges: bool,
}

impl Default for SnapOptions {
    fn default() -> Self {
        Self {
            mode: SnapMode::Node,
            to: SnapTo::AnyComponent,
            max_distance_m: 300.0,
            avoid_tunnels_and_bridges: true,
        }
    }
}

/// A point placed on the graph.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snap {
    pub edge: u32,
    /// Metres along the edge from its `u` end.
    pub offset_m: f64,
    /// Great-circle metres from the point to where it landed (the access leg).
    pub distance_m: f64,
    /// Where it landed, lon/lat.
    pub lonlat: [f64; 2],
}

/// Why a point could not be placed on the graph.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Unplaced {
    /// The building has no usable geometry (empty footprint and no entrance).
    NoGeometry,
    /// NaN or infinite coordinates.
    InvalidCoordinate,
    /// The walking network has no edges.
    EmptyNetwork,
    /// Nothing acceptable within the maximum snap distance.
    TooFar { max_distance_m: f64 },
}

impl std::fmt::Display for Unplaced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoGeometry => f.write_str("no geometry (empty footprint, no entrance)"),
            Self::InvalidCoordinate => f.write_str("invalid coordinate"),
            Self::EmptyNetwork => f.write_str("the walking network is empty"),
            Self::TooFar { max_distance_m } => {
                write!(
                    f,
                    "farther than {max_distance_m} m from the walking network"
                )
            }
        }
    }
}

type SegItem = GeomWithData<Line<[f64; 2]>, (u32, u32)>;
type PointItem = GeomWithData<[f64; 2], (u32, u32)>;

/// R-trees over edge segments and polyline points, in projected metres.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SnapIndex {
    segments: RTree<SegItem>,
    points: RTree<PointItem>,
}

impl SnapIndex {
    pub(crate) fn build(edges: &[Edge], xy: &[[f64; 2]]) -> Self {
        let mut segs = Vec::new();
        let mut pts = Vec::new();
        for (e, ed) in edges.iter().enumerate() {
            let first = ed.first_point as usize;
            for k in 0..ed.n_points as usize {
                pts.push(PointItem::new(xy[first + k], (e as u32, k as u32)));
                if k + 1 < ed.n_points as usize {
                    segs.push(SegItem::new(
                        Line::new(xy[first + k], xy[first + k + 1]),
                        (e as u32, k as u32),
                    ));
                }
            }
        }
        Self {
            segments: RTree::bulk_load(segs),
            points: RTree::bulk_load(pts),
        }
    }
}

impl WalkingNetwork {
    /// Places a lon/lat point on the graph.
    pub fn snap(&self, lon: f64, lat: f64, opts: &SnapOptions) -> Result<Snap, Unplaced> {
        if !(lon.is_finite() && lat.is_finite()) {
            return Err(Unplaced::InvalidCoordinate);
        }
        if self.edges.is_empty() {
            return Err(Unplaced::EmptyNetwork);
        }
        if opts.avoid_tunnels_and_bridges && self.report.tunnel_or_bridge_edges > 0 {
            if let Ok(s) = self.snap_filtered(lon, lat, opts, true) {
                return Ok(s);
            }
        }
        self.snap_filtered(lon, lat, opts, false)
    }

    fn snap_filtered(
        &self,
        lon: f64,
        lat: f64,
        opts: &SnapOptions,
        level_only: bool,
    ) -> Result<Snap, Unplaced> {
        let (x, y) = self.projection.project(lon, lat);
        let q = [x, y];
        // planar metres are within 0.1 % of great-circle metres across a city; allow for it
        let max_planar = opts.max_distance_m * 1.002 + 0.5;
        let max2 = max_planar * max_planar;
        let accept = |e: u32| {
            let ed = &self.edges[e as usize];
            !(level_only && ed.tunnel_or_bridge)
                && match opts.to {
                    SnapTo::AnyComponent => true,
                    SnapTo::Largest => self.component[ed.u as usize] == 0,
                }
        };
        let too_far = Err(Unplaced::TooFar {
            max_distance_m: opts.max_distance_m,
        });
        let snap = match opts.mode {
            SnapMode::Edge => {
                let Some((item, _)) = self
                    .index
                    .segments
                    .nearest_neighbor_iter_with_distance_2(&q)
                    .take_while(|(_, d2)| *d2 <= max2)
                    .find(|(it, _)| accept(it.data.0))
                else {
                    return too_far;
                };
                let (e, k) = item.data;
                let seg = item.geom();
                let np = seg.nearest_point(&q);
                let (a, b) = (seg.from, seg.to);
                let seg_len = ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2)).sqrt();
                let frac = if seg_len > 0.0 {
                    (((np[0] - a[0]).powi(2) + (np[1] - a[1]).powi(2)).sqrt() / seg_len)
                        .clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let i = (self.edges[e as usize].first_point + k) as usize;
                let (o0, o1) = (self.points_offset[i], self.points_offset[i + 1]);
                let (p0, p1) = (self.points[i], self.points[i + 1]);
                let lonlat = [
                    p0[0] + frac * (p1[0] - p0[0]),
                    p0[1] + frac * (p1[1] - p0[1]),
                ];
                Snap {
                    edge: e,
                    offset_m: o0 + frac * (o1 - o0),
                    distance_m: haversine_m((lon, lat), (lonlat[0], lonlat[1])),
                    lonlat,
                }
            }
            SnapMode::Node => {
                // nearest by planar metres, near-ties re-ranked by great-circle metres
                let mut best: Option<(f64, u32, u32)> = None;
                let mut first_d: Option<f64> = None;
                for (it, d2) in self.index.points.nearest_neighbor_iter_with_distance_2(&q) {
                    if d2 > max2 {
                        break;
                    }
                    let d = d2.sqrt();
                    if first_d.is_some_and(|f| d > f + 0.05) {
                        break;
                    }
                    if !accept(it.data.0) {
                        continue;
                    }
                    first_d.get_or_insert(d);
                    let i = (self.edges[it.data.0 as usize].first_point + it.data.1) as usize;
                    let p = self.points[i];
                    let h = haversine_m((lon, lat), (p[0], p[1]));
                    if best.is_none_or(|(bh, _, _)| h < bh) {
                        best = Some((h, it.data.0, it.data.1));
                    }
                }
                let Some((h, e, k)) = best else {
                    return too_far;
                };
                let i = (self.edges[e as usize].first_point + k) as usize;
                Snap {
                    edge: e,
                    offset_m: self.points_offset[i],
                    distance_m: h,
                    lonlat: self.points[i],
                }
            }
        };
        if snap.distance_m > opts.max_distance_m {
            return too_far;
        }
        Ok(snap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::tests::line;

    fn street() -> WalkingNetwork {
        // 0 —— 1 —— 2 along the equator, ~111 m apart; an island far east
        WalkingNetwork::build(&[
            line(
                "a",
                &[(0.0, 0.0), (0.001, 0.0), (0.002, 0.0)],
                &[("highway", "footway")],
                None,
            ),
            line(
                "b",
                &[(0.001, 0.0), (0.001, 0.001)],
                &[("highway", "footway")],
                None,
            ),
            line(
                "island",
                &[(0.0030, 0.0003), (0.0031, 0.0003)],
                &[("highway", "footway")],
                None,
            ),
        ])
    }

    #[test]
    fn edge_snapping_lands_between_vertices_and_measures_both_legs() {
        let net = street();
        let s = net
            .snap(
                0.0005,
                0.0001,
                &SnapOptions {
                    mode: SnapMode::Edge,
                    ..SnapOptions::default()
                },
            )
            .unwrap();
        let ed = net.edge(s.edge);
        assert!((s.distance_m - 11.12).abs() < 0.05, "{}", s.distance_m);
        assert!((s.lonlat[0] - 0.0005).abs() < 1e-9 && s.lonlat[1].abs() < 1e-12);
        let from_u = haversine_m((net.node_lonlat(ed.u)[0], 0.0), (0.0005, 0.0));
        assert!((s.offset_m - from_u).abs() < 1e-6);
    }

    #[test]
    fn node_snapping_picks_the_nearest_vertex() {
        let net = street();
        let opts = SnapOptions {
            mode: SnapMode::Node,
            ..SnapOptions::default()
        };
        let s = net.snap(0.0004, 0.0, &opts).unwrap();
        assert_eq!(s.lonlat, [0.0, 0.0]);
        assert!((s.distance_m - haversine_m((0.0004, 0.0), (0.0, 0.0))).abs() < 1e-9);
    }

    #[test]
    fn largest_component_snapping_skips_islands() {
        let net = street();
        let near_island = (0.00305, 0.0003);
        let any = net
            .snap(near_island.0, near_island.1, &SnapOptions::default())
            .unwrap();
        assert_eq!(net.component(net.edge(any.edge).u), 1);
        let opts = SnapOptions {
            to: SnapTo::Largest,
            ..SnapOptions::default()
        };
        let main = net.snap(near_island.0, near_island.1, &opts).unwrap();
        assert_eq!(net.component(net.edge(main.edge).u), 0);
    }

    #[test]
    fn a_building_above_a_road_tunnel_is_entered_from_the_street_beside_it() {
        let net = WalkingNetwork::build(&[
            line(
                "tunnel",
                &[(0.0, 0.0), (0.002, 0.0)],
                &[("highway", "primary"), ("tunnel", "yes")],
                None,
            ),
            line(
                "street",
                &[(0.0, 0.0003), (0.002, 0.0003)],
                &[("highway", "residential")],
                None,
            ),
        ]);
        assert_eq!(net.report().tunnel_or_bridge_edges, 1);
        let over_tunnel = (0.001, 0.00005);
        let s = net
            .snap(over_tunnel.0, over_tunnel.1, &SnapOptions::default())
            .unwrap();
        assert!(!net.edge(s.edge).tunnel_or_bridge);
        let opts = SnapOptions {
            avoid_tunnels_and_bridges: false,
            ..SnapOptions::default()
        };
        assert!(
            net.edge(net.snap(over_tunnel.0, over_tunnel.1, &opts).unwrap().edge)
                .tunnel_or_bridge
        );
        // only a tunnel within reach: it is used rather than leaving the point unplaced
        let only = WalkingNetwork::build(&[line(
            "t",
            &[(0.0, 0.0), (0.002, 0.0)],
            &[("highway", "primary"), ("tunnel", "yes")],
            None,
        )]);
        assert!(only.snap(0.001, 0.0001, &SnapOptions::default()).is_ok());
    }

    #[test]
    fn points_beyond_the_snap_distance_are_unplaced() {
        let net = street();
        let r = net.snap(0.0, 0.01, &SnapOptions::default());
        assert_eq!(
            r,
            Err(Unplaced::TooFar {
                max_distance_m: 300.0
            })
        );
        assert_eq!(
            WalkingNetwork::build(&[]).snap(0.0, 0.0, &SnapOptions::default()),
            Err(Unplaced::EmptyNetwork)
        );
        assert_eq!(
            net.snap(f64::NAN, 0.0, &SnapOptions::default()),
            Err(Unplaced::InvalidCoordinate)
        );
    }
}
