//! The few SVG primitives every figure writes: numbers that can never be "NaN", escaped text, and
//! text elements. Keeping them in one place is what makes the "no non-finite number in any
//! attribute" promise checkable.

use std::fmt::{self, Write as _};

use crate::text::{self, Font};

/// The font stack of every figure. DejaVu Sans comes with Debian (and is what the text widths in
/// [`crate::text`] were measured for); the others are narrower, so estimates stay on the safe side.
pub(crate) const FONT_FAMILY: &str = "DejaVu Sans, Helvetica, Arial, sans-serif";

/// A coordinate printed with at most two decimals; anything non-finite prints as 0 so that no
/// "NaN" ever reaches the SVG (callers skip non-finite data; this is the last line of defence).
#[derive(Clone, Copy)]
pub(crate) struct P(pub f64);

impl fmt::Display for P {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Far outside any figure, and small enough that {:.2} stays short.
        let v = if self.0.is_finite() { self.0.clamp(-1e7, 1e7) } else { 0.0 };
        let s = format!("{v:.2}");
        match s.trim_end_matches('0').trim_end_matches('.') {
            "-0" | "" => f.write_str("0"),
            t => f.write_str(t),
        }
    }
}

/// Escapes text for XML character data and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters other than tab and newline are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// How a text element is anchored horizontally.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Anchor {
    Start,
    Middle,
    End,
}

impl Anchor {
    fn attr(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        }
    }
}

/// One `<text>` element at (x, y) (the baseline), from label markup (see [`crate::text`]), with
/// an optional rotation about its anchor and extra attributes such as a class or a fill.
pub(crate) fn text(out: &mut String, x: f64, y: f64, font: Font, anchor: Anchor, markup: &str, extra: &str) {
    let weight = if font.bold { " font-weight=\"bold\"" } else { "" };
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"{}\" font-size=\"{}\"{weight} text-anchor=\"{}\"{}{extra}>{}</text>",
        P(x),
        P(y),
        P(font.size),
        anchor.attr(),
        if extra.is_empty() || extra.starts_with(' ') { "" } else { " " },
        text::to_svg(markup, font.size)
    );
}

/// A `<text>` rotated by -90 degrees about (x, y): the y-axis label reads bottom to top.
pub(crate) fn vertical_text(out: &mut String, x: f64, y: f64, font: Font, markup: &str) {
    let extra = format!("class=\"axis-label y\" transform=\"rotate(-90 {} {})\"", P(x), P(y));
    text(out, x, y, font, Anchor::Middle, markup, &extra);
}

/// The opening tag of a standalone SVG document of the given size.
pub(crate) fn open_document(out: &mut String, width: f64, height: f64, title: &str) {
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
         font-family=\"{FONT_FAMILY}\" role=\"img\">",
        w = P(width),
        h = P(height)
    );
    if !title.is_empty() {
        let _ = writeln!(out, "<title>{}</title>", escape(&text::plain(title)));
    }
    let _ = writeln!(out, "<rect width=\"{}\" height=\"{}\" fill=\"white\"/>", P(width), P(height));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_finite() {
        assert_eq!(P(1.0).to_string(), "1");
        assert_eq!(P(1.256).to_string(), "1.26");
        assert_eq!(P(-0.001).to_string(), "0");
        assert_eq!(P(f64::NAN).to_string(), "0");
        assert_eq!(P(f64::INFINITY).to_string(), "0");
        assert_eq!(P(1e300).to_string(), "10000000");
    }

    #[test]
    fn escaping_covers_markup_and_control_characters() {
        assert_eq!(escape("a<b & \"c\" 'd'>"), "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
        assert_eq!(escape("bell\u{7}"), "bell ");
    }
}
