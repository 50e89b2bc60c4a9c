//! The one error type of the importer. Every variant names the file and where in it the
//! problem is (line/column, byte offset, feature index and id, or OSM object id) and the field.
use std::path::Path;

/// Everything that can go wrong while reading an input file.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },

    #[error("{file}: unrecognised input format (expected .osm.pbf, .osm/.xml, .geojson/.json, optionally .gz): {detail}")]
    UnknownFormat { file: String, detail: String },

    #[error("{file}: corrupt or truncated OSM PBF: {message}")]
    Pbf { file: String, message: String },

    #[error("{file}:{line}:{column}: malformed OSM XML (byte {byte}): {message}")]
    Xml {
        file: String,
        line: u64,
        column: u64,
        byte: u64,
        message: String,
    },

    #[error("{file}: OSM {object}: field '{field}': {message}")]
    OsmValue {
        file: String,
        object: String,
        field: String,
        message: String,
    },

    #[error("{file}:{line}:{column}: not valid JSON: {message}")]
    Json {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },

    #[error("{file}: not a GeoJSON FeatureCollection: {found}")]
    NotFeatureCollection { file: String, found: String },

    #[error("{file}: feature #{index}{id}: geometry: expected {expected} for layer '{layer}', found {found}")]
    WrongGeometry {
        file: String,
        index: usize,
        id: IdSuffix,
        layer: &'static str,
        expected: &'static str,
        found: String,
    },

    #[error("{file}: feature #{index}{id}: property '{field}': {message}")]
    Property {
        file: String,
        index: usize,
        id: IdSuffix,
        field: String,
        message: String,
    },

    #[error("{file}: duplicate id '{id}' in features #{first} and #{second}")]
    DuplicateId {
        file: String,
        id: String,
        first: usize,
        second: usize,
    },

    #[error("{file}: {where_}: unknown CRS '{name}' (supported: EPSG:4326/CRS84, EPSG:4490/CGCS2000, GCJ02, BD09)")]
    UnknownCrs {
        file: String,
        where_: String,
        name: String,
    },

    #[error("{file}: CRS given twice and different: option says {option}, the file's 'crs' member says {member}")]
    ConflictingCrs {
        file: String,
        option: String,
        member: String,
    },

    #[error("{file}: feature #{index}{id}: invalid geometry that cannot be repaired: {reason}")]
    InvalidGeometry {
        file: String,
        index: usize,
        id: IdSuffix,
        reason: String,
    },

    #[error("{file}: cannot tell which layer the file holds ({reason}); pass --layer with one of: {candidates}")]
    AmbiguousLayer {
        file: String,
        reason: String,
        candidates: String,
    },

    #[error("{file}:{line}: column '{column}': {message}")]
    Csv {
        file: String,
        line: u64,
        column: String,
        message: String,
    },

    #[error("{file}: facility tag rules: {message}")]
    FacilityTags { file: String, message: String },
}

/// ` (id 'x')` when a feature id is known, empty otherwise; keeps messages short.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdSuffix(pub Option<String>);

impl std::fmt::Display for IdSuffix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(id) => write!(f, " (id '{id}')"),
            None => Ok(()),
        }
    }
}

pub(crate) fn file_name(path: &Path) -> String {
    path.display().to_string()
}

pub(crate) fn io_error(path: &Path, source: std::io::Error) -> ImportError {
    ImportError::Io {
        file: file_name(path),
        source,
    }
}
