//! gridmap-import: readers that turn files into a [`gridmap_model::Dataset`] plus an
//! [`ImportReport`], with no database code (the store writes the dataset in one transaction).
//!
//! * OpenStreetMap `.osm.pbf` and `.osm` XML: buildings, residential compounds, administrative
//!   communities and streets, facilities by a tag table, and the raw walking/barrier network.
//! * GeoJSON FeatureCollections, one layer per file (the peer kit's interchange format).
//! * Household CSV files (counts per building id or address).
//! * [`synth`]: an N×N tiling of a dataset for scale tests; [`to_geojson`]: export.
//!
//! Formats are documented in `crates/import/README.md`.
#![forbid(unsafe_code)]

mod error;
mod facility_tags;
mod geojson_in;
mod geojson_out;
mod households_csv;
mod input;
mod osm;
mod progress;
pub mod repair;
mod report;
mod spatial;
mod synth;

pub use error::{IdSuffix, ImportError};
pub use facility_tags::{
    FacilityRule, FacilityTagConfig, DEFAULT_FACILITY_TAGS_TOML, FACILITY_PROFILES, NAME_KEYS,
    PROXY_FACILITY_TAGS_TOML,
};
pub use geojson_out::to_geojson;
pub use households_csv::{read_household_csv, read_household_csv_from};
pub use input::{detect_format, Format};
pub use progress::{NoProgress, Progress};
pub use report::{FacilityTagsReport, ImportReport, Skipped, TagCount, SKIPPED_LIST_CAP};
pub use synth::{synth, SEAM_CONNECTORS_PER_SEAM, SYNTH_GAP_M};

use gridmap_model::crs::Crs;
use gridmap_model::households::HouseholdRule;
use gridmap_model::{Dataset, Layer};
use std::path::Path;
use std::time::Instant;

/// How to read an input file.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportOptions {
    /// CRS of the input coordinates (GeoJSON; OSM is always WGS84). Converted to WGS84.
    pub crs: Crs,
    pub household_rule: HouseholdRule,
    pub facility_tags: FacilityTagConfig,
    /// GeoJSON only: which layer the file holds; `None` = infer from geometry and properties.
    pub layer: Option<Layer>,
    /// OSM only: `boundary=administrative` areas with `admin_level` >= this are communities
    /// (the deepest containing a building wins); areas up to two levels above are streets.
    pub community_admin_level: u8,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            crs: Crs::Wgs84,
            household_rule: HouseholdRule::default(),
            facility_tags: FacilityTagConfig::default(),
            layer: None,
            community_admin_level: 8,
        }
    }
}

/// Reads any supported file, choosing the reader by extension, else by content:
/// `.osm.pbf`/`.pbf`, `.osm`/`.xml`, `.geojson`/`.json` (each optionally `.gz`).
/// Household CSV files are not datasets: use [`read_household_csv`].
pub fn import_file(
    path: &Path,
    opts: &ImportOptions,
    progress: &dyn Progress,
) -> Result<(Dataset, ImportReport), ImportError> {
    match detect_format(path)? {
        Format::OsmPbf => read_osm_pbf(path, opts, progress),
        Format::OsmXml => read_osm_xml(path, opts, progress),
        Format::GeoJson => read_geojson(path, opts, progress),
    }
}

fn finish_osm(
    path: &Path,
    format: Format,
    raw: &osm::raw::OsmRaw,
    opts: &ImportOptions,
    progress: &dyn Progress,
    start: Instant,
) -> Result<(Dataset, ImportReport), ImportError> {
    if let Some(object) = raw.first_duplicate() {
        return Err(ImportError::OsmValue {
            file: error::file_name(path),
            object,
            field: "id".to_owned(),
            message: "occurs twice in the file (overlapping extracts concatenated? combine them with `osmium merge`)".to_owned(),
        });
    }
    let mut report = ImportReport::new(error::file_name(path), format.as_str());
    let ds = osm::build::build(raw, opts, &mut report, progress);
    report.count(&ds);
    report.seconds = start.elapsed().as_secs_f64();
    Ok((ds, report))
}

/// Reads an OpenStreetMap `.osm.pbf` file.
pub fn read_osm_pbf(
    path: &Path,
    opts: &ImportOptions,
    progress: &dyn Progress,
) -> Result<(Dataset, ImportReport), ImportError> {
    let start = Instant::now();
    let raw = osm::pbf::read(path, progress)?;
    finish_osm(path, Format::OsmPbf, &raw, opts, progress, start)
}

/// Reads an OpenStreetMap `.osm.pbf` stream (e.g. bytes in memory); `name` labels it in errors
/// and in the report. [`read_osm_pbf`] is this over a file.
pub fn read_osm_pbf_from<R: std::io::Read + Send>(
    input: R,
    name: &str,
    opts: &ImportOptions,
    progress: &dyn Progress,
) -> Result<(Dataset, ImportReport), ImportError> {
    let start = Instant::now();
    let raw = osm::pbf::read_from(input, 0, name.to_owned(), progress)?;
    finish_osm(Path::new(name), Format::OsmPbf, &raw, opts, progress, start)
}

/// Reads OpenStreetMap XML held in memory (not gzipped); `name` labels it in errors (with line
/// and column) and in the report. [`read_osm_xml`] streams a file instead.
pub fn read_osm_xml_bytes(
    bytes: &[u8],
    name: &str,
    opts: &ImportOptions,
    progress: &dyn Progress,
) -> Result<(Dataset, ImportReport), ImportError> {
    let start = Instant::now();
    let raw = osm::xml::read_bytes(bytes, name, progress)?;
    finish_osm(Path::new(name), Format::OsmXml, &raw, opts, progress, start)
}

/// Reads a GeoJSON FeatureCollection held in memory (not gzipped); `name` labels it in errors
/// and in the report. [`read_geojson`] reads a (possibly gzipped) file.
pub fn read_geojson_bytes(
    bytes: &[u8],
    name: &str,
    opts: &ImportOptions,
    progress: &dyn Progress,
) -> Result<(Dataset, ImportReport), ImportError> {
    let start = Instant::now();
    let (ds, mut report) = geojson_in::read_bytes(bytes, name.to_owned(), opts, progress)?;
    report.count(&ds);
    report.seconds = start.elapsed().as_secs_f64();
    Ok((ds, report))
}

/// Reads an OpenStreetMap `.osm` XML file (optionally gzipped).
pub fn read_osm_xml(
    path: &Path,
    opts: &ImportOptions,
    progress: &dyn Progress,
) -> Result<(Dataset, ImportReport), ImportError> {
    let start = Instant::now();
    let raw = osm::xml::read(path, progress)?;
    finish_osm(path, Format::OsmXml, &raw, opts, progress, start)
}

/// Reads one GeoJSON FeatureCollection holding one layer (optionally gzipped).
pub fn read_geojson(
    path: &Path,
    opts: &ImportOptions,
    progress: &dyn Progress,
) -> Result<(Dataset, ImportReport), ImportError> {
    let start = Instant::now();
    let (ds, mut report) = geojson_in::read(path, opts, progress)?;
    report.count(&ds);
    report.seconds = start.elapsed().as_secs_f64();
    Ok((ds, report))
}
