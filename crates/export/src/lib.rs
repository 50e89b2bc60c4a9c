//! Writers from a GeoJSON feature collection — a layer or an analysis result, already in the
//! CRS the caller chose — to the formats GIS tools open: GeoJSON, FlatGeobuf, GeoPackage,
//! Shapefile (with a `.cpg`, UTF-8 or GBK), CSV (geometry as WKT) and XLSX.
//!
//! One entry point, [`write_file`]: it writes beside the target under a temporary name and
//! renames into place only when every feature has been written, so a refused export (a
//! geometry the format cannot hold, a name GBK cannot spell) leaves no file, not half of one.
//! [`to_bytes`] is the same for a response body (a shapefile is then a zip of its parts).
//!
//! The attribute schema is read off the features once ([`schema::Schema`]): a column per
//! property name in first-seen order, typed integer, real, boolean or text by every value it
//! takes; objects and arrays are kept as JSON text.
#![forbid(unsafe_code)]

mod crs;
mod error;
mod fgb;
mod gpkg;
pub mod schema;
mod shp;
mod table;

pub use error::{ExportError, Result};

use geojson::FeatureCollection;
use gridmap_model::crs::Crs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A file format an export can be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    GeoJson,
    FlatGeobuf,
    GeoPackage,
    Shapefile,
    Csv,
    Xlsx,
}

impl Format {
    pub const ALL: [Format; 6] = [
        Format::GeoJson,
        Format::FlatGeobuf,
        Format::GeoPackage,
        Format::Shapefile,
        Format::Csv,
        Format::Xlsx,
    ];

    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::GeoJson => "geojson",
            Format::FlatGeobuf => "fgb",
            Format::GeoPackage => "gpkg",
            Format::Shapefile => "shp",
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }

    /// The name users type (`--format`, `f=`): the extension.
    pub fn name(self) -> &'static str {
        self.extension()
    }

    /// The media type of [`to_bytes`]'s answer.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::GeoJson => "application/geo+json",
            Format::FlatGeobuf => "application/flatgeobuf",
            Format::GeoPackage => "application/geopackage+sqlite3",
            Format::Shapefile => "application/zip",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    /// The format a file name's extension names, if any.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Format::ALL
            .into_iter()
            .find(|f| f.extension() == ext || (ext == "json" && *f == Format::GeoJson))
    }
}

impl FromStr for Format {
    type Err = ExportError;
    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim().to_ascii_lowercase();
        let f = match t.as_str() {
            "geojson" | "json" => Format::GeoJson,
            "fgb" | "flatgeobuf" => Format::FlatGeobuf,
            "gpkg" | "geopackage" => Format::GeoPackage,
            "shp" | "shapefile" | "esri shapefile" => Format::Shapefile,
            "csv" => Format::Csv,
            "xlsx" | "excel" => Format::Xlsx,
            _ => {
                return Err(ExportError::UnknownFormat {
                    value: s.to_owned(),
                })
            }
        };
        Ok(f)
    }
}

/// How a shapefile's attribute table spells text (the `.cpg` says which).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TextEncoding {
    #[default]
    Utf8,
    /// GBK (code page 936), for older Chinese desktop GIS.
    Gbk,
}

impl FromStr for TextEncoding {
    type Err = ExportError;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().replace('-', "").as_str() {
            "utf8" => Ok(TextEncoding::Utf8),
            "gbk" | "cp936" | "gb2312" => Ok(TextEncoding::Gbk),
            _ => Err(ExportError::UnknownEncoding {
                value: s.to_owned(),
            }),
        }
    }
}

/// What to call the layer, in which CRS its coordinates are, how to spell text.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// Table, layer or sheet name (GeoPackage table, FlatGeobuf name, XLSX sheet).
    pub layer: String,
    /// The CRS the coordinates are already in (recorded in the file, never applied here).
    pub crs: Crs,
    /// Shapefile attribute text; the other formats are always UTF-8.
    pub encoding: TextEncoding,
}

impl ExportOptions {
    pub fn new(layer: impl Into<String>, crs: Crs) -> Self {
        Self {
            layer: layer.into(),
            crs,
            encoding: TextEncoding::Utf8,
        }
    }
}

/// What an export wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// Every file written (a shapefile is several).
    pub files: Vec<PathBuf>,
    pub features: usize,
    /// What the format made of the data, said once each (a field name cut to 10 characters, a
    /// cell too long for Excel).
    pub warnings: Vec<String>,
}

/// Writes `fc` to `path` in `format`, all or nothing: into a temporary name beside `path`
/// first, renamed into place once complete. A shapefile's `.shx`, `.dbf`, `.prj` and `.cpg`
/// are written beside its `.shp`.
pub fn write_file(
    fc: &FeatureCollection,
    format: Format,
    path: &Path,
    opts: &ExportOptions,
) -> Result<Written> {
    let schema = schema::Schema::of(fc)?;
    let staging = Staging::new(path)?;
    let mut warnings = schema.warnings.clone();
    let parts: Vec<PathBuf> = match format {
        Format::GeoJson => {
            let text = table::geojson_text(fc, opts);
            write_all(&staging.path(None), text.as_bytes())?;
            vec![staging.path(None)]
        }
        Format::FlatGeobuf => {
            let bytes = fgb::write(fc, &schema, opts)?;
            write_all(&staging.path(None), &bytes)?;
            vec![staging.path(None)]
        }
        Format::GeoPackage => {
            gpkg::write(fc, &schema, opts, &staging.path(None))?;
            vec![staging.path(None)]
        }
        Format::Csv => {
            let bytes = table::csv(fc, &schema)?;
            write_all(&staging.path(None), &bytes)?;
            vec![staging.path(None)]
        }
        Format::Xlsx => {
            let (bytes, w) = table::xlsx(fc, &schema, opts)?;
            warnings.extend(w);
            write_all(&staging.path(None), &bytes)?;
            vec![staging.path(None)]
        }
        Format::Shapefile => {
            let files: Vec<PathBuf> = ["shp", "shx", "dbf", "prj", "cpg"]
                .into_iter()
                .map(|e| staging.path(Some(e)))
                .collect();
            warnings.extend(shp::write(fc, &schema, opts, &files[0])?);
            files
        }
    };
    let files = staging.commit(&parts)?;
    Ok(Written {
        files,
        features: fc.features.len(),
        warnings,
    })
}

/// `fc` in `format` as one body: a shapefile is a zip of its `.shp`, `.shx`, `.dbf`, `.prj`
/// and `.cpg`.
pub fn to_bytes(fc: &FeatureCollection, format: Format, opts: &ExportOptions) -> Result<Vec<u8>> {
    let schema = schema::Schema::of(fc)?;
    match format {
        Format::GeoJson => Ok(table::geojson_text(fc, opts).into_bytes()),
        Format::FlatGeobuf => fgb::write(fc, &schema, opts),
        Format::Csv => table::csv(fc, &schema),
        Format::Xlsx => table::xlsx(fc, &schema, opts).map(|(b, _)| b),
        Format::GeoPackage | Format::Shapefile => {
            let dir = tempfile::tempdir().map_err(|e| ExportError::io("a temporary folder", e))?;
            let name = safe_name(&opts.layer);
            let target = dir.path().join(format!("{name}.{}", format.extension()));
            let written = write_file(fc, format, &target, opts)?;
            if format == Format::GeoPackage {
                std::fs::read(&target).map_err(|e| ExportError::io(&target, e))
            } else {
                table::zip(&written.files)
            }
        }
    }
}

/// Moves every coordinate of `fc`, read as WGS84 lon/lat, into `crs` (a no-op for WGS84).
/// Errors on a feature whose geometry GeoJSON cannot express as one geometry.
pub fn reproject(fc: &mut FeatureCollection, crs: Crs) -> Result<()> {
    use geo::MapCoords;
    if crs == Crs::Wgs84 {
        return Ok(());
    }
    for (i, f) in fc.features.iter_mut().enumerate() {
        if let Some(g) = schema::geometry(i, f)? {
            let moved = g.map_coords(|c| {
                let (x, y) = crs.from_wgs84(c.x, c.y);
                geo_types::Coord { x, y }
            });
            f.geometry = Some(geojson::Geometry::new(geojson::GeometryValue::from(&moved)));
        }
    }
    Ok(())
}

/// A file name made of a layer name: letters, digits, `-` and `_` kept, the rest `_`.
pub fn safe_name(layer: &str) -> String {
    let s: String = layer
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        "layer".into()
    } else {
        s
    }
}

fn write_all(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| ExportError::io(path, e))
}

/// Files written under `.{name}.part-{pid}` names beside the target and renamed into place
/// together; dropped without `commit`, they are removed.
struct Staging {
    dir: PathBuf,
    stem: String,
    ext: String,
    tag: String,
    made: std::cell::RefCell<Vec<PathBuf>>,
}

impl Staging {
    fn new(target: &Path) -> Result<Self> {
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(ExportError::io(
                &dir,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such folder"),
            ));
        }
        let stem = target
            .file_stem()
            .and_then(|s| s.to_str())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ExportError::BadPath {
                path: target.to_path_buf(),
            })?
            .to_owned();
        let ext = target
            .extension()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        Ok(Self {
            dir,
            stem,
            ext,
            tag: format!("part-{}", std::process::id()),
            made: std::cell::RefCell::new(Vec::new()),
        })
    }

    /// The staging name of the target (`ext = None`) or of a sibling with another extension.
    fn path(&self, ext: Option<&str>) -> PathBuf {
        let ext = ext.unwrap_or(&self.ext);
        let p = self
            .dir
            .join(format!(".{}.{}.{}", self.stem, self.tag, ext));
        self.made.borrow_mut().push(p.clone());
        p
    }

    /// Renames each staged part to its final name (`stem.ext`).
    fn commit(self, parts: &[PathBuf]) -> Result<Vec<PathBuf>> {
        let mut done = Vec::new();
        for p in parts {
            let ext = p
                .extension()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
            let to = if ext.is_empty() {
                self.dir.join(&self.stem)
            } else {
                self.dir.join(format!("{}.{ext}", self.stem))
            };
            std::fs::rename(p, &to).map_err(|e| ExportError::io(&to, e))?;
            done.push(to);
        }
        self.made.borrow_mut().clear();
        Ok(done)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        for p in self.made.borrow().iter() {
            let _ = std::fs::remove_file(p);
        }
    }
}
