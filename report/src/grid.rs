//! [`Grid`]: figures in rows and columns, optionally sharing axes. With a shared x axis only the
//! bottom panel of each column shows x tick labels and the x label; with a shared y axis only the
//! first column shows y tick labels and the y label, and the panels move closer together.

use crate::chart::Chart;
use crate::figure::Figure;
use crate::layout::{self, Board, CellSpec};
use crate::render;

#[derive(Clone, Debug)]
pub struct Grid {
    title: String,
    columns: usize,
    figures: Vec<Figure>,
    share_x: bool,
    share_y: bool,
    shared_legend: bool,
    cell: Option<(u32, u32)>,
}

impl Grid {
    /// An empty grid of `columns` columns (at least one), filled row by row.
    pub fn new(columns: usize) -> Grid {
        Grid {
            title: String::new(),
            columns: columns.max(1),
            figures: Vec::new(),
            share_x: false,
            share_y: false,
            shared_legend: false,
            cell: None,
        }
    }
    /// A title over the whole grid.
    pub fn title(self, s: &str) -> Grid {
        Grid { title: s.to_string(), ..self }
    }
    pub fn push(mut self, fig: Figure) -> Grid {
        self.figures.push(fig);
        self
    }
    pub fn figures(mut self, figs: impl IntoIterator<Item = Figure>) -> Grid {
        self.figures.extend(figs);
        self
    }
    /// One x range for every panel (the first fixed range, else all panels' data).
    pub fn share_x(self, on: bool) -> Grid {
        Grid { share_x: on, ..self }
    }
    /// One y range for every panel.
    pub fn share_y(self, on: bool) -> Grid {
        Grid { share_y: on, ..self }
    }
    /// One legend under the whole grid, each label once, instead of one legend per panel: for
    /// panels that show the same methods. The grid grows by the legend's height.
    pub fn shared_legend(self, on: bool) -> Grid {
        Grid { shared_legend: on, ..self }
    }
    /// The size of each cell; by default the largest figure's size.
    pub fn cell_size(self, width: u32, height: u32) -> Grid {
        Grid { cell: Some((width.max(160), height.max(120))), ..self }
    }
    fn columns(&self) -> usize {
        self.columns.clamp(1, self.figures.len().max(1))
    }
    fn cell(&self) -> (u32, u32) {
        self.cell.unwrap_or_else(|| {
            let w = self.figures.iter().map(|f| f.width).max().unwrap_or(320);
            let h = self.figures.iter().map(|f| f.height).max().unwrap_or(240);
            (w, h)
        })
    }
    pub fn to_svg(&self) -> String {
        Chart::to_svg(self)
    }
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> std::io::Result<()> {
        Chart::save(self, path.as_ref())
    }
}

impl Chart for Grid {
    fn dimensions(&self) -> (u32, u32) {
        let (cw, ch) = self.cell();
        let cols = self.columns() as u32;
        let rows = self.figures.len().div_ceil(self.columns()).max(1) as u32;
        let title = if self.title.is_empty() { 0 } else { 30 };
        let legend = if self.shared_legend {
            crate::legend::below_height(&crate::legend::merged_entries(&self.figures), (cw * cols) as f64).ceil() as u32
        } else {
            0
        };
        (cw * cols, ch * rows + title + legend)
    }
    fn title(&self) -> String {
        self.title.clone()
    }
    fn svg_with_ids(&self, id_prefix: &str) -> String {
        let cols = self.columns();
        let n = self.figures.len();
        let refs: Vec<&Figure> = self.figures.iter().collect();
        let x = self.share_x.then(|| layout::shared_axis(&refs, true));
        let y = self.share_y.then(|| layout::shared_axis(&refs, false));
        let cells = self
            .figures
            .iter()
            .enumerate()
            .map(|(i, f)| CellSpec {
                fig: f,
                row: i / cols,
                col: i % cols,
                x: x.unwrap_or_else(|| f.own_x_axis()),
                y: y.unwrap_or_else(|| f.own_y_axis()),
                // Under a shared x axis only panels with no panel below them are labelled.
                show_x: !self.share_x || i + cols >= n,
                show_y: !self.share_y || i % cols == 0,
                show_title: true,
            })
            .collect();
        let (w, h) = self.dimensions();
        let rows = n.div_ceil(cols).max(1);
        let board = Board {
            width: w as f64,
            height: h as f64,
            title: self.title.clone(),
            rows,
            cols,
            row_weights: vec![1.0; rows],
            stacked: false,
            shared_legend: self.shared_legend,
            cells,
        };
        render::board(&board, id_prefix)
    }
}

/// Several figures in a grid of `columns` (at least one), row by row, as one SVG; each cell is as
/// large as the largest figure. The short form of [`Grid`] without shared axes.
pub fn grid(figures: &[Figure], columns: usize) -> String {
    Grid::new(columns).figures(figures.iter().cloned()).to_svg()
}
