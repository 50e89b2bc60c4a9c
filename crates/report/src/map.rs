//! Maps: longitude/latitude layers projected into a frame, with a scale bar, a north arrow and
//! the OpenStreetMap attribution.
use crate::doc::{MapSpec, Rgb, Shapes, Style, ATTRIBUTION};
use crate::font::{fit, text_width};
use crate::layout::{rect, solid, text, Op, Stroke, GREY, INK};

/// Metres per degree of latitude (mean).
const M_PER_DEG: f64 = 111_320.0;

/// Local equirectangular projection of the extent into the frame (north up, true shape at the
/// extent's mid latitude — good to well under 1 % over a city).
struct Projection {
    lon0: f64,
    lat1: f64,
    k: f64,
    scale: f64,
    x0: f32,
    y0: f32,
}

impl Projection {
    fn new(spec: &MapSpec, x: f32, y: f32, w: f32, h: f32) -> Projection {
        let e = spec.extent;
        let (min, max) = (e.min(), e.max());
        let mid = f64::midpoint(min.y, max.y).to_radians();
        let k = mid.cos().max(0.01);
        let dx = ((max.x - min.x) * k).max(1e-9);
        let dy = (max.y - min.y).max(1e-9);
        let scale = (f64::from(w) / dx).min(f64::from(h) / dy);
        // centre the extent in the frame
        let pad_x = (f64::from(w) - dx * scale) / 2.0;
        let pad_y = (f64::from(h) - dy * scale) / 2.0;
        Projection {
            lon0: min.x,
            lat1: max.y,
            k,
            scale,
            x0: x + pad_x as f32,
            y0: y + pad_y as f32,
        }
    }
    fn xy(&self, lon: f64, lat: f64) -> (f32, f32) {
        (
            self.x0 + ((lon - self.lon0) * self.k * self.scale) as f32,
            self.y0 + ((self.lat1 - lat) * self.scale) as f32,
        )
    }
    fn metres_per_point(&self) -> f64 {
        M_PER_DEG / self.scale
    }
}

fn style_fill(s: &Style) -> Option<(Rgb, f32)> {
    s.fill.map(|c| (c, s.fill_opacity))
}

fn style_stroke(s: &Style) -> Option<Stroke> {
    s.stroke.filter(|_| s.stroke_width > 0.0).map(|c| Stroke {
        colour: c,
        width: s.stroke_width,
        dashed: s.dashed,
    })
}

/// The map's drawing operations in the frame `x, y, w, h`.
pub(crate) fn draw(spec: &MapSpec, x: f32, y: f32, w: f32, h: f32) -> Vec<Op> {
    let p = Projection::new(spec, x, y, w, h);
    let mut ops = vec![
        Op::Path {
            subpaths: vec![rect(x, y, w, h)],
            closed: true,
            fill: Some((Rgb(250, 250, 247), 1.0)),
            stroke: None,
        },
        Op::Clip { x, y, w, h },
    ];
    for layer in &spec.layers {
        match &layer.shapes {
            Shapes::Polygons(polys) => {
                let mut subpaths = Vec::new();
                let mut dots = Vec::new();
                for mp in polys {
                    for poly in &mp.0 {
                        let ring: Vec<(f32, f32)> =
                            poly.exterior().0.iter().map(|c| p.xy(c.x, c.y)).collect();
                        if ring.len() < 3 {
                            continue;
                        }
                        let (bx0, by0, bx1, by1) = bounds(&ring);
                        if bx1 < x || bx0 > x + w || by1 < y || by0 > y + h {
                            continue; // outside the frame
                        }
                        if bx1 - bx0 < 0.6 && by1 - by0 < 0.6 {
                            // smaller than a printed dot: one dot, not a ring of points
                            dots.push((f32::midpoint(bx0, bx1), f32::midpoint(by0, by1)));
                            continue;
                        }
                        subpaths.push(dedup(ring));
                        for hole in poly.interiors() {
                            let r: Vec<(f32, f32)> =
                                hole.0.iter().map(|c| p.xy(c.x, c.y)).collect();
                            if r.len() >= 3 {
                                subpaths.push(dedup(r));
                            }
                        }
                    }
                }
                if !subpaths.is_empty() {
                    ops.push(Op::Path {
                        subpaths,
                        closed: true,
                        fill: style_fill(&layer.style),
                        stroke: style_stroke(&layer.style),
                    });
                }
                if !dots.is_empty() {
                    let c = layer.style.fill.or(layer.style.stroke).unwrap_or(INK);
                    ops.push(Op::Path {
                        subpaths: dots
                            .iter()
                            .map(|&(cx, cy)| rect(cx - 0.35, cy - 0.35, 0.7, 0.7))
                            .collect(),
                        closed: true,
                        fill: Some((c, layer.style.fill_opacity.max(0.6))),
                        stroke: None,
                    });
                }
            }
            Shapes::Lines(lines) => {
                let subpaths: Vec<Vec<(f32, f32)>> = lines
                    .iter()
                    .map(|l| dedup(l.0.iter().map(|c| p.xy(c.x, c.y)).collect()))
                    .filter(|l| {
                        l.len() >= 2 && {
                            let (bx0, by0, bx1, by1) = bounds(l);
                            !(bx1 < x || bx0 > x + w || by1 < y || by0 > y + h)
                        }
                    })
                    .collect();
                if !subpaths.is_empty() {
                    ops.push(Op::Path {
                        subpaths,
                        closed: false,
                        fill: None,
                        stroke: style_stroke(&layer.style),
                    });
                }
            }
            Shapes::Points(points) => {
                let centres: Vec<(f32, f32)> =
                    points.iter().map(|(pt, _)| p.xy(pt.x(), pt.y())).collect();
                if centres.is_empty() {
                    continue;
                }
                ops.push(Op::Circles {
                    centres: centres.clone(),
                    r: layer.style.radius,
                    fill: style_fill(&layer.style),
                    stroke: style_stroke(&layer.style),
                });
                for ((_, label), (cx, cy)) in points.iter().zip(centres) {
                    if let Some(l) = label {
                        ops.push(text(
                            cx + layer.style.radius + 1.0,
                            cy + 2.5,
                            6.5,
                            INK,
                            l.clone(),
                        ));
                    }
                }
            }
        }
    }
    ops.push(Op::Unclip);
    // frame
    ops.push(Op::Path {
        subpaths: vec![rect(x, y, w, h)],
        closed: true,
        fill: None,
        stroke: Some(solid(Rgb(120, 120, 120), 0.6)),
    });
    ops.extend(scale_bar(&p, x, y, h));
    ops.extend(north_arrow(x + w, y));
    // attribution, bottom right on a white band
    let aw = text_width(ATTRIBUTION, 6.5) + 6.0;
    ops.push(Op::Path {
        subpaths: vec![rect(x + w - aw - 1.0, y + h - 10.0, aw, 9.0)],
        closed: true,
        fill: Some((Rgb(255, 255, 255), 0.85)),
        stroke: None,
    });
    ops.push(text(x + w - aw + 2.0, y + h - 3.0, 6.5, GREY, ATTRIBUTION));
    ops
}

fn bounds(pts: &[(f32, f32)]) -> (f32, f32, f32, f32) {
    pts.iter().fold(
        (
            f32::INFINITY,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NEG_INFINITY,
        ),
        |(a, b, c, d), &(x, y)| (a.min(x), b.min(y), c.max(x), d.max(y)),
    )
}

/// Drops consecutive points closer than a twentieth of a point (invisible in print, and most of
/// a dense footprint's vertices at city scale).
fn dedup(pts: Vec<(f32, f32)>) -> Vec<(f32, f32)> {
    let mut out: Vec<(f32, f32)> = Vec::with_capacity(pts.len());
    for q in pts {
        if out
            .last()
            .is_none_or(|l| (l.0 - q.0).abs() > 0.05 || (l.1 - q.1).abs() > 0.05)
        {
            out.push(q);
        }
    }
    out
}

fn scale_bar(p: &Projection, x: f32, y: f32, h: f32) -> Vec<Op> {
    let mpp = p.metres_per_point();
    let target = mpp * 80.0; // about 80 pt long
    let pow = 10f64.powf(target.log10().floor());
    let nice = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * pow)
        .rfind(|l| *l <= target)
        .unwrap_or(pow);
    let len = (nice / mpp) as f32;
    let label = if nice >= 1000.0 {
        format!("{} km", nice / 1000.0)
    } else {
        format!("{nice} m")
    };
    let (bx, by) = (x + 8.0, y + h - 12.0);
    vec![
        Op::Path {
            subpaths: vec![rect(
                bx - 3.0,
                by - 11.0,
                len + 6.0 + text_width(&label, 6.5) + 4.0,
                16.0,
            )],
            closed: true,
            fill: Some((Rgb(255, 255, 255), 0.85)),
            stroke: None,
        },
        Op::Path {
            subpaths: vec![vec![
                (bx, by - 3.0),
                (bx, by),
                (bx + len, by),
                (bx + len, by - 3.0),
            ]],
            closed: false,
            fill: None,
            stroke: Some(solid(INK, 0.8)),
        },
        text(bx + len + 4.0, by + 1.0, 6.5, INK, label),
    ]
}

fn north_arrow(right: f32, top: f32) -> Vec<Op> {
    let (cx, cy) = (right - 14.0, top + 10.0);
    vec![
        Op::Path {
            subpaths: vec![vec![
                (cx, cy),
                (cx + 4.0, cy + 12.0),
                (cx, cy + 9.0),
                (cx - 4.0, cy + 12.0),
            ]],
            closed: true,
            fill: Some((INK, 1.0)),
            stroke: None,
        },
        text(cx - 2.5, cy + 20.0, 7.0, INK, "N"),
    ]
}

const LEGEND_ROW: f32 = 11.0;

fn legend_columns(w: f32) -> usize {
    ((w / 150.0).floor() as usize).max(1)
}

/// Height the legend of `spec` takes under a map `w` points wide.
pub(crate) fn legend_height(spec: &MapSpec, w: f32) -> f32 {
    if spec.legend.is_empty() {
        return 0.0;
    }
    let rows = spec.legend.len().div_ceil(legend_columns(w));
    rows as f32 * LEGEND_ROW + 6.0
}

/// The legend under the map, several entries to a row.
pub(crate) fn legend(spec: &MapSpec, x: f32, y: f32, w: f32) -> Vec<Op> {
    let cols = legend_columns(w);
    let cw = w / cols as f32;
    let mut ops = Vec::new();
    for (i, item) in spec.legend.iter().enumerate() {
        let (c, r) = (i % cols, i / cols);
        let lx = x + c as f32 * cw;
        let ly = y + r as f32 * LEGEND_ROW;
        if item.marker {
            ops.push(Op::Circles {
                centres: vec![(lx + 5.0, ly + 5.0)],
                r: item.style.radius.min(4.0),
                fill: style_fill(&item.style),
                stroke: style_stroke(&item.style),
            });
        } else if item.style.fill.is_none() {
            ops.push(Op::Path {
                subpaths: vec![vec![(lx, ly + 5.0), (lx + 10.0, ly + 5.0)]],
                closed: false,
                fill: None,
                stroke: style_stroke(&Style {
                    stroke_width: item.style.stroke_width.max(1.0),
                    ..item.style
                }),
            });
        } else {
            ops.push(Op::Path {
                subpaths: vec![rect(lx, ly + 1.0, 10.0, 8.0)],
                closed: true,
                fill: style_fill(&item.style),
                stroke: style_stroke(&item.style),
            });
        }
        ops.push(text(
            lx + 14.0,
            ly + 8.0,
            7.0,
            INK,
            fit(&item.label, 7.0, cw - 18.0),
        ));
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::{MapLayer, MapSpec};
    use geo::{polygon, MultiPolygon, Rect};

    #[test]
    fn the_projection_keeps_shapes_and_the_scale_bar_measures_true_metres() {
        // 0.01° × 0.01° at 43.7° N: 723 m wide, 1113 m high
        let spec = MapSpec {
            extent: Rect::new((7.41, 43.73), (7.42, 43.74)),
            height: Some(300.0),
            layers: vec![],
            legend: vec![],
            caption: None,
        };
        let p = Projection::new(&spec, 0.0, 0.0, 500.0, 300.0);
        let (x0, y0) = p.xy(7.41, 43.74);
        let (x1, y1) = p.xy(7.42, 43.73);
        let ratio = (x1 - x0) / (y1 - y0);
        let want = (43.735f64.to_radians().cos()) as f32;
        assert!((ratio - want).abs() < 1e-3, "{ratio} vs {want}");
        assert!(
            (y1 - y0 - 300.0).abs() < 0.01,
            "the tall side fills the frame"
        );
        let metres = f64::from(y1 - y0) * p.metres_per_point();
        assert!((metres - 1113.2).abs() < 1.0, "{metres}");
    }

    #[test]
    fn every_map_carries_the_attribution_and_drops_what_lies_outside() {
        let inside = polygon![(x: 7.411, y: 43.731), (x: 7.415, y: 43.731), (x: 7.415, y: 43.735)];
        let outside = polygon![(x: 8.0, y: 44.0), (x: 8.1, y: 44.0), (x: 8.1, y: 44.1)];
        let spec = MapSpec {
            extent: Rect::new((7.41, 43.73), (7.42, 43.74)),
            height: Some(300.0),
            layers: vec![MapLayer {
                style: Style::default(),
                shapes: Shapes::Polygons(vec![
                    MultiPolygon(vec![inside]),
                    MultiPolygon(vec![outside]),
                ]),
            }],
            legend: vec![],
            caption: None,
        };
        let ops = draw(&spec, 0.0, 0.0, 400.0, 300.0);
        assert!(ops
            .iter()
            .any(|o| matches!(o, Op::Text { text, .. } if text == ATTRIBUTION)));
        let rings: usize = ops
            .iter()
            .map(|o| match o {
                Op::Path {
                    subpaths,
                    closed: true,
                    fill: None,
                    stroke: Some(s),
                } if s.width == 0.5 => subpaths.len(),
                _ => 0,
            })
            .sum();
        assert_eq!(rings, 1);
    }
}
