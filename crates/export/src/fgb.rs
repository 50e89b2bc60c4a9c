//! FlatGeobuf through the `flatgeobuf` crate: columns declared from the schema, features
//! Hilbert-sorted behind a packed R-tree (GDAL and QGIS read a bbox without the whole file),
//! the CRS and the ODbL attribution in the header.
use crate::schema::{self, Cell, FieldType, Schema};
use crate::{ExportError, ExportOptions, Result};
use flatgeobuf::{ColumnType, FgbCrs, FgbWriter, FgbWriterOptions, GeometryType};
use geojson::FeatureCollection;
use geozero::{ColumnValue, PropertyProcessor};
use gridmap_model::{crs::Crs, OSM_ATTRIBUTION};

pub(crate) fn write(fc: &FeatureCollection, s: &Schema, opts: &ExportOptions) -> Result<Vec<u8>> {
    let fail = |e: &dyn std::fmt::Display| ExportError::format("FlatGeobuf", e);
    let (code, name) = srs(opts.crs);
    let (_, _, _, wkt) = crate::crs::gpkg_row(opts.crs);
    let mut w = FgbWriter::create_with_options(
        &opts.layer,
        GeometryType::Unknown,
        FgbWriterOptions {
            write_index: true,
            detect_type: true,
            promote_to_multi: true,
            description: Some(OSM_ATTRIBUTION),
            crs: FgbCrs {
                code,
                name: Some(name),
                wkt: Some(&wkt),
                ..FgbCrs::default()
            },
            ..FgbWriterOptions::default()
        },
    )
    .map_err(|e| fail(&e))?;
    for f in &s.fields {
        let ty = match f.ty {
            FieldType::Integer => ColumnType::Long,
            FieldType::Real => ColumnType::Double,
            FieldType::Boolean => ColumnType::Bool,
            FieldType::Text => ColumnType::String,
        };
        w.add_column(&f.name, ty, |_, c| c.nullable = true);
    }
    for (i, f) in fc.features.iter().enumerate() {
        let Some(g) = schema::geometry(i, f)? else {
            return Err(ExportError::Geometry {
                feature: schema::label(i, f),
                reason: "FlatGeobuf needs a geometry on every feature".into(),
            });
        };
        let cells = s.cells(f);
        let mut bad = None;
        w.add_feature_geom(g, |feat| {
            for (j, (field, c)) in s.fields.iter().zip(&cells).enumerate() {
                let r = match c {
                    Cell::Null => continue,
                    Cell::Integer(v) => feat.property(j, &field.name, &ColumnValue::Long(*v)),
                    Cell::Real(v) => feat.property(j, &field.name, &ColumnValue::Double(*v)),
                    Cell::Boolean(v) => feat.property(j, &field.name, &ColumnValue::Bool(*v)),
                    Cell::Text(v) => feat.property(j, &field.name, &ColumnValue::String(v)),
                };
                if let Err(e) = r {
                    bad = Some((field.name.clone(), e.to_string()));
                    return;
                }
            }
        })
        .map_err(|e| ExportError::Geometry {
            feature: schema::label(i, f),
            reason: e.to_string(),
        })?;
        if let Some((field, reason)) = bad {
            return Err(ExportError::Field {
                feature: schema::label(i, f),
                field,
                reason,
            });
        }
    }
    let mut out = Vec::new();
    w.write(&mut out).map_err(|e| fail(&e))?;
    Ok(out)
}

/// The EPSG code (0 = none) and the name the header carries.
fn srs(crs: Crs) -> (i32, &'static str) {
    match crs {
        Crs::Wgs84 => (4326, "WGS 84"),
        Crs::Cgcs2000 => (4490, "China Geodetic Coordinate System 2000"),
        Crs::Gcj02 => (0, "GCJ-02 (WGS 84 offset by the national obfuscation)"),
        Crs::Bd09 => (0, "BD-09 (GCJ-02 offset by Baidu)"),
    }
}
