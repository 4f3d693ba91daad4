//! Lays out panels in rows and columns: a single figure is a 1 x 1 board, a ratio figure a
//! column whose panels share the x axis, a grid any R x C.
//!
//! The margins make room for what is drawn in them (tick labels measured, titles and axis labels
//! wrapped, colour bars, legends moved outside), so that no text is cut off and no two labels
//! meet. The order avoids circularity: plot heights first (from title and x-label rows), then
//! the y ticks that fit them, then the left margins those ticks need, then plot widths and x
//! ticks. Legends and notes that find no empty corner move outside; that narrows the plots and
//! can crowd another panel's corner, so placement repeats until no more boxes move out.

use crate::axis::ticks::{self, AxisTicks};
use crate::axis::Axis;
use crate::figure::{Figure, Legend};
use crate::frame::{Frame, Ink, Rect};
use crate::heatmap;
use crate::legend::{self, Corner, Entry};
use crate::palette::Style;
use crate::panel;
use crate::placed::{Placed, TICK};
use crate::text::{self, Font};

/// One panel of a board and what it shows around its plot area.
pub(crate) struct CellSpec<'a> {
    pub fig: &'a Figure,
    pub row: usize,
    pub col: usize,
    pub x: Axis,
    pub y: Axis,
    /// x tick labels and the x-axis label (hidden on all but the bottom panels of a shared x).
    pub show_x: bool,
    /// y tick labels and the y-axis label.
    pub show_y: bool,
    pub show_title: bool,
}

pub(crate) struct Board<'a> {
    pub width: f64,
    pub height: f64,
    /// The title over the whole board; empty for none.
    pub title: String,
    pub rows: usize,
    pub cols: usize,
    /// Relative plot heights of the rows.
    pub row_weights: Vec<f64>,
    /// Rows that touch (a ratio panel under its main panel) rather than stand apart.
    pub stacked: bool,
    /// One legend for the whole board, below the panels, instead of one per panel.
    pub shared_legend: bool,
    pub cells: Vec<CellSpec<'a>>,
}

/// Space kept free around text, in pixels.
const GAP: f64 = 8.0;

/// The board title's lines and the height they take.
pub(crate) fn board_title(board: &Board) -> (Vec<String>, f64) {
    let lines = text::wrap(&board.title, Font::TITLE, board.width - 24.0);
    let h = if lines.is_empty() { 0.0 } else { lines.len() as f64 * Font::TITLE.line_height() + 10.0 };
    (lines, h)
}

/// " (×10^k)" for an axis whose tick labels were divided by 10^k.
fn with_exponent(label: &str, exponent: Option<i32>) -> String {
    match exponent {
        Some(k) if label.is_empty() => format!("\u{d7}10^{{{k}}}"),
        Some(k) => format!("{label} (\u{d7}10^{{{k}}})"),
        None => label.to_string(),
    }
}

/// Where a panel's legend and notes went in the last attempt: out of the plot area or in it.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
struct Outside {
    /// The legend to the right of the plot area.
    legend: bool,
    /// The notes as lines under the title, above the plot area.
    notes: bool,
    /// How far the last x tick label reaches past the plot area's right edge, in whole pixels:
    /// the right margin makes room for it rather than drop the label.
    overhang: u32,
}

/// Lays out every panel of the board.
pub(crate) fn arrange(board: &Board) -> Vec<Placed> {
    let mut outside: Vec<Outside> = board
        .cells
        .iter()
        .map(|c| Outside { legend: c.fig.legend == Legend::Right, notes: false, overhang: 0 })
        .collect();
    // Each round can only move boxes out or widen the right margin, so this settles quickly.
    for _ in 0..3 * board.cells.len() + 4 {
        let (placed, next) = attempt(board, &outside);
        if next == outside {
            return placed;
        }
        outside = next
            .iter()
            .zip(&outside)
            .map(|(n, o)| Outside {
                legend: n.legend || o.legend,
                notes: n.notes || o.notes,
                overhang: n.overhang.max(o.overhang),
            })
            .collect();
    }
    attempt(board, &outside).0
}

/// The widest a note box inside the plot area may be, and the most lines one note may take there.
const NOTE_WIDTH: f64 = 260.0;
const NOTE_LINES: usize = 2;

/// One layout with legends and notes placed as `outside` says, and where they should go next.
fn attempt(board: &Board, outside: &[Outside]) -> (Vec<Placed>, Vec<Outside>) {
    let cell_w = board.width / board.cols.max(1) as f64;
    let around: Vec<Around> = board.cells.iter().zip(outside).map(|(c, o)| Around::measure(c, o, cell_w)).collect();
    let rows = Rows::new(board, &around);
    let y_axes: Vec<YAxis> = board.cells.iter().map(|c| YAxis::fit(c, rows.height[c.row])).collect();
    let cols = Columns::new(board, &around, &y_axes, outside, &rows);
    let spaces = around.into_iter().zip(y_axes).zip(outside);
    board.cells.iter().zip(spaces).map(|(c, ((a, y), o))| place(board, c, a, y, *o, &rows, &cols)).unzip()
}

/// What one panel shows around its plot area, measured before any size is known.
struct Around {
    styles: Vec<Style>,
    entries: Vec<Entry>,
    title: Vec<String>,
    /// The notes as lines under the title, when they go there.
    notes_above: Vec<String>,
    /// Room is kept for the " (×10^k)" an x label may get once its ticks are known.
    x_label: Vec<String>,
    /// The height of a legend under the plot, with its gap.
    below: f64,
}

impl Around {
    fn measure(c: &CellSpec, outside: &Outside, cell_w: f64) -> Around {
        let styles = c.fig.styles();
        let entries = legend::entries(c.fig, &styles);
        let title = if c.show_title { text::wrap(&c.fig.title, Font::TITLE, cell_w - 16.0) } else { Vec::new() };
        let notes_above = if outside.notes { legend::note_lines(&c.fig.notes, cell_w - 24.0) } else { Vec::new() };
        let x_label = if c.show_x { text::wrap(&c.fig.x_label, Font::LABEL, cell_w - 130.0) } else { Vec::new() };
        let below = if c.fig.legend == Legend::Below && !entries.is_empty() {
            legend::rows_size(&entries, cell_w - 80.0).1 .1 + GAP
        } else {
            0.0
        };
        Around { styles, entries, title, notes_above, x_label, below }
    }
}

/// The rows of the board: the margins above and below each row's plots, the plot heights, and
/// where each row starts.
struct Rows {
    top: Vec<f64>,
    bottom: Vec<f64>,
    height: Vec<f64>,
    y: Vec<f64>,
}

impl Rows {
    /// Margins from the titles, notes and x labels; the plots share what is left by the rows'
    /// weights.
    fn new(board: &Board, around: &[Around]) -> Rows {
        let rows = board.rows.max(1);
        let (_, title_h) = board_title(board);
        let top: Vec<f64> = (0..rows).map(|r| Rows::top(board, around, r)).collect();
        let bottom: Vec<f64> = (0..rows).map(|r| Rows::bottom(board, around, r)).collect();
        let weights: Vec<f64> = (0..rows).map(|r| board.row_weights.get(r).copied().unwrap_or(1.0).max(0.05)).collect();
        let shared = shared_legend(board).map_or(0.0, |(_, _, e)| legend::below_height(&e, board.width));
        let free = board.height - title_h - shared - top.iter().sum::<f64>() - bottom.iter().sum::<f64>();
        let total: f64 = weights.iter().sum();
        let height: Vec<f64> = weights.iter().map(|wt| (free * wt / total).max(30.0)).collect();
        let y: Vec<f64> =
            (0..rows).scan(title_h, |y, r| Some(std::mem::replace(y, *y + top[r] + height[r] + bottom[r]))).collect();
        Rows { top, bottom, height, y }
    }

    fn in_row<'b>(board: &'b Board, r: usize) -> impl Iterator<Item = (usize, &'b CellSpec<'b>)> {
        board.cells.iter().enumerate().filter(move |(_, c)| c.row == r)
    }

    /// The margin above row `r`: its tallest title and notes, or a little air.
    fn top(board: &Board, around: &[Around], r: usize) -> f64 {
        let head = Rows::in_row(board, r)
            .map(|(i, _)| {
                let title = around[i].title.len() as f64 * Font::TITLE.line_height();
                title + around[i].notes_above.len() as f64 * legend::NOTE_LINE
            })
            .fold(0.0, f64::max);
        if head > 0.0 {
            head + 12.0
        } else if board.stacked && r > 0 {
            4.0
        } else {
            14.0
        }
    }

    /// The margin below row `r`: its tallest x tick labels, x label and legend below the plot.
    fn bottom(board: &Board, around: &[Around], r: usize) -> f64 {
        let rows = board.rows.max(1);
        Rows::in_row(board, r)
            .map(|(i, c)| {
                let labels = if c.show_x {
                    TICK + Font::TICK.line_height() + 6.0 + around[i].x_label.len() as f64 * Font::LABEL.line_height()
                } else if board.stacked {
                    0.0
                } else {
                    10.0
                };
                labels + around[i].below
            })
            .fold(0.0, f64::max)
            + if board.stacked && r + 1 < rows { 0.0 } else { 6.0 }
    }
}

/// A panel's y ticks, which fit its plot height, and its y label, which may name their power of ten.
struct YAxis {
    ticks: AxisTicks,
    label: Vec<String>,
}

impl YAxis {
    fn fit(c: &CellSpec, height: f64) -> YAxis {
        let ticks = ticks::fit(&c.y, height, false);
        let label = if c.show_y {
            text::wrap(&with_exponent(&c.fig.y_label, ticks.exponent), Font::LABEL, height)
        } else {
            Vec::new()
        };
        YAxis { ticks, label }
    }
}

/// The columns of the board: the left margin each needs, the plot width and right margin they
/// share (so that every plot area has the same width), and where each column starts.
struct Columns {
    left: Vec<f64>,
    width: f64,
    right: f64,
    x: Vec<f64>,
}

impl Columns {
    fn new(board: &Board, around: &[Around], y_axes: &[YAxis], outside: &[Outside], rows: &Rows) -> Columns {
        let cols = board.cols.max(1);
        let left: Vec<f64> = (0..cols)
            .map(|col| {
                let in_col = board.cells.iter().zip(y_axes).filter(|(c, _)| c.col == col);
                in_col
                    .map(|(c, y)| {
                        if c.show_y {
                            GAP + y.label.len() as f64 * Font::LABEL.line_height() + y.ticks.widest() + TICK + 5.0
                        } else {
                            14.0
                        }
                    })
                    .fold(14.0, f64::max)
            })
            .collect();
        // Colour bars and legends moved out of the plot take room on the right.
        let extras = board.cells.iter().zip(around).zip(outside).map(|((c, a), o)| {
            let bar = c.fig.heatmap.as_ref().map_or(0.0, |m| heatmap::bar_width(m, rows.height[c.row]));
            let side = if o.legend && !a.entries.is_empty() { 10.0 + legend::column_size(&a.entries).0 } else { 0.0 };
            bar + side
        });
        let overhang = outside.iter().map(|o| o.overhang as f64 + 3.0).fold(0.0, f64::max);
        let right = (16.0 + extras.fold(0.0, f64::max)).max(overhang);
        let width = ((board.width - left.iter().sum::<f64>() - cols as f64 * right) / cols as f64).max(40.0);
        let x: Vec<f64> =
            (0..cols).scan(0.0, |x, c| Some(std::mem::replace(x, *x + left[c] + width + right))).collect();
        Columns { left, width, right, x }
    }
}

/// Places one panel in its row and column: its x ticks, legend and notes; returns it with where
/// its legend and notes should go in the next attempt.
fn place(
    board: &Board,
    c: &CellSpec,
    around: Around,
    y_axis: YAxis,
    outside: Outside,
    rows: &Rows,
    cols: &Columns,
) -> (Placed, Outside) {
    let (row, col) = (c.row, c.col);
    let area =
        Rect { x: cols.x[col] + cols.left[col], y: rows.y[row] + rows.top[row], w: cols.width, h: rows.height[row] };
    let cell = Rect {
        x: cols.x[col],
        y: rows.y[row],
        w: cols.left[col] + cols.width + cols.right,
        h: rows.top[row] + rows.height[row] + rows.bottom[row],
    };
    let frame = Frame { x: c.x, y: c.y, area };
    let mut next = outside;
    let (mut x_ticks, mut y_ticks) = (ticks::fit(&c.x, cols.width, true), y_axis.ticks);
    if c.show_x {
        next.overhang = next.overhang.max(overhang(&x_ticks, &frame));
    }
    keep_inside(&mut x_ticks, &mut y_ticks, &frame, &cell);
    for (shown, t) in [(c.show_x, &mut x_ticks), (c.show_y, &mut y_ticks)] {
        if !shown {
            t.major.iter_mut().for_each(|t| t.label.clear());
        }
    }
    let x_label_lines = x_label_lines(around.x_label, c.show_x, x_ticks.exponent);
    let (ink, drawn) = panel::data_ink(c.fig, &frame, &around.styles);
    let bar = c.fig.heatmap.as_ref().map_or(0.0, |m| heatmap::bar_width(m, area.h));
    let (legend, legend_out) = if drawn == 0 || board.shared_legend {
        (None, false)
    } else {
        place_legend(c.fig.legend, &around.entries, &area, &cell, bar, &ink, outside.legend)
    };
    next.legend |= legend_out;
    let taken: Vec<Rect> = legend.iter().map(|(r, _)| *r).collect();
    let (note_lines, notes, notes_out) =
        if outside.notes { (around.notes_above, None, true) } else { place_notes(&c.fig.notes, &area, &ink, &taken) };
    next.notes |= notes_out;
    let placed = Placed {
        frame,
        cell,
        x_ticks,
        y_ticks,
        title_lines: around.title,
        x_label_lines,
        y_label_lines: y_axis.label,
        entries: around.entries,
        legend,
        note_lines,
        notes,
        show_x: c.show_x,
        styles: around.styles,
    };
    (placed, next)
}

/// How far the last labelled x tick reaches past the plot area's right edge, in whole pixels;
/// capped, so that an absurd label cannot squeeze the plot away.
fn overhang(x_ticks: &AxisTicks, frame: &Frame) -> u32 {
    let reach = x_ticks
        .major
        .iter()
        .filter(|t| !t.label.is_empty())
        .map(|t| frame.px(t.value) + text::width(&t.label, Font::TICK) / 2.0 - frame.area.right());
    reach.fold(0.0, f64::max).ceil().min(frame.area.w / 3.0) as u32
}

/// The x label's lines, the last one naming the power of ten the tick labels were divided by.
fn x_label_lines(mut lines: Vec<String>, show_x: bool, exponent: Option<i32>) -> Vec<String> {
    if let (Some(last), Some(k)) = (lines.last_mut(), exponent) {
        *last = with_exponent(last, Some(k));
    } else if let (true, Some(k)) = (show_x, exponent) {
        lines.push(with_exponent("", Some(k)));
    }
    lines
}

/// Where a panel's legend goes, and whether it has to move out of the plot area (to the right)
/// because no corner is free; `out` says it already has, and the right margin holds it.
fn place_legend(
    at: Legend,
    entries: &[Entry],
    area: &Rect,
    cell: &Rect,
    bar: f64,
    ink: &Ink,
    out: bool,
) -> (Option<(Rect, usize)>, bool) {
    if entries.is_empty() {
        return (None, false);
    }
    let size = legend::column_size(entries);
    let corner = |k: Corner| (Some((legend::in_corner(area, size, k), 1)), false);
    let right = Some((Rect { x: area.right() + bar + 10.0, y: area.y, w: size.0, h: size.1 }, 1));
    match at {
        Legend::Off => (None, false),
        Legend::TopRight => corner(Corner::TopRight),
        Legend::TopLeft => corner(Corner::TopLeft),
        Legend::BottomRight => corner(Corner::BottomRight),
        Legend::BottomLeft => corner(Corner::BottomLeft),
        Legend::Below => {
            let (columns, size) = legend::rows_size(entries, area.w);
            (Some((Rect { x: area.x, y: cell.bottom() - size.1 - 6.0, w: size.0, h: size.1 }, columns)), false)
        }
        Legend::Right | Legend::Auto if out => (right, false),
        // Until the next round makes room on the right, outside is still better than over data.
        Legend::Right | Legend::Auto => match legend::free_corner(area, size, ink, &[]) {
            Some(r) => (Some((r, 1)), false),
            None => (right, true),
        },
    }
}

/// The note lines and their box in a free corner; without one (or when a note would need more
/// than [`NOTE_LINES`] lines there) no box, and the notes have to go under the title.
fn place_notes(notes: &[String], area: &Rect, ink: &Ink, taken: &[Rect]) -> (Vec<String>, Option<Rect>, bool) {
    if notes.is_empty() {
        return (Vec::new(), None, false);
    }
    let max = (area.w - 24.0).min(NOTE_WIDTH);
    let lines = legend::note_lines(notes, max);
    let too_long = notes.iter().any(|n| legend::note_lines(std::slice::from_ref(n), max).len() > NOTE_LINES);
    let inside = if too_long { None } else { legend::free_corner(area, legend::notes_size(&lines), ink, taken) };
    let out = inside.is_none();
    (lines, inside, out)
}

/// The board's shared legend, if it has one: its box at the bottom, centred, its columns and
/// its entries (each label once, in order of first use across the panels).
pub(crate) fn shared_legend(board: &Board) -> Option<(Rect, usize, Vec<Entry>)> {
    if !board.shared_legend {
        return None;
    }
    let entries = legend::merged_entries(board.cells.iter().map(|c| c.fig));
    if entries.is_empty() {
        return None;
    }
    let (columns, (w, h)) = legend::rows_size(&entries, board.width - 24.0);
    let rect = Rect { x: ((board.width - w) / 2.0).max(4.0), y: board.height - h - 6.0, w, h };
    Some((rect, columns, entries))
}

/// Leaves unlabelled the ticks whose labels would stick out of the panel's cell (into a
/// neighbouring panel of a grid, or across the join of a ratio panel).
fn keep_inside(x: &mut AxisTicks, y: &mut AxisTicks, f: &Frame, cell: &Rect) {
    for t in &mut x.major {
        let half = text::width(&t.label, Font::TICK) / 2.0;
        let px = f.px(t.value);
        if px - half < cell.x + 1.0 || px + half > cell.right() - 1.0 {
            t.label.clear();
        }
    }
    for t in &mut y.major {
        let py = f.py(t.value);
        if py - 0.6 * Font::TICK.size < cell.y || py + 0.45 * Font::TICK.size > cell.bottom() {
            t.label.clear();
        }
    }
}

/// The axis several figures share (the x axis of a ratio figure, the axes of a grid with shared
/// axes): the first fixed range, else one that shows every figure's data.
pub(crate) fn shared_axis(figs: &[&Figure], x: bool) -> Axis {
    if let [one] = figs {
        return if x { one.own_x_axis() } else { one.own_y_axis() };
    }
    let log = figs.first().is_some_and(|f| if x { f.log_x_on() } else { f.log_y_on() });
    let fixed = figs.iter().find_map(|f| if x { f.x_range } else { f.y_range });
    let mut values: Vec<f64> = Vec::new();
    for f in figs {
        let (xs, ys) = f.extent();
        values.extend(if x { xs } else { ys });
        if let Some(m) = &f.heatmap {
            let (hx, hy) = m.extent();
            values.extend(if x { hx } else { hy });
        }
    }
    Axis::new(&values, fixed, log)
}
