//! [`Chart`]: what every figure type offers, a standalone SVG document or one inlined into a page
//! with ids that cannot clash with another figure's.

use std::path::Path;

/// A drawable figure: [`crate::Figure`], [`crate::RatioFigure`] or [`crate::Grid`]. The trait
/// stands apart from the drawing code (in `render`), so that the figure types can name it.
pub trait Chart {
    /// Width and height in pixels.
    fn dimensions(&self) -> (u32, u32);
    /// The title, for the SVG's `<title>` and for [`crate::check`] reports.
    fn title(&self) -> String;
    /// The SVG document, with every id it defines starting with `id_prefix` (letters, digits and
    /// '-' only), so that several charts can be inlined into one HTML page.
    fn svg_with_ids(&self, id_prefix: &str) -> String;
    /// The SVG document, with ids derived from its content: deterministic, and distinct between
    /// different figures.
    fn to_svg(&self) -> String {
        // The placeholder cannot come from user text: escaping turns control characters into spaces.
        const PLACEHOLDER: &str = "sg\u{1}";
        let draft = self.svg_with_ids(PLACEHOLDER);
        draft.replace(PLACEHOLDER, &format!("sg{:016x}", stats::fnv1a(draft.as_bytes())))
    }
    fn save(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.to_svg())
    }
}
