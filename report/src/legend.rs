//! Legends and note boxes: their entries, their size, where they go, and how they are drawn.
//!
//! Placement never hides data: a box goes into a corner of the plot area only if no ink lies
//! under it, and otherwise outside the plot area (to the right, or below when asked).

use std::fmt::Write as _;

use crate::draw::MARKER_R;
use crate::figure::Figure;
use crate::frame::{Ink, Rect};
use crate::palette::{Colour, Dash, Style};
use crate::series::Kind;
use crate::svg::{self, Anchor};
use crate::text::{self, Font};
use crate::xml::P;

/// What a legend entry shows before its label.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Glyph {
    Fill(Colour),
    Line(Colour, Dash),
    Marker(Style),
    Bar(Style),
    Shade,
}

#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub lines: Vec<String>,
    pub glyphs: Vec<Glyph>,
}

/// The widest a legend label may be before it wraps, in pixels.
const MAX_LABEL: f64 = 190.0;
const PAD: f64 = 7.0;
const GLYPH_W: f64 = 24.0;
/// The vertical space of one legend row and of each further line of a wrapped label.
const ROW: f64 = 17.0;
const LINE: f64 = 13.0;
/// The line height of notes, in a box or under a title.
pub(crate) const NOTE_LINE: f64 = LINE + 1.0;

/// The legend entries of a figure: one per distinct label, in order of first use, with the
/// glyphs of every series that shares the label (a band and its median line read as one entry).
pub(crate) fn entries(fig: &Figure, styles: &[Style]) -> Vec<Entry> {
    let mut labels: Vec<String> = Vec::new();
    let mut glyphs: Vec<Vec<Glyph>> = Vec::new();
    let mut add = |label: &str, g: Glyph| {
        if label.trim().is_empty() {
            return;
        }
        match labels.iter().position(|l| l == label) {
            Some(i) => {
                if !glyphs[i].contains(&g) {
                    glyphs[i].push(g)
                }
            }
            None => {
                labels.push(label.to_string());
                glyphs.push(vec![g]);
            }
        }
    };
    for span in &fig.spans {
        add(&span.label, Glyph::Shade);
    }
    for (s, &st) in fig.series.iter().zip(styles) {
        let g = match s.kind {
            Kind::Band | Kind::StepBand => Glyph::Fill(st.colour),
            Kind::Line | Kind::Histogram => Glyph::Line(st.colour, st.dash),
            Kind::Dashed => Glyph::Line(st.colour, Dash::Dashed),
            Kind::Points => Glyph::Marker(st),
            Kind::ErrorBars => Glyph::Bar(st),
        };
        add(&s.label, g);
    }
    labels
        .into_iter()
        .zip(glyphs)
        .map(|(l, mut g)| {
            // Fills behind lines behind markers.
            g.sort_by_key(|g| match g {
                Glyph::Shade | Glyph::Fill(_) => 0,
                Glyph::Line(..) => 1,
                _ => 2,
            });
            Entry { lines: text::wrap(&l, Font::LEGEND, MAX_LABEL), glyphs: g }
        })
        .collect()
}

/// The entries of several figures in one legend: each label once, in order of first use.
pub(crate) fn merged_entries<'a>(figs: impl IntoIterator<Item = &'a Figure>) -> Vec<Entry> {
    let mut merged: Vec<Entry> = Vec::new();
    for f in figs {
        for e in entries(f, &f.styles()) {
            if !merged.iter().any(|k| k.lines == e.lines) {
                merged.push(e);
            }
        }
    }
    merged
}

/// The height a legend of these entries takes under a board `width` pixels wide, gaps included.
pub(crate) fn below_height(entries: &[Entry], width: f64) -> f64 {
    if entries.is_empty() {
        0.0
    } else {
        rows_size(entries, width - 24.0).1 .1 + 14.0
    }
}

fn entry_width(e: &Entry) -> f64 {
    GLYPH_W + 6.0 + e.lines.iter().map(|l| text::width(l, Font::LEGEND)).fold(0.0, f64::max)
}

fn entry_height(e: &Entry) -> f64 {
    ROW + LINE * e.lines.len().saturating_sub(1) as f64
}

/// The size of a legend drawn as one column.
pub(crate) fn column_size(entries: &[Entry]) -> (f64, f64) {
    let w = entries.iter().map(entry_width).fold(0.0, f64::max);
    let h: f64 = entries.iter().map(entry_height).sum();
    (w + 2.0 * PAD, h + 2.0 * PAD - 4.0)
}

/// The columns of a legend laid out in rows across `width` pixels: (columns, size).
pub(crate) fn rows_size(entries: &[Entry], width: f64) -> (usize, (f64, f64)) {
    let cell = entries.iter().map(entry_width).fold(0.0, f64::max) + 14.0;
    let cols = (((width - 2.0 * PAD) / cell).floor() as usize).clamp(1, entries.len().max(1));
    let rows = entries.chunks(cols).map(|r| r.iter().map(entry_height).fold(0.0, f64::max));
    let h: f64 = rows.sum();
    (cols, (cols as f64 * cell + 2.0 * PAD - 14.0, h + 2.0 * PAD - 4.0))
}

/// The corners a box may take inside a plot area, in order of preference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Corner {
    TopRight,
    TopLeft,
    BottomRight,
    BottomLeft,
}

pub(crate) const CORNERS: [Corner; 4] = [Corner::TopRight, Corner::TopLeft, Corner::BottomRight, Corner::BottomLeft];

/// The box of size (w, h) in a corner of `area`, 6 px in from the frame.
pub(crate) fn in_corner(area: &Rect, (w, h): (f64, f64), c: Corner) -> Rect {
    let x = if matches!(c, Corner::TopLeft | Corner::BottomLeft) { area.x + 6.0 } else { area.right() - w - 6.0 };
    let y = if matches!(c, Corner::TopLeft | Corner::TopRight) { area.y + 6.0 } else { area.bottom() - h - 6.0 };
    Rect { x, y, w, h }
}

/// The first corner whose box fits in `area`, covers no ink and overlaps none of `taken`.
pub(crate) fn free_corner(area: &Rect, size: (f64, f64), ink: &Ink, taken: &[Rect]) -> Option<Rect> {
    if size.0 + 12.0 > area.w || size.1 + 12.0 > area.h {
        return None;
    }
    CORNERS
        .into_iter()
        .map(|c| in_corner(area, size, c))
        .find(|r| ink.hits(r, 3.0) == 0 && !taken.iter().any(|t| t.overlaps(r, 4.0)))
}

fn glyph(out: &mut String, g: Glyph, gx: f64, gy: f64) {
    let mid = gx + GLYPH_W / 2.0;
    match g {
        Glyph::Shade => {
            let _ = write!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"{GLYPH_W}\" height=\"11\" fill=\"#000000\" fill-opacity=\"0.1\"/>",
                P(gx),
                P(gy - 5.5)
            );
        }
        Glyph::Fill(c) => {
            let _ = write!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"{GLYPH_W}\" height=\"11\" fill=\"{c}\" fill-opacity=\"0.3\"/>",
                P(gx),
                P(gy - 5.5)
            );
        }
        Glyph::Line(c, dash) => {
            let d = dash.dasharray().map_or(String::new(), |d| format!(" stroke-dasharray=\"{d}\""));
            let _ = write!(out, "<path d=\"M{} {}h{GLYPH_W}\" stroke=\"{c}\" stroke-width=\"2\"{d}/>", P(gx), P(gy));
        }
        Glyph::Marker(st) | Glyph::Bar(st) => {
            if matches!(g, Glyph::Bar(_)) {
                let _ = write!(
                    out,
                    "<path d=\"M{} {}v12\" stroke=\"{}\" stroke-width=\"1.5\"/>",
                    P(mid),
                    P(gy - 6.0),
                    st.colour
                );
            }
            let paint = if st.marker.is_stroke() {
                format!("stroke=\"{}\" stroke-width=\"1.6\" fill=\"none\"", st.colour)
            } else {
                format!("fill=\"{}\"", st.colour)
            };
            let _ = write!(out, "<path d=\"{}\" {paint}/>", st.marker.path(mid, gy, MARKER_R));
        }
    }
}

/// Draws a legend in `rect` with `columns` columns (1 for a corner or the right side).
pub(crate) fn draw(out: &mut String, entries: &[Entry], rect: &Rect, columns: usize) {
    let _ = writeln!(
        out,
        "<g class=\"legend\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"white\" fill-opacity=\"0.9\" stroke=\"#bbbbbb\"/>",
        P(rect.x),
        P(rect.y),
        P(rect.w),
        P(rect.h)
    );
    let cell = entries.iter().map(entry_width).fold(0.0, f64::max) + 14.0;
    let mut y = rect.y + PAD + 6.0;
    for row in entries.chunks(columns.max(1)) {
        for (c, e) in row.iter().enumerate() {
            let gx = rect.x + PAD + c as f64 * cell;
            for &g in &e.glyphs {
                glyph(out, g, gx, y);
            }
            for (k, line) in e.lines.iter().enumerate() {
                let ty = y + 4.0 + k as f64 * LINE;
                svg::text(out, gx + GLYPH_W + 6.0, ty, Font::LEGEND, Anchor::Start, line, " class=\"legend-label\"");
            }
        }
        y += row.iter().map(entry_height).fold(0.0, f64::max);
    }
    out.push_str("</g>\n");
}

/// Note lines wrapped to at most `max_width` pixels.
pub(crate) fn note_lines(notes: &[String], max_width: f64) -> Vec<String> {
    notes.iter().flat_map(|n| text::wrap(n, Font::LEGEND, max_width.max(80.0))).collect()
}

pub(crate) fn notes_size(lines: &[String]) -> (f64, f64) {
    let w = lines.iter().map(|l| text::width(l, Font::LEGEND)).fold(0.0, f64::max);
    (w + 2.0 * PAD, lines.len() as f64 * NOTE_LINE + 2.0 * PAD - 2.0)
}

pub(crate) fn draw_notes(out: &mut String, lines: &[String], rect: &Rect) {
    let _ = writeln!(
        out,
        "<g class=\"note\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"white\" fill-opacity=\"0.9\" stroke=\"#dddddd\"/>",
        P(rect.x),
        P(rect.y),
        P(rect.w),
        P(rect.h)
    );
    for (k, line) in lines.iter().enumerate() {
        let y = rect.y + PAD + 9.0 + k as f64 * NOTE_LINE;
        svg::text(out, rect.x + PAD, y, Font::LEGEND, Anchor::Start, line, " fill=\"#222222\"");
    }
    out.push_str("</g>\n");
}
