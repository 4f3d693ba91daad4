//! The few SVG elements every figure writes: text elements and the document's opening, built on
//! the number and text guards of [`crate::xml`].

use std::fmt::Write as _;

use crate::text::{self, Font};
use crate::xml::{escape, P};

/// The font stack of every figure. DejaVu Sans comes with Debian (and is what the text widths in
/// [`crate::text`] were measured for); the others are narrower, so estimates stay on the safe side.
pub(crate) const FONT_FAMILY: &str = "DejaVu Sans, Helvetica, Arial, sans-serif";

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
