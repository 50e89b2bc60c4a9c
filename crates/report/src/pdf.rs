//! Writes laid-out pages as PDF with krilla.
use crate::doc::{Report, Rgb};
use crate::font::{available, FONT_BYTES};
use crate::layout::{Op, Stroke};
use crate::ReportError;
use krilla::color::rgb;
use krilla::geom::{Path, PathBuilder, Point};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, FillRule, LineCap, LineJoin, StrokeDash};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use krilla::Document;

fn paint(c: Rgb) -> krilla::paint::Paint {
    rgb::Color::new(c.0, c.1, c.2).into()
}

fn opacity(v: f32) -> NormalizedF32 {
    NormalizedF32::new(v.clamp(0.0, 1.0)).unwrap_or(NormalizedF32::ONE)
}

fn fill(f: Option<(Rgb, f32)>) -> Option<Fill> {
    f.map(|(c, o)| Fill {
        paint: paint(c),
        opacity: opacity(o),
        rule: FillRule::EvenOdd,
    })
}

fn stroke(s: Option<Stroke>) -> Option<krilla::paint::Stroke> {
    s.map(|s| krilla::paint::Stroke {
        paint: paint(s.colour),
        width: s.width,
        line_cap: LineCap::Round,
        line_join: LineJoin::Round,
        dash: s.dashed.then(|| StrokeDash {
            array: vec![3.0, 2.0],
            offset: 0.0,
        }),
        ..Default::default()
    })
}

fn path(subpaths: &[Vec<(f32, f32)>], closed: bool) -> Option<Path> {
    let mut pb = PathBuilder::new();
    for sp in subpaths {
        let mut it = sp.iter();
        let Some(&(x, y)) = it.next() else { continue };
        pb.move_to(x, y);
        for &(x, y) in it {
            pb.line_to(x, y);
        }
        if closed {
            pb.close();
        }
    }
    pb.finish()
}

fn circles(centres: &[(f32, f32)], r: f32) -> Option<Path> {
    const K: f32 = 0.552_284_8;
    let mut pb = PathBuilder::new();
    for &(cx, cy) in centres {
        let k = K * r;
        pb.move_to(cx + r, cy);
        pb.cubic_to(cx + r, cy + k, cx + k, cy + r, cx, cy + r);
        pb.cubic_to(cx - k, cy + r, cx - r, cy + k, cx - r, cy);
        pb.cubic_to(cx - r, cy - k, cx - k, cy - r, cx, cy - r);
        pb.cubic_to(cx + k, cy - r, cx + r, cy - k, cx + r, cy);
        pb.close();
    }
    pb.finish()
}

fn draw_path(
    s: &mut Surface<'_>,
    p: Option<Path>,
    f: Option<Fill>,
    st: Option<krilla::paint::Stroke>,
) {
    let Some(p) = p else { return };
    if f.is_none() && st.is_none() {
        return;
    }
    s.set_fill(f);
    s.set_stroke(st);
    s.draw_path(&p);
}

pub(crate) fn write(report: &Report, pages: &[Vec<Op>]) -> Result<Vec<u8>, ReportError> {
    if !available() {
        return Err(ReportError::Font);
    }
    let font = Font::new(FONT_BYTES.into(), 0).ok_or(ReportError::Font)?;
    let (w, h) = report.paper.points();
    let settings =
        || PageSettings::from_wh(w, h).ok_or_else(|| ReportError::Pdf("page size".into()));
    let mut doc = Document::new();
    doc.set_metadata(
        Metadata::new()
            .title(report.title.clone())
            .creator("gridmap".to_owned())
            .language("zh-CN".to_owned()),
    );
    for ops in pages {
        let mut page = doc.start_page_with(settings()?);
        let mut s = page.surface();
        let mut clips = 0usize;
        for op in ops {
            match op {
                Op::Text {
                    x,
                    y,
                    size,
                    colour,
                    text,
                } => {
                    if text.is_empty() {
                        continue;
                    }
                    s.set_stroke(None);
                    s.set_fill(fill(Some((*colour, 1.0))));
                    s.draw_text(
                        Point::from_xy(*x, *y),
                        font.clone(),
                        *size,
                        text,
                        false,
                        TextDirection::Auto,
                    );
                }
                Op::Path {
                    subpaths,
                    closed,
                    fill: f,
                    stroke: st,
                } => {
                    let f = if *closed { fill(*f) } else { None };
                    draw_path(&mut s, path(subpaths, *closed), f, stroke(*st));
                }
                Op::Circles {
                    centres,
                    r,
                    fill: f,
                    stroke: st,
                } => draw_path(&mut s, circles(centres, *r), fill(*f), stroke(*st)),
                Op::Clip { x, y, w, h } => {
                    if let Some(p) = path(&[crate::layout::rect(*x, *y, *w, *h)], true) {
                        s.push_clip_path(&p, &FillRule::NonZero);
                        clips += 1;
                    }
                }
                Op::Unclip => {
                    if clips > 0 {
                        s.pop();
                        clips -= 1;
                    }
                }
            }
        }
        for _ in 0..clips {
            s.pop();
        }
        s.finish();
        page.finish();
    }
    doc.finish().map_err(|e| ReportError::Pdf(format!("{e:?}")))
}
