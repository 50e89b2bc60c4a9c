//! The document model: what a report says, without where it goes on the page.
use geo::{LineString, MultiPolygon, Point, Rect};

/// The attribution every map of OpenStreetMap-derived data carries (ODbL).
pub const ATTRIBUTION: &str = "© OpenStreetMap contributors";

/// A report: its metadata title, paper, page footer and content.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The PDF's title (document properties).
    pub title: String,
    pub paper: Paper,
    /// Left of every page's footer (e.g. the dataset and when the report was made).
    pub footer: String,
    pub blocks: Vec<Block>,
}

/// ISO paper sizes the reports are printed on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PaperSize {
    #[default]
    A4,
    A3,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Orientation {
    #[default]
    Portrait,
    Landscape,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Paper {
    pub size: PaperSize,
    pub orientation: Orientation,
}

impl Paper {
    /// Width and height in points (1/72 inch).
    pub fn points(self) -> (f32, f32) {
        let (w, h) = match self.size {
            PaperSize::A4 => (595.28, 841.89),
            PaperSize::A3 => (841.89, 1190.55),
        };
        match self.orientation {
            Orientation::Portrait => (w, h),
            Orientation::Landscape => (h, w),
        }
    }

    /// Parses `a4`, `a3`, `a4-landscape`, `a3-portrait`, … (case-insensitive).
    pub fn parse(s: &str) -> Option<Paper> {
        let s = s.to_ascii_lowercase();
        let (size, orient) = s.split_once('-').unwrap_or((s.as_str(), "portrait"));
        let size = match size {
            "a4" => PaperSize::A4,
            "a3" => PaperSize::A3,
            _ => return None,
        };
        let orientation = match orient {
            "portrait" | "p" => Orientation::Portrait,
            "landscape" | "l" => Orientation::Landscape,
            _ => return None,
        };
        Some(Paper { size, orientation })
    }
}

impl std::fmt::Display for Paper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let size = match self.size {
            PaperSize::A4 => "A4",
            PaperSize::A3 => "A3",
        };
        let o = match self.orientation {
            Orientation::Portrait => "portrait",
            Orientation::Landscape => "landscape",
        };
        write!(f, "{size} {o}")
    }
}

/// One piece of content, laid out below the previous one.
#[derive(Clone, Debug)]
pub enum Block {
    /// The report's (or a section's) big title.
    Title {
        text: String,
        subtitle: Option<String>,
    },
    Heading(String),
    /// A paragraph, wrapped to the page width.
    Text(String),
    /// A warning shown in a coloured box (e.g. "proxy: restaurants counted as canteens").
    Notice(String),
    /// Key figures in boxes, several to a row.
    Figures(Vec<Figure>),
    Map(MapSpec),
    Table(Table),
    Bars(BarChart),
    /// The next block starts on a new page.
    PageBreak,
}

/// A labelled key figure ("households 3 412").
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    pub label: String,
    pub value: String,
}

impl Figure {
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            value: value.into(),
        }
    }
}

/// An sRGB colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// Parses `#rrggbb` (the kinds' colours in the tag map).
    pub fn from_hex(s: &str) -> Option<Rgb> {
        let h = s.strip_prefix('#')?;
        if h.len() != 6 {
            return None;
        }
        let v = u32::from_str_radix(h, 16).ok()?;
        Some(Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8))
    }
}

/// How a map layer is drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Style {
    pub fill: Option<Rgb>,
    pub fill_opacity: f32,
    pub stroke: Option<Rgb>,
    /// Points.
    pub stroke_width: f32,
    pub dashed: bool,
    /// Radius of point markers in points.
    pub radius: f32,
}

impl Default for Style {
    fn default() -> Self {
        Self {
            fill: None,
            fill_opacity: 1.0,
            stroke: Some(Rgb(60, 60, 60)),
            stroke_width: 0.5,
            dashed: false,
            radius: 2.5,
        }
    }
}

impl Style {
    /// A filled area without an outline.
    #[must_use]
    pub fn fill(c: Rgb) -> Self {
        Self {
            fill: Some(c),
            stroke: None,
            ..Self::default()
        }
    }

    /// A line (or an area's outline only) of `width` points.
    #[must_use]
    pub fn line(c: Rgb, width: f32) -> Self {
        Self {
            fill: None,
            stroke: Some(c),
            stroke_width: width,
            ..Self::default()
        }
    }

    /// A point marker of `radius` points filled with `c`, ringed in white.
    #[must_use]
    pub fn marker(c: Rgb, radius: f32) -> Self {
        Self {
            fill: Some(c),
            stroke: Some(Rgb(255, 255, 255)),
            stroke_width: 0.6,
            radius,
            ..Self::default()
        }
    }

    /// Nothing drawn (a layer that only carries labels, or sets a map's extent).
    #[must_use]
    pub fn invisible() -> Self {
        Self {
            fill: None,
            stroke: None,
            radius: 0.0,
            ..Self::default()
        }
    }

    /// The same, with the fill at `opacity` (0–1).
    #[must_use]
    pub fn opacity(self, opacity: f32) -> Self {
        Self {
            fill_opacity: opacity,
            ..self
        }
    }

    /// The same, outlined in `c` at `width` points.
    #[must_use]
    pub fn outlined(self, c: Rgb, width: f32) -> Self {
        Self {
            stroke: Some(c),
            stroke_width: width,
            ..self
        }
    }

    /// The same, with a dashed stroke.
    #[must_use]
    pub fn dashed(self) -> Self {
        Self {
            dashed: true,
            ..self
        }
    }
}

/// The geometry of one layer (WGS84 longitude/latitude).
#[derive(Clone, Debug)]
pub enum Shapes {
    Polygons(Vec<MultiPolygon<f64>>),
    Lines(Vec<LineString<f64>>),
    /// Markers, each with an optional short label drawn beside it.
    Points(Vec<(Point<f64>, Option<String>)>),
}

#[derive(Clone, Debug)]
pub struct MapLayer {
    pub style: Style,
    pub shapes: Shapes,
}

/// One legend entry.
#[derive(Clone, Debug)]
pub struct LegendItem {
    pub style: Style,
    pub label: String,
    /// Drawn as a marker (points) rather than a swatch.
    pub marker: bool,
}

/// A map: an extent, layers bottom to top, a legend. Drawn with a scale bar, a north arrow and
/// the OpenStreetMap attribution.
#[derive(Clone, Debug)]
pub struct MapSpec {
    /// Longitude/latitude extent to show (padded by the renderer to the frame's aspect).
    pub extent: Rect<f64>,
    /// Height of the map frame in points; `None` = the rest of the page (at least a third).
    pub height: Option<f32>,
    pub layers: Vec<MapLayer>,
    pub legend: Vec<LegendItem>,
    pub caption: Option<String>,
}

/// A table column.
#[derive(Clone, Debug)]
pub struct Column {
    pub title: String,
    /// Relative width.
    pub weight: f32,
    /// Numbers are right-aligned.
    pub right: bool,
}

impl Column {
    pub fn text(title: impl Into<String>, weight: f32) -> Self {
        Self {
            title: title.into(),
            weight,
            right: false,
        }
    }
    pub fn number(title: impl Into<String>, weight: f32) -> Self {
        Self {
            title: title.into(),
            weight,
            right: true,
        }
    }
}

/// A table; continues on the next page under a repeated header when it does not fit.
#[derive(Clone, Debug)]
pub struct Table {
    pub caption: Option<String>,
    pub columns: Vec<Column>,
    /// Cells as text; a cell too wide for its column is cut with "…".
    pub rows: Vec<Vec<String>>,
    /// Said under the table when `rows` is empty.
    pub empty: String,
}

/// One bar of a [`BarChart`].
#[derive(Clone, Debug)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    /// Text after the bar (e.g. "87.5 % · 1 204 户").
    pub note: String,
}

/// A horizontal bar chart (one bar per row, value axis from 0 to `max`).
#[derive(Clone, Debug)]
pub struct BarChart {
    pub title: String,
    pub bars: Vec<Bar>,
    pub max: f64,
    pub colour: Rgb,
    /// A vertical reference line (e.g. the target share), with its label.
    pub reference: Option<(f64, String)>,
}
