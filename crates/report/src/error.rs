use thiserror::Error;

/// Why a report could not be made.
#[derive(Debug, Error)]
pub enum ReportError {
    /// The bundled font could not be read (a broken build, never user input).
    #[error("the bundled report font could not be read")]
    Font,
    /// A block cannot be laid out on the chosen paper (e.g. a map taller than a page).
    #[error("{what} does not fit on a {paper} page: {why}")]
    Layout {
        what: String,
        paper: String,
        why: String,
    },
    /// The PDF writer refused the document.
    #[error("writing the PDF failed: {0}")]
    Pdf(String),
}
