//! GeoPackage 1.3 written with rusqlite in one transaction: the three metadata tables
//! (`gpkg_spatial_ref_sys`, `gpkg_contents` with the extent, `gpkg_geometry_columns`) and a
//! feature table of `fid`, `geom` (GeoPackage binary geometry with its envelope, by geozero)
//! and a typed column per field. No R-tree: readers index on open when they need to.
use crate::schema::{self, Cell, FieldType, GeometryKind, Schema};
use crate::{crs, ExportError, ExportOptions, Result};
use geo::BoundingRect;
use geojson::FeatureCollection;
use geozero::{CoordDimensions, ToWkb};
use gridmap_model::OSM_ATTRIBUTION;
use rusqlite::types::Value;
use std::path::Path;

pub(crate) fn write(
    fc: &FeatureCollection,
    s: &Schema,
    opts: &ExportOptions,
    path: &Path,
) -> Result<()> {
    let fail =
        |e: rusqlite::Error| ExportError::format("GeoPackage", format!("{}: {e}", path.display()));
    let _ = std::fs::remove_file(path);
    let mut db = rusqlite::Connection::open(path).map_err(fail)?;
    db.execute_batch(
        "PRAGMA application_id = 1196444487; PRAGMA user_version = 10300; PRAGMA journal_mode = OFF;",
    )
    .map_err(fail)?;
    let tx = db.transaction().map_err(fail)?;
    tx.execute_batch(DDL).map_err(fail)?;
    let srs_id = crs::srs_id(opts.crs);
    if srs_id != 4326 {
        let (name, org, code, def) = crs::gpkg_row(opts.crs);
        tx.execute(
            "INSERT INTO gpkg_spatial_ref_sys (srs_name, srs_id, organization, organization_coordsys_id, definition) VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![name, srs_id, org, code, def],
        )
        .map_err(fail)?;
    }
    let table = &opts.layer;
    let names = column_names(s);
    let mut cols = vec![
        "fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL".to_owned(),
        format!("geom {}", type_name(s.geometry)),
    ];
    for (f, n) in s.fields.iter().zip(&names) {
        let ty = match f.ty {
            FieldType::Integer => "INTEGER",
            FieldType::Real => "REAL",
            FieldType::Boolean => "BOOLEAN",
            FieldType::Text => "TEXT",
        };
        cols.push(format!("{} {ty}", quote(n)));
    }
    tx.execute_batch(&format!(
        "CREATE TABLE {} ({});",
        quote(table),
        cols.join(", ")
    ))
    .map_err(fail)?;
    let insert = format!(
        "INSERT INTO {} (geom{}) VALUES (?1{})",
        quote(table),
        names
            .iter()
            .map(|n| format!(", {}", quote(n)))
            .collect::<String>(),
        (0..names.len())
            .map(|i| format!(", ?{}", i + 2))
            .collect::<String>()
    );
    let mut extent: Option<geo_types::Rect<f64>> = None;
    {
        let mut stmt = tx.prepare(&insert).map_err(fail)?;
        for (i, f) in fc.features.iter().enumerate() {
            let blob = match schema::geometry(i, f)? {
                None => Value::Null,
                Some(g) => {
                    let g = promote(g, s.geometry);
                    let env = g.bounding_rect().map_or_else(Vec::new, |r| {
                        extent = Some(match extent {
                            None => r,
                            Some(e) => geo_types::Rect::new(
                                (e.min().x.min(r.min().x), e.min().y.min(r.min().y)),
                                (e.max().x.max(r.max().x), e.max().y.max(r.max().y)),
                            ),
                        });
                        vec![r.min().x, r.max().x, r.min().y, r.max().y]
                    });
                    let wkb = g
                        .to_gpkg_wkb(CoordDimensions::xy(), Some(srs_id), env)
                        .map_err(|e| ExportError::Geometry {
                            feature: schema::label(i, f),
                            reason: e.to_string(),
                        })?;
                    Value::Blob(wkb)
                }
            };
            let mut values = vec![blob];
            values.extend(s.cells(f).into_iter().map(|c| match c {
                Cell::Null => Value::Null,
                Cell::Integer(v) => Value::Integer(v),
                Cell::Real(v) => Value::Real(v),
                Cell::Boolean(v) => Value::Integer(i64::from(v)),
                Cell::Text(v) => Value::Text(v),
            }));
            stmt.execute(rusqlite::params_from_iter(values))
                .map_err(|e| ExportError::Geometry {
                    feature: schema::label(i, f),
                    reason: format!("GeoPackage: {e}"),
                })?;
        }
    }
    let (minx, miny, maxx, maxy) = extent.map_or((None, None, None, None), |e| {
        (
            Some(e.min().x),
            Some(e.min().y),
            Some(e.max().x),
            Some(e.max().y),
        )
    });
    tx.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, min_x, min_y, max_x, max_y, srs_id) VALUES (?1, 'features', ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        rusqlite::params![table, OSM_ATTRIBUTION, minx, miny, maxx, maxy, srs_id],
    )
    .map_err(fail)?;
    tx.execute(
        "INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, srs_id, z, m) VALUES (?1, 'geom', ?2, ?3, 0, 0)",
        rusqlite::params![table, type_name(s.geometry), srs_id],
    )
    .map_err(fail)?;
    tx.commit().map_err(fail)?;
    db.close().map_err(|(_, e)| fail(e))?;
    Ok(())
}

/// The fields' column names: `fid` and `geom` are the table's own, and SQLite compares names
/// without case, so a name already taken (`FIXME` after `fixme`) gets `_2`, `_3`, ….
fn column_names(s: &Schema) -> Vec<String> {
    let mut used: Vec<String> = vec!["fid".into(), "geom".into()];
    s.fields
        .iter()
        .map(|f| {
            let mut name = f.name.clone();
            let mut n = 1;
            while used.iter().any(|u| u.eq_ignore_ascii_case(&name)) {
                n += 1;
                name = format!("{}_{n}", f.name);
            }
            used.push(name.clone());
            name
        })
        .collect()
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

pub(crate) fn type_name(k: GeometryKind) -> &'static str {
    match k {
        GeometryKind::Point => "POINT",
        GeometryKind::LineString => "LINESTRING",
        GeometryKind::Polygon => "POLYGON",
        GeometryKind::MultiPoint => "MULTIPOINT",
        GeometryKind::MultiLineString => "MULTILINESTRING",
        GeometryKind::MultiPolygon => "MULTIPOLYGON",
        GeometryKind::None | GeometryKind::Mixed => "GEOMETRY",
    }
}

/// A single geometry in a column of its multi type becomes a multi of one.
pub(crate) fn promote(g: geo_types::Geometry<f64>, k: GeometryKind) -> geo_types::Geometry<f64> {
    use geo_types::Geometry as G;
    match (g, k) {
        (G::Point(p), GeometryKind::MultiPoint) => G::MultiPoint(geo_types::MultiPoint(vec![p])),
        (G::LineString(l), GeometryKind::MultiLineString) => {
            G::MultiLineString(geo_types::MultiLineString(vec![l]))
        }
        (G::Polygon(p), GeometryKind::MultiPolygon) => {
            G::MultiPolygon(geo_types::MultiPolygon(vec![p]))
        }
        (g, _) => g,
    }
}

const DDL: &str = r#"
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
INSERT INTO gpkg_spatial_ref_sys VALUES
  ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
  ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'),
  ('WGS 84 geodetic', 4326, 'EPSG', 4326, 'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4326"]]', 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid');
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
"#;
