//! Coordinate reference systems gridmap reads and writes.
//!
//! * **EPSG:4326 / CRS84 (WGS84)** — the storage system.
//! * **EPSG:4490 (CGCS2000)** — differs from WGS84 by centimetres; accepted and emitted as the
//!   same coordinates under its own identifier (documented in README "Coordinates").
//! * **GCJ-02** (AMap, Tencent) and **BD-09** (Baidu) — the obfuscated systems of Chinese web
//!   maps. The forward GCJ-02 transform is the published closed formula; its inverse has no
//!   closed form and is solved by fixed-point iteration to < 1 mm. Outside mainland China
//!   GCJ-02 is the identity (the published bounding-box rule).
//!
//! ```
//! use gridmap_model::crs::Crs;
//! let (lon, lat) = (116.377817, 39.911954); // WGS84, Beijing
//! let (glon, glat) = Crs::Gcj02.from_wgs84(lon, lat);
//! let (blon, blat) = Crs::Gcj02.to_wgs84(glon, glat);
//! assert!((blon - lon).abs() < 1e-8 && (blat - lat).abs() < 1e-8);
//! ```
use geo::MapCoords;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;
use std::str::FromStr;

/// A supported coordinate reference system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Crs {
    /// WGS84 lon/lat (EPSG:4326 in lon/lat order, i.e. OGC CRS84).
    #[default]
    Wgs84,
    /// CGCS2000 (EPSG:4490), metre-level identical to WGS84.
    Cgcs2000,
    /// GCJ-02 ("Mars coordinates", AMap/Tencent).
    Gcj02,
    /// BD-09 (Baidu).
    Bd09,
}

/// An unknown CRS name.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown CRS '{0}' (supported: EPSG:4326/WGS84/CRS84, EPSG:4490/CGCS2000, GCJ02, BD09)")]
pub struct UnknownCrs(pub String);

impl FromStr for Crs {
    type Err = UnknownCrs;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        let t = t
            .trim_start_matches("http://www.opengis.net/def/crs/")
            .trim_start_matches("https://www.opengis.net/def/crs/");
        Ok(match t {
            "wgs84"
            | "wgs-84"
            | "epsg:4326"
            | "4326"
            | "crs84"
            | "ogc:crs84"
            | "ogc/1.3/crs84"
            | "epsg/0/4326"
            | "urn:ogc:def:crs:ogc:1.3:crs84"
            | "urn:ogc:def:crs:epsg::4326" => Crs::Wgs84,
            "cgcs2000" | "epsg:4490" | "4490" | "epsg/0/4490" | "urn:ogc:def:crs:epsg::4490" => {
                Crs::Cgcs2000
            }
            "gcj02" | "gcj-02" | "gcj" | "mars" => Crs::Gcj02,
            "bd09" | "bd-09" | "baidu" | "bd09ll" => Crs::Bd09,
            _ => return Err(UnknownCrs(s.to_owned())),
        })
    }
}

impl Crs {
    pub fn name(self) -> &'static str {
        match self {
            Crs::Wgs84 => "EPSG:4326",
            Crs::Cgcs2000 => "EPSG:4490",
            Crs::Gcj02 => "GCJ02",
            Crs::Bd09 => "BD09",
        }
    }

    /// Converts one lon/lat pair in this CRS to WGS84.
    pub fn to_wgs84(self, lon: f64, lat: f64) -> (f64, f64) {
        match self {
            Crs::Wgs84 | Crs::Cgcs2000 => (lon, lat),
            Crs::Gcj02 => gcj02_to_wgs84(lon, lat),
            Crs::Bd09 => {
                let (x, y) = bd09_to_gcj02(lon, lat);
                gcj02_to_wgs84(x, y)
            }
        }
    }

    /// Converts one WGS84 lon/lat pair into this CRS.
    pub fn from_wgs84(self, lon: f64, lat: f64) -> (f64, f64) {
        match self {
            Crs::Wgs84 | Crs::Cgcs2000 => (lon, lat),
            Crs::Gcj02 => wgs84_to_gcj02(lon, lat),
            Crs::Bd09 => {
                let (x, y) = wgs84_to_gcj02(lon, lat);
                gcj02_to_bd09(x, y)
            }
        }
    }

    /// Whether converting changes coordinates at all.
    pub fn is_wgs84_equivalent(self) -> bool {
        matches!(self, Crs::Wgs84 | Crs::Cgcs2000)
    }

    /// Converts any geometry in this CRS to WGS84.
    pub fn geometry_to_wgs84<G: MapCoords<f64, f64, Output = G>>(self, g: &G) -> G {
        g.map_coords(|c| {
            let (x, y) = self.to_wgs84(c.x, c.y);
            geo_types::coord! { x: x, y: y }
        })
    }

    /// Converts any WGS84 geometry into this CRS.
    pub fn geometry_from_wgs84<G: MapCoords<f64, f64, Output = G>>(self, g: &G) -> G {
        g.map_coords(|c| {
            let (x, y) = self.from_wgs84(c.x, c.y);
            geo_types::coord! { x: x, y: y }
        })
    }
}

const KRASOVSKY_A: f64 = 6_378_245.0;
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943;
const X_PI: f64 = PI * 3000.0 / 180.0;

/// The published mainland-China box outside which GCJ-02 is the identity.
pub fn out_of_china(lon: f64, lat: f64) -> bool {
    !(72.004..=137.8347).contains(&lon) || !(0.8293..=55.8271).contains(&lat)
}

fn transform_lat(x: f64, y: f64) -> f64 {
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn transform_lon(x: f64, y: f64) -> f64 {
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// WGS84 → GCJ-02 (closed formula).
pub fn wgs84_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    if out_of_china(lon, lat) {
        return (lon, lat);
    }
    let mut dlat = transform_lat(lon - 105.0, lat - 35.0);
    let mut dlon = transform_lon(lon - 105.0, lat - 35.0);
    let radlat = lat / 180.0 * PI;
    let magic = 1.0 - KRASOVSKY_EE * radlat.sin() * radlat.sin();
    let sqrtmagic = magic.sqrt();
    dlat = (dlat * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrtmagic) * PI);
    dlon = (dlon * 180.0) / (KRASOVSKY_A / sqrtmagic * radlat.cos() * PI);
    (lon + dlon, lat + dlat)
}

/// GCJ-02 → WGS84 by fixed-point iteration of the forward formula (error < 1e-9°, ~0.1 mm).
pub fn gcj02_to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    if out_of_china(lon, lat) {
        return (lon, lat);
    }
    let (mut x, mut y) = (lon, lat);
    for _ in 0..30 {
        let (gx, gy) = wgs84_to_gcj02(x, y);
        let (dx, dy) = (gx - lon, gy - lat);
        x -= dx;
        y -= dy;
        if dx.abs() < 1e-12 && dy.abs() < 1e-12 {
            break;
        }
    }
    (x, y)
}

/// GCJ-02 → BD-09 (closed formula).
pub fn gcj02_to_bd09(lon: f64, lat: f64) -> (f64, f64) {
    let z = (lon * lon + lat * lat).sqrt() + 0.00002 * (lat * X_PI).sin();
    let theta = lat.atan2(lon) + 0.000003 * (lon * X_PI).cos();
    (z * theta.cos() + 0.0065, z * theta.sin() + 0.006)
}

/// BD-09 → GCJ-02: the published approximate inverse, refined by fixed-point iteration.
pub fn bd09_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    let x = lon - 0.0065;
    let y = lat - 0.006;
    let z = (x * x + y * y).sqrt() - 0.00002 * (y * X_PI).sin();
    let theta = y.atan2(x) - 0.000003 * (x * X_PI).cos();
    let (mut gx, mut gy) = (z * theta.cos(), z * theta.sin());
    for _ in 0..10 {
        let (bx, by) = gcj02_to_bd09(gx, gy);
        let (dx, dy) = (bx - lon, by - lat);
        gx -= dx;
        gy -= dy;
        if dx.abs() < 1e-12 && dy.abs() < 1e-12 {
            break;
        }
    }
    (gx, gy)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Metres between two lon/lat points (haversine), for error bounds.
    fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
        let r = 6_371_008.8;
        let (la1, la2) = (a.1.to_radians(), b.1.to_radians());
        let dla = la2 - la1;
        let dlo = (b.0 - a.0).to_radians();
        let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
        2.0 * r * h.sqrt().asin()
    }

    // Reference points published with googollee/eviltransform (wgsLat, wgsLng, gcjLat, gcjLng).
    const GCJ_REFERENCE: [(f64, f64, f64, f64); 3] = [
        (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215), // Shanghai
        (22.543847, 113.912316, 22.540796131694766, 113.9171764808363), // Shenzhen
        (39.911954, 116.377817, 39.91334545536069, 116.38404722455657), // Beijing
    ];
    // GCJ-02 → BD-09 reference published with wandergis/coordtransform (and its ports):
    // gcj02 (116.404, 39.915) → bd09 (116.41036949371029, 39.92133699351021).
    const BD_REFERENCE: (f64, f64, f64, f64) =
        (116.404, 39.915, 116.41036949371029, 39.92133699351021);

    #[test]
    fn gcj02_forward_matches_published_points() {
        for (wlat, wlon, glat, glon) in GCJ_REFERENCE {
            let got = Crs::Gcj02.from_wgs84(wlon, wlat);
            assert!(metres(got, (glon, glat)) < 0.01, "{got:?} vs {glon},{glat}");
        }
    }

    #[test]
    fn gcj02_inverse_is_within_half_a_metre_of_published_wgs84() {
        for (wlat, wlon, glat, glon) in GCJ_REFERENCE {
            let got = Crs::Gcj02.to_wgs84(glon, glat);
            assert!(metres(got, (wlon, wlat)) < 0.5, "{got:?}");
            assert!(
                metres(got, (wlon, wlat)) < 0.001,
                "iteration should reach mm: {got:?}"
            );
        }
    }

    #[test]
    fn bd09_forward_matches_the_published_point_and_inverts_exactly() {
        let (glon, glat, blon, blat) = BD_REFERENCE;
        let got = gcj02_to_bd09(glon, glat);
        assert!(metres(got, (blon, blat)) < 0.01, "{got:?}");
        let back = bd09_to_gcj02(blon, blat);
        assert!(metres(back, (glon, glat)) < 0.001, "{back:?}");
    }

    #[test]
    fn bd09_inverse_beats_the_published_approximation() {
        // googollee/eviltransform publishes bd (120.019809, 29.199786) → wgs (120.00877901149691,
        // 29.196131605295484) from its one-step approximate inverse; forwarding that point lands
        // ~10 m from the input. Ours forwards back onto the input exactly.
        let (blon, blat) = (120.019809, 29.199786);
        let ours = Crs::Bd09.to_wgs84(blon, blat);
        assert!(metres(Crs::Bd09.from_wgs84(ours.0, ours.1), (blon, blat)) < 0.001);
        let theirs = (120.00877901149691, 29.196131605295484);
        assert!(metres(Crs::Bd09.from_wgs84(theirs.0, theirs.1), (blon, blat)) > 1.0);
        assert!(metres(ours, theirs) < 15.0);
    }

    #[test]
    fn round_trips_across_china_stay_below_a_millimetre() {
        let mut lon = 73.0;
        while lon < 135.0 {
            let mut lat = 18.0;
            while lat < 53.0 {
                for crs in [Crs::Gcj02, Crs::Bd09] {
                    let (x, y) = crs.from_wgs84(lon, lat);
                    let shift = metres((x, y), (lon, lat));
                    assert!(shift < 1500.0, "{crs:?} shifted {shift} m at {lon},{lat}");
                    let back = crs.to_wgs84(x, y);
                    assert!(
                        metres(back, (lon, lat)) < 0.001,
                        "{crs:?} at {lon},{lat}: {back:?}"
                    );
                }
                lat += 1.7;
            }
            lon += 2.3;
        }
    }

    #[test]
    fn gcj02_is_identity_outside_china() {
        assert_eq!(Crs::Gcj02.from_wgs84(7.42, 43.73), (7.42, 43.73)); // Monaco
        assert_eq!(Crs::Gcj02.to_wgs84(7.42, 43.73), (7.42, 43.73));
    }

    #[test]
    fn crs_names_parse() {
        assert_eq!("EPSG:4490".parse::<Crs>().unwrap(), Crs::Cgcs2000);
        assert_eq!(
            "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
                .parse::<Crs>()
                .unwrap(),
            Crs::Wgs84
        );
        assert_eq!(
            "http://www.opengis.net/def/crs/EPSG/0/4490"
                .parse::<Crs>()
                .unwrap(),
            Crs::Cgcs2000
        );
        assert_eq!("gcj02".parse::<Crs>().unwrap(), Crs::Gcj02);
        assert!("EPSG:3857"
            .parse::<Crs>()
            .unwrap_err()
            .to_string()
            .contains("EPSG:3857"));
    }
}
