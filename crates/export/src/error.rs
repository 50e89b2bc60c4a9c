//! The export crate's one error type: each names what is wrong — the file, the feature (by its
//! id, else its index), the field.
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("unknown export format '{value}' (geojson, fgb, gpkg, shp, csv, xlsx)")]
    UnknownFormat { value: String },
    #[error("unknown text encoding '{value}' (utf-8, gbk)")]
    UnknownEncoding { value: String },
    #[error("{path}: not a file name to write")]
    BadPath { path: PathBuf },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("feature {feature}: {reason}")]
    Geometry { feature: String, reason: String },
    #[error("feature {feature}, field '{field}': {reason}")]
    Field {
        feature: String,
        field: String,
        reason: String,
    },
    #[error("{format}: {reason}")]
    Format {
        format: &'static str,
        reason: String,
    },
}

pub type Result<T, E = ExportError> = std::result::Result<T, E>;

impl ExportError {
    pub(crate) fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        ExportError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }

    pub(crate) fn format(format: &'static str, reason: impl std::fmt::Display) -> Self {
        ExportError::Format {
            format,
            reason: reason.to_string(),
        }
    }
}
