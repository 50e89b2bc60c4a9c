//! Turning raw rings into valid footprints: drop repeated points, close open rings, give rings
//! the RFC 7946 orientation (exterior counter-clockwise, holes clockwise), and repair
//! self-intersections ("bow-ties", spikes) with geo's `MakeValid` (constrained-triangulation
//! repair, even-odd rule). Orientation alone is not counted as a repair: OSM has no ring
//! orientation convention.
use geo::algorithm::orient::Direction;
use geo::{Area, Contains, MakeValid, Orient, Validation};
use geo_types::{Coord, LineString, MultiPolygon, Point, Polygon};

/// Why a ring or polygon was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unrepairable(pub String);

/// A ring after cleaning, and whether cleaning changed anything beyond orientation.
#[derive(Clone, Debug, PartialEq)]
pub struct CleanRing {
    pub ring: LineString<f64>,
    pub repaired: bool,
}

/// Removes consecutive repeated points and closes the ring. Fails when fewer than three
/// distinct points remain, a coordinate is not finite, or the ring encloses no area.
pub fn clean_ring(coords: &[Coord<f64>]) -> Result<CleanRing, Unrepairable> {
    if let Some(c) = coords.iter().find(|c| !c.x.is_finite() || !c.y.is_finite()) {
        return Err(Unrepairable(format!(
            "non-finite coordinate ({}, {})",
            c.x, c.y
        )));
    }
    let mut out: Vec<Coord<f64>> = Vec::with_capacity(coords.len() + 1);
    let mut repaired = false;
    for c in coords {
        if out.last() == Some(c) {
            repaired = true;
        } else {
            out.push(*c);
        }
    }
    if out.len() >= 2 && out.first() != out.last() {
        out.push(out[0]);
        repaired = true;
    }
    let distinct = out.len().saturating_sub(1);
    if distinct < 3 {
        return Err(Unrepairable(format!(
            "degenerate ring: {distinct} distinct point(s), need 3"
        )));
    }
    if all_collinear(&out) {
        return Err(Unrepairable(
            "degenerate ring: all points on one line (zero area)".to_owned(),
        ));
    }
    let ring = LineString::new(out);
    Ok(CleanRing { ring, repaired })
}

/// True when every point lies on the line through the first two distinct points. (A ring's
/// signed area is no test: a symmetric bow-tie has zero signed area but two real halves.)
fn all_collinear(pts: &[Coord<f64>]) -> bool {
    let a = pts[0];
    let Some(b) = pts.iter().copied().find(|p| *p != a) else {
        return true;
    };
    pts.iter()
        .all(|p| (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x) == 0.0)
}

/// `MakeValid` on coordinates shifted to the origin and scaled to about one unit: on a small
/// shape far from (0, 0) (a building in lon/lat) the triangulation returns wrong pieces.
fn make_valid_near_origin(mp: &MultiPolygon<f64>) -> Result<MultiPolygon<f64>, String> {
    use geo::{BoundingRect, MapCoords};
    let Some(r) = mp.bounding_rect() else {
        return Ok(mp.clone());
    };
    let o = r.min();
    // Scale by a power of two (exact) so the shape spans about 1 unit.
    let extent = r.width().max(r.height());
    let k = if extent > 0.0 && extent.is_finite() {
        (-extent.log2()).round().clamp(-60.0, 60.0) as i32
    } else {
        0
    };
    let (up, down) = (2f64.powi(k), 2f64.powi(-k));
    let local = mp.map_coords(|c| Coord {
        x: (c.x - o.x) * up,
        y: (c.y - o.y) * up,
    });
    // The triangulation library asserts on some near-degenerate input; one bad footprint must
    // not take the whole import down, so a panic there becomes an unrepairable geometry.
    let fixed = std::panic::catch_unwind(|| local.make_valid())
        .map_err(|_| "the triangulation gave up on this shape".to_owned())?
        .map_err(|e| e.to_string())?;
    Ok(fixed.map_coords(|c| Coord {
        x: c.x * down + o.x,
        y: c.y * down + o.y,
    }))
}

/// A valid footprint and whether it needed repair.
#[derive(Clone, Debug, PartialEq)]
pub struct Footprint {
    pub geometry: MultiPolygon<f64>,
    pub repaired: bool,
}

/// Builds a valid multipolygon from outer and inner rings: each inner ring goes to the
/// smallest outer ring containing it (dropped, and counted as a repair, when none does).
pub fn polygons_from_rings(
    outers: Vec<CleanRing>,
    inners: Vec<CleanRing>,
) -> Result<Footprint, Unrepairable> {
    if outers.is_empty() {
        return Err(Unrepairable("no closed outer ring".to_owned()));
    }
    let mut repaired = outers.iter().chain(&inners).any(|r| r.repaired);
    let shells: Vec<Polygon<f64>> = outers
        .into_iter()
        .map(|r| Polygon::new(r.ring, vec![]))
        .collect();
    let areas: Vec<f64> = shells.iter().map(Area::unsigned_area).collect();
    let mut holes: Vec<Vec<LineString<f64>>> = vec![Vec::new(); shells.len()];
    for inner in inners {
        let probe = inner.ring.0.first().copied().map(Point::from);
        let owner = probe.and_then(|p| {
            shells
                .iter()
                .enumerate()
                .filter(|(_, s)| s.contains(&p) || s.exterior().contains(&p))
                .min_by(|a, b| areas[a.0].total_cmp(&areas[b.0]))
                .map(|(i, _)| i)
        });
        match owner {
            Some(i) => holes[i].push(inner.ring),
            None => repaired = true,
        }
    }
    let polys: Vec<Polygon<f64>> = shells
        .into_iter()
        .zip(holes)
        .map(|(s, h)| Polygon::new(s.into_inner().0, h))
        .collect();
    let fixed = make_valid(MultiPolygon::new(polys))?;
    Ok(Footprint {
        geometry: fixed.geometry,
        repaired: repaired || fixed.repaired,
    })
}

/// Orients and validates a multipolygon; repairs it with `MakeValid` when invalid.
pub fn make_valid(mp: MultiPolygon<f64>) -> Result<Footprint, Unrepairable> {
    if mp
        .0
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .any(|r| r.0.iter().any(|c| !c.x.is_finite() || !c.y.is_finite()))
    {
        return Err(Unrepairable("non-finite coordinate".to_owned()));
    }
    let oriented = mp.orient(Direction::Default);
    if oriented.is_valid() {
        return Ok(Footprint {
            geometry: oriented,
            repaired: false,
        });
    }
    let fixed = make_valid_near_origin(&oriented)
        .map_err(|e| Unrepairable(format!("self-intersecting and repair failed: {e}")))?;
    let fixed = fixed.orient(Direction::Default);
    if fixed.0.is_empty() || fixed.unsigned_area() == 0.0 {
        return Err(Unrepairable(
            "self-intersecting with no area left after repair".to_owned(),
        ));
    }
    if !fixed.is_valid() {
        return Err(Unrepairable(
            "self-intersecting and still invalid after repair".to_owned(),
        ));
    }
    Ok(Footprint {
        geometry: fixed,
        repaired: true,
    })
}

/// Cleans and validates one polygon given as rings (first = exterior), as GeoJSON gives it.
pub fn footprint_from_polygon_rings(rings: &[Vec<Coord<f64>>]) -> Result<Footprint, Unrepairable> {
    let mut it = rings.iter();
    let Some(first) = it.next() else {
        return Err(Unrepairable("polygon without rings".to_owned()));
    };
    let outer = clean_ring(first)?;
    let mut inners = Vec::new();
    let mut repaired = false;
    for r in it {
        match clean_ring(r) {
            Ok(c) => inners.push(c),
            // A degenerate hole removes nothing: drop it.
            Err(_) => repaired = true,
        }
    }
    let mut fp = polygons_from_rings(vec![outer], inners)?;
    fp.repaired |= repaired;
    Ok(fp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Winding;
    use geo_types::coord;

    fn ring(pts: &[(f64, f64)]) -> Vec<Coord<f64>> {
        pts.iter().map(|&(x, y)| coord! { x: x, y: y }).collect()
    }

    #[test]
    fn ring_repairs_table() {
        // (name, input, expected: Ok(repaired) or Err)
        let square = [(0., 0.), (1., 0.), (1., 1.), (0., 1.), (0., 0.)];
        type Case = (&'static str, Vec<(f64, f64)>, Result<bool, ()>);
        let cases: Vec<Case> = vec![
            ("a closed square needs nothing", square.to_vec(), Ok(false)),
            ("an open ring is closed", square[..4].to_vec(), Ok(true)),
            (
                "repeated points are dropped",
                vec![(0., 0.), (1., 0.), (1., 0.), (1., 1.), (0., 1.), (0., 0.)],
                Ok(true),
            ),
            (
                "two points are degenerate",
                vec![(0., 0.), (1., 0.), (0., 0.)],
                Err(()),
            ),
            (
                "collinear points have no area",
                vec![(0., 0.), (1., 0.), (2., 0.), (0., 0.)],
                Err(()),
            ),
            (
                "a symmetric bow-tie is not degenerate",
                vec![(0., 0.), (1., 1.), (1., 0.), (0., 1.), (0., 0.)],
                Ok(false),
            ),
            (
                "NaN is rejected",
                vec![(0., 0.), (f64::NAN, 0.), (1., 1.), (0., 0.)],
                Err(()),
            ),
        ];
        for (name, pts, want) in cases {
            let got = clean_ring(&ring(&pts)).map(|c| c.repaired).map_err(|_| ());
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn a_bow_tie_becomes_two_triangles_and_counts_as_repaired() {
        let bow = ring(&[(0., 0.), (0., 10.), (10., 0.), (10., 10.), (0., 0.)]);
        let fp = footprint_from_polygon_rings(&[bow]).unwrap();
        assert!(fp.repaired);
        assert_eq!(fp.geometry.0.len(), 2);
        assert!((fp.geometry.unsigned_area() - 50.0).abs() < 1e-9);
        assert!(fp.geometry.is_valid());
    }

    #[test]
    fn a_small_bow_tie_far_from_the_origin_keeps_both_halves() {
        let pts = [(0., 0.), (1., 1.), (1., 0.), (0., 1.), (0., 0.)];
        let r: Vec<Coord<f64>> = pts
            .iter()
            .map(|&(a, b)| coord! { x: 116.3 + a * 1e-4, y: 39.9 + b * 1e-4 })
            .collect();
        let fp = footprint_from_polygon_rings(&[r]).unwrap();
        assert!(fp.repaired);
        assert_eq!(fp.geometry.0.len(), 2);
        assert!(
            (fp.geometry.unsigned_area() - 0.5e-8).abs() < 1e-12,
            "{:?}",
            fp.geometry
        );
    }

    #[test]
    fn a_spike_is_dropped() {
        let spiky = ring(&[
            (0., 0.),
            (10., 0.),
            (15., 5.),
            (10., 0.),
            (10., 10.),
            (0., 10.),
            (0., 0.),
        ]);
        let fp = footprint_from_polygon_rings(&[spiky]).unwrap();
        assert!(fp.repaired);
        assert!((fp.geometry.unsigned_area() - 100.0).abs() < 1e-9);
    }

    #[test]
    fn clockwise_rings_are_reoriented_without_counting_a_repair() {
        let cw = ring(&[(0., 0.), (0., 1.), (1., 1.), (1., 0.), (0., 0.)]);
        let fp = footprint_from_polygon_rings(&[cw]).unwrap();
        assert!(!fp.repaired);
        assert!(fp.geometry.0[0].exterior().is_ccw());
    }

    #[test]
    fn holes_go_to_the_smallest_outer_ring_that_contains_them() {
        let big = clean_ring(&ring(&[(0., 0.), (100., 0.), (100., 100.), (0., 100.)])).unwrap();
        let small = clean_ring(&ring(&[(200., 0.), (210., 0.), (210., 10.), (200., 10.)])).unwrap();
        let hole = clean_ring(&ring(&[(202., 2.), (204., 2.), (204., 4.), (202., 4.)])).unwrap();
        let stray = clean_ring(&ring(&[(500., 2.), (504., 2.), (504., 4.), (500., 4.)])).unwrap();
        let fp = polygons_from_rings(vec![big.clone(), small.clone()], vec![hole]).unwrap();
        assert_eq!(fp.geometry.0[1].interiors().len(), 1);
        assert_eq!(fp.geometry.0[0].interiors().len(), 0);
        let fp = polygons_from_rings(vec![big, small], vec![stray]).unwrap();
        assert!(
            fp.repaired,
            "a hole outside every shell is dropped and counted"
        );
    }

    proptest::proptest! {
        #[test]
        fn any_repaired_footprint_is_valid_with_positive_area(
            pts in proptest::collection::vec((-50i32..50, -50i32..50), 3..9)
        ) {
            let r: Vec<Coord<f64>> = pts.iter().map(|&(x, y)| coord! { x: f64::from(x), y: f64::from(y) }).collect();
            if let Ok(fp) = footprint_from_polygon_rings(&[r]) {
                proptest::prop_assert!(fp.geometry.is_valid());
                proptest::prop_assert!(fp.geometry.unsigned_area() > 0.0);
            }
        }
    }
}

#[cfg(test)]
mod stress {
    use super::*;
    use geo_types::coord;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        /// Building-sized self-intersecting rings at real lon/lat never panic, and whatever
        /// comes back is valid.
        #[test]
        fn building_sized_scribbles_at_real_coordinates_never_panic(
            pts in proptest::collection::vec((0u32..1000, 0u32..1000), 3..12),
            lon in 70.0f64..140.0, lat in -50.0f64..60.0,
        ) {
            let r: Vec<Coord<f64>> = pts.iter().map(|&(x, y)| coord! { x: lon + f64::from(x) * 1e-7, y: lat + f64::from(y) * 1e-7 }).collect();
            if let Ok(fp) = footprint_from_polygon_rings(&[r]) {
                proptest::prop_assert!(fp.geometry.is_valid());
                proptest::prop_assert!(fp.geometry.unsigned_area() > 0.0);
            }
        }
    }
}
