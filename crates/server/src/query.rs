//! Query parameters of the feature endpoints, parsed strictly: unknown names, malformed
//! numbers and unsupported CRSs are 400s that name the parameter.
use crate::crs::ApiCrs;
use crate::error::{invalid, ApiError};
use crate::snapshot::{Collection, Filter};

/// Default page size of item lists.
pub const DEFAULT_LIMIT: u64 = 10;
/// Largest page the server returns; larger `limit` values are clamped to it (OGC API Part 1).
pub const MAX_LIMIT: u64 = 10_000;

/// Parsed parameters of an items request.
#[derive(Clone, Debug)]
pub struct ItemsQuery {
    pub limit: u64,
    pub offset: u64,
    /// Boxes in WGS84 lon/lat (two when the bbox crosses the antimeridian); `Some(empty)`
    /// when the bbox can contain nothing (south edge above the north edge).
    pub bbox: Option<Vec<[f64; 4]>>,
    pub crs: ApiCrs,
    pub filters: Vec<(Filter, String)>,
    /// Every parameter as given, for paging links.
    pub raw: Vec<(String, String)>,
    /// `f=fgb|gpkg|shp|csv|xlsx`: the selection as a file (`None` = GeoJSON).
    pub file: Option<gridmap_export::Format>,
}

/// Parses an integer parameter that must be ≥ `min`; absurdly large values saturate.
pub fn parse_count(name: &str, v: &str, min: u64) -> Result<u64, ApiError> {
    let t = v.trim();
    let digits = t.strip_prefix('+').unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            name,
            format!("'{v}' is not a non-negative integer"),
        ));
    }
    let n = digits.parse::<u64>().unwrap_or(u64::MAX);
    if n < min {
        return Err(invalid(name, format!("must be at least {min}, got {n}")));
    }
    Ok(n)
}

/// The value of the last `k` in a query (a repeated parameter's last value wins).
pub fn last<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter()
        .rev()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.as_str())
}

/// Parses a finite number within `lo..=hi`, naming the parameter and the range when it is not.
pub fn parse_number(name: &str, v: &str, lo: f64, hi: f64) -> Result<f64, ApiError> {
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && (lo..=hi).contains(x))
        .ok_or_else(|| invalid(name, format!("'{v}': a number from {lo} to {hi}")))
}

/// Parses `minx,miny,maxx,maxy` (4 numbers) in the given CRS into WGS84 boxes.
pub fn parse_bbox(v: &str, crs: &ApiCrs) -> Result<Vec<[f64; 4]>, ApiError> {
    let nums: Vec<f64> = v
        .split(',')
        .map(|s| s.trim().parse::<f64>().ok().filter(|x| x.is_finite()))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| invalid("bbox", format!("'{v}' is not a list of numbers")))?;
    if nums.len() != 4 {
        return Err(invalid(
            "bbox",
            format!("needs 4 numbers (minx,miny,maxx,maxy), got {}", nums.len()),
        ));
    }
    // Axis order of the bbox follows its CRS (EPSG:4326/4490: lat,lon).
    let (x0, y0, x1, y1) = if crs.lat_first {
        (nums[1], nums[0], nums[3], nums[2])
    } else {
        (nums[0], nums[1], nums[2], nums[3])
    };
    if y0 > y1 {
        return Ok(vec![]); // an empty band of latitudes selects nothing
    }
    let to = |x: f64, y: f64| {
        let (lon, lat) = if crs.is_storage() || crs.crs.is_wgs84_equivalent() {
            (x, y)
        } else {
            crs.crs.to_wgs84(x, y)
        };
        (lon, lat)
    };
    let boxes = if x0 <= x1 {
        vec![[x0, y0, x1, y1]]
    } else {
        vec![[x0, y0, 180.0, y1], [-180.0, y0, x1, y1]]
    };
    Ok(boxes
        .into_iter()
        .map(|[a, b, c, d]| {
            // Non-linear CRSs (GCJ-02, BD-09): take the envelope of the four converted corners.
            let pts = [to(a, b), to(c, b), to(c, d), to(a, d)];
            let minx = pts.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
            let maxx = pts.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
            let miny = pts.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
            let maxy = pts.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
            [minx, miny, maxx, maxy]
        })
        .collect())
}

/// Names the items endpoints of `c` accept, for error messages and checks.
pub fn allowed_params(c: Collection) -> Vec<&'static str> {
    let mut v = vec!["limit", "offset", "bbox", "bbox-crs", "crs", "f"];
    v.extend(c.filters().iter().map(|f| f.name()));
    v
}

impl ItemsQuery {
    /// Parses the query pairs of an items request of collection `c`.
    /// `ogc` adds the OGC-only parameters (`crs`, `bbox-crs`); the REST API has WGS84 only.
    pub fn parse(c: Collection, pairs: Vec<(String, String)>, ogc: bool) -> Result<Self, ApiError> {
        let mut allowed = allowed_params(c);
        if !ogc {
            allowed.retain(|p| !matches!(*p, "crs" | "bbox-crs" | "f"));
        }
        let mut q = ItemsQuery {
            limit: DEFAULT_LIMIT,
            offset: 0,
            bbox: None,
            crs: ApiCrs::DEFAULT,
            filters: vec![],
            raw: pairs.clone(),
            file: None,
        };
        let mut bbox_raw = None;
        let mut bbox_crs = ApiCrs::DEFAULT;
        let mut seen = std::collections::HashSet::new();
        for (k, v) in &pairs {
            if !allowed.contains(&k.as_str()) {
                return Err(ApiError::UnknownParameter {
                    name: k.clone(),
                    allowed: allowed.join(", "),
                });
            }
            if !seen.insert(k.as_str()) {
                return Err(invalid(k, "given more than once"));
            }
            match k.as_str() {
                "limit" => q.limit = parse_count("limit", v, 1)?.min(MAX_LIMIT),
                "offset" => q.offset = parse_count("offset", v, 0)?,
                "bbox" => bbox_raw = Some(v.clone()),
                "bbox-crs" => bbox_crs = ApiCrs::parse("bbox-crs", v)?,
                "crs" => q.crs = ApiCrs::parse("crs", v)?,
                "f" => {
                    check_format(v, &["json", "geojson", "fgb", "gpkg", "shp", "csv", "xlsx"])?;
                    q.file = match v.as_str() {
                        "json" | "geojson" => None,
                        other => other.parse().ok(),
                    };
                }
                name => {
                    let f = c.filters().iter().find(|f| f.name() == name).copied();
                    if let Some(f) = f {
                        q.filters.push((f, v.clone()));
                    }
                }
            }
        }
        // bbox-crs without bbox selects nothing to convert: accepted and ignored.
        if let Some(b) = bbox_raw {
            q.bbox = Some(parse_bbox(&b, &bbox_crs)?);
        }
        Ok(q)
    }
}

/// Checks an `f=` value against the formats an endpoint can produce.
pub fn check_format(v: &str, allowed: &[&str]) -> Result<(), ApiError> {
    if allowed.contains(&v) {
        Ok(())
    } else {
        Err(invalid(
            "f",
            format!(
                "unsupported format '{v}' (supported: {})",
                allowed.join(", ")
            ),
        ))
    }
}

/// Rejects every parameter except the listed ones (endpoints with few parameters).
pub fn only(pairs: &[(String, String)], allowed: &[&str]) -> Result<(), ApiError> {
    for (k, _) in pairs {
        if !allowed.contains(&k.as_str()) {
            return Err(ApiError::UnknownParameter {
                name: k.clone(),
                allowed: allowed.join(", "),
            });
        }
    }
    Ok(())
}

/// Percent-encodes a query component (keeps `,` `:` `/` readable as OGC clients do).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~,:/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Builds a query string from pairs, replacing `offset` and `limit`.
pub fn with_paging(raw: &[(String, String)], offset: u64, limit: u64) -> String {
    let mut parts: Vec<String> = raw
        .iter()
        .filter(|(k, _)| k != "offset" && k != "limit")
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    parts.push(format!("limit={limit}"));
    parts.push(format!("offset={offset}"));
    parts.join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(s: &[(&str, &str)]) -> Vec<(String, String)> {
        s.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn limit_zero_negative_and_non_integer_are_rejected_but_huge_is_clamped() {
        for bad in ["0", "-1", "abc", "1.5", ""] {
            assert!(
                ItemsQuery::parse(Collection::Buildings, pairs(&[("limit", bad)]), true).is_err(),
                "{bad}"
            );
        }
        let q = ItemsQuery::parse(
            Collection::Buildings,
            pairs(&[("limit", "1000000000000000000000")]),
            true,
        )
        .unwrap();
        assert_eq!(q.limit, MAX_LIMIT);
    }

    #[test]
    fn unknown_parameter_names_the_accepted_ones() {
        let e = ItemsQuery::parse(Collection::Facilities, pairs(&[("zz", "1")]), true).unwrap_err();
        assert!(
            e.to_string().contains("zz") && e.to_string().contains("kind"),
            "{e}"
        );
        // buildings have no kind filter
        assert!(ItemsQuery::parse(Collection::Buildings, pairs(&[("kind", "x")]), true).is_err());
    }

    #[test]
    fn bbox_in_epsg_4490_is_read_lat_lon() {
        let q = ItemsQuery::parse(
            Collection::Buildings,
            pairs(&[
                ("bbox", "43.7,7.4,43.8,7.5"),
                ("bbox-crs", "http://www.opengis.net/def/crs/EPSG/0/4490"),
            ]),
            true,
        )
        .unwrap();
        assert_eq!(q.bbox.unwrap(), vec![[7.4, 43.7, 7.5, 43.8]]);
    }

    #[test]
    fn malformed_bboxes_are_rejected_and_antimeridian_boxes_split() {
        for bad in ["1,2,3", "a,b,c,d", "1,2,3,4,5", "1,2,NaN,4"] {
            assert!(parse_bbox(bad, &ApiCrs::DEFAULT).is_err(), "{bad}");
        }
        assert_eq!(
            parse_bbox("170,0,-170,10", &ApiCrs::DEFAULT).unwrap().len(),
            2
        );
    }

    #[test]
    fn paging_links_keep_filters_and_replace_offset() {
        let q = with_paging(
            &pairs(&[("bbox", "1,2,3,4"), ("offset", "10"), ("community", "社区")]),
            20,
            10,
        );
        assert_eq!(
            q,
            "bbox=1,2,3,4&community=%E7%A4%BE%E5%8C%BA&limit=10&offset=20"
        );
    }
}
