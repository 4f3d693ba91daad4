//! Draws a laid-out board (one figure, a ratio figure or a grid) as one SVG document: the titles,
//! every panel, and the shared legend.

use crate::chart::Chart;
use crate::figure::Figure;
use crate::layout::{self, Board, CellSpec};
use crate::legend;
use crate::panel;
use crate::svg::{self, Anchor};
use crate::text::Font;

/// Renders a laid-out board as one SVG document.
pub(crate) fn board(board: &Board, id_prefix: &str) -> String {
    let mut out = String::new();
    svg::open_document(&mut out, board.width, board.height, &chart_title(board));
    let (lines, _) = layout::board_title(board);
    for (k, line) in lines.iter().enumerate() {
        let y = 6.0 + Font::TITLE.size + k as f64 * Font::TITLE.line_height();
        svg::text(&mut out, board.width / 2.0, y, Font::TITLE, Anchor::Middle, line, " class=\"title\"");
    }
    if board.cells.is_empty() {
        let (x, y) = (board.width / 2.0, board.height / 2.0);
        svg::text(&mut out, x, y, Font::LABEL, Anchor::Middle, "no data", " class=\"no-data\" fill=\"#888888\"");
    }
    for (i, (cell, placed)) in board.cells.iter().zip(layout::arrange(board)).enumerate() {
        panel::draw(&mut out, cell.fig, &placed, &format!("{id_prefix}-{i}"));
    }
    if let Some((rect, columns, entries)) = layout::shared_legend(board) {
        legend::draw(&mut out, &entries, &rect, columns);
    }
    out.push_str("</svg>\n");
    out
}

/// The board's title, or failing that its first panel's.
fn chart_title(board: &Board) -> String {
    if board.title.is_empty() {
        board.cells.first().map_or(String::new(), |c| c.fig.title.clone())
    } else {
        board.title.clone()
    }
}

impl Chart for Figure {
    fn dimensions(&self) -> (u32, u32) {
        (self.width, self.height)
    }
    fn title(&self) -> String {
        self.title.clone()
    }
    fn svg_with_ids(&self, id_prefix: &str) -> String {
        let cell = CellSpec {
            fig: self,
            row: 0,
            col: 0,
            x: self.own_x_axis(),
            y: self.own_y_axis(),
            show_x: true,
            show_y: true,
            show_title: true,
        };
        let board = Board {
            width: self.width as f64,
            height: self.height as f64,
            title: String::new(),
            rows: 1,
            cols: 1,
            row_weights: vec![1.0],
            stacked: false,
            shared_legend: false,
            cells: vec![cell],
        };
        self::board(&board, id_prefix)
    }
}
