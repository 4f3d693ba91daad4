//! Draws one laid-out panel: grid lines, the data (clipped to the plot area), the frame, ticks,
//! labels, title, legend, notes and colour bar.

use std::fmt::Write as _;

use crate::draw;
use crate::figure::Figure;
use crate::frame::{Frame, Ink, Rect};
use crate::heatmap;
use crate::legend;
use crate::palette::Style;
use crate::placed::{Placed, TICK};
use crate::svg::{self, Anchor};
use crate::text::{self, Font};
use crate::xml::P;

const INK: &str = "#222222";

/// The data of a figure drawn into `f`, returning the ink and the number of data elements.
fn data(out: &mut String, fig: &Figure, f: &Frame, styles: &[Style]) -> (Ink, usize) {
    let mut ink = Ink::default();
    let mut drawn = 0;
    for span in &fig.spans {
        if f.x.ok(span.lo) && f.x.ok(span.hi) {
            let (a, b) = (f.px(span.lo).max(f.area.x - 1.0), f.px(span.hi).min(f.area.right() + 1.0));
            if b > a {
                let _ = writeln!(
                    out,
                    "<rect class=\"ref span\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#000000\" fill-opacity=\"0.07\"/>",
                    P(a),
                    P(f.area.y),
                    P(b - a),
                    P(f.area.h)
                );
            }
        }
    }
    if let Some(map) = &fig.heatmap {
        drawn += usize::from(map.draw(out, f, &mut ink) > 0);
    }
    // Fills first so that they never hide a line.
    let order = fig.series.iter().zip(styles);
    let (fills, lines): (Vec<_>, Vec<_>) = order.partition(|(s, _)| s.kind.is_fill());
    for (s, &style) in fills.into_iter().chain(lines) {
        drawn += usize::from(draw::series(out, s, style, f, &mut ink));
    }
    if fig.diagonal {
        let mut d = String::new();
        let mut last = None;
        for k in 0..=64 {
            let v = f.x.at(k as f64 / 64.0);
            if let Some(p) = f.at(v, v) {
                let _ = write!(d, "{}{} {}", if last.is_some() { 'L' } else { 'M' }, P(p.0), P(p.1));
                if f.y.contains(v) {
                    ink.segment(last.unwrap_or(p), p);
                }
                last = Some(p);
            }
        }
        if !d.is_empty() {
            let _ = writeln!(out, "<path class=\"ref diagonal\" d=\"{d}\" stroke=\"#444444\" stroke-width=\"1.3\" stroke-dasharray=\"5 4\" fill=\"none\"/>");
        }
    }
    let mut refs = String::new();
    for &v in fig.hlines.iter().filter(|&&v| f.y.contains(v)) {
        let _ = write!(refs, "M{} {}H{}", P(f.area.x), P(f.py(v)), P(f.area.right()));
    }
    for &v in fig.vlines.iter().filter(|&&v| f.x.contains(v)) {
        let _ = write!(refs, "M{} {}V{}", P(f.px(v)), P(f.area.y), P(f.area.bottom()));
    }
    if !refs.is_empty() {
        let _ = writeln!(out, "<path class=\"ref\" d=\"{refs}\" stroke=\"#666666\" stroke-width=\"1.2\" stroke-dasharray=\"4 3\" fill=\"none\"/>");
    }
    for l in &fig.labels {
        if let Some((x, y)) = f.at(l.x, l.y) {
            svg::text(out, x, y, Font::LEGEND, Anchor::Start, &l.text, " class=\"annotation\"");
            let w = text::width(&l.text, Font::LEGEND);
            ink.rect(Rect { x, y: y - Font::LEGEND.size, w, h: Font::LEGEND.size * 1.3 });
        }
    }
    (ink, drawn)
}

/// The ink of a figure's data in `f` and how many data elements it draws, for layout.
pub(crate) fn data_ink(fig: &Figure, f: &Frame, styles: &[Style]) -> (Ink, usize) {
    data(&mut String::new(), fig, f, styles)
}

/// Draws the panel; `id` is unique in the document and prefixes the ids the panel defines.
pub(crate) fn draw(out: &mut String, fig: &Figure, p: &Placed, id: &str) {
    let f = &p.frame;
    let a = f.area;
    let _ = writeln!(out, "<g class=\"panel\">");
    let mut grid = String::new();
    for t in &p.x_ticks.major {
        if f.x.contains(t.value) {
            let _ = write!(grid, "M{} {}V{}", P(f.px(t.value)), P(a.y), P(a.bottom()));
        }
    }
    for t in &p.y_ticks.major {
        if f.y.contains(t.value) {
            let _ = write!(grid, "M{} {}H{}", P(a.x), P(f.py(t.value)), P(a.right()));
        }
    }
    if !grid.is_empty() {
        let _ = writeln!(out, "<path class=\"grid\" d=\"{grid}\" stroke=\"#e8e8e8\" fill=\"none\"/>");
    }
    let area = format!("x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"", P(a.x), P(a.y), P(a.w), P(a.h));
    let _ = writeln!(out, "<clipPath id=\"{id}-clip\"><rect {area}/></clipPath>\n<g clip-path=\"url(#{id}-clip)\">");
    let (_, drawn) = data(out, fig, f, &p.styles);
    let _ = writeln!(out, "</g>\n<rect class=\"plot-area\" {area} fill=\"none\" stroke=\"{INK}\"/>");
    if drawn == 0 {
        let extra = " class=\"no-data\" fill=\"#888888\"";
        let font = Font { size: 13.0, bold: false };
        svg::text(out, a.x + a.w / 2.0, a.y + a.h / 2.0 + 4.0, font, Anchor::Middle, "no data", extra);
    }
    axes(out, p);
    titles(out, p);
    if let (Some((rect, columns)), true) = (p.legend, drawn > 0) {
        legend::draw(out, &p.entries, &rect, columns);
    }
    if let Some(rect) = p.notes {
        legend::draw_notes(out, &p.note_lines, &rect);
    }
    if let Some(map) = &fig.heatmap {
        heatmap::draw_bar(out, map, &a, &format!("{id}-cbar"));
    }
    out.push_str("</g>\n");
}

/// Tick marks (major and minor) and tick labels.
fn axes(out: &mut String, p: &Placed) {
    let f = &p.frame;
    let base = f.area.bottom();
    let mut marks = String::new();
    for t in &p.x_ticks.major {
        if !f.x.contains(t.value) {
            continue;
        }
        let x = f.px(t.value);
        // Under a panel that shares its x axis with the one below, ticks point inwards.
        let _ = write!(marks, "M{} {}v{}", P(x), P(base), if p.show_x { TICK } else { -TICK });
        if !t.label.is_empty() {
            let y = base + TICK + Font::TICK.size + 2.0;
            svg::text(out, x, y, Font::TICK, Anchor::Middle, &t.label, " class=\"tick-label x\"");
        }
    }
    for t in &p.y_ticks.major {
        if !f.y.contains(t.value) {
            continue;
        }
        let y = f.py(t.value);
        let _ = write!(marks, "M{} {}h-{TICK}", P(f.area.x), P(y));
        if !t.label.is_empty() {
            let (x, y) = (f.area.x - TICK - 3.0, y + 0.36 * Font::TICK.size);
            svg::text(out, x, y, Font::TICK, Anchor::End, &t.label, " class=\"tick-label y\"");
        }
    }
    for &v in p.x_ticks.minor.iter().filter(|&&v| f.x.contains(v)) {
        let _ = write!(marks, "M{} {}v{}", P(f.px(v)), P(base), if p.show_x { 3.0 } else { -3.0 });
    }
    for &v in p.y_ticks.minor.iter().filter(|&&v| f.y.contains(v)) {
        let _ = write!(marks, "M{} {}h-3", P(f.area.x), P(f.py(v)));
    }
    let _ = writeln!(out, "<path class=\"ticks\" d=\"{marks}\" stroke=\"{INK}\" fill=\"none\"/>");
}

/// The panel title and the axis labels.
fn titles(out: &mut String, p: &Placed) {
    let a = p.frame.area;
    let lh = Font::TITLE.line_height();
    for (k, line) in p.title_lines.iter().enumerate() {
        let half = text::width(line, Font::TITLE) / 2.0;
        let mut centre = a.x + a.w / 2.0;
        if centre - half < p.cell.x + 4.0 || centre + half > p.cell.right() - 4.0 {
            centre = p.cell.x + p.cell.w / 2.0;
        }
        let y = p.cell.y + 4.0 + Font::TITLE.size + k as f64 * lh;
        svg::text(out, centre, y, Font::TITLE, Anchor::Middle, line, " class=\"title\"");
    }
    let below_title = p.cell.y + 4.0 + p.title_lines.len() as f64 * lh + Font::LEGEND.size + 2.0;
    // Notes with no room inside the plot area read as a subtitle, starting above the frame.
    let widest = p.note_lines.iter().map(|l| text::width(l, Font::LEGEND)).fold(0.0, f64::max);
    let x = a.x.min(p.cell.right() - 8.0 - widest).max(p.cell.x + 8.0);
    for (k, line) in p.note_lines.iter().enumerate().filter(|_| p.notes.is_none()) {
        let y = below_title + k as f64 * legend::NOTE_LINE;
        svg::text(out, x, y, Font::LEGEND, Anchor::Start, line, " class=\"note\" fill=\"#333333\"");
    }
    let first = a.bottom() + TICK + Font::TICK.line_height() + 4.0 + Font::LABEL.size;
    for (k, line) in p.x_label_lines.iter().enumerate() {
        let y = first + k as f64 * Font::LABEL.line_height();
        svg::text(out, a.x + a.w / 2.0, y, Font::LABEL, Anchor::Middle, line, " class=\"axis-label x\"");
    }
    for (k, line) in p.y_label_lines.iter().enumerate() {
        let x = p.cell.x + 8.0 + Font::LABEL.size * 0.8 + k as f64 * Font::LABEL.line_height();
        svg::vertical_text(out, x, a.y + a.h / 2.0, Font::LABEL, line);
    }
}
