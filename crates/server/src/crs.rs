//! Coordinate reference systems as OGC API - Features Part 2 names them, with axis order.
use crate::error::{invalid, ApiError};
use gridmap_model::crs::Crs;

/// OGC CRS84 (WGS84, longitude first): the storage and default CRS.
pub const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
pub const EPSG_4326: &str = "http://www.opengis.net/def/crs/EPSG/0/4326";
pub const EPSG_4490: &str = "http://www.opengis.net/def/crs/EPSG/0/4490";
/// GCJ-02 (AMap/Tencent web maps) has no EPSG code; gridmap names it with this URN (lon,lat).
pub const GCJ02: &str = "urn:gridmap:crs:gcj02";
/// BD-09 (Baidu web maps), lon,lat.
pub const BD09: &str = "urn:gridmap:crs:bd09";

/// Every CRS the API can emit and accept, in the order collections advertise them.
pub const SUPPORTED: [&str; 5] = [CRS84, EPSG_4326, EPSG_4490, GCJ02, BD09];

/// A CRS named in a request: the model CRS plus the axis order of its official definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiCrs {
    pub crs: Crs,
    /// Canonical URI (what `Content-Crs` carries).
    pub uri: &'static str,
    /// EPSG:4326 and EPSG:4490 are latitude-first; CRS84 and the web-map systems are not.
    pub lat_first: bool,
}

impl ApiCrs {
    pub const DEFAULT: ApiCrs = ApiCrs {
        crs: Crs::Wgs84,
        uri: CRS84,
        lat_first: false,
    };

    /// Parses a CRS parameter value (`crs` or `bbox-crs`). Accepts the canonical URIs, their
    /// `EPSG:NNNN` / `urn:ogc:def:crs:...` forms and the short names GCJ02/BD09.
    pub fn parse(param: &str, value: &str) -> Result<Self, ApiError> {
        let v = value.trim();
        let t = v
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let t = t.trim_start_matches('<').trim_end_matches('>');
        let t = t.replace("https://", "http://");
        let pick = |uri: &'static str, crs: Crs, lat_first: bool| {
            Ok(ApiCrs {
                crs,
                uri,
                lat_first,
            })
        };
        match t.as_str() {
            "http://www.opengis.net/def/crs/ogc/1.3/crs84"
            | "crs84"
            | "ogc:crs84"
            | "urn:ogc:def:crs:ogc:1.3:crs84" => pick(CRS84, Crs::Wgs84, false),
            "http://www.opengis.net/def/crs/epsg/0/4326"
            | "epsg:4326"
            | "urn:ogc:def:crs:epsg::4326" => pick(EPSG_4326, Crs::Wgs84, true),
            "http://www.opengis.net/def/crs/epsg/0/4490"
            | "epsg:4490"
            | "urn:ogc:def:crs:epsg::4490" => pick(EPSG_4490, Crs::Cgcs2000, true),
            "urn:gridmap:crs:gcj02" | "gcj02" | "gcj-02" => pick(GCJ02, Crs::Gcj02, false),
            "urn:gridmap:crs:bd09" | "bd09" | "bd-09" => pick(BD09, Crs::Bd09, false),
            _ => Err(invalid(
                param,
                format!(
                    "unsupported CRS '{value}' (supported: {})",
                    SUPPORTED.join(", ")
                ),
            )),
        }
    }

    /// True when output needs no coordinate change at all.
    pub fn is_storage(&self) -> bool {
        self.crs.is_wgs84_equivalent() && !self.lat_first
    }

    /// Maps a stored WGS84 lon/lat pair to this CRS's axis pair, in wire order.
    pub fn from_storage(&self, lon: f64, lat: f64) -> (f64, f64) {
        let (x, y) = self.crs.from_wgs84(lon, lat);
        if self.lat_first {
            (y, x)
        } else {
            (x, y)
        }
    }

    /// Maps a wire-order pair in this CRS to WGS84 lon/lat.
    pub fn to_storage(&self, a: f64, b: f64) -> (f64, f64) {
        let (x, y) = if self.lat_first { (b, a) } else { (a, b) };
        self.crs.to_wgs84(x, y)
    }

    /// `Content-Crs` header value.
    pub fn header(&self) -> String {
        format!("<{}>", self.uri)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epsg_4490_is_latitude_first_and_crs84_is_not() {
        let c = ApiCrs::parse("crs", "EPSG:4490").unwrap();
        assert_eq!(c.uri, EPSG_4490);
        assert_eq!(c.from_storage(116.3, 39.9), (39.9, 116.3));
        assert_eq!(
            ApiCrs::parse("crs", CRS84)
                .unwrap()
                .from_storage(116.3, 39.9),
            (116.3, 39.9)
        );
    }

    #[test]
    fn gcj02_round_trips_through_storage() {
        let c = ApiCrs::parse("crs", GCJ02).unwrap();
        let (x, y) = c.from_storage(116.3, 39.9);
        assert!(
            (x - 116.3).abs() > 1e-4,
            "GCJ-02 shifts coordinates in China"
        );
        let (lon, lat) = c.to_storage(x, y);
        assert!((lon - 116.3).abs() < 1e-7 && (lat - 39.9).abs() < 1e-7);
    }

    #[test]
    fn unknown_crs_is_rejected_with_the_supported_list() {
        let e = ApiCrs::parse("crs", "http://www.opengis.net/def/crs/EPSG/0/99999").unwrap_err();
        assert!(e.to_string().contains("EPSG/0/4490"), "{e}");
    }
}
