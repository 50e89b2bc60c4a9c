//! Fast GeoJSON writing: geometries are written straight into a `String` with a coordinate
//! mapping (CRS and axis order), and GeoJSON bodies of edits are read back into geo types.
use crate::error::ApiError;
use geo_types::{Coord, Geometry, LineString, MultiPolygon, Point, Polygon};
use std::fmt::Write;

/// Writes one number the way JSON wants it (shortest round-trip form; never NaN).
fn num(out: &mut String, v: f64) {
    if v.is_finite() {
        let _ = write!(out, "{v}");
    } else {
        out.push_str("null");
    }
}

fn pos(out: &mut String, c: Coord<f64>, map: &impl Fn(f64, f64) -> (f64, f64)) {
    let (a, b) = map(c.x, c.y);
    out.push('[');
    num(out, a);
    out.push(',');
    num(out, b);
    out.push(']');
}

fn line(out: &mut String, l: &LineString<f64>, map: &impl Fn(f64, f64) -> (f64, f64)) {
    out.push('[');
    for (i, c) in l.0.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        pos(out, *c, map);
    }
    out.push(']');
}

fn polygon(out: &mut String, p: &Polygon<f64>, map: &impl Fn(f64, f64) -> (f64, f64)) {
    out.push('[');
    line(out, p.exterior(), map);
    for r in p.interiors() {
        out.push(',');
        line(out, r, map);
    }
    out.push(']');
}

/// Writes a GeoJSON geometry object (or `null`) with every position passed through `map`.
pub fn write_geometry(
    out: &mut String,
    g: Option<&Geometry<f64>>,
    map: &impl Fn(f64, f64) -> (f64, f64),
) {
    let Some(g) = g else {
        out.push_str("null");
        return;
    };
    match g {
        Geometry::Point(p) => {
            out.push_str("{\"type\":\"Point\",\"coordinates\":");
            pos(out, p.0, map);
        }
        Geometry::LineString(l) => {
            out.push_str("{\"type\":\"LineString\",\"coordinates\":");
            line(out, l, map);
        }
        Geometry::Polygon(p) => {
            out.push_str("{\"type\":\"Polygon\",\"coordinates\":");
            polygon(out, p, map);
        }
        Geometry::MultiPolygon(mp) => {
            out.push_str("{\"type\":\"MultiPolygon\",\"coordinates\":[");
            for (i, p) in mp.0.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                polygon(out, p, map);
            }
            out.push(']');
        }
        Geometry::MultiLineString(ml) => {
            out.push_str("{\"type\":\"MultiLineString\",\"coordinates\":[");
            for (i, l) in ml.0.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                line(out, l, map);
            }
            out.push(']');
        }
        Geometry::MultiPoint(mp) => {
            out.push_str("{\"type\":\"MultiPoint\",\"coordinates\":[");
            for (i, p) in mp.0.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                pos(out, p.0, map);
            }
            out.push(']');
        }
        other => {
            // Not produced by the model; written as a collection of nothing rather than lost silently.
            tracing::warn!(kind = ?std::mem::discriminant(other), "unsupported geometry kind in GeoJSON output");
            out.push_str("{\"type\":\"GeometryCollection\",\"geometries\":[");
        }
    }
    out.push('}');
}

/// Writes one Feature: `{"type":"Feature","id":..,"geometry":..,"properties":..}`.
pub fn write_feature(
    out: &mut String,
    id: &str,
    g: Option<&Geometry<f64>>,
    props: &serde_json::Map<String, serde_json::Value>,
    map: &impl Fn(f64, f64) -> (f64, f64),
) {
    out.push_str("{\"type\":\"Feature\",\"id\":");
    out.push_str(&serde_json::Value::String(id.to_owned()).to_string());
    out.push_str(",\"geometry\":");
    write_geometry(out, g, map);
    out.push_str(",\"properties\":");
    out.push_str(&serde_json::Value::Object(props.clone()).to_string());
    out.push('}');
}

/// Identity mapping (storage CRS84 output).
pub fn identity(x: f64, y: f64) -> (f64, f64) {
    (x, y)
}

// ---------------------------------------------------------------- reading edit bodies

fn read_pos(v: &serde_json::Value, at: &str) -> Result<Coord<f64>, ApiError> {
    let a = v.as_array().ok_or_else(|| {
        ApiError::InvalidBody(format!("{at}: a position must be an array of numbers"))
    })?;
    if a.len() < 2 || a.len() > 3 {
        return Err(ApiError::InvalidBody(format!(
            "{at}: a position has 2 or 3 numbers, got {}",
            a.len()
        )));
    }
    let x = a[0]
        .as_f64()
        .ok_or_else(|| ApiError::InvalidBody(format!("{at}[0]: not a number")))?;
    let y = a[1]
        .as_f64()
        .ok_or_else(|| ApiError::InvalidBody(format!("{at}[1]: not a number")))?;
    if a.get(2).is_some_and(|z| !z.is_number()) {
        return Err(ApiError::InvalidBody(format!("{at}[2]: not a number")));
    }
    Ok(Coord { x, y })
}

fn read_ring(v: &serde_json::Value, at: &str) -> Result<LineString<f64>, ApiError> {
    let a = v.as_array().ok_or_else(|| {
        ApiError::InvalidBody(format!("{at}: a ring must be an array of positions"))
    })?;
    let mut pts = a
        .iter()
        .enumerate()
        .map(|(i, p)| read_pos(p, &format!("{at}[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    if pts.first() != pts.last() {
        if let Some(&first) = pts.first() {
            pts.push(first); // close it, as most editors forget to
        }
    }
    if pts.len() < 4 {
        return Err(ApiError::Unprocessable(format!(
            "{at}: a polygon ring needs at least 3 distinct positions"
        )));
    }
    Ok(LineString(pts))
}

fn read_polygon(v: &serde_json::Value, at: &str) -> Result<Polygon<f64>, ApiError> {
    let rings = v.as_array().ok_or_else(|| {
        ApiError::InvalidBody(format!("{at}: a polygon must be an array of rings"))
    })?;
    let mut it = rings
        .iter()
        .enumerate()
        .map(|(i, r)| read_ring(r, &format!("{at}[{i}]")));
    let ext = it.next().ok_or_else(|| {
        ApiError::Unprocessable(format!("{at}: a polygon needs an exterior ring"))
    })??;
    Ok(Polygon::new(ext, it.collect::<Result<Vec<_>, _>>()?))
}

/// Most positions one edited geometry may have (a drawn grid has tens to hundreds).
pub const MAX_VERTICES: usize = 50_000;

/// A drawn area: a Polygon or MultiPolygon whose rings hold at least 4 finite WGS84 positions
/// (drawn grids, a siting job's `within`); the error says what is wrong.
pub fn area(geom: Geometry<f64>) -> Result<MultiPolygon<f64>, &'static str> {
    let area = match geom {
        Geometry::Polygon(p) => MultiPolygon(vec![p]),
        Geometry::MultiPolygon(m) => m,
        _ => return Err("geometry must be a Polygon or MultiPolygon"),
    };
    let ok = area.0.iter().all(|p| {
        p.exterior().0.len() >= 4
            && p.exterior().0.iter().all(|c| {
                c.x.is_finite()
                    && c.y.is_finite()
                    && (-180.0..=180.0).contains(&c.x)
                    && (-90.0..=90.0).contains(&c.y)
            })
    });
    if !ok || area.0.is_empty() {
        return Err("rings need at least 4 WGS84 positions");
    }
    Ok(area)
}

/// Reads a GeoJSON geometry (in `crs`) into WGS84 geo types; `null` gives `None`.
pub fn read_geometry(
    v: &serde_json::Value,
    crs: &crate::crs::ApiCrs,
) -> Result<Option<Geometry<f64>>, ApiError> {
    if v.is_null() {
        return Ok(None);
    }
    let kind = v
        .get("type")
        .and_then(|t| t.as_str())
        .ok_or_else(|| ApiError::InvalidBody("geometry: no \"type\"".into()))?;
    let coords = v
        .get("coordinates")
        .ok_or_else(|| ApiError::InvalidBody("geometry: no \"coordinates\"".into()))?;
    let g: Geometry<f64> = match kind {
        "Point" => Geometry::Point(Point(read_pos(coords, "geometry.coordinates")?)),
        "Polygon" => Geometry::Polygon(read_polygon(coords, "geometry.coordinates")?),
        "MultiPolygon" => {
            let a = coords.as_array().ok_or_else(|| {
                ApiError::InvalidBody("geometry.coordinates: not an array".into())
            })?;
            Geometry::MultiPolygon(MultiPolygon(
                a.iter()
                    .enumerate()
                    .map(|(i, p)| read_polygon(p, &format!("geometry.coordinates[{i}]")))
                    .collect::<Result<_, _>>()?,
            ))
        }
        other => {
            return Err(ApiError::Unprocessable(format!(
                "geometry: type {other} is not accepted here"
            )))
        }
    };
    let n = geo::CoordsIter::coords_count(&g);
    if n > MAX_VERTICES {
        return Err(ApiError::Unprocessable(format!("geometry: {n} positions; at most {MAX_VERTICES} are accepted in one geometry (simplify it)")));
    }
    // The input must lie in the valid range of its own CRS (in its axis order)...
    let bad = geo::CoordsIter::coords_iter(&g).find(|c| {
        let (lon, lat) = if crs.lat_first {
            (c.y, c.x)
        } else {
            (c.x, c.y)
        };
        !(lon.is_finite()
            && lat.is_finite()
            && (-180.0..=180.0).contains(&lon)
            && (-90.0..=90.0).contains(&lat))
    });
    if let Some(c) = bad {
        return Err(ApiError::Unprocessable(format!(
            "geometry: position [{}, {}] is outside the valid range of {} (axis order {})",
            c.x,
            c.y,
            crs.uri,
            if crs.lat_first { "lat,lon" } else { "lon,lat" }
        )));
    }
    // ...and its conversion (BD-09 shifts a few hundred metres even at the antimeridian) wraps
    // longitudes and clamps latitudes into WGS84.
    let g = geo::MapCoords::map_coords(&g, |c| {
        let (mut x, y) = crs.to_storage(c.x, c.y);
        if x > 180.0 {
            x -= 360.0;
        } else if x < -180.0 {
            x += 360.0;
        }
        Coord {
            x,
            y: y.clamp(-90.0, 90.0),
        }
    });
    Ok(Some(g))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crs::ApiCrs;

    #[test]
    fn written_polygon_reads_back_equal() {
        let p = Polygon::new(
            LineString::from(vec![(7.0, 43.0), (7.1, 43.0), (7.1, 43.1), (7.0, 43.0)]),
            vec![],
        );
        let g = Geometry::MultiPolygon(MultiPolygon(vec![p]));
        let mut s = String::new();
        write_geometry(&mut s, Some(&g), &identity);
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(read_geometry(&v, &ApiCrs::DEFAULT).unwrap(), Some(g));
    }

    #[test]
    fn out_of_range_positions_are_unprocessable() {
        let v = serde_json::json!({"type":"Point","coordinates":[43.7, 7.4]});
        let crs = ApiCrs::parse("crs", crate::crs::EPSG_4326).unwrap();
        assert!(
            read_geometry(&v, &crs).is_ok(),
            "lat,lon order is read as such"
        );
        let v = serde_json::json!({"type":"Point","coordinates":[200.0, 7.4]});
        assert!(matches!(
            read_geometry(&v, &ApiCrs::DEFAULT),
            Err(ApiError::Unprocessable(_))
        ));
    }
}

#[cfg(test)]
mod limit_tests {
    use super::*;

    #[test]
    fn a_geometry_with_too_many_vertices_is_refused_with_its_count() {
        let n = MAX_VERTICES + 10;
        let ring: Vec<serde_json::Value> = (0..n)
            .map(|i| {
                let a = i as f64 / n as f64 * std::f64::consts::TAU;
                serde_json::json!([116.3 + 0.01 * a.cos(), 39.9 + 0.01 * a.sin()])
            })
            .collect();
        let g = serde_json::json!({"type": "Polygon", "coordinates": [ring]});
        let e = read_geometry(&g, &crate::crs::ApiCrs::DEFAULT).unwrap_err();
        assert_eq!(e.status(), 422);
        assert!(
            e.to_string().contains(&(n + 1).to_string()) && e.to_string().contains("at most"),
            "{e}"
        );
    }
}
