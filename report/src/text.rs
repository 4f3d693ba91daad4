//! Label text: a small markup for subscripts and superscripts, and width estimates for laying
//! out text without font metrics.
//!
//! Markup: `_{...}` is a subscript and `^{...}` a superscript, so `E^{EM}_{clus} [GeV]` and
//! `σ_{stat}/R` read as a physicist writes them. Only the braced forms are markup: a plain `_` or
//! `^` prints as itself. The same markup becomes `<sub>`/`<sup>` in HTML captions.

use crate::xml::{escape, P};

/// A font size in pixels and whether it is bold; every text element of a figure uses one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Font {
    pub size: f64,
    pub bold: bool,
}

impl Font {
    pub const TICK: Font = Font { size: 11.0, bold: false };
    pub const LABEL: Font = Font { size: 12.5, bold: false };
    pub const LEGEND: Font = Font { size: 11.0, bold: false };
    pub const TITLE: Font = Font { size: 14.0, bold: true };
    /// The height a line of this font takes, baseline to baseline.
    pub fn line_height(self) -> f64 {
        (self.size * 1.3).ceil()
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Shift {
    Normal,
    Sub,
    Super,
}

/// The label split into runs of normal, subscript and superscript text.
fn runs(markup: &str) -> Vec<(Shift, String)> {
    let mut out: Vec<(Shift, String)> = vec![(Shift::Normal, String::new())];
    let chars: Vec<char> = markup.chars().collect();
    // The first '}' at or after each position, found in one pass from the end: a label full of
    // unclosed "_{" then costs one scan, not one per brace (quadratic in the label's length).
    let mut next_close: Vec<Option<usize>> = vec![None; chars.len() + 1];
    for i in (0..chars.len()).rev() {
        next_close[i] = if chars[i] == '}' { Some(i) } else { next_close[i + 1] };
    }
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if (c == '_' || c == '^') && chars.get(i + 1) == Some(&'{') {
            if let Some(close) = next_close[i + 2] {
                let inner: String = chars[i + 2..close].iter().collect();
                out.push((if c == '_' { Shift::Sub } else { Shift::Super }, inner));
                out.push((Shift::Normal, String::new()));
                i = close + 1;
                continue;
            }
        }
        if let Some(last) = out.last_mut() {
            last.1.push(c);
        }
        i += 1;
    }
    out.retain(|(_, s)| !s.is_empty());
    out
}

/// The label as plain text (markup removed), for `<title>` elements and width estimates.
pub fn plain(markup: &str) -> String {
    runs(markup).into_iter().map(|(_, s)| s).collect()
}

/// The label as SVG character data: escaped, with sub- and superscripts as `<tspan>`s shifted by
/// `dy` (understood by every SVG renderer, unlike `baseline-shift`) and shifted back afterwards.
pub(crate) fn to_svg(markup: &str, size: f64) -> String {
    let small = (size * 0.72).round();
    let mut out = String::new();
    let mut offset = 0.0;
    for (shift, s) in runs(markup) {
        let target = match shift {
            Shift::Normal => 0.0,
            Shift::Sub => (size * 0.25).round(),
            Shift::Super => -(size * 0.4).round(),
        };
        if shift == Shift::Normal && offset == 0.0 {
            out.push_str(&escape(&s));
        } else {
            let dy = target - offset;
            let fs = if shift == Shift::Normal { String::new() } else { format!(" font-size=\"{}\"", P(small)) };
            out.push_str(&format!("<tspan dy=\"{}\"{fs}>{}</tspan>", P(dy), escape(&s)));
        }
        offset = target;
    }
    out
}

/// The label as HTML: escaped, with `<sub>` and `<sup>`.
pub(crate) fn to_html(markup: &str) -> String {
    runs(markup)
        .into_iter()
        .map(|(shift, s)| match shift {
            Shift::Normal => escape(&s),
            Shift::Sub => format!("<sub>{}</sub>", escape(&s)),
            Shift::Super => format!("<sup>{}</sup>", escape(&s)),
        })
        .collect()
}

/// The advance of one character in DejaVu Sans, in ems (measured from the font's advance widths
/// and rounded up); characters not listed count as a wide lowercase letter.
fn advance(c: char) -> f64 {
    match c {
        ' ' | '.' | ',' | ':' | ';' | '!' | '\'' | '|' | 'i' | 'j' | 'l' | 'I' | 'J' => 0.34,
        'f' | 't' | 'r' | '(' | ')' | '[' | ']' | '{' | '}' | '-' | '/' | '\\' | '"' => 0.43,
        '0'..='9' | '+' | '=' | '<' | '>' | '#' | '$' | '_' | '^' | '~' | '*' => 0.65,
        'm' | 'w' | 'M' | 'W' | '%' | '@' | '\u{2212}' | '\u{2014}' => 1.0,
        'a'..='z' => 0.63,
        'A'..='Z' => 0.76,
        '\u{3c3}' | '\u{3bc}' | '\u{3b7}' | '\u{b1}' | '\u{d7}' => 0.7,
        _ => 0.8,
    }
}

/// An upper estimate of the rendered width of a label in pixels, markup included.
pub(crate) fn width(markup: &str, font: Font) -> f64 {
    let bold = if font.bold { 1.08 } else { 1.0 };
    let em: f64 = runs(markup)
        .iter()
        .map(|(shift, s)| {
            let scale = if *shift == Shift::Normal { 1.0 } else { 0.72 };
            s.chars().map(advance).sum::<f64>() * scale
        })
        .sum();
    em * font.size * bold
}

/// Splits a label into lines no wider than `max_width`, at spaces outside markup braces. A single
/// word wider than that stays whole on its line (it is never cut).
pub(crate) fn wrap(markup: &str, font: Font, max_width: f64) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut depth = 0usize;
    let mut word = String::new();
    for c in markup.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if c == ' ' && depth == 0 {
            words.push(std::mem::take(&mut word));
        } else {
            word.push(c);
        }
    }
    words.push(word);
    let mut lines: Vec<String> = Vec::new();
    for w in words.into_iter().filter(|w| !w.is_empty()) {
        match lines.last_mut() {
            Some(line) if width(&format!("{line} {w}"), font) <= max_width => {
                line.push(' ');
                line.push_str(&w);
            }
            _ => lines.push(w),
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_becomes_shifted_tspans_and_shifts_back() {
        let svg = to_svg("E^{EM}_{clus} [GeV]", 12.0);
        assert!(svg.starts_with("E<tspan dy=\"-5\" font-size=\"9\">EM</tspan><tspan dy=\"8\""), "{svg}");
        assert!(svg.ends_with("<tspan dy=\"-3\"> [GeV]</tspan>"), "{svg}");
        assert_eq!(to_svg("a_b ^c", 12.0), "a_b ^c");
        assert_eq!(to_svg("unclosed _{x", 12.0), "unclosed _{x");
        assert_eq!(to_html("σ_{stat} < 1"), "σ<sub>stat</sub> &lt; 1");
        assert_eq!(plain("10^{-3}"), "10-3");
        assert_eq!(plain("_{a_{b} c ^{"), "a_{b c ^{", "a brace group ends at the first closing brace");
        // Unclosed braces by the ten thousand stay text, in one pass over the label.
        let unclosed = "x_{".repeat(10_000);
        assert_eq!(plain(&unclosed), unclosed);
        assert_eq!(plain(&format!("{unclosed}}}")).len(), unclosed.len() - 2);
    }

    #[test]
    fn widths_grow_with_text_and_size() {
        let w = width("response", Font::TICK);
        assert!(w > 40.0 && w < 70.0, "{w}");
        assert!(width("MMMM", Font::TICK) > width("iiii", Font::TICK) * 2.0);
        assert!(width("x_{sub}", Font::TICK) < width("xsub", Font::TICK));
        assert!(width("a", Font::TITLE) > width("a", Font::TICK));
    }

    #[test]
    fn wrapping_keeps_words_and_braces_whole() {
        let lines = wrap("one two three four five six", Font::TICK, 60.0);
        assert!(lines.len() >= 3, "{lines:?}");
        assert_eq!(lines.join(" "), "one two three four five six");
        assert_eq!(wrap("E_{a b} c", Font::TICK, 1.0), ["E_{a b}", "c"]);
        assert_eq!(wrap("", Font::TICK, 100.0), Vec::<String>::new());
    }
}
