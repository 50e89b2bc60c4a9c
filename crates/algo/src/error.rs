//! The one error type of `gridmap-algo`. Every variant names what is wrong and where, so the
//! CLI and the server can show it as is.

/// Errors of the spatial core: invalid parameters or references to things that do not exist.
/// Bad *data* (a facility far off the network, a building without geometry) is not an error:
/// it is reported in the results with a reason.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AlgoError {
    /// A numeric parameter is out of range (`speed_kmh` must be > 0, minutes ≥ 0, …).
    #[error("invalid parameter {name} = {value}: {expected}")]
    InvalidParameter {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
    /// A facility id given to a what-if or isochrone query is not among the engine's facilities.
    #[error("unknown facility '{0}'")]
    UnknownFacility(String),
    /// A facility location is not a finite lon/lat point.
    #[error("facility '{id}' has an invalid location ({lon}, {lat})")]
    InvalidLocation { id: String, lon: f64, lat: f64 },
    /// No candidate site could take part (all off the network, duplicates or at existing sites).
    #[error("no candidate site is on the walking network ({given} given: {reasons})")]
    NoCandidates { given: usize, reasons: String },
    /// The caller cancelled the run.
    #[error("cancelled")]
    Cancelled,
    /// A model or option that is not built.
    #[error("not supported: {0}")]
    Unsupported(String),
}
