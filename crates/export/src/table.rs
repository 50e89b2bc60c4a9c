//! The text and table formats: GeoJSON (with the attribution and CRS as foreign members), CSV
//! (UTF-8 with a byte-order mark so Excel reads Chinese; geometry as WKT in a `WKT` column,
//! which GDAL's CSV driver reads as the geometry), XLSX (a typed sheet with the geometry as
//! WKT where Excel's 32,767-character cell allows, and an `about` sheet with the source and
//! CRS) and the zip a shapefile travels in.
use crate::schema::{self, Cell, Schema};
use crate::{ExportError, ExportOptions, Result};
use geojson::FeatureCollection;
use geozero::ToWkt;
use gridmap_model::OSM_ATTRIBUTION;
use std::io::Write;
use std::path::PathBuf;

/// Excel's longest cell text.
const XLSX_CELL: usize = 32_767;
/// Excel's rows per sheet, less the header.
const XLSX_ROWS: usize = 1_048_575;

pub(crate) fn geojson_text(fc: &FeatureCollection, opts: &ExportOptions) -> String {
    let mut fc = fc.clone();
    let mut members = fc.foreign_members.take().unwrap_or_default();
    members.insert("attribution".into(), OSM_ATTRIBUTION.into());
    members.insert("crs_name".into(), opts.crs.name().into());
    fc.foreign_members = Some(members);
    fc.to_string()
}

fn wkt(i: usize, f: &geojson::Feature) -> Result<String> {
    schema::geometry(i, f)?
        .map(|g| {
            g.to_wkt().map_err(|e| ExportError::Geometry {
                feature: schema::label(i, f),
                reason: e.to_string(),
            })
        })
        .transpose()
        .map(Option::unwrap_or_default)
}

pub(crate) fn csv(fc: &FeatureCollection, s: &Schema) -> Result<Vec<u8>> {
    let fail = |e: csv::Error| ExportError::format("CSV", e);
    let mut out = Vec::from(*b"\xEF\xBB\xBF");
    {
        let mut w = csv::Writer::from_writer(&mut out);
        let mut header: Vec<&str> = vec!["WKT"];
        header.extend(s.fields.iter().map(|f| f.name.as_str()));
        w.write_record(&header).map_err(fail)?;
        for (i, f) in fc.features.iter().enumerate() {
            let mut row = vec![wkt(i, f)?];
            row.extend(s.cells(f).iter().map(Cell::text));
            w.write_record(&row).map_err(fail)?;
        }
        w.flush().map_err(|e| ExportError::format("CSV", e))?;
    }
    Ok(out)
}

pub(crate) fn xlsx(
    fc: &FeatureCollection,
    s: &Schema,
    opts: &ExportOptions,
) -> Result<(Vec<u8>, Vec<String>)> {
    use rust_xlsxwriter::{Format, Workbook};
    let fail = |e: rust_xlsxwriter::XlsxError| ExportError::format("XLSX", e);
    if fc.features.len() > XLSX_ROWS {
        return Err(ExportError::format(
            "XLSX",
            format!(
                "{} features are more than a sheet holds ({XLSX_ROWS} rows under the header); export as CSV, GeoPackage or FlatGeobuf",
                fc.features.len()
            ),
        ));
    }
    let mut warnings = Vec::new();
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    {
        let ws = wb.add_worksheet();
        ws.set_name(sheet_name(&opts.layer)).map_err(fail)?;
        let mut col: u16 = 0;
        for f in &s.fields {
            ws.write_string_with_format(0, col, &f.name, &bold)
                .map_err(fail)?;
            col += 1;
        }
        ws.write_string_with_format(0, col, "WKT", &bold)
            .map_err(fail)?;
        ws.set_freeze_panes(1, 0).map_err(fail)?;
        let mut long = 0usize;
        for (i, f) in fc.features.iter().enumerate() {
            let row = u32::try_from(i + 1).unwrap_or(u32::MAX);
            for (j, c) in s.cells(f).into_iter().enumerate() {
                let j = j as u16;
                match c {
                    Cell::Null => {}
                    Cell::Integer(v) => {
                        ws.write_number(row, j, v as f64).map_err(fail)?;
                    }
                    Cell::Real(v) => {
                        ws.write_number(row, j, v).map_err(fail)?;
                    }
                    Cell::Boolean(v) => {
                        ws.write_boolean(row, j, v).map_err(fail)?;
                    }
                    Cell::Text(v) => {
                        let v = if v.chars().count() > XLSX_CELL {
                            long += 1;
                            v.chars().take(XLSX_CELL).collect()
                        } else {
                            v
                        };
                        ws.write_string(row, j, v).map_err(fail)?;
                    }
                }
            }
            let w = wkt(i, f)?;
            if w.len() <= XLSX_CELL {
                ws.write_string(row, col, w).map_err(fail)?;
            } else {
                long += 1;
            }
        }
        if long > 0 {
            warnings.push(format!(
                "{long} cell(s) longer than Excel's {XLSX_CELL} characters: geometries left out, text cut (GeoPackage and FlatGeobuf keep them whole)"
            ));
        }
    }
    let about = wb.add_worksheet();
    about.set_name("about").map_err(fail)?;
    for (r, (k, v)) in [
        ("layer", opts.layer.as_str()),
        ("features", &fc.features.len().to_string()),
        ("crs", opts.crs.name()),
        ("source", OSM_ATTRIBUTION),
    ]
    .iter()
    .enumerate()
    {
        about
            .write_string_with_format(r as u32, 0, *k, &bold)
            .map_err(fail)?;
        about.write_string(r as u32, 1, *v).map_err(fail)?;
    }
    let bytes = wb.save_to_buffer().map_err(fail)?;
    Ok((bytes, warnings))
}

/// A sheet name Excel accepts: at most 31 characters, none of `[]:*?/\`.
fn sheet_name(layer: &str) -> String {
    let s: String = layer
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(31)
        .collect();
    if s.is_empty() || s.eq_ignore_ascii_case("about") {
        format!("{s}_1")
    } else {
        s
    }
}

/// The files, by their names, in one zip.
pub(crate) fn zip(files: &[PathBuf]) -> Result<Vec<u8>> {
    let fail = |e: &dyn std::fmt::Display| ExportError::format("zip", e);
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opt = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for p in files {
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| ExportError::BadPath { path: p.clone() })?;
        z.start_file(name, opt).map_err(|e| fail(&e))?;
        let bytes = std::fs::read(p).map_err(|e| ExportError::io(p, e))?;
        z.write_all(&bytes).map_err(|e| ExportError::io(p, e))?;
    }
    let c = z.finish().map_err(|e| fail(&e))?;
    Ok(c.into_inner())
}
