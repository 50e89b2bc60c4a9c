//! Clipping in tile space against the square [lo, hi]²: Sutherland–Hodgman for polygon rings,
//! Liang–Barsky for lines (a line leaving and re-entering the square becomes several parts).
use geo_types::{Coord, LineString};

/// Clips a closed ring; the result is closed (or empty).
pub fn clip_ring(ring: &LineString<f64>, lo: f64, hi: f64) -> LineString<f64> {
    let inside_all = ring
        .0
        .iter()
        .all(|c| c.x >= lo && c.x <= hi && c.y >= lo && c.y <= hi);
    if inside_all {
        return ring.clone();
    }
    let mut pts: Vec<Coord<f64>> = ring.0.clone();
    if pts.first() == pts.last() {
        pts.pop();
    }
    // (axis, bound, keep-if-greater)
    for (axis_x, bound, keep_ge) in [
        (true, lo, true),
        (true, hi, false),
        (false, lo, true),
        (false, hi, false),
    ] {
        if pts.is_empty() {
            break;
        }
        let val = |c: &Coord<f64>| if axis_x { c.x } else { c.y };
        let inside = |c: &Coord<f64>| {
            if keep_ge {
                val(c) >= bound
            } else {
                val(c) <= bound
            }
        };
        let mut out = Vec::with_capacity(pts.len() + 4);
        for i in 0..pts.len() {
            let cur = pts[i];
            let prev = pts[(i + pts.len() - 1) % pts.len()];
            let (ci, pi) = (inside(&cur), inside(&prev));
            if ci != pi {
                let t = (bound - val(&prev)) / (val(&cur) - val(&prev));
                out.push(Coord {
                    x: prev.x + t * (cur.x - prev.x),
                    y: prev.y + t * (cur.y - prev.y),
                });
            }
            if ci {
                out.push(cur);
            }
        }
        pts = out;
    }
    if let Some(&f) = pts.first() {
        pts.push(f);
    }
    LineString(pts)
}

/// Clips a line; returns the parts inside the square.
pub fn clip_line(line: &LineString<f64>, lo: f64, hi: f64) -> Vec<LineString<f64>> {
    let mut parts = Vec::new();
    let mut cur: Vec<Coord<f64>> = Vec::new();
    for w in line.0.windows(2) {
        if let Some((a, b)) = clip_segment(w[0], w[1], lo, hi) {
            if cur.last() != Some(&a) {
                if cur.len() >= 2 {
                    parts.push(LineString(std::mem::take(&mut cur)));
                }
                cur.clear();
                cur.push(a);
            }
            cur.push(b);
        } else {
            if cur.len() >= 2 {
                parts.push(LineString(std::mem::take(&mut cur)));
            }
            cur.clear();
        }
    }
    if cur.len() >= 2 {
        parts.push(LineString(cur));
    }
    parts
}

fn clip_segment(
    a: Coord<f64>,
    b: Coord<f64>,
    lo: f64,
    hi: f64,
) -> Option<(Coord<f64>, Coord<f64>)> {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-dx, a.x - lo),
        (dx, hi - a.x),
        (-dy, a.y - lo),
        (dy, hi - a.y),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
        }
    }
    (t0 <= t1).then_some({
        (
            Coord {
                x: a.x + t0 * dx,
                y: a.y + t0 * dy,
            },
            Coord {
                x: a.x + t1 * dx,
                y: a.y + t1 * dy,
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ring_crossing_the_edge_is_cut_at_the_edge() {
        let r = LineString::from(vec![
            (-10.0, 0.0),
            (10.0, 0.0),
            (10.0, 10.0),
            (-10.0, 10.0),
            (-10.0, 0.0),
        ]);
        let c = clip_ring(&r, 0.0, 100.0);
        assert!(c.0.iter().all(|p| p.x >= 0.0));
        assert_eq!(c.0.first(), c.0.last());
        assert!(c.0.len() >= 5);
    }

    #[test]
    fn a_line_leaving_and_reentering_becomes_two_parts() {
        let l = LineString::from(vec![
            (10.0, 10.0),
            (10.0, 200.0),
            (20.0, 200.0),
            (20.0, 10.0),
        ]);
        let parts = clip_line(&l, 0.0, 100.0);
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().flat_map(|p| p.0.iter()).all(|c| c.y <= 100.0));
    }
}
