//! A metre raster for display polygons: burn buffered segments with a value, threshold, fill
//! small holes, trace cell boundaries into rings, simplify, and return WGS84 multipolygons.
//!
//! Tracing follows cell edges with the inside on the left (outer rings counter-clockwise, holes
//! clockwise); at a saddle vertex it turns left, so diagonal cells stay separate polygons that
//! touch at one point — valid OGC geometry, no self-intersections, no spikes.
use crate::geometry::LocalProjection;
use geo::{Area, Simplify};
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use std::collections::HashMap;

/// Cells allowed in one raster; larger extents get coarser cells.
const MAX_CELLS: f64 = 6.0e6;

pub(crate) struct Raster {
    x0: f64,
    y0: f64,
    cell: f64,
    w: usize,
    h: usize,
    v: Vec<f32>,
}

impl Raster {
    /// A raster covering `[min, max]` (projected metres) plus `margin`, cells of about `cell` m.
    pub(crate) fn covering(min: [f64; 2], max: [f64; 2], margin: f64, cell: f64) -> Self {
        let (x0, y0) = (min[0] - margin - cell, min[1] - margin - cell);
        let (wm, hm) = (
            max[0] - min[0] + 2.0 * (margin + cell),
            max[1] - min[1] + 2.0 * (margin + cell),
        );
        let cell = cell.max((wm * hm / MAX_CELLS).sqrt());
        let w = (wm / cell).ceil().max(1.0) as usize;
        let h = (hm / cell).ceil().max(1.0) as usize;
        Self {
            x0,
            y0,
            cell,
            w,
            h,
            v: vec![f32::INFINITY; w * h],
        }
    }

    pub(crate) fn cell_m(&self) -> f64 {
        self.cell
    }

    /// Burns segment `a → b` buffered by `radius`: each cell whose centre is within `radius` of
    /// the segment gets `min(current, value(s1, s2))`, where `[s1, s2]` (metres from `a`) is the
    /// part of the segment within `radius` of the centre.
    pub(crate) fn burn_segment(
        &mut self,
        a: [f64; 2],
        b: [f64; 2],
        radius: f64,
        value: impl Fn(f64, f64) -> f64,
    ) {
        let r2 = radius * radius;
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let len = (dx * dx + dy * dy).sqrt();
        let (ux, uy) = if len > 0.0 {
            (dx / len, dy / len)
        } else {
            (0.0, 0.0)
        };
        let i0 = ((a[0].min(b[0]) - radius - self.x0) / self.cell)
            .floor()
            .max(0.0) as usize;
        let i1 = (((a[0].max(b[0]) + radius - self.x0) / self.cell).ceil() as usize).min(self.w);
        let j0 = ((a[1].min(b[1]) - radius - self.y0) / self.cell)
            .floor()
            .max(0.0) as usize;
        let j1 = (((a[1].max(b[1]) + radius - self.y0) / self.cell).ceil() as usize).min(self.h);
        for j in j0..j1 {
            let py = self.y0 + (j as f64 + 0.5) * self.cell - a[1];
            // the capsule's x-extent on this row: two end discs and the band between them
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for (cx, cy) in [(0.0, 0.0), (dx, dy)] {
                let q = r2 - (py - cy) * (py - cy);
                if q >= 0.0 {
                    let w = q.sqrt();
                    lo = lo.min(cx - w);
                    hi = hi.max(cx + w);
                }
            }
            if len > 0.0 {
                // 0 ≤ px·ux + py·uy ≤ len  and  −r ≤ py·ux − px·uy ≤ r
                let mut band = (f64::NEG_INFINITY, f64::INFINITY);
                let mut clip = |coef: f64, c0: f64, min: f64, max: f64| {
                    if coef.abs() < 1e-12 {
                        if c0 < min || c0 > max {
                            band = (1.0, -1.0);
                        }
                    } else {
                        let (p, q) = ((min - c0) / coef, (max - c0) / coef);
                        band = (band.0.max(p.min(q)), band.1.min(p.max(q)));
                    }
                };
                clip(ux, py * uy, 0.0, len);
                clip(-uy, py * ux, -radius, radius);
                if band.0 <= band.1 {
                    lo = lo.min(band.0);
                    hi = hi.max(band.1);
                }
            }
            if lo > hi {
                continue;
            }
            let first = ((a[0] + lo - self.x0) / self.cell - 0.5)
                .ceil()
                .max(i0 as f64) as usize;
            let last = (((a[0] + hi - self.x0) / self.cell - 0.5).floor() + 1.0)
                .clamp(0.0, i1 as f64) as usize;
            for i in first..last.max(first) {
                let px = self.x0 + (i as f64 + 0.5) * self.cell - a[0];
                let t0 = px * ux + py * uy;
                let d2 = px * px + py * py;
                let h2 = (d2 - t0 * t0).max(0.0);
                let closest2 = if t0 < 0.0 {
                    d2
                } else if t0 > len {
                    (px - dx).powi(2) + (py - dy).powi(2)
                } else {
                    h2
                };
                if closest2 > r2 {
                    continue;
                }
                let half = (r2 - h2).max(0.0).sqrt();
                let (s1, s2) = ((t0 - half).max(0.0), (t0 + half).min(len));
                let val = value(s1, s2.max(s1)) as f32;
                let c = &mut self.v[j * self.w + i];
                if val < *c {
                    *c = val;
                }
            }
        }
    }

    /// Cells with value ≤ `level`, with enclosed holes smaller than `fill_m2` filled.
    pub(crate) fn mask(&self, level: f64, fill_m2: f64) -> Vec<bool> {
        let level = level as f32;
        let mut m: Vec<bool> = self.v.iter().map(|v| *v <= level).collect();
        let max_hole = (fill_m2 / (self.cell * self.cell)).floor() as usize;
        if max_hole == 0 {
            return m;
        }
        // 1. the outside connected to the border (4-connected), without collecting it
        let (w, h) = (self.w, self.h);
        let mut outer = vec![false; w * h];
        let mut stack: Vec<usize> = Vec::new();
        for i in 0..w {
            stack.push(i);
            stack.push((h - 1) * w + i);
        }
        for j in 0..h {
            stack.push(j * w);
            stack.push(j * w + w - 1);
        }
        while let Some(c) = stack.pop() {
            if m[c] || outer[c] {
                continue;
            }
            outer[c] = true;
            let (i, j) = (c % w, c / w);
            if i > 0 && !outer[c - 1] {
                stack.push(c - 1);
            }
            if i + 1 < w && !outer[c + 1] {
                stack.push(c + 1);
            }
            if j > 0 && !outer[c - w] {
                stack.push(c - w);
            }
            if j + 1 < h && !outer[c + w] {
                stack.push(c + w);
            }
        }
        // 2. every other outside region is a hole: fill it when small
        let mut region: Vec<usize> = Vec::new();
        for start in 0..w * h {
            if m[start] || outer[start] {
                continue;
            }
            region.clear();
            outer[start] = true;
            stack.push(start);
            while let Some(c) = stack.pop() {
                region.push(c);
                let (i, j) = (c % w, c / w);
                for (ok, n) in [
                    (i > 0, c.wrapping_sub(1)),
                    (i + 1 < w, c + 1),
                    (j > 0, c.wrapping_sub(w)),
                    (j + 1 < h, c + w),
                ] {
                    if ok && !m[n] && !outer[n] {
                        outer[n] = true;
                        stack.push(n);
                    }
                }
            }
            if region.len() <= max_hole {
                for &c in &region {
                    m[c] = true;
                }
            }
        }
        m
    }

    /// Traces `mask` into polygons (projected metres), simplified by `tolerance_m`; with the
    /// total area in m².
    pub(crate) fn polygons(&self, mask: &[bool], tolerance_m: f64) -> (Vec<Polygon<f64>>, f64) {
        let rings = trace(mask, self.w, self.h);
        let to_m = |r: &[(i32, i32)]| -> LineString<f64> {
            LineString::from(
                r.iter()
                    .map(|&(i, j)| Coord {
                        x: self.x0 + f64::from(i) * self.cell,
                        y: self.y0 + f64::from(j) * self.cell,
                    })
                    .collect::<Vec<_>>(),
            )
        };
        let mut outers: Vec<(Polygon<f64>, f64)> = Vec::new();
        let mut holes: Vec<(LineString<f64>, [f64; 2])> = Vec::new();
        for (ring, area2, inside_probe) in rings {
            if area2 > 0 {
                let p = Polygon::new(to_m(&ring), vec![]);
                let a = p.unsigned_area();
                outers.push((p, a));
            } else {
                let probe = [
                    self.x0 + inside_probe.0 * self.cell,
                    self.y0 + inside_probe.1 * self.cell,
                ];
                holes.push((to_m(&ring), probe));
            }
        }
        // each hole goes to the smallest outer ring containing a point of its interior
        let mut hole_lists: Vec<Vec<LineString<f64>>> = vec![Vec::new(); outers.len()];
        for (ring, probe) in holes {
            let owner = outers
                .iter()
                .enumerate()
                .filter(|(_, (p, _))| contains(p.exterior(), probe))
                .min_by(|a, b| a.1 .1.total_cmp(&b.1 .1))
                .map(|(k, _)| k);
            if let Some(k) = owner {
                hole_lists[k].push(ring);
            }
        }
        let mut total = 0.0;
        let mut out = Vec::new();
        for ((outer, _), hs) in outers.into_iter().zip(hole_lists) {
            let poly = Polygon::new(outer.exterior().clone(), hs);
            let simple = if tolerance_m > 0.0 {
                poly.simplify(tolerance_m)
            } else {
                poly
            };
            if simple.exterior().0.len() < 4 {
                continue;
            }
            let holes: Vec<LineString<f64>> = simple
                .interiors()
                .iter()
                .filter(|r| r.0.len() >= 4)
                .cloned()
                .collect();
            let simple = Polygon::new(simple.exterior().clone(), holes);
            let a = simple.unsigned_area();
            if a <= 0.0 {
                continue;
            }
            total += a;
            out.push(simple);
        }
        (out, total)
    }
}

/// Projected polygons → WGS84 multipolygon.
pub(crate) fn unproject(polys: Vec<Polygon<f64>>, proj: &LocalProjection) -> MultiPolygon<f64> {
    let conv = |ls: &LineString<f64>| {
        LineString::from(
            ls.0.iter()
                .map(|c| {
                    let (lon, lat) = proj.unproject(c.x, c.y);
                    Coord { x: lon, y: lat }
                })
                .collect::<Vec<_>>(),
        )
    };
    MultiPolygon(
        polys
            .iter()
            .map(|p| Polygon::new(conv(p.exterior()), p.interiors().iter().map(conv).collect()))
            .collect(),
    )
}

/// Even-odd ray casting.
fn contains(ring: &LineString<f64>, p: [f64; 2]) -> bool {
    let mut inside = false;
    for w in ring.0.windows(2) {
        let (a, b) = (w[0], w[1]);
        if (a.y > p[1]) != (b.y > p[1]) {
            let x = a.x + (p[1] - a.y) * (b.x - a.x) / (b.y - a.y);
            if x > p[0] {
                inside = !inside;
            }
        }
    }
    inside
}

/// A traced ring: lattice vertices (closed), twice its signed area, a probe point right of its first edge.
type Ring = (Vec<(i32, i32)>, i64, (f64, f64));

/// Boundary rings of the `true` cells: (closed ring in lattice coordinates, twice the signed area,
/// a point just right of the first edge — inside a hole for hole rings).
fn trace(mask: &[bool], w: usize, h: usize) -> Vec<Ring> {
    let at = |i: i64, j: i64| {
        i >= 0
            && j >= 0
            && (i as usize) < w
            && (j as usize) < h
            && mask[j as usize * w + i as usize]
    };
    // directed edges: start vertex, direction (0 E, 1 N, 2 W, 3 S)
    let mut edges: Vec<((i32, i32), u8)> = Vec::new();
    for j in 0..h as i64 {
        for i in 0..w as i64 {
            if !at(i, j) {
                continue;
            }
            let (x, y) = (i as i32, j as i32);
            if !at(i, j - 1) {
                edges.push(((x, y), 0));
            }
            if !at(i + 1, j) {
                edges.push(((x + 1, y), 1));
            }
            if !at(i, j + 1) {
                edges.push(((x + 1, y + 1), 2));
            }
            if !at(i - 1, j) {
                edges.push(((x, y + 1), 3));
            }
        }
    }
    let step = |(x, y): (i32, i32), d: u8| match d {
        0 => (x + 1, y),
        1 => (x, y + 1),
        2 => (x - 1, y),
        _ => (x, y - 1),
    };
    let mut out_of: HashMap<(i32, i32), [u32; 2]> = HashMap::with_capacity(edges.len());
    for (k, (s, _)) in edges.iter().enumerate() {
        let slot = out_of.entry(*s).or_insert([u32::MAX; 2]);
        if slot[0] == u32::MAX {
            slot[0] = k as u32;
        } else {
            slot[1] = k as u32;
        }
    }
    let mut used = vec![false; edges.len()];
    let mut rings = Vec::new();
    for first in 0..edges.len() {
        if used[first] {
            continue;
        }
        let mut ring = vec![edges[first].0];
        let mut area2: i64 = 0;
        let mut k = first;
        loop {
            used[k] = true;
            let (s, d) = edges[k];
            let e = step(s, d);
            area2 += i64::from(s.0) * i64::from(e.1) - i64::from(e.0) * i64::from(s.1);
            ring.push(e);
            let cand = out_of.get(&e).copied().unwrap_or([u32::MAX; 2]);
            let left = (d + 1) % 4;
            // the left turn wins at a saddle; arriving back at a used edge closes the ring
            let next = cand
                .iter()
                .copied()
                .filter(|c| *c != u32::MAX)
                .min_by_key(|c| i32::from(edges[*c as usize].1 != left));
            match next {
                Some(c) if !used[c as usize] => k = c as usize,
                _ => break,
            }
        }
        // drop collinear vertices
        let mut simple: Vec<(i32, i32)> = Vec::with_capacity(ring.len() / 2);
        for p in ring {
            while simple.len() >= 2 {
                let (a, b) = (simple[simple.len() - 2], simple[simple.len() - 1]);
                if (b.0 - a.0) * (p.1 - b.1) == (b.1 - a.1) * (p.0 - b.0) {
                    simple.pop();
                } else {
                    break;
                }
            }
            simple.push(p);
        }
        let (s, d) = edges[first];
        let probe = match d {
            0 => (f64::from(s.0) + 0.5, f64::from(s.1) - 0.5),
            1 => (f64::from(s.0) + 0.5, f64::from(s.1) + 0.5),
            2 => (f64::from(s.0) - 0.5, f64::from(s.1) + 0.5),
            _ => (f64::from(s.0) - 0.5, f64::from(s.1) - 0.5),
        };
        if simple.len() >= 4 {
            rings.push((simple, area2, probe));
        }
    }
    rings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_square_with_a_big_hole_traces_to_one_polygon_with_one_hole() {
        let (w, h) = (7usize, 7usize);
        let mut m = vec![false; w * h];
        for j in 1..6 {
            for i in 1..6 {
                m[j * w + i] = !(2..5).contains(&i) || !(2..5).contains(&j);
            }
        }
        let r = Raster {
            x0: 0.0,
            y0: 0.0,
            cell: 1.0,
            w,
            h,
            v: vec![0.0; w * h],
        };
        let (polys, area) = r.polygons(&m, 0.0);
        assert_eq!(polys.len(), 1);
        assert_eq!(polys[0].interiors().len(), 1);
        assert!((area - 16.0).abs() < 1e-9, "{area}");
    }

    #[test]
    fn diagonal_cells_become_two_polygons_touching_at_a_point() {
        let m = vec![true, false, false, true];
        let r = Raster {
            x0: 0.0,
            y0: 0.0,
            cell: 1.0,
            w: 2,
            h: 2,
            v: vec![0.0; 4],
        };
        let (polys, area) = r.polygons(&m, 0.0);
        assert_eq!(polys.len(), 2);
        assert!((area - 2.0).abs() < 1e-9);
    }

    #[test]
    fn small_holes_are_filled_large_ones_kept() {
        let mut r = Raster::covering([0.0, 0.0], [100.0, 100.0], 0.0, 1.0);
        // a thick square ring: 100 m outside, 60 m hole
        for (a, b) in [
            ([0.0, 0.0], [100.0, 0.0]),
            ([100.0, 0.0], [100.0, 100.0]),
            ([100.0, 100.0], [0.0, 100.0]),
            ([0.0, 100.0], [0.0, 0.0]),
        ] {
            r.burn_segment(a, b, 20.0, |_, _| 1.0);
        }
        let keep = r.mask(1.0, 100.0);
        let filled = r.mask(1.0, 10_000.0);
        assert!(keep.iter().filter(|c| **c).count() < filled.iter().filter(|c| **c).count());
        let (p, _) = r.polygons(&keep, 1.0);
        assert_eq!((p.len(), p[0].interiors().len()), (1, 1));
        let (p, _) = r.polygons(&filled, 1.0);
        assert_eq!((p.len(), p[0].interiors().len()), (1, 0));
    }
}
