//! gridmap-report: printable reports as PDF.
//!
//! A report is a [`Report`]: a title, a paper size and a flow of [`Block`]s (headings, key
//! figures, maps, tables, bar charts, page breaks). [`render`] lays the blocks out top to bottom
//! on A4/A3 pages (a table that does not fit continues on the next page under its repeated
//! header; a map or chart that does not fit starts a new page), puts the footer and the
//! "page n / N" on every page and the OpenStreetMap attribution on every map, and writes the PDF
//! with the bundled Noto Sans SC subset (`data/fonts`), embedded as a subset CID font with a
//! ToUnicode map so Chinese text is selectable and searchable.
//!
//! The crate knows no dataset, database or HTTP: the application layer (`gridmap-service`)
//! builds the blocks from an analysis.
//!
//! ```
//! use gridmap_report::{render, Block, Figure, Paper, Report};
//! let report = Report {
//!     title: "网格图册".into(),
//!     paper: Paper::default(),
//!     footer: "gridmap".into(),
//!     blocks: vec![
//!         Block::Title { text: "网格图册 Grid atlas".into(), subtitle: Some("Monaco".into()) },
//!         Block::Figures(vec![Figure::new("网格 grids", "12")]),
//!     ],
//! };
//! let pdf = render(&report).unwrap();
//! assert!(pdf.starts_with(b"%PDF-"));
//! ```
#![forbid(unsafe_code)]

mod doc;
mod error;
mod font;
mod layout;
mod map;
mod pdf;

pub use doc::{
    Bar, BarChart, Block, Column, Figure, LegendItem, MapLayer, MapSpec, Orientation, Paper,
    PaperSize, Report, Rgb, Shapes, Style, Table, ATTRIBUTION,
};
pub use error::ReportError;
pub use font::text_width;

/// Lays the report out and writes it as PDF bytes.
pub fn render(report: &Report) -> Result<Vec<u8>, ReportError> {
    let pages = layout::layout(report)?;
    pdf::write(report, &pages)
}

/// Number of pages [`render`] would produce (the layout without the PDF writing).
pub fn page_count(report: &Report) -> Result<usize, ReportError> {
    Ok(layout::layout(report)?.len())
}
