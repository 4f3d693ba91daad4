//! [`Page`]: one self-contained HTML report. Figures are inlined SVG, the stylesheet is inline,
//! and nothing is fetched from anywhere (no fonts, no scripts), so the file opens from disk, can
//! be mailed, and passes [`crate::check::check_page`].
//!
//! ```
//! use report::{Cell, Figure, Page, Section, Table, Verdict};
//!
//! let fig = Figure::new("Pulls").histogram("BNN", &[-2.0, 0.0, 2.0], &[10.0, 12.0]);
//! let headline = Table::new(&["test", "value", "threshold", "result"])
//!     .row([Cell::from("closure above 1 GeV"), Cell::num(0.004, 3), Cell::from("< 0.01"), Cell::from(Verdict::Pass)]);
//! let page = Page::new("Calibration study")
//!     .intro("What was run, on what, and what the figures show.")
//!     .section(
//!         Section::new("Headline numbers")
//!             .table(headline)
//!             .figure(fig, "Pulls of the BNN. A calibrated model gives a unit Gaussian."),
//!     );
//! let html = page.to_html();
//! assert!(report::check::check_page(&html).passed());
//! ```

mod style;
mod table;

use std::fmt::Write as _;
use std::path::Path;

pub use table::{Cell, Table, Verdict};

use crate::chart::Chart;
use crate::text;
use crate::xml::escape;

/// Figures wider than this span the page; narrower ones sit two abreast on a wide screen.
const WIDE: u32 = 700;

enum Block {
    Paragraph(String),
    List(Vec<String>),
    Figure { chart: Box<dyn Chart>, caption: String },
    Svg { svg: String, width: u32, caption: String },
    Table(Table),
    Details { summary: String, table: Table },
    Html(String),
}

/// A titled part of the page.
pub struct Section {
    title: String,
    blocks: Vec<Block>,
}

impl Section {
    pub fn new(title: &str) -> Section {
        Section { title: title.to_string(), blocks: Vec::new() }
    }
    fn push(mut self, b: Block) -> Section {
        self.blocks.push(b);
        self
    }
    /// A paragraph of text (label markup allowed: `σ_{stat}`).
    pub fn paragraph(self, text: &str) -> Section {
        self.push(Block::Paragraph(text.to_string()))
    }
    pub fn list<I: IntoIterator<Item = S>, S: AsRef<str>>(self, items: I) -> Section {
        self.push(Block::List(items.into_iter().map(|s| s.as_ref().to_string()).collect()))
    }
    /// A figure with a caption of one or two sentences saying what it shows. Consecutive figures
    /// share a row when they fit.
    pub fn figure(self, chart: impl Chart + 'static, caption: &str) -> Section {
        self.push(Block::Figure { chart: Box::new(chart), caption: caption.to_string() })
    }
    /// An SVG made elsewhere, inlined as it is (its ids are not rewritten).
    pub fn svg(self, svg: &str, width: u32, caption: &str) -> Section {
        self.push(Block::Svg { svg: svg.to_string(), width, caption: caption.to_string() })
    }
    pub fn table(self, table: Table) -> Section {
        self.push(Block::Table(table))
    }
    /// A table folded away under a one-line summary: for long tables of bins.
    pub fn details(self, summary: &str, table: Table) -> Section {
        self.push(Block::Details { summary: summary.to_string(), table })
    }
    /// Trusted HTML, inserted as it is: the caller answers for it being self-contained.
    pub fn html(self, html: &str) -> Section {
        self.push(Block::Html(html.to_string()))
    }
}

/// A report page, built by chaining and written by [`Page::to_html`].
pub struct Page {
    title: String,
    intro: Vec<String>,
    sections: Vec<Section>,
    footer: String,
}

impl Page {
    pub fn new(title: &str) -> Page {
        Page { title: title.to_string(), intro: Vec::new(), sections: Vec::new(), footer: String::new() }
    }
    /// A paragraph under the title: what was run, on what, and what the figures show.
    pub fn intro(mut self, text: &str) -> Page {
        self.intro.push(text.to_string());
        self
    }
    pub fn section(mut self, s: Section) -> Page {
        self.sections.push(s);
        self
    }
    /// A line at the bottom, e.g. the configuration and the time the page was written.
    pub fn footer(self, text: &str) -> Page {
        Page { footer: text.to_string(), ..self }
    }

    pub fn to_html(&self) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n\
             <style>{}</style>\n</head>\n<body>\n<main>\n<h1>{}</h1>\n",
            escape(&text::plain(&self.title)),
            style::CSS,
            text::to_html(&self.title)
        );
        for p in &self.intro {
            let _ = writeln!(out, "<p class=\"intro\">{}</p>", text::to_html(p));
        }
        if self.sections.len() > 1 {
            out.push_str("<nav><ol>\n");
            for (i, s) in self.sections.iter().enumerate() {
                let _ = writeln!(out, "<li><a href=\"#s{}\">{}</a></li>", i + 1, text::to_html(&s.title));
            }
            out.push_str("</ol></nav>\n");
        }
        let mut figure_no = 0;
        for (i, s) in self.sections.iter().enumerate() {
            let _ = writeln!(out, "<section id=\"s{}\">\n<h2>{}</h2>", i + 1, text::to_html(&s.title));
            let mut in_figures = false;
            for b in &s.blocks {
                let is_figure = matches!(b, Block::Figure { .. } | Block::Svg { .. });
                if is_figure && !in_figures {
                    out.push_str("<div class=\"figures\">\n");
                } else if !is_figure && in_figures {
                    out.push_str("</div>\n");
                }
                in_figures = is_figure;
                match b {
                    Block::Paragraph(p) => {
                        let _ = writeln!(out, "<p>{}</p>", text::to_html(p));
                    }
                    Block::List(items) => {
                        out.push_str("<ul>\n");
                        for item in items {
                            let _ = writeln!(out, "<li>{}</li>", text::to_html(item));
                        }
                        out.push_str("</ul>\n");
                    }
                    Block::Figure { chart, caption } => {
                        figure_no += 1;
                        let svg = chart.svg_with_ids(&format!("f{figure_no}"));
                        figure(&mut out, figure_no, &svg, chart.dimensions().0, caption);
                    }
                    Block::Svg { svg, width, caption } => {
                        figure_no += 1;
                        figure(&mut out, figure_no, svg, *width, caption);
                    }
                    Block::Table(t) => out.push_str(&t.html()),
                    Block::Details { summary, table } => {
                        let _ = write!(
                            out,
                            "<details>\n<summary>{}</summary>\n{}</details>\n",
                            text::to_html(summary),
                            table.html()
                        );
                    }
                    Block::Html(h) => {
                        out.push_str(h);
                        out.push('\n');
                    }
                }
            }
            if in_figures {
                out.push_str("</div>\n");
            }
            out.push_str("</section>\n");
        }
        if !self.footer.is_empty() {
            let _ = writeln!(out, "<footer>{}</footer>", text::to_html(&self.footer));
        }
        out.push_str("</main>\n</body>\n</html>\n");
        out
    }

    pub fn save(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        std::fs::write(path, self.to_html())
    }
}

/// One `<figure>`: the SVG at most at its own width (never wider than the column), then the
/// numbered caption.
fn figure(out: &mut String, number: usize, svg: &str, width: u32, caption: &str) {
    let class = if width > WIDE { " class=\"wide\"" } else { "" };
    // The SVG's own width attribute caps it; CSS lets it shrink with the column.
    let _ = writeln!(out, "<figure id=\"fig-{number}\"{class}><div style=\"max-width:{width}px;margin:0 auto\">");
    out.push_str(svg.trim_end());
    let _ =
        writeln!(out, "\n</div><figcaption><b>Figure {number}.</b> {}</figcaption></figure>", text::to_html(caption));
}
