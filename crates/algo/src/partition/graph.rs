//! The adjacency graph of units: Delaunay triangulation of unit centroids (spade), stored as
//! compressed sparse rows, with each edge's length in metres and whether it crosses a barrier.
use super::barriers::BarrierIndex;
use spade::{DelaunayTriangulation, Point2, Triangulation};
use std::collections::HashMap;

/// One undirected edge.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Edge {
    pub u: u32,
    pub v: u32,
    pub len_m: f64,
    pub barrier: bool,
}

/// Undirected graph in CSR form; `adj[off[u]..off[u+1]]` are `(neighbour, edge index)`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Graph {
    pub off: Vec<usize>,
    pub adj: Vec<(u32, u32)>,
    pub edges: Vec<Edge>,
}

impl Graph {
    pub(crate) fn len(&self) -> usize {
        self.off.len().saturating_sub(1)
    }

    pub(crate) fn neighbours(&self, u: usize) -> &[(u32, u32)] {
        &self.adj[self.off[u]..self.off[u + 1]]
    }

    /// Graph from an edge list over `n` nodes (duplicates and self-loops dropped).
    pub(crate) fn from_edges(n: usize, mut edges: Vec<Edge>) -> Self {
        for e in &mut edges {
            if e.u > e.v {
                std::mem::swap(&mut e.u, &mut e.v);
            }
        }
        edges.retain(|e| e.u != e.v);
        edges.sort_unstable_by_key(|e| (e.u, e.v));
        edges.dedup_by_key(|e| (e.u, e.v));
        let mut deg = vec![0usize; n + 1];
        for e in &edges {
            deg[e.u as usize] += 1;
            deg[e.v as usize] += 1;
        }
        let mut off = vec![0usize; n + 1];
        for i in 0..n {
            off[i + 1] = off[i] + deg[i];
        }
        let mut fill = off.clone();
        let mut adj = vec![(0u32, 0u32); off[n]];
        for (k, e) in edges.iter().enumerate() {
            adj[fill[e.u as usize]] = (e.v, k as u32);
            fill[e.u as usize] += 1;
            adj[fill[e.v as usize]] = (e.u, k as u32);
            fill[e.v as usize] += 1;
        }
        Self { off, adj, edges }
    }

    /// Delaunay graph of points (metres). Coincident points are chained to the first of them,
    /// so the graph is connected whenever there is at least one point.
    pub(crate) fn delaunay(pts: &[(f64, f64)], barriers: &BarrierIndex) -> Self {
        let n = pts.len();
        let mut edges = Vec::with_capacity(3 * n);
        let link = |u: usize, v: usize, edges: &mut Vec<Edge>| {
            let (a, b) = (pts[u], pts[v]);
            let len_m = ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
            edges.push(Edge {
                u: u as u32,
                v: v as u32,
                len_m,
                barrier: barriers.crosses(a, b),
            });
        };
        // Distinct positions in first-occurrence order; duplicates hang off their first copy.
        let mut first: HashMap<(u64, u64), u32> = HashMap::with_capacity(n);
        let mut reps: Vec<u32> = Vec::with_capacity(n);
        for (i, &(x, y)) in pts.iter().enumerate() {
            // `+ 0.0` folds −0.0 into 0.0, which spade also treats as equal.
            match first.entry(((x + 0.0).to_bits(), (y + 0.0).to_bits())) {
                std::collections::hash_map::Entry::Occupied(o) => {
                    link(*o.get() as usize, i, &mut edges);
                }
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(i as u32);
                    reps.push(i as u32);
                }
            }
        }
        let verts: Vec<Point2<f64>> = reps
            .iter()
            .map(|&i| Point2::new(pts[i as usize].0, pts[i as usize].1))
            .collect();
        match DelaunayTriangulation::<Point2<f64>>::bulk_load_stable(verts) {
            Ok(tri) if tri.num_vertices() == reps.len() => {
                for e in tri.undirected_edges() {
                    let [a, b] = e.vertices();
                    link(
                        reps[a.fix().index()] as usize,
                        reps[b.fix().index()] as usize,
                        &mut edges,
                    );
                }
            }
            // Spade refuses only non-finite or astronomically large coordinates, which `Prepared`
            // already filters: fall back to a chain so the units stay connected.
            _ => {
                for w in reps.windows(2) {
                    link(w[0] as usize, w[1] as usize, &mut edges);
                }
            }
        }
        Self::from_edges(n, edges)
    }

    /// Connected components of the nodes with `keep[u]`, using only edges accepted by `edge_ok`.
    /// Returns the number of components.
    pub(crate) fn count_components(
        &self,
        nodes: &[u32],
        in_set: &dyn Fn(usize) -> bool,
        edge_ok: &dyn Fn(&Edge) -> bool,
        seen: &mut [bool],
    ) -> usize {
        let mut comps = 0;
        let mut stack = Vec::new();
        for &s in nodes {
            if seen[s as usize] {
                continue;
            }
            comps += 1;
            seen[s as usize] = true;
            stack.push(s as usize);
            while let Some(u) = stack.pop() {
                for &(v, e) in self.neighbours(u) {
                    let v = v as usize;
                    if !seen[v] && in_set(v) && edge_ok(&self.edges[e as usize]) {
                        seen[v] = true;
                        stack.push(v);
                    }
                }
            }
        }
        for &s in nodes {
            seen[s as usize] = false;
        }
        comps
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::LocalProjection;

    fn no_barriers() -> BarrierIndex {
        BarrierIndex::new(
            &[],
            &super::super::BarrierRules::default(),
            &LocalProjection::new(0.0, 0.0),
        )
    }

    #[test]
    fn delaunay_of_a_square_lattice_is_connected_and_planar_sized() {
        let pts: Vec<_> = (0..100)
            .map(|i| (f64::from(i % 10) * 10.0, f64::from(i / 10) * 10.0))
            .collect();
        let g = Graph::delaunay(&pts, &no_barriers());
        assert_eq!(g.len(), 100);
        assert!(
            g.edges.len() >= 180 && g.edges.len() <= 3 * 100 - 6,
            "{}",
            g.edges.len()
        );
        let all: Vec<u32> = (0..100).collect();
        let mut seen = vec![false; 100];
        assert_eq!(g.count_components(&all, &|_| true, &|_| true, &mut seen), 1);
    }

    #[test]
    fn coincident_and_collinear_points_stay_connected() {
        let pts = vec![
            (0.0, 0.0),
            (0.0, 0.0),
            (10.0, 0.0),
            (20.0, 0.0),
            (20.0, 0.0),
        ];
        let g = Graph::delaunay(&pts, &no_barriers());
        let all: Vec<u32> = (0..5).collect();
        let mut seen = vec![false; 5];
        assert_eq!(g.count_components(&all, &|_| true, &|_| true, &mut seen), 1);
        let one = Graph::delaunay(&[(1.0, 1.0)], &no_barriers());
        assert_eq!((one.len(), one.edges.len()), (1, 0));
    }
}
