//! A panel as laid out: the hand-over from the layout (which measures and places) to the panel
//! drawing (which writes the SVG). Both import it from here, so the panel drawing need not import
//! the layout that calls it.

use crate::axis::ticks::AxisTicks;
use crate::frame::{Frame, Rect};
use crate::legend::Entry;
use crate::palette::Style;

/// Length of the major tick marks: the layout leaves room for them, the panel draws them.
pub(crate) const TICK: f64 = 5.0;

/// A panel as laid out: everything the panel drawing needs.
pub(crate) struct Placed {
    pub frame: Frame,
    /// The panel's share of the board; its texts stay inside it.
    pub cell: Rect,
    pub x_ticks: AxisTicks,
    pub y_ticks: AxisTicks,
    pub title_lines: Vec<String>,
    pub x_label_lines: Vec<String>,
    pub y_label_lines: Vec<String>,
    pub entries: Vec<Entry>,
    pub legend: Option<(Rect, usize)>,
    /// The note lines, and the box they go in; without a box they go under the title.
    pub note_lines: Vec<String>,
    pub notes: Option<Rect>,
    /// Whether the x tick labels are shown; without them the tick marks point into the plot.
    pub show_x: bool,
    pub styles: Vec<Style>,
}
