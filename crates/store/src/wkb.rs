//! A tiny Well-Known-Binary codec for the four geometry types gridmap stores: Point,
//! LineString, Polygon (decode only, read as a one-part MultiPolygon) and MultiPolygon.
//!
//! Coordinates are copied as raw IEEE-754 doubles, so a round trip is bit-exact. Writing
//! always uses little-endian ISO WKB (what `ST_GeomFromWKB` takes); reading accepts both byte
//! orders and PostGIS EWKB headers (SRID flag), so `ST_AsBinary`/`ST_AsEWKB` output decodes.
use geo_types::{Coord, LineString, MultiPolygon, Point, Polygon};

const POINT: u32 = 1;
const LINESTRING: u32 = 2;
const POLYGON: u32 = 3;
const MULTIPOLYGON: u32 = 6;
const EWKB_SRID: u32 = 0x2000_0000;
const EWKB_Z: u32 = 0x8000_0000;
const EWKB_M: u32 = 0x4000_0000;

/// Why a blob is not the WKB we expected.
pub type WkbError = String;

fn header(out: &mut Vec<u8>, kind: u32) {
    out.push(1); // little endian
    out.extend_from_slice(&kind.to_le_bytes());
}

fn coords(out: &mut Vec<u8>, ls: &LineString<f64>) {
    out.extend_from_slice(&(ls.0.len() as u32).to_le_bytes());
    for c in &ls.0 {
        out.extend_from_slice(&c.x.to_le_bytes());
        out.extend_from_slice(&c.y.to_le_bytes());
    }
}

/// WKB of a point.
pub fn point_to_wkb(p: &Point<f64>) -> Vec<u8> {
    let mut out = Vec::with_capacity(21);
    header(&mut out, POINT);
    out.extend_from_slice(&p.x().to_le_bytes());
    out.extend_from_slice(&p.y().to_le_bytes());
    out
}

/// WKB of a line string.
pub fn linestring_to_wkb(ls: &LineString<f64>) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + 16 * ls.0.len());
    header(&mut out, LINESTRING);
    coords(&mut out, ls);
    out
}

fn polygon_body(out: &mut Vec<u8>, p: &Polygon<f64>) {
    header(out, POLYGON);
    out.extend_from_slice(&(1 + p.interiors().len() as u32).to_le_bytes());
    coords(out, p.exterior());
    for ring in p.interiors() {
        coords(out, ring);
    }
}

/// WKB of a multipolygon.
pub fn multipolygon_to_wkb(mp: &MultiPolygon<f64>) -> Vec<u8> {
    let n: usize = mp
        .0
        .iter()
        .map(|p| {
            9 + 16 * (p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>())
        })
        .sum();
    let mut out = Vec::with_capacity(9 + n);
    header(&mut out, MULTIPOLYGON);
    out.extend_from_slice(&(mp.0.len() as u32).to_le_bytes());
    for p in &mp.0 {
        polygon_body(&mut out, p);
    }
    out
}

/// Cursor over a WKB blob.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    little: bool,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader {
            buf,
            pos: 0,
            little: true,
        }
    }
    fn take<const N: usize>(&mut self) -> Result<[u8; N], WkbError> {
        let end = self.pos + N;
        let bytes = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| format!("WKB truncated at byte {} of {}", self.pos, self.buf.len()))?;
        self.pos = end;
        let mut a = [0u8; N];
        a.copy_from_slice(bytes);
        Ok(a)
    }
    fn u32(&mut self) -> Result<u32, WkbError> {
        let b = self.take::<4>()?;
        Ok(if self.little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }
    fn f64(&mut self) -> Result<f64, WkbError> {
        let b = self.take::<8>()?;
        Ok(if self.little {
            f64::from_le_bytes(b)
        } else {
            f64::from_be_bytes(b)
        })
    }
    /// Reads byte order and type; returns the 2-D base type.
    fn header(&mut self) -> Result<u32, WkbError> {
        let [order] = self.take::<1>()?;
        self.little = match order {
            0 => false,
            1 => true,
            b => return Err(format!("bad WKB byte-order marker {b}")),
        };
        let raw = self.u32()?;
        if raw & (EWKB_Z | EWKB_M) != 0 || (raw % 10_000) >= 1000 {
            return Err(format!(
                "WKB type {raw:#x} has Z or M coordinates; only 2-D is stored"
            ));
        }
        if raw & EWKB_SRID != 0 {
            let _srid = self.u32()?;
        }
        Ok(raw & 0x0fff_ffff)
    }
    fn count(&mut self, what: &str) -> Result<usize, WkbError> {
        let n = self.u32()? as usize;
        // Every element takes at least 8 bytes (or 1+4 for nested geometries); refuse counts the
        // blob cannot hold instead of allocating for them.
        if n > self.buf.len().saturating_sub(self.pos) {
            return Err(format!(
                "WKB {what} count {n} exceeds the blob size {}",
                self.buf.len()
            ));
        }
        Ok(n)
    }
    fn ring(&mut self) -> Result<LineString<f64>, WkbError> {
        let n = self.count("point")?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            let x = self.f64()?;
            let y = self.f64()?;
            v.push(Coord { x, y });
        }
        Ok(LineString(v))
    }
    fn polygon_body(&mut self) -> Result<Polygon<f64>, WkbError> {
        let rings = self.count("ring")?;
        if rings == 0 {
            return Ok(Polygon::new(LineString(vec![]), vec![]));
        }
        let exterior = self.ring()?;
        let mut interiors = Vec::with_capacity(rings - 1);
        for _ in 1..rings {
            interiors.push(self.ring()?);
        }
        Ok(Polygon::new(exterior, interiors))
    }
    fn finish<T>(self, value: T) -> Result<T, WkbError> {
        if self.pos != self.buf.len() {
            return Err(format!(
                "{} trailing bytes after the WKB geometry",
                self.buf.len() - self.pos
            ));
        }
        Ok(value)
    }
}

/// Decodes a WKB point.
pub fn point_from_wkb(buf: &[u8]) -> Result<Point<f64>, WkbError> {
    let mut r = Reader::new(buf);
    match r.header()? {
        POINT => {
            let x = r.f64()?;
            let y = r.f64()?;
            r.finish(Point::new(x, y))
        }
        t => Err(format!("expected a WKB Point, found type {t}")),
    }
}

/// Decodes a WKB line string.
pub fn linestring_from_wkb(buf: &[u8]) -> Result<LineString<f64>, WkbError> {
    let mut r = Reader::new(buf);
    match r.header()? {
        LINESTRING => {
            let ls = r.ring()?;
            r.finish(ls)
        }
        t => Err(format!("expected a WKB LineString, found type {t}")),
    }
}

/// Decodes a WKB multipolygon; a single Polygon is accepted as a one-part multipolygon.
pub fn multipolygon_from_wkb(buf: &[u8]) -> Result<MultiPolygon<f64>, WkbError> {
    let mut r = Reader::new(buf);
    match r.header()? {
        POLYGON => {
            let p = r.polygon_body()?;
            r.finish(MultiPolygon(vec![p]))
        }
        MULTIPOLYGON => {
            let n = r.count("polygon")?;
            let mut polys = Vec::with_capacity(n);
            for i in 0..n {
                if r.header()? != POLYGON {
                    return Err(format!("part {i} of a WKB MultiPolygon is not a Polygon"));
                }
                polys.push(r.polygon_body()?);
            }
            r.finish(MultiPolygon(polys))
        }
        t => Err(format!("expected a WKB MultiPolygon, found type {t}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{line_string, point, polygon};

    fn awkward() -> [f64; 6] {
        // Values that a decimal round trip would not keep.
        [
            0.1 + 0.2,
            116.30_f64.next_up(),
            -0.0,
            f64::MIN_POSITIVE,
            1e-300,
            39.99_f64.next_down(),
        ]
    }

    #[test]
    fn points_round_trip_bit_exactly() {
        for x in awkward() {
            for y in awkward() {
                let p = Point::new(x, y);
                let back = point_from_wkb(&point_to_wkb(&p)).unwrap();
                assert_eq!(back.x().to_bits(), x.to_bits());
                assert_eq!(back.y().to_bits(), y.to_bits());
            }
        }
    }

    #[test]
    fn multipolygons_with_holes_round_trip_bit_exactly() {
        let a = awkward();
        let outer = polygon!(
            exterior: [(x: a[0], y: a[1]), (x: a[1], y: a[1]), (x: a[1], y: a[5]), (x: a[0], y: a[1])],
            interiors: [[(x: a[3], y: a[4]), (x: a[4], y: a[4]), (x: a[4], y: a[3]), (x: a[3], y: a[4])]],
        );
        let second =
            polygon![(x: 1.0, y: 2.0), (x: 3.0, y: 2.0), (x: 3.0, y: 5.0), (x: 1.0, y: 2.0)];
        let mp = MultiPolygon(vec![outer, second]);
        let back = multipolygon_from_wkb(&multipolygon_to_wkb(&mp)).unwrap();
        assert_eq!(back, mp);
        let bits = |m: &MultiPolygon<f64>| -> Vec<u64> {
            m.0.iter()
                .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
                .flat_map(|r| r.0.iter().flat_map(|c| [c.x.to_bits(), c.y.to_bits()]))
                .collect()
        };
        assert_eq!(bits(&back), bits(&mp));
    }

    #[test]
    fn linestrings_round_trip() {
        let ls = line_string![(x: 7.41, y: 43.73), (x: 7.42, y: 43.74), (x: 0.1 + 0.2, y: -0.0)];
        let back = linestring_from_wkb(&linestring_to_wkb(&ls)).unwrap();
        assert_eq!(back, ls);
        assert_eq!(back.0[2].y.to_bits(), (-0.0f64).to_bits());
    }

    #[test]
    fn big_endian_and_ewkb_with_srid_decode() {
        // POINT(1 2) as big-endian EWKB with SRID 4326.
        let mut b = vec![0u8];
        b.extend_from_slice(&(POINT | EWKB_SRID).to_be_bytes());
        b.extend_from_slice(&4326u32.to_be_bytes());
        b.extend_from_slice(&1.0f64.to_be_bytes());
        b.extend_from_slice(&2.0f64.to_be_bytes());
        assert_eq!(point_from_wkb(&b).unwrap(), point!(x: 1.0, y: 2.0));
    }

    #[test]
    fn a_single_polygon_reads_as_a_one_part_multipolygon() {
        let p = polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 0.0)];
        let mut b = Vec::new();
        polygon_body(&mut b, &p);
        assert_eq!(multipolygon_from_wkb(&b).unwrap(), MultiPolygon(vec![p]));
    }

    #[test]
    fn truncated_wrong_typed_and_3d_blobs_are_rejected_with_a_reason() {
        let wkb = multipolygon_to_wkb(&MultiPolygon(vec![
            polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 0.0, y: 0.0)],
        ]));
        let e = multipolygon_from_wkb(&wkb[..wkb.len() - 3]).unwrap_err();
        assert!(e.contains("truncated"), "{e}");
        let e = point_from_wkb(&wkb).unwrap_err();
        assert!(e.contains("expected a WKB Point"), "{e}");
        let mut z = point_to_wkb(&Point::new(1.0, 2.0));
        z[1..5].copy_from_slice(&1001u32.to_le_bytes());
        assert!(point_from_wkb(&z).unwrap_err().contains("Z or M"));
        let mut extra = point_to_wkb(&Point::new(1.0, 2.0));
        extra.push(0);
        assert!(point_from_wkb(&extra).unwrap_err().contains("trailing"));
        // A count far beyond the blob must not allocate.
        let mut huge = vec![1u8];
        huge.extend_from_slice(&LINESTRING.to_le_bytes());
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(linestring_from_wkb(&huge).unwrap_err().contains("exceeds"));
    }
}
