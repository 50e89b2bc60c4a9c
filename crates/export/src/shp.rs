//! ESRI Shapefile through `shapefile` + `dbase`: `.shp`/`.shx` of one shape type, a `.dbf`
//! in UTF-8 or GBK (said in the `.cpg` and the code-page byte), and a `.prj`. The format's
//! limits are applied openly: field names cut to 10 characters (and made unique), text to
//! 254 bytes — each said once in the warnings; text GBK cannot spell is an error naming the
//! feature and field.
use crate::schema::{self, Cell, FieldType, GeometryKind, Schema};
use crate::{crs, ExportError, ExportOptions, Result, TextEncoding};
use dbase::{FieldName, FieldValue, Record, TableWriterBuilder};
use geojson::FeatureCollection;
use shapefile::{Multipoint, Point, Polygon, Polyline};
use std::path::Path;

const MAX_TEXT: usize = 254;

/// Writes `shp` and its siblings (same stem: `.shx`, `.dbf`, `.prj`, `.cpg`); returns the
/// warnings.
pub(crate) fn write(
    fc: &FeatureCollection,
    s: &Schema,
    opts: &ExportOptions,
    shp: &Path,
) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    let names = field_names(s, &mut warnings);
    let gbk = opts.encoding == TextEncoding::Gbk;
    let width = |f: &schema::Field| -> u8 {
        let longest = if gbk {
            f.max_chars * 2
        } else {
            f.max_chars * 3
        };
        longest.clamp(1, MAX_TEXT) as u8
    };
    let mut table = if gbk {
        TableWriterBuilder::with_encoding(dbase::encoding::EncodingRs::from(encoding_rs::GBK))
    } else {
        TableWriterBuilder::with_encoding(dbase::encoding::Unicode)
    };
    for (f, n) in s.fields.iter().zip(&names) {
        let name = FieldName::try_from(n.as_str())
            .map_err(|e| ExportError::format("Shapefile", format!("field '{n}': {e:?}")))?;
        table = match f.ty {
            FieldType::Integer => table.add_numeric_field(name, 18, 0),
            FieldType::Real => table.add_numeric_field(name, 24, 15),
            FieldType::Boolean => table.add_logical_field(name),
            FieldType::Text => table.add_character_field(name, width(f)),
        };
    }
    let widths: Vec<usize> = s.fields.iter().map(|f| usize::from(width(f))).collect();
    let mut cut = vec![false; s.fields.len()];
    let mut records = Vec::with_capacity(fc.features.len());
    for (i, f) in fc.features.iter().enumerate() {
        let mut r = Record::default();
        for (j, ((field, n), c)) in s.fields.iter().zip(&names).zip(s.cells(f)).enumerate() {
            let v = match (field.ty, c) {
                (FieldType::Integer | FieldType::Real, Cell::Null) => FieldValue::Numeric(None),
                (FieldType::Boolean, Cell::Null) => FieldValue::Logical(None),
                (_, Cell::Null) => FieldValue::Character(None),
                (_, Cell::Integer(v)) => FieldValue::Numeric(Some(v as f64)),
                (_, Cell::Real(v)) => FieldValue::Numeric(Some(v)),
                (_, Cell::Boolean(v)) => FieldValue::Logical(Some(v)),
                (_, Cell::Text(t)) => {
                    if gbk {
                        let (_, _, bad) = encoding_rs::GBK.encode(&t);
                        if bad {
                            return Err(ExportError::Field {
                                feature: schema::label(i, f),
                                field: field.name.clone(),
                                reason: format!(
                                    "'{t}' has characters GBK cannot hold; export with --encoding utf-8"
                                ),
                            });
                        }
                    }
                    let fitted = fit(&t, widths[j], gbk);
                    if fitted.len() < t.len() && !cut[j] {
                        cut[j] = true;
                        warnings.push(format!(
                            "field '{}': text longer than {} bytes is cut (first: feature {})",
                            field.name,
                            widths[j],
                            schema::label(i, f)
                        ));
                    }
                    FieldValue::Character(Some(fitted))
                }
            };
            r.insert(n.clone(), v);
        }
        records.push(r);
    }
    let shape_err = |i: usize, e: &dyn std::fmt::Display| ExportError::Geometry {
        feature: schema::label(i, &fc.features[i]),
        reason: format!("Shapefile: {e}"),
    };
    let mut writer = shapefile::Writer::from_path(shp, table)
        .map_err(|e| ExportError::format("Shapefile", format!("{}: {e}", shp.display())))?;
    let mut put = |i: usize, g: Option<geo_types::Geometry<f64>>| -> Result<()> {
        use geo_types::Geometry as G;
        let Some(g) = g else {
            return Err(ExportError::Geometry {
                feature: schema::label(i, &fc.features[i]),
                reason: "a shapefile needs a geometry on every feature".into(),
            });
        };
        let r = &records[i];
        let res = match (s.geometry, g) {
            (GeometryKind::Point, G::Point(p)) => {
                writer.write_shape_and_record(&Point::from(p), r)
            }
            (GeometryKind::MultiPoint, G::Point(p)) => {
                writer.write_shape_and_record(&Multipoint::from(geo_types::MultiPoint(vec![p])), r)
            }
            (GeometryKind::MultiPoint, G::MultiPoint(p)) => {
                writer.write_shape_and_record(&Multipoint::from(p), r)
            }
            (GeometryKind::LineString | GeometryKind::MultiLineString, G::LineString(l)) => {
                writer.write_shape_and_record(&Polyline::from(l), r)
            }
            (GeometryKind::LineString | GeometryKind::MultiLineString, G::MultiLineString(l)) => {
                writer.write_shape_and_record(&Polyline::from(l), r)
            }
            (GeometryKind::Polygon | GeometryKind::MultiPolygon, G::Polygon(p)) => {
                writer.write_shape_and_record(&Polygon::from(p), r)
            }
            (GeometryKind::Polygon | GeometryKind::MultiPolygon, G::MultiPolygon(p)) => {
                writer.write_shape_and_record(&Polygon::from(p), r)
            }
            (k, g) => {
                return Err(ExportError::Geometry {
                    feature: schema::label(i, &fc.features[i]),
                    reason: format!(
                        "a shapefile holds one kind of geometry: this layer is {k:?} but this feature is {}",
                        kind_name(&g)
                    ),
                })
            }
        };
        res.map_err(|e| shape_err(i, &e))
    };
    for (i, f) in fc.features.iter().enumerate() {
        put(i, schema::geometry(i, f)?)?;
    }
    drop(writer);
    let prj = shp.with_extension("prj");
    std::fs::write(&prj, crs::prj(opts.crs)).map_err(|e| ExportError::io(&prj, e))?;
    let cpg = shp.with_extension("cpg");
    std::fs::write(&cpg, if gbk { "GBK" } else { "UTF-8" })
        .map_err(|e| ExportError::io(&cpg, e))?;
    Ok(warnings)
}

fn kind_name(g: &geo_types::Geometry<f64>) -> &'static str {
    use geo_types::Geometry as G;
    match g {
        G::Point(_) => "a Point",
        G::MultiPoint(_) => "a MultiPoint",
        G::LineString(_) | G::Line(_) => "a LineString",
        G::MultiLineString(_) => "a MultiLineString",
        G::Polygon(_) | G::Rect(_) | G::Triangle(_) => "a Polygon",
        G::MultiPolygon(_) => "a MultiPolygon",
        G::GeometryCollection(_) => "a GeometryCollection",
    }
}

/// dBase field names: at most 10 ASCII bytes, unique regardless of case; a name that is not
/// ASCII becomes `field_N`. Each change is said once.
fn field_names(s: &Schema, warnings: &mut Vec<String>) -> Vec<String> {
    let mut used: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for (i, f) in s.fields.iter().enumerate() {
        let base: String = if f.name.is_ascii() && !f.name.is_empty() {
            f.name.chars().take(10).collect()
        } else {
            format!("field_{}", i + 1)
        };
        let mut name = base.clone();
        let mut n = 1;
        while used.iter().any(|u| u.eq_ignore_ascii_case(&name)) {
            let suffix = format!("_{n}");
            name = format!("{}{suffix}", &base[..base.len().min(10 - suffix.len())]);
            n += 1;
        }
        if name != f.name {
            warnings.push(format!(
                "field '{}' is '{name}' in the shapefile (dBase names have at most 10 characters)",
                f.name
            ));
        }
        used.push(name.clone());
        out.push(name);
    }
    out
}

/// The longest prefix of `t` (whole characters) whose encoding fits `bytes`.
fn fit(t: &str, bytes: usize, gbk: bool) -> String {
    let mut n = 0;
    let mut end = 0;
    for (i, c) in t.char_indices() {
        let w = if gbk {
            if c.is_ascii() {
                1
            } else {
                2
            }
        } else {
            c.len_utf8()
        };
        if n + w > bytes {
            break;
        }
        n += w;
        end = i + c.len_utf8();
    }
    t[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_on_whole_characters() {
        assert_eq!(fit("网格abc", 7, false), "网格a");
        assert_eq!(fit("网格abc", 5, true), "网格a");
        assert_eq!(fit("网格", 5, false), "网");
        assert_eq!(fit("ab", 10, false), "ab");
    }
}
