//! [`RatioFigure`]: a main panel with one or more panels underneath that share its x axis, as in
//! HEP plots ("ratio to LCW", "Gen/Truth"): the x tick labels and x label appear once, at the
//! bottom, and the panels touch.

use crate::chart::Chart;
use crate::figure::Figure;
use crate::layout::{self, Board, CellSpec};
use crate::render;

#[derive(Clone, Debug)]
pub struct RatioFigure {
    panels: Vec<Figure>,
    heights: Vec<f64>,
    width: u32,
    height: u32,
}

impl RatioFigure {
    /// `main` on top (its title and legend are the figure's), `ratio` under it at a third of its
    /// height. The size is the main figure's width, and its height plus 150 px; the x label is
    /// taken from the lowest panel that has one, so it can be set on either.
    pub fn new(main: Figure, ratio: Figure) -> RatioFigure {
        let (width, height) = (main.width, main.height + 150);
        RatioFigure { panels: vec![main, ratio], heights: vec![3.0, 1.0], width, height }
    }
    /// Another panel at the bottom (e.g. the mean weight per bin under Gen/Truth), 150 px taller.
    pub fn panel(mut self, fig: Figure) -> RatioFigure {
        self.panels.push(fig);
        self.heights.push(1.0);
        self.height += 150;
        self
    }
    /// Relative plot heights, top to bottom; missing entries count 1.
    pub fn heights(mut self, weights: &[f64]) -> RatioFigure {
        for (h, &w) in self.heights.iter_mut().zip(weights) {
            *h = if w.is_finite() && w > 0.0 { w } else { 1.0 };
        }
        self
    }
    pub fn size(self, width: u32, height: u32) -> RatioFigure {
        let min_height = 150 + 80 * self.panels.len() as u32;
        RatioFigure { width: width.max(200), height: height.max(min_height), ..self }
    }
    pub fn to_svg(&self) -> String {
        Chart::to_svg(self)
    }
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> std::io::Result<()> {
        Chart::save(self, path.as_ref())
    }
}

impl Chart for RatioFigure {
    fn dimensions(&self) -> (u32, u32) {
        (self.width, self.height)
    }
    fn title(&self) -> String {
        self.panels[0].title.clone()
    }
    fn svg_with_ids(&self, id_prefix: &str) -> String {
        let refs: Vec<&Figure> = self.panels.iter().collect();
        let x = layout::shared_axis(&refs, true);
        let last = self.panels.len() - 1;
        // The bottom panel shows the x label; it may have been set on the main panel only.
        let label_from = self.panels.iter().rposition(|f| !f.x_label.is_empty()).unwrap_or(last);
        let mut bottom = self.panels[last].clone();
        bottom.x_label = self.panels[label_from].x_label.clone();
        let cells = self
            .panels
            .iter()
            .enumerate()
            .map(|(i, f)| CellSpec {
                fig: if i == last { &bottom } else { f },
                row: i,
                col: 0,
                x,
                y: f.own_y_axis(),
                show_x: i == last,
                show_y: true,
                show_title: i == 0,
            })
            .collect();
        let board = Board {
            width: self.width as f64,
            height: self.height as f64,
            title: String::new(),
            rows: self.panels.len(),
            cols: 1,
            row_weights: self.heights.clone(),
            stacked: true,
            shared_legend: false,
            cells,
        };
        render::board(&board, id_prefix)
    }
}
