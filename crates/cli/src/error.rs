//! The CLI's one error type: every failure names what went wrong and maps to an exit code.
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Import(#[from] gridmap_import::ImportError),
    #[error(transparent)]
    Store(#[from] gridmap_store::StoreError),
    #[error("{0}")]
    Algo(String),
    #[error(transparent)]
    Server(#[from] gridmap_server::ServerError),
    #[error("{what}: {detail}")]
    Usage { what: String, detail: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {path}: {detail}")]
    Read { path: PathBuf, detail: String },
}

impl CliError {
    pub fn usage(what: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        Self::Usage {
            what: what.into(),
            detail: detail.to_string(),
        }
    }
    pub fn algo(e: impl std::fmt::Display) -> Self {
        Self::Algo(e.to_string())
    }
    /// 2 for bad usage (like clap), 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage { .. } => 2,
            _ => 1,
        }
    }
}

pub type Result<T> = std::result::Result<T, CliError>;
