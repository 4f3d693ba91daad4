//! Tables for report pages: headline numbers with pass/fail verdicts, and long tables of bins.
//! A verdict is shown by a symbol and a word as well as a colour, so it survives colour-blindness
//! and greyscale print.

use std::fmt::Write as _;

use crate::text;

/// The outcome of an acceptance test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    /// Not evaluated (e.g. the preset is too small for the test to mean anything).
    NotRun,
}

impl Verdict {
    pub fn from_bool(passed: bool) -> Verdict {
        if passed {
            Verdict::Pass
        } else {
            Verdict::Fail
        }
    }
    /// The symbol and word shown in the cell.
    pub fn text(self) -> &'static str {
        match self {
            Verdict::Pass => "\u{2714} pass",
            Verdict::Fail => "\u{2718} fail",
            Verdict::NotRun => "\u{2013} not run",
        }
    }
    fn class(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::NotRun => "notrun",
        }
    }
}

/// One table cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// Text with label markup (`σ_{stat}`).
    Text(String),
    /// A number printed with a fixed number of decimals, right-aligned; non-finite ones print as
    /// "n/a".
    Number {
        value: f64,
        decimals: usize,
    },
    Verdict(Verdict),
}

impl Cell {
    pub fn num(value: f64, decimals: usize) -> Cell {
        Cell::Number { value, decimals: decimals.min(12) }
    }
    fn html(&self) -> String {
        match self {
            Cell::Text(s) => format!("<td>{}</td>", text::to_html(s)),
            Cell::Number { value, decimals } => {
                let body = if value.is_finite() { format!("{value:.decimals$}") } else { "n/a".to_string() };
                format!("<td class=\"num\">{}</td>", body.replacen('-', "\u{2212}", 1))
            }
            Cell::Verdict(v) => format!("<td class=\"verdict {}\">{}</td>", v.class(), v.text()),
        }
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}

/// Four significant digits, in scientific notation outside 0.001..10^5.
impl From<f64> for Cell {
    fn from(value: f64) -> Cell {
        let a = value.abs();
        if value == 0.0 || !value.is_finite() || (1e-3..1e5).contains(&a) {
            let decimals =
                if a == 0.0 || !a.is_finite() { 0 } else { (3 - a.log10().floor() as i64).clamp(0, 6) as usize };
            Cell::num(value, decimals)
        } else {
            Cell::Text(format!("{value:.3e}"))
        }
    }
}

impl From<Verdict> for Cell {
    fn from(v: Verdict) -> Cell {
        Cell::Verdict(v)
    }
}

impl From<bool> for Cell {
    fn from(passed: bool) -> Cell {
        Cell::Verdict(Verdict::from_bool(passed))
    }
}

#[derive(Clone, Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<Cell>>,
    caption: String,
}

impl Table {
    pub fn new<S: AsRef<str>>(header: &[S]) -> Table {
        Table {
            header: header.iter().map(|h| h.as_ref().to_string()).collect(),
            rows: Vec::new(),
            caption: String::new(),
        }
    }
    /// A sentence above the table saying what it holds.
    pub fn caption(self, s: &str) -> Table {
        Table { caption: s.to_string(), ..self }
    }
    /// A row; short rows are padded with empty cells, long ones keep their extra cells.
    pub fn row<I, C>(mut self, cells: I) -> Table
    where
        I: IntoIterator<Item = C>,
        C: Into<Cell>,
    {
        self.rows.push(cells.into_iter().map(Into::into).collect());
        self
    }
    pub fn len(&self) -> usize {
        self.rows.len()
    }
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
    /// The verdicts in the table: (passed, failed).
    pub fn verdicts(&self) -> (usize, usize) {
        let all = self.rows.iter().flatten();
        all.fold((0, 0), |(p, f), c| match c {
            Cell::Verdict(Verdict::Pass) => (p + 1, f),
            Cell::Verdict(Verdict::Fail) => (p, f + 1),
            _ => (p, f),
        })
    }

    pub(crate) fn html(&self) -> String {
        let mut out = String::from("<div class=\"table-wrap\"><table>\n");
        if !self.caption.is_empty() {
            let _ = writeln!(out, "<caption>{}</caption>", text::to_html(&self.caption));
        }
        let width = self.rows.iter().map(Vec::len).max().unwrap_or(0).max(self.header.len());
        if !self.header.is_empty() {
            out.push_str("<thead><tr>");
            for h in &self.header {
                let _ = write!(out, "<th>{}</th>", text::to_html(h));
            }
            out.push_str(&"<th></th>".repeat(width - self.header.len()));
            out.push_str("</tr></thead>\n");
        }
        out.push_str("<tbody>\n");
        for row in &self.rows {
            out.push_str("<tr>");
            for c in row {
                out.push_str(&c.html());
            }
            out.push_str(&"<td></td>".repeat(width - row.len()));
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody></table></div>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_format_numbers_and_verdicts() {
        assert_eq!(Cell::num(0.12345, 2).html(), "<td class=\"num\">0.12</td>");
        assert_eq!(Cell::num(-1.5, 1).html(), "<td class=\"num\">\u{2212}1.5</td>");
        assert_eq!(Cell::num(f64::NAN, 2).html(), "<td class=\"num\">n/a</td>");
        assert_eq!(Cell::from(0.98765), Cell::num(0.98765, 4));
        assert_eq!(Cell::from(1234.5), Cell::num(1234.5, 0));
        assert_eq!(Cell::from(2.5e6), Cell::Text("2.500e6".into()));
        assert!(Cell::from(true).html().contains("\u{2714} pass"));
        assert!(Cell::from(false).html().contains("class=\"verdict fail\""));
    }

    #[test]
    fn rows_are_padded_and_verdicts_counted() {
        let t = Table::new(&["a", "b", "c"]).row(["x"]).row([Cell::from(true), Cell::from(false), Cell::from(true)]);
        let html = t.html();
        assert_eq!(html.matches("<td></td>").count(), 2);
        assert_eq!(t.verdicts(), (2, 1));
        assert!(Table::new(&["<b>"]).html().contains("&lt;b&gt;"));
    }
}
