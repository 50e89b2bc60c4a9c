//! Lays a [`Report`]'s blocks out into pages of drawing operations.
use crate::doc::{BarChart, Block, Figure, Report, Rgb, Table};
use crate::font::{fit, text_width, wrap};
use crate::map;
use crate::ReportError;

pub(crate) const MARGIN: f32 = 40.0;
const FOOTER_GAP: f32 = 22.0;
pub(crate) const INK: Rgb = Rgb(30, 30, 30);
pub(crate) const GREY: Rgb = Rgb(110, 110, 110);
const RULE: Rgb = Rgb(200, 200, 200);
const HEADER_BG: Rgb = Rgb(228, 232, 238);
const ZEBRA: Rgb = Rgb(246, 247, 249);

/// A drawing operation in page coordinates (points, origin top left, y down).
#[derive(Clone, Debug)]
pub(crate) enum Op {
    /// Text with its baseline at `y`.
    Text {
        x: f32,
        y: f32,
        size: f32,
        colour: Rgb,
        text: String,
    },
    /// One path of many subpaths (drawn with one fill and one stroke).
    Path {
        subpaths: Vec<Vec<(f32, f32)>>,
        closed: bool,
        fill: Option<(Rgb, f32)>,
        stroke: Option<Stroke>,
    },
    /// Circles of one radius and style.
    Circles {
        centres: Vec<(f32, f32)>,
        r: f32,
        fill: Option<(Rgb, f32)>,
        stroke: Option<Stroke>,
    },
    /// Clip what follows to a rectangle until [`Op::Unclip`].
    Clip {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
    Unclip,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Stroke {
    pub colour: Rgb,
    pub width: f32,
    pub dashed: bool,
}

/// A solid stroke.
pub(crate) fn solid(colour: Rgb, width: f32) -> Stroke {
    Stroke {
        colour,
        width,
        dashed: false,
    }
}

pub(crate) fn rect(x: f32, y: f32, w: f32, h: f32) -> Vec<(f32, f32)> {
    vec![(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
}

pub(crate) fn text(x: f32, y: f32, size: f32, colour: Rgb, s: impl Into<String>) -> Op {
    Op::Text {
        x,
        y,
        size,
        colour,
        text: s.into(),
    }
}

/// Pages being filled.
struct Flow {
    width: f32,
    height: f32,
    pages: Vec<Vec<Op>>,
    y: f32,
    paper: String,
}

impl Flow {
    fn left(&self) -> f32 {
        MARGIN
    }
    fn content_width(&self) -> f32 {
        self.width - 2.0 * MARGIN
    }
    fn bottom(&self) -> f32 {
        self.height - MARGIN - FOOTER_GAP
    }
    fn room(&self) -> f32 {
        self.bottom() - self.y
    }
    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }
    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = MARGIN;
    }
    /// Starts a new page unless `h` points fit below (or the page is still empty).
    fn need(&mut self, h: f32) {
        let empty = self.pages.last().is_none_or(Vec::is_empty);
        if h > self.room() && !empty {
            self.new_page();
        }
    }
    fn push(&mut self, op: Op) {
        self.ops().push(op);
    }
}

pub(crate) fn layout(report: &Report) -> Result<Vec<Vec<Op>>, ReportError> {
    let (width, height) = report.paper.points();
    let mut f = Flow {
        width,
        height,
        pages: vec![Vec::new()],
        y: MARGIN,
        paper: report.paper.to_string(),
    };
    for block in &report.blocks {
        match block {
            Block::Title { text: t, subtitle } => title(&mut f, t, subtitle.as_deref()),
            Block::Heading(h) => heading(&mut f, h),
            Block::Text(t) => paragraph(&mut f, t, 9.0, INK),
            Block::Notice(t) => notice(&mut f, t),
            Block::Figures(figs) => figures(&mut f, figs),
            Block::Map(spec) => {
                let w = f.content_width();
                let caption_h = if spec.caption.is_some() { 14.0 } else { 0.0 };
                let legend_h = map::legend_height(spec, w);
                let h = if let Some(h) = spec.height {
                    h
                } else {
                    if f.room() - caption_h - legend_h < w / 3.0 {
                        f.new_page();
                    }
                    (f.room() - caption_h - legend_h - 6.0).min(w * 1.1)
                };
                let full = f.bottom() - MARGIN;
                if h + caption_h + legend_h > full {
                    return Err(ReportError::Layout {
                        what: "a map".into(),
                        paper: f.paper.clone(),
                        why: format!("it is {h:.0} pt high and the page has {full:.0} pt"),
                    });
                }
                f.need(h + caption_h + legend_h);
                let (x, y) = (f.left(), f.y);
                if let Some(c) = &spec.caption {
                    f.push(text(x, y + 10.0, 10.0, INK, fit(c, 10.0, w)));
                }
                let ops = map::draw(spec, x, y + caption_h, w, h);
                f.ops().extend(ops);
                let lops = map::legend(spec, x, y + caption_h + h + 4.0, w);
                f.ops().extend(lops);
                f.y = y + caption_h + h + legend_h + 10.0;
            }
            Block::Table(t) => table(&mut f, t),
            Block::Bars(c) => bars(&mut f, c),
            Block::PageBreak => {
                if !f.pages.last().is_none_or(Vec::is_empty) {
                    f.new_page();
                }
            }
        }
    }
    let n = f.pages.len();
    let footer = report.footer.clone();
    for (i, page) in f.pages.iter_mut().enumerate() {
        let y = height - MARGIN + 4.0;
        let num = format!("{} / {n}", i + 1);
        let nw = text_width(&num, 8.0);
        page.push(Op::Path {
            subpaths: vec![vec![(MARGIN, y - 12.0), (width - MARGIN, y - 12.0)]],
            closed: false,
            fill: None,
            stroke: Some(solid(RULE, 0.5)),
        });
        page.push(text(
            MARGIN,
            y,
            8.0,
            GREY,
            fit(&footer, 8.0, width - 2.0 * MARGIN - nw - 20.0),
        ));
        page.push(text(width - MARGIN - nw, y, 8.0, GREY, num));
    }
    Ok(f.pages)
}

fn title(f: &mut Flow, t: &str, subtitle: Option<&str>) {
    let w = f.content_width();
    let lines = wrap(t, 20.0, w);
    let sub = subtitle.map(|s| wrap(s, 11.0, w)).unwrap_or_default();
    f.need(lines.len() as f32 * 26.0 + sub.len() as f32 * 15.0 + 30.0);
    for l in lines {
        let y = f.y + 20.0;
        let x = f.left();
        f.push(text(x, y, 20.0, INK, l));
        f.y += 26.0;
    }
    for l in sub {
        let y = f.y + 11.0;
        let x = f.left();
        f.push(text(x, y, 11.0, GREY, l));
        f.y += 15.0;
    }
    f.y += 8.0;
}

fn heading(f: &mut Flow, h: &str) {
    // keep a heading with at least a few lines of what follows
    f.need(19.0 + 60.0);
    let w = f.content_width();
    let (x, y) = (f.left(), f.y + 13.0);
    f.push(text(x, y, 13.0, INK, fit(h, 13.0, w)));
    f.push(Op::Path {
        subpaths: vec![vec![(x, y + 4.0), (x + w, y + 4.0)]],
        closed: false,
        fill: None,
        stroke: Some(solid(RULE, 0.6)),
    });
    f.y += 24.0;
}

fn paragraph(f: &mut Flow, t: &str, size: f32, colour: Rgb) {
    let w = f.content_width();
    for l in wrap(t, size, w) {
        f.need(size * 1.45);
        let (x, y) = (f.left(), f.y + size);
        f.push(text(x, y, size, colour, l));
        f.y += size * 1.45;
    }
    f.y += 4.0;
}

fn notice(f: &mut Flow, t: &str) {
    let w = f.content_width();
    let lines = wrap(t, 9.0, w - 16.0);
    let h = lines.len() as f32 * 13.0 + 10.0;
    f.need(h + 6.0);
    let (x, y) = (f.left(), f.y);
    f.push(Op::Path {
        subpaths: vec![rect(x, y, w, h)],
        closed: true,
        fill: Some((Rgb(255, 243, 224), 1.0)),
        stroke: Some(solid(Rgb(230, 140, 30), 0.8)),
    });
    for (i, l) in lines.into_iter().enumerate() {
        f.push(text(
            x + 8.0,
            y + 5.0 + 9.0 + i as f32 * 13.0,
            9.0,
            Rgb(120, 60, 0),
            l,
        ));
    }
    f.y += h + 8.0;
}

fn figures(f: &mut Flow, figs: &[Figure]) {
    if figs.is_empty() {
        return;
    }
    let w = f.content_width();
    let per_row = ((w / 120.0).floor() as usize).clamp(1, 6).min(figs.len());
    let gap = 6.0;
    let bw = (w - gap * (per_row as f32 - 1.0)) / per_row as f32;
    let bh = 40.0;
    for row in figs.chunks(per_row) {
        f.need(bh + gap);
        let y = f.y;
        for (i, fig) in row.iter().enumerate() {
            let x = f.left() + i as f32 * (bw + gap);
            f.push(Op::Path {
                subpaths: vec![rect(x, y, bw, bh)],
                closed: true,
                fill: Some((Rgb(244, 246, 250), 1.0)),
                stroke: Some(solid(RULE, 0.5)),
            });
            f.push(text(
                x + 6.0,
                y + 12.0,
                7.5,
                GREY,
                fit(&fig.label, 7.5, bw - 12.0),
            ));
            f.push(text(
                x + 6.0,
                y + 32.0,
                14.0,
                INK,
                fit(&fig.value, 14.0, bw - 12.0),
            ));
        }
        f.y += bh + gap;
    }
    f.y += 4.0;
}

const ROW_H: f32 = 12.5;
const CELL_SIZE: f32 = 7.5;

fn table(f: &mut Flow, t: &Table) {
    let w = f.content_width();
    let total: f32 = t.columns.iter().map(|c| c.weight.max(0.01)).sum();
    let widths: Vec<f32> = t
        .columns
        .iter()
        .map(|c| w * c.weight.max(0.01) / total)
        .collect();
    let caption_h = if t.caption.is_some() { 15.0 } else { 0.0 };
    // caption + header + two rows together
    f.need(caption_h + ROW_H * 3.0);
    if let Some(c) = &t.caption {
        let (x, y) = (f.left(), f.y + 10.0);
        f.push(text(x, y, 10.0, INK, fit(c, 10.0, w)));
        f.y += caption_h;
    }
    header(f, t, &widths);
    if t.rows.is_empty() {
        let (x, y) = (f.left() + 4.0, f.y + 9.0);
        f.push(text(
            x,
            y,
            CELL_SIZE,
            GREY,
            fit(&t.empty, CELL_SIZE, w - 8.0),
        ));
        f.y += ROW_H;
    }
    for (r, row) in t.rows.iter().enumerate() {
        if ROW_H > f.room() {
            f.new_page();
            header(f, t, &widths);
        }
        let y = f.y;
        if r % 2 == 1 {
            let x = f.left();
            f.push(Op::Path {
                subpaths: vec![rect(x, y, w, ROW_H)],
                closed: true,
                fill: Some((ZEBRA, 1.0)),
                stroke: None,
            });
        }
        cells(f, t, &widths, y + 9.0, |c| {
            row.get(c).map_or("", String::as_str)
        });
        f.y += ROW_H;
    }
    let (x, y) = (f.left(), f.y);
    f.push(Op::Path {
        subpaths: vec![vec![(x, y), (x + w, y)]],
        closed: false,
        fill: None,
        stroke: Some(solid(RULE, 0.5)),
    });
    f.y += 10.0;
}

fn header(f: &mut Flow, t: &Table, widths: &[f32]) {
    let w = f.content_width();
    let (x0, y) = (f.left(), f.y);
    f.push(Op::Path {
        subpaths: vec![rect(x0, y, w, ROW_H + 1.0)],
        closed: true,
        fill: Some((HEADER_BG, 1.0)),
        stroke: None,
    });
    cells(f, t, widths, y + 9.5, |c| t.columns[c].title.as_str());
    f.y += ROW_H + 1.0;
}

/// One line of cells at baseline `y`: each cut to its column, numbers set flush right.
fn cells<'a>(f: &mut Flow, t: &Table, widths: &[f32], y: f32, cell: impl Fn(usize) -> &'a str) {
    let mut x = f.left();
    for (c, cw) in widths.iter().enumerate() {
        let s = fit(cell(c), CELL_SIZE, cw - 6.0);
        let tx = if t.columns[c].right {
            x + cw - 3.0 - text_width(&s, CELL_SIZE)
        } else {
            x + 3.0
        };
        f.push(text(tx, y, CELL_SIZE, INK, s));
        x += cw;
    }
}

fn bars(f: &mut Flow, c: &BarChart) {
    let w = f.content_width();
    let label_w = (w * 0.28).min(170.0);
    let note_w = (w * 0.22).min(130.0);
    let bar_w = w - label_w - note_w - 8.0;
    let row = 12.0;
    f.need(16.0 + row * c.bars.len().clamp(1, 4) as f32);
    let (x, y) = (f.left(), f.y + 10.0);
    f.push(text(x, y, 10.0, INK, fit(&c.title, 10.0, w)));
    f.y += 16.0;
    let max = if c.max > 0.0 { c.max } else { 1.0 };
    let mut top = f.y;
    for b in &c.bars {
        if row > f.room() {
            f.new_page();
            top = f.y;
        }
        let y = f.y;
        let x = f.left();
        f.push(text(
            x,
            y + 8.5,
            CELL_SIZE,
            INK,
            fit(&b.label, CELL_SIZE, label_w - 4.0),
        ));
        let len = (b.value / max).clamp(0.0, 1.0) as f32 * bar_w;
        let bx = x + label_w;
        f.push(Op::Path {
            subpaths: vec![rect(bx, y + 2.0, bar_w, row - 4.0)],
            closed: true,
            fill: Some((Rgb(238, 238, 238), 1.0)),
            stroke: None,
        });
        if len > 0.0 {
            f.push(Op::Path {
                subpaths: vec![rect(bx, y + 2.0, len, row - 4.0)],
                closed: true,
                fill: Some((c.colour, 1.0)),
                stroke: None,
            });
        }
        f.push(text(
            bx + bar_w + 6.0,
            y + 8.5,
            CELL_SIZE,
            GREY,
            fit(&b.note, CELL_SIZE, note_w),
        ));
        f.y += row;
    }
    if let Some((v, label)) = &c.reference {
        let rx = f.left() + label_w + (v / max).clamp(0.0, 1.0) as f32 * bar_w;
        let bottom = f.y;
        f.push(Op::Path {
            subpaths: vec![vec![(rx, top), (rx, bottom)]],
            closed: false,
            fill: None,
            stroke: Some(Stroke {
                colour: Rgb(200, 40, 40),
                width: 0.8,
                dashed: true,
            }),
        });
        f.push(text(
            rx + 2.0,
            bottom + 8.0,
            7.0,
            Rgb(200, 40, 40),
            label.clone(),
        ));
        f.y += 10.0;
    }
    f.y += 8.0;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::{Column, Paper};

    fn report(blocks: Vec<Block>) -> Report {
        Report {
            title: "t".into(),
            paper: Paper::default(),
            footer: "footer".into(),
            blocks,
        }
    }

    fn texts(pages: &[Vec<Op>]) -> Vec<Vec<String>> {
        pages
            .iter()
            .map(|p| {
                p.iter()
                    .filter_map(|o| match o {
                        Op::Text { text, .. } => Some(text.clone()),
                        _ => None,
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_long_table_continues_under_a_repeated_header_and_keeps_every_row() {
        let rows: Vec<Vec<String>> = (0..300)
            .map(|i| vec![format!("楼栋 B{i}"), format!("{}", i * 3)])
            .collect();
        let t = Table {
            caption: Some("楼栋 buildings".into()),
            columns: vec![Column::text("楼栋", 3.0), Column::number("户数", 1.0)],
            rows,
            empty: "none".into(),
        };
        let pages = layout(&report(vec![Block::Table(t)])).unwrap();
        assert!(pages.len() >= 4, "{} pages", pages.len());
        let t = texts(&pages);
        for (i, p) in t.iter().enumerate() {
            assert!(p.contains(&"楼栋".to_owned()), "page {i} has no header");
            assert!(p.contains(&format!("{} / {}", i + 1, pages.len())));
        }
        let all: Vec<&String> = t.iter().flatten().collect();
        for i in 0..300 {
            assert!(
                all.iter().any(|s| **s == format!("楼栋 B{i}")),
                "row {i} lost"
            );
        }
        // nothing is drawn below the footer rule
        let (_, h) = Paper::default().points();
        for p in &pages {
            for o in p {
                if let Op::Text { y, text, .. } = o {
                    assert!(*y <= h - MARGIN + 4.0 + 0.01, "{text} at {y}");
                }
            }
        }
    }

    #[test]
    fn a_page_break_starts_a_new_page_but_never_an_empty_one() {
        let pages = layout(&report(vec![
            Block::PageBreak,
            Block::Heading("a".into()),
            Block::PageBreak,
            Block::PageBreak,
            Block::Heading("b".into()),
        ]))
        .unwrap();
        assert_eq!(pages.len(), 2);
    }

    #[test]
    fn a_map_taller_than_a_page_is_refused_naming_the_paper() {
        let spec = crate::doc::MapSpec {
            extent: geo::Rect::new((0.0, 0.0), (1.0, 1.0)),
            height: Some(5000.0),
            layers: vec![],
            legend: vec![],
            caption: None,
        };
        let e = layout(&report(vec![Block::Map(spec)])).unwrap_err();
        assert!(e.to_string().contains("A4 portrait"), "{e}");
    }
}
