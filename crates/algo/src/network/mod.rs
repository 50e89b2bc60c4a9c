//! The walking network: a compressed-sparse-row graph built from raw [`NetworkWay`]s, the
//! geometry of every edge (for snapping and isochrones) and its connected components.
//!
//! * **Walkable ways**: see [`walkable`] (the peer kit's list; lines without `highway` are
//!   interchange lines and walkable; barriers never are).
//! * **Vertices** are distinct coordinates (exact `f64` equality, compared as bits). A way is split
//!   into edges at its ends and at every coordinate used by two or more walkable ways (or twice by
//!   one way); coordinates used once stay inside an edge's polyline, so the graph is small but the
//!   geometry exact. A closed way with no other junction is split at its middle point instead of
//!   becoming a self-loop.
//! * **Lengths**: a way that becomes one edge and carries `length_m` keeps it exactly (interchange
//!   lines); otherwise haversine (R = 6 371 008.8 m) — when a way carries `length_m` but is split,
//!   its pieces share `length_m` in proportion to their haversine lengths.
//! * **Duplicates**: straight (two-point) edges between the same pair of vertices keep only the
//!   shortest; edges with different polylines are different paths and are all kept; zero-length
//!   pieces and self-loops are dropped.
//! * **Tunnels and bridges** (`tunnel=*`, `bridge=*`, not `no`) are walked like any edge but
//!   flagged, so snapping can avoid landing a building on a road that passes under or over it.
//! * **Weights** are `f64` metres: the oracle writes lengths with 3 decimals and compares
//!   `distance <= limit` inclusively; `f64` keeps that comparison exact at no measurable cost.
//!
//! [`snap`] puts points onto the graph, [`paths`] runs bounded multi-source Dijkstra on it.
use crate::geometry::{haversine_m, LocalProjection};
use gridmap_model::NetworkWay;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

pub mod paths;
pub mod snap;
pub mod walkable;

pub use paths::{bounded_dijkstra, NodeTimes, Seed, NO_SOURCE};
pub use snap::{Snap, SnapMode, SnapOptions, SnapTo, Unplaced};
pub use walkable::SkipReason;

/// Layout version of a serialized [`WalkingNetwork`] and of prepared building snaps
/// ([`crate::coverage::PreparedSites`]): part of every cache key, bumped whenever either changes
/// (or the builder's output does), so an old cache is rebuilt, never misread.
pub const NETWORK_FORMAT: u32 = 1;

/// One edge: two vertices, a length and a polyline (a range into the network's point arrays).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    pub u: u32,
    pub v: u32,
    pub length_m: f64,
    /// Index of the first polyline point (see [`WalkingNetwork::edge_points`]); it runs u → v.
    pub first_point: u32,
    /// Number of points (≥ 2).
    pub n_points: u32,
    /// From a way tagged `tunnel=*` or `bridge=*` (not `no`): walkable, but a building beside or
    /// above it should not be snapped onto it (see [`SnapOptions::avoid_tunnels_and_bridges`]).
    pub tunnel_or_bridge: bool,
}

/// Counts of what the builder did, for the import log and the API.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkReport {
    pub ways_in: usize,
    pub ways_walkable: usize,
    /// Ways left out, by reason.
    pub ways_skipped: BTreeMap<String, usize>,
    pub nodes: usize,
    pub edges: usize,
    pub total_length_km: f64,
    pub parallel_edges_dropped: usize,
    pub tunnel_or_bridge_edges: usize,
    pub self_loops_dropped: usize,
    /// Component sizes in nodes, largest first.
    pub component_sizes: Vec<usize>,
}

/// The walking graph, its geometry and an index for snapping. Built once per import; it
/// serializes (serde, with its R-trees) so a process can reuse what another built
/// ([`NETWORK_FORMAT`] tags the layout).
#[derive(Debug, Serialize, Deserialize)]
pub struct WalkingNetwork {
    /// CSR: neighbours of node `n` are `targets[offsets[n]..offsets[n+1]]`.
    offsets: Vec<u32>,
    targets: Vec<u32>,
    weights: Vec<f64>,
    /// Lon/lat of every vertex.
    node_lonlat: Vec<[f64; 2]>,
    edges: Vec<Edge>,
    /// Lon/lat of every polyline point (each edge owns its copy of its end points).
    points: Vec<[f64; 2]>,
    /// The same points in metres on [`WalkingNetwork::projection`].
    points_xy: Vec<[f64; 2]>,
    /// Metres along the edge from `u` to each point (last = edge length).
    points_offset: Vec<f64>,
    /// Component label of every node; labels are ranked by size (0 = largest).
    component: Vec<u32>,
    projection: LocalProjection,
    index: snap::SnapIndex,
    report: NetworkReport,
}

fn key(p: [f64; 2]) -> (u64, u64) {
    (p[0].to_bits(), p[1].to_bits())
}

struct Piece {
    pts: Vec<[f64; 2]>,
    length: Option<f64>,
    elevated: bool,
}

impl WalkingNetwork {
    /// Builds the graph from raw ways. Never fails: unusable ways are counted in the report.
    pub fn build(ways: &[NetworkWay]) -> Self {
        let mut report = NetworkReport {
            ways_in: ways.len(),
            ..NetworkReport::default()
        };
        let mut skip = |r: SkipReason| *report.ways_skipped.entry(r.to_string()).or_default() += 1;
        // 1. walkable ways with clean geometry
        let mut lines: Vec<(Vec<[f64; 2]>, Option<f64>, bool)> = Vec::new();
        for way in ways {
            if let Err(r) = walkable::classify(way) {
                skip(r);
                continue;
            }
            let mut pts: Vec<[f64; 2]> = Vec::with_capacity(way.geometry.0.len());
            let mut finite = true;
            for c in &way.geometry.0 {
                if !(c.x.is_finite() && c.y.is_finite()) {
                    finite = false;
                    break;
                }
                if pts.last() != Some(&[c.x, c.y]) {
                    pts.push([c.x, c.y]);
                }
            }
            if !finite {
                skip(SkipReason::InvalidCoordinate);
                continue;
            }
            if pts.len() < 2 {
                skip(SkipReason::Degenerate);
                continue;
            }
            let length = way.length_m.filter(|l| l.is_finite() && *l >= 0.0);
            lines.push((pts, length, walkable::is_tunnel_or_bridge(way)));
        }
        report.ways_walkable = lines.len();
        // 2. how often each coordinate is used
        let mut uses: HashMap<(u64, u64), u32> = HashMap::new();
        for (pts, _, _) in &lines {
            for p in pts {
                *uses.entry(key(*p)).or_default() += 1;
            }
        }
        // 3. split into pieces at junctions
        let mut pieces: Vec<Piece> = Vec::new();
        for (pts, length, elevated) in &lines {
            let mut cuts = vec![0usize];
            for (i, p) in pts.iter().enumerate().take(pts.len() - 1).skip(1) {
                if uses[&key(*p)] >= 2 {
                    cuts.push(i);
                }
            }
            cuts.push(pts.len() - 1);
            // a piece that starts and ends at the same point is split at its middle point
            let mut fixed = vec![cuts[0]];
            for w in cuts.windows(2) {
                if pts[w[0]] == pts[w[1]] && w[1] - w[0] >= 2 {
                    fixed.push(usize::midpoint(w[0], w[1]));
                }
                fixed.push(w[1]);
            }
            let total: f64 = pts
                .windows(2)
                .map(|s| haversine_m(s[0].into(), s[1].into()))
                .sum();
            let n_pieces = fixed.len() - 1;
            for w in fixed.windows(2) {
                let piece = pts[w[0]..=w[1]].to_vec();
                let hav: f64 = piece
                    .windows(2)
                    .map(|s| haversine_m(s[0].into(), s[1].into()))
                    .sum();
                let len = match length {
                    Some(l) if n_pieces == 1 => Some(*l),
                    Some(l) if total > 0.0 => Some(l * hav / total),
                    _ => None,
                };
                pieces.push(Piece {
                    pts: piece,
                    length: len,
                    elevated: *elevated,
                });
            }
        }
        // 4. vertices, edges, duplicates
        let mut node_of: HashMap<(u64, u64), u32> = HashMap::new();
        let mut node_lonlat: Vec<[f64; 2]> = Vec::new();
        let mut node = |p: [f64; 2]| -> u32 {
            *node_of.entry(key(p)).or_insert_with(|| {
                node_lonlat.push(p);
                (node_lonlat.len() - 1) as u32
            })
        };
        let mut edges: Vec<Edge> = Vec::new();
        let mut points: Vec<[f64; 2]> = Vec::new();
        let mut points_offset: Vec<f64> = Vec::new();
        let mut straight: HashMap<(u32, u32), usize> = HashMap::new();
        for piece in pieces {
            let (a, b) = (piece.pts[0], piece.pts[piece.pts.len() - 1]);
            let (u, v) = (node(a), node(b));
            if u == v {
                report.self_loops_dropped += 1;
                continue;
            }
            let mut cum = Vec::with_capacity(piece.pts.len());
            let mut acc = 0.0;
            cum.push(0.0);
            for s in piece.pts.windows(2) {
                acc += haversine_m(s[0].into(), s[1].into());
                cum.push(acc);
            }
            let length = piece.length.unwrap_or(acc);
            if length <= 0.0 && acc <= 0.0 {
                report.self_loops_dropped += 1;
                continue;
            }
            let scale = if acc > 0.0 { length / acc } else { 0.0 };
            let cum: Vec<f64> = cum.iter().map(|c| c * scale).collect();
            if piece.pts.len() == 2 {
                let pair = (u.min(v), u.max(v));
                if let Some(&e) = straight.get(&pair) {
                    report.parallel_edges_dropped += 1;
                    if length < edges[e].length_m {
                        // replace in place: same two points, shorter length
                        let first = edges[e].first_point as usize;
                        edges[e].length_m = length;
                        points_offset[first + 1] = length;
                    }
                    continue;
                }
                straight.insert(pair, edges.len());
            }
            if piece.elevated {
                report.tunnel_or_bridge_edges += 1;
            }
            edges.push(Edge {
                tunnel_or_bridge: piece.elevated,
                u,
                v,
                length_m: length,
                first_point: points.len() as u32,
                n_points: piece.pts.len() as u32,
            });
            points.extend_from_slice(&piece.pts);
            points_offset.extend_from_slice(&cum);
        }
        // 5. CSR
        let n = node_lonlat.len();
        let mut degree = vec![0u32; n + 1];
        for e in &edges {
            degree[e.u as usize] += 1;
            degree[e.v as usize] += 1;
        }
        let mut offsets = vec![0u32; n + 1];
        for i in 0..n {
            offsets[i + 1] = offsets[i] + degree[i];
        }
        let mut fill = offsets.clone();
        let mut targets = vec![0u32; offsets[n] as usize];
        let mut weights = vec![0f64; offsets[n] as usize];
        for e in &edges {
            for (a, b) in [(e.u, e.v), (e.v, e.u)] {
                let slot = fill[a as usize] as usize;
                targets[slot] = b;
                weights[slot] = e.length_m;
                fill[a as usize] += 1;
            }
        }
        // 6. components, ranked by size (ties: the one holding the lowest node id first)
        let (component, sizes) = components(&offsets, &targets);
        report.nodes = n;
        report.edges = edges.len();
        report.total_length_km = edges.iter().map(|e| e.length_m).sum::<f64>() / 1000.0;
        report.component_sizes = sizes;
        // 7. projection and snapping index
        let projection = projection_for(&node_lonlat);
        let points_xy: Vec<[f64; 2]> = points
            .iter()
            .map(|p| {
                let (x, y) = projection.project(p[0], p[1]);
                [x, y]
            })
            .collect();
        let index = snap::SnapIndex::build(&edges, &points_xy);
        Self {
            offsets,
            targets,
            weights,
            node_lonlat,
            edges,
            points,
            points_xy,
            points_offset,
            component,
            projection,
            index,
            report,
        }
    }

    pub fn report(&self) -> &NetworkReport {
        &self.report
    }
    pub fn node_count(&self) -> usize {
        self.node_lonlat.len()
    }
    pub fn edge_count(&self) -> usize {
        self.edges.len()
    }
    pub fn is_empty(&self) -> bool {
        self.edges.is_empty()
    }
    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }
    pub fn edge(&self, e: u32) -> &Edge {
        &self.edges[e as usize]
    }
    /// Lon/lat of a vertex.
    pub fn node_lonlat(&self, n: u32) -> [f64; 2] {
        self.node_lonlat[n as usize]
    }
    /// Neighbours of `n` with the edge length in metres.
    pub fn neighbours(&self, n: u32) -> impl Iterator<Item = (u32, f64)> + '_ {
        let (a, b) = (
            self.offsets[n as usize] as usize,
            self.offsets[n as usize + 1] as usize,
        );
        self.targets[a..b]
            .iter()
            .copied()
            .zip(self.weights[a..b].iter().copied())
    }
    /// Component rank of a node (0 = the largest component).
    pub fn component(&self, n: u32) -> u32 {
        self.component[n as usize]
    }
    /// Polyline of an edge in lon/lat, from `u` to `v`.
    pub fn edge_points(&self, e: u32) -> &[[f64; 2]] {
        let ed = &self.edges[e as usize];
        &self.points[ed.first_point as usize..(ed.first_point + ed.n_points) as usize]
    }
    /// Polyline of an edge in projected metres, with the offset (metres from `u`) of each point.
    pub fn edge_points_xy(&self, e: u32) -> (&[[f64; 2]], &[f64]) {
        let ed = &self.edges[e as usize];
        let r = ed.first_point as usize..(ed.first_point + ed.n_points) as usize;
        (&self.points_xy[r.clone()], &self.points_offset[r])
    }
    /// The local metric projection used for snapping and rasters.
    pub fn projection(&self) -> &LocalProjection {
        &self.projection
    }
    pub(crate) fn csr(&self) -> (&[u32], &[u32], &[f64]) {
        (&self.offsets, &self.targets, &self.weights)
    }
}

fn projection_for(nodes: &[[f64; 2]]) -> LocalProjection {
    if nodes.is_empty() {
        return LocalProjection::new(0.0, 0.0);
    }
    let (mut lo0, mut lo1, mut la0, mut la1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for p in nodes {
        lo0 = lo0.min(p[0]);
        lo1 = lo1.max(p[0]);
        la0 = la0.min(p[1]);
        la1 = la1.max(p[1]);
    }
    LocalProjection::new(f64::midpoint(lo0, lo1), f64::midpoint(la0, la1))
}

/// Connected components by BFS; returns labels ranked by size and the sizes, largest first.
fn components(offsets: &[u32], targets: &[u32]) -> (Vec<u32>, Vec<usize>) {
    let n = offsets.len() - 1;
    let mut label = vec![u32::MAX; n];
    let mut sizes: Vec<usize> = Vec::new();
    let mut queue: Vec<u32> = Vec::new();
    for start in 0..n {
        if label[start] != u32::MAX {
            continue;
        }
        let c = sizes.len() as u32;
        label[start] = c;
        queue.clear();
        queue.push(start as u32);
        let mut head = 0;
        while head < queue.len() {
            let x = queue[head] as usize;
            head += 1;
            for &y in &targets[offsets[x] as usize..offsets[x + 1] as usize] {
                if label[y as usize] == u32::MAX {
                    label[y as usize] = c;
                    queue.push(y);
                }
            }
        }
        sizes.push(queue.len());
    }
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by(|a, b| sizes[*b].cmp(&sizes[*a]).then(a.cmp(b)));
    let mut rank = vec![0u32; sizes.len()];
    for (r, &c) in order.iter().enumerate() {
        rank[c] = r as u32;
    }
    for l in &mut label {
        *l = rank[*l as usize];
    }
    (label, order.iter().map(|&c| sizes[c]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::LineString;
    use gridmap_model::WayId;

    pub(crate) fn line(
        id: &str,
        pts: &[(f64, f64)],
        tags: &[(&str, &str)],
        len: Option<f64>,
    ) -> NetworkWay {
        NetworkWay {
            id: WayId::new(id),
            geometry: LineString::from(pts.to_vec()),
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            length_m: len,
        }
    }

    #[test]
    fn ways_are_split_where_they_share_a_coordinate() {
        // a long street crossed in its middle by a footway
        let ways = vec![
            line(
                "a",
                &[(0.0, 0.0), (0.001, 0.0), (0.002, 0.0)],
                &[("highway", "residential")],
                None,
            ),
            line(
                "b",
                &[(0.001, -0.001), (0.001, 0.0), (0.001, 0.001)],
                &[("highway", "footway")],
                None,
            ),
        ];
        let net = WalkingNetwork::build(&ways);
        assert_eq!(net.node_count(), 5);
        assert_eq!(net.edge_count(), 4);
        assert_eq!(net.report().component_sizes, vec![5]);
    }

    #[test]
    fn unshared_points_stay_inside_one_edge_with_haversine_length() {
        let ways = vec![line(
            "a",
            &[(0.0, 0.0), (0.001, 0.0), (0.002, 0.0)],
            &[("highway", "path")],
            None,
        )];
        let net = WalkingNetwork::build(&ways);
        assert_eq!((net.node_count(), net.edge_count()), (2, 1));
        let want = haversine_m((0.0, 0.0), (0.002, 0.0));
        assert!((net.edge(0).length_m - want).abs() < 1e-9);
        assert_eq!(net.edge_points(0).len(), 3);
    }

    #[test]
    fn given_lengths_are_kept_parallel_edges_keep_the_shortest_and_loops_are_dropped() {
        let ways = vec![
            line("e0", &[(0.0, 0.0), (0.001, 0.0)], &[], Some(120.0)),
            line("e1", &[(0.001, 0.0), (0.0, 0.0)], &[], Some(100.5)),
            line("e2", &[(0.0, 0.0), (0.0, 0.0)], &[], Some(3.0)),
        ];
        let net = WalkingNetwork::build(&ways);
        assert_eq!(net.edge_count(), 1);
        assert_eq!(net.edge(0).length_m, 100.5);
        assert_eq!(net.report().parallel_edges_dropped, 1);
        assert_eq!(
            net.report()
                .ways_skipped
                .get("fewer than two distinct points"),
            Some(&1)
        );
    }

    #[test]
    fn a_closed_footpath_around_a_pond_stays_walkable() {
        let ring = [
            (0.0, 0.0),
            (0.001, 0.0),
            (0.001, 0.001),
            (0.0, 0.001),
            (0.0, 0.0),
        ];
        let net = WalkingNetwork::build(&[line("pond", &ring, &[("highway", "footway")], None)]);
        assert_eq!(net.edge_count(), 2);
        let total: f64 = net.edges().iter().map(|e| e.length_m).sum();
        assert!((total - 4.0 * haversine_m((0.0, 0.0), (0.001, 0.0))).abs() < 1.0);
    }

    #[test]
    fn rivers_and_motorways_do_not_become_edges_and_components_are_ranked() {
        let ways = vec![
            line(
                "r",
                &[(0.0, 0.0), (0.01, 0.0)],
                &[("waterway", "river")],
                None,
            ),
            line(
                "m",
                &[(0.0, 0.0), (0.0, 0.01)],
                &[("highway", "motorway")],
                None,
            ),
            line(
                "a",
                &[(0.0, 0.0), (0.0, 0.001)],
                &[("highway", "footway")],
                None,
            ),
            line(
                "b",
                &[(1.0, 0.0), (1.0, 0.001), (1.0, 0.002)],
                &[("highway", "footway")],
                None,
            ),
            line(
                "c",
                &[(1.0, 0.002), (1.0, 0.003)],
                &[("highway", "footway")],
                None,
            ),
        ];
        let net = WalkingNetwork::build(&ways);
        assert_eq!(net.report().ways_walkable, 3);
        assert_eq!(net.report().component_sizes, vec![3, 2]);
        let biggest = (0..net.node_count() as u32)
            .filter(|n| net.component(*n) == 0)
            .count();
        assert_eq!(biggest, 3);
    }

    #[test]
    fn an_empty_network_builds_and_reports_nothing() {
        let net = WalkingNetwork::build(&[]);
        assert!(net.is_empty());
        assert_eq!(net.report().component_sizes, Vec::<usize>::new());
    }
}
