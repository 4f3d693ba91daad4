//! The validator the apps' CI tests run on a written page: every inline `<svg>` must be
//! well-formed XML, carry no non-finite number in a geometric attribute, and draw data (elements
//! marked `class="data ..."`) in every panel; the page must not reference anything outside itself.
//!
//! A figure whose axes are drawn but whose data were all filtered out (NaN everywhere, or values
//! outside a fixed range) has no data element, so a silently empty figure fails the check.

use std::fmt;

/// What the check found in one figure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FigureCheck {
    /// The figure's position in the page, from 1.
    pub index: usize,
    /// Its `<title>`, if it has one.
    pub title: String,
    /// Why it is not well-formed XML, if it is not.
    pub error: Option<String>,
    /// Elements marked as data, in the whole figure.
    pub data_elements: usize,
    /// Data elements per panel (`class="panel"` groups), in document order.
    pub panels: Vec<usize>,
    /// `element@attribute="value"` for every geometric attribute holding NaN or infinity.
    pub bad_numbers: Vec<String>,
}

impl FigureCheck {
    pub fn problems(&self) -> Vec<String> {
        let name = if self.title.is_empty() {
            format!("figure {}", self.index)
        } else {
            format!("figure {} ({})", self.index, self.title)
        };
        let mut p = Vec::new();
        if let Some(e) = &self.error {
            p.push(format!("{name}: not well-formed XML: {e}"));
            return p;
        }
        if self.data_elements == 0 {
            p.push(format!("{name}: no data elements (axes only, or every value was skipped)"));
        }
        for (i, &n) in self.panels.iter().enumerate() {
            if n == 0 && self.panels.len() > 1 {
                p.push(format!("{name}: panel {} has no data elements", i + 1));
            }
        }
        for b in &self.bad_numbers {
            p.push(format!("{name}: non-finite number in {b}"));
        }
        p
    }
    pub fn passed(&self) -> bool {
        self.problems().is_empty()
    }
}

/// What the check found in a page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageCheck {
    pub figures: Vec<FigureCheck>,
    /// Everything that would make a browser fetch something: `src`/`href` not pointing into the
    /// page, CSS `url(...)` and `@import`, `<script>`, `<link>` and the like.
    pub external: Vec<String>,
}

impl PageCheck {
    /// Every problem, one line each; a page without any figure counts as one.
    pub fn problems(&self) -> Vec<String> {
        let mut p: Vec<String> = self.figures.iter().flat_map(FigureCheck::problems).collect();
        if self.figures.is_empty() {
            p.push("the page has no figures".to_string());
        }
        p.extend(self.external.iter().map(|e| format!("external reference: {e}")));
        p
    }
    pub fn passed(&self) -> bool {
        self.problems().is_empty()
    }
}

impl fmt::Display for PageCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let problems = self.problems();
        writeln!(f, "{} figures, {} problems", self.figures.len(), problems.len())?;
        for fig in &self.figures {
            let status = if fig.passed() { "ok" } else { "FAILED" };
            writeln!(
                f,
                "  figure {} {:?}: {} data elements, panels {:?}: {status}",
                fig.index, fig.title, fig.data_elements, fig.panels
            )?;
        }
        for p in problems {
            writeln!(f, "  {p}")?;
        }
        Ok(())
    }
}

fn has_class(node: &roxmltree::Node, class: &str) -> bool {
    node.attribute("class").is_some_and(|c| c.split_whitespace().any(|t| t == class))
}

/// Attributes that hold numbers; a "NaN" or "inf" in any of them is a broken figure.
const NUMERIC: [&str; 24] = [
    "x",
    "y",
    "x1",
    "y1",
    "x2",
    "y2",
    "cx",
    "cy",
    "r",
    "rx",
    "ry",
    "width",
    "height",
    "d",
    "points",
    "transform",
    "viewBox",
    "dx",
    "dy",
    "font-size",
    "stroke-width",
    "offset",
    "fill-opacity",
    "stroke-dasharray",
];

/// Checks one SVG document (or fragment with its own root element).
pub fn check_svg(svg: &str) -> FigureCheck {
    check_one(svg, 1)
}

/// Writes a figure only after [`check_svg`] passes it (well-formed, data in every panel, no NaN),
/// so that a figure left empty by a bad run fails where it is made rather than in a reader's
/// browser. The error names the file and the problems.
pub fn write_checked_svg(path: &std::path::Path, svg: &str) -> Result<(), String> {
    let check = check_svg(svg);
    if !check.passed() {
        return Err(format!("{}: {}", path.display(), check.problems().join("; ")));
    }
    std::fs::write(path, svg).map_err(|e| format!("{}: {e}", path.display()))
}

fn check_one(svg: &str, index: usize) -> FigureCheck {
    let mut c = FigureCheck {
        index,
        title: String::new(),
        error: None,
        data_elements: 0,
        panels: Vec::new(),
        bad_numbers: Vec::new(),
    };
    let doc = match roxmltree::Document::parse(svg) {
        Ok(d) => d,
        Err(e) => {
            c.error = Some(e.to_string());
            return c;
        }
    };
    let root = doc.root_element();
    if root.tag_name().name() != "svg" {
        c.error = Some(format!("the root element is <{}>, not <svg>", root.tag_name().name()));
        return c;
    }
    c.title = root
        .children()
        .find(|n| n.tag_name().name() == "title")
        .and_then(|n| n.text())
        .unwrap_or_default()
        .trim()
        .to_string();
    for node in root.descendants().filter(|n| n.is_element()) {
        if has_class(&node, "data") {
            c.data_elements += 1;
        }
        if has_class(&node, "panel") {
            c.panels.push(node.descendants().filter(|n| n.is_element() && has_class(n, "data")).count());
        }
        for a in node.attributes() {
            let v = a.value().to_ascii_lowercase();
            if NUMERIC.contains(&a.name()) && (v.contains("nan") || v.contains("inf")) {
                c.bad_numbers.push(format!("<{}> {}=\"{}\"", node.tag_name().name(), a.name(), a.value()));
            }
        }
    }
    c
}

/// The outermost `<svg>...</svg>` elements of an HTML text, in order. Comments are skipped; a
/// nested `<svg>` belongs to its parent.
pub fn extract_svgs(html: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let (mut depth, mut start, mut i) = (0usize, 0usize, 0usize);
    let bytes = html.as_bytes();
    while let Some(off) = html[i..].find('<') {
        let at = i + off;
        if html[at..].starts_with("<!--") {
            i = html[at..].find("-->").map_or(html.len(), |e| at + e + 3);
            continue;
        }
        let end = html[at..].find('>').map_or(html.len(), |e| at + e + 1);
        let tag = &html[at..end];
        // `get`, not indexing: a tag may start with a character of several bytes.
        let opens = tag.len() > 4
            && tag.get(1..4).is_some_and(|name| name.eq_ignore_ascii_case("svg"))
            && matches!(bytes.get(at + 4), Some(b' ' | b'>' | b'\n' | b'\t' | b'\r' | b'/'));
        if opens && !tag.ends_with("/>") {
            if depth == 0 {
                start = at;
            }
            depth += 1;
        } else if opens && depth == 0 {
            found.push(tag);
        } else if tag.len() >= 6 && tag.get(..5).is_some_and(|t| t.eq_ignore_ascii_case("</svg")) && depth > 0 {
            depth -= 1;
            if depth == 0 {
                found.push(&html[start..end]);
            }
        }
        i = end;
    }
    if depth > 0 {
        // An unclosed figure: hand it over whole so that the XML parser reports it.
        found.push(&html[start..]);
    }
    found
}

/// References that would make a browser fetch something from outside the page.
fn external_references(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut found = Vec::new();
    for tag in ["<script", "<link", "<iframe", "<object", "<embed", "<img", "<video", "<audio", "<base"] {
        if lower.contains(tag) {
            found.push(format!("{tag}> element"));
        }
    }
    if lower.contains("@import") {
        found.push("CSS @import".to_string());
    }
    for attr in ["src=", "href=", "url(", "xlink:href="] {
        for (at, _) in lower.match_indices(attr) {
            let rest = html[at + attr.len()..].trim_start_matches(['"', '\'', ' ']);
            let target: String = rest.chars().take_while(|c| !matches!(c, '"' | '\'' | ')' | ' ' | '>')).collect();
            if !(target.starts_with('#') || target.is_empty()) {
                found.push(format!("{attr}{target}"));
            }
        }
    }
    found
}

/// Checks a whole page: every figure, and that nothing outside the page is referenced.
pub fn check_page(html: &str) -> PageCheck {
    let figures = extract_svgs(html).into_iter().enumerate().map(|(i, svg)| check_one(svg, i + 1)).collect();
    PageCheck { figures, external: external_references(html) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_and_self_closing_svgs_are_found() {
        let html = "<p>a</p><svg x=\"1\"><svg></svg></svg><!-- <svg> --><svg/><svgfoo></svgfoo><SVG></SVG>";
        let s = extract_svgs(html);
        assert_eq!(s, ["<svg x=\"1\"><svg></svg></svg>", "<svg/>", "<SVG></SVG>"]);
        assert_eq!(extract_svgs("<svg><g>"), ["<svg><g>"]);
        // Characters of several bytes right after '<' (malformed, but a page is anyone's input).
        assert_eq!(extract_svgs("<a\u{20ac}><\u{20ac}\u{20ac}/><svg></svg>"), ["<svg></svg>"]);
    }

    #[test]
    fn external_references_are_named() {
        let html = "<a href=\"#s1\">x</a><img src=\"http://x/y.png\"><style>@import url(https://f)</style>";
        let found = external_references(html);
        assert!(found.iter().any(|f| f.contains("http://x/y.png")), "{found:?}");
        assert!(found.iter().any(|f| f.contains("@import")));
        assert!(!found.iter().any(|f| f.contains("#s1")));
        assert!(external_references("<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>").is_empty());
    }
}
