//! Helpers shared by the integration tests: parse a figure's SVG and pull out what a reader sees.
#![allow(dead_code)]

use roxmltree::{Document, Node};

/// Parses the SVG, failing the test with the checker's reasons when it is not sound.
pub fn parse(svg: &str) -> Document<'_> {
    let c = report::check::check_svg(svg);
    assert!(c.error.is_none(), "not well-formed: {:?}", c.error);
    assert!(c.bad_numbers.is_empty(), "non-finite numbers: {:?}", c.bad_numbers);
    let lower = svg.to_lowercase();
    assert!(!lower.contains("nan") && !lower.contains("inf"), "non-finite number in output");
    Document::parse(svg).expect("parsed once already")
}

pub fn has_class(n: &Node, class: &str) -> bool {
    n.attribute("class").is_some_and(|c| c.split_whitespace().any(|t| t == class))
}

pub fn with_class<'a, 'i>(doc: &'a Document<'i>, class: &str) -> Vec<Node<'a, 'i>> {
    doc.descendants().filter(|n| n.is_element() && has_class(n, class)).collect()
}

pub fn num(n: &Node, attr: &str) -> f64 {
    n.attribute(attr).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("no number in {attr} of {n:?}"))
}

/// A rectangle (x, y, w, h) from a <rect>.
pub fn rect(n: &Node) -> (f64, f64, f64, f64) {
    (num(n, "x"), num(n, "y"), num(n, "width"), num(n, "height"))
}

/// All text a <text> element shows, tspans included.
pub fn text_of(n: &Node) -> String {
    n.descendants().filter(|d| d.is_text()).filter_map(|d| d.text()).collect()
}

/// (x, y, text) of every <text> with the class.
pub fn texts(doc: &Document, class: &str) -> Vec<(f64, f64, String)> {
    with_class(doc, class).iter().map(|n| (num(n, "x"), num(n, "y"), text_of(n))).collect()
}

/// The polylines of path data made of M, L, H and V commands (absolute).
pub fn polylines(d: &str) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut cur = (0.0, 0.0);
    let mut tokens = Vec::new();
    let mut word = String::new();
    for c in d.chars() {
        if c.is_ascii_alphabetic() {
            if !word.is_empty() {
                tokens.push(std::mem::take(&mut word));
            }
            tokens.push(c.to_string());
        } else if c == ' ' || c == ',' {
            if !word.is_empty() {
                tokens.push(std::mem::take(&mut word));
            }
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        tokens.push(word);
    }
    let mut i = 0;
    let number = |i: usize| -> f64 { tokens[i].parse().unwrap_or_else(|_| panic!("bad number {} in {d}", tokens[i])) };
    while i < tokens.len() {
        match tokens[i].as_str() {
            "M" => {
                cur = (number(i + 1), number(i + 2));
                out.push(vec![cur]);
                i += 3;
            }
            "L" => {
                cur = (number(i + 1), number(i + 2));
                out.last_mut().expect("L after M").push(cur);
                i += 3;
            }
            "H" => {
                cur = (number(i + 1), cur.1);
                out.last_mut().expect("H after M").push(cur);
                i += 2;
            }
            "V" => {
                cur = (cur.0, number(i + 1));
                out.last_mut().expect("V after M").push(cur);
                i += 2;
            }
            "Z" => i += 1,
            other => panic!("unexpected path command {other} in {d}"),
        }
    }
    out
}

/// Points every `step` pixels along the polylines.
pub fn sample(lines: &[Vec<(f64, f64)>], step: f64) -> Vec<(f64, f64)> {
    let mut pts = Vec::new();
    for l in lines {
        for w in l.windows(2) {
            let (a, b) = (w[0], w[1]);
            let n = ((b.0 - a.0).hypot(b.1 - a.1) / step).ceil().max(1.0) as usize;
            pts.extend(
                (0..=n).map(|k| (a.0 + (b.0 - a.0) * k as f64 / n as f64, a.1 + (b.1 - a.1) * k as f64 / n as f64)),
            );
        }
        pts.extend(l.first());
    }
    pts
}

pub fn inside(p: (f64, f64), r: (f64, f64, f64, f64)) -> bool {
    p.0 > r.0 && p.0 < r.0 + r.2 && p.1 > r.1 && p.1 < r.1 + r.3
}

/// The `d` of the first element with the class.
pub fn path_data<'a>(doc: &'a Document, class: &str) -> &'a str {
    with_class(doc, class).first().and_then(|n| n.attribute("d")).unwrap_or_else(|| panic!("no path of class {class}"))
}

/// A lower bound on how wide a label renders at 11 px: 0.55 em per character.
pub fn min_width(s: &str) -> f64 {
    s.chars().count() as f64 * 6.0
}
