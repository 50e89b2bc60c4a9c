//! The bundled font: Noto Sans CJK SC subset to GB 2312 + Latin + punctuation
//! (`data/fonts/NotoSansSC-gridmap.otf`, SIL OFL 1.1, `data/fonts/OFL.txt`).
use std::sync::LazyLock;

pub(crate) static FONT_BYTES: &[u8] = include_bytes!("../../../data/fonts/NotoSansSC-gridmap.otf");

struct Metrics {
    units_per_em: f32,
    /// Advance per char for the chars the font maps, looked up once per char.
    face: Option<ttf_parser::Face<'static>>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let face = ttf_parser::Face::parse(FONT_BYTES, 0).ok();
    Metrics {
        units_per_em: face
            .as_ref()
            .map_or(1000.0, |f| f32::from(f.units_per_em())),
        face,
    }
});

/// Whether the bundled font parses (checked once by the PDF writer).
pub(crate) fn available() -> bool {
    METRICS.face.is_some()
}

/// Advance of one char in em units (a missing glyph counts as half an em, like `.notdef`).
fn advance_em(c: char) -> f32 {
    let m = &*METRICS;
    let Some(face) = &m.face else {
        return if c.is_ascii() { 0.5 } else { 1.0 };
    };
    face.glyph_index(c)
        .and_then(|g| face.glyph_hor_advance(g))
        .map_or(0.5, |a| f32::from(a) / m.units_per_em)
}

/// Width in points of `text` set in the bundled font at `size` points.
///
/// ```
/// let w = gridmap_report::text_width("网格", 10.0);
/// assert!((w - 20.0).abs() < 0.5); // CJK ideographs are one em wide
/// assert!(gridmap_report::text_width("ab", 10.0) < w);
/// ```
pub fn text_width(text: &str, size: f32) -> f32 {
    text.chars().map(advance_em).sum::<f32>() * size
}

/// `text` cut to at most `width` points at `size`, with "…" when cut.
pub(crate) fn fit(text: &str, size: f32, width: f32) -> String {
    if text_width(text, size) <= width {
        return text.to_owned();
    }
    let ell = text_width("…", size);
    let mut out = String::new();
    let mut w = 0.0;
    for c in text.chars() {
        let cw = advance_em(c) * size;
        if w + cw + ell > width {
            break;
        }
        w += cw;
        out.push(c);
    }
    out.push('…');
    out
}

/// `text` broken into lines of at most `width` points: at spaces where a line has one, anywhere
/// between CJK characters, and inside a word only when the word alone is too long.
pub(crate) fn wrap(text: &str, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        let mut w = 0.0f32;
        let mut last_space: Option<usize> = None; // byte index in `line`
        for c in para.chars() {
            let cw = advance_em(c) * size;
            if w + cw > width && !line.is_empty() {
                if let Some(at) = last_space.filter(|_| !is_cjk(c)) {
                    let rest = line[at + 1..].to_owned();
                    line.truncate(at);
                    lines.push(std::mem::take(&mut line));
                    line = rest;
                } else {
                    lines.push(std::mem::take(&mut line));
                }
                last_space = None;
                w = text_width(&line, size);
                if c == ' ' {
                    continue;
                }
            }
            if c == ' ' {
                last_space = Some(line.len());
            } else if is_cjk(c) {
                // a break may fall after any ideograph
                last_space = None;
            }
            line.push(c);
            w += cw;
        }
        lines.push(line);
    }
    lines
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x2E80..=0x9FFF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_font_has_the_chinese_and_latin_the_reports_use() {
        assert!(available());
        let face = METRICS.face.as_ref().unwrap();
        for c in
            "网格图册覆盖报告幸福食堂党群服务站城市书房暖新驿站户数老人楼长社区小区abcXYZ0123©%·…"
                .chars()
        {
            assert!(face.glyph_index(c).is_some(), "no glyph for {c}");
        }
    }

    #[test]
    fn wrapping_keeps_every_character_and_respects_the_width() {
        let text = "Coverage of 幸福食堂 within fifteen minutes of walking 十五分钟生活圈覆盖情况统计表 end";
        let lines = wrap(text, 10.0, 80.0);
        assert!(lines.len() > 2);
        for l in &lines {
            assert!(text_width(l, 10.0) <= 80.0 + 0.01, "{l}");
        }
        let joined: String = lines.concat().chars().filter(|c| *c != ' ').collect();
        let want: String = text.chars().filter(|c| *c != ' ').collect();
        assert_eq!(joined, want);
    }

    #[test]
    fn fitting_cuts_with_an_ellipsis() {
        assert_eq!(fit("abc", 10.0, 100.0), "abc");
        let cut = fit("网格图册覆盖报告幸福食堂", 10.0, 40.0);
        assert!(cut.ends_with('…'));
        assert!(text_width(&cut, 10.0) <= 40.0);
    }
}
